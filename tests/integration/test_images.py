"""Images (README, "Images"): kakuri image import of every kind of source, built here (busybox
root filesystems as tarballs, OCI layouts and archives, podman's own archives), hostile
archives, list/inspect/remove, and containers on images (--image, create --image)."""
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import tarfile

from harness import Skip, eq, ok
from test_rootfs import MARKER, OS_RELEASE, chown_tree, etc_lines_held, make_tree, TEST_USER

IMAGE_ENV = ["FOO=from-the-image", "PATH=/bin"]

# An unprivileged import maps the caller's subordinate range when it has one: while these tests
# run, no other run (of this file, or test_rootfs's, in any tree) may give the test user one.
# The lock test_rootfs.etc_lines takes, held from the first test of this run to its end.
ETC_LOCK = []


def no_range(k):
    if k.drop and not ETC_LOCK:
        import fcntl
        f = open("/tmp/kakuri-it-etc.lock", "w")
        fcntl.flock(f, fcntl.LOCK_EX)
        ETC_LOCK.append(f)


def images_dir(k):
    return os.path.join(k.home, ".local", "kakuri", "images")


def entries(k):
    """What images_dir holds: names, hidden half-made ones included."""
    d = images_dir(k)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def own(k, path):
    if k.drop:
        os.chown(path, k.uid, k.gid)
    return path


def tar_of(root, extra=()):
    """An uncompressed tar of a tree (names "./..."), plus extra TarInfo entries (info, data)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        if root:
            t.add(root, arcname=".")
        for info, data in extra:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def entry(name, kind=tarfile.REGTYPE, data=b"", target="", uid=0, gid=0, mode=0o644):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.uid, info.gid, info.mode = uid, gid, mode
    if kind == tarfile.REGTYPE:
        info.size = len(data)
    else:
        data = None
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = target
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, data


def write(k, name, data):
    path = os.path.join(k.tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return own(k, path)


def import_(k, source, name, opts=(), want=0):
    p = k.run(["image", "import"] + list(opts) + [source, name], timeout=120)
    eq(p.returncode, want, f"image import {source}: {p.stderr}")
    return p


def blob(layout, data, media):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}


def oci_layout(k, name, layers, config, bad_digest=False, pad=0):
    """An OCI image layout directory: each layer (bytes of a tar) gzipped, a config (followed
    by pad spaces), the manifest, index.json. bad_digest: the first layer's blob holds other
    bytes."""
    layout = os.path.join(k.tmp, name)
    os.makedirs(layout)
    descs = [blob(layout, gzip.compress(l), "application/vnd.oci.image.layer.v1.tar+gzip")
             for l in layers]
    if bad_digest:
        # The blob's bytes changed under its name: a layer of another content.
        with open(os.path.join(layout, "blobs", "sha256", descs[0]["digest"][7:]), "wb") as f:
            f.write(gzip.compress(layers[0] + b"\0" * 1024))
    cfg = {"architecture": "amd64", "os": "linux", "config": config,
           "rootfs": {"type": "layers",
                      "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]}}
    cdesc = blob(layout, json.dumps(cfg).encode() + b" " * pad,
                 "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cdesc, "layers": descs}
    mdesc = blob(layout, json.dumps(manifest).encode(),
                 "application/vnd.oci.image.manifest.v1+json")
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [mdesc]}, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    chown_tree(k, layout)
    return layout


def archive_of(k, layout):
    """An OCI archive (podman save --format oci-archive): the layout's files in a tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for n in sorted(os.listdir(layout)):
            t.add(os.path.join(layout, n), arcname=n)
    return write(k, os.path.basename(layout) + ".tar", buf.getvalue())


def outside(k):
    """A directory beside images_dir that hostile archives aim at."""
    d = k.mkdir("outside")
    k.write(os.path.join(d, "secret"), "keep\n")
    return d


def outside_untouched(k, d):
    eq(sorted(os.listdir(d)), ["secret"], "the directory outside")
    with open(os.path.join(d, "secret")) as f:
        eq(f.read(), "keep\n", "the file outside")


def refused(k, source, what, out):
    p = k.run(["image", "import", source, "hostile"], timeout=120)
    eq(p.returncode, 125, f"{what}: exit status (stderr {p.stderr!r})")
    eq(p.stderr.count("\n"), 1, f"{what}: one line: {p.stderr!r}")
    ok(p.stderr.startswith("kakuri: "), f"{what}: {p.stderr!r}")
    eq(entries(k), [], f"{what}: images_dir after a refused import")
    outside_untouched(k, out)
    return p.stderr


def test_import_rootfs_tarballs_each_compression(k):
    no_range(k)
    root = make_tree(k, "tree-c")
    with open(os.path.join(root, "etc", "greeting"), "w") as f:
        f.write("hello from the image\n")
    chown_tree(k, root)
    plain = tar_of(root)
    zst = subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True, check=True).stdout
    sources = {"plain": write(k, "t-plain.tar", plain),
               "gz": write(k, "t-gz.tar.gz", gzip.compress(plain)),
               "xz": write(k, "t-xz.tar.xz", lzma.compress(plain)),
               "zst": write(k, "t-zst.tar.zst", zst)}
    for name, source in sources.items():
        import_(k, source, name)
        p = k.run(["--image", name, "cat", "/etc/os-release", "/etc/greeting"])
        eq(p.returncode, 0, f"{name}: {p.stderr}")
        ok(MARKER in p.stdout and "hello from the image" in p.stdout, f"{name}: {p.stdout!r}")
    # A name from the source when none is given.
    p = k.run(["image", "import", sources["gz"]])
    eq((p.returncode, p.stdout), (0, "t-gz\n"), p.stderr)
    eq(entries(k), ["gz", "plain", "t-gz", "xz", "zst"])
    for name in entries(k):
        eq(k.run(["image", "remove", name]).returncode, 0)
    eq(entries(k), [])


