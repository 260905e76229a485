//! Owned, shareable views: `SharedArray` handles and their sub-views outlive the array they
//! came from, cross threads and channels, slice like ndarray, and unmap with the last of them.
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::{page, tmpdir};
use ndarray::{Array3, ArrayView, Axis, Ix1, Ix2, Ix3, IxDyn, SliceInfoElem, s};
use ndmmap::{Advice, Error, MmapArray, MmapOptions, Mode, SharedArray};
use proptest::prelude::*;
use std::sync::mpsc;

fn assert_send_sync_static<T: Clone + Send + Sync + 'static>() {}

#[test]
fn handles_are_clone_send_sync_and_static() {
    assert_send_sync_static::<SharedArray<f64, Ix2>>();
    assert_send_sync_static::<SharedArray<u8, IxDyn>>();
}

/// Whether `/proc/self/maps` has a mapping of `path` that contains `addr` (of this file: the
/// address may be reused by another test's mapping once this one is gone).
#[cfg(unix)]
fn mapped(addr: usize, path: &std::path::Path) -> bool {
    common::maps_line(addr).is_some_and(|l| l.ends_with(path.to_str().unwrap()))
}

#[cfg(unix)]
#[test]
fn an_owned_view_outlives_its_handle_in_another_thread_and_unmaps_last() {
    let dir = tmpdir();
    let path = dir.path().join("rows.bin");
    // SAFETY: the file is this test's alone.
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .map_path::<u64, Ix2, _>(&path, (256, 1024))
            .unwrap()
    };
    for (i, mut row) in a.view_mut().unwrap().rows_mut().into_iter().enumerate() {
        row.fill(i as u64);
    }
    let addr = a.view().as_ptr() as usize;
    let shared = a.into_shared();
    let (tx, rx) = mpsc::channel::<SharedArray<u64, Ix1>>();
    let worker = std::thread::spawn(move || {
        let rows: Vec<_> = rx.iter().collect();
        // The original handle is gone by now (the main thread waits for nothing).
        rows.iter().map(|r| r.view().sum()).sum::<u64>()
    });
    for i in [3usize, 100, 255] {
        tx.send(shared.slice(s![i, ..]).unwrap()).unwrap();
    }
    assert_eq!(shared.handles(), 4);
    drop(shared);
    // Checked while the worker still waits on the channel: once it is closed the worker may
    // sum and drop its sub-views before this thread looks.
    assert!(mapped(addr, &path), "the sub-views still hold the mapping");
    drop(tx);
    assert_eq!(worker.join().unwrap(), (3 + 100 + 255) * 1024);
    assert!(!mapped(addr, &path), "the last sub-view unmapped it");
}

#[test]
fn sub_views_equal_ndarray_slices_of_the_whole() {
    let mut a = MmapArray::<i64, Ix3>::anonymous((6, 7, 5)).unwrap();
    for (i, x) in a.view_mut().unwrap().iter_mut().enumerate() {
        *x = i as i64;
    }
    let h = a.into_shared();
    let whole = h.view().to_owned();
    let s1 = h.slice(s![1..5;2, ..;-1, 3]).unwrap();
    assert_eq!(s1.view(), whole.slice(s![1..5;2, ..;-1, 3]));
    // A slice of a slice composes, negative steps included.
    let s2 = s1.slice(s![..;-1, 2..]).unwrap();
    assert_eq!(
        s2.view(),
        whole.slice(s![1..5;2, ..;-1, 3]).slice(s![..;-1, 2..])
    );
    let s3 = h.slice(s![.., NewAxis, 4, -2..]).unwrap();
    assert_eq!(s3.shape(), &[6, 1, 2]);
    assert_eq!(s3.view(), whole.slice(s![.., NewAxis, 4, -2..]));
    // Empty selections are fine and hold no element.
    let empty = h.slice(s![3..3, .., ..;-2]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.view().shape(), &[0, 7, 3]);
}

use ndarray::NewAxis;

#[test]
fn bad_slices_are_errors_not_panics() {
    let h = MmapArray::<f32, Ix2>::anonymous((4, 5))
        .unwrap()
        .into_shared();
    assert!(matches!(h.slice(s![4, ..]), Err(Error::BadSlice(_))));
    assert!(matches!(h.slice(s![.., 2..9]), Err(Error::BadSlice(_))));
    assert!(matches!(h.slice(s![.., -6..]), Err(Error::BadSlice(_))));
    let d = h.clone().into_dyn();
    let too_many = [SliceInfoElem::from(0), 0.into(), 0.into()];
    assert!(matches!(d.slice(&too_many[..]), Err(Error::BadSlice(_))));
    // Missing trailing axes of a dynamic handle are taken whole, as `pages` takes them.
    let first_row = d.slice(&[SliceInfoElem::from(1)][..]).unwrap();
    assert_eq!(first_row.shape(), &[5]);
}

#[test]
fn mutation_needs_the_only_handle_or_the_raw_escape_hatch() {
    let mut h = MmapArray::<u32, Ix2>::anonymous((8, 512))
        .unwrap()
        .into_shared();
    let top = h.slice(s![..4, ..]).unwrap();
    match h.view_mut() {
        Err(Error::Shared { handles }) => assert_eq!(handles, 2),
        other => panic!("{other:?}"),
    }
    // Disjoint writers through raw views, one thread per half.
    let bottom = h.slice(s![4.., ..]).unwrap();
    std::thread::scope(|sc| {
        for (part, v) in [(top.clone(), 1u32), (bottom, 2)] {
            sc.spawn(move || {
                let raw = part.raw_view_mut().unwrap();
                // SAFETY: the halves are disjoint and nobody reads them meanwhile.
                unsafe { raw.deref_into_view_mut() }.fill(v);
            });
        }
    });
    drop(top);
    assert_eq!(h.view().sum(), 4 * 512 + 2 * 4 * 512);
    h.view_mut().unwrap().fill(0);
    let a = h.into_array().unwrap();
    assert_eq!(a.view().sum(), 0);
}

