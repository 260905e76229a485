//! Slabs: one process's share of the rows of an array file, for data-parallel programs (MPI
//! ranks, job arrays, any launcher that hands each process a rank and a size).
//!
//! Each of `size` processes maps only its own contiguous rows along axis 0 ([`rows`]: balanced
//! to within one row, the first `len % size` ranks one row more, ranks past the rows an empty
//! array), so each node's page cache holds only its part of a shared file. A [`Slab`] derefs to
//! its [`MmapArray`], so the whole page toolkit works on the rank's own rows:
//! `slab.pages(..)?.advise(Advice::WillNeed)` prefetches them, `.evict()` drops them,
//! `.residency()` counts them. [`Slab::first_row`] places them in the whole array.
//!
//! The rank-and-size API ([`SlabOptions::new`]) needs no MPI; with the feature `mpi` (Unix),
//! `mpi::options` takes them from an rsmpi communicator.
//!
//! ```
//! use ndarray::Ix2;
//! use ndmmap::slab::{self, SlabOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("x.npy");
//! # let mut w = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&path, (10, 3))? };
//! # for (i, x) in w.view_mut()?.iter_mut().enumerate() { *x = i as f64; }
//! # drop(w);
//! // 10 rows over 4 ranks: 3, 3, 2, 2.
//! assert_eq!(slab::rows(10, 2, 4), 6..8);
//! // SAFETY: nobody truncates or rewrites x.npy while the slab lives.
//! let s = unsafe { SlabOptions::new(2, 4).npy::<f64, Ix2>(&path)? };
//! assert_eq!((s.first_row(), s.shape(), s.total_rows()), (6, &[2, 3][..], 10));
//! assert_eq!(s.view()[[0, 0]], 18.0);                  // row 6 of the file
//! let r = s.pages(..)?.residency()?;                   // this rank's pages only
//! assert!(r.resident <= r.total);
//! # Ok(()) }
//! ```

use crate::array::dim_and_strides;
use crate::npy::NpyElement;
use crate::{Error, MmapArray, MmapOptions, Mode, Order, Pod, Result};
use ndarray::{Dimension, ShapeBuilder};
use std::ops::{Deref, Range};
use std::path::Path;

/// The rows of `len` that rank `rank` of `size` holds: contiguous, in rank order, balanced to
/// within one row (the first `len % size` ranks hold one more). A rank past the rows gets an
/// empty range at the end.
///
/// ```
/// use ndmmap::slab::rows;
/// assert_eq!([rows(7, 0, 3), rows(7, 1, 3), rows(7, 2, 3)], [0..3, 3..5, 5..7]);
/// assert_eq!(rows(1, 1, 2), 1..1);
/// ```
///
/// # Panics
/// If `size` is 0 or `rank` is not below `size` (a launcher's bug, not the data's).
pub fn rows(len: usize, rank: usize, size: usize) -> Range<usize> {
    assert!(
        rank < size,
        "slab rank {rank} is not below the number of ranks {size}"
    );
    let (per, extra) = (len / size, len % size);
    let start = rank * per + rank.min(extra);
    start..start + per + usize::from(rank < extra)
}

/// How to map a slab: the rank, the number of ranks and the mode (read-only by default).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("d.bin");
/// std::fs::write(&path, bytemuck::cast_slice(&[0u32, 1, 2, 3, 4, 5, 6, 7, 8, 9]))?;
/// // A raw file of 5 x 2 u32: rank 1 of 2 holds rows 3 and 4.
/// // SAFETY: nobody truncates or rewrites the file while the slab lives.
/// let s = unsafe { ndmmap::slab::SlabOptions::new(1, 2).raw::<u32, _, _>(&path, 0, (5, 2))? };
/// assert_eq!((s.rows(), s.as_slice()), (3..5, &[6, 7, 8, 9][..]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SlabOptions {
    rank: usize,
    size: usize,
    mode: Mode,
}

impl SlabOptions {
    /// Rank `rank` of `size` ranks, read-only. A rank that is not below `size` (or a `size` of
    /// 0) is an [`Error::Slab`] when mapping, not a panic: the numbers may come from a
    /// launcher's environment.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("d.bin");
    /// # std::fs::write(&path, [0u8; 8])?;
    /// // SAFETY: nobody truncates or rewrites the file while the slab lives.
    /// let r = unsafe { ndmmap::slab::SlabOptions::new(4, 4).raw::<u8, _, _>(&path, 0, 8) };
    /// assert!(matches!(r, Err(ndmmap::Error::Slab { rank: 4, size: 4, .. })));
    /// # Ok(()) }
    /// ```
    pub fn new(rank: usize, size: usize) -> SlabOptions {
        SlabOptions {
            rank,
            size,
            mode: Mode::ReadOnly,
        }
    }

