//! .npy files: numpy-made fixtures (tests/data/make_fixtures.py), create, grow, errors.
#![cfg(feature = "npy")]

mod common;

use ndarray::{Array, Ix0, Ix1, Ix2, Ix3, IxDyn, ShapeBuilder, s};
use ndmmap::npy::{self, Dtype};
use ndmmap::{Error, Mode, NpyError, Order};
use num_complex::Complex;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn a34() -> Array<f64, Ix2> {
    Array::from_shape_vec((3, 4), (0..12).map(|i| i as f64 * 0.5).collect()).unwrap()
}

#[test]
fn reads_c_and_fortran_order_and_every_version() {
    for name in ["f8_c_3x4.npy", "f8_v1.npy", "f8_v2.npy", "f8_v3.npy"] {
        let a = unsafe { npy::open::<f64, Ix2>(fixture(name)).unwrap() };
        assert_eq!(a.view(), a34(), "{name}");
        assert_eq!(a.order(), Order::C);
        assert_eq!(a.offset() % 64, 0, "{name}: data is aligned");
    }
    let f = unsafe { npy::open::<f64, Ix2>(fixture("f8_f_3x4.npy")).unwrap() };
    assert_eq!(f.view(), a34());
    assert_eq!(f.order(), Order::F);
    let h = npy::read_header(fixture("f8_v2.npy")).unwrap();
    assert_eq!(
        (
            h.version,
            h.descr.as_str(),
            h.fortran_order,
            h.shape.as_slice()
        ),
        ((2, 0), "<f8", false, &[3, 4][..])
    );
    assert_eq!(
        npy::read_header(fixture("f8_v3.npy")).unwrap().version,
        (3, 0)
    );
}

#[test]
fn reads_every_numeric_dtype() {
    fn check<T: npy::NpyElement + PartialEq + std::fmt::Debug>(name: &str, want: Vec<T>) {
        let a = unsafe { npy::open::<T, Ix2>(fixture(name)).unwrap() };
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a.as_slice(), &want[..], "{name}");
    }
    let v = [-2i64, -1, 0, 1, 2, 3];
    check("dtype_u1.npy", v.iter().map(|&x| x as u8).collect());
    check("dtype_i1.npy", v.iter().map(|&x| x as i8).collect());
    check("dtype_u2.npy", v.iter().map(|&x| x as u16).collect());
    check("dtype_i2.npy", v.iter().map(|&x| x as i16).collect());
    check("dtype_u4.npy", v.iter().map(|&x| x as u32).collect());
    check("dtype_i4.npy", v.iter().map(|&x| x as i32).collect());
    check("dtype_u8.npy", v.iter().map(|&x| x as u64).collect());
    check("dtype_i8.npy", v.to_vec());
    check("dtype_f4.npy", v.iter().map(|&x| x as f32).collect());
    check(
        "dtype_c8.npy",
        v.iter().map(|&x| Complex::new(x as f32, 0.0)).collect(),
    );
    check(
        "dtype_c16.npy",
        v.iter().map(|&x| Complex::new(x as f64, 0.0)).collect(),
    );
}

#[test]
fn zero_dimensional_empty_and_dynamic() {
    let s = unsafe { npy::open::<f64, Ix0>(fixture("scalar_0d.npy")).unwrap() };
    assert_eq!(*s.view().into_scalar(), 7.25);
    let e = unsafe { npy::open::<f32, Ix2>(fixture("empty_0x5.npy")).unwrap() };
    assert_eq!(e.shape(), &[0, 5]);
    assert!(e.is_empty());
    let d = unsafe { npy::open::<i32, IxDyn>(fixture("i4_3d_2x3x4.npy")).unwrap() };
    assert_eq!(d.shape(), &[2, 3, 4]);
    assert_eq!(d.view()[[1, 2, 3]], 23);
    let d3 = unsafe { npy::open::<i32, Ix3>(fixture("i4_3d_2x3x4.npy")).unwrap() };
    assert_eq!(d3.view().sum(), (0..24).sum::<i32>());
}

