#!/usr/bin/python3
"""docs-drift: the man pages and the shell completions against `kakuri --help`.

Every run option (long and short) and every subcommand that `kakuri --help` lists must be
in man/kakuri.1 (an entry under OPTIONS / SUBCOMMANDS) and in the three completion scripts;
man/kakuri.1 must document no option kakuri does not have. Also: the overlay-limit text
is README's, word for word; README, kakuri.conf(5) and `kakuri --help` hold the sample
configuration (tests/sample-config.toml), kakuri.conf(5)'s examples parse, and its
`kakuri config` output is what kakuri prints.

usage: test_drift.py SOURCE_ROOT KAKURI
"""

import difflib
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docslib import (Tap, clean_env, help_options, help_subcommands, kakuri_help,  # noqa: E402
                     option_tokens, read, roff_examples, roff_paragraph_text, roff_sections,
                     roff_tags, sh, subcommand_options)

# README's sample configuration (Configuration), which must parse exactly as written; the unit
# and integration tests read the same file.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sample-config.toml")) as f:
    SAMPLE = f.read()


def missing_text(wanted, have):
    return "missing: " + " ".join(sorted(set(wanted) - set(have)))


def code_lines(text, comment="#"):
    """The lines of a shell script that are not comments."""
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith(comment))


def man_documents_exactly(t, section, noun, have, documented, of=""):
    """man/kakuri.1's SECTION has an entry for each NOUN kakuri has, and for no other."""
    missing = [x for x in have if x not in documented]
    t.ok(not missing, f"man/kakuri.1 {section} has an entry for every {noun}{of}",
         "no entry in man/kakuri.1 for: " + " ".join(missing))
    extra = sorted(set(documented) - set(have))
    t.ok(not extra, f"man/kakuri.1 {section} documents no {noun} kakuri does not have",
         "documented but not in kakuri --help: " + " ".join(extra))


