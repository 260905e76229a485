"""The page toolkit on numpy's own maps: residency against mincore (through ctypes), advice,
eviction, flushing and locking, and the TypeError of arrays that no mapping backs."""

from __future__ import annotations

import ctypes
import mmap
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import numpy as np
import numpy.typing as npt
import pytest

import ndmmap

PAGE = mmap.PAGESIZE
ROWS, COLS = 64, 2048  # float64: a row is 16 KiB, 4 pages

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
_libc.mincore.restype = ctypes.c_int


def mincore(first_page: int, pages: int) -> npt.NDArray[np.bool_]:
    """mincore(2) over `pages` pages from the page-aligned address `first_page`."""
    vec = (ctypes.c_ubyte * pages)()
    if _libc.mincore(first_page, pages * PAGE, vec) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    bits: npt.NDArray[np.bool_] = (np.frombuffer(bytes(vec), dtype=np.uint8) & 1) == 1
    return bits


def expected(a: npt.NDArray[Any], axis: int) -> List[float]:
    """Per index along `axis`, the fraction of the pages its elements' bytes touch that
    mincore says are resident: the same question, asked of the kernel directly."""
    addr = a.__array_interface__["data"][0]
    idx = np.indices(a.shape)
    offs = sum(idx[k] * a.strides[k] for k in range(a.ndim)) + addr
    first = offs.astype(np.int64) // PAGE
    last = (offs + a.itemsize - 1).astype(np.int64) // PAGE
    lo, hi = int(first.min()), int(last.max())
    res = mincore(lo * PAGE, hi - lo + 1)
    out = []
    for i in range(a.shape[axis]):
        pages = set(np.take(first, i, axis).ravel()) | set(np.take(last, i, axis).ravel())
        out.append(sum(bool(res[p - lo]) for p in pages) / len(pages))
    return out


