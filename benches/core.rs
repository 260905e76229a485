//! Criterion benches of issue 2: (a) map + read one element is flat in file size; (b) summing a
//! page-cached 1 GiB f64 file through ndmmap, raw memmap2 and `std::fs::read`, against a
//! `Vec` in RAM, first pass (fresh map, page faults included) and second pass.
//!
//! (c) the element wrappers' cost: `Unaligned<f64>` and `ByteSwapped<f64>` against `f64`.
//!
//! (d) streaming statistics (issue 19): `Stats::along(0)` and `Stats::along(1)` of an anonymous
//! (4096, 512) f64 array on 1 and 2 threads (`cargo bench --bench core -- stats`);
//! `benches/stats.sh` compares the command with numpy on a 1 GiB file.
//!
//! `cargo bench --bench core` (a memory daemon evicts idle page cache after ~30 s: each group
//! warms its file right before timing).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Axis, Ix1, Ix2};
use ndmmap::stats::Stats;
use ndmmap::{ByteSwapped, MmapArray, MmapOptions, Unaligned};
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// One summation for every contender, so that only the access path differs.
fn sum(xs: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..8 {
            acc[k] += c[k];
        }
    }
    acc.iter().sum::<f64>() + rest
}

fn warm(path: &Path) {
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
}

fn map_one_element(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("map_and_read_one_element");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for (label, size) in [("1MiB", 1u64 << 20), ("1GiB", 1 << 30), ("16GiB", 16 << 30)] {
        let p = dir.path().join(format!("sparse-{label}.bin"));
        std::fs::File::create(&p).unwrap().set_len(size).unwrap();
        let n = (size / 8) as usize;
        g.bench_with_input(BenchmarkId::new("ndmmap", label), &p, |b, p| {
            b.iter(|| {
                // SAFETY: the bench owns the file.
                let a = unsafe { MmapOptions::new().map_path::<f64, Ix1, _>(p, n).unwrap() };
                black_box(a.view()[n / 2])
            })
        });
        g.bench_with_input(BenchmarkId::new("memmap2", label), &p, |b, p| {
            b.iter(|| {
                let f = std::fs::File::open(p).unwrap();
                // SAFETY: as above.
                let m = unsafe { memmap2::Mmap::map(&f).unwrap() };
                black_box(bytemuck::cast_slice::<u8, f64>(&m)[n / 2])
            })
        });
    }
    g.finish();
}

fn sum_cached(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("one-gib.bin");
    let n = (1usize << 30) / 8;
    {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&p).unwrap());
        let block: Vec<f64> = (0..1 << 17).map(|i| (i % 1000) as f64).collect();
        for _ in 0..n / block.len() {
            f.write_all(bytemuck::cast_slice(&block)).unwrap();
        }
    }
    let mut g = c.benchmark_group("sum_1GiB_f64_cached");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .warm_up_time(Duration::from_millis(300))
        .throughput(Throughput::Bytes(1 << 30));

    warm(&p);
    let in_ram: Vec<f64> = bytemuck::cast_slice::<u8, f64>(&std::fs::read(&p).unwrap()).to_vec();
    g.bench_function("vec_in_ram", |b| b.iter(|| sum(black_box(&in_ram))));
    drop(in_ram);

    warm(&p);
    g.bench_function("fs_read_then_sum", |b| {
        b.iter(|| {
            let bytes = std::fs::read(&p).unwrap();
            sum(bytemuck::cast_slice(&bytes))
        })
    });

    warm(&p);
    g.bench_function("memmap2_first_pass", |b| {
        b.iter(|| {
            let f = std::fs::File::open(&p).unwrap();
            // SAFETY: the bench owns the file.
            let m = unsafe { memmap2::Mmap::map(&f).unwrap() };
            sum(bytemuck::cast_slice(&m))
        })
    });
    warm(&p);
    g.bench_function("ndmmap_first_pass", |b| {
        b.iter(|| {
            // SAFETY: as above.
            let a = unsafe { MmapOptions::new().map_path_1d::<f64>(&p).unwrap() };
            sum(a.as_slice())
        })
    });
    warm(&p);
    g.bench_function("ndmmap_first_pass_populate", |b| {
        b.iter(|| {
            // SAFETY: as above.
            let a = unsafe {
                MmapOptions::new()
                    .populate(true)
                    .map_path_1d::<f64>(&p)
                    .unwrap()
            };
            sum(a.as_slice())
        })
    });

    warm(&p);
    let f = std::fs::File::open(&p).unwrap();
    // SAFETY: as above.
    let m = unsafe { memmap2::Mmap::map(&f).unwrap() };
    black_box(sum(bytemuck::cast_slice(&m)));
    g.bench_function("memmap2_second_pass", |b| {
        b.iter(|| sum(bytemuck::cast_slice(&m)))
    });
    // SAFETY: as above.
    let a = unsafe { MmapOptions::new().map_path_1d::<f64>(&p).unwrap() };
    black_box(sum(a.as_slice()));
    g.bench_function("ndmmap_second_pass", |b| b.iter(|| sum(a.as_slice())));
    g.bench_function("ndmmap_second_pass_ndarray_sum", |b| {
        b.iter(|| a.view().sum())
    });
    // The fault guard's cost: the same view summed plainly and inside `guarded`.
    g.bench_function("ndmmap_second_pass_view", |b| {
        b.iter(|| sum(a.view().as_slice().unwrap()))
    });
    g.bench_function("ndmmap_second_pass_guarded", |b| {
        b.iter(|| a.guarded(|v| sum(v.as_slice().unwrap())).unwrap())
    });
    g.finish();
}

