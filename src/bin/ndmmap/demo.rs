//! `ndmmap demo`: a dataset made, evicted, partly touched and reduced cold and hot, in a
//! temporary directory that is removed afterwards.

use crate::chart;
use crate::evict::EVICT_WHY;
use crate::out::SCOPE;
use crate::out::{self, NotHere, Res, count};
use ndarray::{Axis, Ix2, s};
use ndmmap::chart as draw;
use ndmmap::{Advice, Flush, MmapArray, npy};
use std::path::Path;
use std::time::Instant;

pub fn run(mib: usize) -> Res<()> {
    // Removed however the demo ends.
    let dir = tempfile::Builder::new().prefix("ndmmap-demo-").tempdir()?;
    let path = dir.path().join("dataset.npy");
    let cols = 512;
    let rows = mib
        .max(1)
        .checked_mul(1 << 20)
        .ok_or(format!("--mib {mib} is too large"))?
        / (cols * 8);
    let width = ndmmap::chart::terminal_width();

    let t = Instant::now();
    let mut w = create(&path, rows, cols)?;
    // Guarded: a file truncated meanwhile is an error, not a SIGBUS.
    w.guarded_mut(|mut v| {
        for (i, mut row) in v.outer_iter_mut().enumerate() {
            row.fill(i as f64);
        }
    })?;
    w.msync(Flush::Sync)?;
    drop(w);
    outln!(
        "created {} : {rows} x {cols} f64 ({}) in {:.2?}",
        path.display(),
        chart::human((rows * cols * 8) as u64),
        t.elapsed()
    )?;

    // SAFETY: as above.
    let a = unsafe { npy::open::<f64, Ix2>(&path)? };
    let evicted = out::optional(a.pages(..)?.evict())?.is_some();
    let span = a.page_span();
    outln!(
        "dtype <f8, shape {:?}, order {:?}, data at byte {}, {} of {}",
        a.shape(),
        a.order(),
        a.offset(),
        count(span.page_count, "page"),
        count(span.page_size, "byte")
    )?;
    if let Some(scope) = SCOPE {
        outln!("{scope}")?;
    }
    if evicted {
        show("after eviction", &a, width)?;
    } else {
        let why = NotHere {
            what: "evict",
            why: EVICT_WHY,
        };
        outln!("eviction skipped ({why})")?;
        show("as mapped", &a, width)?;
    }

    let (s1, s2) = (rows / 10..rows / 4, rows * 3 / 5..rows * 2 / 3);
    let advised = out::optional(a.pages(s![s1.clone(), ..])?.advise(Advice::WillNeed))?;
    let x: f64 = a.view().slice(s![s2.clone(), ..]).sum();
    std::hint::black_box(x);
    std::thread::sleep(std::time::Duration::from_millis(200)); // let the readahead land
    match advised {
        Some(()) => outln!(
            "\nmadvise(WillNeed) on rows {s1:?}, summed rows {s2:?}{}:",
            WILLNEED_NOTE.unwrap_or_default()
        )?,
        None => outln!(
            "\nsummed rows {s2:?} (madvise(WillNeed) on rows {s1:?} skipped: not supported on {}):",
            out::os_name()
        )?,
    }
    show("", &a, width)?;

    if evicted {
        a.pages(..)?.evict()?;
    }
    let t = Instant::now();
    let cold = a.view().sum_axis(Axis(0)).sum();
    let cold_t = t.elapsed();
    let t = Instant::now();
    let hot = a.view().sum_axis(Axis(0)).sum();
    let hot_t = t.elapsed();
    assert_eq!(cold, hot);
    let (first, second) = if evicted {
        ("cold (from disk)", "hot (page cache)")
    } else {
        ("first pass (not evicted)", "second pass")
    };
    outln!(
        "\nsum of all elements = {cold:e}: {first} {cold_t:.2?}, {second} {hot_t:.2?}, {:.1}x",
        cold_t.as_secs_f64() / hot_t.as_secs_f64().max(1e-9)
    )?;
    stats_line(&path)?;
    show("after the reductions", &a, width)?;
    let cs = out::optional(a.pages(..)?.cachestat())?;
    if let Some(ndmmap::CacheStat {
        resident,
        dirty: Some(d),
        evicted: Some(e),
        ..
    }) = cs
    {
        outln!("cachestat: {resident} resident, {d} dirty, {e} evicted pages")?;
    }
    outln!("\nremoved {}", dir.path().display())?;
    Ok(())
}