def evict_file(path: Path) -> None:
    """Drops the whole file from the page cache (whole files: partial ranges may not leave
    on kernels with large folios)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    p = tmp_path / "x.f8"
    np.arange(ROWS * COLS, dtype=np.float64).tofile(p)
    evict_file(p)
    return p


def touch(a: npt.NDArray[Any]) -> float:
    return float(np.asarray(a).sum())


def check(a: npt.NDArray[Any], axis: int = 0) -> ndmmap.Residency:
    r = ndmmap.residency(a, axis)
    assert r.fractions.dtype == np.float64 and r.fractions.shape == (a.shape[axis],)
    np.testing.assert_array_equal(r.fractions, expected(a, axis % a.ndim))
    full = [i for i, f in enumerate(r.fractions) if f == 1.0]
    assert [i for s, e in r.ranges for i in range(s, e)] == full
    part = [i for i, f in enumerate(r.fractions) if 0.0 < f < 1.0]
    assert [i for s, e in r.partial_ranges for i in range(s, e)] == part
    return r


def test_memmap_rows_against_mincore(raw: Path) -> None:
    a = np.memmap(raw, dtype=np.float64, mode="r", shape=(ROWS, COLS))
    ndmmap.advise(a, "random")  # no read-ahead: only the rows read come in
    r0 = check(a)
    assert r0.resident_pages == 0 and r0.pages == ROWS * COLS * 8 // PAGE
    touch(a[3]), touch(a[10:12])
    r = check(a)
    assert (3, 4) in r.ranges or any(s <= 3 < e for s, e in r.ranges)
    assert r.fractions[3] == 1.0 and r.fractions.min() == 0.0
    assert r.resident_pages == int(mincore(a.ctypes.data, r.pages).sum())
    # Negative axis as numpy: the columns.
    c = check(a, axis=-1)
    assert c.fractions.shape == (COLS,)


def test_np_load_mmap_unaligned_start(tmp_path: Path) -> None:
    p = tmp_path / "x.npy"
    np.save(p, np.arange(ROWS * COLS, dtype=np.float64).reshape(ROWS, COLS))
    evict_file(p)
    a = np.load(p, mmap_mode="r")
    assert a.ctypes.data % PAGE != 0  # the 128-byte header: rows straddle pages
    ndmmap.advise(a, "random")
    touch(a[20]), touch(a[40:43])
    r = check(a)
    assert r.fractions[20] == 1.0
    check(a, axis=1)


def test_strided_reversed_and_fortran_views(raw: Path) -> None:
    a = np.memmap(raw, dtype=np.float64, mode="r", shape=(ROWS, COLS))
    ndmmap.advise(a, "random")
    touch(a[5]), touch(a[30:33, :100])
    v = a[::-3, 7::5]  # every third row back to front, every fifth column
    check(v)
    check(v, axis=1)
    f = np.memmap(raw, dtype=np.float64, mode="r", shape=(COLS, ROWS), order="F")
    check(f, axis=1)  # a column of F order is one stretch of memory
    check(f.T[::2])
    check(a[7])  # 1-D


def test_frombuffer_python_mmap_and_ndmmap_open(raw: Path) -> None:
    with open(raw, "rb") as fh:
        m = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
        b = np.frombuffer(m, dtype=np.float64).reshape(ROWS, COLS)
        touch(b[1])
        check(b)
        del b
        m.close()
    o = ndmmap.open(str(raw), dtype="<f8", shape=(ROWS, COLS))
    touch(o[2])
    assert check(o).fractions[2] == 1.0


def test_zero_d_and_axis_errors(raw: Path) -> None:
    a = np.memmap(raw, dtype=np.float64, mode="r", shape=(ROWS, COLS))
    with pytest.raises(ValueError, match="0-d"):
        ndmmap.residency(a[3, 4, ...])
    with pytest.raises(np.exceptions.AxisError):
        ndmmap.residency(a, axis=2)


def test_not_mapped_is_a_type_error() -> None:
    for a in (np.zeros((1024, 1024)), np.zeros(10), np.arange(5.0)[::-1]):
        with pytest.raises(TypeError, match="not backed by a file or shared memory mapping"):
            ndmmap.residency(a)
        with pytest.raises(TypeError, match=r"np\.memmap"):
            ndmmap.evict(a)
        with pytest.raises(TypeError):
            ndmmap.advise(a, "willneed")
        with pytest.raises(TypeError):
            ndmmap.flush(a)
        with pytest.raises(TypeError):
            with ndmmap.lock(a):
                pass
        with pytest.raises(TypeError):
            with ndmmap.guard(a):
                pass
    with pytest.raises(TypeError, match="numpy.ndarray"):
        ndmmap.residency([1, 2, 3])  # type: ignore[arg-type]


def test_advise_values(raw: Path, tmp_path: Path) -> None:
    a = np.memmap(raw, dtype=np.float64, mode="r", shape=(ROWS, COLS))
    for advice in ("normal", "willneed", "sequential", "random", "dontneed"):
        ndmmap.advise(a[::2], advice)
    for bad in ("WILLNEED", "hugepage", "", "free"):
        with pytest.raises(ValueError, match="not one of"):
            ndmmap.advise(a, bad)
    # 'dontneed' keeps shared pages as they are, written ones included...
    w = np.memmap(tmp_path / "w.f8", dtype=np.float64, mode="w+", shape=(16, 512))
    w[3] = 7.0
    ndmmap.advise(w, "dontneed")
    assert (w[3] == 7.0).all()
    # ...and is refused on a copy-on-write map, whose changes it would throw away.
    c = np.memmap(raw, dtype=np.float64, mode="c", shape=(ROWS, COLS))
    c[0, 0] = -1.0
    with pytest.raises(ValueError, match="copy-on-write"):
        ndmmap.advise(c, "dontneed")
    assert c[0, 0] == -1.0


def test_evict_clean_file(raw: Path) -> None:
    a = np.memmap(raw, dtype=np.float64, mode="r", shape=(ROWS, COLS))
    with open(raw, "rb") as fh:
        fh.read()  # into the page cache, not through the map
    assert ndmmap.residency(a).resident_pages == ndmmap.residency(a).pages
    e = ndmmap.evict(a)
    assert (e.selected, e.after, e.written_back) == (ROWS * COLS * 8 // PAGE, 0, False)
    assert e.before == e.selected and e.evicted == e.selected
    assert ndmmap.residency(a).resident_pages == 0 and "evicted" in str(e)
    # Pages read through the map stay (mapped by this process) until 'dontneed' unmaps them.
    touch(a)
    e = ndmmap.evict(a[:8])
    assert e.after == e.selected and e.in_use in (None, e.selected)
    ndmmap.advise(a, "dontneed")
    assert ndmmap.evict(a).after == 0
    assert ndmmap.residency(a).resident_pages == 0


def test_flush_makes_writes_visible_and_evict_sync(tmp_path: Path) -> None:
    p = tmp_path / "w.npy"
    np.save(p, np.zeros((32, 1024)))
    a = np.load(p, mmap_mode="r+")
    a[5, :] = 2.5
    ndmmap.flush(a[5])
    ndmmap.flush(a, sync=False)
    with open(p, "rb") as fh:
        data = fh.read()
    np.testing.assert_array_equal(np.load(p)[5], 2.5)
    assert len(data) == 128 + 32 * 1024 * 8
    # Dirty pages stay unless written back first (sync=True).
    a[9, :] = 1.0
    ndmmap.advise(a, "dontneed")
    e = ndmmap.evict(a, sync=True)
    assert e.written_back and e.after == 0, str(e)


def vm_lck() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmLck:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmLck in /proc/self/status")


def test_lock_grows_vmlck_for_the_block(raw: Path) -> None:
    a = np.memmap(raw, dtype=np.float64, mode="r", shape=(ROWS, COLS))
    before = vm_lck()
    with ndmmap.lock(a[:16]) as held:
        assert held is not None
        assert vm_lck() - before >= 16 * COLS * 8
        assert ndmmap.residency(a[:16]).resident_pages == 16 * COLS * 8 // PAGE
    assert vm_lck() == before


LOCK_REFUSED = r"""
import mmap, os, resource, sys
import numpy as np, ndmmap
a = np.memmap(sys.argv[1], dtype=np.float64, mode="r", shape=(64, 2048))
resource.setrlimit(resource.RLIMIT_MEMLOCK, (4096, 4096))
if os.geteuid() == 0:  # root may lock past the limit: drop to nobody (the map stays)
    os.setgid(65534); os.setuid(65534)
try:
    with ndmmap.lock(a):
        print("locked")
except OSError as e:
    print(type(e).__name__, e.errno, e)
"""


def test_lock_refused_names_rlimit_memlock(raw: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOCK_REFUSED, str(raw)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OSError"), out.stdout
    assert "RLIMIT_MEMLOCK" in out.stdout and "ulimit -l" in out.stdout, out.stdout
