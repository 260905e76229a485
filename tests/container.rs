//! The container API over `.npy`, `.npz` and safetensors with one test body: the same arrays
//! written by the crate's own writers in each format, then listed, looked up and mapped
//! (typed, in another mode, as `AnyArray`) through `Container`, and their pages asked for.
//! Then what only some formats have: Fortran order, big-endian data, np.savez's unaligned
//! offsets, compressed members, dtypes numpy lacks (BF16, FP8, FP4) and long double as
//! `AnyArray::Other`; the `PATH:NAME` opener; residency per entry; damaged files (errors,
//! never panics).
#![cfg(all(feature = "npz", feature = "safetensors"))]

mod common;

use ndarray::{ArrayD, Ix6, IxDyn, ShapeBuilder, s};
use ndmmap::container::{self, Container, Format};
use ndmmap::npz::NpzWriter;
use ndmmap::{AnyArray, Bool, ByteSwapped, Error, Mode, NpyElement, Order, Unaligned};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// The arrays every format holds, by name.
#[derive(Clone)]
enum Value {
    F32(ArrayD<f32>),
    I64(ArrayD<i64>),
    F64(ArrayD<f64>),
    Bool(ArrayD<Bool>),
}

fn arrays() -> Vec<(&'static str, Value)> {
    let w = ArrayD::from_shape_fn(IxDyn(&[4, 3]), |i| (i[0] * 3 + i[1]) as f32 * 0.5);
    let f = ArrayD::from_shape_vec(IxDyn(&[2, 3]).f(), (0..6).map(|x| x as f64).collect()).unwrap();
    vec![
        ("w", Value::F32(w)),
        (
            "ids",
            Value::I64(ArrayD::from_shape_vec(IxDyn(&[5]), vec![-2, 0, 3, 9, 1 << 40]).unwrap()),
        ),
        ("f", Value::F64(f)),
        ("scalar", Value::F64(ndarray::arr0(2.5).into_dyn())),
        (
            "mask",
            Value::Bool(
                ArrayD::from_shape_vec(IxDyn(&[4]), [1u8, 0, 0, 1].map(Bool).to_vec()).unwrap(),
            ),
        ),
    ]
}

/// Files holding [`arrays`] in `format`, each with the names its entries have: one archive for
/// `.npz` and safetensors, one `.npy` file per array (its entry named `""`).
fn build(format: Format, dir: &Path) -> Vec<(PathBuf, Vec<(String, Value)>)> {
    let all = arrays();
    match format {
        Format::Npy => all
            .into_iter()
            .map(|(name, v)| {
                let path = dir.join(format!("{name}.npy"));
                write_npy(&path, &v);
                (path, vec![(String::new(), v)])
            })
            .collect(),
        Format::Npz => {
            let path = dir.join("all.npz");
            let mut w = NpzWriter::create(&path).unwrap();
            for (name, v) in &all {
                match v {
                    Value::F32(a) => w.add(name, a).unwrap(),
                    Value::I64(a) => w.add(name, a).unwrap(),
                    Value::F64(a) => w.add(name, a).unwrap(),
                    Value::Bool(a) => w.add(name, a).unwrap(),
                };
            }
            w.finish().unwrap();
            vec![(
                path,
                all.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
            )]
        }
        Format::Safetensors => {
            let path = dir.join("all.safetensors");
            let mut w = ndmmap::safetensors::Writer::new();
            for (name, v) in &all {
                match v {
                    Value::F32(a) => w.add(*name, a.view()),
                    Value::I64(a) => w.add(*name, a.view()),
                    Value::F64(a) => w.add(*name, a.view()),
                    Value::Bool(a) => w.add(*name, a.view()),
                };
            }
            w.write(&path).unwrap();
            vec![(
                path,
                all.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
            )]
        }
        _ => unreachable!(),
    }
}

/// Writes `v` as a `.npy` file with the crate's own `npy::create` (Fortran order kept).
fn write_npy(path: &Path, v: &Value) {
    fn put<T: NpyElement>(path: &Path, a: &ArrayD<T>) {
        let fortran = a.ndim() > 1 && a.t().is_standard_layout();
        let shape = IxDyn(a.shape()).set_f(fortran);
        // SAFETY: the file is this test's alone.
        let mut m = unsafe { ndmmap::npy::create::<T, IxDyn, _>(path, shape).unwrap() };
        m.view_mut().unwrap().assign(a);
        m.msync(ndmmap::Flush::Sync).unwrap();
    }
    match v {
        Value::F32(a) => put(path, a),
        Value::I64(a) => put(path, a),
        Value::F64(a) => put(path, a),
        Value::Bool(a) => put(path, a),
    }
}

/// Everything one entry holding `expected` must answer, typed and untyped.
fn check_typed<T>(c: &Container, name: &str, expected: &ArrayD<T>, fortran_kept: bool)
where
    T: NpyElement + PartialEq + Debug,
{
    let at = format!("{}:{name}", c.path().display());
    let e = c.entry(name).unwrap();
    assert_eq!(e.name, name);
    assert_eq!(e.dtype, Some(T::DTYPE), "{at}");
    assert_eq!(e.type_name, T::DTYPE.descr(), "{at}");
    assert_eq!(
        (e.elem_size, &e.shape[..]),
        (size_of::<T>(), expected.shape()),
        "{at}"
    );
    assert_eq!(e.len, (expected.len() * size_of::<T>()) as u64, "{at}");
    assert!(e.unmappable.is_none(), "{at}");
    let fortran = fortran_kept && expected.ndim() > 1 && !expected.is_standard_layout();
    assert_eq!(e.order, if fortran { Order::F } else { Order::C }, "{at}");
    assert_eq!(
        e.offset % align_of::<T>() as u64,
        0,
        "{at}: the crate's writers align"
    );

    // SAFETY: the test's files are not changed while the arrays live.
    let a = unsafe { c.map::<T, IxDyn>(name) }.unwrap();
    assert_eq!(a.view(), expected.view(), "{at}");
    assert_eq!((a.offset(), a.order()), (e.offset, e.order), "{at}");
    assert_eq!(
        a.path(),
        Some(c.path()),
        "{at}: the array's path is the file's"
    );
    // SAFETY: as above.
    let u = unsafe { c.map::<Unaligned<T>, IxDyn>(name) }.unwrap();
    assert!(
        u.view()
            .iter()
            .zip(expected.iter())
            .all(|(x, y)| x.get() == *y),
        "{at}"
    );
    // SAFETY: as above.
    match unsafe { c.map::<T, Ix6>(name) } {
        Err(Error::DimensionMismatch { expected: 6, found }) => assert_eq!(found, expected.ndim()),
        other => panic!("{at}: {other:?}"),
    }
    // SAFETY: as above.
    match unsafe { c.map::<u16, IxDyn>(name) } {
        Err(Error::DtypeMismatch { expected, found }) => {
            assert_eq!((expected.as_str(), &found), ("<u2", &T::DTYPE.descr()))
        }
        other => panic!("{at}: {other:?}"),
    }
    // Copy-on-write: private changes.
    // SAFETY: as above.
    let mut p = unsafe { c.map_with::<T, IxDyn>(name, Mode::CopyOnWrite) }.unwrap();
    p.view_mut().unwrap().fill(T::zeroed());
    drop(p);
    // SAFETY: as above.
    assert_eq!(
        unsafe { c.map::<T, IxDyn>(name) }.unwrap().view(),
        expected.view(),
        "{at}"
    );

    // SAFETY: as above.
    let any = unsafe { c.map_any(name) }.unwrap();
    assert_eq!(any.type_name(), T::DTYPE.descr(), "{at}");
    assert_eq!(
        (any.shape(), any.order()),
        (expected.shape(), e.order),
        "{at}"
    );
    assert_eq!(any.typed::<T>().unwrap().view(), expected.view(), "{at}");
    let span = any.page_span();
    assert_eq!(
        any.pages(..).unwrap().residency().unwrap().total,
        span.page_count,
        "{at}"
    );
    // The entry's pages without mapping it are the same pages.
    let r = c.pages(name).unwrap().residency().unwrap();
    assert_eq!(r.total, span.page_count, "{at}");
}

