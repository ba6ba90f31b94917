"""Escapes through what kakuri itself puts inside a container, each attacked: the kakuri
binary that init, `exec` and an interpreter of /proc/self/exe run (CVE-2019-5736), the
caller's terminal, and init as a way around the command's confinement."""
import fcntl
import hashlib
import os
import shutil
import struct
import subprocess
import termios
import time

from harness import Skip, eq, ok, parse_kv
from test_persist import kk, removed, setup
from test_process import PROMPT_ENV, RESUMABLE_JOB


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def second_copy(k, owner_uid):
    """A new inode of kakuri, owned as an installed or self-built copy would be."""
    d = k.mkdir("copy")
    copy = os.path.join(d, "kakuri")
    shutil.copy2(k.kakuri, copy)
    os.chown(copy, owner_uid, owner_uid)
    return copy


def plant_trap(k, env, name, create=()):
    """A persistent container whose program planted a script with /proc/self/exe for its
    interpreter (--config=FIFO: kakuri, were it to run, would wait there for the attacker).
    Returns the FIFO and the script's path inside."""
    probe = f"{k.probe_host}:/probe"
    eq(kk(k, env, "create", "--ro-bind", probe, *create, name).returncode, 0)
    eq(kk(k, env, "start", "-d", name).returncode, 0)
    fifo = os.path.join(k.home, "trap.toml")
    trap = os.path.join(k.home, "trap")
    p = kk(k, env, "exec", name, "sh", "-c",
           f"mkfifo {fifo} {fifo}.done && printf '#!/proc/self/exe --config={fifo}\\n' > {trap} && "
           f"chmod +x {trap}")
    eq(p.returncode, 0, p.stderr)
    return fifo, trap


def exec_with(k, kakuri, env, args):
    """kakuri exec ARGS with the chosen kakuri binary, as the mode's identity."""
    argv = [kakuri, "exec"] + list(args)
    if k.drop:
        argv = ["setpriv", f"--reuid={k.uid}", f"--regid={k.gid}", "--clear-groups",
                "--inh-caps=-all", "--"] + argv
    return subprocess.run(argv, env=k.env(env), cwd=k.work, capture_output=True, text=True,
                          timeout=60)


