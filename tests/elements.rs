//! Element wrappers and run-time dtypes: `Unaligned<T>` at any byte offset, `ByteSwapped<T>`
//! for the other byte order, `Bool` for numpy's `|b1`, through raw files, numpy fixtures
//! (tests/data/make_fixtures.py) and `AnyArray` (`npy::open_any`).
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use ndarray::{Ix1, Ix2};
use ndmmap::{Bool, ByteSwapped, Error, MmapOptions, Mode, Unaligned};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A file of `header` bytes of 0xAB followed by `data`.
fn behind_header(dir: &Path, name: &str, header: usize, data: &[u8]) -> PathBuf {
    let mut b = vec![0xAB; header];
    b.extend_from_slice(data);
    common::file_with(dir, name, &b)
}

fn values(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64 * 1.25 - 3.0).collect()
}

#[test]
fn unaligned_f64_after_a_100_byte_header() {
    let dir = common::tmpdir();
    let v = values(1000);
    let le: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let p = behind_header(dir.path(), "raw.bin", 100, &le);
    let file = File::open(&p).unwrap();
    // SAFETY: the file is the test's own.
    let a = unsafe {
        MmapOptions::new()
            .offset(100)
            .map::<Unaligned<f64>, Ix1, _>(&file, 1000)
            .unwrap()
    };
    assert_eq!(a.offset(), 100);
    let got: Vec<f64> = a.view().iter().map(|x| x.get()).collect();
    assert_eq!(got, v);
    assert_eq!(
        a.view().iter().map(|&x| f64::from(x)).sum::<f64>(),
        v.iter().sum::<f64>()
    );
    // The page span counts the 100 bytes before element 0.
    assert_eq!(a.page_span().lead, 100);

    // Written through a read-write map: little-endian bytes at byte 100 + 8 i.
    // SAFETY: as above.
    let mut w = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(100)
            .map_path::<Unaligned<f64>, Ix1, _>(&p, 1000)
            .unwrap()
    };
    w.view_mut().unwrap()[3].set(42.5);
    w.view_mut().unwrap()[999] = Unaligned::new(-1.0);
    w.msync(ndmmap::Flush::Sync).unwrap();
    drop(w);
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[..100], &[0xAB; 100][..], "the header is untouched");
    assert_eq!(&bytes[124..132], &42.5f64.to_le_bytes());
    assert_eq!(&bytes[100 + 999 * 8..], &(-1.0f64).to_le_bytes());
}

#[test]
fn every_offset_works_for_unaligned_and_misaligned_names_the_wrapper() {
    let dir = common::tmpdir();
    let v = values(64);
    let le: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    for off in 0..17usize {
        let p = behind_header(dir.path(), &format!("o{off}.bin"), off, &le);
        let file = File::open(&p).unwrap();
        // SAFETY: the file is the test's own.
        let a = unsafe {
            MmapOptions::new()
                .offset(off as u64)
                .map::<Unaligned<f64>, Ix1, _>(&file, 64)
                .unwrap()
        };
        assert_eq!(
            a.view().iter().map(|x| x.get()).collect::<Vec<_>>(),
            v,
            "offset {off}"
        );
        // SAFETY: as above.
        let plain = unsafe {
            MmapOptions::new()
                .offset(off as u64)
                .map::<f64, Ix1, _>(&file, 64)
        };
        if off % 8 == 0 {
            assert_eq!(plain.unwrap().as_slice(), &v[..]);
        } else {
            let e = plain.unwrap_err();
            assert!(
                matches!(e, Error::Misaligned { offset, align: 8 } if offset == off as u64),
                "{e:?}"
            );
            let msg = e.to_string();
            assert!(msg.contains("Unaligned<T>"), "{msg}");
            assert!(msg.contains(&off.to_string()), "{msg}");
        }
    }
}