#[test]
fn mismatches_are_clear_errors() {
    let e = unsafe { npy::open::<f32, Ix2>(fixture("f8_c_3x4.npy")) }.unwrap_err();
    assert!(
        matches!(&e, Error::DtypeMismatch { expected, found } if expected == "<f4" && found == "<f8"),
        "{e:?}"
    );
    let e = unsafe { npy::open::<f64, Ix1>(fixture("f8_c_3x4.npy")) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimensionMismatch {
                expected: 1,
                found: 2
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("IxDyn"));
}

/// The `.npy` error opening a fixture gives, after checking that its message names the file.
fn npy_error(name: &str) -> NpyError {
    let e = unsafe { npy::open::<f64, IxDyn>(fixture(name)) }.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(name),
        "{name}: the message names the file: {msg}"
    );
    assert!(!msg.contains('\n'), "{name}: one line: {msg}");
    match e {
        Error::Npy { kind, .. } => kind,
        e => panic!("{name}: {e:?}"),
    }
}

#[test]
fn broken_and_unsupported_files_are_refused_clearly() {
    // Big-endian data opens as ByteSwapped<f64> (tests/elements.rs); as f64 it is a mismatch
    // whose message names the wrapper.
    let be = unsafe { npy::open::<f64, IxDyn>(fixture("f8_be_3x4.npy")) }.unwrap_err();
    assert!(
        matches!(&be, Error::DtypeMismatch { expected, found } if expected == "<f8" && found == ">f8"),
        "{be:?}"
    );
    assert!(
        be.to_string().contains("open it as ByteSwapped<f64>"),
        "{be}"
    );
    for (name, what) in [
        ("object.npy", "object"),
        ("structured.npy", "structured"),
        ("string.npy", "string"),
    ] {
        let e = npy_error(name);
        assert!(
            matches!(&e, NpyError::UnsupportedDtype { why, .. } if why.contains(what)),
            "{name}: {e:?}"
        );
    }
    // The fixture keeps the first 40 bytes of a 128-byte file.
    assert_eq!(
        npy_error("broken_truncated_header.npy"),
        NpyError::Truncated {
            len: 40,
            needed: 128
        }
    );
    assert_eq!(
        npy_error("broken_magic.npy"),
        NpyError::NotNpy {
            start: b"\x93NUMPZ".to_vec()
        }
    );
    assert_eq!(
        npy_error("broken_short_magic.npy"),
        NpyError::NotNpy {
            start: b"\x93NU".to_vec()
        }
    );
    assert!(
        matches!(npy_error("broken_missing_key.npy"), NpyError::BadHeader { why } if why.contains("'shape'")),
    );
    assert!(
        matches!(npy_error("broken_literal.npy"), NpyError::Syntax { why, .. } if why.contains("Flase"))
    );
    assert!(matches!(
        npy_error("broken_negative_shape.npy"),
        NpyError::BadShape { why, .. } if why.contains("negative")
    ));
    assert!(matches!(
        npy_error("broken_overflow_shape.npy"),
        NpyError::BadShape { why, .. } if why.contains("isize::MAX")
    ));
    let past = npy_error("broken_data_past_eof.npy");
    assert!(
        matches!(
            past,
            NpyError::DataPastEnd {
                needed: 96,
                offset: 128,
                len: 216,
                ..
            }
        ),
        "{past:?}"
    );
    // bool is not u8: the mismatch names both, and the type that opens it (ndmmap::Bool).
    let e = unsafe { npy::open::<u8, Ix1>(fixture("bool.npy")) }.unwrap_err();
    assert!(
        matches!(&e, Error::DtypeMismatch { found, .. } if found == "|b1"),
        "{e:?}"
    );
    assert!(e.to_string().contains("open it as Bool"), "{e}");
    // Not a file at all.
    let e = npy::read_header(fixture("no_such.npy")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    let e = npy::read_header(fixture("")).unwrap_err();
    assert!(matches!(e, Error::IsDirectory { .. }), "{e:?}");
}

#[test]
fn create_writes_a_header_numpy_and_ndarray_npy_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.npy");
    let mut a = unsafe { npy::create::<f64, Ix2, _>(&p, (3, 4)).unwrap() };
    assert_eq!(a.view().sum(), 0.0, "zero-filled");
    a.view_mut().unwrap().assign(&a34());
    drop(a);
    let h = npy::read_header(&p).unwrap();
    assert_eq!((h.version, h.data_offset % 64), ((1, 0), 0));
    let back: Array<f64, Ix2> = ndarray_npy::read_npy(&p).unwrap();
    assert_eq!(back, a34());
    // Fortran order.
    let pf = dir.path().join("f.npy");
    let mut f = unsafe { npy::create::<i16, Ix2, _>(&pf, (2, 3).f()).unwrap() };
    f.view_mut()
        .unwrap()
        .assign(&Array::from_shape_fn((2, 3), |(i, j)| (10 * i + j) as i16));
    assert_eq!(f.as_slice(), &[0, 10, 1, 11, 2, 12]);
    drop(f);
    assert!(npy::read_header(&pf).unwrap().fortran_order);
    let back: Array<i16, Ix2> = ndarray_npy::read_npy(&pf).unwrap();
    assert_eq!(back[[1, 2]], 12);
    // 0-D and empty.
    let p0 = dir.path().join("s.npy");
    let mut z = unsafe { npy::create::<u16, Ix0, _>(&p0, ()).unwrap() };
    z.view_mut().unwrap()[()] = 513;
    drop(z);
    assert_eq!(
        ndarray_npy::read_npy::<_, Array<u16, Ix0>>(&p0).unwrap()[()],
        513
    );
    let pe = dir.path().join("e.npy");
    let e = unsafe { npy::create::<f32, Ix2, _>(&pe, (0, 4)).unwrap() };
    assert!(e.is_empty());
    assert_eq!(npy::read_header(&pe).unwrap().shape, vec![0, 4]);
}

