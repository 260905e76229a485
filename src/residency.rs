//! Which pages of a selection are in RAM: [`Pages::mincore`] per page, [`Pages::residency`]
//! counts (from `cachestat(2)` where the kernel has it), [`Pages::along`] per slice along an
//! axis, [`Pages::resident_ranges`] as ranges of slices (and [`Pages::ranges_along`] for
//! partly resident ones), [`Pages::counts_along_groups`] per group of consecutive slices (a
//! chart's columns), and [`Pages::cachestat`]'s dirty, writeback and evicted counts.
//!
//! # Truthful answers
//! Since Linux 5.2, `mincore` on a file mapping reports the page cache only to a process that
//! may write the file (its owner, a process with write permission, or root); to any other it
//! claims every page resident, and `cachestat` refuses it with `EPERM`. ndmmap detects that
//! case and answers [`Error::ResidencyUnknown`] rather than a plausible number. Anonymous maps
//! are always reported exactly.
//!
//! # Copy-on-write maps
//! Counts of a copy-on-write map come from `mincore`, which sees this process's private
//! copies; `cachestat` would count the file's pages instead.

use crate::error::{Error, Result, SliceError};
use crate::layout;
use crate::mapping::Mode;
use crate::pages::Pages;
use crate::sys;
use ndarray::Axis;
use std::ops::Range;

/// Resident and total pages of a selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Residency {
    /// Pages in RAM.
    pub resident: usize,
    /// Pages the selection touches.
    pub total: usize,
}

/// One page: resident or not.
///
/// ```
/// use ndmmap::Residency;
/// let pages = [true, false, true].map(Residency::from);
/// assert_eq!(pages.iter().copied().sum::<Residency>(), Residency { resident: 2, total: 3 });
/// ```
impl From<bool> for Residency {
    fn from(resident: bool) -> Residency {
        Residency {
            resident: resident.into(),
            total: 1,
        }
    }
}

impl Residency {
    /// `resident / total`, 1.0 for a selection with no pages.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.resident as f64 / self.total as f64
        }
    }

    /// Whether every page is in RAM (so also for a selection with no pages).
    pub fn is_full(&self) -> bool {
        self.resident == self.total
    }

    /// Whether some pages are in RAM, but not all.
    pub fn is_partial(&self) -> bool {
        self.resident > 0 && self.resident < self.total
    }
}

/// The sum of two counts: of two selections that share no page, their union's.
impl std::ops::Add for Residency {
    type Output = Residency;
    fn add(self, other: Residency) -> Residency {
        Residency {
            resident: self.resident + other.resident,
            total: self.total + other.total,
        }
    }
}

/// The sum of counts of selections that share no page (one rank's rows each, say): their
/// union's.
///
/// ```
/// use ndmmap::Residency;
/// let parts = [Residency { resident: 1, total: 4 }, Residency { resident: 3, total: 4 }];
/// assert_eq!(parts.into_iter().sum::<Residency>(), Residency { resident: 4, total: 8 });
/// ```
impl std::iter::Sum for Residency {
    fn sum<I: Iterator<Item = Residency>>(iter: I) -> Residency {
        iter.fold(Residency::default(), |a, b| a + b)
    }
}

