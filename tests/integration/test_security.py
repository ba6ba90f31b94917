"""Security defaults, each attacked: seccomp on both ABIs, capabilities, fds,
the terminal, /proc in real-root mode, the kakuri binary, setuid copies."""
import hashlib
import os
import shutil
import struct
import subprocess

from harness import Skip, eq, ok, parse_kv

BLOCKED_EPERM = ["keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
                 "open_by_handle_at", "kexec_load", "init_module", "finit_module", "delete_module",
                 "reboot", "swapon", "swapoff", "settimeofday", "clock_settime", "acct", "quotactl",
                 "mount", "umount2", "pivot_root", "unshare_newuser"]
BLOCKED_ENOSYS = ["clone3", "fsopen", "open_tree"]


def host_has_i386_abi(k):
    p = subprocess.run([k.probe_host, "syscalls"], capture_output=True, text=True)
    return parse_kv(p.stdout).get("i386_abi") == "available"


def test_seccomp_blocks_on_both_abis(k):
    r = k.probe(["syscalls"])
    for name in BLOCKED_EPERM:
        eq(r[name], "EPERM", name)
    for name in BLOCKED_ENOSYS:
        eq(r[name], "ENOSYS", name)
    s = k.probe(["status"])
    eq(s["Seccomp"], "2", "filter mode")
    # The i386 ABI: where the kernel itself refuses int 0x80 (the probe sees SIGSEGV on
    # the host too), there is no such way in to attack; say so instead of passing.
    if not host_has_i386_abi(k):
        eq(r["i386_abi"], "unavailable", "i386 ABI inside while the host has none")
        raise Skip("this kernel refuses the i386 ABI (int 0x80) to every process")
    for name in BLOCKED_EPERM:
        eq(r[f"i386_{name}"], "EPERM", f"i386 {name}")
    for name in BLOCKED_ENOSYS:
        eq(r[f"i386_{name}"], "ENOSYS", f"i386 {name}")


def test_seccomp_off_is_off(k):
    r = k.probe(["syscalls"], ["--seccomp=off"])
    # The kernel's own answers to these harmless arguments are not EPERM.
    for name in ["keyctl", "bpf", "open_by_handle_at", "mount"]:
        ok(r[name] != "EPERM", f"{name} still blocked: {r[name]}")
    eq(k.probe(["status"], ["--seccomp=off"])["Seccomp"], "0")


NO_FILTER = "this kakuri was built without the seccomp filter"


def test_the_build_tells_whether_it_has_the_filter(k):
    # -Dseccomp=disabled: --version, --dry-run and kakuri config say there is no filter, and a
    # container runs (with one line of warning) instead of every run failing with 125.
    built = "built without the seccomp filter" not in k.run(["--version"]).stdout
    plan = k.run(["--dry-run", "true"]).stdout
    config = k.run(["config"]).stdout
    p = k.run(k.probe_args(["status"]))
    eq(p.returncode, 0, p.stderr)
    if built:
        ok("\nseccomp:    default filter\n" in plan, plan)
        ok(NO_FILTER not in config, config)
        eq(parse_kv(p.stdout)["Seccomp"], "2", "filter mode")
        eq(p.stderr, "")
    else:
        ok(f"\nseccomp:    none: {NO_FILTER}\n" in plan, plan)
        ok(f"\n# {NO_FILTER}: none is loaded\n" in config, config)
        eq(parse_kv(p.stdout)["Seccomp"], "0", "no filter to load")
        eq(len(p.stderr.splitlines()), 1, p.stderr)
        ok(p.stderr.startswith(f"kakuri: warning: {NO_FILTER}"), p.stderr)
    off = k.run(k.probe_args(["status"], ["--seccomp=off"]))
    eq((off.returncode, off.stderr), (0, ""), "--seccomp=off: nothing to say")


DEFAULT_CAPS = "00000000a80425fb"


def test_capabilities(k):
    s = k.probe(["status"])
    for key in ("CapPrm", "CapEff", "CapBnd"):
        eq(s[key], DEFAULT_CAPS, key)
    eq(s["CapInh"], "0000000000000000")
    eq(s["CapAmb"], "0000000000000000")
    s = k.probe(["status"], ["--user"])
    for key in ("CapPrm", "CapEff", "CapBnd", "CapInh", "CapAmb"):
        eq(s[key], "0000000000000000", f"--user {key}")
    s = k.probe(["status"], ["--cap-drop", "ALL"])
    eq(s["CapEff"], "0000000000000000")
    s = k.probe(["status"], ["--cap-add", "NET_ADMIN", "--cap-drop", "chown"])
    eq(int(s["CapEff"], 16), (int(DEFAULT_CAPS, 16) | 1 << 12) & ~1)
    eq(k.run(["--cap-add", "NOT_A_CAP", "true"]).returncode, 125)


def test_file_capabilities_give_nothing(k):
    if not k.am_root:
        raise Skip("setting security.capability needs root")
    fcap = os.path.join(k.mkdir("fcap"), "probe")
    shutil.copy2(k.probe_host, fcap)
    # VFS_CAP_REVISION_2 with the effective flag: cap_net_raw (13) permitted.
    os.setxattr(fcap, "security.capability", struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0))
    p = k.run(["--user", "--ro-bind", f"{fcap}:/fcap", "--", "/fcap", "status"])
    eq(parse_kv(p.stdout).get("CapEff"), "0000000000000000", p.stderr)


