#!/usr/bin/env python3
"""HDF5: ndmmap against h5py on one contiguous dataset (issue 23's measurements).

    hdf5_bench.py PROBE DIR [MIB] [ROUNDS]

PROBE is the release build of examples/hdf5_probe.rs
(`cargo build --release --features hdf5 --example hdf5_probe`; target/release/examples/hdf5_probe).
Writes DIR/bench.h5 with one contiguous <f8 dataset /x of MIB MiB (default 256) in rows of
1000, then runs ROUNDS (default 5) interleaved rounds; each operation is timed in-process on
both sides (the probe prints its own time; h5py's is taken around the call), and the medians
are printed, with ratios within the run:
  open + one element   Container::open + map + read one element  vs  h5py.File + d[i, j]
  open + 1000 rows     ... + sum a 1000-row slice                  vs  h5py.File + d[a:a+1000]
  full pass, cold      a Stream over the map (column sums)         vs  h5py d[...] then .sum(0)
  full pass, cached    the same with the file in the page cache
The cold rounds empty the page cache of the file first (posix_fadvise DONTNEED through
os.posix_fadvise, after fsync), the cached ones read it once first.
"""
import os
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np

probe, outdir = sys.argv[1], sys.argv[2]
mib = int(sys.argv[3]) if len(sys.argv) > 3 else 256
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
path = os.path.join(outdir, "bench.h5")
rows = mib * 1024 * 1024 // 8 // 1000
with h5py.File(path, "w") as f:
    d = f.create_dataset("x", shape=(rows, 1000), dtype="<f8")
    for r in range(0, rows, 4096):
        n = min(4096, rows - r)
        d[r:r + n] = np.random.default_rng(r).random((n, 1000))


def evict():
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm():
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def nd(op):
    out = subprocess.run([probe, op, path, "/x"], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def h5(op):
    t = time.perf_counter()
    with h5py.File(path, "r") as f:
        d = f["x"]
        if op == "open":
            d[rows // 2, 500]
        elif op == "slice":
            d[rows // 2:rows // 2 + 1000].sum()
        else:
            d[...].sum(0)
    return time.perf_counter() - t


cases = [("open + one element", "open", None), ("open + 1000 rows", "slice", None),
         ("full pass, cold", "pass", True), ("full pass, cached", "pass", False)]
times = {(c, side): [] for c, _, _ in cases for side in ("ndmmap", "h5py")}
for _ in range(rounds):
    for name, op, cold in cases:
        for side, fn in (("ndmmap", nd), ("h5py", h5)):
            if cold is True:
                evict()
            elif cold is False or op != "pass":
                warm()
            times[(name, side)].append(fn(op))

print(f"{mib} MiB contiguous <f8 dataset ({rows} x 1000), h5py {h5py.__version__} "
      f"(HDF5 {h5py.version.hdf5_version}); medians of {rounds} interleaved rounds, seconds")
print(f"{'':22} {'ndmmap':>10} {'h5py':>10} {'h5py/ndmmap':>12}")
for name, _, _ in cases:
    a = statistics.median(times[(name, "ndmmap")])
    b = statistics.median(times[(name, "h5py")])
    print(f"{name:22} {a:10.5f} {b:10.5f} {b / a:11.1f}x")
