"""The edges kakuri draws itself, attacked: automatic mounts steered by links a program
planted, arguments under the host's shared /tmp, and kakuri's own state (containers, config
files) reached from inside a container."""
import contextlib
import os
import socket
import tempfile

from harness import Skip, eq, ok, parse_kv
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
    # Standing in the directory would mount it (the working directory counts as named):
    # without that rule, only the argument is.
    nowd = k.write(os.path.join(k.tmp, "nowd.toml"), "[defaults]\nauto_mount_workdir = false\n")
    with host_tmp_marker() as marker:
        p = k.run(["--", "/bin/sh", "-c",
                   'cat "$1" && d=$(dirname "$1") && ls -A "$d" && ls -A /tmp && pwd', "sh",
                   f"{d}/x.c"], cwd=d, env={"KAKURI_CONFIG": nowd})
        eq(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        ok("neighbour" not in lines, f"the file's directory was mounted: {p.stdout}")
        ok(os.path.basename(marker) not in lines, f"the host's /tmp was mounted: {p.stdout}")
        ok("x.c" in lines, p.stdout)
        eq(lines[-1], d, "the working directory made for the mount is kept")
        # README's example (`kakuri cc -o /tmp/a.out x.c`): an output directly in /tmp once
        # bound the host's whole /tmp.
        out = f"/tmp/{os.path.basename(marker)}.out"
        p = k.run(["--", "/bin/sh", "-c", 'ls -A /tmp; echo built > "$1"', "sh", out])
        eq(p.returncode, 0, p.stderr)
        ok(os.path.basename(marker) not in p.stdout.splitlines(),
           f"the host's /tmp was mounted: {p.stdout}")
        ok(not os.path.exists(out), "the output reached the host's /tmp")
        # With the rule, the directory stood in is mounted, and still not /tmp around it.
        p = k.run(["--", "/bin/sh", "-c", 'ls -A; ls -A /tmp'], cwd=d)
        eq(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        ok("neighbour" in lines, p.stdout)
        ok(os.path.basename(marker) not in lines, f"the host's /tmp was mounted: {p.stdout}")


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


# ---- kakuri's own state is hidden in every container ---------------------------------------


DEV_PROFILE = '[bind_profiles]\ndev = ["~/.config", "~/.local", "~/.cache"]\n'


def store_record(k, name):
    """A real container in the default store (~/.local/kakuri/containers): its record."""
    p = k.run(["create", "--ro-bind", f"{k.probe_host}:/probe", name])
    eq(p.returncode, 0, p.stderr)
    rec = os.path.join(k.home, ".local", "kakuri", "containers", name, "container")
    ok(os.path.isfile(rec), f"no record at {rec}")
    return rec


def test_containers_dir_is_hidden_under_every_bind_that_shows_it(k):
    cfg = k.write(os.path.join(k.home, ".config", "container", "config.toml"), DEV_PROFILE)
    rec = store_record(k, "victim")
    before = open(rec).read()
    local = os.path.join(k.home, ".local")
    cdir = os.path.dirname(os.path.dirname(rec))
    etc_before = os.path.exists("/etc/kakuri")
    for opts, prefix in ((["--bind", "~/.local"], ""), (["--bind", "~"], ""),
                         (["--bind-profile", "dev"], ""),
                         (["--bind", f"{k.home}:/mnt/h"], "/mnt/h"),
                         (["--bind", "/:/host"], "/host")):
        def inside(p):
            return prefix + (p[len(k.home):] if prefix == "/mnt/h" else p)
        what = " ".join(opts)
        r = k.probe(["stat", inside(rec), inside(cdir), inside(local)], opts)
        eq(r[inside(rec)], "ENOENT", f"the record under {what}")
        eq(r[inside(cdir)], "dir", f"containers_dir under {what}")
        eq(r[inside(local)], "dir", f"~/.local itself under {what}")
        eq(k.probe(["write", inside(rec)], opts)["write"], "ENOENT", f"write under {what}")
        eq(k.probe(["write", inside(cdir) + "/evil"], opts)["write"], "EROFS", what)
        # Renaming a directory above it away, then making a new one with a forged record.
        for d in (os.path.dirname(cdir), cdir):
            eq(k.probe(["rename", inside(d), inside(d) + ".away"], opts)["rename"], "EBUSY",
               f"rename {d} under {what}")
        if opts[0] != "--bind" or opts[1] != "~/.local":
            eq(k.probe(["stat", inside(cfg)], opts)[inside(cfg)], "ENOENT",
               f"the config file under {what}")
    eq(open(rec).read(), before, "the record changed")
    ok(os.path.isdir(cdir), "containers_dir moved")
    # Only a directory a program could make itself is made (under /:/host, not /etc/kakuri).
    eq(os.path.exists("/etc/kakuri"), etc_before, "/etc/kakuri made on the host")
    eq(k.run(["remove", "victim"]).returncode, 0)


def test_missing_containers_dir_is_made_and_hidden(k):
    # Nothing there yet: a program must not make it and plant a container kakuri would start.
    state = k.mkdirs(os.path.join(k.home, "state"))
    cdir = os.path.join(state, "containers")
    cfg = k.write(os.path.join(k.tmp, "state.toml"), f'[storage]\ncontainers_dir = "{cdir}"\n')
    env = {"KAKURI_CONFIG": cfg}
    eq(k.probe(["mkdir", cdir], ["--bind", state], env=env)["mkdir"], "EEXIST",
       "a program made containers_dir")
    r = k.probe(["mkdir", f"{cdir}/evil"], ["--bind", state], env=env)
    eq(r["mkdir"], "EROFS", "a container made in containers_dir")
    r = k.probe(["rename", cdir, f"{cdir}.away"], ["--bind", state], env=env)
    eq(r["rename"], "EBUSY")
    ok(os.path.isdir(cdir) and not os.listdir(cdir), "containers_dir made empty")
    eq(os.stat(cdir).st_mode & 0o777, 0o700, "made private, as create makes it")
    ok(not os.path.exists(f"{cdir}/evil"), "a planted container")


def test_config_file_is_hidden(k):
    cfg = k.write(os.path.join(k.home, ".config", "container", "config.toml"),
                  '[defaults]\nhostname = "fromfile"\n')
    cdir = os.path.dirname(cfg)
    for opts in (["--bind", "~/.config"], ["--bind", "~"]):
        r = k.probe(["stat", cfg, cdir], opts)
        eq((r[cfg], r[cdir]), ("ENOENT", "dir"), " ".join(opts))
        eq(k.probe(["write", cfg], opts)["write"], "EROFS", " ".join(opts))
        eq(k.probe(["rename", cdir, cdir + ".away"], opts)["rename"], "EBUSY", " ".join(opts))
    eq(open(cfg).read(), '[defaults]\nhostname = "fromfile"\n', "the config changed")
    # $XDG_CONFIG_HOME's, and one named by --config among the user's own files: only the file.
    xdg = k.write(os.path.join(k.tmp, "xdg", "container", "config.toml"), "")
    r = k.probe(["stat", xdg], ["--bind", os.path.join(k.tmp, "xdg")],
                env={"XDG_CONFIG_HOME": os.path.join(k.tmp, "xdg")})
    eq(r[xdg], "ENOENT", "the XDG config")
    proj = k.mkdirs(os.path.join(k.home, "cfgproj"))
    named = k.write(os.path.join(proj, "k.toml"), '[defaults]\nhostname = "named"\n')
    k.write(os.path.join(proj, "other"), "mine\n")
    opts = ["--config", named, "--bind", proj]
    r = k.probe(["stat", named, os.path.join(proj, "other")], opts)
    eq((r[named], r[os.path.join(proj, "other")]), ("chr", "file"), "only the file is masked")
    # /dev/null, read-only and nodev: it cannot even be opened.
    eq(k.probe(["write", named], opts)["write"], "EACCES")
    eq(k.probe(["rename", named, named + ".away"], opts)["rename"], "EBUSY")
    eq(open(named).read(), '[defaults]\nhostname = "named"\n', "the named config changed")


def test_bind_inside_the_state_is_refused(k):
    rec = store_record(k, "inner")
    k.write(os.path.join(k.home, ".config", "container", "config.toml"),
            '[bind_profiles]\nbad = ["~/.local/kakuri/containers/inner"]\n')
    link = plant_link(k, os.path.join(k.home, "state-lnk"), os.path.dirname(rec))
    for opts in (["--bind", "~/.local/kakuri/containers/inner"],
                 ["--ro-bind", os.path.dirname(rec) + ":/x"], ["--bind", link],
                 ["--bind", "~/.config/container"], ["--bind-profile", "bad"]):
        p = k.run(opts + ["true"])
        eq(p.returncode, 125, " ".join(opts))
        eq(len(p.stderr.splitlines()), 1, p.stderr)
        ok(p.stderr.startswith("kakuri: ") and "kakuri's own state" in p.stderr, p.stderr)
    p = k.run(["--rootfs", os.path.dirname(rec), "true"])
    eq(p.returncode, 125, p.stderr)
    ok("kakuri's own state" in p.stderr, p.stderr)
    # An argument naming it mounts nothing either.
    eq(seen(k, [rec], [rec])[rec], "ENOENT")
    eq(k.run(["remove", "inner"]).returncode, 0)


def test_persistent_container_does_not_see_its_record(k):
    p = k.run(["create", "--ro-bind", f"{k.probe_host}:/probe", "--bind", "~/.local", "self"])
    eq(p.returncode, 0, p.stderr)
    cdir = os.path.join(k.home, ".local", "kakuri", "containers")
    rec = os.path.join(cdir, "self", "container")
    try:
        p = k.run(["start", "self", "/probe", "stat", rec, f"{cdir}/self/state"])
        r = parse_kv(p.stdout)
        eq((r.get(rec), r.get(f"{cdir}/self/state")), ("ENOENT", "ENOENT"), p.stderr)
        away = os.path.dirname(cdir) + ".away"
        p = k.run(["start", "self", "/probe", "rename", os.path.dirname(cdir), away])
        eq(parse_kv(p.stdout).get("rename"), "EBUSY", p.stderr)
        # Its own home, kept in containers_dir by design, works.
        p = k.run(["start", "self", "sh", "-c", "echo mine > ~/f && cat ~/f"])
        eq(p.stdout, "mine\n", p.stderr)
        ok(os.path.isfile(os.path.join(cdir, "self", "home", "f")), "the home is kept")
    finally:
        eq(k.run(["remove", "self"]).returncode, 0)
