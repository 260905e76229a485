//! [`Mapping`]: the one owner of a memory mapping and the rules that govern it.
//!
//! A mapping is a backing (memmap2's file and private anonymous maps, or a shared anonymous
//! map from [`sys`]), the file handle and path behind it, the file offset of its first byte,
//! its length, its mode and its current protection. This module is the only code that opens
//! files to map, checks what can be mapped, grows and preallocates files (rolling a failed
//! growth back), maps, remaps and protects. It knows bytes, not elements: the array
//! ([`crate::MmapArray`]) owns the shape.

use crate::error::{Error, Result};
use crate::layout::{self, PageSpan};
use crate::sys;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How a mapping relates to its file (or, for anonymous maps, to forked children).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Read-only: no mutable view can be had.
    ReadOnly,
    /// Shared read-write (`MAP_SHARED`): writes reach the file and every process mapping it.
    /// For anonymous maps: pages shared with forked children.
    ReadWrite,
    /// Private copy-on-write (`MAP_PRIVATE`): writes stay in this process; the file never
    /// changes. For anonymous maps: pages private to this process.
    CopyOnWrite,
}

impl Mode {
    /// Whether views of a map in this mode may be mutable.
    pub fn is_writable(self) -> bool {
        !matches!(self, Mode::ReadOnly)
    }
}

/// Where the data starts in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offset {
    /// The handle's current stream position (a path: 0).
    StreamPosition,
    /// An absolute byte offset.
    Bytes(u64),
    /// A count of elements after the stream position.
    Elements(u64),
}

/// How to map: everything [`crate::MmapOptions`] says about the mapping itself.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) mode: Option<Mode>,
    pub(crate) offset: Offset,
    pub(crate) grow: bool,
    pub(crate) preallocate: bool,
    pub(crate) create: bool,
    pub(crate) populate: bool,
    pub(crate) no_reserve: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: None,
            offset: Offset::StreamPosition,
            grow: true,
            preallocate: false,
            create: false,
            populate: false,
            no_reserve: false,
        }
    }
}

impl Settings {
    /// The one memmap2 builder: every file and private anonymous map is made from it.
    fn builder(&self, offset: u64, len: usize) -> memmap2::MmapOptions {
        let mut o = memmap2::MmapOptions::new();
        o.offset(offset).len(len);
        if self.populate {
            o.populate();
        }
        if self.no_reserve {
            o.no_reserve_swap();
        }
        o
    }
}

/// The bytes behind a mapping.
#[derive(Debug)]
enum Backing {
    ReadOnly(memmap2::Mmap),
    Mutable(memmap2::MmapMut),
    SharedAnon(sys::SharedAnon),
    /// A view of a named section (Windows' named shared memory), the array this many bytes
    /// into it.
    View(sys::shm::View, usize),
    /// Memory this process holds that ndmmap did not map ([`crate::ForeignMap`]): never
    /// unmapped here. `addr` is the first byte; `prot` the protection its pages have (the
    /// highest, where parts differ: the lower ones are in `Mapping::reduced`); `shared`
    /// whether it is `MAP_SHARED`; `file_backed` whether its pages come from a file (or a
    /// memory file), which can be truncated under it.
    Foreign {
        addr: usize,
        prot: i32,
        shared: bool,
        file_backed: bool,
    },
}

/// What a shape function knows about the file: the bytes after the offset.
pub(crate) struct Remaining<'a> {
    pub(crate) path: Option<&'a Path>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// One memory mapping: its backing, file, path, offset, length, mode and protection.
#[derive(Debug)]
pub(crate) struct Mapping {
    backing: Backing,
    file: Option<File>,
    path: Option<PathBuf>,
    offset: u64,
    len: usize,
    mode: Mode,
    /// Cleared while some page is protected below the mode's access.
    full_access: bool,
    /// The address ranges protected below the mode's access, and their protection: what a
    /// fault guard gives back to the pages it restores.
    reduced: Vec<(Range<usize>, i32)>,
    /// Growth allocates disk blocks (`fallocate`), as the map was made.
    preallocate: bool,
    /// The file is a `.npy` file whose header describes this map: resizing rewrites it.
    npy_header: bool,
    /// The map holds part of a larger array (a slab, a chunk): its file must keep its length.
    fixed_len: bool,
    /// What lives as long as the mapping (a named shared memory object to unlink on drop).
    keep: Option<Box<dyn std::fmt::Debug + Send + Sync>>,
}

