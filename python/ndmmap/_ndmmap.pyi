from typing import Any, Optional, Sequence, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FaultError",
    "Guard",
    "Mapping",
    "advise",
    "entries",
    "evict",
    "flush",
    "lock",
    "open",
    "residency",
    "stats",
    "unlock",
]

class FaultError(OSError):
    """A SIGBUS on mapped memory, as an exception (raised by ndmmap's guard)."""

    offset: int
    cause: str

@final
class Mapping:
    """The owner of one map: the ``base`` of the numpy arrays over it."""

    @property
    def spec(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def nbytes(self) -> int: ...

def open(
    spec: str,
    mode: str = "r",
    dtype: Optional[npt.DTypeLike] = None,
    shape: Optional[Sequence[int]] = None,
    offset: int = 0,
    order: str = "C",
) -> npt.NDArray[Any]: ...
def entries(
    path: str,
) -> list[
    tuple[
        str,
        Optional[str],
        Optional[list[int]],
        str,
        int,
        int,
        Optional[str],
        int,
        Optional[int],
        int,
    ]
]: ...
def stats(
    spec: str,
    axis: int = 0,
    slice: Optional[str] = None,
    ddof: float = 0.0,
    threads: Optional[int] = None,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[Any],
    npt.NDArray[Any],
]: ...
def residency(
    a: npt.NDArray[Any], axis: int
) -> tuple[
    npt.NDArray[np.float64], list[tuple[int, int]], list[tuple[int, int]], int, int
]: ...
def advise(a: npt.NDArray[Any], advice: str) -> None: ...
def evict(
    a: npt.NDArray[Any], sync: bool = False
) -> tuple[
    int,
    bool,
    Optional[int],
    Optional[int],
    Optional[int],
    Optional[int],
    Optional[int],
    Optional[int],
    str,
]: ...
def flush(a: npt.NDArray[Any], sync: bool = True) -> None: ...
def lock(a: npt.NDArray[Any]) -> None: ...
def unlock(a: npt.NDArray[Any]) -> None: ...

@final
class Guard:
    """A SIGBUS guard over the whole mapping behind an array, until ``finish``.

    Limits: after a fault the guarded code runs on over zero pages; writes after the fault
    are lost. ``finish`` raises FaultError if a page of the mapping faulted meanwhile.
    """

    def __new__(cls, a: npt.NDArray[Any]) -> Guard: ...
    def finish(self) -> None: ...
    @property
    def active(self) -> bool: ...
