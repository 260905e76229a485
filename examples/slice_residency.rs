//! Which slices of an array are in RAM: evict a file, read a few rows, and print each row
//! block's residency, then prefetch a slice and look again.
//!
//! `cargo run --release --example slice_residency`

use ndarray::{Axis, Ix2, s};
use ndmmap::{Advice, MmapOptions, Mode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ndmmap-residency-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("grid.bin");
    let result = run(&path);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn run(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let (rows, cols) = (4096, 512); // 16 MiB of f64, one row per 4 KiB page
    {
        // SAFETY: the file is ours alone.
        let mut w = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .create(true)
                .map_path::<f64, Ix2, _>(path, (rows, cols))?
        };
        w.view_mut()?.fill(1.0);
        w.msync(ndmmap::Flush::Sync)?;
    }
    let f = std::fs::File::open(path)?;
    ndmmap::evict(&f)?;
    // SAFETY: as above.
    let a = unsafe { MmapOptions::new().map::<f64, Ix2, _>(&f, (rows, cols))? };
    a.madvise(Advice::Random)?;
    let touched: f64 = a.view().slice(s![1000..1100, ..]).sum();
    println!("touched rows 1000..1100 (sum {touched})");
    show(&a.pages(..)?.along(Axis(0))?);
    a.pages(s![3000..3500, ..])?.advise(Advice::WillNeed)?;
    std::thread::sleep(std::time::Duration::from_millis(100));
    println!("after pages(s![3000..3500, ..])?.advise(WillNeed):");
    show(&a.pages(..)?.along(Axis(0))?);
    println!(
        "fully resident rows: {}",
        a.pages(..)?.resident_along(Axis(0))?.len()
    );
    Ok(())
}

/// One character per block of 64 rows: ' ' none, '.' some, 'o' most, 'O' all resident.
fn show(rows: &[f64]) {
    let line: String = rows
        .chunks(64)
        .map(|c| {
            let f = c.iter().sum::<f64>() / c.len() as f64;
            if f == 0.0 {
                ' '
            } else if f < 0.5 {
                '.'
            } else if f < 1.0 {
                'o'
            } else {
                'O'
            }
        })
        .collect();
    println!("[{line}]");
}