/// A file (or section) of `len` bytes that does not reach `end`, the array at `offset` needing
/// it: [`Error::OffsetPastEnd`] when even the offset lies past the end, else [`Error::TooShort`].
fn too_short(path: Option<PathBuf>, offset: u64, len: u64, end: u64) -> Error {
    if offset > len {
        Error::OffsetPastEnd { path, offset, len }
    } else {
        Error::TooShort {
            path,
            len,
            needed: end,
        }
    }
}

/// Refuses what cannot be mapped: directories, FIFOs, sockets, character devices.
pub(crate) fn check_file_type(meta: &std::fs::Metadata, path: Option<&Path>) -> Result<()> {
    let ft = meta.file_type();
    let path_buf = || path.map(Path::to_path_buf);
    if ft.is_dir() {
        return Err(Error::IsDirectory { path: path_buf() });
    }
    let Some(kind) = sys::special_file_kind(meta) else {
        return Ok(());
    };
    Err(Error::NotMappable {
        path: path_buf(),
        kind,
    })
}

impl Mapping {
    /// A mapping of `len` bytes at file offset `offset` in `mode`, with full access and no file
    /// handle, preallocation, `.npy` header or slab mark (the callers set what applies): the one
    /// place every field gets its default.
    fn new(
        backing: Backing,
        path: Option<PathBuf>,
        offset: u64,
        len: usize,
        mode: Mode,
    ) -> Mapping {
        Mapping {
            backing,
            file: None,
            path,
            offset,
            len,
            mode,
            full_access: true,
            reduced: Vec::new(),
            preallocate: false,
            npy_header: false,
            fixed_len: false,
            keep: None,
        }
    }

