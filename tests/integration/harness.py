"""Test harness for kakuri's integration tests.

Runs each test_* function of a test file against the real kakuri binary in one
mode: "root" (as real root) or "user" (unprivileged: an id with no passwd
entry, a HOME it owns and its own copies of the binaries, as a user who cannot
reach the build tree would have). Prints TAP for `meson test`.
"""
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

TEST_UID = 64123


class Fail(AssertionError):
    pass


def eq(got, want, what=""):
    if got != want:
        raise Fail(f"{what}: got {got!r}, want {want!r}" if what else f"got {got!r}, want {want!r}")


def ok(cond, what):
    if not cond:
        raise Fail(what)


def parse_kv(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


class Skip(Exception):
    pass


class K:
    """One mode's view: how to run kakuri, where its HOME and scratch space are."""

    def __init__(self, mode, kakuri, probe):
        self.mode = mode
        self.am_root = os.geteuid() == 0
        if mode == "root" and not self.am_root:
            raise Skip("root mode needs the suite to run as root")
        self.tmp = tempfile.mkdtemp(prefix=f"kakuri-it-{mode}-")
        os.chmod(self.tmp, 0o755)
        self.drop = mode == "user" and self.am_root
        self.uid = TEST_UID if self.drop else os.getuid()
        self.gid = TEST_UID if self.drop else os.getgid()
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        self.kakuri = os.path.join(bindir, "kakuri")
        self.probe_host = os.path.join(bindir, "probe")
        shutil.copy2(kakuri, self.kakuri)
        shutil.copy2(probe, self.probe_host)
        self.home = self.mkdir("home")
        # A sanitizer's runtime keeps copies of the environment of its own (it reads
        # /proc/self/environ at start): memory scans of kakuri's processes mean nothing there.
        with open(kakuri, "rb") as f:
            self.sanitized = b"__asan_init" in f.read()
        self.work = self.mkdir("work")

    def mkdir(self, name, mode=0o755):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        if self.drop:
            os.chown(path, self.uid, self.gid)
        return path

    def mkdirs(self, path, mode=0o755):
        """Make path and its missing parents, owned by the mode's user."""
        missing = []
        while not os.path.exists(path):
            missing.append(path)
            path = os.path.dirname(path)
        for p in reversed(missing):
            os.mkdir(p, mode)
            if self.drop:
                os.chown(p, self.uid, self.gid)
        return missing[0] if missing else path

    def write(self, path, text, mode=0o644):
        self.mkdirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        if self.drop:
            os.chown(path, self.uid, self.gid)
        return path

    def env(self, extra=None):
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": self.home,
            "SHELL": "/bin/sh",
            "LANG": "C.UTF-8",
            "TERM": os.environ.get("TERM", "xterm"),
        }
        # A sanitizer build's runtime options (meson test's defaults, .ci/run's) reach kakuri.
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if var in os.environ:
                env[var] = os.environ[var]
        env.update(extra or {})
        return env

    def argv(self, args):
        cmd = [self.kakuri] + list(args)
        if self.drop:
            cmd = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                   "--inh-caps=-all", "--"] + cmd
        return cmd

    def run(self, args, input=None, env=None, cwd=None, timeout=60, binary=False):
        p = subprocess.run(self.argv(args), input=input, env=self.env(env),
                           cwd=cwd or self.work, capture_output=True, timeout=timeout,
                           text=not binary)
        return p

    def popen(self, args, env=None, cwd=None, **kw):
        return subprocess.Popen(self.argv(args), env=self.env(env), cwd=cwd or self.work, **kw)

    def probe_args(self, args, opts=()):
        # The probe's arguments are container paths: no automatic mounts unless asked.
        if not any(o.startswith("--auto-mount") for o in opts):
            opts = ["--auto-mount=off"] + list(opts)
        return list(opts) + ["--ro-bind", f"{self.probe_host}:/probe", "--", "/probe"] + list(args)

    def probe(self, args, opts=(), want_rc=0, env=None):
        p = self.run(self.probe_args(args, opts), env=env)
        if p.returncode != want_rc:
            raise Fail(f"kakuri {' '.join(self.probe_args(args, opts))}: exit {p.returncode}, "
                       f"stderr {p.stderr!r}")
        return parse_kv(p.stdout)

    def sh(self, script, opts=(), env=None, input=None):
        return self.run(list(opts) + ["--", "/bin/sh", "-c", script], env=env, input=input)

    def terminal(self, argv, env=None):
        """argv (kakuri's: self.argv(ARGS); or a shell that runs it) on a terminal of its own,
        in the work directory, with this mode's environment."""
        return Terminal(argv, self.env(env), self.work)

    def cleanup(self):
        # What a failed test left can be unreadable (chmod 000) or deeper than rmtree goes.
        subprocess.run(["chmod", "-R", "u+rwX", self.tmp], capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", self.tmp], capture_output=True)


class Terminal:
    """A program on a pseudo-terminal of its own, as a user at a terminal runs it: what it
    writes is read as a screen (expect), what is sent is typed. A context manager: on the way
    out the program is killed if it is still there, and the terminal closed."""

    def __init__(self, argv, env, cwd):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.buf = b""  # what was read and not yet expected
        self.status = None  # the exit code, once waited for

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def expect(self, text, timeout=20):
        """Read until text appears; buf keeps what follows it."""
        want = text.encode()
        deadline = time.monotonic() + timeout
        while want not in self.buf:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not r:
                raise Fail(f"waited for {text!r}; screen: {self.buf[-400:]!r}")
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                raise Fail(f"EOF waiting for {text!r}; screen: {self.buf[-400:]!r}")
            self.buf += chunk
        self.buf = self.buf[self.buf.index(want) + len(want):]

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait(self):
        """The program's exit code, once it is over; the terminal stays open."""
        if self.status is None:
            _, status = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def finish(self, timeout=30):
        """Read the terminal to its end (into buf), then the program's exit code."""
        deadline = time.monotonic() + timeout
        while True:
            r, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))
            if not r:
                raise Fail(f"the terminal stayed open; processes: {process_tree()}")
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.buf += chunk
        code = self.wait()
        self.close()
        return code

    def kv(self):
        """The key=value lines in buf (after finish: all the program printed but expected)."""
        return parse_kv(self.buf.decode(errors="replace").replace("\r", ""))

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self.wait()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def process_tree():
    """kakuri's and its usual programs' processes, for a message about what stayed."""
    rows = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    st = f.read()
                with open(f"/proc/{entry}/wchan") as f:
                    wchan = f.read()
            except OSError:
                continue
            name = st[st.index("(") + 1:st.rindex(")")]
            if name in ("kakuri", "bash", "sleep", "sh", "probe"):
                rows.append(f"{entry} {st.rsplit(')', 1)[1].split()[:6]} {name} {wchan}")
    return "; ".join(rows)


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return sorted(" ".join(l.split()[3:5]) for l in f)


