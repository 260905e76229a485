"""ndmmap against numpy, side by side in one run: interleaved rounds, medians.

    python python/bench.py [--rounds 5] [--dir DIR] [--gib 1] [--only open,stats,residency]

Benchmarks (each a function in BENCHMARKS, run in turn on one shared setup):
  open    ndmmap.open('x.npz:a') + one element  vs  np.load('x.npz')['a'] + one element,
          each in a fresh subprocess: wall time and peak RSS growth (VmHWM) of the open + read;
  stats   ndmmap.stats('x.npz:a', axis=0)  vs  numpy's mean, std, min and max along axis 0 of
          the same array (mapped; the file is in the page cache for both);
  residency  ndmmap.residency(a) of a 4 GiB np.memmap (float64, (524288, 1024): 2 pages a
          row) vs `fincore` on the same file; the file sparse, every other MiB read through
          a map advised 'random' (half of its pages in the page cache, 2048 runs of 1 MiB);
          the answers (resident bytes) checked equal.
          The file is made in --dir (default: the temp dir) and removed after.

A new benchmark is a function `(setup: Setup, rounds: int) -> list[Row]` appended to
BENCHMARKS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List

import numpy as np

# The installed package (pip install ./python), not the source tree beside this script, which
# has no extension built into it (`maturin develop` puts python/ on the path itself).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import ndmmap  # noqa: E402

COLS = 64  # the member is (rows, 64) float64


@dataclass
class Setup:
    dir: Path
    npz: Path  # one uncompressed member `a` of `nbytes`
    nbytes: int


@dataclass
class Row:
    bench: str
    who: str
    seconds: float  # median
    peak_rss: int | None  # median bytes, where measured

    def line(self) -> str:
        rss = "" if self.peak_rss is None else f"{self.peak_rss / 2**20:10.1f} MiB"
        return f"| {self.bench:<6} | {self.who:<48} | {self.seconds * 1e3:10.1f} ms | {rss:>14} |"


def write_npz(path: Path, nbytes: int) -> None:
    """An .npz whose member `a` is (nbytes / 8 / 64, 64) float64, streamed (never whole in RAM)."""
    rows = nbytes // 8 // COLS
    header = {"descr": "<f8", "fortran_order": False, "shape": (rows, COLS)}
    block = (np.random.default_rng(0).standard_normal(1 << 20) + 1.0).tobytes()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        with z.open("a.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            left = rows * COLS * 8
            while left:
                chunk = block[: min(left, len(block))]
                f.write(chunk)
                left -= len(chunk)


CHILD = r"""
import sys, time
import numpy as np, ndmmap
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024
    raise RuntimeError('no VmHWM')
who, path = sys.argv[1], sys.argv[2]
before = hwm()
t = time.perf_counter()
if who == 'ndmmap':
    a = ndmmap.open(path + ':a')
else:
    a = np.load(path)['a']
