"""Resource limits (README, "Resource limits"): the writable layers a container keeps in memory
share one size, so a full one is ENOSPC inside and never host memory."""
import os

from harness import eq, ok, read_line

PYTHON = "/usr/bin/python3"

# Writes 1 MiB at a time to each of the places named, in turn, until 64 MiB are written or
# one write fails; says, in one line, how much each took and the error, then waits for its stdin to close
# (the files stay in memory meanwhile).
FILL = r"""
import errno, os, sys
places = sys.argv[1:]
chunk = b"x" * (1 << 20)
wrote = {p: 0 for p in places}
err = "none"
fds = {p: os.open(p + "/fill", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) for p in places}
try:
    for i in range(64):
        p = places[i % len(places)]
        n = os.write(fds[p], chunk)
        wrote[p] += n
        if n < len(chunk):
            os.write(fds[p], chunk[n:])
except OSError as e:
    err = errno.errorcode[e.errno]
facts = ["error=" + err, "total=" + str(sum(wrote.values()) >> 20)]
facts += ["wrote" + p.replace("/", "_") + "=" + str(wrote[p] >> 20) for p in places]
print(" ".join(facts), flush=True)
sys.stdin.read()
"""


def shmem_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Shmem:"):
                return int(line.split()[1])
    raise AssertionError("no Shmem in /proc/meminfo")


def test_in_memory_writes_share_one_budget(k):
    before = shmem_kib()
    p = k.popen(["--tmpfs-size", "32M", "--", PYTHON, "-c", FILL, "/tmp", "/etc"],
                stdin=-1, stdout=-1, stderr=-1, text=True)
    try:
        line = read_line(p.stdout)
        ok(line, "the program ended early")
        seen = dict(fact.partition("=")[::2] for fact in line.split())
        during = shmem_kib()
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    eq(p.returncode, 0, p.stderr.read())
    eq(seen["error"], "ENOSPC", str(seen))
    # Both places drew on the one budget: together no more than it, each a good part.
    total = int(seen["total"])
    ok(24 <= total <= 32, f"{total} MiB written in all before ENOSPC: {seen}")
    ok(int(seen["wrote_tmp"]) >= 8 and int(seen["wrote_etc"]) >= 8, str(seen))
    # The host's shared memory grew by what was written (others on the host write too: a
    # generous margin), never by the 64 MiB asked for.
    grew = (during - before) >> 10
    ok(grew < 56, f"Shmem grew by {grew} MiB while the container held {total} MiB")


def test_a_bad_size_is_one_line_and_runs_nothing(k):
    for bad in ("1x", "0", "512K", "1.5", "-1G", ""):
        p = k.run(["--tmpfs-size", bad, "--", "/bin/sh", "-c", "echo ran"])
        eq(p.returncode, 125, bad)
        eq(p.stdout, "", bad)
        lines = p.stderr.splitlines()
        eq(len(lines), 1, p.stderr)
        ok(lines[0].startswith("kakuri: --tmpfs-size takes a size of at least 1M"), p.stderr)
