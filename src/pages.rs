//! The page selector: [`MmapArray::pages`](crate::MmapArray::pages) turns `..`, an element
//! range or a slice into [`Pages`], which carries every page operation: advice, flushing,
//! locking, eviction, residency ([`crate::residency`]); [`PagesMut`] changes protection.
//!
//! A selection is checked and rounded out to whole pages here, once, for every operation, so
//! callers never see `EINVAL` for alignment and every operation agrees on which pages a
//! selection covers. Pages are always visited in ascending address order, whatever the
//! selection's steps.

use crate::error::{Error, Result};
use crate::layout::{self, Geometry, PageSpan};
use crate::mapping::Mapping;
use crate::sys;
use ndarray::{Dimension, SliceArg, SliceInfo, SliceInfoElem};
use std::ops::{Range, RangeFull};

/// Advice that cannot change an array's contents, so it is safe to give (`madvise`).
///
/// Advice the platform lacks is an [`Error::Unsupported`], not a silent no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Advice {
    /// No special treatment (`MADV_NORMAL`).
    Normal,
    /// Expect random access: read ahead little (`MADV_RANDOM`).
    Random,
    /// Expect sequential access: read ahead much, free behind (`MADV_SEQUENTIAL`).
    Sequential,
    /// Start reading the pages in (`MADV_WILLNEED`). Asynchronous: it returns before the
    /// pages are loaded, and the kernel may drop the hint under memory pressure. ndmmap issues
    /// it one readahead window at a time, so a large range is asked for whole (a single call
    /// loads only one window). For a prefetch that has finished when it returns, use
    /// [`PopulateRead`](Advice::PopulateRead).
    WillNeed,
    /// Back the range with transparent huge pages (`MADV_HUGEPAGE`).
    HugePage,
    /// Do not use huge pages (`MADV_NOHUGEPAGE`).
    NoHugePage,
    /// Leave the pages out of core dumps (`MADV_DONTDUMP`).
    DontDump,
    /// Undo [`DontDump`](Advice::DontDump) (`MADV_DODUMP`).
    DoDump,
    /// Deactivate the pages: reclaim them first under pressure (`MADV_COLD`, Linux 5.4+).
    Cold,
    /// Reclaim the pages now, writing back as needed; contents are kept (`MADV_PAGEOUT`,
    /// Linux 5.4+).
    PageOut,
    /// Fault the pages in for reading, blocking until they are resident
    /// (`MADV_POPULATE_READ`, Linux 5.14+): the synchronous prefetch.
    PopulateRead,
    /// Fault the pages in writable, allocating them (`MADV_POPULATE_WRITE`, Linux 5.14+).
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

/// Advice that can change an array's contents; giving it is `unsafe`
/// ([`Pages::advise_unchecked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UncheckedAdvice {
    /// Drop the pages (`MADV_DONTNEED`): private and anonymous pages read back as zeros,
    /// shared file pages from the file. Unsupported on Windows, which cannot promise zeros.
    DontNeed,
    /// Free the pages lazily (`MADV_FREE`): their contents may or may not survive. Windows:
    /// `DiscardVirtualMemory`.
    Free,
    /// Free the pages and their backing store (`MADV_REMOVE`): punches a hole in the file.
    Remove,
    /// A forked child sees the pages zeroed (`MADV_WIPEONFORK`).
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

/// How [`Pages::flush`] writes dirty pages back (`msync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flush {
    /// Write back and wait (`MS_SYNC`): the data is in the file when this returns.
    Sync,
    /// Start writing back and return (`MS_ASYNC`).
    Async,
    /// Write back and wait, then invalidate other mappings' cached copies
    /// (`MS_SYNC | MS_INVALIDATE`).
    Invalidate,
}

/// How [`Pages::lock`] locks pages (`mlock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lock {
    /// Fault every page in and lock it now.
    Now,
    /// Lock pages as they are first touched (`MLOCK_ONFAULT`, Linux 4.4+).
    OnFault,
}