/// The dataset, its blocks allocated now (`fallocate`): a small or full temporary directory is
/// one clear error here, not a `SIGBUS` on a write into the map.
fn create(path: &Path, rows: usize, cols: usize) -> Res<MmapArray<f64, Ix2>> {
    // SAFETY: the demo's file lives in its own directory; nothing else touches it.
    let made = unsafe {
        npy::OpenOptions::new()
            .preallocate(true)
            .create::<f64, Ix2, _>(path, (rows, cols))
    };
    match made {
        Err(e @ ndmmap::Error::NoSpace { .. }) => Err(format!(
            "{e} (the demo's files go in the temporary directory: set TMPDIR, or pass a \
             smaller --mib)"
        )
        .into()),
        made => Ok(made?),
    }
}

/// What the chart after `WillNeed` shows, where that is not the advised rows.
#[cfg(windows)]
const WILLNEED_NOTE: Option<&str> =
    Some(" (PrefetchVirtualMemory reads them into RAM, not into the working set)");
#[cfg(not(windows))]
const WILLNEED_NOTE: Option<&str> = None;

/// `ndmmap stats` on the dataset, in one line: one streaming pass, in bounded memory, on
/// every core (the library's [`ndmmap::stats::Stats`]).
fn stats_line(path: &std::path::Path) -> Res<()> {
    // SAFETY: the demo's own file, which nothing else writes while it runs.
    let a = unsafe { npy::open::<f64, Ix2>(path)? };
    let started = std::time::Instant::now();
    let m = ndmmap::stats::Stats::along(0).of(&a)?;
    let elapsed = started.elapsed();
    let (mean, std, min, max) = (m.mean(), m.std(0.0), m.min(), m.max());
    let cols = mean.len();
    let alike =
        (1..cols).all(|i| (mean[i], std[i], min[i], max[i]) == (mean[0], std[0], min[0], max[0]));
    let which = if alike {
        format!("all {cols} columns")
    } else {
        format!("column 0 of {cols}")
    };
    let first = |v: &ndarray::ArrayD<f64>| v.iter().next().copied().unwrap_or(f64::NAN);
    let text = |v: &ndarray::ArrayD<Option<ndmmap::stats::Value>>| {
        ndmmap::stats::format_value(v.iter().next().copied().flatten())
    };
    outln!(
        "stats along axis 0, one streaming pass over {} in {elapsed:.2?}: {which}: count {}, mean {}, std {}, min {}, max {}",
        chart::human(a.nbytes() as u64),
        a.shape()[0],
        ndmmap::stats::format_g(first(&mean)),
        ndmmap::stats::format_g(first(&std)),
        text(&min),
        text(&max),
    )?;
    Ok(())
}

/// The residency chart of the rows ([`ndmmap::chart`]; each column one stretch of memory, so
/// one `cachestat` call per column), with its index scale.
fn show(what: &str, a: &ndmmap::MmapArray<f64, Ix2>, width: usize) -> Res<()> {
    let rows = a.shape()[0];
    let pages = a.pages(..)?;
    let columns = draw::columns(rows, width);
    let fractions = draw::fractions(&pages, Axis(0), &columns)?;
    let r = pages.residency()?;
    if !what.is_empty() {
        outln!("\nresidency per row, {what}:")?;
    }
    outln!("{}", draw::bar(&fractions))?;
    let last = rows.saturating_sub(1).to_string();
    outln!("{}", draw::scale("0", &last, columns.len()))?;
    outln!("{}", draw::summary(rows, r, "row"))?;
    Ok(())
}
