//! numpy `.npy` files as memory-mapped arrays: open, create, resize in place.
//!
//! ```
//! use ndarray::Ix2;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("x.npy");
//! // SAFETY: the file is ours alone while the arrays live.
//! let mut a = unsafe { ndmmap::npy::create::<f32, Ix2, _>(&path, (100, 3))? };
//! a.view_mut()?.fill(1.0);
//! a.resize(110)?;                             // 10 more rows, header rewritten in place
//! drop(a);
//! let b = unsafe { ndmmap::npy::open::<f32, Ix2>(&path)? };
//! assert_eq!(b.shape(), &[110, 3]);
//! assert_eq!(b.view().sum(), 300.0);
//! # Ok(()) }
//! ```
//!
//! The header is parsed here rather than by ndarray-npy: mapping needs the data offset, the
//! header's free room (to grow in place) and precise errors for each kind of broken file,
//! none of which ndarray-npy's public API exposes. ndarray-npy reads and writes the reference
//! files in the tests.

use crate::AnyArray;
use crate::array::{MmapArray, dim_and_strides};
use crate::error::{Error, NpyError, Result};
use crate::mapping::Mode;
use crate::mapping::check_file_type;
use crate::options::MmapOptions;
use crate::sys::FileAt;
use ndarray::{Dimension, ShapeBuilder};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) mod dtype;
pub(crate) mod header;

pub use crate::element::{Dtype, NpyElement};
use header::MAGIC;
use header::dict_text;
pub(crate) use header::read_from as read_header_from;
pub use header::{Header, MAX_HEADER_SIZE};

/// What [`OpenOptions::open_header`] opened: the map options, the handle, its header and
/// length, and the shared lock held while they are mapped.
type Opened = (MmapOptions, File, Header, u64, Option<crate::sys::FileLock>);

/// Digits of room numpy leaves for the growing axis (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_DIGITS: usize = 21;
/// Data alignment of the files numpy writes (and ndmmap creates).
const ALIGN: usize = 64;

fn npy_err(path: &Path, kind: NpyError) -> Error {
    Error::npy(Some(path), kind)
}

