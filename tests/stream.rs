//! Streaming in bounded memory: every element once, the resident set bounded, passed windows
//! kept or evicted as asked, and nothing written or private ever lost.
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::*;
use ndarray::{Array2, ArrayView, Axis, Dimension, Ix1, Ix2, Ix3, IxDyn, ShapeBuilder, Slice, s};
use ndmmap::stream::{Behind, Chunks, Stream, StreamMut, outer_axis};
use ndmmap::{Error, MmapArray, MmapOptions, Mode, Order};
use proptest::prelude::*;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

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
    assert_eq!((outer_axis(&a), Stream::new(&a).unwrap().axis()), (1, 1));
    let firsts: Vec<(usize, usize)> = Stream::new(&a)
        .unwrap()
        .rows(4)
        .map(|(i, w)| (i, w.ncols()))
        .collect();
    assert_eq!(firsts, [(0, 4), (4, 2)]);
    let b = MmapArray::<f32, ndarray::Ix0>::anonymous(()).unwrap();
    assert!(matches!(
        Stream::new(&b),
        Err(Error::BadAxis { axis: 0, ndim: 0 })
    ));
    // A one-column Fortran array is Fortran order (as `order()` says): its one column.
    let c = MmapArray::<f32, Ix2>::anonymous((10, 1).f()).unwrap();
    assert_eq!(Stream::new(&c).unwrap().axis(), 1);
    assert_eq!(Stream::new(&c).unwrap().rows(4).count(), 1);
    // 1-D arrays and C order: axis 0.
    let d = MmapArray::<f32, Ix3>::anonymous((2, 3, 4)).unwrap();
    assert_eq!(StreamMut::new(&mut { d }).unwrap().axis(), 0);
    let e = MmapArray::<u8, Ix1>::anonymous(5).unwrap();
    assert_eq!(outer_axis(&e), 0);
}

/// A file of `shape` f64 in C or Fortran order behind `offset` bytes, each element holding its
/// index in memory order, mapped read-only.
fn memory_indexed<D: Dimension>(
    dir: &Path,
    name: &str,
    offset: usize,
    shape: D,
    f: bool,
) -> MmapArray<f64, D> {
    let n = shape.size();
    let mut bytes = vec![9u8; offset];
    let vals: Vec<f64> = (0..n).map(|i| i as f64).collect();
    bytes.extend_from_slice(bytemuck::cast_slice(&vals));
    let p = file_with(dir, name, &bytes);
    unsafe {
        MmapOptions::new()
            .offset(offset as u64)
            .map_path::<f64, D, _>(&p, shape.set_f(f))
            .unwrap()
    }
}

/// Checks windows of `a` against plain slicing of `a.view()`: consecutive from `range.start`
/// to `range.end`, `per` indices each (the last one fewer), each the view sliced along the
/// walked axis, and together every element of the range once, in memory order.
fn check_windows<'a, D: Dimension>(
    a: &MmapArray<f64, D>,
    windows: impl Iterator<Item = (usize, ArrayView<'a, f64, D>)>,
    range: Range<usize>,
    per: usize,
) {
    let axis = outer_axis(a);
    let mut next = range.start;
    let mut seen: Vec<f64> = Vec::new();
    for (first, w) in windows {
        assert_eq!(first, next, "{:?} {range:?} by {per}", a.shape());
        let n = w.shape()[axis];
        assert!(n > 0 && n <= per, "a window of {n} indices, {per} asked");
        assert!(
            n == per || first + n == range.end,
            "a short window before the end"
        );
        let want = a
            .view()
            .slice_axis_move(Axis(axis), Slice::from(first..first + n));
        assert_eq!(w, want);
        // The array's order and strides (those of axes of one index address nothing).
        for k in (0..w.ndim()).filter(|&k| w.shape()[k] > 1) {
            assert_eq!(w.strides()[k], want.strides()[k], "stride of axis {k}");
        }
        seen.extend(w.as_slice_memory_order().expect("a window is contiguous"));
        next += n;
    }
    assert_eq!(next, range.end, "{:?} {range:?}", a.shape());
    let inner: usize = a.len().checked_div(a.shape()[axis]).unwrap_or(0);
    let want: Vec<f64> = (range.start * inner..range.end * inner)
        .map(|i| i as f64)
        .collect();
    assert_eq!(
        seen, want,
        "every element of the range once, in memory order"
    );
}

