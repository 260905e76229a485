//! Opening array files for the command: .npy files describe themselves, raw files take
//! --dtype/--shape/--offset/--order. Residency and page-cache work do not depend on values, so
//! the data is mapped as unsigned integers of the element's size.

use clap::Args;
use ndarray::{ArrayViewD, IxDyn, ShapeBuilder, SliceInfoElem};
use ndmmap::npy::{self, Dtype};
use ndmmap::{MmapArray, MmapOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Which file, and for raw files how to read it.
#[derive(Args, Debug)]
pub struct FileOpts {
    /// The array file: a .npy, or raw binary with --dtype.
    pub file: PathBuf,
    /// Raw files: numpy dtype of the elements (f8, <f4, i2, u1, c16, ...).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Raw files: comma-separated shape (default: 1-D over the elements after the offset).
    #[arg(long, allow_hyphen_values = true)]
    pub shape: Option<String>,
    /// Raw files: byte offset of element 0.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_offset)]
    pub offset: Option<u64>,
    /// Raw files: memory order, C or F.
    #[arg(long)]
    pub order: Option<String>,
}

/// The mapping, by element size. The command never reads values, only pages, so elements are
/// byte arrays (alignment 1): data at any byte offset maps, as numpy's memmap maps it.
pub enum Inner {
    B1(MmapArray<u8, IxDyn>),
    B2(MmapArray<[u8; 2], IxDyn>),
    B4(MmapArray<[u8; 4], IxDyn>),
    B8(MmapArray<[u8; 8], IxDyn>),
    B16(MmapArray<[u8; 16], IxDyn>),
    B32(MmapArray<[u8; 32], IxDyn>),
}

/// An opened array file of any dtype.
pub struct AnyArray {
    pub inner: Inner,
    pub descr: String,
    pub data_offset: u64,
    pub fortran: bool,
}

/// Runs an expression on the typed mapping inside an [`AnyArray`].
macro_rules! with {
    ($a:expr, $m:ident => $e:expr) => {
        match &$a.inner {
            $crate::open::Inner::B1($m) => $e,
            $crate::open::Inner::B2($m) => $e,
            $crate::open::Inner::B4($m) => $e,
            $crate::open::Inner::B8($m) => $e,
            $crate::open::Inner::B16($m) => $e,
            $crate::open::Inner::B32($m) => $e,
        }
    };
}
pub(crate) use with;

impl AnyArray {
    pub fn shape(&self) -> Vec<usize> {
        with!(self, m => m.shape().to_vec())
    }

    pub fn order_str(&self) -> &'static str {
        if self.fortran { "F" } else { "C" }
    }

    /// The parsed --slice, or the whole array.
    pub fn slice_elems(&self, spec: Option<&str>) -> Res<Vec<SliceInfoElem>> {
        match spec {
            Some(s) => Ok(crate::slice::parse(s, &self.shape())?),
            None => Ok(vec![]),
        }
    }
}

/// The most axes numpy gives an array (`NPY_MAXDIMS` of numpy 2).
pub const MAX_DIMS: usize = 64;

/// A shape as numpy writes a tuple: `3,4`, `(3, 4)`, `3,` or `(3,)` for one axis, `''` or
/// `()` for none (a scalar). Empty, negative and non-integer dimensions are refused, and so is
/// a dimension past `isize::MAX` (numpy's `intp`).
pub fn parse_shape(s: &str) -> Res<Vec<usize>> {
    let t = s.trim();
    let body = t
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .unwrap_or(t)
        .trim();
    if body.contains(['(', ')']) {
        return Err(format!("shape {s:?}: unbalanced parentheses").into());
    }
    if body.is_empty() {
        return Ok(vec![]);
    }
    // One trailing comma after a dimension, as in numpy's `(3,)`.
    let body = match body.strip_suffix(',') {
        Some(b) if !b.trim().is_empty() => b,
        _ => body,
    };
    let dims = body
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(k, p)| dimension(p).map_err(|e| format!("shape {s:?}: dimension {}: {e}", k + 1)))
        .collect::<Result<Vec<usize>, String>>()?;
    if dims.len() > MAX_DIMS {
        return Err(format!(
            "shape {s:?} has {} dimensions; numpy arrays have at most {MAX_DIMS}",
            dims.len()
        )
        .into());
    }
    Ok(dims)
}

