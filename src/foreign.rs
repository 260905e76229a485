//! [`ForeignMap`]: the page toolkit and the fault guard for memory that ndmmap did not map.
//!
//! A Python `numpy.memmap`, `np.load(mmap_mode=...)`, Python's `mmap`, a map of a shared
//! memory object or a `memfd`, another library's map: this process holds the memory, and
//! [`ForeignMap::find`] finds the mapping behind an address. [`ForeignMap::pages`] then gives
//! the full [`Pages`] toolkit (residency, counts along an axis, advice, eviction, flushing,
//! locking, touching) over exactly the elements of a strided view into it, laid out as numpy
//! lays out an array: a data pointer, a shape, strides in bytes (any sign, or zero for a
//! broadcast axis) and an item size. [`ForeignMap::guard`] turns a `SIGBUS` on its pages into
//! [`Error::Fault`], as [`MmapArray::guarded`](crate::MmapArray::guarded) does.
//!
//! ```
//! # #[cfg(target_os = "linux")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("x.bin");
//! # std::fs::write(&path, vec![1u8; 64 * 4096])?;
//! use ndmmap::ForeignMap;
//! // Another library maps the file (here memmap2; in Python, numpy.memmap).
//! let file = std::fs::File::open(&path)?;
//! // SAFETY: nobody truncates or rewrites the file while the map lives.
//! let m = unsafe { memmap2::Mmap::map(&file)? };
//! // SAFETY: `m` stays mapped, as it is, while `f` lives.
//! let f = unsafe { ForeignMap::find(m.as_ptr(), m.len())? };
//! assert_eq!((f.path(), f.offset(), f.is_shared()), (Some(path.as_path()), 0, true));
//! // A 64 x 4096 array of u8, every other row back to front (numpy's `a[::-2]`).
//! let last_row = m[63 * 4096..].as_ptr();
//! let p = f.pages(last_row, &[32, 4096], &[-2 * 4096, 1], 1)?;
//! p.touch()?;
//! assert_eq!(p.residency()?.resident, 32);
//! let g = f.guard()?;                   // a SIGBUS on the map's pages becomes an error...
//! let sum: u64 = m.iter().map(|&b| u64::from(b)).sum();
//! g.finish()?;                          // ...here, and the pages are the file's again
//! assert_eq!(sum, 64 * 4096);
//! # Ok(()) }
//! # #[cfg(not(target_os = "linux"))]
//! # fn main() {}
//! ```
//!
//! # Finding the mapping (Linux)
//! `/proc/self/maps` says what holds the range: its start and end, protection, whether it is
//! shared, the file offset, the file's device and inode, and its path (which may hold spaces
//! and end in ` (deleted)`). Adjacent areas of one file at consecutive offsets are one
//! mapping split by `madvise`, `mprotect` or `mlock` (ndmmap's own advice on a slice splits
//! them), and are taken together. Accepted: file maps (shared or private), shared anonymous
//! memory (`/dev/zero (deleted)`, System V segments), `memfd` files and POSIX shared memory
//! objects. Refused with [`Error::NotMapped`]: an address nothing maps, the heap, a stack,
//! private anonymous memory (where large `Vec`s live), and kernel areas such as `[vdso]`.
//!
//! # The file
//! Eviction (`posix_fadvise`), `cachestat` counts and the guard's restoring of faulted pages
//! need the file. It is opened through `/proc/self/map_files/START-END` (the very file the
//! kernel maps; opening it needs `CAP_SYS_ADMIN` or `CAP_CHECKPOINT_RESTORE`), else by the
//! path that `/proc/self/maps` names, else through a descriptor this process still holds of
//! it (`/proc/self/fd`: Python's `mmap` keeps one). Each candidate is checked with `fstat`
//! against the device and inode of the mapping: a different file that has the name now is
//! never used. Without the file, residency still comes from `mincore` (reported
//! [`Error::ResidencyUnknown`] where the kernel may hide it: a process that is not root and
//! whose map is not shared and writable), eviction is [`Error::FileUnavailable`], and a fault
//! in the guard is [`Error::Fault`] with [`FaultCause::FileUnavailable`](crate::FaultCause):
//! the faulted pages stay zero pages.
//!
//! Shared anonymous memory has no file to act on: eviction is [`Error::Unsupported`] as for
//! [`MmapArray::anonymous`](crate::MmapArray::anonymous), and the guard guards nothing (no
//! `SIGBUS` can happen there).
//!
//! Other OSes: [`ForeignMap::find`] is [`Error::Unsupported`].