/// How to open a `.npy` file: the map's mode and the header size limit.
///
/// ```
/// use ndmmap::{Mode, npy};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { npy::create::<f64, ndarray::Ix1, _>(&path, 10)? });
/// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
/// let a = unsafe {
///     npy::OpenOptions::new().mode(Mode::ReadWrite).max_header_size(1 << 20).open::<f64, ndarray::Ix1>(&path)?
/// };
/// assert_eq!(a.len(), 10);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    mode: Mode,
    max_header_size: usize,
    preallocate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// Read-only, with numpy's header size limit ([`MAX_HEADER_SIZE`]).
    pub fn new() -> OpenOptions {
        OpenOptions {
            mode: Mode::ReadOnly,
            max_header_size: MAX_HEADER_SIZE,
            preallocate: false,
        }
    }

    /// Allocates the data's disk blocks (`fallocate`) when [`create`](Self::create) makes a
    /// file and when [`resize`](MmapArray::resize) grows one, so that a full disk is an
    /// error then rather than a `SIGBUS` on a later write. Off by default: the data is sparse
    /// until written, as numpy's `open_memmap` leaves it.
    pub fn preallocate(&mut self, preallocate: bool) -> &mut Self {
        self.preallocate = preallocate;
        self
    }

    /// The map's mode (read-only by default).
    pub fn mode(&mut self, mode: Mode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The longest header accepted, in characters: numpy's `max_header_size`, 10000 by
    /// default. Raise it only for files you trust, as numpy says of its own limit; no header
    /// is read into memory before its length is checked against this and the file's size.
    pub fn max_header_size(&mut self, chars: usize) -> &mut Self {
        self.max_header_size = chars;
        self
    }

    /// Reads the header of the `.npy` file at `path`.
    pub fn read_header(&self, path: impl AsRef<Path>) -> Result<Header> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|e| Error::io("open", Some(path), e))?;
        check_file_type(&meta, Some(path))?;
        let file = File::open(path).map_err(|e| Error::io("open", Some(path), e))?;
        // Read only the header's pages: no readahead into the data, whose residency the caller
        // may be about to measure. (A hint: failure changes nothing.)
        let _ = crate::sys::fadvise(&file, 0, 0, crate::sys::FileAdvice::Random);
        header::read_from(&file, path, self.max_header_size)
    }

    /// Opens `path` in this mode, reads its header from that handle and its length: what both
    /// `open` and `open_any` start from (the map options carry the mode).
    /// The header and the length are read under the file's shared lock (see
    /// [`read_header_locked`]), which the caller holds until it has mapped the data.
    fn open_header(&self, path: &Path) -> Result<Opened> {
        if self.mode == Mode::ReadWrite {
            // Where a writer killed before may be retried: its temporary files go.
            crate::replace::remove_stale_beside(path);
        }
        let mut opts = MmapOptions::new();
        opts.mode(self.mode)
            .grow(false)
            .preallocate(self.preallocate);
        let file = opts.open(path)?;
        let (h, len, lock) = read_header_locked(&file, path, self.max_header_size)?;
        Ok((opts, file, h, len, lock))
    }

    /// Opens the `.npy` file at `path` and maps its data. The header is read from the same
    /// handle that is mapped, so the file cannot be swapped in between.
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    pub unsafe fn open<T: NpyElement, D: Dimension>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<MmapArray<T, D>> {
        let path = path.as_ref();
        let (mut opts, file, h, len, _lock) = self.open_header(path)?;
        let dim: D = check_header::<T, D>(&h, path, len)?;
        opts.offset(h.data_offset);
        let shape = dim.set_f(h.fortran_order);
        // SAFETY: forwarded to the caller.
        let mut a: MmapArray<T, D> = unsafe {
            opts.map_file(&file, Some(path.to_path_buf()), |_| {
                dim_and_strides(shape, size_of::<T>())
            })?
        };
        a.map_mut().set_npy_header();
        Ok(a)
    }

    /// Opens the `.npy` file at `path` whatever its dtype, as the [`AnyArray`] variant that
    /// holds it: plain `T` for native, aligned data; [`Unaligned<T>`](crate::Unaligned) for data
    /// at an offset `T`'s alignment does not divide; [`ByteSwapped<T>`](crate::ByteSwapped)
    /// for the other byte order (`>f8`); [`Bool`](crate::Bool) for `|b1`. Dtypes no Rust type
    /// holds (longdouble, float16 without the feature `half`) are
    /// [`NpyError::UnsupportedDtype`], saying what to do.
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    pub unsafe fn open_any(&self, path: impl AsRef<Path>) -> Result<AnyArray> {
        let path = path.as_ref();
        let (_, file, h, len, _lock) = self.open_header(path)?;
        check_data_len(&h, path, len, h.dtype.size)?;
        // SAFETY: forwarded to the caller.
        let mut a = unsafe {
            AnyArray::map(
                &file,
                Some(path.to_path_buf()),
                h.data_offset,
                h.dtype,
                &h.shape,
                h.fortran_order,
                self.mode,
            )?
        };
        a.set_npy_header();
        Ok(a)
    }
}

/// Opens a `.npy` file read-only whatever its dtype, as an [`AnyArray`] (see
/// [`OpenOptions::open_any`]): big-endian data, `|b1` masks and data at unaligned offsets
/// included.
///
/// ```
/// use ndmmap::{AnyArray, npy};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { npy::create::<u16, ndarray::Ix2, _>(&path, (3, 4))? });
/// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
/// let a = unsafe { npy::open_any(&path)? };
/// assert_eq!((a.dtype().descr().as_str(), a.len()), ("<u2", 12));
/// assert!(matches!(a, AnyArray::U16(_)));
/// # Ok(()) }
/// ```
///
/// # Safety
/// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
pub unsafe fn open_any(path: impl AsRef<Path>) -> Result<AnyArray> {
    // SAFETY: forwarded to the caller.
    unsafe { OpenOptions::new().open_any(path) }
}

