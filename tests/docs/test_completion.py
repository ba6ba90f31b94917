#!/usr/bin/python3
"""docs-bash, docs-zsh, docs-fish: the completion scripts, driven as the shells drive them.

bash: completions/kakuri.bash is sourced in `bash --norc` and its completion function is
called with COMP_WORDS/COMP_CWORD/COMP_LINE split the way readline splits them; without
the bash-completion package and, when it is installed, with it.
fish: `complete -C LINE` after sourcing completions/kakuri.fish.
zsh: `zsh -n`, then a real interactive zsh on a pseudo-terminal with compinit and the
completions directory on fpath, compadd recording what it is given.

Every shell must complete, among others, `kakuri --bind-pro` to --bind-profile,
`kakuri --network=` to its four modes, `kakuri c` to config (among commands), the bind
profiles of the configuration after --bind-profile (`kakuri config` is asked: build/ is
put first on PATH), and `kakuri -` to exactly the options of `kakuri --help`.

usage: test_completion.py bash|zsh|fish SOURCE_ROOT KAKURI
"""

import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "integration")]
from docslib import (Tap, clean_env, help_options, help_subcommands, kakuri_help,  # noqa: E402
                     sh, skip_all, subcommand_options)
from harness import Terminal  # noqa: E402

CONFIG = """\
[storage]
containers_dir = "{containers}"

[bind_profiles]
dev = ["~/.config", "~/.cache"]
minimal = ["~/.cache"]
"""
OTHER_CONFIG = """\
[bind_profiles]
other = ["/tmp"]
"""


