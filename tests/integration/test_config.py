"""Config file, bind profiles, automatic path mounting, PATH resolution."""
import os

from harness import eq, ok
from test_run import CREDENTIALS, env_inside, no_fake

# README's sample configuration (kakuri.conf(5) shows it too), as the unit and docs tests read it.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sample-config.toml")) as f:
    SAMPLE = f.read()


def user_config(k, text):
    path = os.path.join(k.home, ".config", "container", "config.toml")
    k.write(path, text)
    return path


def test_sample_config_and_minimal_profile(k):
    user_config(k, SAMPLE)
    k.write(os.path.join(k.home, ".cache", "c.txt"), "cached\n")
    k.write(os.path.join(k.home, "private.txt"), "secret\n")
    p = k.sh('ls -A "$HOME"; cat "$HOME/.cache/c.txt"', ["--bind-profile", "minimal"])
    eq(p.stdout, ".cache\ncached\n", p.stderr)
    # dev: ~/.local and ~/.ssh do not exist: skipped, and said with -v.
    p = k.sh('ls -A "$HOME"', ["-v", "--bind-profile", "dev"])
    eq(p.returncode, 0, p.stderr)
    eq(sorted(p.stdout.split()), [".cache", ".config"])
    ok("skipped ~/.ssh" in p.stderr and "skipped ~/.local" in p.stderr, p.stderr)


def test_unknown_profile_is_125(k):
    user_config(k, SAMPLE)
    p = k.run(["--bind-profile", "nope", "true"])
    eq(p.returncode, 125)
    ok("unknown bind profile 'nope'" in p.stderr, p.stderr)


def test_broken_config_names_file_and_line(k):
    path = user_config(k, "[defaults]\nallow_network = false\nallow_netwrk = true\n")
    p = k.run(["true"])
    eq(p.returncode, 125)
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok(p.stderr.startswith(f"kakuri: {path}:3: ") and "allow_network" in p.stderr, p.stderr)
    path = user_config(k, "[bind_profiles]\ndev = [\n  \"~/.config\",\n")
    p = k.run(["true"])
    eq(p.returncode, 125)
    ok(f"{path}:2:" in p.stderr, p.stderr)


def test_config_file_locations_and_overrides(k):
    user_config(k, '[defaults]\nhostname = "fromfile"\n')
    eq(k.probe(["hostname"])["hostname"], "fromfile")
    eq(k.probe(["hostname"], ["--hostname", "cli"])["hostname"], "cli", "command line wins")
    other = k.write(os.path.join(k.tmp, "other.toml"), '[defaults]\nhostname = "other"\n')
    eq(k.probe(["hostname"], ["--config", other])["hostname"], "other")
    eq(k.probe(["hostname"], env={"KAKURI_CONFIG": other})["hostname"], "other")
    xdg = k.write(os.path.join(k.tmp, "xdg", "container", "config.toml"),
                  '[defaults]\nhostname = "xdg"\n')
    eq(k.probe(["hostname"], env={"XDG_CONFIG_HOME": os.path.dirname(os.path.dirname(xdg))})
       ["hostname"], "xdg")
    p = k.run(["--config", os.path.join(k.tmp, "missing.toml"), "true"])
    eq(p.returncode, 125, "an explicit config that does not exist")


def test_kakuri_config_shows_origins(k):
    path = user_config(k, SAMPLE.replace("allow_network = false", "allow_network = false\nuser = true"))
    p = k.run(["config", "--hostname", "h1"])
    eq(p.returncode, 0, p.stderr)
    lines = {l.split("=")[0].strip(): l for l in p.stdout.splitlines() if "=" in l}
    ok(lines["user"].endswith(f"# {path}:6"), lines["user"])
    ok(lines["hostname"].endswith("# command line"), lines["hostname"])
    ok(lines["seccomp"].endswith("# default"), lines["seccomp"])
    ok(lines["minimal"].startswith('minimal = ["~/.cache"]'), lines["minimal"])


