//! Which pages of an array are in RAM: `mincore` per page, counts per part, per slice along an
//! axis, and `cachestat(2)` counts of the file range.
//!
//! # Caveat
//! Since Linux 5.2, `mincore` on a file mapping reports page-cache residency only when the
//! process could write the file (owner, or write permission); otherwise it reports only the
//! pages this process has itself faulted in. `cachestat` has no such limit. Anonymous maps are
//! always reported exactly.

use crate::array::MmapArray;
use crate::error::{Error, Result};
use crate::layout;
use crate::memory::Part;
use crate::sys;
use bytemuck::Pod;
use ndarray::{Axis, Dimension, SliceInfoElem};
use std::ops::Range;
use std::os::fd::AsRawFd;

/// Resident and total pages of a part of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Residency {
    /// Pages in RAM.
    pub resident: usize,
    /// Pages the part touches.
    pub total: usize,
}

impl Residency {
    /// `resident / total`, 1.0 for a part with no pages.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.resident as f64 / self.total as f64
        }
    }
}

/// Where a [`CacheStat`]'s counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountSource {
    /// `cachestat(2)` (Linux 6.5+): all fields are filled.
    Cachestat,
    /// `mincore`, where cachestat is missing or refused: only `resident` is known.
    Mincore,
}