#[test]
fn byte_swapped_reads_big_endian_and_writes_it() {
    let dir = common::tmpdir();
    let v = values(100);
    let be: Vec<u8> = v.iter().flat_map(|x| x.to_be_bytes()).collect();
    // At an aligned and at an odd offset: ByteSwapped has alignment 1.
    for off in [0usize, 64, 3] {
        let p = behind_header(dir.path(), &format!("be{off}.bin"), off, &be);
        // SAFETY: the file is the test's own.
        let a = unsafe {
            MmapOptions::new()
                .offset(off as u64)
                .map_path::<ByteSwapped<f64>, Ix2, _>(&p, (10, 10))
                .unwrap()
        };
        let got: Vec<f64> = a.view().iter().map(|x| x.get()).collect();
        assert_eq!(got, v, "offset {off}");
        drop(a);
        // SAFETY: as above.
        let mut w = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .offset(off as u64)
                .map_path::<ByteSwapped<f64>, Ix2, _>(&p, (10, 10))
                .unwrap()
        };
        w.view_mut().unwrap()[[0, 1]].set(6.5);
        w.view_mut().unwrap()[[9, 9]] = ByteSwapped::from(-2.0);
        drop(w);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[off + 8..off + 16], &6.5f64.to_be_bytes());
        assert_eq!(&bytes[off + 99 * 8..], &(-2.0f64).to_be_bytes());
    }
    // Integers too.
    let ints: Vec<i32> = (-50..50).collect();
    let be: Vec<u8> = ints.iter().flat_map(|x| x.to_be_bytes()).collect();
    let p = behind_header(dir.path(), "i4.bin", 5, &be);
    // SAFETY: as above.
    let a = unsafe {
        MmapOptions::new()
            .offset(5)
            .map_path::<ByteSwapped<i32>, Ix1, _>(&p, 100)
            .unwrap()
    };
    assert_eq!(a.view().iter().map(|x| x.get()).collect::<Vec<_>>(), ints);
}

#[test]
fn bool_reads_any_non_zero_byte_as_true_and_writes_one() {
    let dir = common::tmpdir();
    let p = common::file_with(dir.path(), "mask.bin", &[0, 1, 2, 0, 255, 0]);
    // SAFETY: the file is the test's own.
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .map_path_1d::<Bool>(&p)
            .unwrap()
    };
    let got: Vec<bool> = a.view().iter().map(|b| b.get()).collect();
    assert_eq!(got, [false, true, true, false, true, false]);
    a.view_mut().unwrap()[0] = Bool::from(true);
    a.view_mut().unwrap()[2] = false.into();
    drop(a);
    assert_eq!(std::fs::read(&p).unwrap(), [1, 1, 0, 0, 255, 0]);
}

#[test]
fn anonymous_arrays_of_wrappers() {
    let mut a = ndmmap::MmapArray::<ByteSwapped<u32>, Ix1>::anonymous(4).unwrap();
    a.view_mut().unwrap()[1].set(0x0102_0304);
    let raw: &[u8] = bytemuck::cast_slice(a.as_slice());
    assert_eq!(&raw[4..8], &[1, 2, 3, 4]);
    let u = ndmmap::MmapArray::<Unaligned<f64>, Ix1>::anonymous(3).unwrap();
    assert_eq!(u.view().iter().map(|x| x.get()).sum::<f64>(), 0.0);
}