/// The indices of `items` for which `keep` holds, as increasing ranges (end exclusive), a
/// range's neighbours merged into it: what [`Pages::ranges_along`] makes of the counts of
/// [`Pages::counts_along`].
///
/// ```
/// use ndmmap::ranges_where;
/// assert_eq!(ranges_where(&[1, 1, 0, 1, 0, 0, 1], |&x| x == 1), [0..2, 3..4, 6..7]);
/// assert!(ranges_where(&[0, 0], |&x| x == 1).is_empty());
/// ```
pub fn ranges_where<T>(items: &[T], mut keep: impl FnMut(&T) -> bool) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, x) in items.iter().enumerate() {
        if !keep(x) {
            continue;
        }
        match out.last_mut() {
            Some(r) if r.end == i => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Where a [`CacheStat`]'s counts come from (by default [`Mincore`](Self::Mincore), which
/// counts only the resident pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CountSource {
    /// `cachestat(2)` (Linux 6.5+): all fields are filled.
    Cachestat,
    /// `mincore`, where cachestat is missing (anonymous and copy-on-write maps, older
    /// kernels): only `resident` is known.
    #[default]
    Mincore,
}

/// Page-cache state of the selected pages.
///
/// With the feature `serde`, it serializes with the keys `ndmmap info --json` prints:
/// `pages`, `resident_pages`, `dirty_pages`, `writeback_pages`, `evicted_pages`,
/// `recently_evicted_pages` and `cachestat` (whether the counts come from `cachestat(2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CacheStat {
    /// Pages selected.
    pub pages: usize,
    /// Pages in the page cache.
    #[cfg_attr(feature = "serde", serde(rename = "resident_pages"))]
    pub resident: u64,
    /// Dirty pages (not yet written back).
    #[cfg_attr(feature = "serde", serde(rename = "dirty_pages"))]
    pub dirty: Option<u64>,
    /// Pages being written back.
    #[cfg_attr(feature = "serde", serde(rename = "writeback_pages"))]
    pub writeback: Option<u64>,
    /// Pages that were evicted from the cache.
    #[cfg_attr(feature = "serde", serde(rename = "evicted_pages"))]
    pub evicted: Option<u64>,
    /// Evicted pages that were recently in use.
    #[cfg_attr(feature = "serde", serde(rename = "recently_evicted_pages"))]
    pub recently_evicted: Option<u64>,
    /// Where the counts come from.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "cachestat", serialize_with = "from_cachestat")
    )]
    pub source: CountSource,
}

/// `true` for counts from `cachestat(2)`, as [`CacheStat`] serializes its source.
#[cfg(feature = "serde")]
fn from_cachestat<S: serde::Serializer>(
    source: &CountSource,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_bool(*source == CountSource::Cachestat)
}

/// Selections of more runs than this are counted with one `mincore` over their span rather
/// than a call per run.
const MAX_RUN_CALLS: usize = 64;

/// [`Pages::counts_along_groups`] counts at most this many groups one by one (by cachestat);
/// more are counted from one `mincore` pass.
const MAX_GROUP_CALLS: usize = 4096;

/// Counting groups one by one is shared between threads when it would take longer than this
/// (cachestat walks the page cache one folio at a time: small folios make it slow).
const SLOW_GROUPS: std::time::Duration = std::time::Duration::from_millis(2);

/// One byte per page of `pages` pages from `addr` (page-aligned), 1 if resident, else 0. Large
/// spans are split between threads: `mincore` walks the page cache page by page in the kernel,
/// and the walks of disjoint ranges run in parallel.
fn mincore_bits(addr: usize, pages: usize, ps: usize) -> std::io::Result<Vec<u8>> {
    const PAGES_PER_THREAD: usize = 1 << 16; // 256 MiB of 4 KiB pages
    let mut v = vec![0u8; pages];
    if pages == 0 {
        return Ok(v);
    }
    let threads = sys::parallelism();
    let threads = threads.min(pages / PAGES_PER_THREAD).max(1);
    if threads == 1 {
        sys::os::mincore(addr, pages * ps, &mut v)?;
    } else {
        let per = pages.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = v
                .chunks_mut(per)
                .enumerate()
                .map(|(i, chunk)| {
                    scope.spawn(move || {
                        sys::os::mincore(addr + i * per * ps, chunk.len() * ps, chunk)
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("mincore thread panicked")))
            })
        })?;
    }
    // Only the lowest bit means "resident"; the others are reserved.
    for b in &mut v {
        *b &= 1;
    }
    Ok(v)
}