    /// Opens `path` for mapping in the settings' mode: read-only for [`Mode::ReadOnly`] and
    /// [`Mode::CopyOnWrite`], read-write for [`Mode::ReadWrite`], created if asked. What cannot
    /// be mapped is refused before opening (opening a FIFO would block).
    pub(crate) fn open(s: &Settings, path: &Path) -> Result<File> {
        match std::fs::metadata(path) {
            Ok(meta) => check_file_type(&meta, Some(path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && s.create => {}
            Err(e) => return Err(Error::io("open", Some(path), e)),
        }
        let writable = s.mode == Some(Mode::ReadWrite);
        OpenOptions::new()
            .read(true)
            .write(writable)
            .create(writable && s.create)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open", Some(path), e))
    }

    /// Maps part of `file`: resolves the offset (`elem_size` bytes per element, aligned to
    /// `align`), asks `shape_of` how many bytes to map, grows or preallocates the file where the
    /// settings allow (restoring its length if that or the map fails), and maps.
    ///
    /// # Safety
    /// The caller upholds the file contract of [`crate::MmapArray`].
    pub(crate) unsafe fn map_file<R>(
        s: &Settings,
        file: &File,
        path: Option<PathBuf>,
        elem_size: usize,
        align: usize,
        shape_of: impl FnOnce(Remaining) -> Result<(R, usize)>,
    ) -> Result<(Mapping, R)> {
        let path = path.or_else(|| sys::fd_path(file));
        let p = path.as_deref();
        let meta = file.metadata().map_err(|e| Error::io("fstat", p, e))?;
        check_file_type(&meta, p)?;
        let mode = s.mode.unwrap_or(Mode::ReadOnly);
        let (readable, writable) = sys::access_mode(file).map_err(|e| Error::io("fcntl", p, e))?;
        if mode == Mode::ReadWrite && !writable {
            return Err(Error::ReadOnlyHandle { path });
        }
        if !readable {
            return Err(Error::io(
                "mmap of a write-only handle",
                p,
                std::io::Error::from_raw_os_error(sys::errno::EACCES),
            ));
        }
        let mut handle = file;
        let mut position = || {
            handle
                .stream_position()
                .map_err(|e| Error::io("lseek", p, e))
        };
        let offset = match s.offset {
            Offset::Bytes(b) => b,
            Offset::StreamPosition => position()?,
            Offset::Elements(n) => {
                let pos = position()?;
                let size = elem_size as u64;
                n.checked_mul(size).and_then(|b| b.checked_add(pos)).ok_or(
                    Error::OffsetOverflow {
                        offset: pos,
                        len: n.saturating_mul(size) as usize,
                    },
                )?
            }
        };
        layout::check_aligned(offset, align)?;
        let len = if sys::is_block_device(&meta) {
            let pos = position()?;
            handle
                .seek(SeekFrom::End(0))
                .and_then(|end| handle.seek(SeekFrom::Start(pos)).map(|_| end))
                .map_err(|e| Error::io("lseek", p, e))?
        } else {
            meta.len()
        };
        let (shape, bytes) = shape_of(Remaining {
            path: p,
            offset,
            len,
        })?;
        let end = layout::checked_end(offset, bytes)?;
        let grows = end > len;
        if grows && !(mode == Mode::ReadWrite && s.grow && meta.is_file()) {
            return Err(too_short(path, offset, len, end));
        }
        // Restores the file's length if what follows fails: a failed map leaves no half-grown file.
        let rollback = |e: Error| {
            if grows {
                let _ = file.set_len(len);
            }
            e
        };
        if grows && !s.preallocate {
            file.set_len(end)
                .map_err(|e| rollback(Error::io("grow (ftruncate)", p, e)))?;
        }
        if s.preallocate && mode == Mode::ReadWrite && bytes > 0 && meta.is_file() {
            // Allocates the holes of the mapped range too (and extends the file if short), so
            // a full disk is an error now rather than a SIGBUS on a later write.
            sys::fallocate(file, offset, bytes as u64)
                .map_err(|e| rollback(allocation_error(file, p, bytes as u64, e)))?;
        }
        let o = s.builder(offset, bytes);
        let io = |e| rollback(Error::io("mmap", p, e));
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
        let mut map = Mapping::new(backing, path, offset, bytes, mode);
        map.file = Some(file);
        map.preallocate = s.preallocate;
        Ok((map, shape))
    }

    /// Maps a named shared memory object: as the file it is on Unix
    /// ([`map_file`](Self::map_file)), a view of its section on Windows. The offset is the
    /// settings' byte offset (0 if none); a section cannot grow, so it must cover the array.
    ///
    /// # Safety
    /// The caller upholds the file contract of [`crate::MmapArray`].
    pub(crate) unsafe fn map_shm<R>(
        s: &Settings,
        object: &sys::shm::Object,
        path: Option<PathBuf>,
        elem_size: usize,
        align: usize,
        shape_of: impl FnOnce(Remaining) -> Result<(R, usize)>,
    ) -> Result<(Mapping, R)> {
        if let Some(file) = object.file() {
            // SAFETY: forwarded to the caller.
            return unsafe { Self::map_file(s, file, path, elem_size, align, shape_of) };
        }
        let p = path.as_deref();
        let offset = match s.offset {
            Offset::Bytes(b) => b,
            Offset::StreamPosition => 0,
            Offset::Elements(n) => n.saturating_mul(elem_size as u64),
        };
        layout::check_aligned(offset, align)?;
        let mode = s.mode.unwrap_or(Mode::ReadOnly);
        let view = object
            .map_view(mode)
            .map_err(|e| Error::io("MapViewOfFile", p, e))?;
        let len = view.len() as u64;
        let (shape, bytes) = shape_of(Remaining {
            path: p,
            offset,
            len,
        })?;
        let end = layout::checked_end(offset, bytes)?;
        if end > len {
            return Err(too_short(path, offset, len, end));
        }
        let backing = Backing::View(view, offset as usize);
        Ok((Mapping::new(backing, path, offset, bytes, mode), shape))
    }

    /// Maps `bytes` of zeroed anonymous memory: shared with forked children for
    /// [`Mode::ReadWrite`] (the default), private otherwise.
    pub(crate) fn anonymous(s: &Settings, bytes: usize) -> Result<Mapping> {
        let mode = s.mode.unwrap_or(Mode::ReadWrite);
        let io = |e| Error::io("mmap (anonymous)", None, e);
        let backing = match mode {
            Mode::ReadWrite => {
                let mut flags = 0;
                if s.populate {
                    flags |= sys::os::MAP_POPULATE;
                }
                if s.no_reserve {
                    flags |= sys::os::MAP_NORESERVE;
                }
                Backing::SharedAnon(sys::SharedAnon::new(bytes, flags).map_err(io)?)
            }
            Mode::CopyOnWrite | Mode::ReadOnly => {
                let m = s.builder(0, bytes).map_anon().map_err(io)?;
                if mode == Mode::ReadOnly {
                    Backing::ReadOnly(m.make_read_only().map_err(io)?)
                } else {
                    Backing::Mutable(m)
                }
            }
        };
        Ok(Mapping::new(backing, None, 0, bytes, mode))
    }

    /// A non-owning mapping of `len` bytes at `addr` that something else in this process
    /// mapped ([`crate::ForeignMap`]): `offset` is the file offset of `addr`, `prot` the
    /// highest protection of its pages and `reduced` the address ranges with a lower one.
    ///
    /// # Safety
    /// `addr..addr + len` stays mapped, as it is now, while the mapping lives.
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) unsafe fn foreign(
        addr: usize,
        len: usize,
        path: Option<PathBuf>,
        offset: u64,
        prot: i32,
        shared: bool,
        file_backed: bool,
        file: Option<File>,
        reduced: Vec<(Range<usize>, i32)>,
    ) -> Mapping {
        let writable = prot & sys::PROT_WRITE != 0;
        let mode = match (writable, shared) {
            (false, _) => Mode::ReadOnly,
            (true, true) => Mode::ReadWrite,
            (true, false) => Mode::CopyOnWrite,
        };
        let backing = Backing::Foreign {
            addr,
            prot,
            shared,
            file_backed,
        };
        let mut map = Mapping::new(backing, path, offset, len, mode);
        map.file = file;
        map.fixed_len = true;
        map.reduced = reduced;
        map
    }

    /// Whether this is a foreign file mapping whose file could not be opened again: what
    /// needs the file is [`Error::FileUnavailable`].
    pub(crate) fn foreign_without_file(&self) -> bool {
        matches!(
            self.backing,
            Backing::Foreign {
                file_backed: true,
                ..
            }
        ) && self.file.is_none()
    }

    /// Whether the page cache behind this mapping may be hidden from `mincore` and no file
    /// handle can tell: a foreign file mapping with no handle, unless this process is root or
    /// the map is shared and writable (its maker could write the file).
    pub(crate) fn residency_unverifiable(&self) -> bool {
        match self.backing {
            Backing::Foreign { shared, prot, .. } if self.foreign_without_file() => {
                !(sys::is_root() || (shared && prot & sys::PROT_WRITE != 0))
            }
            _ => false,
        }
    }

    /// The error of an operation `op` that needs the file: [`Error::FileUnavailable`] for a
    /// foreign mapping whose file could not be reopened, else `anonymous` (the map has none).
    pub(crate) fn no_file(&self, op: &'static str, anonymous: Error) -> Error {
        if self.foreign_without_file() {
            Error::FileUnavailable {
                path: self.path.clone(),
                op,
            }
        } else {
            anonymous
        }
    }

    /// Whether a `SIGBUS` can hit this mapping (its pages come from a file, which can be
    /// truncated): what a fault guard is entered for.
    pub(crate) fn may_fault(&self) -> bool {
        self.file.is_some() || self.foreign_without_file()
    }

    /// Marks the file as a `.npy` file whose header describes this map.
    #[cfg_attr(not(feature = "npy"), allow(dead_code))]
    pub(crate) fn set_npy_header(&mut self) {
        self.npy_header = true;
    }

    /// Marks the map as part of a larger array (a slab, a chunk), which `resize` refuses.
    #[allow(dead_code)]
    pub(crate) fn set_fixed_len(&mut self) {
        self.fixed_len = true;
    }

    /// Whether the file's `.npy` header describes this map.
    #[allow(dead_code)]
    pub(crate) fn has_npy_header(&self) -> bool {
        self.npy_header
    }

    /// Keeps `k` alive until the mapping is dropped (after it is unmapped).
    #[allow(dead_code)]
    pub(crate) fn keep_until_drop(&mut self, k: Box<dyn std::fmt::Debug + Send + Sync>) {
        self.keep = Some(k);
    }

    /// Address of the first mapped byte (element 0).
    pub(crate) fn ptr(&self) -> *mut u8 {
        match &self.backing {
            Backing::ReadOnly(m) => m.as_ptr() as *mut u8,
            Backing::Mutable(m) => m.as_ptr() as *mut u8,
            Backing::SharedAnon(m) => m.ptr(),
            // SAFETY: `off` lies within the view (checked when it was mapped).
            Backing::View(v, off) => unsafe { v.ptr().add(*off) },
            Backing::Foreign { addr, .. } => *addr as *mut u8,
        }
    }

    /// Mapped bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// File offset of the first mapped byte (0 for anonymous maps).
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(crate) fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }

    /// The pages the mapped bytes span.
    pub(crate) fn page_span(&self) -> PageSpan {
        PageSpan::new(self.ptr() as usize, self.len, sys::page_size())
    }

    /// `Ok` when the bytes may be written: a writable mode and no page protected below it.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if !self.mode.is_writable() {
            return Err(Error::NotWritable {
                reason: "the map is read-only",
            });
        }
        if !self.full_access {
            return Err(Error::NotWritable {
                reason: "part of the mapping is protected against writing",
            });
        }
        Ok(())
    }

    /// An OS error of this mapping's file.
    pub(crate) fn io_error(&self, what: &'static str, e: std::io::Error) -> Error {
        Error::io(what, self.path(), e)
    }

    /// [`Error::TooShort`] when the file no longer covers the mapping (another process
    /// truncated it), `None` when it does or there is no file.
    pub(crate) fn short_file(&self) -> Option<Error> {
        let len = self.file.as_ref()?.metadata().ok()?.len();
        let needed = self.offset + self.len as u64;
        (len < needed).then(|| Error::TooShort {
            path: self.path.clone(),
            len,
            needed,
        })
    }

    /// The protection the mapping's pages have by its mode.
    pub(crate) fn prot(&self) -> i32 {
        if let Backing::Foreign { prot, .. } = self.backing {
            return prot;
        }
        match self.mode {
            Mode::ReadOnly => sys::PROT_READ,
            _ => sys::PROT_READ | sys::PROT_WRITE,
        }
    }

    /// Puts file pages back where a fault guard put zero pages, and says what faulted.
    pub(crate) fn recover(&self, faults: &crate::guard::Faults) -> Error {
        let span = self.page_span();
        let ps = span.page_size;
        let base = self.ptr() as usize - span.lead;
        let file_base = self.offset - span.lead as u64;
        let first = faults.addrs.first().copied().unwrap_or(base);
        let offset = file_base + (first - base) as u64;
        let Some(file) = &self.file else {
            // A foreign map whose file could not be reopened: its patched pages stay zero
            // pages, and the error says why.
            let foreign = self.foreign_without_file();
            return Error::Fault {
                path: if foreign { self.path.clone() } else { None },
                offset,
                len: 0,
                pages: faults.count,
                cause: if foreign {
                    crate::FaultCause::FileUnavailable
                } else {
                    crate::FaultCause::Other
                },
            };
        };
        let shared = match self.backing {
            Backing::Foreign { shared, .. } => shared,
            _ => self.mode != Mode::CopyOnWrite,
        };
        // Only the patched pages are mapped again: the others keep what they hold (a
        // copy-on-write map's private pages), their locks and their protection. Past the
        // pages noted one by one, the stretch between the lowest and the highest patched
        // page: a fault is a page the file no longer holds (or cannot give), so the pages
        // between hold no private data either (truncation drops private pages past the end).
        let end = base + span.span_bytes();
        let mut ranges: Vec<(usize, usize)> = if faults.count > crate::guard::PAGES {
            let (lo, hi) = (faults.lo.max(base), (faults.hi + ps).min(end));
            vec![(lo, hi.saturating_sub(lo))]
        } else {
            faults.addrs.iter().map(|a| (a & !(ps - 1), ps)).collect()
        };
        ranges.sort_unstable();
        ranges.dedup();
        ranges.retain(|&(a, len)| len > 0 && a >= base && a + len <= end);
        let mut restore_error = None;
        for (addr, len) in ranges {
            let off = file_base + (addr - base) as u64;
            let prot = self.prot();
            // SAFETY: the range lies in this mapping; no view of it is alive (the guarded
            // closure has returned), and other threads' views saw zero pages there, which
            // become the file's pages again.
            if let Err(e) = unsafe { sys::map_file_fixed(addr, len, prot, shared, file, off) }
                .and_then(|()| self.reprotect(addr, addr + len))
            {
                restore_error = Some(e);
            }
        }
        if let Some(e) = restore_error {
            return self.io_error("remap after a fault", e);
        }
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let cause = if len <= offset {
            crate::FaultCause::Truncated
        } else if sys::filesystem_full(file) {
            crate::FaultCause::NoSpace
        } else {
            crate::FaultCause::Other
        };
        Error::Fault {
            path: self.path.clone(),
            offset,
            len,
            pages: faults.count,
            cause,
        }
    }

    /// What resizing this file map to `bytes` (at the same offset) does to its file, or why it
    /// cannot be done: [`Error::CannotResize`] for an anonymous, copy-on-write or read-only map
    /// and for a file that is not a regular file, [`Error::NotWritable`] while pages are
    /// protected against writing, [`Error::Sealed`] for a sealed memory file whose seal forbids
    /// the change. Nothing is changed.
    pub(crate) fn plan_resize(&self, bytes: usize) -> Result<FileResize> {
        let cannot = |why: &str| Error::CannotResize {
            path: self.path.clone(),
            why: why.to_string(),
        };
        if self.fixed_len {
            return Err(cannot(
                "it is a window of a larger array (one process's slab, or a stream's chunk): the \
                 file holds the rest of the array (and a .npy header describing the whole); \
                 resize the whole array instead",
            ));
        }
        let Some(file) = &self.file else {
            return Err(cannot(
                "it is anonymous memory, which has no file to resize; make a new array of the \
                 new shape (MmapArray::anonymous) and copy the rows over, or back the array \
                 with a file",
            ));
        };
        match self.mode {
            Mode::CopyOnWrite => {
                return Err(cannot(
                    "it is a copy-on-write (private) map: the file must not change, and a \
                     remap would lose the pages written in this process; map the file with \
                     Mode::ReadWrite to resize it",
                ));
            }
            Mode::ReadOnly => {
                return Err(cannot(
                    "it is mapped read-only; map it with Mode::ReadWrite (npy::open_mut for a \
                     .npy file) to resize it",
                ));
            }
            Mode::ReadWrite => {}
        }
        self.check_writable()?;
        let p = self.path.as_deref();
        let meta = file.metadata().map_err(|e| Error::io("fstat", p, e))?;
        if !meta.is_file() {
            return Err(cannot(
                "it is not a regular file (a device has a fixed size)",
            ));
        }
        let plan = FileResize {
            file_len: meta.len(),
            old_end: layout::checked_end(self.offset, self.len)?,
            new_end: layout::checked_end(self.offset, bytes)?,
        };
        let seals = file_seals(file);
        if plan.extends() && seals.grow {
            return Err(self.sealed("grow"));
        }
        if plan.truncates() && seals.shrink {
            return Err(self.sealed("shrink"));
        }
        Ok(plan)
    }

    fn sealed(&self, op: &'static str) -> Error {
        Error::Sealed {
            path: self.path.clone(),
            op,
            seal: if op == "grow" {
                "F_SEAL_GROW"
            } else {
                "F_SEAL_SHRINK"
            },
        }
    }

    /// An error changing the file's size: [`Error::Sealed`] when a seal refused it (`EPERM`).
    fn size_error(&self, op: &'static str, what: &'static str, e: std::io::Error) -> Error {
        let sealed = |f: &File| {
            let s = file_seals(f);
            if op == "grow" { s.grow } else { s.shrink }
        };
        match (e.raw_os_error(), &self.file) {
            (Some(sys::errno::EPERM), Some(f)) if sealed(f) => self.sealed(op),
            _ => self.io_error(what, e),
        }
    }

    /// The file behind a map that [`plan_resize`](Self::plan_resize) accepted.
    fn resize_file(&self) -> Result<&File> {
        self.file.as_ref().ok_or(Error::Unsupported {
            what: "resizing an anonymous map",
        })
    }

    /// Grows the file for `plan` (before the map grows): whatever the file held between the
    /// array's old end and its new end is overwritten with zeros, and a shorter file is extended
    /// with zeros: sparse (`ftruncate`), or allocated (`fallocate`) when the map was made with
    /// `preallocate`, so that a full disk is an error now rather than a `SIGBUS` later. A
    /// failure restores the file's length.
    pub(crate) fn extend_file(&self, plan: &FileResize) -> Result<()> {
        let file = self.resize_file()?;
        zero(
            file,
            self.path(),
            plan.old_end,
            plan.file_len.min(plan.new_end),
        )?;
        if !plan.extends() {
            return Ok(());
        }
        let grown = if self.preallocate {
            let from = plan.file_len.min(plan.old_end);
            sys::fallocate(file, from, plan.new_end - from).map_err(|e| {
                if sys::is_no_space(&e) {
                    allocation_error(file, self.path(), plan.new_end - from, e)
                } else {
                    self.size_error("grow", "fallocate", e)
                }
            })
        } else {
            file.set_len(plan.new_end)
                .map_err(|e| self.size_error("grow", "grow (ftruncate)", e))
        };
        if grown.is_err() {
            self.restore_len(plan);
        }
        grown
    }

    /// Shrinks the file to the array's new end (after the map has shrunk), when `plan` says
    /// the file ends with the array.
    ///
    /// Windows refuses to shorten a file while any view of it is mapped
    /// (`ERROR_USER_MAPPED_FILE`), even one that ends before the new length: there the map is
    /// unmapped, the file truncated and the map made again (`&mut self`: no view lives). If the
    /// truncation fails, the map is made again over the untouched file.
    pub(crate) fn truncate_file(&mut self, plan: &FileResize) -> Result<()> {
        if !plan.truncates() {
            return Ok(());
        }
        #[cfg(windows)]
        let bytes = {
            let bytes = self.len;
            // An empty private anonymous map stands in while the file has no view.
            let empty = memmap2::MmapOptions::new()
                .len(0)
                .map_anon()
                .map_err(|e| self.io_error("unmap before shrinking", e))?;
            self.backing = Backing::Mutable(empty);
            bytes
        };
        let cut = self.resize_file()?.set_len(plan.new_end).map_err(|e| {
            // ERROR_USER_MAPPED_FILE: another map of the file (another array) is open.
            if cfg!(windows) && e.raw_os_error() == Some(1224) {
                return Error::CannotResize {
                    path: self.path.clone(),
                    why: "Windows refuses to shorten a file while another map of it is open \
                              (ERROR_USER_MAPPED_FILE); drop the other arrays that map this file, \
                              then resize"
                        .into(),
                };
            }
            self.size_error("shrink", "shrink (ftruncate)", e)
        });
        #[cfg(windows)]
        {
            self.len = 0;
            let remapped = self.remap(bytes);
            cut.and(remapped)
        }
        #[cfg(not(windows))]
        cut
    }

    /// Puts the file's length back to what it was before `plan` (undoing a growth; best effort:
    /// this runs after another error, which is the one reported).
    pub(crate) fn restore_len(&self, plan: &FileResize) {
        if let Some(f) = &self.file
            && f.metadata().is_ok_and(|m| m.len() != plan.file_len)
        {
            let _ = f.set_len(plan.file_len);
        }
    }

    /// Waits for the exclusive advisory lock on the file that resizes take (and `.npy`
    /// openers wait on: see [`sys::FileLock`]); `None` where the filesystem has no locks.
    pub(crate) fn lock_for_resize(&self) -> Result<Option<sys::FileLock>> {
        sys::FileLock::exclusive(self.resize_file()?).map_err(|e| self.io_error("lock (flock)", e))
    }

    /// Makes the file's data and length durable (`fdatasync`), so that what is written next
    /// (a `.npy` header) never reaches the disk before them.
    pub(crate) fn sync_file(&self) -> Result<()> {
        self.resize_file()?
            .sync_data()
            .map_err(|e| self.io_error("fdatasync", e))
    }

    /// Remaps a file map to `bytes` at the same file offset, which the file must cover
    /// ([`Error::TooShort`] otherwise; growing the file is [`extend_file`](Self::extend_file)'s
    /// job). In place where the OS allows (`mremap` on Linux, which may move the map), a new
    /// map elsewhere. Taking `&mut self`, no view of the old mapping can be alive.
    pub(crate) fn remap(&mut self, bytes: usize) -> Result<()> {
        let p = self.path.clone();
        let file = self.file.as_ref().ok_or(Error::Unsupported {
            what: "remap of an anonymous map",
        })?;
        let needed = layout::checked_end(self.offset, bytes)?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("fstat", p.as_deref(), e))?
            .len();
        if bytes > self.len && len < needed {
            return Err(Error::TooShort {
                path: p,
                len,
                needed,
            });
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let opts = memmap2::RemapOptions::new().may_move(true);
            let moved = match &mut self.backing {
                Backing::Mutable(m) if !m.is_empty() && bytes > 0 => {
                    // SAFETY: `&mut self` means no view of the map lives, so moving it
                    // invalidates no reference; the file covers `bytes` (checked above, or the
                    // map shrinks).
                    Some(unsafe { m.remap(bytes, opts) })
                }
                Backing::ReadOnly(m) if !m.is_empty() && bytes > 0 => {
                    // SAFETY: as above.
                    Some(unsafe { m.remap(bytes, opts) })
                }
                _ => None,
            };
            if let Some(r) = moved {
                r.map_err(|e| Error::io("mremap", p.as_deref(), e))?;
                self.len = bytes;
                return Ok(());
            }
        }
        let o = Settings::default().builder(self.offset, bytes);
        let io = |e| Error::io("mmap", p.as_deref(), e);
        // SAFETY: as above; the caller of the constructor upheld the file contract.
        self.backing = unsafe {
            match self.mode {
                Mode::ReadOnly => Backing::ReadOnly(o.map(file).map_err(io)?),
                Mode::CopyOnWrite => Backing::Mutable(o.map_copy(file).map_err(io)?),
                Mode::ReadWrite => Backing::Mutable(o.map_mut(file).map_err(io)?),
            }
        };
        self.len = bytes;
        Ok(())
    }

    /// Changes the protection of page-aligned address ranges of this mapping. `whole` says
    /// whether the ranges cover every page, which restores full access.
    ///
    /// # Safety
    /// For `PROT_NONE`: no view of the mapping may be taken or used until the pages are
    /// readable again (reading them raises `SIGSEGV`). Other protections are safe: `&mut self`
    /// means no view lives, and writability is tracked for later views.
    pub(crate) unsafe fn protect(
        &mut self,
        ranges: &[Range<usize>],
        prot: i32,
        whole: bool,
    ) -> Result<()> {
        if prot & sys::PROT_WRITE != 0 && !self.mode.is_writable() {
            return Err(Error::NotWritable {
                reason: "a read-only map cannot be made writable",
            });
        }
        for r in ranges {
            // SAFETY: the ranges lie within this mapping (the caller computed them from its
            // page span); the contract above covers the loss of access.
            unsafe { sys::mprotect(r.start, r.end - r.start, prot) }
                .map_err(|e| self.io_error("mprotect", e))?;
        }
        let full = prot & sys::PROT_WRITE != 0 || !self.mode.is_writable();
        if whole {
            self.full_access = full;
        } else {
            self.full_access &= full;
        }
        // What is protected below the mode now: the earlier ranges less these, and these if
        // their protection is below the mode's.
        let new = crate::layout::sorted_merged(ranges.to_vec());
        let mut reduced: Vec<(Range<usize>, i32)> = Vec::new();
        for (r, p) in std::mem::take(&mut self.reduced) {
            let left = crate::layout::subtract(std::slice::from_ref(&r), &new);
            reduced.extend(left.into_iter().map(|r| (r, p)));
        }
        if prot != self.prot() {
            reduced.extend(new.into_iter().map(|r| (r, prot)));
        }
        self.reduced = reduced;
        Ok(())
    }

    /// Gives the pages of `start..end` that [`protect`](Self::protect) set below the mode's
    /// access their protection again (after a fault guard mapped them anew).
    fn reprotect(&self, start: usize, end: usize) -> std::io::Result<()> {
        for (r, prot) in &self.reduced {
            let (a, b) = (r.start.max(start), r.end.min(end));
            if a < b {
                // SAFETY: the range lies in this mapping and had this protection before the
                // guard's patch replaced it; restoring it is what `protect`'s caller asked.
                unsafe { sys::mprotect(a, b - a, *prot) }?;
            }
        }
        Ok(())
    }
}

