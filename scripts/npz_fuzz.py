#!/usr/bin/env python3
"""Differential test of ndmmap's .npz reader against numpy, over a generated corpus of hostile
archives.

Builds archives with numpy (np.savez, np.savez_compressed) and Python's zipfile, then breaks
them the ways the zip format can be broken: end records cut short, followed by trailing bytes or
by comments of the wrong length, wrong entry counts, directory sizes and offsets; zip64 records
with extreme sizes (2^62, 2^64 - 1), counts, offsets and locators; local header offsets past
the end, into another member, or all ones without a zip64 field; overlapping members; wrong
CRCs; compressed members with broken streams; duplicate names and names that collide as numpy
keys; names with NUL, slash, dot-dot, code page 437 and UTF-8 bytes; flags (encryption, UTF-8),
compression methods and zip versions numpy cannot read; prepended bytes; .npy headers that lie;
and random byte changes in every zip record. For each archive, numpy's `np.load(f)` and
`np.load(f)[name]` for its names are compared with ndmmap's (examples/npz_probe, which opens
with NpzOptions::verify, since numpy checks a member's CRC when it reads it). It fails on:

- an archive numpy opens where ndmmap refuses, or the reverse, or different member names;
- a member numpy reads where ndmmap maps different values, dtype or shape, or refuses it;
- a member numpy refuses (or returns as raw bytes: not a .npy image) where ndmmap maps an array;
- any crash of the probe.

Except where ndmmap refuses on purpose, each counted and listed in the summary:
- "compressed": numpy inflates a compressed member, ndmmap maps members in place only;
- "unsupported dtype": a dtype ndmmap does not map (object, structured; bytes, str, void,
  datetime and timedelta members are mapped as raw bytes and compared with numpy's);
- "ambiguous keys": two entries named alike, or `x` next to `x.npy` (numpy picks one quietly);
- "zip64 version-dependent": zip64 records that Python versions read differently (3.11 falls
  back to the 32-bit end record, or reads a prepended zip64 archive; later versions refuse);
- "overlap": a member whose stored size runs into the next local header, the directory or past
  the end of the file (Python 3.12+ refuses it as a possible zip bomb; 3.11 reads as many bytes
  as its uncompressed size says);
- "header lies": a member holding more bytes than its .npy header describes.

Usage: scripts/npz_fuzz.py [--random N] [--seed S] [--keep DIR] [--bin DIR]
CI runs it with the test build's probe (--bin target/debug); without --bin the probe is built
in release mode first. --random sets the number of randomly mutated archives (default 400).
"""

import argparse
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Members compared per archive (the first and last ones), so that big archives stay quick.
SAMPLE = 40


# ---------------------------------------------------------------- base archives

def arrays(rng):
    """A few arrays of the dtypes and layouts numpy writes."""
    return {
        "f8": np.arange(12, dtype="<f8").reshape(3, 4) * 1.5,
        "i4": np.arange(24, dtype="<i4").reshape(2, 3, 4) - 7,
        "u1": np.arange(7, dtype="|u1"),
        "be": (np.arange(5) - 2).astype(">i4"),
        "fo": np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)),
        "b1": np.array([True, False, True]),
        "c16": np.array([1 + 2j, -3.5j], dtype="<c16"),
        "s": np.array(2.5),
        "e": np.zeros((0, 3), dtype="<i2"),
        "r": np.array([rng.random() for _ in range(5)]),
        # numpy's non-numeric fixed-size types: mapped as raw bytes (compared as stored)
        "us": np.array([["ab", "c"], ["", "xyz"]]),
        "ub": np.array(["\u03b1", "\u03b2\u03b3"], dtype=">U2"),
        "bs": np.array([b"hello", b"x", b""]),
        "v8": np.frombuffer(bytes(range(16)), dtype="V8"),
        "dt": np.array(["2020-01-01T00:00:01", "NaT"], dtype="<M8[s]"),
        "td": np.array([[1, -2], [3, 4]], dtype=">m8[ns]"),
    }


def savez(arrs, compressed=False):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrs)
    return b.getvalue()


def npy(a):
    b = io.BytesIO()
    np.lib.format.write_array(b, np.asanyarray(a))
    return b.getvalue()