impl Pages<'_> {
    /// `Err(ResidencyUnknown)` when the kernel hides this file's page cache from this process.
    fn check_visible(&self) -> Result<()> {
        match self.map.file() {
            Some(f) if !page_cache_visible(f) => Err(Error::ResidencyUnknown {
                path: self.map.path().map(Into::into),
            }),
            None if self.map.residency_unverifiable() => Err(Error::ResidencyUnknown {
                path: self.map.path().map(Into::into),
            }),
            _ => Ok(()),
        }
    }

    /// Residency bits of the pages `first..end` (indices from the array's first page).
    fn bits(&self, pages: Range<usize>) -> Result<Vec<u8>> {
        self.check_visible()?;
        let span = self.span();
        let base = self.map.ptr() as usize - span.lead;
        mincore_bits(
            base + pages.start * span.page_size,
            pages.len(),
            span.page_size,
        )
        .map_err(|e| self.map.io_error("mincore", e))
    }

    /// Residency bits of the selected pages, in ascending page order.
    fn selected_bits(&self) -> Result<Vec<u8>> {
        if self.ranges.len() <= MAX_RUN_CALLS {
            let mut out = Vec::with_capacity(self.len());
            for r in &self.ranges {
                out.extend(self.bits(r.clone())?);
            }
            return Ok(out);
        }
        let (first, end) = (self.ranges[0].start, self.ranges[self.ranges.len() - 1].end);
        let all = self.bits(first..end)?;
        Ok(self
            .ranges
            .iter()
            .flat_map(|r| all[r.start - first..r.end - first].iter().copied())
            .collect())
    }

    /// One `bool` per selected page, in ascending page order: whether it is in RAM (`mincore`;
    /// only the lowest bit of each byte the kernel reports is read). For `..` the pages are
    /// those of [`span`](Pages::span), the unaligned leading page included.
    ///
    /// On Windows this is this process's working set (`QueryWorkingSetEx`), not the system
    /// file cache: a page the OS has cached but this process has not touched reads as `false`.
    ///
    /// ```
    /// let a = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(3 * 4096)?;
    /// assert_eq!(a.pages(..)?.mincore()?, vec![false; a.page_span().page_count]);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn mincore(&self) -> Result<Vec<bool>> {
        Ok(self.selected_bits()?.into_iter().map(|b| b != 0).collect())
    }

    /// Cached pages of the selection from `cachestat(2)`: `None` where it cannot answer
    /// (copy-on-write or anonymous maps, kernels before 6.5, many runs).
    fn cachestat_raw(&self) -> Result<Option<sys::RawCacheStat>> {
        let (Some(file), Some(ranges)) = (self.map.file(), self.file_ranges()) else {
            return Ok(None);
        };
        if self.map.mode() == Mode::CopyOnWrite || self.ranges.len() > MAX_RUN_CALLS {
            return Ok(None);
        }
        let mut sum = sys::RawCacheStat {
            cache: 0,
            dirty: 0,
            writeback: 0,
            evicted: 0,
            recently_evicted: 0,
        };
        // cachestat walks the page cache entry by entry, one per folio: a large file cached in
        // small pages takes milliseconds, in large folios a fraction of one. A large run is
        // probed on its first 64 MiB; if that was slow, the rest is split between threads.
        const LARGE: u64 = 1 << 30;
        const PROBE: u64 = 64 << 20;
        let threads = sys::parallelism() as u64;
        let ps = self.span().page_size as u64;
        let mut results = Vec::new();
        for (off, len) in ranges {
            if len < LARGE || threads < 2 {
                results.push(sys::cachestat(file, off, len));
                continue;
            }
            let started = std::time::Instant::now();
            results.push(sys::cachestat(file, off, PROBE));
            let (off, len) = (off + PROBE, len - PROBE);
            if started.elapsed() < std::time::Duration::from_micros(150) {
                results.push(sys::cachestat(file, off, len));
                continue;
            }
            let per = (len / threads).div_ceil(ps) * ps;
            let pieces: Vec<(u64, u64)> = (0..threads)
                .map(|i| (off + i * per, per.min(len.saturating_sub(i * per))))
                .filter(|&(_, l)| l > 0)
                .collect();
            std::thread::scope(|scope| {
                let handles: Vec<_> = pieces
                    .iter()
                    .map(|&(o, l)| scope.spawn(move || sys::cachestat(file, o, l)))
                    .collect();
                results.extend(handles.into_iter().map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("cachestat thread panicked")))
                }));
            });
        }
        for r in results {
            match r {
                Ok(cs) => {
                    sum.cache += cs.cache;
                    sum.dirty += cs.dirty;
                    sum.writeback += cs.writeback;
                    sum.evicted += cs.evicted;
                    sum.recently_evicted += cs.recently_evicted;
                }
                Err(e) if e.raw_os_error() == Some(sys::errno::EPERM) => {
                    return Err(Error::ResidencyUnknown {
                        path: self.map.path().map(Into::into),
                    });
                }
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(sys::errno::ENOSYS | sys::errno::EOPNOTSUPP)
                    ) || e.kind() == std::io::ErrorKind::Unsupported =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(self.map.io_error("cachestat", e)),
            }
        }
        Ok(Some(sum))
    }

    /// Resident and total pages of the selection. For a shared or read-only file map whose
    /// selection is a few contiguous runs (the whole array, an element range, rows of a
    /// C-order array), the count comes from `cachestat(2)` (Linux 6.5+), which walks the page
    /// cache one folio at a time: a cached 4 GiB file read in large folios answers in about
    /// 0.2 ms, one written in 4 KiB pages in a few milliseconds (a `mincore` pass takes tens);
    /// otherwise from `mincore`. On Windows the count is of pages in this process's working
    /// set (see [`mincore`](Pages::mincore)).
    ///
    /// ```
    /// use ndarray::s;
    /// let a = ndmmap::MmapArray::<f32, ndarray::Ix2>::anonymous((1024, 1024))?;
    /// a.pages(s![..256, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// let r = a.pages(..)?.residency()?;
    /// assert_eq!((r.resident, r.total), (256, 1024));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn residency(&self) -> Result<Residency> {
        let total = self.len();
        if let Some(cs) = self.cachestat_raw()? {
            return Ok(Residency {
                resident: cs.cache as usize,
                total,
            });
        }
        let resident = self.selected_bits()?.iter().map(|&b| b as usize).sum();
        Ok(Residency { resident, total })
    }

    /// Page-cache counts of the selected pages: resident, dirty, under writeback and evicted,
    /// from `cachestat(2)` where the kernel has it (Linux 6.5+), and only `resident` (from
    /// `mincore`) otherwise.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("p.bin");
    /// # std::fs::write(&path, vec![0u8; 16 * 4096])?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path_1d::<u8>(&path)? };
    /// let cs = a.pages(..)?.cachestat()?;
    /// assert_eq!(cs.pages, 16);
    /// if cs.source == ndmmap::CountSource::Cachestat {
    ///     assert_eq!(cs.dirty, Some(16)); // written just now, not yet on disk
    /// }
    /// # Ok(()) }
    /// ```
    pub fn cachestat(&self) -> Result<CacheStat> {
        let pages = self.len();
        if let Some(cs) = self.cachestat_raw()? {
            return Ok(CacheStat {
                pages,
                resident: cs.cache,
                dirty: Some(cs.dirty),
                writeback: Some(cs.writeback),
                evicted: Some(cs.evicted),
                recently_evicted: Some(cs.recently_evicted),
                source: CountSource::Cachestat,
            });
        }
        let r = self.residency()?;
        Ok(CacheStat {
            pages,
            resident: r.resident as u64,
            dirty: None,
            writeback: None,
            evicted: None,
            recently_evicted: None,
            source: CountSource::Mincore,
        })
    }

    /// For each index along `axis` of the selection, the fraction of its pages in RAM: of a
    /// slice, `axis` counts the slice's axes (as numpy does after indexing); of an element
    /// range, the one axis is the range's elements.
    ///
    /// One `mincore` pass covers the selection; each index's pages are counted from a prefix
    /// sum. Along the outer axis of a C-order array each index is one page run, so the cost is
    /// one pass over the pages; along other axes it grows with the number of contiguous runs.
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((64, 512))?; // a row: one page
    /// a.pages(s![..8, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// let rows = a.pages(..)?.along(Axis(0))?;
    /// assert_eq!((rows[7], rows[8]), (1.0, 0.0));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn along(&self, axis: Axis) -> Result<Vec<f64>> {
        Ok(self
            .counts_along(axis)?
            .iter()
            .map(Residency::fraction)
            .collect())
    }

    /// The indices along `axis` whose pages are all in RAM.
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((64, 512))?;
    /// a.pages(s![3..5, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// assert_eq!(a.pages(..)?.resident_along(Axis(0))?, vec![3, 4]);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn resident_along(&self, axis: Axis) -> Result<Vec<usize>> {
        Ok(self
            .counts_along(axis)?
            .iter()
            .enumerate()
            .filter(|(_, r)| r.resident == r.total)
            .map(|(i, _)| i)
            .collect())
    }

    /// The indices along `axis` whose pages are all in RAM, as ranges (end exclusive) with
    /// their neighbours merged: [`resident_along`](Pages::resident_along) as ranges. The
    /// indices are numbered as [`along`](Pages::along) numbers them (of a slice, from 0 along
    /// the slice's axis). One `mincore` pass.
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((64, 512))?; // a row: one page
    /// a.pages(s![3..5, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// a.pages(s![5..9, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// a.pages(s![20, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// assert_eq!(a.pages(..)?.resident_ranges(Axis(0))?, [3..9, 20..21]);
    /// // Of a slice: rows 4, 6, 8, ..., 20 of the array are its indices 0, 1, 2, ..., 8.
    /// assert_eq!(a.pages(s![4..;2, ..])?.resident_ranges(Axis(0))?, [0..3, 8..9]);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn resident_ranges(&self, axis: Axis) -> Result<Vec<Range<usize>>> {
        self.ranges_along(axis, Residency::is_full)
    }

    /// The indices along `axis` whose page counts `keep` picks, as ranges (end exclusive)
    /// with their neighbours merged: [`Residency::is_partial`] for the partly resident ones,
    /// `|r| r.resident > 0` for those with any page in RAM, [`Residency::is_full`] for
    /// [`resident_ranges`](Pages::resident_ranges). Numbered and counted as
    /// [`counts_along`](Pages::counts_along) counts them: a page that two indices share
    /// counts for both.
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// use ndmmap::Residency;
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((8, 1024))?; // a row: 2 pages
    /// a.pages(s![1..3, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// a.pages(s![3..5, ..512])?.advise(ndmmap::Advice::PopulateWrite)?; // half of rows 3, 4
    /// let p = a.pages(..)?;
    /// assert_eq!(p.ranges_along(Axis(0), Residency::is_full)?, [1..3]);
    /// assert_eq!(p.ranges_along(Axis(0), Residency::is_partial)?, [3..5]);
    /// assert_eq!(p.ranges_along(Axis(0), |r| r.resident > 0)?, [1..5]);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn ranges_along(
        &self,
        axis: Axis,
        keep: impl FnMut(&Residency) -> bool,
    ) -> Result<Vec<Range<usize>>> {
        Ok(ranges_where(&self.counts_along(axis)?, keep))
    }

    /// The resident and selected pages' prefix sums over the selection's span: one `mincore`
    /// pass.
    fn counter(&self) -> Result<Counter> {
        let span = self.span();
        let (first, end) = match (self.ranges.first(), self.ranges.last()) {
            (Some(f), Some(l)) => (f.start, l.end),
            _ => (0, 0),
        };
        let mut bits = self.bits(first..end)?;
        let selected = self.restricted.then(|| {
            let mut sel = vec![0u8; end - first];
            for r in &self.ranges {
                sel[r.start - first..r.end - first].fill(1);
            }
            for (b, s) in bits.iter_mut().zip(&sel) {
                *b &= s;
            }
            prefix_sum(&sel)
        });
        Ok(Counter {
            lead: span.lead,
            ps: span.page_size,
            first,
            end,
            resident: prefix_sum(&bits),
            selected,
        })
    }

    /// For each group of consecutive indices along `axis` (numbered as
    /// [`counts_along`](Pages::counts_along) numbers them), the resident and total pages of
    /// the group's indices taken together, as if the group alone were selected: a page that
    /// several indices of a group touch counts once in it (and in every group that touches
    /// it). With [`even_groups`](crate::even_groups) the groups are the columns of a chart.
    ///
    /// Where each group is one stretch of memory (the outer axis of a C-order array, a step of
    /// ±1, whole inner axes) and there are at most a few thousand groups, each is counted on
    /// its own: by `cachestat(2)` where the kernel has it, a few dozen calls for a file of any
    /// size, shared between threads when that is slow. Otherwise one `mincore` pass counts
    /// them all. An empty group counts no pages; a group past the axis is an
    /// [`Error::BadSlice`].
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((64, 512))?; // a row: one page
    /// a.pages(s![..8, ..])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// // 64 rows folded into 5 columns: 12, 13, 13, 13 and 13 rows.
    /// let columns = ndmmap::even_groups(64, 5);
    /// let c = a.pages(..)?.counts_along_groups(Axis(0), &columns)?;
    /// assert_eq!((c[0].resident, c[0].total, c[1].resident), (8, 12, 0));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn counts_along_groups(
        &self,
        axis: Axis,
        groups: &[Range<usize>],
    ) -> Result<Vec<Residency>> {
        let (k, es) = (axis.index(), self.elem_size);
        let check = |n: usize| match groups.iter().find(|r| r.start > r.end || r.end > n) {
            Some(r) => Err(Error::BadSlice(SliceError::RangeOutOfBounds {
                start: r.start as isize,
                end: Some(r.end as isize),
                axis: k,
                len: n,
            })),
            None => Ok(()),
        };
        if self.flat {
            // An element range: one index per element, in logical order.
            if k != 0 {
                return Err(Error::BadAxis { axis: k, ndim: 1 });
            }
            let mut offsets = Vec::new();
            for g in &self.geometry {
                g.for_each_offset(|off| offsets.push(off));
            }
            check(offsets.len())?;
            let counter = self.counter()?;
            return Ok(groups
                .iter()
                .map(|r| {
                    let runs = offsets[r.clone()].iter().map(|&o| o * es..o * es + es);
                    counter.count(layout::sorted_merged(runs.collect()).into_iter())
                })
                .collect());
        }
        let g = &self.geometry[0];
        if k >= g.shape.len() {
            return Err(Error::BadAxis {
                axis: k,
                ndim: g.shape.len(),
            });
        }
        check(g.shape[k])?;
        if g.contiguous_along(k) && groups.len() <= MAX_GROUP_CALLS {
            return self.count_each(groups, |r| g.group(k, r));
        }
        let counter = self.counter()?;
        let mut runs = Vec::new();
        Ok(groups
            .iter()
            .map(|r| {
                runs.clear();
                g.group(k, r.clone()).runs(es, |x| runs.push(x));
                counter.count(runs.iter().cloned())
            })
            .collect())
    }

    /// Each group's [`residency`](Pages::residency) as a selection of its own (the view
    /// `group` makes of it), the groups shared between threads when counting is slow.
    fn count_each(
        &self,
        groups: &[Range<usize>],
        group: impl Fn(Range<usize>) -> layout::Geometry + Sync,
    ) -> Result<Vec<Residency>> {
        let span = self.span();
        let count = |r: &Range<usize>| -> Result<Residency> {
            let g = group(r.clone());
            let mut ranges = layout::runs_to_pages(span.lead, span.page_size, |sink| {
                g.runs(self.elem_size, &mut *sink)
            });
            if self.restricted {
                ranges = layout::intersect(&ranges, &self.ranges);
            }
            Pages {
                map: self.map,
                elem_size: self.elem_size,
                ranges,
                geometry: vec![g],
                flat: false,
                restricted: self.restricted,
            }
            .residency()
        };
        let Some((head, rest)) = groups.split_first() else {
            return Ok(Vec::new());
        };
        let started = std::time::Instant::now();
        let mut out = vec![count(head)?];
        let threads = sys::parallelism().min(rest.len());
        let slow = started.elapsed().as_secs_f64() * rest.len() as f64 > SLOW_GROUPS.as_secs_f64();
        if threads < 2 || !slow {
            for r in rest {
                out.push(count(r)?);
            }
            return Ok(out);
        }
        let per = rest.len().div_ceil(threads);
        let count = &count;
        std::thread::scope(|scope| {
            let parts: Vec<_> = rest
                .chunks(per)
                .map(|part| scope.spawn(move || part.iter().map(count).collect::<Vec<_>>()))
                .collect();
            for h in parts {
                let part = h.join().unwrap_or_else(|_| {
                    vec![Err(Error::io(
                        "cachestat",
                        None,
                        std::io::Error::other("a counting thread panicked"),
                    ))]
                });
                for r in part {
                    out.push(r?);
                }
            }
            Ok(out)
        })
    }

    /// [`along`](Pages::along) as page counts.
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((8, 1024))?; // a row: 2 pages
    /// a.pages(s![1, ..512])?.advise(ndmmap::Advice::PopulateWrite)?;
    /// let c = a.pages(..)?.counts_along(Axis(0))?;
    /// assert_eq!((c[1].resident, c[1].total), (1, 2));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn counts_along(&self, axis: Axis) -> Result<Vec<Residency>> {
        let es = self.elem_size;
        let counter = self.counter()?;
        if self.flat {
            // An element range: one index per element, in logical order.
            if axis.index() != 0 {
                return Err(Error::BadAxis {
                    axis: axis.index(),
                    ndim: 1,
                });
            }
            let mut out = Vec::new();
            for g in &self.geometry {
                g.for_each_offset(|off| {
                    out.push(counter.count(std::iter::once(off * es..off * es + es)))
                });
            }
            return Ok(out);
        }
        let g = &self.geometry[0];
        let (mut shape, mut strides) = (g.shape.clone(), g.strides.clone());
        let k = axis.index();
        if k >= shape.len() {
            return Err(Error::BadAxis {
                axis: k,
                ndim: shape.len(),
            });
        }
        // Every index along `axis` has the same shape: compute the byte runs of index 0 once
        // and shift them by the axis stride for index i.
        let n = shape.remove(k);
        let step = strides.remove(k) * es as isize;
        let mut runs0 = Vec::new();
        crate::layout::view_runs(g.offset * es, &shape, &strides, es, |r| runs0.push(r));
        Ok((0..n)
            .map(|i| {
                // Index i's runs are index 0's moved by i steps (negative for a reversed
                // axis); they lie within the array, so the sums cannot leave 0..nbytes.
                let shift = i as isize * step;
                let moved = |x: usize| (x as isize + shift) as usize;
                counter.count(runs0.iter().map(|r| moved(r.start)..moved(r.end)))
            })
            .collect())
    }
}