def test_kakuri_config_output_reads_back(k):
    # A value holding '"' or a backslash is escaped, so what kakuri config prints is a config again.
    path = user_config(k, '[storage]\ncontainers_dir = "~/a\\"b\\\\c"\n'
                          '[bind_profiles]\nq = ["~/x\\"y"]\n')
    p = k.run(["config", "--hostname", 'h"1'])
    eq(p.returncode, 0, p.stderr)
    ok('containers_dir = "~/a\\"b\\\\c"' in p.stdout, p.stdout)
    printed = k.write(os.path.join(k.tmp, "printed.toml"), p.stdout)
    again = k.run(["config", "--config", printed])
    eq(again.returncode, 0, again.stderr)
    values = [l.split("  # ")[0] for l in p.stdout.splitlines()]
    eq([l.split("  # ")[0] for l in again.stdout.splitlines()], values, f"read back from {path}")


def test_config_defaults_apply(k):
    data = k.mkdir("cfgbind")
    k.write(os.path.join(data, "f"), "from-config-bind\n")
    user_config(k, f'[defaults]\nbind = ["{data}:/cfg:ro"]\nenv = ["FROM_CFG=yes"]\n'
                   'allow_network = true\n')
    p = k.sh('cat /cfg/f; echo "$FROM_CFG"')
    eq(p.stdout, "from-config-bind\nyes\n", p.stderr)
    netifs = k.probe(["netifs"])["netifs"]
    ok(netifs != "lo", "allow_network = true shares the host's network")
    eq(k.probe(["netifs"], ["--network=none"])["netifs"], "lo", "--network=none overrides")


def test_script_with_sibling_import_and_output(k):
    proj = os.path.join(k.home, "proj")
    k.write(os.path.join(proj, "helper.py"), 'MSG = "made by helper"\n')
    k.write(os.path.join(proj, "main.py"),
            "import sys, helper\nopen(sys.argv[1], 'w').write(helper.MSG + '\\n')\n")
    k.mkdirs(os.path.join(k.home, "out"))
    # As a shell hands them over: ~ already expanded.
    main, out = os.path.join(proj, "main.py"), os.path.join(k.home, "out")
    p = k.run(["python3", main, f"{out}/result.txt"])
    eq(p.returncode, 0, p.stderr)
    with open(os.path.join(k.home, "out", "result.txt")) as f:
        eq(f.read(), "made by helper\n")
    # --auto-mount=off: the same paths are not there.
    p = k.run(["--auto-mount=off", "python3", main, f"{out}/r2.txt"])
    ok(p.returncode != 0, "ran without its files")
    ok(not os.path.exists(os.path.join(k.home, "out", "r2.txt")), "output appeared")
    # ro: readable, not writable.
    p = k.run(["--auto-mount=ro", "python3", main, f"{out}/r3.txt"])
    ok(p.returncode != 0 and "Read-only file system" in p.stderr, p.stderr)


def test_relative_paths_from_the_working_directory(k):
    d = k.mkdir("rel")
    k.write(os.path.join(d, "file.py"), "print('bare file ran')\n")
    k.write(os.path.join(d, "data.txt"), "dot-slash\n")
    p = k.run(["python3", "file.py"], cwd=d)
    eq(p.stdout, "bare file ran\n", p.stderr)
    p = k.run(["cat", "./data.txt"], cwd=d)
    eq(p.stdout, "dot-slash\n", p.stderr)


def auto_mounted(stderr):
    """What -v says was mounted automatically."""
    return [l[len("kakuri: auto-mount "):] for l in stderr.splitlines()
            if l.startswith("kakuri: auto-mount /")]


def test_visible_paths_are_not_exposed(k):
    before = open("/etc/hosts").read()
    k.sh("echo x > /etc/hosts")
    # Only the working directory (README, "Automatic path mounting") is mounted.
    p = k.run(["-v", "sh", "-c", 'echo x >> "$1"', "sh", "/etc/hosts"])
    eq(auto_mounted(p.stderr), [k.work], f"/etc was auto-mounted: {p.stderr}")
    eq(open("/etc/hosts").read(), before, "host /etc/hosts changed")
    p = k.run(["-v", "ls", "/", k.home])
    eq(auto_mounted(p.stderr), [k.work], f"/ or $HOME auto-mounted: {p.stderr}")
    p = k.run(["-v", "ls", "/", k.home], cwd=k.home)
    eq(auto_mounted(p.stderr), [], f"/ or $HOME auto-mounted: {p.stderr}")


