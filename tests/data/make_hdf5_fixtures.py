#!/usr/bin/env python3
"""The Python half of tests/hdf5.rs: HDF5 files written by h5py (whose wheel bundles the HDF5
library), and what h5py reads back from them, for ndmmap to be compared against. The tests run
it in a temporary directory; nothing is committed but this script.

    make_hdf5_fixtures.py OUTDIR

Writes OUTDIR/default.h5 (h5py's default format: libver='earliest', symbol-table groups, v1
B-trees) and OUTDIR/latest.h5 (libver='latest': compact and dense link storage, v4 layouts and
the newer chunk indexes), each with the same content:

    /dtypes/<dtype>       every numeric dtype numpy and HDF5 share, in both byte orders
                          (i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8; `<` and `>`), contiguous, 2-D
    /nested/a/b/c/deep    a 3-D array three groups down
    /scalar               a 0-D array
    /empty                a (0, 3) array
    /many/dNNN            200 one-element datasets: a symbol table with a B-tree of several
                          nodes in default.h5, dense (fractal heap + v2 B-tree) in latest.h5
    /chunked/plain        chunked, unfiltered, every chunk written
    /chunked/partial      chunked, unfiltered, only some chunks written (the rest unallocated)
    /chunked/gzip         chunked, shuffle + gzip
    /compact              compact layout (the data inside the object header)
    /compacts/<name>      compact, several dtypes in both byte orders (i1 be_i2 le_u8 le_f4
                          be_f8 be_c16)
    /chunked/edges        chunked, unfiltered, partial edge chunks, some chunks never written,
                          fillvalue=-7.5 (<f8)
    /chunked/edges_be     the same in 3-D, >i4, fillvalue=42
    /chunked/complex      chunked, unfiltered, <c8, some chunks never written (default fill)
    /chunked/one_chunk    1-D, resizable, one chunk larger than the dataset (<u2)
    /chunked/edges_gzip   chunked, shuffle + gzip + fletcher32, partial edge chunks, some
                          chunks never written, fillvalue=3 (>i4)
    /unallocated          contiguous, never written: no storage allocated
    /external             contiguous in an external file (OUTDIR/external.bin)
    /strings              fixed-length byte strings (|S6)
    /vlen                 variable-length strings
and attributes on the file, groups and datasets (which ndmmap ignores). Also OUTDIR/cyclic.h5,
whose group /g holds a dataset and a hard link back to itself (/g/loop), and OUTDIR/sparse.h5,
chunked datasets mostly never written: /huge, (2**20, 2**20) |u1 with one chunk of 1 MiB
written (1 TiB as h5py would read it), and /filled, (4096, 4096) |i1 with none written and
fillvalue=5 (16 MiB); neither in the manifest.

And OUTDIR/manifest.txt, one line per dataset of each file, tab-separated:

    FILE  PATH  DTYPE  SHAPE  LAYOUT  OFFSET  STORAGE  CHUNKS  BIN  CHUNKSHAPE

DTYPE is h5py's `dset.dtype.str` (byte order kept); SHAPE `d0,d1,..` (empty for 0-D); LAYOUT
one of contiguous, chunked, compact, external, virtual; OFFSET `dset.id.get_offset()` (or
`-` when h5py has none: unallocated, chunked, compact, external); STORAGE
`dset.id.get_storage_size()`; CHUNKS, for chunked datasets, the stored chunks as
`byte_offset+size` joined by `;` (h5py's `get_chunk_info`, in index order), else `-`; BIN the
name of a file in OUTDIR holding `dset[()].tobytes()` (the values in the dataset's own byte
order), or `-` for datasets whose values are not compared (strings of variable length);
CHUNKSHAPE `dset.chunks` as `c0,c1,..`, or `-` for an unchunked dataset.
"""
import os
import sys

import h5py
import numpy as np

NUMERIC = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]


def values(dtype, shape, seed):
    """Deterministic values that fit `dtype`, negative ones for signed kinds."""
    n = int(np.prod(shape))
    x = (np.arange(n, dtype=np.int64) * 37 + seed) % 251
    dt = np.dtype(dtype)
    if dt.kind == "i":
        x = x - 125
    if dt.kind == "f":
        return (x.astype(np.float64) / 8.0 - 3.0).astype(dt).reshape(shape)
    return x.astype(dt).reshape(shape)