/// Counts resident pages of byte runs from prefix sums of residency bits.
struct Counter {
    lead: usize,
    ps: usize,
    /// The pages the sums stand for: `first..end`.
    first: usize,
    end: usize,
    /// `resident[p - first]`: selected pages before page `p` that are resident.
    resident: Vec<usize>,
    /// `selected[p - first]`: selected pages before page `p`, where pages were taken away
    /// ([`Pages::without`]); else every page a run touches is selected.
    selected: Option<Vec<usize>>,
}

impl Counter {
    /// Resident and total selected pages touched by increasing byte runs (relative to element
    /// 0), a page shared by two runs counted once. Allocation-free: it runs once per index of
    /// [`Pages::counts_along`].
    fn count(&self, runs: impl Iterator<Item = Range<usize>>) -> Residency {
        let mut acc = Residency::default();
        let mut counted_to = self.first; // pages before this one are counted
        for r in runs.filter(|r| !r.is_empty()) {
            let p = crate::layout::page_range(self.lead, self.ps, &r);
            let (start, end) = (p.start.max(counted_to), p.end.min(self.end));
            if end > start {
                let (a, b) = (start - self.first, end - self.first);
                acc.resident += self.resident[b] - self.resident[a];
                acc.total += match &self.selected {
                    Some(sel) => sel[b] - sel[a],
                    None => b - a,
                };
                counted_to = end;
            }
        }
        acc
    }
}

