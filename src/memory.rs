//! Memory control on an array, on an element range, and on a slice: `madvise`, `msync`,
//! `mlock`/`munlock` and `mprotect`.
//!
//! Every operation goes through one place, [`MmapArray::page_ranges`], which checks the part
//! asked for and rounds it outwards to whole pages, so callers never see `EINVAL` for alignment.

use crate::array::{MmapArray, Mode};
use crate::error::{Error, Result};
use crate::layout;
use crate::sys;
use bytemuck::Pod;
use ndarray::{Dimension, SliceInfoElem};
use std::ops::Range;
use std::os::fd::AsRawFd;

/// Advice that cannot change an array's contents, so it is safe to give (`madvise`).
///
/// Advice the platform lacks is an [`Error::Unsupported`], not a silent no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Advice {
    /// No special treatment (`MADV_NORMAL`).
    Normal,
    /// Expect random access: little readahead (`MADV_RANDOM`).
    Random,
    /// Expect sequential access: aggressive readahead (`MADV_SEQUENTIAL`).
    Sequential,
    /// Expect access soon: read ahead now (`MADV_WILLNEED`). ndmmap issues it in chunks of
    /// the device's readahead window, so the whole range is loaded, not just the first window.
    WillNeed,
    /// Back with transparent huge pages (`MADV_HUGEPAGE`, Linux).
    HugePage,
    /// Do not back with transparent huge pages (`MADV_NOHUGEPAGE`, Linux).
    NoHugePage,
    /// Leave out of core dumps (`MADV_DONTDUMP`, Linux).
    DontDump,
    /// Include in core dumps again (`MADV_DODUMP`, Linux).
    DoDump,
    /// Deactivate the pages: reclaim them first under pressure (`MADV_COLD`, Linux 5.4+).
    Cold,
    /// Reclaim the pages now, keeping their contents (`MADV_PAGEOUT`, Linux 5.4+).
    PageOut,
    /// Fault the pages in readable (`MADV_POPULATE_READ`, Linux 5.14+).
    PopulateRead,
    /// Fault the pages in writable (`MADV_POPULATE_WRITE`, Linux 5.14+); writable maps only.
    PopulateWrite,
}

impl Advice {
    fn name(self) -> &'static str {
        match self {
            Advice::Normal => "MADV_NORMAL",
            Advice::Random => "MADV_RANDOM",
            Advice::Sequential => "MADV_SEQUENTIAL",
            Advice::WillNeed => "MADV_WILLNEED",
            Advice::HugePage => "MADV_HUGEPAGE",
            Advice::NoHugePage => "MADV_NOHUGEPAGE",
            Advice::DontDump => "MADV_DONTDUMP",
            Advice::DoDump => "MADV_DODUMP",
            Advice::Cold => "MADV_COLD",
            Advice::PageOut => "MADV_PAGEOUT",
            Advice::PopulateRead => "MADV_POPULATE_READ",
            Advice::PopulateWrite => "MADV_POPULATE_WRITE",
        }
    }
}

/// Advice that can change an array's contents; giving it is `unsafe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UncheckedAdvice {
    /// Drop the pages (`MADV_DONTNEED`): a private or anonymous map reads back zeros (or the
    /// file's contents), discarding what was written.
    DontNeed,
    /// Free the pages lazily (`MADV_FREE`, private anonymous maps): contents may become zero
    /// at any time.
    Free,
    /// Punch a hole in the backing store (`MADV_REMOVE`, shared maps): the file's bytes
    /// become zero.
    Remove,
    /// A forked child sees zeros (`MADV_WIPEONFORK`, private anonymous maps).
    WipeOnFork,
}

impl UncheckedAdvice {
    fn name(self) -> &'static str {
        match self {
            UncheckedAdvice::DontNeed => "MADV_DONTNEED",
            UncheckedAdvice::Free => "MADV_FREE",
            UncheckedAdvice::Remove => "MADV_REMOVE",
            UncheckedAdvice::WipeOnFork => "MADV_WIPEONFORK",
        }
    }
}