def trap_exec(k, kakuri, name, create=()):
    """The user execs the planted command where kakuri does run as its interpreter; the
    program holds what kakuri ran and writes it once it is free. Returns what it saw."""
    env, _ = setup(k)
    with removed(k, env, name):
        fifo, trap = plant_trap(k, env, name, create)
        attacker = k.popen(["exec", name, "/probe", "exe-grab", fifo], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        exec_with(k, kakuri, env, [name, trap])
        # That kakuri is gone: the copy is busy nowhere (no ETXTBSY to hide behind).
        eq(kk(k, env, "exec", name, "sh", "-c", f": > {fifo}.done").returncode, 0)
        out, err = attacker.communicate(timeout=60)
        r = parse_kv(out)
        ok(int(r.get("grabbed", "0")) >= 1, f"the attack never held kakuri's exe: {out!r} {err!r}")
        return out, err


def trap_refused(k, kakuri, name):
    """The user execs the planted command where it goes through the exec trampoline: the
    interpreter /proc/self/exe is the trampoline's sealed memfd, which refuses; kakuri never
    runs inside (it would block on the FIFO, and exec would not return)."""
    env, _ = setup(k)
    with removed(k, env, name):
        _, trap = plant_trap(k, env, name)
        p = exec_with(k, kakuri, env, [name, trap])
        eq(p.returncode, 126, f"{p.stdout!r} {p.stderr!r}")
        ok("the exec trampoline is not an interpreter" in p.stderr, p.stderr)


def test_exec_trap_cannot_rewrite_a_second_copy(k):
    # A copy the caller owns (a build tree, ~/.local/bin), or any copy run as real root: exec's
    # command goes through the trampoline, and the kakuri binary never runs inside.
    copy = second_copy(k, k.uid)
    before = digest(copy)
    trap_refused(k, copy, "trap1")
    eq(digest(copy), before, "the kakuri binary changed")


def test_exec_trap_cannot_rewrite_an_installed_binary(k):
    # Unprivileged with a binary host root owns (an installed kakuri): no trampoline, kakuri
    # runs as the interpreter, and the file is out of reach of every id a container maps.
    # As real root with a command that keeps SYS_PTRACE (which could reach the helper's
    # binary), kakuri runs through a read-only mount of its own that no one can make
    # writable: the reopen for writing is EROFS.
    if k.mode == "root":
        copy = second_copy(k, 0)
        create = ("--cap-add", "sys_ptrace")
    else:
        copy = k.kakuri  # the harness's copy is host root's, mode 0755
        ok(os.stat(copy).st_uid == 0, "the unprivileged suite's kakuri should be root's")
        create = ()
    before, ino = digest(copy), os.stat(copy).st_ino
    out, err = trap_exec(k, copy, "trap2", create)
    eq(digest(copy), before, "the kakuri binary changed")
    ok("write=0" not in out, f"wrote into what kakuri ran: {out!r}")
    if k.mode == "root":
        ok(f"exe_ino={ino}\nreopen=EROFS\n" in out, f"not the read-only clone: {out!r} {err!r}")


def run_binary(k, binary, args):
    """kakuri ARGS with the given binary, as the mode's identity."""
    argv = [binary] + list(args)
    if k.drop:
        argv = ["setpriv", f"--reuid={k.uid}", f"--regid={k.gid}", "--clear-groups",
                "--inh-caps=-all", "--"] + argv
    return subprocess.run(argv, env=k.env(), cwd=k.work, capture_output=True, text=True,
                          timeout=60)


def test_a_run_never_runs_kakuri_as_an_interpreter_inside(k):
    # An earlier run left a script whose interpreter is /proc/self/exe in a directory the
    # user binds again. The command is exec'd through kakuri's trampoline, from a sealed
    # memfd: the interpreter is that trampoline, which refuses, never the kakuri binary
    # (which would print its version here); and init's own /proc/1/exe cannot be opened.
    copy = second_copy(k, k.uid)
    before = digest(copy)
    d = k.mkdir("trapdir")
    k.write(os.path.join(d, "trap"), "#!/proc/self/exe --version\n", 0o755)
    p = run_binary(k, copy, ["--bind", f"{d}:/trapdir", "/trapdir/trap"])
    ok("kakuri 0" not in p.stdout, f"the kakuri binary ran inside: {p.stdout!r}")
    eq(p.returncode, 126, f"{p.stdout!r} {p.stderr!r}")
    ok("the exec trampoline is not an interpreter" in p.stderr, p.stderr)
    p = run_binary(k, copy, ["sh", "-c", "readlink /proc/1/exe; echo init_exe=$?"])
    ok("init_exe=1" in p.stdout, f"init's exe could be read from inside: {p.stdout!r}")
    # pasta joins init's namespaces before init stops being dumpable: a private network
    # still comes up with this binary.
    if shutil.which("pasta"):
        p = run_binary(k, copy, ["--network=private", "cat", "/sys/class/net/eth0/operstate"])
        eq(p.returncode, 0, p.stderr)
    eq(digest(copy), before, "the kakuri binary changed")


def test_a_build_trees_binary_cannot_be_replaced_from_inside(k):
    # Run from its build tree, the working directory (mounted read-write, README "Automatic
    # path mounting") holds the binary: a program inside must not rename, replace or write it,
    # nor move the directory it lies in, or the next run would be the program's. Also through
    # the re-executed path (as real root, a command that keeps SYS_PTRACE).
    tree = k.mkdir("tree")
    build = os.path.join(tree, "build")
    os.makedirs(build)
    binary = os.path.join(build, "kakuri")
    shutil.copy2(k.kakuri, binary)
    for p in (tree, build, binary):
        os.chown(p, k.uid, k.gid)
    before = digest(binary)
    attack = ("mv build/kakuri build/k.orig; printf '#!/bin/sh\\necho PWNED\\n' > build/new && "
              "mv -f build/new build/kakuri; echo x >> build/kakuri; mv build build.x; "
              "mkdir -p build; cp build.x/new build/kakuri 2>/dev/null; ls build")
    for extra in ([], ["--cap-add", "sys_ptrace"] if k.mode == "root" else None):
        if extra is None:
            continue
        argv = [binary] + extra + ["sh", "-c", attack]
        if k.drop:
            argv = ["setpriv", f"--reuid={k.uid}", f"--regid={k.gid}", "--clear-groups",
                    "--inh-caps=-all", "--"] + argv
        p = subprocess.run(argv, env=k.env(), cwd=tree, capture_output=True, text=True,
                           timeout=60)
        eq(p.returncode, 0, p.stderr)
        eq(digest(binary), before, f"the build tree's binary changed ({extra}): {p.stderr}")
        ok(os.path.isfile(binary), f"the binary is gone ({extra})")
        ok(not os.path.exists(os.path.join(tree, "build.x")), "the directory was moved")
        os.unlink(os.path.join(build, "new"))  # new files beside it are the tree's business


def test_a_root_run_keeping_sys_ptrace_runs_kakuri_from_a_read_only_mount(k):
    # A command that keeps SYS_PTRACE as real root may open init's /proc/1/exe: init then
    # runs kakuri through a read-only mount of its own (test_exec_trap_cannot_rewrite_a_second_copy
    # shows the reopen for writing is EROFS there, once the binary is busy nowhere).
    if k.mode != "root":
        raise Skip("real root only: in a user namespace no capability reaches init's binary")
    copy = second_copy(k, 0)
    grab = ("import os\n"
            "fd = os.open('/proc/1/exe', os.O_PATH)\n"
            "print('ro=%d' % (os.statvfs(f'/proc/self/fd/{fd}').f_flag & os.ST_RDONLY))\n")
    p = run_binary(k, copy, ["--cap-add", "sys_ptrace", "--", "python3", "-c", grab])
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout.strip(), "ro=1", p.stderr)


