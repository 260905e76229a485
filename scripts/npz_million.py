#!/usr/bin/env python3
"""Peak memory and time of ndmmap's commands on an .npz archive of very many members, beside
numpy's np.load and Python's zipfile, each in a process of its own.

The archive is np.savez of N one-element float64 arrays (a million by default: 254 MB, the
case where the directory, not the data, is what costs memory). Each command runs ROUNDS times,
interleaved; the table gives the median seconds and the largest peak RSS (the kernel's
ru_maxrss of the child, from wait4) of each.

Usage: scripts/npz_million.py [--members N] [--rounds R] [--bin target/release/ndmmap] [--dir D]
Build first: cargo build --release --features cli
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(argv):
    """Seconds and peak RSS (MiB) of one run of argv, its output discarded."""
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{argv}: status {p.returncode}: {err.strip()[:500]}")
    return seconds, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "ndmmap"))
    ap.add_argument("--dir", default=None, help="where the archive is written (default: a temp dir)")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit(f"{a.bin} not found: build it with cargo build --release --features cli")
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        path = os.path.join(d, "many.npz")
        t = time.perf_counter()
        py = sys.executable
        # Written by a process of its own: a child's peak RSS counts its parent's pages from
        # before it exec'd, so this process stays small.
        version = subprocess.run(
            [
                py,
                "-c",
                "import numpy as np, sys; n = int(sys.argv[2]); "
                "np.savez(sys.argv[1], **{f'a{i}': np.array([float(i)]) for i in range(n)}); "
                "print(np.__version__)",
                path,
                str(a.members),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(
            f"{a.members} members, {os.path.getsize(path) / 1e6:.0f} MB, written by np.savez in "
            f"{time.perf_counter() - t:.0f} s (numpy {version}, Python {sys.version.split()[0]})"
        )
        cases = {
            "numpy: d = np.load(f); list(d.keys())": [
                py, "-c", "import numpy as np, sys; d = np.load(sys.argv[1]); list(d.keys())", path
            ],
            "numpy: np.load(f)['a0'] (one member read)": [
                py, "-c", "import numpy as np, sys; np.load(sys.argv[1])['a0']", path
            ],
            "zipfile: ZipFile(f).namelist()": [
                py, "-c", "import zipfile, sys; zipfile.ZipFile(sys.argv[1]).namelist()", path
            ],
            "ndmmap info": [a.bin, "info", path],
            "ndmmap info --json": [a.bin, "info", "--json", path],
            "ndmmap residency --json": [a.bin, "residency", "--json", path],
            "ndmmap touch": [a.bin, "touch", path],
            "ndmmap evict": [a.bin, "evict", path],
            "ndmmap info FILE:a0 (one member)": [a.bin, "info", path + ":a0"],
        }
        results = {k: [] for k in cases}
        for _ in range(a.rounds):
            for k, argv in cases.items():
                results[k].append(run(argv))
        base = max(r for _, r in results["numpy: d = np.load(f); list(d.keys())"])
        print(f"{'what':<45} {'median s':>9} {'peak RSS MiB':>13} {'vs numpy':>9}")
        for k, rs in results.items():
            s = statistics.median(x for x, _ in rs)
            m = max(r for _, r in rs)
            print(f"{k:<45} {s:>9.2f} {m:>13.0f} {m / base:>8.2f}x")


if __name__ == "__main__":
    main()
