#!/usr/bin/env python3
"""The Python half of tests/safetensors.rs: files written and read by the real `safetensors`
package (`safetensors.numpy`), so ndmmap is checked against it both ways. The tests run it in a
temporary directory; nothing is committed but this script.

    make_safetensors_fixtures.py make OUTDIR
        Writes OUTDIR/py.safetensors with safetensors.numpy.save_file (several dtypes, a 0-D
        and an empty tensor, metadata), and what safetensors.numpy.load_file reads back from
        it, for the Rust side to compare:
        OUTDIR/manifest.txt, one line per tensor `tensor<TAB>name<TAB>DTYPE<TAB>d0,d1,..<TAB>I`
        and per metadata entry `meta<TAB>key<TAB>value` (UTF-8 in hex); OUTDIR/I.bin, the
        tensor's bytes as numpy has them (little-endian, C order).

    make_safetensors_fixtures.py check FILE DIR
        Loads FILE with safetensors.numpy.load_file and checks it holds exactly the tensors of
        DIR/manifest.txt with the values of DIR/I.bin, and the metadata (safe_open); prints
        `ok N` and exits 0, or names the difference and exits 1.

    make_safetensors_fixtures.py load FILE...
        Prints `ok` or `error` per file: whether safetensors.numpy.load_file accepts it.
"""
import os
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
    "BOOL": "?", "C64": "<c8",
}
NAMES = {np.dtype(v).str: k for k, v in DTYPES.items()}


def tensors():
    """The fixture's tensors: values that differ at every index, and edge cases."""
    t = {
        "f64": np.arange(12, dtype="<f8").reshape(3, 4) * 0.25 - 1,
        "f32": (np.arange(24, dtype="<f4").reshape(2, 3, 4) - 7.5) / 3,
        "f16": np.linspace(-2, 2, 9).astype("<f2"),
        "i64": np.arange(-5, 5, dtype="<i8") * 1_000_000_007,
        "i32": np.arange(-6, 6, dtype="<i4").reshape(4, 3) * 65537,
        "i16": np.arange(-300, 300, 50, dtype="<i2"),
        "i8": np.arange(-128, 128, 17, dtype="i1"),
        "u64": np.arange(5, dtype="<u8") * (2**61 + 3),
        "u32": np.arange(7, dtype="<u4") * 600_000_001,
        "u16": np.arange(0, 65536, 4099, dtype="<u2"),
        "u8": np.arange(0, 256, 7, dtype="u1").reshape(37, 1),
        "mask": np.arange(10) % 3 == 0,
        "c64": (np.arange(6) - 2.5 + 1j * np.arange(6)[::-1]).astype("<c8"),
        "scalar": np.array(3.5, dtype="<f4"),
        "empty": np.zeros((0, 5), dtype="<f8"),
        "layers.0.weight": np.arange(6, dtype="<f4").reshape(2, 3),
        "uni\u00e9 \"q\"": np.array([1, 2], dtype="<i4"),
        # Fortran order: safetensors 0.8's save_file writes the array's memory as it lies
        # (data_ptr, nbytes), so load_file gives the values back in another order. The
        # expected bytes are what load_file gives, whatever that is.
        "fortran": np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)),
    }
    return t


METADATA = {"format": "np", "note": "h\u00e9llo \"world\"\n"}


def write_expected(out, arrays, metadata):
    with open(os.path.join(out, "manifest.txt"), "w", encoding="utf-8") as m:
        for i, (name, a) in enumerate(sorted(arrays.items())):
            dt = NAMES[a.dtype.str]
            m.write(f"tensor\t{name}\t{dt}\t{','.join(map(str, a.shape))}\t{i}\n")
            with open(os.path.join(out, f"{i}.bin"), "wb") as f:
                f.write(np.ascontiguousarray(a).tobytes())
        for k, v in sorted(metadata.items()):
            m.write(f"meta\t{k.encode().hex()}\t{v.encode().hex()}\n")


def read_expected(d):
    tensors, meta = {}, {}
    with open(os.path.join(d, "manifest.txt"), encoding="utf-8") as m:
        for line in m:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "tensor":
                _, name, dt, shape, i = parts
                shape = tuple(int(x) for x in shape.split(",") if x)
                with open(os.path.join(d, f"{i}.bin"), "rb") as f:
                    a = np.frombuffer(f.read(), dtype=DTYPES[dt]).reshape(shape)
                tensors[name] = a
            else:
                _, k, v = parts
                meta[bytes.fromhex(k).decode()] = bytes.fromhex(v).decode()
    return tensors, meta


def make(out):
    path = os.path.join(out, "py.safetensors")
    save_file(tensors(), path, metadata=METADATA)
    write_expected(out, load_file(path), METADATA)


def check(path, d):
    want, want_meta = read_expected(d)
    got = load_file(path)
    if set(got) != set(want):
        print(f"names differ: {sorted(got)} != {sorted(want)}")
        return 1
    for name, w in want.items():
        g = got[name]
        if g.dtype != w.dtype or g.shape != w.shape or not np.array_equal(g, w):
            print(f"{name!r}: got {g.dtype} {g.shape} {g!r}, want {w.dtype} {w.shape} {w!r}")
            return 1
    with safe_open(path, framework="np") as f:
        meta = f.metadata() or {}
    if meta != want_meta:
        print(f"metadata differs: {meta!r} != {want_meta!r}")
        return 1
    print(f"ok {len(want)}")
    return 0


def load(paths):
    for p in paths:
        try:
            load_file(p)
            print("ok")
        except Exception:  # noqa: BLE001 -- any refusal counts
            print("error")
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
        return 0
    if cmd == "check":
        return check(sys.argv[2], sys.argv[3])
    if cmd == "load":
        return load(sys.argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
