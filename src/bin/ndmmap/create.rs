//! `ndmmap create`: a zero-filled (sparse) `.npy` file of a dtype, shape and order.

use crate::out::Res;
use ndarray::{IxDyn, ShapeBuilder};
use ndmmap::npy::{self, Dtype};
use ndmmap::{check_size, parse_shape};
use std::path::Path;

pub fn run(file: &Path, dtype: &str, shape: &str, order: ndmmap::Order) -> Res<()> {
    let shape = parse_shape(shape)?;
    let fortran = order == ndmmap::Order::F;
    create(file, dtype, &shape, fortran)?;
    outln!(
        "created {} ({dtype}, shape {:?}, order {})",
        file.display(),
        shape,
        order
    )?;
    Ok(())
}

/// Creates a zero-filled .npy file.
fn create(path: &Path, dtype: &str, shape: &[usize], fortran: bool) -> Res<()> {
    if path.exists() {
        return Err(format!(
            "{} already exists; the command does not overwrite files (remove it first)",
            path.display()
        )
        .into());
    }
    let d = Dtype::parse(dtype)?;
    check_size(shape, d.size)?;
    if !d.little_endian && d.size > 1 {
        return Err(format!(
            "dtype {dtype}: ndmmap creates native little-endian files; use {}",
            Dtype {
                little_endian: true,
                ..d
            }
            .descr()
        )
        .into());
    }
    let sh = IxDyn(shape).set_f(fortran);
    // SAFETY: the file is created here and dropped at once.
    let made = unsafe {
        match (d.kind, d.size) {
            ('u', 1) => npy::create::<u8, IxDyn, _>(path, sh).map(drop),
            ('u', 2) => npy::create::<u16, IxDyn, _>(path, sh).map(drop),
            ('u', 4) => npy::create::<u32, IxDyn, _>(path, sh).map(drop),
            ('u', 8) => npy::create::<u64, IxDyn, _>(path, sh).map(drop),
            ('i', 1) => npy::create::<i8, IxDyn, _>(path, sh).map(drop),
            ('i', 2) => npy::create::<i16, IxDyn, _>(path, sh).map(drop),
            ('i', 4) => npy::create::<i32, IxDyn, _>(path, sh).map(drop),
            ('i', 8) => npy::create::<i64, IxDyn, _>(path, sh).map(drop),
            ('f', 4) => npy::create::<f32, IxDyn, _>(path, sh).map(drop),
            ('f', 8) => npy::create::<f64, IxDyn, _>(path, sh).map(drop),
            ('c', 8) => npy::create::<num_complex::Complex<f32>, IxDyn, _>(path, sh).map(drop),
            ('c', 16) => npy::create::<num_complex::Complex<f64>, IxDyn, _>(path, sh).map(drop),
            _ => return Err(format!("dtype {dtype}: no Rust element type for it (bool, float16 and float128 are not supported)").into()),
        }
    };
    // A failed create leaves nothing at `path` (the library writes an unnamed or temporary
    // file and renames it into place), so a retry is not refused.
    Ok(made?)
}
