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
//!
//! Inside the crate, [`AnyDtype::parse`] reads numpy's fixed-size non-numeric types too (bytes
//! `|S5`, str `<U2`, void `|V8`, datetime `<M8[s]` and timedelta `<m8[ns]`): their canonical
//! descriptor and item size as numpy gives them, so that a container lists such an array with
//! its shape and maps its elements as raw bytes.

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

pub(crate) const STRUCTURED: &str = "is a structured or subarray dtype; only plain numeric dtypes can be mapped \
                          (view one field at a time: np.save(path, a['field']))";
const OBJECT: &str = "is an object dtype, which holds Python pointers and cannot be mapped";
const STRING: &str = "is a string (bytes or str) dtype; only numeric dtypes can be mapped";
const VOID: &str = "is a void (raw bytes) dtype; only numeric dtypes can be mapped";
const DATETIME: &str =
    "is a datetime or timedelta dtype; view it as int64 in numpy first (a.view('<i8'))";
const DATETIME_UNIT: &str = "is a datetime or timedelta dtype whose unit ndmmap does not read \
                             (it reads [s], [10ms], [us] and the like)";
const STRINGDTYPE: &str = "is numpy's variable-width StringDType, which stores pointers";

/// What a type code, type name or kind and size names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    /// A numeric kind and size.
    Num(char, usize),
    /// numpy's bytes (`S`), str (`U`) or void (`V`) of this many bytes.
    Flexible(char, usize),
    /// numpy's generic datetime (`M`) or timedelta (`m`), 8 bytes.
    Time(char),
}

/// What a one-letter type code names, or why it is not a type ndmmap reads.
fn type_code(c: char) -> std::result::Result<Code, &'static str> {
    let isize_ = size_of::<isize>();
    // numpy also reads a lone character below 24 as a type number (`numpy.dtype('\x02')` is
    // uint8): `PyArray_DescrFromType` of the character's code.
    const TYPE_NUMBERS: &[u8; 24] = b"?bBhHiIlLqQfdgFDGOSUVMme";
    if let Some(&code) = TYPE_NUMBERS.get(c as usize) {
        return type_code(char::from(code));
    }
    let (kind, size) = match c {
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
        // numpy's unsized bytes, str and void: itemsize 0. 'a' is deprecated for 'S' (numpy
        // 2 warns, and reads it); 'c' is a single byte, `|S1`.
        'S' | 'a' => return Ok(Code::Flexible('S', 0)),
        'c' => return Ok(Code::Flexible('S', 1)),
        'U' | 'V' => return Ok(Code::Flexible(c, 0)),
        'M' | 'm' => return Ok(Code::Time(c)),
        'T' => return Err(STRINGDTYPE),
        _ => return Err(""),
    };
    Ok(Code::Num(kind, size))
}

/// What one of numpy's type names (`numpy.sctypeDict`) names, or why it is not a type ndmmap
/// reads. (`datetime64` and `timedelta64` are read as datetimes, before names are looked up.)
fn type_name(s: &str) -> std::result::Result<Code, &'static str> {
    let isize_ = size_of::<isize>();
    let (kind, size) = match s {
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
        "str" | "str_" | "unicode" => return Ok(Code::Flexible('U', 0)),
        "bytes" | "bytes_" => return Ok(Code::Flexible('S', 0)),
        "void" => return Ok(Code::Flexible('V', 0)),
        _ => return Err(""),
    };
    Ok(Code::Num(kind, size))
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

/// Whether a string numpy reads as a structured or subarray dtype ([`is_commastring`]) has
/// fields: a comma outside brackets (`<f8,<i4`, `f8,`, `(2,)f8,i4`), where one without is a
/// subarray (`(2,3)f8`, `3f8`).
fn has_fields(s: &str) -> bool {
    let mut depth = 0i64;
    s.bytes().any(|c| {
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            _ => {}
        }
        c == b',' && depth == 0
    })
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
        match AnyDtype::parse(s)? {
            AnyDtype::Numeric(d) => Ok(d),
            AnyDtype::Raw(r) => Err(unsupported(s, r.why)),
            AnyDtype::Unsupported(u) => Err(unsupported(s, &u.why)),
        }
    }
}