/// Page-cache state of the pages an array spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStat {
    /// Pages spanned.
    pub pages: usize,
    /// Pages in the page cache.
    pub resident: u64,
    /// Dirty pages (not yet written back).
    pub dirty: Option<u64>,
    /// Pages being written back.
    pub writeback: Option<u64>,
    /// Pages that were evicted from the cache.
    pub evicted: Option<u64>,
    /// Evicted pages that were recently in use.
    pub recently_evicted: Option<u64>,
    /// Where the counts come from.
    pub source: CountSource,
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// Raw residency of the pages of the array: one `bool` per page of
    /// [`page_span`](Self::page_span), the unaligned leading page included. Only the lowest
    /// bit of each byte `mincore` reports is read.
    pub fn mincore(&self) -> Result<Vec<bool>> {
        Ok(self.mincore_bits()?.into_iter().map(|b| b != 0).collect())
    }

    /// One byte per spanned page, 1 if resident, else 0. Large spans are split between
    /// threads: `mincore` is a page-by-page walk of the page cache in the kernel, and the
    /// walks of disjoint ranges run in parallel.
    pub(crate) fn mincore_bits(&self) -> Result<Vec<u8>> {
        const PAGES_PER_THREAD: usize = 1 << 16; // 256 MiB of 4 KiB pages
        let span = self.page_span();
        let base = self.backing.ptr() as usize - span.lead;
        let mut v = vec![0u8; span.page_count];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = threads.min(span.page_count / PAGES_PER_THREAD).max(1);
        let per = span.page_count.div_ceil(threads.max(1)).max(1);
        let ps = span.page_size;
        let io = |e| Error::io("mincore", self.path.as_deref(), e);
        if threads == 1 {
            if span.page_count > 0 {
                sys::os::mincore(base, span.span_bytes(), &mut v).map_err(io)?;
            }
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = v
                    .chunks_mut(per)
                    .enumerate()
                    .map(|(i, chunk)| {
                        scope.spawn(move || {
                            sys::os::mincore(base + i * per * ps, chunk.len() * ps, chunk)
                        })
                    })
                    .collect();
                handles.into_iter().try_for_each(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("mincore thread panicked")))
                })
            })
            .map_err(io)?;
        }
        for b in &mut v {
            *b &= 1;
        }
        Ok(v)
    }

    /// Residency of the pages spanned by an element range (flat indices in memory order): one
    /// `bool` per page from the range's first page to its last.
    pub fn mincore_range(&self, range: Range<usize>) -> Result<Vec<bool>> {
        let pages = self.page_indices(Part::Range(&range))?;
        let all = self.mincore()?;
        Ok(pages.into_iter().flat_map(|p| all[p].to_vec()).collect())
    }

    fn count(&self, part: Part<'_>) -> Result<Residency> {
        let pages = self.page_indices(part)?;
        let all = self.mincore_bits()?;
        Ok(pages.iter().fold(Residency::default(), |acc, p| Residency {
            resident: acc.resident + all[p.clone()].iter().map(|&b| b as usize).sum::<usize>(),
            total: acc.total + p.len(),
        }))
    }

    /// Resident and total pages of the whole array.
    pub fn residency(&self) -> Result<Residency> {
        self.count(Part::All)
    }

    /// Resident and total pages of an element range.
    pub fn residency_range(&self, range: Range<usize>) -> Result<Residency> {
        self.count(Part::Range(&range))
    }

    /// Resident and total pages of the pages a slice touches:
    /// `a.residency_slice(s![100..200, ..])`.
    pub fn residency_slice(&self, slice: impl AsRef<[SliceInfoElem]>) -> Result<Residency> {
        self.count(Part::Slice(slice.as_ref()))
    }

    /// For each index along `axis`, the fraction of the pages of that slice that are resident.
    ///
    /// One `mincore` pass covers the whole array; each slice's pages are then counted from a
    /// prefix sum. Along the outer axis of a C-order array each slice is one page range, so the
    /// cost is one pass over the pages; along other axes it grows with the number of
    /// contiguous runs.
    pub fn residency_along(&self, axis: Axis) -> Result<Vec<f64>> {
        Ok(self
            .residency_counts_along(axis)?
            .iter()
            .map(Residency::fraction)
            .collect())
    }

    /// [`residency_along`](Self::residency_along) as page counts.
    pub fn residency_counts_along(&self, axis: Axis) -> Result<Vec<Residency>> {
        self.residency_counts_along_slice(&[], axis)
    }

    /// Residency of each index along `axis` of a slice of the array (`axis` counts the axes of
    /// the slice, as numpy does after indexing): `a.residency_along_slice(s![100..200, ..], Axis(0))`.
    pub fn residency_along_slice(
        &self,
        slice: impl AsRef<[SliceInfoElem]>,
        axis: Axis,
    ) -> Result<Vec<f64>> {
        Ok(self
            .residency_counts_along_slice(slice.as_ref(), axis)?
            .iter()
            .map(Residency::fraction)
            .collect())
    }

    /// [`residency_along_slice`](Self::residency_along_slice) as page counts.
    pub fn residency_counts_along_slice(
        &self,
        slice: &[SliceInfoElem],
        axis: Axis,
    ) -> Result<Vec<Residency>> {
        layout::check_slice(self.shape(), slice)?;
        let es = size_of::<T>();
        let (shape, strides) = layout::shape_strides(&self.dim, &self.strides);
        let (off, mut shape, mut strides) = layout::slice_geometry(&shape, &strides, slice);
        let k = axis.index();
        if k >= shape.len() {
            return Err(Error::BadAxis {
                axis: k,
                ndim: shape.len(),
            });
        }
        let all = self.mincore_bits()?;
        let mut prefix = Vec::with_capacity(all.len() + 1);
        let mut sum = 0usize;
        prefix.push(0);
        prefix.extend(all.iter().map(|&b| {
            sum += b as usize;
            sum
        }));
        // Every slice along `axis` has the same shape: compute the byte runs of slice 0 once
        // and shift them by the axis stride for slice i.
        let n = shape.remove(k);
        let step = strides.remove(k) * es as isize;
        let base = off.max(0) as usize * es;
        let mut runs0 = Vec::new();
        layout::view_runs(0, &shape, &strides, es, |r| runs0.push(r));
        let span = self.page_span();
        Ok((0..n)
            .map(|i| {
                let shift = (base as isize + i as isize * step) as usize;
                count_pages(
                    span.lead,
                    span.page_size,
                    &prefix,
                    runs0.iter().map(|r| r.start + shift..r.end + shift),
                )
            })
            .collect())
    }

    /// Drops the array's pages from the page cache (`posix_fadvise(DONTNEED)` over its file
    /// range). Dirty pages are written back first by the kernel and stay until then; pages
    /// mapped by some process (this one included, once touched) stay too. Contents never
    /// change. Anonymous maps: [`Error::Unsupported`].
    pub fn evict(&self) -> Result<()> {
        self.evict_part(Part::All)
    }

    /// [`evict`](Self::evict) for the pages a slice touches.
    pub fn evict_slice(&self, slice: impl AsRef<[SliceInfoElem]>) -> Result<()> {
        self.evict_part(Part::Slice(slice.as_ref()))
    }

    fn evict_part(&self, part: Part<'_>) -> Result<()> {
        let file = self.file.as_ref().ok_or(Error::Unsupported {
            what: "evicting an anonymous map",
        })?;
        let span = self.page_span();
        let first = self.offset - span.lead as u64; // file offset of the first spanned page
        for p in self.page_indices(part)? {
            let off = first + (p.start * span.page_size) as u64;
            let len = (p.len() * span.page_size) as u64;
            sys::fadvise(file, off, len, sys::FileAdvice::DontNeed)
                .map_err(|e| Error::io("posix_fadvise", self.path.as_deref(), e))?;
        }
        Ok(())
    }

    /// Indices along `axis` whose slices are entirely resident.
    pub fn resident_slices(&self, axis: Axis) -> Result<Vec<usize>> {
        Ok(self
            .residency_counts_along(axis)?
            .iter()
            .enumerate()
            .filter(|(_, r)| r.resident == r.total)
            .map(|(i, _)| i)
            .collect())
    }

    /// The page (index into [`mincore`](Self::mincore)) that holds element `index` (flat, in
    /// memory order), or `None` past the end.
    pub fn element_page(&self, index: usize) -> Option<usize> {
        (index < self.len())
            .then(|| (self.page_span().lead + index * size_of::<T>()) / sys::page_size())
    }

    /// The elements (flat, in memory order) that lie at least partly on `page`.
    pub fn page_elements(&self, page: usize) -> Range<usize> {
        let span = self.page_span();
        let es = size_of::<T>();
        let lo = (page * span.page_size).saturating_sub(span.lead);
        let hi = ((page + 1) * span.page_size).saturating_sub(span.lead);
        (lo / es).min(self.len())..hi.div_ceil(es).min(self.len())
    }

    /// Page-cache counts of the pages the array spans, from `cachestat(2)` where the kernel has
    /// it (Linux 6.5+) and from `mincore` otherwise (anonymous maps, older kernels, `EPERM`).
    pub fn cachestat(&self) -> Result<CacheStat> {
        let span = self.page_span();
        if let Some(f) = &self.file
            && span.page_count > 0
        {
            let off = self.offset - span.lead as u64;
            match sys::os::cachestat(f.as_raw_fd(), off, span.span_bytes() as u64) {
                Ok(cs) => {
                    return Ok(CacheStat {
                        pages: span.page_count,
                        resident: cs.cache,
                        dirty: Some(cs.dirty),
                        writeback: Some(cs.writeback),
                        evicted: Some(cs.evicted),
                        recently_evicted: Some(cs.recently_evicted),
                        source: CountSource::Cachestat,
                    });
                }
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOSYS | libc::EPERM | libc::EOPNOTSUPP | libc::EBADF)
                    ) || e.kind() == std::io::ErrorKind::Unsupported => {}
                Err(e) => return Err(Error::io("cachestat", self.path.as_deref(), e)),
            }
        }
        let r = self.residency()?;
        Ok(CacheStat {
            pages: span.page_count,
            resident: r.resident as u64,
            dirty: None,
            writeback: None,
            evicted: None,
            recently_evicted: None,
            source: CountSource::Mincore,
        })
    }
}

/// Resident and total pages touched by increasing byte runs (relative to element 0, `lead`
/// bytes into the first page), a page shared by two runs counted once; `prefix[p]` is the
/// number of resident pages before page `p`.
fn count_pages(
    lead: usize,
    ps: usize,
    prefix: &[usize],
    runs: impl Iterator<Item = Range<usize>>,
) -> Residency {
    let mut acc = Residency::default();
    let mut last_end = 0; // pages before this are counted
    for r in runs.filter(|r| !r.is_empty()) {
        let first = ((lead + r.start) / ps).max(last_end);
        let end = (lead + r.end).div_ceil(ps);
        if end > first {
            acc.resident += prefix[end] - prefix[first];
            acc.total += end - first;
            last_end = end;
        }
    }
    acc
}

/// Drops a file's pages from the page cache (`posix_fadvise(DONTNEED)`): clean pages go at
/// once, dirty ones after writeback. Used to measure cold reads and by tests.
pub fn evict(file: &std::fs::File) -> Result<()> {
    sys::fadvise(file, 0, 0, sys::FileAdvice::DontNeed)
        .map_err(|e| Error::io("posix_fadvise", None, e))
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
