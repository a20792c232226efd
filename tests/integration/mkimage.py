#!/usr/bin/env python3
"""Builds test images without a registry: a busybox-static root in two
layers (the second with a whiteout, an opaque directory, a symlink and a
hard link), written as an OCI layout (layer 1 gzip, layer 2 plain), an
oci-archive and a docker-archive (what `docker save` writes), plus broken
layouts: a layer escaping the root by "..", one by a symlink, and one whose
layer does not match its digest.

Usage: mkimage.py OUTDIR   (BUSYBOX=/bin/busybox by default)"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

BUSYBOX = os.environ.get("BUSYBOX", "/bin/busybox")
APPLETS = ["sh", "cat", "ls", "id", "echo", "pwd", "httpd", "mkdir", "tr", "sleep"]

ENTRY = """#!/bin/sh
# the image's Entrypoint: reports what it was given, then serves it
{
  echo "argv=$*"
  echo "pwd=$(pwd)"
  echo "id=$(id -u):$(id -g)"
  echo "greeting=$GREETING"
  echo "from_image=$FROM_IMAGE"
  [ -e /etc/removed ] && echo "removed=present" || echo "removed=gone"
  echo "old=$(ls /opt/old | tr '\\n' ' ')"
  echo "link=$(cat /www/link)"
  echo "hard=$(cat /www/hard)"
} >/www/report
exec httpd -f -p 8080 -h /www
"""


def tar_bytes(entries):
    """entries: (name, kind, data_or_target, mode, uid) with kind file|dir|symlink|hardlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, mode, uid in entries:
            ti = tarfile.TarInfo(name)
            ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, uid, 1700000000
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def layers():
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    one = [("bin", "dir", None, 0o755, 0), ("bin/busybox", "file", bb, 0o755, 0)]
    one += [("bin/" + a, "symlink", "busybox", 0o777, 0) for a in APPLETS]
    one += [("bin/entry.sh", "file", ENTRY.encode(), 0o755, 0),
            ("etc", "dir", None, 0o755, 0),
            ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv/app:/bin/sh\n", 0o644, 0),
            ("etc/group", "file", b"root:x:0:\napp:x:1000:\nstaff:x:50:app\n", 0o644, 0),
            ("etc/motd", "file", b"motd-from-layer-1\n", 0o644, 0),
            ("etc/removed", "file", b"whited out by layer 2\n", 0o644, 0),
            ("opt/old", "dir", None, 0o755, 0),
            ("opt/old/stale", "file", b"hidden by the opaque dir\n", 0o644, 0),
            ("www", "dir", None, 0o755, 1000),
            ("www/index.html", "file", b"hello from the image\n", 0o644, 1000)]
    # (as image builders do, a layer carries the directories it writes in)
    two = [("etc", "dir", None, 0o755, 0), ("opt/old", "dir", None, 0o755, 0), ("www", "dir", None, 0o755, 1000),
           ("etc/.wh.removed", "file", b"", 0o644, 0),
           ("opt/old/.wh..wh..opq", "file", b"", 0o644, 0),
           ("opt/old/fresh", "file", b"from layer 2\n", 0o644, 0),
           ("www/link", "symlink", "/etc/motd", 0o777, 0),
           ("www/hello", "file", b"hello from layer 2\n", 0o644, 1000),
           ("www/hard", "hardlink", "www/hello", 0o644, 1000)]
    return [tar_bytes(one), tar_bytes(two)]


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def config(diff_ids, **over):
    cfg = {"Entrypoint": ["entry.sh"], "Cmd": ["serve"], "WorkingDir": "/srv/app", "User": "app",
           "Env": ["PATH=/bin", "GREETING=from-image", "FROM_IMAGE=yes"], "ExposedPorts": {"8080/tcp": {}}}
    cfg.update(over)
    return json.dumps({"architecture": "amd64", "os": "linux", "config": cfg,
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


def put_blob(layout, data):
    d = sha(data)
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def oci_layout(path, raw_layers, gzip_first=True, tag="v1", **over):
    os.makedirs(os.path.join(path, "blobs", "sha256"))
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    descs = []
    for i, raw in enumerate(raw_layers):
        blob = gzip.compress(raw, mtime=0) if (i == 0 and gzip_first) else raw
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if blob is not raw else "")
        descs.append({"mediaType": mt, "digest": put_blob(path, blob), "size": len(blob)})
    cfg = config([sha(r) for r in raw_layers], **over)
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": put_blob(path, cfg), "size": len(cfg)},
                      "layers": descs}).encode()
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                "digest": put_blob(path, man), "size": len(man),
                                                "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(index, f)
    return descs


def tar_dir(src, dst):
    with tarfile.open(dst, "w") as t:
        for name in sorted(os.listdir(src)):
            t.add(os.path.join(src, name), arcname=name)


def docker_archive(path, raw_layers):
    """docker save's legacy layout: ID/layer.tar, CONFIGHEX.json, manifest.json."""
    cfg = config([sha(r) for r in raw_layers])
    files = {sha(cfg)[7:] + ".json": cfg}
    names = []
    for i, raw in enumerate(raw_layers):
        lid = hashlib.sha256(b"layer-id-%d" % i).hexdigest()
        files[lid + "/layer.tar"] = raw
        names.append(lid + "/layer.tar")
    files["manifest.json"] = json.dumps([{"Config": sha(cfg)[7:] + ".json", "RepoTags": ["fbtest:v1"],
                                          "Layers": names}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return sha(cfg)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    raw = layers()
    oci_layout(os.path.join(out, "oci"), raw)
    tar_dir(os.path.join(out, "oci"), os.path.join(out, "image.oci.tar"))
    cfg_digest = docker_archive(os.path.join(out, "image.docker.tar"), raw)
    with open(os.path.join(out, "image-id"), "w") as f:
        f.write(cfg_digest + "\n")
    # a layer that climbs out with "..", and one that writes through a symlink out
    oci_layout(os.path.join(out, "escape-dotdot"), [tar_bytes([("../escaped", "file", b"x\n", 0o644, 0)])])
    oci_layout(os.path.join(out, "escape-symlink"),
               [tar_bytes([("evil", "symlink", os.path.join(out, "outside"), 0o777, 0),
                           ("evil/pwned", "file", b"x\n", 0o644, 0)])])
    # the plain second layer with one byte of its content changed: the tar
    # still reads, its digest does not match
    descs = oci_layout(os.path.join(out, "tampered"), raw)
    blob = os.path.join(out, "tampered", "blobs", "sha256", descs[1]["digest"][7:])
    data = bytearray(open(blob, "rb").read())
    at = data.find(b"from layer 2")
    data[at] = ord("F")
    open(blob, "wb").write(bytes(data))
    # an image that says nothing about what to run
    oci_layout(os.path.join(out, "nocmd"), raw, Entrypoint=None, Cmd=None)


if __name__ == "__main__":
    main()
