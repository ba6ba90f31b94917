"""Shared by the docs-* tests: TAP output, `kakuri --help` parsing, a tiny roff reader."""

import os
import re
import shlex
import subprocess
import sys


class Tap:
    """TAP 13 on stdout; exit status 1 when any case failed."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=""):
        self.n += 1
        print(("ok" if cond else "not ok"), self.n, "-", name)
        if not cond:
            self.failed += 1
            for line in str(diag).splitlines():
                print("#", line)
        sys.stdout.flush()
        return cond

    def skip(self, name, reason):
        self.n += 1
        print("ok", self.n, "-", name, "# SKIP", reason)

    def done(self):
        print(f"1..{self.n}")
        sys.exit(1 if self.failed else 0)


def skip_all(reason):
    print("1..0 # SKIP", reason)
    sys.exit(0)


def kakuri_help(kakuri):
    return subprocess.run([kakuri, "--help"], check=True, capture_output=True, text=True).stdout


def help_options(text):
    """Every run option in `kakuri --help`, short and long: ["--allow-network", ..., "-e", ...].

    Option lines are "  -x, --long ..." or "      --long ...": other lines that mention an
    option (the prose sections after the table) are not read."""
    opts = []
    for line in text.splitlines():
        m = re.match(r"^  (?:-([A-Za-z0-9]), |    )--([A-Za-z0-9][A-Za-z0-9-]*)", line)
        if m:
            if m.group(1):
                opts.append("-" + m.group(1))
            opts.append("--" + m.group(2))
    return opts


def help_subcommands(text):
    """Subcommand names in `kakuri --help`: lines "  kakuri NAME ...", plus "alias: NAME"."""
    subs = []
    for line in text.splitlines():
        m = re.match(r"^  kakuri ([a-z][a-z-]*)\b", line)
        if m:
            subs.append(m.group(1))
            subs += re.findall(r"\balias(?:es)?: ([a-z][a-z-]*)", line)
    return subs


# Subcommands that take kakuri's run options rather than options of their own.
RUN_OPTION_SUBCOMMANDS = ("config", "create", "help")


def subcommand_options(kakuri, subs):
    """{SUB: [options in the usage line of `kakuri help SUB`]} for the subcommands with
    options of their own, under the name its usage line gives."""
    out = {}
    for sub in subs:
        if sub in RUN_OPTION_SUBCOMMANDS:
            continue
        r = subprocess.run([kakuri, "help", sub], capture_output=True, text=True)
        m = re.search(r"^Usage: kakuri ([a-z-]+)(.*)$", r.stdout, re.M)
        if r.returncode != 0 or not m:
            raise RuntimeError(f"kakuri help {sub}: exit {r.returncode}, no usage line:\n"
                               + r.stdout + r.stderr)
        out[m.group(1)] = sorted(set(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][A-Za-z0-9-]*)",
                                                m.group(2))))
    return out


# --- roff ------------------------------------------------------------------

_ESCAPES = [
    (r"\(ti", "~"), (r"\(aq", "'"), (r"\(dq", '"'), (r"\(bu", "*"), (r"\(em", "--"),
    (r"\-", "-"), (r"\&", ""), (r"\e", "\\"), (r"\ ", " "), (r"\|", ""), (r"\%", ""),
]


def roff_text(s):
    """Inline roff to plain text: font changes dropped, named glyphs replaced."""
    s = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", s)
    for a, b in _ESCAPES:
        s = s.replace(a, b)
    return s


def _macro_args(rest):
    # roff argument splitting: blanks separate, "..." groups, "" inside quotes is a quote.
    args, i = [], 0
    while i < len(rest):
        if rest[i] in " \t":
            i += 1
            continue
        if rest[i] == '"':
            j, buf = i + 1, ""
            while j < len(rest):
                if rest[j] == '"':
                    if rest[j + 1:j + 2] == '"':
                        buf += '"'
                        j += 2
                        continue
                    break
                buf += rest[j]
                j += 1
            args.append(buf)
            i = j + 1
        else:
            j = i
            while j < len(rest) and rest[j] not in " \t":
                j += 1
            args.append(rest[i:j])
            i = j
    return args


def roff_line(line):
    """One source line as text: font macros give their arguments (alternating ones joined
    without blanks), other requests and comments give nothing, text lines themselves."""
    if line.startswith(".\\\"") or line.startswith("'\\\""):
        return None
    if not line.startswith("."):
        return roff_text(line)
    m = re.match(r"\.([A-Za-z]+)\s*(.*)", line)
    if not m:
        return None
    macro, args = m.group(1), _macro_args(m.group(2))
    if macro in ("B", "I", "SM", "SB"):
        return roff_text(" ".join(args))
    if macro in ("BR", "RB", "IR", "RI", "BI", "IB"):
        return roff_text("".join(args))
    return None


def roff_sections(src):
    """{"NAME": [source lines], ...} for .SH (and "SH/SS" for .SS) sections."""
    sections, cur, sub = {}, None, None
    for line in src.splitlines():
        m = re.match(r'\.(SH|SS)\s+"?([^"]*)"?\s*$', line)
        if m:
            if m.group(1) == "SH":
                cur, sub = m.group(2), None
                sections[cur] = []
            else:
                sub = f"{cur}/{m.group(2)}"
                sections[sub] = []
            continue
        if cur is not None:
            sections[cur].append(line)
            if sub:
                sections[sub].append(line)
    return sections


def roff_paragraph_text(lines):
    words = [t for t in (roff_line(line) for line in lines) if t]
    return re.sub(r"\s+", " ", " ".join(words)).strip()


def roff_tags(lines):
    """The tag line of every .TP in lines, as text."""
    tags = []
    for i, line in enumerate(lines):
        if line.startswith(".TP") and i + 1 < len(lines):
            tags.append(roff_line(lines[i + 1]) or "")
    return tags


def roff_examples(src):
    """The text of every .EX ... .EE block."""
    return [
        "\n".join(roff_text(l) for l in block.splitlines())
        for block in re.findall(r"^\.EX\n(.*?)^\.EE$", src, re.M | re.S)
    ]


def option_tokens(text):
    """-x and --long-option words in text, with what may follow them (=, [, space...)."""
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][A-Za-z0-9-]*)", text))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def quote(words):
    return " ".join(shlex.quote(w) for w in words)


def clean_env(home, **extra):
    """An environment that reads no config of the caller's: HOME is a fresh directory."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAKURI_CONFIG", "XDG_CONFIG_HOME", "BASH_ENV", "ENV")}
    env["HOME"] = home
    env.update(extra)
    return env
