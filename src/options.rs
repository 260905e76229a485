//! [`MmapOptions`]: the builder that says how to map (mode, offset, growth, flags) and its
//! terminal calls that make an [`MmapArray`].

use crate::array::{Backing, MmapArray, Mode, dim_and_strides};
use crate::error::{Error, Result};
use crate::layout;
use crate::sys;
use bytemuck::Pod;
use ndarray::{Dimension, Ix1, ShapeBuilder};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Where the array starts in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offset {
    /// The handle's current stream position (a path: 0).
    StreamPosition,
    /// An absolute byte offset.
    Bytes(u64),
    /// A count of elements after the stream position.
    Elements(u64),
}

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
    mode: Option<Mode>,
    offset: Offset,
    grow: bool,
    preallocate: bool,
    create: bool,
    populate: bool,
    no_reserve: bool,
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
            mode: None,
            offset: Offset::StreamPosition,
            grow: true,
            preallocate: false,
            create: false,
            populate: false,
            no_reserve: false,
            huge_pages: false,
            locked: false,
        }
    }

    /// How the map relates to the file: [`Mode::ReadOnly`] (the default for files),
    /// [`Mode::ReadWrite`] (shared) or [`Mode::CopyOnWrite`] (private). For anonymous maps,
    /// `ReadWrite` (the default) is shared with forked children and `CopyOnWrite` is private.
    pub fn mode(&mut self, mode: Mode) -> &mut Self {
        self.mode = Some(mode);
        self
    }

    /// Start the array at this absolute byte offset in the file, instead of at the handle's
    /// stream position. Any offset works, page-aligned or not, as long as it is a multiple
    /// of `T`'s alignment.
    pub fn offset(&mut self, bytes: u64) -> &mut Self {
        self.offset = Offset::Bytes(bytes);
        self
    }

    /// Start the array `n` elements of `T` after the handle's stream position (after 0 for a
    /// path).
    pub fn offset_elements(&mut self, n: u64) -> &mut Self {
        self.offset = Offset::Elements(n);
        self
    }

    /// Whether a writable file shorter than offset + data is extended to fit (default on).
    /// Off, a short file is a [`Error::TooShort`].
    pub fn grow(&mut self, grow: bool) -> &mut Self {
        self.grow = grow;
        self
    }

    /// With [`Mode::ReadWrite`]: allocate the blocks of the mapped range (`fallocate`), extending
    /// the file if it is short and filling holes if it is sparse, so that a full disk is an
    /// error now rather than a `SIGBUS` when a page is first written. Off, a short file is
    /// extended sparsely.
    pub fn preallocate(&mut self, preallocate: bool) -> &mut Self {
        self.preallocate = preallocate;
        self
    }

    /// With a path and a writable mode: create the file if it does not exist.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Fault every page in when mapping (`MAP_POPULATE` on Linux).
    pub fn populate(&mut self, populate: bool) -> &mut Self {
        self.populate = populate;
        self
    }

    /// Reserve no swap for the map (`MAP_NORESERVE` on Linux).
    pub fn no_reserve(&mut self, no_reserve: bool) -> &mut Self {
        self.no_reserve = no_reserve;
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
    pub fn map_anon<T: Pod, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        check_type::<T>()?;
        let (dim, strides, bytes) = dim_and_strides(shape.into_shape_with_order(), size_of::<T>())?;
        let mode = self.mode.unwrap_or(Mode::ReadWrite);
        let mut flags = 0;
        if self.populate {
            flags |= sys::os::MAP_POPULATE;
        }
        if self.no_reserve {
            flags |= sys::os::MAP_NORESERVE;
        }
        let io = |e| Error::io("mmap (anonymous)", None, e);
        let backing = match mode {
            Mode::ReadWrite => Backing::SharedAnon(sys::SharedAnon::new(bytes, flags).map_err(io)?),
            Mode::CopyOnWrite | Mode::ReadOnly => {
                let mut o = memmap2::MmapOptions::new();
                o.len(bytes);
                if self.populate {
                    o.populate();
                }
                if self.no_reserve {
                    o.no_reserve_swap();
                }
                let m = o.map_anon().map_err(io)?;
                if mode == Mode::ReadOnly {
                    Backing::ReadOnly(m.make_read_only().map_err(io)?)
                } else {
                    Backing::Mutable(m)
                }
            }
        };
        self.finish(backing, dim, strides, mode, None, None, 0)
    }

    pub(crate) fn open(&self, path: &Path) -> Result<File> {
        // Refuse what cannot be mapped before opening: opening a FIFO would block.
        match std::fs::metadata(path) {
            Ok(meta) => check_file_type(&meta, Some(path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.create => {}
            Err(e) => return Err(Error::io("open", Some(path), e)),
        }
        let writable = self.mode == Some(Mode::ReadWrite);
        OpenOptions::new()
            .read(true)
            .write(writable)
            .create(writable && self.create)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open", Some(path), e))
    }

    /// The one place every file map goes through. `shape_of(available)` gives the dimension,
    /// strides and byte size, `available` being the bytes after the offset.
    pub(crate) unsafe fn map_file<T: Pod, D: Dimension>(
        &self,
        file: &File,
        path: Option<PathBuf>,
        shape_of: impl FnOnce(Remaining) -> Result<(D, D, usize)>,
    ) -> Result<MmapArray<T, D>> {
        check_type::<T>()?;
        let path = path.or_else(|| sys::fd_path(file));
        let p = path.as_deref();
        let meta = file.metadata().map_err(|e| Error::io("fstat", p, e))?;
        check_file_type(&meta, p)?;
        let mode = self.mode.unwrap_or(Mode::ReadOnly);
        let (readable, writable) = sys::access_mode(file).map_err(|e| Error::io("fcntl", p, e))?;
        if mode == Mode::ReadWrite && !writable {
            return Err(Error::ReadOnlyHandle { path });
        }
        if !readable {
            return Err(Error::Io {
                what: "mmap of a write-only handle",
                path,
                source: std::io::Error::from_raw_os_error(libc::EACCES),
            });
        }
        let size = size_of::<T>() as u64;
        let mut handle = file;
        let offset = match self.offset {
            Offset::Bytes(b) => b,
            Offset::StreamPosition => handle
                .stream_position()
                .map_err(|e| Error::io("lseek", p, e))?,
            Offset::Elements(n) => {
                let pos = handle
                    .stream_position()
                    .map_err(|e| Error::io("lseek", p, e))?;
                n.checked_mul(size).and_then(|b| b.checked_add(pos)).ok_or(
                    Error::OffsetOverflow {
                        offset: pos,
                        len: n.saturating_mul(size) as usize,
                    },
                )?
            }
        };
        layout::check_aligned(offset, align_of::<T>())?;
        let len = if meta.file_type().is_block_device() {
            let pos = handle
                .stream_position()
                .map_err(|e| Error::io("lseek", p, e))?;
            let end = handle
                .seek(SeekFrom::End(0))
                .map_err(|e| Error::io("lseek", p, e))?;
            handle
                .seek(SeekFrom::Start(pos))
                .map_err(|e| Error::io("lseek", p, e))?;
            end
        } else {
            meta.len()
        };
        let (dim, strides, bytes) = shape_of(Remaining {
            path: p,
            offset,
            len,
            elem_size: size as usize,
        })?;
        let end = layout::checked_end(offset, bytes)?;
        if end > len {
            let can_grow = mode == Mode::ReadWrite && self.grow && meta.is_file();
            if !can_grow {
                return Err(if offset > len {
                    Error::OffsetPastEnd { path, offset, len }
                } else {
                    Error::TooShort {
                        path,
                        len,
                        needed: end,
                    }
                });
            }
            if !self.preallocate {
                file.set_len(end)
                    .map_err(|e| Error::io("grow (ftruncate)", p, e))?;
            }
        }
        if self.preallocate && mode == Mode::ReadWrite && bytes > 0 && meta.is_file() {
            // Allocates the holes of the mapped range too (and extends the file if short).
            sys::os::fallocate(file.as_raw_fd(), offset, bytes as u64)
                .map_err(|e| Error::io("fallocate", p, e))?;
        }
        let mut o = memmap2::MmapOptions::new();
        o.offset(offset).len(bytes);
        if self.populate {
            o.populate();
        }
        if self.no_reserve {
            o.no_reserve_swap();
        }
        let io = |e| Error::io("mmap", p, e);
        // SAFETY: the caller upholds the file contract of `MmapArray`; the range lies within
        // the file (checked or grown above).
        let backing = unsafe {
            match mode {
                Mode::ReadOnly => Backing::ReadOnly(o.map(file).map_err(io)?),
                Mode::ReadWrite => Backing::Mutable(o.map_mut(file).map_err(io)?),
                Mode::CopyOnWrite => Backing::Mutable(o.map_copy(file).map_err(io)?),
            }
        };
        let file = file.try_clone().map_err(|e| Error::io("dup", p, e))?;
        self.finish(backing, dim, strides, mode, Some(file), path, offset)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish<T: Pod, D: Dimension>(
        &self,
        backing: Backing,
        dim: D,
        strides: D,
        mode: Mode,
        file: Option<File>,
        path: Option<PathBuf>,
        offset: u64,
    ) -> Result<MmapArray<T, D>> {
        let a = MmapArray {
            backing,
            dim,
            strides,
            mode,
            file,
            path,
            offset,
            readable: true,
            writable: mode.is_writable(),
            _elem: PhantomData,
        };
        if self.huge_pages {
            a.madvise(crate::Advice::HugePage)?;
        }
        if self.locked {
            a.mlock()?;
        }
        Ok(a)
    }
}

/// What a shape function knows about the file: the bytes after the offset.
pub(crate) struct Remaining<'a> {
    path: Option<&'a Path>,
    offset: u64,
    len: u64,
    elem_size: usize,
}

/// The 1-D shape of the elements after the offset.
fn remaining<T: Pod>(r: Remaining<'_>) -> Result<(Ix1, Ix1, usize)> {
    if r.offset > r.len {
        return Err(Error::OffsetPastEnd {
            path: r.path.map(Path::to_path_buf),
            offset: r.offset,
            len: r.len,
        });
    }
    let avail = r.len - r.offset;
    if !avail.is_multiple_of(r.elem_size as u64) {
        return Err(Error::TrailingBytes {
            path: r.path.map(Path::to_path_buf),
            available: avail,
            elem_size: r.elem_size,
        });
    }
    let n = usize::try_from(avail / r.elem_size as u64).map_err(|_| Error::SizeOverflow {
        shape: vec![usize::MAX],
        elem_size: r.elem_size,
    })?;
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

pub(crate) fn check_file_type(meta: &std::fs::Metadata, path: Option<&Path>) -> Result<()> {
    let ft = meta.file_type();
    let path_buf = || path.map(Path::to_path_buf);
    if ft.is_dir() {
        return Err(Error::IsDirectory { path: path_buf() });
    }
    let kind = if ft.is_file() || ft.is_block_device() {
        return Ok(());
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    };
    Err(Error::NotMappable {
        path: path_buf(),
        kind,
    })
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// A zero-initialised anonymous array shared with forked children (`MAP_SHARED`): after a
    /// `fork`, a write by either process is seen by the other.
    pub fn anonymous<Sh: ShapeBuilder<Dim = D>>(shape: Sh) -> Result<MmapArray<T, D>> {
        MmapOptions::new().map_anon(shape)
    }

    /// A zero-initialised anonymous array private to this process (`MAP_PRIVATE`): a forked
    /// child gets a copy-on-write snapshot.
    pub fn anonymous_private<Sh: ShapeBuilder<Dim = D>>(shape: Sh) -> Result<MmapArray<T, D>> {
        MmapOptions::new().mode(Mode::CopyOnWrite).map_anon(shape)
    }
}