#[test]
fn a_read_only_handle_gives_no_writable_view() {
    let dir = tmpdir();
    let p = common::file_with(dir.path(), "ro.bin", &[1u8; 4096]);
    // SAFETY: the file is this test's alone.
    let a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
    let mut h = a.into_shared();
    assert_eq!(h.mode(), Mode::ReadOnly);
    assert!(matches!(h.view_mut(), Err(Error::NotWritable { .. })));
    assert!(matches!(h.raw_view_mut(), Err(Error::NotWritable { .. })));
    assert!(h.view().iter().all(|&x| x == 1));
}

#[test]
fn a_slice_is_not_turned_back_into_an_array() {
    let h = MmapArray::<u8, Ix2>::anonymous((4, 4))
        .unwrap()
        .into_shared();
    let part = h.slice(s![1.., ..]).unwrap();
    drop(h);
    let part = part.into_array().unwrap_err();
    assert_eq!(part.handles(), 1);
}

#[test]
fn pages_of_a_sub_view_are_those_of_the_same_selection_of_the_array() {
    let ps = page();
    let cols = ps / 8;
    let a = MmapArray::<f64, Ix2>::anonymous((64, cols * 3)).unwrap();
    let want: Vec<_> = a
        .pages(s![10..20;3, cols..2 * cols])
        .unwrap()
        .ranges()
        .to_vec();
    let want_rev: Vec<_> = a.pages(s![..;-5, 7]).unwrap().ranges().to_vec();
    let h = a.into_shared();
    let sub = h.slice(s![10..20;3, cols..2 * cols]).unwrap();
    assert_eq!(sub.pages(..).unwrap().ranges(), &want[..]);
    let rev = h.slice(s![..;-5, ..]).unwrap();
    assert_eq!(rev.pages(s![.., 7]).unwrap().ranges(), &want_rev[..]);
    // Residency per row of a sub-view, after populating only its pages.
    let rows = h.slice(s![32.., ..]).unwrap();
    rows.pages(..)
        .unwrap()
        .advise(Advice::PopulateRead)
        .unwrap();
    let along = h.pages(..).unwrap().along(Axis(0)).unwrap();
    assert!(along[..32].iter().all(|&f| f == 0.0), "{along:?}");
    assert!(along[32..].iter().all(|&f| f == 1.0), "{along:?}");
    assert_eq!(
        rows.pages(..).unwrap().along(Axis(0)).unwrap(),
        vec![1.0; 32]
    );
}

#[test]
fn a_file_backed_handle_guards_faults_and_keeps_the_file_open() {
    let dir = tmpdir();
    let path = common::file_with(dir.path(), "g.bin", &vec![7u8; 4 * page()]);
    // SAFETY: the file is this test's; it is truncated on purpose, under the guard.
    let h = unsafe { MmapOptions::new().map_path_1d::<u8>(&path).unwrap() }.into_shared();
    let tail = h.slice(s![2 * page()..]).unwrap();
    drop(h);
    std::fs::remove_file(&path).unwrap(); // the mapping keeps the data
    let sum = tail.guarded(|v| v.iter().map(|&x| x as u64).sum::<u64>());
    assert_eq!(sum.unwrap(), 7 * 2 * page() as u64);
}

fn check_slice_roundtrip(shape: (usize, usize, usize), elems: Vec<SliceInfoElem>) {
    let mut a = MmapArray::<u16, IxDyn>::anonymous(IxDyn(&[shape.0, shape.1, shape.2])).unwrap();
    for (i, x) in a.view_mut().unwrap().iter_mut().enumerate() {
        *x = i as u16;
    }
    let whole: Array3<u16> = a.view().to_owned().into_dimensionality().unwrap();
    let h = a.into_shared();
    let Ok(sub) = h.slice(&elems[..]) else {
        return;
    };
    let want: ArrayView<u16, IxDyn> = whole.view().into_dyn().slice_move(&elems[..]);
    assert_eq!(sub.view(), want);
    // The sub-view's pages cover exactly its elements' bytes.
    let base = h.view().as_ptr() as usize;
    let ps = page();
    let lead = base % ps;
    let mut expect: Vec<usize> = sub
        .view()
        .iter()
        .map(|x| (lead + (x as *const u16 as usize - base)) / ps)
        .collect();
    expect.sort();
    expect.dedup();
    let got: Vec<usize> = sub
        .pages(..)
        .unwrap()
        .ranges()
        .iter()
        .flat_map(|r| r.clone())
        .collect();
    assert_eq!(got, expect);
}

fn elem(n: usize) -> impl Strategy<Value = SliceInfoElem> {
    let n = n as isize;
    prop_oneof![
        (-n..n.max(1)).prop_map(SliceInfoElem::from),
        (
            -n..=n,
            proptest::option::of(-n..=n),
            prop_oneof![-3isize..0, 1isize..4]
        )
            .prop_map(|(start, end, step)| SliceInfoElem::Slice { start, end, step }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_slice_matches_ndarray(
        (shape, elems) in (1usize..7, 0usize..9, 1usize..700)
            .prop_flat_map(|(a, b, c)| ((Just((a, b, c))), (elem(a), elem(b), elem(c))))
            .prop_map(|(s, (x, y, z))| (s, vec![x, y, z]))
    ) {
        check_slice_roundtrip(shape, elems);
    }
}