/// Page protection for [`PagesMut::protect`] (`mprotect`). Taking away read access is
/// [`PagesMut::protect_none`], which is `unsafe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// Readable only: mutable views are refused until the pages are writable again.
    Read,
    /// Readable and writable (a read-write or copy-on-write map's default).
    ReadWrite,
}

mod sealed {
    use ndarray::SliceInfoElem;
    use std::ops::Range;

    /// What a selection asks for.
    pub enum Sel<'a> {
        All,
        Range(Range<usize>),
        Slice(&'a [SliceInfoElem]),
    }

    pub trait Sealed<D> {
        fn sel(&self) -> Sel<'_>;
    }
}
use sealed::Sealed;
pub(crate) use sealed::Sel;

/// What [`MmapArray::pages`](crate::MmapArray::pages) accepts: `..` (the whole array), an
/// element `Range<usize>` (flat indices in logical, row-major order, as `view().iter()` visits
/// them), or a slice (`s![..]`; for a fixed dimension type the compiler checks the number of
/// axes, as `view().slice(..)` does; for `IxDyn` arrays a
/// `&[SliceInfoElem]` works too).
pub trait Selection<D>: Sealed<D> {}

impl<D, S: Sealed<D> + ?Sized> Selection<D> for S {}

impl<D> Sealed<D> for RangeFull {
    fn sel(&self) -> Sel<'_> {
        Sel::All
    }
}

impl<D> Sealed<D> for Range<usize> {
    fn sel(&self) -> Sel<'_> {
        Sel::Range(self.clone())
    }
}

impl<T, Din, Dout, D> Sealed<D> for SliceInfo<T, Din, Dout>
where
    T: AsRef<[SliceInfoElem]>,
    Din: Dimension,
    Dout: Dimension,
    D: Dimension,
    SliceInfo<T, Din, Dout>: SliceArg<D>,
{
    fn sel(&self) -> Sel<'_> {
        Sel::Slice(self.as_ref())
    }
}

/// Runtime slices (`&[SliceInfoElem]`, `&Vec<SliceInfoElem>`), for `IxDyn` arrays.
impl<D: Dimension> Sealed<D> for [SliceInfoElem]
where
    [SliceInfoElem]: SliceArg<D>,
{
    fn sel(&self) -> Sel<'_> {
        Sel::Slice(self)
    }
}

impl<D: Dimension> Sealed<D> for Vec<SliceInfoElem>
where
    [SliceInfoElem]: SliceArg<D>,
{
    fn sel(&self) -> Sel<'_> {
        Sel::Slice(self)
    }
}

impl<D, S: Sealed<D> + ?Sized> Sealed<D> for &S {
    fn sel(&self) -> Sel<'_> {
        (**self).sel()
    }
}

/// The pages a selection of an array touches, and every operation on them.
///
/// Made by [`MmapArray::pages`](crate::MmapArray::pages); it borrows the array, so the mapping
/// cannot change while it lives. Page indices count from the first page the array spans
/// (see [`span`](Pages::span)): page 0 holds element 0, possibly `lead` bytes into it.
///
/// ```
/// use ndarray::{Axis, s};
/// use ndmmap::{Advice, Flush, Lock, MmapArray};
/// # fn main() -> ndmmap::Result<()> {
/// let a = MmapArray::<f64, ndarray::Ix2>::anonymous((1024, 512))?;
/// let rows = a.pages(s![100..200, ..])?;
/// rows.advise(Advice::WillNeed)?;
/// rows.flush(Flush::Async)?;
/// let r = a.pages(..)?.residency()?;             // resident / total pages
/// let per_row = a.pages(..)?.along(Axis(0))?;     // one fraction per row
/// assert_eq!((r.total, per_row.len()), (a.page_span().page_count, 1024));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pages<'a> {
    pub(crate) map: &'a Mapping,
    pub(crate) elem_size: usize,
    /// Page indices, ascending and merged.
    pub(crate) ranges: Vec<Range<usize>>,
    /// The selection as strided views, for `along`.
    pub(crate) geometry: Vec<Geometry>,
    /// The selection is an element range (one axis: its elements).
    pub(crate) flat: bool,
    /// Pages were taken away ([`Pages::without`]): `ranges` may hold fewer pages than the
    /// geometry touches, and counts along an axis see only `ranges`.
    pub(crate) restricted: bool,
}

