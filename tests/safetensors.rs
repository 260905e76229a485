//! safetensors files against the real Python package: files from `safetensors.numpy.save_file`
//! map to exactly what `load_file` gives, files ndmmap writes load in Python with equal values
//! and map back aligned, malformed headers are `BadSafetensors` (never a panic, and refused by
//! Python too), random bytes never panic, and residency is reported per tensor.
//!
//! The Python side is tests/data/make_safetensors_fixtures.py, run in a temporary directory.
//! Without `python3 -c 'import safetensors.numpy'` those tests print why and pass, except under
//! `CI=true`, where they fail (`.ci/run` installs the package).
#![cfg(feature = "safetensors")]
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::*;
use ndarray::{Array1, Array2, Array3, Ix0, Ix1, Ix2, Ix3, IxDyn, ShapeBuilder, arr0, arr1, s};
use ndmmap::safetensors::{Dtype, TensorElement, Tensors, Writer};
use ndmmap::{Advice, AnyArray, Bool, Error, Mode, Unaligned};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The largest single allocation each thread asked for (the allocator below records it), so a
/// test can show that a number read from a file was checked before anything was allocated on
/// it.
mod largest {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LARGEST: Cell<usize> = const { Cell::new(0) };
    }

    fn note(size: usize) {
        // A const thread-local without a destructor: no allocation, never fails but at exit.
        let _ = LARGEST.try_with(|m| m.set(m.get().max(size)));
    }

    /// Runs `f`, and returns its result and the largest allocation this thread made in it.
    pub fn during<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let before = LARGEST.with(|m| m.replace(0));
        let r = f();
        let most = LARGEST.with(|m| m.replace(before.max(m.get())));
        (r, most)
    }

    pub struct Counting;

    // SAFETY: every call is forwarded to the system allocator unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            note(l.size());
            // SAFETY: forwarded with the caller's layout.
            unsafe { System.alloc(l) }
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            note(l.size());
            // SAFETY: as above.
            unsafe { System.alloc_zeroed(l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            note(new);
            // SAFETY: as above; `p` came from this allocator, which is the system's.
            unsafe { System.realloc(p, l, new) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            // SAFETY: as above.
            unsafe { System.dealloc(p, l) }
        }
    }
}

#[global_allocator]
static ALLOCATOR: largest::Counting = largest::Counting;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/make_safetensors_fixtures.py"
);

/// Whether Python's `safetensors` (with numpy) can be run; says why not when it cannot.
fn python() -> bool {
    if cfg!(windows) {
        // Not a missing prerequisite: the Windows build's tests run under Wine, without Python
        // (the Python halves run in the native Unix suite).
        eprintln!("skipped: the Windows build's tests run no Python (the Unix suite does)");
        return false;
    }
    let ok = Command::new("python3")
        .args(["-c", "import safetensors.numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail(
            "python3 with safetensors and numpy not found (pip install numpy safetensors)",
        );
    }
    ok
}