fn dimension(p: &str) -> Result<usize, String> {
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if p.is_empty() {
        return Err("empty (write each dimension between commas)".into());
    }
    if p.strip_prefix('-').is_some_and(digits) {
        return Err(format!("{p} is negative; a dimension counts elements"));
    }
    if !digits(p.strip_prefix('+').unwrap_or(p)) {
        return Err(format!("{p:?} is not a non-negative integer"));
    }
    match p.parse::<u64>() {
        Ok(d) if d <= isize::MAX as u64 => Ok(d as usize),
        _ => Err(format!(
            "{p} is larger than numpy's largest dimension, {}",
            isize::MAX
        )),
    }
}

/// numpy's size rule: the product of the non-zero dimensions times the element size is at
/// most `isize::MAX` bytes, even when another dimension is 0 (an empty array numpy could not
/// have made is refused, not written or mapped).
pub fn check_size(shape: &[usize], elem_size: usize) -> Res<()> {
    let bytes = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(elem_size, |acc, &d| acc.checked_mul(d));
    match bytes {
        Some(b) if b <= isize::MAX as usize => Ok(()),
        _ => Err(format!(
            "shape {shape:?} of {elem_size}-byte elements is too big: more than isize::MAX bytes"
        )
        .into()),
    }
}

/// `--offset`: a byte count, refused (not wrapped or clamped) when negative or past `u64`.
fn parse_offset(s: &str) -> Result<u64, String> {
    let t = s.trim();
    match t.parse::<u64>() {
        Ok(v) => Ok(v),
        Err(_)
            if t.strip_prefix('-')
                .is_some_and(|d| d.parse::<u64>().is_ok()) =>
        {
            Err("a byte offset cannot be negative".into())
        }
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("larger than the largest file offset, {}", u64::MAX))
        }
        Err(_) => Err("not a whole number of bytes".into()),
    }
}

pub fn parse_order(s: &str) -> Res<bool> {
    match s {
        "C" | "c" => Ok(false),
        "F" | "f" => Ok(true),
        _ => Err(format!("order {s:?}: use C or F").into()),
    }
}

/// Judged by the name only: reading the file to sniff it would load its first pages into the
/// page cache that the command is about to measure.
fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Opens a file read-only as described by `o`.
pub fn open(o: &FileOpts) -> Res<AnyArray> {
    let path = &o.file;
    let meta = std::fs::metadata(path).map_err(|e| ndmmap::Error::Io {
        what: "open",
        path: Some(path.clone()),
        source: e,
    })?;
    if meta.is_dir() {
        return Err(ndmmap::Error::IsDirectory {
            path: Some(path.clone()),
        }
        .into());
    }
    // With --dtype the file is raw; without, it must describe itself.
    let (descr, shape, offset, fortran) = if o.dtype.is_none() || is_npy(path) {
        if o.dtype.is_some() || o.shape.is_some() || o.offset.is_some() || o.order.is_some() {
            return Err(format!("{}: --dtype, --shape, --offset and --order are for raw files; a .npy file describes itself", path.display()).into());
        }
        let h = npy::read_header(path).map_err(|e| -> Box<dyn std::error::Error> {
            if o.dtype.is_none() && !is_npy(path) {
                format!("{e}; for a raw file give --dtype (and --shape, --offset)").into()
            } else {
                e.into()
            }
        })?;
        (
            h.dtype.descr(),
            Some(h.shape),
            h.data_offset,
            h.fortran_order,
        )
    } else {
        let dtype = Dtype::parse(o.dtype.as_deref().unwrap_or_default())?;
        let shape = o.shape.as_deref().map(parse_shape).transpose()?;
        if let Some(s) = &shape {
            check_size(s, dtype.size)?;
        }
        (
            dtype.descr(),
            shape,
            o.offset.unwrap_or(0),
            o.order
                .as_deref()
                .map(parse_order)
                .transpose()?
                .unwrap_or(false),
        )
    };
    let size = Dtype::parse(&descr)?.size;
    let mut opts = MmapOptions::new();
    opts.offset(offset);
    macro_rules! map {
        ($t:ty, $v:ident) => {{
            // SAFETY: the command only reads the mapping's pages' state and values while it
            // runs; a concurrent truncation by another process is the one hazard, as for vmtouch.
            let m: MmapArray<$t, IxDyn> = unsafe {
                match &shape {
                    Some(s) => opts.map_path(path, IxDyn(s).set_f(fortran))?,
                    None => opts.map_path_1d::<$t>(path)?.into_dyn(),
                }
            };
            Inner::$v(m)
        }};
    }
    let inner = match size {
        1 => map!(u8, B1),
        2 => map!([u8; 2], B2),
        4 => map!([u8; 4], B4),
        8 => map!([u8; 8], B8),
        16 => map!([u8; 16], B16),
        32 => map!([u8; 32], B32),
        n => return Err(format!("dtype {descr}: {n}-byte elements are not supported").into()),
    };
    Ok(AnyArray {
        inner,
        descr,
        data_offset: offset,
        fortran,
    })
}

