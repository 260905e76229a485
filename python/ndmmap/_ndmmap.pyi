from typing import Any, Optional, Sequence, final

import numpy as np
import numpy.typing as npt

__all__ = ["FaultError", "Mapping", "entries", "open", "stats"]

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
        list[int],
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