#[test]
fn open_files_ndarray_npy_wrote_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.npy");
    ndarray_npy::write_npy(&p, &a34()).unwrap();
    let mut rw = unsafe { npy::open_mut::<f64, Ix2>(&p).unwrap() };
    rw.view_mut().unwrap()[[2, 3]] = 100.0;
    drop(rw);
    let mut cow = unsafe { npy::open_with::<f64, Ix2>(&p, Mode::CopyOnWrite).unwrap() };
    cow.view_mut().unwrap().fill(-1.0);
    drop(cow);
    let back: Array<f64, Ix2> = ndarray_npy::read_npy(&p).unwrap();
    assert_eq!(back[[2, 3]], 100.0);
    assert_eq!(back[[0, 1]], 0.5);
    let ro = unsafe { npy::open::<f64, Ix2>(&p).unwrap() };
    assert_eq!(ro.mode(), Mode::ReadOnly);
}

#[test]
fn resize_grows_in_place_keeping_data_and_rewrites_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.npy");
    let mut a = unsafe { npy::create::<f32, Ix2, _>(&p, (1000, 3)).unwrap() };
    a.view_mut()
        .unwrap()
        .assign(&Array::from_shape_fn((1000, 3), |(i, j)| {
            (i * 3 + j) as f32
        }));
    let offset = a.offset();
    a.resize(1_000_000).unwrap();
    assert_eq!(a.shape(), &[1_000_000, 3]);
    assert_eq!(a.offset(), offset, "the data does not move");
    assert_eq!(a.view()[[999, 2]], 2999.0);
    a.view_mut().unwrap().slice_mut(s![1000.., ..]).fill(1.0);
    a.resize(1_000_000).unwrap(); // same length: nothing to do
    // Growing to a length with the full 21 digits of room still fits.
    a.resize(1_000_001).unwrap();
    drop(a);
    let h = npy::read_header(&p).unwrap();
    assert_eq!(
        (h.shape.as_slice(), h.data_offset),
        (&[1_000_001, 3][..], offset)
    );
    assert_eq!(
        std::fs::metadata(&p).unwrap().len(),
        offset + 1_000_001 * 12
    );
    let back: Array<f32, Ix2> = ndarray_npy::read_npy(&p).unwrap();
    assert_eq!(back[[999, 2]], 2999.0);
    assert_eq!(back.slice(s![1000..1_000_000, ..]).sum(), 999_000.0 * 3.0);
}