    /// Maps read-write (each rank writes its own rows) or copy-on-write instead. The file is
    /// never grown: it must already hold the whole array.
    pub fn mode(&mut self, mode: Mode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Opens the `.npy` file at `path` and maps this rank's rows: the header is read, and the
    /// map starts at `data_offset + first_row * row_bytes`. A Fortran-order file is
    /// [`Error::Slab`] (its rows are not contiguous in the file).
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    pub unsafe fn npy<T: NpyElement, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Slab<T, D>> {
        let path = path.as_ref();
        let opts = self.map_options();
        let file = opts.open(path)?;
        // Held until the rows are mapped: no resize changes the file meanwhile.
        let (h, len, _lock) =
            crate::npy::read_header_locked(&file, path, crate::npy::MAX_HEADER_SIZE)?;
        let dim: D = crate::npy::check_header::<T, D>(&h, path, len)?;
        if h.fortran_order && dim.ndim() > 1 {
            return Err(self.refuse(
                Some(path),
                "the file is in Fortran order, where a row's elements are not contiguous, so no \
                 rank's rows are one range of the file; save it in C order \
                 (np.save(path, np.ascontiguousarray(a))) or slab the transposed array",
            ));
        }
        // SAFETY: forwarded to the caller.
        unsafe { self.map_rows(&opts, &file, path, h.data_offset, dim) }
    }

    /// Maps this rank's rows of a raw file at `path` holding a C-order array of `shape` (the
    /// whole array's) at byte `offset`. The file must hold the whole array
    /// ([`Error::TooShort`] otherwise, on every rank alike).
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    pub unsafe fn raw<T: Pod, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        path: impl AsRef<Path>,
        offset: u64,
        shape: Sh,
    ) -> Result<Slab<T, D>> {
        let path = path.as_ref();
        let (dim, strides, _) = dim_and_strides(shape.into_shape_with_order(), size_of::<T>())?;
        let c = dim.default_strides();
        let c_order = (0..dim.ndim()).all(|i| dim[i] <= 1 || strides[i] == c[i]);
        if !c_order {
            return Err(self.refuse(
                Some(path),
                "a Fortran-order shape was given, where a row's elements are not contiguous; \
                 map the transposed array in C order",
            ));
        }
        let opts = self.map_options();
        let file = opts.open(path)?;
        let bytes = crate::layout::checked_bytes(dim.slice(), size_of::<T>())? as u64;
        let (len, needed) = (file_len(&file, path)?, offset.saturating_add(bytes));
        if len < needed {
            return Err(Error::TooShort {
                path: Some(path.to_path_buf()),
                len,
                needed,
            });
        }
        // SAFETY: forwarded to the caller.
        unsafe { self.map_rows(&opts, &file, path, offset, dim) }
    }

    /// Maps this rank's rows of an array already open (from any file, of any origin) as its
    /// own mapping of the same file, in this options' mode. The array must be file-backed
    /// and in C order (or 1-D).
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    pub unsafe fn of<T: Pod, D: Dimension>(&self, a: &MmapArray<T, D>) -> Result<Slab<T, D>> {
        let Some(file) = a.file() else {
            return Err(self.refuse(None, "the array is anonymous memory, not a file"));
        };
        if a.order() == Order::F && a.ndim() > 1 {
            return Err(self.refuse(
                a.path(),
                "the array is in Fortran order, where a row's elements are not contiguous",
            ));
        }
        let path = a.path().unwrap_or(Path::new(""));
        let mut dim = D::zeros(a.ndim());
        dim.slice_mut().copy_from_slice(a.shape());
        // SAFETY: forwarded to the caller.
        unsafe { self.map_rows(&self.map_options(), file, path, a.offset(), dim) }
    }

    fn map_options(&self) -> MmapOptions {
        let mut o = MmapOptions::new();
        o.mode(self.mode).grow(false);
        o
    }

    fn refuse(&self, path: Option<&Path>, why: &str) -> Error {
        Error::Slab {
            path: path.map(Path::to_path_buf),
            rank: self.rank,
            size: self.size,
            why: why.to_string(),
        }
    }

