"""Persistent containers: life cycle, persistence, exec, stop, list, remove,
and the store staying true under concurrency and kill -9."""
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess

from harness import (TEST_UID, Output, children, eq, ok, parse_kv, pidfds, read_line, running,
                     wait_exited)
from test_run import CREDENTIALS, PASSED, env_inside, init_memory, no_fake


def setup(k, store="store"):
    cdir = os.path.join(k.mkdir(store), "containers")
    cfg = k.write(os.path.join(k.tmp, f"{store}.toml"), f'[storage]\ncontainers_dir = "{cdir}"\n')
    return {"KAKURI_CONFIG": cfg}, cdir


def kk(k, env, *args, **kw):
    return k.run(list(args), env=env, **kw)


@contextlib.contextmanager
def removed(k, env, *names):
    """The with block; then the containers named are removed (-f), whatever happened."""
    try:
        yield
    finally:
        for name in names:
            kk(k, env, "remove", "-f", name)


def listing(k, env):
    p = kk(k, env, "list", "--json")
    eq(p.returncode, 0, p.stderr)
    return {c["name"]: c for c in json.loads(p.stdout)}


def test_life_cycle_and_persistence(k):
    env, cdir = setup(k)
    probe = f"{k.probe_host}:/probe"
    eq(kk(k, env, "create", "--ro-bind", probe, "box").returncode, 0)
    eq(listing(k, env)["box"]["status"], "created")
    p = kk(k, env, "start", "box", "sh", "-c", "echo kept > /etc/kakuri-it; echo mine > ~/f; hostname")
    eq((p.returncode, p.stdout), (0, "box\n"), p.stderr)
    eq(listing(k, env)["box"]["status"], "stopped")
    ok(not os.path.exists("/etc/kakuri-it"), "a container's write reached the host")
    p = kk(k, env, "start", "box", "sh", "-c", "cat /etc/kakuri-it ~/f")
    eq(p.stdout, "kept\nmine\n", p.stderr)
    eq(kk(k, env, "start", "box", "sh", "-c", "exit 9").returncode, 9)

    eq(kk(k, env, "start", "-d", "box").returncode, 0)
    eq(listing(k, env)["box"]["status"], "running")
    r = parse_kv(kk(k, env, "exec", "box", "/probe", "pids").stdout)
    ok(r["pid"] != "1" and int(r["processes"]) >= 2, f"exec is in the container's PID namespace: {r}")
    p = kk(k, env, "exec", "box", "sh", "-c", "cat ~/f; hostname; exit 7")
    eq((p.returncode, p.stdout), (7, "mine\nbox\n"), p.stderr)
    p = kk(k, env, "exec", "-w", "/etc", "-e", "X=1", "box", "sh", "-c", 'echo "$PWD $X"')
    eq(p.stdout, "/etc 1\n", p.stderr)
    eq(kk(k, env, "start", "-d", "box").returncode, 125, "already running")
    # fd 9 open in the caller does not reach a command run by exec either.
    rfd, wfd = os.pipe()
    os.dup2(rfd, 9, inheritable=True)
    try:
        p = subprocess.run(k.argv(["exec", "box", "/probe", "fds"]), env=k.env(env), cwd=k.work,
                           capture_output=True, text=True, pass_fds=(9,))
        eq(parse_kv(p.stdout).get("fds"), "0,1,2", p.stderr)
    finally:
        for f in (9, rfd, wfd):
            os.close(f)

    eq(kk(k, env, "stop", "box").returncode, 0)
    eq(listing(k, env)["box"]["status"], "stopped")
    p = kk(k, env, "exec", "box", "true")
    eq(p.returncode, 125)
    eq(p.stderr, "kakuri: container 'box' is not running (start it with: kakuri start -d box)\n")
    eq(kk(k, env, "list", "-q").stdout, "box\n")
    eq(kk(k, env, "remove", "box").returncode, 0)
    eq(listing(k, env), {})
    eq(os.listdir(cdir), [])


def test_table_listing(k):
    env, _ = setup(k)
    kk(k, env, "create", "--allow-network", "t1")
    lines = kk(k, env, "list").stdout.splitlines()
    eq(lines[0].split(), ["NAME", "STATUS", "NETWORK", "ROOT", "CREATED"])
    eq(lines[1].split()[:4], ["t1", "created", "host", "host"])
    eq(json.loads(kk(k, env, "list", "--format=json").stdout)[0]["network"], "host")
    kk(k, env, "remove", "t1")


def test_ls_and_rm_are_programs(k):
    # No aliases: a temporary container's first word may be any program.
    # (In a directory of $HOME, whose argument mounts its directory: not /tmp's rule.)
    here = k.mkdirs(os.path.join(k.home, "ls-here"))
    marker = k.write(os.path.join(here, "ls-marker"), "x\n")
    p = k.run(["ls", "ls-marker"], cwd=here)
    eq((p.returncode, p.stdout), (0, "ls-marker\n"), p.stderr)
    p = k.run(["rm", "ls-marker"], cwd=here)
    eq(p.returncode, 0, p.stderr)
    ok(not os.path.exists(marker), "kakuri rm did not run rm")
    # A program named like a subcommand runs after --.
    bindir = k.mkdir("subcommand-bin")
    k.write(os.path.join(bindir, "list"), "#!/bin/sh\necho a program called list\n", 0o755)
    path = {"PATH": f"{bindir}:/usr/bin:/bin"}
    p = k.run(["--bind", bindir, "--", "list"], env=path)
    eq((p.returncode, p.stdout), (0, "a program called list\n"), p.stderr)
    env, _ = setup(k, "ls-store")
    p = k.run(["list"], env={**env, **path})
    eq((p.returncode, p.stdout.split()), (0, ["NAME", "STATUS", "NETWORK", "ROOT", "CREATED"]),
       p.stderr)