def test_tool_in_local_bin_runs_by_name(k):
    tool = os.path.join(k.home, ".local", "bin", "kakuri-it-tool")
    k.write(tool, '#!/bin/sh\necho "tool ran: $*"\n', 0o755)
    path = f"{os.path.dirname(tool)}:/usr/bin:/bin"
    p = k.run(["kakuri-it-tool", "a", "b"], env={"PATH": path})
    eq(p.stdout, "tool ran: a b\n", p.stderr)
    # Only that file is exposed, and read-only.
    p = k.run(["-v", "kakuri-it-tool", "x"], env={"PATH": path})
    ok(f"from the host: {tool}" in p.stderr, p.stderr)
    p = k.run(["no-such-tool-anywhere"], env={"PATH": path})
    eq(p.returncode, 127)
    eq(p.stderr, "kakuri: no-such-tool-anywhere: command not found\n")


def test_env_keep_and_env_drop(k):
    path = user_config(k, '[defaults]\n'
                          'env = ["NPM_TOKEN=fake-npm-cfg", "EDITOR=vi"]\n'
                          'env_drop = ["CORP_*", "LANG"]\n'
                          'env_keep = ["github_token", "*_API_KEY"]\n')
    env = {**CREDENTIALS, "CORP_SSO": "fake-sso", "CORP_TOKEN": "fake-corp"}
    p = k.run(["-v", "/usr/bin/env"], env=env)
    got = env_inside(p)
    eq(got.get("GITHUB_TOKEN"), "fake-gh-123", "env_keep, case-insensitive")
    eq(got.get("MY_API_KEY"), "fake-456", "env_keep pattern")
    eq(got.get("NPM_TOKEN"), "fake-npm-cfg", "the config's env sets one on purpose")
    eq(got.get("EDITOR"), "vi")
    for name in ("CORP_SSO", "CORP_TOKEN", "LANG", "aws_secret_access_key", "SSH_AUTH_SOCK"):
        ok(name not in got, f"{name} reached the container: {got}")
    notes = [l for l in p.stderr.splitlines() if "environment: kept outside" in l]
    eq(notes, ["kakuri: environment: kept outside: LANG, aws_secret_access_key, SSH_AUTH_SOCK, "
               "CORP_SSO, CORP_TOKEN (credentials; pass one with -e NAME)"], p.stderr)
    no_fake("-v output", p.stderr)
    # -e passes a dropped one after all.
    eq(env_inside(k.run(["-e", "CORP_SSO", "/usr/bin/env"], env=env)).get("CORP_SSO"), "fake-sso")

    # kakuri config: the rule with its origins, the built-in list, never a value.
    p = k.run(["config"], env=env)
    eq(p.returncode, 0, p.stderr)
    lines = {l.split(" = ")[0]: l for l in p.stdout.splitlines() if " = " in l}
    eq(lines["env_drop"], f'env_drop = ["CORP_*", "LANG"]             # {path}:3')
    eq(lines["env_keep"], f'env_keep = ["github_token", "*_API_KEY"]  # {path}:4')
    ok(lines["env"].startswith('env = ["NPM_TOKEN=<hidden>", "EDITOR=vi"]'), lines["env"])
    ok(" GITHUB_TOKEN " in p.stdout and " *_TOKEN " in p.stdout, p.stdout)
    no_fake("kakuri config", p.stdout, p.stderr)


def test_bad_env_rule_entries(k):
    path = user_config(k, '[defaults]\nenv_keep = ["GITHUB_TOKEN=fake-in-config"]\n')
    p = k.run(["true"])
    eq((p.returncode, p.stderr),
       (125, f"kakuri: {path}:2: entry 1 of env_keep is a NAME, not NAME=VALUE\n"))
    path = user_config(k, '[defaults]\nenv_drop = ["*TOKEN*"]\n')
    p = k.run(["true"])
    eq((p.returncode, p.stderr),
       (125, f"kakuri: {path}:2: entry 1 of env_drop is not a NAME, *SUFFIX, PREFIX* or *\n"))


