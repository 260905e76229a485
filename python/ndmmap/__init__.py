"""ndmmap: files of named arrays mapped as numpy arrays, without copying.

``ndmmap.open(spec)`` maps a ``.npy`` file, an ``.npz`` member (``x.npz:a``), a safetensors
tensor (``model.safetensors:w``), a contiguous HDF5 dataset (``f.h5:/group/data``) or a raw
file (``dtype=``) and returns a plain ``numpy.ndarray`` over the mapped bytes, whose ``base``
owns the map. ``ndmmap.entries(path)`` lists a file's arrays as ``ndmmap info`` does, and
``ndmmap.stats(spec)`` reduces an array of any size out of core, on every core.

For any numpy array backed by a file or shared mapping (``np.memmap``,
``np.load(mmap_mode=...)``, ``ndmmap.open``, ``np.frombuffer`` over Python's ``mmap``, and
their views and strided slices), found from the array's data pointer, shape and strides
with no copy: ``residency`` (which indices along an axis are in RAM), ``advise``, ``evict``,
``flush`` and ``with lock(a):``; ``with guard(a):`` turns a SIGBUS on its mapping (a
truncated file, a full disk) into ``FaultError``.

The Rust library ``ndmmap`` does the work; see the project's README ("From Python").
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np
import numpy.typing as npt

from . import _ndmmap
from ._ndmmap import FaultError, Mapping

#: A path, or ``PATH:NAME`` for an entry of a file of named arrays.
Spec = Union[str, "os.PathLike[str]"]

__all__ = [
    "Entry",
    "Evicted",
    "FaultError",
    "Mapping",
    "Residency",
    "Stats",
    "advise",
    "entries",
    "evict",
    "flush",
    "guard",
    "guarded",
    "lock",
    "open",
    "residency",
    "stats",
]

_T = TypeVar("_T")


class Entry(NamedTuple):
    """One array of a file, as ``ndmmap info`` lists it (nothing mapped)."""

    name: str
    """numpy's key in an .npz, the tensor's name, the dataset's path; '' for a .npy file."""
    dtype: Optional[str]
    """numpy's dtype string ('<f8', '>i4') or the format's own name ('BF16'); None where the
    header could not be read (a compressed member)."""
    shape: Optional[Tuple[int, ...]]
    """The shape; None where the header could not be read."""
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
        Entry(n, d, None if s is None else tuple(s), o, off, nb, why, ch, res, pg)
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


# ------------------------------------------------------------ pages of any mapped array


class Residency(NamedTuple):
    """What ``ndmmap.residency`` returns: which indices along the axis are in RAM."""

    fractions: npt.NDArray[np.float64]
    """Per index along the axis, the fraction of its pages in RAM (1.0 for no pages)."""
    ranges: List[Tuple[int, int]]
    """Indices whose pages are all in RAM, as ``(start, end)`` runs, ``end`` exclusive."""
    partial_ranges: List[Tuple[int, int]]
    """Indices with some of their pages in RAM but not all, as runs."""
    resident_pages: int
    """Pages of the array's elements in RAM (a page shared by indices counted once)."""
    pages: int
    """Pages the array's elements touch."""


class Evicted(NamedTuple):
    """What ``ndmmap.evict`` achieved: resident pages before and after, and why some stayed.

    A count the kernel does not give this process (``mincore`` of a file it may not write;
    ``cachestat``, Linux 6.5+, for the dirty and writeback counts) is None.
    """

    selected: int
    """Pages of the array's elements."""
    written_back: bool
    """Whether the file's dirty data was written back first (``sync=True``)."""
    before: Optional[int]
    """Of those, pages in the page cache before."""
    after: Optional[int]
    """...and after."""
    evicted: Optional[int]
    """Pages that left the cache."""
    dirty: Optional[int]
    """Of the pages that stayed, those dirty (written, not yet on disk)."""
    writeback: Optional[int]
    """Of the pages that stayed, those being written back."""
    in_use: Optional[int]
    """Of the pages that stayed, those mapped into some process's page tables (this one's,
    once read through the map) or locked."""
    summary: str
    """The report in words: ``evicted 0 of 16 pages: 16 still resident: 16 dirty ...``."""

    def __str__(self) -> str:
        return self.summary


def _axis(a: npt.NDArray[Any], axis: int, func: str) -> int:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"ndmmap.{func}: expected a numpy.ndarray, got {type(a).__name__}")
    nd = a.ndim
    if nd == 0:
        raise ValueError(
            f"ndmmap.{func}: a 0-d array has no axis to count residency along "
            "(use ndmmap.residency(a.reshape(1)))"
        )
    if not -nd <= axis < nd:
        # numpy's AxisError (a ValueError and an IndexError): np.exceptions from numpy 1.25.
        axis_error: Any = getattr(getattr(np, "exceptions", np), "AxisError")
        raise axis_error(axis, nd)
    return axis % nd


