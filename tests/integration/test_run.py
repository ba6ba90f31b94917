"""Temporary containers: exit statuses, identity, namespaces, files, binds."""
import os
import socket
import subprocess

from harness import Skip, eq, ok, parse_kv


def test_exit_status_is_the_commands(k):
    eq(k.run(k.probe_args(["exit", "0"])).returncode, 0, "exit 0")
    eq(k.run(k.probe_args(["exit", "3"])).returncode, 3, "exit 3")
    eq(k.sh("exit 200").returncode, 200, "exit 200")


def test_bad_option_is_125_with_one_line(k):
    p = k.run(["--no-such-option", "true"])
    eq(p.returncode, 125)
    eq(p.stderr.count("\n"), 1, "one line")
    ok(p.stderr.startswith("kakuri: ") and "--no-such-option" in p.stderr, p.stderr)
    p = k.run(["--network=bogus", "true"])
    eq(p.returncode, 125)
    ok("none, host, private or private,host-loopback" in p.stderr, p.stderr)


def test_control_characters_in_paths_are_one_line_errors(k):
    # A newline in a path would make a second line that looks like kakuri's own.
    forged = "/tmp\nkakuri: all is well"
    for opts in (["-w", forged], ["--workdir", forged], ["--bind", forged],
                 ["--ro-bind", f"{k.work}:{forged}"], ["--rootfs", forged], ["--config", forged],
                 ["-w", "/tmp\x1b[2J"], ["-w", "/tmp\x7f"]):
        p = k.run(opts + ["true"])
        eq(p.returncode, 125, f"{opts}: {p.stderr!r}")
        eq(p.stderr.count("\n"), 1, f"{opts}: {p.stderr!r}")
        name = "--workdir" if opts[0] == "-w" else opts[0]
        ok(p.stderr.startswith(f"kakuri: {name} '") and "control characters" in p.stderr
           and "\x1b" not in p.stderr and "\x7f" not in p.stderr, p.stderr)
    p = k.run(["-w", forged, "true"])
    eq(p.stderr, "kakuri: --workdir '/tmp\\nkakuri: all is well': control characters are not "
       "allowed in paths (see 'kakuri --help')\n")
    p = k.run(["exec", "-w", forged, "box", "true"])
    eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)
    ok("control characters" in p.stderr, p.stderr)
    # Elsewhere too, a value is quoted on its one line: a container's name...
    p = k.run(["create", "a\nb"], env={"KAKURI_CONFIG": "/dev/null/none"})
    eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)
    ok("'a\\nb'" in p.stderr, p.stderr)
    # ...and what the command line says in any message.
    p = k.run(["--network", "a\nb", "true"])
    eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)


def test_hostname_must_be_a_hostname(k):
    for good in ("a", "web-1", "0box", "Box.Example.org", "h" * 63, "a." + "b" * 62):
        eq(k.probe(["hostname"], ["--hostname", good])["hostname"], good)
    for bad in ("h" * 64, "a." + "b" * 63, "-a", "a-", "a..b", ".a", "a.", "my_box", "a b",
                "a/b", "a\nb", "b\u00e4r"):
        p = k.run(["--hostname", bad, "true"])
        eq(p.returncode, 125, repr(bad))
        eq(p.stderr.count("\n"), 1, p.stderr)
        ok(p.stderr.startswith("kakuri: bad hostname '"), p.stderr)
    cfg = k.write(os.path.join(k.tmp, "host.toml"), '[defaults]\nhostname = "-x"\n')
    p = k.run(["true"], env={"KAKURI_CONFIG": cfg})
    eq(p.returncode, 125)
    ok(p.stderr.startswith(f"kakuri: {cfg}:2: bad hostname: use letters"), p.stderr)  # no value


def test_missing_bind_source_is_125(k):
    p = k.run(["--bind", os.path.join(k.tmp, "nope"), "true"])
    eq(p.returncode, 125)
    ok(p.stderr.startswith("kakuri: ") and "nope" in p.stderr, p.stderr)


def test_command_not_found_is_127(k):
    p = k.run(["no-such-command-xyz"])
    eq(p.returncode, 127)
    eq(p.stderr, "kakuri: no-such-command-xyz: command not found\n")
    p = k.run(["/no/such/path"])
    eq(p.returncode, 127)


