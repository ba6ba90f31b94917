"""Test harness for kakuri's integration tests.

Runs each test_* function of a test file against the real kakuri binary in one
mode: "root" (as real root) or "user" (unprivileged: an id with no passwd
entry, a HOME it owns and its own copies of the binaries, as a user who cannot
reach the build tree would have). Prints TAP for `meson test`.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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

    def cleanup(self):
        # What a failed test left can be unreadable (chmod 000) or deeper than rmtree goes.
        subprocess.run(["chmod", "-R", "u+rwX", self.tmp], capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", self.tmp], capture_output=True)


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