class Fixture:
    """A HOME, a config with the profiles dev and minimal and the persistent containers
    box1 and box2, a working directory holding alpha.txt and sub/, and PATH = build/ first,
    then the system's."""

    def __init__(self, kakuri):
        self.tmp = tempfile.mkdtemp(prefix="kakuri-docs-")
        self.home = os.path.join(self.tmp, "home")
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(self.home)
        os.makedirs(os.path.join(self.work, "sub"))
        open(os.path.join(self.work, "alpha.txt"), "w").close()
        self.config = os.path.join(self.tmp, "config.toml")
        self.other = os.path.join(self.tmp, "other.toml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(containers=os.path.join(self.tmp, "containers")))
        with open(self.other, "w") as f:
            f.write(OTHER_CONFIG)
        bindir = os.path.dirname(os.path.abspath(kakuri))
        self.env = clean_env(self.home, KAKURI_CONFIG=self.config, LC_ALL="C.UTF-8",
                             PATH=f"{bindir}:/usr/local/bin:/usr/bin:/bin")
        self.errors = ""
        for name in ("box1", "box2"):
            r = sh([kakuri, "create", "-q", name], env=self.env, cwd=self.work)
            if r.returncode != 0:
                self.errors += f"kakuri create {name}: exit {r.returncode}: {r.stderr}"
        # Another store, named by the global --config: box3 is there alone, with an --overlay
        # of sub/ (change set 1, in the HOME's changes_dir).
        self.store2 = os.path.join(self.tmp, "store2.toml")
        with open(self.store2, "w") as f:
            f.write(CONFIG.format(containers=os.path.join(self.tmp, "containers2")))
        r = sh([kakuri, "--config", self.store2, "create", "-q", "--overlay", "sub", "box3"],
               env=self.env, cwd=self.work)
        if r.returncode != 0:
            self.errors += f"kakuri --config ... create box3: exit {r.returncode}: {r.stderr}"
        # An image, img1, of an empty tree (in a build with images).
        self.images = False
        tree = os.path.join(self.tmp, "tree")
        os.makedirs(tree)
        r = sh([kakuri, "image", "import", "-q", tree, "img1"], env=self.env, cwd=self.work)
        self.images = r.returncode == 0

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def common_cases(fx, opts, subs, sub_opts):
    """(line, how, want): how is "eq", "has", "lacks", or "opts" (the same options as
    `kakuri --help`). An offered `--opt=` counts as --opt."""
    all_opts = set(opts)
    boxes = {"box1", "box2"}
    # A system config (read first, always) may define more profiles.
    prof = "has" if os.path.exists("/etc/kakuri/config.toml") else "eq"
    cases = [
        ("kakuri --bind-pro", "eq", {"--bind-profile"}),
        ("kakuri --network=", "eq", {"none", "host", "private", "private,host-loopback"}),
        ("kakuri --network=h", "eq", {"host"}),
        ("kakuri --network ", "eq", {"none", "host", "private", "private,host-loopback"}),
        ("kakuri --auto-mount=", "eq", {"rw", "ro", "off"}),
        ("kakuri --seccomp ", "eq", {"default", "off"}),
        ("kakuri c", "has", {"config"}),
        ("kakuri con", "has", {"config"}),
        ("kakuri --user conf", "lacks", {"config"}),
        ("kakuri -- conf", "lacks", {"config"}),
        ("kakuri --bind-profile ", prof, {"dev", "minimal"}),
        ("kakuri --bind-profile=", prof, {"dev", "minimal"}),
        ("kakuri --bind-profile m", prof, {"minimal"}),
        (f"kakuri --config {fx.other} --bind-profile ", prof, {"other"}),
        ("kakuri config --bind-profile ", prof, {"dev", "minimal"}),
        ("kakuri config --bind-pro", "eq", {"--bind-profile"}),
        ("kakuri --cap-add SYS_AD", "eq", {"SYS_ADMIN"}),
        ("kakuri --cap-drop ", "has", {"ALL", "NET_RAW", "SYS_ADMIN"}),
        ("kakuri ech", "has", {"echo"}),
        ("kakuri --user ech", "has", {"echo"}),
        ("kakuri cat al", "eq", {"alpha.txt"}),
        ("kakuri --bind al", "eq", {"alpha.txt"}),
        ("kakuri -w s", "eq", {"sub"}),
        ("kakuri --hostname box ech", "has", {"echo"}),
        ("kakuri echo --bi", "lacks", {"--bind", "--bind-profile"}),
        ("kakuri -", "opts", all_opts),
        # Subcommands: each one's options (`kakuri help SUB`), containers where a NAME goes.
        ("kakuri ", "has", set(subs) | {"echo"}),
        ("kakuri help ", "has", set(subs)),
        ("kakuri create --bind-pro", "eq", {"--bind-profile"}),
        ("kakuri create -", "opts", all_opts),
        ("kakuri start ", "eq", boxes),
        ("kakuri start -d b", "eq", boxes),
        ("kakuri start box1 ech", "has", {"echo"}),
        ("kakuri start box1 cat al", "eq", {"alpha.txt"}),
        ("kakuri exec ", "eq", boxes),
        ("kakuri exec -w s", "eq", {"sub"}),
        ("kakuri exec -u box1 ech", "has", {"echo"}),
        ("kakuri exec box1 cat al", "eq", {"alpha.txt"}),
        ("kakuri shell ", "eq", boxes),
        ("kakuri stop box1 b", "eq", boxes),
        ("kakuri remove ", "eq", boxes),
        ("kakuri rm ", "lacks", boxes),
        ("kakuri remove -f b", "eq", boxes),
        ("kakuri list --format=", "eq", {"json", "table"}),
        ("kakuri inspect ", "eq", boxes),
        ("kakuri inspect --json b", "eq", boxes),
        ("kakuri logs ", "eq", boxes),
        ("kakuri logs -f b", "eq", boxes),
        ("kakuri export --bundle ", "eq", boxes),
        ("kakuri export --bundle -t b", "eq", boxes),
        ("kakuri export --bundle box1 out ech", "has", {"echo"}),
        ("kakuri export --bundle box1 out cat al", "eq", {"alpha.txt"}),
        # The global --config: a subcommand after it, its store's containers, its profiles.
        (f"kakuri --config {fx.other} con", "has", {"config"}),
        (f"kakuri --config {fx.store2} start ", "eq", {"box3"}),
        # Change set ids where an ID goes.
        ("kakuri changes ", "eq", {"1"}),
        ("kakuri apply ", "eq", {"1"}),
        ("kakuri apply -f ", "eq", {"1"}),
        ("kakuri discard 1 ", "eq", {"1"}),
        ("kakuri --overlay s", "eq", {"sub"}),
        (f"kakuri --config {fx.store2} remove -f b", "eq", {"box3"}),
        (f"kakuri --config {fx.store2} exec box3 ech", "has", {"echo"}),
        (f"kakuri --config {fx.other} config --bind-profile ", prof, {"other"}),
        (f"kakuri --config {fx.other} --bind-pro", "eq", {"--bind-profile"}),
        ("kakuri ls ", "lacks", boxes),
    ]
    if fx.images:
        cases += [
            ("kakuri image ", "has", {"import", "pull", "export", "list", "inspect", "remove"}),
            ("kakuri image export ", "eq", {"img1"}),
            ("kakuri image export -q i", "eq", {"img1"}),
            ("kakuri image export img1 al", "eq", {"alpha.txt"}),
            ("kakuri image export --format=", "eq", {"oci", "docker", "dir"}),
            ("kakuri image export --format ", "eq", {"oci", "docker", "dir"}),
            ("kakuri image remove img1 ", "eq", {"img1"}),
        ]
    for sub, sopts in sub_opts.items():
        cases.append((f"kakuri {sub} -", "has", set(sopts) | {"-h", "--help"}))
        if sub in ("start", "exec", "shell", "stop", "inspect", "logs", "remove"):
            cases.append((f"kakuri {sub} -", "lacks", {"--bind-profile", "--dry-run"}))
    return cases


def check(t, shell, line, how, want, got, label=""):
    got = {g.rstrip("=") if g.startswith("-") else g for g in got}
    name = f"{shell}{label}: '{line}<TAB>'"
    if how == "opts":
        missing, unknown = sorted(want - got), sorted(got - want)
        t.ok(not missing and not unknown, f"{name} offers the options of kakuri --help",
             f"not offered: {' '.join(missing) or '(none)'}\n"
             f"offered but not in kakuri --help: {' '.join(unknown) or '(none)'}")
        return
    ok = {"eq": got == want, "has": want <= got, "lacks": not (want & got)}[how]
    expect = {"eq": "exactly", "has": "to include", "lacks": "not to include"}[how]
    t.ok(ok, f"{name} {how} {' '.join(sorted(want))}",
         f"completions: {' '.join(sorted(got)) or '(none)'}\n"
         f"expected {expect}: {' '.join(sorted(want)) or '(none)'}")


# --- bash ------------------------------------------------------------------

WORDBREAKS = set("\"'><=;|&(:")

BASH_DRIVER = r'''
[[ -n $KAKURI_TEST_BASH_COMPLETION ]] && . "$KAKURI_TEST_BASH_COMPLETION"
. "$KAKURI_TEST_SCRIPT" || exit 3
spec=$(complete -p kakuri) || { echo "kakuri.bash registered no completion for kakuri" >&2; exit 3; }
[[ $spec =~ -F\ ([^ ]+) ]] || { echo "not a -F completion: $spec" >&2; exit 3; }
fn=${BASH_REMATCH[1]}
[[ -n $KAKURI_TEST_NO_EQ_BREAK ]] && COMP_WORDBREAKS=${COMP_WORDBREAKS//=/}
complete -W '--frobnicate --frob-level' mytool
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE=$KAKURI_TEST_LINE
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
COMP_KEY=9
COMPREPLY=()
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
for w in "${COMPREPLY[@]}"; do printf '%s\n' "${w%/}"; done
'''


def bash_words(line, breaks=WORDBREAKS):
    """COMP_WORDS as bash makes them: blanks separate words, and a run of COMP_WORDBREAKS
    characters is a word of its own (`--network=h` is "--network" "=" "h")."""
    words, cur, kind = [], "", None
    for ch in line:
        k = "blank" if ch in " \t" else "break" if ch in breaks else "word"
        if k != kind and cur:
            words.append(cur)
            cur = ""
        if k != "blank":
            cur += ch
        kind = k
    if cur:
        words.append(cur)
    if not line or line[-1] in " \t":
        words.append("")
    return words


def run_bash(fx, script, line, bash_completion=None, no_eq_break=False):
    breaks = WORDBREAKS - {"="} if no_eq_break else WORDBREAKS
    env = dict(fx.env, KAKURI_TEST_SCRIPT=script, KAKURI_TEST_LINE=line,
               KAKURI_TEST_BASH_COMPLETION=bash_completion or "",
               KAKURI_TEST_NO_EQ_BREAK="1" if no_eq_break else "")
    r = sh(["bash", "--norc", "--noprofile", "-c", BASH_DRIVER, "bash"] +
           bash_words(line, breaks), env=env, cwd=fx.work, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"bash exited {r.returncode}: {r.stderr}")
    return [w for w in r.stdout.split("\n") if w]


def test_bash(t, fx, root, opts):
    script = os.path.join(root, "completions/kakuri.bash")
    r = sh(["bash", "-n", script])
    t.ok(r.returncode == 0, "bash -n completions/kakuri.bash", r.stderr)
    modes = [(None, " (no bash-completion)")]
    bc = "/usr/share/bash-completion/bash_completion"
    if os.path.exists(bc):
        modes.append((bc, " (bash-completion)"))
    for bash_completion, label in modes:
        cases = common_cases(fx, *opts) + [
            ("kakuri -e HOM", "has", {"HOME"}),
            ("kakuri --bind ./alpha.txt:s", "eq", {"sub"}),
        ]
        if bash_completion:
            cases.append(("kakuri --user mytool --frob", "eq", {"--frobnicate", "--frob-level"}))
        for line, how, want in cases:
            try:
                got = run_bash(fx, script, line, bash_completion)
            except Exception as e:  # noqa: BLE001
                t.ok(False, f"bash{label}: '{line}<TAB>'", str(e))
                continue
            check(t, "bash", line, how, want, got, label)
        # COMP_WORDBREAKS without '=': --opt=VALUE arrives as one word, and so it goes back.
        for line, want in [("kakuri --network=h", {"--network=host"}),
                           ("kakuri --bind-profile=m", {"--bind-profile=minimal"})]:
            try:
                got = run_bash(fx, script, line, bash_completion, no_eq_break=True)
            except Exception as e:  # noqa: BLE001
                t.ok(False, f"bash{label}: '{line}<TAB>'", str(e))
                continue
            check(t, "bash", line, "eq", want, got, label + " (no '=' in COMP_WORDBREAKS)")
    if len(modes) == 1:
        t.skip("bash (bash-completion): the contained command's own completion",
               "the bash-completion package is not installed")


# --- fish ------------------------------------------------------------------

def test_fish(t, fx, root, opts):
    script = os.path.join(root, "completions/kakuri.fish")
    r = sh(["fish", "--no-config", "-n", script])
    t.ok(r.returncode == 0, "fish -n completions/kakuri.fish", r.stderr)
    cases = common_cases(fx, *opts)
    # fish completes `--opt=` words whole.
    fixed = {
        "kakuri --network=": {"--network=none", "--network=host", "--network=private",
                              "--network=private,host-loopback"},
        "kakuri --network=h": {"--network=host"},
        "kakuri --auto-mount=": {"--auto-mount=rw", "--auto-mount=ro", "--auto-mount=off"},
        "kakuri --bind-profile=": {"--bind-profile=dev", "--bind-profile=minimal"},
        "kakuri -w s": {"sub/"},
        "kakuri exec -w s": {"sub/"},
        "kakuri --overlay s": {"sub/"},
        "kakuri list --format=": {"--format=json", "--format=table"},
        "kakuri image export --format=": {"--format=oci", "--format=docker", "--format=dir"},
    }
    cases = [(l, h, fixed.get(l, w)) for l, h, w in cases]
    cases.append(("kakuri --user mytool --frob", "eq", {"--frobnicate", "--frob-level"}))
    for line, how, want in cases:
        prog = (f"source {shq(script)}; complete -c mytool -l frobnicate; "
                f"complete -c mytool -l frob-level; complete -C {shq(line)}")
        r = sh(["fish", "--no-config", "-c", prog], env=fx.env, cwd=fx.work, timeout=60)
        got = [l.split("\t")[0] for l in r.stdout.split("\n") if l]
        if r.returncode != 0 or r.stderr.strip():
            t.ok(False, f"fish: '{line}<TAB>'", f"exit {r.returncode}: {r.stderr}")
            continue
        check(t, "fish", line, how, want, got)


def shq(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- zsh -------------------------------------------------------------------

ZSH_SETUP = r'''
PROMPT='%% '
fpath=({compdir} $fpath)
autoload -U compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
# Never list, so never ask "do you wish to see all N possibilities?" and eat the next keys.
unsetopt autolist automenu
setopt nobeep
LISTMAX=1000000
# Record every match offered; -O/-A/-D calls only compute, they offer nothing.
compadd() {{
  if [[ ${{@[1,(i)(-|--)]}} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- $__hits >> {capture}
  builtin compadd "$@"
}}
# TAB completes, then says it is done.
_kakuri_test_tab() {{ zle complete-word; print -r -- '--done--' >> {capture} }}
zle -N _kakuri_test_tab
bindkey '^I' _kakuri_test_tab
print -r -- '--ready--' >> {capture}
'''


class Zsh:
    def __init__(self, fx, compdir):
        self.capture = os.path.join(fx.tmp, "zsh-capture")
        open(self.capture, "w").close()
        self.term = Terminal([shutil.which("zsh"), "-f", "-i"], dict(fx.env, TERM="dumb"),
                             fx.work)
        try:
            self.term.send(ZSH_SETUP.format(compdir=compdir, capture=self.capture))
            self.wait_for("--ready--")
        except BaseException:
            self.term.close()
            raise

    def wait_for(self, marker, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            self.term.drain()
            with open(self.capture) as f:
                lines = f.read().split("\n")
            if marker in lines:
                return lines[:lines.index(marker)]
            time.sleep(0.02)
        raise TimeoutError(f"zsh did not answer within {timeout}s")

    def complete(self, line):
        open(self.capture, "w").close()
        self.term.send(line + "\t")
        got = self.wait_for("--done--")
        self.term.send("\x15")  # kill the line
        return [w for w in got if w]

    def close(self):
        self.term.close()


def test_zsh(t, fx, root, opts):
    script = os.path.join(root, "completions/_kakuri")
    r = sh(["zsh", "-n", script])
    t.ok(r.returncode == 0, "zsh -n completions/_kakuri", r.stderr)
    try:
        z = Zsh(fx, os.path.join(root, "completions"))
    except Exception as e:  # noqa: BLE001
        t.ok(False, "zsh: an interactive zsh with compinit starts", str(e))
        return
    try:
        cases = common_cases(fx, *opts)
        cases.append(("kakuri --user ls --colo", "has", {"--color"}))
        for line, how, want in cases:
            try:
                got = z.complete(line)
            except Exception as e:  # noqa: BLE001
                t.ok(False, f"zsh: '{line}<TAB>'", f"{e}: the remaining cases are not run")
                break
            check(t, "zsh", line, how, want, got)
    finally:
        z.close()


def main():
    shell, root, kakuri = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    if not shutil.which(shell):
        skip_all(f"{shell} is not installed")
    help_text = kakuri_help(kakuri)
    subs = help_subcommands(help_text)
    opts = (help_options(help_text), subs, subcommand_options(kakuri, subs))
    fx = Fixture(kakuri)
    t = Tap()
    if not t.ok(not fx.errors, "three persistent containers made for the cases", fx.errors):
        fx.cleanup()
        t.done()
    try:
        {"bash": test_bash, "fish": test_fish, "zsh": test_zsh}[shell](t, fx, root, opts)
    finally:
        fx.cleanup()
    t.done()


if __name__ == "__main__":
    main()
