#!/usr/bin/env python3
"""Writes the .npy fixtures of tests/npy.rs with numpy. Run from anywhere:

    python3 tests/data/make_fixtures.py

The files are committed, so `cargo test` needs no numpy. Values are simple functions of the
flat index so the Rust tests can recompute them.
"""
import os

import numpy as np
from numpy.lib import format as npf

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def save_version(name, arr, version):
    with open(path(name), "wb") as f:
        npf.write_array(f, arr, version=version)


def raw(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def main():
    a = np.arange(12, dtype="<f8").reshape(3, 4) * 0.5
    np.save(path("f8_c_3x4.npy"), a)
    np.save(path("f8_f_3x4.npy"), np.asfortranarray(a))
    save_version("f8_v1.npy", a, (1, 0))
    save_version("f8_v2.npy", a, (2, 0))
    save_version("f8_v3.npy", a, (3, 0))
    np.save(path("f8_be_3x4.npy"), a.astype(">f8"))
    for dt in ["u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<c8", "<c16"]:
        name = "dtype_" + dt.lstrip("<|") + ".npy"
        np.save(path(name), (np.arange(6) - 2).astype(dt).reshape(2, 3))
    np.save(path("scalar_0d.npy"), np.array(7.25, dtype="<f8"))
    np.save(path("empty_0x5.npy"), np.zeros((0, 5), dtype="<f4"))
    np.save(path("i4_3d_2x3x4.npy"), np.arange(24, dtype="<i4").reshape(2, 3, 4))
    np.save(path("object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.save(path("structured.npy"), np.zeros(3, dtype=[("x", "<f8"), ("y", "<i4")]))
    np.save(path("string.npy"), np.array(["ab", "cd"], dtype="<U2"))
    np.save(path("bool.npy"), np.array([True, False, True]))
    # Element wrappers (issue 13): big-endian integers, a |b1 mask, and f8 data at byte 100,
    # which numpy reads (it accepts a header of any length) but no f64 view can.
    np.save(path("i4_be_2x3.npy"), (np.arange(6) - 2).astype(">i4").reshape(2, 3))
    np.save(path("b1_mask_2x5.npy"), (np.arange(10) % 3 == 0).reshape(2, 5))
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"
    hdr = text.encode("latin1")
    hdr = hdr + b" " * (100 - 10 - len(hdr) - 1) + b"\n"
    raw("f8_offset100_3x4.npy", b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + a.tobytes())
    assert np.array_equal(np.load(path("f8_offset100_3x4.npy")), a)
    assert np.array_equal(np.load(path("f8_offset100_3x4.npy"), mmap_mode="r"), a)

    good = open(path("f8_c_3x4.npy"), "rb").read()
    raw("broken_truncated_header.npy", good[:40])
    raw("broken_magic.npy", b"\x93NUMPZ" + good[6:])
    raw("broken_short_magic.npy", b"\x93NU")

    def with_header(name, text):
        hdr = text.encode("latin1")
        total = 10 + len(hdr) + 1
        pad = (64 - total % 64) % 64
        hdr = hdr + b" " * pad + b"\n"
        raw(name, b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + bytes(96))

    with_header("broken_missing_key.npy", "{'descr': '<f8', 'fortran_order': False, }")
    with_header("broken_literal.npy", "{'descr': '<f8', 'fortran_order': Flase, 'shape': (3, 4), }")
    with_header("broken_negative_shape.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (-3, 4), }")
    with_header("broken_overflow_shape.npy",
                "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }")
    raw("broken_data_past_eof.npy", good[:-8])


if __name__ == "__main__":
    main()