def test_config_finds_the_store_for_every_subcommand(k):
    # No KAKURI_CONFIG: the store is the one the named file gives, for every subcommand.
    cdir = os.path.join(k.mkdir("named-store"), "containers")
    proj = k.mkdirs(os.path.join(k.home, "named-cfg"))
    cfg = k.write(os.path.join(proj, "k.toml"), f'[storage]\ncontainers_dir = "{cdir}"\n')
    g = ["--config", cfg]
    probe = f"{k.probe_host}:/probe"
    try:
        p = k.run(g + ["create", "--ro-bind", probe, "--bind", proj, "x"])
        eq(p.returncode, 0, p.stderr)
        eq(os.listdir(cdir), ["x"])
        eq(json.loads(k.run(g + ["list", "--json"]).stdout)[0]["name"], "x")
        eq(json.loads(k.run(["list", "--json"]).stdout), [], "the default store")
        p = k.run([f"--config={cfg}", "config"])
        ok(f'containers_dir = "{cdir}"' in p.stdout, p.stdout + p.stderr)
        # The same file named by KAKURI_CONFIG finds it too.
        p = k.run(["start", "x", "/probe", "ids"], env={"KAKURI_CONFIG": cfg})
        eq(parse_kv(p.stdout).get("uid"), "0", p.stderr)
        # The file read now is hidden inside, as a run's --config is.
        p = k.run(g + ["start", "x", "/probe", "stat", cfg, os.path.join(proj, "other")])
        eq(parse_kv(p.stdout).get(cfg), "chr", p.stderr)
        eq(k.run(g + ["start", "-d", "x"]).returncode, 0)
        eq(k.run(g + ["exec", "x", "true"]).returncode, 0)
        eq(k.run(g + ["stop", "x"]).returncode, 0)
        # create --config (the run option) is the same setting: found again with it.
        eq(k.run(["create", "--config", cfg, "y"]).returncode, 0)
        eq(sorted(os.listdir(cdir)), ["x", "y"])
        p = k.run(g + ["start", "y", "hostname"])
        eq((p.returncode, p.stdout), (0, "y\n"), p.stderr)
        # Given twice, it must be one file.
        other = k.write(os.path.join(k.tmp, "other.toml"), "")
        for args in (g + ["create", "--config", other, "z"], g + ["config", "--config", other]):
            p = k.run(args)
            eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)
            ok("--config is given twice" in p.stderr, p.stderr)
        eq(k.run(g + ["create", "--config", cfg, "z"]).returncode, 0, "the same file twice")
    finally:
        for name in os.listdir(cdir) if os.path.isdir(cdir) else []:
            eq(k.run(g + ["remove", "-f", name]).returncode, 0)
    eq(os.listdir(cdir), [])


def test_bad_names_and_duplicates(k):
    env, cdir = setup(k)
    for bad in ["../x", "a/b", "", "-x", "x" * 65, ".hidden"]:
        p = kk(k, env, "create", "--", bad) if bad.startswith("-") else kk(k, env, "create", bad)
        eq(p.returncode, 125, repr(bad))
    eq(kk(k, env, "create", "d1").returncode, 0)
    p = kk(k, env, "create", "d1")
    eq((p.returncode, p.stderr), (125, "kakuri: container 'd1' already exists\n"))
    p = kk(k, env, "create", "--network=bogus", "d2")
    eq(p.returncode, 125)
    eq(sorted(os.listdir(cdir)), ["d1"], "a failed create left something behind")
    kk(k, env, "remove", "d1")


