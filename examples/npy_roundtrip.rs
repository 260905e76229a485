//! The Rust half of the numpy interop check (`scripts/npy_interop.sh`).
//!
//! - `npy_roundtrip write DIR`: creates, fills and resizes .npy files in DIR for numpy to check.
//! - `npy_roundtrip read FILE...`: maps files numpy wrote and prints, per file, a line
//!   `name dtype shape order sum`.

use ndarray::{Axis, Ix2, IxDyn, ShapeBuilder};
use ndmmap::npy;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write") if args.len() == 2 => write(Path::new(&args[1])),
        Some("read") => args[1..].iter().try_for_each(|p| read(Path::new(p))),
        _ => Err("usage: npy_roundtrip write DIR | read FILE...".into()),
    }
}

fn write(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // C order, written then grown twice: value = 10 * row + col.
    // SAFETY: the files are ours alone.
    let mut a = unsafe { npy::create::<f64, Ix2, _>(dir.join("grown.npy"), (100, 4))? };
    a.view_mut()?
        .indexed_iter_mut()
        .for_each(|((i, j), x)| *x = (10 * i + j) as f64);
    a.resize(150)?;
    a.resize(100_000)?;
    for (i, mut row) in a.view_mut()?.axis_iter_mut(Axis(0)).enumerate().skip(100) {
        row.indexed_iter_mut()
            .for_each(|(j, x)| *x = (10 * i + j) as f64);
    }
    a.msync(ndmmap::Flush::Sync)?;
    // Fortran order, i32: value = 100 * row + col.
    let mut f = unsafe { npy::create::<i32, Ix2, _>(dir.join("fortran.npy"), (7, 5).f())? };
    f.view_mut()?
        .indexed_iter_mut()
        .for_each(|((i, j), x)| *x = (100 * i + j) as i32);
    // Complex, 1-D.
    let mut c = unsafe {
        npy::create::<num_complex::Complex<f32>, ndarray::Ix1, _>(dir.join("complex.npy"), 5)?
    };
    c.view_mut()?
        .indexed_iter_mut()
        .for_each(|(i, x)| *x = num_complex::Complex::new(i as f32, -(i as f32)));
    // 0-D u16.
    let mut s = unsafe { npy::create::<u16, ndarray::Ix0, _>(dir.join("scalar.npy"), ())? };
    s.view_mut()?[()] = 513;
    Ok(())
}

fn read(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let h = npy::read_header(path)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let order = if h.fortran_order { "F" } else { "C" };
    // SAFETY: numpy has finished writing the file.
    let sum: f64 = unsafe {
        match h.descr.as_str() {
            "<f8" => npy::open::<f64, IxDyn>(path)?.view().sum(),
            "<f4" => npy::open::<f32, IxDyn>(path)?
                .view()
                .iter()
                .map(|&x| x as f64)
                .sum(),
            "<i8" => npy::open::<i64, IxDyn>(path)?
                .view()
                .iter()
                .map(|&x| x as f64)
                .sum(),
            "<i4" => npy::open::<i32, IxDyn>(path)?
                .view()
                .iter()
                .map(|&x| x as f64)
                .sum(),
            "|u1" => npy::open::<u8, IxDyn>(path)?
                .view()
                .iter()
                .map(|&x| x as f64)
                .sum(),
            d => return Err(format!("{name}: no reader for {d} in this check").into()),
        }
    };
    // A weighted sum tells orders apart: element (i, j, ...) weighted by its C-order index.
    let w: f64 = unsafe {
        match h.descr.as_str() {
            "<f8" => npy::open::<f64, IxDyn>(path)?
                .view()
                .iter()
                .enumerate()
                .map(|(k, &x)| k as f64 * x)
                .sum(),
            _ => 0.0,
        }
    };
    let shape: Vec<String> = h.shape.iter().map(usize::to_string).collect();
    println!("{name} {} {} {order} {sum} {w}", h.descr, shape.join(","));
    Ok(())
}
