//! Owned views through channels: a mapped dataset is turned into a `SharedArray`, cut into
//! blocks of rows that are sent to a pool of worker threads (each block an owned, `'static`
//! sub-view that keeps the mapping alive by itself), while the main thread drops its own
//! handle; the mapping goes away with the last block. Then a scratch array is filled by
//! disjoint writers through the raw-view escape hatch.
//!
//! ```sh
//! cargo run --release --example owned_views
//! ```

use ndarray::{Array1, Axis, Ix2, s};
use ndmmap::{Advice, MmapArray, MmapOptions, Mode, SharedArray};
use std::sync::mpsc;

const ROWS: usize = 100_000;
const COLS: usize = 16;
const BLOCK: usize = 10_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ndmmap-owned-views-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("dataset.f64");

    // A dataset on disk: row i holds i in every column.
    // SAFETY: the file is this program's alone while the arrays live.
    let mut w = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .map_path::<f64, Ix2, _>(&path, (ROWS, COLS))?
    };
    for (i, mut row) in w.view_mut()?.rows_mut().into_iter().enumerate() {
        row.fill(i as f64);
    }
    drop(w);

    // SAFETY: as above.
    let data = unsafe { MmapOptions::new().map_path::<f64, Ix2, _>(&path, (ROWS, COLS))? };
    let data: SharedArray<f64, Ix2> = data.into_shared();

    // A pool of workers that receive owned blocks of rows and send back column sums.
    let (work_tx, work_rx) = mpsc::channel::<(usize, SharedArray<f64, Ix2>)>();
    let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::channel::<(usize, Array1<f64>)>();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let rx = work_rx.clone();
            let tx = done_tx.clone();
            std::thread::spawn(move || {
                loop {
                    let job = rx.lock().unwrap().recv();
                    let Ok((first, block)) = job else { break };
                    // Prefetch this block's pages only, then read it.
                    block.pages(..).unwrap().advise(Advice::WillNeed).unwrap();
                    tx.send((first, block.view().sum_axis(Axis(0)))).unwrap();
                }
            })
        })
        .collect();
    drop(done_tx);
    for first in (0..ROWS).step_by(BLOCK) {
        work_tx.send((first, data.slice(s![first..first + BLOCK, ..])?))?;
    }
    println!(
        "sent {} blocks; {} handles share the mapping",
        ROWS / BLOCK,
        data.handles()
    );
    drop(data); // the blocks keep the mapping alive
    drop(work_tx);
    let mut sums = Array1::<f64>::zeros(COLS);
    for (first, s) in done_rx {
        sums += &s;
        println!("block at row {first:>6}: column 0 sums to {}", s[0]);
    }
    for w in workers {
        w.join().unwrap();
    }
    let expect = (ROWS * (ROWS - 1) / 2) as f64;
    assert!(sums.iter().all(|&s| s == expect));
    println!("column sums: {expect} each, as expected; the mapping is gone with the last block");

    // Disjoint writers: each thread fills its own rows of a shared scratch array.
    let scratch = MmapArray::<u32, Ix2>::anonymous((8, 1 << 16))?.into_shared();
    std::thread::scope(|scope| -> ndmmap::Result<()> {
        for r in 0..8 {
            let row = scratch.slice(s![r, ..])?;
            scope.spawn(move || {
                let raw = row.raw_view_mut().expect("anonymous maps are writable");
                // SAFETY: each thread writes only its own row and nobody reads meanwhile;
                // `row` keeps the mapping alive while the view is used.
                unsafe { raw.deref_into_view_mut() }.fill(r as u32);
            });
        }
        Ok(())
    })?;
    let per_row: Vec<u32> = scratch.view().rows().into_iter().map(|r| r[0]).collect();
    println!("scratch rows filled by 8 threads: {per_row:?}");
    assert_eq!(per_row, (0..8).collect::<Vec<u32>>());

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