fn check_value(c: &Container, name: &str, v: &Value, fortran_kept: bool) {
    match v {
        Value::F32(a) => check_typed(c, name, a, fortran_kept),
        Value::I64(a) => check_typed(c, name, a, fortran_kept),
        Value::F64(a) => check_typed(c, name, a, fortran_kept),
        Value::Bool(a) => check_typed(c, name, a, fortran_kept),
    }
}

/// The one test body: every format lists, finds, refuses and maps the same arrays alike.
#[test]
fn same_arrays_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Npy, Format::Npz, Format::Safetensors] {
        // safetensors stores C order only: the writer copies a Fortran array in logical order.
        let fortran_kept = format != Format::Safetensors;
        for (path, expected) in build(format, dir.path()) {
            let c = Container::open(&path).unwrap();
            assert_eq!((c.format(), c.path()), (format, path.as_path()));
            let mut names: Vec<&str> = c.entries().iter().map(|e| e.name.as_str()).collect();
            let mut want: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
            let in_file_order = names.clone();
            names.sort();
            want.sort();
            assert_eq!(names, want, "{}", path.display());
            assert!(
                c.entries().windows(2).all(|w| w[0].offset < w[1].offset),
                "file order"
            );
            for (name, v) in &expected {
                check_value(&c, name, v, fortran_kept);
            }
            // One lookup error for every format.
            match c.entry("nope") {
                Err(Error::NoSuchMember {
                    path: p,
                    name,
                    available,
                    more,
                }) => {
                    assert_eq!(
                        (p.as_deref(), name.as_str()),
                        (Some(path.as_path()), "nope")
                    );
                    assert_eq!(available, in_file_order);
                    assert_eq!(more, 0);
                }
                other => panic!("{other:?}"),
            }
            // SAFETY: as above.
            assert!(matches!(
                unsafe { c.map_any("nope") },
                Err(Error::NoSuchMember { .. })
            ));
            assert!(matches!(c.pages("nope"), Err(Error::NoSuchMember { .. })));
            let all = c.residency_all().unwrap();
            assert_eq!(
                all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                in_file_order
            );
            // The opener finds the same container by PATH and by PATH:NAME.
            let (c2, n) = container::open(&path).unwrap();
            assert_eq!((c2.entries(), n), (c.entries(), None));
            for (name, _) in &expected {
                let (c3, n) = container::open(format!("{}:{name}", path.display())).unwrap();
                assert_eq!(
                    (c3.path(), n.as_deref()),
                    (path.as_path(), Some(name.as_str()))
                );
            }
        }
    }
}

#[test]
fn lookup_error_lists_twenty_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    for i in 0..25 {
        w.add(&format!("m{i:02}"), &ndarray::arr1(&[i as u8]))
            .unwrap();
    }
    w.finish().unwrap();
    let c = Container::open(&path).unwrap();
    assert_eq!(c.entries().len(), 25);
    match c.entry("m99") {
        Err(e @ Error::NoSuchMember { .. }) => {
            assert!(e.to_string().ends_with("\"m19\" and 5 more"), "{e}");
            let Error::NoSuchMember {
                available, more, ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!((available.len(), more), (20, 5));
            assert_eq!(
                (available[0].as_str(), available[19].as_str()),
                ("m00", "m19")
            );
        }
        other => panic!("{other:?}"),
    }
    // numpy's key or the zip name.
    assert_eq!(c.entry("m03.npy").unwrap().name, "m03");
    // Names with quotes, backslashes and control characters are quoted alike, as Rust's
    // `{:?}` quotes them (a quote or a backslash was printed raw, a newline escaped).
    let odd = dir.path().join("odd.npz");
    let one = npy_bytes("|u1", &[1], &[7]);
    raw_zip(
        &odd,
        &[
            ("\"q\\.npy", one.clone()),
            ("x\ny.npy", one.clone()),
            ("e\u{1b}.npy", one),
        ],
    );
    let c = Container::open(&odd).unwrap();
    let e = c.entry("nope").unwrap_err().to_string();
    assert!(
        e.ends_with(r#"has no member named "nope"; it has: "\"q\\", "x\ny", "e\u{1b}""#),
        "{e}"
    );
}

#[test]
fn read_write_where_the_format_allows() {
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Npy, Format::Npz, Format::Safetensors] {
        // The file and name of "ids", the one i64 array.
        let (path, name) = build(format, dir.path())
            .into_iter()
            .find_map(|(p, e)| {
                let (n, _) = e.into_iter().find(|(_, v)| matches!(v, Value::I64(_)))?;
                Some((p, n))
            })
            .unwrap();
        let name = &name;
        let c = Container::open(&path).unwrap();
        // SAFETY: the file is this test's alone.
        let w = unsafe { c.map_with::<i64, IxDyn>(name, Mode::ReadWrite) };
        if format == Format::Npz {
            assert!(matches!(w, Err(Error::NotWritable { .. })), "{w:?}");
            continue;
        }
        let mut w = w.unwrap();
        w.view_mut().unwrap().fill(7);
        w.msync(ndmmap::Flush::Sync).unwrap();
        drop(w);
        let c = Container::open(&path).unwrap();
        // SAFETY: as above.
        let r = unsafe { c.map::<i64, IxDyn>(name) }.unwrap();
        assert_eq!(r.view().sum(), 35, "{format:?}");
        // The same through map_any_with: copy-on-write stays private, read-write reaches
        // the file, read-only refuses a mutable view.
        // SAFETY: as above.
        let any = |mode| match unsafe { c.map_any_with(name, mode) }.unwrap() {
            AnyArray::I64(a) => a,
            other => panic!("{format:?}: {other:?}"),
        };
        any(Mode::CopyOnWrite).view_mut().unwrap().fill(1);
        assert_eq!(r.view().sum(), 35, "{format:?}: copy-on-write is private");
        assert!(any(Mode::ReadOnly).view_mut().is_err());
        let mut w = any(Mode::ReadWrite);
        w.view_mut().unwrap().fill(2);
        assert_eq!(r.view().sum(), 10, "{format:?}: read-write is the file's");
    }
    let npz = build(Format::Npz, dir.path()).remove(0).0;
    let c = Container::open(&npz).unwrap();
    let name = &c.entries()[0].name;
    // SAFETY: the file is this test's alone.
    let w = unsafe { c.map_any_with(name, Mode::ReadWrite) };
    assert!(matches!(w, Err(Error::NotWritable { .. })), "{w:?}");
}

