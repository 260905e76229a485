//! The page selector: `..`, element ranges in logical order and slices give the pages they
//! touch, in ascending order; counts from cachestat agree with mincore; residency the kernel
//! hides is reported as unknown, never as a number.
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::*;
use ndarray::{Array, Axis, Ix2, IxDyn, ShapeBuilder, SliceInfoElem, s};
use ndmmap::{CountSource, Error, MmapArray, MmapOptions};
use std::collections::BTreeSet;
use std::ops::Range;

/// The pages (from the array's first page) that the elements at `offsets` (in elements from
/// element 0) touch, by brute force.
fn pages_of(lead: usize, es: usize, offsets: impl Iterator<Item = usize>) -> BTreeSet<usize> {
    let ps = page();
    offsets
        .flat_map(|o| (lead + o * es) / ps..=(lead + o * es + es - 1) / ps)
        .collect()
}

fn flatten(ranges: &[Range<usize>]) -> BTreeSet<usize> {
    ranges.iter().flat_map(|r| r.clone()).collect()
}

fn ascending(ranges: &[Range<usize>]) -> bool {
    ranges.windows(2).all(|w| w[0].end < w[1].start) && ranges.iter().all(|r| r.start < r.end)
}

#[test]
fn element_ranges_follow_logical_order_in_fortran_arrays() {
    // 37 x 300 f64 in Fortran order: a logical row is strided across pages.
    let (rows, cols) = (37, 300);
    let a = MmapArray::<f64, Ix2>::anonymous_private((rows, cols).f()).unwrap();
    let lead = a.page_span().lead;
    // Element offsets in logical (row-major) order.
    let probe = Array::from_shape_fn((rows, cols).f(), |(i, j)| i + j * rows);
    let logical: Vec<usize> = probe.iter().copied().collect();
    for r in [
        0..1,
        0..300,
        5..905,
        299..301,
        0..rows * cols,
        7000..7001,
        4..4,
    ] {
        let p = a.pages(r.clone()).unwrap();
        assert!(ascending(p.ranges()), "{r:?}: {:?}", p.ranges());
        let want = pages_of(lead, 8, logical[r.clone()].iter().copied());
        assert_eq!(flatten(p.ranges()), want, "{r:?}");
        assert_eq!(p.len(), want.len());
        // One fraction per element of the range.
        assert_eq!(p.along(Axis(0)).unwrap().len(), r.len());
    }
}

#[test]
fn negative_steps_visit_the_same_pages_in_ascending_order() {
    let a = MmapArray::<f32, Ix2>::anonymous((512, 1000)).unwrap();
    let fwd = a.pages(s![10..400;3, 5..900]).unwrap();
    let back = a.pages(s![10..400;-3, 5..900;-1]).unwrap();
    assert!(ascending(back.ranges()));
    // Same rows either way (ndarray walks a negative step from the end of the range).
    let rows_back: BTreeSet<usize> = (10..400).rev().step_by(3).collect();
    let rows_fwd: BTreeSet<usize> = (10..400).step_by(3).collect();
    let lead = a.page_span().lead;
    let cells = |rows: &BTreeSet<usize>| {
        pages_of(
            lead,
            4,
            rows.iter()
                .flat_map(|&i| (5..900).map(move |j| i * 1000 + j))
                .collect::<Vec<_>>()
                .into_iter(),
        )
    };
    assert_eq!(flatten(fwd.ranges()), cells(&rows_fwd));
    assert_eq!(flatten(back.ranges()), cells(&rows_back));
    // along() follows the slice's own order: index 0 of the reversed slice is row 397.
    let along = back.counts_along(Axis(0)).unwrap();
    assert_eq!(along.len(), rows_back.len());
    let last = a.pages(s![397, 5..900]).unwrap().len();
    assert_eq!(along[0].total, last);
}

