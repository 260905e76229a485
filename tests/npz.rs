//! `.npz` archives against real numpy: every member of an `np.savez` archive mapped in place
//! equals what numpy wrote (aligned `T` where the offset allows, `Unaligned<T>` always,
//! `ByteSwapped<T>` for big-endian members, `Bool` for masks); compressed members, missing
//! names and writes are clear errors; a zip64 archive (65600 members); archives ndmmap writes
//! load in numpy and map as aligned `T`; broken and randomly damaged archives are errors, never
//! panics; residency of every member at once. The fixtures come from
//! `tests/data/make_npz_fixtures.py`, run into a temporary directory. Tests that need numpy
//! print why they skip when `python3 -c 'import numpy'` fails (and fail instead under `CI=true`).
#![cfg(feature = "npz")]
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndmmap::npz::{Member, Npz, NpzOptions, NpzWriter};
use ndmmap::{Advice, Bool, ByteSwapped, Error, Mode, NpyElement, NpyError, Unaligned};
use num_complex::Complex;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/make_npz_fixtures.py"
);

fn have_numpy() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        if cfg!(windows) {
            // Not a missing prerequisite: the Windows build's tests run under Wine, without Python
            // (the Python halves run in the native Unix suite).
            eprintln!("skipped: the Windows build's tests run no numpy (the Unix suite does)");
            return false;
        }
        let ok = Command::new("python3")
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            common::skip_or_fail("python3 with numpy not found (pip install numpy)");
        }
        ok
    })
}

