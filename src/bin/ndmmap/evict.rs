//! `ndmmap evict`: drops an array, or a slice of it, from the page cache
//! (`posix_fadvise(DONTNEED)` over the selection's pages, in ascending order).

use crate::open::{self, Array, FileOpts};
use crate::out::{self, Batch, Res, UNKNOWN, count, known};
use ndmmap::Pages;

/// Why `evict` fails where the library answers `Unsupported`.
pub const EVICT_WHY: &str = "the OS offers no call to drop a file's cached pages";

pub fn run(o: &FileOpts, spec: Option<&str>) -> Res<()> {
    open::each_selection(o, spec, one)
}

fn one(b: &mut Batch, a: &Array, pages: &Pages<'_>) -> Res<()> {
    out::supported(pages.evict(), "evict", EVICT_WHY)?;
    let what = format!(
        "{}evicted {}",
        b.prefix(&a.path),
        count(pages.len(), "page")
    );
    match known(pages.residency())? {
        Some(r) => outln!(
            "{what}: {} still resident (dirty or mapped pages stay)",
            r.resident
        )?,
        None => outln!("{what}; resident count unknown: {UNKNOWN}")?,
    }
    Ok(())
}
