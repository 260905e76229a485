//! Eviction that says what it achieved: [`Pages::evict_report`] drops the selected pages from
//! the page cache, writing dirty pages back first if asked ([`Dirty`]), and answers
//! [`Evicted`]: how many pages left, how many stayed, and why.

use crate::error::{Error, Result};
use crate::pages::Pages;
use crate::residency::CacheStat;

/// What [`Pages::evict_report`] does with dirty pages (written but not yet on disk), which the
/// kernel keeps in the page cache until they are written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dirty {
    /// Leave them to the kernel, which starts writing them back: they stay this time.
    #[default]
    Stay,
    /// Write the file's data back first and wait for it (`fdatasync`, the whole file's), so
    /// that dirty pages can leave too.
    WriteBack,
}

/// What [`Pages::evict_report`] achieved: the selection's resident pages before and after, how
/// many left, and why the others stayed. A count the kernel hides from this process
/// ([`Error::ResidencyUnknown`]) is `None`, and so are the dirty and writeback counts where
/// `cachestat(2)` is missing (kernels before 6.5, other OSes, copy-on-write maps).
///
/// # Why pages stay
/// `posix_fadvise(DONTNEED)` drops only clean pages that no process maps. It starts writing
/// dirty pages back but does not wait, so on a freshly written file every page stays: the
/// dirty ones and those under writeback, which `cachestat(2)` (Linux 6.5+) counts. The others
/// that stay are mapped into some process's page tables (a process that read them through its
/// map, this one included) or locked there (`mlock`): no call tells those two apart for
/// another process's maps, so [`in_use`](Evicted::in_use) counts both. A selection that
/// leaves out some of the file's pages ([`partial`](Evicted::partial): a slice) can also keep
/// pages at its ends: the kernel caches a file in folios of up to 2 MiB (large folios) and
/// drops only whole ones, so a folio that reaches past the selection stays, clean and
/// unmapped; these count in `in_use` too. Evicting the whole file drops them.
///
/// With the feature `serde`, it serializes with the keys `ndmmap evict --json` prints:
/// `selected_pages`, `written_back`, `resident_before`, `resident_after`, `evicted_pages`,
/// `dirty_pages`, `writeback_pages` and `mapped_or_locked_pages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Evicted {
    /// Pages selected.
    #[cfg_attr(feature = "serde", serde(rename = "selected_pages"))]
    pub selected: usize,
    /// Whether the file's dirty pages were written back first ([`Dirty::WriteBack`]).
    pub written_back: bool,
    /// Selected pages in the page cache before.
    #[cfg_attr(feature = "serde", serde(rename = "resident_before"))]
    pub before: Option<u64>,
    /// Selected pages in the page cache after.
    #[cfg_attr(feature = "serde", serde(rename = "resident_after"))]
    pub after: Option<u64>,
    /// Pages that left the cache: `before - after` (0 if others came in meanwhile).
    #[cfg_attr(feature = "serde", serde(rename = "evicted_pages"))]
    pub evicted: Option<u64>,
    /// Of the pages that stayed, those dirty: not yet written back.
    #[cfg_attr(feature = "serde", serde(rename = "dirty_pages"))]
    pub dirty: Option<u64>,
    /// Of the pages that stayed, those being written back.
    #[cfg_attr(feature = "serde", serde(rename = "writeback_pages"))]
    pub writeback: Option<u64>,
    /// Of the pages that stayed, those neither dirty nor under writeback: mapped into some
    /// process's page tables or locked by some process (or read again meanwhile), or, for a
    /// [`partial`](Self::partial) selection, in a large folio that reaches past it.
    #[cfg_attr(feature = "serde", serde(rename = "mapped_or_locked_pages"))]
    pub in_use: Option<u64>,
    /// The selection leaves out some of the file's pages (a slice, or an array that shares
    /// its file): pages at its ends may stay in folios that reach past it (see [`Evicted`]).
    /// `false` for an empty selection, which has no ends.
    #[cfg_attr(feature = "serde", serde(rename = "partial_selection"))]
    pub partial: bool,
}

