//! A raw dataset behind a header: write it through a read-write map, then map it read-only at
//! the handle's stream position, as a reader that parsed the header would, and reduce it.
//!
//! `cargo run --release --example dataset [ROWS]`

use ndarray::{Axis, Ix2};
use ndmmap::{Advice, MmapOptions, Mode};
use std::io::{Read, Write};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2_000_000);
    let dir = std::env::temp_dir().join(format!("ndmmap-dataset-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("points.bin");
    let result = run(&path, rows);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn run(path: &std::path::Path, rows: usize) -> Result<(), Box<dyn std::error::Error>> {
    // A 16-byte header: magic and the row count.
    let mut f = std::fs::File::create(path)?;
    f.write_all(b"PTS1\0\0\0\0")?;
    f.write_all(&(rows as u64).to_le_bytes())?;
    drop(f);

    let t = Instant::now();
    // SAFETY: the file is ours alone while the arrays live.
    let mut w = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(16)
            .map_path::<f64, Ix2, _>(path, (rows, 3))?
    };
    for (i, mut row) in w.view_mut()?.outer_iter_mut().enumerate() {
        row[0] = i as f64;
        row[1] = (i % 7) as f64;
        row[2] = 1.0;
    }
    w.msync(ndmmap::Flush::Sync)?;
    drop(w);
    println!(
        "wrote {rows} x 3 f64 ({} MiB) in {:.2?}",
        (rows * 24) >> 20,
        t.elapsed()
    );

    let mut f = std::fs::File::open(path)?;
    let mut header = [0u8; 16];
    f.read_exact(&mut header)?;
    let n = u64::from_le_bytes(header[8..].try_into()?) as usize;
    // SAFETY: as above.
    let a = unsafe { MmapOptions::new().map::<f64, Ix2, _>(&f, (n, 3))? };
    a.madvise(Advice::Sequential)?;
    let t = Instant::now();
    let sums = a.view().sum_axis(Axis(0));
    println!("column sums {sums} in {:.2?}", t.elapsed());
    println!(
        "resident pages: {}/{}",
        a.pages(..)?.residency()?.resident,
        a.page_span().page_count
    );
    Ok(())
}