/// Ranges of an axis of `len` worth trying: all of it, empty ones (at the start, inside, at
/// the end), one at the end, one inside.
fn ranges(len: usize) -> Vec<Range<usize>> {
    let mut r = vec![0..len, 0..0, len..len, len / 2..len / 2];
    r.push(len.saturating_sub(3)..len);
    r.push(len / 4..len - len / 4);
    r
}

fn check_all_ranges<D: Dimension>(a: &MmapArray<f64, D>) {
    let len = a.shape()[outer_axis(a)];
    for range in ranges(len) {
        for per in [1, 2, 7, len + 5] {
            let s = Stream::new(a)
                .unwrap()
                .range(range.clone())
                .unwrap()
                .rows(per);
            check_windows(a, s, range.clone(), per);
        }
        // Windows given in bytes: whole indices, at least one (all, if an index holds none).
        let index_bytes = a.len().checked_div(len).unwrap_or(0) * size_of::<f64>();
        for (bytes, per) in [(1, 1), (3 * index_bytes + index_bytes / 2, 3)] {
            let per = if index_bytes == 0 { usize::MAX } else { per };
            let s = Stream::new(a).unwrap().range(range.clone()).unwrap();
            check_windows(a, s.bytes(bytes), range.clone(), per);
        }
    }
}

#[test]
fn any_order_any_range_every_element_once() {
    let dir = tmpdir();
    for f in [false, true] {
        let a = memory_indexed(dir.path(), &format!("a{f}.bin"), 8, Ix1(29), f);
        assert_eq!(outer_axis(&a), 0);
        check_all_ranges(&a);
        let b = memory_indexed(dir.path(), &format!("b{f}.bin"), 16, Ix2(13, 11), f);
        assert_eq!(outer_axis(&b), if f { 1 } else { 0 });
        check_all_ranges(&b);
        let c = memory_indexed(
            dir.path(),
            &format!("c{f}.bin"),
            4096 + 24,
            Ix3(5, 3, 17),
            f,
        );
        assert_eq!(outer_axis(&c), if f { 2 } else { 0 });
        check_all_ranges(&c);
        let d = memory_indexed(dir.path(), &format!("d{f}.bin"), 0, IxDyn(&[3, 2, 4, 9]), f);
        check_all_ranges(&d);
        // An empty axis inside: windows of indices that hold nothing.
        let e = memory_indexed(dir.path(), &format!("e{f}.bin"), 0, Ix3(4, 0, 6), f);
        check_all_ranges(&e);
    }
}

#[test]
fn ranges_past_the_axis_are_structured_errors() {
    let dir = tmpdir();
    let a = memory_indexed(dir.path(), "r.bin", 0, Ix2(4, 10), true);
    for (start, end) in [(0, 11), (11, 11), (5, 3), (usize::MAX, 2), (0, usize::MAX)] {
        let e = Stream::new(&a).unwrap().range(start..end).err();
        assert!(
            matches!(e, Some(Error::AxisRange { axis: 1, len: 10, start: s, end: t }) if (s, t) == (start, end)),
            "{e:?}"
        );
        let msg = e.unwrap().to_string();
        assert!(
            msg.contains(&format!("{start}..{end}")) && msg.contains("axis 1"),
            "{msg}"
        );
        let e = unsafe { Chunks::new(&a) }.unwrap().range(start..end).err();
        assert!(matches!(e, Some(Error::AxisRange { .. })), "{e:?}");
    }
    let mut w = unsafe {
        MmapOptions::new()
            .mode(Mode::CopyOnWrite)
            .map_path::<f64, Ix2, _>(dir.path().join("r.bin"), (4, 10).f())
            .unwrap()
    };
    assert!(matches!(
        StreamMut::new(&mut w).unwrap().range(0..11),
        Err(Error::AxisRange { end: 11, .. })
    ));
    // Huge windows, and a range set again after windows were taken: no overflow, no panic.
    let mut s = Stream::new(&a).unwrap().rows(usize::MAX);
    assert_eq!(s.next().map(|(i, v)| (i, v.ncols())), Some((0, 10)));
    let s = s.range(8..10).unwrap().rows(usize::MAX);
    check_windows(&a, s, 8..10, usize::MAX);
}

