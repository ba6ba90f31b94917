"""kakuri export --bundle (README, "Exporting a container to an OCI runtime"): a persistent
container on a busybox tree as an OCI runtime bundle, started by runc (as root: in both modes the
suite runs as root, the bundle made by kakuri as real root or as the unprivileged test user),
which must show what kakuri shows: the container's files, hostname, environment, ids,
capabilities, the default seccomp filter refusing with kakuri's errnos, a read-only bind."""
import json
import os
import shutil
import subprocess
import uuid

from harness import Skip, eq, ok, parse_kv
from test_rootfs import make_tree

# What the probe reports in both runs: ids, /proc/self/status's capability and filter lines,
# the errno of each call the default filter refuses, a write through the --ro-bind.
SCRIPT = ("cat /etc/written; hostname; /probe ids; /probe status; /probe syscalls; "
          "/probe write /ro/new; /lib/kakuri-it/busybox env")


def made_box(k):
    """The container of this run: a tree, a --ro-bind, a hostname, a file written by a start."""
    if getattr(k, "bundle_box", None):
        return k.bundle_box
    root = make_tree(k, "tree-bundle")
    ro = k.mkdir("ro-src")
    p = k.run(["create", "--rootfs", root, "--auto-mount=off", "--hostname", "bundled",
               "--ro-bind", f"{k.probe_host}:/probe", "--ro-bind", f"{ro}:/ro",
               "-e", "FROM_CREATE=yes", "--cap-add", "SYS_PTRACE", "--cap-drop", "NET_RAW",
               "bbox"])
    eq(p.returncode, 0, p.stderr)
    p = k.run(["start", "bbox", "/bin/sh", "-c", "echo written-in-the-box > /etc/written"])
    eq(p.returncode, 0, p.stderr)
    k.bundle_box = "bbox"
    return k.bundle_box