/// Checks a selection of an array of `shape`/`strides` whose element 0 lies `base` elements
/// into `map`, and gives its pages and geometry.
pub(crate) fn select(
    map: &Mapping,
    base: usize,
    shape: &[usize],
    strides: &[isize],
    elem_size: usize,
    sel: Sel<'_>,
) -> Result<(Vec<Range<usize>>, Vec<Geometry>, bool)> {
    let flat = matches!(sel, Sel::Range(_));
    let mut geometry = match sel {
        Sel::All => vec![Geometry {
            offset: 0,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
        }],
        Sel::Range(r) => layout::range_geometry(shape, strides, r)?,
        Sel::Slice(elems) => {
            layout::check_slice(shape, elems)?;
            vec![layout::slice_geometry(shape, strides, elems)]
        }
    };
    // `base`: the element offset of the array's (or shared sub-view's) element 0 in the map.
    for g in &mut geometry {
        g.offset = g.offset.wrapping_add(base);
    }
    let span = map.page_span();
    let ranges = layout::runs_to_pages(span.lead, span.page_size, |sink| {
        for g in &geometry {
            g.runs(elem_size, &mut *sink);
        }
    });
    Ok((ranges, geometry, flat))
}

impl<'a> Pages<'a> {
    /// The pages the whole array spans, the frame of the page indices: `lead` bytes of page 0
    /// lie before element 0.
    pub fn span(&self) -> PageSpan {
        self.map.page_span()
    }

    /// The selected pages as ascending, disjoint runs of page indices.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// How many pages are selected.
    pub fn len(&self) -> usize {
        self.ranges.iter().map(Range::len).sum()
    }

