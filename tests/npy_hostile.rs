//! Hostile `.npy` files: no file crashes the process that opens it, allocates more than its
//! size, or reads differently from numpy. (The differential fuzzer against numpy itself is
//! `scripts/npy_fuzz.py`, run by CI.)
#![cfg(feature = "npy")]

mod common;

use ndarray::IxDyn;
use ndmmap::npy::{self, OpenOptions};
use ndmmap::{Error, NpyError};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// A `.npy` file of `version` whose header is `text` (padded to 64 bytes), then `data`.
fn npy_file(dir: &Path, name: &str, version: u8, text: &[u8], data: &[u8]) -> PathBuf {
    let pre = if version == 1 { 10 } else { 12 };
    let mut h = text.to_vec();
    while !(pre + h.len() + 1).is_multiple_of(64) {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((h.len() as u16).to_le_bytes());
    } else {
        out.extend((h.len() as u32).to_le_bytes());
    }
    out.extend(h);
    out.extend(data);
    common::file_with(dir, name, &out)
}

/// Runs `f` on a thread with a `stack`-byte stack: a parser that recursed on its input would
/// overflow it and abort the test process.
fn on_small_stack<R: Send + 'static>(stack: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn kind(e: Error) -> NpyError {
    match e {
        Error::Npy { kind, .. } => kind,
        e => panic!("not an npy error: {e:?}"),
    }
}

#[test]
fn deep_nesting_is_an_error_even_on_a_64k_stack() {
    let dir = common::tmpdir();
    // A 10 KB header, within numpy's size limit, nesting 4900 deep.
    let text = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': {}3,{}}}",
        "(".repeat(4900),
        ")".repeat(4900)
    );
    let p = npy_file(dir.path(), "deep.npy", 1, text.as_bytes(), &[0; 8]);
    let e = on_small_stack(64 << 10, move || npy::read_header(&p).unwrap_err());
    assert!(matches!(kind(e), NpyError::Syntax { why, .. } if why.contains("too many nested")),);
    // Nesting numpy reads (parentheses around a tuple are the tuple) reads the same here.
    let text = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': {}3,{}}}",
        "(".repeat(199),
        ")".repeat(199)
    );
    let p = npy_file(dir.path(), "ok.npy", 1, text.as_bytes(), &[0; 24]);
    let h = on_small_stack(64 << 10, move || npy::read_header(&p).unwrap());
    assert_eq!(h.shape, vec![3]);
}

#[cfg(unix)]
#[test]
fn a_header_length_past_the_file_is_refused_before_allocating() {
    let dir = common::tmpdir();
    // 27 bytes claiming a 4 GiB header.
    let mut b = b"\x93NUMPY\x02\x00\xff\xff\xff\xff".to_vec();
    b.extend([b' '; 15]);
    let p = common::file_with(dir.path(), "claims4g.npy", &b);
    assert_eq!(
        kind(npy::read_header(&p).unwrap_err()),
        NpyError::Truncated {
            len: 27,
            needed: 12 + 0xffff_ffff
        }
    );
    // Under a 256 MiB address-space limit the command refuses it in one line as well.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 262144 && exec {} info {}",
            env!("CARGO_BIN_EXE_ndmmap"),
            p.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("truncated header"), "{err}");
}

#[test]
fn header_size_limit_is_numpys_and_can_be_raised() {
    let dir = common::tmpdir();
    let dict = b"{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }";
    let mut text = dict.to_vec();
    text.resize(12_000, b' ');
    let p = npy_file(dir.path(), "long.npy", 2, &text, &[7, 8]);
    let e = kind(npy::read_header(&p).unwrap_err());
    assert!(
        matches!(e, NpyError::HeaderTooLarge { limit: 10_000, len } if len > 12_000),
        "{e:?}"
    );
    let mut o = OpenOptions::new();
    o.max_header_size(20_000);
    assert_eq!(o.read_header(&p).unwrap().shape, vec![2]);
    // SAFETY: the file is the test's own.
    let a = unsafe { o.open::<u8, IxDyn>(&p).unwrap() };
    assert_eq!(a.as_slice(), &[7, 8]);
}

#[test]
fn repeated_keys_take_the_last_value_as_numpy_does() {
    let dir = common::tmpdir();
    let text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'descr': '<i8'}";
    let p = npy_file(
        dir.path(),
        "dup.npy",
        1,
        text,
        &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
    );
    assert_eq!(npy::read_header(&p).unwrap().dtype.descr(), "<i8");
    // SAFETY: the file is the test's own.
    let a = unsafe { npy::open::<i64, IxDyn>(&p).unwrap() };
    assert_eq!(a.as_slice(), &[1, 2]);
    let e = unsafe { npy::open::<f64, IxDyn>(&p) }.unwrap_err();
    assert!(matches!(e, Error::DtypeMismatch { .. }), "{e:?}");
}