impl Pages<'_> {
    /// Drops the selected pages from the page cache as [`evict`](Pages::evict) does, and
    /// says what that achieved ([`Evicted`]): resident pages before and after, and of those
    /// that stayed, how many are dirty, under writeback, or mapped or locked by some process
    /// (see [`Evicted`]). With [`Dirty::WriteBack`] the file's data is
    /// written back first (`fdatasync`), so dirty pages can leave too.
    ///
    /// Counts the kernel hides from this process are `None`; the pages are evicted all the
    /// same. Anonymous maps, and OSes with no call to evict: [`Error::Unsupported`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("p.bin");
    /// # std::fs::write(&path, vec![1u8; 16 * 4096])?;
    /// use ndmmap::Dirty;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path_1d::<u8>(&path)? };
    /// # if cfg!(unix) {
    /// let e = a.pages(..)?.evict_report(Dirty::WriteBack)?;
    /// assert!(e.written_back);
    /// assert_eq!(e.after, Some(0)); // clean, unmapped pages all leave
    /// # }
    /// # Ok(()) }
    /// ```
    pub fn evict_report(&self, dirty: Dirty) -> Result<Evicted> {
        let before = self.counts()?;
        let written_back = dirty == Dirty::WriteBack;
        if written_back && let Some(file) = self.map.file() {
            file.sync_data()
                .map_err(|e| self.map.io_error("fdatasync", e))?;
        }
        self.evict()?;
        let after = self.counts()?;
        let stayed = after.map(|c| c.resident);
        let known = |f: fn(&CacheStat) -> Option<u64>| after.as_ref().and_then(f);
        let (dirty, writeback) = (known(|c| c.dirty), known(|c| c.writeback));
        let in_use = match (stayed, dirty, writeback) {
            (Some(s), Some(d), Some(w)) => Some(s.saturating_sub(d).saturating_sub(w)),
            _ => None,
        };
        Ok(Evicted {
            selected: self.len(),
            written_back,
            before: before.map(|c| c.resident),
            after: stayed,
            evicted: before
                .zip(stayed)
                .map(|(b, a)| b.resident.saturating_sub(a)),
            dirty,
            writeback,
            in_use,
            partial: self.leaves_out_file_pages(),
        })
    }

    /// Whether the selection leaves out some page of the file: it is not one run from the
    /// file's first page to its last. Unknown file length (no file): `true`. An empty
    /// selection (an array of shape `[0, 3]`): `false`, as no page it holds could stay in a
    /// folio that reaches past it.
    fn leaves_out_file_pages(&self) -> bool {
        if self.is_empty() {
            return false;
        }
        let span = self.span();
        let ps = span.page_size.max(1) as u64;
        let first = self.map.offset().saturating_sub(span.lead as u64) / ps;
        let len = self
            .map
            .file()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.len());
        match (len, self.ranges.as_slice()) {
            (Some(len), [r]) => {
                first + r.start as u64 > 0 || first + (r.end as u64) < len.div_ceil(ps)
            }
            _ => true,
        }
    }

    /// The selection's page-cache counts, `None` where the kernel hides them.
    fn counts(&self) -> Result<Option<CacheStat>> {
        match self.cachestat() {
            Ok(c) => Ok(Some(c)),
            Err(Error::ResidencyUnknown { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// In words, what left and why the rest stayed: `evicted 0 of 1954 pages: 1954 still
/// resident: 1950 dirty (not yet written back), 4 under writeback`; `evicted up to 17 pages;
/// resident count unknown` where the kernel hides the counts.
impl std::fmt::Display for Evicted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.selected;
        let pages = if n == 1 { "page" } else { "pages" };
        let (Some(evicted), Some(after)) = (self.evicted, self.after) else {
            return write!(f, "evicted up to {n} {pages}; resident count unknown");
        };
        write!(
            f,
            "evicted {evicted} of {n} {pages}: {after} still resident"
        )?;
        if after == 0 {
            return Ok(());
        }
        let (Some(d), Some(w), Some(u)) = (self.dirty, self.writeback, self.in_use) else {
            return f.write_str(
                ": dirty, under writeback, mapped or locked (cachestat, Linux 6.5+, tells which)",
            );
        };
        let dirty = if self.written_back {
            "dirty (written again since the write-back)"
        } else {
            "dirty (not yet written back)"
        };
        let in_use_why = if self.partial {
            "mapped or locked by some process, or in a large folio that reaches past the \
             selection (the kernel drops whole folios: evict the whole file to drop them)"
        } else {
            "mapped or locked by some process"
        };
        let why = [(d, dirty), (w, "under writeback"), (u, in_use_why)];
        let mut sep = ": ";
        for (k, what) in why.into_iter().filter(|&(k, _)| k > 0) {
            write!(f, "{sep}{k} {what}")?;
            sep = ", ";
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::MmapOptions;

    /// An empty selection leaves nothing out that could stay in a folio reaching past it.
    #[test]
    fn an_empty_selection_is_not_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.bin");
        std::fs::write(&path, vec![1u8; 4 * 4096]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: the file is this test's alone while `a` and `whole` live.
        let a = unsafe {
            MmapOptions::new()
                .map::<f64, ndarray::Ix2, _>(&file, (0, 3))
                .unwrap()
        };
        let p = a.pages(..).unwrap();
        assert!(p.is_empty());
        let e = p.evict_report(Dirty::Stay).unwrap();
        assert_eq!((e.selected, e.partial), (0, false), "{e:?}");
        // A selection of some of the file's pages is still partial; all of them is not.
        // SAFETY: as above.
        let whole = unsafe { MmapOptions::new().map_path_1d::<u8>(&path).unwrap() };
        assert!(
            whole
                .pages(0..4096)
                .unwrap()
                .evict_report(Dirty::Stay)
                .unwrap()
                .partial
        );
        assert!(
            !whole
                .pages(..)
                .unwrap()
                .evict_report(Dirty::Stay)
                .unwrap()
                .partial
        );
    }
}