use crate::array::Recovering;
use crate::error::{Error, Result};
use crate::layout::PageSpan;
use crate::mapping::Mapping;
use crate::pages::{self, Pages};
use std::fs::File;
use std::path::Path;

/// A mapping in this process that ndmmap did not make, found from an address
/// ([`find`](ForeignMap::find)). It never unmaps: the memory stays its maker's. See the
/// [module](crate::foreign) for what is accepted and how the file is found.
#[derive(Debug)]
pub struct ForeignMap {
    map: Mapping,
    shared: bool,
    deleted: bool,
}

impl ForeignMap {
    /// Finds the mapping that holds `addr..addr + len` (for `len == 0`, the one holding
    /// `addr`): the areas of `/proc/self/maps` that cover it, taken together where they are
    /// one map of one file split in parts. [`Error::NotMapped`] when nothing, or nothing this
    /// toolkit can act on (the heap, a stack, private anonymous memory), holds the whole
    /// range; [`Error::Unsupported`] on other OSes than Linux.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut m = memmap2::MmapMut::map_anon(4096)?; // private anonymous memory: refused
    /// // SAFETY: `m` stays mapped while the result lives.
    /// let refused = unsafe { ndmmap::ForeignMap::find(m.as_mut_ptr(), m.len()) };
    /// assert!(matches!(refused, Err(ndmmap::Error::NotMapped { .. })));
    /// # Ok(()) }
    /// # #[cfg(not(target_os = "linux"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Safety
    /// `addr..addr + len` must stay mapped, as it is now, while the `ForeignMap` and the
    /// [`Pages`] and guards made from it live: not unmapped, remapped or moved by its maker.
    /// (Reading, writing and truncating its file are fine: the guard is for the last.)
    pub unsafe fn find(addr: *const u8, len: usize) -> Result<ForeignMap> {
        os::find(addr as usize, len)
    }

    /// The file, as `/proc/self/maps` names it (without ` (deleted)`); a `memfd` as
    /// `/memfd:NAME`; `None` for shared anonymous memory.
    pub fn path(&self) -> Option<&Path> {
        self.map.path()
    }

    /// The file offset of the first byte of the range found (the `addr` given to
    /// [`find`](Self::find)); 0 for shared anonymous memory.
    pub fn offset(&self) -> u64 {
        self.map.offset()
    }

    /// The first byte of the range found.
    pub fn as_ptr(&self) -> *const u8 {
        self.map.ptr()
    }

    /// Bytes in the range found.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// The pages the range spans.
    pub fn page_span(&self) -> PageSpan {
        self.map.page_span()
    }

    /// Whether the map is shared (`MAP_SHARED`: writes reach the file and other processes),
    /// not private (copy-on-write).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Whether some of its pages are writable.
    pub fn is_writable(&self) -> bool {
        self.map.mode().is_writable()
    }

    /// Whether the file was deleted (unlinked) after it was mapped.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// The file behind the map, opened again and checked to be the mapped one (device and
    /// inode); `None` for shared anonymous memory, or where it could not be opened.
    pub fn file(&self) -> Option<&File> {
        self.map.file()
    }