fn python(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "make_npz_fixtures.py {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What python3 prints for `code` run with `path` as its argument (`sys.argv[1]`), trimmed.
fn python_on(code: &str, path: &Path) -> String {
    let out = common::run_ok(Command::new("python3").args(["-c", code]).arg(path));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The numpy fixtures, written once per test process (`None` without numpy).
fn fixtures() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !have_numpy() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        python(&["fixtures", dir.path().to_str().unwrap()]);
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

macro_rules! numpy_fixtures {
    () => {
        match fixtures() {
            Some(d) => d,
            None => return,
        }
    };
}

/// Values of `T` from bytes at any alignment.
fn values<T: ndmmap::Pod>(bytes: &[u8]) -> Vec<T> {
    bytes
        .chunks_exact(size_of::<T>())
        .map(bytemuck::pod_read_unaligned)
        .collect()
}

/// One line of savez.txt: what numpy wrote and where the data is.
struct Expected {
    name: String,
    descr: String,
    shape: Vec<usize>,
    fortran: bool,
    offset: u64,
}

fn manifest(dir: &Path) -> Vec<Expected> {
    std::fs::read_to_string(dir.join("savez.txt"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            Expected {
                name: f[0].into(),
                descr: f[1].into(),
                shape: if f[2] == "-" {
                    vec![]
                } else {
                    f[2].split(',').map(|s| s.parse().unwrap()).collect()
                },
                fortran: f[3] == "1",
                offset: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// Maps member `name` as `T` (when its offset allows) and as `Unaligned<T>`, and compares both
/// with the native values numpy wrote to `expected/<name>.bin`.
fn check_member<T>(dir: &Path, npz: &Npz, name: &str)
where
    T: NpyElement + PartialEq + Debug,
{
    let m = npz.member(name).unwrap();
    let bytes = std::fs::read(dir.join("expected").join(format!("{name}.bin"))).unwrap();
    let want: Vec<T> = values(&bytes);
    // SAFETY: the fixtures are not changed while the arrays live.
    let u = unsafe { npz.map::<Unaligned<T>, IxDyn>(name) }.unwrap();
    assert_eq!(u.shape(), m.shape.as_deref().unwrap(), "{name}");
    assert_eq!(u.offset(), m.data_offset, "{name}");
    let got: Vec<T> = u.view().iter().map(|x| x.get()).collect();
    assert_eq!(got, want, "{name} as Unaligned<T>");
    // SAFETY: as above.
    let a = unsafe { npz.map::<T, IxDyn>(name) };
    if m.aligned_for::<T>() {
        let got: Vec<T> = a.unwrap().view().iter().copied().collect();
        assert_eq!(got, want, "{name} as T");
    } else {
        match a {
            Err(Error::Misaligned { offset, align }) => {
                assert_eq!((offset, align), (m.data_offset, align_of::<T>()), "{name}");
            }
            other => panic!("{name} at {}: {other:?}", m.data_offset),
        }
    }
}

/// Maps a big-endian member as `ByteSwapped<T>` and compares its native values.
fn check_swapped<T>(dir: &Path, npz: &Npz, name: &str)
where
    T: NpyElement + ndmmap::SwapBytes + PartialEq + Debug,
    ByteSwapped<T>: NpyElement,
{
    let bytes = std::fs::read(dir.join("expected").join(format!("{name}.bin"))).unwrap();
    let want: Vec<T> = values(&bytes);
    // SAFETY: the fixtures are not changed while the arrays live.
    let a = unsafe { npz.map::<ByteSwapped<T>, IxDyn>(name) }.unwrap();
    let got: Vec<T> = a.view().iter().map(|x| x.get()).collect();
    assert_eq!(got, want, "{name}");
    // SAFETY: as above.
    let native = unsafe { npz.map::<T, IxDyn>(name) };
    assert!(
        matches!(native, Err(Error::DtypeMismatch { .. })),
        "{native:?}"
    );
}

#[test]
fn savez_listing_matches_numpy() {
    let dir = numpy_fixtures!();
    let npz = Npz::open(dir.join("savez.npz")).unwrap();
    let want = manifest(dir);
    assert_eq!(npz.members().len(), want.len());
    for (m, e) in npz.members().iter().zip(&want) {
        assert_eq!(m.name, e.name);
        assert_eq!(m.zip_name, format!("{}.npy", e.name));
        assert_eq!(m.descr.as_deref(), Some(e.descr.as_str()), "{}", e.name);
        assert_eq!(m.dtype.map(|d| d.descr()), Some(e.descr.clone()));
        assert_eq!(m.shape.as_deref(), Some(e.shape.as_slice()), "{}", e.name);
        assert_eq!(m.fortran_order, e.fortran, "{}", e.name);
        assert_eq!(m.data_offset, e.offset, "{}", e.name);
        let size = m.dtype.unwrap().size as u64;
        assert_eq!(m.data_len, e.shape.iter().product::<usize>() as u64 * size);
        assert!(!m.compressed);
        assert_eq!(m.method, "stored");
        assert!(m.problem.is_none(), "{}: {:?}", e.name, m.problem);
        assert_eq!(m.data_offset, m.stored_offset + m.stored_len - m.data_len);
    }
    // numpy's data offsets are arbitrary: some members are misaligned for their type.
    assert!(
        npz.members()
            .iter()
            .any(|m| !m.data_offset.is_multiple_of(m.dtype.unwrap().size as u64))
    );
}

#[test]
fn savez_members_equal_numpy() {
    let dir = numpy_fixtures!();
    let npz = Npz::open(dir.join("savez.npz")).unwrap();
    check_member::<f64>(dir, &npz, "f8");
    check_member::<f32>(dir, &npz, "f4");
    check_member::<i64>(dir, &npz, "i8");
    check_member::<i32>(dir, &npz, "i4");
    check_member::<u16>(dir, &npz, "u2");
    check_member::<u8>(dir, &npz, "u1");
    check_member::<i8>(dir, &npz, "i1");
    check_member::<Bool>(dir, &npz, "b1");
    check_member::<Complex<f64>>(dir, &npz, "c16");
    check_member::<Complex<f32>>(dir, &npz, "c8");
    check_member::<f64>(dir, &npz, "fortran_f8");
    check_member::<i16>(dir, &npz, "fortran_i2");
    check_member::<f64>(dir, &npz, "scalar");
    check_member::<i64>(dir, &npz, "scalar_i8");
    check_member::<f64>(dir, &npz, "empty");
    check_member::<i32>(dir, &npz, "empty1");
    check_member::<u8>(dir, &npz, "odd");
    check_member::<f64>(dir, &npz, "after_odd");
    check_swapped::<f64>(dir, &npz, "be_f8");
    check_swapped::<i32>(dir, &npz, "be_i4");
    let masks: Vec<bool> = {
        // SAFETY: the fixtures are not changed while the arrays live.
        let b = unsafe { npz.map::<Bool, ndarray::Ix2>("b1") }.unwrap();
        b.view().iter().map(|x| x.get()).collect()
    };
    assert_eq!(masks, (0..10).map(|i| i % 3 == 0).collect::<Vec<_>>());
}

#[test]
fn fixed_dimensions_and_fortran_views() {
    let dir = numpy_fixtures!();
    let npz = Npz::open(dir.join("savez.npz")).unwrap();
    // SAFETY: the fixtures are not changed while the arrays live.
    let f = unsafe { npz.map::<Unaligned<f64>, ndarray::Ix2>("fortran_f8") }.unwrap();
    assert_eq!(f.order(), ndmmap::Order::F);
    assert_eq!(f.view()[[1, 2]].get(), 6.0); // arange(12).reshape(3, 4)[1, 2]
    // SAFETY: as above.
    let s = unsafe { npz.map::<Unaligned<f64>, ndarray::Ix0>("scalar") }.unwrap();
    assert_eq!(s.view()[()].get(), 2.5);
    // SAFETY: as above.
    let wrong = unsafe { npz.map::<Unaligned<f64>, ndarray::Ix1>("f8") };
    assert!(matches!(
        wrong,
        Err(Error::DimensionMismatch {
            expected: 1,
            found: 2
        })
    ));
    // SAFETY: as above.
    let wrong = unsafe { npz.map::<Unaligned<f32>, IxDyn>("f8") };
    assert!(
        matches!(wrong, Err(Error::DtypeMismatch { .. })),
        "{wrong:?}"
    );
}

#[test]
fn map_any_every_member() {
    let dir = numpy_fixtures!();
    let npz = Npz::open(dir.join("savez.npz")).unwrap();
    for m in npz.members() {
        // SAFETY: the fixtures are not changed while the arrays live.
        let a = unsafe { npz.map_any(&m.name) }.unwrap();
        assert_eq!(Some(a.dtype()), m.dtype, "{}", m.name);
        assert_eq!(Some(a.shape()), m.shape.as_deref(), "{}", m.name);
        assert_eq!(a.offset(), m.data_offset, "{}", m.name);
        let r = a.pages(..).unwrap().residency().unwrap();
        assert!(r.resident <= r.total);
    }
    // SAFETY: as above.
    let be = unsafe { npz.map_any("be_f8") }.unwrap();
    assert!(matches!(be, ndmmap::AnyArray::SwappedF64(_)), "{be:?}");
    let c16 = npz.member("c16").unwrap();
    // SAFETY: as above.
    let a = unsafe { npz.map_any("c16") }.unwrap();
    if c16.aligned_for::<Complex<f64>>() {
        assert!(matches!(a, ndmmap::AnyArray::ComplexF64(_)), "{a:?}");
    } else {
        assert!(
            matches!(a, ndmmap::AnyArray::UnalignedComplexF64(_)),
            "{a:?}"
        );
    }
    // SAFETY: as above.
    let e = unsafe { npz.map_any("nope") }.unwrap_err();
    assert!(matches!(e, Error::NoSuchMember { .. }), "{e:?}");
}

#[test]
fn compressed_member_is_an_error() {
    let dir = numpy_fixtures!();
    let npz = Npz::open(dir.join("compressed.npz")).unwrap();
    for m in npz.members() {
        assert!(m.compressed);
        assert_eq!(m.method, "deflated");
        assert!(m.descr.is_none() && m.shape.is_none());
        assert!(m.problem.as_deref().unwrap().contains("compressed"));
    }
    // SAFETY: the fixtures are not changed while the arrays live.
    let e = unsafe { npz.map::<Unaligned<f64>, IxDyn>("a") }.unwrap_err();
    match &e {
        Error::Compressed { name, method, .. } => {
            assert_eq!((&**name, &**method), ("a", "deflated"))
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("np.savez_compressed"), "{e}");
    // The CRC-32 is of the inflated data: every member of np.savez_compressed verifies.
    for m in npz.members() {
        npz.verify(&m.name).unwrap();
    }
    let npz = Npz::open_with(dir.join("compressed.npz"), NpzOptions::new().verify(true)).unwrap();
    assert!(
        npz.members()
            .iter()
            .all(|m| m.problem.as_deref().unwrap().contains("compressed"))
    );
    // A wrong stored CRC is found, at open when asked and by verify.
    let tmp = tempfile::tempdir().unwrap();
    let crc = npz.member("a").unwrap().crc32.to_le_bytes();
    let p = patch(
        &dir.join("compressed.npz"),
        &tmp.path().join("crc.npz"),
        |b| {
            let at = b.windows(4).rposition(|w| w == crc).unwrap(); // the directory's copy
            b[at] ^= 0x55;
        },
    );
    let npz = Npz::open_with(&p, NpzOptions::new().verify(true)).unwrap();
    let m = npz.member("a").unwrap();
    assert!(m.problem.as_deref().unwrap().contains("CRC-32"), "{m:?}");
    assert!(matches!(npz.verify("a"), Err(Error::Checksum { .. })));
    // SAFETY: as above.
    let e = unsafe { npz.map::<Unaligned<f64>, IxDyn>("a") }.unwrap_err();
    assert!(matches!(e, Error::Checksum { .. }), "{e:?}");
    npz.verify("b").unwrap();
    // A deflate stream cut short (its stored size lies) is refused, not inflated past.
    let p = patch(
        &dir.join("compressed.npz"),
        &tmp.path().join("short.npz"),
        |b| {
            let cd = b.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
            let n = u32::from_le_bytes(b[cd + 20..cd + 24].try_into().unwrap());
            b[cd + 20..cd + 24].copy_from_slice(&(n / 2).to_le_bytes());
        },
    );
    let npz = Npz::open(&p).unwrap();
    let e = npz.verify("a").unwrap_err();
    assert!(matches!(e, Error::BadArchive { .. }), "{e:?}");
    println!("{e}");
}

#[test]
fn missing_name_lists_the_names() {
    let dir = numpy_fixtures!();
    let npz = Npz::open(dir.join("savez.npz")).unwrap();
    // SAFETY: the fixtures are not changed while the arrays live.
    let e = unsafe { npz.map::<f64, IxDyn>("nope") }.unwrap_err();
    match &e {
        Error::NoSuchMember {
            name, available, ..
        } => {
            assert_eq!(name, "nope");
            assert_eq!(&available[..3], ["f8", "f4", "i8"]);
        }
        other => panic!("{other:?}"),
    }
    // The zip name works as numpy's key does.
    // SAFETY: as above.
    let a = unsafe { npz.map::<Unaligned<f64>, IxDyn>("f8.npy") }.unwrap();
    assert_eq!(a.len(), 12);
}

#[test]
fn read_write_refused_copy_on_write_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npz");
    NpzWriter::create(&path)
        .unwrap()
        .add("x", &ndarray::arr1(&[1.0f64, 2.0, 3.0]))
        .unwrap()
        .finish()
        .unwrap();
    let npz = Npz::open(&path).unwrap();
    // SAFETY: the archive is ours alone while the arrays live.
    let e = unsafe { npz.map_with::<f64, IxDyn>("x", Mode::ReadWrite) }.unwrap_err();
    assert!(matches!(e, Error::NotWritable { .. }), "{e:?}");
    assert!(e.to_string().contains("CRC-32"), "{e}");
    // SAFETY: as above.
    let mut c = unsafe { npz.map_with::<f64, ndarray::Ix1>("x", Mode::CopyOnWrite) }.unwrap();
    c.view_mut().unwrap().fill(9.0);
    // SAFETY: as above.
    let r = unsafe { npz.map::<f64, ndarray::Ix1>("x") }.unwrap();
    assert_eq!(r.as_slice(), &[1.0, 2.0, 3.0]);
    // SAFETY: as above.
    let r = unsafe { npz.map::<f64, ndarray::Ix1>("x") }.unwrap();
    assert!(r.view_mut_checked_is_err());
    npz.verify("x").unwrap();
}

trait ReadOnly {
    fn view_mut_checked_is_err(self) -> bool;
}
impl<T: ndmmap::Pod, D: ndarray::Dimension> ReadOnly for ndmmap::MmapArray<T, D> {
    fn view_mut_checked_is_err(mut self) -> bool {
        self.view_mut().is_err()
    }
}

#[test]
fn zip64_archive_of_65600_members() {
    let dir = numpy_fixtures!();
    let path = dir.join("many.npz");
    // numpy wrote a zip64 end of central directory (more than 65535 entries).
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.windows(4).any(|w| w == b"PK\x06\x06"));
    let npz = Npz::open(&path).unwrap();
    assert_eq!(npz.members().len(), 65600);
    for i in [0usize, 1, 65535, 65536, 65599] {
        let name = format!("a{i}");
        // SAFETY: the fixtures are not changed while the arrays live.
        let a = unsafe { npz.map::<Unaligned<i32>, ndarray::Ix1>(&name) }.unwrap();
        assert_eq!(a.view()[0].get(), i as i32);
    }
    let r = npz.residency().unwrap();
    assert_eq!(r.len(), 65600);
}

/// Writes the members with NpzWriter and the expected bytes and metadata numpy checks.
fn write_with_expectations(dir: &Path) -> PathBuf {
    let exp = dir.join("expected");
    std::fs::create_dir_all(&exp).unwrap();
    let path = dir.join("ndmmap.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    fn add<T: NpyElement, D: ndarray::Dimension>(
        w: &mut NpzWriter,
        exp: &Path,
        name: &str,
        a: ndarray::ArrayView<'_, T, D>,
        fortran: bool,
        native: Vec<u8>,
    ) {
        w.add(name, a.view()).unwrap();
        let shape = a
            .shape()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let shape = if shape.is_empty() { "-".into() } else { shape };
        let meta = format!("{} {shape} {}", T::DTYPE.descr(), fortran as u8);
        std::fs::write(exp.join(format!("{name}.meta")), meta).unwrap();
        std::fs::write(exp.join(format!("{name}.bin")), native).unwrap();
    }
    fn c_bytes<T: ndmmap::Pod>(a: ndarray::ArrayView<'_, T, impl ndarray::Dimension>) -> Vec<u8> {
        let v: Vec<T> = a.iter().copied().collect();
        bytemuck::cast_slice(&v).to_vec()
    }
    let f8 = ArrayD::from_shape_fn(IxDyn(&[5, 7]), |i| (i[0] * 7 + i[1]) as f64 * 0.25);
    add(&mut w, &exp, "f8", f8.view(), false, c_bytes(f8.view()));
    let f4 = ndarray::Array1::from_shape_fn(13, |i| i as f32 - 6.5);
    add(&mut w, &exp, "f4", f4.view(), false, c_bytes(f4.view()));
    let i8_ = ndarray::Array3::from_shape_fn((2, 3, 4), |(a, b, c)| (a * 100 + b * 10 + c) as i64);
    add(&mut w, &exp, "i8", i8_.view(), false, c_bytes(i8_.view()));
    let u1 = ndarray::Array1::from_shape_fn(5, |i| i as u8);
    add(&mut w, &exp, "u1", u1.view(), false, c_bytes(u1.view()));
    let fo = ndarray::Array2::from_shape_fn((3, 4).f(), |(i, j)| (i * 4 + j) as i32);
    add(
        &mut w,
        &exp,
        "fortran_i4",
        fo.view(),
        true,
        c_bytes(fo.view()),
    );
    let big2 = ndarray::Array2::from_shape_fn((6, 8), |(i, j)| (i * 8 + j) as u16);
    let strided = big2.slice(ndarray::s![1..;2, ..;3]);
    add(&mut w, &exp, "strided_u2", strided, false, c_bytes(strided));
    let rev = big2.slice(ndarray::s![..;-1, ..]);
    add(&mut w, &exp, "reversed_u2", rev, false, c_bytes(rev));
    let t = big2.t();
    add(&mut w, &exp, "transposed_u2", t, true, c_bytes(t));
    let b = ndarray::Array1::from_shape_fn(9, |i| Bool::from(i % 2 == 0));
    add(&mut w, &exp, "mask", b.view(), false, c_bytes(b.view()));
    let c = ndarray::arr1(&[Complex::new(1.0f64, -1.0), Complex::new(0.5, 2.0)]);
    add(&mut w, &exp, "c16", c.view(), false, c_bytes(c.view()));
    let be = ndarray::Array1::from_shape_fn(4, |i| ByteSwapped::new(i as f64 + 0.5));
    let be_native: Vec<f64> = be.iter().map(|x| x.get()).collect();
    add(
        &mut w,
        &exp,
        "be_f8",
        be.view(),
        false,
        bytemuck::cast_slice(&be_native).to_vec(),
    );
    let s = ndarray::arr0(-3i16);
    add(&mut w, &exp, "scalar", s.view(), false, c_bytes(s.view()));
    let e = ndarray::Array2::<f64>::zeros((0, 3));
    add(&mut w, &exp, "empty", e.view(), false, Vec::new());
    w.finish().unwrap();
    path
}

#[test]
fn written_archives_load_in_numpy_and_map_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_with_expectations(dir.path());
    let npz = Npz::open(&path).unwrap();
    assert_eq!(npz.members().len(), 13);
    for m in npz.members() {
        assert!(m.problem.is_none(), "{}: {:?}", m.name, m.problem);
        assert_eq!(m.data_offset % 64, 0, "{} at {}", m.name, m.data_offset);
        assert!(m.alignment() >= 64);
        npz.verify(&m.name).unwrap();
    }
    assert!(npz.member("fortran_i4").unwrap().fortran_order);
    assert!(npz.member("transposed_u2").unwrap().fortran_order);
    assert!(!npz.member("reversed_u2").unwrap().fortran_order);
    // Aligned T, no Unaligned needed.
    // SAFETY: the archive is ours alone while the arrays live.
    unsafe {
        let f8 = npz.map::<f64, ndarray::Ix2>("f8").unwrap();
        assert_eq!(f8.as_slice()[7 * 2 + 3], 17.0 * 0.25);
        let c = npz.map::<Complex<f64>, ndarray::Ix1>("c16").unwrap();
        assert_eq!(c.view()[1], Complex::new(0.5, 2.0));
        let fo = npz.map::<i32, ndarray::Ix2>("fortran_i4").unwrap();
        assert_eq!(fo.view()[[2, 3]], 11);
        let be = npz.map::<ByteSwapped<f64>, ndarray::Ix1>("be_f8").unwrap();
        assert_eq!(be.view()[3].get(), 3.5);
        let s = npz.map::<i16, ndarray::Ix0>("scalar").unwrap();
        assert_eq!(s.view()[()], -3);
    }
    if have_numpy() {
        let out = python(&[
            "check",
            path.to_str().unwrap(),
            dir.path().join("expected").to_str().unwrap(),
        ]);
        assert_eq!(out.trim(), "ok 13");
    }
}

#[test]
fn writer_refuses_duplicates_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.npz");
    {
        let mut w = NpzWriter::create(&path).unwrap();
        w.add("x", &ndarray::arr1(&[1u8])).unwrap();
        assert!(matches!(
            w.add("x", &ndarray::arr1(&[2u8])),
            Err(Error::BadArchive { .. })
        ));
        // Dropped unfinished: no archive, no temporary file.
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // An existing archive is replaced only by finish.
    NpzWriter::create(&path).unwrap().finish().unwrap();
    assert_eq!(Npz::open(&path).unwrap().members().len(), 0);
}

#[test]
fn writer_refuses_what_zip_or_numpy_cannot_hold_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npz");
    let one = ndarray::arr1(&[1u8]);
    let mut w = NpzWriter::create(&path).unwrap();
    // 65,532 bytes and ".npy" are one more than a zip name holds: an error, not an abort.
    let e = w.add(&"n".repeat(65_532), &one).unwrap_err();
    assert!(matches!(e, Error::BadArchive { .. }), "{e:?}");
    println!("{e}");
    w.add(&"n".repeat(65_531), &one).unwrap(); // exactly 65,535
    // Names our reader would refuse as ambiguous numpy keys, either way round.
    w.add("a", &one).unwrap();
    assert!(matches!(
        w.add("a.npy", &one),
        Err(Error::BadArchive { .. })
    ));
    w.add("b.npy", &one).unwrap();
    assert!(matches!(w.add("b", &one), Err(Error::BadArchive { .. })));
    // A NUL byte, where Python's zipfile cuts a name.
    assert!(matches!(w.add("c\0d", &one), Err(Error::BadArchive { .. })));
    // Names numpy takes as they are.
    for name in ["", "ünï/cödé", "../up", "x y"] {
        w.add(name, &one).unwrap();
    }
    w.finish().unwrap();
    let npz = Npz::open(&path).unwrap();
    let names: Vec<&str> = npz.members().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 7);
    assert_eq!(names[1..], ["a", "b.npy", "", "ünï/cödé", "../up", "x y"]);
    for m in npz.members() {
        assert!(m.problem.is_none(), "{m:?}");
        npz.verify(&m.name).unwrap();
        // SAFETY: the file is ours alone while the array lives.
        let a = unsafe { npz.map::<u8, ndarray::Ix1>(&m.name) }.unwrap();
        assert_eq!(a.as_slice(), &[1]);
    }
    if have_numpy() {
        assert_eq!(
            python_on(
                "import numpy as np, sys; f = np.load(sys.argv[1]); \
                 print(sorted((k, int(f[k][0])) for k in f.files if len(k) < 100))",
                &path
            ),
            "[('', 1), ('../up', 1), ('a', 1), ('b.npy', 1), ('x y', 1), ('ünï/cödé', 1)]"
        );
    }
}

#[test]
fn writer_writes_zip64_end_records_past_65535_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    for i in 0..65_600u32 {
        w.add(&format!("a{i}"), &ndarray::arr1(&[i])).unwrap();
    }
    w.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.windows(4).any(|w| w == b"PK\x06\x06"));
    let npz = Npz::open_with(&path, NpzOptions::new().verify(true)).unwrap();
    assert_eq!(npz.members().len(), 65_600);
    assert!(npz.members().iter().all(|m| m.problem.is_none()));
    // SAFETY: the file is ours alone while the array lives.
    let a = unsafe { npz.map::<u32, ndarray::Ix1>("a65599") }.unwrap();
    assert_eq!(a.as_slice(), &[65_599]);
    if have_numpy() {
        assert_eq!(
            python_on(
                "import numpy as np, sys; f = np.load(sys.argv[1]); \
                 print(len(f.files), int(f['a65599'][0]))",
                &path
            ),
            "65600 65599"
        );
    }
}

