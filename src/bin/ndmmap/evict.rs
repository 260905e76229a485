//! `ndmmap evict`: drops an array, or a slice of it, from the page cache
//! (`posix_fadvise(DONTNEED)` over the selection's pages, in ascending order).

use crate::any_array::{UNKNOWN, known};
use crate::open::{self, FileOpts};
use crate::out::{self, Batch, Res, count};
use std::path::Path;

pub fn run(o: &FileOpts, spec: Option<&str>) -> Res<()> {
    let (_, batch) = out::each(&o.files, |b, path| one(b, path, o, spec))?;
    batch.finish()
}

fn one(b: &mut Batch, path: &Path, o: &FileOpts, spec: Option<&str>) -> Res<()> {
    let a = open::open(path, o)?;
    let elems = a.slice_elems(spec)?;
    let pages = a.pages(&elems)?;
    pages.evict()?;
    let what = format!("{}evicted {}", b.prefix(path), count(pages.len(), "page"));
    match known(pages.residency())? {
        Some(r) => outln!(
            "{what}: {} still resident (dirty or mapped pages stay)",
            r.resident
        )?,
        None => outln!("{what}; resident count unknown: {UNKNOWN}")?,
    }
    Ok(())
}
