//! `ndmmap demo`: a dataset made, evicted, partly touched and reduced cold and hot, in a
//! temporary directory that is removed afterwards.

use crate::chart;
use ndarray::{Axis, Ix2, s};
use ndmmap::{Advice, npy};
use std::path::PathBuf;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Removes the demo's directory however the demo ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(mib: usize) -> Res<()> {
    let dir = TempDir(std::env::temp_dir().join(format!("ndmmap-demo-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0)?;
    let path = dir.0.join("dataset.npy");
    let cols = 512;
    let rows = mib
        .max(1)
        .checked_mul(1 << 20)
        .ok_or(format!("--mib {mib} is too large"))?
        / (cols * 8);
    let width = chart::width();

    let t = Instant::now();
    // SAFETY: the demo's file lives in its own directory; nothing else touches it.
    let mut w = unsafe { npy::create::<f64, Ix2, _>(&path, (rows, cols))? };
    for (i, mut row) in w.view_mut()?.outer_iter_mut().enumerate() {
        row.fill(i as f64);
    }
    w.msync(ndmmap::Sync::Sync)?;
    drop(w);
    outln!(
        "created {} : {rows} x {cols} f64 ({}) in {:.2?}",
        path.display(),
        chart::human((rows * cols * 8) as u64),
        t.elapsed()
    )?;

    // SAFETY: as above.
    let a = unsafe { npy::open::<f64, Ix2>(&path)? };
    a.evict()?;
    let span = a.page_span();
    outln!(
        "dtype <f8, shape {:?}, order {:?}, data at byte {}, {} pages of {} bytes",
        a.shape(),
        a.order(),
        a.offset(),
        span.page_count,
        span.page_size
    )?;
    show("after eviction", &a, width)?;

    let (s1, s2) = (rows / 10..rows / 4, rows * 3 / 5..rows * 2 / 3);
    a.madvise_slice(Advice::WillNeed, s![s1.clone(), ..])?;
    let x: f64 = a.view().slice(s![s2.clone(), ..]).sum();
    std::hint::black_box(x);
    std::thread::sleep(std::time::Duration::from_millis(200)); // let the readahead land
    outln!("\nmadvise(WillNeed) on rows {s1:?}, summed rows {s2:?}:")?;
    show("", &a, width)?;

    a.evict()?;
    let t = Instant::now();
    let cold = a.view().sum_axis(Axis(0)).sum();
    let cold_t = t.elapsed();
    let t = Instant::now();
    let hot = a.view().sum_axis(Axis(0)).sum();
    let hot_t = t.elapsed();
    assert_eq!(cold, hot);
    outln!(
        "\nsum of all elements = {cold:e}: cold (from disk) {cold_t:.2?}, hot (page cache) {hot_t:.2?}, {:.1}x",
        cold_t.as_secs_f64() / hot_t.as_secs_f64().max(1e-9)
    )?;
    show("after the reductions", &a, width)?;
    let cs = a.cachestat()?;
    if let (Some(d), Some(e)) = (cs.dirty, cs.evicted) {
        outln!(
            "cachestat: {} resident, {d} dirty, {e} evicted pages",
            cs.resident
        )?;
    }
    outln!("\nremoved {}", dir.0.display())?;
    Ok(())
}

fn show(what: &str, a: &ndmmap::MmapArray<f64, Ix2>, width: usize) -> Res<()> {
    let rows = a.residency_along(Axis(0))?;
    let r = a.residency()?;
    if !what.is_empty() {
        outln!("\nresidency per row, {what}:")?;
    }
    outln!("{}", chart::bar(&rows, width))?;
    outln!(
        "{}/{} pages resident ({:.1}%)",
        r.resident,
        r.total,
        100.0 * r.fraction()
    )?;
    Ok(())
}
