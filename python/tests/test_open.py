"""ndmmap.open against numpy, h5py and safetensors, on files the tests make."""

from __future__ import annotations

import gc
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ndmmap
from conftest import need


# ---------------------------------------------------------------- .npy


@pytest.mark.parametrize(
    "dtype", ["<f8", ">f8", "<f4", "<i4", ">i2", "|u1", "|b1", "<c16", "<u8", "<f2"]
)
def test_npy_values_and_dtype(tmp_path: Path, dtype: str) -> None:
    a = (np.arange(24) % 7).astype(dtype).reshape(4, 6)
    p = tmp_path / "x.npy"
    np.save(p, a)
    x = ndmmap.open(p)  # a Path works too
    assert type(x) is np.ndarray
    assert x.dtype == np.dtype(dtype) and x.dtype.str == np.dtype(dtype).str  # order kept
    assert x.shape == a.shape
    np.testing.assert_array_equal(x, a)
    np.testing.assert_array_equal(x, np.load(p, mmap_mode="r"))


def test_npy_fortran_order_zero_d_and_empty(tmp_path: Path) -> None:
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    np.save(tmp_path / "f.npy", f)
    x = ndmmap.open(str(tmp_path / "f.npy"))
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    np.testing.assert_array_equal(x, f)
    np.save(tmp_path / "s.npy", np.array(3.5))
    s = ndmmap.open(str(tmp_path / "s.npy"))
    assert s.shape == () and s[()] == 3.5
    np.save(tmp_path / "e.npy", np.zeros((0, 5), dtype="<i8"))
    e = ndmmap.open(str(tmp_path / "e.npy"))
    assert e.shape == (0, 5) and e.dtype == np.int64


# ---------------------------------------------------------------- zero copy, modes


def test_zero_copy_and_base_keeps_map_alive(tmp_path: Path) -> None:
    a = np.arange(1000, dtype="<f8")
    p = str(tmp_path / "x.npy")
    np.save(p, a)
    x = ndmmap.open(p)
    assert isinstance(x.base, ndmmap.Mapping)
    assert x.base.spec == p and x.base.mode == "r" and x.base.nbytes == 8000
    assert not np.shares_memory(x, ndmmap.open(p))  # a second map
    v = x[10:20]
    assert np.shares_memory(x, v) and v.base is x  # numpy chains views to x
    del x
    gc.collect()
    np.testing.assert_array_equal(v, a[10:20])  # the view keeps the map alive
    m = v.base.base
    assert isinstance(m, ndmmap.Mapping) and "x.npy" in repr(m)


def test_modes(tmp_path: Path) -> None:
    p = str(tmp_path / "x.npy")
    np.save(p, np.zeros(16, dtype="<i4"))
    r = ndmmap.open(p)
    assert not r.flags.writeable
    with pytest.raises(ValueError):
        r[0] = 1
    with pytest.raises(ValueError):
        r.flags.writeable = True  # numpy refuses: the base is not writeable
    w = ndmmap.open(p, "r+")
    assert w.flags.writeable
    w[3] = 33
    del w
    gc.collect()
    assert np.load(p)[3] == 33  # reached the file
    assert r[3] == 33  # and the other map of it
    c = ndmmap.open(p, "c")
    c[4] = 44
    assert c[4] == 44 and np.load(p)[4] == 0  # private
    m = ndmmap.open(p, "readonly").base
    assert isinstance(m, ndmmap.Mapping) and m.mode == "r"


# ---------------------------------------------------------------- .npz


def test_npz_members_aligned_and_not(tmp_path: Path) -> None:
    a = np.arange(100, dtype="<f8").reshape(10, 10)
    b = np.arange(7, dtype=">i4")
    c = np.linspace(0, 1, 33, dtype="<f4")
    p = tmp_path / "x.npz"
    np.savez(p, a=a, b=b, c=c)
    offsets = {e.name: e.offset for e in ndmmap.entries(str(p))}
    assert any(o % 8 for o in offsets.values())  # np.savez does not align members
    with np.load(p) as z:
        for name in "abc":
            x = ndmmap.open(f"{p}:{name}")
            np.testing.assert_array_equal(x, z[name])
            assert x.dtype.str == z[name].dtype.str
            assert x.flags.aligned == (offsets[name] % x.dtype.alignment == 0)
            assert x.sum() == z[name].sum()  # numpy computes over unaligned data


