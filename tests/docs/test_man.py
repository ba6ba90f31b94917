#!/usr/bin/python3
"""docs-man: man/kakuri.1 and man/kakuri.5 format without a single warning.

`man --warnings -l -Tutf8 PAGE` and `groff -man -ww -z` must print nothing on stderr, the
page rendered at 80 columns must have no longer line, the NAME line must be what mandb
indexes (lexgrog), and the sections the pages promise must be there.

usage: test_man.py SOURCE_ROOT
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docslib import Tap, clean_env, read, roff_sections, sh, skip_all  # noqa: E402

PAGES = {
    "man/kakuri.1": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS", "EXIT STATUS",
                     "WHAT A CONTAINER SEES", "AUTOMATIC PATH MOUNTING", "SECURITY", "EXAMPLES",
                     "FILES", "ENVIRONMENT", "SEE ALSO"],
    "man/kakuri.5": ["NAME", "SYNOPSIS", "DESCRIPTION", "SYNTAX", "SECTIONS AND KEYS",
                     "EXAMPLES", "ERRORS", "KAKURI CONFIG", "SEE ALSO"],
}


def main():
    root = sys.argv[1]
    if not shutil.which("man"):
        skip_all("man is not installed (apt-get install man-db groff-base)")
    t = Tap()
    env = clean_env(os.environ.get("HOME", "/"), LC_ALL="C.UTF-8", MANWIDTH="80",
                    MANPAGER="cat", PAGER="cat")
    env.pop("MAN_KEEP_FORMATTING", None)
    for rel, sections in PAGES.items():
        page = os.path.join(root, rel)
        r = sh(["man", "--warnings", "-l", "-Tutf8", page], env=env)
        t.ok(r.returncode == 0 and not r.stderr.strip(), f"{rel}: man --warnings is silent",
             f"exit {r.returncode}\n{r.stderr}")
        if shutil.which("groff"):
            r = sh(["groff", "-man", "-ww", "-z", "-Tutf8", page], env=env)
            t.ok(r.returncode == 0 and not r.stderr.strip(), f"{rel}: groff -ww is silent",
                 f"exit {r.returncode}\n{r.stderr}")
        else:
            t.skip(f"{rel}: groff -ww is silent", "groff is not installed")

        r = sh(["man", "-l", page], env=env)
        text = re.sub(r".\x08", "", re.sub(r"\x1b\[[0-9;]*m", "", r.stdout))
        long_lines = [l for l in text.splitlines() if len(l.expandtabs()) > 80]
        t.ok(r.returncode == 0 and text.strip() and not long_lines,
             f"{rel}: no line wider than 80 columns", "\n".join(long_lines) or r.stderr)

        if shutil.which("lexgrog"):
            r = sh(["lexgrog", page], env=env)
            t.ok(r.returncode == 0 and " - " in r.stdout, f"{rel}: lexgrog reads its NAME line",
                 r.stdout + r.stderr)
        else:
            t.skip(f"{rel}: lexgrog reads its NAME line", "lexgrog is not installed")

        have = roff_sections(read(page))
        missing = [s for s in sections if s not in have]
        t.ok(not missing, f"{rel}: has the sections " + ", ".join(sections),
             "missing: " + ", ".join(missing))
    t.done()


if __name__ == "__main__":
    main()
