"""kakuri image export (README, "Images"): an image as an OCI archive, a docker-load archive or
an OCI layout directory, checked byte by byte here (digests, sizes, the config, the layer's
entries and owners), imported again by kakuri and run, and read by the real clients: skopeo,
and podman load + podman run as the unprivileged test user (never podman as root)."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

from harness import Skip, eq, ok
from test_images import entries, entry, import_, images_dir, no_range, oci_layout, tar_of
from test_rootfs import MARKER, TEST_USER, etc_lines_held, make_tree

ENV = ["FOO=from-kakuri", "PATH=/bin"]
CMD = ["/bin/sh", "-c", "cat /etc/greeting; echo $FOO; pwd; stat -c %u:%g /etc/app"]
CONFIG = {"Env": ENV, "Cmd": CMD, "WorkingDir": "/etc"}
WANT_OUTPUT = "hello from the image\nfrom-kakuri\n/etc\n"
FILES = 600  # more than one progress step (every 256 files)


def source_image(k, name, app_ids=(0, 0)):
    """An OCI layout of a busybox tree with a config, a file /etc/app of app_ids, a hard link,
    a FIFO, FILES small files and symbolic links that name host files; its layout's path."""
    root = make_tree(k, "tree-" + name)
    secret = host_secret(k)
    extra = [entry("./etc/greeting", data=b"hello from the image\n"),
             entry("./etc/app", data=b"app\n", uid=app_ids[0], gid=app_ids[1], mode=0o640),
             entry("./etc/greeting2", tarfile.LNKTYPE, target="./etc/greeting"),
             entry("./run-fifo", tarfile.FIFOTYPE, mode=0o600),
             entry("./etc/shadow-link", tarfile.SYMTYPE, target="/etc/shadow"),
             entry("./etc/secret-link", tarfile.SYMTYPE, target=secret),
             entry("./etc/host-etc", tarfile.SYMTYPE, target="/etc"),
             entry("./up", tarfile.SYMTYPE, target="../../../../.."),
             entry("./bin/suid", data=b"#!/bin/sh\n", mode=0o4755)]
    extra += [entry(f"./data/f{i:04d}", data=b"x" * 10) for i in range(FILES)]
    return oci_layout(k, "layout-" + name, [tar_of(root, extra)], CONFIG)


def host_secret(k):
    """A host file that a symbolic link of the image names: never in an export."""
    path = os.path.join(k.tmp, "host-secret")
    if not os.path.exists(path):
        k.write(path, "host-secret-bytes-7f3a\n", mode=0o600)
    return path


def base(k):
    """The image most tests export, imported once per run."""
    if not getattr(k, "export_base", None):
        no_range(k)
        import_(k, source_image(k, "base"), "base")
        k.export_base = "base"
    return k.export_base


def export(k, image, path, fmt=None, want=0):
    args = ["image", "export"] + ([f"--format={fmt}"] if fmt else []) + [image, path]
    p = k.run(args, timeout=120)
    eq(p.returncode, want, f"{' '.join(args)}: {p.stderr}")
    if want == 0:
        eq((p.stdout, p.stderr), ("", ""), "an export off a terminal says nothing")
    return p


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Files:
    """An export's files by name: an archive's members or a directory's files."""

    def __init__(self, path):
        self.files = {}
        if os.path.isdir(path):
            for d, _, names in os.walk(path):
                for n in names:
                    with open(os.path.join(d, n), "rb") as f:
                        self.files[os.path.relpath(os.path.join(d, n), path)] = f.read()
        else:
            with tarfile.open(path) as t:
                for m in t.getmembers():
                    if m.isfile():
                        self.files[m.name] = t.extractfile(m).read()

    def json(self, name):
        return json.loads(self.files[name])


