#!/usr/bin/env python3
"""Regenerates the hostile archives in this directory (see README.md). Deterministic: fixed
mtimes, gzip mtime 0. Run: /usr/bin/python3 make_hostile.py"""
import gzip
import io
import tarfile


def tar_bytes(build, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        build(t)
    return buf.getvalue()


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def add_file(t, name, data=b"{}"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1767225600
    t.addfile(info, io.BytesIO(data))


def add_special(t, name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    info.mtime = 1767225600
    t.addfile(info)


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


good = tar_bytes(lambda t: add_file(t, "metadata/version", b"1.1.0\n"))
write("absolute-path.tar.gz", gz(tar_bytes(lambda t: add_file(t, "/etc/cron.d/evil"))))
write("dotdot.tar.gz", gz(tar_bytes(lambda t: add_file(t, "resources/../../../tmp/evil"))))
write("symlink.tar.gz", gz(tar_bytes(lambda t: (add_special(t, "resources", tarfile.SYMTYPE, "/etc"),
                                                add_file(t, "resources/passwd")))))
write("hardlink.tar.gz", gz(tar_bytes(lambda t: add_special(t, "h", tarfile.LNKTYPE, "/etc/shadow"))))
write("fifo.tar.gz", gz(tar_bytes(lambda t: add_special(t, "fifo", tarfile.FIFOTYPE))))
write("chardev.tar.gz", gz(tar_bytes(lambda t: add_special(t, "null", tarfile.CHRTYPE))))
write("bomb.tar.gz", gz(tar_bytes(lambda t: add_file(t, "zeros", bytes(32 << 20)))))
write("truncated-gzip.tar.gz", gz(good)[:-9])
write("trailing-garbage.tar.gz", gz(good) + b"GARBAGE")
bad = bytearray(good)
bad[148:156] = b"0000000\0"  # wrong checksum
write("bad-checksum.tar.gz", gz(bytes(bad)))
write("no-end-marker.tar.gz", gz(good[:1024]))