def test_no_new_privs(k):
    eq(k.probe(["status"])["NoNewPrivs"], "1")
    eq(k.probe(["status"], ["--user"])["NoNewPrivs"], "1")


def test_leaked_fd_cannot_be_used_as_workdir(k):
    fd = os.open(k.tmp, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.dup2(fd, 9, inheritable=True)
        p = subprocess.run(k.argv(k.probe_args(["cwd"], ["-w", "/proc/self/fd/9"])), env=k.env(),
                           cwd=k.work, capture_output=True, text=True, pass_fds=(9,))
        ok(p.returncode == 125 or parse_kv(p.stdout).get("cwd", "").startswith("/"),
           f"escaped through fd 9: {p.stdout} {p.stderr}")
        eq(p.returncode, 125, "refused")
    finally:
        os.close(9)
        os.close(fd)


def test_tiocsti_cannot_inject_into_the_terminal(k):
    # sh runs kakuri, which tries to push '#' into the terminal; sh then reads a
    # line: it must see only what we type.
    # What is typed while kakuri runs goes to the container's terminal: type once it is over.
    script = (f"{' '.join(k.argv(k.probe_args(['tiocsti'])))}; echo kakuri-done; read line; "
              "echo \"got=[$line]\"")
    with k.terminal(["/bin/sh", "-c", script]) as s:
        s.expect("tioclinux=")
        s.expect("kakuri-done")
        s.send("typed\r")
        s.expect("got=[")
        rest = s.buf
        s.expect("]")
        eq(rest.split(b"]")[0], b"typed", "injected input")
        s.finish()
    p = k.run(k.probe_args(["tiocsti"]))
    r = parse_kv(p.stdout)
    # Without a terminal the kernel answers ENOTTY; the filter answers first.
    eq((r["tiocsti"], r["tiocsti_high"], r["tioclinux"]), ("EPERM", "EPERM", "EPERM"))


def test_real_root_proc_is_masked(k):
    if k.mode != "root":
        raise Skip("masks apply to real root; unprivileged, host root owns these files")
    r = k.probe(["write", "/proc/sys/kernel/hostname"])
    eq(r["write"], "EROFS")
    # Every mask the host has a file for: it exists inside and reads empty (the
    # host's own copy does not, or there would be nothing to hide).
    masked = [f for f in ("/proc/keys", "/proc/timer_list", "/proc/kmsg", "/proc/kcore",
                          "/proc/sysrq-trigger", "/proc/sched_debug", "/proc/slabinfo",
                          "/proc/timer_stats", "/proc/latency_stats") if os.path.exists(f)]
    ok(masked, "the host has none of the masked files: nothing to test")
    for f in masked:
        p = k.sh(f"test -e {f} && wc -c < {f}")
        eq(p.stdout.strip(), "0", f"{f} masked")
    # /sys's host-wide tables (ACPI, DMI, EFI variables; RAPL energy counters): there and
    # empty, read-only.
    dirs = [d for d in ("/sys/firmware", "/sys/devices/virtual/powercap")
            if os.path.isdir(d) and os.listdir(d)]
    ok(dirs, "the host has none of the masked /sys directories: nothing to test")
    # On the container's own sysfs (a private network) and on the host's (its network).
    for net in ([], ["--allow-network"]):
        for d in dirs:
            p = k.sh(f"test -d {d} && ls -A {d} | wc -l", net)
            eq((p.returncode, p.stdout.strip()), (0, "0"), f"{net} {d} masked: {p.stderr}")
            eq(k.probe(["write", f"{d}/x"], net)["write"], "EROFS", f"{net} {d} read-only")


def test_proc_sys_not_writable_unprivileged(k):
    r = k.probe(["write", "/proc/sys/kernel/hostname"])
    ok(r["write"] in ("EACCES", "EROFS"), r["write"])


def test_kakuri_binary_cannot_be_overwritten(k):
    before = hashlib.sha256(open(k.kakuri, "rb").read()).hexdigest()
    for opts in ([], ["--user"]):
        r = k.probe(["exe-attack"], opts)
        eq(r["exe_opened_for_write"], "0", f"{opts}: opened a /proc/*/exe for writing")
        ok("wrote" not in r, str(r))
        if k.mode == "root":
            eq(r["read_init_exe"], "EACCES", "init is not dumpable")
        # Unprivileged, init is no more privileged than the command, which may then read
        # what init runs: a binary it cannot write (test_escape.py attacks it).
    eq(hashlib.sha256(open(k.kakuri, "rb").read()).hexdigest(), before)


def test_setuid_copy_refuses_to_run(k):
    if not k.drop:
        raise Skip("needs root to make a setuid copy and a user to run it")
    copy = os.path.join(k.mkdir("suid"), "kakuri")
    shutil.copy2(k.kakuri, copy)
    os.chown(copy, 0, 0)
    os.chmod(copy, 0o4755)
    p = subprocess.run(["setpriv", f"--reuid={k.uid}", f"--regid={k.gid}", "--clear-groups",
                        copy, "true"], env=k.env(), capture_output=True, text=True)
    eq(p.returncode, 125)
    ok("setuid" in p.stderr, p.stderr)