#[test]
fn dynamic_arrays_take_runtime_slices() {
    let a = MmapArray::<u16, IxDyn>::anonymous(IxDyn(&[64, 3, 2048])).unwrap();
    let elems: Vec<SliceInfoElem> = vec![
        SliceInfoElem::Slice {
            start: 1,
            end: Some(3),
            step: 1,
        },
        SliceInfoElem::Index(2),
        SliceInfoElem::from(..),
    ];
    let by_vec = a.pages(&elems).unwrap().ranges().to_vec();
    let by_slice = a.pages(elems.as_slice()).unwrap().ranges().to_vec();
    let by_macro = a.pages(s![1..3, 2, ..]).unwrap().ranges().to_vec();
    assert_eq!(by_vec, by_macro);
    assert_eq!(by_slice, by_macro);
    let bad = vec![SliceInfoElem::Index(64)];
    assert!(matches!(
        a.pages(&bad),
        Err(Error::BadSlice(ndmmap::SliceError::IndexOutOfBounds {
            index: 64,
            axis: 0,
            len: 64
        }))
    ));
}

#[cfg(target_os = "linux")]
#[test]
fn cachestat_and_mincore_counts_agree_on_chosen_pages() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "c.bin", &pattern(200 * ps));
    let f = cold(&p);
    let chosen = [0, 1, 2, 17, 99, 100, 150, 199];
    read_pages(&f, &chosen);
    // Rows of one page each, 8 bytes past the start of the file: every row spans two pages.
    let a = unsafe {
        MmapOptions::new()
            .offset(8)
            .map::<u64, Ix2, _>(&f, (199, ps / 8))
            .unwrap()
    };
    let whole = a.pages(..).unwrap();
    let cs = whole.cachestat().unwrap();
    assert_eq!(
        cs.source,
        CountSource::Cachestat,
        "kernel 6.5+ has cachestat"
    );
    let by_mincore = whole.mincore().unwrap().iter().filter(|&&b| b).count();
    assert_eq!(cs.resident as usize, chosen.len());
    assert_eq!(by_mincore, chosen.len());
    assert_eq!(whole.residency().unwrap().resident, chosen.len());
    // A contiguous part (rows 90..160 touch file pages 90..=160) and a strided one.
    for sel in [s![90..160, ..], s![..;50, ..]] {
        let part = a.pages(sel).unwrap();
        let bits = part.mincore().unwrap().iter().filter(|&&b| b).count();
        assert_eq!(part.residency().unwrap().resident, bits);
    }
    let part = a.pages(s![90..160, ..]).unwrap();
    assert_eq!(part.residency().unwrap().resident, 3); // pages 99, 100, 150
    assert_eq!(part.cachestat().unwrap().source, CountSource::Cachestat);
}

#[cfg(target_os = "linux")]
#[test]
fn residency_the_kernel_hides_is_unknown_not_a_number() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("needs root to become nobody and own a file nobody cannot write");
        return;
    }
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "root.bin", &pattern(20 * ps));
    let f = cold(&p);
    read_pages(&f, &[3]);
    let shared = file_with(dir.path(), "shared.bin", &pattern(20 * ps));
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let g = cold(&shared);
    read_pages(&g, &[3]);
    let code = as_nobody(move || {
        // The file is root's and 0644: since Linux 5.2 nobody sees its page cache.
        let a = unsafe { MmapOptions::new().map_1d::<u8>(&f).unwrap() };
        let p = a.pages(..).unwrap();
        let unknown = |r: Result<(), Error>| matches!(r, Err(Error::ResidencyUnknown { .. }));
        let checks = [
            unknown(p.residency().map(drop)),
            unknown(p.mincore().map(drop)),
            unknown(p.along(Axis(0)).map(drop)),
            unknown(p.cachestat().map(drop)),
        ];
        if checks != [true; 4] {
            return 10;
        }
        let msg = p.residency().unwrap_err().to_string();
        if !(msg.contains("root.bin") && msg.contains("owner")) {
            return 11;
        }
        // Other page operations still work.
        if p.advise(ndmmap::Advice::WillNeed).is_err() {
            return 12;
        }
        // A file nobody may write shows its page cache truthfully.
        let b = unsafe { MmapOptions::new().map_1d::<u8>(&g).unwrap() };
        match b.pages(..).and_then(|p| p.residency()) {
            Ok(r) if r.resident == 1 => {}
            _ => return 13,
        }
        // Anonymous memory is always known.
        let anon = MmapArray::<u8, ndarray::Ix1>::anonymous(ps).unwrap();
        if anon.pages(..).and_then(|p| p.residency()).is_err() {
            return 14;
        }
        0
    });
    if code == 77 {
        skip_or_fail("could not become nobody (setgroups, setgid or setuid failed)");
        return;
    }
    assert_eq!(
        code, 0,
        "check {code} failed (see the child's numbered checks)"
    );
}