    /// Whether no page is selected (an empty selection).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The selected pages less `pages` (page indices of the same array, as
    /// [`ranges`](Pages::ranges) gives them, in any order): every operation, counts along an
    /// axis included, then sees only the pages left.
    ///
    /// Where the parts of a split selection share pages (the rows of MPI ranks, which rarely
    /// end on a page boundary), taking from each part the pages of the parts before it gives
    /// every page to the first part that touches it: the parts' pages then add up to the
    /// whole selection's, each counted once.
    ///
    /// ```
    /// use ndarray::s;
    /// // Rows of 5600 bytes: row 1 shares its first page with row 0, its last with row 2.
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((3, 700))?;
    /// let (earlier, mine) = (a.pages(s![..1, ..])?, a.pages(s![1..2, ..])?);
    /// assert_eq!(mine.ranges(), [1..3]);
    /// let owned = mine.without(earlier.ranges());
    /// assert_eq!((owned.ranges(), owned.residency()?.total), (&[2..3][..], 1));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn without(&self, pages: &[Range<usize>]) -> Pages<'a> {
        let away = layout::sorted_merged(pages.iter().filter(|r| !r.is_empty()).cloned().collect());
        let ranges = layout::subtract(&self.ranges, &away);
        Pages {
            map: self.map,
            elem_size: self.elem_size,
            restricted: self.restricted || ranges != self.ranges,
            ranges,
            geometry: self.geometry.clone(),
            flat: self.flat,
        }
    }

    /// The selected pages as page-aligned address ranges: the one place page indices become
    /// addresses.
    pub(crate) fn addr_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        let span = self.span();
        let base = self.map.ptr() as usize - span.lead;
        let ps = span.page_size;
        self.ranges
            .iter()
            .map(move |p| base + p.start * ps..base + p.end * ps)
    }

    /// The selected pages as file byte ranges (file maps only).
    pub(crate) fn file_ranges(&self) -> Option<impl Iterator<Item = (u64, u64)> + '_> {
        self.map.file()?;
        let span = self.span();
        let first = self.map.offset() - span.lead as u64;
        let ps = span.page_size as u64;
        Some(
            self.ranges
                .iter()
                .map(move |p| (first + p.start as u64 * ps, p.len() as u64 * ps)),
        )
    }

    fn each(
        &self,
        what: &'static str,
        mut f: impl FnMut(usize, usize) -> std::io::Result<()>,
    ) -> Result<()> {
        for r in self.addr_ranges() {
            f(r.start, r.end - r.start).map_err(|e| self.map.io_error(what, e))?;
        }
        Ok(())
    }

    fn madvise(&self, name: &'static str, chunked: bool) -> Result<()> {
        let value = sys::os::advice(name).ok_or(Error::Unsupported { what: name })?;
        // One MADV_WILLNEED reads at most the readahead window: issue it window by window.
        let chunk = match (self.map.file(), chunked) {
            (Some(f), true) => sys::readahead_window(f),
            _ => usize::MAX,
        };
        let ps = self.span().page_size;
        let chunk = (chunk / ps).max(1) * ps;
        let done = self.each("madvise", |addr, len| {
            let mut done = 0;
            while done < len {
                let n = chunk.min(len - done);
                // SAFETY: the range lies within this array's mapping (`select` computed it from
                // the mapping's page span); `value` is safe advice, or the caller of
                // `advise_unchecked` accepted its effect.
                unsafe { sys::madvise(addr + done, n, value) }.map_err(|e| {
                    match e.raw_os_error() {
                        // Linux answers EINVAL for advice newer than the kernel.
                        Some(sys::errno::EINVAL) if NEWER_ADVICE.contains(&name) => {
                            std::io::Error::new(
                                e.kind(),
                                format!("{name} is not supported by this kernel ({e})"),
                            )
                        }
                        _ => e,
                    }
                })?;
                done += n;
            }
            Ok(())
        });
        match done {
            // Populating past the end of a truncated file fails (`EFAULT`, "Bad address"),
            // as mlock does: the short file is the reason, said as such.
            Err(e) => Err(self.map.short_file().unwrap_or(e)),
            Ok(()) => Ok(()),
        }
    }

    /// Gives `advice` for the selected pages (`madvise`). Advice that faults pages in
    /// ([`PopulateRead`](Advice::PopulateRead), [`PopulateWrite`](Advice::PopulateWrite)) on a
    /// file that another process truncated below the array is [`Error::TooShort`] with the
    /// file's length now (the OS says `EFAULT`).
    ///
    /// ```
    /// # use ndarray::s;
    /// # let a = ndmmap::MmapArray::<f32, ndarray::Ix2>::anonymous((256, 256))?;
    /// a.pages(s![..64, ..])?.advise(ndmmap::Advice::PopulateRead)?; // resident on return
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn advise(&self, advice: Advice) -> Result<()> {
        self.madvise(advice.name(), advice == Advice::WillNeed)
    }

    /// Gives advice that may change the array's contents.
    ///
    /// # Safety
    /// The advice may discard data (see [`UncheckedAdvice`]): no view of the array may be in use
    /// while its contents change, and the caller accepts the lost writes. Whole pages are
    /// affected, so elements next to the selection on its first and last pages may change too.
    ///
    /// ```
    /// use ndmmap::{MmapArray, UncheckedAdvice};
    /// let mut a = MmapArray::<u8, ndarray::Ix1>::anonymous_private(8192)?;
    /// a.view_mut()?.fill(1);
    /// // SAFETY: no view is in use, and the data may go: it reads back as zeros.
    /// unsafe { a.pages(..)?.advise_unchecked(UncheckedAdvice::DontNeed)? };
    /// assert_eq!(a.view().sum(), 0);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub unsafe fn advise_unchecked(&self, advice: UncheckedAdvice) -> Result<()> {
        self.madvise(advice.name(), false)
    }

    /// Writes the selected pages back to the file (`msync`). After `flush(Flush::Sync)`
    /// returns, data written through a [`Mode::ReadWrite`](crate::Mode::ReadWrite) map is in the
    /// file and survives the process being killed. Harmless on copy-on-write and anonymous maps.
    ///
    /// ```
    /// # let mut a = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(4096)?;
    /// a.view_mut()?.fill(1);
    /// a.pages(..)?.flush(ndmmap::Flush::Sync)?;
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn flush(&self, how: Flush) -> Result<()> {
        let flags = match how {
            Flush::Sync => sys::MS_SYNC,
            Flush::Async => sys::MS_ASYNC,
            Flush::Invalidate => sys::MS_SYNC | sys::MS_INVALIDATE,
        };
        let file = self.map.file();
        self.each("msync", |addr, len| sys::msync(addr, len, flags, file))
    }

    /// Locks the selected pages in RAM (`mlock`; Windows: `VirtualLock`, bounded by the
    /// minimum working-set size, see [`Error::LockLimit`]). Past `RLIMIT_MEMLOCK` this is an
    /// [`Error::LockLimit`] naming the limit and the bytes asked for; on any failure, the
    /// pages this call locked are unlocked again.
    ///
    /// ```
    /// # let a = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(4096)?;
    /// let p = a.pages(..)?;
    /// p.lock(ndmmap::Lock::Now)?;
    /// p.unlock()?;
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn lock(&self, how: Lock) -> Result<()> {
        if how == Lock::OnFault && !sys::os::HAS_LOCK_ON_FAULT {
            return Err(Error::Unsupported {
                what: "mlock on fault",
            });
        }
        let ranges: Vec<_> = self.addr_ranges().collect();
        for (i, r) in ranges.iter().enumerate() {
            if let Err(e) = sys::os::mlock(r.start, r.end - r.start, how == Lock::OnFault) {
                // A failed mlock leaves the range marked locked (and part of it faulted in and
                // locked): unlock it too, with everything locked before it.
                for done in &ranges[..=i] {
                    let _ = sys::munlock(done.start, done.end - done.start);
                }
                let requested = ranges.iter().map(|r| r.end - r.start).sum();
                if let Some(short) = self.map.short_file() {
                    // mlock faults the pages in: past the end of a truncated file that fails,
                    // and the limit is not the reason.
                    return Err(short);
                }
                return Err(match e.raw_os_error() {
                    Some(sys::errno::ENOMEM | sys::errno::EPERM | sys::errno::EAGAIN) => {
                        Error::LockLimit {
                            requested,
                            limit: sys::memlock_limit(),
                            source: e,
                        }
                    }
                    _ => self.map.io_error("mlock", e),
                });
            }
        }
        Ok(())
    }

    /// Unlocks the selected pages (`munlock`).
    pub fn unlock(&self) -> Result<()> {
        self.each("munlock", sys::munlock)
    }

    /// Lets this process lock the selected pages: on Windows, raises its minimum and maximum
    /// working-set sizes by the selection's bytes, as Windows asks of a program that locks
    /// (`VirtualLock` locks no more than the minimum, a few hundred KiB by default; no
    /// privilege is needed); elsewhere nothing, as `RLIMIT_MEMLOCK` is the user's to raise.
    /// Call it before [`lock`](Pages::lock); the sizes stay raised.
    ///
    /// ```
    /// # let a = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(4096)?;
    /// let p = a.pages(..)?;
    /// p.reserve_lock()?;
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn reserve_lock(&self) -> Result<()> {
        #[cfg(windows)]
        sys::os::grow_working_set(self.len() * self.span().page_size)
            .map_err(|e| self.map.io_error("SetProcessWorkingSetSize", e))?;
        Ok(())
    }

    /// Drops the selected pages from the page cache (`posix_fadvise(DONTNEED)` over their file
    /// range). Dirty pages are written back first by the kernel and stay until then; pages
    /// mapped by some process (this one included, once touched) stay too. Contents never
    /// change. Anonymous maps: [`Error::Unsupported`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("p.bin");
    /// # std::fs::write(&path, vec![0u8; 16 * 4096])?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path::<u8, ndarray::Ix2, _>(&path, (16, 4096))? };
    /// a.pages(ndarray::s![8.., ..])?.evict()?;
    /// # Ok(()) }
    /// ```
    pub fn evict(&self) -> Result<()> {
        let (Some(file), Some(ranges)) = (self.map.file(), self.file_ranges()) else {
            return Err(self.map.no_file(
                "evict the pages of",
                Error::Unsupported {
                    what: "evicting an anonymous map",
                },
            ));
        };
        for (off, len) in ranges {
            sys::fadvise(file, off, len, sys::FileAdvice::DontNeed).map_err(|e| {
                if e.kind() == std::io::ErrorKind::Unsupported {
                    Error::Unsupported {
                        what: "evicting pages (no posix_fadvise on this OS)",
                    }
                } else {
                    self.map.io_error("posix_fadvise", e)
                }
            })?;
        }
        Ok(())
    }
}

