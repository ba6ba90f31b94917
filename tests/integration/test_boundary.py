"""The edges kakuri draws itself, attacked: automatic mounts steered by links a program
planted, and arguments under the host's shared /tmp."""
import contextlib
import os
import socket
import tempfile

from harness import Skip, eq, ok
from test_rootfs import TEST_USER, etc_lines, newuidmap_usable


def plant_link(k, link, target):
    """A symlink as a program inside an earlier container would have left it."""
    k.mkdirs(os.path.dirname(link))
    os.symlink(target, link)
    if k.drop:
        os.lchown(link, k.uid, k.gid)
    return link


def auto(k, args, opts=(), want_rc=0):
    """The probe with automatic mounting of its arguments on."""
    return k.probe(args, ["--auto-mount=rw"] + list(opts), want_rc=want_rc)


def seen(k, attack, look, opts=()):
    """What the probe sees at the paths in look, run with automatic mounting of the arguments
    in attack; look goes in through the environment, which nothing mounts for."""
    return auto(k, ["stat"] + list(attack), ["-e", "PROBE_PATHS=" + ":".join(look)] + list(opts))


def verbose_notes(k, args):
    p = k.run(["-v", "--auto-mount=rw"] + k.probe_args(args)[1:])
    return p.stderr


# ---- automatic mounts decide on what a path resolves to ------------------------------------


def test_link_to_proc_sys_kernel_mounts_nothing(k):
    # As root this bound the host's /proc/sys/kernel read-write: core_pattern runs a program
    # as host root at the next crash.
    proj = k.mkdirs(os.path.join(k.home, "proj-kernel"))
    out = plant_link(k, os.path.join(proj, "out"), "/proc/sys/kernel")
    for arg in (f"{out}/core_pattern", out, f"{out}/"):
        r = seen(k, [arg], [f"{out}/core_pattern", f"{out}/hostname"])
        eq(r[f"{out}/core_pattern"], "ENOENT", f"the host's /proc/sys/kernel through {arg}")
        eq(r[f"{out}/hostname"], "ENOENT", f"the host's /proc/sys/kernel through {arg}")
    notes = verbose_notes(k, ["stat", f"{out}/core_pattern"])
    ok(f"not mounted: {out}/core_pattern (-> /proc/sys/kernel/core_pattern)" in notes, notes)
    ok(os.path.isdir(proj), "the project is still there")


def test_link_to_home_mounts_nothing(k):
    secret = k.write(os.path.join(k.home, "secret.txt"), "the rest of $HOME\n")
    out = plant_link(k, os.path.join(k.home, "proj-home", "out"), k.home)
    for arg in (f"{out}/new.txt", f"{out}/sub/", out):
        r = seen(k, [arg], [f"{out}/secret.txt", secret])
        eq(r[f"{out}/secret.txt"], "ENOENT", f"$HOME through {arg}")
        eq(r[secret], "ENOENT", f"$HOME at its own path, through {arg}")
    # Naming a file through the link mounts that file alone, as naming it directly does.
    k.write(os.path.join(k.home, "other.txt"), "not named\n")
    r = seen(k, [f"{out}/secret.txt"], [f"{out}/secret.txt", f"{out}/other.txt"])
    eq((r[f"{out}/secret.txt"], r[f"{out}/other.txt"]), ("file", "ENOENT"))
    notes = verbose_notes(k, ["stat", out])
    ok(f"not mounted: {out} (-> {k.home}): / and $HOME are never mounted whole" in notes, notes)


def test_link_to_proc_mounts_nothing(k):
    # Unprivileged this bound the host's /proc: every host process, its environment and fds.
    out = plant_link(k, os.path.join(k.home, "proj-proc", "out"), "/proc")
    me = str(os.getpid())  # the harness, a host process the container must not see
    for arg in (f"{out}/x.txt", f"{out}/{me}", out):
        r = seen(k, [arg], [f"{out}/{me}/environ"])
        eq(r[f"{out}/{me}/environ"], "ENOENT", f"the host's /proc through {arg}")


def test_ordinary_link_in_a_project_still_works(k):
    v2 = k.mkdirs(os.path.join(k.home, "proj2", "v2"))
    k.write(os.path.join(v2, "data.txt"), "from v2\n")
    latest = plant_link(k, os.path.join(k.home, "proj2", "latest"), "v2")
    p = k.run(["--", "/bin/sh", "-c", 'cat "$1" && echo new > "$2"', "sh",
               f"{latest}/data.txt", f"{latest}/out.txt"])
    eq((p.returncode, p.stdout), (0, "from v2\n"), p.stderr)
    with open(os.path.join(v2, "out.txt")) as f:
        eq(f.read(), "new\n", "the output reached the link's target")
    p = k.run(["--dry-run", "cat", f"{latest}/data.txt"])
    ok(f"bind       {v2}  (from {v2}, rw)" in p.stdout, p.stdout)
    ok(f"symlink    {latest} -> {v2}" in p.stdout, p.stdout)