def test_not_executable_is_126(k):
    d = k.mkdir("noexec")
    k.write(os.path.join(d, "script"), "#!/bin/sh\necho hi\n", 0o644)
    p = k.run(["--bind", d, os.path.join(d, "script")])
    eq(p.returncode, 126, p.stderr)
    ok(p.stderr.startswith("kakuri: ") and "cannot execute" in p.stderr, p.stderr)
    p = k.run(["--bind", d, "/usr"])
    eq(p.returncode, 126, "a directory")


def test_hostname(k):
    eq(k.probe(["hostname"])["hostname"], "kakuri")
    eq(k.probe(["hostname"], ["--hostname", "box1"])["hostname"], "box1")
    eq(socket.gethostname() != "box1", True, "host name untouched")


def test_identity(k):
    ids = k.probe(["ids"])
    eq(ids["uid"], "0")
    eq(ids["gid"], "0")
    ids = k.probe(["ids"], ["--user"])
    eq(ids["uid"], str(k.uid))
    eq(ids["gid"], str(k.gid))
    maps = k.sh("cat /proc/self/uid_map").stdout.split()
    if k.mode == "user":
        eq(maps, ["0", str(k.uid), "1"], "uid_map")
    else:
        eq(maps, ["0", "0", "4294967295"], "real root keeps the initial map")


def test_private_network_has_only_lo(k):
    eq(k.probe(["netifs"])["netifs"], "lo")
    # lo is up: a listening socket on 127.0.0.1 is reachable inside.
    p = k.sh("cat /sys/class/net/lo/operstate; grep -c . /proc/net/dev")
    ok(p.returncode == 0, p.stderr)


def test_sys_is_the_containers_own_with_its_own_network(k):
    # A sysfs of the container's network namespace: its devices, not the host's, and none of
    # the host's mounts below /sys (cgroup hierarchies, tracefs).
    p = k.sh("ls /sys/class/net; ls -A /sys/fs/cgroup | wc -l; cat /proc/self/mountinfo")
    eq(p.returncode, 0, p.stderr)
    lines = p.stdout.split("\n")
    eq(lines[:2], ["lo", "0"], p.stdout)
    # mountinfo: the mount point is the fifth field, the type the first after " - ".
    mounts = [f"{l.split()[4]} {l.split(' - ')[1].split()[0]}" for l in lines[2:]
              if l and l.split()[4].startswith("/sys")]
    eq(mounts[0], "/sys sysfs", p.stdout)
    # Below it only masks (real root: firmware tables, power counters), never a host mount.
    for m in mounts[1:]:
        ok(m.split()[0] in ("/sys/firmware", "/sys/devices/virtual/powercap"), p.stdout)
    # The host's network: the host's /sys, its interfaces.
    host = sorted(n for _, n in socket.if_nameindex())
    p = k.sh("ls /sys/class/net", ["--allow-network"])
    eq(sorted(p.stdout.split()), host, p.stderr)


def test_sys_where_a_new_sysfs_is_refused(k):
    # Inside docker or podman, /sys has mounts over parts of it (/sys/firmware): in a user
    # namespace the kernel then refuses a new sysfs, and the container gets the host's /sys,
    # read-only, as with the host's network. (A mount namespace of the test's own.)
    if os.getuid() != 0:
        raise Skip("the test makes a mount namespace with a tmpfs over /sys/firmware")
    run = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /sys/firmware && exec "$@"', "sh"]
    p = subprocess.run(run + k.argv(["sh", "-c", "ls /sys/class/net; echo > /sys/x"]),
                       env=k.env(), cwd=k.work, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 2, p.stderr)  # the shell's: /sys is read-only
    host = sorted(n for _, n in socket.if_nameindex())
    want = ["lo"] if k.mode == "root" else host  # real root may always make one
    eq(sorted(p.stdout.split()), want, p.stderr)
    ok("Read-only file system" in p.stderr, p.stderr)


def test_allow_network_shares_the_hosts(k):
    host = ",".join(sorted(n for _, n in socket.if_nameindex()))
    for opt in (["--allow-network"], ["--network=host"], ["--network", "host"]):
        got = ",".join(sorted(k.probe(["netifs"], opt)["netifs"].split(",")))
        eq(got, host, " ".join(opt))