#[test]
fn python_syntax_numpy_reads_is_read() {
    let dir = common::tmpdir();
    for (i, text) in [
        &b"{'descr': '<u2', 'fortran_order': False, 'shape': (0x2, 0b11,), }  # made by hand"[..],
        b"{'descr': '<' 'u2', \"fortran_order\": False,\n 'shape': (2, 3)}",
        b"# leading comment\n{'descr': u'\\x3cu2', 'fortran_order': False, 'shape': (0o2, 1_0 - 0 + 0j and 3)}",
    ]
    .into_iter()
    .enumerate()
    {
        let p = npy_file(dir.path(), &format!("s{i}.npy"), 1, text, &[0; 12]);
        let r = npy::read_header(&p);
        if i == 2 {
            // `1_0 - 0 + 0j and 3` is an expression, not a literal: numpy refuses it too.
            assert!(matches!(kind(r.unwrap_err()), NpyError::Syntax { .. }));
            continue;
        }
        let h = r.unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(text)));
        assert_eq!((h.dtype.descr().as_str(), h.shape), ("<u2", vec![2, 3]));
    }
    // Python 2's long suffix, which numpy strips from version 1.0 and 2.0 headers only.
    let text = b"{'descr': '<u1', 'fortran_order': False, 'shape': (2L, 3L)}";
    let p = npy_file(dir.path(), "long_v1.npy", 1, text, &[0; 6]);
    assert_eq!(npy::read_header(&p).unwrap().shape, vec![2, 3]);
    let p = npy_file(dir.path(), "long_v3.npy", 3, text, &[0; 6]);
    assert!(matches!(
        kind(npy::read_header(&p).unwrap_err()),
        NpyError::Syntax { .. }
    ));
}

#[test]
fn versions_numpy_refuses_are_refused() {
    let dir = common::tmpdir();
    let text = b"{'descr': '<u1', 'fortran_order': False, 'shape': (1,)}";
    for (major, minor) in [(1u8, 5u8), (0, 0), (4, 0), (2, 1)] {
        let p = npy_file(dir.path(), "v.npy", 1, text, &[0]);
        let mut b = std::fs::read(&p).unwrap();
        b[6] = major;
        b[7] = minor;
        std::fs::write(&p, &b).unwrap();
        assert_eq!(
            kind(npy::read_header(&p).unwrap_err()),
            NpyError::Version { major, minor }
        );
    }
}

#[test]
fn a_huge_malformed_header_gives_a_short_message() {
    let dir = common::tmpdir();
    let mut text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ".to_vec();
    text.extend(std::iter::repeat_n(b'x', 20 << 20));
    let p = npy_file(dir.path(), "huge.npy", 2, &text, &[]);
    // Over the default limit: refused without reading it.
    let e = npy::read_header(&p).unwrap_err().to_string();
    assert!(e.len() < 400 && e.contains("max_header_size"), "{e}");
    // With the limit raised, the syntax error quotes only about 100 characters of it.
    let mut o = OpenOptions::new();
    o.max_header_size(64 << 20);
    let e = o.read_header(&p).unwrap_err();
    let msg = e.to_string();
    assert!(msg.len() < 400, "{} bytes", msg.len());
    assert!(matches!(kind(e), NpyError::Syntax { excerpt, .. } if excerpt.len() <= 110));
}

#[test]
fn structured_and_unaligned_files_are_refused_with_the_reason() {
    let dir = common::tmpdir();
    let text = b"{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}";
    let p = npy_file(dir.path(), "st.npy", 1, text, &[0; 12]);
    assert!(matches!(
        kind(npy::read_header(&p).unwrap_err()),
        NpyError::UnsupportedDtype { why, .. } if why.contains("structured")
    ));
    // numpy reads a header of any length; an f8 array after a 10 + 56-byte header starts at
    // byte 66, which no f64 view can: the error names Unaligned<f64>, which opens it.
    let text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n";
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((text.len() as u16).to_le_bytes());
    b.extend(text);
    b.extend([0; 8]);
    let p = common::file_with(dir.path(), "odd.npy", &b);
    let e = unsafe { npy::open::<f64, IxDyn>(&p) }.unwrap_err();
    assert!(e.to_string().contains("open it as Unaligned<f64>"), "{e}");
    assert!(matches!(
        kind(e),
        NpyError::UnalignedData {
            offset: 66,
            align: 8,
            dtype,
        } if dtype == "<f8"
    ),);
    // SAFETY: the file is the test's own.
    let a = unsafe { npy::open::<ndmmap::Unaligned<f64>, IxDyn>(&p).unwrap() };
    assert_eq!((a.offset(), a.as_slice()[0].get()), (66, 0.0));
}

