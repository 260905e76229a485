//! `ndmmap lock`: locks arrays, or slices of them, in RAM until interrupted, as `vmtouch -l`.

use crate::args::Sel;
use crate::chart;
use crate::open;
use crate::out::{self, Res, count};
use crate::signal;
use serde_json::json;

/// Locks each array's selection, says so, waits for an interruption, unlocks and says so. With
/// `--json`, both times one object per array (an array of them for several) on stdout, with
/// `"event": "locked"` then `"released"`; else lines on stderr.
pub fn run(s: &Sel) -> Res<()> {
    signal::catch().map_err(|e| format!("cannot catch interruption (Ctrl-C): {e}"))?;
    let (arrays, batch) = open::each_array(&s.file, None, |_, a| {
        let a = a?;
        let elems = a.slice_elems(s.part.slice.as_deref())?;
        let pages = a.pages(&elems)?;
        pages.reserve_lock()?;
        out::supported(
            pages.lock(ndmmap::Lock::Now),
            "lock",
            "the OS offers no call to lock pages in RAM",
        )?;
        Ok((a, elems))
    })?;
    if arrays.is_empty() {
        return batch.finish();
    }
    let tell = |event: &str| -> Res<()> {
        let mut values = vec![];
        for (a, e) in &arrays {
            let p = a.pages(e)?;
            let bytes = (p.len() * p.span().page_size) as u64;
            let mut v = a.describe();
            v.insert("event".into(), json!(event));
            v.insert("locked_pages".into(), json!(p.len()));
            v.insert("locked_bytes".into(), json!(bytes));
            values.push(v.into());
            if !s.json && event == "locked" {
                let (n, b) = (count(p.len(), "page"), chart::human(bytes));
                let end = (arrays.len() == 1).then_some("; press Ctrl-C to release");
                let path = a.path.display();
                note!("locked {n} ({b}) of {path}{}", end.unwrap_or_default());
            }
        }
        match () {
            _ if s.json => out::json(values, batch.several)?,
            _ if event == "released" => note!("released"),
            _ if arrays.len() > 1 => note!("press Ctrl-C to release"),
            _ => {}
        }
        Ok(())
    };
    tell("locked")?;
    signal::wait();
    for (a, e) in &arrays {
        a.pages(e)?.unlock()?;
    }
    tell("released")?;
    batch.finish()
}