def test_pid_namespace(k):
    r = k.probe(["pids"])
    eq(r["pid"], "2", "the command is not PID 1")
    eq(r["ppid"], "1")
    ok(int(r["processes"]) <= 2, f"processes visible: {r['processes']}")


def test_zombies_are_reaped(k):
    eq(k.probe(["orphan"])["orphan_reaped"], "1")


def test_home_is_empty_and_private(k):
    k.write(os.path.join(k.home, "secret"), "s3cret\n")
    p = k.sh('echo "HOME=$HOME"; ls -A "$HOME"; for d in /root /mnt /media /srv; do '
             'test -e $d && echo "visible=$d"; done; ls /home')
    eq(p.returncode, 0, p.stderr)
    lines = p.stdout.splitlines()
    eq(lines[0], f"HOME={k.home}")
    ok(not any(l.startswith("visible=") for l in lines), p.stdout)
    ok("secret" not in p.stdout, p.stdout)
    # Writable, and gone afterwards.
    p = k.sh('echo x > "$HOME/new" && cat "$HOME/new"')
    eq(p.stdout, "x\n", p.stderr)
    ok(not os.path.exists(os.path.join(k.home, "new")), "home write reached the host")


def test_bind_rw(k):
    d = k.mkdir("data")
    k.write(os.path.join(d, "in.txt"), "hello\n")
    p = k.sh(f'cat {d}/in.txt && echo out > {d}/out.txt', ["--bind", d])
    eq(p.stdout, "hello\n", p.stderr)
    with open(os.path.join(d, "out.txt")) as f:
        eq(f.read(), "out\n")


def test_bind_to_other_destination_and_tilde(k):
    d = k.mkdir("data2")
    k.write(os.path.join(d, "f"), "two\n")
    p = k.sh("cat /data/f", ["--bind", f"{d}:/data"])
    eq(p.stdout, "two\n", p.stderr)
    os.makedirs(os.path.join(k.home, "proj"), exist_ok=True)
    k.write(os.path.join(k.home, "proj", "m.py"), "print(1)\n")
    if k.drop:
        os.chown(os.path.join(k.home, "proj"), k.uid, k.gid)
    p = k.sh('cat "$HOME/proj/m.py"; ls -A "$HOME"', ["--bind", "~/proj"])
    eq(p.stdout, "print(1)\nproj\n", p.stderr)


def test_ro_bind_is_read_only(k):
    d = k.mkdir("rodata")
    k.write(os.path.join(d, "f"), "ro\n")
    for opts in (["--ro-bind", d], ["--bind", f"{d}:ro"], ["--bind", f"{d}:/x:ro"]):
        target = "/x" if "/x" in opts[1] else d
        r = k.probe(["write", f"{target}/f"], opts)
        eq(r["write"], "EROFS", " ".join(opts))
    with open(os.path.join(d, "f")) as f:
        eq(f.read(), "ro\n")


def test_later_bind_wins(k):
    a, b = k.mkdir("bind_a"), k.mkdir("bind_b")
    k.write(os.path.join(a, "who"), "a\n")
    k.write(os.path.join(b, "who"), "b\n")
    p = k.sh("cat /m/who", ["--bind", f"{a}:/m", "--bind", f"{b}:/m"])
    eq(p.stdout, "b\n", p.stderr)


def test_writes_never_reach_the_host(k):
    marker = f"kakuri-it-{os.getpid()}"
    paths = [f"/etc/{marker}", f"/opt/{marker}", f"/tmp/{marker}", f"/var/tmp/{marker}",
             f"/{marker}"]
    for path in paths:
        eq(k.probe(["write", path])["write"], "0", path)
        ok(not os.path.exists(path), f"{path} reached the host")
    # /usr: an overlay as real root; unprivileged a read-only bind (README says why).
    path = f"/usr/{marker}"
    eq(k.probe(["write", path])["write"], "0" if k.mode == "root" else "EROFS", path)
    ok(not os.path.exists(path), f"{path} reached the host")
    # Root-owned files inside system directories: writable all the way down as
    # real root, refused (EACCES) unprivileged: the kernel rule README's "The unprivileged
    # overlay limit" states (capabilities do not apply to files of an unmapped owner).
    deep = f"/etc/apt/{marker}"
    want = "0" if k.mode == "root" else "EACCES"
    eq(k.probe(["write", deep])["write"], want, deep)
    eq(k.probe(["write", "/etc/passwd"])["write"], want, "/etc/passwd")
    # /etc/hostname is the container's own file (README, "What a container sees": markers).
    before = open("/etc/hostname").read() if os.path.exists("/etc/hostname") else None
    eq(k.probe(["write", "/etc/hostname"])["write"], "0" if before is not None else want,
       "/etc/hostname")
    if before is not None:
        eq(open("/etc/hostname").read(), before, "/etc/hostname reached the host")
    ok(not os.path.exists(deep), f"{deep} reached the host")


