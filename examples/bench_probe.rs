//! Timings for the peer comparisons in `benches/peers.sh`: each prints the median of N runs in
//! milliseconds, measured in-process (the script also times whole processes).
//!
//! - `bench_probe mincore FILE [N]`: map FILE, one `mincore` over it.
//! - `bench_probe along FILE [N]`: map FILE as (rows, 512) f64, `pages(..)?.along(Axis(0))`.
//! - `bench_probe npy-open FILE [N]`: open a .npy read-only and read its middle element.
//! - `bench_probe npy-sum FILE [N]`: sum a mapped 1-D f64 .npy (map once, as numpy's memmap).
//! - `bench_probe par FILE [N]` (feature `rayon`): a cached f64 file summed by
//!   `Chunks::par_map_reduce` on 1 and 2 threads, interleaved: medians and the speed-up.
//! - `bench_probe guard FILE [N]`: sum a cached f64 file plainly and inside `guarded`, in N
//!   interleaved rounds: the medians and their ratio.
//! - `bench_probe unaligned FILE [N]`: the element wrappers' cost. FILE (made if missing:
//!   1 GiB + 8 bytes of f64 whose bytes read the same both ways round, so every contender
//!   sums normal numbers) is warmed, then summed in N interleaved rounds as: `f64` at offset 0
//!   (`view().sum()`, `iter().sum()`, an 8-accumulator loop), `Unaligned<f64>` at offset 1
//!   and at offset 0 (`iter().map(get).sum()`, and the 8-accumulator loop at offset 1), and
//!   `ByteSwapped<f64>` (both ways). Prints each median and its ratio to the aligned
//!   `iter().sum()` (the same sequential loop) and to `view().sum()`.

use ndarray::{Axis, Ix1, Ix2};
use ndmmap::{MmapOptions, npy};
use std::hint::black_box;
use std::time::Instant;

fn median_ms(n: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (what, path) = match (args.get(1), args.get(2)) {
        (Some(w), Some(p)) => (w.as_str(), p.as_str()),
        _ => return Err("usage: bench_probe mincore|along|npy-open|npy-sum|guard FILE [N]".into()),
    };
    let n: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    // SAFETY (all maps below): the benchmark owns its files.
    let ms = match what {
        "mincore" => median_ms(n, || {
            let a = unsafe { MmapOptions::new().map_path_1d::<u8>(path).unwrap() };
            black_box(a.pages(..).unwrap().mincore().unwrap().len());
        }),
        "along" => median_ms(n, || {
            let len = std::fs::metadata(path).unwrap().len() as usize / 8;
            let a = unsafe {
                MmapOptions::new()
                    .map_path::<f64, Ix2, _>(path, (len / 512, 512))
                    .unwrap()
            };
            black_box(a.pages(..).unwrap().along(Axis(0)).unwrap().len());
        }),
        "npy-open" => median_ms(n, || {
            let a = unsafe { npy::open::<f64, Ix1>(path).unwrap() };
            black_box(a.view()[a.len() / 2]);
        }),
        "npy-sum" => {
            let a = unsafe { npy::open::<f64, Ix1>(path)? };
            median_ms(n, || {
                black_box(a.view().sum());
            })
        }
        "guard" => {
            // The fault guard's cost: the same cached sum plainly and inside `guarded`,
            // interleaved round by round; prints the two medians and their ratio.
            let a = unsafe { MmapOptions::new().map_path_1d::<f64>(path)? };
            let sum = |s: &[f64]| s.iter().sum::<f64>();
            black_box(sum(a.as_slice()));
            let (mut plain, mut guarded) = (Vec::new(), Vec::new());
            for _ in 0..n {
                let t = Instant::now();
                black_box(sum(a.view().as_slice().unwrap()));
                plain.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                black_box(a.guarded(|v| sum(v.as_slice().unwrap()))?);
                guarded.push(t.elapsed().as_secs_f64() * 1e3);
            }
            let med = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let (p, g) = (med(&mut plain), med(&mut guarded));
            println!("plain {p:.2} ms, guarded {g:.2} ms, ratio {:.3}", g / p);
            return Ok(());
        }
        "par" => return par(path, n),
        "unaligned" => return unaligned(path, n),
        other => return Err(format!("unknown probe {other:?}").into()),
    };
    println!("{ms:.3}");
    Ok(())
}

/// Sums with 8 independent accumulators (vectorizable), the shape of benches/core.rs's sum.
fn sum8<T: Copy>(xs: &[T], get: impl Fn(T) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&x| get(x)).sum();
    for c in chunks {
        for k in 0..8 {
            acc[k] += get(c[k]);
        }
    }
    acc.iter().sum::<f64>() + rest
}

