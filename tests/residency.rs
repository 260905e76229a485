//! Residency against the real page cache: mincore, counts per selection, along an axis, and
//! cachestat.
//!
//! Each test evicts its file, loads the pages it chose with `pread` under
//! `POSIX_FADV_RANDOM` (no readahead), and checks at once: the machine's memory daemon only
//! evicts pages idle for ~30 s, so nothing it does can change the answer within the test.
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::*;
use ndarray::{Axis, Ix1, Ix2, s};
use ndmmap::{Advice, CountSource, Error, MmapOptions, Mode};
use std::fs::File;

/// A file of `pages` pages, evicted, with `loaded` (file page indices) read back in.
#[cfg(unix)]
fn file_with_pages(
    dir: &std::path::Path,
    pages: usize,
    loaded: &[usize],
) -> (std::path::PathBuf, File) {
    let p = file_with(dir, "r.bin", &pattern(pages * page()));
    let f = cold(&p);
    read_pages(&f, loaded);
    (p, f)
}

#[cfg(unix)]
#[test]
fn mincore_reports_exactly_the_pages_read_at_any_offset() {
    let dir = tmpdir();
    let ps = page();
    let loaded = [0usize, 2, 3, 7, 11];
    for offset in [0, 1, ps - 1, ps + 8, 8 * 513] {
        let (_p, f) = file_with_pages(dir.path(), 12, &loaded);
        let len = 12 * ps - offset - 1; // ends inside the last page
        let a = unsafe {
            MmapOptions::new()
                .offset(offset as u64)
                .map::<u8, Ix1, _>(&f, len)
                .unwrap()
        };
        let span = a.page_span();
        assert_eq!(span.lead, offset % ps);
        assert_eq!(
            span.page_count,
            (span.lead + len).div_ceil(ps),
            "the unaligned leading page is counted"
        );
        let first = offset / ps;
        let want: Vec<bool> = (first..first + span.page_count)
            .map(|p| loaded.contains(&p))
            .collect();
        assert_eq!(
            a.pages(..).unwrap().mincore().unwrap(),
            want,
            "offset {offset}"
        );
        let r = a.pages(..).unwrap().residency().unwrap();
        assert_eq!(
            (r.resident, r.total),
            (want.iter().filter(|&&b| b).count(), want.len())
        );
    }
}

#[cfg(unix)]
#[test]
fn residency_along_rows_and_columns() {
    let dir = tmpdir();
    let ps = page();
    let cols = ps / 8; // one row per page
    let rows = 16;
    let loaded = [1usize, 4, 5, 15];
    let (_p, f) = file_with_pages(dir.path(), rows, &loaded);
    let a = unsafe {
        MmapOptions::new()
            .map::<f64, Ix2, _>(&f, (rows, cols))
            .unwrap()
    };
    let along0 = a.pages(..).unwrap().along(Axis(0)).unwrap();
    let want: Vec<f64> = (0..rows)
        .map(|r| if loaded.contains(&r) { 1.0 } else { 0.0 })
        .collect();
    assert_eq!(along0, want);
    assert_eq!(
        a.pages(..).unwrap().resident_along(Axis(0)).unwrap(),
        loaded.to_vec()
    );
    // Every column touches every row's page: the same fraction for each.
    let along1 = a.pages(..).unwrap().along(Axis(1)).unwrap();
    assert_eq!(along1.len(), cols);
    assert!(
        along1.iter().all(|&x| x == 4.0 / 16.0),
        "{:?}",
        &along1[..4]
    );
    // Sub-views: contiguous rows, strided rows, a column, a reversed slice.
    let r = a.pages(s![4..8, ..]).unwrap().residency().unwrap();
    assert_eq!((r.resident, r.total), (2, 4));
    let r = a.pages(s![1..;2, 10..20]).unwrap().residency().unwrap();
    assert_eq!((r.resident, r.total), (3, 8)); // rows 1,3,5,..,15: 1, 5, 15 resident
    let r = a.pages(s![.., 7]).unwrap().residency().unwrap();
    assert_eq!((r.resident, r.total), (4, 16));
    let r = a.pages(s![..;-5, 0]).unwrap().residency().unwrap();
    assert_eq!((r.resident, r.total), (2, 4)); // rows 15, 10, 5, 0: 15 and 5 resident
}

