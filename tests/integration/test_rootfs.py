"""Root filesystems (--rootfs), real root's user namespace (--userns), subordinate ids
(--subids). The trees are built here from the static busybox (package busybox-static): no
network, no images."""
import contextlib
import fcntl
import os
import shutil
import socket
import stat

from harness import Skip, eq, ok

BUSYBOX = "/bin/busybox"
# Absolute links into the tree, as Alpine has them (/bin/sh -> /bin/busybox), to a place the host
# does not have: only a lookup inside the tree finds the shell.
TREE_BUSYBOX = "/lib/kakuri-it/busybox"
APPLETS = ["sh", "ls", "cat", "echo", "id", "hostname", "touch", "chown", "chmod", "mkdir", "rm",
           "stat", "readlink", "grep", "test", "head"]
MARKER = "kakuri-it-tree"
OS_RELEASE = f'ID={MARKER}\nNAME="kakuri test tree"\n'
SYSTEM_DIRS = ("proc", "dev", "sys", "tmp")
TEST_USER = "kakuri-it"


def need_busybox():
    if not os.path.exists(BUSYBOX):
        raise Skip(f"{BUSYBOX} missing (install busybox-static)")
    with open(BUSYBOX, "rb") as f:
        if b"ld-linux" in f.read(8192):
            raise Skip(f"{BUSYBOX} is not static (install busybox-static)")


def chown_tree(k, root):
    if not k.drop:
        return
    os.lchown(root, k.uid, k.gid)
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            os.lchown(os.path.join(d, n), k.uid, k.gid)


