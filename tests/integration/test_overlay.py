"""Copy-on-write views of host directories (README, "Copy-on-write views"): --overlay keeps a
program's writes as a change set, never in SRC; `kakuri changes` shows them, `kakuri apply`
writes chosen ones to SRC (conflicts refused, links never followed, no device nodes, fifos,
sockets or setuid bits), `kakuri discard` drops them."""
import ctypes
import json
import os
import re
import stat
import subprocess
import sys
import threading

from harness import Skip, descendants, eq, ok, pidfds, wait_exited


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


# ---- review as an attacker inside would have it ------------------------------------------------

def upper_of(k, cid, rel=""):
    return os.path.join(changes_dir(k), cid, "upper", rel)


def test_what_would_drive_a_terminal_is_escaped_in_changes_and_diff(k):
    # A name and a content with ESC sequences (retitle, erase the line above to hide a
    # change from the reviewer), a CR, C1's CSI in UTF-8, a right-to-left override; a name
    # that diff(1) would read as an option.
    d = project(k, "terminal")
    k.write(os.path.join(d, "-rf"), "old\n")
    script = (f"cd {d} && printf 'safe\\n\\033[1A\\033[2Kevil\\r\\302\\233" "31m\\342\\200\\256x\\n'"
              " >> edit.txt && printf 'new\\n' > ./-rf && "
              "printf 'x' > \"$(printf 'n\\033]0;pwned\\007\\nl\\342\\200\\256')\"")
    p = k.run(["--overlay", d, "sh", "-c", script])
    eq(p.returncode, 0, p.stderr)
    cid = note_id(p.stderr, d, 3)
    name = "n\x1b]0;pwned\x07\nl\u202e"
    raw = (b"\x1b", b"\x07", b"\r", b"\xc2\x9b", "\u202e".encode())
    listing = k.run(["changes", cid], binary=True)
    eq(listing.returncode, 0, listing.stderr)
    for b in raw:
        ok(b not in listing.stdout, f"{b!r} in {listing.stdout!r}")
    ok(b"added     n\\x1b]0;pwned\\x07\\nl\\xe2\\x80\\xae\n" in listing.stdout, listing.stdout)
    js = k.run(["changes", "--json", cid], binary=True)
    for b in raw:
        ok(b not in js.stdout, f"{b!r} in {js.stdout!r}")
    eq(sorted(c["path"] for c in json.loads(js.stdout)), sorted(["-rf", "edit.txt", name]))
    diff = k.run(["changes", "--diff", cid], binary=True)
    eq(diff.returncode, 0, diff.stderr)
    for b in raw:
        ok(b not in diff.stdout, f"{b!r} in {diff.stdout!r}")
    ok(b"+\\x1b[1A\\x1b[2Kevil\\x0d\\xc2\\x9b31m\\xe2\\x80\\xaex\n" in diff.stdout, diff.stdout)
    ok(b"--- a/-rf\n+++ b/-rf\n@@ -1 +1 @@\n-old\n+new\n" in diff.stdout, diff.stdout)
    eq(k.run(["discard", cid]).returncode, 0)


def test_a_huge_file_costs_the_host_no_more_than_the_change_set_and_is_not_diffed(k):
    d = project(k, "huge")
    p = k.run(["--overlay", d, "sh", "-c",
               f"cd {d} && truncate -s 2G sparse && printf 'head\\n' | dd of=sparse conv=notrunc "
               "2>/dev/null && yes text | head -c 17000000 > big.txt"], timeout=120)
    eq(p.returncode, 0, p.stderr)
    cid = note_id(p.stderr, d, 2)
    diff = k.run(["changes", "--diff", cid])
    eq(diff.returncode, 0, diff.stderr)
    ok("Large file big.txt added: 17000000 bytes, not diffed" in diff.stdout, diff.stdout)
    ok("Large file sparse added: 2147483648 bytes" in diff.stdout, diff.stdout)
    ok(len(diff.stdout) < 1000, "a large file was diffed")
    p = k.run(["apply", cid], timeout=120)
    eq(p.returncode, 0, p.stderr)
    st = os.stat(os.path.join(d, "sparse"))
    eq(st.st_size, 2 << 30)
    ok(st.st_blocks * 512 < 1 << 20, f"the holes were written: {st.st_blocks * 512} bytes")
    with open(os.path.join(d, "sparse"), "rb") as f:
        eq(f.read(5), b"head\n")
    eq(os.path.getsize(os.path.join(d, "big.txt")), 17000000)