#[cfg(unix)]
#[test]
fn resident_ranges_merge_neighbours_and_name_partly_resident_rows() {
    use ndmmap::Residency;
    let dir = tmpdir();
    let ps = page();
    // Two pages per row: rows 2..5 whole, row 5 half, rows 9 and 10 whole (neighbours merged
    // into one range), row 12's second page, and the last row.
    let rows = 16;
    let loaded = [4, 5, 6, 7, 8, 9, 10, 18, 19, 20, 21, 25, 30, 31];
    let (_p, f) = file_with_pages(dir.path(), 2 * rows, &loaded);
    let a = unsafe {
        MmapOptions::new()
            .map::<u8, Ix2, _>(&f, (rows, 2 * ps))
            .unwrap()
    };
    let p = a.pages(..).unwrap();
    assert_eq!(p.resident_ranges(Axis(0)).unwrap(), [2..5, 9..11, 15..16]);
    assert_eq!(
        p.ranges_along(Axis(0), Residency::is_partial).unwrap(),
        [5..6, 12..13]
    );
    assert_eq!(
        p.ranges_along(Axis(0), |r| r.resident > 0).unwrap(),
        [2..6, 9..11, 12..13, 15..16]
    );
    // The same as resident_along, as ranges.
    let along = p.resident_along(Axis(0)).unwrap();
    let flat: Vec<usize> = p
        .resident_ranges(Axis(0))
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(flat, along);
    // Of a slice, numbered along the slice: rows 15, 13, 11, 9, ... reversed by 2.
    let rev = a.pages(s![..;-2, ..]).unwrap();
    assert_eq!(rev.resident_ranges(Axis(0)).unwrap(), [0..1, 3..4, 6..7]);
    // Along the inner axis every column touches one page of each row: none is whole, every
    // one is partly resident.
    assert!(p.resident_ranges(Axis(1)).unwrap().is_empty());
    let every_column = 0..2 * ps;
    assert_eq!(
        p.ranges_along(Axis(1), Residency::is_partial).unwrap(),
        [every_column]
    );
    // An empty selection has no ranges; a bad axis is an error.
    let none = a.pages(s![3..3, ..]).unwrap();
    assert!(none.resident_ranges(Axis(0)).unwrap().is_empty());
    assert!(matches!(
        p.resident_ranges(Axis(2)),
        Err(Error::BadAxis { axis: 2, ndim: 2 })
    ));
}