/// `AnyArray::open_raw`: numpy's `np.memmap(path, dtype, mode, offset, shape, order)`, with
/// its refusals.
#[cfg(feature = "npy")]
#[test]
fn raw_files_of_a_runtime_dtype() {
    use ndmmap::{AnyArray, Dtype, Order, RawSpec};
    let dir = common::tmpdir();
    let ints: Vec<i32> = (0..12).map(|i| i * 7 - 20).collect();
    let be: Vec<u8> = ints.iter().flat_map(|x| x.to_be_bytes()).collect();
    let p = behind_header(dir.path(), "be.bin", 3, &be);
    let be4 = Dtype::parse(">i4").unwrap();
    let open = |spec: &RawSpec| {
        // SAFETY: the files are the test's own.
        unsafe { AnyArray::open_raw(&p, spec) }
    };
    // No shape: the whole elements after the offset, byte-swapped and unaligned.
    let a = open(&RawSpec::new(be4).offset(3)).unwrap();
    assert_eq!(
        (a.shape(), a.offset(), a.type_name()),
        (&[12][..], 3, ">i4".into())
    );
    let AnyArray::SwappedI32(x) = &a else {
        panic!("{a:?}")
    };
    assert_eq!(x.view().iter().map(|v| v.get()).collect::<Vec<_>>(), ints);
    // A shape in Fortran order: element [1, 0] is the second in the file.
    let f = open(&RawSpec::new(be4).offset(3).shape([2, 6]).order(Order::F)).unwrap();
    let AnyArray::SwappedI32(x) = &f else {
        panic!("{f:?}")
    };
    assert_eq!(x.view()[[1, 0]].get(), ints[1]);
    // numpy's memmap refuses the same: bytes left over, an offset past the end.
    let e = open(&RawSpec::new(be4)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TrailingBytes {
                available: 51,
                elem_size: 4,
                ..
            }
        ),
        "{e:?}"
    );
    let e = open(&RawSpec::new(be4).offset(52)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OffsetPastEnd {
                offset: 52,
                len: 51,
                ..
            }
        ),
        "{e:?}"
    );
    // A shape the file does not hold, or no array could have; a directory.
    let e = open(&RawSpec::new(be4).offset(3).shape([13])).unwrap_err();
    assert!(matches!(e, Error::TooShort { .. }), "{e:?}");
    let e = open(&RawSpec::new(be4).shape([0, 1 << 62])).unwrap_err();
    assert!(matches!(e, Error::SizeOverflow { .. }), "{e:?}");
    // SAFETY: nothing is mapped.
    let e = unsafe { AnyArray::open_raw(dir.path(), &RawSpec::new(be4)) }.unwrap_err();
    assert!(matches!(e, Error::IsDirectory { .. }), "{e:?}");
    // Read-write: writes reach the file; the file is never grown.
    let u1 = Dtype::parse("u1").unwrap();
    let mut w = open(&RawSpec::new(u1).shape([3]).mode(Mode::ReadWrite)).unwrap();
    let AnyArray::U8(x) = &mut w else {
        panic!("{w:?}")
    };
    x.view_mut().unwrap().fill(9);
    drop(w);
    assert_eq!(&std::fs::read(&p).unwrap()[..4], &[9, 9, 9, be[0]]);
    let e = open(&RawSpec::new(u1).shape([52]).mode(Mode::ReadWrite)).unwrap_err();
    assert!(matches!(e, Error::TooShort { .. }), "{e:?}");
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 51);
}

#[cfg(feature = "npy")]
mod npy_files {
    use super::*;
    use ndarray::s;
    use ndmmap::npy;
    use ndmmap::{AnyArray, NpyError};
    use std::io::Write;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    /// What make_fixtures.py wrote: `np.arange(12) * 0.5` as 3 x 4.
    fn a34() -> Vec<f64> {
        (0..12).map(|i| i as f64 * 0.5).collect()
    }

    /// The variant's name, as `Debug` prints it (`F64`, `UnalignedF64`, `SwappedF64`, ...).
    fn variant(a: &AnyArray) -> String {
        let d = format!("{a:?}");
        d.split('(').next().unwrap().to_string()
    }

    #[test]
    fn numpy_big_endian_fixtures_open_as_byte_swapped() {
        // SAFETY: the fixtures are read-only and nobody writes them.
        let a = unsafe { npy::open::<ByteSwapped<f64>, Ix2>(fixture("f8_be_3x4.npy")).unwrap() };
        assert_eq!(a.shape(), &[3, 4]);
        assert_eq!(a.view().iter().map(|x| x.get()).collect::<Vec<_>>(), a34());
        // SAFETY: as above.
        let i = unsafe { npy::open::<ByteSwapped<i32>, Ix2>(fixture("i4_be_2x3.npy")).unwrap() };
        assert_eq!(
            i.view().iter().map(|x| x.get()).collect::<Vec<_>>(),
            [-2, -1, 0, 1, 2, 3]
        );
        // As plain f64: a mismatch naming the wrapper.
        let e = unsafe { npy::open::<f64, Ix2>(fixture("f8_be_3x4.npy")) }.unwrap_err();
        assert!(matches!(&e, Error::DtypeMismatch { found, .. } if found == ">f8"));
        assert!(e.to_string().contains("open it as ByteSwapped<f64>"), "{e}");
        let e = unsafe { npy::open::<i32, Ix2>(fixture("i4_be_2x3.npy")) }.unwrap_err();
        assert!(e.to_string().contains("open it as ByteSwapped<i32>"), "{e}");

        // SAFETY: as above.
        let any = unsafe { npy::open_any(fixture("f8_be_3x4.npy")).unwrap() };
        assert_eq!(variant(&any), "SwappedF64");
        assert_eq!(any.dtype().descr(), ">f8");
        assert!(!any.is_native() && any.is_aligned() && !any.is_plain());
        let AnyArray::SwappedF64(x) = &any else {
            panic!("{any:?}")
        };
        assert_eq!(x.view().iter().map(|x| x.get()).collect::<Vec<_>>(), a34());
        // SAFETY: as above.
        let any = unsafe { npy::open_any(fixture("i4_be_2x3.npy")).unwrap() };
        assert_eq!(variant(&any), "SwappedI32");
        let t = any.into_typed::<ByteSwapped<i32>>().unwrap();
        assert_eq!(t.view()[[1, 2]].get(), 3);
    }