def test_a_directory_deleted_or_renamed_inside_with_a_host_edit_below_is_a_conflict(k):
    # Also: the note names the configuration the run used, and its commands work as typed.
    d = project(k, "dirs")
    k.write(os.path.join(d, "moved", "x.txt"), "x\n")
    store = k.mkdir("other-store")
    cfg = k.write(os.path.join(k.tmp, "dirs.toml"), f'[storage]\nchanges_dir = "{store}/c"\n')
    p = k.run(["--config", cfg, "--overlay", d, "sh", "-c", f"cd {d} && rm -r sub && mv moved m2"])
    eq(p.returncode, 0, p.stderr)
    m = re.search(r"kept as change set (\d+): (kakuri --config \S+ changes \d+), "
                  r"(kakuri --config \S+ apply \d+), (kakuri --config \S+ discard \d+)\n", p.stderr)
    ok(m, p.stderr)
    cid, typed_changes, typed_apply = m.group(1), m.group(2), m.group(3)
    ok(f"--config {cfg} " in typed_changes, typed_changes)
    # A directory renamed inside shows as what overlayfs keeps: deleted, then added anew.
    listing = k.run(typed_changes.split()[1:])
    eq(listing.returncode, 0, listing.stderr)
    eq(listing.stdout, "added     m2/\nadded     m2/x.txt\ndeleted   moved/\ndeleted   sub/\n")
    # Edited in place on the host: the file changed, the directory holding it did not.
    with open(os.path.join(d, "sub", "deep.txt"), "r+") as f:
        f.write("host")
    p = k.run(typed_apply.split()[1:])
    eq(p.returncode, 125, p.stderr)
    ok(f"conflict: {d}/sub changed on the host" in p.stderr, p.stderr)
    ok(os.path.exists(os.path.join(d, "sub", "deep.txt")), "deleted despite the conflict")
    p = k.run(typed_apply.split()[1:] + ["moved", "m2"])
    eq(p.returncode, 0, p.stderr)
    ok(not os.path.exists(os.path.join(d, "moved")), "the old name stayed")
    eq(read(os.path.join(d, "m2", "x.txt")), "x\n")
    p = k.run(["--config", cfg, "apply", "--force", cid])
    eq(p.returncode, 0, p.stderr)
    ok(not os.path.exists(os.path.join(d, "sub")), "--force did not delete")
    eq(os.listdir(os.path.join(store, "c")), [])


