//! numpy dtype strings, read the way `numpy.dtype(str)` reads them.
//!
//! [`Dtype::parse`] follows numpy's own string parser (`_convert_from_str` in numpy's
//! `descriptor.c`): an optional byte-order mark (`<`, `>`, `=`, `|`), then a one-letter type
//! code (`d`, `f`, `i`, `?`, ...), a kind and an item size read as C's `strtol` reads it (so
//! `f8`, `f08` and `f 8` are all `float64`, as in numpy), or, without a byte-order mark, one of
//! numpy's type names (`float64`, `double`, `int_`, ...). Every string numpy reads as a
//! numeric type gives the same type here; strings numpy reads as other types (object, bytes,
//! str, void, datetime, structured or subarray dtypes) are refused with
//! [`NpyError::UnsupportedDtype`] naming what they are; anything else is
//! [`NpyError::UnknownDtype`].

use crate::element::{Dtype, NATIVE_LE};
use crate::error::{Error, NpyError, Result};
use std::ffi::{c_long, c_ulong};

/// Why a dtype numpy knows cannot be mapped as plain elements.
fn unsupported(s: &str, why: &str) -> Error {
    Error::npy(
        None,
        NpyError::UnsupportedDtype {
            descr: crate::error::excerpt(s),
            why: why.to_string(),
        },
    )
}

const STRUCTURED: &str = "is a structured or subarray dtype; only plain numeric dtypes can be mapped \
                          (view one field at a time: np.save(path, a['field']))";
const OBJECT: &str = "is an object dtype, which holds Python pointers and cannot be mapped";
const STRING: &str = "is a string (bytes or str) dtype; only numeric dtypes can be mapped";
const VOID: &str = "is a void (raw bytes) dtype; only numeric dtypes can be mapped";
const DATETIME: &str =
    "is a datetime or timedelta dtype; view it as int64 in numpy first (a.view('<i8'))";
const STRINGDTYPE: &str = "is numpy's variable-width StringDType, which stores pointers";

/// Kind and size of a one-letter type code, or why it is not numeric.
fn type_code(c: char) -> std::result::Result<(char, usize), &'static str> {
    let isize_ = size_of::<isize>();
    // numpy also reads a lone character below 24 as a type number (`numpy.dtype('\x02')` is
    // uint8): `PyArray_DescrFromType` of the character's code.
    const TYPE_NUMBERS: &[u8; 24] = b"?bBhHiIlLqQfdgFDGOSUVMme";
    if let Some(&code) = TYPE_NUMBERS.get(c as usize) {
        return type_code(char::from(code));
    }
    Ok(match c {
        '?' => ('b', 1),
        'b' => ('i', 1),
        'B' => ('u', 1),
        'h' => ('i', 2),
        'H' => ('u', 2),
        'i' => ('i', 4),
        'I' => ('u', 4),
        'l' => ('i', size_of::<c_long>()),
        'L' => ('u', size_of::<c_ulong>()),
        'q' => ('i', 8),
        'Q' => ('u', 8),
        'p' | 'n' => ('i', isize_),
        'P' | 'N' => ('u', isize_),
        'e' => ('f', 2),
        'f' => ('f', 4),
        'd' => ('f', 8),
        'g' => ('f', 16),
        'F' => ('c', 8),
        'D' => ('c', 16),
        'G' => ('c', 32),
        'O' => return Err(OBJECT),
        'S' | 'a' | 'U' | 'c' => return Err(STRING),
        'V' => return Err(VOID),
        'M' | 'm' => return Err(DATETIME),
        'T' => return Err(STRINGDTYPE),
        _ => return Err(""),
    })
}

