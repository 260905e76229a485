//! Opening array files for the command: .npy files describe themselves, raw files take
//! --dtype/--shape/--offset/--order. The numbers the user writes are read here, refused (never
//! wrapped or clamped) when out of range.

use crate::any_array::{AnyArray, Inner};
use crate::out::{self, Res};
use clap::Args;
use ndarray::{IxDyn, ShapeBuilder};
use ndmmap::npy::{self, Dtype};
use ndmmap::{MmapArray, MmapOptions};
use std::path::{Path, PathBuf};

/// Which files, and for raw files how to read them.
#[derive(Args, Debug)]
pub struct FileOpts {
    /// The array files: .npy, raw binary with --dtype (the raw options apply to each), or a
    /// member of an archive: FILE.npz:NAME, FILE.safetensors:NAME.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
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

/// A file that holds named arrays: addressed as `FILE:NAME`, listed by `info FILE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Npz,
    Safetensors,
}

impl Container {
    /// By the name only, as for `.npy` (sniffing would load pages the command measures).
    pub fn of(path: &Path) -> Option<Container> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npz" => Some(Container::Npz),
            "safetensors" => Some(Container::Safetensors),
            _ => None,
        }
    }
}

/// `FILE.npz:NAME` or `FILE.safetensors:NAME`: the archive and the member's name, when the
/// argument is not itself an existing file and a part of it ending in `.npz` or
/// `.safetensors` before a `:` is one (the longest such part: archive names may contain
/// `.npz:` too, and member names `:`).
pub fn split_member(arg: &Path) -> Option<(PathBuf, String)> {
    if arg.exists() {
        return None;
    }
    let s = arg.to_str()?;
    let lower = s.to_ascii_lowercase();
    [".npz:", ".safetensors:"]
        .iter()
        .flat_map(|tag| {
            lower
                .match_indices(tag)
                .map(move |(i, _)| i + tag.len() - 1)
        })
        .filter(|&colon| Path::new(&s[..colon]).is_file())
        .max()
        .map(|colon| (PathBuf::from(&s[..colon]), s[colon + 1..].to_string()))
}

/// Where a member of an archive lies: its dtype's descriptor, element size, shape, data offset
/// and order.
struct Layout {
    descr: String,
    size: usize,
    shape: Vec<usize>,
    offset: u64,
    fortran: bool,
}

fn member_layout(file: &Path, name: &str) -> Res<Layout> {
    match Container::of(file) {
        Some(Container::Npz) => {
            let npz = ndmmap::npz::Npz::open(file)?;
            let Some(m) = npz.member(name) else {
                return Err(ndmmap::Error::NoSuchMember {
                    path: Some(file.to_path_buf()),
                    name: name.to_string(),
                    available: npz
                        .members()
                        .iter()
                        .take(8)
                        .map(|m| m.name.clone())
                        .collect(),
                }
                .into());
            };
            if m.compressed {
                return Err(ndmmap::Error::Compressed {
                    path: Some(file.to_path_buf()),
                    name: name.to_string(),
                    method: m.method.clone(),
                }
                .into());
            }
            if let Some(p) = &m.problem {
                return Err(format!("{}:{name}: {p}", file.display()).into());
            }
            let descr = m.descr.clone().unwrap_or_default();
            let size = Dtype::parse(&descr)?.size;
            Ok(Layout {
                descr,
                size,
                shape: m.shape.clone().unwrap_or_default(),
                offset: m.data_offset,
                fortran: m.fortran_order,
            })
        }
        Some(Container::Safetensors) => {
            let t = ndmmap::safetensors::Tensors::open(file)?;
            let x = t.tensor(name)?;
            let bits = x.dtype.bitsize();
            if bits % 8 != 0 {
                return Err(format!(
                    "{}:{name}: dtype {:?} packs {bits}-bit elements, which cannot be mapped \
                     one element at a time",
                    file.display(),
                    x.dtype
                )
                .into());
            }
            Ok(Layout {
                descr: numpy_descr(x.dtype).map_or_else(|| format!("{:?}", x.dtype), String::from),
                size: bits / 8,
                shape: x.shape.clone(),
                offset: x.offset,
                fortran: false,
            })
        }
        None => Err(format!(
            "{}: only .npz and .safetensors files have members",
            file.display()
        )
        .into()),
    }
}