x = float(a[a.shape[0] // 2, 3])
print(time.perf_counter() - t, hwm() - before)
"""


def bench_open(s: Setup, rounds: int) -> List[Row]:
    who = {
        "ndmmap": "ndmmap.open('x.npz:a')[i, j]",
        "numpy": "np.load('x.npz')['a'][i, j]",
    }
    times: dict[str, list[float]] = {k: [] for k in who}
    rss: dict[str, list[int]] = {k: [] for k in who}
    for _ in range(rounds):
        for k in who:  # interleaved
            out = subprocess.run(
                [sys.executable, "-c", CHILD, k, str(s.npz)],
                check=True, capture_output=True, text=True,
            ).stdout.split()
            times[k].append(float(out[0]))
            rss[k].append(int(out[1]))
    return [
        Row("open", f"{who[k]} ({s.nbytes >> 20} MiB member)", statistics.median(times[k]),
            int(statistics.median(rss[k])))
        for k in who
    ]


def bench_stats(s: Setup, rounds: int) -> List[Row]:
    spec = f"{s.npz}:a"
    a = ndmmap.open(spec)
    np.add.reduce(a, axis=0)  # the file into the page cache

    def with_ndmmap() -> None:
        ndmmap.stats(spec, axis=0)

    def with_numpy() -> None:
        np.mean(a, axis=0), np.std(a, axis=0), np.min(a, axis=0), np.max(a, axis=0)

    runs: dict[str, Callable[[], None]] = {
        f"ndmmap.stats('x.npz:a', axis=0) ({os.cpu_count()} threads)": with_ndmmap,
        "np.mean, np.std, np.min, np.max (axis=0)": with_numpy,
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for k, f in runs.items():  # interleaved
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return [Row("stats", k, statistics.median(v), None) for k, v in times.items()]


RES_ROWS, RES_COLS = 524288, 1024  # float64: 4 GiB, a row 8 KiB


def bench_residency(s: Setup, rounds: int) -> List[Row]:
    path = s.dir / "res.f8"
    nbytes = RES_ROWS * RES_COLS * 8
    with open(path, "wb") as fh:
        fh.truncate(nbytes)  # sparse
    try:
        a = np.memmap(path, dtype=np.float64, mode="r", shape=(RES_ROWS, RES_COLS))
        # Every other MiB: one byte of each of its pages read through the map.
        mib = np.memmap(path, dtype=np.uint8, mode="r", shape=(nbytes >> 21, 2, 1 << 20))
        ndmmap.advise(mib, "random")  # no read-ahead: only the pages read come in
        int(mib[:, 0, ::4096].sum())
        del mib
        page = os.sysconf("SC_PAGE_SIZE")

        def with_ndmmap() -> int:
            return ndmmap.residency(a).resident_pages * page

        def with_fincore() -> int:
            out = subprocess.run(
                ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                check=True, capture_output=True, text=True,
            ).stdout
            return int(out.split()[0])

        runs: dict[str, Callable[[], int]] = {
            "ndmmap.residency(a) (4 GiB memmap, half resident)": with_ndmmap,
            "fincore --bytes FILE (a process of its own)": with_fincore,
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        answers: dict[str, set[int]] = {k: set() for k in runs}
        for _ in range(rounds):
            for k, f in runs.items():  # interleaved
                t = time.perf_counter()
                answers[k].add(f())
                times[k].append(time.perf_counter() - t)
        got = {k: sorted(v) for k, v in answers.items()}
        if len({tuple(v) for v in got.values()}) != 1 or len(answers[next(iter(runs))]) != 1:
            raise SystemExit(f"residency: the answers differ: {got}")
        if answers[next(iter(runs))] != {nbytes // 2}:
            print(f"note: {answers} bytes resident, not half of {nbytes}", file=sys.stderr)
        return [Row("resid.", k, statistics.median(v), None) for k, v in times.items()]
    finally:
        path.unlink()


BENCHMARKS: List[Callable[[Setup, int], List[Row]]] = [bench_open, bench_stats, bench_residency]
# The benchmarks that read the .npz member (the setup writes it only for them).
NEEDS_NPZ = {bench_open, bench_stats}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--gib", type=float, default=1.0, help="size of the .npz member (GiB)")
    p.add_argument("--dir", type=Path, default=None, help="where to write the files (default: a temp dir)")
    names = [b.__name__.removeprefix("bench_") for b in BENCHMARKS]
    p.add_argument("--only", default=",".join(names), help=f"benchmarks to run, of {','.join(names)}")
    args = p.parse_args()
    chosen = [b for b in BENCHMARKS if b.__name__.removeprefix("bench_") in args.only.split(",")]
    if not chosen:
        p.error(f"--only {args.only}: none of {','.join(names)}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        nbytes = int(args.gib * 2**30) // (8 * COLS) * (8 * COLS)
        s = Setup(Path(tmp), Path(tmp) / "x.npz", nbytes)
        if any(b in NEEDS_NPZ for b in chosen):
            write_npz(s.npz, nbytes)
        print(f"{args.rounds} rounds, medians; {os.cpu_count()} cores; numpy {np.__version__}")
        print(f"| bench  | {'what':<48} | {'time':>13} | {'peak RSS':>14} |")
        print(f"|--------|{'-' * 50}|{'-' * 15}|{'-' * 16}|")
        for bench in chosen:
            for row in bench(s, args.rounds):
                print(row.line(), flush=True)


if __name__ == "__main__":
    main()