def test_world_writable_root_file_gives_eoverflow_unprivileged(k):
    if not k.am_root:
        raise Skip("needs root to plant a root-owned world-writable file")
    path = f"/opt/kakuri-it-ww-{os.getpid()}"
    with open(path, "w") as f:
        f.write("ww\n")
    os.chmod(path, 0o666)
    try:
        want = "0" if k.mode == "root" else "EOVERFLOW"
        eq(k.probe(["write", path])["write"], want)
        with open(path) as f:
            eq(f.read(), "ww\n", "host file unchanged")
    finally:
        os.unlink(path)


def test_sys_is_read_only_and_proc_is_ours(k):
    eq(k.probe(["write", "/sys/kernel/uevent_helper"])["write"], "EROFS")
    p = k.sh("readlink /proc/self; ls /proc | grep -c '^[0-9]'")
    ok(p.returncode == 0, p.stderr)


def test_minimal_dev(k):
    p = k.sh("ls /dev | sort | tr '\\n' ' '; echo x > /dev/null && echo null-ok; "
             "head -c 4 /dev/zero | wc -c")
    names = p.stdout.splitlines()[0].split()
    for n in ["core", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
              "stdout", "tty", "urandom", "zero"]:
        ok(n in names, f"/dev/{n} missing: {names}")
    ok(not any(n.startswith(("sd", "vd", "nvme", "kmsg", "mem")) for n in names), f"host devices: {names}")
    ok("null-ok" in p.stdout, p.stdout)


def test_pipes_and_streams(k):
    data = os.urandom(1 << 20)
    p = k.run(["cat"], input=data, binary=True)
    eq(p.returncode, 0)
    ok(p.stdout == data, "1 MiB through cat is byte-exact")
    p = k.sh("echo out; echo err >&2")
    eq((p.stdout, p.stderr), ("out\n", "err\n"))


def test_environment(k):
    env = {"KEEP": "1", "DROP": "2"}
    p = k.sh('echo "$KEEP|$DROP|$NEW|$HOME"', ["--unsetenv", "DROP", "-e", "NEW=3"], env=env)
    eq(p.stdout, f"1||3|{k.home}\n", p.stderr)
    p = k.run(["--clearenv", "-e", "A=b", "--", "/usr/bin/env"], env=env)
    got = dict(l.split("=", 1) for l in p.stdout.splitlines())
    eq(got.get("A"), "b")
    ok("KEEP" not in got, f"clearenv kept KEEP: {got}")
    eq(got.get("HOME"), k.home)
    ok("PATH" in got, "PATH set")
    eq(k.run(["-e", "=x", "true"]).returncode, 125)


# Fake credentials in the caller's environment, and names that only look close.
CREDENTIALS = {"GITHUB_TOKEN": "fake-gh-123", "MY_API_KEY": "fake-456",
               "aws_secret_access_key": "fake-aws-789", "SSH_AUTH_SOCK": "/tmp/fake-agent.sock"}
NEAR_MISSES = {"TOKENIZERS_PARALLELISM": "false", "KEYBOARD_LAYOUT": "dvorak",
               "PASSWORD_STORE_DIR": "/pass", "MY_TOKEN_FILE": "/token-file"}


def env_inside(p):
    eq(p.returncode, 0, p.stderr)
    return dict(l.split("=", 1) for l in p.stdout.splitlines() if "=" in l)


def no_fake(what, *texts):
    for t in texts:
        ok("fake" not in t, f"a credential's value in {what}: {t!r}")