def test_xattrs_in_the_upper_layer_are_never_applied_nor_acted_on(k):
    # Overlayfs keeps its own xattrs in one namespace (trusted.* as real root, user.* in a user
    # namespace): one of the other, set by a program on its own directory, is no opaque
    # directory. A redirect or metacopy xattr is never followed to another file, and a file
    # capability never reaches the host.
    d = project(k, "xattrs")
    outside = k.mkdir("xattr-outside")
    k.write(os.path.join(outside, "secret"), "host secret\n")
    wrong = "trusted" if k.mode == "user" else "user"
    capv2 = "bytes([1,0,0,2, 0,4,0,0, 0,0,0,0, 0,0,0,0, 0,0,0,0])"  # cap_dac_read_search+ep
    script = (f"cd {d} && touch sub/new && echo inside > edit.txt && cp /bin/true capped && "
              f"python3 -c \"import os; os.setxattr('capped', 'security.capability', {capv2})\" "
              "&& echo capped")
    if wrong == "user":  # the attacker can do it from inside: overlayfs passes user.* through
        script += " && python3 -c \"import os; os.setxattr('sub', 'user.overlay.opaque', b'y')\""
    p = k.run(["--overlay", d, "sh", "-c", script])
    eq((p.returncode, p.stdout), (0, "capped\n"), p.stderr)
    cid = note_id(p.stderr, d, 3)
    if not k.am_root:
        raise Skip("the upper layer's xattrs are set and read as root")
    up = upper_of(k, cid)
    ok(os.getxattr(os.path.join(up, "capped"), "security.capability"), "no capability set")
    if wrong == "trusted":
        os.setxattr(os.path.join(up, "sub"), "trusted.overlay.opaque", b"y")
    eq(os.getxattr(os.path.join(up, "sub"), f"{wrong}.overlay.opaque"), b"y")
    for ns in ("trusted", "user"):
        os.setxattr(os.path.join(up, "edit.txt"), f"{ns}.overlay.metacopy", b"")
        os.setxattr(os.path.join(up, "edit.txt"), f"{ns}.overlay.redirect",
                    f"/../../{os.path.basename(outside)}/secret".encode())
    eq(changes(k, cid), sorted([("added", "", "sub/new"), ("modified", "", "edit.txt"),
                                ("added", "", "capped")]))
    p = k.run(["apply", cid])
    eq(p.returncode, 0, p.stderr)
    eq(read(os.path.join(d, "edit.txt")), "inside\n")
    eq(read(os.path.join(d, "sub", "deep.txt")), "deep\n")
    for what in ("security.capability", "trusted.overlay.redirect", "user.overlay.redirect"):
        for f in ("capped", "edit.txt"):
            ok(what not in os.listxattr(os.path.join(d, f)), f"{what} applied to {f}")
    eq(sets_of(k, d), [])


def test_modes_the_program_set_are_applied_unreadable_ones_read_hard_links_kept_apart(k):
    # A file and a directory chmod 000 inside (its owner cannot read either) are read and
    # applied; a mode change of a file with another name outside SRC never changes that one.
    d = project(k, "modes")
    outside = k.mkdir("modes-outside")
    victim = k.write(os.path.join(outside, "victim"), "#!/bin/sh\n", 0o600)
    os.link(victim, os.path.join(d, "linked.sh"))
    p = k.run(["--overlay", d, "sh", "-c",
               f"cd {d} && chmod 000 keep.txt && mkdir locked && echo s > locked/s && "
               "chmod 000 locked/s locked && chmod 755 linked.sh"])
    eq(p.returncode, 0, p.stderr)
    cid = note_id(p.stderr, d, 4)
    eq(changes(k, cid), sorted([("mode", "", "keep.txt"), ("added", "", "locked"),
                                ("added", "", "locked/s"), ("mode", "", "linked.sh")]))
    p = k.run(["apply", cid])
    eq(p.returncode, 0, p.stderr)
    eq(stat.S_IMODE(os.stat(victim).st_mode), 0o600, "chmod reached a file outside SRC")
    eq(stat.S_IMODE(os.stat(os.path.join(d, "linked.sh")).st_mode), 0o755)
    eq(stat.S_IMODE(os.stat(os.path.join(d, "keep.txt")).st_mode), 0)
    eq(stat.S_IMODE(os.stat(os.path.join(d, "locked")).st_mode), 0)
    if k.am_root:
        eq(read(os.path.join(d, "keep.txt")), "untouched\n")
        eq(read(os.path.join(d, "locked", "s")), "s\n")
    eq(sets_of(k, d), [])
    os.chmod(os.path.join(d, "locked"), 0o755)