def test_npz_unaligned_member_copy_on_write(tmp_path: Path) -> None:
    p = tmp_path / "u.npz"
    np.savez(p, x=np.arange(10.0))
    e = ndmmap.entries(str(p))[0]
    assert e.offset % 8 != 0
    x = ndmmap.open(f"{p}:x", "c")
    assert not x.flags.aligned and x.flags.writeable
    x[:] += 1
    np.testing.assert_array_equal(x, np.arange(10.0) + 1)
    np.testing.assert_array_equal(np.load(p)["x"], np.arange(10.0))  # archive untouched


def test_npz_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.npz"
    np.savez(p, a=np.arange(3), b=np.arange(4))
    with pytest.raises(ValueError, match="name one as .*x.npz:NAME") as e:
        ndmmap.open(str(p))
    assert '"a", "b"' in str(e.value)
    with pytest.raises(ValueError, match="no member named") as e:
        ndmmap.open(f"{p}:zz")
    assert "x.npz" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match="mode 'c'") as e:
        ndmmap.open(f"{p}:a", "r+")
    assert "x.npz:a" in str(e.value) and "\n" not in str(e.value)
    q = tmp_path / "z.npz"
    np.savez_compressed(q, a=np.arange(1000))
    with pytest.raises(ValueError, match="compress") as e:
        ndmmap.open(f"{q}:a")
    assert "z.npz" in str(e.value) and "\n" not in str(e.value)
    assert ndmmap.entries(str(q))[0].unmappable is not None


NON_NUMERIC = {
    "s": np.array([["ab", "c"], ["", "xyz"]]),  # <U3
    "b": np.array([b"hello", b"x", b""]),  # |S5
    "v": np.frombuffer(bytes(range(24)), dtype="V8"),
    "t": np.array(["2020-01-01T00:00:01", "NaT"], dtype="<M8[s]"),
    "d": np.array([1, -2, 3], dtype=">m8[ns]"),
    "u": np.asfortranarray(np.array([["α", "βγ"], ["δ", ""]], dtype=">U2")),
}


@pytest.mark.parametrize("name", sorted(NON_NUMERIC))
def test_non_numeric_dtypes_npy_and_npz(tmp_path: Path, name: str) -> None:
    """Bytes, str, void, datetime and timedelta arrays: mapped, equal to numpy's."""
    a = NON_NUMERIC[name]
    np.save(tmp_path / "x.npy", a)
    members: dict[str, Any] = {name: a, "f": np.arange(3.0)}
    np.savez(tmp_path / "x.npz", **members)
    for spec in [f"{tmp_path / 'x.npy'}", f"{tmp_path / 'x.npz'}:{name}"]:
        x = ndmmap.open(spec)
        assert x.dtype.str == a.dtype.str and x.shape == a.shape, spec
        assert x.flags.c_contiguous == a.flags.c_contiguous, spec
        np.testing.assert_array_equal(x, a)
        assert x.tobytes() == a.tobytes()
    (e,) = ndmmap.entries(str(tmp_path / "x.npy"))
    assert (e.dtype, e.shape, e.unmappable) == (a.dtype.str, a.shape, None)
    assert e.offset == np.load(tmp_path / "x.npy", mmap_mode="r").offset
    assert e.nbytes == a.nbytes
    z = {e.name: e for e in ndmmap.entries(str(tmp_path / "x.npz"))}
    assert (z[name].dtype, z[name].shape, z[name].nbytes) == (a.dtype.str, a.shape, a.nbytes)


def test_object_and_structured_stay_unmappable(tmp_path: Path) -> None:
    p = tmp_path / "o.npz"
    np.savez(p, o=np.array([1, None], dtype=object), r=np.zeros(2, "i4,f8"))
    z = {e.name: e for e in ndmmap.entries(str(p))}
    o, r = z["o"].unmappable, z["r"].unmappable
    assert o is not None and "object" in o, o
    assert r is not None and "structured" in r, r
    with pytest.raises(ValueError, match="object"):
        ndmmap.open(f"{p}:o")