/// A full disk (here a file size limit) is an error, and the writer prints nothing, takes no
/// more members and leaves no file behind.
#[cfg(unix)]
#[test]
fn writer_on_a_full_disk_is_an_error_and_prints_nothing() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.npz");
    let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
    let code = common::in_child(|| {
        // SAFETY: plain libc calls on this process's own limits, signals and descriptors.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 100_000,
                rlim_max: 100_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return 9;
            }
            libc::dup2(stderr.as_raw_fd(), 2);
        }
        let big = ndarray::Array1::<u8>::zeros(1 << 20);
        let mut w = NpzWriter::create(&path).unwrap();
        w.add("small", &ndarray::arr1(&[1u8])).unwrap();
        if !matches!(w.add("big", &big), Err(Error::Io { .. })) {
            return 2;
        }
        if w.add("more", &ndarray::arr1(&[1u8])).is_ok() || w.finish().is_ok() {
            return 3;
        }
        drop(w);
        0
    });
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stderr")).unwrap(),
        ""
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}"); // only the stderr file
}

#[cfg(unix)]
#[test]
fn residency_of_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npz");
    let page = common::page();
    let big = ndarray::Array1::<f64>::from_elem(64 * page / 8, 1.0);
    let small = ndarray::Array1::<f64>::from_elem(16 * page / 8, 2.0);
    NpzWriter::create(&path)
        .unwrap()
        .add("big", &big)
        .unwrap()
        .add("small", &small)
        .unwrap()
        .finish()
        .unwrap();
    let npz = Npz::open(&path).unwrap();
    let _cold = common::cold(&path); // after open, which reads the headers' pages
    let before = npz.residency().unwrap();
    // Pages spanned by each member's data (64-byte aligned, so a partial page at each end).
    let spanned = |m: &Member| (m.data_offset as usize % page + m.data_len as usize).div_ceil(page);
    let (mb, ms) = (npz.member("big").unwrap(), npz.member("small").unwrap());
    assert_eq!(before[0].0, "big");
    assert_eq!(before[0].1.total, spanned(mb));
    assert_eq!(before[1].1.total, spanned(ms));
    assert!(before[0].1.total >= 64 && before[1].1.total >= 16);
    assert_eq!(before[0].1.resident, 0, "{before:?}");
    assert_eq!(before[1].1.resident, 0, "{before:?}");
    // SAFETY: the archive is ours alone while the arrays live.
    let a = unsafe { npz.map::<f64, ndarray::Ix1>("small") }.unwrap();
    a.pages(..).unwrap().advise(Advice::WillNeed).unwrap();
    assert_eq!(a.view().sum(), 2.0 * (16 * page / 8) as f64);
    let after = npz.residency().unwrap();
    assert_eq!(after[1].1.resident, after[1].1.total, "{after:?}");
    // At most the page big shares with small's start.
    assert!(after[0].1.resident <= 1, "{after:?}");
    // The toolkit per member: evict it again (pages this process has touched stay, so through
    // a fresh map of the member).
    drop(a);
    // SAFETY: as above.
    let a = unsafe { npz.map::<f64, ndarray::Ix1>("small") }.unwrap();
    a.pages(..).unwrap().evict().unwrap();
    assert_eq!(npz.residency().unwrap()[1].1.resident, 0);
}