def processes_of(paths):
    """Processes running one of these files (by inode: paths differ inside containers)."""
    want = {(os.stat(p).st_dev, os.stat(p).st_ino) for p in paths}
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{pid}/exe")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in want:
            found.append(pid)
            continue
        # kakuri's sealed copy (src/sealed.cpp) keeps the path it was started by as argv[0].
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if exe.startswith("/memfd:kakuri") and argv0 in paths:
            found.append(pid)
    return found


def main():
    # Test files import this module as "harness"; catch its Skip, not __main__'s.
    import harness
    skip = (Skip, harness.Skip)
    mode, kakuri, probe, path = sys.argv[1:5]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    name = os.path.splitext(os.path.basename(path))[0]
    module = __import__(name)
    tests = [(n, f) for n, f in vars(module).items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    print("TAP version 13")
    print(f"1..{len(tests) + 1}")
    try:
        k = K(mode, kakuri, probe)
    except Skip as e:
        for i, (n, _) in enumerate(tests + [("nothing_left_behind", None)], 1):
            print(f"ok {i} - {n} # SKIP {e}")
        return 0
    mounts_before = host_mounts()
    failed = 0
    try:
        for i, (n, f) in enumerate(tests, 1):
            try:
                f(k)
                print(f"ok {i} - {mode}: {n}")
            except skip as e:
                print(f"ok {i} - {mode}: {n} # SKIP {e}")
            except Exception:
                failed += 1
                print(f"not ok {i} - {mode}: {n}")
                for line in traceback.format_exc().splitlines():
                    print(f"# {line}")
            sys.stdout.flush()
        left = processes_of([k.kakuri, k.probe_host])
        mounts_after = host_mounts()
        i = len(tests) + 1
        if left or mounts_after != mounts_before:
            failed += 1
            print(f"not ok {i} - {mode}: nothing_left_behind")
            print(f"# processes: {left}")
            print(f"# new mounts: {sorted(set(mounts_after) - set(mounts_before))}")
        else:
            print(f"ok {i} - {mode}: nothing_left_behind")
    finally:
        k.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