def test_the_status_is_the_commands_whatever_runs_inside(k):
    # Init keeps kakuri's error pipe to tell the command's status at the end. Nothing inside
    # may reach it: a status or message forged there would turn a failing run into success.
    forge = ("for fd in /proc/1/fd/*; do printf 'X0;E0,0,3:' > $fd && echo reached $fd; "
             "done 2>/dev/null; exit 7")
    for extra in ([], ["--user"], ["--cap-add", "SYS_PTRACE"]):
        p = k.run(extra + ["--", "/bin/sh", "-c", forge])
        eq(p.returncode, 7, f"{extra}: {p.stdout} {p.stderr}")
        # Real root keeping SYS_PTRACE is host root inside (README): it may reach init and say
        # things in kakuri's name, but the status stays the command's.
        if not (k.mode == "root" and extra):
            eq((p.stdout, p.stderr), ("", ""), f"{extra}")
    # A background writer racing init's last word changes nothing either.
    race = ("(while :; do printf 'X0;' > /proc/1/fd/3; done) 2>/dev/null & exit 9")
    for _ in range(5):
        p = k.run(["--", "/bin/sh", "-c", race])
        eq((p.returncode, p.stderr), (9, ""))


def test_a_forged_started_from_is_not_trusted(k):
    # KAKURI_STARTED_FROM carries the binary's path across kakuri's own re-execution; from a
    # caller it must neither move the binary's protection elsewhere nor reach the command.
    tree = k.mkdir("forged")
    binary = os.path.join(tree, "kakuri")
    shutil.copy2(k.kakuri, binary)
    victim = os.path.join(tree, "victim")
    k.write(victim, "not kakuri\n")
    for p in (tree, binary, victim):
        os.chown(p, k.uid, k.gid)
    env = k.env({"KAKURI_STARTED_FROM": victim})
    for extra in ([], ["--cap-add", "sys_ptrace"] if k.mode == "root" else None):
        if extra is None:
            continue  # unprivileged, nothing re-executes a binary the caller owns but memfd
        argv = [binary] + extra + ["--bind", tree]
        if k.drop:
            argv = ["setpriv", f"--reuid={k.uid}", f"--regid={k.gid}", "--clear-groups",
                    "--inh-caps=-all", "--"] + argv
        p = subprocess.run(argv + ["--dry-run", "true"], env=env, cwd=k.work,
                           capture_output=True, text=True, timeout=60)
        eq(p.returncode, 0, p.stderr)
        ok(f"mask       {binary}  (from /dev/null, ro)  (kakuri's own state)" in p.stdout,
           f"{extra}: the binary is not masked: {p.stdout}")
        ok(f"mask       {victim}" not in p.stdout, f"{extra}: the forged path was taken")
        # Run (re-executed as real root with SYS_PTRACE): the binary masked, the victim not.
        script = (f"echo ${{KAKURI_STARTED_FROM-unset}}; cat {victim}; "
                  f"cat {binary} 2>/dev/null | wc -c")
        p = subprocess.run(argv + ["sh", "-c", script], env=env, cwd=k.work,
                           capture_output=True, text=True, timeout=60)
        eq((p.returncode, p.stdout), (0, "unset\nnot kakuri\n0\n"), f"{extra}: {p.stderr}")


