//! Which layers of a model are in RAM: a small safetensors "model" is written, dropped from
//! the page cache, two of its layers are read, and the residency of every tensor is printed;
//! then one tensor is mapped typed and prefetched.
//!
//! ```text
//! cargo run --example model_residency --features safetensors [-- path/to/model.safetensors]
//! ```
//!
//! Given a path, it reports that file's tensors instead (read-only; nothing is evicted).

use ndarray::{Array1, Array2, Ix2, IxDyn};
use ndmmap::Advice;
use ndmmap::safetensors::{Tensors, Writer};

fn report(t: &Tensors) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "{:<28} {:>5} {:>12} {:>9}  resident",
        "tensor", "dtype", "shape", "bytes"
    );
    for ((name, r), x) in t.residency()?.into_iter().zip(t.tensors()) {
        let filled = (r.fraction() * 20.0).round() as usize;
        let bar = format!("{}{}", "#".repeat(filled), ".".repeat(20 - filled));
        println!(
            "{name:<28} {:>5} {:>12} {:>9}  {bar} {:>3.0}% ({}/{} pages)",
            x.dtype.to_string(),
            format!("{:?}", x.shape),
            x.nbytes,
            100.0 * r.fraction(),
            r.resident,
            r.total
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(path) = std::env::args_os().nth(1) {
        let t = Tensors::open(&path)?;
        println!("{} tensors, metadata {:?}", t.len(), t.metadata());
        return report(&t);
    }

    // A model of 6 layers: a 256 x 256 weight (256 KiB) and a bias each, and an embedding.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.safetensors");
    let layers: Vec<(Array2<f32>, Array1<f32>)> = (0..6)
        .map(|l| {
            let w = Array2::from_shape_fn((256, 256), |(i, j)| ((i + j + l) % 7) as f32 - 3.0);
            (w, Array1::from_elem(256, l as f32))
        })
        .collect();
    let embed = Array2::<f32>::from_elem((1000, 64), 0.01);
    let mut w = Writer::new();
    w.add("embed.weight", embed.view()).metadata("format", "pt");
    for (l, (weight, bias)) in layers.iter().enumerate() {
        w.add(format!("layers.{l}.weight"), weight.view())
            .add(format!("layers.{l}.bias"), bias.view());
    }
    w.write(&path)?;

    // Drop the whole file from the page cache (written pages must reach the disk first).
    let file = std::fs::File::open(&path)?;
    file.sync_all()?;
    ndmmap::evict(&file)?;

    // Run "inference" through layers 1 and 4 only.
    let t = Tensors::open(&path)?;
    for l in [1, 4] {
        // SAFETY: nobody truncates or rewrites the file while `a` lives.
        let a = unsafe { t.map::<f32, IxDyn>(&format!("layers.{l}.weight"))? };
        a.madvise(Advice::Random)?; // read exactly this tensor, no readahead past it
        println!("layer {l}: sum {}", a.view().sum());
    }
    println!();
    report(&t)?;

    // One tensor typed, with the toolkit: prefetch it and ask again.
    // SAFETY: as above.
    let w5 = unsafe { t.map::<f32, Ix2>("layers.5.weight")? };
    w5.pages(..)?.advise(Advice::WillNeed)?;
    let _ = w5.view().sum(); // whatever WillNeed has not read yet
    println!(
        "\nlayers.5.weight: {:?} {:?}, row 3 starts {:?}; {:.0}% resident after WillNeed",
        w5.shape(),
        w5.order(),
        &w5.view().row(3).to_vec()[..4],
        100.0 * w5.pages(..)?.residency()?.fraction()
    );
    Ok(())
}
