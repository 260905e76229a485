#!/usr/bin/env python3
"""The .npz fixtures of tests/npz.rs, written by numpy itself, and numpy's checks of the
archives ndmmap writes. tests/npz.rs runs it into a temporary directory; run it by hand as

    make_npz_fixtures.py fixtures OUT     savez.npz (+ OUT/expected/*.bin, savez.txt),
                                          compressed.npz, many.npz (zip64: 65600 members),
                                          duplicate.npz, extra.npz (a non-.npy member),
                                          lie.npz
    make_npz_fixtures.py check NPZ DIR    np.load every member of NPZ and compare it with
                                          DIR/<name>.bin and DIR/<name>.meta (written by ndmmap)
    make_npz_fixtures.py big OUT          big.npz: a member of 2**32 + 4096 bytes, then a small
                                          one past 4 GiB (about 4.3 GB of disk)
    make_npz_fixtures.py checkbig NPZ     np.load the big member of an archive ndmmap wrote

savez.txt has one line per member: name, descr, shape (comma-separated, '-' for 0-D),
fortran_order (0/1), and the absolute file offset of the array data, found from the zip local
header and the .npy header, independently of ndmmap.
"""

import struct
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np


def members():
    m = {}
    m["f8"] = np.arange(12, dtype="<f8").reshape(3, 4) * 1.5
    m["f4"] = np.linspace(-1, 1, 7, dtype="<f4")
    m["i8"] = np.arange(-5, 5, dtype="<i8") * 10**12
    m["i4"] = np.arange(24, dtype="<i4").reshape(2, 3, 4) - 7
    m["u2"] = np.arange(9, dtype="<u2").reshape(3, 3) * 1000
    m["u1"] = np.arange(256, dtype="|u1")
    m["i1"] = np.arange(-8, 8, dtype="|i1")
    m["b1"] = (np.arange(10) % 3 == 0).reshape(2, 5)
    m["c16"] = np.array([1 + 2j, -3.5j, 4, 0.25 - 1j], dtype="<c16")
    m["c8"] = np.array([1 + 1j, 2 - 2j], dtype="<c8")
    m["be_f8"] = (np.arange(6, dtype="<f8") + 0.5).astype(">f8").reshape(2, 3)
    m["be_i4"] = (np.arange(5) - 2).astype(">i4")
    m["fortran_f8"] = np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4))
    m["fortran_i2"] = np.asfortranarray(np.arange(20, dtype="<i2").reshape(4, 5))
    m["scalar"] = np.array(2.5, dtype="<f8")
    m["scalar_i8"] = np.array(-7, dtype="<i8")
    m["empty"] = np.zeros((0, 5), dtype="<f8")
    m["empty1"] = np.zeros(0, dtype="<i4")
    m["odd"] = np.arange(3, dtype="|u1")  # shifts what follows by an odd count
    m["after_odd"] = np.arange(5, dtype="<f8")
    return m


def data_offsets(path):
    """Absolute offset of each member's array data, read from the raw bytes."""
    raw = Path(path).read_bytes()
    out = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            h = info.header_offset
            n, e = struct.unpack("<HH", raw[h + 26 : h + 30])
            start = h + 30 + n + e
            major = raw[start + 6]
            if major == 1:
                (hl,) = struct.unpack("<H", raw[start + 8 : start + 10])
                out[info.filename] = start + 10 + hl
            else:
                (hl,) = struct.unpack("<I", raw[start + 8 : start + 12])
                out[info.filename] = start + 12 + hl
    return out


def native_bytes(a):
    """The values in C order and native byte order, as ndmmap's get() reads them."""
    return np.ascontiguousarray(a).astype(a.dtype.newbyteorder("=")).tobytes()


def fixtures(out):
    out = Path(out)
    (out / "expected").mkdir(parents=True, exist_ok=True)
    m = members()
    np.savez(out / "savez.npz", **m)
    offs = data_offsets(out / "savez.npz")
    with open(out / "savez.txt", "w") as f:
        for name, a in m.items():
            shape = ",".join(map(str, a.shape)) or "-"
            fortran = int(a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous)
            f.write(f"{name} {a.dtype.str} {shape} {fortran} {offs[name + '.npy']}\n")
            (out / "expected" / f"{name}.bin").write_bytes(native_bytes(a))
    np.savez_compressed(out / "compressed.npz", a=np.arange(1000.0), b=np.ones((10, 10), "<i4"))
    np.savez(out / "many.npz", **{f"a{i}": np.array([i], dtype="<i4") for i in range(65600)})
    np.savez(out / "lie.npz", a=np.arange(7, dtype="<f8"), b=np.arange(3, dtype="<i4"))
    np.savez(out / "extra.npz", a=np.arange(4, dtype="<f8"))
    with zipfile.ZipFile(out / "extra.npz", "a") as z:
        z.writestr("readme.txt", b"not an array")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(out / "duplicate.npz", "w") as z:
            for v in (1.0, 2.0):
                with z.open("x.npy", "w") as f:
                    np.lib.format.write_array(f, np.array([v]))


def check(npz, d):
    """np.load every member and compare with what ndmmap meant to write."""
    d = Path(d)
    n = 0
    with np.load(npz) as z:
        names = set(z.files)
        metas = sorted(p.stem for p in d.glob("*.meta"))
        assert names == set(metas), (sorted(names), metas)
        for name in metas:
            descr, shape, fortran = (d / f"{name}.meta").read_text().split()
            shape = () if shape == "-" else tuple(int(s) for s in shape.split(","))
            a = z[name]
            assert a.dtype == np.dtype(descr), (name, a.dtype, descr)
            assert a.shape == shape, (name, a.shape, shape)
            if fortran == "1":
                assert a.flags.f_contiguous, name
            exp = np.frombuffer((d / f"{name}.bin").read_bytes(), dtype=np.dtype(descr).newbyteorder("="))
            assert np.array_equal(a.reshape(-1, order="C"), exp), name
            n += 1
    print(f"ok {n}")


BIG = 2**32 + 4096


def big(out):
    a = np.zeros(BIG, dtype="|u1")
    a[0], a[2**32 - 1], a[2**32], a[-1] = 1, 2, 3, 4
    np.savez(Path(out) / "big.npz", big=a, after=np.arange(10, dtype="<f8"))


def checkbig(npz):
    with np.load(npz) as z:
        a = z["big"]
        assert a.shape == (BIG,) and a.dtype == np.uint8, (a.shape, a.dtype)
        assert (a[0], a[2**32 - 1], a[2**32], a[-1]) == (1, 2, 3, 4)
        assert int(a.sum(dtype=np.uint64)) == 10
        assert np.array_equal(z["after"], np.arange(10.0))
    print("ok big")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "fixtures":
        fixtures(sys.argv[2])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3])
    elif cmd == "big":
        big(sys.argv[2])
    elif cmd == "checkbig":
        checkbig(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")