fn patch(src: &Path, dst: &Path, f: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut b = std::fs::read(src).unwrap();
    f(&mut b);
    std::fs::write(dst, &b).unwrap();
    dst.to_path_buf()
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"))
}

fn bad_archive(r: Result<Npz, Error>) -> String {
    match r {
        Err(e @ Error::BadArchive { .. }) => e.to_string(),
        other => panic!("expected BadArchive, got {other:?}"),
    }
}

#[test]
fn broken_archives_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = write_with_expectations(d);
    let bytes = std::fs::read(&good).unwrap();
    let cd = find(&bytes, b"PK\x01\x02");
    let eocd = bytes.len() - 22;
    assert_eq!(&bytes[eocd..eocd + 4], b"PK\x05\x06");

    // Garbage, an empty file, a directory.
    let junk = common::file_with(d, "junk.npz", &common::pattern(5000));
    println!("{}", bad_archive(Npz::open(&junk)));
    let empty = common::file_with(d, "empty.npz", b"");
    println!("{}", bad_archive(Npz::open(&empty)));
    assert!(matches!(Npz::open(d), Err(Error::IsDirectory { .. })));
    assert!(matches!(
        Npz::open(d.join("missing.npz")),
        Err(Error::Io { .. })
    ));

    // The central directory cut short: without its end record, and with it.
    let cut = patch(&good, &d.join("cut.npz"), |b| b.truncate(eocd - 10));
    println!("{}", bad_archive(Npz::open(&cut)));
    let hole = patch(&good, &d.join("hole.npz"), |b| {
        b.drain(cd + 50..eocd);
    });
    println!("{}", bad_archive(Npz::open(&hole)));

    // A member's local header offset past the end of the file: listed, refused when mapped.
    let past = patch(&good, &d.join("past.npz"), |b| {
        b[cd + 42..cd + 46].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    });
    match Npz::open(&past) {
        Err(e @ Error::BadArchive { .. }) => println!("{e}"),
        Ok(npz) => {
            let m = &npz.members()[0];
            assert!(m.problem.is_some(), "{m:?}");
            // SAFETY: the file is ours alone while the arrays live.
            let e = unsafe { npz.map::<Unaligned<f64>, IxDyn>(&m.name) }.unwrap_err();
            assert!(matches!(e, Error::BadArchive { .. }), "{e:?}");
            println!("{e}");
            // The other members still map.
            // SAFETY: as above.
            unsafe { npz.map::<f32, IxDyn>("f4") }.unwrap();
        }
        Err(other) => panic!("{other:?}"),
    }

    // A member's stored size past the end of the file.
    let long = patch(&good, &d.join("long.npz"), |b| {
        // compressed and uncompressed sizes of the first entry (no zip64 extra: small)
        b[cd + 20..cd + 24].copy_from_slice(&0x7FFF_0000u32.to_le_bytes());
        b[cd + 24..cd + 28].copy_from_slice(&0x7FFF_0000u32.to_le_bytes());
    });
    if let Ok(npz) = Npz::open(&long) {
        let m = &npz.members()[0];
        assert!(m.problem.as_deref().unwrap().contains("past"), "{m:?}");
        // SAFETY: as above.
        let e = unsafe { npz.map::<f64, IxDyn>("f8") }.unwrap_err();
        assert!(matches!(e, Error::BadArchive { .. }), "{e:?}");
    }

    // A local header that names another file.
    let renamed = patch(&good, &d.join("renamed.npz"), |b| {
        let at = find(b, b"f4.npy"); // the first occurrence is the local header's
        b[at] = b'g';
    });
    let npz = Npz::open(&renamed).unwrap();
    let m = npz.member("f4").unwrap();
    assert!(
        m.problem.as_deref().unwrap().contains("local header"),
        "{m:?}"
    );

    // Not a zip signature at the start: numpy does not take the file for an archive.
    let nosig = patch(&good, &d.join("nosig.npz"), |b| b[0] = b'X');
    println!("{}", bad_archive(Npz::open(&nosig)));
    // The first member's local header signature damaged after a good start: numpy reads the
    // directory, and fails on that member only.
    let nolocal = patch(&good, &d.join("nolocal.npz"), |b| {
        let second = find(&b[4..], b"PK\x03\x04") + 4;
        b[second] = b'X';
    });
    let npz = Npz::open(&nolocal).unwrap();
    assert!(npz.members()[1].problem.is_some());
    assert!(npz.members()[0].problem.is_none());
}