def test_credentials_stay_outside(k):
    p = k.run(["/usr/bin/env"], env={**CREDENTIALS, **NEAR_MISSES})
    got = env_inside(p)
    for name in CREDENTIALS:
        ok(name not in got, f"{name} reached the container: {got}")
    for name, value in NEAR_MISSES.items():
        eq(got.get(name), value, name)
    eq(got.get("LANG"), "C.UTF-8")
    no_fake("the container's environment", p.stdout)
    no_fake("kakuri's stderr", p.stderr)


def test_e_passes_a_credential_on_purpose(k):
    p = k.run(["-e", "GITHUB_TOKEN", "-e", "aws_secret_access_key", "-e", "MY_API_KEY=other",
               "/usr/bin/env"], env=CREDENTIALS)
    got = env_inside(p)
    eq(got.get("GITHUB_TOKEN"), "fake-gh-123")
    eq(got.get("aws_secret_access_key"), "fake-aws-789")
    eq(got.get("MY_API_KEY"), "other")
    ok("SSH_AUTH_SOCK" not in got, f"SSH_AUTH_SOCK reached the container: {got}")
    p = k.run(["--clearenv", "-e", "GITHUB_TOKEN", "/usr/bin/env"], env=CREDENTIALS)
    eq(env_inside(p).get("GITHUB_TOKEN"), "fake-gh-123", "with --clearenv")


def test_verbose_and_dry_run_name_credentials_never_their_values(k):
    env = {**CREDENTIALS, "EXPLICIT_TOKEN": "fake-explicit"}
    p = k.run(["-v", "-e", "EXPLICIT_TOKEN", "-e", "OTHER_SECRET=fake-other", "true"], env=env)
    eq(p.returncode, 0, p.stderr)
    notes = [l for l in p.stderr.splitlines() if "environment: kept outside" in l]
    eq(notes, ["kakuri: environment: kept outside: GITHUB_TOKEN, MY_API_KEY, "
               "aws_secret_access_key, SSH_AUTH_SOCK (credentials; pass one with -e NAME)"],
       p.stderr)
    no_fake("-v output", p.stdout, p.stderr)
    p = k.run(["--dry-run", "-v", "-e", "EXPLICIT_TOKEN", "-e", "OTHER_SECRET=fake-other", "true"],
              env=env)
    eq(p.returncode, 0, p.stderr)
    ok("command:" in p.stdout, p.stdout)
    no_fake("--dry-run output", p.stdout, p.stderr)
    # Errors about the environment name no value either.
    for bad in (["-e", "=fake-no-name"], ["--unsetenv", "GITHUB_TOKEN=fake-x"]):
        p = k.run(bad + ["true"], env=env)
        eq(p.returncode, 125, bad)
        eq(p.stderr.count("\n"), 1, p.stderr)
        no_fake("an error", p.stdout, p.stderr)


PASSED = {"PASSED_TOKEN": "passed-on-purpose-42"}


def init_memory(k, run_args, env, kept_out=tuple(CREDENTIALS)):
    """Run the probe's init-memory (run_args: kakuri's words up to the probe) with the values
    of the variables kept out as needles, and the value of PASSED_TOKEN, which init must hold
    (passed with -e)."""
    needles = [env[name] for name in kept_out] + ["passed-on-purpose-42"]
    p = k.run(run_args + ["init-memory"], input="\n".join(needles) + "\n", env=env)
    r = parse_kv(p.stdout)
    eq(p.returncode, 0, p.stderr)
    # The scan works: it reads init's memory and finds what init must hold (the command's
    # environment) ...
    eq((r.get("init_environ"), r.get("init_mem")), ("0", "0"), str(r))
    ok(int(r["init_scanned"]) > 100000, f"scanned too little of init: {r}")
    found = r["init_found"].split(",") if r["init_found"] else []
    ok("passed-on-purpose-42" in found, f"the scan missed a value init holds: {r}")
    # ... and none of the credentials kept outside.
    eq([n for n in found if n != "passed-on-purpose-42"], [], "credentials in init's memory")