#[cfg(unix)]
#[test]
fn residency_along_a_fortran_array_and_an_unaligned_offset() {
    let dir = tmpdir();
    let ps = page();
    // (rows, cols) in F order with one column per page, offset by one element: each column
    // straddles two pages.
    let rows = ps / 8;
    let (_p, f) = file_with_pages(dir.path(), 9, &[2, 3]);
    let a = unsafe {
        MmapOptions::new()
            .offset(8)
            .map::<f64, Ix2, _>(&f, ndarray::ShapeBuilder::f((rows, 8)))
            .unwrap()
    };
    let cols = a.pages(..).unwrap().counts_along(Axis(1)).unwrap();
    // Column c covers bytes 8 + c*ps .. 8 + (c+1)*ps: pages c and c+1.
    let got: Vec<(usize, usize)> = cols.iter().map(|r| (r.resident, r.total)).collect();
    let want: Vec<(usize, usize)> = (0..8)
        .map(|c| ([c, c + 1].iter().filter(|p| [2, 3].contains(p)).count(), 2))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn element_and_page_indices() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "e.bin", &pattern(4 * ps));
    let a = unsafe {
        MmapOptions::new()
            .offset(ps as u64 - 8)
            .map_path::<f64, Ix1, _>(&p, 10)
            .unwrap()
    };
    assert_eq!(a.page_span().page_count, 2);
    // Element 0 ends page 0 (8 bytes before its end); elements 1..10 fill page 1.
    let pages = |r: std::ops::Range<usize>| a.pages(r).unwrap().ranges().to_vec();
    assert_eq!(pages(0..1), vec![0..1]);
    assert_eq!(pages(1..2), vec![1..2]);
    assert_eq!(pages(1..10), vec![1..2]);
    assert_eq!(pages(0..2), vec![0..2]);
    assert!(pages(5..5).is_empty());
    assert!(matches!(
        a.pages(10..11),
        Err(ndmmap::Error::RangeOutOfBounds {
            start: 10,
            end: 11,
            len: 10
        })
    ));
    assert_eq!(a.pages(1..3).unwrap().mincore().unwrap().len(), 1);
}

#[cfg(unix)]
#[test]
fn will_need_on_a_slice_loads_exactly_that_slice() {
    let dir = tmpdir();
    let ps = page();
    let cols = ps / 8;
    let (_p, f) = file_with_pages(dir.path(), 64, &[]);
    let a = unsafe {
        MmapOptions::new()
            .map::<f64, Ix2, _>(&f, (64, cols))
            .unwrap()
    };
    a.madvise(Advice::Random).unwrap();
    assert_eq!(a.pages(..).unwrap().residency().unwrap().resident, 0);
    a.pages(s![10..20, ..])
        .unwrap()
        .advise(Advice::WillNeed)
        .unwrap();
    // WillNeed is asynchronous: wait until mincore sees the pages read (cachestat counts a
    // page as cached as soon as its read starts, mincore once its data is there).
    assert!(
        eventually(3.0, || a
            .pages(s![10..20, ..])
            .unwrap()
            .mincore()
            .unwrap()
            .iter()
            .all(|&b| b)),
        "slice loaded"
    );
    assert_eq!(
        a.pages(s![10..20, ..])
            .unwrap()
            .residency()
            .unwrap()
            .resident,
        10
    );
    let rows = a.pages(..).unwrap().along(Axis(0)).unwrap();
    for (i, &r) in rows.iter().enumerate() {
        assert_eq!(r, if (10..20).contains(&i) { 1.0 } else { 0.0 }, "row {i}");
    }
}

#[cfg(unix)]
#[test]
fn will_need_over_many_readahead_windows_loads_everything() {
    // One MADV_WILLNEED loads at most one readahead window; ndmmap issues it window by window.
    let dir = tmpdir();
    let len = 48 << 20;
    let p = dir.path().join("big.bin");
    {
        let mut w = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .create(true)
                .map_path::<u8, Ix1, _>(&p, len)
                .unwrap()
        };
        w.as_slice_mut()
            .unwrap()
            .iter_mut()
            .step_by(page())
            .for_each(|b| *b = 1);
        w.msync(ndmmap::Flush::Sync).unwrap();
    }
    let f = cold(&p);
    let a = unsafe { MmapOptions::new().map::<u8, Ix1, _>(&f, len).unwrap() };
    assert!(a.pages(..).unwrap().residency().unwrap().resident < a.page_span().page_count / 4);
    a.madvise(Advice::WillNeed).unwrap();
    assert!(
        eventually(10.0, || a.pages(..).unwrap().residency().unwrap().resident
            == a.page_span().page_count),
        "resident {} of {}",
        a.pages(..).unwrap().residency().unwrap().resident,
        a.page_span().page_count
    );
}