/// A fixed-size dtype numpy has and no element type here holds: bytes (`|S5`), str (`<U2`),
/// void (`|V8`), datetime (`<M8[s]`) and timedelta (`<m8[ns]`). Its elements are mapped as
/// raw bytes ([`AnyArray::Other`](crate::AnyArray::Other)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawDtype {
    /// numpy's canonical descriptor, `numpy.dtype(s).str`: `|S5`, `<U2`, `|V8`, `<M8[s]`.
    pub(crate) descr: String,
    /// numpy's `itemsize`: bytes per element (4 per character of a str; 0 for numpy's
    /// unsized `S`, `U`, `V`).
    pub(crate) itemsize: usize,
    /// Why no element type holds it: what [`Dtype::parse`] says of it.
    pub(crate) why: &'static str,
}

/// A dtype numpy reads whose elements ndmmap maps neither as numbers nor as raw bytes: object
/// (`|O`), StringDType, structured and subarray dtypes, a datetime whose unit ndmmap does not
/// read. A header of such a dtype still has a shape and a data offset, which a container lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnsupportedDtype {
    /// What to call it: numpy's `dtype.str` where that is simple (`|O`), else the header's
    /// descriptor as written (an excerpt: `[('a', '<f8'), ('b', '<i4')]`).
    pub(crate) name: String,
    /// Why it is not mapped: what [`Dtype::parse`] says of it.
    pub(crate) why: String,
}

/// What a dtype string names, as `numpy.dtype(s)` reads it: a numeric type, a fixed-size
/// one whose elements are raw bytes here, or (from [`AnyDtype::parse_listed`] and a header's
/// list or tuple descriptor) one that is listed but not mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AnyDtype {
    /// A numeric type (an element type holds it).
    Numeric(Dtype),
    /// Bytes, str, void, datetime or timedelta.
    Raw(RawDtype),
    /// Object, StringDType, structured, subarray, or a datetime unit not read: no elements to
    /// map (item size 0 here).
    Unsupported(UnsupportedDtype),
}

impl AnyDtype {
    /// Parses a dtype string as `numpy.dtype(s)` does: what [`Dtype::parse`] reads, and
    /// numpy's bytes, str, void, datetime and timedelta types in the spellings numpy reads
    /// (`S5`, `|S5`, `a5`, `c`, `<U2`, `>U2`, `V8`, `<M8[s]`, `m8[10ms]`, `datetime64[ns]`,
    /// `str`, `bytes`, ...). Object, StringDType, structured and subarray dtypes are refused
    /// as [`Dtype::parse`] refuses them; so are datetime units ndmmap does not read (numpy's
    /// `[ns/2]`, a signed or spaced multiplier).
    pub(crate) fn parse(s: &str) -> Result<AnyDtype> {
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
        // A byte order numpy keeps ('<' or '>'; '=', '|' and none are the machine's).
        let little = match order {
            Some(b'<') => true,
            Some(b'>') => false,
            _ => NATIVE_LE,
        };
        // numpy's `is_datetime_typestr`, before anything else.
        if rest.starts_with("M8")
            || rest.starts_with("m8")
            || rest.starts_with("datetime64")
            || rest.starts_with("timedelta64")
        {
            let (kind, meta) = match rest {
                r if r.starts_with("datetime64") => ('M', &r[10..]),
                r if r.starts_with("timedelta64") => ('m', &r[11..]),
                r => (char::from(r.as_bytes()[0]), &r[2..]),
            };
            return match datetime_unit(meta) {
                Some(unit) => Ok(raw(Code::Time(kind), little, &unit)),
                None => Err(unsupported(s, DATETIME_UNIT)),
            };
        }
        let mut chars = rest.chars();
        let first = chars.next().unwrap_or_default();
        let found = if chars.as_str().is_empty() {
            type_code(first)
        } else if let Some(size) = strtol_all(chars.as_str()) {
            let ok = |v: &[usize]| v.contains(&size);
            match first {
                'b' if size == 1 => Ok(Code::Num('b', 1)),
                'i' | 'u' if ok(&[1, 2, 4, 8]) => Ok(Code::Num(first, size)),
                'f' if ok(&[2, 4, 8, 16]) => Ok(Code::Num('f', size)),
                'c' if ok(&[8, 16, 32]) => Ok(Code::Num('c', size)),
                'S' | 'a' => Ok(Code::Flexible('S', size)),
                'V' => Ok(Code::Flexible('V', size)),
                // numpy's limit: 4 bytes a character, and an item size that fits a C int.
                'U' if size <= i32::MAX as usize / 4 => Ok(Code::Flexible('U', size * 4)),
                'O' if size == 8 => Err(OBJECT),
                _ => Err(""),
            }
        } else if order.is_none() {
            type_name(s)
        } else {
            Err("")
        };
        match found {
            Ok(Code::Num(kind, size)) => Ok(AnyDtype::Numeric(Dtype {
                kind,
                size,
                little_endian: size == 1 || little,
            })),
            Ok(code) => Ok(raw(code, little, "")),
            Err("") => Err(unknown()),
            Err(why) => Err(unsupported(s, why)),
        }
    }

