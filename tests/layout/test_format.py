#!/usr/bin/python3
"""layout-format: the C++ sources follow the checked-in .clang-format (STYLE: format before
committing), so a reader sees one layout and a diff shows only what changed.

Each of src/, tests/ and fuzz/'s C++ files is given to clang-format (--dry-run --Werror); a
failure names the file and clang-format's first complaint. Run `clang-format -i FILE` to fix.

usage: test_format.py SOURCE_ROOT CLANG_FORMAT
"""

import concurrent.futures
import glob
import os
import subprocess
import sys


def main():
    root, clang_format = sys.argv[1], sys.argv[2]
    files = sorted(
        f for pattern in ("src/*.cpp", "src/*.hpp", "tests/*.cpp", "tests/unit/*.cpp",
                          "tests/unit/*.hpp", "fuzz/*.cpp", "bench/*.c", "src/*.c")
        for f in glob.glob(os.path.join(root, pattern)))
    print(f"1..{len(files)}")
    failed = 0

    def check(f):
        return subprocess.run([clang_format, "--dry-run", "--Werror", f], capture_output=True,
                              text=True, cwd=root)

    # One clang-format per file, as many at once as there are CPUs: a file at a time took
    # most of the suite's timeout on a busy 2-CPU machine.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = list(pool.map(check, files))
    for i, (f, p) in enumerate(zip(files, results), 1):
        rel = os.path.relpath(f, root)
        if p.returncode == 0:
            print(f"ok {i} - {rel}")
            continue
        failed += 1
        print(f"not ok {i} - {rel}")
        for line in (p.stderr.strip().splitlines() or ["clang-format failed"])[:3]:
            print(f"# {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