#[test]
fn a_fortran_order_stream_writes_through_every_window_to_the_file() {
    let dir = tmpdir();
    let p = dir.path().join("wf.bin");
    let (rows, cols) = (300, 700);
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .offset(64)
            .map_path::<u64, Ix2, _>(&p, (rows, cols).f())
            .unwrap()
    };
    // Columns 0..700 in windows of 37 columns; then only columns 100..250 again.
    let read_back = || {
        let bytes = std::fs::read(&p).unwrap();
        let vals: Vec<u64> = bytes[64..]
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        Array2::from_shape_vec((rows, cols).f(), vals).unwrap()
    };
    for behind in [Behind::Keep, Behind::Evict] {
        let mut windows = 0;
        for (first, mut w) in StreamMut::new(&mut a).unwrap().rows(37).behind(behind) {
            assert_eq!(w.nrows(), rows);
            for (j, mut col) in w.columns_mut().into_iter().enumerate() {
                for (i, x) in col.iter_mut().enumerate() {
                    *x = ((first + j) * rows + i) as u64 * 2 + behind as u64;
                }
            }
            windows += 1;
        }
        assert_eq!(windows, cols.div_ceil(37));
        let back = read_back();
        for ((i, j), &x) in back.indexed_iter() {
            assert_eq!(
                x,
                (j * rows + i) as u64 * 2 + behind as u64,
                "{behind:?} [{i}, {j}]"
            );
        }
    }
    for (first, mut w) in StreamMut::new(&mut a)
        .unwrap()
        .range(100..250)
        .unwrap()
        .rows(64)
    {
        assert!((100..250).contains(&first) && first + w.ncols() <= 250);
        w.fill(u64::MAX);
    }
    let back = read_back();
    for j in 0..cols {
        let col = back.column(j);
        let written = (100..250).contains(&j);
        assert!(
            col.iter().all(|&x| (x == u64::MAX) == written),
            "column {j}"
        );
    }
    assert_eq!(a.view(), back);
}

#[test]
fn chunks_of_a_fortran_order_array_and_of_ranges_are_the_views() {
    let dir = tmpdir();
    for f in [false, true] {
        let a = memory_indexed(dir.path(), &format!("ch{f}.bin"), 40, Ix3(3, 5, 23), f);
        let axis = outer_axis(&a);
        let len = a.shape()[axis];
        for range in ranges(len) {
            for per in [1, 2, 7, len + 5] {
                let chunks = unsafe { Chunks::new(&a) }
                    .unwrap()
                    .range(range.clone())
                    .unwrap()
                    .rows(per);
                assert_eq!(chunks.axis(), axis);
                let chunks: Vec<(usize, MmapArray<f64, Ix3>)> =
                    chunks.collect::<Result<_, _>>().unwrap();
                for (_, c) in &chunks {
                    assert_eq!(c.order(), if f { Order::F } else { Order::C });
                    let mut shape = a.shape().to_vec();
                    shape[axis] = c.shape()[axis];
                    assert_eq!(c.shape(), &shape[..]);
                }
                check_windows(
                    &a,
                    chunks.iter().map(|(i, c)| (*i, c.view())),
                    range.clone(),
                    per,
                );
            }
        }
    }
    // A chunk is part of a larger array: resizing it would cut the file under the rest.
    let p = dir.path().join("chtrue.bin");
    let w = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(40)
            .map_path::<f64, Ix3, _>(&p, (3, 5, 23).f())
            .unwrap()
    };
    let len = std::fs::metadata(&p).unwrap().len();
    let mut c = unsafe { Chunks::new(&w) }
        .unwrap()
        .rows(4)
        .next()
        .unwrap()
        .unwrap()
        .1;
    assert!(matches!(c.resize(1), Err(Error::CannotResize { .. })));
    c.view_mut().unwrap()[[2, 4, 3]] = -1.0;
    drop(c);
    assert_eq!(std::fs::metadata(&p).unwrap().len(), len);
    assert_eq!(w.view()[[2, 4, 3]], -1.0);
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
    resident_set_stays_about_one_window(false);
}

#[cfg(unix)]
#[test]
fn the_resident_set_stays_about_one_window_in_fortran_order() {
    resident_set_stays_about_one_window(true);
}

