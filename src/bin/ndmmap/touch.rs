//! `ndmmap touch`: loads an array, or a slice of it, into the page cache.
//!
//! The library's [`Pages::touch_with`](ndmmap::Pages::touch_with) reads the selection's pages
//! in ascending order, whatever the slice's steps, a chunk at a time with the next chunk read
//! ahead; so `--slice ::-1` reads the file front to back like a plain touch, and a progress
//! bar (in bytes, with rate and time left) moves after each chunk.

use crate::args::Sel;
use crate::chart;
use crate::open::{self, Array};
use crate::out::{Batch, Res, UNKNOWN, count, known};
use serde_json::json;
use std::time::Instant;

pub fn run(s: &Sel) -> Res<()> {
    let spec = s.part.slice.as_deref();
    let (_, batch) = open::each_array(&s.file, None, |b, a| one(b, &a?, spec, s.json))?;
    if s.json {
        batch.end_json()?;
    }
    batch.finish()
}

/// Touches one array's selection; prints its line, or with `json` its object.
fn one(b: &mut Batch, a: &Array, spec: Option<&str>, json: bool) -> Res<()> {
    let (path, pages) = (&a.path, a.pages(&a.slice_elems(spec)?)?);
    let before = known(pages.residency())?;
    let ps = pages.span().page_size;
    let bytes = (pages.len() * ps) as u64;
    let t = Instant::now();
    let bar = chart::progress(bytes, format!("touching {}", path.display()));
    pages.touch_with(|n| {
        if let Some(p) = &bar {
            p.inc((n * ps) as u64);
        }
    })?;
    if let Some(p) = bar {
        p.finish_and_clear();
    }
    let elapsed = t.elapsed();
    let after = known(pages.residency())?;
    let mut v = a.describe();
    v.extend([
        ("touched_pages".into(), json!(pages.len())),
        ("touched_bytes".into(), json!(bytes)),
        ("seconds".into(), json!(elapsed.as_secs_f64())),
        ("resident_before".into(), json!(before.map(|r| r.resident))),
        ("resident_after".into(), json!(after.map(|r| r.resident))),
        (
            "residency_unknown".into(),
            json!(after.is_none().then_some(UNKNOWN)),
        ),
    ]);
    let what = format!(
        "{}touched {} ({}) in {elapsed:.2?}",
        b.prefix(path),
        count(pages.len(), "page"),
        chart::human(bytes)
    );
    match (before, after) {
        _ if json => b.json(v.into())?,
        (Some(x), Some(y)) => outln!(
            "{what}: resident {} -> {} of {}",
            x.resident,
            y.resident,
            y.total
        )?,
        _ => outln!("{what}; resident count unknown: {UNKNOWN}")?,
    }
    Ok(())
}