#[test]
fn big_endian_entries() {
    let dir = tempfile::tempdir().unwrap();
    let values = [1.5f64, -2.0, 1e300];
    let be = ndarray::arr1(&values.map(ByteSwapped::new));
    let npz = dir.path().join("be.npz");
    NpzWriter::create(&npz)
        .unwrap()
        .add("be", &be)
        .unwrap()
        .finish()
        .unwrap();
    let npy = dir.path().join("be.npy");
    // SAFETY: the file is this test's alone.
    let mut m =
        unsafe { ndmmap::npy::create::<ByteSwapped<f64>, ndarray::Ix1, _>(&npy, 3).unwrap() };
    m.view_mut().unwrap().assign(&be);
    drop(m);
    for (path, name) in [(npz, "be"), (npy, "")] {
        let c = Container::open(&path).unwrap();
        let e = c.entry(name).unwrap();
        assert_eq!(e.type_name, ">f8");
        assert!(!e.dtype.unwrap().little_endian);
        // SAFETY: as above.
        match unsafe { c.map::<f64, IxDyn>(name) } {
            Err(e @ Error::DtypeMismatch { .. }) => assert!(e.to_string().contains("ByteSwapped")),
            other => panic!("{other:?}"),
        }
        // SAFETY: as above.
        let a = unsafe { c.map::<ByteSwapped<f64>, ndarray::Ix1>(name) }.unwrap();
        assert_eq!(a.view().iter().map(|x| x.get()).collect::<Vec<_>>(), values);
        // SAFETY: as above.
        let any = unsafe { c.map_any(name) }.unwrap();
        assert!(matches!(any, AnyArray::SwappedF64(_)), "{any:?}");
        assert_eq!(any.type_name(), ">f8");
    }
}

/// A zip of `members` (name, bytes) as np.savez writes it: stored, data right after each
/// local header, so at offsets no element type chose.
fn raw_zip(path: &Path, members: &[(&str, Vec<u8>)]) {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

/// The bytes of a `.npy` file of `descr` and `shape` (C order) holding `data`.
fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut h =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    let total = (10 + h.len() + 1).next_multiple_of(64);
    h.resize(total - 11, b' ');
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn unaligned_and_compressed_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("savez.npz");
    let v = [1.0f64, 2.0, 3.0];
    let image = npy_bytes("<f8", &[3], &f64_bytes(&v));
    raw_zip(&path, &[("u.npy", image.clone()), ("z.npy", image)]);
    // Mark "z" deflated (method 8) in its local header and its directory entry: its bytes are
    // then not the array's.
    let mut bytes = std::fs::read(&path).unwrap();
    let local = bytes.windows(5).position(|w| w == b"z.npy").unwrap() - 30;
    bytes[local + 8] = 8;
    let central = (0..bytes.len() - 51)
        .find(|&i| &bytes[i..i + 4] == b"PK\x01\x02" && &bytes[i + 46..i + 51] == b"z.npy")
        .unwrap();
    bytes[central + 10] = 8;
    std::fs::write(&path, &bytes).unwrap();

    let c = Container::open(&path).unwrap();
    let u = c.entry("u").unwrap();
    assert_ne!(u.offset % 8, 0, "np.savez's offsets are rarely aligned");
    // SAFETY: the file is this test's alone.
    match unsafe { c.map::<f64, ndarray::Ix1>("u") } {
        Err(e @ Error::Misaligned { .. }) => assert!(e.to_string().contains("Unaligned<T>"), "{e}"),
        other => panic!("{other:?}"),
    }
    // SAFETY: as above.
    let a = unsafe { c.map::<Unaligned<f64>, ndarray::Ix1>("u") }.unwrap();
    assert_eq!(a.view().iter().map(|x| x.get()).collect::<Vec<_>>(), v);
    // SAFETY: as above.
    let any = unsafe { c.map_any("u") }.unwrap();
    assert!(matches!(any, AnyArray::UnalignedF64(_)), "{any:?}");

    let z = c.entry("z").unwrap();
    assert!(
        z.unmappable.as_deref().unwrap().contains("compressed"),
        "{z:?}"
    );
    assert_eq!((z.dtype, z.type_name.as_str(), z.elem_size), (None, "", 0));
    // SAFETY: as above.
    match unsafe { c.map_any("z") } {
        Err(Error::Compressed { name, method, .. }) => {
            assert_eq!((&*name, &*method), ("z", "deflated"))
        }
        other => panic!("{other:?}"),
    }
    // SAFETY: as above.
    assert!(matches!(
        unsafe { c.map::<Unaligned<f64>, IxDyn>("z") },
        Err(Error::Compressed { .. })
    ));
    // Its stored bytes have pages all the same.
    assert!(c.pages("z").unwrap().residency().unwrap().total >= 1);
}

/// A safetensors file of raw tensors (name, dtype, shape, bytes), in this order.
fn safetensors_bytes(tensors: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
    let (mut parts, mut data) = (vec![], vec![]);
    for (name, dtype, shape, bytes) in tensors {
        let (a, b) = (data.len(), data.len() + bytes.len());
        parts.push(format!(
            r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{a},{b}]}}"#
        ));
        data.extend_from_slice(bytes);
    }
    let mut header = format!("{{{}}}", parts.join(",")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&data);
    out
}

