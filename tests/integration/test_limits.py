"""Resource limits (README, "Resource limits"): the writable layers a container keeps in memory
share one size, so a full one is ENOSPC inside and never host memory."""
import os

from harness import descendants, eq, ok, read_line

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


def container_root(pid):
    """/proc/PID/root of a process of the container kakuri (pid) runs: one whose root is not
    the host's."""
    host = os.stat("/")
    for d in [pid] + descendants(pid):
        try:
            st = os.stat(f"/proc/{d}/root")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) != (host.st_dev, host.st_ino):
            return f"/proc/{d}/root"
    raise AssertionError("no process of the container found")


def test_in_memory_writes_share_one_budget(k):
    p = k.popen(["--tmpfs-size", "32M", "--", PYTHON, "-c", FILL, "/tmp", "/etc"],
                stdin=-1, stdout=-1, stderr=-1, text=True)
    try:
        line = read_line(p.stdout)
        ok(line, "the program ended early")
        seen = dict(fact.partition("=")[::2] for fact in line.split())
        # What holds the writes in host memory: the one tmpfs behind /tmp (and /etc's upper
        # layer), seen from the host while the program waits. (The host's Shmem counts every
        # other suite's containers too, so it cannot say this.)
        vfs = os.statvfs(container_root(p.pid) + "/tmp")
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    eq(p.returncode, 0, p.stderr.read())
    eq(seen["error"], "ENOSPC", str(seen))
    # Both places drew on the one budget: together no more than it, each a good part.
    total = int(seen["total"])
    ok(24 <= total <= 32, f"{total} MiB written in all before ENOSPC: {seen}")
    ok(int(seen["wrote_tmp"]) >= 8 and int(seen["wrote_etc"]) >= 8, str(seen))
    size = vfs.f_blocks * vfs.f_frsize >> 20
    used = (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize >> 20
    eq(size, 32, "the tmpfs behind the writable layers")
    ok(used >= total, f"{used} MiB used of the budget, {total} MiB written")


def test_the_budget_bounds_the_number_of_files_too(k):
    # Empty files and links take no data but kernel memory: one file per 8 KiB of the budget
    # (README), at least 1024: 8M allows 1024 files, 64M 8192, then ENOSPC. The container's
    # own directories and files take a few of them.
    many = ("import errno, os\n"
            "n = 0\n"
            "try:\n"
            "    for n in range(20000): os.symlink('x' * 100, f'/tmp/l{n}')\n"
            "    print('made=all')\n"
            "except OSError as e:\n"
            "    print(f'made={n} error={errno.errorcode[e.errno]}')\n")
    for size, files in (("8M", 1024), ("64M", 8192)):
        p = k.run(["--tmpfs-size", size, "--", PYTHON, "-c", many])
        eq(p.returncode, 0, p.stderr)
        r = dict(fact.partition("=")[::2] for fact in p.stdout.split())
        eq(r.get("error"), "ENOSPC", f"{size}: {p.stdout}")
        ok(files - 100 <= int(r["made"]) <= files, f"{size}: {p.stdout}")


def test_a_bad_size_is_one_line_and_runs_nothing(k):
    for bad in ("1x", "0", "512K", "1.5", "-1G", ""):
        p = k.run(["--tmpfs-size", bad, "--", "/bin/sh", "-c", "echo ran"])
        eq(p.returncode, 125, bad)
        eq(p.stdout, "", bad)
        lines = p.stderr.splitlines()
        eq(len(lines), 1, p.stderr)
        ok(lines[0].startswith("kakuri: --tmpfs-size takes a size of at least 1M"), p.stderr)


# --- memory, processes and CPUs: a cgroup below kakuri's own (as real root here: cgroup v1) ---

def refused(k, opts):
    """Where kakuri may make no cgroup below its own (unprivileged here: no cgroup v2 is
    delegated): the one refusal line, 125, nothing run (never silently unlimited)."""
    p = k.run(list(opts) + ["--", "/bin/sh", "-c", "echo ran"])
    eq((p.returncode, p.stdout), (125, ""), p.stderr)
    lines = p.stderr.splitlines()
    eq(len(lines), 1, p.stderr)
    ok(lines[0].startswith("kakuri: --"), p.stderr)
    for i in range(0, len(opts), 2):
        ok(f"{opts[i]} {opts[i + 1]}" in lines[0], p.stderr)
    ok("need" in lines[0] and "a cgroup kakuri may make below its own" in lines[0], p.stderr)
    ok("--scope -p Delegate=yes kakuri" in lines[0], p.stderr)


def own_cgroups():
    """This process's cgroup in each hierarchy, as directories (kakuri's, its child's): by
    controller for cgroup v1, "" for v2."""
    dirs = {}
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup":
                for c in fields[sep + 3].split(","):
                    mounts[c] = (fields[3], fields[4])
            elif fields[sep + 1] == "cgroup2" and "" not in mounts:
                mounts[""] = (fields[3], fields[4])
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctls, path = line.rstrip("\n").split(":", 2)
            for c in ctls.split(",") if ctls else [""]:
                if c in mounts:
                    root, point = mounts[c]
                    dirs[c] = os.path.normpath(point + "/" + path[len(root.rstrip("/")):])
    return dirs


def enforced(k):
    """Whether kakuri can apply limits here (README, "Resource limits"), so that a test checks
    the limits, or else the refusal: as real root with the cgroup v1 memory, pids and cpu
    hierarchies (this hybrid host), or with cgroup v2's controllers where kakuri's cgroup is
    the root (below any other, it shares its cgroup with this harness: refused). Unprivileged,
    the harness's cgroup is never the test user's."""
    if k.mode != "root":
        return False
    dirs = own_cgroups()
    if all(c in dirs for c in ("memory", "pids", "cpu")):
        return True
    v2 = dirs.get("")
    if v2 is None:
        return False
    with open(os.path.join(v2, "cgroup.controllers")) as f:
        have = f.read().split()
    with open("/proc/self/cgroup") as f:
        at_root = "0::/\n" in f.read().splitlines(keepends=True)
    return at_root and all(c in have for c in ("memory", "pids", "cpu"))


def kakuri_cgroups():
    """Every cgroup named kakuri-... below this process's own, in every hierarchy (a test
    checks that it made none that stays: the set may shrink, as kakuri removes the leftovers
    of a killed one)."""
    found = []
    for c, d in own_cgroups().items():
        for name in os.listdir(d):
            if name.startswith("kakuri-"):
                found.append(os.path.join(d, name))
    return sorted(set(found))


def start_time(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[19]


# Forks until told no (or 100 times); each child waits on a pipe the parent holds, so all stay
# until the parent is done counting.
FORKS = r"""
import errno, os
r, w = os.pipe()
n, err = 0, "none"
for i in range(100):
    try:
        pid = os.fork()
    except OSError as e:
        err = errno.errorcode[e.errno]
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    n += 1
print(f"forked={n} error={err}", flush=True)
os.close(w)
for i in range(n):
    os.wait()
"""


def test_pids_limit_stops_a_fork_loop_with_eagain(k):
    if not enforced(k):
        return refused(k, ["--pids-limit", "50"])
    before = kakuri_cgroups()
    p = k.run(["--pids-limit", "50", "--", PYTHON, "-c", FORKS])
    eq(p.returncode, 0, p.stderr)
    # 50 in all: init, the program and 48 children.
    eq(p.stdout, "forked=48 error=EAGAIN\n", p.stderr)
    # The host is not limited: the same loop outside forks all 100.
    import subprocess
    out = subprocess.run([PYTHON, "-c", FORKS], capture_output=True, text=True, timeout=60)
    eq(out.stdout, "forked=100 error=none\n", out.stderr)
    left = set(kakuri_cgroups()) - set(before)
    ok(not left, f"cgroups left behind: {left}")


def test_memory_limit_kills_and_says_so(k):
    if not enforced(k):
        return refused(k, ["--memory", "64M"])
    before = kakuri_cgroups()
    p = k.run(["--memory", "64M", "--", PYTHON, "-c",
               "import sys; x = b'x' * (256 << 20); print('survived', len(x))"])
    eq(p.returncode, 137, p.stderr)
    eq(p.stdout, "")
    eq(p.stderr, "kakuri: the container ran out of memory (--memory 64M)\n")
    # Under the limit, the same program runs; a SIGKILL that is not the kernel's is no OOM.
    p = k.run(["--memory", "512M", "--", PYTHON, "-c",
               "x = b'x' * (256 << 20); print('survived', len(x))"])
    eq((p.returncode, p.stdout), (0, f"survived {256 << 20}\n"), p.stderr)
    p = k.run(["--memory", "64M", "--", "/bin/sh", "-c", "kill -9 $$"])
    eq((p.returncode, p.stderr), (137, ""))
    left = set(kakuri_cgroups()) - set(before)
    ok(not left, f"cgroups left behind: {left}")


# Four processes spin for 3 s of wall time (wanting every CPU of a small host, and a fair share
# of a busy one), then it says so and waits for stdin to close.
SPIN = r"""
import os, sys, time
start = time.monotonic()
children = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        break
    children.append(pid)
while time.monotonic() - start < 3:
    pass
if pid == 0:
    os._exit(0)
for pid in children:
    os.waitpid(pid, 0)
print("spun", flush=True)
sys.stdin.read()
"""


def test_cpus_keeps_a_busy_loop_near_its_share(k):
    if not enforced(k):
        return refused(k, ["--cpus", "0.5"])
    p = k.popen(["--cpus", "0.5", "--", PYTHON, "-c", SPIN], stdin=-1, stdout=-1, stderr=-1,
                text=True)
    try:
        eq(read_line(p.stdout), "spun\n")
        name = f"kakuri-{p.pid}-{start_time(p.pid)}"
        cg = own_cgroups()
        if "cpuacct" in cg:  # cgroup v1: usage in ns, the quota in its own file
            with open(os.path.join(cg["cpuacct"], name, "cpuacct.usage")) as f:
                used = int(f.read()) / 1e9
            with open(os.path.join(cg["cpu"], name, "cpu.stat")) as f:
                stat = f.read().replace("\n", " ")
            with open(os.path.join(cg["cpu"], name, "cpu.cfs_quota_us")) as f:
                eq(f.read(), "50000\n")
        else:  # cgroup v2: usage_usec in cpu.stat, "quota period" in cpu.max
            with open(os.path.join(cg[""], name, "cpu.stat")) as f:
                stat = f.read().replace("\n", " ")
            used = int(stat.split("usage_usec ")[1].split()[0]) / 1e6
            with open(os.path.join(cg[""], name, "cpu.max")) as f:
                eq(f.read(), "50000 100000\n")
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    eq(p.returncode, 0, p.stderr.read())
    # Four busy loops for 3 s of wall time at half a CPU: about 1.5 s (start-up included;
    # generous bounds), where on an idle 2-CPU host they would take 6 s. A host busy with
    # other work may give them less than the quota (then the quota never bites: not asserted).
    ok(0.3 <= used <= 2.1, f"{used:.2f} s of CPU in 3 s of four busy loops at --cpus 0.5: {stat}")


def test_the_container_sees_its_own_cgroup(k):
    if not enforced(k):
        return refused(k, ["--pids-limit", "50", "--memory", "1G"])
    p = k.run(["--pids-limit", "50", "--memory", "1G", "--", "/bin/cat", "/proc/self/cgroup"])
    eq(p.returncode, 0, p.stderr)
    lines = dict(line.split(":", 2)[1:] for line in p.stdout.splitlines())
    v1 = "pids" in own_cgroups()
    eq((lines["pids"], lines["memory"]) if v1 else lines[""], ("/", "/") if v1 else "/", p.stdout)
    # /sys/fs/cgroup shows the container's own cgroup as each hierarchy's root, read-only.
    pids, mem = (("pids/pids.max", "memory/memory.limit_in_bytes") if v1 else
                 ("pids.max", "memory.max"))
    script = (f"cat /sys/fs/cgroup/{pids} /sys/fs/cgroup/{mem}; "
              f"echo 10 > /sys/fs/cgroup/{pids} && echo wrote; "
              f"mkdir /sys/fs/cgroup/{os.path.dirname(pids) or '.'}/escape && echo made; "
              f"cat /sys/fs/cgroup/{pids}")
    p = k.run(["--pids-limit", "50", "--memory", "1G", "--", "/bin/sh", "-c", script])
    eq(p.stdout, f"50\n{1 << 30}\n50\n", p.stderr)
    ok("Read-only file system" in p.stderr, p.stderr)
    # Without limits, nothing of this: the host's /sys as it is.
    p = k.run(["--", "/bin/sh", "-c", f"cat /sys/fs/cgroup/{pids}"])
    ok(p.returncode != 0 or p.stdout != "50\n", "the host's cgroup has the container's pids.max?")


def test_no_cgroup_is_left_after_kill_9(k):
    if not enforced(k):
        return refused(k, ["--pids-limit", "50"])
    import signal
    from harness import pidfds, wait_exited
    before = kakuri_cgroups()
    p = k.popen(["--pids-limit", "50", "--", "/bin/sh", "-c", "echo up; read x"],
                stdin=-1, stdout=-1, stderr=-1, text=True)
    eq(read_line(p.stdout), "up\n")
    made = [d for d in kakuri_cgroups() if d not in before]
    ok(len(made) == 1 and os.path.basename(made[0]).startswith(f"kakuri-{p.pid}-"), str(made))
    with open(os.path.join(made[0], "cgroup.procs")) as f:
        inside = [int(x) for x in f.read().split()]
    ok(inside, "nothing in the container's cgroup")
    fds = pidfds(inside)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    p.stdin.close()
    wait_exited(fds, "the container after kakuri's kill -9")
    ok(os.path.isdir(made[0]), "the cgroup went with a kill -9 (how?)")
    # The next kakuri with limits removes the empty one the killed kakuri left.
    q = k.run(["--pids-limit", "50", "--", "/bin/true"])
    eq(q.returncode, 0, q.stderr)
    ok(not os.path.exists(made[0]), f"{made[0]} left behind")
    left = set(kakuri_cgroups()) - set(before)
    ok(not left, f"cgroups left behind: {left}")


def test_a_persistent_container_keeps_its_limits(k):
    from test_persist import kk, removed, setup
    env, cdir = setup(k, "limits-store")
    with removed(k, env, "lim"):
        p = kk(k, env, "create", "--pids-limit", "30", "--memory", "1G", "--cpus", "1.5", "lim")
        eq(p.returncode, 0, p.stderr)
        shown = kk(k, env, "inspect", "lim").stdout.splitlines()
        for line in ("memory: 1G", "pids_limit: 30", "cpus: 1.5", "tmpfs_size: 1G"):
            ok(line in shown, f"inspect does not show {line!r}: {shown}")
        if not enforced(k):
            # Recorded all the same; a start refuses, and nothing was started.
            p = kk(k, env, "start", "lim", "/bin/sh", "-c", "echo ran")
            eq((p.returncode, p.stdout), (125, ""), p.stderr)
            ok("--memory 1G, --pids-limit 30, --cpus 1.5 need a cgroup" in p.stderr, p.stderr)
            eq(kk(k, env, "list", "-q").stdout, "lim\n")
            return
        before = kakuri_cgroups()
        # Every start applies them: init, the program and 28 children.
        p = kk(k, env, "start", "lim", PYTHON, "-c", FORKS)
        eq((p.returncode, p.stdout), (0, "forked=28 error=EAGAIN\n"), p.stderr)
        # What exec runs draws on the same limit: it shares the running container's cgroup.
        eq(kk(k, env, "start", "-d", "lim").returncode, 0)
        p = kk(k, env, "exec", "lim", PYTHON, "-c", FORKS)
        eq(p.returncode, 0, p.stderr)
        ok(p.stdout.endswith(" error=EAGAIN\n") and int(p.stdout[7:9]) <= 27, p.stdout)
        eq(kk(k, env, "stop", "lim").returncode, 0)
    # The detached container's cgroup, empty once it stopped, goes with the next run.
    eq(k.run(["--pids-limit", "50", "--", "/bin/true"]).returncode, 0)
    left = set(kakuri_cgroups()) - set(before)
    ok(not left, f"cgroups left behind: {left}")