#[cfg(target_os = "linux")]
#[test]
fn cachestat_counts_resident_and_dirty_pages() {
    let dir = tmpdir();
    let (p, f) = file_with_pages(dir.path(), 10, &[1, 2, 8]);
    let a = unsafe {
        MmapOptions::new()
            .map::<u8, Ix1, _>(&f, 10 * page())
            .unwrap()
    };
    let cs = a.pages(..).unwrap().cachestat().unwrap();
    assert_eq!(cs.pages, 10);
    assert_eq!(cs.resident, 3);
    if cs.source == CountSource::Cachestat {
        assert_eq!(cs.dirty, Some(0));
        let mut w = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .map_path::<u8, Ix1, _>(&p, 10 * page())
                .unwrap()
        };
        w.as_slice_mut().unwrap()[5 * page()] ^= 1;
        let cs = w.pages(..).unwrap().cachestat().unwrap();
        assert!(cs.dirty.unwrap() >= 1, "{cs:?}");
        w.msync(ndmmap::Flush::Sync).unwrap();
        assert_eq!(w.pages(..).unwrap().cachestat().unwrap().dirty, Some(0));
    }
    // Anonymous maps fall back to mincore.
    let anon = ndmmap::MmapArray::<u8, Ix1>::anonymous(4 * page()).unwrap();
    assert_eq!(
        anon.pages(..).unwrap().cachestat().unwrap().source,
        CountSource::Mincore
    );
}

#[test]
#[allow(clippy::reversed_empty_ranges)] // a reversed range is one of the bad inputs
fn bad_parts_are_errors_not_panics() {
    let a = ndmmap::MmapArray::<f32, Ix2>::anonymous((4, 5)).unwrap();
    assert!(matches!(
        a.pages(3..21).and_then(|p| p.residency()),
        Err(Error::RangeOutOfBounds {
            start: 3,
            end: 21,
            len: 20
        })
    ));
    assert!(matches!(
        a.pages(5..2).and_then(|p| p.advise(Advice::Normal)),
        Err(Error::RangeOutOfBounds { .. })
    ));
    assert!(matches!(
        a.pages(s![4, ..]).and_then(|p| p.residency()),
        Err(Error::BadSlice(_))
    ));
    assert!(matches!(
        a.pages(s![.., 0..6])
            .and_then(|p| p.flush(ndmmap::Flush::Sync)),
        Err(Error::BadSlice(_))
    ));
    assert!(matches!(
        a.pages(..).and_then(|p| p.along(Axis(2))),
        Err(Error::BadAxis { axis: 2, ndim: 2 })
    ));
    let e = a.pages(s![.., 0..6]).unwrap_err();
    assert!(e.to_string().contains("axis 1 of length 5"), "{e}");
}

#[test]
fn mincore_of_a_large_span_split_across_threads_is_exact() {
    // 600 MiB: over the size at which mincore is split between threads.
    let ps = page();
    let pages = (600 << 20) / ps;
    let mut a = ndmmap::MmapArray::<u8, Ix2>::anonymous((pages, ps)).unwrap();
    #[cfg(unix)] // no transparent huge pages on Windows (and no such advice)
    a.madvise(Advice::NoHugePage).unwrap();
    let touched = [0, 1, pages / 3, pages / 2 + 1, pages - 1];
    {
        let mut v = a.view_mut().unwrap();
        for &p in &touched {
            v[[p, 7]] = 1;
        }
    }
    let m = a.pages(..).unwrap().mincore().unwrap();
    assert_eq!(m.len(), pages);
    let resident: Vec<usize> = m
        .iter()
        .enumerate()
        .filter(|(_, r)| **r)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(resident, touched.to_vec());
    let rows = a.pages(..).unwrap().resident_along(Axis(0)).unwrap();
    assert_eq!(rows, touched.to_vec());
}