impl Pages<'_> {
    /// Reads the selected pages into memory now, as `vmtouch -t` does: whatever the
    /// selection's steps, pages are visited in ascending order, [`TOUCH_CHUNK`] pages at a
    /// time, the kernel reading the next chunk ahead (`posix_fadvise(WILLNEED)`) while one
    /// byte of each page of this one is read. A file truncated meanwhile is
    /// [`Error::Fault`], never `SIGBUS` (each chunk is read under
    /// [`guarded`](crate::MmapArray::guarded)'s guard).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.bin");
    /// # std::fs::write(&path, vec![1u8; 64 * 4096])?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path::<u8, ndarray::Ix2, _>(&path, (64, 4096))? };
    /// let rows = a.pages(ndarray::s![..;-2, ..])?;   // every other row, back to front
    /// rows.touch()?;
    /// # if !matches!(rows.residency(), Err(ndmmap::Error::ResidencyUnknown { .. })) {
    /// assert_eq!(rows.residency()?.resident, 32);
    /// # }
    /// # Ok(()) }
    /// ```
    pub fn touch(&self) -> Result<()> {
        self.touch_with(|_| ())
    }

    /// [`touch`](Self::touch), calling `progress(n)` after each chunk of `n` pages: a
    /// progress bar's hook.
    pub fn touch_with(&self, mut progress: impl FnMut(usize)) -> Result<()> {
        let span = self.span();
        let (ps, lead) = (span.page_size, span.lead);
        let (start, len) = (self.map.ptr() as usize, self.map.len());
        // Page p's first byte, or element 0's on page 0 (the lead is not the array's).
        let byte = |p: usize| (start - lead + p * ps).max(start);
        let chunks = touch_chunks(&self.ranges, TOUCH_CHUNK);
        let prefetch = |chunk: &[Range<usize>]| {
            if let Some(f) = self.map.file() {
                let first = self.map.offset() - lead as u64;
                for r in chunk {
                    // Only a hint: if it fails, the reads below fault the pages in.
                    let (off, n) = (first + (r.start * ps) as u64, (r.len() * ps) as u64);
                    let _ = crate::prefetch_file(f, off, n);
                }
            }
        };
        if let Some(c) = chunks.first() {
            prefetch(c);
        }
        for (i, chunk) in chunks.iter().enumerate() {
            if let Some(next) = chunks.get(i + 1) {
                prefetch(next);
            }
            let guard = crate::array::Recovering::enter(self.map)?;
            let mut x = 0u8;
            for p in chunk.iter().flat_map(Range::clone) {
                let at = byte(p);
                if at < start + len {
                    // SAFETY: `at` lies in this array's mapping (page p is one the selection
                    // spans, at or after element 0); reading it faults the page in, and a
                    // fault past the end of a truncated file is the guard's to catch.
                    x ^= unsafe { std::ptr::read_volatile(at as *const u8) };
                }
            }
            std::hint::black_box(x);
            guard.finish(())?;
            progress(chunk.iter().map(Range::len).sum());
        }
        Ok(())
    }
}