def test_concurrent_creates_one_wins(k):
    env, cdir = setup(k)
    procs = [k.popen(["create", "same"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True) for _ in range(8)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    eq(sum(1 for rc, _ in results if rc == 0), 1, str(results))
    ok(all(err == "kakuri: container 'same' already exists\n" for rc, err in results if rc), str(results))
    eq(sorted(os.listdir(cdir)), ["same"])
    kk(k, env, "remove", "same")


def test_concurrent_starts_one_container(k):
    env, _ = setup(k)
    kk(k, env, "create", "--ro-bind", f"{k.probe_host}:/probe", "two")
    procs = [k.popen(["start", "-d", "two"], env=env, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True) for _ in range(2)]
    rcs = sorted(p.wait(timeout=60) for p in procs)
    eq(rcs, [0, 125])
    r = parse_kv(kk(k, env, "exec", "two", "/probe", "pids").stdout)
    eq(r["processes"], "2", "one init and the probe: one container")
    kk(k, env, "remove", "-f", "two")


def test_kill_9_leaves_the_store_true(k):
    env, _ = setup(k)
    kk(k, env, "create", "--ro-bind", f"{k.probe_host}:/probe", "k9")
    # Foreground start killed while its command runs: the container dies with it.
    p = k.popen(["start", "k9", "/probe", "wait-default"], env=env, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
    eq(read_line(p.stdout, 30), "ready\n")
    fds = pidfds(children(p.pid))
    p.kill()
    p.wait()
    wait_exited(fds, "container outlived kakuri")
    eq(listing(k, env)["k9"]["status"], "stopped")
    # kill -9 at any moment of a detached start: afterwards list tells the truth.
    for i in range(12):
        q = k.popen(["start", "-d", "k9"], env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
        if i % 3:
            os.kill(q.pid, signal.SIGKILL)
        q.wait()
        st = listing(k, env)["k9"]["status"]
        if st == "running":
            eq(kk(k, env, "exec", "k9", "true").returncode, 0, "running means exec works")
            eq(kk(k, env, "stop", "-t", "1", "k9").returncode, 0)
        eq(listing(k, env)["k9"]["status"], "stopped")
        p = kk(k, env, "exec", "k9", "true")
        eq(p.returncode, 125)
    eq(kk(k, env, "start", "k9", "true").returncode, 0, "the next start works")
    kk(k, env, "remove", "-f", "k9")


def test_remove_deletes_unreadable_and_foreign_files(k):
    env, cdir = setup(k)
    kk(k, env, "create", "rmme")
    script = ("mkdir -p ~/locked/deep /etc/x && echo s > ~/locked/deep/f && chmod 000 ~/locked/deep "
              "~/locked && touch /etc/x/y && chmod 000 /etc/x")
    if k.mode == "root":
        script += " && touch ~/other && chown 1234:1234 ~/other"
    p = kk(k, env, "start", "rmme", "sh", "-c", script)
    eq(p.returncode, 0, p.stderr)
    p = kk(k, env, "remove", "rmme")
    eq(p.returncode, 0, p.stderr)
    eq(os.listdir(cdir), [])


def test_remove_refuses_running_without_force(k):
    env, _ = setup(k)
    kk(k, env, "create", "busy")
    kk(k, env, "start", "-d", "busy")
    p = kk(k, env, "remove", "busy")
    eq(p.returncode, 125)
    ok("running" in p.stderr, p.stderr)
    eq(listing(k, env)["busy"]["status"], "running")
    eq(kk(k, env, "remove", "-f", "busy").returncode, 0)
    eq(listing(k, env), {})


def test_planted_symlinks_do_not_lead_out(k):
    env, _ = setup(k)
    target = k.mkdir("host-target")
    k.write(os.path.join(target, "keep"), "keep\n")
    kk(k, env, "create", "--bind", f"{k.mkdir('src')}:{k.home}/evil/sub", "sym")
    # The first run plants links to the host directory where kakuri will later
    # mount and remove things.
    p = kk(k, env, "start", "sym", "sh", "-c",
           f"rm -rf ~/evil; ln -s {target} ~/evil; ln -s {target} /etc/evil; ln -s {target} ~/out")
    eq(p.returncode, 0, p.stderr)
    p = kk(k, env, "start", "sym", "true")
    eq(os.listdir(target), ["keep"], "a mount point was made on the host")
    eq(kk(k, env, "remove", "sym").returncode, 0)
    eq(os.listdir(target), ["keep"], "remove followed a planted link")


def test_exec_user_needs_a_user_container(k):
    env, _ = setup(k)
    kk(k, env, "create", "--user", "--ro-bind", f"{k.probe_host}:/probe", "mine")
    kk(k, env, "start", "-d", "mine")
    r = parse_kv(kk(k, env, "exec", "-u", "mine", "/probe", "ids").stdout)
    eq(r["uid"], str(k.uid))
    kk(k, env, "create", "--ro-bind", f"{k.probe_host}:/probe", "rootonly")
    kk(k, env, "start", "-d", "rootonly")
    with removed(k, env, "mine", "rootonly"):
        if k.mode == "user":
            p = kk(k, env, "exec", "-u", "rootonly", "true")
            eq(p.returncode, 125)
            ok("only root is mapped" in p.stderr, p.stderr)
        else:
            # As real root the creator is uid 0: -u is what --user gives, root without
            # capabilities (it used to run as full root, silently).
            r = parse_kv(kk(k, env, "exec", "-u", "rootonly", "/probe", "ids").stdout)
            eq(r["uid"], "0")
            s = parse_kv(kk(k, env, "exec", "-u", "rootonly", "/probe", "status").stdout)
            eq(s["CapEff"], "0000000000000000", "exec -u keeps no capabilities")
        s = parse_kv(kk(k, env, "exec", "rootonly", "/probe", "status").stdout)
        ok(s["CapEff"] != "0000000000000000", "exec without -u keeps root's set")
        # -w sets PWD too; -e K=V replaces the caller's K.
        p = kk(k, env, "exec", "-w", "/etc", "-e", "PATH=/x:/usr/bin:/bin", "rootonly", "/bin/sh",
               "-c", 'echo "$PWD $(pwd) $PATH"; env | grep -c "^PATH="')
        eq(p.stdout, "/etc /etc /x:/usr/bin:/bin\n1\n", p.stderr)


def test_shell_starts_the_container(k):
    env, _ = setup(k)
    kk(k, env, "create", "sh1")
    env = dict(env, PS1="KP$ ", SHELL="/bin/bash")
    with k.terminal(k.argv(["shell", "sh1"]), env) as s:
        s.send("echo in-$(hostname)\r")
        s.expect("in-sh1")
        s.send("exit 3\r")
        eq(s.finish(), 3)
    eq(listing(k, env)["sh1"]["status"], "running", "shell left the container running")
    kk(k, env, "remove", "-f", "sh1")


def test_remove_with_subordinate_ids(k):
    from test_rootfs import TEST_USER, etc_lines, newuidmap_usable
    from harness import Skip
    if not k.drop:
        raise Skip("needs root to give the unprivileged test user a subordinate range")
    newuidmap_usable()
    env, cdir = setup(k)
    with etc_lines({"/etc/passwd": [f"{TEST_USER}:x:{k.uid}:{k.gid}::/nonexistent:/bin/sh"],
                    "/etc/group": [f"{TEST_USER}:x:{k.gid}:"],
                    "/etc/subuid": [f"{TEST_USER}:4100000:65536"],
                    "/etc/subgid": [f"{TEST_USER}:4100000:65536"]}):
        eq(kk(k, env, "create", "--subids", "sub").returncode, 0)
        p = kk(k, env, "start", "sub", "sh", "-c",
               "mkdir ~/d && touch ~/d/f /etc/g && chown 1000:1000 ~/d/f /etc/g ~/d && chmod 000 ~/d")
        eq(p.returncode, 0, p.stderr)
        owned = os.stat(os.path.join(cdir, "sub", "home", "d")).st_uid
        eq(owned, 4100000 + 999, "a file owned by a subordinate id on the host")
        p = kk(k, env, "remove", "sub")
        eq(p.returncode, 0, p.stderr)
        eq(os.listdir(cdir), [])


def wait_stopped(cdir, name):
    """Wait (without sleeping) until the init the container's state names has exited."""
    with open(os.path.join(cdir, name, "state")) as f:
        pid = int(parse_kv(f.read().replace(" ", "="))["pid"])
    try:
        fds = pidfds([pid])
    except ProcessLookupError:
        return
    wait_exited(fds, f"container {name} did not stop")


def leader_memory(k, env, needles):
    """init-memory of the probe's parent, run by an interactive exec in cred: under a
    terminal, exec's first process inside leads the pty session and is the probe's parent."""
    with k.terminal(k.argv(["exec", "cred", "/probe", "init-memory", "parent"]), env) as s:
        s.expect("needles?")
        s.send("\n".join(needles) + "\n\x04")
        eq(s.finish(), 0, s.buf)
        return s.kv()


def test_credentials_stay_outside_persistent_containers(k):
    env, cdir = setup(k)
    with removed(k, env, "cred", "quiet", "ruled"):
        credentials_in_persistent_containers(k, env, cdir)


def credentials_in_persistent_containers(k, env, cdir):
    cfg = env["KAKURI_CONFIG"]
    env = {**env, **CREDENTIALS, **PASSED}
    said = []  # everything kakuri printed (a command's stdout inside is the command's own)

    def run(*args, extra=None):
        p = kk(k, {**env, **(extra or {})}, *args)
        inside = args[0] in ("start", "exec") and args[1] != "-d"
        said.append(p.stderr if inside else p.stdout + p.stderr)
        return p

    def absent(got, *names):
        for name in names:
            ok(name not in got, f"{name} reached the container: {got}")

    # A credential's value never goes into the record: create refuses it, saying what works.
    p = run("create", "--env=GITHUB_TOKEN=fake-create-1", "nope")
    eq((p.returncode, p.stderr), (125, "kakuri: create -e GITHUB_TOKEN=...: a credential's value "
                                       "is not recorded; create with -e GITHUB_TOKEN to pass your "
                                       "value at each start and exec\n"))
    ok(not os.path.exists(os.path.join(cdir, "nope")), "a refused create left a container")

    # -e NAME is recorded as a name: each start and exec takes its caller's value.
    eq(run("create", "--cap-add", "SYS_PTRACE", "--ro-bind", f"{k.probe_host}:/probe",
           "-e", "MY_API_KEY", "-e", "PASSED_TOKEN", "cred").returncode, 0)
    got = env_inside(run("start", "cred", "/usr/bin/env", extra={"MY_API_KEY": "fake-start-1"}))
    eq(got.get("MY_API_KEY"), "fake-start-1")
    eq(got.get("LANG"), "C.UTF-8")
    absent(got, "GITHUB_TOKEN", "aws_secret_access_key", "SSH_AUTH_SOCK")

    eq(run("start", "-d", "cred").returncode, 0)
    got = env_inside(run("exec", "cred", "/usr/bin/env", extra={"MY_API_KEY": "fake-exec-2"}))
    eq(got.get("MY_API_KEY"), "fake-exec-2")
    absent(got, "GITHUB_TOKEN", "aws_secret_access_key", "SSH_AUTH_SOCK")
    # exec -e NAME passes one; exec -e K=V replaces the caller's value (it used to come second).
    p = run("exec", "-e", "GITHUB_TOKEN", "-e", "LANG=fr_FR.UTF-8", "cred", "/usr/bin/env")
    got = env_inside(p)
    eq(got.get("GITHUB_TOKEN"), "fake-gh-123")
    eq([l for l in p.stdout.splitlines() if l.startswith("LANG=")], ["LANG=fr_FR.UTF-8"])
    absent(got, "aws_secret_access_key")
    # The init start -d left holds none of its caller's credentials but those passed, nor
    # does the session leader an interactive exec puts inside.
    # (Not in a sanitizer build, whose runtime keeps a copy of the environment of its own:
    # test_run.py's memory test says SKIP there.)
    kept_out = [n for n in CREDENTIALS if n != "MY_API_KEY"]
    if not k.sanitized:
        init_memory(k, ["exec", "cred", "/probe"], env, kept_out)
        r = leader_memory(k, env, [env[n] for n in kept_out] + ["passed-on-purpose-42"])
        if k.mode == "root":  # real root with SYS_PTRACE reads it; unprivileged, nothing can
            eq(r["init_mem"], "0", str(r))
            eq(r["init_found"], "passed-on-purpose-42", "credentials in the session leader's memory")
        else:
            ok(r["init_mem"] != "0" and r["init_found"] == "", str(r))

    # The rules are the container's, recorded at create: env_keep and env_drop written into
    # the config afterwards change nothing of it; a container created under them keeps
    # applying them at every start and exec after the config lost them.
    rules = (f'[storage]\ncontainers_dir = "{cdir}"\n[defaults]\n'
             'env_keep = ["aws_secret_access_key"]\nenv_drop = ["LANG"]\n')
    k.write(cfg, rules)
    got = env_inside(run("exec", "cred", "/usr/bin/env"))
    absent(got, "aws_secret_access_key", "GITHUB_TOKEN")
    eq(got.get("LANG"), "C.UTF-8")
    eq(run("create", "ruled").returncode, 0)
    k.write(cfg, f'[storage]\ncontainers_dir = "{cdir}"\n')
    got = env_inside(run("start", "ruled", "/usr/bin/env"))
    eq(got.get("aws_secret_access_key"), "fake-aws-789")
    absent(got, "LANG", "GITHUB_TOKEN")
    eq(run("remove", "ruled").returncode, 0)

    # A detached start's output goes to the log: the environment there has no credential.
    eq(run("create", "quiet").returncode, 0)
    eq(run("start", "-d", "quiet", "/usr/bin/env").returncode, 0)
    wait_stopped(cdir, "quiet")
    with open(os.path.join(cdir, "quiet", "log")) as f:
        log = f.read()
    ok("LANG=C.UTF-8" in log, log)
    absent(dict(l.split("=", 1) for l in log.splitlines() if "=" in l),
           "GITHUB_TOKEN", "MY_API_KEY", "aws_secret_access_key", "SSH_AUTH_SOCK")
    run("list")
    run("list", "--json")

    # No value anywhere: kakuri's output, the records, states and logs, the containers' files.
    no_fake("kakuri's output", *said)
    for root, _, files in os.walk(cdir):
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                with open(path, "rb") as f:
                    ok(b"fake" not in f.read(), f"a credential's value in {path}")
    with open(os.path.join(cdir, "cred", "container")) as f:
        ok("env_set MY_API_KEY\n" in f.read(), "the record keeps -e NAME")
    eq(run("remove", "-f", "cred", "quiet").returncode, 0)


def init_pid(cdir, name):
    with open(os.path.join(cdir, name, "state")) as f:
        return int(dict(l.split(" ", 1) for l in f.read().splitlines()[1:])["pid"])


NAMESPACES = ["user", "mnt", "pid", "net", "uts", "ipc", "cgroup"]


def test_exec_joins_exactly_inits_namespaces(k):
    # A config edited after the container started (network = "host") changes nothing of
    # what exec joins: the namespaces are init's, compared by inode, all seven.
    env, cdir = setup(k)
    probe = f"{k.probe_host}:/probe"
    eq(kk(k, env, "create", "--ro-bind", probe, "ns1").returncode, 0)
    eq(kk(k, env, "start", "-d", "ns1").returncode, 0)
    with removed(k, env, "ns1"):
        with open(env["KAKURI_CONFIG"], "a") as f:
            f.write('\n[defaults]\nnetwork = "host"\n')
        pid = init_pid(cdir, "ns1")
        want = [os.readlink(f"/proc/{pid}/ns/{n}") for n in NAMESPACES]
        script = "; ".join(f"readlink /proc/self/ns/{n}" for n in NAMESPACES)
        p = kk(k, env, "exec", "ns1", "sh", "-c", script)
        eq(p.stdout.split(), want, p.stderr)
        r = parse_kv(kk(k, env, "exec", "ns1", "/probe", "netifs").stdout)
        eq(r["netifs"], "lo", "the container's own network, not the host's")
        eq(listing(k, env)["ns1"]["network"], "none")
        # The next start too: the container is what create decided.
        eq(kk(k, env, "stop", "ns1").returncode, 0)
        r = parse_kv(kk(k, env, "start", "ns1", "/probe", "netifs").stdout)
        eq(r["netifs"], "lo", "a start after the config changed")


def test_create_checks_everything_and_dry_run_makes_nothing(k):
    env, cdir = setup(k)
    p = kk(k, env, "create", "--bind", "/nonexistent-kakuri-src", "x1")
    eq(p.returncode, 125, p.stderr)
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok("/nonexistent-kakuri-src" in p.stderr, p.stderr)
    ok(not os.path.exists(os.path.join(cdir, "x1")), "a refused create left a container")
    p = kk(k, env, "create", "--dry-run", "--bind", f"{k.work}:/w", "x2")
    eq(p.returncode, 0, p.stderr)
    ok("bind" in p.stdout and "/w" in p.stdout, p.stdout)
    ok(not os.path.exists(os.path.join(cdir, "x2")), "create --dry-run created the container")
    ok("x2" not in kk(k, env, "list", "-q").stdout.split(), "create --dry-run is listed")


def test_records_of_0_1_still_start_and_newer_ones_are_refused(k):
    env, cdir = setup(k)
    eq(kk(k, env, "create", "old").returncode, 0)
    record = os.path.join(cdir, "old", "container")
    probe = k.probe_host
    # What kakuri 0.1 wrote: the run options as typed.
    k.write(record, "kakuri-container 1\nname old\ncreated 1700000000\nnetwork none\nroot host\n"
                    f"cwd {k.work}\narg --ro-bind\narg {probe}:/probe\narg --hostname\narg oldbox\n",
            mode=0o600)
    r = parse_kv(kk(k, env, "start", "old", "/probe", "hostname").stdout)
    eq(r.get("hostname"), "oldbox")
    with open(record) as f:
        text = f.read()
    ok(text.startswith("kakuri-container 2\n") and "hostname oldbox\n" in text, text)
    k.write(record, text.replace("kakuri-container 2", "kakuri-container 7"), mode=0o600)
    p = kk(k, env, "start", "old", "true")
    eq(p.returncode, 125)
    eq(p.stderr, "kakuri: container record version 7 is newer than this kakuri (upgrade kakuri "
                 "to use this container)\n")
    k.write(record, text, mode=0o600)
    eq(kk(k, env, "remove", "old").returncode, 0)


# --- The store is the caller's: nobody else's directory, record or link is acted on. ---

OTHER_UID = 64124  # neither the caller nor root


def refused(p, path, why):
    eq(p.returncode, 125, f"accepted: {p.stdout!r} {p.stderr!r}")
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok(p.stderr.startswith(f"kakuri: refusing {path}") and why in p.stderr, p.stderr)


def as_test_user(k, args, env):
    """kakuri run as the unprivileged test user, from root mode (the attacker's side)."""
    argv = ["setpriv", f"--reuid={TEST_UID}", f"--regid={TEST_UID}", "--clear-groups",
            "--inh-caps=-all", "--", k.kakuri] + list(args)
    return subprocess.run(argv, env=k.env(env), cwd="/", capture_output=True, text=True)


def test_root_refuses_a_store_below_a_users_directory(k):
    from harness import Skip
    if k.mode != "root":
        raise Skip("root with a user's HOME (sudo -E)")
    # The user's home, as `sudo -E` hands it to root: the default containers_dir is below it.
    home = os.path.join(k.tmp, "alice")
    os.mkdir(home, 0o755)
    os.chown(home, TEST_UID, TEST_UID)
    uenv = {"HOME": home}
    p = as_test_user(k, ["create", "--bind", "/:/host", "box"], uenv)
    eq(p.returncode, 0, p.stderr)
    cdir = os.path.join(home, ".local", "kakuri", "containers")
    ok(os.path.isdir(os.path.join(cdir, "box")), "the user made a container")
    for args in (["start", "box", "/bin/echo", "ran"], ["start", "-d", "box"], ["exec", "box", "true"],
                 ["shell", "box"], ["stop", "box"], ["list"], ["list", "-q"], ["remove", "-f", "box"],
                 ["create", "mine"]):
        p = kk(k, uenv, *args)
        refused(p, cdir, f"{home} is owned by uid {TEST_UID}, not by you or root")
        ok("ran" not in p.stdout, "root ran the user's container")
    eq(sorted(os.listdir(cdir)), ["box"], "root changed the user's store")
    # The user's config file there is refused too; a user without one is no reason to refuse.
    eq(kk(k, uenv, "true").returncode, 0, "no config file below the user's HOME")
    cfg = os.path.join(home, ".config", "container", "config.toml")
    os.makedirs(os.path.dirname(cfg))
    with open(cfg, "w") as f:
        f.write('[defaults]\nbind = ["/:/host"]\n')
    for d in (os.path.join(home, ".config"), os.path.dirname(cfg)):
        os.chown(d, TEST_UID, TEST_UID)
    os.chown(cfg, TEST_UID, TEST_UID)
    refused(kk(k, uenv, "true"), cfg, f"{home} is owned by uid {TEST_UID}")
    eq(as_test_user(k, ["remove", "box"], uenv).returncode, 0)


def test_open_containers_dir_is_refused(k):
    # Anyone can add containers to a mode-1777 directory: they would show up in our list
    # and run as us.
    shared = k.mkdir("shared", 0o1777)
    if k.drop:
        os.chown(shared, 0, 0)
    cfg = k.write(os.path.join(k.tmp, "shared.toml"), f'[storage]\ncontainers_dir = "{shared}"\n')
    env = {"KAKURI_CONFIG": cfg}
    refused(kk(k, env, "list"), shared, "writable by its group and others (mode 1777)")
    refused(kk(k, env, "create", "x"), shared, "(mode 1777)")
    eq(os.listdir(shared), [], "create made something there")
    # Below it instead: nothing of anyone else's can get in between.
    env, cdir = setup(k, "open-store")
    os.chmod(os.path.dirname(cdir), 0o777)
    refused(kk(k, env, "create", "y"), cdir, f"{os.path.dirname(cdir)} is writable by its group")
    ok(not os.path.exists(cdir), "create made the store in an open directory")
    os.chmod(os.path.dirname(cdir), 0o755)


def test_untrusted_container_or_record_is_refused(k):
    env, cdir = setup(k, "untrusted-store")
    eq(kk(k, env, "create", "--ro-bind", f"{k.probe_host}:/probe", "t1").returncode, 0)
    box = os.path.join(cdir, "t1")
    record = os.path.join(box, "container")
    attacks = [(box, "chmod", 0o777, "writable by its group and others (mode 0777)"),
               (box, "chmod", 0o770, "writable by its group (mode 0770)"),
               (record, "chmod", 0o666, "writable by its group and others (mode 0666)")]
    if k.am_root:
        other = TEST_UID if k.mode == "root" else OTHER_UID
        attacks += [(box, "chown", other, f"owned by uid {other}, not by you or root"),
                    (record, "chown", other, f"owned by uid {other}, not by you or root")]
    for path, how, arg, why in attacks:
        st = os.stat(path)
        if how == "chmod":
            os.chmod(path, arg)
        else:
            os.chown(path, arg, arg)
        try:
            for args in (["start", "t1", "/probe", "ids"], ["exec", "t1", "true"], ["list"],
                         ["remove", "t1"]):
                refused(kk(k, env, *args), path, why)
        finally:
            os.chmod(path, st.st_mode & 0o7777)
            os.chown(path, st.st_uid, st.st_gid)
    eq(parse_kv(kk(k, env, "start", "t1", "/probe", "ids").stdout).get("uid"), "0", "t1 runs")
    eq(kk(k, env, "remove", "t1").returncode, 0)


def test_symlinked_container_is_refused(k):
    env, cdir = setup(k, "link-store")
    env2, cdir2 = setup(k, "elsewhere")
    eq(kk(k, env2, "create", "real").returncode, 0)
    kk(k, env, "create", "mine")
    real = os.path.join(cdir2, "real")
    link = os.path.join(cdir, "evil")
    os.symlink(real, link)
    if k.drop:
        os.lchown(link, k.uid, k.gid)
    for args in (["start", "evil", "true"], ["exec", "evil", "true"], ["remove", "evil"], ["list"]):
        refused(kk(k, env, *args), link, "a symlink, not a container's directory")
    ok(os.path.isdir(real), "remove followed the link")
    os.unlink(link)
    eq(kk(k, env, "remove", "mine").returncode, 0)
    eq(kk(k, env2, "remove", "real").returncode, 0)


# --- What remove deletes, and what an interrupted create or remove leaves. ---

DEEP = r"""
import os
keep = []
for i in range(5000):
    os.mkdir("d")
    open("f", "w").close()
    os.symlink(os.environ["TARGET"], "out")
    os.chdir("d")
    if i % 1000 == 999:
        keep.append(os.open(".", os.O_RDONLY))
for fd in keep:
    os.fchmod(fd, 0)
print("deep")
"""


def test_remove_takes_any_tree_with_few_fds(k):
    env, cdir = setup(k, "deep-store")
    target = k.mkdir("rm-target")
    k.write(os.path.join(target, "keep"), "keep\n")
    kk(k, env, "create", "deep")
    # A program inside makes a tree deeper than kakuri could hold an fd for each level of.
    penv = dict(env, TARGET=target)
    p = k.run(["start", "deep", "sh", "-c", 'cd && python3 -c "$0"', DEEP], env=penv)
    eq((p.returncode, p.stdout), (0, "deep\n"), p.stderr)
    # And in an upper layer, behind a directory made unreadable at its top.
    p = k.run(["start", "deep", "python3", "-c", "import os; os.mkdir('/etc/t'); os.chdir('/etc/t');" +
               DEEP.replace("range(5000)", "range(1200)") + "os.chmod('/etc/t', 0)"], env=penv)
    eq(p.returncode, 0, p.stderr)
    p = subprocess.run(["prlimit", "--nofile=64", "--"] + k.argv(["remove", "deep"]), env=k.env(env),
                       cwd=k.work, capture_output=True, text=True)
    eq((p.returncode, p.stderr), (0, ""))
    eq(os.listdir(cdir), [])
    eq(os.listdir(target), ["keep"], "remove followed a link")


def _process_tag(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f"{pid}-{f.read().rsplit(')', 1)[1].split()[19]}"


def test_leftovers_of_interrupted_commands_are_cleaned(k):
    env, cdir = setup(k, "left-store")
    eq(kk(k, env, "create", "keep").returncode, 0)
    # A process that was and is gone: what it was making is nobody's now.
    gone = subprocess.Popen(["cat"], stdin=subprocess.PIPE)
    dead = _process_tag(gone.pid)
    gone.stdin.close()
    gone.wait()
    live = _process_tag(os.getpid())

    def plant(name):
        d = os.path.join(cdir, name)
        k.mkdirs(os.path.join(d, "home", "locked", "x"))
        k.write(os.path.join(d, "home", "f"), "f\n")
        os.chmod(os.path.join(d, "home", "locked"), 0)
        return d

    for name in (f".new-{dead}-a", f".trash-{dead}-b", ".trash-c-4242", ".new-d-Xy12ab"):
        plant(name)
    busy = plant(f".new-{live}-e")  # a create at work in this very process
    held = plant(f".new-{dead}-f")  # at work in another PID namespace: its lock says so
    fd = os.open(held, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        p = kk(k, env, "list", "-q")
        eq((p.returncode, p.stdout, p.stderr), (0, "keep\n", ""))
        eq(sorted(os.listdir(cdir)), sorted(["keep", os.path.basename(busy),
                                            os.path.basename(held)]))
    finally:
        os.close(fd)
    eq(kk(k, env, "list").returncode, 0)
    eq(sorted(os.listdir(cdir)), sorted(["keep", os.path.basename(busy)]))
    os.chmod(os.path.join(busy, "home", "locked"), 0o755)
    shutil.rmtree(busy)

    # A create that dies midway, with no chance to clean up: killed by the kernel (SIGXFSZ)
    # as it writes the record, once its directory is made.
    p = subprocess.run(["prlimit", "--fsize=0", "--core=0", "--"] + k.argv(["create", "boom"]),
                       env=k.env(env), cwd=k.work, capture_output=True, text=True)
    eq(p.returncode, -signal.SIGXFSZ, p.stderr)
    left = [n for n in os.listdir(cdir) if n.startswith(".new-")]
    eq(len(left), 1, "the killed create left its directory")
    eq(kk(k, env, "create", "boom").returncode, 0, "the next command cleans up, then creates")
    eq(sorted(os.listdir(cdir)), ["boom", "keep"])
    eq(kk(k, env, "remove", "boom", "keep").returncode, 0)
    eq(os.listdir(cdir), [])


# --- What a run left: its log, how it ended, the record as inspect shows it. ---

STARTED = re.compile(r"^--- kakuri: started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ---$")


def exited(n):
    return re.compile(rf"^--- kakuri: exited \({n}\) \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ ---$")


def check_lines(got, want):
    """got: text; want: a list of exact strings and compiled patterns, line for line."""
    lines = got.splitlines()
    ok(len(lines) == len(want), f"{len(lines)} lines, want {len(want)}: {got!r}")
    for line, w in zip(lines, want):
        ok(w.match(line) if hasattr(w, "match") else line == w, f"{line!r} is not {w}: {got!r}")


def start_detached_and_wait(k, env, cdir, name, *command):
    p = kk(k, env, "start", "-d", name, *command)
    eq(p.returncode, 0, p.stderr)
    wait_stopped(cdir, name)


def test_logs_have_a_section_per_detached_run_with_its_exit_status(k):
    env, cdir = setup(k, "logs-store")
    with removed(k, env, "lg"):
        eq(kk(k, env, "create", "lg").returncode, 0)
        p = kk(k, env, "logs", "lg")
        eq((p.returncode, p.stdout), (0, ""), "never started: an empty log")
        start_detached_and_wait(k, env, cdir, "lg", "sh", "-c", "echo first; exit 3")
        check_lines(kk(k, env, "logs", "lg").stdout, [STARTED, "first", exited(3)])
        c = listing(k, env)["lg"]
        eq((c["status"], c["exit_code"]), ("stopped", 3))
        ok(c["finished"] and c["started"], str(c))
        start_detached_and_wait(k, env, cdir, "lg", "sh", "-c", "echo second >&2; kill -9 $$")
        check_lines(kk(k, env, "logs", "lg").stdout,
                    [STARTED, "first", exited(3), STARTED, "second", exited(137)])
        row = kk(k, env, "list").stdout.splitlines()[1]
        ok(re.match(r"^lg +exited \(137\) \d+ seconds? ago +none +host ", row), row)
        # The foreground's status is recorded too (its output is the caller's, not logged).
        eq(kk(k, env, "start", "lg", "sh", "-c", "exit 4").returncode, 4)
        eq(listing(k, env)["lg"]["exit_code"], 4)
        eq(len(kk(k, env, "logs", "lg").stdout.splitlines()), 6)
        # Running: no exit code; an idle one stopped ends its section with 0; one killed by
        # stop (it ignored SIGTERM) with 137, said by stop.
        eq(kk(k, env, "start", "-d", "lg").returncode, 0)
        c = listing(k, env)["lg"]
        eq((c["status"], c["exit_code"], c["finished"]), ("running", None, None))
        ok(re.match(r"^lg +running +none", kk(k, env, "list").stdout.splitlines()[1]), "table")
        eq(kk(k, env, "stop", "lg").returncode, 0)
        eq(listing(k, env)["lg"]["exit_code"], 0)
        eq(kk(k, env, "start", "-d", "lg", "sh", "-c",
              "trap '' TERM; echo stubborn; exec tail -f /dev/null").returncode, 0)
        with running(k.popen(["logs", "-f", "lg"], env=env, stdout=subprocess.PIPE)) as follow:
            Output(follow.stdout.fileno()).line("stubborn")  # it ignores SIGTERM from here on
            eq(kk(k, env, "stop", "-t", "1", "lg").returncode, 0)
            eq(follow.wait(timeout=30), 0)
        eq(listing(k, env)["lg"]["exit_code"], 137)
        check_lines("\n".join(kk(k, env, "logs", "lg").stdout.splitlines()[-3:]),
                    [STARTED, "stubborn", exited(137)])


def test_logs_follow_returns_once_the_container_stops(k):
    env, cdir = setup(k, "follow-store")
    with removed(k, env, "fl"):
        eq(kk(k, env, "create", "fl").returncode, 0)
        eq(kk(k, env, "start", "-d", "fl", "sh", "-c",
              "mkfifo /tmp/go; echo one; read x < /tmp/go; echo two; exit 5").returncode, 0)
        with running(k.popen(["logs", "-f", "fl"], env=env, stdout=subprocess.PIPE)) as p:
            out = Output(p.stdout.fileno())
            check_lines("\n".join(out.line("one")), [STARTED])
            # Following now: the container goes on, then ends; logs -f with it.
            # (The container ends as soon as it has read: the exec may end with it, killed.)
            ok(kk(k, env, "exec", "fl", "sh", "-c", "echo go > /tmp/go").returncode in (0, 137),
               "exec")
            eq(p.wait(timeout=30), 0)
            check_lines(out.rest(), ["two", exited(5)])
        # A stopped container's log is shown, and logs -f returns at once.
        p = kk(k, env, "logs", "-f", "fl", timeout=30)
        check_lines(p.stdout, [STARTED, "one", "two", exited(5)])
        p = kk(k, env, "logs", "nosuch")
        eq((p.returncode, p.stderr), (125, "kakuri: no container named 'nosuch' (see: kakuri list)\n"))
        p = kk(k, env, "logs", "fl", "extra")
        eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)


def test_log_rotates_at_log_max_size(k):
    env, cdir = setup(k, "rotate-store")
    with open(env["KAKURI_CONFIG"], "a") as f:
        f.write('log_max_size = "2K"\n')
    box = os.path.join(cdir, "rot")
    with removed(k, env, "rot"):
        eq(kk(k, env, "create", "rot").returncode, 0)
        # A chatty container: 100000 lines, 600 KB, all of them through the log.
        start_detached_and_wait(k, env, cdir, "rot", "seq", "100000")
        sizes = [os.stat(os.path.join(box, f)).st_size for f in ("log", "log.1")]
        ok(all(0 < s <= 2048 for s in sizes), f"log, log.1: {sizes} bytes")
        # What is kept is the end of what it wrote, whole from log.1 to log, then how it ended.
        out = kk(k, env, "logs", "rot").stdout
        with open(os.path.join(box, "log.1")) as a, open(os.path.join(box, "log")) as b:
            eq(out, a.read() + b.read())
        lines = out.splitlines()
        ok(exited(0).match(lines[-1]), lines[-1])
        numbers = lines[1:-1]  # the first may be cut by the rotation
        eq(numbers, [str(n) for n in range(100001 - len(numbers), 100001)])
        ok(len(numbers) > 300, f"{len(numbers)} lines kept")
        # The next run starts its section in the same bound.
        start_detached_and_wait(k, env, cdir, "rot", "echo", "again")
        check_lines("\n".join(kk(k, env, "logs", "rot").stdout.splitlines()[-3:]),
                    [STARTED, "again", exited(0)])
    # A bad size is one line, exit 125.
    with open(env["KAKURI_CONFIG"], "a") as f:
        f.write('[storage]\n')
    k.write(env["KAKURI_CONFIG"], '[storage]\nlog_max_size = "12"\n')
    p = kk(k, env, "list")
    eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)
    ok("log_max_size takes a size of at least 1K" in p.stderr, p.stderr)


def test_inspect_shows_the_record_and_state_never_an_environment_value(k):
    env, cdir = setup(k, "inspect-store")
    with open(env["KAKURI_CONFIG"], "a") as f:
        f.write('[defaults]\nenv = ["CFG_VAR=cfg-value-9"]\n')
    env = {**env, **CREDENTIALS, **PASSED}
    said = []

    def run(*args):
        p = kk(k, env, *args)
        said.append(p.stdout + p.stderr)
        return p

    def fields(p):
        """key: value lines; a key on several lines (a list) gives its values in order."""
        eq(p.returncode, 0, p.stderr)
        out = {}
        for line in p.stdout.splitlines():
            key, value = line.split(": ", 1)
            out.setdefault(key, []).append(value)
        return out

    with removed(k, env, "ins"):
        eq(run("create", "--allow-network", "--ro-bind", f"{k.probe_host}:/probe", "-e",
               "MY_API_KEY", "-e", "PLAIN=plain-value-7", "--env=OTHER=other-value-8",
               "ins").returncode, 0)
        f = fields(run("inspect", "ins"))
        eq([f[key] for key in ("name", "status", "network", "root", "hostname")],
           [["ins"], ["created"], ["host"], ["host"], ["ins"]])
        eq(f["directory"], [os.path.join(cdir, "ins")])
        ok("pid" not in f and "exit_status" not in f and "started" not in f, str(f))
        # What create decided: binds, identity, the environment rules (names only).
        ok(f"ro {k.probe_host} /probe" in f["bind"], str(f["bind"]))
        eq(f["env_set"], ["MY_API_KEY", "PLAIN=...", "OTHER=..."])
        eq(f["env"], ["CFG_VAR=..."])
        eq((f["uid"], f["share_net"]), (["0"], ["1"]))
        if k.mode == "user":
            eq(f["uid_map"], [f"0 {k.uid} 1"])
        eq(run("start", "-d", "ins").returncode, 0)
        j = json.loads(run("inspect", "--json", "ins").stdout)
        eq((j["status"], j["pid"]), ("running", init_pid(cdir, "ins")))
        ok(j["started"] and "exit_status" not in j, str(j))
        eq(j["env_set"], ["MY_API_KEY", "PLAIN=...", "OTHER=..."])
        eq(run("stop", "ins").returncode, 0)
        j = json.loads(run("inspect", "--json", "ins").stdout)
        eq((j["status"], j["exit_status"]), ("stopped", 0))
        ok(j["finished"] >= j["started"] >= j["created"], str(j))
        p = run("inspect", "nosuch")
        eq((p.returncode, p.stderr.count("\n")), (125, 1))
        for text in said:
            for value in ("plain-value-7", "other-value-8", "cfg-value-9", "passed-on-purpose-42"):
                ok(value not in text, f"{value} shown: {text}")
        no_fake("inspect", *said)


def test_a_container_cannot_break_the_store_through_its_inits_files(k):
    # Unprivileged, init is dumpable (exec joins it): a program inside reaches the log's files
    # through /proc/1/fd and makes them untrusted. That is no reason for list to refuse the
    # store, nor for the container not to start again.
    env, cdir = setup(k, "tamper-store")
    with removed(k, env, "tam"):
        eq(kk(k, env, "create", "tam").returncode, 0)
        eq(kk(k, env, "start", "-d", "tam").returncode, 0)
        p = kk(k, env, "exec", "tam", "sh", "-c", "chmod 666 /proc/1/fd/5 /proc/1/fd/7")
        if k.mode == "root":
            ok(p.returncode != 0, "as real root init is not dumpable")
        else:
            eq(p.returncode, 0, p.stderr)
            eq(os.stat(os.path.join(cdir, "tam", "exit")).st_mode & 0o777, 0o666)
        eq(kk(k, env, "stop", "tam").returncode, 0)
        p = kk(k, env, "list", "--json")
        eq(p.returncode, 0, p.stderr)
        eq(json.loads(p.stdout)[0]["status"], "stopped")
        start_detached_and_wait(k, env, cdir, "tam", "echo", "again")
        for f in ("log", "exit"):
            eq(os.stat(os.path.join(cdir, "tam", f)).st_mode & 0o777, 0o600, f)
        eq(listing(k, env)["tam"]["exit_code"], 0)
        ok("again" in kk(k, env, "logs", "tam").stdout, "logs")