#[cfg(unix)]
#[test]
fn residency_along_a_slice_and_evicting_a_slice() {
    let dir = tmpdir();
    let ps = page();
    let cols = ps / 8;
    let loaded = [3usize, 4, 9, 12];
    let (_p, f) = file_with_pages(dir.path(), 16, &loaded);
    let a = unsafe {
        MmapOptions::new()
            .map::<f64, Ix2, _>(&f, (16, cols))
            .unwrap()
    };
    // Rows 2..14 step 2 (2, 4, 6, 8, 10, 12), along the slice's axis 0.
    let r = a.pages(s![2..14;2, ..]).unwrap().along(Axis(0)).unwrap();
    assert_eq!(r, vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    // An index removes an axis: column 5 of rows 8.., along the remaining axis.
    let r = a.pages(s![8.., 5]).unwrap().along(Axis(0)).unwrap();
    assert_eq!(
        r,
        (8..16)
            .map(|i| if loaded.contains(&i) { 1.0 } else { 0.0 })
            .collect::<Vec<_>>()
    );
    assert!(matches!(
        a.pages(s![.., 5]).unwrap().along(Axis(1)),
        Err(Error::BadAxis { axis: 1, ndim: 1 })
    ));
    // Evicting rows 0..10 leaves only row 12 resident.
    a.pages(s![0..10, ..]).unwrap().evict().unwrap();
    assert_eq!(
        a.pages(..).unwrap().resident_along(Axis(0)).unwrap(),
        vec![12]
    );
    a.pages(..).unwrap().evict().unwrap();
    assert_eq!(a.pages(..).unwrap().residency().unwrap().resident, 0);
    let anon = ndmmap::MmapArray::<u8, Ix1>::anonymous(10).unwrap();
    assert!(matches!(
        anon.pages(..).unwrap().evict(),
        Err(Error::Unsupported { .. })
    ));
}

/// The pages (from the array's first page) that `elems` touch, from their addresses.
#[cfg(unix)]
fn pages_of<'a>(base: usize, elems: impl Iterator<Item = &'a f64>) -> Vec<usize> {
    let ps = page();
    let mut p: Vec<usize> = elems
        .flat_map(|x| {
            let at = x as *const f64 as usize - base;
            [at / ps, (at + 7) / ps]
        })
        .collect();
    p.sort_unstable();
    p.dedup();
    p
}