def test_init_memory_holds_no_credentials(k):
    # kakuri's init is a copy of kakuri, whose environment block held every variable of the
    # caller's: as real root, SYS_PTRACE is host root's own, and root inside reads init's
    # memory: it must find none of them. In a user namespace a temporary container's init is
    # not dumpable: nothing inside reads it at all (a persistent one's, which exec joins, is
    # scanned in test_persist).
    if k.sanitized:
        raise Skip("a sanitizer build: its runtime keeps its own copy of the environment")
    args = k.probe_args([], ["--cap-add", "SYS_PTRACE", "-e", "PASSED_TOKEN"])
    if k.mode == "root":
        init_memory(k, args, {**CREDENTIALS, **PASSED})
        return
    p = k.run(args + ["init-memory"], input="x\n", env={**CREDENTIALS, **PASSED})
    r = parse_kv(p.stdout)
    eq((r.get("init_environ"), r.get("init_mem")), ("EACCES", "EACCES"), str(r))


def test_workdir(k):
    eq(k.probe(["cwd"], ["-w", "/usr/share"])["cwd"], "/usr/share")
    # The caller's directory when visible inside (a bind at the same path), else HOME.
    d = k.mkdir("wd")
    eq(k.probe(["cwd"], ["--bind", d])["cwd"], k.home, "a hidden caller cwd falls back to HOME")
    p = k.run(k.probe_args(["cwd"], ["--bind", d]), cwd=d)
    eq(parse_kv(p.stdout)["cwd"], d)
    p = k.run(k.probe_args(["cwd"]), cwd="/usr/share")
    eq(parse_kv(p.stdout)["cwd"], "/usr/share")
    p = k.run(["-w", "/no/such/dir", "true"])
    eq(p.returncode, 125)
    ok("working directory" in p.stderr, p.stderr)


def test_no_command_runs_the_shell(k):
    p = k.run([], input="echo from-shell $((2+3))\n", env={"SHELL": "/bin/sh"})
    eq(p.stdout, "from-shell 5\n", p.stderr)


def test_dry_run_prints_the_plan_and_runs_nothing(k):
    d = k.mkdir("dry")
    p = k.run(["--dry-run", "--bind", f"{d}:/data:ro", "--", "sh", "-c", f"touch {d}/ran"])
    eq(p.returncode, 0, p.stderr)
    ok(f"bind       /data  (from {d}, ro)" in p.stdout, p.stdout)
    usr = "overlay    /usr" if k.mode == "root" else "bind       /usr  (from /usr, ro)"
    ok("pivot-root" in p.stdout and usr in p.stdout, p.stdout)
    ok(not os.path.exists(os.path.join(d, "ran")), "dry run ran the command")
    # How the kakuri binary is kept out of reach (README, SECURITY.md): as real root every id
    # inside could write it; unprivileged, host root's binary is nobody's inside.
    direct = "binary:     the command is exec'd directly"
    through = "binary:     the command is exec'd through a sealed trampoline"
    ok((through if k.mode == "root" else direct) in p.stdout, p.stdout)
    if k.mode == "root":
        # A command that keeps SYS_PTRACE as real root could reach init: kakuri re-executes.
        p = k.run(["--dry-run", "--cap-add", "SYS_PTRACE", "true"])
        ok("binary:     kakuri runs from a sealed copy of itself" in p.stdout, p.stdout)


def test_help_and_version(k):
    p = k.run(["--help"])
    eq(p.returncode, 0)
    ok("--bind" in p.stdout and "--dry-run" in p.stdout, p.stdout)
    p = k.run(["--version"])
    ok(p.stdout.startswith("kakuri "), p.stdout)
    eq(k.run(["help"]).returncode, 0)


def test_no_new_privs_and_fds(k):
    r = k.probe(["status"])
    eq(r["NoNewPrivs"], "1")
    # fd 9 open in the caller must not reach the command.
    rfd, wfd = os.pipe()
    os.dup2(rfd, 9, inheritable=True)
    try:
        import subprocess
        p = subprocess.run(k.argv(k.probe_args(["fds"])), env=k.env(), cwd=k.work,
                           capture_output=True, text=True, pass_fds=(9,))
        eq(parse_kv(p.stdout)["fds"], "0,1,2", p.stderr)
    finally:
        os.close(9)
        os.close(rfd)
        os.close(wfd)