# ---------------------------------------------------------------- safetensors


def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int], bytes]]) -> None:
    header: dict[str, object] = {}
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)


def test_safetensors_against_the_package(tmp_path: Path) -> None:
    st = need("safetensors.numpy")
    t = {
        "w": np.arange(12, dtype=np.float32).reshape(3, 4),
        "b": np.arange(5, dtype=np.int64),
        "layer.0:odd": np.ones((2, 2), dtype=np.float16),
    }
    p = tmp_path / "m.safetensors"
    st.save_file(t, str(p))
    back = st.load_file(str(p))
    for name in t:
        x = ndmmap.open(f"{p}:{name}")
        np.testing.assert_array_equal(x, back[name])
        assert x.dtype == back[name].dtype
    assert {e.name for e in ndmmap.entries(str(p))} == set(t)
    w = ndmmap.open(f"{p}:w", "r+")
    w[0, 0] = 100
    del w
    gc.collect()
    assert st.load_file(str(p))["w"][0, 0] == 100


def test_safetensors_bf16_with_ml_dtypes(tmp_path: Path) -> None:
    ml = need("ml_dtypes")
    vals = np.array([1.0, -2.5, 3.25, 1e30], dtype=np.float32)
    bf = vals.astype(ml.bfloat16)
    p = tmp_path / "bf.safetensors"
    write_safetensors(p, {"w": ("BF16", [2, 2], bf.tobytes())})
    x = ndmmap.open(f"{p}:w")
    assert x.dtype == np.dtype(ml.bfloat16) and x.shape == (2, 2)
    np.testing.assert_array_equal(x.astype(np.float32).ravel(), bf.astype(np.float32))
    e = ndmmap.entries(str(p))[0]
    assert e.dtype == "BF16" and e.unmappable is None


def test_safetensors_bf16_without_ml_dtypes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "bf.safetensors"
    write_safetensors(p, {"w": ("BF16", [2], b"\x80\x3f\x00\x40")})
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import ml_dtypes fails
    with pytest.raises(ImportError, match="pip install ml_dtypes") as e:
        ndmmap.open(f"{p}:w")
    assert "bf.safetensors:w" in str(e.value) and "BF16" in str(e.value)


# ---------------------------------------------------------------- HDF5


def test_hdf5_contiguous_and_chunked(tmp_path: Path) -> None:
    h5py = need("h5py")
    p = tmp_path / "f.h5"
    a = np.arange(60, dtype=">f8").reshape(6, 10)
    with h5py.File(p, "w") as f:
        f.create_dataset("top", data=np.arange(5, dtype="<i4"))
        g = f.create_group("group")
        g.create_dataset("data", data=a)
        g.create_dataset("chunked", data=np.arange(1000.0), chunks=(100,))
    with h5py.File(p, "r") as f:
        for name in ["/group/data", "group/data", "/top"]:
            x = ndmmap.open(f"{p}:{name}")
            np.testing.assert_array_equal(x, f[name][()])
            assert x.dtype.str == f[name].dtype.str
    ents = {e.name: e for e in ndmmap.entries(str(p))}
    assert ents["/group/chunked"].chunks == 10 and ents["/group/chunked"].unmappable
    assert ents["/group/data"].chunks == 0 and ents["/group/data"].shape == (6, 10)
    with pytest.raises(ValueError, match="chunk") as e:
        ndmmap.open(f"{p}:/group/chunked")
    assert "f.h5" in str(e.value) and "\n" not in str(e.value)
    # Python's advice, not the Rust library's calls.
    assert "h5py" in str(e.value) and "Container::" not in str(e.value), e.value


# ---------------------------------------------------------------- raw files