    #[test]
    fn numpy_bool_masks_open_as_bool() {
        // SAFETY: the fixtures are read-only and nobody writes them.
        let m = unsafe { npy::open::<Bool, Ix2>(fixture("b1_mask_2x5.npy")).unwrap() };
        let want: Vec<bool> = (0..10).map(|i| i % 3 == 0).collect();
        assert_eq!(m.view().iter().map(|b| b.get()).collect::<Vec<_>>(), want);
        // SAFETY: as above.
        let b = unsafe { npy::open::<Bool, Ix1>(fixture("bool.npy")).unwrap() };
        assert_eq!(b.as_slice(), &[Bool(1), Bool(0), Bool(1)]);
        // SAFETY: as above.
        let any = unsafe { npy::open_any(fixture("b1_mask_2x5.npy")).unwrap() };
        assert_eq!(
            (variant(&any), any.dtype().descr()),
            ("Bool".into(), "|b1".into())
        );
        let t = any.typed::<Bool>().unwrap();
        assert_eq!(t.view().iter().filter(|b| b.get()).count(), 4);
    }

    #[test]
    fn numpy_f8_at_byte_100_opens_as_unaligned() {
        let p = fixture("f8_offset100_3x4.npy");
        assert_eq!(npy::read_header(&p).unwrap().data_offset, 100);
        // SAFETY: the fixtures are read-only and nobody writes them.
        let a = unsafe { npy::open::<Unaligned<f64>, Ix2>(&p).unwrap() };
        assert_eq!(a.view().iter().map(|x| x.get()).collect::<Vec<_>>(), a34());
        let e = unsafe { npy::open::<f64, Ix2>(&p) }.unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Npy {
                    kind: NpyError::UnalignedData {
                        offset: 100,
                        align: 8,
                        ..
                    },
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("open it as Unaligned<f64>"), "{msg}");
        assert!(msg.contains("f8_offset100_3x4.npy"), "{msg}");

        // SAFETY: as above.
        let any = unsafe { npy::open_any(&p).unwrap() };
        assert_eq!(variant(&any), "UnalignedF64");
        assert!(any.is_native() && !any.is_aligned());
        assert_eq!(
            (any.offset(), any.shape(), any.nbytes()),
            (100, &[3, 4][..], 96)
        );
        assert!(any.typed::<f64>().is_none());
        let any = any.into_typed::<f64>().unwrap_err();
        let t = any.into_typed::<Unaligned<f64>>().unwrap();
        assert_eq!(t.view()[[2, 3]].get(), 5.5);
        // A plain f64 array converts to Unaligned<f64> (any offset is fine for it).
        // SAFETY: as above.
        let any = unsafe { npy::open_any(fixture("f8_c_3x4.npy")).unwrap() };
        assert_eq!(variant(&any), "F64");
        let u = any.into_typed::<Unaligned<f64>>().unwrap();
        assert_eq!(u.view()[[1, 0]].get(), 2.0);
    }