#[test]
fn dtypes_numpy_lacks_map_as_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.safetensors");
    // BF16 (3, 2): 0.0, 1.0, ..., 5.0 (a bf16 is a float32's upper half); then FP8 and FP4.
    let bf16: Vec<u8> = (0..6)
        .flat_map(|i| ((i as f32).to_bits() >> 16).to_le_bytes()[..2].to_vec())
        .collect();
    std::fs::write(
        &path,
        safetensors_bytes(&[
            ("b", "BF16", &[3, 2], bf16.clone()),
            ("q", "F8_E4M3", &[4], vec![1, 2, 3, 4]),
            ("p", "F4", &[4], vec![0x21, 0x43]),
        ]),
    )
    .unwrap();
    let c = Container::open(&path).unwrap();
    let b = c.entry("b").unwrap();
    assert_eq!(
        (b.dtype, b.type_name.as_str(), b.elem_size, b.len),
        (None, "BF16", 2, 12)
    );
    assert!(b.unmappable.is_none());
    // SAFETY: the file is this test's alone.
    match unsafe { c.map::<u16, IxDyn>("b") } {
        Err(Error::DtypeMismatch { found, .. }) => assert_eq!(found, "BF16"),
        other => panic!("{other:?}"),
    }
    // SAFETY: as above.
    let a = unsafe { c.map_any("b") }.unwrap();
    assert_eq!(
        (a.type_name().as_str(), a.dtype().descr().as_str()),
        ("BF16", "|V2")
    );
    assert_eq!(
        (a.shape(), a.ndim(), a.len(), a.nbytes()),
        (&[3, 2][..], 2, 6, 12)
    );
    assert_eq!(
        (a.order(), a.mode(), a.offset()),
        (Order::C, Mode::ReadOnly, b.offset)
    );
    assert_eq!(a.path(), Some(path.as_path()));
    assert!(a.file().is_some());
    // Pages over the logical shape: one page holds it all.
    assert_eq!(a.pages(..).unwrap().residency().unwrap().total, 1);
    assert_eq!(a.pages(s![1..2, ..]).unwrap().len(), 1);
    assert_eq!(a.pages(0..6).unwrap().len(), 1);
    assert!(a.pages(0..7).is_err());
    assert!(a.pages(s![..4, ..]).is_err());
    assert_eq!(
        a.pages(..).unwrap().along(ndarray::Axis(0)).unwrap().len(),
        3
    );
    a.madvise(ndmmap::Advice::WillNeed).unwrap();
    a.msync(ndmmap::Flush::Async).unwrap();
    let AnyArray::Other(o) = a else { panic!() };
    assert_eq!((o.type_name(), o.elem_size()), ("BF16", 2));
    let v = o.view();
    assert_eq!(v.shape(), &[3, 2, 2]);
    assert_eq!(v.as_standard_layout().as_slice().unwrap(), &bf16[..]);
    assert_eq!(o.guarded(|v| v[[2, 1, 1]]).unwrap(), bf16[11]);
    #[cfg(feature = "half")]
    {
        let t = o.into_typed::<half::bf16>().unwrap();
        let got: Vec<f32> = t.view().iter().map(|x| x.to_f32()).collect();
        assert_eq!(got, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }
    #[cfg(not(feature = "half"))]
    assert!(o.into_typed::<u32>().is_err());

    // SAFETY: as above.
    let q = unsafe { c.map_any("q") }.unwrap();
    assert_eq!(
        (q.type_name().as_str(), q.dtype().descr().as_str(), q.len()),
        ("F8_E4M3", "|V1", 4)
    );

    let p = c.entry("p").unwrap();
    assert_eq!((p.elem_size, p.len), (0, 2));
    assert!(p.unmappable.as_deref().unwrap().contains("4-bit"));
    // SAFETY: as above.
    match unsafe { c.map_any("p") } {
        Err(Error::Unmappable {
            path: Some(at),
            why,
        }) => {
            assert_eq!(at, PathBuf::from(format!("{}:p", path.display())));
            assert!(why.contains("F4"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.pages("p").unwrap().len(), 1);
    // Statistics reduce BF16 (with feature `half`), and say what to do with other bytes.
    // SAFETY: as above.
    let a = unsafe { c.map_any("b") }.unwrap();
    let st = ndmmap::stats::Stats::along(0);
    #[cfg(feature = "half")]
    {
        let m = st.of_any(&a).unwrap();
        assert_eq!(m.mean().into_raw_vec_and_offset().0, [2.0, 3.0]);
        let max = m.max().into_raw_vec_and_offset().0;
        assert_eq!(
            max,
            [
                Some(ndmmap::stats::Value::Float(4.0)),
                Some(ndmmap::stats::Value::Float(5.0))
            ]
        );
        assert_eq!(
            st.each_any(&a, |_, _| Ok(())).map_err(|e| e.to_string()),
            Ok(())
        );
    }
    #[cfg(not(feature = "half"))]
    {
        let e = st.of_any(&a).unwrap_err();
        assert!(e.to_string().contains("feature `half`"), "{e}");
    }
    // SAFETY: as above.
    let q = unsafe { c.map_any("q") }.unwrap();
    let e = st.of_any(&q).unwrap_err();
    assert!(e.to_string().contains("holds no numbers"), "{e}");
}

#[test]
fn long_double_npy_is_other_in_the_container_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.npy");
    let data: Vec<u8> = (0..64u8).collect(); // two (2,) rows of 16-byte elements
    std::fs::write(&path, npy_bytes("<f16", &[2, 2], &data)).unwrap();
    // SAFETY: the file is this test's alone.
    let e = unsafe { ndmmap::npy::open_any(&path) }.unwrap_err();
    assert!(e.to_string().contains("longdouble"), "{e}");
    let c = Container::open(&path).unwrap();
    let en = c.entry("").unwrap();
    assert_eq!((en.type_name.as_str(), en.elem_size), ("<f16", 16));
    // SAFETY: as above.
    let a = unsafe { c.map_any("") }.unwrap();
    assert_eq!(
        (a.type_name().as_str(), a.dtype().descr().as_str()),
        ("<f16", "<f16")
    );
    let AnyArray::Other(o) = &a else {
        panic!("{a:?}")
    };
    assert_eq!(o.view().as_standard_layout().as_slice().unwrap(), &data[..]);
    assert_eq!(a.pages(s![1.., ..]).unwrap().len(), 1);
}

#[test]
fn fortran_order_entries() {
    let dir = tempfile::tempdir().unwrap();
    let f = ArrayD::from_shape_vec(IxDyn(&[3, 4]).f(), (0..12i32).collect()).unwrap();
    let npz = dir.path().join("f.npz");
    NpzWriter::create(&npz)
        .unwrap()
        .add("f", &f)
        .unwrap()
        .finish()
        .unwrap();
    let npy = dir.path().join("f.npy");
    // SAFETY: the file is this test's alone.
    let mut m = unsafe { ndmmap::npy::create::<i32, IxDyn, _>(&npy, IxDyn(&[3, 4]).f()).unwrap() };
    m.view_mut().unwrap().assign(&f);
    drop(m);
    for (path, name) in [(npz, "f"), (npy, "")] {
        let c = Container::open(&path).unwrap();
        assert_eq!(c.entry(name).unwrap().order, Order::F);
        // SAFETY: as above.
        let a = unsafe { c.map::<i32, ndarray::Ix2>(name) }.unwrap();
        assert_eq!((a.order(), a.view().into_dyn()), (Order::F, f.view()));
        // The pages of column 0 (contiguous in Fortran order) are the first page only.
        assert_eq!(a.pages(s![.., 0]).unwrap().len(), 1);
        // SAFETY: as above.
        let any = unsafe { c.map_any(name) }.unwrap();
        assert_eq!(any.order(), Order::F);
    }
}

#[test]
fn open_splits_path_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("m.safetensors");
    let t = ndarray::arr1(&[1.0f32, 2.0]);
    ndmmap::safetensors::Writer::new()
        .add("layer.0:weight", t.view())
        .add("b", t.view())
        .write(&st)
        .unwrap();
    let (c, n) = container::open(format!("{}:layer.0:weight", st.display())).unwrap();
    assert_eq!(n.as_deref(), Some("layer.0:weight"));
    // SAFETY: the file is this test's alone.
    assert_eq!(
        unsafe { c.map::<f32, ndarray::Ix1>(n.as_deref().unwrap()) }
            .unwrap()
            .view(),
        t
    );
    // A name that is missing is the container's lookup error, not the opener's.
    let (c, n) = container::open(format!("{}:nope", st.display())).unwrap();
    assert!(matches!(
        c.entry(n.as_deref().unwrap()),
        Err(Error::NoSuchMember { .. })
    ));
    // A directory is the path, and an error.
    match container::open(dir.path()) {
        Err(Error::IsDirectory { .. }) => {}
        other => panic!("{other:?}"),
    }
    // A missing file: the whole spec is the path, and not found.
    let missing = format!("{}:w", dir.path().join("gone.npz").display());
    match container::open(&missing) {
        Err(Error::Io {
            path: Some(p),
            source,
            ..
        }) => {
            assert_eq!(
                (p, source.kind()),
                (PathBuf::from(&missing), std::io::ErrorKind::NotFound)
            )
        }
        other => panic!("{other:?}"),
    }
    // `a.npz:b.npz` is itself a file: the longest prefix wins (Windows forbids ':' in names).
    #[cfg(unix)]
    {
        let a = dir.path().join("a.npz");
        let ab = dir.path().join("a.npz:b.npz");
        NpzWriter::create(&a)
            .unwrap()
            .add("b.npz:c", &t)
            .unwrap()
            .finish()
            .unwrap();
        NpzWriter::create(&ab)
            .unwrap()
            .add("c", &t)
            .unwrap()
            .finish()
            .unwrap();
        let (c, n) = container::open(format!("{}:c", ab.display())).unwrap();
        assert_eq!((c.path(), n.as_deref()), (ab.as_path(), Some("c")));
        // Without the longer file, the shorter one answers with the rest as the name.
        std::fs::remove_file(&ab).unwrap();
        let (c, n) = container::open(format!("{}:c", ab.display())).unwrap();
        assert_eq!((c.path(), n.as_deref()), (a.as_path(), Some("b.npz:c")));
        // SAFETY: as above.
        assert_eq!(
            unsafe { c.map::<f32, ndarray::Ix1>("b.npz:c") }
                .unwrap()
                .view(),
            t
        );
    }
}

#[test]
fn formats_by_content_errors_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    // Content wins over the name.
    let npz_named_bin = dir.path().join("x.bin");
    NpzWriter::create(&npz_named_bin)
        .unwrap()
        .add("x", &ndarray::arr1(&[1u8]))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(
        Container::open(&npz_named_bin).unwrap().format(),
        Format::Npz
    );
    let empty = dir.path().join("empty.data");
    NpzWriter::create(&empty).unwrap().finish().unwrap();
    let c = Container::open(&empty).unwrap();
    assert_eq!((c.format(), c.entries().len()), (Format::Npz, 0));
    let st = dir.path().join("t.npz");
    ndmmap::safetensors::Writer::new().write(&st).unwrap();
    assert_eq!(Container::open(&st).unwrap().format(), Format::Safetensors);
    // Junk: the extension chooses whose error.
    let junk = b"just some words that are not an array";
    let e = |name: &str| Container::open(common::file_with(dir.path(), name, junk)).unwrap_err();
    assert!(matches!(e("j.npz"), Error::BadArchive { .. }));
    assert!(matches!(e("j.safetensors"), Error::BadSafetensors { .. }));
    assert!(matches!(e("j.npy"), Error::Npy { .. }));
    match e("j.txt") {
        err @ Error::UnknownFormat { .. } => {
            assert!(err.to_string().contains("just some"), "{err}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Container::open(common::file_with(dir.path(), "e.txt", b"")),
        Err(Error::UnknownFormat { .. })
    ));
}

#[test]
fn truncated_files_name_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    // A .npy file whose data runs past its end: listed, refused when mapped.
    let npy = dir.path().join("short.npy");
    let mut bytes = npy_bytes("<f8", &[100], &f64_bytes(&[0.0; 100]));
    bytes.truncate(bytes.len() - 8);
    std::fs::write(&npy, &bytes).unwrap();
    let c = Container::open(&npy).unwrap();
    assert!(c.entry("").unwrap().unmappable.is_some());
    // SAFETY: the file is this test's alone.
    match unsafe { c.map_any("") } {
        Err(Error::Npy {
            path,
            kind: ndmmap::NpyError::DataPastEnd { .. },
        }) => assert_eq!(path.as_deref(), Some(npy.as_path())),
        other => panic!("{other:?}"),
    }
    // A tensor cut off after the container was opened: the map's error names FILE:NAME.
    let st = dir.path().join("cut.safetensors");
    let big = ndarray::Array1::<f64>::zeros(10_000);
    ndmmap::safetensors::Writer::new()
        .add("w", big.view())
        .write(&st)
        .unwrap();
    let c = Container::open(&st).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&st).unwrap();
    f.set_len(1000).unwrap();
    // SAFETY: the map is refused: the file no longer holds the tensor.
    match unsafe { c.map::<f64, ndarray::Ix1>("w") } {
        Err(Error::TooShort { path: Some(p), .. }) => {
            assert_eq!(p, PathBuf::from(format!("{}:w", st.display())))
        }
        other => panic!("{other:?}"),
    }
    // Its pages: those still in the file.
    assert!(c.pages("w").unwrap().len() <= 1);
}