#[test]
fn pages_mut_of_every_page_restores_full_access() {
    let mut a = MmapArray::<u8, Ix2>::anonymous((4, 2 * page())).unwrap();
    a.pages_mut(s![1, ..])
        .unwrap()
        .protect(ndmmap::Protection::Read)
        .unwrap();
    assert!(a.view_mut().is_err());
    a.pages_mut(s![.., ..;-1])
        .unwrap()
        .protect(ndmmap::Protection::ReadWrite)
        .unwrap();
    assert!(a.view_mut().is_ok());
}

/// A random slice of one axis of length `n`: an index, or a range with a step of either sign.
fn axis_elem(n: usize) -> impl Strategy<Value = SliceInfoElem> {
    let n = n as isize;
    prop_oneof![
        (0..n).prop_map(SliceInfoElem::Index),
        (0..=n, 0..=n, prop_oneof![1isize..4, -4isize..-1]).prop_map(|(a, b, step)| {
            SliceInfoElem::Slice {
                start: a.min(b),
                end: Some(a.max(b)),
                step,
            }
        }),
    ]
}

use proptest::prelude::*;

/// A shape, an order and a slice of it.
fn shape_and_slice() -> impl Strategy<Value = (Vec<usize>, bool, Vec<SliceInfoElem>)> {
    (1usize..40, 1usize..40, 1usize..5, any::<bool>()).prop_flat_map(|(r, c, d, f)| {
        (
            Just(vec![r, c, d]),
            Just(f),
            (axis_elem(r), axis_elem(c), axis_elem(d)).prop_map(|(x, y, z)| vec![x, y, z]),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any slice of a C- or F-order array: its pages are exactly those of the view's elements,
    /// ascending, and `counts_along` counts each index's pages as brute force does.
    #[test]
    fn slices_select_exactly_their_elements_pages((shape, f, elems) in shape_and_slice()) {
        let es = 8;
        let a = MmapArray::<u64, IxDyn>::anonymous_private(IxDyn(&shape).set_f(f)).unwrap();
        // Element offsets of the view, from a probe array laid out like the map.
        let n: usize = shape.iter().product();
        let probe = Array::from_shape_vec(IxDyn(&shape).set_f(f), (0..n).collect::<Vec<usize>>()).unwrap();
        let probe = {
            // Values are memory offsets: fill in memory order.
            let mut p = probe;
            for (k, v) in p.as_slice_memory_order_mut().unwrap().iter_mut().enumerate() {
                *v = k;
            }
            p
        };
        let view = probe.slice(elems.as_slice());
        let lead = a.page_span().lead;
        let p = a.pages(&elems).unwrap();
        prop_assert!(ascending(p.ranges()));
        prop_assert_eq!(flatten(p.ranges()), pages_of(lead, es, view.iter().copied()));
        if view.ndim() > 0 {
            let counts = p.counts_along(Axis(0)).unwrap();
            prop_assert_eq!(counts.len(), view.len_of(Axis(0)));
            for (i, c) in counts.iter().enumerate() {
                let sub = view.index_axis(Axis(0), i);
                prop_assert_eq!(c.total, pages_of(lead, es, sub.iter().copied()).len());
            }
        }
    }
}

/// Advice that faults pages in, given over a file another process truncated, is the short
/// file's `TooShort` with both lengths, not `EFAULT` ("Bad address"; issue 21). In a forked
/// child, so that a fault the kernel raised instead would end the child, not the suite.
#[cfg(target_os = "linux")]
#[test]
fn populating_a_truncated_file_is_too_short() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "t.bin", &vec![1u8; 64 * ps]);
    let probe = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
    if let Err(e) = probe
        .pages(..)
        .unwrap()
        .advise(ndmmap::Advice::PopulateRead)
    {
        skip_or_fail(&format!("MADV_POPULATE_READ (Linux 5.14+) refused: {e}"));
        return;
    }
    drop(probe);
    let code = in_child(move || {
        let check = |ok: bool, code: i32| if ok { Ok(()) } else { Err(code) };
        let run = || -> Result<(), i32> {
            let a = unsafe {
                MmapOptions::new()
                    .mode(ndmmap::Mode::ReadWrite)
                    .map_path_1d::<u8>(&p)
                    .unwrap()
            };
            std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .unwrap()
                .set_len(8 * ps as u64)
                .unwrap();
            let short = |r: Result<(), Error>| {
                matches!(r, Err(Error::TooShort { len, needed, .. })
                    if len == 8 * ps as u64 && needed == 64 * ps as u64)
            };
            let all = a.pages(..).unwrap();
            let e = all.advise(ndmmap::Advice::PopulateRead);
            let text = e
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default();
            check(short(e), 1)?;
            check(
                text.contains("t.bin") && text.contains(&(8 * ps).to_string()),
                2,
            )?;
            check(!text.contains("Bad address"), 3)?;
            check(short(all.advise(ndmmap::Advice::PopulateWrite)), 4)?;
            // A strided selection that reaches past the end: the same.
            check(
                short(
                    a.pages(s![..;ps])
                        .unwrap()
                        .advise(ndmmap::Advice::PopulateRead),
                ),
                5,
            )?;
            // The pages still in the file populate.
            check(
                a.pages(0..8 * ps)
                    .unwrap()
                    .advise(ndmmap::Advice::PopulateRead)
                    .is_ok(),
                6,
            )
        };
        run().err().unwrap_or(0)
    });
    assert_eq!(code, 0, "check {code} failed");
}

/// Issue 22: `evict_report` counts what left the cache and why the rest stayed; dirty pages
/// leave once written back (`Dirty::WriteBack`).
#[cfg(target_os = "linux")]
#[test]
fn evict_report_says_what_left_and_why() {
    use ndmmap::Dirty;
    let dir = tmpdir();
    let p = dir.path().join("e.bin");
    let mut w = unsafe {
        MmapOptions::new()
            .mode(ndmmap::Mode::ReadWrite)
            .create(true)
            .map_path::<u8, ndarray::Ix1, _>(&p, 32 * page())
            .unwrap()
    };
    w.view_mut().unwrap().fill(7);
    // Mapped and touched by this process: they stay, whatever else is true of them.
    let e = w.pages(..).unwrap().evict_report(Dirty::Stay).unwrap();
    assert_eq!(
        (e.selected, e.before, e.written_back),
        (32, Some(32), false)
    );
    assert_eq!(e.evicted.unwrap() + e.after.unwrap(), 32);
    if let (Some(d), Some(wb), Some(u)) = (e.dirty, e.writeback, e.in_use) {
        assert_eq!(d + wb + u, e.after.unwrap(), "{e:?}");
    }
    assert!(
        e.to_string()
            .starts_with(&format!("evicted {} of 32 pages", e.evicted.unwrap()))
    );
    drop(w);
    // Not mapped by anyone now: written back first, every page leaves.
    let r = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
    let e = r.pages(..).unwrap().evict_report(Dirty::WriteBack).unwrap();
    assert!(e.written_back);
    assert_eq!((e.after, e.evicted), (Some(0), e.before), "{e:?}");
    assert!(e.to_string().ends_with(": 0 still resident"), "{e}");
    assert!(!e.partial, "the whole file: {e:?}");
    // A slice leaves out pages of the file: pages at its ends may stay in large folios that
    // reach past it, which the report says rather than blaming a mapping.
    let mut buf = vec![0u8; 32 * page()];
    std::io::Read::read_exact(&mut std::fs::File::open(&p).unwrap(), &mut buf).unwrap();
    let e = r.pages(5 * page() + 1..20 * page()).unwrap();
    let e = e.evict_report(Dirty::Stay).unwrap();
    assert!(e.partial, "{e:?}");
    if e.in_use.unwrap_or(0) > 0 {
        assert!(e.to_string().contains("large folio"), "{e}");
    }
    assert!(matches!(
        MmapArray::<u8, ndarray::Ix1>::anonymous(4096)
            .unwrap()
            .pages(..)
            .unwrap()
            .evict_report(Dirty::Stay),
        Err(Error::Unsupported { .. })
    ));
}
