"""ndmmap from Python: the README's quick start (runs as copied; makes its own files)."""

import tempfile
from pathlib import Path

import numpy as np

import ndmmap

with tempfile.TemporaryDirectory() as tmp:
    # An .npz archive as np.savez writes it: numpy reads its members whole...
    path = Path(tmp) / "data.npz"
    weights = np.random.default_rng(0).standard_normal((10_000, 64))
    np.savez(path, weights=weights, labels=np.arange(10_000, dtype=np.int32))

    # ...ndmmap lists them and maps one without reading it.
    for e in ndmmap.entries(str(path)):
        print(e.name, e.dtype, e.shape, f"{e.nbytes} bytes at offset {e.offset}")
    w = ndmmap.open(f"{path}:weights")  # a numpy.ndarray over the file's bytes
    assert np.array_equal(w[1234], weights[1234]) and not w.flags.writeable

    # Statistics along an axis, out of core on every core, equal to numpy's.
    s = ndmmap.stats(f"{path}:weights", axis=0)
    assert np.allclose(s.mean, weights.mean(axis=0)) and np.allclose(s.std, weights.std(axis=0))
    print("column 0: mean", float(s.mean[0]), "std", float(s.std[0]))
    print("rows 100:200 of column 3:", ndmmap.stats(f"{path}:weights", 0, "100:200, 3").max)

    # A .npy file read-write (writes reach the file), a raw file as np.memmap reads it.
    np.save(Path(tmp) / "x.npy", np.zeros((3, 4), dtype=">f8"))
    x = ndmmap.open(str(Path(tmp) / "x.npy"), "r+")
    x[1, 2] = 7.5
    del x  # the map lives while any view of it does
    assert np.load(Path(tmp) / "x.npy")[1, 2] == 7.5
    raw = ndmmap.open(str(Path(tmp) / "x.npy"), dtype="u1", shape=6)  # the magic bytes
    print(bytes(raw))

    # The pages of any mapped array (np.memmap, np.load(mmap_mode=...), ndmmap.open, slices).
    r = ndmmap.residency(w, axis=0)  # per row, the fraction of its pages in RAM
    print(f"{r.resident_pages} of {r.pages} pages in RAM; fully resident rows: {r.ranges[:2]}")
    ndmmap.advise(w, "dontneed")  # this process lets go of the pages (they stay cached)...
    print(ndmmap.evict(w, sync=True))  # ...so they can leave the page cache: why some stay
    with ndmmap.guard(w):  # a SIGBUS (the file truncated meanwhile) -> ndmmap.FaultError
        total = float(w[::100].sum())
    print("sum of every 100th row:", total)
