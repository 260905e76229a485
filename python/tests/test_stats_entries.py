"""ndmmap.stats against numpy, and ndmmap.entries."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import numpy.typing as npt
import pytest

import ndmmap


def check(a: npt.NDArray[Any], spec: str, axis: int = 0, slice: Optional[str] = None,
          sel: Any = None, ddof: int = 0, threads: Optional[int] = None) -> None:
    s = ndmmap.stats(spec, axis, slice, ddof=ddof, threads=threads)
    v = a if sel is None else a[sel]
    mean = np.mean(v, axis=axis, dtype=np.float64)
    std = np.std(v, axis=axis, dtype=np.float64, ddof=ddof)
    assert s.mean.shape == mean.shape == s.std.shape == s.count.shape
    np.testing.assert_allclose(s.mean, mean, rtol=1e-12, atol=0)
    np.testing.assert_allclose(s.std, std, rtol=1e-12, atol=0)
    assert (s.count == v.shape[axis]).all()
    np.testing.assert_array_equal(s.min, np.min(v, axis=axis))
    np.testing.assert_array_equal(s.max, np.max(v, axis=axis))
    assert s.min.dtype == v.dtype.newbyteorder("=")


@pytest.mark.parametrize("dtype", ["<f8", "<f4", ">f8", "<i4", "|u1", "<i8", "<u2", "|b1"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stats_equal_numpy(tmp_path: Path, dtype: str, axis: int) -> None:
    rng = np.random.default_rng(7)
    a = (rng.standard_normal((301, 17)) * 50 + 3).astype(dtype)
    p = str(tmp_path / "x.npy")
    np.save(p, a)
    check(a, p, axis)


def test_stats_fortran_slice_ddof_threads_1d(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    f = np.asfortranarray(rng.standard_normal((200, 30)))
    p = str(tmp_path / "f.npy")
    np.save(p, f)
    check(f, p, 0)
    check(f, p, 1, ddof=1, threads=1)
    check(f, p, 0, "10:150:3, ::-2", np.s_[10:150:3, ::-2])
    check(f, p, 0, "-1:0:-1, 5", np.s_[-1:0:-1, 5])  # 1-D result -> 0-d
    one = str(tmp_path / "one.npy")
    np.save(one, f[:, 0].copy())
    s = ndmmap.stats(one)
    assert s.mean.shape == () and s.mean.ndim == 0
    np.testing.assert_allclose(s.mean, f[:, 0].mean(), rtol=1e-12)
    with pytest.raises(ValueError, match="single element"):
        ndmmap.stats(p, 0, "3, 4")
    with pytest.raises(ValueError):
        ndmmap.stats(p, 5)
    with pytest.raises(ValueError):
        ndmmap.stats(p, 0, "0:2:0")


def test_stats_npz_member_and_gil_released(tmp_path: Path) -> None:
    a = np.random.default_rng(2).standard_normal((4000, 512)) + 3
    p = tmp_path / "z.npz"
    np.savez(p, a=a)
    ticks = 0
    stop = False

    def spin() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0.0005)

    t = threading.Thread(target=spin)
    t.start()
    try:
        s = ndmmap.stats(f"{p}:a", 0, threads=1)
    finally:
        stop = True
        t.join()
    np.testing.assert_allclose(s.mean, a.mean(axis=0), rtol=1e-12)
    assert ticks > 0  # the other thread ran meanwhile


def test_entries_like_info(tmp_path: Path) -> None:
    p = tmp_path / "x.npz"
    a = np.asfortranarray(np.ones((3, 4), dtype=">f4"))
    np.savez(p, a=a, b=np.arange(10))
    es = ndmmap.entries(str(p))
    assert [e.name for e in es] == ["a", "b"]
    ea = es[0]
    assert (ea.dtype, ea.shape, ea.order, ea.nbytes) == (">f4", (3, 4), "F", 48)
    assert ea.unmappable is None and ea.chunks == 0 and ea.pages >= 1
    assert ea.resident_pages is None or 0 <= ea.resident_pages <= ea.pages
    raw = p.read_bytes()
    assert np.frombuffer(raw[ea.offset : ea.offset + ea.nbytes], dtype=">f4").sum() == 12
    assert "Entry(name='a'" in repr(ea)
    n = str(tmp_path / "one.npy")
    np.save(n, np.arange(5))
    (e,) = ndmmap.entries(n)
    assert e.name == "" and e.shape == (5,) and e.offset == 128
    # A compressed member's header is not read: dtype and shape unknown, not a 0-d array.
    z = tmp_path / "z.npz"
    np.savez_compressed(z, c=np.arange(1000))
    (c,) = ndmmap.entries(str(z))
    assert (c.dtype, c.shape) == (None, None) and "compressed" in (c.unmappable or "")