/// Advice that older kernels refuse with `EINVAL` (cold and pageout: 5.4; populate: 5.14).
const NEWER_ADVICE: &[&str] = &[
    "MADV_COLD",
    "MADV_PAGEOUT",
    "MADV_POPULATE_READ",
    "MADV_POPULATE_WRITE",
];

/// How `msync` writes dirty pages back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sync {
    /// Write and wait (`MS_SYNC`): the data is in the file when the call returns.
    Sync,
    /// Schedule the write and return (`MS_ASYNC`).
    Async,
    /// Write and wait, then invalidate other mappings' cached copies (`MS_SYNC | MS_INVALIDATE`).
    Invalidate,
}

/// How `mlock` locks pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lock {
    /// Fault every page in now and keep them resident.
    Now,
    /// Keep pages resident once they are first touched (`MLOCK_ONFAULT`, Linux 4.4+).
    OnFault,
}

/// Page protection for `mprotect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// No access: any view of the array is refused until protection is restored.
    None,
    /// Read-only.
    Read,
    /// Read and write (writable modes only).
    ReadWrite,
}

/// The part of an array an operation covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Part<'s> {
    All,
    Range(&'s Range<usize>),
    Slice(&'s [SliceInfoElem]),
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// Page indices (relative to the array's first page) that a part of the array touches, in
    /// increasing order, merged. The one place every range and slice is checked.
    pub(crate) fn page_indices(&self, part: Part<'_>) -> Result<Vec<Range<usize>>> {
        let span = self.page_span();
        let es = size_of::<T>();
        let pages = match part {
            Part::All => {
                layout::runs_to_pages(span.lead, span.page_size, |sink| sink(0..self.nbytes()))
            }
            Part::Range(r) => {
                let bytes = layout::element_bytes(r, self.len(), es)?;
                layout::runs_to_pages(span.lead, span.page_size, |sink| sink(bytes))
            }
            Part::Slice(elems) => {
                layout::check_slice(self.shape(), elems)?;
                let (shape, strides) = layout::shape_strides(&self.dim, &self.strides);
                let (off, shape, strides) = layout::slice_geometry(&shape, &strides, elems);
                let start = off.max(0) as usize * es;
                layout::runs_to_pages(span.lead, span.page_size, |sink| {
                    layout::view_runs(start, &shape, &strides, es, sink)
                })
            }
        };
        Ok(pages)
    }

    /// Page-aligned address ranges that a part of the array touches.
    pub(crate) fn page_ranges(&self, part: Part<'_>) -> Result<Vec<Range<usize>>> {
        let ps = sys::page_size();
        let base = self.backing.ptr() as usize / ps * ps;
        Ok(self
            .page_indices(part)?
            .into_iter()
            .map(|p| base + p.start * ps..base + p.end * ps)
            .collect())
    }

    fn each_range(
        &self,
        part: Part<'_>,
        what: &'static str,
        mut f: impl FnMut(usize, usize) -> std::io::Result<()>,
    ) -> Result<()> {
        for r in self.page_ranges(part)? {
            f(r.start, r.end - r.start).map_err(|e| Error::io(what, self.path.as_deref(), e))?;
        }
        Ok(())
    }

    fn advise(&self, part: Part<'_>, name: &'static str, chunked: bool) -> Result<()> {
        let value = sys::os::advice(name).ok_or(Error::Unsupported { what: name })?;
        // One MADV_WILLNEED reads at most the readahead window: issue it window by window.
        let chunk = match (&self.file, chunked) {
            (Some(f), true) => sys::os::readahead_window(f.as_raw_fd()),
            _ => usize::MAX,
        };
        let ps = sys::page_size();
        let chunk = (chunk / ps).max(1) * ps;
        self.each_range(part, "madvise", |addr, len| {
            let mut done = 0;
            while done < len {
                let n = chunk.min(len - done);
                // SAFETY: the range lies within this array's mapping (page_ranges checks it);
                // `value` comes from safe advice or from the caller of an unsafe method.
                unsafe { sys::madvise(addr + done, n, value) }.map_err(|e| {
                    match e.raw_os_error() {
                        // Linux answers EINVAL for advice newer than the kernel.
                        Some(libc::EINVAL) if NEWER_ADVICE.contains(&name) => std::io::Error::new(
                            e.kind(),
                            format!("{name} is not supported by this kernel ({e})"),
                        ),
                        _ => e,
                    }
                })?;
                done += n;
            }
            Ok(())
        })
    }

    /// Gives `advice` for the whole array.
    pub fn madvise(&self, advice: Advice) -> Result<()> {
        self.advise(Part::All, advice.name(), advice == Advice::WillNeed)
    }

    /// Gives `advice` for the elements `range` (flat indices in memory order).
    pub fn madvise_range(&self, advice: Advice, range: Range<usize>) -> Result<()> {
        self.advise(
            Part::Range(&range),
            advice.name(),
            advice == Advice::WillNeed,
        )
    }

    /// Gives `advice` for the pages a slice touches: `a.madvise_slice(Advice::WillNeed, s![10..20, ..])`.
    pub fn madvise_slice(&self, advice: Advice, slice: impl AsRef<[SliceInfoElem]>) -> Result<()> {
        self.advise(
            Part::Slice(slice.as_ref()),
            advice.name(),
            advice == Advice::WillNeed,
        )
    }

    /// Gives advice that may change the array's contents, for the whole array.
    ///
    /// # Safety
    /// The advice may discard data (see [`UncheckedAdvice`]); no view of the array may be in use
    /// while its contents change, and the caller must accept the lost writes.
    pub unsafe fn unchecked_madvise(&self, advice: UncheckedAdvice) -> Result<()> {
        self.advise(Part::All, advice.name(), false)
    }

    /// [`unchecked_madvise`](Self::unchecked_madvise) for an element range.
    ///
    /// # Safety
    /// As for [`unchecked_madvise`](Self::unchecked_madvise); whole pages are affected, so
    /// elements before and after the range on its first and last page may change too.
    pub unsafe fn unchecked_madvise_range(
        &self,
        advice: UncheckedAdvice,
        range: Range<usize>,
    ) -> Result<()> {
        self.advise(Part::Range(&range), advice.name(), false)
    }

    /// [`unchecked_madvise`](Self::unchecked_madvise) for the pages a slice touches.
    ///
    /// # Safety
    /// As for [`unchecked_madvise_range`](Self::unchecked_madvise_range).
    pub unsafe fn unchecked_madvise_slice(
        &self,
        advice: UncheckedAdvice,
        slice: impl AsRef<[SliceInfoElem]>,
    ) -> Result<()> {
        self.advise(Part::Slice(slice.as_ref()), advice.name(), false)
    }

    fn sync(&self, part: Part<'_>, how: Sync) -> Result<()> {
        let flags = match how {
            Sync::Sync => libc::MS_SYNC,
            Sync::Async => libc::MS_ASYNC,
            Sync::Invalidate => libc::MS_SYNC | libc::MS_INVALIDATE,
        };
        self.each_range(part, "msync", |addr, len| sys::msync(addr, len, flags))
    }

    /// Writes the array's dirty pages back to the file. After `msync(Sync::Sync)` returns, data
    /// written through a [`Mode::ReadWrite`] map is in the file (and survives the process being
    /// killed). On copy-on-write and anonymous maps it does nothing harmful.
    pub fn msync(&self, how: Sync) -> Result<()> {
        self.sync(Part::All, how)
    }

    /// [`msync`](Self::msync) for an element range.
    pub fn msync_range(&self, how: Sync, range: Range<usize>) -> Result<()> {
        self.sync(Part::Range(&range), how)
    }

    /// [`msync`](Self::msync) for the pages a slice touches.
    pub fn msync_slice(&self, how: Sync, slice: impl AsRef<[SliceInfoElem]>) -> Result<()> {
        self.sync(Part::Slice(slice.as_ref()), how)
    }

    fn lock(&self, part: Part<'_>, how: Lock) -> Result<()> {
        if how == Lock::OnFault && !sys::os::HAS_LOCK_ON_FAULT {
            return Err(Error::Unsupported {
                what: "mlock on fault",
            });
        }
        let ranges = self.page_ranges(part)?;
        for r in &ranges {
            if let Err(e) = sys::os::mlock(r.start, r.end - r.start, how == Lock::OnFault) {
                let requested = ranges.iter().map(|r| r.end - r.start).sum();
                return Err(match e.raw_os_error() {
                    Some(libc::ENOMEM | libc::EPERM | libc::EAGAIN) => Error::LockLimit {
                        requested,
                        limit: sys::memlock_limit(),
                        source: e,
                    },
                    _ => Error::io("mlock", self.path.as_deref(), e),
                });
            }
        }
        Ok(())
    }

    /// Locks the array's pages in RAM (`mlock`). Past `RLIMIT_MEMLOCK` this is an
    /// [`Error::LockLimit`] naming the limit and the bytes asked for.
    pub fn mlock(&self) -> Result<()> {
        self.lock(Part::All, Lock::Now)
    }

    /// Locks the array's pages, choosing between locking now and on first touch.
    pub fn mlock_with(&self, how: Lock) -> Result<()> {
        self.lock(Part::All, how)
    }

    /// Locks the pages of an element range.
    pub fn mlock_range(&self, how: Lock, range: Range<usize>) -> Result<()> {
        self.lock(Part::Range(&range), how)
    }

    /// Locks the pages a slice touches.
    pub fn mlock_slice(&self, how: Lock, slice: impl AsRef<[SliceInfoElem]>) -> Result<()> {
        self.lock(Part::Slice(slice.as_ref()), how)
    }

    /// Unlocks the array's pages.
    pub fn munlock(&self) -> Result<()> {
        self.each_range(Part::All, "munlock", sys::munlock)
    }

    /// Unlocks the pages of an element range.
    pub fn munlock_range(&self, range: Range<usize>) -> Result<()> {
        self.each_range(Part::Range(&range), "munlock", sys::munlock)
    }

    /// Unlocks the pages a slice touches.
    pub fn munlock_slice(&self, slice: impl AsRef<[SliceInfoElem]>) -> Result<()> {
        self.each_range(Part::Slice(slice.as_ref()), "munlock", sys::munlock)
    }

    fn protect_part(&mut self, part: Part<'_>, prot: Protection) -> Result<()> {
        if prot == Protection::ReadWrite && self.mode == Mode::ReadOnly {
            return Err(Error::NotWritable {
                reason: "a read-only map cannot be made writable",
            });
        }
        let flags = match prot {
            Protection::None => libc::PROT_NONE,
            Protection::Read => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        };
        let whole = matches!(part, Part::All);
        let path = self.path.clone();
        for r in self.page_ranges(part)? {
            // SAFETY: `&mut self` means no view of the array lives; `readable`/`writable` are
            // updated below so later views respect the new protection.
            unsafe { sys::mprotect(r.start, r.end - r.start, flags) }
                .map_err(|e| Error::io("mprotect", path.as_deref(), e))?;
        }
        if whole {
            self.readable = prot != Protection::None;
            self.writable = prot == Protection::ReadWrite;
        } else {
            self.readable &= prot != Protection::None;
            self.writable &= prot == Protection::ReadWrite;
        }
        Ok(())
    }

    /// Changes the protection of the whole array (`mprotect`). Taking `&mut self`, it cannot
    /// run while a view lives; afterwards [`view`](Self::view) refuses a [`Protection::None`]
    /// array and [`view_mut`](Self::view_mut) anything but [`Protection::ReadWrite`].
    pub fn protect(&mut self, prot: Protection) -> Result<()> {
        self.protect_part(Part::All, prot)
    }

    /// Changes the protection of the pages of an element range. Granting less than the rest of
    /// the array has makes views of the whole array refused until [`protect`](Self::protect)
    /// restores it.
    pub fn protect_range(&mut self, prot: Protection, range: Range<usize>) -> Result<()> {
        self.protect_part(Part::Range(&range), prot)
    }

    /// Changes the protection of the pages a slice touches (see
    /// [`protect_range`](Self::protect_range)).
    pub fn protect_slice(
        &mut self,
        prot: Protection,
        slice: impl AsRef<[SliceInfoElem]>,
    ) -> Result<()> {
        self.protect_part(Part::Slice(slice.as_ref()), prot)
    }
}
