//! A "model" of a few layers in one `.npz` archive: written with `NpzWriter` (every member's
//! data 64-byte aligned, so each maps as plain `f32`), listed with dtype, shape, data offset,
//! alignment and residency, then one layer mapped, prefetched, and the residency shown again.
//!
//! ```text
//! cargo run --example npz_models --features npz [-- ARCHIVE.npz [LAYER]]
//! ```
//!
//! Given an archive (one `np.savez` wrote, say), it lists and prefetches that instead; its
//! members may then need `Unaligned<T>`, which `map_any` picks by itself.

use ndarray::{Array1, Array2};
use ndmmap::npz::{Npz, NpzWriter};
use ndmmap::{Advice, AnyArray};
use std::path::PathBuf;

fn list(npz: &Npz) -> Result<(), Box<dyn std::error::Error>> {
    let resident = npz.residency()?;
    println!(
        "{:<12} {:>6} {:>14} {:>12} {:>6} {:>10}  problem",
        "member", "dtype", "shape", "data offset", "align", "resident"
    );
    for (m, (_, r)) in npz.members().iter().zip(&resident) {
        println!(
            "{:<12} {:>6} {:>14} {:>12} {:>6} {:>9.0}%  {}",
            m.name,
            m.descr.as_deref().unwrap_or("?"),
            m.shape.as_ref().map_or("?".into(), |s| format!("{s:?}")),
            m.data_offset,
            m.alignment(),
            100.0 * r.fraction(),
            m.problem.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let _dir;
    let (path, layer) = match args.next() {
        Some(p) => (PathBuf::from(p), args.next()),
        None => {
            _dir = tempfile_dir()?;
            let path = _dir.join("model.npz");
            let (d, h) = (512, 2048);
            let w1 = Array2::<f32>::from_shape_fn((d, h), |(i, j)| ((i + j) % 7) as f32 * 0.01);
            let w2 = Array2::<f32>::from_shape_fn((h, d), |(i, j)| ((i * j) % 5) as f32 * 0.02);
            NpzWriter::create(&path)?
                .add("embed", &Array2::<f32>::ones((1000, d)))?
                .add("w1", &w1)?
                .add("b1", &Array1::<f32>::zeros(h))?
                .add("w2", &w2)?
                .add("b2", &Array1::<f32>::zeros(d))?
                .finish()?;
            (path, Some("w1".to_string()))
        }
    };
    let npz = Npz::open(&path)?;
    // Start cold (after open, which read the directory and headers), so the residency below
    // shows what this program loads.
    ndmmap::evict(&std::fs::File::open(&path)?)?;
    println!("{} ({} members)\n", path.display(), npz.members().len());
    list(&npz)?;

    let name = match layer {
        Some(n) => n,
        None => match npz.members().iter().find(|m| m.problem.is_none()) {
            Some(m) => m.name.clone(),
            None => return Ok(()),
        },
    };
    // SAFETY: nobody truncates or rewrites the archive while the array lives.
    let a = unsafe { npz.map_any(&name)? };
    println!(
        "\nmapped {name}: {} {:?} at byte {} ({})",
        a.dtype().descr(),
        a.shape(),
        a.offset(),
        match &a {
            AnyArray::F32(_) | AnyArray::F64(_) => "aligned, plain T",
            _ if a.is_aligned() => "aligned",
            _ => "unaligned: Unaligned<T> / ByteSwapped<T>",
        }
    );
    let t = std::time::Instant::now();
    a.pages(..)?.advise(Advice::WillNeed)?;
    let r = a.pages(..)?.residency()?;
    println!(
        "prefetched (WillNeed) in {:?}: {}/{} pages resident",
        t.elapsed(),
        r.resident,
        r.total
    );
    if let AnyArray::F32(x) = &a {
        println!("sum of {name} = {}", x.view().sum());
    }
    println!();
    list(&npz)?;
    Ok(())
}

/// A fresh directory under the system's temporary directory (removed at the end).
fn tempfile_dir() -> std::io::Result<TempDir> {
    let p = std::env::temp_dir().join(format!("ndmmap-npz-models-{}", std::process::id()));
    std::fs::create_dir_all(&p)?;
    Ok(TempDir(p))
}

struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