    /// Maps the rank's rows of the C-order array `dim` at byte `offset` of `file`, as a window
    /// of its axis 0 ([`crate::stream`]'s one window mapping).
    ///
    /// # Safety
    /// The file contract of [`MmapArray`].
    unsafe fn map_rows<T: Pod, D: Dimension>(
        &self,
        opts: &MmapOptions,
        file: &std::fs::File,
        path: &Path,
        offset: u64,
        dim: D,
    ) -> Result<Slab<T, D>> {
        if self.rank >= self.size {
            return Err(self.refuse(
                Some(path),
                "the rank is not below the number of ranks; give ranks 0..size",
            ));
        }
        if dim.ndim() == 0 {
            return Err(self.refuse(
                Some(path),
                "the array is 0-dimensional (a scalar): it has no rows to share",
            ));
        }
        let rows = rows(dim[0], self.rank, self.size);
        let global = dim.slice().to_vec();
        let path = (!path.as_os_str().is_empty()).then(|| path.to_path_buf());
        // SAFETY: forwarded to the caller.
        let array =
            unsafe { crate::stream::map_window(opts, file, path, offset, &dim, 0, rows.clone())? };
        Ok(Slab {
            array,
            rows,
            shape: global,
            rank: self.rank,
            size: self.size,
        })
    }
}

fn file_len(file: &std::fs::File, path: &Path) -> Result<u64> {
    Ok(file
        .metadata()
        .map_err(|e| Error::io("stat", Some(path), e))?
        .len())
}

/// One rank's rows of an array file, mapped alone: an [`MmapArray`] (it derefs to one) that
/// knows where its rows lie in the whole array.
#[derive(Debug)]
pub struct Slab<T: Pod, D: Dimension> {
    array: MmapArray<T, D>,
    rows: Range<usize>,
    shape: Vec<usize>,
    rank: usize,
    size: usize,
}

impl<T: Pod, D: Dimension> Slab<T, D> {
    /// The rows of the whole array this slab holds.
    pub fn rows(&self) -> Range<usize> {
        self.rows.clone()
    }

    /// The index in the whole array of the slab's row 0 (its row offset).
    pub fn first_row(&self) -> usize {
        self.rows.start
    }

    /// Rows of the whole array.
    pub fn total_rows(&self) -> usize {
        self.shape[0]
    }

    /// The whole array's shape (the slab's [`shape`](MmapArray::shape) has its own rows).
    pub fn global_shape(&self) -> &[usize] {
        &self.shape
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks the rows are shared between.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The mapped rows, mutably (views, page protection). A slab cannot be resized: the file
    /// holds the other ranks' rows.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("d.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (10, 3))? });
    /// // SAFETY: nobody truncates or rewrites the file while the slab lives.
    /// let mut s = unsafe {
    ///     ndmmap::slab::SlabOptions::new(3, 4).mode(ndmmap::Mode::ReadWrite).npy::<f64, ndarray::Ix2>(&path)?
    /// };
    /// assert!(matches!(s.array_mut().resize(0), Err(ndmmap::Error::CannotResize { .. })));
    /// assert_eq!(ndmmap::npy::read_header(&path)?.shape, [10, 3]);
    /// # Ok(()) }
    /// ```
    pub fn array_mut(&mut self) -> &mut MmapArray<T, D> {
        &mut self.array
    }

    /// The mapped rows, without the slab's place.
    pub fn into_array(self) -> MmapArray<T, D> {
        self.array
    }
}

impl<T: Pod, D: Dimension> Deref for Slab<T, D> {
    type Target = MmapArray<T, D>;
    fn deref(&self) -> &MmapArray<T, D> {
        &self.array
    }
}

/// Slabs of an MPI communicator (feature `mpi`, Unix): rank and size from rsmpi.
///
/// ```no_run
/// use mpi::traits::*;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let universe = mpi::initialize().ok_or("MPI was initialized already")?;
/// let world = universe.world();
/// // SAFETY: nobody truncates or rewrites data.npy while the slab lives.
/// let s = unsafe { ndmmap::slab::mpi::options(&world).npy::<f64, ndarray::Ix2>("data.npy")? };
/// let local: f64 = s.view().sum();
/// let mut total = 0.0;
/// world.all_reduce_into(&local, &mut total, mpi::collective::SystemOperation::sum());
/// # Ok(()) }
/// ```
#[cfg(all(feature = "mpi", unix))]
pub mod mpi {
    use super::SlabOptions;
    use mpi::traits::Communicator;

    /// Slab options for this process's rank of `comm`.
    pub fn options<C: Communicator>(comm: &C) -> SlabOptions {
        // rsmpi's ranks and sizes are non-negative `i32`s.
        SlabOptions::new(comm.rank() as usize, comm.size() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::rows;

    #[test]
    fn rows_are_balanced_contiguous_and_cover_all() {
        for len in [0usize, 1, 2, 3, 7, 10, 100, 101] {
            for size in 1..=9 {
                let parts: Vec<_> = (0..size).map(|r| rows(len, r, size)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[size - 1].end, len);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
                let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(hi - lo <= 1, "len {len}, size {size}: {lens:?}");
            }
        }
    }
}