def residency(a: npt.NDArray[Any], axis: int = 0) -> Residency:
    """Which indices of ``a`` along ``axis`` are in RAM (the page cache), from ``mincore``.

    ``a`` is any numpy array backed by a file or shared mapping (``np.memmap``,
    ``np.load(mmap_mode=...)``, ``ndmmap.open``, ``np.frombuffer`` over Python's ``mmap``)
    or any view of one (strided, reversed, Fortran order); only the pages its elements touch
    count. ``axis`` may be negative, as in numpy. A page that two indices share counts for
    both. Runs with the GIL released.

    Errors: TypeError for an array not backed by a mapping, ValueError for a 0-d array,
    numpy's AxisError for an axis it lacks, OSError where the kernel hides the residency (a
    file this process may not write, mapped privately or read-only, Linux 5.2+).
    """
    ax = _axis(a, axis, "residency")
    fr, full, part, res, total = _ndmmap.residency(a, ax)
    return Residency(fr, full, part, res, total)


def advise(a: npt.NDArray[Any], advice: str) -> None:
    """Tells the kernel how ``a``'s pages will be used (``madvise`` over its elements' pages).

    ``advice``: 'normal'; 'willneed' (start reading them in, returns at once); 'sequential'
    (read ahead much, free behind); 'random' (read ahead little); 'dontneed' (drop this
    process's references to the pages: they stay in the page cache, dirty ones included,
    and read back unchanged; with it, ``evict`` can drop pages this process has read).
    'dontneed' is refused (ValueError) on a private, copy-on-write map (mode 'c'), where it
    would throw away the array's changes. Whole pages are advised, so neighbours of the
    elements on their first and last pages are too. Other values: ValueError.
    """
    _ndmmap.advise(a, advice)


def evict(a: npt.NDArray[Any], sync: bool = False) -> Evicted:
    """Drops ``a``'s pages from the page cache (``posix_fadvise(DONTNEED)``) and says what
    that achieved: contents never change.

    Pages stay that are dirty (written, not yet on disk: ``sync=True`` writes the file's data
    back first, ``fdatasync``, so they can leave too), under writeback, or mapped by some
    process: this one's, once read through the map (``advise(a, 'dontneed')`` first unmaps
    them from this process) or locked. Runs with the GIL released. Shared anonymous memory:
    OSError (nothing to evict to).
    """
    return Evicted(*_ndmmap.evict(a, sync))


def flush(a: npt.NDArray[Any], sync: bool = True) -> None:
    """Writes ``a``'s pages back to its file (``msync``): with ``sync`` (the default) the data
    is on disk when this returns; ``sync=False`` starts the writes and returns. Harmless on a
    copy-on-write map (nothing reaches the file)."""
    _ndmmap.flush(a, sync)


@contextlib.contextmanager
def lock(a: npt.NDArray[Any]) -> Iterator[npt.NDArray[Any]]:
    """``with ndmmap.lock(a):`` keeps ``a``'s pages in RAM for the block (``mlock``: read in
    now, never paged out), and unlocks them at its end (``munlock``: a lock taken on the same
    pages before the block ends too, as locks do not nest). The block gets ``a``.

    Past ``RLIMIT_MEMLOCK`` the lock is refused with an OSError naming the limit and the bytes
    asked for: raise the limit (``ulimit -l``, ``resource.setrlimit``) or lock a smaller
    slice.
    """
    _ndmmap.lock(a)
    try:
        yield a
    finally:
        _ndmmap.unlock(a)


@contextlib.contextmanager
def guard(a: npt.NDArray[Any]) -> Iterator[npt.NDArray[Any]]:
    """``with ndmmap.guard(a):`` turns a SIGBUS on the mapping behind ``a`` (its file
    truncated by another process, a write into a sparse file on a full disk) into a
    :class:`FaultError` raised at the block's end, with ``offset`` (the file offset that
    faulted) and ``cause`` ('truncated', 'no space', 'file unavailable', 'other'). The block gets ``a``.

    The whole mapped array that ``a`` is a view of is guarded (the ``np.memmap``, the
    ``np.load(mmap_mode=...)`` or ``ndmmap.open`` array: the outermost array of ``a.base``),
    not only the slice ``a`` views, on every thread while the block runs. Outside a guard nothing changes: a SIGBUS ends the process
    as it does without ndmmap.

    Limits: nothing jumps out of the block at the fault. The faulted page is replaced by
    zeros and the block runs on to its end, reading zeros where the file is gone (so it must
    end on any data: a loop waiting for a non-zero value would not). Writes made after the
    fault land in those zero pages and are lost. Whatever the block computed must be
    dropped when FaultError is raised; at its end the pages are the file's again. If the
    block raises an exception of its own, that one propagates, with the FaultError as its
    ``__context__`` (when it had none) and in a note.
    """
    g = _ndmmap.Guard(a)
    try:
        yield a
    except BaseException as exc:
        try:
            g.finish()
        except FaultError as fault:
            if exc.__context__ is None:
                exc.__context__ = fault
            if hasattr(exc, "add_note"):
                exc.add_note(f"ndmmap.guard: {fault}")
        raise
    g.finish()


def guarded(fn: Callable[..., _T], a: npt.NDArray[Any], *args: Any, **kwargs: Any) -> _T:
    """``fn(a, *args, **kwargs)`` inside :func:`guard` over ``a``: its result, or
    :class:`FaultError` (the result dropped) if the mapping behind ``a`` faulted meanwhile."""
    with guard(a):
        result = fn(a, *args, **kwargs)
    return result
