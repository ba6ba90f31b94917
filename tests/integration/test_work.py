"""A user's work never vanishes silently (README, "Automatic path mounting and PATH
resolution"): the working directory counts as named, a command given with its path or found
first on the caller's PATH runs as the caller's shell would run it, a virtual environment
included."""
import os
import shutil

from harness import eq, ok

PYTHON = "/usr/bin/python3"


def project(k, name="proj"):
    """~/NAME, owned by the mode's user, with a script that reads a sibling."""
    d = os.path.join(k.home, name)
    k.write(os.path.join(d, "data.txt"), "sibling\n")
    k.write(os.path.join(d, "run.sh"), "#!/bin/sh\ncat \"$(dirname \"$0\")/data.txt\"\n", 0o755)
    return d


def read(path):
    with open(path) as f:
        return f.read()


def test_writes_in_the_working_directory_land_on_the_host(k):
    d = project(k)
    p = k.run(["sh", "-c", "echo x > out.txt; pwd"], cwd=d)
    eq((p.returncode, p.stdout), (0, d + "\n"), p.stderr)
    eq(read(os.path.join(d, "out.txt")), "x\n")
    # Below it too, and a new directory the program makes.
    p = k.run(["sh", "-c", "mkdir -p build/obj && echo y > build/obj/o"], cwd=d)
    eq(p.returncode, 0, p.stderr)
    eq(read(os.path.join(d, "build/obj/o")), "y\n")


def test_a_virtual_environment_made_inside_stays_and_runs(k):
    d = project(k)
    p = k.run([PYTHON, "-m", "venv", "--without-pip", ".venv"], cwd=d)
    eq(p.returncode, 0, p.stderr)
    venv = os.path.join(d, ".venv")
    ok(os.path.isfile(os.path.join(venv, "pyvenv.cfg")), "the venv vanished")
    prefix = "import sys; print(sys.prefix)"
    # Named with its path from the home (the project is not the working directory there).
    p = k.run([os.path.join(venv, "bin", "python"), "-c", prefix], cwd=k.home)
    eq((p.returncode, p.stdout), (0, venv + "\n"), p.stderr)
    # Activated: the caller's PATH finds its python first, as the shell would.
    path = os.path.join(venv, "bin") + ":" + k.env()["PATH"]
    p = k.run(["python", "-c", prefix], cwd=k.home, env={"PATH": path, "VIRTUAL_ENV": venv})
    eq((p.returncode, p.stdout), (0, venv + "\n"), p.stderr)
    # Not activated: the system's.
    p = k.run(["python3", "-c", prefix], cwd=k.home)
    eq((p.returncode, p.stdout), (0, "/usr\n"), p.stderr)
    # The environment is bound read-only: running it cannot change it.
    p = k.run([os.path.join(venv, "bin", "python"), "-c",
               f"open('{venv}/x', 'w')"], cwd=k.home)
    ok(p.returncode != 0 and not os.path.exists(os.path.join(venv, "x")), p.stderr)


def test_a_command_named_with_its_path_runs_with_its_siblings(k):
    d = project(k)
    # From its directory, with the working-directory rule off: the command's own rule.
    p = k.run(["--auto-mount=off", "./run.sh"], cwd=d)
    eq((p.returncode, p.stdout), (0, "sibling\n"), p.stderr)
    # From elsewhere, by its full path; its directory is read-only inside.
    p = k.run([os.path.join(d, "run.sh")], cwd=k.home)
    eq((p.returncode, p.stdout), (0, "sibling\n"), p.stderr)
    p = k.run(["--auto-mount=off", "sh", "-c", f"{d}/run.sh; touch {d}/new"], cwd=d)
    ok(p.returncode != 0 and not os.path.exists(os.path.join(d, "new")), p.stderr)
    # A missing one is still "not found", 127.
    eq(k.run(["./nothing.sh"], cwd=d).returncode, 127)