    #[test]
    fn open_any_read_write_writes_the_files_byte_order() {
        let dir = common::tmpdir();
        let p = dir.path().join("be.npy");
        std::fs::copy(fixture("f8_be_3x4.npy"), &p).unwrap();
        let off = npy::read_header(&p).unwrap().data_offset as usize;
        // SAFETY: the copy is the test's own.
        let mut any = unsafe {
            npy::OpenOptions::new()
                .mode(Mode::ReadWrite)
                .open_any(&p)
                .unwrap()
        };
        assert_eq!(any.mode(), Mode::ReadWrite);
        let x = any.typed_mut::<ByteSwapped<f64>>().unwrap();
        x.view_mut().unwrap()[[0, 0]].set(9.75);
        any.msync(ndmmap::Flush::Sync).unwrap();
        drop(any);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[off..off + 8], &9.75f64.to_be_bytes());
        // The header still says >f8, and the file reopens with the value.
        // SAFETY: as above.
        let a = unsafe { npy::open::<ByteSwapped<f64>, Ix2>(&p).unwrap() };
        assert_eq!(a.view()[[0, 0]].get(), 9.75);
    }

    #[cfg(unix)]
    #[test]
    fn any_array_pages_need_no_match() {
        let dir = common::tmpdir();
        // A few pages of big-endian f64 at an unaligned offset and of plain f64.
        let n = 3 * common::page();
        let mut made = Vec::new();
        for (name, descr, hlen) in [
            ("a.npy", "<f8", 128),
            ("b.npy", ">f8", 128),
            ("c.npy", "<f8", 133),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, npy_file(descr, &[n], hlen, &vec![1u8; n * 8])).unwrap();
            made.push(p);
        }
        for p in &made {
            drop(common::cold(p));
            // SAFETY: the files are the test's own.
            let a = unsafe { npy::open_any(p).unwrap() };
            let span = a.page_span();
            assert_eq!(span.lead, a.offset() as usize % span.page_size);
            let bits = a.pages(..).unwrap().mincore().unwrap();
            assert_eq!(bits.len(), span.page_count);
            let r = a.pages(..).unwrap().residency().unwrap();
            assert_eq!(r.total, span.page_count);
            a.pages(..)
                .unwrap()
                .advise(ndmmap::Advice::WillNeed)
                .unwrap();
            // Read it all, through the file descriptor's page cache.
            let mut f = File::open(p).unwrap();
            std::io::copy(&mut f, &mut std::io::sink()).unwrap();
            let r = a.pages(..).unwrap().residency().unwrap();
            assert_eq!(r.resident, r.total, "{p:?}");
            // A selection of the first 10 elements spans one page (two when it straddles).
            let sel = a.pages(s![0..10]).unwrap().residency().unwrap();
            assert!((1..=2).contains(&sel.total), "{sel:?}");
            a.pages(..).unwrap().evict().unwrap();
            a.madvise(ndmmap::Advice::Normal).unwrap();
            assert_eq!(a.path(), Some(p.as_path()));
            assert!(a.file().is_some());
            assert_eq!(a.order(), ndmmap::Order::C);
            assert_eq!((a.ndim(), a.len(), a.is_empty()), (1, n, false));
        }
    }

    /// A `.npy` file with a version 1 header of `hlen` bytes in all (data at `hlen`).
    fn npy_file(descr: &str, shape: &[usize], hlen: usize, data: &[u8]) -> Vec<u8> {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let shape = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let mut text =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
                .into_bytes();
        assert!(10 + text.len() < hlen);
        text.resize(hlen - 10 - 1, b' ');
        text.push(b'\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((text.len() as u16).to_le_bytes());
        b.extend(text);
        b.extend_from_slice(data);
        b
    }

    /// `i`-th test value of a dtype, as the bytes the file holds.
    fn encode(kind: char, size: usize, little: bool, i: usize) -> Vec<u8> {
        let mut b: Vec<u8> = match (kind, size) {
            ('b', 1) => vec![(i % 2) as u8],
            ('u' | 'i', _) => (i as u64).to_le_bytes()[..size].to_vec(),
            ('f', 2) => {
                // 0..6 as IEEE half: exact small integers.
                let h: u16 = [0x0000, 0x3c00, 0x4000, 0x4200, 0x4400, 0x4500][i];
                h.to_le_bytes().to_vec()
            }
            ('f', 4) => (i as f32).to_le_bytes().to_vec(),
            ('f', 8) => (i as f64).to_le_bytes().to_vec(),
            ('c', 8) => [(i as f32).to_le_bytes(), (i as f32).to_le_bytes()].concat(),
            ('c', 16) => [(i as f64).to_le_bytes(), (i as f64).to_le_bytes()].concat(),
            _ => unreachable!(),
        };
        if !little {
            let part = if kind == 'c' { size / 2 } else { size };
            for c in b.chunks_mut(part) {
                c.reverse();
            }
        }
        b
    }

    /// Every element as an `f64` (complex: re + im), whatever the variant.
    fn as_f64(a: &AnyArray) -> Vec<f64> {
        macro_rules! vals {
            ($x:expr, $f:expr) => {
                $x.view().iter().map(|&v| $f(v)).collect()
            };
        }
        match a {
            AnyArray::Bool(x) => vals!(x, |v: Bool| v.get() as u8 as f64),
            AnyArray::U8(x) => vals!(x, |v: u8| v as f64),
            AnyArray::I8(x) => vals!(x, |v: i8| v as f64),
            AnyArray::U16(x) => vals!(x, |v: u16| v as f64),
            AnyArray::I16(x) => vals!(x, |v: i16| v as f64),
            AnyArray::U32(x) => vals!(x, |v: u32| v as f64),
            AnyArray::I32(x) => vals!(x, |v: i32| v as f64),
            AnyArray::U64(x) => vals!(x, |v: u64| v as f64),
            AnyArray::I64(x) => vals!(x, |v: i64| v as f64),
            AnyArray::F32(x) => vals!(x, |v: f32| v as f64),
            AnyArray::F64(x) => vals!(x, |v: f64| v),
            AnyArray::ComplexF32(x) => {
                vals!(x, |v: num_complex::Complex<f32>| (v.re + v.im) as f64)
            }
            AnyArray::ComplexF64(x) => vals!(x, |v: num_complex::Complex<f64>| v.re + v.im),
            AnyArray::UnalignedU16(x) => vals!(x, |v: Unaligned<u16>| v.get() as f64),
            AnyArray::UnalignedI16(x) => vals!(x, |v: Unaligned<i16>| v.get() as f64),
            AnyArray::UnalignedU32(x) => vals!(x, |v: Unaligned<u32>| v.get() as f64),
            AnyArray::UnalignedI32(x) => vals!(x, |v: Unaligned<i32>| v.get() as f64),
            AnyArray::UnalignedU64(x) => vals!(x, |v: Unaligned<u64>| v.get() as f64),
            AnyArray::UnalignedI64(x) => vals!(x, |v: Unaligned<i64>| v.get() as f64),
            AnyArray::UnalignedF32(x) => vals!(x, |v: Unaligned<f32>| v.get() as f64),
            AnyArray::UnalignedF64(x) => vals!(x, |v: Unaligned<f64>| v.get()),
            AnyArray::UnalignedComplexF32(x) => {
                vals!(x, |v: Unaligned<num_complex::Complex<f32>>| {
                    let c = v.get();
                    (c.re + c.im) as f64
                })
            }
            AnyArray::UnalignedComplexF64(x) => {
                vals!(x, |v: Unaligned<num_complex::Complex<f64>>| {
                    let c = v.get();
                    c.re + c.im
                })
            }
            AnyArray::SwappedU16(x) => vals!(x, |v: ByteSwapped<u16>| v.get() as f64),
            AnyArray::SwappedI16(x) => vals!(x, |v: ByteSwapped<i16>| v.get() as f64),
            AnyArray::SwappedU32(x) => vals!(x, |v: ByteSwapped<u32>| v.get() as f64),
            AnyArray::SwappedI32(x) => vals!(x, |v: ByteSwapped<i32>| v.get() as f64),
            AnyArray::SwappedU64(x) => vals!(x, |v: ByteSwapped<u64>| v.get() as f64),
            AnyArray::SwappedI64(x) => vals!(x, |v: ByteSwapped<i64>| v.get() as f64),
            AnyArray::SwappedF32(x) => vals!(x, |v: ByteSwapped<f32>| v.get() as f64),
            AnyArray::SwappedF64(x) => vals!(x, |v: ByteSwapped<f64>| v.get()),
            AnyArray::SwappedComplexF32(x) => {
                vals!(x, |v: ByteSwapped<num_complex::Complex<f32>>| {
                    let c = v.get();
                    (c.re + c.im) as f64
                })
            }
            AnyArray::SwappedComplexF64(x) => {
                vals!(x, |v: ByteSwapped<num_complex::Complex<f64>>| {
                    let c = v.get();
                    c.re + c.im
                })
            }
            #[cfg(feature = "half")]
            AnyArray::F16(x) => vals!(x, |v: half::f16| v.to_f64()),
            #[cfg(feature = "half")]
            AnyArray::UnalignedF16(x) => vals!(x, |v: Unaligned<half::f16>| v.get().to_f64()),
            #[cfg(feature = "half")]
            AnyArray::SwappedF16(x) => vals!(x, |v: ByteSwapped<half::f16>| v.get().to_f64()),
            other => panic!("a variant this test does not know: {other:?}"),
        }
    }

    fn base_name(kind: char, size: usize) -> &'static str {
        match (kind, size) {
            ('b', 1) => "Bool",
            ('u', 1) => "U8",
            ('i', 1) => "I8",
            ('u', 2) => "U16",
            ('i', 2) => "I16",
            ('u', 4) => "U32",
            ('i', 4) => "I32",
            ('u', 8) => "U64",
            ('i', 8) => "I64",
            ('f', 2) => "F16",
            ('f', 4) => "F32",
            ('f', 8) => "F64",
            ('c', 8) => "ComplexF32",
            ('c', 16) => "ComplexF64",
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_variant_is_reachable_from_a_file() {
        let dir = common::tmpdir();
        let mut kinds = vec![
            ('b', 1),
            ('u', 1),
            ('i', 1),
            ('u', 2),
            ('i', 2),
            ('u', 4),
            ('i', 4),
            ('u', 8),
            ('i', 8),
            ('f', 4),
            ('f', 8),
            ('c', 8),
            ('c', 16),
        ];
        if cfg!(feature = "half") {
            kinds.push(('f', 2));
        }
        let native_le = cfg!(target_endian = "little");
        let mut seen = std::collections::BTreeSet::new();
        for &(kind, size) in &kinds {
            for little in [true, false] {
                if size == 1 && !little {
                    continue;
                }
                // Data at byte 128 (aligned for every type) and at 129, 130, 132 (not).
                for hlen in [128usize, 129, 130, 132] {
                    let order = if size == 1 {
                        '|'
                    } else if little {
                        '<'
                    } else {
                        '>'
                    };
                    let descr = format!("{order}{kind}{size}");
                    let data: Vec<u8> =
                        (0..6).flat_map(|i| encode(kind, size, little, i)).collect();
                    // Windows forbids `<`, `>` and `|` in file names.
                    let o = match order {
                        '<' => "le",
                        '>' => "be",
                        _ => "na",
                    };
                    let p = dir.path().join(format!("{kind}{size}{o}{hlen}.npy"));
                    std::fs::write(&p, npy_file(&descr, &[2, 3], hlen, &data)).unwrap();
                    // SAFETY: the file is the test's own.
                    let a = unsafe { npy::open_any(&p) }.unwrap_or_else(|e| panic!("{descr}: {e}"));
                    let align = if kind == 'c' { size / 2 } else { size };
                    let want = if size > 1 && little != native_le {
                        format!("Swapped{}", base_name(kind, size))
                    } else if hlen % align != 0 {
                        format!("Unaligned{}", base_name(kind, size))
                    } else {
                        base_name(kind, size).to_string()
                    };
                    assert_eq!(variant(&a), want, "{descr} at {hlen}");
                    assert_eq!(a.dtype().descr(), descr);
                    assert_eq!((a.shape(), a.offset()), (&[2, 3][..], hlen as u64));
                    assert_eq!(a.is_plain(), want == base_name(kind, size));
                    let expect: Vec<f64> = (0..6)
                        .map(|i| match kind {
                            'b' => (i % 2) as f64,
                            'c' => 2.0 * i as f64,
                            _ => i as f64,
                        })
                        .collect();
                    assert_eq!(as_f64(&a), expect, "{descr} at {hlen}");
                    seen.insert(want);
                }
            }
        }
        let variants = if cfg!(feature = "half") { 36 } else { 33 };
        assert_eq!(seen.len(), variants, "{seen:?}");
    }

    #[test]
    fn dtypes_no_variant_holds_are_clear_errors() {
        let dir = common::tmpdir();
        let mut cases = vec![("<f16", "longdouble"), ("<c32", "longdouble")];
        if !cfg!(feature = "half") {
            cases.push(("<f2", "feature `half`"));
        }
        for (descr, what) in cases {
            let p = dir.path().join("x.npy");
            std::fs::write(&p, npy_file(descr, &[2], 128, &[0; 64])).unwrap();
            // SAFETY: the file is the test's own.
            let e = unsafe { npy::open_any(&p) }.unwrap_err();
            assert!(
                matches!(&e, Error::Npy { kind: NpyError::UnsupportedDtype { descr: d, .. }, .. } if d == descr),
                "{e:?}"
            );
            let msg = e.to_string();
            assert!(msg.contains(what) && msg.contains("x.npy"), "{msg}");
        }
    }

    #[test]
    fn open_any_checks_the_data_length() {
        let dir = common::tmpdir();
        let p = dir.path().join("short.npy");
        std::fs::write(&p, npy_file(">f8", &[4], 101, &[0; 31])).unwrap();
        // SAFETY: the file is the test's own.
        let e = unsafe { npy::open_any(&p) }.unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Npy {
                    kind: NpyError::DataPastEnd {
                        needed: 32,
                        offset: 101,
                        len: 132,
                        ..
                    },
                    ..
                }
            ),
            "{e:?}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// f64 data at any header length and in either byte order reads back as written,
        /// through `open_any` and through the typed wrapper the variant names.
        #[test]
        fn f64_at_any_offset_in_either_order(
            hlen in 80usize..200,
            little in proptest::bool::ANY,
            vals in proptest::collection::vec(-1e9f64..1e9, 0..40),
        ) {
            let dir = common::tmpdir();
            let data: Vec<u8> = vals
                .iter()
                .flat_map(|v| if little { v.to_le_bytes() } else { v.to_be_bytes() })
                .collect();
            let descr = if little { "<f8" } else { ">f8" };
            let p = dir.path().join("p.npy");
            std::fs::write(&p, npy_file(descr, &[vals.len()], hlen, &data)).unwrap();
            // SAFETY: the file is the test's own.
            let a = unsafe { npy::open_any(&p).unwrap() };
            proptest::prop_assert_eq!(as_f64(&a), vals.clone());
            proptest::prop_assert_eq!(a.len(), vals.len());
            let native = little == cfg!(target_endian = "little");
            proptest::prop_assert_eq!(a.is_native(), native);
            proptest::prop_assert_eq!(a.is_aligned(), hlen % 8 == 0);
            let via_typed: Vec<f64> = if !native {
                let t = a.into_typed::<ByteSwapped<f64>>().unwrap();
                t.view().iter().map(|x| x.get()).collect()
            } else {
                let t = a.into_typed::<Unaligned<f64>>().unwrap();
                t.view().iter().map(|x| x.get()).collect()
            };
            proptest::prop_assert_eq!(via_typed, vals);
        }
    }

    #[test]
    fn header_of_any_length_behind_raw_data_and_empty_arrays() {
        // A 0-element unaligned array and a 0-D one.
        let dir = common::tmpdir();
        let p = dir.path().join("e.npy");
        std::fs::write(&p, npy_file("<f8", &[0], 101, &[])).unwrap();
        // SAFETY: the file is the test's own.
        let a = unsafe { npy::open_any(&p).unwrap() };
        assert_eq!(
            (variant(&a), a.len(), a.is_empty()),
            ("UnalignedF64".into(), 0, true)
        );
        assert_eq!(a.pages(..).unwrap().mincore().unwrap().len(), 0);
        let p = dir.path().join("z.npy");
        let text = b"{'descr': '>i8', 'fortran_order': False, 'shape': (), }";
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend(((text.len() + 1) as u16).to_le_bytes());
        b.extend(text);
        b.push(b'\n');
        b.extend(7i64.to_be_bytes());
        let mut f = File::create(&p).unwrap();
        f.write_all(&b).unwrap();
        // SAFETY: as above.
        let a = unsafe { npy::open_any(&p).unwrap() };
        assert_eq!(
            (variant(&a), a.ndim(), a.len()),
            ("SwappedI64".into(), 0, 1)
        );
        assert_eq!(
            a.typed::<ByteSwapped<i64>>()
                .unwrap()
                .view()
                .into_dimensionality::<ndarray::Ix0>()
                .unwrap()[()]
                .get(),
            7
        );
    }
}
