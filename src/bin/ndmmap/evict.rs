//! `ndmmap evict`: drops an array, or a slice of it, from the page cache, and says what left
//! and why the rest stayed: the library's [`Pages::evict_report`](ndmmap::Pages::evict_report)
//! (`posix_fadvise(DONTNEED)` over the selection's pages; with `--sync`, `fdatasync` first).

use crate::args::Sel;
use crate::open;
use crate::out::{self, Res, UNKNOWN};
use ndmmap::Dirty;
use serde_json::{Value, json};

/// Why `evict` fails where the library answers `Unsupported`.
pub const EVICT_WHY: &str = "the OS offers no call to drop a file's cached pages";

pub fn run(s: &Sel, sync: bool) -> Res<()> {
    let how = if sync { Dirty::WriteBack } else { Dirty::Stay };
    let (_, batch) = open::each_array(&s.file, None, |b, a| {
        let a = a?;
        let pages = a.pages(&a.slice_elems(s.part.slice.as_deref())?)?;
        let e = out::supported(pages.evict_report(how), "evict", EVICT_WHY)?;
        let why = match (e.after, e.dirty.unwrap_or(0) + e.writeback.unwrap_or(0)) {
            (None, _) => format!(": {UNKNOWN}"),
            (_, 1..) if !sync => "; evict --sync waits for them to be written back first".into(),
            _ => String::new(),
        };
        if !s.json {
            outln!("{}{e}{why}", b.prefix(&a.path))?;
        }
        let mut v = a.describe();
        if let Value::Object(m) = serde_json::to_value(e)? {
            v.extend(m);
        }
        v.insert(
            "residency_unknown".into(),
            json!(e.after.is_none().then_some(UNKNOWN)),
        );
        if s.json {
            b.json(v.into())?;
        }
        Ok(())
    })?;
    if s.json {
        batch.end_json()?;
    }
    batch.finish()
}
