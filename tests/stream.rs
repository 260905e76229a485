//! Streaming in bounded memory: every element once, the resident set bounded, passed windows
//! kept or evicted as asked, and nothing written or private ever lost.
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::*;
use ndarray::{Array2, Ix1, Ix2, ShapeBuilder, s};
use ndmmap::stream::{Behind, Stream, StreamMut};
use ndmmap::{Error, MmapArray, MmapOptions, Mode};
use std::fs::File;

fn f64_file(
    dir: &std::path::Path,
    name: &str,
    offset: usize,
    rows: usize,
    cols: usize,
) -> std::path::PathBuf {
    let mut bytes = vec![7u8; offset];
    let vals: Vec<f64> = (0..rows * cols).map(|i| i as f64).collect();
    bytes.extend_from_slice(bytemuck::cast_slice(&vals));
    file_with(dir, name, &bytes)
}

#[test]
fn every_element_once_in_order() {
    let dir = tmpdir();
    for (rows, cols, offset, per) in [
        (1003, 7, 0, 100),
        (1003, 7, 8, 1),
        (1003, 7, 4096 + 24, 1003),
        (1003, 7, 16, 5000),
        (0, 7, 8, 10),
        (1, 7, 8, 10),
        (50, 0, 0, 3),
    ] {
        let p = f64_file(
            dir.path(),
            &format!("s{rows}_{offset}.bin"),
            offset,
            rows,
            cols,
        );
        let a = unsafe {
            MmapOptions::new()
                .offset(offset as u64)
                .map_path::<f64, Ix2, _>(&p, (rows, cols))
                .unwrap()
        };
        let mut seen: Vec<f64> = Vec::new();
        let mut next_row = 0;
        for (first, w) in Stream::new(&a).unwrap().rows(per) {
            assert_eq!(first, next_row);
            assert!(w.nrows() <= per && (w.nrows() > 0 || rows == 0));
            next_row += w.nrows();
            seen.extend(w.iter());
        }
        assert_eq!(next_row, rows, "{rows}x{cols} by {per}");
        assert_eq!(seen, a.view().iter().copied().collect::<Vec<_>>());
    }
    // Windows given in bytes: whole rows, at least one.
    let a = MmapArray::<u32, Ix2>::anonymous((100, 10)).unwrap();
    let sizes: Vec<usize> = Stream::new(&a)
        .unwrap()
        .bytes(130)
        .map(|(_, w)| w.nrows())
        .collect();
    assert_eq!(
        sizes,
        vec![3; 33].into_iter().chain([1]).collect::<Vec<_>>()
    );
    let sizes: Vec<usize> = Stream::new(&a)
        .unwrap()
        .bytes(1)
        .map(|(_, w)| w.nrows())
        .collect();
    assert_eq!(sizes.len(), 100);
}

#[test]
fn fortran_order_streams_along_its_last_axis_and_scalars_are_clear_errors() {
    let a = MmapArray::<f32, Ix2>::anonymous((10, 6).f()).unwrap();
    assert_eq!(Stream::new(&a).unwrap().axis(), 1);
    let b = MmapArray::<f32, ndarray::Ix0>::anonymous(()).unwrap();
    assert!(matches!(
        Stream::new(&b),
        Err(Error::BadAxis { axis: 0, ndim: 0 })
    ));
    // A one-column Fortran array is Fortran order (as `order()` says): its one column.
    let c = MmapArray::<f32, Ix2>::anonymous((10, 1).f()).unwrap();
    assert_eq!(Stream::new(&c).unwrap().rows(4).count(), 1);
}

/// This process's resident set (`VmRSS`), in KiB.
#[cfg(unix)]
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(unix)]
#[test]
fn the_resident_set_stays_about_one_window() {
    let dir = tmpdir();
    let p = dir.path().join("big.bin");
    let f = File::create(&p).unwrap();
    f.set_len(256 << 20).unwrap();
    let mut w = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .map_path_1d::<u8>(&p)
            .unwrap()
    };
    w.view_mut().unwrap().fill(3); // real pages, cached
    w.msync(ndmmap::Flush::Sync).unwrap();
    drop(w);
    // In a child: the test runner's other threads would move its RSS.
    let code = in_child(|| {
        let a = unsafe {
            MmapOptions::new()
                .map_path::<u8, Ix2, _>(&p, (4096, 64 << 10))
                .unwrap()
        };
        let base = rss_kib();
        let mut peak = base;
        let mut sum = 0u64;
        for (_, win) in Stream::new(&a).unwrap().bytes(8 << 20) {
            sum += win.iter().map(|&b| b as u64).sum::<u64>();
            peak = peak.max(rss_kib());
        }
        if sum != 3 * (256 << 20) {
            return 1;
        }
        // Windows of 8 MiB: the one being read and the one read ahead, and some slack.
        if peak - base > 40 << 10 {
            eprintln!("stream peak {} KiB over {base}", peak - base);
            return 2;
        }
        // The same pass through the plain view keeps the whole file mapped: the bound is real.
        let base = rss_kib();
        let total: u64 = a.view().iter().map(|&b| b as u64).sum();
        if total != sum || rss_kib() - base < 200 << 10 {
            return 3;
        }
        0
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[cfg(unix)]
#[test]
fn keep_leaves_the_page_cache_and_evict_empties_it() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "c.bin", &pattern(32 << 20));
    let f = File::open(&p).unwrap();
    let a = unsafe {
        MmapOptions::new()
            .map::<u8, Ix2, _>(&f, (512, 64 << 10))
            .unwrap()
    };
    let resident = || a.pages(..).unwrap().residency().unwrap();
    ndmmap::evict(&f).unwrap();
    for _ in Stream::new(&a).unwrap().bytes(1 << 20).behind(Behind::Keep) {}
    let r = resident();
    assert_eq!(r.resident, r.total, "Keep: the pages stay cached");
    for _ in Stream::new(&a)
        .unwrap()
        .bytes(1 << 20)
        .behind(Behind::Evict)
    {}
    let r = resident();
    assert!(
        r.resident <= 2,
        "Evict: {} of {} pages still cached",
        r.resident,
        r.total
    );
}