#[test]
fn lying_npy_headers_are_errors_when_mapped() {
    let dir = numpy_fixtures!();
    let tmp = tempfile::tempdir().unwrap();
    let src = dir.join("lie.npz");
    // 'a' holds 7 f8; its header claims 9 (data past the member's end) or 5 (bytes left over).
    for (claim, short) in [(b'9', true), (b'5', false)] {
        let p = patch(&src, &tmp.path().join("lie.npz"), |b| {
            let at = find(b, b"'shape': (7,)");
            b[at + 10] = claim;
        });
        let npz = Npz::open(&p).unwrap();
        let m = npz.member("a").unwrap();
        assert!(m.problem.is_some(), "{m:?}");
        // SAFETY: the file is ours alone while the arrays live.
        let e = unsafe { npz.map::<Unaligned<f64>, IxDyn>("a") }.unwrap_err();
        println!("{e}");
        if short {
            // Counted in the member's terms, not the file's.
            assert!(matches!(&e, Error::BadArchive { .. }), "{e:?}");
            assert!(
                e.to_string().contains(
                    "member \"a.npy\": its .npy header's shape [9] needs 72 bytes of data but \
                     the member holds 56"
                ),
                "{e}"
            );
        } else {
            assert!(matches!(&e, Error::BadArchive { .. }), "{e:?}");
        }
        // The other member is fine.
        // SAFETY: as above.
        let b = unsafe { npz.map::<Unaligned<i32>, IxDyn>("b") }.unwrap();
        assert_eq!(b.len(), 3);
    }
    // A header that is not a .npy header at all.
    let p = patch(&src, &tmp.path().join("magic.npz"), |b| {
        let at = find(b, b"\x93NUMPY");
        b[at + 1] = b'X';
    });
    let npz = Npz::open(&p).unwrap();
    // SAFETY: as above.
    let e = unsafe { npz.map::<Unaligned<f64>, IxDyn>("a") }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Npy {
                kind: NpyError::NotNpy { .. },
                ..
            }
        ),
        "{e:?}"
    );
}

