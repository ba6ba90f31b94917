"""Test harness for kakuri's integration tests.

Runs each test_* function of a test file against the real kakuri binary in one
mode: "root" (as real root) or "user" (unprivileged: an id with no passwd
entry, a HOME it owns and its own copies of the binaries, as a user who cannot
reach the build tree would have). Prints TAP for `meson test`.
"""
import contextlib
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
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


class Output:
    """What a process writes to a pipe or a terminal (fd), read as it comes and without
    Python's buffering, so that select() says whether more is there. buf holds what was read
    and not yet taken."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""

    def _read(self, deadline, late):
        """One chunk into buf, waiting until deadline (then Fail(late())); False at the end."""
        r, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))
        if not r:
            raise Fail(late())
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: a terminal whose other side is closed
            chunk = b""
        self.buf += chunk
        return bool(chunk)

    def expect(self, text, timeout=20):
        """Read until text appears; buf keeps what follows it."""
        want = text.encode()
        deadline = time.monotonic() + timeout
        def screen():
            return f"{text!r}; screen: {self.buf[-400:]!r}"

        while want not in self.buf:
            if not self._read(deadline, lambda: "waited for " + screen()):
                raise Fail("EOF waiting for " + screen())
        self.buf = self.buf[self.buf.index(want) + len(want):]

    def line(self, want, timeout=30):
        """Read until a line that is want; the lines before it (buf keeps what follows)."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.decode() == want:
                    return seen
                seen.append(line.decode())
            ok(self._read(deadline, lambda: f"no line {want!r} after {seen}"),
               f"end of output before {want!r}: {seen}")

    def rest(self, timeout=30, late=None):
        """Read to the end (into buf); all of buf, as text."""
        deadline = time.monotonic() + timeout
        while self._read(deadline, late or (lambda: f"no end of output after {timeout}s")):
            pass
        return self.buf.decode(errors="replace")

    def drain(self):
        """Read and drop what is there already, without waiting."""
        while select.select([self.fd], [], [], 0)[0] and self._read(time.monotonic(), str):
            self.buf = b""


class Terminal(Output):
    """A program on a pseudo-terminal of its own, as a user at a terminal runs it: what it
    writes is read as a screen (expect), what is sent is typed. A context manager: on the way
    out the program is killed if it is still there, and the terminal closed."""

    def __init__(self, argv, env, cwd):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        super().__init__(fd)
        self.pid = pid
        self.status = None  # the exit code, once waited for

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

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
        self.rest(timeout, lambda: f"the terminal stayed open; processes: {process_tree()}")
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


@contextlib.contextmanager
def running(p):
    """A Popen for the with block: killed and reaped on the way out if it is still there."""
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def fresh_terminal_lflag():
    """The local modes (termios c_lflag) a new pseudo-terminal starts with."""
    master, peer = os.openpty()
    try:
        return termios.tcgetattr(peer)[3]
    finally:
        os.close(master)
        os.close(peer)


def read_line(stream, timeout=20):
    """The next line of a Popen's text stream, failing after timeout instead of hanging."""
    r, _, _ = select.select([stream], [], [], timeout)
    ok(r, "no output from the container")
    return stream.readline()


def ppid(pid):
    """The parent of pid, or -1 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def children(pid):
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and ppid(e) == pid]


def descendants(pid):
    out = []
    for child in children(pid):
        out += [child] + descendants(child)
    return out


def pidfds(pids):
    """{pid: pidfd}, opened now: a wait on them later is about these processes, whatever
    reuses their numbers."""
    return {pid: os.pidfd_open(pid) for pid in pids}


def wait_exited(fds, what, timeout=30):
    """Wait until every process of pidfds() has exited (closing the fds); a Fail naming what
    and the pid when one is still there after timeout."""
    try:
        for pid, fd in fds.items():
            ok(select.select([fd], [], [], timeout)[0], f"{what}: process {pid} still there")
    finally:
        for fd in fds.values():
            os.close(fd)


def still_running(pids, timeout=30):
    """Those of pids still there after timeout. A temporary container's init may still be in
    the kernel's teardown of its namespaces when kakuri has returned (README, "What a container
    sees": the status comes back before it); what ends on its own was not left behind."""
    fds = {}
    for pid in pids:
        try:
            fds[pid] = os.pidfd_open(int(pid))
        except ProcessLookupError:
            pass
    left = []
    try:
        for pid, fd in fds.items():
            if not select.select([fd], [], [], timeout)[0]:
                left.append(pid)
    finally:
        for fd in fds.values():
            os.close(fd)
    return left


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
        left = still_running(processes_of([k.kakuri, k.probe_host]))
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