def test_raw_like_np_memmap(tmp_path: Path) -> None:
    p = tmp_path / "raw.bin"
    a = np.arange(24, dtype=">u2")
    p.write_bytes(b"HEADER!" + a.tobytes())
    x = ndmmap.open(str(p), dtype=">u2", offset=7)  # 1-D over the rest, unaligned
    np.testing.assert_array_equal(x, np.memmap(p, dtype=">u2", mode="r", offset=7))
    y = ndmmap.open(str(p), dtype=np.dtype(">u2"), shape=(4, 6), offset=7, order="F")
    np.testing.assert_array_equal(
        y, np.memmap(p, dtype=">u2", mode="r", offset=7, shape=(4, 6), order="F")
    )
    z = ndmmap.open(str(p), dtype="u1", shape=7)
    assert bytes(z) == b"HEADER!"
    w = ndmmap.open(str(p), "r+", dtype="u1", shape=7)
    w[0] = ord("h")
    del w
    gc.collect()
    assert p.read_bytes()[:1] == b"h"
    with pytest.raises(ValueError) as e:  # 55 bytes are not whole f8s
        ndmmap.open(str(p), dtype="<f8")
    assert "raw.bin" in str(e.value)
    with pytest.raises(ValueError, match="holds Python objects"):
        ndmmap.open(str(p), dtype=object)
    with pytest.raises(ValueError, match="give dtype="):
        ndmmap.open(str(p), shape=(3,))


# ---------------------------------------------------------------- bad input


def test_bad_inputs(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.npy")
    with pytest.raises(FileNotFoundError) as e:
        ndmmap.open(missing)
    assert "missing.npy" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FileNotFoundError):
        ndmmap.entries(str(tmp_path / "gone.npz"))
    with pytest.raises(FileNotFoundError):
        ndmmap.open(str(tmp_path / "gone.npz:a"))
    p = str(tmp_path / "x.npy")
    np.save(p, np.arange(3))
    with pytest.raises(ValueError, match="is not one of"):
        ndmmap.open(p, "rw")
    with pytest.raises(ValueError, match="creates a file"):
        ndmmap.open(p, "w+")
    with pytest.raises(ValueError, match="order"):
        ndmmap.open(p, dtype="u1", order="K")
    with pytest.raises(IsADirectoryError):
        ndmmap.open(str(tmp_path))
    t = tmp_path / "notes.txt"
    t.write_text("not an array")
    with pytest.raises(ValueError) as e2:
        ndmmap.open(str(t))
    assert "notes.txt" in str(e2.value)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'")  # truncated header
    with pytest.raises(ValueError) as e3:
        ndmmap.open(str(bad))
    assert "bad.npy" in str(e3.value) and "\n" not in str(e3.value)


def test_permission_error(tmp_path: Path) -> None:
    p = tmp_path / "ro.npy"
    np.save(p, np.arange(3))
    os.chmod(p, 0o444)
    if os.geteuid() == 0:
        # root writes anyway; a read-only mode needs no permission beyond reading.
        assert ndmmap.open(str(p), "r+").flags.writeable
    else:
        with pytest.raises(PermissionError) as e:
            ndmmap.open(str(p), "r+")
        assert "ro.npy" in str(e.value)


def test_fault_error_is_declared() -> None:
    assert issubclass(ndmmap.FaultError, OSError)
    assert ndmmap.FaultError.__module__ == "ndmmap"


# ---------------------------------------------------------------- memory: a 1 GiB member


def write_big_npz(path: Path, nbytes: int) -> None:
    """An .npz with one f8 member `a` of `nbytes`, streamed (never whole in RAM)."""
    n = nbytes // 8
    header = np.lib.format.header_data_from_array_1_0(np.zeros(0))
    header["shape"] = (n,)
    block = np.arange(1 << 20, dtype="<f8").tobytes()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        with z.open("a.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            left = n * 8
            while left:
                chunk = block[: min(left, len(block))]
                f.write(chunk)
                left -= len(chunk)


RSS_CHILD = r"""
import sys, numpy as np, ndmmap
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024
before = hwm()
a = ndmmap.open(sys.argv[1])
x = float(a[len(a) // 2 + 3])
print(hwm() - before, a.nbytes, x)
"""


def test_rss_of_a_1gib_member_is_small(tmp_path: Path) -> None:
    p = tmp_path / "big.npz"
    write_big_npz(p, 1 << 30)
    out = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, f"{p}:a"], check=True, capture_output=True, text=True
    ).stdout.split()
    grown, nbytes, x = int(out[0]), int(out[1]), float(out[2])
    assert nbytes == 1 << 30
    n = (1 << 27) // 2 + 3
    assert x == float(n % (1 << 20))
    assert grown < 32 << 20, f"peak RSS grew by {grown} bytes"
