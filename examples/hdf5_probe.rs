//! One timed HDF5 operation through the library, for `scripts/hdf5_bench.py`: prints the
//! seconds it took (in-process, as h5py's timings are).
//!
//! ```text
//! hdf5_probe open FILE.h5 /x      open the file, map /x, read one element
//! hdf5_probe slice FILE.h5 /x     open, map, sum 1000 rows from the middle
//! hdf5_probe pass FILE.h5 /x      open, map, stream the whole dataset (sum of every column)
//! ```
use ndmmap::ndarray::{Axis, Ix2, s};
use ndmmap::stream::Stream;
use ndmmap::{Unaligned, container::Container};
use std::hint::black_box;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, what, file, name] = &args[..] else {
        return Err("usage: hdf5_probe open|slice|pass FILE.h5 /DATASET".into());
    };
    let t = std::time::Instant::now();
    let c = Container::open(file)?;
    // HDF5 aligns nothing: Unaligned<f64> maps at any offset at no cost on x86-64.
    // SAFETY: the benchmark owns its file; nothing truncates it meanwhile.
    let a = unsafe { c.map::<Unaligned<f64>, Ix2>(name)? };
    let rows = a.shape()[0];
    match what.as_str() {
        "open" => {
            black_box(a.view()[[rows / 2, 500.min(a.shape()[1] - 1)]].get());
        }
        "slice" => {
            let v = a.view();
            let part = v.slice(s![rows / 2..(rows / 2 + 1000).min(rows), ..]);
            black_box(part.iter().map(|x| x.get()).sum::<f64>());
        }
        "pass" => {
            let mut sums = ndmmap::ndarray::Array1::<f64>::zeros(a.shape()[1]);
            for (_, w) in Stream::new(&a)? {
                for row in w.axis_iter(Axis(0)) {
                    sums.zip_mut_with(&row, |s, x| *s += x.get());
                }
            }
            black_box(sums);
        }
        other => return Err(format!("unknown operation {other:?}").into()),
    }
    println!("{:.6}", t.elapsed().as_secs_f64());
    Ok(())
}