def test_import_directory_and_ownership(k):
    no_range(k)
    root = make_tree(k, "tree-o")
    extra = [entry("./etc/owned", data=b"x\n", uid=1234, gid=1235),
             entry("./dev/null2", tarfile.CHRTYPE),
             entry("./run-fifo", tarfile.FIFOTYPE, mode=0o600),
             entry("./bin/suid", data=b"#!/bin/sh\n", mode=0o4755)]
    source = write(k, "owned.tar", tar_of(root, extra))
    p = import_(k, source, "owned", ["-v"])
    tree = os.path.join(images_dir(k), "owned", "rootfs")
    st = os.lstat(os.path.join(tree, "etc", "owned"))
    ok(not os.path.exists(os.path.join(tree, "dev", "null2")), "a device node was made")
    ok("device nodes" in p.stderr, p.stderr)
    ok(os.path.exists(os.path.join(tree, "run-fifo")), "the FIFO is missing")
    eq(os.lstat(os.path.join(tree, "bin", "suid")).st_mode & 0o7777, 0o4755, "setuid bit")
    if k.mode == "root":
        eq((st.st_uid, st.st_gid), (1234, 1235), "an owner real root imported")
    else:
        # No subordinate range: the file is the caller's, and a note says so.
        eq((st.st_uid, st.st_gid), (k.uid, k.gid), "an owner without a range")
        ok("--subids" in p.stderr and "yours now" in p.stderr, p.stderr)
    # A directory imports the same tree.
    import_(k, root, "fromdir")
    p = k.run(["--image", "fromdir", "cat", "/etc/os-release"])
    ok(MARKER in p.stdout, p.stderr)
    for name in ("owned", "fromdir"):
        eq(k.run(["image", "remove", name]).returncode, 0)
    eq(entries(k), [])


def test_import_subids_keeps_ids(k):
    no_range(k)
    if k.mode == "root" or not k.drop:
        raise Skip("the unprivileged test user with a range given for the test")
    root = make_tree(k, "tree-s")
    source = write(k, "subids.tar", tar_of(root, [entry("./etc/app", data=b"a\n", uid=1000,
                                                        gid=1000)]))
    no_range(k)
    with etc_lines_held({"/etc/passwd": [f"{TEST_USER}:x:{k.uid}:{k.gid}::/nonexistent:/bin/sh"],
                    "/etc/group": [f"{TEST_USER}:x:{k.gid}:"],
                    "/etc/subuid": [f"{TEST_USER}:4100000:65536"],
                    "/etc/subgid": [f"{TEST_USER}:4100000:65536"]}):
        p = import_(k, source, "sub", ["--subids"])
        eq(p.stderr, "")
        st = os.lstat(os.path.join(images_dir(k), "sub", "rootfs", "etc", "app"))
        eq((st.st_uid, st.st_gid), (4100000 + 999, 4100000 + 999), "id 1000 on the host")
        p = k.run(["--subids", "--image", "sub", "stat", "-c", "%u:%g", "/etc/app"])
        eq((p.returncode, p.stdout), (0, "1000:1000\n"), p.stderr)
        # Removing it needs the range too (its files are the range's).
        eq(k.run(["image", "remove", "sub"]).returncode, 0)
    eq(entries(k), [])