/// Kind and size of one of numpy's type names (`numpy.sctypeDict`), or why it is not numeric.
fn type_name(s: &str) -> std::result::Result<(char, usize), &'static str> {
    let isize_ = size_of::<isize>();
    Ok(match s {
        "bool" | "bool_" => ('b', 1),
        "int8" | "byte" => ('i', 1),
        "uint8" | "ubyte" => ('u', 1),
        "int16" | "short" => ('i', 2),
        "uint16" | "ushort" => ('u', 2),
        "int32" | "intc" => ('i', 4),
        "uint32" | "uintc" => ('u', 4),
        "int64" | "longlong" => ('i', 8),
        "uint64" | "ulonglong" => ('u', 8),
        "int" | "int_" | "intp" => ('i', isize_),
        "uint" | "uintp" => ('u', isize_),
        "long" => ('i', size_of::<c_long>()),
        "ulong" => ('u', size_of::<c_ulong>()),
        "float16" | "half" => ('f', 2),
        "float32" | "single" => ('f', 4),
        "float64" | "double" | "float" => ('f', 8),
        "float128" | "longdouble" => ('f', 16),
        "complex64" | "csingle" => ('c', 8),
        "complex128" | "cdouble" | "complex" => ('c', 16),
        "complex256" | "clongdouble" => ('c', 32),
        "object" | "object_" => return Err(OBJECT),
        "str" | "str_" | "bytes" | "bytes_" | "unicode" => return Err(STRING),
        "void" => return Err(VOID),
        "datetime64" | "timedelta64" => return Err(DATETIME),
        _ => return Err(""),
    })
}

/// C's `strtol(s, &end, 10)` over the whole of `s`: leading white space, a sign, digits, and
/// nothing after them. `None` when that does not consume `s` or leaves `0..=i32::MAX`.
fn strtol_all(s: &str) -> Option<usize> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'+') => (false, &t[1..]),
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 10 {
        return None;
    }
    let v: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    if v > i32::MAX as u64 || (neg && v != 0) {
        return None;
    }
    Some(v as usize)
}

/// numpy's `_check_for_commastring`: strings numpy reads as a structured or subarray dtype.
fn is_commastring(s: &str) -> bool {
    let b = s.as_bytes();
    let order = |c: u8| matches!(c, b'<' | b'>' | b'=' | b'|');
    if b.first().is_some_and(u8::is_ascii_digit)
        || (b.len() > 1 && order(b[0]) && b[1].is_ascii_digit())
        || s.starts_with("()")
        || (b.len() > 3 && order(b[0]) && &b[1..3] == b"()")
    {
        return true;
    }
    let mut depth = 0i64;
    for c in b {
        match c {
            b',' if depth == 0 => return true,
            b'[' => depth += 1,
            b']' => depth -= 1,
            _ => {}
        }
    }
    false
}

