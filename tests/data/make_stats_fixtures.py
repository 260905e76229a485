#!/usr/bin/env python3
"""Writes the fixtures of tests/stats.rs (`ndmmap stats`) with numpy, and numpy's answers.

    python3 tests/data/make_stats_fixtures.py

Each array is tests/data/stats/NAME.npy; beside it NAME.json holds the cases the test runs on
it: the extra arguments (`--axis`, `--slice`), and numpy's results for them, as `ndmmap stats
--json` prints them: `axis` (resolved), `shape` (of the result), `count` (values reduced per
result), and `mean`, `min`, `max`, `std` as flat lists in C order (np.mean, np.min, np.max,
np.std with ddof=0). NaN and infinities are null (JSON has neither); min and max of nothing
(zero rows) are null. Integer min and max are exact integers, booleans are true/false.

float32 is reduced in float64 by ndmmap, so its expected mean and std are numpy's with
`dtype=np.float64` (numpy's default for float32 accumulates in float32). For 64-bit integers
numpy sums in float64, which is not exact: integer means and stds are written from exact
rational arithmetic (rounded once), and where numpy's own differ by more than 1e-12 (64-bit
values that cancel) the case also records numpy's under "numpy".

The seeds are fixed: running the script again writes the same files. The files are committed,
so `cargo test` needs no numpy.
"""
import json
import math
import os
import warnings
from fractions import Fraction

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stats")


def seq(x, kind):
    """A flat list of results, JSON-ready: NaN and infinities as None."""
    out = []
    for v in np.asarray(x).ravel(order="C").tolist():
        if kind == "b":
            out.append(bool(v))
        elif kind in "iu":
            out.append(int(v))
        else:
            v = float(v)
            out.append(v if math.isfinite(v) else None)
    return out


def parse_slice(spec, ndim):
    """numpy's index tuple for a --slice string."""
    parts = [p.strip() for p in spec.split(",")]
    index = []
    for p in parts:
        if ":" in p:
            f = [int(x) if x.strip() else None for x in p.split(":")]
            index.append(slice(*f))
        else:
            index.append(int(p))
    return tuple(index)