def interpreter_pid(script, deadline):
    """The host pid of the process the kernel started with /proc/self/exe as the interpreter
    of script (argv: /proc/self/exe, its argument, the script), once there is one."""
    while time.monotonic() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[0] == b"/proc/self/exe" and script.encode() in argv:
                return int(pid)
    raise AssertionError(f"no interpreter of {script} came")


def test_without_executable_memfds_kakuri_runs_from_a_read_only_mount(k):
    # vm.memfd_noexec=2 forbids executing any memfd: no trampoline, so real root's runs fall
    # back to kakuri re-executed from a read-only mount of itself (sealed.hpp). A script whose
    # interpreter is /proc/self/exe then runs that read-only kakuri, never a writable one.
    if os.getuid() != 0:
        raise Skip("vm.memfd_noexec is set in a PID namespace of real root's (unshare --pid)")
    if not os.path.exists("/proc/sys/vm/memfd_noexec"):
        raise Skip("this kernel has no vm.memfd_noexec")
    noexec = ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
              "echo 2 > /proc/sys/vm/memfd_noexec && exec \"$@\"", "sh"]
    if k.mode != "root":
        # Unprivileged with a binary the caller owns, the sealed copy would be a memfd: kakuri
        # refuses to run (one line, 125) rather than run with its binary writable inside.
        copy = second_copy(k, k.uid)
        refused = "binary:     refused: cannot keep"
        for args, out in ((["--dry-run", "true"], refused), (["true"], "")):
            p = subprocess.run(noexec + k.argv([])[:-1] + [copy] + args, env=k.env(),
                               cwd=k.work, capture_output=True, text=True, timeout=60)
            if out:
                ok(out in p.stdout, p.stdout + p.stderr)
                continue
            eq(p.returncode, 125, p.stderr)
            ok(p.stderr.startswith("kakuri: cannot keep the kakuri binary out of the "
                                   "container's reach") and p.stderr.count("\n") == 1, p.stderr)
        return
    copy = second_copy(k, 0)
    before = digest(copy)
    d = k.mkdir("noexec")
    cfg = os.path.join(d, "cfg")
    os.mkfifo(cfg)
    # kakuri as the trap's interpreter blocks opening its --config FIFO until we have looked.
    k.write(os.path.join(d, "trap"), "#!/proc/self/exe --config=/noexec/cfg\n", 0o755)
    run = noexec + [copy]
    p = subprocess.run(run + ["--dry-run", "true"], env=k.env(), cwd=k.work,
                       capture_output=True, text=True, timeout=60)
    ok("binary:     kakuri runs from a sealed copy of itself" in p.stdout, p.stdout + p.stderr)
    trapped = subprocess.Popen(run + ["--bind", f"{d}:/noexec", "/noexec/trap"], env=k.env(),
                               cwd=k.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        pid = interpreter_pid("/noexec/trap", time.monotonic() + 30)
        fd = os.open(f"/proc/{pid}/exe", os.O_PATH)
        try:
            ok(os.statvfs(f"/proc/self/fd/{fd}").f_flag & os.ST_RDONLY,
               "the kakuri that ran as the interpreter is not on a read-only mount")
        finally:
            os.close(fd)
        with open(cfg, "w") as f:
            f.write("not toml\n")
        _, err = trapped.communicate(timeout=60)
        ok("kakuri:" in err, f"the interpreter kakuri did not run to its config: {err!r}")
    finally:
        if trapped.poll() is None:
            trapped.kill()
            trapped.wait()
    eq(digest(copy), before, "the kakuri binary changed")


def test_a_process_inside_never_holds_the_callers_terminal(k):
    # A process left behind by `exec` keeps its stdin and, after exec returned, reads
    # what the user types into the host shell.
    env, _ = setup(k)
    eq(kk(k, env, "create", "tty1").returncode, 0)
    eq(kk(k, env, "start", "-d", "tty1").returncode, 0)
    with removed(k, env, "tty1"):
        go, res = os.path.join(k.home, "go"), os.path.join(k.home, "res")
        eq(kk(k, env, "exec", "tty1", "mkfifo", go, res).returncode, 0)
        leftover = (
            "import os, fcntl\n"
            "if os.fork() == 0:\n"
            "    os.setsid(); fd = os.dup(0)\n"
            "    for f in (0, 1, 2): os.close(f)\n"
            f"    open('{go}').read()\n"
            "    fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK)\n"
            "    try: got = repr(os.read(fd, 100))\n"
            "    except OSError as e: got = e.strerror\n"
            f"    open('{res}', 'w').write('read=' + got + '\\n')\n"
            "    os._exit(0)\n"
            "print('left-behind', flush=True)\n")
        with k.terminal(k.argv(["exec", "tty1", "python3", "-c", leftover]), env) as s:
            s.expect("left-behind")
            # exec is over (its terminal stays open); the user types into the host shell's.
            eq(s.wait(), 0)
            s.send("secret-typed\r")
            p = kk(k, env, "exec", "tty1", "sh", "-c", f"echo > {go}; cat {res}")
            ok("read=" in p.stdout, p.stdout + p.stderr)
            ok("secret" not in p.stdout, f"the terminal was read from inside: {p.stdout!r}")


TIOCGPTN = 0x80045430  # <asm/ioctls.h>: the pty number of a master


def caller_pts_dev(master):
    """st_dev of the devpts instance the caller's terminal (master's peer) lives in."""
    n = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
    return os.stat(f"/dev/pts/{n}").st_dev


def test_the_program_has_a_terminal_of_its_own(k):
    script = ("echo name=$(tty); echo dev=$(stat -L -c %d /proc/self/fd/0); "
              "echo size=$(stty size); test -t 0 && test -t 1 && test -t 2 && echo all=ttys")
    with k.terminal(k.argv(["--", "/bin/sh", "-c", script])) as s:
        fcntl.ioctl(s.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 99, 0, 0))
        host_dev = caller_pts_dev(s.fd)
        eq(s.finish(), 0)
        r = s.kv()
    ok(r["name"].startswith("/dev/pts/"), f"ttyname inside: {r}")
    ok(int(r["dev"]) != host_dev, "the program's terminal is the caller's own device")
    eq(r["size"], "33 99", "the window size crossed")
    eq(r.get("all"), "ttys")