    /// [`parse`](Self::parse), with a dtype numpy reads and ndmmap does not map given as
    /// [`AnyDtype::Unsupported`] instead of refused, where the header's shape is numpy's
    /// array's: object, StringDType, and structured strings with fields (`<f8,<i4`). Still
    /// refused as [`parse`](Self::parse) refuses them: a subarray (`(2,)f8`, `3f8`), whose
    /// dimensions numpy appends to the array's shape, and a datetime unit ndmmap does not read
    /// (some of which numpy refuses too). A string numpy does not read is still
    /// [`NpyError::UnknownDtype`].
    pub(crate) fn parse_listed(s: &str) -> Result<AnyDtype> {
        match AnyDtype::parse(s) {
            Err(Error::Npy {
                kind: NpyError::UnsupportedDtype { why, .. },
                ..
            }) if why == OBJECT || why == STRINGDTYPE || (why == STRUCTURED && has_fields(s)) => {
                // numpy's `dtype.str` of every object spelling ('O', '>O', 'O8', 'object').
                let name = if why == OBJECT {
                    "|O".to_string()
                } else {
                    crate::error::excerpt(s)
                };
                Ok(AnyDtype::Unsupported(UnsupportedDtype { name, why }))
            }
            r => r,
        }
    }

    /// Bytes per element (0 for an [`AnyDtype::Unsupported`] one: none are mapped).
    pub(crate) fn itemsize(&self) -> usize {
        match self {
            AnyDtype::Numeric(d) => d.size,
            AnyDtype::Raw(r) => r.itemsize,
            AnyDtype::Unsupported(_) => 0,
        }
    }

    /// numpy's canonical descriptor (`dtype.str`), or for an [`AnyDtype::Unsupported`] one
    /// its [`name`](UnsupportedDtype::name).
    pub(crate) fn descr(&self) -> String {
        match self {
            AnyDtype::Numeric(d) => d.descr(),
            AnyDtype::Raw(r) => r.descr.clone(),
            AnyDtype::Unsupported(u) => u.name.clone(),
        }
    }
}

/// Why an array of numpy's unsized bytes, str or void (`|S0`, `<U0`, `|V0`: itemsize 0, which
/// numpy reads) is listed with its shape but not mapped.
pub(crate) fn zero_itemsize(descr: &str) -> NpyError {
    NpyError::UnsupportedDtype {
        descr: descr.to_string(),
        why: "has items of 0 bytes (numpy's bytes, str or void without a size): there are no \
              bytes to map"
            .into(),
    }
}

/// The [`AnyDtype::Raw`] of a non-numeric code: `unit` is a datetime's canonical unit
/// (`"[s]"`, `""` for a generic one).
fn raw(code: Code, little: bool, unit: &str) -> AnyDtype {
    let order = if little { '<' } else { '>' };
    let (descr, itemsize, why) = match code {
        Code::Flexible('S', n) => (format!("|S{n}"), n, STRING),
        Code::Flexible('U', n) => (format!("{order}U{}", n / 4), n, STRING),
        Code::Flexible(_, n) => (format!("|V{n}"), n, VOID),
        Code::Time(kind) => (format!("{order}{kind}8{unit}"), 8, DATETIME),
        Code::Num(..) => unreachable!("numeric codes are not raw"),
    };
    AnyDtype::Raw(RawDtype {
        descr,
        itemsize,
        why,
    })
}