    /// The pages of a strided view into the map, as numpy describes an array: `addr` is
    /// the address of element `[0, 0, ...]`, `strides` are in bytes (negative for a reversed
    /// axis, as in `a[::-1]`; zero for a broadcast one), and each element is `elem_size`
    /// bytes. Every element must lie inside the range found ([`Error::NotMapped`] if one
    /// does not); page indices count from the range's first page, as for an array
    /// ([`Pages::span`]).
    ///
    /// Counts along an axis ([`Pages::counts_along`]) see the view's axes. Where the start or
    /// a stride is not a multiple of `elem_size` (a packed record's field), the element's
    /// bytes become one more, innermost axis.
    pub fn pages(
        &self,
        addr: *const u8,
        shape: &[usize],
        strides: &[isize],
        elem_size: usize,
    ) -> Result<Pages<'_>> {
        let addr = addr as usize;
        if shape.len() != strides.len() {
            return Err(Error::DimensionMismatch {
                expected: shape.len(),
                found: strides.len(),
            });
        }
        if elem_size == 0 {
            return Err(Error::ZeroSizedType {
                type_name: "an element of size 0",
            });
        }
        let (start, end) = (
            self.map.ptr() as usize,
            self.map.ptr() as usize + self.len(),
        );
        let outside = |why: String| Error::NotMapped {
            addr,
            len: elem_size,
            why,
        };
        let empty = shape.contains(&0);
        let d = if empty {
            0
        } else {
            let (lo, hi) = view_bounds(addr, shape, strides, elem_size).ok_or_else(|| {
                outside("the view's extent overflows the address space".to_string())
            })?;
            if lo < start || hi > end {
                return Err(Error::NotMapped {
                    addr: lo,
                    len: hi.saturating_sub(lo),
                    why: format!(
                        "the view's elements reach outside the mapping found at \
                         {start:#x}..{end:#x}"
                    ),
                });
            }
            addr - start
        };
        // The unit of the geometry: the largest that divides the item size, the start and
        // every stride (the item size itself for any aligned numpy array).
        let unit = strides
            .iter()
            .filter(|&&s| s != 0)
            .fold(gcd(elem_size, d), |g, s| gcd(g, s.unsigned_abs()));
        let mut shape = shape.to_vec();
        let mut strides: Vec<isize> = strides.iter().map(|s| s / unit as isize).collect();
        if unit < elem_size {
            shape.push(elem_size / unit);
            strides.push(1);
        }
        let (ranges, geometry, flat) =
            pages::select(&self.map, d / unit, &shape, &strides, unit, pages::Sel::All)?;
        Ok(Pages {
            map: &self.map,
            elem_size: unit,
            ranges,
            geometry,
            flat,
            restricted: false,
        })
    }

    /// The pages of the whole range found, as bytes.
    pub fn all_pages(&self) -> Result<Pages<'_>> {
        self.pages(self.as_ptr(), &[self.len()], &[1], 1)
    }

    /// Guards the range found until [`finish`](ForeignGuard::finish): a `SIGBUS` on its
    /// pages (its file truncated by another process, a full disk under a sparse page), on
    /// any thread, patches the page with zeros and is noted, as in
    /// [`MmapArray::guarded`](crate::MmapArray::guarded) (the rules and limits are in
    /// [`guard`](crate::guard)). Dropping the guard without `finish` restores the pages too.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("g.bin");
    /// # std::fs::write(&path, vec![2u8; 8192])?;
    /// let file = std::fs::File::open(&path)?;
    /// // SAFETY: the file is truncated, if at all, only while the guard below lives.
    /// let m = unsafe { memmap2::Mmap::map(&file)? };
    /// // SAFETY: `m` stays mapped while `f` lives.
    /// let f = unsafe { ndmmap::ForeignMap::find(m.as_ptr(), m.len())? };
    /// let g = f.guard()?;
    /// let sum: u32 = m.iter().map(|&b| u32::from(b)).sum();
    /// match g.finish() {
    ///     Ok(()) => assert_eq!(sum, 16384),              // the sum is the file's
    ///     Err(e) => eprintln!("the file changed under us: {e}"), // the sum is not
    /// }
    /// # Ok(()) }
    /// # #[cfg(not(target_os = "linux"))]
    /// # fn main() {}
    /// ```
    pub fn guard(&self) -> Result<ForeignGuard<'_>> {
        Ok(ForeignGuard {
            guard: Recovering::enter(&self.map)?,
        })
    }
}