/// Reads the header of a `.npy` file, with numpy's header size limit.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<f32, ndarray::Ix2, _>(&path, (4, 3))? });
/// let h = ndmmap::npy::read_header(&path)?;
/// assert_eq!((h.dtype.descr().as_str(), h.shape.as_slice(), h.fortran_order), ("<f4", &[4, 3][..], false));
/// # Ok(()) }
/// ```
pub fn read_header(path: impl AsRef<Path>) -> Result<Header> {
    OpenOptions::new().read_header(path)
}

/// The header numpy writes for a new array: room for the growing axis (the first, or the
/// last in Fortran order) to reach 21 digits, data on a 64-byte boundary.
pub(crate) fn new_header(descr: &str, fortran: bool, shape: &[usize]) -> Vec<u8> {
    let last = shape.len().checked_sub(1); // None for 0-D: no axis to grow
    let grow_axis = if fortran { last } else { last.map(|_| 0) };
    let room = grow_axis.map_or(0, |a| {
        GROWTH_DIGITS.saturating_sub(shape[a].to_string().len())
    });
    header_bytes(&dict_text(descr, fortran, shape), room)
}

/// The full header bytes for a dictionary, with `room` spare spaces, padded so the data
/// starts on a 64-byte boundary, in the oldest version that fits.
fn header_bytes(dict: &str, room: usize) -> Vec<u8> {
    for (version, len_bytes) in [(1u8, 2usize), (2, 4)] {
        let pre = 8 + len_bytes;
        let body = dict.len() + room + 1; // + '\n'
        let total = (pre + body).next_multiple_of(ALIGN);
        let header_len = total - pre;
        if version == 1 && header_len > u16::MAX as usize {
            continue;
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header_len as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header_len as u32).to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.resize(total - 1, b' ');
        out.push(b'\n');
        return out;
    }
    unreachable!("a version 2.0 header holds 4 GiB")
}

/// Opens a `.npy` file read-only, as `np.load(path, mmap_mode='r')` does.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (3, 4))? });
// SAFETY: nobody truncates or rewrites x.npy while `a` lives.
/// let a = unsafe { ndmmap::npy::open::<f64, ndarray::Ix2>(&path)? };
/// assert_eq!(a.shape(), &[3, 4]);
/// # Ok(()) }
/// ```
///
/// # Safety
/// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
pub unsafe fn open<T: NpyElement, D: Dimension>(path: impl AsRef<Path>) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded.
    unsafe { open_with(path, Mode::ReadOnly) }
}

/// Opens a `.npy` file read-write (shared), as `mmap_mode='r+'` does.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (3, 4))? });
/// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
/// let mut a = unsafe { ndmmap::npy::open_mut::<f64, ndarray::Ix2>(&path)? };
/// a.view_mut()?[[1, 2]] = 5.0;
/// # Ok(()) }
/// ```
///
/// # Safety
/// As for [`open`].
pub unsafe fn open_mut<T: NpyElement, D: Dimension>(
    path: impl AsRef<Path>,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded.
    unsafe { open_with(path, Mode::ReadWrite) }
}

/// Checks a header against `T` and `D` and the file's length: the dimension to map.
pub(crate) fn check_header<T: NpyElement, D: Dimension>(
    h: &Header,
    path: &Path,
    file_len: u64,
) -> Result<D> {
    let dtype = h.dtype;
    if dtype != T::DTYPE {
        return Err(Error::DtypeMismatch {
            expected: T::DTYPE.descr(),
            found: dtype.descr(),
        });
    }
    if let Some(n) = D::NDIM
        && n != h.shape.len()
    {
        return Err(Error::DimensionMismatch {
            expected: n,
            found: h.shape.len(),
        });
    }
    if !h.data_offset.is_multiple_of(align_of::<T>() as u64) {
        return Err(npy_err(
            path,
            NpyError::UnalignedData {
                offset: h.data_offset,
                align: align_of::<T>(),
                dtype: dtype.descr(),
            },
        ));
    }
    check_data_len(h, path, file_len, size_of::<T>())?;
    let mut dim = D::zeros(h.shape.len());
    dim.slice_mut().copy_from_slice(&h.shape);
    Ok(dim)
}