def runc(k, bundle, args):
    """runc run of the bundle as root, its state in a directory of this run; deleted after."""
    if not k.am_root:
        raise Skip("runc runs the bundle as root")
    if not shutil.which("runc"):
        raise Skip("runc is not installed")
    state = os.path.join(k.tmp, "runc-state")
    os.makedirs(state, exist_ok=True)
    cid = "kakuri-it-" + uuid.uuid4().hex[:12]
    try:
        return subprocess.run(["runc", "--root", state, "run", "--bundle", bundle, cid],
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    finally:
        subprocess.run(["runc", "--root", state, "delete", "-f", cid], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


def sh_lines(text):
    return [line for line in text.splitlines() if "=" not in line]


def test_runc_runs_the_bundle_with_the_containers_isolation(k):
    box = made_box(k)
    bundle = os.path.join(k.work, "bundle")
    p = k.run(["export", "--bundle", box, bundle, "/bin/sh", "-c", SCRIPT])
    eq((p.returncode, p.stdout), (0, bundle + "\n"), p.stderr)
    eq(sorted(os.listdir(bundle)), ["config.json", "rootfs"])
    # The files are as the container's layers hold them on the host: the caller's here.
    st = os.stat(os.path.join(bundle, "rootfs", "etc", "written"))
    eq((st.st_uid, st.st_gid), (k.uid, k.gid), "owner of a file the container wrote")
    with open(os.path.join(bundle, "config.json")) as f:
        config = json.load(f)
    eq(config["ociVersion"], "1.0.2")
    # Unprivileged, root inside is the caller: the bundle carries that user namespace.
    if k.drop:
        eq(config["linux"]["uidMappings"], [{"containerID": 0, "hostID": k.uid, "size": 1}])
    else:
        ok("uidMappings" not in config["linux"], "real root: no user namespace")
    # No value of the caller's environment goes into the bundle.
    env = config["process"]["env"]
    ok("LANG=C.UTF-8" not in env and "FROM_CREATE=yes" in env, f"environment: {env}")

    # Under kakuri, then under runc: the same facts.
    p = k.run(["start", box, "/bin/sh", "-c", SCRIPT])
    eq(p.returncode, 0, p.stderr)
    under_kakuri = parse_kv(p.stdout)
    r = runc(k, bundle, [])
    eq(r.returncode, 0, r.stderr)
    under_runc = parse_kv(r.stdout)
    eq(sh_lines(r.stdout)[:2], ["written-in-the-box", "bundled"], r.stdout)
    eq(under_runc["uid"], "0")
    eq(under_runc["gid"], "0")
    eq(under_runc["Seccomp"], "2")
    eq(under_runc["NoNewPrivs"], "1")
    for key in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
        eq(under_runc[key], under_kakuri[key], key)
    # kakuri's set with SYS_PTRACE (19) added and NET_RAW (13) dropped.
    cap_eff = int(under_runc["CapEff"], 16)
    ok(cap_eff & (1 << 19) and not cap_eff & (1 << 13), f"CapEff {under_runc['CapEff']}")
    # Each call the filter refuses fails as under kakuri: EPERM, and ENOSYS for the new mount
    # API (without the filter, fsopen would be EPERM for want of CAP_SYS_ADMIN).
    calls = [c for c in under_kakuri if c.startswith(("keyctl", "bpf", "fsopen", "mount",
                                                      "unshare", "clone3", "open_tree"))]
    ok(len(calls) >= 7, f"calls checked: {calls}")
    for c in calls:
        eq(under_runc[c], under_kakuri[c], c)
    eq(under_runc["keyctl"], "EPERM")
    eq(under_runc["fsopen"], "ENOSYS")
    eq(under_runc["unshare_newuser"], "EPERM")
    # The --ro-bind is read-only.
    eq(under_runc["write"], "EROFS")
    eq(under_kakuri["write"], "EROFS")
    for var in ("container=kakuri", "FROM_CREATE=yes", "HOME=" + k.home, "USER=root"):
        ok(var in r.stdout.splitlines(), f"{var} in runc's environment: {r.stdout}")
    ok("LANG=C.UTF-8" not in r.stdout.splitlines(), r.stdout)


def leftovers(parent):
    return [n for n in os.listdir(parent) if ".kakuri-" in n]


def test_bad_exports_are_one_line_and_leave_nothing(k):
    box = made_box(k)
    out = k.mkdir("exports")

    def refused(args, what):
        p = k.run(args)
        eq(p.returncode, 125, f"{what}: {p.stderr}")
        eq(p.stderr.count("\n"), 1, f"{what}: {p.stderr}")
        ok(p.stderr.startswith("kakuri: "), p.stderr)
        eq(leftovers(out), [], what)
        return p.stderr

    refused(["export", "--bundle", "nosuchbox", os.path.join(out, "b")], "no such container")
    refused(["export", "--bundle", box], "no DIR")
    refused(["export", "--bundle"], "no NAME")
    refused(["export", box, os.path.join(out, "b")], "no --bundle")
    refused(["export", "--bundle", "--frobnicate", box, os.path.join(out, "b")], "unknown option")
    refused(["export", "--bundle", box, os.path.join(k.tmp, "no", "such", "b")], "no parent")
    os.mkdir(os.path.join(out, "exists"))
    err = refused(["export", "--bundle", box, os.path.join(out, "exists")], "DIR exists")
    ok("exists" in err, err)
    eq(os.listdir(os.path.join(out, "exists")), [])
    # Never into kakuri's own state, where a directory would pass for a container.
    store = os.path.join(k.home, ".local", "kakuri", "containers")
    err = refused(["export", "--bundle", box, os.path.join(store, "forged")], "own state")
    ok("own state" in err, err)
    ok(not os.path.exists(os.path.join(store, "forged")), "nothing made in containers_dir")
    eq(k.run(["create", "hostbox"]).returncode, 0)
    err = refused(["export", "--bundle", "hostbox", os.path.join(out, "b")], "host mode")
    ok("host's system directories" in err, err)
    eq(k.run(["remove", "hostbox"]).returncode, 0)
    eq(sorted(os.listdir(out)), ["exists"])

    # A copy that fails midway (a file of host root's in the tree, which the caller's namespace
    # cannot read) leaves nothing, not even the files its subordinate ids would own.
    if not k.drop:
        return
    tree = os.path.join(k.tmp, "tree-bundle")
    secret = os.path.join(tree, "etc", "root-only")
    with open(secret, "w") as f:
        f.write("root's\n")
    os.chmod(secret, 0o600)
    os.chown(secret, 0, 0)
    try:
        err = refused(["export", "--bundle", box, os.path.join(out, "b")], "copy fails midway")
        ok("root-only" in err, err)
        eq(sorted(os.listdir(out)), ["exists"])
    finally:
        os.unlink(secret)
