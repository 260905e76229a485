//! A dataset whose row count changes: rows arrive in batches and the `.npy` file grows in place
//! to take them (header rewritten, file extended, map remapped, nothing copied); a bad batch
//! is dropped again by shrinking (the file truncated); numpy loads the file at every step. Then
//! a raw file with a footer after the array: shrinking keeps the footer, growing over it is
//! refused.
//!
//! `cargo run --example resize`

use ndarray::{Ix2, s};
use ndmmap::{MmapOptions, Mode, npy};
use std::path::Path;

const COLS: usize = 4;
const BATCH: usize = 25_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ndmmap-resize-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = npy_story(&dir.join("readings.npy")).and_then(|()| raw_story(&dir));
    std::fs::remove_dir_all(&dir)?;
    result
}

fn describe(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let h = npy::read_header(path)?;
    let len = std::fs::metadata(path)?.len();
    Ok(format!(
        "header says {} {:?}, file is {len} bytes",
        h.descr, h.shape
    ))
}

fn npy_story(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: the file is ours alone while the array lives.
    let mut a = unsafe { npy::create::<f64, Ix2, _>(path, (0, COLS))? };
    println!("created {}: {}", path.display(), describe(path)?);
    for batch in 0..4 {
        // A batch of readings arrives: make room for it, then write it in place.
        let start = a.shape()[0];
        a.resize(start + BATCH)?;
        let mut rows = a.view_mut()?;
        for i in start..start + BATCH {
            let t = i as f64;
            rows.row_mut(i)
                .assign(&ndarray::arr1(&[t, t.sin(), t.cos(), batch as f64]));
        }
        println!("batch {batch}: {} rows ({})", a.shape()[0], describe(path)?);
    }
    // The last batch turns out to be bad: drop it. The header is rewritten first, then the
    // map shrinks, then the file is truncated.
    a.resize(3 * BATCH)?;
    println!("dropped batch 3: {}", describe(path)?);
    let last = a.view().slice(s![-1, ..]).to_vec();
    a.msync(ndmmap::Flush::Sync)?;
    drop(a);
    println!("last row: {last:?}");
    let check = format!(
        "import numpy as np; a = np.load({:?}, mmap_mode='r'); \
         print('numpy sees', a.dtype, a.shape, 'last row', a[-1].tolist())",
        path.display().to_string()
    );
    match std::process::Command::new("python3")
        .args(["-c", &check])
        .output()
    {
        Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
        _ => println!("(python3 with numpy not found; it would run: python3 -c \"{check}\")"),
    }
    Ok(())
}

fn raw_story(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // A raw file: 1000 x 4 f64 followed by a 32-byte footer that is not part of the array.
    let path = dir.join("with_footer.bin");
    let mut bytes = vec![0u8; 1000 * COLS * 8];
    bytes.extend_from_slice(b"FOOTER: checksum and row count..");
    std::fs::write(&path, &bytes)?;
    // SAFETY: the file is ours alone while the array lives.
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .map_path::<f64, Ix2, _>(&path, (1000, COLS))?
    };
    a.resize(600)?;
    let kept = std::fs::read(&path)?.ends_with(b"checksum and row count..");
    println!(
        "raw file shrunk to {} rows: file still {} bytes, footer kept: {kept}",
        a.shape()[0],
        std::fs::metadata(&path)?.len()
    );
    match a.resize(2000) {
        Err(e) => println!("growing it: {e}"),
        Ok(()) => return Err("growth over the footer should be refused".into()),
    }
    Ok(())
}