def test_a_subids_change_set_is_reviewed_and_applied_by_its_caller(k):
    from test_rootfs import TEST_USER, etc_lines, newuidmap_usable
    if not k.drop:
        raise Skip("needs root to give the unprivileged test user a subordinate range")
    newuidmap_usable()
    d = project(k, "subids")
    with etc_lines({"/etc/passwd": [f"{TEST_USER}:x:{k.uid}:{k.gid}::/nonexistent:/bin/sh"],
                    "/etc/group": [f"{TEST_USER}:x:{k.gid}:"],
                    "/etc/subuid": [f"{TEST_USER}:4200000:65536"],
                    "/etc/subgid": [f"{TEST_USER}:4200000:65536"]}):
        p = k.run(["--subids", "--overlay", d, "sh", "-c",
                   f"cd {d} && mkdir theirs && echo t > theirs/f && echo e > edit.txt && "
                   "chown -R 1000:1000 theirs edit.txt && chmod 600 theirs/f edit.txt && "
                   "chmod 700 theirs"])
        eq(p.returncode, 0, p.stderr)
        cid = note_id(p.stderr, d, 3)
        eq(os.stat(upper_of(k, cid, "theirs")).st_uid, 4200000 + 999)
        eq(changes(k, cid), sorted([("added", "", "theirs"), ("added", "", "theirs/f"),
                                    ("modified", "", "edit.txt")]))
        diff = k.run(["changes", "--diff", cid])
        ok("+e\n" in diff.stdout and "+t\n" in diff.stdout, diff.stdout + diff.stderr)
        p = k.run(["apply", cid])
        eq(p.returncode, 0, p.stderr)
    # Applied as the caller's own files.
    for rel, text in (("theirs/f", "t\n"), ("edit.txt", "e\n")):
        st = os.stat(os.path.join(d, rel))
        eq((st.st_uid, read(os.path.join(d, rel))), (k.uid, text), rel)
    eq(sets_of(k, d), [])


def test_change_sets_are_trusted_as_containers_are(k):
    d = project(k, "trust")
    cdir = changes_dir(k)
    k.mkdirs(cdir, 0o700)

    def fake(name, mode=0o700):
        path = os.path.join(cdir if name.isdigit() else k.tmp, name)
        k.mkdir(path, mode)
        k.mkdir(os.path.join(path, "upper"))
        k.mkdir(os.path.join(path, "work"))
        k.write(os.path.join(path, "upper", "x"), "x\n")
        cid = name if name.isdigit() else "0"
        k.write(os.path.join(path, "meta"), f"version 1\nid {cid}\nsrc {d}\ndst {d}\n"
                "created 0\ncontainer %\n", 0o600)
        os.chmod(path, mode)
        return path

    elsewhere = fake("elsewhere")
    os.symlink(elsewhere, os.path.join(cdir, "900"))
    cases = {"900": "a symbolic link"}
    fake("902", 0o770)
    cases["902"] = "writable by its group"
    if k.am_root:
        os.chown(fake("901", 0o755), 4242, 4242)
        cases["901"] = "owned by uid 4242"
    for cid, why in cases.items():
        for args in (["changes", cid], ["changes", "--diff", cid], ["apply", cid],
                     ["discard", cid]):
            p = k.run(args)
            eq(p.returncode, 125, f"{args}: {p.stderr}")
            ok(why in p.stderr and p.stderr.count("\n") == 1, f"{args}: {p.stderr}")
    ok(os.path.isdir(elsewhere) and not os.path.exists(os.path.join(d, "x")), "acted on one")
    for bad in ("0", "1x", "../900", "-1", "1234567890"):
        p = k.run(["apply", "--", bad])
        eq(p.returncode, 125, p.stderr)
        ok("not a change set id" in p.stderr, p.stderr)
    for cid in cases:
        path = os.path.join(cdir, cid)
        if os.path.islink(path):
            os.unlink(path)
        else:
            subprocess.run(["rm", "-rf", path], check=True)