/// The element wrappers' cost (issue 13): a cached 64 MiB f64 file summed as aligned `f64`,
/// as `Unaligned<f64>` one byte later, and as `ByteSwapped<f64>`; the file's bytes read the
/// same both ways round, so every contender sums normal numbers. `bench_probe unaligned` does
/// the same on 1 GiB with interleaved rounds (docs/benchmarks.md).
fn sum_wrappers(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("wrappers.bin");
    let bytes = 64usize << 20;
    let x = [0x40u8, 0x10, 0, 0, 0, 0, 0x10, 0x40];
    let data: Vec<u8> = x.iter().copied().cycle().take(bytes + 8).collect();
    std::fs::write(&p, &data).unwrap();
    let n = bytes / 8;
    let mut g = c.benchmark_group("sum_64MiB_f64_wrappers");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(300))
        .throughput(Throughput::Bytes(bytes as u64));
    warm(&p);
    let map = |off: u64| {
        let mut o = MmapOptions::new();
        o.offset(off);
        o
    };
    // SAFETY: the bench owns the file and nothing writes or truncates it meanwhile.
    let a = unsafe { map(0).map_path::<f64, Ix1, _>(&p, n).unwrap() };
    // SAFETY: as above.
    let u = unsafe { map(1).map_path::<Unaligned<f64>, Ix1, _>(&p, n).unwrap() };
    // SAFETY: as above.
    let s = unsafe { map(0).map_path::<ByteSwapped<f64>, Ix1, _>(&p, n).unwrap() };
    g.bench_function("f64_view_sum", |b| b.iter(|| a.view().sum()));
    g.bench_function("f64_iter_sum", |b| b.iter(|| a.view().iter().sum::<f64>()));
    g.bench_function("f64_8_accumulators", |b| b.iter(|| sum(a.as_slice())));
    g.bench_function("unaligned_at_1_iter_get_sum", |b| {
        b.iter(|| u.view().iter().map(|x| x.get()).sum::<f64>())
    });
    g.bench_function("unaligned_at_1_8_accumulators", |b| {
        b.iter(|| sum_by(u.as_slice(), |x| x.get()))
    });
    g.bench_function("byte_swapped_iter_get_sum", |b| {
        b.iter(|| s.view().iter().map(|x| x.get()).sum::<f64>())
    });
    g.finish();
}

/// [`sum`] through an accessor, for the wrappers.
fn sum_by<T: Copy>(xs: &[T], get: impl Fn(T) -> f64) -> f64 {
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

/// Streaming statistics (issue 19): `Stats::along(axis).threads(n).of(&a)` of an anonymous
/// (4096, 512) f64 array (16 MiB: one window, so this is the reduction's cost, not the
/// stream's), along 0 (512 results of 4096 values) and along 1 (4096 results of 512), on 1 and
/// 2 threads. The means are checked against ndarray's first.
fn stats(c: &mut Criterion) {
    let (rows, cols) = (4096, 512);
    let mut a = MmapArray::<f64, Ix2>::anonymous((rows, cols)).unwrap();
    for (i, x) in a.view_mut().unwrap().iter_mut().enumerate() {
        *x = ((i * 7919) % 1000) as f64 * 1e-3 - 0.5;
    }
    for axis in [0, 1] {
        let want = a.view().mean_axis(Axis(axis)).unwrap();
        for threads in [1, 2] {
            let got = Stats::along(axis as isize).threads(threads).of(&a).unwrap();
            let err = (got.mean().into_dimensionality::<Ix1>().unwrap() - &want)
                .iter()
                .fold(0.0f64, |m, d| m.max(d.abs()));
            assert!(
                err < 1e-12,
                "along {axis}, {threads} threads: mean off by {err}"
            );
        }
    }
    let mut g = c.benchmark_group("stats_4096x512_f64");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300))
        .throughput(Throughput::Bytes((rows * cols * 8) as u64));
    for axis in [0isize, 1] {
        for threads in [1usize, 2] {
            g.bench_with_input(
                BenchmarkId::new(format!("along{axis}"), format!("{threads}_threads")),
                &(axis, threads),
                |b, &(axis, threads)| {
                    b.iter(|| Stats::along(axis).threads(threads).of(&a).unwrap())
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, map_one_element, sum_cached, sum_wrappers, stats);
criterion_main!(benches);