def compact(f, name, data):
    """A compact dataset: through the low-level API, as h5py's high level has no switch."""
    space = h5py.h5s.create_simple(data.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    lcpl = h5py.h5p.create(h5py.h5p.LINK_CREATE)
    lcpl.set_create_intermediate_group(True)
    dsid = h5py.h5d.create(f.id, name.encode(), h5py.h5t.py_create(data.dtype), space,
                           dcpl=dcpl, lcpl=lcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def write(path, libver, outdir):
    with h5py.File(path, "w", libver=libver) as f:
        f.attrs["title"] = "ndmmap fixture"
        g = f.create_group("dtypes")
        g.attrs["note"] = np.arange(3)
        for i, code in enumerate(NUMERIC):
            for order in "<>":
                dt = np.dtype(order + code)
                name = ("le_" if order == "<" else "be_") + code
                d = g.create_dataset(name, data=values(dt, (5, 7), i))
                d.attrs["units"] = "m"
        f.create_dataset("nested/a/b/c/deep", data=values("<f8", (3, 4, 5), 99))
        f["nested"].attrs["level"] = 1
        f.create_dataset("scalar", data=np.float64(2.5))
        f.create_dataset("empty", shape=(0, 3), dtype="<i4")
        many = f.create_group("many")
        for i in range(200):
            many.create_dataset("d%03d" % i, data=np.array([i], dtype="<i8"))
        f.create_dataset("chunked/plain", data=values("<f4", (100, 60), 7), chunks=(16, 25))
        p = f.create_dataset("chunked/partial", shape=(64, 64), dtype="<i2", chunks=(16, 16),
                             fillvalue=0)
        p[0:16, 0:16] = 1
        p[40:50, 20:40] = values("<i2", (10, 20), 3)
        f.create_dataset("chunked/gzip", data=values("<f8", (50, 40), 11), chunks=(10, 40),
                         compression="gzip", shuffle=True)
        compact(f, "compact", values("<i4", (4, 6), 5))
        for i, code in enumerate(["|i1", ">i2", "<u8", "<f4", ">f8", ">c16"]):
            dt = np.dtype(code)
            v = values(dt if dt.kind != "c" else np.dtype(code[0] + "f8"), (3, 5), 20 + i)
            if dt.kind == "c":
                v = (v + 1j * v[::-1]).astype(dt)
            compact(f, "compacts/" + {"<": "le_", ">": "be_", "|": ""}[code[0]] + code[1:], v)
        e = f.create_dataset("chunked/edges", shape=(50, 37), dtype="<f8", chunks=(16, 10),
                             fillvalue=-7.5)
        e[0:20, 0:12] = values("<f8", (20, 12), 1)
        e[45:50, 30:37] = values("<f8", (5, 7), 2)
        e[33, 5] = 1.25
        b = f.create_dataset("chunked/edges_be", shape=(20, 30, 7), dtype=">i4",
                             chunks=(8, 7, 4), fillvalue=42)
        b[0:9, 0:8, :] = values(">i4", (9, 8, 7), 3)
        b[16:20, 28:30, 4:7] = values(">i4", (4, 2, 3), 4)
        z = f.create_dataset("chunked/complex", shape=(10, 9), dtype="<c8", chunks=(4, 4))
        z[0:5, 0:3] = (values("<f4", (5, 3), 5) + 1j).astype("<c8")
        z[9, 8] = 2 - 3j
        f.create_dataset("chunked/one_chunk", data=values("<u2", (30,), 6), chunks=(64,),
                         maxshape=(None,))
        g = f.create_dataset("chunked/edges_gzip", shape=(33, 21), dtype=">i4", chunks=(8, 8),
                             compression="gzip", shuffle=True, fletcher32=True, fillvalue=3)
        g[0:17, 0:21] = values(">i4", (17, 21), 8)
        g[30:33, 18:21] = values(">i4", (3, 3), 9)
        f.create_dataset("unallocated", shape=(10, 10), dtype="<f8")
        ext = os.path.basename(path) + ".external.bin"
        e = f.create_dataset("external", shape=(8,), dtype="<u4",
                             external=[(ext, 0, 8 * 4)])
        e[...] = np.arange(8, dtype="<u4")
        f.create_dataset("strings", data=np.array([b"alpha", b"beta", b"gamma!"], dtype="S6"))
        f.create_dataset("vlen", data=["one", "two", "three"], dtype=h5py.string_dtype())


def layout_name(d):
    if d.id.get_create_plist().get_external_count() > 0:
        return "external"
    return {
        h5py.h5d.COMPACT: "compact",
        h5py.h5d.CONTIGUOUS: "contiguous",
        h5py.h5d.CHUNKED: "chunked",
        h5py.h5d.VIRTUAL: "virtual",
    }[d.id.get_create_plist().get_layout()]


def manifest(path, outdir, lines):
    fname = os.path.basename(path)
    with h5py.File(path, "r") as f:
        items = []
        f.visititems(lambda name, obj: items.append((name, obj))
                     if isinstance(obj, h5py.Dataset) else None)
        for name, d in items:
            layout = layout_name(d)
            off = d.id.get_offset()
            chunks = "-"
            if layout == "chunked":
                runs = []
                for i in range(d.id.get_num_chunks()):
                    c = d.id.get_chunk_info(i)
                    runs.append("%d+%d" % (c.byte_offset, c.size))
                chunks = ";".join(runs)
            binname = "-"
            if d.dtype.kind != "O":
                binname = "%s.%d.bin" % (fname, len(lines))
                with open(os.path.join(outdir, binname), "wb") as out:
                    out.write(d[()].tobytes())
            lines.append("\t".join([
                fname, "/" + name, d.dtype.str, ",".join(str(n) for n in d.shape), layout,
                "-" if off is None else str(off), str(d.id.get_storage_size()), chunks,
                binname, "-" if d.chunks is None else ",".join(str(n) for n in d.chunks),
            ]))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    # External files are named relative to the working directory, when written and read.
    os.chdir(outdir)
    lines = []
    for name, libver in [("default.h5", None), ("latest.h5", "latest")]:
        write(name, libver, ".")
        manifest(name, ".", lines)
    with h5py.File("cyclic.h5", "w") as f:
        f.create_dataset("g/x", data=np.arange(4))
        f["g/loop"] = f["g"]
    with h5py.File("sparse.h5", "w") as f:
        h = f.create_dataset("huge", shape=(1 << 20, 1 << 20), dtype="u1", chunks=(1024, 1024))
        h[0:1024, 0:1024] = 1
        f.create_dataset("filled", shape=(4096, 4096), dtype="i1", chunks=(512, 512),
                         fillvalue=5)
    with open("manifest.txt", "w") as m:
        m.write("\n".join(lines) + "\n")
    print("ok %d" % len(lines))


if __name__ == "__main__":
    main()
