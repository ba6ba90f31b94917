#!/usr/bin/python3
"""layout-includes: src/ keeps to its layers (README, "Layout").

Every `#include "..."` of src/*.hpp and src/*.cpp is checked against the table below: a file
includes only its own header, files of its own layer and files of the layers its layer may
include. A vocabulary header includes nothing of ours but sys.hpp. Files are taken by unit
(NAME.hpp and NAME.cpp are one), and no two units may depend on each other, however far round.
Every file of src/ must be in a layer: a new file is placed here when it is added. A failure
names the file, the line, the include and the rule it breaks.

usage: test_includes.py SOURCE_ROOT
"""

import os
import re
import sys

# Bottom up. Each layer: its units, then the layers its files may include (besides its own).
# The flow is cli/config -> spec -> plan -> apply: a later stage sees an earlier one only through
# the data it is handed (ContainerSpec, Plan), never its headers; nothing looks the other way.
LAYERS = [
    # File descriptors, errno-carrying errors, one-line messages, the syscalls glibc lacks.
    ("base", ["sys"], []),
    # Pure words every layer shares: path strings, the Options type, id maps and /etc/subuid,
    # capability names, the credential rule, what this build has, resource limits as text,
    # images as data. Headers: sys.hpp at most.
    ("vocabulary", ["paths", "options", "idmap", "capnames", "envrules", "features", "limits",
                    "imageformat", "execsearch"],
     ["base"]),
    # The container as data: ContainerSpec and its parts, what spec decides, durable records and
    # plan reads.
    ("container", ["container"], ["base", "vocabulary"]),
    # What kakuri does on the host for its caller: files it trusts, the terminal, the log, the
    # processes it makes and watches, the sealed copy of itself.
    ("host", ["trust", "tty", "logfile", "supervise", "sealed", "cgroup"], ["base", "vocabulary"]),
    # argv and the config files -> Options, Config.
    ("input", ["cli", "config"], ["base", "vocabulary", "host"]),
    # Options + Config + the host -> ContainerSpec.
    ("spec", ["automount", "spec"], ["base", "vocabulary", "container", "input"]),
    # A persistent container on disk: its record (the recorded part of a ContainerSpec), state
    # and locks; an image's files written beneath its directory (unpack) and read out of it
    # (imageexport).
    ("record", ["durable", "store", "unpack", "imageexport", "changes"],
     ["base", "vocabulary", "container", "host"]),
    # ContainerSpec -> Plan, without a syscall.
    ("plan", ["plan"], ["base", "vocabulary", "container"]),
    # Walking a Plan: namespaces, id maps, mounts, network, capabilities, the filter, the
    # container's processes, what a temporary container's program left where it vanishes.
    ("apply", ["userns", "mounts", "net", "pasta", "caps", "seccomp", "seccomp_gen", "launch", "leftovers"],
     ["base", "vocabulary", "container", "plan", "host"]),
    # The subcommands: argv -> action -> result; images on disk and their subcommands; a
    # container as an OCI runtime bundle.
    ("commands", ["commands", "images", "bundle"],
     ["base", "vocabulary", "container", "host", "input", "spec", "record", "plan", "apply"]),
    # Dispatch, and the one place an error is printed.
    ("main", ["main"],
     ["base", "vocabulary", "container", "host", "input", "spec", "record", "plan", "apply",
      "commands"]),
]

# Includes the table does not allow, each with why it stands for now. One that is no longer
# made fails too, so that the table keeps no hole open.
EXCEPTIONS = {
    # ("file.cpp", "included.hpp"): "why, and until when",
}

# Headers made at build time, and the unit that includes them.
GENERATED = {"seccomp_bpf.h": "seccomp", "trampoline_bin.h": "sealed"}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, good, name, problems=()):
        self.n += 1
        if not good:
            self.failed += 1
        print(f"{'ok' if good else 'not ok'} {self.n} - {name}")
        for p in problems:
            print(f"# {p}")

    def done(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0


def unit_of(filename):
    return os.path.splitext(filename)[0]


def read_includes(src):
    """{file: [(line number, included name)]} for src/*.hpp and src/*.cpp."""
    out = {}
    for name in sorted(os.listdir(src)):
        if not name.endswith((".hpp", ".cpp")):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            out[name] = [(i, m.group(1)) for i, line in enumerate(f, 1)
                         if (m := INCLUDE.match(line))]
    return out


def find_cycle(edges):
    """A list of units that depend on each other round a circle, or None."""
    state = {}
    stack = []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == "open":
                return stack[stack.index(v):] + [v]
            if v not in state and (c := visit(v)):
                return c
        stack.pop()
        state[u] = "done"
        return None

    for u in sorted(edges):
        if u not in state and (c := visit(u)):
            return c
    return None


def main():
    src = os.path.join(sys.argv[1], "src")
    layer_of = {}
    allowed = {}
    for name, units, may in LAYERS:
        for u in units:
            layer_of[u] = name
        allowed[name] = set(may) | {name}
    includes = read_includes(src)
    t = Tap()

    # The table itself is a ladder: a layer includes only layers below it.
    order = [name for name, _, _ in LAYERS]
    upward = [f"layer {name} may include {m}, which is not below it"
              for name, _, may in LAYERS for m in may if order.index(m) >= order.index(name)]
    t.ok(not upward, "the layers are a ladder: each may include only layers below it", upward)

    unplaced = [f"src/{f}: unit '{unit_of(f)}' is in no layer of tests/layout/test_includes.py"
                for f in includes if unit_of(f) not in layer_of]
    t.ok(not unplaced, "every file of src/ is in a layer", unplaced)

    against = []
    vocabulary = []
    unknown = []
    used = set()
    edges = {}
    for f, incs in includes.items():
        u = unit_of(f)
        if u not in layer_of:
            continue
        for line, inc in incs:
            where = f"src/{f}:{line}: includes {inc}"
            if inc in GENERATED:
                if GENERATED[inc] != u:
                    unknown.append(f"{where}, made at build time for {GENERATED[inc]}")
                continue
            if not os.path.exists(os.path.join(src, inc)):
                unknown.append(f"{where}, which is not in src/")
                continue
            v = unit_of(inc)
            if v == u:
                continue
            edges.setdefault(u, set()).add(v)
            if v not in layer_of:
                continue  # said above: the included file is in no layer
            if f.endswith(".hpp") and layer_of[u] == "vocabulary" and v != "sys":
                vocabulary.append(f"{where}: a vocabulary header includes nothing of ours "
                                  "but sys.hpp")
            if layer_of[v] not in allowed[layer_of[u]]:
                if (f, inc) in EXCEPTIONS:
                    used.add((f, inc))
                    continue
                against.append(f"{where} (layer {layer_of[v]}), which layer {layer_of[u]} "
                               "may not include")
    t.ok(not unknown, "every include names a file of src/ (or one made for its unit)", unknown)
    t.ok(not against, "no include runs against the layers", against)
    t.ok(not vocabulary, "vocabulary headers include nothing of ours but sys.hpp", vocabulary)
    stale = [f"src/{f} no longer includes {inc} ({why}): remove it from EXCEPTIONS"
             for (f, inc), why in EXCEPTIONS.items() if (f, inc) not in used]
    t.ok(not stale, "every exception is still needed", stale)
    cycle = find_cycle(edges)
    t.ok(not cycle, "no two units depend on each other",
         [" -> ".join(cycle)] if cycle else [])
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