def main():
    root, kakuri = sys.argv[1], sys.argv[2]
    t = Tap()
    help_text = kakuri_help(kakuri)
    opts = help_options(help_text)
    subs = help_subcommands(help_text)
    t.ok(len(opts) >= 10 and "--help" in opts,
         f"kakuri --help lists the run options ({len(opts)} found)",
         "the option table of `kakuri --help` was not recognised:\n" + help_text)
    t.ok("config" in subs, f"kakuri --help lists the subcommands ({' '.join(subs)})", help_text)

    # kakuri(1)
    man1 = read(os.path.join(root, "man/kakuri.1"))
    sections = roff_sections(man1)
    man_opts = set()
    for tag in roff_tags(sections.get("OPTIONS", [])):
        man_opts |= option_tokens(tag)
    man_documents_exactly(t, "OPTIONS", "option", opts, man_opts, " of kakuri --help")
    # Tags are "NAME [...]" or "NAME, ALIAS [...]".
    man_subs = set()
    for tag in roff_tags(sections.get("SUBCOMMANDS", [])):
        m = re.match(r"([a-z][a-z-]*(?:, [a-z][a-z-]*)*)", tag)
        man_subs |= set(m.group(1).split(", ")) if m else set()
    man_documents_exactly(t, "SUBCOMMANDS", "subcommand", subs, man_subs)

    # Completions: every option somewhere in the script's code (comments and descriptions
    # do not count), every subcommand in its subcommand list.
    bash = read(os.path.join(root, "completions/kakuri.bash"))
    found = option_tokens(code_lines(bash))
    missing = [o for o in opts if o not in found]
    t.ok(not missing, "completions/kakuri.bash offers every option",
         "missing from completions/kakuri.bash: " + " ".join(missing))
    m = re.search(r'^_kakuri_subcommands="([^"]*)"', bash, re.M)
    bash_subs = m.group(1).split() if m else []
    missing = [s for s in subs if s not in bash_subs]
    t.ok(m and not missing, "completions/kakuri.bash offers every subcommand",
         "missing from _kakuri_subcommands in completions/kakuri.bash: " + " ".join(missing))

    zsh = read(os.path.join(root, "completions/_kakuri"))
    zsh_code = re.sub(r"\[[^\]'\n]*\]", "", code_lines(zsh))  # drop the [descriptions]
    found = option_tokens(zsh_code)
    missing = [o for o in opts if o not in found]
    t.ok(not missing, "completions/_kakuri offers every option",
         "missing from completions/_kakuri: " + " ".join(missing))
    m = re.search(r"_kakuri_subcommands=\((.*?)^\s*\)", zsh, re.M | re.S)
    zsh_subs = re.findall(r"'([a-z][a-z-]*):", m.group(1)) if m else []
    missing = [s for s in subs if s not in zsh_subs]
    t.ok(m and not missing, "completions/_kakuri offers every subcommand",
         "missing from _kakuri_subcommands in completions/_kakuri: " + " ".join(missing))

    fish = code_lines(read(os.path.join(root, "completions/kakuri.fish")))
    found = {"--" + x for x in re.findall(r"(?<!\S)-l\s+([A-Za-z0-9][A-Za-z0-9-]*)", fish)}
    found |= {"-" + x for x in re.findall(r"(?<!\S)-s\s+([A-Za-z0-9])(?!\S)", fish)}
    missing = [o for o in opts if o not in found]
    t.ok(not missing, "completions/kakuri.fish offers every option (-l NAME / -s X)",
         "missing from completions/kakuri.fish: " + " ".join(missing))
    m = re.search(r"^set -g __kakuri_subcommands((?:.*\\\n)*.*)$", fish, re.M)
    fish_subs = re.findall(r"(?<!\S)([a-z][a-z-]*)\\t", m.group(1)) if m else []
    missing = [s for s in subs if s not in fish_subs]
    t.ok(m and not missing, "completions/kakuri.fish offers every subcommand",
         "missing from __kakuri_subcommands in completions/kakuri.fish: " + " ".join(missing))

    # Each subcommand's own options (the usage line of `kakuri help SUB`): in its man page
    # entry and in its part of each completion script.
    sub_opts = subcommand_options(kakuri, subs)
    man_tags = {}
    for tag in roff_tags(sections.get("SUBCOMMANDS", [])):
        m = re.match(r"([a-z][a-z-]*)", tag)
        if m:
            man_tags[m.group(1)] = option_tokens(tag)
    fish_lines = fish.splitlines()
    where = {
        "man/kakuri.1": lambda sub: man_tags.get(sub, set()),
        "completions/kakuri.bash": lambda sub: option_tokens(" ".join(re.findall(
            rf"^\s*{sub}(?: \| [a-z]+)?\)(.*?);;", bash, re.M | re.S))),
        "completions/_kakuri": lambda sub: option_tokens(" ".join(re.findall(
            rf"^\s*\({sub}(?:\|[a-z]+)?\)(.*?);;", zsh_code, re.M | re.S))),
        "completions/kakuri.fish": lambda sub: {
            ("--" if len(x) > 1 else "-") + x
            for l in fish_lines if f"'{sub} " in l
            for x in re.findall(r"(?<!\S)-[ls]\s+([A-Za-z0-9][A-Za-z0-9-]*)", l)},
    }
    for path, found in where.items():
        missing = [f"{sub} {o}" for sub, os_ in sub_opts.items() for o in os_
                   if o not in found(sub)]
        t.ok(not missing, f"{path} has every subcommand's options ({len(sub_opts)} subcommands)",
             "missing: " + ", ".join(missing))

    # The overlay limit: README's paragraphs, word for word.
    readme = read(os.path.join(root, "README.md"))
    m = re.search(r"^#+ The unprivileged overlay limit\s*\n(.*?)(?=^#|\Z)", readme, re.M | re.S)
    readme_paras = [re.sub(r"\s+", " ", p.replace("`", "")).strip()
                    for p in (m.group(1) if m else "").split("\n\n") if p.strip()]
    # Markdown links keep their text only.
    readme_paras = [re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", p) for p in readme_paras]
    man_paras, cur = [], []
    for line in sections.get("WHAT A CONTAINER SEES/The unprivileged overlay limit", []) + [".PP"]:
        if line.startswith((".PP", ".P", ".LP")):
            if cur:
                man_paras.append(roff_paragraph_text(cur))
            cur = []
        else:
            cur.append(line)
    first = readme_paras[0] if readme_paras else ""
    t.ok(first and man_paras and man_paras[0] == first,
         "man/kakuri.1 states the unprivileged overlay limit in README's words",
         f"README:\n  {first}\nman/kakuri.1:\n  {man_paras[0] if man_paras else ''}")
    for err in ("Permission denied", "Value too large for defined data type"):
        t.ok(man_paras and err in man_paras[0],
             f"man/kakuri.1 overlay limit names the error '{err}'")

    # kakuri.conf(5)
    man5 = read(os.path.join(root, "man/kakuri.5"))
    examples = roff_examples(man5)
    t.ok(any(e.strip("\n") + "\n" == SAMPLE for e in examples),
         "man/kakuri.5 holds the sample configuration verbatim",
         "no .EX block equals:\n" + SAMPLE)
    t.ok(re.search(r"^```toml\n" + re.escape(SAMPLE) + "```$", readme, re.M) is not None,
         "README holds the sample configuration verbatim",
         "no ```toml block equals:\n" + SAMPLE)
    # kakuri --help shows it too, indented, without its blank lines.
    m = re.search(r"Example:\n((?:  .*\n)+)", help_text)
    shown = m.group(1) if m else ""
    want = "".join(f"  {line}\n" for line in SAMPLE.splitlines() if line.strip())
    t.ok(shown == want, "kakuri --help shows the sample configuration",
         f"its example:\n{shown}\nnot:\n{want}")
    with tempfile.TemporaryDirectory() as tmp:
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        env = clean_env(home)
        for i, ex in enumerate(examples):
            if ex.startswith(("$", "kakuri:")) or not re.search(r"^\w+ = ", ex, re.M):
                continue
            text = ex if re.search(r"^\[", ex, re.M) else "[bind_profiles]\n" + ex
            path = os.path.join(tmp, f"example{i}.toml")
            with open(path, "w") as f:
                f.write(text + "\n")
            r = sh([kakuri, "config", "--config", path], env=env)
            t.ok(r.returncode == 0, f"man/kakuri.5 example {i + 1} is a valid configuration",
                 f"{text}\n-> exit {r.returncode}: {r.stderr}")

        shown = [e for e in examples if e.startswith("$ kakuri config")]
        if os.path.exists("/etc/kakuri/config.toml"):
            t.skip("man/kakuri.5 `kakuri config` output is kakuri's",
                   "/etc/kakuri/config.toml exists and would change the output")
        elif not shown:
            t.ok(False, "man/kakuri.5 shows the output of `kakuri config`")
        else:
            first, *expected = shown[0].split("\n")
            with open(os.path.join(tmp, "my.toml"), "w") as f:
                f.write(SAMPLE)
            args = first[len("$ kakuri "):].split()
            r = sh([os.path.abspath(kakuri)] + args, env=env, cwd=tmp)
            got = r.stdout.rstrip("\n").split("\n")
            diff = "\n".join(difflib.unified_diff(expected, got, "man/kakuri.5", "kakuri",
                                                 lineterm=""))
            t.ok(r.returncode == 0 and got == expected,
                 "man/kakuri.5 `kakuri config` output is what kakuri prints",
                 f"{first}: exit {r.returncode} {r.stderr}\n{diff}")
    t.done()


if __name__ == "__main__":
    main()