/// Creates a zero-filled .npy file.
pub fn create(path: &Path, dtype: &str, shape: &[usize], fortran: bool) -> Res<()> {
    if path.exists() {
        return Err(format!(
            "{} already exists; the command does not overwrite files (remove it first)",
            path.display()
        )
        .into());
    }
    let d = Dtype::parse(dtype)?;
    check_size(shape, d.size)?;
    if !d.little_endian && d.size > 1 {
        return Err(format!(
            "dtype {dtype}: ndmmap creates native little-endian files; use {}",
            Dtype {
                little_endian: true,
                ..d
            }
            .descr()
        )
        .into());
    }
    let sh = IxDyn(shape).set_f(fortran);
    // SAFETY: the file is created here and dropped at once.
    let made = unsafe {
        match (d.kind, d.size) {
            ('u', 1) => npy::create::<u8, IxDyn, _>(path, sh).map(drop),
            ('u', 2) => npy::create::<u16, IxDyn, _>(path, sh).map(drop),
            ('u', 4) => npy::create::<u32, IxDyn, _>(path, sh).map(drop),
            ('u', 8) => npy::create::<u64, IxDyn, _>(path, sh).map(drop),
            ('i', 1) => npy::create::<i8, IxDyn, _>(path, sh).map(drop),
            ('i', 2) => npy::create::<i16, IxDyn, _>(path, sh).map(drop),
            ('i', 4) => npy::create::<i32, IxDyn, _>(path, sh).map(drop),
            ('i', 8) => npy::create::<i64, IxDyn, _>(path, sh).map(drop),
            ('f', 4) => npy::create::<f32, IxDyn, _>(path, sh).map(drop),
            ('f', 8) => npy::create::<f64, IxDyn, _>(path, sh).map(drop),
            ('c', 8) => npy::create::<num_complex::Complex<f32>, IxDyn, _>(path, sh).map(drop),
            ('c', 16) => npy::create::<num_complex::Complex<f64>, IxDyn, _>(path, sh).map(drop),
            _ => return Err(format!("dtype {dtype}: no Rust element type for it (bool, float16 and float128 are not supported)").into()),
        }
    };
    if made.is_err() {
        // The path did not exist above: what a failed create left there (a header whose data
        // could not be allocated, e.g. EFBIG) is ours to remove, so that a retry is not refused.
        let _ = std::fs::remove_file(path);
    }
    Ok(made?)
}

/// Splits a slice into up to `max` consecutive blocks along its first axis sliced with a
/// positive step, so that long operations can report progress. `elems` comes from
/// [`crate::slice::parse`]: its slices have a non-negative start and an end just past their
/// last element, so every bound computed here lies inside that range and cannot overflow.
pub fn blocks(a: &AnyArray, elems: &[SliceInfoElem], max: usize) -> Vec<Vec<SliceInfoElem>> {
    let shape = a.shape();
    let mut full: Vec<SliceInfoElem> = elems.to_vec();
    while full.len() < shape.len() {
        full.push(SliceInfoElem::from(..));
    }
    let Some((axis, start, end, step)) = full.iter().enumerate().find_map(|(k, e)| match *e {
        SliceInfoElem::Slice { start, end, step } if step > 0 && start >= 0 => {
            let end = end.unwrap_or(shape[k] as isize);
            (end >= start).then_some((k, start as usize, end as usize, step as usize))
        }
        _ => None,
    }) else {
        return vec![full];
    };
    let count = (end - start).div_ceil(step);
    let per = count.div_ceil(max.max(1)).max(1);
    (0..count)
        .step_by(per)
        .map(|i| {
            let last = (i + per).min(count) - 1;
            let mut b = full.clone();
            b[axis] = SliceInfoElem::Slice {
                start: (start + i * step) as isize,
                end: Some((start + last * step + 1) as isize),
                step: step as isize,
            };
            b
        })
        .collect()
}

/// Reads every element of a view, so every page it touches is faulted in.
pub fn read_all<T: Copy>(v: &ArrayViewD<'_, T>) {
    v.iter().for_each(|x| {
        std::hint::black_box(*x);
    });
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Catches SIGINT and SIGTERM from now on, for [`wait_for_signal`].
pub fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Blocks until SIGINT or SIGTERM (after [`catch_signals`]).
pub fn wait_for_signal() {
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
