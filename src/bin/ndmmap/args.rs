//! The command's arguments about files: which files, and for raw files their dtype, shape,
//! offset and order. The numbers the user writes are read here, refused (never wrapped or
//! clamped) when out of range.

use crate::out::Res;
use clap::Args;
use std::path::PathBuf;

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
    /// .npz archives: check each member's CRC-32 against its data (inflated where compressed)
    /// before using it; a member that fails is an error naming both checksums.
    #[arg(long)]
    pub verify: bool,
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