/// `unaligned FILE N`: see the module docs.
fn unaligned(path: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    use ndmmap::{ByteSwapped, Unaligned};
    use std::io::{Read, Write};
    const GIB: usize = 1 << 30;
    if std::fs::metadata(path).is_err() {
        // A palindrome: the same f64 (4.000000000001) read either byte order, and a normal
        // number read one byte later too.
        let x = [0x40u8, 0x10, 0, 0, 0, 0, 0x10, 0x40];
        let block: Vec<u8> = x.iter().copied().cycle().take(1 << 20).collect();
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for _ in 0..GIB >> 20 {
            f.write_all(&block)?;
        }
        f.write_all(&x)?;
        f.flush()?;
    }
    let len = std::fs::metadata(path)?.len() as usize;
    let count = (len - 1) / 8; // room for the offset-1 map
    let mut buf = vec![0u8; 1 << 20];
    let mut f = std::fs::File::open(path)?;
    while f.read(&mut buf)? > 0 {} // warm right before timing
    let opts = |off: u64| {
        let mut o = MmapOptions::new();
        o.offset(off);
        o
    };
    // SAFETY: the benchmark owns its file and nothing writes or truncates it meanwhile.
    let a = unsafe { opts(0).map_path::<f64, Ix1, _>(path, count)? };
    let u1 = unsafe { opts(1).map_path::<Unaligned<f64>, Ix1, _>(path, count)? };
    let u0 = unsafe { opts(0).map_path::<Unaligned<f64>, Ix1, _>(path, count)? };
    let bs = unsafe { opts(0).map_path::<ByteSwapped<f64>, Ix1, _>(path, count)? };
    type Run<'a> = (&'static str, Box<dyn Fn() -> f64 + 'a>);
    let runs: Vec<Run<'_>> = vec![
        ("f64 view().sum()", Box::new(|| a.view().sum())),
        ("f64 iter().sum()", Box::new(|| a.view().iter().sum())),
        (
            "f64 8-accumulator loop",
            Box::new(|| sum8(a.as_slice(), |x| x)),
        ),
        (
            "Unaligned<f64> @1 iter().map(get).sum()",
            Box::new(|| u1.view().iter().map(|x| x.get()).sum()),
        ),
        (
            "Unaligned<f64> @0 iter().map(get).sum()",
            Box::new(|| u0.view().iter().map(|x| x.get()).sum()),
        ),
        (
            "Unaligned<f64> @1 8-accumulator loop",
            Box::new(|| sum8(u1.as_slice(), |x| x.get())),
        ),
        (
            "ByteSwapped<f64> iter().map(get).sum()",
            Box::new(|| bs.view().iter().map(|x| x.get()).sum()),
        ),
        (
            "ByteSwapped<f64> 8-accumulator loop",
            Box::new(|| sum8(bs.as_slice(), |x| x.get())),
        ),
    ];
    for (_, r) in &runs {
        black_box(r()); // fault every page in, per map
    }
    let mut times = vec![Vec::new(); runs.len()];
    for _ in 0..n {
        for (t, (_, r)) in times.iter_mut().zip(&runs) {
            let s = Instant::now();
            black_box(r());
            t.push(s.elapsed().as_secs_f64() * 1e3);
        }
    }
    let med: Vec<f64> = times
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    println!(
        "{count} f64 ({:.2} GiB), medians of {n} interleaved rounds",
        (count * 8) as f64 / GIB as f64
    );
    for ((name, _), m) in runs.iter().zip(&med) {
        println!(
            "{name:<42} {m:8.2} ms  {:5.2}x iter().sum()  {:5.2}x view().sum()  {:5.2} GB/s",
            m / med[1],
            m / med[0],
            (count * 8) as f64 / m / 1e6
        );
    }
    Ok(())
}

/// `par FILE N`: a cached f64 file summed through `Chunks::par_map_reduce` on pools of 1 and 2
/// threads, interleaved; prints the medians and the speed-up.
#[cfg(feature = "rayon")]
fn par(path: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let a = unsafe { MmapOptions::new().map_path_1d::<f64>(path)? };
    let run = |threads: usize| -> Result<f64, Box<dyn std::error::Error>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let chunks = unsafe { ndmmap::stream::Chunks::new(&a)? }.bytes(16 << 20);
        let t = Instant::now();
        let s = pool.install(|| chunks.par_map_reduce(|_, v| v.sum(), || 0.0, |x, y| x + y))?;
        black_box(s);
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..n {
        one.push(run(1)?);
        two.push(run(2)?);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (o, t) = (med(&mut one), med(&mut two));
    println!(
        "1 thread {o:.2} ms, 2 threads {t:.2} ms, speed-up {:.2}",
        o / t
    );
    Ok(())
}

#[cfg(not(feature = "rayon"))]
fn par(_: &str, _: usize) -> Result<(), Box<dyn std::error::Error>> {
    Err("build with --features rayon for the par probe".into())
}