/// `out[i]`: the sum of `bits[..i]`.
fn prefix_sum(bits: &[u8]) -> Vec<usize> {
    let mut out = Vec::with_capacity(bits.len() + 1);
    out.push(0usize);
    let mut sum = 0;
    out.extend(bits.iter().map(|&b| {
        sum += b as usize;
        sum
    }));
    out
}

/// Whether the kernel shows this file's page cache to this process (see the module docs):
/// `cachestat` answers, or (before Linux 6.5) the process may write the file.
fn page_cache_visible(file: &std::fs::File) -> bool {
    match sys::cachestat(file, 0, 1) {
        Ok(_) => true,
        Err(e) if e.raw_os_error() == Some(sys::errno::EPERM) => false,
        Err(_) => sys::may_write(file),
    }
}

/// Drops a file's pages from the page cache (`posix_fadvise(DONTNEED)`): clean pages go at
/// once, dirty ones after writeback. Used to measure cold reads and by tests.
pub fn evict(file: &std::fs::File) -> Result<()> {
    sys::fadvise(file, 0, 0, sys::FileAdvice::DontNeed).map_err(|e| {
        if e.kind() == std::io::ErrorKind::Unsupported {
            Error::Unsupported {
                what: "evicting a file (no posix_fadvise on this OS)",
            }
        } else {
            Error::io("posix_fadvise", None, e)
        }
    })
}

/// Asks for random access on a file descriptor (`posix_fadvise(RANDOM)`): reads through it
/// then load only the pages asked for, with no readahead.
pub fn advise_random(file: &std::fs::File) -> Result<()> {
    sys::fadvise(file, 0, 0, sys::FileAdvice::Random)
        .map_err(|e| Error::io("posix_fadvise", None, e))
}

/// Asks the kernel to read a file range into the page cache (`posix_fadvise(WILLNEED)`).
pub fn prefetch_file(file: &std::fs::File, offset: u64, len: u64) -> Result<()> {
    sys::fadvise(file, offset, len, sys::FileAdvice::WillNeed)
        .map_err(|e| Error::io("posix_fadvise", None, e))
}