/// numpy's descriptor of a safetensors dtype (data is little-endian), where numpy has one:
/// `bfloat16` and the 8-bit floats have none, and keep safetensors' name.
pub fn numpy_descr(d: ndmmap::safetensors::Dtype) -> Option<&'static str> {
    use ndmmap::safetensors::Dtype as S;
    Some(match d {
        S::BOOL => "|b1",
        S::U8 => "|u1",
        S::I8 => "|i1",
        S::U16 => "<u2",
        S::I16 => "<i2",
        S::F16 => "<f2",
        S::U32 => "<u4",
        S::I32 => "<i4",
        S::F32 => "<f4",
        S::U64 => "<u8",
        S::I64 => "<i8",
        S::F64 => "<f8",
        _ => return None,
    })
}

/// Opens `path` read-only as described by `o`: a `.npy` file, a raw file with `--dtype`, or a
/// member of an archive (`FILE.npz:NAME`, `FILE.safetensors:NAME`).
pub fn open(path: &Path, o: &FileOpts) -> Res<AnyArray> {
    let raw_opts =
        o.dtype.is_some() || o.shape.is_some() || o.offset.is_some() || o.order.is_some();
    if let Some((file, name)) = split_member(path) {
        if raw_opts {
            return Err(format!("{}: --dtype, --shape, --offset and --order are for raw files; an archive's member describes itself", path.display()).into());
        }
        let l = member_layout(&file, &name)?;
        // The library's errors name the archive; say which member too.
        return map(
            &file,
            path,
            l.descr,
            l.size,
            Some(l.shape),
            l.offset,
            l.fortran,
        )
        .map_err(|e| format!("{}: {e}", out::one_line(&path.display().to_string(), 200)).into());
    }
    if let Some(c) = Container::of(path).filter(|_| !raw_opts) {
        let names = member_names(path, c)?;
        return Err(format!(
            "{} holds named arrays: address one as {}:NAME ({}), or list them with ndmmap info",
            path.display(),
            path.display(),
            if names.is_empty() {
                "it has none".to_string()
            } else {
                format!("it has {}", names.join(", "))
            }
        )
        .into());
    }
    let meta = std::fs::metadata(path).map_err(|e| ndmmap::Error::Io {
        what: "open",
        path: Some(path.to_path_buf()),
        source: e,
    })?;
    if meta.is_dir() {
        return Err(ndmmap::Error::IsDirectory {
            path: Some(path.to_path_buf()),
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
    map(path, path, descr, size, shape, offset, fortran)
}

/// The first few member names of an archive, for messages.
fn member_names(path: &Path, c: Container) -> Res<Vec<String>> {
    let mut names: Vec<String> = match c {
        Container::Npz => ndmmap::npz::Npz::open(path)?
            .members()
            .iter()
            .map(|m| m.name.clone())
            .collect(),
        Container::Safetensors => ndmmap::safetensors::Tensors::open(path)?
            .tensors()
            .iter()
            .map(|t| t.name.clone())
            .collect(),
    };
    if names.len() > 8 {
        let more = names.len() - 8;
        names.truncate(8);
        names.push(format!("and {more} more"));
    }
    Ok(names)
}

/// Maps `shape` elements of `size` bytes at `offset` of `file`, shown as `shown`.
fn map(
    file: &Path,
    shown: &Path,
    descr: String,
    size: usize,
    shape: Option<Vec<usize>>,
    offset: u64,
    fortran: bool,
) -> Res<AnyArray> {
    let path = file;
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
        path: shown.to_path_buf(),
        descr,
        data_offset: offset,
        fortran,
    })
}

/// Runs `f` on the selected pages of each file in turn (`--slice` of each, or all of it),
/// reporting a file's failure on its own line and going on (see [`out::each`]).
pub fn each_selection(
    o: &FileOpts,
    spec: Option<&str>,
    mut f: impl FnMut(&mut out::Batch, &Path, &AnyArray, &ndmmap::Pages<'_>) -> out::Res<()>,
) -> out::Res<()> {
    let (_, batch) = out::each(&o.files, |b, path| {
        let a = open(path, o)?;
        let elems = a.slice_elems(spec)?;
        let pages = a.pages(&elems)?;
        f(b, path, &a, &pages)
    })?;
    batch.finish()
}
