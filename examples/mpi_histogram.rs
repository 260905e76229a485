//! Each MPI rank maps only its slab of rows of a 2-D float64 `.npy` file, computes a histogram
//! per column of its own rows, and the ranks' histograms are summed on rank 0 with rsmpi.
//!
//! ```text
//! cargo build --release --features mpi --example mpi_histogram
//! mpirun -n 4 target/release/examples/mpi_histogram data.npy 10
//! ```
//!
//! The bins of each column span its global min and max (an `MPI_Allreduce` of the ranks'
//! extremes), as `np.histogram(a[:, c], bins)` chooses them, and a value falls in the bin
//! numpy puts it in. Rank 0 prints one line per column: `column C: LO HI COUNTS...`. Without
//! a path, rank 0 writes a demonstration file of 100 003 x 4 values to the temporary
//! directory first. With `--evict`, each rank drops its own slab from the page cache after
//! reading it (and only it: the other ranks' rows stay cached).

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use mpi::collective::SystemOperation;
    use mpi::traits::*;
    use ndarray::Ix2;

    let universe = mpi::initialize().ok_or("MPI was initialized already")?;
    let world = universe.world();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let evict = args.iter().any(|a| a == "--evict");
    let mut rest = args.iter().filter(|a| *a != "--evict");
    let path = match rest.next() {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let p = std::env::temp_dir().join("ndmmap_mpi_histogram_demo.npy");
            if world.rank() == 0 {
                // SAFETY: the file is ours alone while we write it.
                let mut a = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&p, (100_003, 4))? };
                for ((i, j), x) in a.view_mut()?.indexed_iter_mut() {
                    *x = ((i * 7919 + j * 104_729) % 1000) as f64 / 10.0 + j as f64 * 50.0;
                }
                a.msync(ndmmap::Flush::Sync)?;
            }
            world.barrier();
            p
        }
    };
    let bins: usize = rest.next().map_or(Ok(10), |b| b.parse())?;

    // SAFETY: nobody truncates or rewrites the file while the slab lives.
    let slab = unsafe { ndmmap::slab::mpi::options(&world).npy::<f64, Ix2>(&path)? };
    slab.pages(..)?.advise(ndmmap::Advice::Sequential)?;
    let v = slab.view();
    let cols = slab.global_shape()[1];

    // The global extremes of each column, NaN left out as np.histogram refuses it.
    let mut lo = vec![f64::INFINITY; cols];
    let mut hi = vec![f64::NEG_INFINITY; cols];
    for row in v.rows() {
        for (c, &x) in row.iter().enumerate() {
            if !x.is_nan() {
                lo[c] = lo[c].min(x);
                hi[c] = hi[c].max(x);
            }
        }
    }
    let (mut glo, mut ghi) = (vec![0.0; cols], vec![0.0; cols]);
    world.all_reduce_into(&lo[..], &mut glo[..], SystemOperation::min());
    world.all_reduce_into(&hi[..], &mut ghi[..], SystemOperation::max());

    // This rank's counts, bin by bin as np.histogram assigns them.
    let mut counts = vec![0u64; cols * bins];
    for row in v.rows() {
        for (c, &x) in row.iter().enumerate() {
            if let Some(b) = bin(x, glo[c], ghi[c], bins) {
                counts[c * bins + b] += 1;
            }
        }
    }
    if evict {
        // This rank's own rows leave the page cache; the other ranks' stay.
        slab.pages(..)?.evict()?;
    }
    let root = world.process_at_rank(0);
    if world.rank() == 0 {
        let mut total = vec![0u64; cols * bins];
        root.reduce_into_root(&counts[..], &mut total[..], SystemOperation::sum());
        for c in 0..cols {
            let row: Vec<String> = total[c * bins..(c + 1) * bins]
                .iter()
                .map(u64::to_string)
                .collect();
            println!("column {c}: {} {} {}", glo[c], ghi[c], row.join(" "));
        }
    } else {
        root.reduce_into(&counts[..], SystemOperation::sum());
    }
    eprintln!(
        "rank {} of {}: rows {:?} of {}",
        slab.rank(),
        slab.size(),
        slab.rows(),
        slab.total_rows()
    );
    Ok(())
}

/// The bin of `x` among `bins` equal bins from `lo` to `hi`, as `np.histogram` finds it: the
/// last bin holds `hi`; a column of one value puts it in the middle bin of `lo - 0.5` to
/// `hi + 0.5`.
#[cfg(unix)]
fn bin(x: f64, lo: f64, hi: f64, bins: usize) -> Option<usize> {
    let (lo, hi) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    if x.is_nan() || x < lo || x > hi {
        return None;
    }
    let step = (hi - lo) / bins as f64;
    let edge = |i: usize| if i == bins { hi } else { lo + i as f64 * step };
    let mut b = (((x - lo) * (bins as f64 / (hi - lo))) as usize).min(bins - 1);
    // numpy's corrections for rounding at the edges.
    if b > 0 && x < edge(b) {
        b -= 1;
    } else if b + 1 < bins && x >= edge(b + 1) {
        b += 1;
    }
    Some(b)
}

#[cfg(not(unix))]
fn main() {
    eprintln!("mpi_histogram: the feature mpi is Unix-only");
}