def exact(sel, axis):
    """Mean and std (ddof=0) of integers along `axis`, by exact rational arithmetic, each
    rounded once to float64."""
    moved = np.moveaxis(sel, axis, -1)
    shape = moved.shape[:-1]
    mean, std = [], []
    for lane in moved.reshape(-1, sel.shape[axis]):
        xs = [int(v) for v in lane.tolist()]
        if not xs:
            mean.append(math.nan)
            std.append(math.nan)
            continue
        m = Fraction(sum(xs), len(xs))
        var = sum((Fraction(x) - m) ** 2 for x in xs) / len(xs)
        mean.append(float(m))
        # The square root of the rational variance, correctly rounded (integer square root
        # of the scaled value).
        num, den = var.numerator, var.denominator
        scale = 2 ** 200
        std.append(math.isqrt(num * scale * scale // den) / scale)
    return np.array(mean).reshape(shape), np.array(std).reshape(shape)


def close(a, b):
    return (np.isnan(a) & np.isnan(b)) | (a == b) | (np.abs(a - b) <= 1e-12 * np.maximum(np.abs(a), np.abs(b)))


def case(a, axis=0, spec=None):
    sel = a[parse_slice(spec, a.ndim)] if spec else a
    k = axis + sel.ndim if axis < 0 else axis
    kind = a.dtype.kind
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        mean = np.mean(sel, axis=k, dtype=np.float64)
        std = np.std(sel, axis=k, dtype=np.float64)
    numpy_differs = None
    if kind in "iu":
        # numpy sums integers in float64, which loses the low bits of 64-bit values (and can
        # cancel them away: numpy's mean of [-2**63, 25, 2**63 - 1] is 0.0). The exact value
        # is the reference; where numpy's differs by more than 1e-12 it is kept for the record.
        em, es = exact(sel, k)
        if not (close(mean, em).all() and close(std, es).all()):
            numpy_differs = {"mean": seq(mean, "f"), "std": seq(std, "f")}
        mean, std = em, es
    shape = list(mean.shape)
    count = sel.shape[k]
    if count == 0:
        lo = hi = [None] * int(np.prod(shape, dtype=np.int64))
    else:
        lo, hi = seq(np.min(sel, axis=k), kind), seq(np.max(sel, axis=k), kind)
    args = ["--axis", str(axis)]
    if spec is not None:
        args += ["--slice", spec]
    out = {
        "args": args,
        "axis": k,
        "shape": shape,
        "count": count,
        "mean": seq(mean, "f"),
        "min": lo,
        "max": hi,
        "std": seq(std, "f"),
    }
    if numpy_differs:
        out["reference"] = "exact (numpy's float64 sum of 64-bit integers is not)"
        out["numpy"] = numpy_differs
    return out


def write(name, a, cases):
    np.save(os.path.join(HERE, name + ".npy"), a)
    doc = {
        "file": name + ".npy",
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "order": "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C",
        "cases": [case(a, *c) for c in cases],
    }
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(doc, f, allow_nan=False)
        f.write("\n")


def main():
    os.makedirs(HERE, exist_ok=True)
    rng = np.random.default_rng(20261125)

    # float64, C order, rows that divide no window; columns of very different scales.
    scale = np.array([1e-3, 1.0, 1e3, 1e6, 0.5, 7.0, 1e-8])
    offset = np.array([0.0, 5.0, -1e3, 1e4, 123.25, -7.5, 1.0])
    f8 = rng.standard_normal((1003, 7)) * scale + offset
    write("f8_1003x7", f8, [
        (0,), (1,), (-1,), (-2,),
        (0, "10:900:7,1:"), (1, "::-3,::2"), (0, "-1:0:-4,3"), (0, "5"), (0, "500:2000,:"),
    ])

    # More bytes than one block of rows (256 KiB): blocks merge within a window.
    big = rng.standard_normal((12007, 3)) * [1e-2, 1.0, 1e5] + [1e4, -3.0, 0.0]
    write("f8_12007x3", big, [(0,), (0, "::-1,1:")])

    # One long lane (1-D), offset far from zero: lane blocks merge stably.
    lane = rng.standard_normal(10007) * 1e-2 + 1e4
    write("f8_10007", lane, [(0,), (0, "::-7"), (-1, "100:9000")])

    # int32 with the extremes of its range: sums past int32 and float32.
    lo32, hi32 = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    i4 = np.empty((1003, 5), dtype="<i4")
    i4[:, 0] = rng.integers(lo32, hi32, size=1003, endpoint=True)
    i4[[3, 500], 0] = [lo32, hi32]
    i4[:, 1] = hi32
    i4[:, 2] = lo32
    i4[:, 3] = np.where(np.arange(1003) % 2 == 0, lo32, hi32)
    i4[:, 4] = rng.integers(-3, 4, size=1003)
    write("i4_1003x5", i4, [(0,), (1,), (0, "::2,3:")])

    # uint8 with 0 and 255, constant columns, and a column close to its maximum.
    u1 = np.empty((1003, 6), dtype="u1")
    u1[:, 0] = rng.integers(0, 255, size=1003, endpoint=True)
    u1[[0, 1002], 0] = [0, 255]
    u1[:, 1] = 255
    u1[:, 2] = 0
    u1[:, 3] = np.where(np.arange(1003) % 2 == 0, 0, 255)
    u1[:, 4] = 254 + (rng.random(1003) < 0.01)
    u1[:, 5] = rng.integers(0, 3, size=1003)
    write("u1_1003x6", u1, [(0,), (1,), (-1, "7:17")])

    # Fortran order: streamed along its last axis.
    ff = np.asfortranarray(rng.standard_normal((517, 9)) * 3.0 + 2.0)
    write("f8_fortran_517x9", ff, [(0,), (1,), (0, "3:400:5,2:8"), (1, "::-2,::-3"), (0, ":,4")])

    # No rows, and one row.
    write("f8_0x7", np.zeros((0, 7)), [(0,), (1,)])
    write("f8_1x7", rng.standard_normal((1, 7)) * 10, [(0,), (1,)])

    # Three axes: one value per element of the remaining shape.
    f3 = rng.standard_normal((6, 5, 4)) + np.arange(4)
    write("f8_3d_6x5x4", f3, [(0,), (1,), (2,), (-1,), (1, ":,1:4,::2"), (0, "2,:,:")])
    f3f = np.asfortranarray(f3)
    write("f8_3d_fortran_6x5x4", f3f, [(0,), (1,), (2,), (1, "::-1,1:4,::2")])

    # NaN and infinities: numpy's NaN propagation (null in JSON).
    odd = np.array([[1.0, np.inf, np.inf, 1.0],
                    [np.nan, 2.0, -np.inf, 2.0],
                    [3.0, 5.0, 1.0, 4.0]])
    write("f8_nan_inf_3x4", odd, [(0,), (1,)])

    # Every dtype stats reads, both byte orders, with each dtype's extremes in column 0.
    for dt in ["i1", "u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4",
               "<i8", ">i8", "<u8", ">u8", "<f4", ">f4", ">f8", "|b1"]:
        d = np.dtype(dt)
        if d.kind == "b":
            a = rng.random((257, 3)) < [0.5, 0.0, 0.9]
        elif d.kind in "iu":
            info = np.iinfo(d)
            n = d.newbyteorder("=")
            a = np.empty((257, 3), dtype=d)
            a[:, 0] = rng.integers(info.min, info.max, size=257, endpoint=True, dtype=n)
            a[[0, 256], 0] = [info.min, info.max]
            a[:, 1] = rng.integers(0, min(100, int(info.max)), size=257, dtype=n)
            a[:, 2] = info.max
        else:
            a = (rng.standard_normal((257, 3)) * [1.0, 1e3, 1e-3] + [0.0, 5.0, 1.0]).astype(d)
            a[0, 0] = np.finfo(d).max
            a[1, 0] = np.finfo(d).min
        write("dtype_" + dt.lstrip("<|").replace(">", "be_"), a.astype(d), [(0,), (1,)])

    # float16 (ndmmap's feature `half`), both byte orders: reduced in float64 as the others.
    for dt in ["<f2", ">f2"]:
        d = np.dtype(dt)
        a = (rng.standard_normal((257, 3)) * [1.0, 1e2, 1e-2] + [0.0, 5.0, 1.0]).astype(d)
        a[0, 0], a[1, 0] = np.finfo(d).max, np.finfo(d).min
        write("dtype_" + dt.lstrip("<").replace(">", "be_"), a, [(0,), (1,)])

    # Sums that overflow, as numpy answers: column 0 all 1e308 (mean and std inf), column 1
    # alternating +-1e308 (in order along a C-order column it cancels: mean 0, std inf; as a
    # contiguous Fortran-order column numpy sums it pairwise and meets inf - inf: NaN).
    big = np.empty((1000, 3))
    big[:, 0] = 1e308
    big[:, 1] = np.where(np.arange(1000) % 2 == 0, 1e308, -1e308)
    big[:, 2] = np.arange(1000)
    write("f8_overflow_1000x3", big, [(0,), (1,)])
    write("f8_overflow_fortran_1000x3", np.asfortranarray(big), [(0,), (1,)])


if __name__ == "__main__":
    main()