def test_hostile_archives_refused_and_nothing_left(k):
    no_range(k)
    out = outside(k)
    root = make_tree(k, "tree-h")
    cases = {
        "a ../ name": [entry("../outside/secret", data=b"pwned\n")],
        "a deeper ../ name": [entry("./etc/../../outside/new", data=b"pwned\n")],
        "an absolute name": [entry(out + "/new", data=b"pwned\n")],
        "a symlink, then an entry through it": [
            entry("./escape", tarfile.SYMTYPE, target=out),
            entry("./escape/new", data=b"pwned\n")],
        "a relative symlink, then an entry through it": [
            entry("./up", tarfile.SYMTYPE, target="../../../../../../../../" + out),
            entry("./up/secret", data=b"pwned\n")],
        "a hard link to an absolute path": [
            entry("./hl", tarfile.LNKTYPE, target=out + "/secret")],
        "a hard link through ..": [entry("./hl", tarfile.LNKTYPE, target="../outside/secret")],
        "a hard link through a symlink": [
            entry("./escape", tarfile.SYMTYPE, target=out),
            entry("./hl", tarfile.LNKTYPE, target="escape/secret")],
    }
    for what, extra in cases.items():
        source = write(k, "hostile.tar", tar_of(root, extra))
        refused(k, source, what, out)
    # A truncated gzip stream.
    whole = gzip.compress(tar_of(root, [entry("./big", data=os.urandom(300000))]))
    refused(k, write(k, "trunc.tar.gz", whole[:len(whole) // 2]), "a truncated gzip", out)
    # Not an archive at all.
    err = refused(k, write(k, "junk.tar", b"this is no tar file\n" * 100), "junk", out)
    ok("not an archive" in err, err)
    # An OCI layer whose whiteout names "..", and one whose digest is wrong.
    base = tar_of(root)
    wh = oci_layout(k, "oci-wh", [base, tar_of(None, [entry("etc/.wh..", data=b"")])], {})
    err = refused(k, wh, "a whiteout of ..", out)
    ok("whiteout" in err, err)
    bad = oci_layout(k, "oci-bad", [base], {}, bad_digest=True)
    err = refused(k, bad, "a wrong digest", out)
    ok("digest mismatch" in err, err)
    err = refused(k, archive_of(k, bad), "a wrong digest in an OCI archive", out)
    ok("digest mismatch" in err, err)
    # The hostile entries written as the last of a layer of an image with a good first one.
    layered = oci_layout(k, "oci-sym", [base, tar_of(None, [
        entry("escape", tarfile.SYMTYPE, target=out), entry("escape/new", data=b"x")])], {})
    refused(k, layered, "a symlink then an entry through it, in a layer", out)


def test_oci_layers_whiteouts_and_config(k):
    no_range(k)
    root = make_tree(k, "tree-l")
    lower = tar_of(root, [entry("./etc/a", data=b"a\n"), entry("./etc/b", data=b"b\n"),
                          entry("./opt/x/y", data=b"y\n"), entry("./opt/keep", data=b"k\n")])
    # The opaque marker after an entry of its own layer: that entry stays.
    upper = tar_of(None, [entry("etc/.wh.a", data=b""), entry("opt/x/z", data=b"z\n"),
                          entry("opt/x/.wh..wh..opq", data=b""),
                          entry("etc/b", data=b"b2\n")])
    config = {"Env": IMAGE_ENV, "Cmd": ["/bin/sh", "-c", "echo $FOO; pwd; cat /etc/b"],
              "WorkingDir": "/opt"}
    layout = oci_layout(k, "oci-l", [lower, upper], config)
    for name, source in (("layout", layout), ("archive", archive_of(k, layout))):
        import_(k, source, name)
        tree = os.path.join(images_dir(k), name, "rootfs")
        eq(sorted(os.listdir(os.path.join(tree, "opt", "x"))), ["z"], f"{name}: opaque dir")
        ok(os.path.exists(os.path.join(tree, "opt", "keep")), f"{name}: opt/keep")
        ok(not os.path.lexists(os.path.join(tree, "etc", "a")), f"{name}: etc/a whited out")
        # No command: the image's, with its Env and WorkingDir.
        p = k.run(["--image", name])
        eq((p.returncode, p.stdout), (0, "from-the-image\n/opt\nb2\n"), p.stderr)
        # A command of one's own runs instead, still with the image's Env.
        p = k.run(["--image", name, "-e", "FOO=mine", "--", "/bin/sh", "-c", "echo $FOO"])
        eq(p.stdout, "mine\n", p.stderr)
        p = k.run(["image", "inspect", name])
        info = json.loads(p.stdout)
        eq(info["config"]["Env"], IMAGE_ENV)
        eq(info["config"]["WorkingDir"], "/opt")
        eq(info["format"], "oci")
        eq(len(info["layers"]), 2)
    p = k.run(["image", "list", "--json"])
    eq([i["name"] for i in json.loads(p.stdout)], ["archive", "layout"])
    eq(k.run(["image", "list", "-q"]).stdout, "archive\nlayout\n")
    table = k.run(["image", "list"]).stdout.splitlines()
    eq(table[0].split(), ["NAME", "SIZE", "CREATED", "SOURCE"])
    eq(k.run(["image", "remove", "archive", "layout"]).returncode, 0)
    eq(entries(k), [])


def test_an_images_own_command_gets_nothing_of_the_host_mounted(k):
    # The image's Cmd names a host file and runs where the caller stands: were its words taken
    # for the caller's, the file and the working directory would be mounted read-write.
    no_range(k)
    victim = k.write(os.path.join(k.home, "victim-rc"), "mine\n")
    marker = os.path.join(k.work, "planted-by-image")
    script = f"echo image >> {victim}; echo x > {marker}; echo ran"
    config = {"Cmd": ["/bin/sh", "-c", script + ' "$1"', "x", victim]}
    layout = oci_layout(k, "oci-cmd", [tar_of(make_tree(k, "tree-cmd"))], config)
    import_(k, layout, "cmdimg")
    p = k.run(["--image", "cmdimg"])
    ok("ran" in p.stdout, f"the image's command did not run: {p.stdout!r} {p.stderr!r}")
    with open(victim) as f:
        eq(f.read(), "mine\n", "the image's command wrote a host file it named")
    ok(not os.path.exists(marker), "the image's command wrote into the caller's directory")
    # The caller's own command still gets what it names.
    p = k.run(["--image", "cmdimg", "--", "/bin/sh", "-c", "cat \"$1\"", "x", victim])
    eq(p.stdout, "mine\n", p.stderr)
    eq(k.run(["image", "remove", "cmdimg"]).returncode, 0)


def test_containers_from_one_image_are_isolated(k):
    no_range(k)
    root = make_tree(k, "tree-i")
    import_(k, write(k, "iso.tar", tar_of(root)), "iso")
    tree = os.path.join(images_dir(k), "iso", "rootfs")
    before = open(os.path.join(tree, "etc", "os-release")).read()
    for box in ("box-a", "box-b"):
        eq(k.run(["create", "--image", "iso", box]).returncode, 0)
    p = k.run(["start", "box-a", "/bin/sh", "-c", "echo mine > /etc/os-release; touch /new"])
    eq(p.returncode, 0, p.stderr)
    p = k.run(["start", "box-b", "/bin/sh", "-c", "cat /etc/os-release; test -e /new; echo $?"])
    eq(p.stdout, before + "1\n", p.stderr)
    p = k.run(["start", "box-a", "cat", "/etc/os-release"])
    eq(p.stdout, "mine\n", "box-a keeps its own write")
    # Temporary containers: each its own layer too, and the image as it was.
    p = k.sh("echo tmp > /etc/os-release", ["--image", "iso"])
    eq(p.returncode, 0, p.stderr)
    eq(open(os.path.join(tree, "etc", "os-release")).read(), before, "the image changed")
    ok(not os.path.exists(os.path.join(tree, "new")), "the image changed")
    # images_dir is hidden in containers: a bind of the home shows none of it.
    p = k.run(["--image", "iso", "--bind", k.home, "ls", "-A",
               os.path.join(images_dir(k))])
    eq((p.returncode, p.stdout), (0, ""), p.stderr)
    # In use: refused, then -f.
    p = k.run(["image", "remove", "iso"])
    eq(p.returncode, 125)
    ok("box-a" in p.stderr and "box-b" in p.stderr, p.stderr)
    ok(os.path.isdir(tree), "a refused remove removed")
    eq(k.run(["remove", "box-a"]).returncode, 0)
    eq(k.run(["image", "remove", "-f", "iso"]).returncode, 0)
    # Its image gone, box-b cannot start.
    p = k.run(["start", "box-b", "true"])
    eq(p.returncode, 125, p.stderr)
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok("made from image 'iso'" in p.stderr, p.stderr)
    eq(k.run(["remove", "box-b"]).returncode, 0)
    eq(entries(k), [])


def disk_use(*dirs):
    """Bytes of disk the trees take (st_blocks), each inode counted once (hard links, and an
    inode seen under two of the trees)."""
    seen, total = set(), 0
    for top in dirs:
        for d, subdirs, files in os.walk(top):
            for n in [""] + subdirs + files:
                st = os.lstat(os.path.join(d, n) if n else d)
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_blocks * 512
    return total


def test_containers_from_one_image_store_it_once(k):
    """Issue 15: two persistent containers made from one image share its one copy on disk (du
    of images_dir and containers_dir grows by their upper layers, not by the image), and each
    sees only its own writes."""
    no_range(k)
    root = make_tree(k, "tree-du")
    big = os.urandom(8 << 20)  # incompressible: stored as it is, whatever the file system
    import_(k, write(k, "du.tar", tar_of(root, [entry("./data/big", data=big)])), "du")
    boxes = os.path.join(k.home, ".local", "kakuri", "containers")
    image = disk_use(os.path.join(images_dir(k), "du"))
    ok(image >= len(big), f"the image takes {image} bytes")
    before = disk_use(images_dir(k), boxes) if os.path.isdir(boxes) else disk_use(images_dir(k))
    for box in ("du-a", "du-b"):
        eq(k.run(["create", "--image", "du", box]).returncode, 0)
        # Each writes 256 KiB of its own and reads the image's big file whole.
        p = k.run(["start", box, "/bin/sh", "-c",
                   f"head -c 262144 /data/big > /{box}; echo {box} > /etc/mine; "
                   "cat /data/big > /dev/null && ls /"])
        eq(p.returncode, 0, p.stderr)
    for box, other in (("du-a", "du-b"), ("du-b", "du-a")):
        p = k.run(["start", box, "/bin/sh", "-c",
                   f"cat /etc/mine; test -e /{other}; echo $?; wc -c < /{box}"])
        eq(p.stdout.split(), [box, "1", "262144"], f"{box}: its own writes only ({p.stderr})")
    grown = disk_use(images_dir(k), boxes) - before
    # The two upper layers on disk (2 x 256 KiB and the containers' small files), far from a
    # copy of the image (8 MiB) per container.
    ok(2 * 262144 <= grown < 2 * 262144 + (2 << 20),
       f"images_dir and containers_dir grew by {grown} bytes for an image of {image}")
    eq(disk_use(os.path.join(images_dir(k), "du")), image, "the image changed")
    for box in ("du-a", "du-b"):
        eq(k.run(["remove", box]).returncode, 0)
    eq(k.run(["image", "remove", "du"]).returncode, 0)
    eq(entries(k), [])


def lock_holders(k, name):
    """The pids of the processes that have the image's lock open (the tests run as root)."""
    lock = os.path.join(os.path.realpath(images_dir(k)), name, "lock")
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == lock for fd in fds):
                out.append(int(pid))
        except OSError:
            pass
    return out


def refused_in_use(k, name):
    for args in (["image", "remove", name], ["image", "remove", "-f", name]):
        p = k.run(args)
        eq(p.returncode, 125, f"{args}: {p.stderr}")
        eq(p.stderr.count("\n"), 1, p.stderr)
        ok(f"image '{name}' is in use" in p.stderr, p.stderr)
    ok(os.path.isfile(os.path.join(images_dir(k), name, "rootfs", "etc", "os-release")),
       "a refused remove removed")
    eq(entries(k), [name])


def test_an_image_is_not_removed_under_a_running_container(k):
    no_range(k)
    root = make_tree(k, "tree-held")
    import_(k, write(k, "held.tar", tar_of(root)), "held")
    fifo = os.path.join(k.tmp, "held-fifo")
    os.mkfifo(fifo)
    own(k, fifo)
    # A temporary container, blocked on a fifo: it has no record, only the image's lock tells
    # that it runs on it. That lock's fd is kakuri's, never one of the container's.
    script = 'ls -l /proc/self/fd/ /proc/1/fd/ 2>&1; echo up; read x < "$0"'
    with k.popen(["--image", "held", "--", "/bin/sh", "-c", script, fifo],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as run:
        seen = ""
        for line in run.stdout:
            seen += line
            if line == "up\n":
                break
        ok("up\n" in seen and "images" not in seen and "lock" not in seen,
           f"the fds inside: {seen!r}")
        refused_in_use(k, "held")
        with open(fifo, "w") as f:
            f.write("\n")
        eq(run.wait(timeout=30), 0, run.stderr.read())
    eq(lock_holders(k, "held"), [], "the lock is held after the run")
    # A detached persistent container: kakuri is gone, a holder of its own outside the
    # container keeps the lock until the container's init has exited.
    eq(k.run(["create", "--image", "held", "dbox"]).returncode, 0)
    p = k.run(["start", "-d", "dbox"])
    eq(p.returncode, 0, p.stderr)
    holders = lock_holders(k, "held")
    eq(len(holders), 1, f"the lock's holders: {holders}")
    with open(f"/proc/{holders[0]}/comm") as f:
        eq(f.read(), "kakuri-hold\n")
    ok(os.readlink(f"/proc/{holders[0]}/ns/mnt") == os.readlink("/proc/self/ns/mnt"),
       "the holder is outside the container")
    refused_in_use(k, "held")
    pidfd = os.pidfd_open(holders[0])
    try:
        eq(k.run(["stop", "dbox"]).returncode, 0)
        import select
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        ok(poller.poll(30000), "the holder outlived the container")
    finally:
        os.close(pidfd)
    eq(k.run(["remove", "dbox"]).returncode, 0)
    p = k.run(["image", "remove", "held"])
    eq(p.returncode, 0, p.stderr)
    eq(entries(k), [])


def test_create_and_remove_of_its_image_race(k):
    no_range(k)
    root = make_tree(k, "tree-race")
    source = write(k, "race.tar", tar_of(root))
    # Whichever comes first, a container never outlives its image, and exactly one wins.
    for i in range(8):
        if "race" not in entries(k):
            import_(k, source, "race")
        box = f"rbox{i}"
        create = k.popen(["create", "--image", "race", box], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
        remove = k.popen(["image", "remove", "race"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
        said = create.communicate(timeout=60)[1] + remove.communicate(timeout=60)[1]
        made = k.run(["inspect", box]).returncode == 0
        there = "race" in entries(k)
        eq((made, there), (create.returncode == 0, remove.returncode != 0), said)
        ok(made != (remove.returncode == 0), f"round {i}: {said}")
        if made:
            eq(k.run(["remove", box]).returncode, 0)
    if "race" in entries(k):
        eq(k.run(["image", "remove", "race"]).returncode, 0)
    eq(entries(k), [])


def test_bad_names_and_missing_images(k):
    no_range(k)
    for args in (["image", "import", "/nonexistent.tar", "x"],
                 ["image", "import", "/etc/hostname", "../x"],
                 ["image", "inspect", "nosuch"], ["image", "remove", "nosuch"],
                 ["--image", "nosuch", "true"], ["image", "frobnicate"],
                 ["image", "list", "--force"]):
        p = k.run(args)
        eq(p.returncode, 125, f"{args}: {p.stderr}")
        eq(p.stderr.count("\n"), 1, p.stderr)
    root = make_tree(k, "tree-n")
    source = write(k, "dup.tar", tar_of(root))
    import_(k, source, "dup")
    p = import_(k, source, "dup", want=125)
    eq(p.stderr, "kakuri: image 'dup' already exists\n")
    p = k.run(["--image", "dup", "--rootfs", root, "true"])
    eq(p.returncode, 125, p.stderr)
    eq(k.run(["image", "remove", "dup"]).returncode, 0)
    eq(entries(k), [])


def podman(k, *args):
    store = os.path.join(k.tmp, "podman")
    cmd = ["podman", "--root", store + "/root", "--runroot", store + "/run",
           "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {p.stderr}")
    return p


def test_podman_oci_and_docker_archives(k):
    no_range(k)
    if not shutil.which("podman"):
        raise Skip("podman is not installed")
    if not k.am_root:
        raise Skip("the archives are made by podman as root")
    root = make_tree(k, "tree-p")
    tarball = write(k, "for-podman.tar", tar_of(root))
    ref = "localhost/kakuri-it-images:1"
    podman(k, "import", "--change", 'CMD ["/bin/sh", "-c", "cat /etc/os-release; echo $FOO; pwd"]',
           "--change", "ENV FOO=from-podman", "--change", "WORKDIR /etc", tarball, ref)
    try:
        for fmt in ("oci-archive", "docker-archive"):
            out = os.path.join(k.tmp, fmt + ".tar")
            podman(k, "save", "--format", fmt, "-o", out, ref)
            own(k, out)
            import_(k, out, fmt)
            p = k.run(["--image", fmt])
            eq(p.returncode, 0, p.stderr)
            ok(p.stdout.startswith(f"ID={MARKER}") and p.stdout.endswith("from-podman\n/etc\n"),
               f"{fmt}: {p.stdout!r}")
            eq(json.loads(k.run(["image", "inspect", fmt]).stdout)["format"],
               "oci" if fmt == "oci-archive" else "docker")
            eq(k.run(["image", "remove", fmt]).returncode, 0)
    finally:
        podman(k, "rmi", "-a", "-f")
    eq(entries(k), [])


class Zeros:
    """A file of n zero bytes, read without holding them."""

    def __init__(self, n):
        self.left = n

    def read(self, size=-1):
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return b"\0" * size


def test_a_bomb_stops_before_the_disk_fills(k):
    no_range(k)
    if not k.am_root:
        raise Skip("needs root to mount a small file system for images_dir")
    # The small file system exists only in a mount namespace of this test's own: no other test
    # running meanwhile sees a mount come and go.
    small = k.mkdir("small")
    cfg = k.write(os.path.join(k.tmp, "small.toml"), f'[storage]\nimages_dir = "{small}/images"\n')
    # 200 MiB of zeros in a few hundred KiB: past what the file system can take with 256 MiB
    # kept free.
    bomb = os.path.join(k.tmp, "bomb.tar.gz")
    with tarfile.open(bomb, "w:gz", compresslevel=1) as t:
        info = tarfile.TarInfo("./zeros")
        info.size = 200 << 20
        t.addfile(info, Zeros(info.size))
    own(k, bomb)
    ok(os.path.getsize(bomb) < 2 << 20, "the bomb is small")
    script = ('mount -t tmpfs -o size=320m,mode=0755 kakuri-it "$0" && chown $1 "$0" && shift && '
              '"$@"; rc=$?; echo "left: $(ls -A "$0/images")"; '
              'echo "free: $(($(stat -f -c %a "$0") * $(stat -f -c %S "$0") >> 20))"; exit $rc')
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, small,
                        f"{k.uid}:{k.gid}"] + k.argv(["--config", cfg, "image", "import", bomb,
                                                      "bomb"]),
                       env=k.env(), cwd=k.work, capture_output=True, text=True, timeout=120)
    eq(p.returncode, 125, p.stderr)
    eq(p.stderr.count("\n"), 1, p.stderr)
    ok("nearly full" in p.stderr, p.stderr)
    lines = p.stdout.splitlines()
    eq(lines[0], "left: ", "what the bomb left in images_dir")
    ok(int(lines[1].split()[1]) > 300, f"space freed: {lines[1]}")


def test_commit_a_container_to_an_image(k):
    no_range(k)
    root = make_tree(k, "tree-commit")
    os.makedirs(os.path.join(root, "etc", "dir"))
    os.makedirs(os.path.join(root, "etc", "dir2", "sub"))
    for name, text in (("etc/a", "a\n"), ("etc/gone", "g\n"), ("etc/gone2", "g\n"),
                       ("etc/dir/old", "old\n"), ("etc/dir2/sub/x", "x\n")):
        with open(os.path.join(root, name), "w") as f:
            f.write(text)
    chown_tree(k, root)
    config = {"Env": IMAGE_ENV, "Cmd": ["/bin/sh", "-c", "cat /etc/a"], "WorkingDir": "/etc"}
    import_(k, oci_layout(k, "oci-commit", [tar_of(root)], config), "base")
    eq(k.run(["create", "--image", "base", "cbox"]).returncode, 0)
    # A file changed, two removed (whiteouts: overlayfs makes them hard links of one inode), a
    # directory replaced (opaque), one replaced by a file, a new one.
    p = k.run(["start", "cbox", "/bin/sh", "-c",
               "echo changed > /etc/a && rm /etc/gone /etc/gone2 && rm -r /etc/dir && "
               "mkdir /etc/dir && echo new > /etc/dir/new && rm -r /etc/dir2 && "
               "echo f > /etc/dir2 && mkdir -p /srv/made && echo m > /srv/made/m"])
    eq(p.returncode, 0, p.stderr)
    p = k.run(["commit", "cbox", "snap"])
    eq((p.returncode, p.stdout), (0, "snap\n"), p.stderr)
    p = k.run(["--image", "snap", "/bin/sh", "-c",
               "cat /etc/a /srv/made/m /etc/dir2; ls /etc/dir; test -e /etc/gone || "
               "test -e /etc/gone2; echo $?"])
    eq(p.stdout, "changed\nm\nf\nnew\n1\n", p.stderr)
    # The image's config goes along: its command, in its directory, with its Env.
    eq(k.run(["--image", "snap"]).stdout, "changed\n")
    info = json.loads(k.run(["image", "inspect", "snap"]).stdout)
    eq((info["source"], info["format"], info["config"]["Env"]),
       ("container cbox", "commit", IMAGE_ENV))
    # The image the container was made on is as it was.
    p = k.run(["--image", "base", "/bin/sh", "-c", "cat /etc/a; ls /etc/dir"])
    eq(p.stdout, "a\nold\n", p.stderr)
    # A running container is refused, and so is an image name that exists.
    eq(k.run(["commit", "cbox", "snap"]).returncode, 125)
    with k.popen(["start", "cbox", "/bin/sh", "-c", "echo up; read x"], stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as run:
        eq(run.stdout.readline(), "up\n")
        p = k.run(["commit", "cbox", "snap2"])
        eq(p.returncode, 125, p.stderr)
        ok("running" in p.stderr, p.stderr)
        run.stdin.write("\n")
        run.stdin.close()
        eq(run.wait(timeout=30), 0)
    # A container on the host's directories has no root of its own to commit.
    eq(k.run(["create", "hostbox"]).returncode, 0)
    p = k.run(["commit", "hostbox", "snap3"])
    eq(p.returncode, 125, p.stderr)
    eq(p.stderr.count("\n"), 1, p.stderr)
    for box in ("cbox", "hostbox"):
        eq(k.run(["remove", box]).returncode, 0)
    eq(k.run(["image", "remove", "snap", "base"]).returncode, 0)
    eq(entries(k), [])


def test_what_a_killed_import_left_goes_with_the_next_command(k):
    no_range(k)
    import fcntl
    d = images_dir(k)
    k.mkdirs(d, 0o700)
    for name in (".new-1-half", ".trash-1-gone", ".new-2-busy"):
        k.mkdirs(os.path.join(d, name, "rootfs", "etc"), 0o755)
        k.write(os.path.join(d, name, "rootfs", "etc", "f"), "x\n")
        os.chmod(os.path.join(d, name, "rootfs", "etc"), 0o555)  # as a tree may have it
    # One still at work: its lock is held (as a running import holds it).
    busy = os.open(os.path.join(d, ".new-2-busy"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(busy, fcntl.LOCK_EX)
        p = k.run(["image", "list", "-q"])
        eq((p.returncode, p.stdout, p.stderr), (0, "", ""))
        eq(entries(k), [".new-2-busy"], "what the next command left")
    finally:
        os.close(busy)
    eq(k.run(["image", "list", "-q"]).returncode, 0)
    eq(entries(k), [])


def flock_waiter(pid):
    """Whether pid waits for a flock (a "->" line of /proc/locks)."""
    with open("/proc/locks") as f:
        for line in f:
            w = line.split()
            if len(w) > 5 and w[1] == "->" and w[2] == "FLOCK" and w[5] == str(pid):
                return True
    return False


def test_an_imports_directory_is_locked_before_a_cleaner_sees_it(k):
    no_range(k)
    import fcntl
    import time
    root = make_tree(k, "tree-lockfirst")
    source = write(k, "lockfirst.tar", tar_of(root))
    d = images_dir(k)
    k.mkdirs(d, 0o700)
    # Held as a cleaner holds it while it looks for leftovers: the import waits for it before
    # its hidden directory exists, so none is ever seen unlocked.
    held = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        run = k.popen(["image", "import", source, "lockfirst"], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not flock_waiter(run.pid) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        ok(run.poll() is None and flock_waiter(run.pid),
           "the import made its directory without images_dir's lock")
        eq(entries(k), [], "an import's directory before it is locked")
    finally:
        os.close(held)
    out, err = run.communicate(timeout=120)
    eq((run.returncode, out), (0, "lockfirst\n"), err)
    eq(k.run(["image", "remove", "lockfirst"]).returncode, 0)
    eq(entries(k), [])


def test_a_config_swapped_under_the_import_is_never_taken(k):
    no_range(k)
    import threading
    root = make_tree(k, "tree-swap")
    good = {"Env": ["SWAP=good"], "Cmd": ["/bin/sh"]}
    # 8 MiB of it (spaces after the JSON): reading and hashing it takes a while, time enough
    # for a swap between a check and a second reading.
    layout = oci_layout(k, "oci-swap", [tar_of(root)], good, pad=8 << 20)
    with open(os.path.join(layout, "index.json")) as f:
        mdigest = json.load(f)["manifests"][0]["digest"][7:]
    with open(os.path.join(layout, "blobs", "sha256", mdigest)) as f:
        cpath = os.path.join(layout, "blobs", "sha256", json.load(f)["config"]["digest"][7:])
    with open(cpath, "rb") as f:
        good_bytes = f.read()
    evil_bytes = good_bytes.replace(b"SWAP=good", b"SWAP=evil")
    # The config's blob replaced by other bytes and back, over and over, while images are
    # imported: each import takes the bytes it checked, or refuses them.
    stop = threading.Event()

    def swap():
        n = 0
        while not stop.is_set():
            n += 1
            tmp = f"{cpath}.{n}"
            with open(tmp, "wb") as f:
                f.write(evil_bytes if n % 2 else good_bytes)
            own(k, tmp)
            os.rename(tmp, cpath)

    t = threading.Thread(target=swap)
    t.start()
    outcomes = set()
    try:
        for i in range(20):
            p = k.run(["image", "import", "-q", layout, f"swap{i}"], timeout=120)
            if p.returncode != 0:
                eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)
                ok("image config: digest mismatch" in p.stderr, p.stderr)
                outcomes.add("refused")
                continue
            env = json.loads(k.run(["image", "inspect", f"swap{i}"]).stdout)["config"]["Env"]
            eq(env, ["SWAP=good"], f"round {i}: the config imported")
            outcomes.add("good")
            eq(k.run(["image", "remove", f"swap{i}"]).returncode, 0)
    finally:
        stop.set()
        t.join()
    eq(entries(k), [])


def registry(k):
    """Debian's docker-registry on 127.0.0.1 only, a free port, its own storage and config;
    its address once it listens (it says so). The caller stops it."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = os.path.join(k.tmp, "registry")
    os.makedirs(os.path.join(d, "data"))
    cfg = os.path.join(d, "config.yml")
    with open(cfg, "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n"
                f"    rootdirectory: {d}/data\nhttp:\n  addr: 127.0.0.1:{port}\n")
    reg = subprocess.Popen(["docker-registry", "serve", cfg], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    for line in reg.stderr:
        if "listening on" in line:
            break
    else:
        reg.wait()
        raise AssertionError("docker-registry did not start")
    # The rest of its log is drained, so that it never blocks on a full pipe.
    import threading
    threading.Thread(target=reg.stderr.read, daemon=True).start()
    return reg, f"127.0.0.1:{port}"


def test_pull_from_a_local_registry(k):
    no_range(k)
    for tool in ("skopeo", "docker-registry"):
        if not shutil.which(tool):
            raise Skip(f"{tool} is not installed")
    # Without skopeo: one line naming the package, nothing made.
    bare = k.mkdir("no-skopeo")
    os.symlink(shutil.which("setpriv"), os.path.join(bare, "setpriv"))
    p = k.run(["image", "pull", "127.0.0.1:1/x/y:1"], env={"PATH": bare})
    eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)
    ok("install the skopeo package" in p.stderr, p.stderr)
    for bad in ("-x", "oci:/srv/layout", "/srv/x"):
        p = k.run(["image", "pull", bad])
        eq((p.returncode, p.stderr.count("\n")), (125, 1), f"{bad}: {p.stderr}")
    eq(entries(k), [])
    root = make_tree(k, "tree-pull")
    config = {"Env": IMAGE_ENV, "Cmd": ["/bin/sh", "-c", "cat /etc/os-release; echo $FOO"]}
    layout = oci_layout(k, "oci-pull", [tar_of(root)], config)
    reg, addr = registry(k)
    try:
        ref = f"{addr}/kakuri-it/pulled:1"
        p = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}",
                            f"docker://{ref}"], capture_output=True, text=True, timeout=120)
        eq(p.returncode, 0, p.stderr)
        p = k.run(["image", "pull", ref], timeout=120)
        eq(p.returncode, 125, "a plain HTTP registry without --tls-verify=false")
        eq(p.stderr.count("\n"), 1, p.stderr)
        p = k.run(["image", "pull", "--tls-verify=false", ref], timeout=120)
        eq((p.returncode, p.stdout), (0, "pulled\n"), p.stderr)
        p = k.run(["--image", "pulled"])
        eq(p.stdout, OS_RELEASE + "from-the-image\n", p.stderr)
        info = json.loads(k.run(["image", "inspect", "pulled"]).stdout)
        eq((info["source"], info["format"]), ("docker://" + ref, "oci"))
        # What is not there: skopeo's word, on one line, and nothing left.
        p = k.run(["image", "pull", "--tls-verify=false", f"{addr}/kakuri-it/missing:1"],
                  timeout=120)
        eq((p.returncode, p.stderr.count("\n")), (125, 1), p.stderr)
        ok("skopeo failed" in p.stderr, p.stderr)
        eq(entries(k), ["pulled"])
    finally:
        reg.terminate()
        reg.wait(timeout=30)
    eq(k.run(["image", "remove", "pulled"]).returncode, 0)
    eq(entries(k), [])


def test_progress_on_a_terminal_only(k):
    no_range(k)
    root = make_tree(k, "tree-progress")
    many = [entry(f"./data/f{i:04d}", data=b"x" * 100) for i in range(600)]
    source = write(k, "many.tar.gz", gzip.compress(tar_of(root, many)))
    # Not a terminal: the name on stdout, no progress on stderr (unprivileged, the note on the
    # tree's owner, the test user, whom the caller's single id does not map).
    p = import_(k, source, "quiet")
    eq(p.stdout, "quiet\n")
    ok("\r" not in p.stderr and "512 files" not in p.stderr, p.stderr)
    # A terminal: a line rewritten in place, counting files, cleared before anything else is
    # said (a note, the name).
    with k.terminal(k.argv(["image", "import", source, "shown"])) as t:
        t.expect("kakuri: shown: 512 files")
        t.expect("\r\033[K")
        eq(t.finish(), 0)
        ok(t.buf.endswith(b"shown\r\n") and b"files, " not in t.buf, t.buf)
    # -q: nothing at all, on a terminal too.
    with k.terminal(k.argv(["image", "import", "-q", source, "silent"])) as t:
        eq(t.finish(), 0)
        eq(t.buf, b"")
    eq(k.run(["image", "remove", "quiet", "shown", "silent"]).returncode, 0)
    eq(entries(k), [])


# A Debian minbase root filesystem tarball, made once per CI machine by .ci/run (which has the
# network: tests never do). Without it the test is skipped, saying how to make it.
MINBASE = "/var/cache/kakuri-ci/minbase.tar.zst"
MINBASE_COMMAND = ("unshare --mount --propagation private mmdebstrap --variant=minbase "
                   "bookworm " + MINBASE +
                   " http://deb.debian.org/debian")


def owned_deb(k):
    """A package whose postinst makes a system user and chowns a file to it (apt-get install
    of a local .deb: nothing to download), in a directory of its own the container binds."""
    if not shutil.which("dpkg-deb"):
        raise Skip("dpkg-deb missing (install dpkg)")
    src = os.path.join(k.tmp, "deb-src")
    os.makedirs(os.path.join(src, "DEBIAN"))
    os.makedirs(os.path.join(src, "usr", "share", "kakuri-it-owned"))
    with open(os.path.join(src, "usr", "share", "kakuri-it-owned", "data"), "w") as f:
        f.write("data\n")
    with open(os.path.join(src, "DEBIAN", "control"), "w") as f:
        f.write("Package: kakuri-it-owned\nVersion: 1\nArchitecture: all\n"
                "Maintainer: kakuri tests <kakuri@localhost>\n"
                "Description: a package with a system user of its own\n")
    with open(os.path.join(src, "DEBIAN", "postinst"), "w") as f:
        f.write("#!/bin/sh\nset -e\n[ \"$1\" = configure ] || exit 0\n"
                "useradd --system --no-create-home --home-dir /nonexistent "
                "--shell /usr/sbin/nologin kakuri-it-owned\n"
                "mkdir -p /var/lib/kakuri-it-owned\n"
                "echo state > /var/lib/kakuri-it-owned/state\n"
                "chown kakuri-it-owned:kakuri-it-owned /var/lib/kakuri-it-owned/state\n")
    os.chmod(os.path.join(src, "DEBIAN", "postinst"), 0o755)
    out = k.mkdir("debs")
    deb = os.path.join(out, "kakuri-it-owned_1_all.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", src, deb],
                   check=True, capture_output=True)
    os.chmod(deb, 0o644)
    return out


def test_debian_minbase_apt_get_install_under_subids(k):
    """Issue 15: an mmdebstrap tarball imported unprivileged keeps its multi-user ids, and
    apt-get install works on it under --subids: apt drops to _apt for its sandbox, and the
    package's postinst makes a system user and chowns a file to it."""
    no_range(k)
    if not os.path.exists(MINBASE):
        raise Skip(f"no Debian minbase tarball at {MINBASE} (.ci/run makes it; as root: "
                   f"mkdir -p {os.path.dirname(MINBASE)} && {MINBASE_COMMAND})")
    if k.mode == "user" and not k.drop:
        raise Skip("needs root to give the test user a subordinate range")
    debs = owned_deb(k)
    script = ("DEBIAN_FRONTEND=noninteractive apt-get install -y /srv/debs/kakuri-it-owned_1_all.deb "
              "&& stat -c '%n %U:%G %u' /var/lib/kakuri-it-owned/state "
              "/usr/share/kakuri-it-owned/data /var/cache/apt/archives/partial")

    def check():
        p = import_(k, MINBASE, "minbase", ["--subids"])
        eq(p.stderr, "", "no note: every owner kept")
        # One container: the install, then the owners as the container sees them.
        p = k.run(["--subids", "--image", "minbase", "--ro-bind", f"{debs}:/srv/debs",
                   "/bin/sh", "-c", script], timeout=300)
        eq(p.returncode, 0, f"apt-get install: {p.stdout}\n{p.stderr}")
        ok("unsandboxed" not in p.stdout + p.stderr, f"apt ran without its _apt sandbox: {p}")
        owners = dict(l.split(" ", 1) for l in p.stdout.splitlines()[-3:])
        user, uid = owners["/var/lib/kakuri-it-owned/state"].split()
        eq(user, "kakuri-it-owned:kakuri-it-owned", "the postinst's chown")
        ok(0 < int(uid) < 1000, f"a system user's id: {uid}")
        eq(owners["/usr/share/kakuri-it-owned/data"], "root:root 0")
        eq(owners["/var/cache/apt/archives/partial"].split()[0], "_apt:root", "the image's _apt")
        # On the host, the image's _apt files are _apt's id (as root) or the range's id for it,
        # never the caller's; and the image is as it was.
        tree = os.path.join(images_dir(k), "minbase", "rootfs")
        with open(os.path.join(tree, "etc", "passwd")) as f:
            apt_uid = next(int(l.split(":")[2]) for l in f if l.startswith("_apt:"))
        st = os.lstat(os.path.join(tree, "var", "cache", "apt", "archives", "partial"))
        eq(st.st_uid, apt_uid if k.mode == "root" else 4200000 + apt_uid - 1, "_apt on the host")
        ok(not os.path.lexists(os.path.join(tree, "var", "lib", "kakuri-it-owned")),
           "the install reached the image")
        eq(k.run(["image", "remove", "minbase"]).returncode, 0)

    if k.mode == "root":
        check()
    else:
        with etc_lines_held({"/etc/passwd": [f"{TEST_USER}:x:{k.uid}:{k.gid}::/nonexistent:/bin/sh"],
                             "/etc/group": [f"{TEST_USER}:x:{k.gid}:"],
                             "/etc/subuid": [f"{TEST_USER}:4200000:65536"],
                             "/etc/subgid": [f"{TEST_USER}:4200000:65536"]}):
            check()
    eq(entries(k), [])