fn run_script(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{SCRIPT} {args:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A tensor as the manifest describes it: name, dtype, shape and its bytes.
struct Expected {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn unhex(s: &str) -> String {
    let b: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(b).unwrap()
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn read_manifest(dir: &Path) -> (Vec<Expected>, BTreeMap<String, String>) {
    let text = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    let (mut tensors, mut meta) = (Vec::new(), BTreeMap::new());
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "tensor" => tensors.push(Expected {
                name: f[1].to_string(),
                dtype: f[2].to_string(),
                shape: f[3]
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(|d| d.parse().unwrap())
                    .collect(),
                bytes: std::fs::read(dir.join(format!("{}.bin", f[4]))).unwrap(),
            }),
            "meta" => {
                meta.insert(unhex(f[1]), unhex(f[2]));
            }
            other => panic!("manifest line {other:?}"),
        }
    }
    (tensors, meta)
}

fn write_manifest(dir: &Path, tensors: &[Expected], meta: &BTreeMap<String, String>) {
    let mut text = String::new();
    for (i, t) in tensors.iter().enumerate() {
        let shape: Vec<String> = t.shape.iter().map(usize::to_string).collect();
        text += &format!(
            "tensor\t{}\t{}\t{}\t{i}\n",
            t.name,
            t.dtype,
            shape.join(",")
        );
        std::fs::write(dir.join(format!("{i}.bin")), &t.bytes).unwrap();
    }
    for (k, v) in meta {
        text += &format!("meta\t{}\t{}\n", hex(k), hex(v));
    }
    std::fs::write(dir.join("manifest.txt"), text).unwrap();
}

/// The bytes of a view in logical (C) order, as safetensors stores them.
fn logical_bytes<T: bytemuck::Pod, D: ndarray::Dimension>(v: ndarray::ArrayView<T, D>) -> Vec<u8> {
    v.iter()
        .flat_map(|x| bytemuck::bytes_of(x).to_vec())
        .collect()
}

/// Maps `name` as `T` (any number of axes) and checks shape and every value against `bytes`.
fn check_typed<T: TensorElement + PartialEq + std::fmt::Debug>(
    st: &Tensors,
    name: &str,
    shape: &[usize],
    bytes: &[u8],
) {
    // SAFETY: the test's files are not changed while mapped.
    let a = unsafe { st.map::<T, IxDyn>(name) }.unwrap();
    assert_eq!(a.shape(), shape, "{name}");
    let want: Vec<T> = bytes
        .chunks_exact(size_of::<T>())
        .map(bytemuck::pod_read_unaligned)
        .collect();
    assert_eq!(a.view().iter().copied().collect::<Vec<T>>(), want, "{name}");
    assert_eq!(bytemuck::cast_slice::<T, u8>(a.as_slice()), bytes, "{name}");
}

/// Checks every tensor of `path` against `want`: listing, bytes in the file, typed maps,
/// `map_any`.
fn check_file(path: &Path, want: &[Expected], meta: &BTreeMap<String, String>) {
    let st = Tensors::open(path).unwrap();
    assert_eq!(st.len(), want.len());
    assert_eq!(st.metadata(), meta);
    let file = std::fs::File::open(path).unwrap();
    for w in want {
        let t = st.tensor(&w.name).unwrap();
        assert_eq!(
            (t.dtype.to_string(), &t.shape),
            (w.dtype.clone(), &w.shape),
            "{}",
            w.name
        );
        assert_eq!(t.nbytes, w.bytes.len() as u64);
        let mut raw = vec![0u8; w.bytes.len()];
        file.read_exact_at(&mut raw, t.offset).unwrap();
        assert_eq!(raw, w.bytes, "{}: bytes at the listed offset", w.name);
        let (shape, b) = (&w.shape[..], &w.bytes[..]);
        match t.dtype {
            Dtype::F64 => check_typed::<f64>(&st, &w.name, shape, b),
            Dtype::F32 => check_typed::<f32>(&st, &w.name, shape, b),
            Dtype::I64 => check_typed::<i64>(&st, &w.name, shape, b),
            Dtype::I32 => check_typed::<i32>(&st, &w.name, shape, b),
            Dtype::I16 => check_typed::<i16>(&st, &w.name, shape, b),
            Dtype::I8 => check_typed::<i8>(&st, &w.name, shape, b),
            Dtype::U64 => check_typed::<u64>(&st, &w.name, shape, b),
            Dtype::U32 => check_typed::<u32>(&st, &w.name, shape, b),
            Dtype::U16 => check_typed::<u16>(&st, &w.name, shape, b),
            Dtype::U8 => check_typed::<u8>(&st, &w.name, shape, b),
            Dtype::BOOL => {
                check_typed::<Bool>(&st, &w.name, shape, b);
                check_typed::<u8>(&st, &w.name, shape, b); // BOOL as bytes
            }
            #[cfg(feature = "half")]
            Dtype::F16 => check_typed::<half::f16>(&st, &w.name, shape, b),
            #[cfg(feature = "half")]
            Dtype::BF16 => check_typed::<half::bf16>(&st, &w.name, shape, b),
            _ => {}
        }
        // Every tensor maps aligned: both writers pad the header and order by element size.
        let align = t.dtype.bitsize() / 8;
        assert_eq!(t.offset % align as u64, 0, "{} is aligned", w.name);
        // SAFETY: as above.
        match unsafe { st.map_any(&w.name) } {
            Ok(a) => {
                assert_eq!(a.shape(), shape);
                assert_eq!(a.dtype().size, align);
            }
            Err(e) => assert!(
                matches!(t.dtype, Dtype::BF16)
                    || (t.dtype == Dtype::F16 && cfg!(not(feature = "half"))),
                "{}: {e}",
                w.name
            ),
        }
    }
}

#[test]
fn files_from_python_map_to_what_load_file_gives() {
    if !python() {
        return;
    }
    let dir = tmpdir();
    run_script(&["make", dir.path().to_str().unwrap()]);
    let (want, meta) = read_manifest(dir.path());
    assert_eq!(want.len(), 18);
    assert_eq!(meta["note"], "h\u{e9}llo \"world\"\n");
    let path = dir.path().join("py.safetensors");
    check_file(&path, &want, &meta);

    // Fixed dimensions, as a user writes them.
    let st = Tensors::open(&path).unwrap();
    // SAFETY: the file is not changed while mapped.
    unsafe {
        let f64s = st.map::<f64, Ix2>("f64").unwrap();
        assert_eq!(f64s.view()[[2, 3]], 11.0 * 0.25 - 1.0);
        assert_eq!(st.map::<f32, Ix3>("f32").unwrap().shape(), &[2, 3, 4]);
        assert_eq!(st.map::<f32, Ix0>("scalar").unwrap().view()[()], 3.5);
        assert_eq!(st.map::<f64, Ix2>("empty").unwrap().shape(), &[0, 5]);
        let mask = st.map::<Bool, Ix1>("mask").unwrap();
        let trues: Vec<usize> = (0..10).filter(|&i| mask.view()[i].get()).collect();
        assert_eq!(trues, [0, 3, 6, 9]);
        match st.map_any("c64").unwrap() {
            AnyArray::ComplexF32(c) => assert_eq!((c.view()[0].re, c.view()[0].im), (-2.5, 5.0)),
            other => panic!("{:?}", other.dtype()),
        }
        assert_eq!(
            st.map::<i32, Ix1>("uni\u{e9} \"q\"").unwrap().as_slice(),
            &[1, 2]
        );
    }
    // The listing is in file order and covers the data exactly.
    let mut end = 8 + st.header_len();
    for t in st.tensors() {
        assert_eq!(t.offset, end, "{}", t.name);
        end += t.nbytes;
    }
    assert_eq!(end, st.file_len());
}

#[test]
fn files_written_here_load_in_python() {
    let dir = tmpdir();
    let c = Array2::from_shape_fn((3, 4), |(i, j)| i as f64 * 10.0 + j as f64 - 0.5);
    let f = Array2::from_shape_vec((3, 4).f(), (0..12).map(|x| x as f64 * 1.5).collect()).unwrap();
    let big = Array3::from_shape_fn((4, 5, 6), |(i, j, k)| (i * 100 + j * 10 + k) as f32 / 7.0);
    let stepped = big.slice(s![..;2, ..;-1, 1..5]);
    let ids = Array1::from_iter((0..9).map(|i| i as i64 * -3_000_000_019));
    let mask = Array1::from_iter((0..11).map(|i| Bool::from(i % 4 == 1)));
    let empty = Array2::<i32>::zeros((0, 3));
    let scalar = arr0(-2.25f32);
    let i32s = Array2::from_shape_fn((2, 5), |(i, j)| (i as i32 - 1) * 70_000 + j as i32);
    let i16s = arr1(&[-32768i16, -1, 0, 1, 32767]);
    let i8s = arr1(&[-128i8, -1, 0, 127]);
    let u64s = arr1(&[0u64, u64::MAX, 1 << 40]);
    let u32s = arr1(&[0u32, u32::MAX, 123_456_789]);
    let u16s = arr1(&[0u16, 65535, 4242]);
    let u8s = Array2::from_shape_fn((3, 3), |(i, j)| (i * 3 + j) as u8 * 28);
    #[cfg(feature = "half")]
    let f16s = Array1::from_iter((0..7).map(|i| half::f16::from_f32(i as f32 / 4.0 - 0.75)));

    let mut w = Writer::new();
    let mut want = Vec::new();
    macro_rules! add {
        ($name:expr, $dtype:expr, $v:expr) => {{
            let v = $v;
            want.push(Expected {
                name: $name.to_string(),
                dtype: $dtype.to_string(),
                shape: v.shape().to_vec(),
                bytes: logical_bytes(v.view()),
            });
            w.add($name, v);
        }};
    }
    add!("c", "F64", c.view());
    add!("fortran", "F64", f.view());
    add!("stepped", "F32", stepped);
    add!("ids", "I64", ids.view());
    add!("mask", "BOOL", mask.view());
    add!("empty", "I32", empty.view());
    add!("scalar", "F32", scalar.view());
    add!("i32", "I32", i32s.view());
    add!("i16", "I16", i16s.view());
    add!("i8", "I8", i8s.view());
    add!("u64", "U64", u64s.view());
    add!("u32", "U32", u32s.view());
    add!("u16", "U16", u16s.view());
    add!("u8", "U8", u8s.view());
    add!("model.layers.0.self_attn.q_proj.weight", "F32", big.view());
    #[cfg(feature = "half")]
    add!("f16", "F16", f16s.view());
    let meta: BTreeMap<String, String> = [("format", "np"), ("k\u{e9}y", "v\"al\nue")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in &meta {
        w.metadata(k, v);
    }
    let path = dir.path().join("ours.safetensors");
    w.write(&path).unwrap();

    // Maps back aligned, equal, in C order (the Fortran and stepped views were copied).
    check_file(&path, &want, &meta);
    let st = Tensors::open(&path).unwrap();
    assert_eq!(st.header_len() % 8, 0);
    // SAFETY: the file is not changed while mapped.
    unsafe {
        assert_eq!(st.map::<f64, Ix2>("fortran").unwrap().view(), f.view());
        assert_eq!(st.map::<f32, Ix3>("stepped").unwrap().view(), stepped);
    }
    if python() {
        write_manifest(dir.path(), &want, &meta);
        let out = run_script(&[
            "check",
            path.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(out.trim(), format!("ok {}", want.len()));
    }
    drop(st);

    // Writing again over a file that is mapped replaces it (a new inode): the old map keeps
    // its values. Windows refuses to replace a mapped file: there the write fails, the old
    // map keeps its values too, and the write succeeds once the map is gone.
    let st = Tensors::open(&path).unwrap();
    // SAFETY: the file at `path` is replaced, not written: the map keeps the old inode.
    let old = unsafe { st.map::<f64, Ix2>("c").unwrap() };
    let zeros = Array2::<f64>::zeros((3, 4));
    let again = ndmmap::safetensors::write(&path, [("c", zeros.view())], [("a", "b")]);
    assert_eq!(again.is_ok(), cfg!(unix), "{again:?}");
    assert_eq!(old.view(), c.view());
    if cfg!(windows) {
        drop((old, st));
        ndmmap::safetensors::write(&path, [("c", zeros.view())], [("a", "b")]).unwrap();
    }
    let st = Tensors::open(&path).unwrap();
    assert_eq!((st.len(), st.metadata()["a"].as_str()), (1, "b"));
}

#[cfg(feature = "half")]
#[test]
fn bf16_and_f16_round_trip() {
    let dir = tmpdir();
    let path = dir.path().join("half.safetensors");
    let b = Array2::from_shape_fn((3, 5), |(i, j)| {
        half::bf16::from_f32(i as f32 - j as f32 / 8.0)
    });
    let h = Array1::from_iter((0..5).map(|i| half::f16::from_f32(i as f32 * 0.5)));
    Writer::new()
        .add("b", b.view())
        .add("h", h.view())
        .write(&path)
        .unwrap();
    let st = Tensors::open(&path).unwrap();
    assert_eq!(st.tensor("b").unwrap().dtype, Dtype::BF16);
    // SAFETY: the file is not changed while mapped.
    unsafe {
        assert_eq!(st.map::<half::bf16, Ix2>("b").unwrap().view(), b.view());
        assert_eq!(st.map::<half::f16, Ix1>("h").unwrap().view(), h.view());
        assert!(matches!(st.map_any("h").unwrap(), AnyArray::F16(_)));
        // numpy has no bfloat16: AnyArray holds its bytes, named by its dtype, as the
        // container's map_any does.
        match st.map_any("b").unwrap() {
            AnyArray::Other(o) => {
                assert_eq!(
                    (o.type_name(), o.elem_size(), o.shape()),
                    ("BF16", 2, b.shape())
                );
                let x = o.into_typed::<half::bf16>().unwrap();
                assert_eq!(x.view(), b.view().into_dyn());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            st.map::<half::f16, Ix2>("b"),
            Err(Error::DtypeMismatch { .. })
        ));
    }
}

/// A safetensors file from a header text (padded with spaces to `pad`) and `data`.
fn st_bytes(header: &str, pad: usize, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    while !h.len().is_multiple_of(pad) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

#[test]
fn unaligned_tensors_are_misaligned_and_map_as_unaligned() {
    let dir = tmpdir();
    // A header of 61 bytes: the data starts at 69, a multiple of nothing but 1 (the Python
    // writer pads; other writers may not).
    let header = r#"{"x":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]}}"#;
    let header = format!("{header:<61}");
    let vals = [1.5f64, -2.0, 1e300, 0.125];
    let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let path = file_with(dir.path(), "odd.safetensors", &st_bytes(&header, 1, &data));
    let st = Tensors::open(&path).unwrap();
    assert_eq!(st.tensor("x").unwrap().offset, 69);
    // SAFETY: the file is not changed while mapped.
    unsafe {
        match st.map::<f64, Ix2>("x") {
            Err(Error::Misaligned { offset, align }) => assert_eq!((offset, align), (69, 8)),
            other => panic!("{other:?}"),
        }
        let u = st.map::<Unaligned<f64>, Ix2>("x").unwrap();
        let got: Vec<f64> = u.view().iter().map(|v| v.get()).collect();
        assert_eq!(got, vals);
        match st.map_any("x").unwrap() {
            AnyArray::UnalignedF64(a) => assert_eq!(a.view()[[1, 0]].get(), 1e300),
            other => panic!("{:?}", other.dtype()),
        }
    }
    if python() {
        // Python reads the unpadded file too.
        assert_eq!(run_script(&["load", path.to_str().unwrap()]).trim(), "ok");
    }
}

#[test]
fn wrong_types_names_and_modes() {
    let dir = tmpdir();
    let path = dir.path().join("m.safetensors");
    let a = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as i32);
    Writer::new()
        .add("a", a.view())
        .add("u", arr1(&[1u8, 2]).view())
        .write(&path)
        .unwrap();
    let st = Tensors::open(&path).unwrap();
    // SAFETY: only this test changes the file, through the maps below.
    unsafe {
        match st.map::<f32, Ix2>("a") {
            Err(e @ Error::DtypeMismatch { .. }) => {
                let text = e.to_string();
                assert!(text.contains("I32") && text.contains("F32"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            st.map::<Unaligned<u32>, Ix2>("a"),
            Err(Error::DtypeMismatch { .. })
        ));
        assert!(matches!(
            st.map::<Bool, Ix1>("u"),
            Err(Error::DtypeMismatch { .. })
        ));
        assert!(matches!(
            st.map::<i32, Ix1>("a"),
            Err(Error::DimensionMismatch {
                expected: 1,
                found: 2
            })
        ));
        match st.map::<i32, Ix2>("b") {
            Err(Error::NoSuchMember {
                name, available, ..
            }) => assert_eq!(
                (name.as_str(), available),
                ("b", vec!["a".into(), "u".into()])
            ),
            other => panic!("{other:?}"),
        }
        // Unaligned<T> maps aligned data too.
        let ua = st.map::<Unaligned<i32>, Ix2>("a").unwrap();
        assert_eq!(ua.view()[[3, 2]].get(), 11);

        // Read-only maps refuse mutable views; copy-on-write changes stay private.
        let mut ro = st.map::<i32, Ix2>("a").unwrap();
        assert!(ro.view_mut().is_err());
        let mut cow = st.map_with::<i32, Ix2>("a", Mode::CopyOnWrite).unwrap();
        cow.view_mut().unwrap().fill(-1);
        assert_eq!(ro.view(), a.view());
        // Read-write changes the file, which stays a valid safetensors file.
        let mut rw = st.map_with::<i32, Ix2>("a", Mode::ReadWrite).unwrap();
        rw.view_mut().unwrap()[[0, 0]] = 77;
        rw.msync(ndmmap::Flush::Sync).unwrap();
        drop((ro, cow, rw));
        let again = Tensors::open(&path).unwrap();
        assert_eq!(again.map::<i32, Ix2>("a").unwrap().view()[[0, 0]], 77);
        // Read-write refuses a path that now names another file.
        std::fs::rename(&path, dir.path().join("moved")).unwrap();
        std::fs::write(&path, b"other").unwrap();
        assert!(matches!(
            st.map_with::<i32, Ix2>("a", Mode::ReadWrite),
            Err(Error::BadSafetensors { .. })
        ));
        // Read-only maps come from the handle the header was read from.
        assert_eq!(st.map::<i32, Ix2>("a").unwrap().view()[[0, 0]], 77);
    }
    // The writer refuses duplicate and reserved names, writing nothing.
    let p2 = dir.path().join("dup.safetensors");
    for names in [["x", "x"], ["x", "__metadata__"]] {
        let e = Writer::new()
            .add(names[0], a.view())
            .add(names[1], a.view())
            .write(&p2);
        assert!(matches!(e, Err(Error::BadSafetensors { .. })), "{e:?}");
        assert!(!p2.exists());
    }
}

/// Hand-made broken files: (what, bytes, whether Python's safetensors accepts it).
fn malformed() -> Vec<(&'static str, Vec<u8>, bool)> {
    let t = |name: &str, dtype: &str, shape: &str, s: u64, e: u64| {
        format!(r#""{name}":{{"dtype":"{dtype}","shape":[{shape}],"data_offsets":[{s},{e}]}}"#)
    };
    let one = |body: String, data: usize| st_bytes(&format!("{{{body}}}"), 8, &vec![7u8; data]);
    let mut v = vec![
        ("empty file", vec![], false),
        ("shorter than the length", vec![1, 0, 0], false),
        (
            "overlapping offsets",
            one(
                format!(
                    "{},{}",
                    t("a", "F32", "4", 0, 16),
                    t("b", "F32", "4", 8, 24)
                ),
                24,
            ),
            false,
        ),
        (
            "a gap between tensors",
            one(
                format!(
                    "{},{}",
                    t("a", "F32", "2", 0, 8),
                    t("b", "F32", "2", 16, 24)
                ),
                24,
            ),
            false,
        ),
        (
            "offsets past the end",
            one(t("a", "F32", "4", 0, 16), 8),
            false,
        ),
        (
            "offsets far past the end",
            one(t("a", "U8", "100000000000", 0, 100000000000), 8),
            false,
        ),
        (
            "bytes after the data",
            one(t("a", "F32", "2", 0, 8), 16),
            false,
        ),
        (
            "length disagrees with shape",
            one(t("a", "F32", "3", 0, 16), 16),
            false,
        ),
        (
            "length disagrees with dtype",
            one(t("a", "F64", "4", 0, 16), 16),
            false,
        ),
        (
            "end before start",
            one(t("a", "F32", "0", 16, 0), 16),
            false,
        ),
        (
            "shape product overflows",
            one(t("a", "F32", "4294967296,4294967296,4", 0, 16), 16),
            false,
        ),
        (
            "shape product overflows to the right length",
            one(t("a", "U8", "4294967296,4294967296,16", 0, 16), 16),
            false,
        ),
        ("unknown dtype", one(t("a", "F128", "1", 0, 16), 16), false),
        (
            "sub-byte dtype, odd count",
            one(t("a", "F4", "3", 0, 2), 2),
            false,
        ),
        (
            "duplicate names",
            one(
                format!("{},{}", t("a", "F32", "2", 0, 8), t("a", "F32", "2", 0, 8)),
                8,
            ),
            true, // Python keeps the last one; ndmmap refuses
        ),
        (
            "duplicate metadata keys",
            one(r#""__metadata__":{"x":"1","x":"2"}"#.into(), 0),
            true, // Python keeps the last one; ndmmap refuses
        ),
        (
            "two __metadata__",
            one(r#""__metadata__":{},"__metadata__":{}"#.into(), 0),
            false,
        ),
        (
            "duplicate field",
            one(
                r#""a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}"#.into(),
                1,
            ),
            false,
        ),
        (
            "metadata not strings",
            one(r#""__metadata__":{"a":1}"#.into(), 0),
            false,
        ),
        (
            "a tensor that is not an object",
            one(r#""a":[1,2]"#.into(), 0),
            false,
        ),
        (
            "missing data_offsets",
            one(r#""a":{"dtype":"F32","shape":[1]}"#.into(), 4),
            false,
        ),
        ("negative shape", one(t("a", "F32", "-1", 0, 4), 4), false),
        ("float shape", one(t("a", "F32", "1.0", 0, 4), 4), false),
        ("not JSON", st_bytes("hello, world", 8, &[]), false),
        (
            "JSON but not an object",
            st_bytes("[1, 2, 3]", 8, &[]),
            false,
        ),
        (
            "truncated JSON",
            st_bytes(r#"{"a":{"dtype":"F3"#, 8, &[]),
            false,
        ),
        (
            "not UTF-8",
            st_bytes("{\"\u{1}\"", 8, &[])
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect(),
            false,
        ),
        (
            "trailing garbage after the JSON",
            st_bytes("{} x", 8, &[]),
            false,
        ),
    ];
    // Header lengths past the file, huge, and at the limits.
    let mut past = 64u64.to_le_bytes().to_vec();
    past.extend_from_slice(b"{}      ");
    v.push(("header length past the file", past, false));
    for n in [1u64 << 63, u64::MAX, 100_000_001] {
        let mut b = n.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}      ");
        v.push(("huge header length", b, false));
    }
    v
}

#[test]
fn malformed_headers_are_bad_safetensors() {
    let dir = tmpdir();
    let mut paths = Vec::new();
    for (i, (what, bytes, _)) in malformed().into_iter().enumerate() {
        let path = file_with(dir.path(), &format!("bad{i}.safetensors"), &bytes);
        match Tensors::open(&path) {
            Err(e @ Error::BadSafetensors { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains("not a valid safetensors file"),
                    "{what}: {text}"
                );
                eprintln!("{what}: {text}");
            }
            other => panic!("{what}: {other:?}"),
        }
        paths.push(path);
    }
    // A header over the limit in a file long enough to hold it: refused before reading it.
    let big = dir.path().join("big.safetensors");
    let f = std::fs::File::create(&big).unwrap();
    f.write_all_at(&100_000_001u64.to_le_bytes(), 0).unwrap();
    f.set_len(200_000_000).unwrap(); // sparse
    match Tensors::open(&big) {
        Err(Error::BadSafetensors { why, .. }) => assert!(why.contains("limit"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Python agrees with each refusal (and accepts a duplicate name, keeping the last).
    if python() {
        let args: Vec<&str> = std::iter::once("load")
            .chain(paths.iter().map(|p| p.to_str().unwrap()))
            .collect();
        let out = run_script(&args);
        for ((what, _, accepted), verdict) in malformed().iter().zip(out.lines()) {
            assert_eq!(verdict == "ok", *accepted, "Python on {what}: {verdict}");
        }
    }
}

#[cfg(unix)]
#[test]
fn residency_of_every_tensor_after_touching_one() {
    let dir = tmpdir();
    let path = dir.path().join("model.safetensors");
    let floats = 16 * page() / 4; // 16 pages per layer
    let layers: Vec<Array1<f32>> = (0..4)
        .map(|l| Array1::from_iter((0..floats).map(|i| (l * floats + i) as f32)))
        .collect();
    let mut w = Writer::new();
    for (l, a) in layers.iter().enumerate() {
        w.add(format!("layer{l}"), a.view());
    }
    let bias = arr1(&[1.0f32]);
    w.add("bias", bias.view());
    w.write(&path).unwrap();

    let _cold = cold(&path);
    let st = Tensors::open(&path).unwrap();
    // SAFETY: the file is not changed while mapped.
    let l2 = unsafe { st.map::<f32, Ix1>("layer2").unwrap() };
    l2.madvise(Advice::Random).unwrap(); // no readahead into the neighbours
    assert_eq!(l2.view().sum(), layers[2].sum());

    let r: BTreeMap<String, ndmmap::Residency> = st.residency().unwrap().into_iter().collect();
    assert_eq!(r.len(), 5);
    assert_eq!(r["layer2"].fraction(), 1.0, "{r:?}");
    assert_eq!(r["layer2"].total, l2.page_span().page_count);
    for (name, x) in &r {
        assert!(x.resident <= x.total);
        if name != "layer2" {
            // Only pages shared with layer2 (or the header's, read by open) are resident.
            assert!(x.resident <= 2, "{name}: {x:?}");
        }
    }
    assert_eq!(r["layer0"].total, 17); // 16 pages from an unaligned start span 17
    assert_eq!(r["layer0"].resident, 1, "the header's page only: {r:?}");

    // The toolkit per tensor: evict it (pages mapped by a process stay in RAM, so unmap the
    // touched map first), and it is gone; prefetch another.
    drop(l2);
    // SAFETY: as above.
    unsafe { st.map::<f32, Ix1>("layer2").unwrap() }
        .pages(..)
        .unwrap()
        .evict()
        .unwrap();
    let after: BTreeMap<_, _> = st.residency().unwrap().into_iter().collect();
    assert!(after["layer2"].resident <= 2, "{after:?}");
    // SAFETY: as above.
    let l3 = unsafe { st.map::<f32, Ix1>("layer3").unwrap() };
    l3.pages(..).unwrap().advise(Advice::WillNeed).unwrap();
    l3.pages(..).unwrap().lock(ndmmap::Lock::Now).ok(); // may exceed RLIMIT_MEMLOCK
    let _ = l3.view().sum(); // fault in whatever WillNeed had not read yet
    assert_eq!(l3.pages(..).unwrap().residency().unwrap().fraction(), 1.0);
}

#[test]
fn an_empty_file_and_zero_sized_tensors() {
    let dir = tmpdir();
    let path = dir.path().join("z.safetensors");
    Writer::new()
        .add("e1", Array2::<f64>::zeros((0, 4)).view())
        .add("e2", Array1::<u8>::zeros(0).view())
        .write(&path)
        .unwrap();
    let st = Tensors::open(&path).unwrap();
    assert_eq!(st.file_len(), 8 + st.header_len());
    // SAFETY: the file is not changed while mapped.
    unsafe {
        assert_eq!(st.map::<f64, Ix2>("e1").unwrap().shape(), &[0, 4]);
        assert!(st.map::<u8, Ix1>("e2").unwrap().is_empty());
    }
    let r = st.residency().unwrap();
    assert_eq!(r.len(), 2);
    // An empty tensor whose other axis is huge has a valid header, as in Python (the product
    // is 0: `safe_open` lists it); like numpy ("array is too big"), the map refuses the shape.
    let huge = r#"{"a":{"dtype":"F32","shape":[2305843009213693952,0],"data_offsets":[0,0]}}"#;
    let hp = file_with(dir.path(), "huge.safetensors", &st_bytes(huge, 8, &[]));
    let hs = Tensors::open(&hp).unwrap();
    assert_eq!(hs.tensor("a").unwrap().nbytes, 0);
    // SAFETY: as above.
    let e = unsafe { hs.map::<f32, IxDyn>("a") }.unwrap_err();
    assert!(matches!(e, Error::SizeOverflow { .. }), "{e:?}");
    assert!(r.iter().all(|(_, x)| x.total <= 1));
    // Opening refuses a directory and a missing file with the OS's reason.
    assert!(Tensors::open(dir.path()).is_err());
    assert!(matches!(
        Tensors::open(dir.path().join("missing")),
        Err(Error::Io { .. })
    ));
}

/// A valid header whose text the property test mutates.
const VALID: &str = r#"{"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"m":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]},"s":{"dtype":"I16","shape":[],"data_offsets":[19,21]}}"#;

/// Opens `bytes` as a file: never a panic; if it opens, every tensor lies inside the file and
/// every map either works or is an error.
fn probe(path: &PathBuf, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    if let Ok(st) = Tensors::open(path) {
        let mut end = 8 + st.header_len();
        for t in st.tensors() {
            assert_eq!(t.offset, end);
            end += t.nbytes;
            // SAFETY: the file is not changed while mapped.
            unsafe {
                if let Ok(a) = st.map_any(&t.name) {
                    assert_eq!(a.shape(), &t.shape[..]);
                }
                // Every byte read (summed wide: a u8 sum overflows).
                let _ = st
                    .map::<u8, IxDyn>(&t.name)
                    .map(|a| a.view().iter().map(|&x| u64::from(x)).sum::<u64>());
                let _ = st.map::<Unaligned<f32>, IxDyn>(&t.name);
            }
        }
        assert_eq!(end, bytes.len() as u64);
        st.residency().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tmpdir();
        probe(&dir.path().join("r.safetensors"), &bytes);
    }

    #[test]
    fn mutated_headers_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
        length in prop::option::of(any::<u64>()),
        data in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut h = VALID.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(h.len() + 1);
            match op {
                0 if i < h.len() => h[i] = byte,
                1 => h.insert(i, byte),
                _ if i < h.len() => { h.remove(i); }
                _ => {}
            }
        }
        let mut bytes = length.unwrap_or(h.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&h);
        bytes.extend_from_slice(&data);
        let dir = tmpdir();
        probe(&dir.path().join("m.safetensors"), &bytes);
    }

    #[test]
    fn written_files_map_back(
        rows in 0usize..6, cols in 1usize..6, fortran: bool, seed: u16,
    ) {
        let a = Array2::from_shape_fn((rows, cols).set_f(fortran), |(i, j)| {
            (i * 31 + j * 7 + seed as usize) as i16
        });
        let b = Array1::from_iter((0..rows + cols).map(|i| i as f64 / 3.0 + seed as f64));
        let dir = tmpdir();
        let path = dir.path().join("w.safetensors");
        Writer::new().add("a", a.view()).add("b", b.view()).add("c", arr0(seed as u8).view()).write(&path).unwrap();
        let st = Tensors::open(&path).unwrap();
        // SAFETY: the file is not changed while mapped.
        unsafe {
            let (ma, mb) = (st.map::<i16, Ix2>("a").unwrap(), st.map::<f64, Ix1>("b").unwrap());
            prop_assert_eq!(ma.view(), a.view());
            prop_assert_eq!(mb.view(), b.view());
            prop_assert_eq!(st.map::<u8, Ix0>("c").unwrap().view()[()], seed as u8);
        }
    }
}

/// Why `bytes`, as a safetensors file, is refused (it must be `BadSafetensors`).
fn refused(dir: &Path, bytes: &[u8]) -> String {
    let path = file_with(dir, "refused.safetensors", bytes);
    match Tensors::open(&path) {
        Err(Error::BadSafetensors { why, .. }) => why,
        other => panic!("{other:?}"),
    }
}

/// Whether Python's `safetensors.numpy.load_file` loads each file ("ok" or "error").
fn python_verdicts(paths: &[PathBuf]) -> Vec<String> {
    let args: Vec<&str> = std::iter::once("load")
        .chain(paths.iter().map(|p| p.to_str().unwrap()))
        .collect();
    run_script(&args).lines().map(str::to_string).collect()
}

#[test]
fn a_huge_header_length_is_refused_before_allocating() {
    let dir = tmpdir();
    // 100 MB claimed (the limit itself) in a 1 KB file: refused against the file's size.
    let mut small = 100_000_000u64.to_le_bytes().to_vec();
    small.resize(1024, b' ');
    let path = file_with(dir.path(), "claim.safetensors", &small);
    let (r, most) = largest::during(|| Tensors::open(&path));
    match r {
        Err(Error::BadSafetensors { why, .. }) => assert_eq!(
            why,
            "the header length 100000000 goes past the end of the file (1024 bytes; truncated?)"
        ),
        other => panic!("{other:?}"),
    }
    assert!(most < 64 * 1024, "allocated {most} bytes");
    // Over the limit in a file long enough to hold it (sparse): refused against the limit.
    let big = dir.path().join("big.safetensors");
    let f = std::fs::File::create(&big).unwrap();
    f.write_all_at(&100_000_001u64.to_le_bytes(), 0).unwrap();
    f.set_len(200_000_000).unwrap();
    let (r, most) = largest::during(|| Tensors::open(&big));
    assert!(
        matches!(r, Err(Error::BadSafetensors { ref why, .. }) if why.contains("over the limit"))
    );
    assert!(most < 64 * 1024, "allocated {most} bytes");
    // A header that fits allocates for itself, and no more than a few times its size.
    let ok = st_bytes(
        r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#,
        8,
        &[1; 4],
    );
    let path = file_with(dir.path(), "ok.safetensors", &ok);
    let (r, most) = largest::during(|| Tensors::open(&path));
    assert_eq!(r.unwrap().len(), 1);
    assert!(most < 64 * 1024, "allocated {most} bytes");
}

#[test]
fn nesting_10000_deep_is_refused_at_serde_jsons_limit() {
    let dir = tmpdir();
    let nested = |n: usize, at: &str| {
        let v = format!("{}{}", "[".repeat(n), "]".repeat(n));
        let h = match at {
            "unknown field" => {
                format!(r#"{{"a":{{"z":{v},"dtype":"U8","shape":[0],"data_offsets":[0,0]}}}}"#)
            }
            "shape" => format!(r#"{{"a":{{"dtype":"U8","shape":{v},"data_offsets":[0,0]}}}}"#),
            "tensor" => format!(r#"{{"a":{v}}}"#),
            _ => format!(r#"{{"__metadata__":{{"k":{v}}}}}"#),
        };
        st_bytes(&h, 8, &[])
    };
    let mut paths = Vec::new();
    for at in ["unknown field", "shape", "tensor", "metadata"] {
        for n in [10_000, 1_000_000] {
            let bytes = nested(n, at);
            let path = file_with(
                dir.path(),
                &format!("deep{}.safetensors", paths.len()),
                &bytes,
            );
            // In a thread with a small stack: the parse stops at 128 levels, and no recursion
            // goes deeper.
            let p = path.clone();
            let (why, secs) = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let t = std::time::Instant::now();
                    let r = Tensors::open(&p);
                    (r, t.elapsed().as_secs_f64())
                })
                .unwrap()
                .join()
                .unwrap();
            let why = match why {
                Err(Error::BadSafetensors { why, .. }) => why,
                other => panic!("{at} {n}: {other:?}"),
            };
            assert!(secs < 2.0, "{at} {n}: {secs} s");
            if at == "metadata" {
                // A metadata value must be a string: refused at its first bracket.
                assert!(why.contains("expected a string"), "{why}");
            } else {
                assert!(why.contains("recursion limit exceeded"), "{at}: {why}");
            }
            paths.push(path);
        }
    }
    // Python refuses them too; 125 levels inside a tensor's unknown field are read by both.
    let limit = file_with(
        dir.path(),
        "limit.safetensors",
        &nested(125, "unknown field"),
    );
    assert_eq!(Tensors::open(&limit).unwrap().len(), 1);
    let over = file_with(
        dir.path(),
        "over.safetensors",
        &nested(126, "unknown field"),
    );
    assert!(refused(dir.path(), &std::fs::read(&over).unwrap()).contains("recursion limit"));
    if python() {
        paths.extend([over, limit]);
        let v = python_verdicts(&paths);
        let want: Vec<&str> = (0..paths.len())
            .map(|i| if i + 1 == paths.len() { "ok" } else { "error" })
            .collect();
        assert_eq!(v, want);
    }
}

#[test]
fn duplicate_tensor_names_are_refused() {
    let dir = tmpdir();
    // Python keeps the last "a" (its offsets decide what is checked); ndmmap refuses the file
    // rather than pick one, whichever offsets the two give.
    let a =
        |s: u64, e: u64| format!(r#""a":{{"dtype":"U8","shape":[4],"data_offsets":[{s},{e}]}}"#);
    for (h, data) in [
        (format!("{{{},{}}}", a(0, 4), a(0, 4)), 4),
        (format!("{{{},{}}}", a(0, 4), a(4, 8)), 8),
        (
            format!(
                r#"{{{},"b":{{"dtype":"U8","shape":[4],"data_offsets":[4,8]}},{}}}"#,
                a(0, 4),
                a(0, 4)
            ),
            8,
        ),
    ] {
        let why = refused(dir.path(), &st_bytes(&h, 8, &vec![0; data]));
        assert_eq!(why, r#"tensor "a": named twice"#, "{h}");
    }
    let why = refused(
        dir.path(),
        &st_bytes(r#"{"__metadata__":{"k":"1","j":"2","k":"1"}}"#, 8, &[]),
    );
    assert!(
        why.starts_with(r#"the "__metadata__" key "k" appears twice"#),
        "{why}"
    );
}

#[test]
fn a_header_that_is_not_utf8_is_refused() {
    let dir = tmpdir();
    let valid =
        r#"{"__metadata__":{"k":"v@"},"t@":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
    for (i, bad) in [&[0xffu8][..], &[0xc3], &[0xed, 0xa0, 0x80]]
        .into_iter()
        .enumerate()
    {
        for at in 0..2 {
            // `@` in a metadata value, then in a tensor name, replaced by invalid UTF-8.
            let mut h = valid.as_bytes().to_vec();
            let pos = h
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'@')
                .nth(at)
                .unwrap()
                .0;
            h.splice(pos..=pos, bad.iter().copied());
            let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(&h);
            bytes.push(0);
            let why = refused(dir.path(), &bytes);
            assert!(
                why.starts_with("the header is not UTF-8: "),
                "{i} {at}: {why}"
            );
            assert!(why.contains(&format!("from index {}", pos)), "{why}");
        }
    }
}

#[test]
fn numbers_that_cannot_be_offsets_or_sizes_are_refused() {
    let dir = tmpdir();
    let t = |shape: &str, offsets: &str| {
        format!(r#"{{"a":{{"dtype":"U8","shape":[{shape}],"data_offsets":[{offsets}]}}}}"#)
    };
    let cases = [
        (
            t("4", "0,1e400"),
            "the header's JSON: number out of range at line 1 column 54",
        ),
        (
            t("1e400", "0,4"),
            "the header's JSON: number out of range at line 1 column 33",
        ),
        (
            t("4", "-1,4"),
            r#"tensor "a": invalid value: integer `-1`, expected usize"#,
        ),
        (
            t("-1", "0,4"),
            r#"tensor "a": invalid value: integer `-1`, expected usize"#,
        ),
        (
            t("-0", "0,0"),
            r#"tensor "a": invalid type: floating point `-0.0`, expected usize"#,
        ),
        (
            t("4e0", "0,4"),
            r#"tensor "a": invalid type: floating point `4.0`, expected usize"#,
        ),
        (
            t("4", "0,4.5"),
            r#"tensor "a": invalid type: floating point `4.5`, expected usize"#,
        ),
        (
            t("4", "0,18446744073709551616"),
            r#"tensor "a": invalid type: floating point `1.8446744073709552e+19`, expected usize"#,
        ),
        (
            t("4", "18446744073709551615,3"),
            r#"tensor "a": data_offsets [18446744073709551615, 3] hold 0 bytes but shape [4] of U8 needs 4"#,
        ),
        (
            t("4", "0,4,4"),
            r#"tensor "a": invalid length 3, expected 2 elements in sequence"#,
        ),
        (
            t("4", "\"0\",4"),
            r#"tensor "a": invalid type: string "0", expected usize"#,
        ),
    ];
    let mut paths = Vec::new();
    for (i, (h, want)) in cases.iter().enumerate() {
        let bytes = st_bytes(h, 8, &[0; 4]);
        assert_eq!(&refused(dir.path(), &bytes), want, "{h}");
        paths.push(file_with(dir.path(), &format!("n{i}.safetensors"), &bytes));
    }
    if python() {
        assert!(python_verdicts(&paths).iter().all(|v| v == "error"));
    }
}

#[test]
fn what_the_safetensors_crate_accepts_is_accepted() {
    // Quirks of serde's reading, which the hand-written parser ndmmap had before refused and Python's
    // safetensors (the crate) accepts: a dtype as a one-key map, a tensor as an array of its
    // three fields, a repeated unknown field, a null "__metadata__", JSON escapes in names.
    let dir = tmpdir();
    let cases = [
        (
            r#"{"a":{"dtype":{"U16":null},"shape":[2],"data_offsets":[0,4]}}"#,
            "a",
            Dtype::U16,
            2,
        ),
        (r#"{"a":["U16",[2],[0,4]]}"#, "a", Dtype::U16, 2),
        (
            r#"{"a":{"z":1,"z":[2],"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#,
            "a",
            Dtype::U8,
            4,
        ),
        (
            r#"{"__metadata__":null,"\u0061\/":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#,
            "a/",
            Dtype::I32,
            1,
        ),
    ];
    let mut paths = Vec::new();
    for (i, (h, name, dtype, len)) in cases.into_iter().enumerate() {
        let path = file_with(
            dir.path(),
            &format!("q{i}.safetensors"),
            &st_bytes(h, 8, &[1, 0, 1, 0]),
        );
        let st = Tensors::open(&path).unwrap_or_else(|e| panic!("{h}: {e}"));
        let t = st.tensor(name).unwrap();
        assert_eq!(
            (t.dtype, t.shape.as_slice(), t.nbytes),
            (dtype, &[len][..], 4)
        );
        assert!(st.metadata().is_empty());
        paths.push(path);
    }
    if python() {
        assert!(python_verdicts(&paths).iter().all(|v| v == "ok"));
    }
}

/// Issue 21: the writer over a 0640 file leaves a 0640 file, writes through a symbolic link
/// (the link stays), and leaves no other file behind.
#[cfg(unix)]
#[test]
fn writer_keeps_the_mode_and_writes_through_a_symlink() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.safetensors");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink("real.safetensors", &link).unwrap();
    for (p, n) in [(&real, 3u8), (&link, 4)] {
        let x = ndarray::Array1::<u8>::from_elem(n as usize, n);
        ndmmap::safetensors::Writer::new()
            .add("x", x.view())
            .write(p)
            .unwrap();
        assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o7777, 0o640);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let t = ndmmap::safetensors::Tensors::open(&real).unwrap();
        assert_eq!(t.tensor("x").unwrap().shape, [n as usize]);
        assert_eq!(
            names_in(dir.path()),
            ["link.safetensors", "real.safetensors"]
        );
    }
}
