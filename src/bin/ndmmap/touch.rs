//! `ndmmap touch`: loads an array, or a slice of it, into the page cache.
//!
//! The selection's pages are visited in ascending order (the runs of
//! [`Pages::ranges`](ndmmap::Pages::ranges)), whatever the slice's steps, a chunk at a time:
//! the kernel is asked to read the next chunk (`posix_fadvise(WILLNEED)`) while one byte of
//! each page of this one is read, which faults it in. So `--slice ::-1` reads the file front to
//! back like a plain touch, and a progress bar (in bytes, with rate and time left) can move.

use crate::chart;
use crate::open::{self, Array, FileOpts};
use crate::out::{Batch, Res, UNKNOWN, count, known};
use ndmmap::Pages;
use std::ops::Range;
use std::time::Instant;

/// Pages per chunk: 4 MiB of 4 KiB pages.
const CHUNK: usize = 1024;

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
    load(a, pages.ranges(), |n| {
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

/// Groups ascending page runs into chunks of at most `max` pages (a long run is split).
fn chunks(ranges: &[Range<usize>], max: usize) -> Vec<Vec<Range<usize>>> {
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

/// Faults in the pages `ranges` (ascending page indices of `a`'s span), a chunk at a time,
/// the next chunk read ahead by the kernel meanwhile; `done(n)` after each chunk of `n` pages.
fn load(a: &Array, ranges: &[Range<usize>], mut done: impl FnMut(usize)) -> Res<()> {
    let a = &a.a;
    let span = a.page_span();
    let (ps, lead) = (span.page_size, span.lead);
    // The file offset of page 0 of the span.
    let base = a.offset() - lead as u64;
    let prefetch = |chunk: &[Range<usize>]| {
        if let Some(f) = a.file() {
            for r in chunk {
                // Only a hint: a failure leaves the reads below to fault the pages in.
                let _ =
                    ndmmap::prefetch_file(f, base + (r.start * ps) as u64, (r.len() * ps) as u64);
            }
        }
    };
    let chunks = chunks(ranges, CHUNK);
    if let Some(c) = chunks.first() {
        prefetch(c);
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if let Some(next) = chunks.get(i + 1) {
            prefetch(next);
        }
        // Reading faults the pages in; a file truncated meanwhile is an error, not SIGBUS.
        let sum = a.guarded_bytes(|bytes| {
            let mut sum = 0u8;
            for r in chunk {
                for p in r.clone() {
                    // A byte of page p inside the array: its first, or element 0's on page 0.
                    if let Some(&x) = bytes.get((p * ps).saturating_sub(lead)) {
                        sum ^= std::hint::black_box(x);
                    }
                }
            }
            sum
        })?;
        std::hint::black_box(sum);
        done(chunk.iter().map(Range::len).sum());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_split_runs_and_keep_order() {
        assert_eq!(
            chunks(&[0..5, 7..8, 10..13], 3),
            vec![vec![0..3], vec![3..5, 7..8], vec![10..13]]
        );
        assert_eq!(chunks(&[], 3), Vec::<Vec<std::ops::Range<usize>>>::new());
        let one = std::iter::once(0..2).collect::<Vec<_>>();
        assert_eq!(chunks(&one, 3), vec![one]);
    }
}