/// Pages per chunk of [`Pages::touch`]: 4 MiB of 4 KiB pages.
pub const TOUCH_CHUNK: usize = 1024;

/// Ascending page runs grouped into chunks of at most `max` pages (a long run is split).
fn touch_chunks(ranges: &[Range<usize>], max: usize) -> Vec<Vec<Range<usize>>> {
    let mut out: Vec<Vec<Range<usize>>> = Vec::new();
    let mut current = Vec::new();
    let mut filled = 0;
    for r in ranges {
        let mut p = r.start;
        while p < r.end {
            let end = r.end.min(p + (max - filled));
            current.push(p..end);
            filled += end - p;
            p = end;
            if filled == max {
                out.push(std::mem::take(&mut current));
                filled = 0;
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The pages of a selection, for changing their protection; made by
/// [`MmapArray::pages_mut`](crate::MmapArray::pages_mut), which borrows the array mutably, so
/// no view lives while protection changes.
#[derive(Debug)]
pub struct PagesMut<'a> {
    pub(crate) map: &'a mut Mapping,
    pub(crate) addrs: Vec<Range<usize>>,
    pub(crate) whole: bool,
}

impl PagesMut<'_> {
    /// Changes the protection of the selected pages (`mprotect`). [`Protection::Read`] makes
    /// [`view_mut`](crate::MmapArray::view_mut) refuse until the whole array is made
    /// [`Protection::ReadWrite`] again; a read-only map cannot be made writable.
    ///
    /// ```
    /// use ndmmap::{MmapArray, Protection};
    /// let mut a = MmapArray::<u32, ndarray::Ix1>::anonymous(4096)?;
    /// a.pages_mut(..)?.protect(Protection::Read)?;
    /// assert!(a.view_mut().is_err());
    /// a.pages_mut(..)?.protect(Protection::ReadWrite)?;
    /// assert!(a.view_mut().is_ok());
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn protect(self, prot: Protection) -> Result<()> {
        let flags = match prot {
            Protection::Read => sys::PROT_READ,
            Protection::ReadWrite => sys::PROT_READ | sys::PROT_WRITE,
        };
        // SAFETY: read access stays, so views taken later are sound; `&mut` means none lives.
        unsafe { self.map.protect(&self.addrs, flags, self.whole) }
    }

    /// Takes all access away from the selected pages (`PROT_NONE`): a guard region.
    ///
    /// # Safety
    /// Until the pages are given [`Protection::Read`] or [`Protection::ReadWrite`] again, no
    /// view of the array may be taken or used, nor any method that reads its elements, as
    /// reading a protected page raises `SIGSEGV`.
    ///
    /// ```
    /// use ndmmap::{MmapArray, Protection};
    /// let mut a = MmapArray::<u8, ndarray::Ix1>::anonymous(3 * 4096)?;
    /// // SAFETY: no view is taken until the guard pages are readable again.
    /// unsafe { a.pages_mut(0..4096)?.protect_none()? };
    /// a.pages_mut(..)?.protect(Protection::ReadWrite)?;
    /// assert_eq!(a.view()[0], 0);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub unsafe fn protect_none(self) -> Result<()> {
        // SAFETY: forwarded to the caller.
        unsafe { self.map.protect(&self.addrs, sys::PROT_NONE, self.whole) }
    }
}

#[cfg(test)]
mod tests {
    use super::touch_chunks;

    #[test]
    fn touch_chunks_split_runs_and_keep_order() {
        assert_eq!(
            touch_chunks(&[0..5, 7..8, 10..13], 3),
            vec![vec![0..3], vec![3..5, 7..8], vec![10..13]]
        );
        assert_eq!(
            touch_chunks(&[], 3),
            Vec::<Vec<std::ops::Range<usize>>>::new()
        );
        let one = std::iter::once(0..2).collect::<Vec<_>>();
        assert_eq!(touch_chunks(&one, 3), vec![one]);
    }
}