def refused(p, path, why):
    eq(p.returncode, 125, f"accepted: {p.stdout!r} {p.stderr!r}")
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok(p.stderr.startswith(f"kakuri: refusing {path}: ") and why in p.stderr, p.stderr)


def test_config_someone_else_could_write_is_refused(k):
    # What the config says is mounted: a file others may write would let them choose.
    evil = k.mkdir("evil-data")
    text = f'[defaults]\nbind = ["{evil}:/evil"]\n'
    path = user_config(k, text)
    eq(k.sh("test -d /evil").returncode, 0, "the config applies")
    os.chmod(path, 0o666)
    refused(k.sh("test -d /evil"), path, "writable by its group and others (mode 0666)")
    os.chmod(path, 0o620)
    refused(k.run(["config"]), path, "writable by its group (mode 0620)")
    os.chmod(path, 0o644)
    # A directory above it that others may write: they could swap the file.
    d = os.path.dirname(path)
    os.chmod(d, 0o777)
    refused(k.run(["true"]), path, f"{d} is writable by its group and others (mode 0777)")
    os.chmod(d, 0o755)
    # --config and KAKURI_CONFIG alike.
    other = k.write(os.path.join(k.tmp, "open.toml"), text, 0o646)
    refused(k.run(["--config", other, "true"]), other, "writable by others (mode 0646)")
    refused(k.run(["true"], env={"KAKURI_CONFIG": other}), other, "(mode 0646)")
    refused(k.run(["list"], env={"KAKURI_CONFIG": other}), other, "(mode 0646)")
    if k.am_root:
        # Another user's file, however closed its mode.
        owner = 64123 if k.mode == "root" else 64124
        os.chmod(other, 0o600)
        os.chown(other, owner, owner)
        refused(k.run(["--config", other, "true"]), other, f"owned by uid {owner}, not by you or root")
    # A link to a config, as dotfile managers make them, is fine when it is the caller's.
    dot = k.write(os.path.join(k.home, "dotfiles", "kakuri.toml"), '[defaults]\nhostname = "dot"\n')
    os.unlink(path)
    os.symlink("../../dotfiles/kakuri.toml", path)
    if k.drop:
        os.lchown(path, k.uid, k.gid)
    eq(k.probe(["hostname"])["hostname"], "dot")
    os.chmod(dot, 0o666)
    refused(k.run(["true"]), path, f"{dot} is writable by its group and others")
    os.unlink(path)


def test_config_errors_quote_nothing_of_the_file(k):
    # Whatever file is named as a config, an error shows where, never what it holds.
    for text, line in (("# notes\nsecret-line-XYZ\n", 2),
                       ('[defaults]\nallow_network = false\npassword = "hunter2"\n', 3),
                       ('[defaults]\nnetwork = "hunter2"\n', 2),
                       ('[defaults]\nbind = ["/a:hunter2"]\n', 2),
                       ("[hunter2 XYZ]\n", 1)):
        path = k.write(os.path.join(k.tmp, "secret.toml"), text, 0o600)
        for args in (["--config", path, "true"], ["config", "--config", path]):
            p = k.run(args)
            eq(p.returncode, 125, p.stderr)
            eq(p.stderr.count("\n"), 1, p.stderr)
            ok(p.stderr.startswith(f"kakuri: {path}:{line}: "), p.stderr)
            ok("hunter2" not in p.stderr and "XYZ" not in p.stderr, f"leaked: {p.stderr}")
    if k.mode == "root" and os.path.exists("/etc/shadow"):
        with open("/etc/shadow") as f:
            first = f.readline().rstrip("\n")
        p = k.run(["--config", "/etc/shadow", "true"])
        eq(p.returncode, 125)
        ok(p.stderr.startswith("kakuri: /etc/shadow:1: "), p.stderr)
        for field in first.split(":")[1:]:
            ok(len(field) < 3 or field not in p.stderr, f"leaked: {p.stderr}")