def test_ctrl_z_suspends_a_program_to_the_host_shell(k):
    # A host shell with job control runs `kakuri python3 ...`; Ctrl-Z returns to it,
    # `fg` resumes the program (it says so on SIGCONT), Ctrl-C ends it.
    cmd = " ".join(k.argv(["--", "python3", "-c", RESUMABLE_JOB.split("-c ", 1)[1].rstrip("\r")]))
    with k.terminal(["/bin/bash", "--norc", "--noprofile", "-i"], PROMPT_ENV) as s:
        s.expect("KP$ ")
        s.send(cmd + "\r")
        s.expect("job-2")
        s.send("\x1a")
        s.expect("Stopped")
        s.expect("KP$ ")
        s.send("echo host-$((40+2))\r")
        s.expect("host-42")
        s.expect("KP$ ")
        s.send("fg\r")
        s.expect("resumed")
        s.send("\x03")
        s.expect("KP$ ")
        s.send("exit 0\r")
        eq(s.finish(), 0)


def init_seen_by_a_tracer(k, r, traceable):
    """What the probe's ptrace-init saw of init (r): as confined as the command, and holding
    no terminal but the container's; traced when traceable, else refused."""
    for key in ("CapPrm", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp"):
        eq(r[f"init_{key}"], r[f"self_{key}"], f"init's {key}")
    eq(r["init_Seccomp"], "2", "init runs under the filter")
    eq(r["init_NoNewPrivs"], "1", "init has no_new_privs")
    if not traceable:
        eq(r["attach"], "EPERM", "a temporary container's init is not dumpable")
        return
    eq(r["attach"], "0", "init is traceable with SYS_PTRACE")
    ttys = [v for key, v in r.items() if key.startswith("init_fd_") and "pts" in v]
    ok(ttys, f"init has no terminal at all: {r}")
    for v in ttys:
        ok(v.endswith(f"dev={r['pts_dev']}"), f"init holds a terminal not the container's: {v}")


def test_init_is_as_confined_as_the_command(k):
    # --cap-add SYS_PTRACE lets the command trace what it may: a temporary container's init
    # not at all in a user namespace (not dumpable; real root's SYS_PTRACE is host root's);
    # a persistent one's, which exec joins, then offers nothing more than the command has.
    with k.terminal(k.argv(k.probe_args(["ptrace-init"], ["--cap-add", "SYS_PTRACE"]))) as s:
        rc = s.finish()
        r = s.kv()
    eq(rc, 0, str(r))
    init_seen_by_a_tracer(k, r, traceable=k.mode == "root")
    env, _ = setup(k)
    with removed(k, env, "traced"):
        eq(kk(k, env, "create", "--ro-bind", f"{k.probe_host}:/probe", "--cap-add",
              "SYS_PTRACE", "traced").returncode, 0)
        with k.terminal(k.argv(["start", "traced", "/probe", "ptrace-init"]), env) as s:
            rc = s.finish()
            r = s.kv()
        eq(rc, 0, str(r))
        init_seen_by_a_tracer(k, r, traceable=True)


def test_tiocsti_cannot_reach_the_caller_even_without_the_filter(k):
    # With --seccomp=off TIOCSTI is the kernel's to allow: on the program's controlling
    # terminal it works, and that terminal is the container's pty, not the caller's.
    if open("/proc/sys/dev/tty/legacy_tiocsti").read().strip() != "1":
        raise Skip("this kernel refuses TIOCSTI to everyone (dev.tty.legacy_tiocsti = 0)")
    run = " ".join(k.argv(k.probe_args(["tiocsti"], ["--seccomp=off"])))
    script = f"{run}; echo kakuri-done; read line; echo \"got=[$line]\""
    with k.terminal(["/bin/sh", "-c", script]) as s:
        s.expect("tiocsti=")
        pushed = s.buf.split(b"\r\n")[0]
        s.expect("kakuri-done")
        s.send("typed\r")
        s.expect("got=[")
        rest = s.buf
        s.expect("]")
        eq(pushed, b"0", "TIOCSTI on the program's own terminal (the attack was tried)")
        eq(rest.split(b"]")[0], b"typed", "input injected into the caller's terminal")
        s.finish()