/// A stored archive of one member, `a.npy` holding `npy`, written as Python's zipfile writes
/// one (no zip64 extra field).
fn one_member_zip(path: &Path, npy: &[u8]) {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("a.npy", opts).unwrap();
    z.write_all(npy).unwrap();
    z.finish().unwrap();
}

/// A stored member shorter than its `.npy` header's shape (its uncompressed size, in the
/// directory and the local header, set 8 bytes short): the reason is counted in the member's
/// bytes, not the archive's (it said "the file is 152 bytes long" of a 268-byte archive).
#[test]
fn a_member_shorter_than_its_header_is_named_in_member_terms() {
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let mut npy = Vec::new();
    ndarray::arr1(&[0.0f64, 1.0, 2.0, 3.0])
        .write_npy(&mut npy)
        .unwrap();
    let p = dir.path().join("one.npz");
    one_member_zip(&p, &npy);
    let mut b = std::fs::read(&p).unwrap();
    let cd = find(&b, b"PK\x01\x02");
    let size = u32::from_le_bytes(b[cd + 24..cd + 28].try_into().unwrap());
    assert_eq!(size as usize, npy.len());
    for at in [cd + 24, 22] {
        b[at..at + 4].copy_from_slice(&(size - 8).to_le_bytes());
    }
    std::fs::write(&p, &b).unwrap();
    let npz = Npz::open(&p).unwrap();
    let m = npz.member("a").unwrap();
    let header = npy.len() as u64 - 32;
    assert_eq!(
        (
            m.shape.as_deref(),
            m.data_len,
            m.data_offset - m.stored_offset
        ),
        (Some(&[4][..]), 24, header)
    );
    let why = m.problem.as_deref().unwrap();
    let want = "member \"a.npy\": its .npy header's shape [4] needs 32 bytes of data but the \
                member holds 24";
    assert!(why.contains(want) && !why.contains("file is"), "{why}");
    // SAFETY: the file is this test's alone.
    let e = unsafe { npz.map::<Unaligned<f64>, IxDyn>("a") }.unwrap_err();
    assert!(
        matches!(&e, Error::BadArchive { .. }) && e.to_string().contains(want),
        "{e:?}"
    );
    let c = ndmmap::container::Container::open(&p).unwrap();
    assert_eq!(c.entry("a").unwrap().unmappable.as_deref(), Some(why));
    // SAFETY: as above.
    let e = unsafe { c.map_any("a") }.unwrap_err();
    assert!(e.to_string().contains(want), "{e}");
    if have_numpy() {
        // numpy refuses the member too (zipfile reads 8 bytes short, and the CRC is wrong).
        let code = "import sys, numpy as np\ntry:\n    np.load(sys.argv[1])['a']\n    \
                    print('read')\nexcept Exception as e:\n    print(type(e).__name__)";
        assert_eq!(python_on(code, &p), "BadZipFile");
    }
}

