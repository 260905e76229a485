//! [`MmapOptions`]: the builder that says how to map (mode, offset, growth, flags) and its
//! terminal calls that make an [`MmapArray`].

use crate::array::{MmapArray, dim_and_strides};
use crate::error::{Error, Result};
use crate::mapping::{Mapping, Mode, Offset, Remaining, Settings};
use crate::pages::{Advice, Lock};
use bytemuck::Pod;
use ndarray::{Dimension, Ix1, ShapeBuilder};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A builder for memory-mapped arrays, in the style of `memmap2::MmapOptions`.
///
/// ```
/// use ndmmap::{MmapOptions, Mode};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("grid.bin");
/// // SAFETY: the file is ours alone.
/// let mut a = unsafe {
///     MmapOptions::new().mode(Mode::ReadWrite).create(true).map_path::<f32, _, _>(&path, (3, 4))?
/// };
/// a.view_mut()?.fill(1.5);
/// assert_eq!(std::fs::metadata(&path)?.len(), 48);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MmapOptions {
    map: Settings,
    huge_pages: bool,
    locked: bool,
}

impl Default for MmapOptions {
    fn default() -> Self {
        MmapOptions::new()
    }
}

impl MmapOptions {
    /// Defaults: read-only for files and shared read-write for anonymous maps; the array
    /// starts at the handle's stream position; growth on; no flags.
    pub fn new() -> MmapOptions {
        MmapOptions {
            map: Settings::default(),
            huge_pages: false,
            locked: false,
        }
    }

    /// How the map relates to the file: [`Mode::ReadOnly`] (the default for files),
    /// [`Mode::ReadWrite`] (shared) or [`Mode::CopyOnWrite`] (private). For anonymous maps,
    /// `ReadWrite` (the default) is shared with forked children and `CopyOnWrite` is private.
    pub fn mode(&mut self, mode: Mode) -> &mut Self {
        self.map.mode = Some(mode);
        self
    }

    /// Start the array at this absolute byte offset in the file, instead of at the handle's
    /// stream position. Any offset works, page-aligned or not, as long as it is a multiple
    /// of `T`'s alignment.
    pub fn offset(&mut self, bytes: u64) -> &mut Self {
        self.map.offset = Offset::Bytes(bytes);
        self
    }

    /// Start the array `n` elements of `T` after the handle's stream position (after 0 for a
    /// path).
    pub fn offset_elements(&mut self, n: u64) -> &mut Self {
        self.map.offset = Offset::Elements(n);
        self
    }

    /// Whether a writable file shorter than offset + data is extended to fit (default on).
    /// Off, a short file is a [`Error::TooShort`].
    pub fn grow(&mut self, grow: bool) -> &mut Self {
        self.map.grow = grow;
        self
    }

    /// With [`Mode::ReadWrite`]: allocate the blocks of the mapped range (`fallocate`), extending
    /// the file if it is short and filling holes if it is sparse, so that a full disk is an
    /// error now rather than a `SIGBUS` when a page is first written. Off, a short file is
    /// extended sparsely.
    pub fn preallocate(&mut self, preallocate: bool) -> &mut Self {
        self.map.preallocate = preallocate;
        self
    }