#[test]
fn resize_refuses_what_it_cannot_do_without_touching_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pf = dir.path().join("f.npy");
    let mut f = unsafe { npy::create::<f64, Ix2, _>(&pf, (4, 3).f()).unwrap() };
    let before = std::fs::read(&pf).unwrap();
    let e = f.resize(8).unwrap_err();
    assert!(matches!(e, Error::CannotResize { .. }), "{e:?}");
    assert!(e.to_string().contains("Fortran"), "{e}");
    assert_eq!(std::fs::read(&pf).unwrap(), before);
    // A read-only map cannot grow.
    let mut ro = unsafe { npy::open::<f64, Ix2>(fixture("f8_c_3x4.npy")).unwrap() };
    assert!(matches!(ro.resize(10), Err(Error::CannotResize { .. })));
    // A header written with no spare room (numpy 1.x style, version 1.0 padded to 16 bytes).
    let (p, _) = common::tight_npy(dir.path());
    let mut t = unsafe { npy::open_mut::<u8, Ix1>(&p).unwrap() };
    t.resize(9).unwrap(); // 9 still fits the room one digit needs
    let e = t.resize(1_000_000_000_000_000).unwrap_err();
    assert!(matches!(e, Error::CannotResize { .. }), "{e:?}");
    assert!(e.to_string().contains("room"), "{e}");
    assert_eq!(
        std::fs::metadata(&p).unwrap().len(),
        80 + 9,
        "refused before the file grew"
    );
    drop(t);
    assert_eq!(npy::read_header(&p).unwrap().shape, vec![9]);
}

#[test]
fn dtype_spelling_api() {
    let d = Dtype::parse("<f8").unwrap();
    assert_eq!((d.kind, d.size, d.little_endian), ('f', 8, true));
    assert_eq!(<f64 as npy::NpyElement>::DTYPE, d);
    let e = Dtype::parse("f3").unwrap_err();
    assert!(
        matches!(&e, Error::Npy { kind: NpyError::UnknownDtype { descr }, path: None } if descr == "f3"),
        "{e:?}"
    );
    assert!(e.to_string().contains("'f3'"), "{e}");
}

#[test]
fn a_failed_create_leaves_no_file_and_an_existing_one_untouched() {
    let dir = common::tmpdir();
    let p = dir.path().join("huge.npy");
    // 400 TB of f32: past any filesystem's file size limit here, after the header is written.
    let e = unsafe { npy::create::<f32, Ix1, _>(&p, 100_000_000_000_000) }.unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(!p.exists(), "no partial file");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
    // The retry is not refused, and an existing file survives a failed replacement.
    std::fs::write(&p, b"keep me").unwrap();
    assert!(unsafe { npy::create::<f32, Ix1, _>(&p, 100_000_000_000_000) }.is_err());
    assert_eq!(std::fs::read(&p).unwrap(), b"keep me");
    let a = unsafe { npy::create::<f32, Ix1, _>(&p, 10) }.unwrap();
    assert_eq!(a.len(), 10);
}

#[test]
fn new_rows_are_zero_even_over_trailing_bytes() {
    let dir = common::tmpdir();
    let p = dir.path().join("t.npy");
    let mut a = unsafe { npy::create::<u32, Ix2, _>(&p, (4, 8)) }.unwrap();
    a.view_mut().unwrap().fill(1);
    // Junk after the data, as another tool might leave.
    let f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    std::io::Write::write_all(&mut &f, &[0xAB; 100]).unwrap();
    a.resize(10).unwrap();
    assert_eq!(a.view().slice(s![..4, ..]).sum(), 32);
    assert_eq!(a.view().slice(s![4.., ..]).sum(), 0, "new rows are zero");
    drop(a);
    let back: Array<u32, Ix2> = ndarray_npy::read_npy(&p).unwrap();
    assert_eq!(back.shape(), &[10, 8]);
}