impl Dtype {
    /// Parses a dtype string as `numpy.dtype(s)` does, for numpy's numeric types: type codes
    /// with an optional byte-order mark (`<f8`, `>i4`, `=u2`, `|u1`, `f4`, `?`, `d`) and type
    /// names (`float64`, `int16`, `uint8`, `complex128`, `bool`, `double`).
    ///
    /// ```
    /// use ndmmap::npy::Dtype;
    /// assert_eq!(Dtype::parse("<f8")?.descr(), "<f8");
    /// assert_eq!(Dtype::parse("d")?.descr(), "<f8");
    /// assert_eq!(Dtype::parse("f")?.descr(), "<f4");   // numpy's 'f' is float32
    /// assert!(Dtype::parse("<U5").is_err());            // a string dtype: refused, with the reason
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<Dtype> {
        if is_commastring(s) {
            return Err(unsupported(s, STRUCTURED));
        }
        let unknown = || {
            Error::npy(
                None,
                NpyError::UnknownDtype {
                    descr: crate::error::excerpt(s),
                },
            )
        };
        let (order, rest) = match s.as_bytes().first() {
            Some(c @ (b'<' | b'>' | b'=' | b'|')) => (Some(*c), &s[1..]),
            _ => (None, s),
        };
        if rest.is_empty() {
            return Err(unknown());
        }
        if rest.starts_with("M8")
            || rest.starts_with("m8")
            || rest.starts_with("datetime64")
            || rest.starts_with("timedelta64")
        {
            return Err(unsupported(s, DATETIME));
        }
        let mut chars = rest.chars();
        let first = chars.next().unwrap_or_default();
        let found = if chars.as_str().is_empty() {
            type_code(first)
        } else if let Some(size) = strtol_all(chars.as_str()) {
            let ok = |v: &[usize]| v.contains(&size);
            match first {
                'b' if size == 1 => Ok(('b', 1)),
                'i' | 'u' if ok(&[1, 2, 4, 8]) => Ok((first, size)),
                'f' if ok(&[2, 4, 8, 16]) => Ok(('f', size)),
                'c' if ok(&[8, 16, 32]) => Ok(('c', size)),
                'S' | 'a' | 'U' => Err(STRING),
                'V' => Err(VOID),
                'O' if size == 8 => Err(OBJECT),
                _ => Err(""),
            }
        } else if order.is_none() {
            type_name(s)
        } else {
            Err("")
        };
        match found {
            Ok((kind, size)) => Ok(Dtype {
                kind,
                size,
                little_endian: size == 1
                    || match order {
                        Some(b'<') => true,
                        Some(b'>') => false,
                        _ => NATIVE_LE,
                    },
            }),
            Err("") => Err(unknown()),
            Err(why) => Err(unsupported(s, why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair was checked against numpy 2.4's `numpy.dtype(s).str`.
    #[test]
    fn spellings_read_as_numpy_reads_them() {
        for (s, d) in [
            ("f8", "<f8"),
            ("<f4", "<f4"),
            ("i2", "<i2"),
            ("u1", "|u1"),
            ("|i1", "|i1"),
            ("?", "|b1"),
            ("b1", "|b1"),
            ("b", "|i1"),
            ("B", "|u1"),
            ("c16", "<c16"),
            (">f8", ">f8"),
            (">u1", "|u1"),
            ("float32", "<f4"),
            ("uint16", "<u2"),
            ("int64", "<i8"),
            ("=u4", "<u4"),
            ("|f8", "<f8"),
            ("f", "<f4"),
            ("d", "<f8"),
            ("e", "<f2"),
            ("g", "<f16"),
            ("D", "<c16"),
            ("f 8", "<f8"),
            ("\u{2}", "|u1"),
            ("<\u{c}", "<f8"),
            (">\u{c}", ">f8"),
            ("\u{17}", "<f2"),
            ("\u{0}", "|b1"),
            ("f+8", "<f8"),
            ("f08", "<f8"),
            ("<i\t4", "<i4"),
            ("double", "<f8"),
            ("float", "<f8"),
            ("int", "<i8"),
            // C's `long`: 8 bytes on 64-bit Unix, 4 on Windows, as numpy has it there.
            ("l", if cfg!(windows) { "<i4" } else { "<i8" }),
        ] {
            assert_eq!(Dtype::parse(s).unwrap().descr(), d, "{s:?}");
        }
    }

    #[test]
    fn refusals_say_what_is_unsupported() {
        for (s, unsupported) in [
            ("", false),
            ("f3", false),
            ("x8", false),
            ("f8 ", false),
            ("f-0", false),
            ("i0", false),
            ("b2", false),
            ("<float64", false),
            ("Float64", false),
            ("int7", false),
            ("\u{18}", false),
            ("\u{2}8", false),
            ("\u{11}", true),
            ("\u{15}", true),
            ("O", true),
            ("O8", true),
            ("S10", true),
            ("<U5", true),
            ("V16", true),
            ("M8[ns]", true),
            ("<m8", true),
            ("<f8,<i4", true),
            ("(2,)f8", true),
            ("3f8", true),
            ("object", true),
            ("T", true),
        ] {
            match Dtype::parse(s) {
                Err(Error::Npy {
                    kind: NpyError::UnsupportedDtype { .. },
                    ..
                }) => assert!(unsupported, "{s:?} called unsupported"),
                Err(Error::Npy {
                    kind: NpyError::UnknownDtype { .. },
                    ..
                }) => assert!(!unsupported, "{s:?} called unknown"),
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn native_types() {
        assert!(Dtype::parse("<f8").unwrap().is_native());
        assert!(!Dtype::parse(">f8").unwrap().is_native());
        assert!(Dtype::parse(">u1").unwrap().is_native());
        assert!(!Dtype::parse("g").unwrap().is_native());
    }
}