/// Checks that the file holds the data the header describes (`itemsize`-byte elements).
fn check_data_len(h: &Header, path: &Path, file_len: u64, itemsize: usize) -> Result<()> {
    let bytes = h.data_len(itemsize)?;
    if h.data_offset + bytes as u64 > file_len {
        return Err(npy_err(
            path,
            NpyError::DataPastEnd {
                shape: h.shape.clone(),
                offset: h.data_offset,
                needed: bytes as u64,
                len: file_len,
            },
        ));
    }
    Ok(())
}

/// Opens a `.npy` file in the given mode (see [`OpenOptions`] for the header size limit).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (3, 4))? });
/// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
/// let mut a = unsafe { ndmmap::npy::open_with::<f64, ndarray::Ix2>(&path, ndmmap::Mode::CopyOnWrite)? };
/// a.view_mut()?.fill(9.0); // private: the file keeps its zeros
/// # Ok(()) }
/// ```
///
/// # Safety
/// As for [`open`].
pub unsafe fn open_with<T: NpyElement, D: Dimension>(
    path: impl AsRef<Path>,
    mode: Mode,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { OpenOptions::new().mode(mode).open(path) }
}

/// Creates (or replaces) a zero-filled `.npy` file of `shape` (`.f()` for Fortran order) and
/// maps it read-write, as numpy's `open_memmap(path, mode='w+')` does. The data is sparse until
/// written; the header leaves room for the shape to grow (see [`MmapArray::resize`]) and
/// starts the data on a 64-byte boundary. See [`OpenOptions::create`] to preallocate.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("new.npy");
/// // SAFETY: nobody truncates or rewrites new.npy while `a` lives.
/// let mut a = unsafe { ndmmap::npy::create::<i16, ndarray::Ix2, _>(&path, (4, 5))? };
/// a.view_mut()?.fill(3);
/// # Ok(()) }
/// ```
///
/// # Safety
/// As for [`open`].
pub unsafe fn create<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
    path: impl AsRef<Path>,
    shape: Sh,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { OpenOptions::new().create(path, shape) }
}

impl OpenOptions {
    /// Creates (or replaces) a zero-filled `.npy` file and maps it read-write (see [`create`]).
    /// The file is made where nobody sees it (unnamed, with `O_TMPFILE`, on Linux; else under
    /// a hidden temporary name beside `path`) and renamed into place once mapped, so a failure
    /// (a full disk with [`preallocate`](Self::preallocate), a shape too large) or a killed
    /// process leaves no partial file and an existing file untouched. A file replaced keeps
    /// its permission bits (and its owner and group, where the process may set them); a
    /// symbolic link at `path` stays a link, and the file it names is the one replaced, as
    /// numpy writes through it.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("alloc.npy");
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::npy::OpenOptions::new().preallocate(true).create::<f32, _, _>(&path, (64, 64))? };
    /// assert_eq!(a.shape(), &[64, 64]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`open`].
    pub unsafe fn create<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        path: impl AsRef<Path>,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let path = path.as_ref();
        let shape = shape.into_shape_with_order();
        let (dim, strides, _) = dim_and_strides(shape, size_of::<T>())?;
        let (_, c_strides, _) = dim_and_strides(ndarray::Shape::from(dim.clone()), size_of::<T>())?;
        let fortran = c_strides.slice() != strides.slice();
        let header = new_header(&T::DTYPE.descr(), fortran, dim.slice());
        let new = crate::replace::Replacement::new(path)?;
        let mut f = new.file();
        f.write_all(&header)
            .map_err(|e| Error::io("write header", Some(path), e))?;
        let mut opts = MmapOptions::new();
        opts.mode(Mode::ReadWrite)
            .offset(header.len() as u64)
            .preallocate(self.preallocate);
        // SAFETY: forwarded to the caller; the file is ours alone until put in place.
        let mut a: MmapArray<T, D> = unsafe {
            opts.map_file(f, Some(path.to_path_buf()), |_| {
                dim_and_strides(dim.clone().set_f(fortran), size_of::<T>())
            })?
        };
        a.map_mut().set_npy_header();
        new.commit()?;
        Ok(a)
    }
}

/// A `.npy` header rewrite for [`MmapArray::resize`]: the bytes of the header's text that
/// change (the shape's digits and the padding after them), before and after, and where they
/// go. The text keeps the header's length, so the data does not move.
pub(crate) struct HeaderRewrite {
    at: u64,
    old: Vec<u8>,
    new: Vec<u8>,
}