def make_tree(k, name, system_dirs=SYSTEM_DIRS, links=None, applets=True):
    """A busybox root filesystem at k.tmp/name, owned by the mode's user."""
    need_busybox()
    root = os.path.join(k.tmp, name)
    for d in ("bin", "etc", "lib/kakuri-it") + tuple(system_dirs):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    if applets:
        shutil.copy2(BUSYBOX, root + TREE_BUSYBOX)
        for a in APPLETS:
            os.symlink(TREE_BUSYBOX, os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc", "os-release"), "w") as f:
        f.write(OS_RELEASE)
    for name, target in (links or {}).items():
        os.symlink(target, os.path.join(root, name))
    for d, dirs, files in os.walk(root):
        os.chmod(d, 0o755)
    chown_tree(k, root)
    return root


def tree(k):
    """The shared tree of a run (tests that change it make their own)."""
    if not getattr(k, "tree", None):
        k.tree = make_tree(k, "rootfs")
    return k.tree


def snapshot(root):
    """Every entry of a tree: type, mode, owner and content or link target."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in [""] + dirs + files:
            p = os.path.join(d, n) if n else d
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    what = f.read()
            else:
                what = None
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_gid, what)
    return out


@contextlib.contextmanager
def etc_lines(extra):
    """Append lines to /etc files for the duration (as root), then take exactly them out again.
    One holder at a time: the user and root runs of this file may go in parallel."""
    with open("/tmp/kakuri-it-etc.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with etc_lines_held(extra):
            yield


@contextlib.contextmanager
def etc_lines_held(extra):
    """etc_lines for a caller that holds /tmp/kakuri-it-etc.lock already."""
    added, created = {}, []
    try:
        for path, lines in extra.items():
            if not os.path.exists(path):
                with open(path, "w"):
                    created.append(path)
                os.chmod(path, 0o644)
            with open(path) as f:
                text = f.read()
            if text and not text.endswith("\n"):
                text += "\n"
            put(path, text + "".join(l + "\n" for l in lines))
            added[path] = lines
        yield
    finally:
        for path, lines in added.items():
            with open(path) as f:
                kept = [l for l in f.read().splitlines(keepends=True) if l.rstrip("\n") not in lines]
            if path in created and not kept:
                os.unlink(path)
            else:
                put(path, "".join(kept))


def put(path, text):
    """Replace a file atomically, keeping its mode and owner."""
    st = os.stat(path)
    tmp = f"{path}.kakuri-it"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    os.chown(tmp, st.st_uid, st.st_gid)
    os.rename(tmp, path)


def newuidmap_usable():
    for helper in ("newuidmap", "newgidmap"):
        path = shutil.which(helper, path="/usr/bin:/bin")
        if not path:
            raise Skip(f"{helper} missing (install uidmap)")
        st = os.stat(path)
        if not (st.st_mode & stat.S_ISUID and st.st_uid == 0):
            raise Skip(f"{path} is not setuid root")


# ---- the tree, and nothing of the host ----------------------------------------------------------


def test_rootfs_sees_the_tree_and_none_of_the_hosts_system(k):
    root = tree(k)
    p = k.sh("cat /etc/os-release", ["--rootfs", root])
    eq(p.stdout, OS_RELEASE, p.stderr)
    p = k.sh("ls -A /", ["--rootfs", root])
    eq(p.returncode, 0, p.stderr)
    names = set(p.stdout.split())
    ok({"bin", "etc", "lib", "proc", "dev", "sys", "tmp", "run"} <= names, names)
    ok(names <= {"bin", "etc", "lib", "proc", "dev", "sys", "tmp", "run"}, f"host names: {names}")
    eq(k.sh("ls -A /etc", ["--rootfs", root]).stdout, "os-release\n")
    for path in ("/usr/bin/env", "/usr/x", "/var/x", "/opt/x", "/root/x", "/home/x"):
        eq(k.probe(["write", path], ["--rootfs", root])["write"], "ENOENT", path)


def test_rootfs_writes_stay_in_memory(k):
    root = tree(k)
    before = snapshot(root)
    p = k.sh("echo new > /etc/new && echo more >> /etc/os-release && rm /bin/ls && "
             "chmod 600 /etc/os-release && mkdir -p /opt/x && touch /opt/x/y /top && cat /etc/new",
             ["--rootfs", root])
    eq((p.returncode, p.stdout), (0, "new\n"), p.stderr)
    eq(snapshot(root), before, "the tree changed")
    p = k.sh("cat /etc/os-release; ls /bin/ls; ls /etc; test -e /opt && echo opt; "
             "test -e /top && echo top", ["--rootfs", root])
    eq(p.stdout, OS_RELEASE + "/bin/ls\nos-release\n", p.stderr)


def test_rootfs_namespaces_and_fresh_dirs(k):
    root = tree(k)
    opts = ["--rootfs", root]
    r = k.probe(["pids"], opts)
    eq((r["pid"], r["ppid"]), ("2", "1"))
    ok(int(r["processes"]) <= 2, r)
    eq(k.probe(["netifs"], opts)["netifs"], "lo")
    eq(k.probe(["hostname"], opts)["hostname"], "kakuri")
    eq(k.probe(["write", "/tmp/x"], opts)["write"], "0")
    eq(k.probe(["write", "/run/x"], opts)["write"], "0")
    eq(k.probe(["write", "/dev/null"], opts)["write"], "0")
    eq(k.probe(["write", "/sys/kernel/uevent_helper"], opts)["write"], "EROFS")
    s = k.probe(["status"], opts)
    eq((s["NoNewPrivs"], s["Seccomp"]), ("1", "2"))
    # The home: HOME is the host's path, an empty directory made inside.
    p = k.sh('echo "$HOME"; ls -A "$HOME"; echo x > "$HOME/f" && echo home-ok', opts)
    eq(p.stdout, f"{k.home}\nhome-ok\n", p.stderr)
    ok(not os.path.exists(os.path.join(k.home, "f")), "home write reached the host")


def test_hostname_in_rootfs_and_host_mode(k):
    eq(k.probe(["hostname"], ["--rootfs", tree(k), "--hostname", "box7"])["hostname"], "box7")
    eq(k.probe(["hostname"], ["--hostname", "box8"])["hostname"], "box8")
    ok(socket.gethostname() not in ("box7", "box8"), "host name untouched")


def test_readme_rootfs_invocation(k):
    # sudo kakuri --rootfs /alpine-root --hostname container /bin/sh
    root = tree(k)
    p = k.run(["--rootfs", root, "--hostname", "container", "/bin/sh"],
              input="hostname; echo $$; cat /proc/self/uid_map; id -u; cat /etc/os-release\n")
    eq(p.returncode, 0, p.stderr)
    lines = p.stdout.splitlines()
    eq(lines[0], "container")
    eq(lines[1], "2", "its own PID namespace")
    want = ["0", "0", "4294967295"] if k.mode == "root" else ["0", str(k.uid), "1"]
    eq(lines[2].split(), want, "uid_map")
    eq(lines[3], "0")
    eq("\n".join(lines[4:]) + "\n", OS_RELEASE)


def test_rootfs_default_shell_is_the_trees(k):
    root = tree(k)
    # The caller's shell is not in the tree; the tree's /bin/sh is an absolute link that
    # resolves only inside it.
    p = k.run(["--rootfs", root], input="echo from-tree $((1+2))\n",
              env={"SHELL": "/bin/kakuri-it-no-such-shell"})
    eq((p.returncode, p.stdout), (0, "from-tree 3\n"), p.stderr)


def test_rootfs_errors_are_125_and_one_line(k):
    missing = os.path.join(k.tmp, "no-such-tree")
    p = k.run(["--rootfs", missing, "true"])
    eq(p.returncode, 125)
    eq(p.stderr, f"kakuri: --rootfs {missing}: no such directory\n")
    f = k.write(os.path.join(k.tmp, "a-file"), "x\n")
    p = k.run(["--rootfs", f, "true"])
    eq(p.returncode, 125)
    eq(p.stderr, f"kakuri: --rootfs {f}: not a directory\n")
    p = k.run(["--rootfs=", "true"])
    eq(p.returncode, 125)
    # A tree without a shell: an error without a command, fine with one.
    bare = k.mkdir("bare-tree")
    p = k.run(["--rootfs", bare], input="")
    eq(p.returncode, 125)
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok(p.stderr.startswith(f"kakuri: --rootfs {bare}: ") and "/bin/sh" in p.stderr, p.stderr)
    eq(k.probe(["ids"], ["--rootfs", bare])["uid"], "0")
    # A command the tree does not have.
    p = k.run(["--rootfs", tree(k), "python3", "-c", "1"])
    eq(p.returncode, 127, p.stderr)


def test_rootfs_relative_path(k):
    tree(k)
    p = k.run(["--rootfs", "rootfs", "cat", "/etc/os-release"], cwd=k.tmp)
    eq(p.stdout, OS_RELEASE, p.stderr)


def test_rootfs_binds_and_automatic_mounts(k):
    root = tree(k)
    d = k.mkdir("rootfs-data")
    k.write(os.path.join(d, "in.txt"), "hello\n")
    # A host path argument is mounted into the tree...
    p = k.run(["--rootfs", root, "cat", f"{d}/in.txt"])
    eq(p.stdout, "hello\n", p.stderr)
    # ...but a path the tree has, or a system directory, is the tree's.
    p = k.run(["--rootfs", root, "-v", "cat", "/etc/os-release"], cwd="/")
    eq(p.stdout, OS_RELEASE, p.stderr)
    ok("auto-mount" not in p.stderr, p.stderr)
    p = k.run(["--rootfs", root, "ls", "/usr/share", "/usr/lib/os-release"])
    ok(p.returncode != 0 and p.stdout == "", p.stdout)
    # Explicit binds, read-write and read-only.
    p = k.sh("cat /data/in.txt && echo out > /data/out.txt", ["--rootfs", root, "--bind", f"{d}:/data"])
    eq(p.stdout, "hello\n", p.stderr)
    with open(os.path.join(d, "out.txt")) as f:
        eq(f.read(), "out\n")
    eq(k.probe(["write", "/data/in.txt"], ["--rootfs", root, "--ro-bind", f"{d}:/data"])["write"],
       "EROFS")


def test_rootfs_dry_run(k):
    root = tree(k)
    p = k.run(["--dry-run", "--rootfs", root, "true"])
    eq(p.returncode, 0, p.stderr)
    ok(f"root-overlay /  (lower {root}, upper in memory)\n" in p.stdout, p.stdout)
    ok("overlay    /usr" not in p.stdout and "root-tmpfs" not in p.stdout, p.stdout)


def test_symlinked_system_dirs_never_lead_out(k):
    """A tree whose /proc, /dev, /sys, /tmp, /run are symlinks: whatever they point at, nothing is
    mounted or made outside the new root."""
    outside = k.mkdir("outside")
    targets = {}
    for d in ("proc", "dev", "sys", "tmp", "run"):
        targets[d] = k.mkdir(os.path.join("outside", d))

    def host_untouched():
        for d, path in targets.items():
            eq(os.listdir(path), [], f"host {path}")
        eq(sorted(os.listdir(outside)), sorted(targets), "host outside/")

    # 1. Relative links that on the host lead to outside/ (next to the tree), and absolute links
    # to the host's outside/ itself: inside the root neither exists, so kakuri refuses.
    rel = {d: f"../outside/{d}" for d in targets}
    evil = make_tree(k, "evil-rel", system_dirs=(), links=rel)
    before = snapshot(evil)
    p = k.run(["--rootfs", evil, "/bin/sh", "-c", "echo ran"])
    eq(p.returncode, 125, p.stdout + p.stderr)
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok("symlink" in p.stderr, p.stderr)
    host_untouched()
    eq(snapshot(evil), before)

    evil = make_tree(k, "evil-abs", system_dirs=(), links=dict(targets))
    p = k.run(["--rootfs", evil, "/bin/sh", "-c", "echo ran"])
    eq(p.returncode, 125, p.stdout + p.stderr)
    host_untouched()

    # 2. The same relative links where the tree has the targets: they are followed, inside.
    evil = make_tree(k, "evil-inside", system_dirs=[f"outside/{d}" for d in targets], links=rel)
    before = snapshot(evil)
    p = k.run(["--rootfs", evil, "/bin/sh", "-c",
               "echo x > /tmp/f && cat /tmp/f && echo d > /dev/null && test -c /dev/zero && "
               "grep -q ^Pid: /proc/self/status && echo ok; readlink /proc"])
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout, "x\nok\n../outside/proc\n", p.stderr)
    host_untouched()
    eq(snapshot(evil), before, "the tree changed")


def test_device_nodes_of_the_tree_are_inert(k):
    if not k.am_root:
        raise Skip("making a device node needs root")
    root = make_tree(k, "devtree")
    # A tarball or debootstrap brings device nodes along; the harmless /dev/null stands in for
    # /dev/sda or /dev/mem here.
    os.mknod(os.path.join(root, "etc", "disk"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    chown_tree(k, root)
    eq(k.probe(["write", "/etc/disk"], ["--rootfs", root])["write"], "EACCES")
    eq(k.probe(["write", "/dev/null"], ["--rootfs", root])["write"], "0", "kakuri's own /dev")


# ---- identity: --userns as real root, --subids unprivileged -------------------------------------


def uid_map(k, opts):
    p = k.sh("cat /proc/self/uid_map", opts)
    eq(p.returncode, 0, p.stderr)
    return [l.split() for l in p.stdout.splitlines()]


def test_userns_as_root_maps_root_away(k):
    if k.mode != "root":
        # Unprivileged there is always a user namespace: --userns changes nothing.
        eq(uid_map(k, ["--userns"]), [["0", str(k.uid), "1"]])
        return
    root = tree(k)
    d = k.mkdir("userns-bind")
    with etc_lines({}):  # no range for root while we look (another run may be adding some)
        for opts in (["--userns"], ["--userns", "--rootfs", root]):
            m = uid_map(k, opts)
            eq(len(m), 1, m)
            ok(m[0][0] == "0" and m[0][1] != "0", f"container root is host root: {m}")
            eq(m[0], ["0", "65534", "1"], "no range for root: nobody")
            eq(k.probe(["ids"], opts)["uid"], "0")
            # Root inside is not root outside: a root-owned host directory is not writable.
            eq(k.probe(["write", f"{d}/x"], opts + ["--bind", d])["write"], "EACCES")
        p = k.sh("grep ^Groups: /proc/self/status", ["--userns"])
        eq(p.stdout.split(), ["Groups:"], "host root's groups were dropped")
    eq(k.probe(["write", f"{d}/x"], ["--bind", d])["write"], "0", "without --userns")
    # With a subordinate range for root, that range.
    with etc_lines({"/etc/subuid": ["root:3000000:65536"], "/etc/subgid": ["root:3000000:65536"]}):
        eq(uid_map(k, ["--userns"]), [["0", "3000000", "65536"]])
        p = k.sh("touch /tmp/x && chown 1000:1000 /tmp/x && stat -c %u:%g /tmp/x",
                 ["--userns", "--rootfs", root])
        eq(p.stdout, "1000:1000\n", p.stderr)


def test_subids_map_a_range(k):
    if k.mode == "root":
        # As real root without --userns, --subids has nothing to widen.
        eq(uid_map(k, ["--subids"]), [["0", "0", "4294967295"]])
        return
    newuidmap_usable()
    root = tree(k)
    config = k.write(os.path.join(k.tmp, "subids.toml"), "[defaults]\nsubids = true\n")

    def check(start):
        for opts in (["--subids"], ["--config", config]):
            eq(uid_map(k, opts + ["--rootfs", root]),
               [["0", str(k.uid), "1"], ["1", str(start), "65536"]], " ".join(opts))
        p = k.sh("touch /tmp/x && chown 1000:1000 /tmp/x && stat -c %u:%g /tmp/x && "
                 "chown 1000:1000 /etc/os-release && stat -c %u:%g /etc/os-release",
                 ["--subids", "--rootfs", root])
        eq(p.stdout, "1000:1000\n1000:1000\n", p.stderr)
        eq(os.stat(os.path.join(root, "etc", "os-release")).st_uid, k.uid, "the tree changed")
        # Host mode too.
        eq(len(uid_map(k, ["--subids"])), 2)

    if k.drop:
        # Running as root: make the test user a real one with a range, for the duration.
        with etc_lines({"/etc/passwd": [f"{TEST_USER}:x:{k.uid}:{k.gid}::/nonexistent:/bin/sh"],
                        "/etc/group": [f"{TEST_USER}:x:{k.gid}:"],
                        "/etc/subuid": [f"{TEST_USER}:4000000:65536"],
                        "/etc/subgid": [f"{TEST_USER}:4000000:65536"]}):
            check(4000000)
        return
    raise Skip("needs root to give the test user a subordinate range")


def test_subids_errors_name_what_is_missing(k):
    if k.mode == "root":
        raise Skip("--subids errors are for unprivileged users")
    if not k.drop:
        raise Skip("the caller may have a range; the error needs a user without one")
    if shutil.which("newuidmap", path=k.env()["PATH"]) and shutil.which("newgidmap", path=k.env()["PATH"]):
        with etc_lines({}):  # while no other run of this file gives the test user a range
            p = k.run(["--subids", "true"])
            eq(p.returncode, 125)
            eq(p.stderr.count("\n"), 1, p.stderr)
            ok(p.stderr.startswith(f"kakuri: --subids: no range for {k.uid} in /etc/subuid"),
               p.stderr)
    # A PATH without the helpers (but with setpriv, which the harness runs kakuri through).
    bare_path = k.mkdir("path-without-helpers")
    setpriv = shutil.which("setpriv", path=k.env()["PATH"])
    if setpriv and not os.path.exists(os.path.join(bare_path, "setpriv")):
        os.symlink(setpriv, os.path.join(bare_path, "setpriv"))
    p = k.run(["--subids", "true"], env={"PATH": bare_path})
    eq(p.returncode, 125)
    eq(p.stderr, "kakuri: --subids: newuidmap not found (install the uidmap package)\n")