/// Bytes shaped like a `.npy` header: the magic, a version, a length and text made of the
/// characters a header is made of, so that the parser, not only the magic check, is exercised.
fn npy_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "#",
        "'",
        "\"",
        "\\",
        "descr",
        "fortran_order",
        "shape",
        "'descr'",
        "'shape'",
        "'<f8'",
        "True",
        "False",
        "3",
        "0x1f",
        "1_0",
        "-",
        "+",
        "j",
        "L",
        ".",
        "...",
        "'''",
        "r'",
        "b'",
        "set()",
        "None",
        "\t",
        "\x0c",
        "\r",
        "\u{e9}",
        "\0",
        "1e5",
    ]);
    (
        prop::sample::select(vec![1u8, 2, 3]),
        prop::collection::vec(piece, 0..80),
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(|(v, pieces, honest_len, len)| {
            let text: String = pieces.concat();
            let mut out = b"\x93NUMPY".to_vec();
            out.extend([v, 0]);
            let l = if honest_len { text.len() as u32 } else { len };
            if v == 1 {
                out.extend((l as u16).to_le_bytes());
            } else {
                out.extend(l.to_le_bytes());
            }
            out.extend(text.bytes());
            out
        })
}

fn check_bytes(bytes: Vec<u8>) {
    let dir = common::tmpdir();
    let p = common::file_with(dir.path(), "x.npy", &bytes);
    on_small_stack(256 << 10, move || {
        let h = npy::read_header(&p);
        // SAFETY: the file is the test's own.
        let a = unsafe { npy::open::<u8, IxDyn>(&p) };
        if let Ok(a) = a {
            assert_eq!(a.shape(), h.unwrap().shape.as_slice());
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_abort(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_bytes(bytes);
    }

    #[test]
    fn header_like_bytes_never_abort(bytes in npy_like()) {
        check_bytes(bytes);
    }
}

/// The command's promise for each class of hostile file: status 1 and one line on stderr that
/// says what is wrong.
#[test]
fn the_command_refuses_each_hostile_file_in_one_line() {
    let dir = common::tmpdir();
    let d = dir.path();
    let deep = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': {}3,{}}}",
        "(".repeat(4900),
        ")".repeat(4900)
    );
    let mut big = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ".to_vec();
    big.extend(std::iter::repeat_n(b'\n', 1 << 20));
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            npy_file(d, "deep.npy", 1, deep.as_bytes(), &[]),
            "too many nested",
        ),
        (npy_file(d, "big.npy", 2, &big, &[]), "max_header_size"),
        (
            npy_file(
                d,
                "v15.npy",
                1,
                b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}",
                &[0; 8],
            ),
            "",
        ),
        (
            npy_file(
                d,
                "neg.npy",
                1,
                b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
                &[0; 8],
            ),
            "negative",
        ),
        (
            npy_file(
                d,
                "ctl.npy",
                3,
                "{'descr': '<f8\u{1b}[2J\u{202e}', 'fortran_order': False, 'shape': (1,)}"
                    .as_bytes(),
                &[0; 8],
            ),
            "dtype",
        ),
    ];
    // Version 1.5: patch the minor version byte.
    let mut b = std::fs::read(&cases[2].0).unwrap();
    b[7] = 5;
    std::fs::write(&cases[2].0, b).unwrap();
    for (p, word) in &cases {
        let word = if word.is_empty() { "version 1.5" } else { word };
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ndmmap"))
            .args(["info", "--json"])
            .arg(p)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", p.display());
        assert_eq!(err.lines().count(), 1, "{}: {err}", p.display());
        assert!(
            err.len() <= 400 && err.contains(word),
            "{}: {err}",
            p.display()
        );
        assert!(
            !err.contains('\u{1b}') && !err.contains('\u{202e}'),
            "control characters are escaped: {err}"
        );
    }
    // Structured and object files are listed, as such .npz members are: their shape, and
    // the reason they are not mapped in the entry's `unmappable`.
    for (name, descr, word) in [
        ("st.npy", "[('a', '<f8')]", "structured"),
        ("obj.npy", "'|O'", "object"),
    ] {
        let h = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (1,)}}");
        let p = npy_file(d, name, 1, h.as_bytes(), &[0; 8]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ndmmap"))
            .args(["info", "--json"])
            .arg(&p)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}: {text}");
        assert!(
            text.contains("\"shape\":[1]") && text.contains(word),
            "{name}: {text}"
        );
    }
}