def check_export(path, fmt, name):
    """The export's documents and blobs as podman and docker read them, each digest and size
    checked; returns (config, the layer's TarInfos by name, the layer's bytes)."""
    f = Files(path)
    ref = f"localhost/{name}:latest"
    if fmt == "docker":
        manifest = f.json("manifest.json")
        eq(len(manifest), 1, "manifest.json")
        eq(manifest[0]["RepoTags"], [ref])
        config_bytes = f.files[manifest[0]["Config"]]
        eq(manifest[0]["Config"], sha(config_bytes) + ".json", "the config's name")
        eq(len(manifest[0]["Layers"]), 1)
        layer = f.files[manifest[0]["Layers"][0]]
        eq(manifest[0]["Layers"][0], sha(layer) + ".tar", "the layer's name")
    else:
        eq(f.json("oci-layout"), {"imageLayoutVersion": "1.0.0"})
        for n, data in f.files.items():
            if n.startswith("blobs/sha256/"):
                eq(n[len("blobs/sha256/"):], sha(data), f"the digest of {n}")
        index = f.json("index.json")
        eq(len(index["manifests"]), 1, "index.json")
        m = index["manifests"][0]
        eq(m["annotations"]["org.opencontainers.image.ref.name"], ref)
        manifest_bytes = f.files["blobs/sha256/" + m["digest"][7:]]
        eq(m["size"], len(manifest_bytes), "the manifest's size")
        manifest = json.loads(manifest_bytes)
        eq(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json")
        eq(manifest["config"]["mediaType"], "application/vnd.oci.image.config.v1+json")
        config_bytes = f.files["blobs/sha256/" + manifest["config"]["digest"][7:]]
        eq(manifest["config"]["size"], len(config_bytes), "the config's size")
        eq(len(manifest["layers"]), 1)
        eq(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar")
        layer = f.files["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
        eq(manifest["layers"][0]["size"], len(layer), "the layer's size")
    config = json.loads(config_bytes)
    eq(config["rootfs"], {"type": "layers", "diff_ids": ["sha256:" + sha(layer)]})
    eq(config["os"], "linux")
    if os.uname().machine == "x86_64":
        eq(config["architecture"], "amd64")
    with tarfile.open(fileobj=io.BytesIO(layer)) as t:
        members = {m.name.rstrip("/"): m for m in t.getmembers()}
    return config, members, layer


def check_layer(k, members, layer, app_ids):
    eq(members["etc/greeting"].size, len(b"hello from the image\n"))
    eq((members["etc/app"].uid, members["etc/app"].gid), app_ids, "the owner of /etc/app")
    eq(members["etc/app"].mode, 0o640)
    eq(members["bin/suid"].mode, 0o4755, "the setuid bit")
    eq((members["etc/greeting"].uid, members["etc/greeting"].gid), (0, 0), "root's file")
    ok(members["etc/greeting2"].islnk() and members["etc/greeting2"].linkname == "etc/greeting",
       "the hard link")
    ok(members["run-fifo"].isfifo(), "the FIFO")
    ok(members["data"].isdir() and sum(n.startswith("data/") for n in members) == FILES,
       "the data files")
    # Links are links: whatever they name (a host file, the host's /etc, a way up) is not read.
    for name, target in (("etc/shadow-link", "/etc/shadow"), ("etc/secret-link", host_secret(k)),
                         ("etc/host-etc", "/etc"), ("up", "../../../../..")):
        ok(members[name].issym() and members[name].linkname == target, f"{name}: {members[name]}")
    ok(not any(n.startswith(("etc/host-etc/", "up/")) for n in members), "a link was followed")
    ok(b"host-secret-bytes" not in layer, "a host file's bytes are in the layer")
    ok(not any(m.ischr() or m.isblk() for m in members.values()), "a device node")


def test_each_format_checked_and_imported_again(k):
    image = base(k)
    for fmt, name in ((None, "base.oci.tar"), ("docker", "base.docker.tar"), ("dir", "base.layout")):
        path = os.path.join(k.work, name)
        export(k, image, path, fmt)
        st = os.lstat(path)
        eq((st.st_uid, st.st_gid), (k.uid, k.gid), f"{name}: the caller's")
        config, members, layer = check_export(path, fmt or "oci", image)
        eq(config["config"], CONFIG, f"{name}: the config")
        # Owners as the container sees them: root's files are 0, unprivileged too.
        check_layer(k, members, layer, (0, 0))
        # kakuri itself reads it back, and runs the image's own command as before.
        again = "again-" + (fmt or "oci")
        import_(k, path, again)
        p = k.run(["--image", again])
        eq((p.returncode, p.stdout), (0, WANT_OUTPUT + "0:0\n"), p.stderr)
        info = json.loads(k.run(["image", "inspect", again]).stdout)
        eq((info["config"]["Env"], info["config"]["Cmd"], info["config"]["WorkingDir"]),
           (ENV, CMD, "/etc"), f"{name}: the config imported again")
        p = k.run(["--image", again, "cat", "/etc/os-release"])
        ok(MARKER in p.stdout, p.stderr)
        eq(k.run(["image", "remove", again]).returncode, 0)
    # The same image, the same bytes: an export is reproducible.
    export(k, image, os.path.join(k.work, "base.oci.tar.2"))
    with open(os.path.join(k.work, "base.oci.tar"), "rb") as a, \
            open(os.path.join(k.work, "base.oci.tar.2"), "rb") as b:
        ok(a.read() == b.read(), "two exports of one image differ")
    # Standard output (not a terminal): the same archive.
    p = k.run(["image", "export", image, "-"], binary=True, timeout=120)
    eq((p.returncode, p.stderr), (0, b""))
    with open(os.path.join(k.work, "base.oci.tar"), "rb") as a:
        ok(p.stdout == a.read(), "the archive on standard output differs")
    for name in ("base.oci.tar", "base.oci.tar.2", "base.docker.tar"):
        os.unlink(os.path.join(k.work, name))
    shutil.rmtree(os.path.join(k.work, "base.layout"))


def left_in(d):
    return sorted(n for n in os.listdir(d) if ".kakuri-" in n)


def refused(k, args, what, contains, where=None, timeout=60):
    p = k.run(["image", "export"] + args, timeout=timeout)
    eq(p.returncode, 125, f"{what}: exit status (stderr {p.stderr!r})")
    eq(p.stderr.count("\n"), 1, f"{what}: one line: {p.stderr!r}")
    ok(p.stderr.startswith("kakuri: ") and contains in p.stderr, f"{what}: {p.stderr!r}")
    eq(p.stdout, "", what)
    eq(left_in(where or k.work), [], f"{what}: what was left")
    return p


def test_bad_input_one_line_and_nothing_left(k):
    image = base(k)
    out = os.path.join(k.work, "bad.tar")
    refused(k, ["no-such-image", out], "an unknown image", "no image 'no-such-image'")
    refused(k, ["--format=zip", image, out], "an unknown format", "unknown --format 'zip'")
    refused(k, [image], "no FILE", "takes IMAGE and FILE")
    refused(k, ["--subids", image, out], "an option of import", "unknown option")
    ok(not os.path.lexists(out), "FILE was made")
    # FILE there already (a file, a directory, a link to a place outside): never replaced,
    # never written through.
    outside = k.mkdir("outside-export")
    k.write(out, "mine\n")
    refused(k, [image, out], "FILE exists", "already exists")
    with open(out) as f:
        eq(f.read(), "mine\n")
    os.unlink(out)
    os.symlink(os.path.join(outside, "planted"), out)
    refused(k, [image, out], "FILE a dangling link", "already exists")
    refused(k, ["--format=dir", image, out], "FILE a dangling link (dir)", "already exists")
    eq(os.listdir(outside), [], "written through a link")
    os.unlink(out)
    # A directory the caller cannot write.
    locked = k.mkdir("locked-export", 0o555)
    if k.am_root and not k.drop:
        os.chmod(locked, 0o755)
    else:
        refused(k, [image, os.path.join(locked, "x.tar")], "an unwritable directory",
                "Permission denied", where=locked)
        refused(k, ["--format=dir", image, os.path.join(locked, "x")],
                "an unwritable directory (dir)", "Permission denied", where=locked)
    refused(k, [image, os.path.join(k.tmp, "missing", "x.tar")], "a missing directory",
            "No such file or directory")
    refused(k, ["--format=dir", image, "-"], "a directory to standard output", "not standard")
    # A failure midway (too few fds for the tree's depth) leaves no part of FILE.
    deep = make_tree(k, "tree-deep")
    os.makedirs(os.path.join(deep, *(["d"] * 80)))
    import_(k, deep, "deep")
    for fmt in ("oci", "docker", "dir"):
        p = subprocess.run(["prlimit", "--nofile=60:60", "--"] +
                           k.argv(["image", "export", f"--format={fmt}", "deep", out]),
                           env=k.env(), cwd=k.work, capture_output=True, text=True, timeout=120)
        eq(p.returncode, 125, f"{fmt}: a failure midway: {p.stderr!r}")
        said = p.stderr.splitlines()
        if k.sanitized:
            # With every fd taken, a sanitizer's own check that memory is readable (through a
            # pipe it then cannot make) fails, and it says so in lines of its own (UBSan: an
            # "invalid vptr" at the Error kakuri makes). kakuri's own lines are the ones counted.
            said = [line for line in said if line.startswith("kakuri:")]
        eq(len(said), 1, p.stderr)
        ok("Too many open files" in p.stderr, p.stderr)
        ok(not os.path.lexists(out), f"{fmt}: FILE made after a failure")
        eq(left_in(k.work), [], f"{fmt}: what a failure midway left")
    # With enough fds the same tree exports.
    export(k, "deep", out, "dir")
    shutil.rmtree(out)
    eq(k.run(["image", "remove", "deep"]).returncode, 0)


def test_progress_on_a_terminal_only(k):
    image = base(k)
    out = os.path.join(k.work, "progress.tar")
    with k.terminal(k.argv(["image", "export", image, out])) as t:
        t.expect(f"kakuri: export {image}: reading 512 files")
        t.expect(f"kakuri: export {image}: writing 512 files")
        eq(t.finish(), 0)
        ok(t.buf.endswith(b"\r\033[K"), f"the progress line stayed: {t.buf[-80:]!r}")
    os.unlink(out)
    with k.terminal(k.argv(["image", "export", "-q", image, out])) as t:
        eq(t.finish(), 0)
        eq(t.buf, b"")
    os.unlink(out)


def skopeo(k, *args):
    """skopeo as the mode's user, its temporary files in the test's own directory."""
    tmp = k.mkdir("skopeo-tmp")
    p = subprocess.run(as_user(k, ["skopeo"] + list(args)), env=k.env({"TMPDIR": tmp}),
                       cwd=k.work, capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, f"skopeo {' '.join(args)}: {p.stderr}")
    return json.loads(p.stdout) if args[0] == "inspect" else p


def as_user(k, argv):
    if k.drop:
        return ["setpriv", f"--reuid={k.uid}", f"--regid={k.gid}", "--clear-groups", "--"] + argv
    return argv


class Podman:
    """Rootless podman as the test user, its storage, configuration and runtime directory in a
    HOME of the test's: removed with podman system reset (its files belong to the user's
    subordinate ids), its pause process gone with it."""

    def __init__(self, k):
        self.k = k
        self.home = k.mkdir("podman-home", 0o700)
        self.run_dir = k.mkdir("podman-run", 0o700)

    def env(self):
        return self.k.env({"XDG_RUNTIME_DIR": self.run_dir, "HOME": self.home,
                           "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
                           "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
                           "TMPDIR": self.run_dir})

    def __call__(self, *args, check=True):
        cmd = ["podman", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
               "--events-backend", "none", "--runtime", "runc"] + list(args)
        p = subprocess.run(as_user(self.k, cmd), env=self.env(), cwd=self.home,
                           capture_output=True, text=True, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {p.stderr}")
        return p

    def close(self):
        self("system", "reset", "--force", check=False)
        pause = os.path.join(self.run_dir, "libpod", "tmp", "pause.pid")
        if os.path.exists(pause):
            with open(pause) as f:
                pid = int(f.read().strip() or 0)
            if pid > 0:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass


def test_clients_read_it_and_subids_owners_survive(k):
    """skopeo reads each format; podman (unprivileged) loads the OCI and the docker archive of
    an image imported with --subids and runs it: the file of id 1000 keeps its id."""
    no_range(k)
    have_podman = shutil.which("podman") and k.drop
    if not shutil.which("skopeo"):
        raise Skip("skopeo is not installed")
    if k.mode == "root":
        # Real root keeps the archive's owners as they are: so does the export.
        import_(k, source_image(k, "owned", (1000, 1000)), "owned")
        run_clients(k, None)
        return
    if not k.drop:
        raise Skip("the unprivileged test user with a range given for the test")
    with etc_lines_held({"/etc/passwd": [f"{TEST_USER}:x:{k.uid}:{k.gid}::/nonexistent:/bin/sh"],
                         "/etc/group": [f"{TEST_USER}:x:{k.gid}:"],
                         "/etc/subuid": [f"{TEST_USER}:4200000:65536"],
                         "/etc/subgid": [f"{TEST_USER}:4200000:65536"]}):
        import_(k, source_image(k, "owned", (1000, 1000)), "owned", ["--subids"])
        st = os.lstat(os.path.join(images_dir(k), "owned", "rootfs", "etc", "app"))
        eq((st.st_uid, st.st_gid), (4200000 + 999, 4200000 + 999), "id 1000 on the host")
        podman = Podman(k) if have_podman else None
        try:
            run_clients(k, podman)
        finally:
            if podman:
                podman.close()
    if not have_podman:
        raise Skip("podman is not installed (skopeo and the owners were checked)")


def run_clients(k, podman):
    paths = {}
    for fmt in ("oci", "docker", "dir"):
        paths[fmt] = os.path.join(k.work, "owned." + fmt)
        export(k, "owned", paths[fmt], fmt)
        _, members, layer = check_export(paths[fmt], fmt, "owned")
        check_layer(k, members, layer, (1000, 1000))
    for transport, fmt in (("oci-archive", "oci"), ("docker-archive", "docker"), ("oci", "dir")):
        info = skopeo(k, "inspect", f"{transport}:{paths[fmt]}")
        eq(info["Env"], ENV, f"skopeo inspect {transport}")
        eq(len(info["Layers"]), 1, f"skopeo inspect {transport}")
    if podman:
        for fmt in ("oci", "docker"):
            p = podman("load", "-i", paths[fmt])
            ok("localhost/owned:latest" in p.stdout + p.stderr, f"podman load {fmt}: {p.stdout!r}")
            p = podman("run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                       "--ulimit", "nproc=1024:1024", "localhost/owned:latest")
            eq(p.stdout, WANT_OUTPUT + "1000:1000\n", f"podman run of the {fmt} archive")
            podman("rmi", "-f", "localhost/owned:latest")
    for path in paths.values():
        (shutil.rmtree if os.path.isdir(path) else os.unlink)(path)
    eq(k.run(["image", "remove", "owned"]).returncode, 0)


def test_the_end_leaves_nothing(k):
    if getattr(k, "export_base", None):
        eq(k.run(["image", "remove", k.export_base]).returncode, 0)
        k.export_base = None
    eq(entries(k), [])
    eq(left_in(k.work), [])