def test_nothing_the_user_did_not_name_becomes_visible(k):
    d = project(k)
    # Started in ~: the home is the container's own, empty.
    p = k.run(["ls", "-A", k.home], cwd=k.home)
    eq((p.returncode, p.stdout), (0, ""), p.stderr)
    # Started in /etc: the container's /etc, not the host's bound over it.
    p = k.run(["stat", "-f", "-c", "%T", "/etc"], cwd="/etc")
    eq((p.returncode, p.stdout), (0, "overlayfs\n"), p.stderr)
    # Started in a project, its parent stays hidden.
    k.write(os.path.join(k.home, "secret.txt"), "s\n")
    p = k.run(["sh", "-c", f"ls -A {k.home}"], cwd=d)
    eq((p.returncode, p.stdout), (0, "proj\n"), p.stderr)
    # The rule can be turned off: auto_mount_workdir = false.
    cfg = k.write(os.path.join(k.tmp, "nowd.toml"), "[defaults]\nauto_mount_workdir = false\n")
    p = k.run(["sh", "-c", "echo x > off.txt; pwd"], cwd=d, env={"KAKURI_CONFIG": cfg})
    eq((p.returncode, p.stdout), (0, k.home + "\n"), p.stderr)
    ok(not os.path.exists(os.path.join(d, "off.txt")), "written through a rule turned off")


def test_the_program_can_tell_it_runs_in_a_container(k):
    names = {"USER": "alice", "LOGNAME": "alice"}
    p = k.run(["sh", "-c", 'echo "$container $USER $LOGNAME $(id -u)"'], env=names)
    eq((p.returncode, p.stdout), (0, "kakuri root root 0\n"), p.stderr)
    p = k.run(["--user", "sh", "-c", 'echo "$container $USER $LOGNAME"'], env=names)
    eq((p.returncode, p.stdout), (0, "kakuri alice alice\n"), p.stderr)


def test_markers_files_and_the_hostname_of_its_own(k):
    host_files = {f: read(f) for f in ("/etc/hostname", "/etc/hosts") if os.path.exists(f)}
    script = ("cat /run/.containerenv /run/host/container-manager; echo ---; cat /etc/hostname; "
              "tail -n 1 /etc/hosts; echo changed >> /etc/hosts")
    p = k.run(["--hostname", "box", "sh", "-c", script])
    eq(p.returncode, 0, p.stderr)
    env, rest = p.stdout.split("---\n")
    ok(env.startswith('engine="kakuri-') and 'name=""\n' in env and 'image=""\n' in env, env)
    ok(f"rootless={0 if k.mode == 'root' else 1}\n" in env, env)
    ok(env.endswith("kakuri\n"), env)
    eq(rest, "box\n127.0.1.1\tbox\n")
    for f, text in host_files.items():
        eq(read(f), text, f"the host's {f} changed")
    if shutil.which("systemd-detect-virt"):
        p = k.run(["systemd-detect-virt", "-c"])
        eq((p.returncode, p.stdout), (0, "container-other\n"), p.stderr)


def test_a_persistent_root_filesystem_has_its_name_not_the_trees(k):
    from test_persist import kk, setup
    from test_rootfs import make_tree
    root = make_tree(k, "named-tree")
    k.write(os.path.join(root, "etc", "hostname"), "tree\n")
    k.write(os.path.join(root, "etc", "hosts"), "127.0.0.1 localhost\n")
    env, _ = setup(k)
    eq(kk(k, env, "create", "--rootfs", root, "web1").returncode, 0)
    try:
        p = kk(k, env, "start", "web1", "sh", "-c",
               "cat /etc/hostname /etc/hosts; grep name= /run/.containerenv; hostname")
        eq((p.returncode, p.stdout),
           (0, 'web1\n127.0.0.1 localhost\n127.0.1.1\tweb1\nname="web1"\nweb1\n'), p.stderr)
        eq(read(os.path.join(root, "etc", "hostname")), "tree\n", "the tree was written")
    finally:
        kk(k, env, "remove", "-f", "web1")