#[cfg(unix)]
#[test]
fn a_failed_growth_keeps_header_file_and_array_consistent() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.npy");
    drop(unsafe { npy::create::<f64, Ix2, _>(&p, (100, 1024)) }.unwrap());
    let code = common::in_child(|| {
        let mut a = unsafe { npy::open_mut::<f64, Ix2>(&p) }.unwrap();
        let len = std::fs::metadata(&p).unwrap().len();
        // Little address space left: the remap of a 32 GiB growth fails.
        let lim = libc::rlimit {
            rlim_cur: 2 << 30,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: setrlimit with a valid struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) } != 0 {
            return 77;
        }
        if a.resize(4 << 20).is_ok() {
            return 1;
        }
        let h = npy::read_header(&p).unwrap();
        if h.shape != [100, 1024] || a.shape() != [100, 1024] {
            return 2;
        }
        if std::fs::metadata(&p).unwrap().len() != len {
            return 3;
        }
        // And the retry works.
        if a.resize(110).is_err() || npy::read_header(&p).unwrap().shape != [110, 1024] {
            return 4;
        }
        0
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[test]
fn reload_picks_up_growth_and_refuses_a_different_array() {
    let dir = common::tmpdir();
    let p = dir.path().join("r.npy");
    let mut w = unsafe { npy::create::<i64, Ix2, _>(&p, (5, 3)) }.unwrap();
    let mut r = unsafe { npy::open::<i64, Ix2>(&p) }.unwrap();
    w.resize(9).unwrap();
    w.view_mut().unwrap()[[8, 2]] = 42;
    r.reload_npy().unwrap();
    assert_eq!((r.shape(), r.view()[[8, 2]]), (&[9, 3][..], 42));
    drop(w);
    // Another process rewrites the header in place to another shape: refused, not misread.
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes.windows(6).position(|w| w == b"(9, 3)").unwrap();
    bytes[at..at + 6].copy_from_slice(b"(9, 2)");
    common::FileExt::write_all_at(
        &std::fs::File::options().write(true).open(&p).unwrap(),
        &bytes[..128],
        0,
    )
    .unwrap();
    assert!(matches!(
        r.reload_npy(),
        Err(Error::Npy {
            kind: NpyError::Stale { .. },
            ..
        })
    ));
    assert_eq!(r.shape(), &[9, 3], "the array is unchanged");
}

/// Issue 21: a file replaced by `create` keeps its mode (and, as root, its owner); a new
/// file gets `0666` less the umask, as `open` gives.
#[cfg(unix)]
#[test]
fn create_keeps_the_mode_and_owner_of_the_file_it_replaces() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = common::tmpdir();
    let p = dir.path().join("x.npy");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    for mode in [0o600, 0o640, 0o444] {
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        if root {
            std::os::unix::fs::chown(&p, Some(4321), Some(4322)).unwrap();
        }
        // SAFETY: the test's own file.
        drop(unsafe { npy::create::<f32, Ix2, _>(&p, (4, 3)).unwrap() });
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.mode() & 0o7777, mode, "mode {mode:o}");
        if root {
            assert_eq!((m.uid(), m.gid()), (4321, 4322), "owner kept");
        }
        assert_eq!(npy::read_header(&p).unwrap().shape, vec![4, 3]);
        assert_eq!(common::names_in(dir.path()), ["x.npy"]);
        std::fs::remove_file(&p).unwrap();
    }
    let code = common::in_child(|| {
        // SAFETY: umask has no preconditions (this child is the only thread that runs).
        unsafe { libc::umask(0o027) };
        let q = dir.path().join("new.npy");
        // SAFETY: the test's own file.
        drop(unsafe { npy::create::<u8, Ix1, _>(&q, 3).unwrap() });
        (std::fs::metadata(&q).unwrap().mode() & 0o7777 != 0o640) as i32
    });
    assert_eq!(code, 0, "a new file is 0666 less the umask");
}

/// Issue 21: `create` through a symbolic link replaces the file it names and keeps the link,
/// as `np.save` writes through it; a dangling link gets its target created.
#[cfg(unix)]
#[test]
fn create_writes_through_a_symlink() {
    let dir = common::tmpdir();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let real = data.join("real.npy");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.npy");
    std::os::unix::fs::symlink("data/real.npy", &link).unwrap();
    // A link to a link, absolute this time.
    let link2 = dir.path().join("link2.npy");
    std::os::unix::fs::symlink(&link, &link2).unwrap();
    for p in [&link, &link2] {
        // SAFETY: the test's own file.
        let mut a = unsafe { npy::create::<i16, Ix1, _>(p, 7).unwrap() };
        a.view_mut().unwrap().fill(3);
        drop(a);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::symlink_metadata(&link2)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            PathBuf::from("data/real.npy")
        );
        // SAFETY: as above.
        let b = unsafe { npy::open::<i16, Ix1>(&real).unwrap() };
        assert_eq!(b.view().sum(), 21);
    }
    let dangling = dir.path().join("dangling.npy");
    std::os::unix::fs::symlink("data/new.npy", &dangling).unwrap();
    // SAFETY: the test's own file.
    drop(unsafe { npy::create::<u8, Ix1, _>(&dangling, 2).unwrap() });
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        npy::read_header(data.join("new.npy")).unwrap().shape,
        vec![2]
    );
    assert_eq!(common::names_in(&data), ["new.npy", "real.npy"]);
    assert_eq!(
        common::names_in(dir.path()),
        ["dangling.npy", "data", "link.npy", "link2.npy"]
    );
}

