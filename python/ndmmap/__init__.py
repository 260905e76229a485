"""ndmmap: files of named arrays mapped as numpy arrays, without copying.

``ndmmap.open(spec)`` maps a ``.npy`` file, an ``.npz`` member (``x.npz:a``), a safetensors
tensor (``model.safetensors:w``), a contiguous HDF5 dataset (``f.h5:/group/data``) or a raw
file (``dtype=``) and returns a plain ``numpy.ndarray`` over the mapped bytes, whose ``base``
owns the map. ``ndmmap.entries(path)`` lists a file's arrays as ``ndmmap info`` does, and
``ndmmap.stats(spec)`` reduces an array of any size out of core, on every core.

The Rust library ``ndmmap`` does the work; see the project's README ("From Python").
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _ndmmap
from ._ndmmap import FaultError, Mapping

#: A path, or ``PATH:NAME`` for an entry of a file of named arrays.
Spec = Union[str, "os.PathLike[str]"]

__all__ = [
    "Entry",
    "FaultError",
    "Mapping",
    "Stats",
    "entries",
    "open",
    "stats",
]


class Entry(NamedTuple):
    """One array of a file, as ``ndmmap info`` lists it (nothing mapped)."""

    name: str
    """numpy's key in an .npz, the tensor's name, the dataset's path; '' for a .npy file."""
    dtype: Optional[str]
    """numpy's dtype string ('<f8', '>i4') or the format's own name ('BF16'); None where the
    header could not be read (a compressed member)."""
    shape: Tuple[int, ...]
    order: str
    """'C' or 'F'."""
    offset: int
    """Byte offset of the data in the file."""
    nbytes: int
    """Bytes of data (of a compressed member: its stored bytes)."""
    unmappable: Optional[str]
    """Why ndmmap.open refuses the entry (compressed, chunked, ...), or None."""
    chunks: int
    """Chunks of an HDF5 chunked dataset (0 otherwise)."""
    resident_pages: Optional[int]
    """Pages of the entry's bytes in the page cache; None where the kernel hides it (a file
    this process may not write, Linux 5.2+)."""
    pages: int
    """Pages the entry's bytes span (of a chunked dataset: its chunks')."""


class Stats(NamedTuple):
    """What ``ndmmap.stats`` returns: numpy arrays shaped as ``np.mean(a, axis)`` is."""

    # A field named like tuple.count, as numpy and the command name it.
    count: npt.NDArray[np.int64]  # type: ignore[assignment]
    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    min: npt.NDArray[Any]
    """In the array's dtype (native byte order); float64 for bfloat16."""
    max: npt.NDArray[Any]


def open(
    spec: Spec,
    mode: str = "r",
    *,
    dtype: Optional[npt.DTypeLike] = None,
    shape: Union[int, Sequence[int], None] = None,
    offset: int = 0,
    order: str = "C",
) -> npt.NDArray[Any]:
    """Maps an array of a file and returns a ``numpy.ndarray`` over the mapped bytes.

    ``spec`` is ``PATH`` (a .npy file), ``PATH:NAME`` (an uncompressed .npz member, a
    safetensors tensor, an HDF5 dataset path), or with ``dtype=`` a raw file read as
    ``np.memmap`` reads it (``shape`` None: 1-D over the elements after ``offset``).

    ``mode``: 'r' read-only (the array is not writeable), 'r+' writes reach the file (not
    for .npz members: their CRC would go wrong), 'c' copy-on-write (writes stay in memory).

    No byte is copied: ``a.base`` is the :class:`Mapping` that owns the map and keeps it
    alive as long as any view of it lives. The file must not be truncated meanwhile (as with
    ``np.memmap``, reading a truncated file's pages raises SIGBUS).

    Errors: FileNotFoundError, PermissionError, ValueError (a bad spec, mode, dtype or an
    entry that cannot be mapped, with the reason), ImportError (a bfloat16/FP8 tensor
    without ml_dtypes), OSError otherwise.
    """
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape_list = None if shape is None else [int(n) for n in shape]
    if shape_list is not None and any(n < 0 for n in shape_list):
        raise ValueError(f"{spec}: shape {tuple(shape_list)} has a negative dimension")
    if offset < 0:
        raise ValueError(f"{spec}: offset {offset} is negative")
    return _ndmmap.open(os.fspath(spec), mode, dtype, shape_list, int(offset), order)


def entries(path: Spec) -> list[Entry]:
    """Every array of the file at ``path`` as ``ndmmap info`` lists it (nothing mapped)."""
    return [
        Entry(n, d, tuple(s), o, off, nb, why, ch, res, pg)
        for (n, d, s, o, off, nb, why, ch, res, pg) in _ndmmap.entries(os.fspath(path))
    ]


def stats(
    spec: Spec,
    axis: int = 0,
    slice: Optional[str] = None,
    *,
    ddof: float = 0,
    threads: Optional[int] = None,
) -> Stats:
    """count, mean, std, min and max of an array along ``axis``, out of core.

    The array (``spec`` as for :func:`open`) is streamed a window at a time on every core
    (``threads`` to limit them), with the GIL released; results equal numpy's
    ``np.mean``/``np.std(ddof=ddof)``/``np.min``/``np.max`` computed in float64, shaped as
    numpy shapes them. ``slice`` is a selection in numpy's syntax (``"100:200, ::2"``);
    ``axis`` is then an axis of the slice's result.
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads={threads}: give at least 1, or None for every core")
    return Stats(*_ndmmap.stats(os.fspath(spec), int(axis), slice, float(ddof), threads))