def zipped(entries, comment=b"", compression=zipfile.ZIP_STORED):
    """A zip archive of (name, bytes) written by Python's zipfile (zip32 headers)."""
    b = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(b, "w", compression) as z:
            for name, data in entries:
                z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
            z.comment = comment
    return b.getvalue()


# ---------------------------------------------------------------- zip structure

class Zip:
    """Where a well-formed archive's records are."""

    def __init__(self, b):
        self.eocd = b.rfind(b"PK\x05\x06")
        (self.cd_size, self.cd_offset) = struct.unpack_from("<LL", b, self.eocd + 12)
        self.z64 = None
        self.loc = None
        if self.eocd >= 20 and b[self.eocd - 20:self.eocd - 16] == b"PK\x06\x07":
            self.loc = self.eocd - 20
            self.z64 = struct.unpack_from("<Q", b, self.loc + 8)[0]
            self.cd_size, self.cd_offset = struct.unpack_from("<QQ", b, self.z64 + 40)
        self.central = []  # (position, name length, extra length, comment length, local offset)
        p = self.cd_offset
        while p < self.cd_offset + self.cd_size:
            n, e, c = struct.unpack_from("<HHH", b, p + 28)
            off = struct.unpack_from("<L", b, p + 42)[0]
            if off == 0xFFFFFFFF:  # zip64 extra: size fields first where they are all ones
                x = b[p + 46 + n:p + 46 + n + e]
                i = 0
                while i + 4 <= len(x):
                    tid, tl = struct.unpack_from("<HH", x, i)
                    if tid == 1:
                        k = 4
                        usize, csize = struct.unpack_from("<LL", b, p + 20)[::-1]
                        k += 8 * ((usize == 0xFFFFFFFF) + (csize == 0xFFFFFFFF))
                        off = struct.unpack_from("<Q", x, i + k)[0]
                    i += 4 + tl
            self.central.append((p, n, e, c, off))
            p += 46 + n + e + c

    def data(self, b, i):
        """(start, stored length) of member i's data."""
        _, _, _, _, off = self.central[i]
        n, e = struct.unpack_from("<HH", b, off + 26)
        csize = struct.unpack_from("<L", b, self.central[i][0] + 20)[0]
        if csize == 0xFFFFFFFF:
            csize = None
        return off + 30 + n + e, csize


def with_zip64_end(b):
    """The archive with zip64 end records (as zipfile writes past 65,535 entries) before its end
    record, whose counts, size and offset then say "see the zip64 record"."""
    z = Zip(b)
    count = len(z.central)
    record = struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                         z.cd_size, z.cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, z.eocd, 1)
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)
    return b[:z.eocd] + record + locator + end


