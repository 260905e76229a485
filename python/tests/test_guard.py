"""ndmmap.guard: a SIGBUS on a mapped array's pages (its file truncated) becomes FaultError at
the block's end, and outside a guard nothing changes (the process dies of SIGBUS). Each case
runs in a child process, since the unguarded one ends it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ndmmap

PRELUDE = r"""
import os, sys
import numpy as np, ndmmap
path = sys.argv[1]
np.full(16 * 4096, 3, dtype=np.uint8).tofile(path)
a = np.memmap(path, dtype=np.uint8, mode="r", shape=(16, 4096))
"""


def child(tmp_path: Path, body: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + body, str(tmp_path / "g.bin")],
        capture_output=True, text=True, timeout=120,
    )


def test_truncated_file_in_a_guard_is_fault_error(tmp_path: Path) -> None:
    out = child(tmp_path, r"""
with ndmmap.guard(a):
    assert int(a[0].sum()) == 3 * 4096  # before the truncation: the file's bytes
os.truncate(path, 4096)
try:
    with ndmmap.guard(a) as g:
        total = int(g[8:].sum())  # past the file's end now: SIGBUS, patched with zeros
    print("no fault", total)
except ndmmap.FaultError as e:
    assert isinstance(e, OSError)
    print("fault", e.offset, e.cause, total, "|", e)
# The pages are the file's again: a read outside the guard of what is left works.
print("after", int(a[0].sum()))
""")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    word, offset, cause, total = lines[0].split(" | ")[0].split()
    assert word == "fault", out.stdout
    assert 8 * 4096 <= int(offset) < 16 * 4096 and cause == "truncated"
    assert int(total) == 0  # the block ran on over zero pages
    assert "\n" not in lines[0].split(" | ")[1] and "g.bin" in lines[0]
    assert lines[1] == f"after {3 * 4096}"


def test_outside_a_guard_sigbus_kills_as_before(tmp_path: Path) -> None:
    out = child(tmp_path, r"""
with ndmmap.guard(a):  # the handler is installed now...
    pass
os.truncate(path, 4096)
print("reading", flush=True)
print(int(a[8:].sum()))  # ...and outside a guard it changes nothing: SIGBUS
""")
    assert out.stdout == "reading\n", out.stdout
    assert out.returncode == -signal.SIGBUS, (out.returncode, out.stderr)


def test_block_exception_wins_with_the_fault_chained(tmp_path: Path) -> None:
    out = child(tmp_path, r"""
ndmmap.advise(a[4:6], "random")  # the kernel splits the map in three areas
os.truncate(path, 4096)
try:
    with ndmmap.guard(a[10:]):  # a slice guards the whole mapping: rows 9 and 2 too
        int(a[9].sum()) + int(a[2].sum())
        raise KeyError("mine")
except KeyError as e:
    ctx = e.__context__
    print(type(ctx).__name__, ctx.cause, getattr(e, "__notes__", ["-"])[0].split(":")[0])
""")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["FaultError", "truncated", "ndmmap.guard"], out.stdout


def test_guarded_form(tmp_path: Path) -> None:
    out = child(tmp_path, r"""
print(ndmmap.guarded(lambda x, k: int(x[:k].sum()), a, 2))
os.truncate(path, 0)
try:
    ndmmap.guarded(np.sum, a)
    print("no fault")
except ndmmap.FaultError as e:
    print(e.offset, e.cause)
""")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(2 * 3 * 4096), "0", "truncated"], out.stdout


def test_guard_without_fault_and_misuse(tmp_path: Path) -> None:
    p = tmp_path / "x.npy"
    np.save(p, np.arange(1000.0))
    a = np.load(p, mmap_mode="r")
    with ndmmap.guard(a[::-7]) as v:
        assert float(v.sum()) == float(np.arange(1000.0)[::-7].sum())
    g = ndmmap._ndmmap.Guard(a)
    assert g.active
    g.finish()
    assert not g.active
    with pytest.raises(RuntimeError, match="finished"):
        g.finish()
    with pytest.raises(TypeError, match="not backed"):
        with ndmmap.guard(np.ones(3)):
            pass


def test_full_disk_under_a_sparse_file_is_fault_error(tmp_path: Path) -> None:
    """A write through an 'r+' memmap into a sparse file on a full filesystem (a 1 MiB tmpfs
    mounted for the test: needs root) raises SIGBUS; in a guard it is FaultError 'no space'."""
    import os

    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("mounting a small tmpfs needs root (CI=true: tests may not skip)")
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        out = subprocess.run([sys.executable, "-c", r"""
import os, sys
import numpy as np, ndmmap
path = sys.argv[1]
with open(path, "wb") as f:
    f.truncate(8 << 20)  # 8 MiB, sparse, on a 1 MiB file system
a = np.memmap(path, dtype=np.uint8, mode="r+", shape=(8 << 20,))
try:
    with ndmmap.guard(a):
        a[:] = 1  # the blocks run out after 1 MiB: SIGBUS, patched
    print("no fault")
except ndmmap.FaultError as e:
    print(f"fault|{e.cause}|{e.offset}")
""", str(mnt / "sparse.bin")], capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
    assert out.returncode == 0, out.stderr
    word, cause, offset = (out.stdout.strip().split("|") + ["", ""])[:3]
    assert (word, cause) == ("fault", "no space"), out.stdout
    assert 0 < int(offset) < 8 << 20, out.stdout