/// Issue 21: SIGKILL at any moment of `create` (which preallocates 64 MiB here, so the kill
/// often lands while it runs) leaves the one file, whole: the old one or the new one. Only a
/// kill between the two last calls that put a file in place over an existing one (`linkat`
/// of the unnamed file under a temporary name, then `rename`) can leave that name; the next
/// `create` removes it, its writer being dead.
#[cfg(unix)]
#[test]
fn sigkill_during_create_leaves_no_temporary_file() {
    let dir = common::tmpdir();
    let p = dir.path().join("x.npy");
    // SAFETY: the test's own file.
    drop(unsafe { npy::create::<u8, Ix1, _>(&p, 10).unwrap() });
    let mut left = 0;
    for i in 0..20u64 {
        // SAFETY: the child only creates files, then is killed.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            loop {
                // SAFETY: as above.
                let a = unsafe {
                    npy::OpenOptions::new()
                        .preallocate(true)
                        .create::<f64, Ix2, _>(&p, (1 << 13, 1 << 10))
                };
                drop(a);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2 + 3 * i));
        // SAFETY: killing our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        assert_eq!(common::wait(pid), -libc::SIGKILL);
        let names = common::names_in(dir.path());
        if names != ["x.npy"] {
            assert_eq!(
                names,
                [format!(".x.npy.ndmmap-{pid}-0.tmp"), "x.npy".into()],
                "after kill {i}"
            );
            left += 1;
            // SAFETY: as above.
            drop(unsafe { npy::create::<u8, Ix1, _>(&p, 10).unwrap() });
            assert_eq!(
                common::names_in(dir.path()),
                ["x.npy"],
                "the next create cleans up"
            );
        }
        let h = npy::read_header(&p).unwrap();
        assert!(h.shape == [10] || h.shape == [1 << 13, 1 << 10], "{h:?}");
    }
    eprintln!("{left} of 20 kills left a temporary name, removed by the next create");
}

/// Issue 21: on a full file system `create` with `preallocate` is `Error::NoSpace` (ENOSPC,
/// the bytes needed) before anything is mapped, and leaves the directory as it was.
#[cfg(target_os = "linux")]
#[test]
fn create_on_a_full_disk_is_no_space_and_leaves_nothing() {
    let Some(fs) = common::small_tmpfs(64) else {
        return;
    };
    let keep = fs.path().join("keep.npy");
    // SAFETY: the test's own file.
    drop(unsafe { npy::create::<u8, Ix1, _>(&keep, 5).unwrap() });
    let before = std::fs::read(&keep).unwrap();
    for p in [fs.path().join("big.npy"), keep.clone()] {
        // SAFETY: as above.
        let r = unsafe {
            npy::OpenOptions::new()
                .preallocate(true)
                .create::<f64, Ix2, _>(&p, (1 << 15, 1 << 10))
        };
        match r {
            Err(e @ Error::NoSpace { needed, .. }) => {
                assert_eq!(needed, 1 << 28);
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
                let text = e.to_string();
                assert!(text.contains(&p.display().to_string()), "{text}");
                assert!(text.contains("268435456 bytes needed"), "{text}");
            }
            other => panic!("{:?}", other.map(|a| a.shape().to_vec())),
        }
        assert_eq!(common::names_in(fs.path()), ["keep.npy"]);
        assert_eq!(std::fs::read(&keep).unwrap(), before);
    }
}
