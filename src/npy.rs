//! numpy `.npy` files as memory-mapped arrays: open, create, grow in place.
//!
//! ```
//! use ndarray::Ix2;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("x.npy");
//! // SAFETY: the file is ours alone while the arrays live.
//! let mut a = unsafe { ndmmap::npy::create::<f32, Ix2, _>(&path, (100, 3))? };
//! a.view_mut()?.fill(1.0);
//! a.grow_npy(110)?;                           // 10 more rows, header rewritten in place
//! drop(a);
//! let b = unsafe { ndmmap::npy::open::<f32, Ix2>(&path)? };
//! assert_eq!(b.shape(), &[110, 3]);
//! assert_eq!(b.view().sum(), 300.0);
//! # Ok(()) }
//! ```
//!
//! The header is parsed here rather than by ndarray-npy: mapping needs the data offset, the
//! header's free room (to grow in place) and precise errors for each kind of broken file,
//! none of which ndarray-npy's public API exposes. ndarray-npy reads and writes the reference
//! files in the tests.

use crate::array::{Backing, MmapArray, Mode, dim_and_strides};
use crate::error::{Error, Result};
use crate::layout;
use crate::options::{MmapOptions, check_file_type};
use bytemuck::Pod;
use ndarray::{Dimension, ShapeBuilder};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Digits of room numpy leaves for the growing axis (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_DIGITS: usize = 21;
/// Data alignment of the files numpy writes (and ndmmap creates).
const ALIGN: usize = 64;

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version, `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub version: (u8, u8),
    /// The dtype descriptor, e.g. `"<f8"`.
    pub descr: String,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Byte offset of the data (the header's total length).
    pub data_offset: u64,
}

impl Header {
    /// Bytes of data the shape needs with `itemsize`-byte elements.
    pub fn data_len(&self, itemsize: usize) -> Result<usize> {
        layout::checked_bytes(&self.shape, itemsize)
    }
}

/// A dtype as numpy spells it (`"f8"`, `"<f4"`, `"i2"`, `"u1"`, `"c16"`, `"?"`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// numpy's kind character: `b` bool, `i` signed, `u` unsigned, `f` float, `c` complex.
    pub kind: char,
    /// Bytes per element.
    pub size: usize,
    /// Byte order: `true` little-endian (or order-less, size 1).
    pub little_endian: bool,
}

impl Dtype {
    /// Parses numpy's spelling of a fixed-size numeric dtype: a type code with an optional
    /// byte-order mark (`<f8`, `>i4`, `=u2`, `|u1`, `f4`, `?`) or a name (`float64`,
    /// `int16`, `uint8`, `complex128`, `bool`).
    pub fn parse(s: &str) -> Result<Dtype> {
        let bad = |why: &str| Error::Npy {
            path: None,
            reason: format!("dtype {s:?} {why}"),
        };
        let named = match s {
            "bool" => Some(('b', 1)),
            "float16" | "half" => Some(('f', 2)),
            "float32" | "single" => Some(('f', 4)),
            "float64" | "double" | "float" => Some(('f', 8)),
            "complex64" => Some(('c', 8)),
            "complex128" | "complex" => Some(('c', 16)),
            _ => s
                .strip_prefix("uint")
                .map(|b| ('u', b))
                .or_else(|| s.strip_prefix("int").map(|b| ('i', b)))
                .and_then(|(k, bits)| {
                    bits.parse::<usize>()
                        .ok()
                        .filter(|b| matches!(b, 8 | 16 | 32 | 64))
                        .map(|b| (k, b / 8))
                }),
        };
        if let Some((kind, size)) = named {
            return Ok(Dtype {
                kind,
                size,
                little_endian: cfg!(target_endian = "little") || size == 1,
            });
        }
        let (order, rest) = match s.chars().next() {
            Some(c @ ('<' | '>' | '=' | '|')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        let mut chars = rest.chars();
        let kind = chars.next().ok_or_else(|| bad("is empty"))?;
        let digits = chars.as_str();
        let (kind, size) = match (kind, digits) {
            ('?', "") => ('b', 1),
            ('b' | 'i' | 'u' | 'f' | 'c', d) if !d.is_empty() => {
                let size: usize = d.parse().map_err(|_| bad("has a malformed size"))?;
                let ok = match kind {
                    'b' => size == 1,
                    'i' | 'u' => matches!(size, 1 | 2 | 4 | 8),
                    'f' => matches!(size, 2 | 4 | 8 | 16),
                    _ => matches!(size, 8 | 16 | 32),
                };
                if !ok {
                    return Err(bad("has a size numpy does not have"));
                }
                (kind, size)
            }
            ('O', _) => {
                return Err(bad(
                    "is an object dtype, which holds Python pointers and cannot be mapped",
                ));
            }
            ('S' | 'a' | 'U', _) => {
                return Err(bad("is a string dtype; only numeric dtypes can be mapped"));
            }
            ('V', _) => {
                return Err(bad(
                    "is a void (raw or structured) dtype; only numeric dtypes can be mapped",
                ));
            }
            ('M' | 'm', _) => {
                return Err(bad(
                    "is a datetime dtype; view it as int64 ('<i8') in numpy first",
                ));
            }
            _ => {
                return Err(bad(
                    "is not a numpy dtype (expected e.g. f8, <f4, i2, u1, c16, ?)",
                ));
            }
        };
        let little_endian = match order {
            Some('>') => size == 1,
            Some('<') | Some('|') => true,
            _ => cfg!(target_endian = "little") || size == 1,
        };
        Ok(Dtype {
            kind,
            size,
            little_endian,
        })
    }

    /// The canonical descriptor, e.g. `"<f8"`, `"|u1"`.
    pub fn descr(&self) -> String {
        let order = if self.size == 1 {
            '|'
        } else if self.little_endian {
            '<'
        } else {
            '>'
        };
        format!("{order}{}{}", self.kind, self.size)
    }
}

/// Element types with a `.npy` descriptor.
pub trait NpyElement: Pod {
    /// The dtype of the type in native (little-endian) order.
    const DTYPE: Dtype;
}

macro_rules! npy_element {
    ($($t:ty => $kind:literal, $size:literal;)*) => {$(
        impl NpyElement for $t {
            const DTYPE: Dtype =
                Dtype { kind: $kind, size: $size, little_endian: cfg!(target_endian = "little") || $size == 1 };
        }
    )*};
}

npy_element! {
    u8 => 'u', 1; u16 => 'u', 2; u32 => 'u', 4; u64 => 'u', 8;
    i8 => 'i', 1; i16 => 'i', 2; i32 => 'i', 4; i64 => 'i', 8;
    f32 => 'f', 4; f64 => 'f', 8;
    num_complex::Complex<f32> => 'c', 8; num_complex::Complex<f64> => 'c', 16;
}

fn npy_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Npy {
        path: Some(path.to_path_buf()),
        reason: reason.into(),
    }
}

/// Reads the header of a `.npy` file.
pub fn read_header(path: impl AsRef<Path>) -> Result<Header> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| Error::io("open", Some(path), e))?;
    check_file_type(&meta, Some(path))?;
    let file = File::open(path).map_err(|e| Error::io("open", Some(path), e))?;
    // Read only the header's pages: no readahead into the data, whose residency the caller
    // may be about to measure. (A hint: failure changes nothing.)
    let _ = crate::sys::fadvise(&file, 0, 0, crate::sys::FileAdvice::Random);
    read_header_from(&file, path)
}

/// Reads up to `buf.len()` bytes at `offset`, returning how many there were.
fn read_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read header", Some(path), e)),
        }
    }
    Ok(got)
}

fn read_header_from(file: &File, path: &Path) -> Result<Header> {
    let mut pre = [0u8; 12];
    let got = read_at(file, path, &mut pre, 0)?;
    if got < 6 || &pre[..6] != MAGIC {
        return Err(npy_err(
            path,
            format!(
                "not a .npy file: it starts with {:?} instead of the magic string \"\\x93NUMPY\"",
                String::from_utf8_lossy(&pre[..got.min(6)])
            ),
        ));
    }
    let too_short = |n: usize| {
        npy_err(
            path,
            format!("truncated header: the file ends after {got} bytes, inside the first {n}"),
        )
    };
    if got < 10 {
        return Err(too_short(10));
    }
    let version = (pre[6], pre[7]);
    let (len_bytes, header_len) = match version.0 {
        1 => (2, u16::from_le_bytes([pre[8], pre[9]]) as usize),
        2 | 3 if got >= 12 => (
            4,
            u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize,
        ),
        2 | 3 => return Err(too_short(12)),
        _ => {
            return Err(npy_err(
                path,
                format!(
                    "unsupported .npy format version {}.{} (1.0, 2.0 and 3.0 are read)",
                    version.0, version.1
                ),
            ));
        }
    };
    let start = 8 + len_bytes;
    let mut text = vec![0u8; header_len];
    let got = read_at(file, path, &mut text, start as u64)?;
    if got < header_len {
        return Err(npy_err(
            path,
            format!(
                "truncated header: it claims {header_len} bytes after byte {start}, the file has {got}"
            ),
        ));
    }
    let text = if version.0 == 3 {
        String::from_utf8(text).map_err(|_| npy_err(path, "the header is not valid UTF-8"))?
    } else {
        text.into_iter().map(char::from).collect() // latin-1
    };
    let (descr, fortran_order, shape) = parse_dict(&text).map_err(|why| {
        npy_err(
            path,
            format!("malformed header {:?}: {why}", text.trim_end()),
        )
    })?;
    Ok(Header {
        version,
        descr,
        fortran_order,
        shape,
        data_offset: (start + header_len) as u64,
    })
}

/// A Python literal as it appears in a `.npy` header.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Bool(bool),
    Int(i128),
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn seq(&mut self, close: u8) -> Result<Vec<Lit>, String> {
        let mut v = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(v);
            }
            v.push(self.value()?);
            if !self.eat(b',') {
                return if self.eat(close) {
                    Ok(v)
                } else {
                    Err(format!(
                        "expected ',' or '{}' at byte {}",
                        close as char, self.i
                    ))
                };
            }
        }
    }

    fn value(&mut self) -> Result<Lit, String> {
        self.ws();
        let c = *self.s.get(self.i).ok_or("unexpected end")?;
        match c {
            b'\'' | b'"' => {
                let end = self.s[self.i + 1..]
                    .iter()
                    .position(|&b| b == c)
                    .ok_or("unterminated string")?;
                let v = String::from_utf8_lossy(&self.s[self.i + 1..self.i + 1 + end]).into_owned();
                self.i += end + 2;
                Ok(Lit::Str(v))
            }
            b'(' => {
                self.i += 1;
                self.seq(b')').map(Lit::Tuple)
            }
            b'[' => {
                self.i += 1;
                self.seq(b']').map(Lit::List)
            }
            b'{' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    if self.eat(b'}') {
                        return Ok(Lit::Dict(items));
                    }
                    let k = self.value()?;
                    if !self.eat(b':') {
                        return Err(format!("expected ':' at byte {}", self.i));
                    }
                    items.push((k, self.value()?));
                    if !self.eat(b',') {
                        return if self.eat(b'}') {
                            Ok(Lit::Dict(items))
                        } else {
                            Err(format!("expected ',' or '}}' at byte {}", self.i))
                        };
                    }
                }
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_alphanumeric()
                        || matches!(self.s[self.i], b'-' | b'+' | b'_'))
                {
                    self.i += 1;
                }
                let word = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                match word {
                    "True" => Ok(Lit::Bool(true)),
                    "False" => Ok(Lit::Bool(false)),
                    w => w
                        .trim_end_matches('L')
                        .parse::<i128>()
                        .map(Lit::Int)
                        .map_err(|_| {
                            format!(
                                "unexpected {:?} at byte {start}",
                                if w.is_empty() {
                                    (c as char).to_string()
                                } else {
                                    w.to_string()
                                }
                            )
                        }),
                }
            }
        }
    }
}

/// Parses the header dictionary into `(descr, fortran_order, shape)`.
fn parse_dict(text: &str) -> Result<(String, bool, Vec<usize>), String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let Lit::Dict(items) = p.value()? else {
        return Err("it is not a dictionary".into());
    };
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "unexpected text after the dictionary at byte {}",
            p.i
        ));
    }
    let get = |key: &str| {
        items
            .iter()
            .find(|(k, _)| *k == Lit::Str(key.into()))
            .map(|(_, v)| v)
            .ok_or(format!("the key '{key}' is missing"))
    };
    if let Some((k, _)) = items.iter().find(|(k, _)| !matches!(k, Lit::Str(s) if ["descr", "fortran_order", "shape"].contains(&s.as_str()))) {
        return Err(format!("unexpected key {k:?}"));
    }
    let descr = match get("descr")? {
        Lit::Str(s) => s.clone(),
        Lit::List(_) => {
            return Err(
                "it describes a structured dtype; only plain numeric dtypes can be mapped".into(),
            );
        }
        other => return Err(format!("'descr' is {other:?}, not a string")),
    };
    let fortran = match get("fortran_order")? {
        Lit::Bool(b) => *b,
        other => return Err(format!("'fortran_order' is {other:?}, not True or False")),
    };
    let shape = match get("shape")? {
        Lit::Tuple(dims) => dims
            .iter()
            .map(|d| match d {
                Lit::Int(n) if *n < 0 => Err(format!("the shape has a negative length {n}")),
                Lit::Int(n) => {
                    usize::try_from(*n).map_err(|_| format!("the shape's length {n} overflows"))
                }
                other => Err(format!("the shape holds {other:?}, not an integer")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(format!("'shape' is {other:?}, not a tuple")),
    };
    Ok((descr, fortran, shape))
}

/// The dictionary text of a header.
fn dict_text(descr: &str, fortran: bool, shape: &[usize]) -> String {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let f = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {dims}, }}")
}

/// The full header bytes for a dictionary, with `room` spare spaces, padded so the data
/// starts on a 64-byte boundary, in the oldest version that fits.
fn header_bytes(dict: &str, room: usize) -> Vec<u8> {
    for (version, len_bytes) in [(1u8, 2usize), (2, 4)] {
        let pre = 8 + len_bytes;
        let body = dict.len() + room + 1; // + '\n'
        let total = (pre + body).next_multiple_of(ALIGN);
        let header_len = total - pre;
        if version == 1 && header_len > u16::MAX as usize {
            continue;
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header_len as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header_len as u32).to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.resize(total - 1, b' ');
        out.push(b'\n');
        return out;
    }
    unreachable!("a version 2.0 header holds 4 GiB")
}

/// Opens a `.npy` file read-only.
///
/// # Safety
/// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
pub unsafe fn open<T: NpyElement, D: Dimension>(path: impl AsRef<Path>) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded.
    unsafe { open_with(path, Mode::ReadOnly) }
}

/// Opens a `.npy` file read-write (shared).
///
/// # Safety
/// As for [`open`].
pub unsafe fn open_mut<T: NpyElement, D: Dimension>(
    path: impl AsRef<Path>,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded.
    unsafe { open_with(path, Mode::ReadWrite) }
}

/// Checks a header against `T` and `D` and the file's length: the dimension to map.
fn check_header<T: NpyElement, D: Dimension>(h: &Header, path: &Path, file_len: u64) -> Result<D> {
    let dtype = Dtype::parse(&h.descr).map_err(|e| match e {
        Error::Npy { reason, .. } => npy_err(path, reason),
        e => e,
    })?;
    if !dtype.little_endian && dtype.size > 1 {
        let le = Dtype {
            little_endian: true,
            ..dtype
        }
        .descr();
        return Err(npy_err(
            path,
            format!(
                "the data is big-endian ({:?}) and cannot be viewed in place; convert it once in numpy: \
                 np.save(path, np.load(path).astype('{le}'))",
                h.descr
            ),
        ));
    }
    if dtype != T::DTYPE {
        return Err(Error::DtypeMismatch {
            expected: T::DTYPE.descr(),
            found: h.descr.clone(),
        });
    }
    if let Some(n) = D::NDIM
        && n != h.shape.len()
    {
        return Err(Error::DimensionMismatch {
            expected: n,
            found: h.shape.len(),
        });
    }
    let bytes = h.data_len(size_of::<T>())?;
    if h.data_offset + bytes as u64 > file_len {
        return Err(npy_err(
            path,
            format!(
                "the header's shape {:?} needs {bytes} bytes of data after byte {}, but the file is {file_len} bytes long",
                h.shape, h.data_offset
            ),
        ));
    }
    let mut dim = D::zeros(h.shape.len());
    dim.slice_mut().copy_from_slice(&h.shape);
    Ok(dim)
}

/// Opens a `.npy` file in the given mode.
///
/// # Safety
/// As for [`open`].
pub unsafe fn open_with<T: NpyElement, D: Dimension>(
    path: impl AsRef<Path>,
    mode: Mode,
) -> Result<MmapArray<T, D>> {
    let path = path.as_ref();
    let h = read_header(path)?;
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io("stat", Some(path), e))?
        .len();
    let dim: D = check_header::<T, D>(&h, path, len)?;
    // SAFETY: forwarded to the caller.
    unsafe {
        MmapOptions::new()
            .mode(mode)
            .offset(h.data_offset)
            .grow(false)
            .map_path(path, dim.set_f(h.fortran_order))
    }
}

/// Creates (or truncates) a zero-filled `.npy` file of `shape` (`.f()` for Fortran order) and
/// maps it read-write. The data is sparse until written; the header leaves room for the
/// shape to grow (see [`MmapArray::grow_npy`]) and starts the data on a 64-byte boundary.
///
/// # Safety
/// As for [`open`].
pub unsafe fn create<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
    path: impl AsRef<Path>,
    shape: Sh,
) -> Result<MmapArray<T, D>> {
    let path = path.as_ref();
    let shape = shape.into_shape_with_order();
    let (dim, strides, bytes) = dim_and_strides(shape, size_of::<T>())?;
    let (c_dim, c_strides, _) = dim_and_strides(ndarray::Shape::from(dim.clone()), size_of::<T>())?;
    let fortran = c_strides.slice() != strides.slice();
    let last = dim.ndim().checked_sub(1); // None for 0-D: no axis to grow
    let grow_axis = if fortran { last } else { last.map(|_| 0) };
    let room = grow_axis.map_or(0, |a| {
        GROWTH_DIGITS.saturating_sub(c_dim[a].to_string().len())
    });
    let header = header_bytes(&dict_text(&T::DTYPE.descr(), fortran, dim.slice()), room);
    let mut f = File::create(path).map_err(|e| Error::io("create", Some(path), e))?;
    f.write_all(&header)
        .map_err(|e| Error::io("write header", Some(path), e))?;
    f.set_len(header.len() as u64 + bytes as u64)
        .map_err(|e| Error::io("grow (ftruncate)", Some(path), e))?;
    drop(f);
    // SAFETY: forwarded to the caller.
    unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(header.len() as u64)
            .grow(false)
            .map_path(path, dim.set_f(fortran))
    }
}

impl<T: NpyElement, D: Dimension> MmapArray<T, D> {
    /// Grows a read-write C-order `.npy` array along its first axis to `new_len` rows in place:
    /// extends the file, rewrites the header's shape in its spare room, and remaps (`mremap`
    /// on Linux). Taking `&mut self`, it cannot run while a view lives.
    ///
    /// Errors: a map that is not [`Mode::ReadWrite`], a Fortran-order or 0-D array, a file
    /// whose header no longer matches the array, a smaller `new_len`, or a header without
    /// room for the longer shape. The file is not changed when any of these is reported.
    pub fn grow_npy(&mut self, new_len: usize) -> Result<()> {
        let path: PathBuf = self.path.clone().unwrap_or_default();
        let p = path.as_path();
        if self.mode != Mode::ReadWrite {
            return Err(Error::NotWritable {
                reason: "grow_npy needs a read-write (Mode::ReadWrite) map",
            });
        }
        let file = self.file.as_ref().ok_or(Error::Unsupported {
            what: "grow_npy on an anonymous map",
        })?;
        let h = read_header_from(file, p)?;
        if h.shape != self.shape()
            || h.data_offset != self.offset
            || Dtype::parse(&h.descr).ok() != Some(T::DTYPE)
        {
            return Err(npy_err(
                p,
                format!(
                    "the file's header ({} {:?} at byte {}) no longer describes this array ({} {:?} at byte {})",
                    h.descr,
                    h.shape,
                    h.data_offset,
                    T::DTYPE.descr(),
                    self.shape(),
                    self.offset
                ),
            ));
        }
        if h.shape.is_empty() {
            return Err(npy_err(p, "a 0-dimensional array has no axis to grow"));
        }
        if h.fortran_order && h.shape.iter().filter(|&&n| n != 1).count() > 1 {
            return Err(npy_err(
                p,
                "a Fortran-order array cannot grow along its first axis in place (its rows are not contiguous); \
                 rewrite it in C order",
            ));
        }
        let old_len = h.shape[0];
        if new_len < old_len {
            return Err(npy_err(
                p,
                format!("grow_npy({new_len}) would shrink the first axis from {old_len}"),
            ));
        }
        if new_len == old_len {
            return Ok(());
        }
        let mut shape = h.shape.clone();
        shape[0] = new_len;
        let mut dim = D::zeros(shape.len());
        dim.slice_mut().copy_from_slice(&shape);
        let (dim, strides, bytes) = dim_and_strides(ndarray::Shape::from(dim), size_of::<T>())?;
        let dict = dict_text(&h.descr, h.fortran_order, &shape);
        let header_room = h.data_offset as usize - if h.version.0 == 1 { 10 } else { 12 };
        if dict.len() + 1 > header_room {
            return Err(npy_err(
                p,
                format!(
                    "the header has room for {} bytes but the new shape needs {}; rewrite the file with numpy to grow it",
                    header_room - 1,
                    dict.len()
                ),
            ));
        }
        let end = layout::checked_end(self.offset, bytes)?;
        // Never lose data: extend the file first (an old header over a longer file is still a
        // valid .npy), then rewrite the header, then remap.
        if file
            .metadata()
            .map_err(|e| Error::io("stat", Some(p), e))?
            .len()
            < end
        {
            file.set_len(end)
                .map_err(|e| Error::io("grow (ftruncate)", Some(p), e))?;
        }
        let mut text = dict.into_bytes();
        text.resize(header_room - 1, b' ');
        text.push(b'\n');
        let at = h.data_offset - header_room as u64;
        file.write_all_at(&text, at)
            .map_err(|e| Error::io("rewrite header", Some(p), e))?;
        self.remap(bytes)?;
        self.dim = dim;
        self.strides = strides;
        Ok(())
    }

    /// Replaces the mapping by one of `bytes` bytes at the same file offset.
    fn remap(&mut self, bytes: usize) -> Result<()> {
        let p = self.path.clone();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Backing::Mutable(m) = &mut self.backing
            && !m.is_empty()
        {
            // SAFETY: `&mut self` means no view of the map lives, so moving it invalidates no
            // reference; the file was extended to cover `bytes` first.
            return unsafe { m.remap(bytes, memmap2::RemapOptions::new().may_move(true)) }
                .map_err(|e| Error::io("mremap", p.as_deref(), e));
        }
        let file = self.file.as_ref().ok_or(Error::Unsupported {
            what: "remap of an anonymous map",
        })?;
        // SAFETY: as above; the caller of the constructor upheld the file contract.
        let m = unsafe {
            memmap2::MmapOptions::new()
                .offset(self.offset)
                .len(bytes)
                .map_mut(file)
        }
        .map_err(|e| Error::io("mmap", p.as_deref(), e))?;
        self.backing = Backing::Mutable(m);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_spellings() {
        for (s, d) in [
            ("f8", "<f8"),
            ("<f4", "<f4"),
            ("i2", "<i2"),
            ("u1", "|u1"),
            ("|i1", "|i1"),
            ("?", "|b1"),
            ("c16", "<c16"),
            (">f8", ">f8"),
            ("float32", "<f4"),
            ("uint16", "<u2"),
            ("int64", "<i8"),
            ("=u4", "<u4"),
        ] {
            assert_eq!(Dtype::parse(s).unwrap().descr(), d, "{s}");
        }
        for bad in [
            "", "f3", "x8", "O", "S10", "<U5", "V16", "M8[ns]", "int7", "f",
        ] {
            assert!(Dtype::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_round_trip_and_alignment() {
        for shape in [vec![], vec![0], vec![3], vec![2, 3, 4]] {
            let dict = dict_text("<f8", false, &shape);
            let h = header_bytes(&dict, 21);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            let text = std::str::from_utf8(&h[10..]).unwrap();
            assert_eq!(parse_dict(text).unwrap(), ("<f8".to_string(), false, shape));
        }
    }

    #[test]
    fn malformed_dicts() {
        for (text, why) in [
            (
                "{'descr': '<f8', 'fortran_order': False}",
                "'shape' is missing",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,-1)}",
                "negative",
            ),
            (
                "{'descr': '<f8', 'fortran_order': Flase, 'shape': (3,)}",
                "unexpected",
            ),
            (
                "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,)}",
                "structured",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
                "overflows",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)",
                "expected",
            ),
        ] {
            let e = parse_dict(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