/// An end record whose directory offset is far from where the directory is: numpy (Python's
/// zipfile) moves every local header offset by the difference, out of the file. The reason
/// names what the end record says, where the directory is and the file's length (it said
/// "its local header offset (-999999805) is outside the file").
#[test]
fn a_directory_offset_past_the_end_is_named_with_the_real_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.npz");
    NpzWriter::create(&good)
        .unwrap()
        .add("a", &ndarray::arr1(&[1.0f64, 2.0, 3.0]))
        .unwrap()
        .finish()
        .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let len = bytes.len();
    let eocd = len - 22;
    assert_eq!(&bytes[eocd..eocd + 4], b"PK\x05\x06");
    let start = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap());
    let cd = find(&bytes, b"PK\x01\x02");
    // 10^9: every offset moves below 0. One byte back, with the member's local header offset
    // set to 0xFFFF_FF00: it moves one byte further, past the end.
    for (stated, local, moved) in [
        (
            1_000_000_000u32,
            0,
            "(0) before the start of the file".to_string(),
        ),
        (
            start - 1,
            0xFFFF_FF00u32,
            format!(
                "({}) to byte {}, past the end of the file",
                0xFFFF_FF00u32, 0xFFFF_FF01u32
            ),
        ),
    ] {
        let p = patch(&good, &dir.path().join("far.npz"), |b| {
            b[eocd + 16..eocd + 20].copy_from_slice(&stated.to_le_bytes());
            if local != 0 {
                b[cd + 42..cd + 46].copy_from_slice(&local.to_le_bytes());
            }
        });
        let npz = Npz::open(&p).unwrap();
        let m = npz.member("a").unwrap();
        let why = m.problem.as_deref().unwrap();
        for want in [
            format!("puts the central directory at byte {stated}, but it is at byte {start}"),
            format!("this one {moved}"),
            format!("({len} bytes)"),
        ] {
            assert!(why.contains(&want), "{want:?} in {why}");
        }
        assert!(!why.contains('-'), "{why}");
        // SAFETY: the file is this test's alone.
        let e = unsafe { npz.map::<f64, IxDyn>("a") }.unwrap_err();
        assert!(matches!(e, Error::BadArchive { .. }), "{e:?}");
        if have_numpy() {
            let code = "import sys, numpy as np\ntry:\n    np.load(sys.argv[1])['a']\n    \
                        print('read')\nexcept Exception as e:\n    print('refused')";
            assert_eq!(python_on(code, &p), "refused");
        }
    }
}

#[test]
fn entry_counts_are_ignored_as_numpy_ignores_them() {
    let dir = numpy_fixtures!();
    let tmp = tempfile::tempdir().unwrap();
    // zip32: the end record claims 65535 entries where there are 20. Python's zipfile reads
    // the directory by its size, so numpy loads every member.
    let p = patch(&dir.join("savez.npz"), &tmp.path().join("count.npz"), |b| {
        let eocd = b.len() - 22;
        b[eocd + 8..eocd + 12].copy_from_slice(&[0xff; 4]);
    });
    assert_eq!(Npz::open(&p).unwrap().members().len(), 20);
    // zip64: the zip64 end record claims 2^40 entries (a naive reader allocates terabytes).
    let p = patch(
        &dir.join("many.npz"),
        &tmp.path().join("count64.npz"),
        |b| {
            let at = b.windows(4).rposition(|w| w == b"PK\x06\x06").unwrap();
            b[at + 24..at + 32].copy_from_slice(&(1u64 << 40).to_le_bytes());
            b[at + 32..at + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
        },
    );
    assert_eq!(Npz::open(&p).unwrap().members().len(), 65600);
    // A zip64 directory size of 2^62: more bytes than come before the end record.
    let p = patch(&dir.join("many.npz"), &tmp.path().join("size64.npz"), |b| {
        let at = b.windows(4).rposition(|w| w == b"PK\x06\x06").unwrap();
        b[at + 40..at + 48].copy_from_slice(&(1u64 << 62).to_le_bytes());
    });
    println!("{}", bad_archive(Npz::open(&p)));
}

#[test]
fn duplicate_names_and_non_npy_members() {
    let dir = numpy_fixtures!();
    let msg = bad_archive(Npz::open(dir.join("duplicate.npz")));
    assert!(msg.contains("x.npy"), "{msg}");
    // A member numpy returns as bytes: listed with its problem; the arrays map.
    let npz = Npz::open(dir.join("extra.npz")).unwrap();
    let names: Vec<&str> = npz.members().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "readme.txt"]);
    assert!(npz.member("readme.txt").unwrap().problem.is_some());
    // SAFETY: the fixtures are not changed while the arrays live.
    let e = unsafe { npz.map::<u8, IxDyn>("readme.txt") }.unwrap_err();
    assert!(matches!(e, Error::Npy { .. }), "{e:?}");
    // SAFETY: as above.
    let a = unsafe { npz.map::<Unaligned<f64>, ndarray::Ix1>("a") }.unwrap();
    assert_eq!(a.view()[3].get(), 3.0);
}

#[test]
fn verify_finds_changed_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.npz");
    NpzWriter::create(&path)
        .unwrap()
        .add("x", &ndarray::Array1::<u32>::from_elem(100, 7))
        .unwrap()
        .finish()
        .unwrap();
    let npz = Npz::open(&path).unwrap();
    npz.verify("x").unwrap();
    let at = npz.member("x").unwrap().data_offset + 10;
    drop(npz);
    patch(&path, &path, |b| b[at as usize] ^= 1);
    let npz = Npz::open(&path).unwrap();
    let e = npz.verify("x").unwrap_err();
    assert!(e.to_string().contains("CRC-32"), "{e}");
}

/// Maps a member with the element type its dtype names (alignment 1, so any offset) and
/// reads every value: `Err` for whatever cannot be mapped, never a panic or a fault.
fn read_any(npz: &Npz, m: &Member) -> Result<f64, Error> {
    fn sum<T: NpyElement>(npz: &Npz, name: &str, f: impl Fn(T) -> f64) -> Result<f64, Error> {
        // SAFETY: the file is ours alone while the array lives.
        let a = unsafe { npz.map::<T, IxDyn>(name) }?;
        Ok(a.view().iter().map(|&x| f(x)).sum())
    }
    let name = m.name.as_str();
    match m.descr.as_deref().unwrap_or("") {
        "<f8" => sum(npz, name, |x: Unaligned<f64>| x.get()),
        "<f4" => sum(npz, name, |x: Unaligned<f32>| x.get() as f64),
        "<i8" => sum(npz, name, |x: Unaligned<i64>| x.get() as f64),
        "<i4" => sum(npz, name, |x: Unaligned<i32>| x.get() as f64),
        "<i2" => sum(npz, name, |x: Unaligned<i16>| x.get() as f64),
        "<u2" => sum(npz, name, |x: Unaligned<u16>| x.get() as f64),
        "|u1" => sum(npz, name, |x: u8| x as f64),
        "|i1" => sum(npz, name, |x: i8| x as f64),
        "|b1" => sum(npz, name, |x: Bool| x.get() as u8 as f64),
        "<c16" => sum(npz, name, |x: Unaligned<Complex<f64>>| x.get().re),
        "<c8" => sum(npz, name, |x: Unaligned<Complex<f32>>| x.get().re as f64),
        ">f8" => sum(npz, name, |x: ByteSwapped<f64>| x.get()),
        ">i4" => sum(npz, name, |x: ByteSwapped<i32>| x.get() as f64),
        _ => sum(npz, name, |x: u8| x as f64),
    }
}

