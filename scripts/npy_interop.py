#!/usr/bin/env python3
"""Round trip between ndmmap and real numpy: ndmmap creates, writes and grows files that numpy
loads and checks value by value; numpy writes files that ndmmap maps and sums. Exits non-zero
on any mismatch. Run by scripts/npy_interop.sh (which builds the Rust half)."""
import os
import subprocess
import sys
import tempfile

import numpy as np

exe = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory() as d:
    subprocess.run([exe, "write", d], check=True)
    g = np.load(os.path.join(d, "grown.npy"))
    i, j = np.indices((100_000, 4))
    check(g.shape == (100_000, 4) and g.dtype == np.dtype("<f8"), f"grown.npy shape {g.shape} dtype {g.dtype}")
    check(np.array_equal(g, 10.0 * i + j), "grown.npy values after two in-place grows")
    gm = np.load(os.path.join(d, "grown.npy"), mmap_mode="r")
    check(gm.shape == (100_000, 4) and gm[99_999, 3] == 999_993.0, "grown.npy through np.load(mmap_mode='r')")
    f = np.load(os.path.join(d, "fortran.npy"))
    i, j = np.indices((7, 5))
    check(f.flags.f_contiguous and np.array_equal(f, 100 * i + j) and f.dtype == np.dtype("<i4"), "fortran.npy")
    c = np.load(os.path.join(d, "complex.npy"))
    check(c.dtype == np.dtype("<c8") and np.array_equal(c, np.arange(5) - 1j * np.arange(5)), "complex.npy")
    s = np.load(os.path.join(d, "scalar.npy"))
    check(s.shape == () and s.dtype == np.dtype("<u2") and int(s) == 513, "scalar.npy")

    rng = np.random.default_rng(7)
    arrays = {
        "c_f8.npy": rng.standard_normal((300, 17)),
        "f_f8.npy": np.asfortranarray(rng.standard_normal((31, 9, 4))),
        "i8.npy": np.arange(-500, 500, dtype="<i8").reshape(10, 100),
        "f4.npy": rng.standard_normal(12345).astype("<f4"),
        "u1_empty.npy": np.zeros((0, 3), dtype="u1"),
        "big_header.npy": np.ones((2,) * 20, dtype="<f8"),
    }
    paths = []
    for name, a in arrays.items():
        p = os.path.join(d, name)
        np.save(p, a)
        paths.append(p)
    p3 = os.path.join(d, "v3.npy")
    with open(p3, "wb") as fh:
        np.lib.format.write_array(fh, arrays["c_f8.npy"], version=(3, 0))
    paths.append(p3)
    arrays["v3.npy"] = arrays["c_f8.npy"]
    out = subprocess.run([exe, "read", *paths], check=True, capture_output=True, text=True).stdout
    for line in out.strip().splitlines():
        name, descr, shape, order, total, weighted = line.split()
        a = arrays[name]
        want_shape = ",".join(map(str, a.shape))
        want_order = "F" if (a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous) else "C"
        ok = descr == a.dtype.str and shape == want_shape and order == want_order
        ok = ok and np.isclose(float(total), a.astype(np.float64).sum(), rtol=1e-9, atol=1e-6)
        if a.dtype == np.float64:
            w = (np.arange(a.size).reshape(a.shape) * a).sum()
            ok = ok and np.isclose(float(weighted), w, rtol=1e-9, atol=1e-6)
        check(ok, f"ndmmap reads numpy's {name}: {line}")

if failures:
    sys.exit(f"{len(failures)} interop check(s) failed")
print("numpy interop: all checks passed")