#[test]
fn what_a_stream_writes_reaches_the_file_and_private_pages_stay() {
    let dir = tmpdir();
    let p = dir.path().join("w.bin");
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .map_path::<u64, Ix2, _>(&p, (1000, 600))
            .unwrap()
    };
    for behind in [Behind::Keep, Behind::Evict] {
        for (first, mut w) in StreamMut::new(&mut a).unwrap().rows(37).behind(behind) {
            for (i, mut row) in w.rows_mut().into_iter().enumerate() {
                row.fill((first + i) as u64 + behind as u64);
            }
        }
        // Read back through the file, not the map.
        let bytes = std::fs::read(&p).unwrap();
        let back = Array2::from_shape_vec(
            (1000, 600),
            bytemuck::cast_slice::<u8, u64>(&bytes).to_vec(),
        )
        .unwrap();
        for i in [0, 36, 37, 500, 999] {
            assert!(
                back.row(i).iter().all(|&x| x == i as u64 + behind as u64),
                "{behind:?} row {i}"
            );
        }
    }
    // A copy-on-write map's private pages are its only copy: a stream never drops them.
    let mut c = unsafe {
        MmapOptions::new()
            .mode(Mode::CopyOnWrite)
            .map_path::<u64, Ix2, _>(&p, (1000, 600))
            .unwrap()
    };
    for (_, mut w) in StreamMut::new(&mut c)
        .unwrap()
        .rows(50)
        .behind(Behind::Evict)
    {
        w.fill(42);
    }
    assert!(c.view().iter().all(|&x| x == 42), "private writes kept");
    assert_eq!(c.view().slice(s![..2, ..]).sum(), 42 * 1200);
    // A read-only map cannot stream mutably.
    let mut r = unsafe { MmapOptions::new().map_path_1d::<u64>(&p).unwrap() };
    assert!(StreamMut::<u64, Ix1>::new(&mut r).is_err());
}

#[test]
fn owned_chunks_are_their_own_maps_and_outlive_the_array() {
    let dir = tmpdir();
    let p = f64_file(dir.path(), "o.bin", 16, 1003, 7);
    let a = unsafe {
        MmapOptions::new()
            .offset(16)
            .map_path::<f64, Ix2, _>(&p, (1003, 7))
            .unwrap()
    };
    let want: Vec<f64> = a.view().iter().copied().collect();
    let chunks: Vec<_> = unsafe { ndmmap::stream::Chunks::new(&a) }
        .unwrap()
        .rows(100)
        .collect::<Result<_, _>>()
        .unwrap();
    drop(a);
    assert_eq!(chunks.len(), 11);
    // Each chunk goes to its own thread.
    let got: Vec<Vec<f64>> = std::thread::scope(|s| {
        let hs: Vec<_> = chunks
            .into_iter()
            .map(|(first, c)| {
                s.spawn(move || {
                    assert_eq!(c.shape()[1], 7);
                    assert_eq!(c.view()[[0, 0]], (first * 7) as f64);
                    c.view().iter().copied().collect::<Vec<f64>>()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(got.concat(), want);
    let anon = MmapArray::<f64, Ix2>::anonymous((10, 10)).unwrap();
    assert!(matches!(
        unsafe { ndmmap::stream::Chunks::new(&anon) },
        Err(Error::Unsupported { .. })
    ));
}

#[cfg(feature = "rayon")]
#[cfg(unix)]
#[test]
fn parallel_chunks_keep_one_chunk_per_worker_mapped() {
    let dir = tmpdir();
    let p = f64_file(dir.path(), "par.bin", 0, 4000, 128);
    let a = unsafe {
        MmapOptions::new()
            .map_path::<f64, Ix2, _>(&p, (4000, 128))
            .unwrap()
    };
    let name = p.file_name().unwrap().to_str().unwrap().to_string();
    let maps_of_file = || {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|l| l.ends_with(&name))
            .count()
    };
    let peak = std::sync::atomic::AtomicUsize::new(0);
    let chunks = unsafe { ndmmap::stream::Chunks::new(&a) }.unwrap().rows(50);
    let sum = chunks
        .par_map_reduce(
            |_, v| {
                peak.fetch_max(maps_of_file(), std::sync::atomic::Ordering::Relaxed);
                v.sum()
            },
            || 0.0,
            |x, y| x + y,
        )
        .unwrap();
    let n = 4000.0 * 128.0;
    assert_eq!(sum, (n - 1.0) * n / 2.0);
    // The array's own map, and at most about one chunk per worker (80 chunks in all).
    let bound = 1 + rayon::current_num_threads() + 1;
    let peak = peak.into_inner();
    assert!(
        peak <= bound,
        "{peak} maps of the file at once (bound {bound})"
    );
}