def test_userns_rootfs_starts_where_its_root_may_enter(k):
    # As real root with --userns, root inside is not host root: a tree's /root (host root's,
    # 0700) cannot be entered, and the home kakuri chose there once failed the run.
    if k.mode != "root":
        return
    from test_rootfs import make_tree
    root = make_tree(k, "locked-tree", system_dirs=("root",))
    os.chmod(os.path.join(root, "root"), 0o700)
    p = k.run(["--userns", "--rootfs", root, "sh", "-c", "pwd"], cwd="/", env={"HOME": "/root"})
    eq((p.returncode, p.stdout), (0, "/\n"), p.stderr)
    # Named with -w, it is still an error.
    p = k.run(["--userns", "--rootfs", root, "-w", "/root", "sh", "-c", "pwd"], cwd="/",
              env={"HOME": "/root"})
    eq(p.returncode, 125, p.stderr)
    ok("cannot enter the working directory /root" in p.stderr, p.stderr)


NOTE = "kakuri: note: discarded "
KEEP = " (use --bind DIR to keep them)\n"


def notes(stderr):
    return [l + "\n" for l in stderr.splitlines() if l.startswith(NOTE)]


def test_what_vanishes_is_named_once(k):
    # README's example: in ~ (not mounted), a build's output goes into the container's home.
    p = k.run(["sh", "-c", "echo x > app; mkdir -p .venv/bin; echo > .bash_history"], cwd=k.home)
    eq(p.returncode, 0, p.stderr)
    eq(notes(p.stderr), [f"{NOTE}2 new files in {k.home}: .venv/, app{KEEP}"], p.stderr)
    ok(not os.path.exists(os.path.join(k.home, "app")), "it was not discarded after all")
    # -v lists caches and histories too; -q and note_discarded = false say nothing.
    p = k.run(["-v", "sh", "-c", "echo > .bash_history"], cwd=k.home)
    eq(notes(p.stderr), [f"{NOTE}1 new file in {k.home}: .bash_history{KEEP}"], p.stderr)
    eq(k.run(["-q", "sh", "-c", "echo x > app"], cwd=k.home).stderr, "")
    off = k.write(os.path.join(k.tmp, "nonote.toml"), "[defaults]\nnote_discarded = false\n")
    p = k.run(["sh", "-c", "echo x > app"], cwd=k.home, env={"KAKURI_CONFIG": off})
    eq(p.stderr, "")


def test_nothing_written_nothing_said(k):
    for argv in (["true"], ["sh", "-c", "echo > .cache"], ["cat", "/etc/hostname"]):
        p = k.run(argv, cwd=k.home)
        eq(notes(p.stderr), [], f"{argv}: {p.stderr!r}")
    # What lands on the host is kept, so not named.
    d = project(k)
    p = k.run(["sh", "-c", "echo x > out.txt"], cwd=d)
    eq(p.stderr, "")


def test_named_outputs_that_were_not_mounted(k):
    # An output directory that does not exist yet: the program makes it where it vanishes.
    p = k.run(["sh", "-c", 'mkdir -p "$(dirname "$1")" && echo r > "$1"', "sh",
               os.path.join(k.home, "output", "results.txt")])
    eq(p.returncode, 0, p.stderr)
    eq(notes(p.stderr), [f"{NOTE}1 new file in {k.home}: output/{KEEP}"], p.stderr)
    # An output in /tmp: the container's own /tmp.
    out = f"/tmp/kakuri-it-{os.getpid()}.out"
    p = k.run(["sh", "-c", 'echo built > "$1"', "sh", out])
    eq(notes(p.stderr), [f"{NOTE}1 new file: {out}{KEEP}"], p.stderr)
    ok(not os.path.exists(out), "the output reached the host's /tmp")
    # An edited file of the container's own /etc: changed.
    p = k.run(["sh", "-c", 'echo "# x" >> "$1"', "sh", "/etc/hosts"])
    eq(notes(p.stderr), [f"{NOTE}1 changed file: /etc/hosts{KEEP}"], p.stderr)