def with_zip64_entries(b):
    """The zip32 archive with every directory entry's sizes and offset in a zip64 extra field
    (all ones in the fixed fields), as zipfile writes them for big members."""
    z = Zip(b)
    cd = bytearray()
    for p, nl, _, _, off in z.central:
        fixed = bytearray(b[p:p + 46])
        csize, usize = struct.unpack_from("<LL", fixed, 20)
        struct.pack_into("<LL", fixed, 20, 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<L", fixed, 42, 0xFFFFFFFF)
        extra = struct.pack("<HHQQQ", 1, 24, usize, csize, off)
        struct.pack_into("<HHH", fixed, 28, nl, len(extra), 0)
        cd += fixed + b[p + 46:p + 46 + nl] + extra
    end = bytearray(b[z.eocd:z.eocd + 22])
    struct.pack_into("<LLH", end, 12, len(cd), z.cd_offset, 0)
    return b[:z.cd_offset] + bytes(cd) + bytes(end)


def put(b, at, fmt, *v):
    b = bytearray(b)
    struct.pack_into(fmt, b, at, *v)
    return bytes(b)


def flip(b, at, mask=0xFF):
    b = bytearray(b)
    b[at] ^= mask
    return bytes(b)


def name_patch(b, old, new):
    """Replaces a name in both its local header and its directory entry (same length)."""
    assert len(old) == len(new)
    return b.replace(old, new)


# ---------------------------------------------------------------- the corpus

def corpus(rng, n_random):
    """(name, bytes, note) of every archive."""
    out = []

    def add(note, data):
        out.append((note, data))

    base = arrays(rng)
    sz = savez(base)                    # numpy's own: zip64 local headers, stored
    sc = savez(base, compressed=True)   # deflated
    zs = zipped([(k + ".npy", npy(v)) for k, v in base.items()])  # zip32, stored
    small = zipped([("a.npy", npy(np.arange(5.0))), ("b.npy", npy(np.arange(3, dtype="<i4")))])
    bases = {"savez": sz, "savez_compressed": sc, "zipfile": zs, "small": small,
             "small zip64": with_zip64_end(small), "small zip64 entries": with_zip64_entries(small)}
    for k, v in bases.items():
        add(k, v)
    add("empty archive", savez({}))
    add("many (zip64 end records, 65,600 entries)",
        zipped([(f"a{i}.npy", npy(np.array([i], dtype="<i4"))) for i in range(65600)]))
    many = out[-1][1]

    # Member contents and names numpy takes as they are, or quietly picks among.
    add("non-npy member (numpy returns bytes)",
        zipped([("a.npy", npy(np.arange(3.0))), ("readme.txt", b"hello")]))
    add("member without .npy suffix", zipped([("plain", npy(np.arange(4)))]))
    add("names: slash, dot-dot, space, empty key, utf-8",
        zipped([("dir/x.npy", npy(np.arange(2))), ("../up.npy", npy(np.arange(3))),
                 ("x y.npy", npy(np.ones(2))), (".npy", npy(np.zeros(1))),
                 ("ünï.npy", npy(np.arange(4)))]))
    add("duplicate names", zipped([("x.npy", npy(np.arange(3))), ("x.npy", npy(np.arange(4)))]))
    add("key collision a / a.npy", zipped([("a", npy(np.arange(3))), ("a.npy", npy(np.arange(4)))]))
    add("key collision a.npy / a.npy.npy",
        zipped([("a.npy", npy(np.arange(3))), ("a.npy.npy", npy(np.arange(4)))]))
    add("comment", zipped([("a.npy", npy(np.arange(3.0)))], comment=b"a comment"))
    add("comment with an end signature in it",
        zipped([("a.npy", npy(np.arange(3.0)))], comment=b"xxPK\x05\x06yy"))
    add("deflated by zipfile", zipped([("a.npy", npy(np.arange(100.0)))],
                                      compression=zipfile.ZIP_DEFLATED))
    add("bzip2 by zipfile", zipped([("a.npy", npy(np.arange(10.0)))],
                                   compression=zipfile.ZIP_BZIP2))
    lie = zipped([("a.npy", npy(np.arange(7.0))), ("b.npy", npy(np.arange(3, dtype="<i4")))])
    i = lie.find(b"'shape': (7,)")
    add("npy header claims more data", lie[:i + 10] + b"9" + lie[i + 11:])
    add("npy header claims less data", lie[:i + 10] + b"5" + lie[i + 11:])

    # Names patched in place (zipfile cuts NUL when writing): NUL, cp437, a slash.
    nm = zipped([("aXb.npy", npy(np.arange(3))), ("c.npy", npy(np.arange(2)))])
    add("name with NUL (cut there: key a)", name_patch(nm, b"aXb.npy", b"a\x00b.npy"))
    add("name with cp437 byte", name_patch(nm, b"aXb.npy", b"a\x81b.npy"))
    add("name with invalid utf-8 and the utf-8 flag",
        put(name_patch(nm, b"aXb.npy", b"a\xffb.npy"), Zip(nm).central[0][0] + 8, "<H", 0x800))
    z = Zip(nm)
    add("local name differs", flip(nm, z.central[0][4] + 30, 0x20))
    add("central name with NUL only", flip(nm, z.central[0][0] + 46 + 1, ord("X")))

    for bname, b in bases.items():
        z = Zip(b)
        n = len(b)
        # Cut short, trailing bytes, prepended bytes.
        for k in [1, 2, 10, 21, 22, 23, 40, 60, 100, n - z.cd_offset, n - 30]:
            if 0 < k < n:
                add(f"{bname}: last {k} bytes cut", b[:-k])
        add(f"{bname}: trailing junk", b + bytes(rng.randrange(256) for _ in range(37)))
        add(f"{bname}: trailing zeros (64 KiB)", b + bytes(65536))
        add(f"{bname}: trailing end signature", b + b"PK\x05\x06" + bytes(10))
        add(f"{bname}: trailing copy of the end record", b + b[z.eocd:z.eocd + 22])
        add(f"{bname}: trailing 70 KiB", b + bytes(70000))
        add(f"{bname}: prepended 100 bytes after a local signature",
            b"PK\x03\x04" + bytes(96) + b)
        add(f"{bname}: comment length too long", put(b, z.eocd + 20, "<H", 50))
        add(f"{bname}: comment length one", put(b, z.eocd + 20, "<H", 1) + b"!")
        # End record counts, size and offset.
        for v in [0, 1, 65535, rng.randrange(65536)]:
            add(f"{bname}: entry counts {v}", put(b, z.eocd + 8, "<HH", v, v))
        add(f"{bname}: disk numbers", put(b, z.eocd + 4, "<HH", 1, 1))
        if z.z64 is None:
            for v in [0, z.cd_size - 1, z.cd_size + 1, z.cd_size + 46, 0xFFFFFFFF, 1 << 31]:
                add(f"{bname}: directory size {v}", put(b, z.eocd + 12, "<L", v & 0xFFFFFFFF))
            for v in [0, z.cd_offset + 1, z.cd_offset - 1, 0xFFFFFFFF]:
                add(f"{bname}: directory offset {v}", put(b, z.eocd + 16, "<L", v & 0xFFFFFFFF))
        # zip64 records.
        if z.z64 is not None:
            r = z.z64
            for v in [1 << 62, (1 << 64) - 1, z.cd_size + 1, z.cd_size - 1, 0]:
                add(f"{bname}: zip64 directory size {v}", put(b, r + 40, "<Q", v))
            for v in [1 << 62, (1 << 64) - 1, z.cd_offset + 1]:
                add(f"{bname}: zip64 directory offset {v}", put(b, r + 48, "<Q", v))
            for v in [1 << 40, 0, (1 << 64) - 1]:
                add(f"{bname}: zip64 counts {v}", put(b, r + 24, "<QQ", v, v))
            add(f"{bname}: zip64 record signature broken", flip(b, r + 1))
            add(f"{bname}: zip64 record size field", put(b, r + 4, "<Q", 100))
            add(f"{bname}: zip64 locator offset +1", put(b, z.loc + 8, "<Q", r + 1))
            add(f"{bname}: zip64 locator offset 2^64-1", put(b, z.loc + 8, "<Q", (1 << 64) - 1))
            add(f"{bname}: zip64 locator two disks", put(b, z.loc + 16, "<L", 2))
            add(f"{bname}: zip64 locator signature broken", flip(b, z.loc + 1))
        else:
            # A zip64 locator planted before the end record, pointing nowhere.
            add(f"{bname}: stray zip64 locator", b[:z.eocd] + b"PK\x06\x07" + bytes(16) + b[z.eocd:])
        # Directory entries.
        for i in sorted({0, len(z.central) - 1, rng.randrange(len(z.central))}):
            p, nl, el, cl, off = z.central[i]
            tag = f"{bname}: entry {i}"
            add(f"{tag} signature broken", flip(b, p))
            add(f"{tag} CRC wrong", flip(b, p + 16, 0x01))
            add(f"{tag} local offset past the end", put(b, p + 42, "<L", min(n + 10, 0xFFFFFFFE)))
            add(f"{tag} local offset 0xfffffff0", put(b, p + 42, "<L", 0xFFFFFFF0))
            if struct.unpack_from("<L", b, p + 42)[0] != 0xFFFFFFFF:
                add(f"{tag} local offset all ones without zip64 field", put(b, p + 42, "<L", 0xFFFFFFFF))
                add(f"{tag} local offset of member 0 (aliased)", put(b, p + 42, "<L", z.central[0][4]))
                add(f"{tag} local offset +1", put(b, p + 42, "<L", off + 1))
            for v in [0, 1, 0xFFFFFFFE]:
                add(f"{tag} stored size {v}", put(b, p + 20, "<L", v))
            csize = struct.unpack_from("<L", b, p + 20)[0]
            if csize != 0xFFFFFFFF:
                add(f"{tag} sizes +100 (overlap)", put(b, p + 20, "<LL", csize + 100, csize + 100))
                add(f"{tag} sizes -1", put(b, p + 20, "<LL", csize - 1, csize - 1))
                add(f"{tag} uncompressed size +1", put(b, p + 24, "<L", csize + 1))
            add(f"{tag} sizes all ones without zip64 field",
                put(b, p + 20, "<LL", 0xFFFFFFFF, 0xFFFFFFFF))
            for m in [8, 12, 14, 99, 1]:
                add(f"{tag} method {m}", put(b, p + 10, "<H", m))
            for fl in [0x1, 0x8, 0x20, 0x40, 0x800]:
                add(f"{tag} flags {fl:#x}", put(b, p + 8, "<H", fl))
            for v in [63, 64, 255]:
                add(f"{tag} needs version {v}", put(b, p + 6, "<B", v))
            add(f"{tag} extra length +4", put(b, p + 30, "<H", el + 4))
            add(f"{tag} extra length 65535", put(b, p + 30, "<H", 65535))
            add(f"{tag} name length +1", put(b, p + 28, "<H", nl + 1))
            if el >= 4:
                add(f"{tag} extra field length too long", put(b, p + 46 + nl + 2, "<H", el))
                x = b[p + 46 + nl:p + 46 + nl + el]
                if x[:2] == b"\x01\x00":
                    for j in range((el - 4) // 8):
                        for v in [(1 << 64) - 1, 1 << 62, n + 1]:
                            add(f"{tag} zip64 field {j} = {v}",
                                put(b, p + 46 + nl + 4 + 8 * j, "<Q", v))
                    add(f"{tag} zip64 field empty", put(b, p + 46 + nl + 2, "<H", 0))
                    add(f"{tag} zip64 field 8 bytes", put(b, p + 46 + nl + 2, "<H", 8))
            # The local header.
            add(f"{tag} local signature broken", flip(b, off + 1))
            add(f"{tag} local extra length +8", put(b, off + 28, "<H",
                                                    struct.unpack_from("<H", b, off + 28)[0] + 8))
            add(f"{tag} local name length +1", put(b, off + 26, "<H", nl + 1))
            add(f"{tag} local utf-8 flag", put(b, off + 6, "<H", 0x800))
            start, _ = z.data(b, i)
            if start + 8 < n:
                add(f"{tag} data byte flipped", flip(b, start + 8 + rng.randrange(4)))
                add(f"{tag} npy magic broken", flip(b, start + 1))

    # The many-member zip64 archive: counts that lie, a directory size of 2^62.
    z = Zip(many)
    add("many: end record counts 65535 for 65,600", put(many, z.eocd + 8, "<HH", 65535, 65535))
    add("many: zip64 counts 1", put(many, z.z64 + 24, "<QQ", 1, 1))
    add("many: zip64 directory size 2^62", put(many, z.z64 + 40, "<Q", 1 << 62))

    # Random changes to the zip records of the base archives.
    regions = []
    for bname in bases:
        b = bases[bname]
        z = Zip(b)
        spots = list(range(z.cd_offset, len(b)))
        for _, _, _, _, off in z.central:
            spots += range(off, off + 40)
        regions.append((bname, b, spots))
    for k in range(n_random):
        bname, b, spots = rng.choice(regions)
        b = bytearray(b)
        changes = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            at = rng.choice(spots)
            v = rng.choice([0, 0xFF, rng.randrange(256), b[at] ^ (1 << rng.randrange(8))])
            b[at] = v
            changes.append(f"{at}={v}")
        add(f"random {bname}: " + " ".join(changes), bytes(b))
    return out


# ---------------------------------------------------------------- numpy

def checksum(a):
    """CRC-32 of the elements in logical C order, native byte order, bools as 0/1."""
    b = np.ascontiguousarray(a)
    if b.dtype.kind in "SUVMm":
        # Mapped as raw bytes: the bytes as stored.
        raw = b.tobytes()
    elif b.dtype.kind == "b":
        raw = (b.view(np.uint8) != 0).astype(np.uint8).tobytes()
    else:
        raw = b.astype(b.dtype.newbyteorder("="), copy=False).tobytes()
    return zlib.crc32(raw)


def sample(names):
    seen = list(dict.fromkeys(names))
    return seen if len(seen) <= SAMPLE else seen[:SAMPLE // 2] + seen[-SAMPLE // 2:]


def numpy_read(path):
    """['ok', files, {key: answer}] or ['err', reason]; an answer is ['ok', dtype, shape,
    crc], ['bytes', n] (numpy returns a member that is not a .npy image as bytes) or ['err',
    reason]."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = np.load(path, allow_pickle=False)
    except Exception as e:
        return ["err", f"{type(e).__name__}: {str(e)[:100]}"]
    if not isinstance(f, np.lib.npyio.NpzFile):
        return ["err", f"not an archive: {type(f).__name__}"]
    with f:
        files = list(f.files)
        got = {}
        for k in sample(files):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    v = f[k]
                if isinstance(v, np.ndarray):
                    got[k] = ["ok", v.dtype.str, [int(x) for x in v.shape], checksum(v)]
                else:
                    got[k] = ["bytes", len(v)]
            except Exception as e:
                got[k] = ["err", f"{type(e).__name__}: {str(e)[:100]}"]
    return ["ok", files, got]


def numpy_worker():
    for line in sys.stdin:
        p = line.rstrip("\n")
        print(json.dumps([p, numpy_read(p)]), flush=True)


def run_numpy(paths):
    """numpy's answers, from a worker restarted if the interpreter dies (counted as refused)."""
    ref, todo = {}, list(paths)
    while todo:
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--numpy-worker"],
                           input="\n".join(todo) + "\n", capture_output=True, text=True)
        for line in r.stdout.splitlines():
            p, ans = json.loads(line)
            ref[p] = ans
        rest = [p for p in todo if p not in ref]
        if rest:
            ref[rest[0]] = ["err", f"numpy crashed (status {r.returncode})"]
            rest = rest[1:]
        todo = rest
    return ref


# ---------------------------------------------------------------- ndmmap

def run_probe(probe, paths):
    """ndmmap's answers: ['ok', [names], {name: fields}] or ['err', kind, message] or
    ['crash', status, stderr]."""
    lib, todo = {}, list(paths)
    while todo:
        r = subprocess.run([probe], input="\n".join(todo) + "\n", capture_output=True,
                           text=True, errors="replace")
        cur, names, members = None, [], {}
        for line in r.stdout.splitlines():
            f = line.split("\t")
            if f[0] == "P":
                cur, names, members = f[1], [], {}
                lib_open = f[2:]
            elif f[0] == "M":
                name = bytes.fromhex(f[1]).decode("utf-8")
                names.append(name)
                members[name] = f[2:]
            elif f[0] == "E":
                if lib_open[0] == "ok":
                    lib[cur] = ["ok", names, members]
                else:
                    lib[cur] = ["err"] + lib_open[1:]
        rest = [p for p in todo if p not in lib]
        if rest:
            lib[rest[0]] = ["crash", r.returncode, r.stderr.strip()[-400:]]
            rest = rest[1:]
        todo = rest
    return lib


# Refusals ndmmap makes on purpose where numpy gives an answer: (category, test).
OPEN_REFUSALS = [
    ("ambiguous keys", lambda k, m: "both answer to the numpy key" in m or "two entries named" in m),
    ("zip64 version-dependent", lambda k, m: "zip64" in m and (
        "disagree" in m or "not preceded" in m or "differently" in m)),
]
MEMBER_REFUSALS = [
    ("compressed", lambda k, m: k == "Compressed"),
    ("unsupported dtype", lambda k, m: k.startswith("unsupported:")),
    ("overlap", lambda k, m: "such overlapping members" in m),
    ("header lies", lambda k, m: "the header lies" in m),
]


def refusal(table, kind, msg):
    for cat, test in table:
        if test(kind, msg):
            return cat
    return None


def compare(want, got, counts, refusals):
    """The failures of one archive: a list of strings."""
    if got[0] == "crash":
        return [f"probe crashed (status {got[1]}): {got[2]}"]
    if want[0] == "err":
        counts["numpy refuses"] += 1
        if got[0] == "ok":
            return ["ndmmap opens an archive numpy refuses"]
        counts["both refuse the archive"] += 1
        return []
    counts["numpy opens"] += 1
    if got[0] == "err":
        cat = refusal(OPEN_REFUSALS, got[1], got[2])
        if cat is None:
            return ["ndmmap refuses an archive numpy opens"]
        refusals[cat] = refusals.get(cat, 0) + 1
        return []
    fails = []
    if want[1] != got[1]:
        return [f"different names: numpy {want[1][:5]}..., ndmmap {got[1][:5]}..."]
    for key, w in want[2].items():
        g = got[2].get(key)
        counts["members compared"] += 1
        if g is None:
            fails.append(f"{key!r}: not listed by ndmmap")
        elif w[0] == "ok" and g[0] == "ok":
            if (w[1], w[2], w[3]) != (g[1], [int(x) for x in g[2].split(",") if x], int(g[3])):
                fails.append(f"{key!r}: numpy {w}, ndmmap {g}")
            else:
                counts["same values"] += 1
        elif w[0] == "ok":
            cat = refusal(MEMBER_REFUSALS, g[1], g[2])
            if cat is None:
                fails.append(f"{key!r}: ndmmap refuses a member numpy reads: {g[1]}: {g[2]}")
            else:
                refusals[cat] = refusals.get(cat, 0) + 1
        elif g[0] == "ok":
            fails.append(f"{key!r}: ndmmap maps a member numpy {'returns as bytes' if w[0] == 'bytes' else 'refuses'}: numpy {w}")
        else:
            counts["both refuse a member"] += 1
    return fails


def main():
    if sys.argv[1:] == ["--numpy-worker"]:
        return numpy_worker()
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--keep", help="write the archives here and keep them")
    ap.add_argument("--bin", help="directory holding examples/npz_probe (default: build it)")
    args = ap.parse_args()
    if args.bin:
        probe = os.path.join(args.bin, "examples", "npz_probe")
    else:
        subprocess.run(["cargo", "build", "--quiet", "--release", "--features", "npz",
                        "--example", "npz_probe"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        probe = os.path.join(target, "release", "examples", "npz_probe")
    rng = random.Random(args.seed)
    tmp = args.keep or tempfile.mkdtemp(prefix="npz-fuzz-")
    os.makedirs(tmp, exist_ok=True)
    notes = {}
    for i, (note, data) in enumerate(corpus(rng, args.random)):
        p = os.path.join(tmp, f"a{i:05d}.npz")
        with open(p, "wb") as f:
            f.write(data)
        notes[p] = note
    paths = list(notes)
    ref = run_numpy(paths)
    lib = run_probe(probe, paths)
    counts = {k: 0 for k in ["numpy opens", "numpy refuses", "both refuse the archive",
                             "members compared", "same values", "both refuse a member"]}
    refusals = {}
    failures = []
    for p in paths:
        for f in compare(ref[p], lib[p], counts, refusals):
            failures.append((p, f))
    print(f"npz_fuzz: seed {args.seed}, {len(paths)} archives in {tmp}")
    print("  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print("  ndmmap refuses on purpose where numpy answers: " +
          (", ".join(f"{k} {v}" for k, v in sorted(refusals.items())) or "nothing"))
    for p, f in failures[:40]:
        print(f"FAIL {os.path.basename(p)} ({notes[p]}): {f}")
        if ref[p][0] == "err":
            print(f"  numpy: {ref[p][1]}")
        if lib[p][0] != "ok":
            print(f"  ndmmap: {lib[p][1:]}")
    if failures:
        print(f"{len(failures)} failures (archives kept in {tmp}; rerun with --seed {args.seed})")
        sys.exit(1)
    if not args.keep:
        shutil.rmtree(tmp)
    print("  no disagreement and no crash")


if __name__ == "__main__":
    main()