    /// With a path and a writable mode: create the file if it does not exist.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.map.create = create;
        self
    }

    /// Fault every page in when mapping (`MAP_POPULATE` on Linux).
    pub fn populate(&mut self, populate: bool) -> &mut Self {
        self.map.populate = populate;
        self
    }

    /// Reserve no swap for the map (`MAP_NORESERVE` on Linux).
    pub fn no_reserve(&mut self, no_reserve: bool) -> &mut Self {
        self.map.no_reserve = no_reserve;
        self
    }

    /// Back the map with transparent huge pages where the OS has them (`MADV_HUGEPAGE` on
    /// Linux, for anonymous memory and for file systems that support it). Elsewhere the map
    /// fails with [`Error::Unsupported`].
    pub fn huge_pages(&mut self, huge_pages: bool) -> &mut Self {
        self.huge_pages = huge_pages;
        self
    }

    /// Lock the pages in RAM once mapped (`mlock`); past `RLIMIT_MEMLOCK` the map fails with
    /// [`Error::LockLimit`].
    pub fn locked(&mut self, locked: bool) -> &mut Self {
        self.locked = locked;
        self
    }

    /// Maps `shape` elements of `T` from an open file, starting at the handle's stream position
    /// unless [`offset`](Self::offset) says otherwise. The stream position is not moved.
    ///
    /// `shape` is anything ndarray's [`ShapeBuilder`] takes: `(rows, cols)`, `[n]`,
    /// `(rows, cols).f()` for Fortran order, `IxDyn(&[..])`.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("d.bin");
    /// # let mut f = std::fs::File::create(&path)?;
    /// # f.write_all(&[7; 16])?;
    /// # f.write_all(bytemuck::cast_slice(&[1.0f64; 6]))?;
    /// let mut file = std::fs::File::open(&path)?;
    /// file.read_exact(&mut [0u8; 16])?; // a 16-byte header, read with the handle
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::MmapOptions::new().map::<f64, ndarray::Ix2, _>(&file, (2, 3))? };
    /// assert_eq!((a.offset(), a.view().sum()), (16, 6.0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](MmapArray#safety-of-file-backed-arrays): the
    /// file must not be truncated or written behind the array's back while it lives.
    pub unsafe fn map<T: Pod, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        file: &File,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let shape = shape.into_shape_with_order();
        // SAFETY: forwarded to the caller.
        unsafe { self.map_file(file, None, |_| dim_and_strides(shape, size_of::<T>())) }
    }

    /// Maps the elements that remain in the file after the offset as a 1-D array.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("d.bin");
    /// # std::fs::write(&path, bytemuck::cast_slice(&[1u32, 2, 3, 4]))?;
    /// let file = std::fs::File::open(&path)?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::MmapOptions::new().offset(4).map_1d::<u32>(&file)? };
    /// assert_eq!(a.as_slice(), &[2, 3, 4]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_1d<T: Pod>(&self, file: &File) -> Result<MmapArray<T, Ix1>> {
        // SAFETY: forwarded to the caller.
        unsafe { self.map_file(file, None, remaining::<T>) }
    }

    /// Opens `path` (read-only for [`Mode::ReadOnly`] and [`Mode::CopyOnWrite`], read-write
    /// for [`Mode::ReadWrite`], created if asked) and maps `shape` elements from it, starting
    /// at byte 0 unless [`offset`](Self::offset) says otherwise.
    ///
    /// ```
    /// use ndmmap::{MmapOptions, Mode};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("grid.bin");
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let mut a = unsafe {
    ///     MmapOptions::new().mode(Mode::ReadWrite).create(true).preallocate(true)
    ///         .map_path::<u16, ndarray::Ix2, _>(&path, (100, 100))?
    /// };
    /// a.view_mut()?.fill(3);
    /// assert_eq!(std::fs::metadata(&path)?.len(), 20_000);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_path<T: Pod, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        path: impl AsRef<Path>,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let path = path.as_ref();
        let file = self.open(path)?;
        let shape = shape.into_shape_with_order();
        // SAFETY: forwarded to the caller.
        unsafe {
            self.map_file(&file, Some(path.to_path_buf()), |_| {
                dim_and_strides(shape, size_of::<T>())
            })
        }
    }

    /// Opens `path` as [`map_path`](Self::map_path) does and maps the elements after the
    /// offset as a 1-D array.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("v.bin");
    /// # std::fs::write(&path, [0u8; 40])?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path_1d::<f64>(&path)? };
    /// assert_eq!(a.len(), 5);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_path_1d<T: Pod>(&self, path: impl AsRef<Path>) -> Result<MmapArray<T, Ix1>> {
        let path = path.as_ref();
        let file = self.open(path)?;
        // SAFETY: forwarded to the caller.
        unsafe { self.map_file(&file, Some(path.to_path_buf()), remaining::<T>) }
    }

    /// Maps zero-initialised anonymous memory: shared with forked children by default
    /// ([`Mode::ReadWrite`]), private with [`Mode::CopyOnWrite`].
    ///
    /// ```
    /// use ndmmap::{MmapOptions, Mode};
    /// let a = MmapOptions::new().mode(Mode::CopyOnWrite).populate(true).map_anon::<f32, _, _>((64, 64))?;
    /// assert_eq!(a.pages(..)?.residency()?.resident, a.page_span().page_count);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn map_anon<T: Pod, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        check_type::<T>()?;
        let (dim, strides, bytes) = dim_and_strides(shape.into_shape_with_order(), size_of::<T>())?;
        let map = Mapping::anonymous(&self.map, bytes)?;
        self.finish(MmapArray::from_parts(map, dim, strides))
    }

    pub(crate) fn open(&self, path: &Path) -> Result<File> {
        Mapping::open(&self.map, path)
    }

    /// The one place every file map goes through. `shape_of(available)` gives the dimension,
    /// strides and byte size, `available` being the bytes after the offset.
    ///
    /// # Safety
    /// The caller upholds the file contract of [`MmapArray`].
    pub(crate) unsafe fn map_file<T: Pod, D: Dimension>(
        &self,
        file: &File,
        path: Option<PathBuf>,
        shape_of: impl FnOnce(Remaining) -> Result<(D, D, usize)>,
    ) -> Result<MmapArray<T, D>> {
        check_type::<T>()?;
        // SAFETY: forwarded to the caller.
        let (map, (dim, strides)) = unsafe {
            Mapping::map_file(
                &self.map,
                file,
                path,
                size_of::<T>(),
                align_of::<T>(),
                |r| shape_of(r).map(|(d, s, b)| ((d, s), b)),
            )?
        };
        self.finish(MmapArray::from_parts(map, dim, strides))
    }

    /// [`map_file`](Self::map_file) for a named shared memory object: its file on Unix, a
    /// view of its section on Windows (at the offset set with [`offset`](Self::offset)).
    ///
    /// # Safety
    /// The caller upholds the file contract of [`MmapArray`].
    pub(crate) unsafe fn map_shm<T: Pod, D: Dimension>(
        &self,
        object: &crate::sys::shm::Object,
        path: Option<PathBuf>,
        shape_of: impl FnOnce(Remaining) -> Result<(D, D, usize)>,
    ) -> Result<MmapArray<T, D>> {
        check_type::<T>()?;
        // SAFETY: forwarded to the caller.
        let (map, (dim, strides)) = unsafe {
            Mapping::map_shm(
                &self.map,
                object,
                path,
                size_of::<T>(),
                align_of::<T>(),
                |r| shape_of(r).map(|(d, s, b)| ((d, s), b)),
            )?
        };
        self.finish(MmapArray::from_parts(map, dim, strides))
    }

    /// Applies the flags that act on a made array.
    fn finish<T: Pod, D: Dimension>(&self, a: MmapArray<T, D>) -> Result<MmapArray<T, D>> {
        if self.huge_pages {
            a.madvise(Advice::HugePage)?;
        }
        if self.locked {
            a.pages(..)?.lock(Lock::Now)?;
        }
        Ok(a)
    }
}

