//! `ndmmap touch`: loads an array, or a slice of it, into the page cache.
//!
//! The library's [`Pages::touch_with`](ndmmap::Pages::touch_with) reads the selection's pages
//! in ascending order, whatever the slice's steps, a chunk at a time with the next chunk read
//! ahead; so `--slice ::-1` reads the file front to back like a plain touch, and a progress
//! bar (in bytes, with rate and time left) moves after each chunk.

use crate::chart;
use crate::open::{self, Array, FileOpts};
use crate::out::{Batch, Res, UNKNOWN, count, known};
use ndmmap::Pages;
use std::time::Instant;

pub fn run(o: &FileOpts, spec: Option<&str>) -> Res<()> {
    open::each_selection(o, spec, one)
}

fn one(b: &mut Batch, a: &Array, pages: &Pages<'_>) -> Res<()> {
    let path = &a.path;
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
    let what = format!(
        "{}touched {} ({}) in {elapsed:.2?}",
        b.prefix(path),
        count(pages.len(), "page"),
        chart::human(bytes)
    );
    match (before, after) {
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