def test_link_swapped_in_after_the_decision_is_not_followed(k):
    # kakuri decides on a real directory, then (here: while newuidmap runs, between the
    # decision and the mount) a program swaps a link to $HOME in by the same name.
    if k.mode == "root":
        raise Skip("as real root kakuri writes the id maps itself: no helper runs between the "
                   "decision and the mount to swap a link in")
    if not k.drop:
        raise Skip("needs root to give the test user a subordinate range")
    newuidmap_usable()
    k.write(os.path.join(k.home, "secret.txt"), "the rest of $HOME\n")
    data = k.mkdirs(os.path.join(k.home, "race", "data"))
    k.write(os.path.join(data, "f.txt"), "decided on\n")
    fakebin = k.mkdir("fakebin")
    k.write(os.path.join(fakebin, "newuidmap"),
            f'#!/bin/sh\nmv "{data}" "{data}.orig" && ln -s "{k.home}" "{data}"\n'
            'exec /usr/bin/newuidmap "$@"\n', 0o755)
    k.write(os.path.join(fakebin, "newgidmap"), '#!/bin/sh\nexec /usr/bin/newgidmap "$@"\n',
            0o755)
    with etc_lines({"/etc/passwd": [f"{TEST_USER}:x:{k.uid}:{k.gid}::/nonexistent:/bin/sh"],
                    "/etc/group": [f"{TEST_USER}:x:{k.gid}:"],
                    "/etc/subuid": [f"{TEST_USER}:4100000:65536"],
                    "/etc/subgid": [f"{TEST_USER}:4100000:65536"]}):
        p = k.run(["--subids", "--auto-mount=rw"] +
                  k.probe_args(["stat", f"{data}/f.txt", f"{data}/secret.txt"])[1:],
                  env={"PATH": f"{fakebin}:/usr/bin:/bin"})
    ok(os.path.islink(data), "the swap happened")
    eq(p.returncode, 125, f"mounted what the link leads to: {p.stdout}")
    ok("secret.txt" not in p.stdout, p.stdout)
    eq(len(p.stderr.splitlines()), 1, p.stderr)
    ok(p.stderr.startswith(f"kakuri: open {data}: it leads through a symbolic link now"),
       p.stderr)


def test_explicit_bind_through_a_link_binds_its_target(k):
    real = k.mkdirs(os.path.join(k.home, "real"))
    k.write(os.path.join(real, "f"), "real\n")
    link = plant_link(k, os.path.join(k.home, "lnk"), real)
    p = k.run(["--dry-run", "--bind", link, "true"])
    ok(f"bind       {link}  (from {real}, rw)" in p.stdout, p.stdout)
    p = k.sh(f"cat {link}/f", ["--bind", link])
    eq(p.stdout, "real\n", p.stderr)


# ---- an argument under a fresh directory mounts only itself --------------------------------


@contextlib.contextmanager
def host_tmp_marker():
    """A file directly in the host's /tmp, as other programs keep theirs there."""
    fd, path = tempfile.mkstemp(prefix="kakuri-it-marker-", dir="/tmp")
    os.close(fd)
    try:
        yield path
    finally:
        os.unlink(path)


def test_argument_under_tmp_mounts_only_that_file(k):
    d = k.mkdir("shared")  # under the host's /tmp, outside $HOME
    k.write(os.path.join(d, "x.c"), "int main(void) { return 0; }\n")
    k.write(os.path.join(d, "neighbour"), "someone else's\n")
    with host_tmp_marker() as marker:
        p = k.run(["--", "/bin/sh", "-c",
                   'cat "$1" && d=$(dirname "$1") && ls -A "$d" && ls -A /tmp && pwd', "sh",
                   f"{d}/x.c"], cwd=d)
        eq(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        ok("neighbour" not in lines, f"the file's directory was mounted: {p.stdout}")
        ok(os.path.basename(marker) not in lines, f"the host's /tmp was mounted: {p.stdout}")
        ok("x.c" in lines, p.stdout)
        eq(lines[-1], d, "the working directory made for the mount is kept")
        # The seed's example: an output directly in /tmp bound the host's whole /tmp.
        out = f"/tmp/{os.path.basename(marker)}.out"
        p = k.run(["--", "/bin/sh", "-c", 'ls -A /tmp; echo built > "$1"', "sh", out])
        eq(p.returncode, 0, p.stderr)
        ok(os.path.basename(marker) not in p.stdout.splitlines(),
           f"the host's /tmp was mounted: {p.stdout}")
        ok(not os.path.exists(out), "the output reached the host's /tmp")


def test_missing_path_under_tmp_mounts_nothing(k):
    d = k.mkdir("shared2")
    k.write(os.path.join(d, "neighbour"), "someone else's\n")
    out = os.path.join(d, "a.out")
    p = k.run(["-v", "--", "/bin/sh", "-c",
               'mkdir -p "$(dirname "$1")" && echo built > "$1" && ls -A "$(dirname "$1")"',
               "sh", out])
    eq((p.returncode, p.stdout), (0, "a.out\n"), p.stderr)
    ok(not os.path.exists(out), "the output reached the host")
    ok(f"not mounted: {out}: it does not exist, and the container writes into its own, "
       "fresh /tmp" in p.stderr, p.stderr)


def test_link_into_tmp_mounts_nothing(k):
    # A socket in the host's /tmp (tmux's, ssh-agent's) runs commands on the host.
    sockdir = k.mkdir("tmux-sock", 0o700)
    sock = os.path.join(sockdir, "default")
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(sock)
        if k.drop:
            os.chown(sock, k.uid, k.gid)
        out = plant_link(k, os.path.join(k.home, "proj3", "out"), sock)
        outdir = plant_link(k, os.path.join(k.home, "proj3", "outdir"), sockdir)
        for arg in (out, outdir, f"{outdir}/default"):
            r = seen(k, [arg], [out, f"{outdir}/default", sock])
            for path in (out, f"{outdir}/default", sock):
                eq(r[path], "ENOENT", f"the host's socket through {arg}")
    finally:
        s.close()
