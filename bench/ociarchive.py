#!/usr/bin/python3
"""bench/ociarchive.py TARBALL OUT NAME: an OCI archive (what `podman save --format oci-archive`
writes) of a root filesystem tarball, as one gzip layer, named NAME:latest, for the import
rows that compare kakuri image import with podman load. The tarball may be zstd-compressed."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

src, out, name = sys.argv[1:4]
tmp = out + ".layer"
diff = hashlib.sha256()
with open(tmp, "wb") as raw:
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
        cat = subprocess.Popen(["zstd", "-dcq", src] if src.endswith(".zst") else ["cat", src],
                               stdout=subprocess.PIPE)
        for block in iter(lambda: cat.stdout.read(1 << 20), b""):
            diff.update(block)
            gz.write(block)
        if cat.wait() != 0:
            sys.exit(f"ociarchive.py: cannot read {src}")
layer = hashlib.sha256()
with open(tmp, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        layer.update(block)


def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff.hexdigest()]}}
                    ).encode()
cdig, _ = blob(config)
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig,
               "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + layer.hexdigest(), "size": os.path.getsize(tmp)}]}).encode()
mdig, _ = blob(manifest)
index = json.dumps({"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig,
    "size": len(manifest),
    "annotations": {"org.opencontainers.image.ref.name": name + ":latest"}}]}).encode()


def add(t, path, data=None, file=None):
    info = tarfile.TarInfo(path)
    info.mode = 0o644
    if file:
        info.size = os.path.getsize(file)
        with open(file, "rb") as f:
            t.addfile(info, f)
    else:
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))


with tarfile.open(out + ".new", "w") as t:
    add(t, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    add(t, "index.json", index)
    add(t, "blobs/sha256/" + layer.hexdigest(), file=tmp)
    add(t, "blobs/sha256/" + cdig[7:], config)
    add(t, "blobs/sha256/" + mdig[7:], manifest)
os.unlink(tmp)
os.rename(out + ".new", out)