/// A 256 MiB file streamed in 8 MiB windows: in C order, 4096 rows of 64 KiB; in Fortran
/// order, 4096 columns (the last axis) of 64 KiB.
#[cfg(unix)]
fn resident_set_stays_about_one_window(fortran: bool) {
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
        let shape = if fortran {
            (64 << 10, 4096).f()
        } else {
            (4096, 64 << 10).into_shape_with_order()
        };
        let a = unsafe {
            MmapOptions::new()
                .map_path::<u8, Ix2, _>(&p, shape)
                .unwrap()
        };
        if outer_axis(&a) != usize::from(fortran) {
            return 4;
        }
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
    // The same bytes as 512 rows of 64 KiB, and as 512 columns (the last axis) of 64 KiB.
    for fortran in [false, true] {
        let shape = if fortran {
            (64 << 10, 512).f()
        } else {
            (512, 64 << 10).into_shape_with_order()
        };
        let a = unsafe { MmapOptions::new().map::<u8, Ix2, _>(&f, shape).unwrap() };
        let resident = || a.pages(..).unwrap().residency().unwrap();
        let keep = || {
            for _ in Stream::new(&a).unwrap().bytes(1 << 20).behind(Behind::Keep) {}
        };
        ndmmap::evict(&f).unwrap();
        keep();
        let r = resident();
        assert_eq!(r.resident, r.total, "Keep: the pages stay cached");
        // Evicting indices 100..300 drops their pages, and only theirs.
        let s = Stream::new(&a).unwrap().range(100..300).unwrap();
        for _ in s.bytes(1 << 20).behind(Behind::Evict) {}
        let inside = if fortran {
            a.pages(s![.., 100..300])
        } else {
            a.pages(s![100..300, ..])
        };
        let inside = inside.unwrap().residency().unwrap();
        assert!(
            inside.resident <= 2,
            "{} of {} pages still cached",
            inside.resident,
            inside.total
        );
        assert_eq!(
            resident().resident,
            r.total - inside.total,
            "the rest stays"
        );
        // All cached again (a cache miss makes the kernel read around it, behind the stream
        // too), then all evicted.
        keep();
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any shape, either order, any range, any window size: `Stream`, `StreamMut` and `Chunks`
    /// visit every element of the range exactly once, as `a.view()` sliced.
    #[test]
    fn every_walk_visits_a_range_exactly_once(
        shape in proptest::collection::vec(0usize..7, 1..=4),
        f in any::<bool>(),
        ends in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        per in 1usize..9,
        offset in 0usize..3,
    ) {
        let dir = tmpdir();
        let a = memory_indexed(dir.path(), "p.bin", offset * 8, IxDyn(&shape), f);
        let axis = outer_axis(&a);
        prop_assert_eq!(axis, if f && shape.len() > 1 && a.order() == Order::F { shape.len() - 1 } else { 0 });
        let len = a.shape()[axis];
        let (x, y) = (ends.0.index(len + 1), ends.1.index(len + 1));
        let range = x.min(y)..x.max(y);
        let s = Stream::new(&a).unwrap().range(range.clone()).unwrap().rows(per);
        check_windows(&a, s, range.clone(), per);
        let chunks: Vec<_> = unsafe { Chunks::new(&a) }
            .unwrap()
            .range(range.clone())
            .unwrap()
            .rows(per)
            .collect::<Result<_, _>>()
            .unwrap();
        check_windows(&a, chunks.iter().map(|(i, c)| (*i, c.view())), range.clone(), per);
        // Mutably, on a private map of the file: each element of the range gets one write.
        let mut m = unsafe {
            MmapOptions::new()
                .mode(Mode::CopyOnWrite)
                .offset((offset * 8) as u64)
                .map_path::<f64, IxDyn, _>(dir.path().join("p.bin"), IxDyn(&shape).set_f(f))
                .unwrap()
        };
        for (_, mut w) in StreamMut::new(&mut m).unwrap().range(range.clone()).unwrap().rows(per) {
            w.mapv_inplace(|v| v + 1000.0);
        }
        let inner = a.len().checked_div(len).unwrap_or(0);
        let written = range.start * inner..range.end * inner;
        for (i, &v) in m.as_slice().iter().enumerate() {
            let want = i as f64 + if written.contains(&i) { 1000.0 } else { 0.0 };
            prop_assert_eq!(v, want, "element {} of {:?} f={} {:?}", i, shape, f, range);
        }
        // Ranges that are not within the axis are errors, never a panic.
        prop_assert!(
            matches!(
                Stream::new(&a).unwrap().range(0..len + 1),
                Err(Error::AxisRange { start: 0, .. })
            ),
            "past the end"
        );
        if x != y {
            prop_assert!(
                matches!(
                    Stream::new(&a).unwrap().range(range.end..range.start),
                    Err(Error::AxisRange { .. })
                ),
                "reversed"
            );
        }
    }
}