def test_the_note_follows_no_link_and_stops(k):
    # A link a program left is a name in the line, never a way to what it leads to.
    p = k.run(["sh", "-c", "ln -s /etc etc; ln -s / root"], cwd=k.home)
    eq(notes(p.stderr), [f"{NOTE}2 new files in {k.home}: etc, root{KEEP}"], p.stderr)
    # A new directory counts once, whatever it holds.
    p = k.run(["python3", "-c", "import os\nos.mkdir('big')\nfor i in range(3000): "
               "os.mkdir(f'big/{i}')\nfor i in range(5): open(f'f{i}', 'w')"], cwd=k.home)
    eq(notes(p.stderr), [f"{NOTE}6 new files in {k.home}: big/, f0, f1, f2 and 2 more{KEEP}"],
       p.stderr)
    # A huge directory: the walk stops, and says there is more.
    p = k.run(["python3", "-c", "for i in range(20010): open(f'f{i:05}', 'w')"], cwd=k.home)
    eq(p.returncode, 0, p.stderr)
    n = notes(p.stderr)
    eq(len(n), 1, p.stderr)
    ok(n[0].startswith(f"{NOTE}20000+ new files in {k.home}: f") and
       n[0].endswith(f" and 19996 more{KEEP}"), n[0])


def test_a_trees_hosts_link_cannot_reach_a_host_file(k):
    # The tree's /etc/hosts is read to add the hostname's line: a link there is resolved inside
    # the tree (RESOLVE_IN_ROOT), never to the host's file, which stays as it was.
    from test_rootfs import make_tree
    secret = k.write(os.path.join(k.tmp, "host-secret"), "host-only-text\n", 0o600)
    root = make_tree(k, "linked-hosts")
    os.symlink(secret, os.path.join(root, "etc", "hosts"))
    if k.drop:
        os.lchown(os.path.join(root, "etc", "hosts"), k.uid, k.gid)
    p = k.run(["--rootfs", root, "--hostname", "box", "sh", "-c",
               "cat /etc/hosts 2>&1; echo x >> /etc/hosts 2>&1; echo done"], cwd="/")
    eq(p.returncode, 0, p.stderr)
    ok("host-only-text" not in p.stdout, f"the host's file was read: {p.stdout!r}")
    ok(p.stdout.endswith("done\n"), p.stdout)
    eq(read(secret), "host-only-text\n", "the host's file was written")


def test_a_trees_long_hosts_file_is_kept_whole_up_to_64_kib(k):
    # The tree's /etc/hosts is read a page at a time to add the hostname's line: one of a few
    # pages comes through whole, a line cut at no page's end; past 64 KiB the rest is left out.
    from test_rootfs import make_tree
    root = make_tree(k, "long-hosts")
    lines = "".join(f"10.0.{i // 250}.{i % 250} host-{i:05d}.example\n" for i in range(400))
    ok(4096 * 2 < len(lines) < 64 * 1024, len(lines))
    k.write(os.path.join(root, "etc", "hosts"), lines)
    p = k.run(["--rootfs", root, "--hostname", "box", "cat", "/etc/hosts"], cwd="/")
    eq((p.returncode, p.stdout), (0, lines + "127.0.1.1\tbox\n"), p.stderr)
    huge = "#" * 70000 + "\n"
    k.write(os.path.join(root, "etc", "hosts"), huge)
    p = k.run(["--rootfs", root, "--hostname", "box", "cat", "/etc/hosts"], cwd="/")
    eq((p.returncode, p.stdout), (0, huge[:64 * 1024] + "\n127.0.1.1\tbox\n"), p.stderr)
