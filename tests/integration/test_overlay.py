"""Copy-on-write views of host directories (README, "Copy-on-write views"): --overlay keeps a
program's writes as a change set, never in SRC; `kakuri changes` shows them, `kakuri apply`
writes chosen ones to SRC (conflicts refused, links never followed, no device nodes, fifos,
sockets or setuid bits), `kakuri discard` drops them."""
import json
import os
import re
import stat
import subprocess
import sys

from harness import descendants, eq, ok, pidfds, wait_exited


def read(path):
    with open(path) as f:
        return f.read()


def project(k, name="proj"):
    d = os.path.join(k.home, name)
    k.write(os.path.join(d, "keep.txt"), "untouched\n")
    k.write(os.path.join(d, "edit.txt"), "line 1\nline 2\n")
    k.write(os.path.join(d, "gone.txt"), "to be deleted\n")
    k.write(os.path.join(d, "old-name.txt"), "renamed inside\n")
    k.write(os.path.join(d, "run.sh"), "#!/bin/sh\necho run\n", 0o644)
    k.write(os.path.join(d, "sub", "deep.txt"), "deep\n")
    return d


def tree(d):
    """Every path below d with its type, mode and content (a link: its target)."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, d)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", oct(st.st_mode & 0o7777))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", oct(st.st_mode & 0o7777), read(p))
            else:
                out[rel] = ("other", oct(st.st_mode))
    return out


def note_id(stderr, src, count):
    m = re.search(r"kakuri: note: (\d+) changes? under (.*) kept as change set (\d+): "
                  r"kakuri changes (\d+), kakuri apply (\d+), kakuri discard (\d+)\n", stderr)
    ok(m, f"no change set note in {stderr!r}")
    eq(m.group(2), src, stderr)
    if count is not None:
        eq(int(m.group(1)), count, stderr)
    ok(m.group(3) == m.group(4) == m.group(5) == m.group(6), stderr)
    return m.group(3)


def changes(k, cid):
    p = k.run(["changes", "--json", cid])
    eq(p.returncode, 0, p.stderr)
    return sorted((c["kind"], c.get("from", ""), c["path"]) for c in json.loads(p.stdout))


def ran(k, args, env=None):
    p = k.run(args, env=env)
    eq(p.returncode, 0, f"kakuri {' '.join(args)}: {p.stderr}")
    return p


def changes_dir(k):
    return os.path.join(k.home, ".local", "kakuri", "changes")


def sets_of(k, src, env=None):
    """The ids of the change sets for src, from `kakuri changes --json` and from the disk."""
    p = k.run(["changes", "--json"], env=env)
    eq(p.returncode, 0, p.stderr)
    listed = sorted(c["id"] for c in json.loads(p.stdout) if c["src"] == src)
    on_disk = []
    for n in os.listdir(changes_dir(k)):
        meta = os.path.join(changes_dir(k), n, "meta")
        if os.path.exists(meta) and f"\nsrc {src}\n" in read(meta):
            on_disk.append(n)
    eq(sorted(on_disk), listed, "changes --json against changes_dir")
    return listed


EDIT = ("cd {d} && echo new > added.txt && echo 'line 3' >> edit.txt && rm gone.txt && "
        "mv old-name.txt new-name.txt && chmod 755 run.sh && mkdir -p made/inner && "
        "echo m > made/inner/f")


def test_review_then_apply_a_subset_then_the_rest(k):
    d = project(k, "review")
    before = tree(d)
    p = k.run(["--overlay", d, "sh", "-c", EDIT.format(d=d) + " && cat edit.txt"])
    eq((p.returncode, p.stdout), (0, "line 1\nline 2\nline 3\n"), p.stderr)
    eq(tree(d), before, "the host changed before apply")
    cid = note_id(p.stderr, d, 8)
    eq(changes(k, cid), sorted([("added", "", "added.txt"), ("modified", "", "edit.txt"),
                                ("deleted", "", "gone.txt"),
                                ("renamed", "old-name.txt", "new-name.txt"),
                                ("mode", "", "run.sh"), ("added", "", "made"),
                                ("added", "", "made/inner"), ("added", "", "made/inner/f")]))
    lst = k.run(["changes"])
    eq(lst.returncode, 0, lst.stderr)
    ok(re.search(rf"^{cid}\s+8\s+.*ago\s+-\s+{re.escape(d)}$", lst.stdout, re.M), lst.stdout)
    diff = k.run(["changes", "--diff", cid])
    eq(diff.returncode, 0, diff.stderr)
    ok("--- a/edit.txt\n+++ b/edit.txt\n@@ -1,2 +1,3 @@\n line 1\n line 2\n+line 3\n"
       in diff.stdout, diff.stdout)
    ok("--- a/gone.txt\n+++ /dev/null\n" in diff.stdout, diff.stdout)

    # A subset: one file and a directory (with what is below it), by relative and host path.
    p = k.run(["apply", cid, "edit.txt", os.path.join(d, "made")])
    eq(p.returncode, 0, p.stderr)
    eq(read(os.path.join(d, "edit.txt")), "line 1\nline 2\nline 3\n")
    eq(read(os.path.join(d, "made/inner/f")), "m\n")
    ok(os.path.exists(os.path.join(d, "gone.txt")), "a change not chosen was applied")
    eq(changes(k, cid), sorted([("added", "", "added.txt"), ("deleted", "", "gone.txt"),
                                ("renamed", "old-name.txt", "new-name.txt"),
                                ("mode", "", "run.sh")]))
    # The rest.
    p = k.run(["apply", cid])
    eq(p.returncode, 0, p.stderr)
    after = tree(d)
    ok("gone.txt" not in after and "old-name.txt" not in after, after)
    eq(after["new-name.txt"][2], "renamed inside\n")
    eq(after["run.sh"][1], "0o755")
    eq(after["added.txt"][2], "new\n")
    eq(after["keep.txt"][2], "untouched\n")
    # Applied whole: a temporary container's change set goes.
    eq(k.run(["changes", cid]).returncode, 125)
    eq(sets_of(k, d), [])


def test_no_changes_no_change_set(k):
    d = project(k, "unchanged")
    p = k.run(["--overlay", d, "sh", "-c", f"cat {d}/keep.txt >/dev/null; touch {d}/keep.txt"])
    eq((p.returncode, p.stderr), (0, ""))
    eq(sets_of(k, d), [])


def test_the_change_set_is_counted_once_nothing_inside_writes(k):
    # kakuri counts (and keeps, or drops) the change set only once every process inside is
    # gone: a writer the command left running must not add to it after the note.
    d = project(k, "late")
    p = k.popen(["--overlay", d, "--", "/bin/sh", "-c",
                 f"(while :; do echo x >> {d}/late.txt; done) & echo ready; read x; exit 0"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    eq(p.stdout.readline(), "ready\n")
    inside = descendants(p.pid)
    ok(len(inside) >= 3, f"init, the shell and the writer expected, found {inside}")
    fds = pidfds(inside)
    _, err = p.communicate("go\n", timeout=60)
    eq(p.returncode, 0, err)
    # Already gone when kakuri returned, not a moment later.
    wait_exited(fds, "still running when kakuri returned", timeout=0)
    ok(note_id(err, d, 1), err)


def test_a_host_edit_since_is_a_conflict_force_overwrites(k):
    d = project(k, "conflict")
    p = k.run(["--overlay", d, "sh", "-c", f"echo inside > {d}/edit.txt; echo n > {d}/n.txt"])
    eq(p.returncode, 0, p.stderr)
    cid = note_id(p.stderr, d, 2)
    k.write(os.path.join(d, "edit.txt"), "host edit\n")
    p = k.run(["apply", cid])
    eq(p.returncode, 125, p.stderr)
    ok(f"conflict: {d}/edit.txt changed on the host" in p.stderr, p.stderr)
    eq(read(os.path.join(d, "edit.txt")), "host edit\n")
    ok(not os.path.exists(os.path.join(d, "n.txt")), "a conflict let other changes through")
    p = k.run(["apply", "--force", cid])
    eq(p.returncode, 0, p.stderr)
    eq(read(os.path.join(d, "edit.txt")), "inside\n")
    eq(read(os.path.join(d, "n.txt")), "n\n")
    eq(sets_of(k, d), [])


def test_discard_leaves_nothing(k):
    d = project(k, "discard")
    before = tree(d)
    p = k.run(["--overlay", d, "sh", "-c", EDIT.format(d=d)])
    cid = note_id(p.stderr, d, 8)
    eq(k.run(["discard", cid]).returncode, 0)
    eq(sets_of(k, d), [])
    ok(cid not in os.listdir(changes_dir(k)), "discard left the directory")
    eq(tree(d), before)
    p = k.run(["discard", cid])
    eq(p.returncode, 125)
    ok(p.stderr.startswith(f"kakuri: no change set {cid}"), p.stderr)


def test_what_a_program_plants_is_not_applied_as_such(k):
    d = project(k, "planted")
    outside = k.mkdir("outside")
    k.write(os.path.join(outside, "secret"), "host secret\n")
    script = (f"cd {d} && ln -s {outside}/secret abs-link && ln -s ../../outside rel-link && "
              "ln -s keep.txt fine-link && mkfifo fifo && cp /bin/true suid && chmod 6755 suid && "
              "echo shared > h1 && ln h1 h2 && rm -r sub && ln -s " + outside + " sub")
    p = k.run(["--overlay", d, "sh", "-c", script])
    eq(p.returncode, 0, p.stderr)
    cid = note_id(p.stderr, d, 8)
    listed = {c["path"]: c for c in json.loads(k.run(["changes", "--json", cid]).stdout)}
    for refused in ("abs-link", "rel-link", "fifo", "sub"):
        eq(listed[refused]["kind"], "refused", refused)
    p = k.run(["apply", cid])
    eq(p.returncode, 0, p.stderr)
    for refused in ("abs-link", "rel-link", "fifo"):
        ok(f"not applied: {refused}:" in p.stderr, p.stderr)
        ok(not os.path.lexists(os.path.join(d, refused)), refused)
    ok(os.path.isdir(os.path.join(d, "sub")) and not os.path.islink(os.path.join(d, "sub")),
       "a link planted for a directory was applied")
    eq(os.readlink(os.path.join(d, "fine-link")), "keep.txt")
    st = os.lstat(os.path.join(d, "suid"))
    eq(stat.S_IMODE(st.st_mode), 0o755, "setuid/setgid applied")
    a, b = os.stat(os.path.join(d, "h1")), os.stat(os.path.join(d, "h2"))
    ok(a.st_ino != b.st_ino and read(os.path.join(d, "h2")) == "shared\n", "hard link")
    eq(read(os.path.join(outside, "secret")), "host secret\n")
    eq(sorted(os.listdir(outside)), ["secret"])
    # What stays (refused) is dropped by discard.
    eq(k.run(["discard", cid]).returncode, 0)
    eq(sets_of(k, d), [])


def test_a_link_put_in_src_after_is_never_followed(k):
    d = project(k, "racy")
    outside = k.mkdir("outside2")
    p = k.run(["--overlay", d, "sh", "-c", f"echo x > {d}/sub/new.txt"])
    cid = note_id(p.stderr, d, 1)
    # The host's sub is replaced by a link out (by a program, a race): a conflict, and forced,
    # the link is replaced, never followed.
    os.rename(os.path.join(d, "sub"), os.path.join(d, "sub.moved"))
    os.symlink(outside, os.path.join(d, "sub"))
    p = k.run(["apply", cid])
    eq(p.returncode, 125, p.stderr)
    ok(f"conflict: {d}/sub changed on the host" in p.stderr, p.stderr)
    p = k.run(["apply", "--force", cid])
    eq(p.returncode, 0, p.stderr)
    eq(os.listdir(outside), [])
    ok(not os.path.islink(os.path.join(d, "sub")), "the link stayed")
    eq(read(os.path.join(d, "sub", "new.txt")), "x\n")


def test_a_home_overlay_never_applies_kakuris_own_state(k):
    k.write(os.path.join(k.home, "dot"), "x\n")
    forged = ".local/kakuri/containers/evil"
    p = k.run(["--overlay", "~", "sh", "-c",
               f"cat ~/dot && mkdir -p ~/{forged} && echo forged > ~/{forged}/record && "
               "echo y > ~/note"], cwd=k.home)
    eq((p.returncode, p.stdout), (0, "x\n"), p.stderr)
    cid = note_id(p.stderr, k.home, None)
    p = k.run(["apply", cid])
    eq(p.returncode, 0, p.stderr)
    ok("kakuri's own state" in p.stderr, p.stderr)
    ok(not os.path.exists(os.path.join(k.home, forged)), "a forged record was applied")
    eq(read(os.path.join(k.home, "note")), "y\n")
    eq(k.run(["discard", cid]).returncode, 0)


def test_a_persistent_containers_change_set(k):
    d = project(k, "persistent")
    cfg = k.write(os.path.join(k.tmp, "ov.toml"),
                  f'[storage]\ncontainers_dir = "{k.mkdir("ovstore")}/containers"\n')
    env = {"KAKURI_CONFIG": cfg}
    ran(k, ["create", "--overlay", f"{d}:/p", "ovbox"], env)
    try:
        p = k.run(["start", "ovbox", "sh", "-c", "echo kept > /p/k.txt"], env=env)
        eq((p.returncode, p.stderr), (0, ""))  # kept by the container: no note
        p = k.run(["start", "ovbox", "cat", "/p/k.txt"], env=env)
        eq(p.stdout, "kept\n", p.stderr)
        ok(not os.path.exists(os.path.join(d, "k.txt")), "a write reached SRC")
        lst = k.run(["changes"], env=env)
        m = re.search(r"^(\d+)\s+1\s+.*\s+ovbox\s+" + re.escape(d) + "$", lst.stdout, re.M)
        ok(m, lst.stdout)
        cid = m.group(1)
        ok(f"overlay: {d} /p {cid}" in k.run(["inspect", "ovbox"], env=env).stdout, "inspect")
        ran(k, ["start", "-d", "ovbox"], env)
        p = k.run(["apply", cid], env=env)
        eq(p.returncode, 125)
        ok("running" in p.stderr, p.stderr)
        ran(k, ["stop", "ovbox"], env)
        ran(k, ["apply", cid], env)
        eq(read(os.path.join(d, "k.txt")), "kept\n")
        k.run(["start", "ovbox", "sh", "-c", "echo again > /p/a2"], env=env)
    finally:
        p = k.run(["remove", "-f", "ovbox"], env=env)
    # Removed with changes in it: the change set stays, and is said.
    ok("kept as change set" in p.stderr, p.stderr)
    ran(k, ["discard", cid], env)
    eq(sets_of(k, d), [])


def test_ten_thousand_files_apply_in_bounded_fds_and_memory(k):
    d = k.mkdir("big")
    p = k.run(["--overlay", d, "sh", "-c",
               f"cd {d} && for i in $(seq 100); do mkdir d$i; "
               "for j in $(seq 100); do echo $i.$j > d$i/f$j; done; done"], timeout=300)
    eq(p.returncode, 0, p.stderr)
    cid = note_id(p.stderr, d, 10100)
    # kakuri apply under a limit of 16 fds, its peak RSS measured (by a wrapper that waits).
    wrapper = ("import resource, subprocess, sys\n"
               "resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))\n"
               "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "sys.stderr.write(r.stderr)\n"
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    r = subprocess.run([sys.executable, "-c", wrapper] + k.argv(["apply", cid]),
                       env=k.env(), cwd=k.work, capture_output=True, text=True, timeout=300)
    rc, rss_kib = map(int, r.stdout.split())
    eq(rc, 0, r.stderr)
    # A sanitizer build's shadow memory and quarantine are not kakuri's: the fd bound holds
    # there too, the memory bound only in a plain build.
    if not k.sanitized:
        ok(rss_kib < 32 * 1024, f"apply of 10,000 files took {rss_kib} KiB")
    eq(read(os.path.join(d, "d100/f100")), "100.100\n")
    eq(sum(len(fs) for _, _, fs in os.walk(d)), 10000)
    eq(sets_of(k, d), [])