/// Damaged copies of every fixture: opening, listing, mapping and residency give answers or
/// errors, never panics.
#[test]
fn damaged_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut fixtures: Vec<PathBuf> = vec![];
    for format in [Format::Npy, Format::Npz, Format::Safetensors] {
        fixtures.extend(build(format, dir.path()).into_iter().map(|(p, _)| p));
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut opened = 0;
    for (k, fixture) in fixtures.iter().enumerate() {
        let good = std::fs::read(fixture).unwrap();
        let ext = fixture.extension().unwrap().to_str().unwrap();
        for trial in 0..60 {
            let mut bytes = good.clone();
            if trial % 3 == 0 {
                bytes.truncate(next() as usize % (good.len() + 1));
            } else {
                for _ in 0..1 + trial % 4 {
                    let i = next() as usize % bytes.len();
                    bytes[i] = next() as u8;
                }
            }
            let path = dir.path().join(format!("damaged{k}_{trial}.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            let Ok(c) = Container::open(&path) else {
                continue;
            };
            opened += 1;
            for e in c.entries() {
                // SAFETY: the file is this test's alone.
                if let Ok(a) = unsafe { c.map_any(&e.name) } {
                    let _ = a.pages(..).and_then(|p| p.residency());
                    // The values may be anything, but reading them must not fault.
                    if let AnyArray::Other(o) = &a {
                        let _ = o.guarded(|v| v.sum());
                    }
                }
                let _ = c.pages(&e.name).and_then(|p| p.residency());
            }
            let _ = c.residency_all();
        }
    }
    assert!(opened > 0);
}

/// Residency per entry: evicted, then one entry read, and only its pages come back.
#[cfg(target_os = "linux")]
#[test]
fn residency_per_entry() {
    let dir = common::tmpdir();
    let path = dir.path().join("two.npz");
    let a = ndarray::Array1::<f64>::from_elem(64 * 1024, 1.0);
    NpzWriter::create(&path)
        .unwrap()
        .add("a", &a)
        .unwrap()
        .add("b", &a)
        .unwrap()
        .finish()
        .unwrap();
    let c = Container::open(&path).unwrap();
    drop(common::cold(&path));
    for name in ["a", "b"] {
        c.pages(name).unwrap().evict().unwrap();
    }
    let before = c.residency_all().unwrap();
    if before.iter().any(|(_, r)| r.resident > 1)
        && common::skip_or_fail("the page cache keeps evicted pages here")
    {
        return;
    }
    // SAFETY: the file is this test's alone.
    let m = unsafe { c.map::<f64, ndarray::Ix1>("a") }.unwrap();
    m.madvise(ndmmap::Advice::Random).unwrap();
    assert_eq!(m.view().sum(), a.sum());
    let after = c.residency_all().unwrap();
    assert_eq!((after[0].0.as_str(), after[1].0.as_str()), ("a", "b"));
    assert_eq!(after[0].1.resident, after[0].1.total, "{after:?}");
    assert!(after[1].1.resident < after[1].1.total / 2, "{after:?}");
    assert_eq!(after[0].1.total, m.page_span().page_count);
}

/// Whether python3 with numpy is there (else the test skips, or fails under CI).
fn have_numpy() -> bool {
    if cfg!(windows) {
        eprintln!("skipped: the Windows build's tests run no numpy (the Unix suite does)");
        return false;
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::skip_or_fail("python3 with numpy not found (pip install numpy)");
    }
    ok
}

/// Writes numpy's bytes, str, void, datetime and timedelta arrays into `dir` (one `.npy` file
/// each, and all of them in `all.npz`) and prints, per array and file, numpy's own account:
/// `file name descr itemsize shape fortran offset nbytes hex(a.tobytes())`. A `.npy` file's
/// offset is `np.load(f, mmap_mode='r').offset`; a member's is where Python's zipfile and
/// numpy's header reader find its data.
/// Runs numpy `script` (after [`PY_MEMBERS`]) on a new directory: the directory, with the
/// files it wrote, and the rows it printed; `None` where numpy is missing (see
/// [`have_numpy`]).
fn numpy_rows(script: &str) -> Option<(tempfile::TempDir, String)> {
    if !have_numpy() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_ok(
        std::process::Command::new("python3")
            .args(["-c", &format!("{PY_MEMBERS}{script}")])
            .arg(dir.path()),
    );
    Some((dir, String::from_utf8(out.stdout).unwrap()))
}

/// What both numpy scripts below start with: the imports, numpy's `.npy` format module, the
/// directory to write in, and `members(z)`: each member of the archive `z` as numpy reads it
/// (its key, its header's shape, order and dtype, the absolute offset of its data and the
/// bytes after its header).
const PY_MEMBERS: &str = r#"
import sys, os, struct, zipfile
import numpy as np
fmt = getattr(np.lib, "_format_impl", None) or np.lib.format
d = sys.argv[1]
def members(z):
    with zipfile.ZipFile(z) as zf, open(z, "rb") as raw:
        for info in zf.infolist():
            raw.seek(info.header_offset)
            local = raw.read(30)
            start = info.header_offset + 30 + sum(struct.unpack("<HH", local[26:30]))
            with zf.open(info) as f:
                v = fmt.read_magic(f)
                h = fmt._read_array_header(f, v)
                off = f.tell()
            yield info.filename[:-4], h, start + off, info.file_size - off
"#;

const NON_NUMERIC: &str = r#"
cases = {
    "s": np.array(["ab", "c"]),
    "u": np.asfortranarray(np.array([["\u03b1", "\u03b2\u03b3"], ["\u03b4", ""], ["x", "yz"]])).astype(">U2"),
    "b": np.array([b"hello", b"x", b""]),
    "b0d": np.array(b"xyz"),
    "v": np.frombuffer(bytes(range(24)), dtype="V8"),
    "t": np.array(["2020-01-01", "NaT", "1969-12-31"], dtype="<M8[D]"),
    "t10": np.array([5, 7], dtype="M8[10ms]"),
    "d": np.array([[1, -2], [3, 4]], dtype=">m8[ns]"),
    "e": np.zeros((0, 3), dtype="<U4"),
}
def row(f, n, a, off):
    print(f, n, a.dtype.str, a.dtype.itemsize, ",".join(map(str, a.shape)) or "-",
          int(a.flags.f_contiguous and not a.flags.c_contiguous), off, a.nbytes,
          a.tobytes().hex() or "-")
for n, a in cases.items():
    p = os.path.join(d, n + ".npy")
    np.save(p, a)
    m = np.load(p, mmap_mode="r")
    assert m.dtype.str == a.dtype.str and m.shape == a.shape
    row(n + ".npy", "", a, m.offset)
z = os.path.join(d, "all.npz")
np.savez(z, **cases)
for n, _, off, _ in members(z):
    row("all.npz", n, np.load(z)[n], off)
"#;

#[test]
fn non_numeric_dtypes_are_listed_and_mapped_as_numpy_has_them() {
    let Some((dir, text)) = numpy_rows(NON_NUMERIC) else {
        return;
    };
    let mut seen = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [
            file,
            name,
            descr,
            itemsize,
            shape,
            fortran,
            offset,
            nbytes,
            hex,
        ] = f[..]
        else {
            panic!("{line}")
        };
        let name = if file == "all.npz" { name } else { "" };
        let shape: Vec<usize> = match shape {
            "-" => vec![],
            s => s.split(',').map(|d| d.parse().unwrap()).collect(),
        };
        let bytes: Vec<u8> = match hex {
            "-" => vec![],
            h => (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect(),
        };
        let path = dir.path().join(file);
        let c = Container::open(&path).unwrap();
        let e = c.entry(name).unwrap();
        let what = format!("{file}:{name} {descr}");
        assert_eq!(e.dtype, None, "{what}");
        assert_eq!(e.type_name, descr, "{what}");
        assert_eq!(e.elem_size, itemsize.parse::<usize>().unwrap(), "{what}");
        assert_eq!(e.shape, shape, "{what}");
        let order = if fortran == "1" { Order::F } else { Order::C };
        assert_eq!(e.order, order, "{what}");
        assert_eq!(e.offset, offset.parse::<u64>().unwrap(), "{what}");
        assert_eq!(e.len, nbytes.parse::<u64>().unwrap(), "{what}");
        assert_eq!(e.unmappable, None, "{what}");
        // SAFETY: the files are this test's alone.
        let a = unsafe { c.map_any(name) }.unwrap();
        assert_eq!(
            (a.type_name().as_str(), a.shape(), a.order(), a.offset()),
            (descr, &shape[..], order, e.offset),
            "{what}"
        );
        let AnyArray::Other(o) = &a else {
            panic!("{what}: {a:?}")
        };
        assert_eq!(o.elem_size(), e.elem_size, "{what}");
        let v = o.view();
        let logical: Vec<u8> = v.as_standard_layout().iter().copied().collect();
        assert_eq!(logical, bytes, "{what}: the bytes of a.tobytes()");
        // Typed maps refuse, saying what the entry is; statistics refuse raw bytes.
        // SAFETY: as above.
        match unsafe { c.map::<u8, IxDyn>(name) } {
            Err(Error::DtypeMismatch { found, .. }) => assert_eq!(found, descr),
            other => panic!("{what}: {other:?}"),
        }
        let st = ndmmap::stats::Stats::along(0);
        if !shape.is_empty() {
            assert!(matches!(st.of_any(&a), Err(Error::Stats { .. })), "{what}");
        }
        // The format's own typed maps keep refusing as before: the dtype is unsupported.
        let unsupported = |r: Result<(), Error>| match r {
            Err(Error::Npy {
                kind: ndmmap::NpyError::UnsupportedDtype { .. },
                ..
            }) => {}
            other => panic!("{what}: {other:?}"),
        };
        if file == "all.npz" {
            let z = ndmmap::npz::Npz::open(&path).unwrap();
            let m = z.member(name).unwrap();
            assert_eq!(
                (
                    m.type_name.as_deref(),
                    m.itemsize,
                    m.dtype,
                    m.problem.as_deref()
                ),
                (Some(descr), Some(e.elem_size), None, None),
                "{what}"
            );
            // SAFETY: as above.
            unsupported(unsafe { z.map::<u8, IxDyn>(name) }.map(drop));
            // SAFETY: as above.
            let any = unsafe { z.map_any(name) }.unwrap();
            assert_eq!(
                (any.type_name(), any.offset()),
                (descr.to_string(), e.offset)
            );
        } else {
            // SAFETY: as above.
            unsupported(unsafe { ndmmap::npy::open_any(&path) }.map(drop));
            unsupported(ndmmap::npy::read_header(&path).map(drop));
        }
        seen += 1;
    }
    assert_eq!(seen, 18, "{text}");
}

#[test]
fn non_numeric_dtypes_checked_as_numeric_ones() {
    let dir = tempfile::tempdir().unwrap();
    // A .npy file of <U2 cut short: listed with its shape, refused when mapped.
    let short = dir.path().join("short.npy");
    std::fs::write(&short, npy_bytes("<U2", &[3], &[0; 20])).unwrap();
    let c = Container::open(&short).unwrap();
    let e = c.entry("").unwrap();
    assert_eq!((e.shape.as_slice(), e.len, e.elem_size), (&[3][..], 24, 8));
    assert!(
        e.unmappable.as_deref().unwrap().contains("truncated"),
        "{e:?}"
    );
    // SAFETY: the files are this test's alone.
    match unsafe { c.map_any("") } {
        Err(Error::Npy {
            kind: ndmmap::NpyError::DataPastEnd { needed: 24, .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Items of 0 bytes (numpy reads `S` as |S0): listed with the shape, not mapped.
    let zero = dir.path().join("zero.npy");
    std::fs::write(&zero, npy_bytes("S", &[4, 2], &[])).unwrap();
    let c = Container::open(&zero).unwrap();
    let e = c.entry("").unwrap();
    assert_eq!(
        (e.type_name.as_str(), e.elem_size, e.shape.as_slice(), e.len),
        ("|S0", 0, &[4, 2][..], 0)
    );
    assert!(
        e.unmappable.as_deref().unwrap().contains("0 bytes"),
        "{e:?}"
    );
    // SAFETY: as above.
    assert!(matches!(
        unsafe { c.map_any("") },
        Err(Error::Npy {
            kind: ndmmap::NpyError::UnsupportedDtype { .. },
            ..
        })
    ));
    // Members: one whose header lies (more bytes than it describes), one cut short, one of
    // 0-byte items, one object and one structured: each listed with its shape or reason.
    let z = dir.path().join("m.npz");
    raw_zip(
        &z,
        &[
            ("lies.npy", npy_bytes("|S4", &[2], &[b'a'; 12])),
            ("short.npy", npy_bytes("<M8[s]", &[2], &[0; 12])),
            ("zero.npy", npy_bytes("|V0", &[5], &[])),
            ("obj.npy", npy_bytes("|O", &[1], &[0; 8])),
            ("rec.npy", {
                let mut b = npy_bytes("<f8", &[1], &[0; 8]);
                let at = b.windows(5).position(|w| w == b"'<f8'").unwrap();
                b.splice(at..at + 5, b"[('a', '<U2')]".iter().copied());
                b
            }),
        ],
    );
    let c = Container::open(&z).unwrap();
    let why = |n: &str| c.entry(n).unwrap().unmappable.clone().unwrap_or_default();
    assert!(why("lies").contains("lies"), "{}", why("lies"));
    assert!(
        why("short").contains("needs 16 bytes of data but the member holds 12"),
        "{}",
        why("short")
    );
    assert!(why("zero").contains("0 bytes"), "{}", why("zero"));
    assert!(why("obj").contains("object"), "{}", why("obj"));
    assert!(why("rec").contains("structured"), "{}", why("rec"));
    let lies = c.entry("lies").unwrap();
    assert_eq!((lies.shape.as_slice(), lies.elem_size), (&[2][..], 4));
    let zero = c.entry("zero").unwrap();
    assert_eq!(
        (zero.shape.as_slice(), zero.type_name.as_str()),
        (&[5][..], "|V0")
    );
    for n in ["lies", "short", "zero", "obj", "rec"] {
        // SAFETY: as above.
        assert!(unsafe { c.map_any(n) }.is_err(), "{n}");
    }
    // An object .npy file is listed as the member is (its shape, the bytes after its
    // header) and refused when mapped.
    let obj = dir.path().join("obj.npy");
    std::fs::write(&obj, npy_bytes("|O", &[1], &[0; 8])).unwrap();
    let c = Container::open(&obj).unwrap();
    let e = c.entry("").unwrap();
    assert_eq!(
        (e.type_name.as_str(), e.shape.as_slice(), e.offset, e.len),
        ("|O", &[1][..], 128, 8)
    );
    assert!(e.unmappable.as_deref().unwrap().contains("object"), "{e:?}");
    // SAFETY: as above.
    let e = unsafe { c.map_any("") }.unwrap_err();
    assert!(e.to_string().contains("object"), "{e}");
}

/// Writes numpy's object, structured and subarray arrays into `dir` (one `.npy` file each,
/// and all of them with a float array in `all.npz`) and prints, tab-separated, per array and
/// file, numpy's own account: `file name descr shape fortran offset len`. `descr` is the
/// header's (`dtype_to_descr`), `shape` is `np.load(..., allow_pickle=True)`'s, `offset` is
/// where numpy's header reader leaves the file or member (absolute), and `len` is what
/// follows it: the rest of the `.npy` file, or of the member's bytes.
const UNMAPPED: &str = r#"
cases = {
    "o": np.array([1, None], dtype=object),
    "of": np.asfortranarray(np.array([[1, "a"], [None, 2.5], [3, 4]], dtype=object)),
    "o0": np.array(None, dtype=object),
    "oe": np.zeros((0, 3), dtype=object),
    "r": np.zeros(2, "i4,f8"),
    "sub": np.zeros((2, 3), dtype=[("a", "<f8", (2,))]),
}
def row(f, n, shape, fortran, descr, off, length):
    print(f, n, descr, ",".join(map(str, shape)) or "-", int(fortran), off, length, sep="	")
for n, a in cases.items():
    p = os.path.join(d, n + ".npy")
    np.save(p, a, allow_pickle=True)
    with open(p, "rb") as f:
        v = fmt.read_magic(f)
        shape, fortran, dtype = fmt._read_array_header(f, v)
        off = f.tell()
    assert np.load(p, allow_pickle=True).shape == shape
    row(n + ".npy", "", shape, fortran, repr(fmt.dtype_to_descr(dtype)).strip("'"), off,
        os.path.getsize(p) - off)
z = os.path.join(d, "all.npz")
np.savez(z, a=np.arange(10.0), **cases)
for n, (shape, fortran, dtype), off, length in members(z):
    if n in cases:
        assert np.load(z, allow_pickle=True)[n].shape == shape
        row("all.npz", n, shape, fortran, repr(fmt.dtype_to_descr(dtype)).strip("'"), off,
            length)
"#;

/// Object and structured arrays numpy wrote, in a `.npy` file or an `.npz` member: listed
/// with numpy's shape and order, the data offset after the header and the bytes after it, and
/// refused when mapped with the error the typed readers give (`UnsupportedDtype`).
#[test]
fn object_and_structured_entries_have_numpys_shape_and_offset() {
    let Some((dir, text)) = numpy_rows(UNMAPPED) else {
        return;
    };
    let unsupported = |what: &str, r: Result<(), Error>| match r {
        Err(Error::Npy {
            kind: ndmmap::NpyError::UnsupportedDtype { .. },
            ..
        }) => {}
        other => panic!("{what}: {other:?}"),
    };
    let mut seen = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [file, name, descr, shape, fortran, offset, len] = f[..] else {
            panic!("{line}")
        };
        let shape: Vec<usize> = match shape {
            "-" => vec![],
            s => s.split(',').map(|d| d.parse().unwrap()).collect(),
        };
        let path = dir.path().join(file);
        let c = Container::open(&path).unwrap();
        let e = c.entry(name).unwrap();
        let what = format!("{file}:{name} {descr}");
        let object = descr == "|O";
        assert_eq!(
            (e.dtype, e.type_name.as_str(), e.elem_size),
            (None, descr, 0),
            "{what}"
        );
        assert_eq!(e.shape, shape, "{what}");
        let order = if fortran == "1" { Order::F } else { Order::C };
        assert_eq!(e.order, order, "{what}");
        assert_eq!(
            (e.offset, e.len),
            (offset.parse().unwrap(), len.parse().unwrap()),
            "{what}"
        );
        let why = e.unmappable.as_deref().unwrap_or_default();
        let kind = if object { "object" } else { "structured" };
        assert!(why.contains(kind), "{what}: {why}");
        // SAFETY: the files are this test's alone.
        unsupported(&what, unsafe { c.map_any(name) }.map(drop));
        // SAFETY: as above.
        unsupported(&what, unsafe { c.map::<u8, IxDyn>(name) }.map(drop));
        if file == "all.npz" {
            let z = ndmmap::npz::Npz::open(&path).unwrap();
            let m = z.member(name).unwrap();
            assert_eq!(
                (
                    m.shape.as_deref(),
                    m.fortran_order,
                    m.data_offset,
                    m.data_len,
                    m.itemsize,
                    m.type_name.as_deref()
                ),
                (
                    Some(&shape[..]),
                    order == Order::F,
                    e.offset,
                    e.len,
                    None,
                    Some(descr)
                ),
                "{what}"
            );
            // SAFETY: as above.
            unsupported(&what, unsafe { z.map_any(name) }.map(drop));
        } else {
            // The typed readers keep refusing it at the header.
            unsupported(&what, ndmmap::npy::read_header(&path).map(drop));
            // SAFETY: as above.
            unsupported(&what, unsafe { ndmmap::npy::open_any(&path) }.map(drop));
        }
        seen += 1;
    }
    assert_eq!(seen, 12, "{text}");
    // The float member beside them maps as before.
    let c = Container::open(dir.path().join("all.npz")).unwrap();
    // SAFETY: as above.
    let a = unsafe { c.map::<Unaligned<f64>, IxDyn>("a") }.unwrap();
    assert_eq!(a.len(), 10);
}