impl HeaderRewrite {
    /// Reads the header of `file` again (the caller holds the file's resize lock), checks that
    /// it and the file's length `file_len` still describe the array (`shape` of `elem_size`-byte
    /// elements at `offset`; else [`NpyError::ResizedElsewhere`] when only the row count
    /// differs, [`NpyError::Stale`] when more does, [`NpyError::DataPastEnd`] when the file is
    /// shorter than the header says), and prepares the C-order header of `new_shape` in the
    /// same bytes ([`Error::CannotResize`] when it has no room for the longer shape). Nothing is
    /// written.
    pub(crate) fn prepare(
        file: &File,
        path: Option<&Path>,
        (offset, file_len): (u64, u64),
        shape: &[usize],
        elem_size: usize,
        new_shape: &[usize],
    ) -> Result<HeaderRewrite> {
        let p = path.unwrap_or(Path::new(""));
        // The header ends where the array's data starts: no longer limit is needed.
        let limit = usize::try_from(offset).unwrap_or(usize::MAX);
        let h = header::read_from(file, p, limit)?;
        if h.shape != shape || h.data_offset != offset || h.dtype.size != elem_size {
            let rows_only = h.shape.len() == shape.len()
                && h.shape.get(1..) == shape.get(1..)
                && h.data_offset == offset
                && h.dtype.size == elem_size;
            let kind = match (rows_only, h.shape.first(), shape.first()) {
                (true, Some(&file_rows), Some(&mapped_rows)) => NpyError::ResizedElsewhere {
                    mapped_rows,
                    file_rows,
                },
                _ => NpyError::Stale {
                    header: format!(
                        "{} {:?} at byte {}",
                        h.dtype.descr(),
                        h.shape,
                        h.data_offset
                    ),
                    array: format!("{elem_size}-byte elements {shape:?} at byte {offset}"),
                },
            };
            return Err(Error::npy(path, kind));
        }
        check_data_len(&h, p, file_len, elem_size)?;
        let at = h.preamble_len();
        let room = (h.data_offset - at) as usize;
        // The rows stay where they are, in C order (the caller refused a Fortran-order array
        // whose order matters), so the header says C order.
        let dict = dict_text(&h.dtype.descr(), false, new_shape);
        if dict.len() + 1 > room {
            return Err(Error::CannotResize {
                path: path.map(Path::to_path_buf),
                why: format!(
                    "its .npy header has room for {} characters but the shape {new_shape:?} needs \
                     {}; rewrite the file with numpy (np.save leaves room for {GROWTH_DIGITS} \
                     digits) or with ndmmap::npy::create, then resize it",
                    room - 1,
                    dict.len()
                ),
            });
        }
        let mut new = dict.into_bytes();
        new.resize(room - 1, b' ');
        new.push(b'\n');
        let mut old = vec![0; room];
        file.read_exact_at(&mut old, at)
            .map_err(|e| Error::io("read header", path, e))?;
        // Only the bytes that differ are written: one short write, in the file's first page
        // for any header numpy writes for a plain dtype.
        let first = old.iter().zip(&new).position(|(a, b)| a != b);
        let last = old.iter().zip(&new).rposition(|(a, b)| a != b);
        let span = match (first, last) {
            (Some(f), Some(l)) => f..l + 1,
            _ => 0..0,
        };
        Ok(HeaderRewrite {
            at: at + span.start as u64,
            old: old[span.clone()].to_vec(),
            new: new[span].to_vec(),
        })
    }

    /// Writes the new header text's changed bytes (one `pwrite`, over the old bytes) and waits
    /// until they are on disk (`fdatasync`).
    pub(crate) fn write(&self, file: &File, path: Option<&Path>) -> Result<()> {
        Self::put(file, path, &self.new, self.at)
    }

    /// Puts the old header back, as durably (undoing a resize that failed after
    /// [`write`](Self::write)).
    pub(crate) fn undo(&self, file: &File, path: Option<&Path>) -> Result<()> {
        Self::put(file, path, &self.old, self.at)
    }

