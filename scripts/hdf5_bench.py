#!/usr/bin/env python3
"""HDF5: ndmmap against h5py on one contiguous dataset (issue 23's measurements).

    hdf5_bench.py NDMMAP_BIN DIR [MIB]

Writes DIR/bench.h5 with one contiguous <f8 dataset /x of MIB MiB (default 256) as 1000-wide
rows, then times, median of 5 runs each (the page cache emptied first for the cold ones,
with `ndmmap evict`):
  open+map    `ndmmap info FILE:/x` (a process: open, list, map, residency) vs h5py open +
              one element, and h5py open + a 1000-row slice
  full pass   `ndmmap stats FILE:/x` (stream + mean/std/min/max per column) vs h5py
              `d[...]` then `.mean(0)`, cold and cached
"""
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np

ndmmap, outdir = sys.argv[1], sys.argv[2]
mib = int(sys.argv[3]) if len(sys.argv) > 3 else 256
path = outdir + "/bench.h5"
rows = mib * 1024 * 1024 // 8 // 1000
with h5py.File(path, "w") as f:
    d = f.create_dataset("x", shape=(rows, 1000), dtype="<f8")
    for r in range(0, rows, 4096):
        n = min(4096, rows - r)
        d[r:r + n] = np.random.default_rng(r).random((n, 1000))


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def evict():
    run([ndmmap, "evict", path])


def timed(fn, cold, n=5):
    ts = []
    for _ in range(n):
        if cold:
            evict()
        else:
            fn()
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def h5_one():
    with h5py.File(path, "r") as f:
        f["x"][rows // 2, 500]


def h5_slice():
    with h5py.File(path, "r") as f:
        f["x"][rows // 2:rows // 2 + 1000]


def h5_full():
    with h5py.File(path, "r") as f:
        f["x"][...].mean(0)


def nd_info():
    run([ndmmap, "info", path + ":/x"])


def nd_stats():
    run([ndmmap, "stats", path + ":/x"])


print(f"{mib} MiB dataset, {rows} x 1000 <f8; medians of 5 (seconds)")
print(f"open+map   ndmmap info (process)    {timed(nd_info, False):.4f}")
print(f"open+read  h5py one element          {timed(h5_one, False):.4f}")
print(f"open+read  h5py 1000-row slice       {timed(h5_slice, False):.4f}")
for cold in (True, False):
    tag = "cold  " if cold else "cached"
    print(f"{tag} full pass  ndmmap stats        {timed(nd_stats, cold):.3f}")
    print(f"{tag} full pass  h5py d[...].mean(0) {timed(h5_full, cold):.3f}")