/// A fault guard over a [`ForeignMap`] ([`ForeignMap::guard`]): until it ends, a `SIGBUS` on
/// the map's pages is patched and noted instead of ending the process.
#[must_use = "a guard that is dropped at once guards nothing; call finish() after the reads"]
pub struct ForeignGuard<'a> {
    guard: Recovering<'a>,
}

impl std::fmt::Debug for ForeignGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignGuard").finish_non_exhaustive()
    }
}

impl ForeignGuard<'_> {
    /// Ends the guard: `Ok` if no page of the map was patched while it lived, else the
    /// patched pages are mapped from the file again and this is [`Error::Fault`], with the
    /// file offset of the first fault and its likely cause; whatever was read meanwhile
    /// (zeros where the file was gone) must be dropped.
    pub fn finish(self) -> Result<()> {
        self.guard.finish(())
    }
}

/// The lowest address and one past the highest byte of a strided view, `None` on overflow.
fn view_bounds(
    addr: usize,
    shape: &[usize],
    strides: &[isize],
    elem_size: usize,
) -> Option<(usize, usize)> {
    let (mut lo, mut hi) = (addr as isize, addr as isize);
    for (&n, &s) in shape.iter().zip(strides) {
        let reach = s.checked_mul(isize::try_from(n.checked_sub(1)?).ok()?)?;
        if reach < 0 {
            lo = lo.checked_add(reach)?;
        } else {
            hi = hi.checked_add(reach)?;
        }
    }
    let hi = hi.checked_add(isize::try_from(elem_size).ok()?)?;
    (lo >= 0).then_some((lo as usize, hi as usize))
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One area of `/proc/self/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
struct Area {
    start: usize,
    end: usize,
    read: bool,
    write: bool,
    exec: bool,
    shared: bool,
    offset: u64,
    dev: (u32, u32),
    inode: u64,
    /// The path as the kernel writes it (`\n` escaped as `\012`, undone here), without the
    /// ` (deleted)` suffix; empty for anonymous memory.
    path: Vec<u8>,
    deleted: bool,
}

/// What an area holds, for the toolkit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
enum Kind {
    /// A file, a `memfd` or a shared memory object: pages from a file.
    File,
    /// Shared anonymous memory (`/dev/zero (deleted)`, `/SYSV…`, `[anon_shmem:…]`).
    SharedAnon,
    /// Refused, and why.
    Refused(&'static str),
}

#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
impl Area {
    fn kind(&self) -> Kind {
        let p = &self.path[..];
        if p == b"[heap]" {
            return Kind::Refused("it is the heap (memory from malloc)");
        }
        if p.starts_with(b"[stack") {
            return Kind::Refused("it is a thread's stack");
        }
        if p.starts_with(b"[anon_shmem:") && self.shared {
            return Kind::SharedAnon;
        }
        if p.is_empty() || p.starts_with(b"[anon:") {
            return Kind::Refused(if self.shared {
                "it is anonymous memory of unknown kind"
            } else {
                "it is private anonymous memory (a large allocation, or a private anonymous \
                 map), which has no file and is shared with no one"
            });
        }
        if p.starts_with(b"[") {
            return Kind::Refused("it is an area the kernel provides ([vdso], [vvar] and such)");
        }
        if self.shared && (p == b"/dev/zero" || p.starts_with(b"/SYSV")) {
            return Kind::SharedAnon;
        }
        Kind::File
    }

    /// Whether `next` continues this area: the same map of the same object, split apart.
    fn continued_by(&self, next: &Area) -> bool {
        next.start == self.end
            && next.shared == self.shared
            && (next.dev, next.inode) == (self.dev, self.inode)
            && next.path == self.path
            && next.offset == self.offset + (self.end - self.start) as u64
    }

    fn prot(&self) -> i32 {
        let mut p = crate::sys::PROT_NONE;
        if self.read {
            p |= crate::sys::PROT_READ;
        }
        if self.write {
            p |= crate::sys::PROT_WRITE;
        }
        p
    }
}

/// Parses one line of `/proc/self/maps`:
/// `start-end perms offset major:minor inode   path`, where the path (possibly empty) is the
/// rest of the line after the spaces that pad it, and may hold spaces itself.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn parse_line(line: &[u8]) -> Option<Area> {
    let mut rest = line;
    let mut field = || -> Option<&[u8]> {
        let at = rest.iter().position(|&b| b != b' ')?;
        rest = &rest[at..];
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let f = &rest[..end];
        rest = &rest[end..];
        Some(f)
    };
    let hex = |b: &[u8]| u64::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok();
    let range = field()?;
    let perms = field()?;
    let offset = hex(field()?)?;
    let dev = field()?;
    let inode: u64 = std::str::from_utf8(field()?).ok()?.parse().ok()?;
    let (a, b) = range.split_at(range.iter().position(|&c| c == b'-')?);
    let (major, minor) = dev.split_at(dev.iter().position(|&c| c == b':')?);
    if perms.len() < 4 {
        return None;
    }
    let mut path = rest;
    while let [b' ', tail @ ..] = path {
        path = tail;
    }
    let (path, deleted) = match path.strip_suffix(b" (deleted)") {
        Some(p) => (p, true),
        None => (path, false),
    };
    Some(Area {
        start: usize::try_from(hex(a)?).ok()?,
        end: usize::try_from(hex(&b[1..])?).ok()?,
        read: perms[0] == b'r',
        write: perms[1] == b'w',
        exec: perms[2] == b'x',
        shared: perms[3] == b's',
        offset,
        dev: (
            u32::try_from(hex(major)?).ok()?,
            u32::try_from(hex(&minor[1..])?).ok()?,
        ),
        inode,
        path: unescape(path),
        deleted,
    })
}

/// Undoes the kernel's escape of a newline in a path (`\012`).
fn unescape(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i..].starts_with(b"\\012") {
            out.push(b'\n');
            i += 4;
        } else {
            out.push(p[i]);
            i += 1;
        }
    }
    out
}

/// The areas of `maps` that hold `addr..addr + len` (`len` at least 1), as one mapping: the
/// area holding `addr` and those continuing it, up to the one holding the last byte.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn areas_holding(maps: &[u8], addr: usize, len: usize) -> Result<Vec<Area>> {
    let not_mapped = |why: String| Error::NotMapped { addr, len, why };
    let areas: Vec<Area> = maps.split(|&b| b == b'\n').filter_map(parse_line).collect();
    let Some(i) = areas.iter().position(|a| a.start <= addr && addr < a.end) else {
        return Err(not_mapped("nothing is mapped at this address".into()));
    };
    let first = &areas[i];
    if let Kind::Refused(why) = first.kind() {
        return Err(not_mapped(why.into()));
    }
    let last = addr
        .checked_add(len.max(1))
        .ok_or_else(|| not_mapped("the range overflows the address space".into()))?;
    let mut found = vec![first.clone()];
    for next in &areas[i + 1..] {
        let prev = &found[found.len() - 1];
        if prev.end >= last || !prev.continued_by(next) {
            break;
        }
        found.push(next.clone());
    }
    let end = found[found.len() - 1].end;
    if end < last {
        return Err(not_mapped(format!(
            "the mapping at {:#x}..{end:#x} ({}) ends {} bytes before the range does",
            first.start,
            String::from_utf8_lossy(&first.path),
            last - end
        )));
    }
    Ok(found)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod os {
    use super::{Area, ForeignMap, Kind, areas_holding};
    use crate::error::{Error, Result};
    use crate::mapping::Mapping;
    use std::ffi::OsStr;
    use std::fs::{File, OpenOptions};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    pub(super) fn find(addr: usize, len: usize) -> Result<ForeignMap> {
        let maps = std::fs::read("/proc/self/maps")
            .map_err(|e| Error::io("read", Some(Path::new("/proc/self/maps")), e))?;
        let areas = areas_holding(&maps, addr, len)?;
        let first = &areas[0];
        let file_backed = first.kind() == Kind::File;
        let prot = areas.iter().fold(0, |p, a| p | a.prot());
        let ps = crate::sys::page_size();
        let reduced = areas
            .iter()
            .filter(|a| a.prot() != prot)
            .map(|a| (a.start.max(addr & !(ps - 1))..a.end, a.prot()))
            .filter(|(r, _)| r.start < r.end)
            .collect();
        let path = (!first.path.is_empty() && file_backed)
            .then(|| PathBuf::from(OsStr::from_bytes(&first.path)));
        let file = if file_backed {
            open_file(
                first,
                path.as_deref(),
                first.shared && prot & libc::PROT_WRITE != 0,
            )
        } else {
            None
        };
        let offset = if file_backed {
            first.offset + (addr - first.start) as u64
        } else {
            0
        };
        // SAFETY: the caller of `ForeignMap::find` keeps the range mapped while the map lives.
        let map = unsafe {
            Mapping::foreign(
                addr,
                len,
                path,
                offset,
                prot,
                first.shared,
                file_backed,
                file,
                reduced,
            )
        };
        Ok(ForeignMap {
            map,
            shared: first.shared,
            deleted: first.deleted,
        })
    }

    /// The mapped file, opened again: through `/proc/self/map_files`, by its path, or through
    /// a descriptor this process holds of it; each checked to be the mapped file (device
    /// and inode). Read-write when `write` (a shared writable map, whose faulted pages are
    /// mapped again writable) and allowed, else read-only.
    pub(super) fn open_file(area: &Area, path: Option<&Path>, write: bool) -> Option<File> {
        let dev = libc::makedev(area.dev.0, area.dev.1);
        let same = |m: &std::fs::Metadata| m.dev() == dev && m.ino() == area.inode;
        let open = |p: &Path| -> Option<File> {
            // Checked before opening too: a device or a FIFO under the name is never opened.
            if !std::fs::metadata(p).is_ok_and(|m| m.is_file() && same(&m)) {
                return None;
            }
            let rw = || OpenOptions::new().read(true).write(true).open(p);
            let f = if write {
                rw().or_else(|_| File::open(p))
            } else {
                File::open(p)
            };
            f.ok().filter(|f| f.metadata().is_ok_and(|m| same(&m)))
        };
        let by_map = format!("/proc/self/map_files/{:x}-{:x}", area.start, area.end);
        if let Some(f) = open(Path::new(&by_map)) {
            return Some(f);
        }
        if let Some(p) = path.filter(|p| !area.deleted && p.is_absolute())
            && let Some(f) = open(p)
        {
            return Some(f);
        }
        // A descriptor this process still holds (Python's mmap keeps one).
        let fds = std::fs::read_dir("/proc/self/fd").ok()?;
        fds.flatten().find_map(|entry| open(&entry.path()))
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod os_tests {
    use super::Area;
    use std::os::unix::fs::MetadataExt;

    /// A file that has the mapped file's name but not its device and inode is never used.
    #[test]
    fn a_file_of_another_identity_is_not_opened() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let m = std::fs::metadata(&path).unwrap();
        let area = |inode| Area {
            start: 0x1000,
            end: 0x2000, // no such area: map_files has nothing
            read: true,
            write: false,
            exec: false,
            shared: true,
            offset: 0,
            dev: (libc::major(m.dev()), libc::minor(m.dev())),
            inode,
            path: path.as_os_str().as_encoded_bytes().to_vec(),
            deleted: false,
        };
        assert!(super::os::open_file(&area(m.ino()), Some(&path), false).is_some());
        assert!(super::os::open_file(&area(m.ino() + 1), Some(&path), false).is_none());
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod os {
    use super::ForeignMap;
    use crate::error::{Error, Result};

    pub(super) fn find(_addr: usize, _len: usize) -> Result<ForeignMap> {
        Err(Error::Unsupported {
            what: "finding a mapping this process holds (no /proc/self/maps)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_with_spaces_deleted_and_anonymous() {
        let a = parse_line(
            b"7f00aa000000-7f00aa004000 rw-s 00002000 fd:01 123456    /tmp/a b  c (deleted)",
        )
        .unwrap();
        assert_eq!(
            (a.start, a.end, a.offset),
            (0x7f00aa000000, 0x7f00aa004000, 0x2000)
        );
        assert!(a.read && a.write && !a.exec && a.shared && a.deleted);
        assert_eq!((a.dev, a.inode), ((0xfd, 1), 123456));
        assert_eq!(a.path, b"/tmp/a b  c");
        assert_eq!(a.kind(), Kind::File);
        let anon = parse_line(b"7f00aa000000-7f00aa004000 rw-p 00000000 00:00 0 ").unwrap();
        assert!(anon.path.is_empty() && !anon.shared);
        assert!(matches!(anon.kind(), Kind::Refused(_)));
        let zero = parse_line(b"7f0-7f1 rw-s 00000000 00:01 77   /dev/zero (deleted)").unwrap();
        assert_eq!(zero.kind(), Kind::SharedAnon);
        let memfd = parse_line(b"7f0-7f1 r--s 00000000 00:01 78   /memfd:x y (deleted)").unwrap();
        assert_eq!(
            (memfd.kind(), &memfd.path[..]),
            (Kind::File, &b"/memfd:x y"[..])
        );
        let nl = parse_line(b"1000-2000 r--p 00000000 08:02 9 /tmp/a\\012b").unwrap();
        assert_eq!(nl.path, b"/tmp/a\nb");
        for refused in ["[heap]", "[stack]", "[vdso]", "[anon:x]"] {
            let l = format!("1000-2000 rw-p 00000000 00:00 0  {refused}");
            assert!(matches!(
                parse_line(l.as_bytes()).unwrap().kind(),
                Kind::Refused(_)
            ));
        }
        assert!(parse_line(b"garbage").is_none());
    }

    #[test]
    fn split_areas_of_one_map_are_one() {
        let maps = b"1000-3000 rw-s 00000000 08:01 5 /f\n\
                     3000-4000 r--s 00002000 08:01 5 /f\n\
                     4000-6000 rw-s 00003000 08:01 5 /f\n\
                     6000-7000 rw-s 00009000 08:01 5 /f\n";
        let found = areas_holding(maps, 0x2000, 0x3000).unwrap();
        assert_eq!(found.len(), 3);
        // Offsets that do not follow on: another map of the file.
        let e = areas_holding(maps, 0x5000, 0x1800).unwrap_err();
        assert!(matches!(e, Error::NotMapped { .. }), "{e}");
        let e = areas_holding(maps, 0x8000, 1).unwrap_err();
        assert!(matches!(e, Error::NotMapped { .. }), "{e}");
        // Only what is needed is taken.
        assert_eq!(areas_holding(maps, 0x1000, 0x10).unwrap().len(), 1);
    }

    #[test]
    fn view_bounds_of_reversed_and_broadcast_views() {
        assert_eq!(view_bounds(1000, &[3], &[-8], 8), Some((984, 1008)));
        assert_eq!(view_bounds(1000, &[4, 5], &[0, 8], 8), Some((1000, 1040)));
        assert_eq!(view_bounds(10, &[3], &[-8], 8), None);
        assert_eq!(gcd(8, 0), 8);
        assert_eq!(gcd(8, 12), 4);
    }
}