    fn put(file: &File, path: Option<&Path>, text: &[u8], at: u64) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        file.write_all_at(text, at)
            .map_err(|e| Error::io("rewrite header", path, e))?;
        file.sync_data()
            .map_err(|e| Error::io("fdatasync (header)", path, e))
    }
}

/// The header of `file` (at `path`) and the file's length, read under a shared lock on the
/// file, which [`MmapArray::resize`] holds exclusively while it changes either: the two always
/// come from the same resize. The lock is returned so that the caller holds it until it has
/// mapped what they describe (`None` where the filesystem has no locks); it waits while a
/// resize runs.
pub(crate) fn read_header_locked(
    file: &File,
    path: &Path,
    limit: usize,
) -> Result<(Header, u64, Option<crate::sys::FileLock>)> {
    let lock = crate::sys::FileLock::shared(file)
        .map_err(|e| Error::io("lock (flock, shared)", Some(path), e))?;
    let h = header::read_from(file, path, limit)?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", Some(path), e))?
        .len();
    Ok((h, len, lock))
}

/// [`read_header_locked`], with bytes, str, void, datetime and timedelta dtypes read too (a
/// container lists such an array and maps it as raw bytes).
pub(crate) fn read_any_header_locked(
    file: &File,
    path: &Path,
    limit: usize,
) -> Result<(header::AnyHeader, u64, Option<crate::sys::FileLock>)> {
    let lock = crate::sys::FileLock::shared(file)
        .map_err(|e| Error::io("lock (flock, shared)", Some(path), e))?;
    let h = header::read_any_from(file, path, limit)?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", Some(path), e))?
        .len();
    Ok((h, len, lock))
}

impl<T: NpyElement, D: Dimension> MmapArray<T, D> {
    /// The header no longer describes this array.
    fn stale(&self, h: &Header, p: &Path) -> Error {
        let describe = |dtype: Dtype, shape: &[usize], at: u64| {
            format!("{} {shape:?} at byte {at}", dtype.descr())
        };
        npy_err(
            p,
            NpyError::Stale {
                header: describe(h.dtype, &h.shape, h.data_offset),
                array: describe(T::DTYPE, self.shape(), self.offset()),
            },
        )
    }

    /// Picks up a `.npy` file that another process (or another array's
    /// [`resize`](MmapArray::resize)) grew or shrank along its first axis:
    /// reads the header again from the mapped handle and remaps to its shape. The dtype, the
    /// order, the data offset and the other axes must be unchanged, else
    /// [`NpyError::Stale`]; a file shorter than its header says is [`NpyError::DataPastEnd`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("r.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (10, 3))? });
    /// // SAFETY: the file only grows while the arrays live.
    /// let mut reader = unsafe { ndmmap::npy::open::<f64, ndarray::Ix2>(&path)? };
    /// let mut writer = unsafe { ndmmap::npy::open_mut::<f64, ndarray::Ix2>(&path)? };
    /// writer.resize(25)?;
    /// reader.reload_npy()?;
    /// assert_eq!(reader.shape(), &[25, 3]);
    /// # Ok(()) }
    /// ```
    pub fn reload_npy(&mut self) -> Result<()> {
        let path: PathBuf = self.path().map(Path::to_path_buf).unwrap_or_default();
        let p = path.as_path();
        let file = self.file().ok_or(Error::Unsupported {
            what: "reload_npy on an anonymous map",
        })?;
        let limit = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        // Held until the map has the new length: no resize runs in between.
        let (h, len, _lock) = read_header_locked(file, p, limit)?;
        let same_rest = h.shape.len() == self.ndim() && h.shape.get(1..) == self.shape().get(1..);
        if !same_rest
            || h.data_offset != self.offset()
            || h.dtype != T::DTYPE
            || (h.fortran_order && self.ndim() > 1 && self.order() != crate::Order::F)
        {
            return Err(self.stale(&h, p));
        }
        let dim: D = check_header::<T, D>(&h, p, len)?;
        let (dim, strides, bytes) = dim_and_strides(dim.set_f(h.fortran_order), size_of::<T>())?;
        self.resize_in_place(dim, strides, bytes)
    }
}