class OpenGate:
    """fanotify permission events (as root): an open of a marked file waits until on_open has
    run for it, so a race with kakuri is won on cue, not by chance."""
    FAN_CLASS_CONTENT, FAN_CLOEXEC, FAN_MARK_ADD = 0x04, 0x01, 0x01
    FAN_OPEN_PERM, FAN_ALLOW, FAN_DENY = 0x00010000, 0x01, 0x02

    def __init__(self):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64,
                                            ctypes.c_int, ctypes.c_char_p]
        self.fd = self.libc.fanotify_init(self.FAN_CLASS_CONTENT | self.FAN_CLOEXEC, os.O_RDONLY)
        ok(self.fd >= 0, f"fanotify_init: {os.strerror(ctypes.get_errno())}")
        self.actions = {}  # (dev, ino) -> (name, on_open() returning allow)
        self.seen = []
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def mark(self, path, name, on_open):
        st = os.stat(path, follow_symlinks=False)
        self.actions[(st.st_dev, st.st_ino)] = (name, on_open)
        rc = self.libc.fanotify_mark(self.fd, self.FAN_MARK_ADD, self.FAN_OPEN_PERM, -100,
                                     path.encode())
        ok(rc == 0, f"fanotify_mark {path}: {os.strerror(ctypes.get_errno())}")

    def serve(self):
        import select
        while True:
            r, _, _ = select.select([self.fd, self.stop_r], [], [])
            if self.stop_r in r:
                return
            buf = os.read(self.fd, 4096)
            at = 0
            while at + 24 <= len(buf):
                length = int.from_bytes(buf[at:at + 4], "little")
                fd = int.from_bytes(buf[at + 16:at + 20], "little", signed=True)
                allow = True
                try:
                    st = os.fstat(fd)
                    name, on_open = self.actions.get((st.st_dev, st.st_ino), ("?", None))
                    self.seen.append(name)
                    allow = on_open() if on_open else True
                finally:
                    resp = fd.to_bytes(4, "little", signed=True) + (
                        self.FAN_ALLOW if allow else self.FAN_DENY).to_bytes(4, "little")
                    os.write(self.fd, resp)
                    os.close(fd)
                at += length

    def close(self):
        os.write(self.stop_w, b"x")
        self.thread.join()
        for fd in (self.fd, self.stop_r, self.stop_w):
            os.close(fd)


def test_what_is_swapped_in_while_apply_runs_is_never_followed_nor_opened(k):
    # A writer kakuri cannot see (a process the container passed an fd of its overlay) changes
    # the upper layer and SRC while apply runs: the moment apply opens a.txt, SRC's sub becomes
    # a link out and the upper layer's z.txt a fifo, whose writer waits for a reader's open
    # (a device node's open would be its driver's; fanotify does not see those).
    if not k.am_root:
        raise Skip("fanotify permission events need root")
    d = project(k, "swapped")
    outside = k.mkdir("swapped-outside")
    p = k.run(["--overlay", d, "sh", "-c",
               f"cd {d} && echo a > a.txt && echo n > sub/new.txt && echo z > z.txt"])
    eq(p.returncode, 0, p.stderr)
    cid = note_id(p.stderr, d, 3)
    z = upper_of(k, cid, "z.txt")
    gate = OpenGate()
    opened = {"by_us": False, "before_us": None}

    def writer():
        os.close(os.open(z, os.O_WRONLY))  # returns once a reader has opened it
        opened["before_us"] = not opened["by_us"]

    waiting = threading.Thread(target=writer, daemon=True)

    def swap():
        os.rename(os.path.join(d, "sub"), os.path.join(d, "sub.moved"))
        os.symlink(outside, os.path.join(d, "sub"))
        os.unlink(z)
        os.mkfifo(z, 0o644)
        waiting.start()
        return True

    try:
        gate.mark(upper_of(k, cid, "a.txt"), "a.txt", swap)
        p = k.run(["apply", cid])
    finally:
        gate.close()
        if waiting.is_alive() or not waiting.ident:
            opened["by_us"] = True
            if waiting.ident:
                os.close(os.open(z, os.O_RDONLY | os.O_NONBLOCK))
                waiting.join()
    eq(p.returncode, 125, p.stderr)
    ok("a.txt" in gate.seen, f"the race was not run: {gate.seen}")
    eq(opened["before_us"], False, "apply opened the fifo swapped in")
    ok("failed: sub/new.txt: sub: a symbolic link on the host (not followed)" in p.stderr,
       p.stderr)
    ok("failed: z.txt: z.txt: not a regular file in the change set any more" in p.stderr,
       p.stderr)
    eq(os.listdir(outside), [])
    eq(read(os.path.join(d, "a.txt")), "a\n")
    ok(not os.path.exists(os.path.join(d, "z.txt")), "z.txt applied")
    eq(k.run(["discard", cid]).returncode, 0)