/// How resizing a file map changes its file: the file's length before, and where the array's
/// bytes end in it before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileResize {
    /// The file's length before the resize.
    pub(crate) file_len: u64,
    /// Where the array ended (offset + old data).
    pub(crate) old_end: u64,
    /// Where the array ends after the resize (offset + new data).
    pub(crate) new_end: u64,
}

impl FileResize {
    /// Whether the array gets longer.
    pub(crate) fn grows(&self) -> bool {
        self.new_end > self.old_end
    }

    /// Bytes the file holds after the array's old end, which are not part of the array.
    pub(crate) fn trailing(&self) -> u64 {
        self.file_len.saturating_sub(self.old_end)
    }

    /// Whether growing extends the file (it ends before the array's new end).
    pub(crate) fn extends(&self) -> bool {
        self.grows() && self.file_len < self.new_end
    }

    /// Whether shrinking truncates the file: only when the file ended where the array ended
    /// (nothing after it that is not the array's) and is longer than the array's new end.
    pub(crate) fn truncates(&self) -> bool {
        !self.grows() && self.trailing() == 0 && self.file_len > self.new_end
    }
}

/// Writes zeros over `from..to` of `file` (nothing when empty).
fn zero(file: &File, path: Option<&Path>, from: u64, to: u64) -> Result<()> {
    let chunk = vec![0u8; (to.saturating_sub(from)).min(1 << 20) as usize];
    let mut at = from;
    while at < to {
        let n = chunk.len().min((to - at) as usize);
        sys::write_all_at(file, &chunk[..n], at)
            .map_err(|e| Error::io("zero the new rows", path, e))?;
        at += n as u64;
    }
    Ok(())
}

/// The seals of `file` (`F_GET_SEALS`); none for a file that cannot be sealed or an OS
/// without seals.
fn file_seals(file: &File) -> sys::Seals {
    sys::seals(file).unwrap_or_default()
}

/// The error of a failed `fallocate` of `needed` bytes: [`Error::NoSpace`] (with the free
/// space, where the OS tells) for a full file system or a spent quota, else [`Error::Io`].
fn allocation_error(file: &File, path: Option<&Path>, needed: u64, e: std::io::Error) -> Error {
    if sys::is_no_space(&e) {
        Error::NoSpace {
            path: path.map(Path::to_path_buf),
            needed,
            available: sys::free_space(file),
            source: e,
        }
    } else {
        Error::io("fallocate", path, e)
    }
}