/// The 1-D shape of the elements after the offset.
fn remaining<T: Pod>(r: Remaining<'_>) -> Result<(Ix1, Ix1, usize)> {
    let n = crate::raw::elements_after(r.path, r.len, r.offset, size_of::<T>())?;
    dim_and_strides::<Ix1>(ndarray::Shape::from(ndarray::Ix1(n)), size_of::<T>())
}

fn check_type<T>() -> Result<()> {
    if size_of::<T>() == 0 {
        return Err(Error::ZeroSizedType {
            type_name: std::any::type_name::<T>(),
        });
    }
    Ok(())
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// A zero-initialised anonymous array shared with forked children (`MAP_SHARED`): after a
    /// `fork`, a write by either process is seen by the other.
    ///
    /// ```
    /// let mut a = ndmmap::MmapArray::<u64, ndarray::Ix1>::anonymous(1024)?;
    /// a.view_mut()?[0] = 1;
    /// assert_eq!(a.mode(), ndmmap::Mode::ReadWrite);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn anonymous<Sh: ShapeBuilder<Dim = D>>(shape: Sh) -> Result<MmapArray<T, D>> {
        MmapOptions::new().map_anon(shape)
    }

    /// A zero-initialised anonymous array private to this process (`MAP_PRIVATE`): a forked
    /// child gets a copy-on-write snapshot.
    ///
    /// ```
    /// let a = ndmmap::MmapArray::<u8, ndarray::Ix2>::anonymous_private((4, 4))?;
    /// assert_eq!(a.mode(), ndmmap::Mode::CopyOnWrite);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn anonymous_private<Sh: ShapeBuilder<Dim = D>>(shape: Sh) -> Result<MmapArray<T, D>> {
        MmapOptions::new().mode(Mode::CopyOnWrite).map_anon(shape)
    }
}