/// numpy's canonical form of a datetime's unit (`parse_datetime_metadata_from_metastr`): `""`
/// (generic) for `""` or `[generic]`, `"[s]"` for `[s]` or `[1s]`, `"[10ms]"` for `[010ms]`,
/// `"[us]"` for `[μs]`. `None` for what numpy refuses and for what ndmmap does not read: a
/// multiplier with white space or a sign before it, a divisor (`[ns/2]`).
fn datetime_unit(meta: &str) -> Option<String> {
    if meta.is_empty() {
        return Some(String::new());
    }
    let inner = meta.strip_prefix('[')?.strip_suffix(']')?;
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = inner.split_at(digits);
    let num: u64 = match num.trim_start_matches('0') {
        "" if num.is_empty() => 1,
        "" => 0,
        n if n.len() > 10 => return None,
        n => n.parse().ok()?,
    };
    if num > i32::MAX as u64 {
        return None;
    }
    let unit = match unit {
        "generic" => return Some(String::new()),
        "Y" | "M" | "W" | "D" | "h" | "m" | "s" | "ms" | "us" | "ns" | "ps" | "fs" | "as" => unit,
        "\u{3bc}s" => "us",
        _ => return None,
    };
    Some(if num == 1 {
        format!("[{unit}]")
    } else {
        format!("[{num}{unit}]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `r`, the parse of `s`, refuses it as a dtype numpy knows but ndmmap does not
    /// map (`false`: as one numpy does not know); it must refuse.
    fn refused_as_unsupported<T: std::fmt::Debug>(s: &str, r: Result<T>) -> bool {
        match r {
            Err(Error::Npy {
                kind: NpyError::UnsupportedDtype { .. },
                ..
            }) => true,
            Err(Error::Npy {
                kind: NpyError::UnknownDtype { .. },
                ..
            }) => false,
            other => panic!("{s:?}: {other:?}"),
        }
    }

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
            assert_eq!(
                refused_as_unsupported(s, Dtype::parse(s)),
                unsupported,
                "{s:?}"
            );
        }
    }

    /// Each triple was checked against numpy 2.4's `numpy.dtype(s).str` and `.itemsize`.
    #[test]
    fn raw_dtypes_read_as_numpy_reads_them() {
        for (s, descr, itemsize) in [
            ("S5", "|S5", 5),
            ("|S5", "|S5", 5),
            ("<S5", "|S5", 5),
            (">S5", "|S5", 5),
            ("=S5", "|S5", 5),
            ("a5", "|S5", 5),
            ("<a5", "|S5", 5),
            ("S", "|S0", 0),
            ("a", "|S0", 0),
            ("S0", "|S0", 0),
            ("c", "|S1", 1),
            ("<c", "|S1", 1),
            ("S 5", "|S5", 5),
            ("S+5", "|S5", 5),
            ("S05", "|S5", 5),
            ("S-0", "|S0", 0),
            ("S2147483647", "|S2147483647", 2147483647),
            ("U", "<U0", 0),
            ("U0", "<U0", 0),
            ("U2", "<U2", 8),
            ("<U2", "<U2", 8),
            (">U2", ">U2", 8),
            ("|U2", "<U2", 8),
            ("=U2", "<U2", 8),
            ("U+2", "<U2", 8),
            ("U 3", "<U3", 12),
            ("U536870911", "<U536870911", 2147483644),
            (">\u{13}", ">U0", 0),
            ("\u{12}", "|S0", 0),
            ("\u{13}", "<U0", 0),
            ("\u{14}", "|V0", 0),
            ("V", "|V0", 0),
            ("V8", "|V8", 8),
            ("|V8", "|V8", 8),
            ("<V8", "|V8", 8),
            (">V8", "|V8", 8),
            ("V+2", "|V2", 2),
            ("V2147483647", "|V2147483647", 2147483647),
            ("str", "<U0", 0),
            ("str_", "<U0", 0),
            ("unicode", "<U0", 0),
            ("bytes", "|S0", 0),
            ("bytes_", "|S0", 0),
            ("void", "|V0", 0),
            ("M", "<M8", 8),
            ("m", "<m8", 8),
            ("<M", "<M8", 8),
            (">\u{15}", ">M8", 8),
            ("=\u{16}", "<m8", 8),
            ("M8", "<M8", 8),
            ("m8", "<m8", 8),
            (">M8", ">M8", 8),
            (">m8", ">m8", 8),
            ("M8[s]", "<M8[s]", 8),
            ("<M8[s]", "<M8[s]", 8),
            (">M8[ns]", ">M8[ns]", 8),
            ("|M8[s]", "<M8[s]", 8),
            ("=m8[D]", "<m8[D]", 8),
            ("M8[10s]", "<M8[10s]", 8),
            ("M8[010s]", "<M8[10s]", 8),
            ("M8[1s]", "<M8[s]", 8),
            ("M8[0s]", "<M8[0s]", 8),
            ("M8[00s]", "<M8[0s]", 8),
            ("M8[0001D]", "<M8[D]", 8),
            ("M8[us]", "<M8[us]", 8),
            ("M8[μs]", "<M8[us]", 8),
            ("m8[10μs]", "<m8[10us]", 8),
            ("M8[Y]", "<M8[Y]", 8),
            ("M8[M]", "<M8[M]", 8),
            ("M8[W]", "<M8[W]", 8),
            ("M8[h]", "<M8[h]", 8),
            ("M8[m]", "<M8[m]", 8),
            ("M8[ms]", "<M8[ms]", 8),
            ("M8[ps]", "<M8[ps]", 8),
            ("M8[fs]", "<M8[fs]", 8),
            ("M8[as]", "<M8[as]", 8),
            ("M8[generic]", "<M8", 8),
            ("M8[2generic]", "<M8", 8),
            ("M8[2147483647Y]", "<M8[2147483647Y]", 8),
            ("datetime64", "<M8", 8),
            ("datetime64[s]", "<M8[s]", 8),
            ("<datetime64[s]", "<M8[s]", 8),
            ("timedelta64", "<m8", 8),
            ("timedelta64[2h]", "<m8[2h]", 8),
            ("<timedelta64", "<m8", 8),
        ] {
            let (descr, itemsize) = if cfg!(target_endian = "little") {
                (descr.to_string(), itemsize)
            } else {
                // numpy's '=' and '|' are the machine's order.
                (descr.replacen('<', ">", 1), itemsize)
            };
            match AnyDtype::parse(s) {
                Ok(AnyDtype::Raw(r)) => {
                    assert_eq!(
                        (r.descr.as_str(), r.itemsize),
                        (descr.as_str(), itemsize),
                        "{s:?}"
                    )
                }
                other => panic!("{s:?}: {other:?}"),
            }
            // The public parser still refuses them, saying what they are.
            assert!(
                matches!(
                    Dtype::parse(s),
                    Err(Error::Npy {
                        kind: NpyError::UnsupportedDtype { .. },
                        ..
                    })
                ),
                "{s:?}"
            );
        }
        // Numeric dtypes are unchanged.
        assert_eq!(
            AnyDtype::parse("<f8").unwrap(),
            AnyDtype::Numeric(Dtype::parse("<f8").unwrap())
        );
    }

    /// Hostile or odd sizes and units: a clear refusal, never a panic or a wrapped size.
    /// `unsupported` marks what numpy reads (or might) and ndmmap does not; the rest numpy
    /// refuses too.
    #[test]
    fn raw_dtype_refusals() {
        for (s, unsupported) in [
            ("S99999999999999999999", false),
            ("U99999999999999999999", false),
            ("V99999999999999999999", false),
            ("S2147483648", false),
            ("V2147483648", false),
            // 536870912 characters are 2^31 bytes, past numpy's C int.
            ("U536870912", false),
            ("U1073741824", false),
            ("U4294967296", false),
            ("S-1", false),
            ("U-1", false),
            ("V-1", false),
            ("<S-5", false),
            ("S5x", false),
            ("c1", false),
            ("<str", false),
            ("string_", false),
            ("M4", false),
            ("M16", false),
            ("M8[2147483648s]", true),
            ("M8[99999999999999999999s]", true),
            ("M8[-1s]", true),
            ("M8[]", true),
            ("M8[s", true),
            ("M8[s]]", true),
            ("M8[[s]", true),
            ("M8[S]", true),
            ("M8[B]", true),
            ("M8 [s]", true),
            ("M8[s] ", true),
            ("M8[\u{b5}s]", true),
            ("M80", true),
            ("datetime64[]", true),
            // numpy reads these; ndmmap does not (yet).
            ("M8[ns/2]", true),
            ("M8[ 2s]", true),
            ("M8[+2s]", true),
            ("O", true),
            ("|O", true),
            ("T", true),
            ("S5,i4", true),
            ("(2,)S5", true),
            ("2S5", true),
        ] {
            assert_eq!(
                refused_as_unsupported(s, AnyDtype::parse(s)),
                unsupported,
                "{s:?}"
            );
        }
        // The largest sizes numpy reads.
        for (s, itemsize) in [
            ("S2147483647", 2_147_483_647),
            ("U536870911", 2_147_483_644),
        ] {
            assert_eq!(AnyDtype::parse(s).unwrap().itemsize(), itemsize, "{s:?}");
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