mod flips {
    use super::*;
    use proptest::prelude::*;

    fn archive() -> &'static [u8] {
        static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
        BYTES.get_or_init(|| match fixtures() {
            Some(d) => std::fs::read(d.join("savez.npz")).unwrap(),
            None => {
                let dir = tempfile::tempdir().unwrap();
                std::fs::read(write_with_expectations(dir.path())).unwrap()
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn random_byte_flips_never_panic(
            flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
            cut in prop::option::of(any::<prop::sample::Index>()),
        ) {
            let mut b = archive().to_vec();
            for (i, x) in flips {
                let at = i.index(b.len());
                b[at] ^= x;
            }
            if let Some(c) = cut {
                b.truncate(c.index(b.len()));
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.npz");
            std::fs::write(&path, &b).unwrap();
            if let Ok(npz) = Npz::open(&path) {
                for m in npz.members() {
                    let r = read_any(&npz, m);
                    prop_assert!(r.is_err() || m.problem.is_none(), "{m:?}");
                    let _ = npz.verify(&m.name);
                }
                let _ = npz.residency();
            }
        }
    }
}

/// A member of more than 4 GiB, past which another member lies (zip64 sizes and offsets in
/// the central directory), written by numpy; mapped; copied into an archive by NpzWriter,
/// which numpy loads. About 9 GB of disk and 30-60 s:
/// `cargo test --features full --test npz -- --ignored over_4gib --nocapture`
#[test]
#[ignore = "writes ~9 GB; run with --ignored"]
fn over_4gib() {
    if !have_numpy() {
        return;
    }
    let t = std::time::Instant::now();
    let dir = tempfile::tempdir_in(std::env::var("NPZ_BIG_DIR").unwrap_or("/tmp".into())).unwrap();
    python(&["big", dir.path().to_str().unwrap()]);
    println!("numpy wrote big.npz in {:?}", t.elapsed());
    let path = dir.path().join("big.npz");
    let npz = Npz::open(&path).unwrap();
    let big = npz.member("big").unwrap().clone();
    let after = npz.member("after").unwrap().clone();
    println!("{big:?}\n{after:?}");
    const BIG: usize = (1 << 32) + 4096;
    assert_eq!(big.shape.as_deref(), Some(&[BIG][..]));
    assert!(after.data_offset > 1 << 32);
    // SAFETY: the archive is ours alone while the arrays live.
    let a = unsafe { npz.map::<u8, ndarray::Ix1>("big") }.unwrap();
    let v = a.view();
    assert_eq!(
        (v[0], v[(1 << 32) - 1], v[1 << 32], v[BIG - 1]),
        (1, 2, 3, 4)
    );
    // SAFETY: as above.
    let b = unsafe { npz.map::<Unaligned<f64>, ndarray::Ix1>("after") }.unwrap();
    assert_eq!(b.view()[9].get(), 9.0);
    let r = npz.residency().unwrap();
    println!("residency: {r:?}");
    // Copy the mapped member into a new archive: zip64 member, aligned.
    let out = dir.path().join("ndmmap_big.npz");
    let t = std::time::Instant::now();
    NpzWriter::create(&out)
        .unwrap()
        .add("big", a.view())
        .unwrap()
        .add("after", &ndarray::Array1::from_shape_fn(10, |i| i as f64))
        .unwrap()
        .finish()
        .unwrap();
    println!(
        "NpzWriter wrote {} bytes in {:?}",
        std::fs::metadata(&out).unwrap().len(),
        t.elapsed()
    );
    drop((a, b, npz));
    std::fs::remove_file(&path).unwrap();
    let npz = Npz::open(&out).unwrap();
    for m in npz.members() {
        assert_eq!(m.data_offset % 64, 0);
    }
    // SAFETY: as above.
    let a = unsafe { npz.map::<u8, ndarray::Ix1>("big") }.unwrap();
    assert_eq!(a.view()[BIG - 1], 4);
    // SAFETY: as above.
    let b = unsafe { npz.map::<f64, ndarray::Ix1>("after") }.unwrap();
    assert_eq!(b.as_slice()[9], 9.0);
    let t = std::time::Instant::now();
    assert_eq!(
        python(&["checkbig", out.to_str().unwrap()]).trim(),
        "ok big"
    );
    println!("numpy loaded it in {:?}", t.elapsed());
}

/// Issue 21: `NpzWriter` over a 0600 file leaves a 0600 file; through a symbolic link it
/// replaces the file the link names and keeps the link.
#[cfg(unix)]
#[test]
fn writer_keeps_the_mode_and_writes_through_a_symlink() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = common::tmpdir();
    let real = dir.path().join("real.npz");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.npz");
    std::os::unix::fs::symlink("real.npz", &link).unwrap();
    for p in [&real, &link] {
        NpzWriter::create(p)
            .unwrap()
            .add("x", &ndarray::arr1(&[1u8, 2, 3]))
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o7777, 0o600);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(Npz::open(&real).unwrap().members().len(), 1);
        assert_eq!(common::names_in(dir.path()), ["link.npz", "real.npz"]);
    }
}

/// Issue 21: a writer killed in the middle of a large archive (SIGKILL: no drop, no exit
/// handler) leaves the old file as it was and nothing else.
#[cfg(unix)]
#[test]
fn sigkill_in_the_middle_of_an_archive_leaves_nothing() {
    let dir = common::tmpdir();
    let p = dir.path().join("x.npz");
    std::fs::write(&p, b"old").unwrap();
    for members in [1, 3] {
        common::then_sigkill(|| {
            let big = ndarray::Array1::<f64>::zeros(4 << 20); // 32 MiB
            let mut w = NpzWriter::create(&p).unwrap();
            for i in 0..members {
                w.add(&format!("m{i}"), &big).unwrap();
            }
        });
        assert_eq!(common::names_in(dir.path()), ["x.npz"]);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
    }
}

/// Issue 21: on a full file system the write is an error naming ENOSPC, and the writer,
/// dropped, leaves the directory as it was.
#[cfg(target_os = "linux")]
#[test]
fn writer_on_a_full_disk_fails_and_leaves_nothing() {
    let Some(fs) = common::small_tmpfs(16) else {
        return;
    };
    let keep = fs.path().join("keep.npz");
    std::fs::write(&keep, b"old").unwrap();
    let big = ndarray::Array1::<f64>::zeros(4 << 20); // 32 MiB
    for p in [fs.path().join("new.npz"), keep.clone()] {
        let mut w = NpzWriter::create(&p).unwrap();
        let e = w.add("big", &big).map(drop).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
        assert!(w.finish().is_err());
        drop(w);
        assert_eq!(common::names_in(fs.path()), ["keep.npz"]);
        assert_eq!(std::fs::read(&keep).unwrap(), b"old");
    }
}