#[cfg(unix)]
#[test]
#[allow(clippy::single_range_in_vec_init)] // one page, one group: meant
fn counts_along_groups_equal_each_group_counted_alone() {
    use ndarray::{IxDyn, ShapeBuilder, Slice, SliceInfoElem};
    let dir = tmpdir();
    let loaded = [0usize, 2, 3, 7, 11, 12, 13];
    let selections: Vec<Vec<SliceInfoElem>> = vec![
        s![.., ..].as_ref().to_vec(),
        s![..;-1, ..].as_ref().to_vec(),
        s![2..20;3, ..].as_ref().to_vec(),
        s![.., 5..200].as_ref().to_vec(),
        s![.., ..;-2].as_ref().to_vec(),
        s![3, ..].as_ref().to_vec(),
        s![-5.., 100].as_ref().to_vec(),
    ];
    for fortran in [false, true] {
        let (_p, f) = file_with_pages(dir.path(), 16, &loaded);
        // 24 x 300 f64 at byte 8: rows (or columns) straddle pages.
        let a = unsafe {
            MmapOptions::new()
                .offset(8)
                .map::<f64, IxDyn, _>(&f, IxDyn(&[24, 300]).set_f(fortran))
                .unwrap()
        };
        let whole = a.pages(..).unwrap();
        let bits = whole.mincore().unwrap();
        let base = a.view().as_ptr() as usize - a.page_span().lead;
        let count = |pages: &[usize], away: &[usize]| {
            let kept: Vec<usize> = pages
                .iter()
                .copied()
                .filter(|p| !away.contains(p))
                .collect();
            let resident = kept.iter().filter(|&&p| bits[p]).count();
            (resident, kept.len())
        };
        for elems in &selections {
            let v = a.view();
            let v = v.slice(elems.as_slice());
            let p = a.pages(elems).unwrap();
            // Without the selection's first page: the counts see only the pages left.
            let first_page = p.ranges()[0].start;
            let q = p.without(&[first_page..first_page + 1]);
            for k in 0..v.ndim() {
                let n = v.shape()[k];
                let mut groups = ndmmap::even_groups(n, 7);
                groups.extend([0..0, 0..n, n / 2..n]);
                for (sel, away) in [(&p, vec![]), (&q, vec![first_page])] {
                    let got = sel.counts_along_groups(Axis(k), &groups).unwrap();
                    for (r, g) in groups.iter().zip(&got) {
                        let sub = v.slice_axis(Axis(k), Slice::from(r.clone()));
                        let want = count(&pages_of(base, sub.iter()), &away);
                        assert_eq!(
                            (g.resident, g.total),
                            want,
                            "F {fortran}, {elems:?}, axis {k}, group {r:?}, away {away:?}"
                        );
                    }
                }
            }
            let bad = p.counts_along_groups(Axis(0), &[0..v.shape()[0] + 1]);
            assert!(matches!(bad, Err(Error::BadSlice(_))), "{bad:?}");
            let bad = p.counts_along_groups(Axis(v.ndim()), &[]);
            assert!(matches!(bad, Err(Error::BadAxis { .. })), "{bad:?}");
        }
        // An element range: its elements, in logical order, are the one axis.
        let (start, len) = (290, 1000);
        let p = a.pages(start..start + len).unwrap();
        let groups = ndmmap::even_groups(len, 6);
        let got = p.counts_along_groups(Axis(0), &groups).unwrap();
        for (r, g) in groups.iter().zip(&got) {
            let elems = a.view().into_iter().skip(start + r.start).take(r.len());
            assert_eq!((g.resident, g.total), count(&pages_of(base, elems), &[]));
        }
    }
}

#[cfg(unix)]
#[test]
fn parts_without_the_pages_of_earlier_parts_count_each_page_once() {
    use ndarray::{IxDyn, ShapeBuilder};
    let dir = tmpdir();
    let (_p, f) = file_with_pages(dir.path(), 16, &[1, 2, 5, 8, 9, 14]);
    for fortran in [false, true] {
        for offset in [0u64, 24, 4000] {
            // 37 rows of 45 f64: rows end anywhere in a page.
            let a = unsafe {
                MmapOptions::new()
                    .offset(offset)
                    .map::<f64, IxDyn, _>(&f, IxDyn(&[37, 45]).set_f(fortran))
                    .unwrap()
            };
            let whole = a.pages(..).unwrap();
            let all = whole.residency().unwrap();
            for size in 1..=5 {
                let mut seen: Vec<usize> = Vec::new();
                let mut sum = ndmmap::Residency::default();
                for rank in 0..size {
                    // Balanced to within one row, as ndmmap::slab shares rows.
                    let at = |r: usize| r * 37 / size;
                    let rows = at(rank)..at(rank + 1);
                    let mine = a.pages(s![rows.clone(), ..].as_ref()).unwrap();
                    let before = a.pages(s![..rows.start, ..].as_ref()).unwrap();
                    let owned = mine.without(before.ranges());
                    for r in owned.ranges() {
                        assert!(r.clone().all(|p| !seen.contains(&p)), "page given twice");
                        seen.extend(r.clone());
                    }
                    let c = owned.residency().unwrap();
                    sum.resident += c.resident;
                    sum.total += c.total;
                }
                seen.sort_unstable();
                let want: Vec<usize> = whole.ranges().iter().flat_map(Clone::clone).collect();
                assert_eq!(seen, want, "F {fortran}, offset {offset}, {size} parts");
                assert_eq!(sum, all, "F {fortran}, offset {offset}, {size} parts");
            }
        }
    }
}
