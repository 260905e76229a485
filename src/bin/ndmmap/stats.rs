//! `ndmmap stats`: count, mean, standard deviation (numpy's `ddof=0`), min and max along an
//! axis, out of core, in one streaming pass.
//!
//! The array is read a window of rows at a time along its outermost axis in memory (axis 0 of
//! a C-order array, the last axis of a Fortran-order one), whichever axis is reduced: each
//! window is reduced along `--axis` within itself, and what it adds is combined with what came
//! before. A C-order pass over the whole of axis 0 comes from the library's
//! [`Stream`](ndmmap::stream::Stream) (the next window read ahead on another thread, passed
//! ones dropped from the process, so the resident set stays bounded); a Fortran-order array or
//! a `--slice` that keeps part of that axis, which the stream does not walk, is read in
//! windows mapped one at a time ([`windows`]).
//!
//! Numerics: values are reduced in blocks small enough to stay in cache (a block of rows, or
//! up to [`LANE_BLOCK`] values of one lane). Each block is summed, and its deviations from its
//! center (its plain mean) are summed and squared in a second pass over the cached block
//! (numpy's own two-pass method, corrected by the deviations' sum); blocks and windows are
//! merged with Chan's pairwise update of count, mean and M2 (the sum of squared deviations),
//! the means kept less a shift per result (see [`Cells`]), which is stable at any length. The
//! mean reported is numpy's sum / count, the sum taken in blocks. Integers are summed exactly
//! (`i128`) and their min and max kept exactly; means and deviations are `f64`. float32 is
//! reduced in float64 (numpy's `dtype=np.float64`). NaN propagates as in numpy (`np.mean`,
//! `np.min`, ...). Against numpy on the fixtures of tests/stats.rs: within 2e-14 relative.
//!
//! Under `mpirun` with `--mpi` ([`Ranks`]), each rank streams its own contiguous share of the
//! selection's indices along the streamed axis (balanced to within one, as
//! `ndmmap::slab::rows` shares rows; a Fortran-order array is shared along its last axis, which
//! is contiguous in the file) into the same per-result count, sum, shift, mean, M2, min and
//! max. Rank 0 gathers every rank's cells and merges them in rank order with the same Chan
//! update (`Cells::merge_bytes`): the output is the single-process one, byte for byte in text
//! and to the last bits or so in value.

use crate::any_array::{AnyArray, Inner};
use crate::chart;
use crate::open::{self, FileOpts};
use crate::out::{self, Res};
use crate::ranks::{self, Ranks};
use crate::slice;
use ndarray::ShapeBuilder;
use ndarray::{ArrayView, Axis, Ix1, Ix2, IxDyn, Slice, SliceInfoElem};
use ndmmap::npy::Dtype;
use ndmmap::{MmapArray, MmapOptions, Pod};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

/// Bytes per streamed window (64 MiB).
pub const WINDOW: usize = 64 << 20;

/// Bytes of elements in a block of rows: small enough that the block is still in cache for
/// its second pass.
const BLOCK_BYTES: usize = 256 << 10;

/// Rows per block at least, even when they overflow the cache: a block merges into every
/// result once, which costs more than a second read of its rows from memory.
const BLOCK_ROWS: usize = 16;

/// Values per block of a lane (a reduction along the innermost axis in memory).
const LANE_BLOCK: usize = 4096;

/// Lanes at least this long are reduced lane by lane; shorter ones row by row.
const LANE_MIN: usize = 64;

/// Results shown at each end of the text table when there are many.
const FEW: usize = 5;

/// `ndmmap stats`, in one process, or spread over `ranks` (`--mpi`): then every rank reduces
/// its share and rank 0 alone prints, what one process would.
pub fn run(
    o: &FileOpts,
    axis: i64,
    spec: Option<&str>,
    as_json: bool,
    window: usize,
    ranks: Option<&dyn Ranks>,
) -> Res<()> {
    let root = ranks.is_none_or(|r| r.rank() == 0);
    let (values, batch) = out::each(&o.files, |b, path| {
        let (a, s) = match ranks {
            None => {
                let a = open::open(path, o)?;
                let s = summarize(&a, axis, spec, window, true)?;
                (a, s)
            }
            Some(r) => {
                let local = open::open(path, o).and_then(|a| {
                    let s = summarize_share(&a, axis, spec, window, r.rank() == 0, Some(r))?;
                    Ok((a, s))
                });
                // Every rank fails together, or every rank goes on to the gather.
                let (a, mut s) = ranks::agree(r, local, |(a, s)| s.key(a))?;
                let Some(parts) = r.gather(&s.cells.to_bytes()) else {
                    return Ok(Value::Null);
                };
                for p in &parts[1..] {
                    s.cells.merge_bytes(p)?;
                }
                (a, s.finish())
            }
        };
        if as_json {
            return Ok(s.json(&a, spec));
        }
        b.gap()?;
        out::print(&s.text(path, &a, spec))?;
        Ok(Value::Null)
    })?;
    if as_json && root {
        out::json(values, batch.several)?;
    }
    batch.finish()
}

/// A min or max, in the dtype's own terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
    Bool(bool),
}

impl Num {
    fn json(self) -> Value {
        match self {
            // Every integer dtype's value fits an i64 or a u64.
            Num::Int(x) => i64::try_from(x)
                .map(Value::from)
                .or_else(|_| u64::try_from(x).map(Value::from))
                .unwrap_or(Value::Null),
            Num::Float(x) => json!(x),
            Num::Bool(x) => json!(x),
        }
    }

    pub fn text(self) -> String {
        match self {
            Num::Int(x) => x.to_string(),
            Num::Float(x) => g6(x),
            Num::Bool(x) => if x { "True" } else { "False" }.to_string(),
        }
    }
}

/// Mean, standard deviation, min and max per result.
type Results = (Vec<f64>, Vec<f64>, Vec<Option<Num>>, Vec<Option<Num>>);

/// What `stats` found: one value per element of the result (the selection's shape without the
/// reduced axis), in C order.
#[derive(Debug)]
pub struct Summary {
    /// The reduced axis, of the selection (a negative `--axis` resolved).
    pub axis: usize,
    /// The shape of the result.
    pub shape: Vec<usize>,
    /// Values reduced into each result: the selection's length along the axis.
    pub count: usize,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// `None` where there was nothing to reduce (`count` 0).
    pub min: Vec<Option<Num>>,
    pub max: Vec<Option<Num>>,
    /// Bytes streamed, and how long the pass took.
    pub bytes: u64,
    pub elapsed: std::time::Duration,
}

impl Summary {
    fn json(&self, a: &AnyArray, spec: Option<&str>) -> Value {
        let nums = |v: &[Option<Num>]| -> Value {
            v.iter().map(|x| x.map_or(Value::Null, Num::json)).collect()
        };
        // NaN (and infinity, which JSON lacks too) become null.
        let floats = |v: &[f64]| -> Value { v.iter().map(|&x| json!(x)).collect() };
        json!({
            "path": a.path.display().to_string(),
            "dtype": a.descr,
            "slice": spec,
            "axis": self.axis,
            "shape": self.shape,
            "count": self.count,
            "mean": floats(&self.mean),
            "min": nums(&self.min),
            "max": nums(&self.max),
            "std": floats(&self.std),
        })
    }

    fn text(&self, path: &Path, a: &AnyArray, spec: Option<&str>) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "{}  {} {:?}  axis {}{}  count {}  result {:?}",
            out::one_line(&path.display().to_string(), 300),
            a.descr,
            a.shape(),
            self.axis,
            spec.map(|s| format!("  slice [{s}]")).unwrap_or_default(),
            self.count,
            self.shape
        );
        let n = self.mean.len();
        if n == 0 {
            let _ = writeln!(t, "no results: the result is empty");
            return t;
        }
        let label = |i: usize| -> String {
            match self.shape.len() {
                0 => "all".into(),
                1 => i.to_string(),
                _ => {
                    let mut idx = vec![0; self.shape.len()];
                    let mut r = i;
                    for (d, &len) in idx.iter_mut().zip(&self.shape).rev() {
                        *d = r % len;
                        r /= len;
                    }
                    let parts: Vec<String> = idx.iter().map(usize::to_string).collect();
                    format!("({})", parts.join(", "))
                }
            }
        };
        let shown: Vec<Option<usize>> = if n > 2 * FEW + 2 {
            (0..FEW)
                .map(Some)
                .chain([None])
                .chain((n - FEW..n).map(Some))
                .collect()
        } else {
            (0..n).map(Some).collect()
        };
        let head = match self.shape.len() {
            0 => "",
            1 => "column",
            _ => "index",
        };
        let none = || "-".to_string();
        let mut rows = vec![[
            head.to_string(),
            "mean".into(),
            "std".into(),
            "min".into(),
            "max".into(),
        ]];
        for i in &shown {
            rows.push(match *i {
                Some(i) => [
                    label(i),
                    g6(self.mean[i]),
                    g6(self.std[i]),
                    self.min[i].map_or_else(none, Num::text),
                    self.max[i].map_or_else(none, Num::text),
                ],
                None => ["...".into(), "".into(), "".into(), "".into(), "".into()],
            });
        }
        let mut width = [0usize; 5];
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(width)
                // Padded by hand: `format!`'s width stops at 65535 (a label can be longer).
                .map(|(c, w)| " ".repeat(w.saturating_sub(c.chars().count())) + c)
                .collect();
            let _ = writeln!(t, "{}", line.join("  ").trim_end());
        }
        if shown.len() < n {
            let _ = writeln!(
                t,
                "({n} results; the first and last {FEW} shown, all of them with --json)"
            );
        }
        t
    }
}

/// Reduces the array `a` (or its `--slice`) along `axis` in one streaming pass of windows of
/// about `window` bytes, with a progress bar on a terminal if `progress`.
pub fn summarize(
    a: &AnyArray,
    axis: i64,
    spec: Option<&str>,
    window: usize,
    progress: bool,
) -> Res<Summary> {
    Ok(summarize_share(a, axis, spec, window, progress, None)?.finish())
}

/// One rank's share of a summary before it is finished: the cells of its part of the
/// streamed axis (all of it without `ranks`).
pub struct Share {
    cells: Box<dyn Partial>,
    axis: usize,
    shape: Vec<usize>,
    count: usize,
    bytes: u64,
    started: std::time::Instant,
}

impl Share {
    /// What every rank must agree on before their parts are merged: the dtype, shape and
    /// order of the array and the shape of the result.
    fn key(&self, a: &AnyArray) -> u64 {
        use std::hash::{Hash, Hasher};
        // SipHash with fixed keys: the same in every process.
        let mut h = std::hash::DefaultHasher::new();
        (
            &a.descr,
            a.shape(),
            a.fortran,
            self.axis,
            &self.shape,
            self.count,
        )
            .hash(&mut h);
        h.finish()
    }

    fn finish(self) -> Summary {
        let (mean, std, min, max) = self.cells.finish();
        Summary {
            axis: self.axis,
            shape: self.shape,
            count: self.count,
            mean,
            std,
            min,
            max,
            bytes: self.bytes,
            elapsed: self.started.elapsed(),
        }
    }
}

/// [`summarize`] of this rank's share of the streamed axis (the whole of it without `ranks`).
fn summarize_share(
    a: &AnyArray,
    axis: i64,
    spec: Option<&str>,
    window: usize,
    progress: bool,
    ranks: Option<&dyn Ranks>,
) -> Res<Share> {
    // A safetensors dtype numpy lacks (BF16, the 8-bit floats) keeps safetensors' name.
    let dtype = Dtype::parse(&a.descr).map_err(|_| {
        format!(
            "{}: stats reduces numpy's dtypes, and {} has none (info, residency, touch, evict \
             and lock work on it)",
            out::one_line(&a.path.display().to_string(), 200),
            a.descr
        )
    })?;
    refuse(a, &dtype)?;
    let plan = Plan::new(a, spec, axis, dtype.size)?;
    let part = match ranks {
        None => plan.rows.clone(),
        Some(r) => {
            let mine = r.rows(plan.rows.len());
            plan.rows.start + mine.start..plan.rows.start + mine.end
        }
    };
    let bytes = (part.len() as u64).saturating_mul(plan.row_bytes as u64);
    let bar = if progress {
        chart::progress(bytes, format!("stats {}", a.path.display()))
    } else {
        None
    };
    let started = std::time::Instant::now();
    let r = reduce_any(a, &dtype, &plan, part, window.max(1), bar.as_ref());
    if let Some(p) = bar {
        p.finish_and_clear();
    }
    Ok(Share {
        cells: r?,
        axis: plan.k,
        shape: plan.out_shape,
        count: plan.count,
        bytes,
        started,
    })
}

/// The dtypes `stats` does not reduce, each with the reason and what to do instead.
fn refuse(a: &AnyArray, d: &Dtype) -> Res<()> {
    let why = match (d.kind, d.size) {
        ('c', _) => {
            "complex numbers have no order for min and max; reduce a.real, a.imag or abs(a) \
             (saved from numpy) instead"
        }
        ('f', 2) => {
            "float16 is not read by stats (it would need the `half` crate); save \
             a.astype('f4') from numpy instead"
        }
        ('f', 16) => {
            "long double (x87 extended precision) has no Rust type; save a.astype('f8') from \
             numpy instead"
        }
        ('b' | 'i' | 'u', 1 | 2 | 4 | 8) | ('f', 4 | 8) => return Ok(()),
        _ => "it is not a numeric dtype stats knows",
    };
    Err(format!(
        "{}: stats cannot reduce dtype {}: {why}",
        a.path.display(),
        a.descr
    )
    .into())
}

/// Where the selection lies in the array, and how its windows become parts of the result.
#[derive(Debug)]
struct Plan {
    /// The selection: one element per axis of the array.
    elems: Vec<SliceInfoElem>,
    /// The streamed axis of the array: the outermost in memory.
    s: usize,
    /// The indices along `s` that the selection spans.
    rows: Range<usize>,
    /// The axis of the selection that `s` becomes, `None` if an index removes it.
    a0: Option<usize>,
    /// The reduced axis, of the selection.
    k: usize,
    /// The selection's length along `k`.
    count: usize,
    /// The result's shape (the selection's without `k`).
    out_shape: Vec<usize>,
    /// Bytes of one index along `s` (all other axes whole).
    row_bytes: usize,
    fortran: bool,
}

impl Plan {
    fn new(a: &AnyArray, spec: Option<&str>, axis: i64, elem_size: usize) -> Res<Plan> {
        let shape = a.shape();
        let nd = shape.len();
        if nd == 0 {
            return Err(format!(
                "{} is 0-dimensional (a scalar); stats reduce along an axis and it has none",
                a.path.display()
            )
            .into());
        }
        let mut elems = a.slice_elems(spec)?;
        elems.resize(nd, SliceInfoElem::from(..));
        let (sel_shape, _) = a.selection_layout(&elems);
        let sel_nd = sel_shape.len();
        if sel_nd == 0 {
            let spec = spec.unwrap_or_default();
            let hint = slice::keep_first_axis(spec, &shape)
                .map(|h| format!(": use {h}"))
                .unwrap_or_default();
            return Err(format!(
                "{}: the slice {spec} selects a single element (a scalar); stats need at least \
                 one axis to reduce{hint}",
                a.path.display()
            )
            .into());
        }
        let of = if spec.is_some() {
            "result of the slice"
        } else {
            "array"
        };
        let k = match if axis < 0 {
            axis.checked_add(sel_nd as i64)
        } else {
            Some(axis)
        } {
            Some(k) if (0..sel_nd as i64).contains(&k) => k as usize,
            _ => {
                return Err(format!(
                    "{}: axis {axis} is out of bounds for the {sel_nd}-dimensional {of}",
                    a.path.display()
                )
                .into());
            }
        };
        let s = if a.fortran { nd - 1 } else { 0 };
        let n = shape[s];
        let (rows, a0) = match elems[s] {
            SliceInfoElem::Index(i) => (i as usize..i as usize + 1, None),
            SliceInfoElem::Slice { start, end, .. } => {
                let kept = elems[..s]
                    .iter()
                    .filter(|e| !matches!(e, SliceInfoElem::Index(_)))
                    .count();
                (start as usize..end.map_or(n, |e| e as usize), Some(kept))
            }
            SliceInfoElem::NewAxis => return Err("a new axis in a slice is not supported".into()),
        };
        let row_bytes = shape
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != s)
            .map(|(_, &d)| d)
            .product::<usize>()
            * elem_size;
        let mut out_shape = sel_shape.clone();
        out_shape.remove(k);
        Ok(Plan {
            elems,
            s,
            rows,
            a0,
            k,
            count: sel_shape[k],
            out_shape,
            row_bytes,
            fortran: a.fortran && nd > 1,
        })
    }

    /// The selection within the window of indices `c0..c1` along `s`, with the index along
    /// the selection's axis `a0` of its first element; `None` if the window holds none of it.
    fn local(&self, c0: usize, c1: usize) -> Option<(Vec<SliceInfoElem>, usize)> {
        let mut e = self.elems.clone();
        match self.elems[self.s] {
            SliceInfoElem::Index(i) => {
                let i = i as usize;
                if !(c0..c1).contains(&i) {
                    return None;
                }
                e[self.s] = SliceInfoElem::Index((i - c0) as isize);
                Some((e, 0))
            }
            SliceInfoElem::Slice { start, end, step } => {
                let (start, end) = (start as usize, end.map_or(usize::MAX, |x| x as usize));
                let (lo, hi) = (c0.max(start), c1.min(end));
                if lo >= hi {
                    return None;
                }
                let st = step.unsigned_abs();
                let (first, last, j0) = if step > 0 {
                    // Selected: start + j * st, below end.
                    let j0 = (lo - start).div_ceil(st);
                    let first = start + j0 * st;
                    if first >= hi {
                        return None;
                    }
                    (first, start + (hi - 1 - start) / st * st, j0)
                } else {
                    // Selected: top - j * st, from the top down to start (ndarray walks a
                    // negative step from the end of its range).
                    let top = end.min(self.rows.end) - 1;
                    let j0 = top.saturating_sub(hi - 1).div_ceil(st);
                    if j0 * st > top || top - j0 * st < lo {
                        return None;
                    }
                    let high = top - j0 * st;
                    let low = top - (top - lo) / st * st;
                    (low, high, j0)
                };
                e[self.s] = SliceInfoElem::Slice {
                    start: (first - c0) as isize,
                    end: Some((last + 1 - c0) as isize),
                    step: if step > 0 {
                        st as isize
                    } else {
                        -(st as isize)
                    },
                };
                Some((e, j0))
            }
            SliceInfoElem::NewAxis => None,
        }
    }

    /// Where the results of a window's selection (of shape `shape`, its first index along `a0`
    /// being `j0`) go in the whole result.
    fn place(&self, shape: &[usize], j0: usize) -> Place {
        match self.a0 {
            Some(a) if a != self.k => {
                // The window holds results `j0..j0 + len` along the result's axis `r`.
                let r = if a < self.k { a } else { a - 1 };
                let inner: usize = self.out_shape[r + 1..].iter().product();
                Place {
                    run: shape[a] * inner,
                    stride: self.out_shape[r] * inner,
                    offset: j0 * inner,
                }
            }
            // Every window adds to every result (or one window holds the whole selection).
            _ => Place {
                run: usize::MAX,
                stride: 0,
                offset: 0,
            },
        }
    }
}

/// Result `t` of a window goes to `(t / run) * stride + offset + t % run` of the whole result.
#[derive(Debug, Clone, Copy)]
struct Place {
    run: usize,
    stride: usize,
    offset: usize,
}

impl Place {
    fn at(self, t: usize) -> usize {
        if self.run == usize::MAX {
            t + self.offset
        } else {
            (t / self.run) * self.stride + self.offset + t % self.run
        }
    }
}

/// Numbers sent between ranks (`--mpi`), as little-endian bytes.
trait Wire: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    /// The number at the start of `b` (at least `SIZE` bytes).
    fn get(b: &[u8]) -> Self;
}

macro_rules! wire {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            const SIZE: usize = size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(b: &[u8]) -> $t {
                let mut a = [0u8; size_of::<$t>()];
                a.copy_from_slice(&b[..size_of::<$t>()]);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}
wire!(f64, i128, u64);

/// Values as reduced: `f64` for floats, `i128` for integers and booleans.
trait Val: Wire + 'static {
    /// The exact (integers) or plain (floats) sum of values.
    type Sum: Copy + Default + Wire;
    fn start(self) -> Self::Sum;
    fn add(s: Self::Sum, x: Self) -> Self::Sum;
    fn join(a: Self::Sum, b: Self::Sum) -> Self::Sum;
    fn sum_f64(s: Self::Sum) -> f64;
    fn f(self) -> f64;
    /// min and max, NaN-propagating as numpy's.
    fn lo(a: Self, b: Self) -> Self;
    fn hi(a: Self, b: Self) -> Self;
    /// The mean of `n` values, from their sum or from their shift plus the merged mean of the
    /// values less the shift.
    fn mean(sum: Self::Sum, shift: f64, shifted_mean: f64, n: u64) -> f64;
    fn num(self, boolean: bool) -> Num;
}

impl Val for f64 {
    type Sum = f64;
    fn start(self) -> f64 {
        self
    }
    fn add(s: f64, x: f64) -> f64 {
        s + x
    }
    fn join(a: f64, b: f64) -> f64 {
        a + b
    }
    fn sum_f64(s: f64) -> f64 {
        s
    }
    fn f(self) -> f64 {
        self
    }
    fn lo(a: f64, b: f64) -> f64 {
        if a < b || a.is_nan() { a } else { b }
    }
    fn hi(a: f64, b: f64) -> f64 {
        if a > b || a.is_nan() { a } else { b }
    }
    fn mean(sum: f64, shift: f64, shifted_mean: f64, n: u64) -> f64 {
        // numpy's own sum / n (summed in blocks, then the blocks' sums: its rounding grows
        // with a block's length and the number of blocks, not the column's length): it also
        // gives numpy's ±inf or NaN for values holding
        // infinities, and keeps a column of ±f64::MAX and small values right, where the merged
        // mean's deviations from the shift round the small values away. Only a sum past f64's
        // range (every value near f64::MAX) takes the merged mean, which is still finite.
        let plain = sum / n as f64;
        let merged = shift + shifted_mean;
        if plain.is_finite() || !merged.is_finite() {
            plain
        } else {
            merged
        }
    }
    fn num(self, _: bool) -> Num {
        Num::Float(self)
    }
}

impl Val for i128 {
    type Sum = i128;
    fn start(self) -> i128 {
        self
    }
    fn add(s: i128, x: i128) -> i128 {
        s + x
    }
    fn join(a: i128, b: i128) -> i128 {
        a + b
    }
    fn sum_f64(s: i128) -> f64 {
        s as f64
    }
    fn f(self) -> f64 {
        self as f64
    }
    fn lo(a: i128, b: i128) -> i128 {
        a.min(b)
    }
    fn hi(a: i128, b: i128) -> i128 {
        a.max(b)
    }
    fn mean(sum: i128, _: f64, _: f64, n: u64) -> f64 {
        // The exact sum, rounded once, over n: numpy's mean wherever its float64 sum is exact.
        sum as f64 / n as f64
    }
    fn num(self, boolean: bool) -> Num {
        if boolean {
            Num::Bool(self != 0)
        } else {
            Num::Int(self)
        }
    }
}

/// A vector of `n` copies of `v`, or an error (not an abort) when it does not fit in memory.
fn alloc<T: Clone>(n: usize, v: T) -> Res<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| {
        format!("the result has {n} values per statistic, too many to hold in memory")
    })?;
    out.resize(n, v);
    Ok(out)
}

/// What a part (a block, a window) adds to one result.
struct Part<V: Val> {
    n: u64,
    sum: V::Sum,
    /// The result's shift: the center of its first block.
    shift: f64,
    /// Mean and M2 of the values less the shift.
    mean: f64,
    m2: f64,
    lo: V,
    hi: V,
}

/// Per result: count, sum, shift, the mean of the values less the shift, M2 (the sum of
/// squared deviations from the mean), min and max.
///
/// The means are kept less one shift per result, the center of its first block: they are then
/// of the size of the spread, not of the values, so a column of 1e4 ± 1e-2 keeps its standard
/// deviation to the last digits when parts are merged (Chan's update is first-order in the
/// parts' means, whose rounding would otherwise be 1e-16 of 1e4, not of 1e-2).
struct Cells<V: Val> {
    n: Vec<u64>,
    sum: Vec<V::Sum>,
    shift: Vec<f64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
    min: Vec<V>,
    max: Vec<V>,
}

impl<V: Val> Cells<V> {
    fn new(len: usize, zero: V) -> Res<Cells<V>> {
        Ok(Cells {
            n: alloc(len, 0)?,
            sum: alloc(len, V::Sum::default())?,
            shift: alloc(len, 0.0)?,
            mean: alloc(len, 0.0)?,
            m2: alloc(len, 0.0)?,
            min: alloc(len, zero)?,
            max: alloc(len, zero)?,
        })
    }

    /// The shift of result `i`, or `None` before its first value.
    fn shift(&self, i: usize) -> Option<f64> {
        (self.n[i] > 0).then(|| self.shift[i])
    }

    /// Chan's pairwise update: merges a part into result `i` (its mean less the result's
    /// shift, or, as the first part, with its own).
    fn merge(&mut self, i: usize, p: Part<V>) {
        if p.n == 0 {
            return;
        }
        let na = self.n[i];
        if na == 0 {
            (self.n[i], self.sum[i], self.shift[i]) = (p.n, p.sum, p.shift);
            (self.mean[i], self.m2[i], self.min[i], self.max[i]) = (p.mean, p.m2, p.lo, p.hi);
            return;
        }
        let total = na + p.n;
        let d = p.mean - self.mean[i];
        let (a, b, t) = (na as f64, p.n as f64, total as f64);
        self.mean[i] += d * (b / t);
        self.m2[i] += p.m2 + d * d * (a * (b / t));
        self.sum[i] = V::join(self.sum[i], p.sum);
        self.min[i] = V::lo(self.min[i], p.lo);
        self.max[i] = V::hi(self.max[i], p.hi);
        self.n[i] = total;
    }

    /// Bytes per result on the wire: count, sum, shift, mean, M2, min and max.
    const RECORD: usize = 8 + V::Sum::SIZE + 3 * 8 + 2 * V::SIZE;

    /// The cells as bytes, for another rank's [`merge_bytes`](Self::merge_bytes).
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.n.len() * Self::RECORD);
        for i in 0..self.n.len() {
            self.n[i].put(&mut out);
            self.sum[i].put(&mut out);
            for x in [self.shift[i], self.mean[i], self.m2[i]] {
                x.put(&mut out);
            }
            self.min[i].put(&mut out);
            self.max[i].put(&mut out);
        }
        out
    }

    /// Merges the cells another rank sent ([`to_bytes`](Self::to_bytes)), of the values that
    /// follow this rank's, result by result with Chan's update: their mean is moved from
    /// their shift to this result's before it merges, as a block's is in [`part`].
    fn merge_bytes(&mut self, b: &[u8]) -> Res<()> {
        if b.len() != self.n.len() * Self::RECORD {
            return Err(format!(
                "a rank sent {} bytes of results where {} were expected",
                b.len(),
                self.n.len() * Self::RECORD
            )
            .into());
        }
        for (i, r) in b.chunks_exact(Self::RECORD).enumerate() {
            let mut at = 0;
            let mut take = |size: usize| {
                at += size;
                &r[at - size..]
            };
            let n = u64::get(take(8));
            let sum = V::Sum::get(take(V::Sum::SIZE));
            let (their, mean, m2) = (f64::get(take(8)), f64::get(take(8)), f64::get(take(8)));
            let (lo, hi) = (V::get(take(V::SIZE)), V::get(take(V::SIZE)));
            let shift = self.shift(i).unwrap_or(their);
            let p = Part {
                n,
                sum,
                shift,
                mean: (their - shift) + mean,
                m2,
                lo,
                hi,
            };
            self.merge(i, p);
        }
        Ok(())
    }

    /// Mean, standard deviation (ddof=0), min and max per result.
    fn finish(self, boolean: bool) -> Results {
        let len = self.n.len();
        let (mut mean, mut std) = (Vec::with_capacity(len), Vec::with_capacity(len));
        let (mut min, mut max) = (Vec::with_capacity(len), Vec::with_capacity(len));
        for i in 0..len {
            let n = self.n[i];
            if n == 0 {
                // numpy: mean and std of nothing are NaN; min and max have no value.
                mean.push(f64::NAN);
                std.push(f64::NAN);
                min.push(None);
                max.push(None);
            } else {
                mean.push(V::mean(self.sum[i], self.shift[i], self.mean[i], n));
                std.push((self.m2[i] / n as f64).sqrt());
                min.push(Some(self.min[i].num(boolean)));
                max.push(Some(self.max[i].num(boolean)));
            }
        }
        (mean, std, min, max)
    }
}

/// The cells of one rank's part, whatever their type: sent, merged, finished.
trait Partial {
    fn to_bytes(&self) -> Vec<u8>;
    fn merge_bytes(&mut self, b: &[u8]) -> Res<()>;
    fn finish(self: Box<Self>) -> Results;
}

/// [`Cells`] and whether the dtype is boolean (for how min and max are shown).
struct Local<V: Val>(Cells<V>, bool);

impl<V: Val> Partial for Local<V> {
    fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
    fn merge_bytes(&mut self, b: &[u8]) -> Res<()> {
        self.0.merge_bytes(b)
    }
    fn finish(self: Box<Self>) -> Results {
        self.0.finish(self.1)
    }
}

/// Per-result scratch for one block of rows.
struct Block<V: Val> {
    sum: Vec<V::Sum>,
    /// The block's center (its plain mean), and the sums of deviations from it and of their
    /// squares.
    center: Vec<f64>,
    esum: Vec<f64>,
    e2sum: Vec<f64>,
    min: Vec<V>,
    max: Vec<V>,
}

impl<V: Val> Block<V> {
    fn new() -> Block<V> {
        Block {
            sum: vec![],
            center: vec![],
            esum: vec![],
            e2sum: vec![],
            min: vec![],
            max: vec![],
        }
    }

    fn fit(&mut self, len: usize, zero: V) -> Res<()> {
        if self.sum.len() < len {
            *self = Block {
                sum: alloc(len, V::Sum::default())?,
                center: alloc(len, 0.0)?,
                esum: alloc(len, 0.0)?,
                e2sum: alloc(len, 0.0)?,
                min: alloc(len, zero)?,
                max: alloc(len, zero)?,
            };
        }
        Ok(())
    }
}

/// What a block of `n` values adds to a result whose shift is `shift` (`None` before its
/// first values): the corrected two-pass method around the block's own center (Chan, Golub
/// and LeVeque): M2 from the deviations less the square of their sum, and the mean less the
/// shift as the center's offset plus the deviations' mean.
#[allow(clippy::too_many_arguments)]
fn part<V: Val>(
    n: u64,
    sum: V::Sum,
    center: f64,
    esum: f64,
    e2sum: f64,
    lo: V,
    hi: V,
    shift: Option<f64>,
) -> Part<V> {
    let shift = shift.unwrap_or(center);
    let nf = n as f64;
    Part {
        n,
        sum,
        shift,
        mean: (center - shift) + esum / nf,
        // Not below 0 by rounding (NaN stays NaN).
        m2: match e2sum - esum * (esum / nf) {
            m2 if m2 < 0.0 => 0.0,
            m2 => m2,
        },
        lo,
        hi,
    }
}

/// A row of a block: the values of every result of a window, in C order.
enum Row<'a, E> {
    Slice(&'a [E]),
    View(ArrayView<'a, E, IxDyn>),
}

impl<E> Row<'_, E> {
    /// Calls `f(value, a, b, c)` for each value of the row, in C order, with the scratch of its
    /// result: plain zipped slices where the row is contiguous, so the loop vectorizes.
    #[inline]
    fn zip3<A, B, C>(
        &self,
        a: &mut [A],
        b: &mut [B],
        c: &mut [C],
        mut f: impl FnMut(&E, &mut A, &mut B, &mut C),
    ) {
        macro_rules! go {
            ($values:expr) => {
                for (((x, a), b), c) in $values
                    .zip(a.iter_mut())
                    .zip(b.iter_mut())
                    .zip(c.iter_mut())
                {
                    f(x, a, b, c)
                }
            };
        }
        match self {
            Row::Slice(s) => go!(s.iter()),
            Row::View(v) => {
                if let Some(s) = v.to_slice() {
                    go!(s.iter())
                } else if let Ok(v) = v.view().into_dimensionality::<Ix1>() {
                    go!(v.iter())
                } else if let Ok(v) = v.view().into_dimensionality::<Ix2>() {
                    go!(v.iter())
                } else {
                    go!(v.iter())
                }
            }
        }
    }
}

/// Reduces one block of `len` rows (`rows()` walks them, and is called twice: the block is
/// still in cache for its second pass) and merges it into `out` at `place`.
fn block<'r, E: 'r, V: Val, I: Iterator<Item = Row<'r, E>>>(
    rows: impl Fn() -> I,
    len: usize,
    cells: usize,
    dec: impl Fn(&E) -> V + Copy,
    b: &mut Block<V>,
    out: &mut Cells<V>,
    place: Place,
) {
    let (sum, lo, hi) = (
        &mut b.sum[..cells],
        &mut b.min[..cells],
        &mut b.max[..cells],
    );
    let mut it = rows();
    if let Some(first) = it.next() {
        first.zip3(sum, lo, hi, |e, s, lo, hi| {
            let x = dec(e);
            (*s, *lo, *hi) = (x.start(), x, x);
        });
    }
    for row in it {
        row.zip3(sum, lo, hi, |e, s, lo, hi| {
            let x = dec(e);
            *s = V::add(*s, x);
            *lo = V::lo(*lo, x);
            *hi = V::hi(*hi, x);
        });
    }
    let (center, esum, e2sum) = (
        &mut b.center[..cells],
        &mut b.esum[..cells],
        &mut b.e2sum[..cells],
    );
    for ((c, s), (es, e2)) in center
        .iter_mut()
        .zip(&*sum)
        .zip(esum.iter_mut().zip(e2sum.iter_mut()))
    {
        *c = V::sum_f64(*s) / len as f64;
        (*es, *e2) = (0.0, 0.0);
    }
    if len > 1 {
        for row in rows() {
            row.zip3(center, esum, e2sum, |e, c, es, e2| {
                let d = dec(e).f() - *c;
                *es += d;
                *e2 += d * d;
            });
        }
    }
    for c in 0..cells {
        let at = place.at(c);
        let p = part(
            len as u64,
            b.sum[c],
            b.center[c],
            b.esum[c],
            b.e2sum[c],
            b.min[c],
            b.max[c],
            out.shift(at),
        );
        out.merge(at, p);
    }
}

/// Reduces part of one lane (values of one result; `values()` is called twice) and merges it
/// into result `at` of `out`.
fn lane_block<'r, E: 'r, V: Val, I: Iterator<Item = &'r E>>(
    values: impl Fn() -> I,
    dec: impl Fn(&E) -> V + Copy,
    out: &mut Cells<V>,
    at: usize,
) {
    let mut it = values();
    let Some(first) = it.next() else { return };
    let x = dec(first);
    let (mut sum, mut lo, mut hi, mut n) = (x.start(), x, x, 1u64);
    for e in it {
        let x = dec(e);
        sum = V::add(sum, x);
        lo = V::lo(lo, x);
        hi = V::hi(hi, x);
        n += 1;
    }
    let center = V::sum_f64(sum) / n as f64;
    let (mut esum, mut e2sum) = (0.0, 0.0);
    if n > 1 {
        for e in values() {
            let d = dec(e).f() - center;
            esum += d;
            e2sum += d * d;
        }
    }
    let p = part(n, sum, center, esum, e2sum, lo, hi, out.shift(at));
    out.merge(at, p);
}

/// Reduces the window's selection `v` along `k` and merges its results into `out` at `place`.
fn reduce<E, V: Val>(
    v: ArrayView<'_, E, IxDyn>,
    k: usize,
    dec: impl Fn(&E) -> V + Copy,
    zero: V,
    out: &mut Cells<V>,
    place: Place,
    b: &mut Block<V>,
) -> Res<()> {
    let nk = v.shape()[k];
    let cells: usize = v
        .shape()
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != k)
        .map(|(_, &d)| d)
        .product();
    if nk == 0 || cells == 0 {
        return Ok(());
    }
    let sk = v.strides()[k].unsigned_abs();
    let innermost = v
        .shape()
        .iter()
        .zip(v.strides())
        .enumerate()
        .all(|(j, (&d, &st))| j == k || d <= 1 || st.unsigned_abs() > sk);
    if cells == 1 || (innermost && nk >= LANE_MIN) {
        // Lane by lane: each result's values lie close together (or there is one result).
        for (t, lane) in v.lanes(Axis(k)).into_iter().enumerate() {
            let at = place.at(t);
            match lane.to_slice() {
                Some(s) => {
                    for part in s.chunks(LANE_BLOCK) {
                        lane_block(|| part.iter(), dec, out, at);
                    }
                }
                None => {
                    for i in (0..nk).step_by(LANE_BLOCK) {
                        let part =
                            lane.slice_axis(Axis(0), Slice::from(i..(i + LANE_BLOCK).min(nk)));
                        lane_block(|| part.iter(), dec, out, at);
                    }
                }
            }
        }
        return Ok(());
    }
    // Row by row: the axis `k` first, the results of each row in C order.
    let mut perm: Vec<usize> = vec![k];
    perm.extend((0..v.ndim()).filter(|&j| j != k));
    let w = v.permuted_axes(perm);
    b.fit(cells, zero)?;
    let per = (BLOCK_BYTES / cells.saturating_mul(size_of::<E>()).max(1))
        .max(BLOCK_ROWS)
        .min(nk);
    match w.to_slice() {
        Some(flat) => {
            for part in flat.chunks(per * cells) {
                let len = part.len() / cells;
                block(
                    || part.chunks_exact(cells).map(Row::Slice),
                    len,
                    cells,
                    dec,
                    b,
                    out,
                    place,
                );
            }
        }
        None => {
            for i in (0..nk).step_by(per) {
                let part = w.slice_axis(Axis(0), Slice::from(i..(i + per).min(nk)));
                block(
                    || part.outer_iter().map(Row::View),
                    part.shape()[0],
                    cells,
                    dec,
                    b,
                    out,
                    place,
                );
            }
        }
    }
    Ok(())
}

/// Windows of the indices `rows` along the streamed axis `s` of `m` (its outermost in
/// memory), about `per` indices each, each its own read-only mapping of the file, unmapped
/// when dropped: memory stays bounded as with the library's stream, which walks only the
/// whole of axis 0 of a C-order array. The next window's file range is read ahead
/// (`posix_fadvise(WILLNEED)`) as each is mapped.
fn windows<'a, E: Pod>(
    m: &'a MmapArray<E, IxDyn>,
    plan: &Plan,
    rows: Range<usize>,
    per: usize,
) -> Res<impl Iterator<Item = ndmmap::Result<(usize, MmapArray<E, IxDyn>)>> + 'a> {
    let file = m.file().ok_or("stats reads files, not anonymous memory")?;
    let (s, row_bytes, fortran) = (plan.s, plan.row_bytes, plan.fortran);
    let shape = m.shape().to_vec();
    let base = m.offset();
    let Range { start, end } = rows;
    let window = move |first: usize| first..first.saturating_add(per).min(end);
    let at = move |i: usize| base + (i * row_bytes) as u64;
    let ahead = move |r: Range<usize>| {
        // Only a hint: a failure leaves the reads to fault the pages in.
        let _ = ndmmap::prefetch_file(file, at(r.start), (r.len() * row_bytes) as u64);
    };
    if start < end {
        ahead(window(start));
    }
    Ok((start..end).step_by(per).map(move |first| {
        let r = window(first);
        if r.end < end {
            ahead(window(r.end));
        }
        let mut dim = shape.clone();
        dim[s] = r.len();
        // SAFETY: as for the whole array (open.rs): the command only reads, and a truncation
        // by another process is turned into an error by the guard each window is read under.
        let w = unsafe {
            MmapOptions::new()
                .offset(at(r.start))
                .map::<E, IxDyn, _>(file, IxDyn(&dim).set_f(fortran))?
        };
        Ok((r.start, w))
    }))
}

/// The one streaming pass over the indices `part` (of the selection's `plan.rows`) of `m`'s
/// streamed axis, values read by `dec`.
#[allow(clippy::too_many_arguments)]
fn pass<E: Pod, V: Val>(
    m: &MmapArray<E, IxDyn>,
    plan: &Plan,
    part: Range<usize>,
    window: usize,
    bar: Option<&indicatif::ProgressBar>,
    dec: impl Fn(&E) -> V + Copy,
    zero: V,
    boolean: bool,
) -> Res<Box<dyn Partial>> {
    let mut out = Cells::new(plan.out_shape.iter().product(), zero)?;
    let mut b = Block::new();
    let mut each = |c0: usize, chunk: ArrayView<'_, E, IxDyn>| -> Res<()> {
        let c1 = c0 + chunk.shape()[plan.s];
        if let Some((local, j0)) = plan.local(c0, c1) {
            let v = chunk.slice_move(local.as_slice());
            let place = plan.place(v.shape(), j0);
            reduce(v, plan.k, dec, zero, &mut out, place, &mut b)?;
        }
        if let Some(p) = bar {
            p.inc(((c1 - c0) * plan.row_bytes) as u64);
        }
        Ok(())
    };
    // Reading faults the pages in; a file truncated meanwhile is an error, not SIGBUS.
    if plan.s == 0 && !plan.fortran && part == (0..m.shape()[0]) {
        m.guarded(|_| -> Res<()> {
            // The library's stream: windows of rows, the next read ahead, passed ones dropped.
            for (c0, chunk) in ndmmap::stream::Stream::new(m)?.bytes(window) {
                each(c0, chunk)?;
            }
            Ok(())
        })??;
    } else {
        let per = window
            .checked_div(plan.row_bytes)
            .unwrap_or(usize::MAX)
            .max(1);
        for w in windows(m, plan, part, per)? {
            let (c0, w) = w?;
            w.guarded(|v| each(c0, v))??;
        }
    }
    Ok(Box::new(Local(out, boolean)))
}

/// [`pass`] with the values of `a`'s dtype: integers (and booleans) exactly, floats as f64,
/// either byte order.
fn reduce_any(
    a: &AnyArray,
    d: &Dtype,
    plan: &Plan,
    part: Range<usize>,
    window: usize,
    bar: Option<&indicatif::ProgressBar>,
) -> Res<Box<dyn Partial>> {
    macro_rules! go {
        ($m:expr, $zero:expr, $dec:expr) => {
            pass($m, plan, part, window, bar, $dec, $zero, d.kind == 'b')
        };
    }
    macro_rules! ordered {
        ($m:expr, $t:ty, $v:ty, $zero:expr) => {
            if d.little_endian {
                go!(
                    $m,
                    $zero,
                    |b: &[u8; size_of::<$t>()]| <$t>::from_le_bytes(*b) as $v
                )
            } else {
                go!(
                    $m,
                    $zero,
                    |b: &[u8; size_of::<$t>()]| <$t>::from_be_bytes(*b) as $v
                )
            }
        };
    }
    match (&a.inner, d.kind, d.size) {
        (Inner::B1(m), 'u', 1) => go!(m, 0i128, |b: &u8| *b as i128),
        (Inner::B1(m), 'i', 1) => go!(m, 0i128, |b: &u8| *b as i8 as i128),
        (Inner::B1(m), 'b', 1) => go!(m, 0i128, |b: &u8| (*b != 0) as i128),
        (Inner::B2(m), 'i', 2) => ordered!(m, i16, i128, 0i128),
        (Inner::B2(m), 'u', 2) => ordered!(m, u16, i128, 0i128),
        (Inner::B4(m), 'i', 4) => ordered!(m, i32, i128, 0i128),
        (Inner::B4(m), 'u', 4) => ordered!(m, u32, i128, 0i128),
        (Inner::B8(m), 'i', 8) => ordered!(m, i64, i128, 0i128),
        (Inner::B8(m), 'u', 8) => ordered!(m, u64, i128, 0i128),
        (Inner::B4(m), 'f', 4) => ordered!(m, f32, f64, 0.0f64),
        (Inner::B8(m), 'f', 8) => ordered!(m, f64, f64, 0.0f64),
        _ => Err(format!("stats cannot reduce dtype {}", a.descr).into()),
    }
}

/// `x` as C's `%.6g` (numpy's short form): six significant digits, an exponent below 1e-4 and
/// from 1e6.
pub fn g6(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{x:.5e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.unsigned_abs())
    } else {
        trim(&format!("{x:.*}", (5 - exp) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, ShapeBuilder};

    /// numpy's answers, computed plainly (two passes over all values, in f64).
    fn plain(values: &[f64]) -> (f64, f64, f64, f64) {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (mean, var.sqrt(), lo, hi)
    }

    fn close(a: f64, b: f64) -> bool {
        a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    /// Reduces `v` along `k` in windows of `per` indices along `s`, as `pass` does.
    fn by_windows(v: ArrayView<'_, f64, IxDyn>, k: usize, s: usize, per: usize) -> Summary {
        let mut out_shape = v.shape().to_vec();
        out_shape.remove(k);
        let nd = v.ndim();
        let plan = Plan {
            elems: vec![SliceInfoElem::from(..); nd],
            s,
            rows: 0..v.shape()[s],
            a0: Some(s),
            k,
            count: v.shape()[k],
            out_shape: out_shape.clone(),
            row_bytes: 0,
            fortran: s != 0,
        };
        let mut out = Cells::new(out_shape.iter().product(), 0.0).unwrap();
        let mut b = Block::new();
        let n = v.shape()[s];
        for c0 in (0..n).step_by(per.max(1)) {
            let c1 = (c0 + per).min(n);
            let chunk = v.slice_axis(Axis(s), Slice::from(c0..c1));
            let (local, j0) = plan.local(c0, c1).unwrap();
            let w = chunk.slice_move(local.as_slice());
            let place = plan.place(w.shape(), j0);
            reduce(w, k, |x: &f64| *x, 0.0, &mut out, place, &mut b).unwrap();
        }
        let (mean, std, min, max) = out.finish(false);
        Summary {
            axis: k,
            shape: out_shape,
            count: plan.count,
            mean,
            std,
            min,
            max,
            bytes: 0,
            elapsed: Default::default(),
        }
    }

    #[test]
    fn every_axis_and_window_agrees_with_two_plain_passes() {
        // Values of very different scales and offsets, in C and Fortran order.
        let shape = [37usize, 5, 11];
        let len = shape.iter().product::<usize>();
        let data: Vec<f64> = (0..len)
            .map(|i| {
                let x = ((i * 7919) % 1013) as f64 / 1013.0 - 0.5;
                1e3 + x * (1.0 + (i % 3) as f64 * 1e2)
            })
            .collect();
        for fortran in [false, true] {
            let a = Array::from_shape_vec(IxDyn(&shape).set_f(fortran), data.clone()).unwrap();
            let s = if fortran { 2 } else { 0 };
            for k in 0..3 {
                for per in [1, 2, 3, 7, 100] {
                    let got = by_windows(a.view(), k, s, per);
                    let lanes: Vec<Vec<f64>> =
                        a.lanes(Axis(k)).into_iter().map(|l| l.to_vec()).collect();
                    assert_eq!(got.mean.len(), lanes.len());
                    for (i, l) in lanes.iter().enumerate() {
                        let (mean, std, lo, hi) = plain(l);
                        let at = format!("order F {fortran}, axis {k}, per {per}, result {i}");
                        assert!(close(got.mean[i], mean), "{at}: {} {mean}", got.mean[i]);
                        assert!(close(got.std[i], std), "{at}: {} {std}", got.std[i]);
                        assert_eq!(got.min[i], Some(Num::Float(lo)), "{at}");
                        assert_eq!(got.max[i], Some(Num::Float(hi)), "{at}");
                    }
                }
            }
        }
    }

    #[test]
    fn long_lanes_are_reduced_in_blocks() {
        // A lane longer than LANE_BLOCK, with a large offset: blocks merge stably.
        let data: Vec<f64> = (0..3 * LANE_BLOCK + 17)
            .map(|i| 1e6 + ((i * 31) % 97) as f64 * 1e-3)
            .collect();
        let a = Array::from_shape_vec(IxDyn(&[data.len()]), data.clone()).unwrap();
        let got = by_windows(a.view(), 0, 0, 5000);
        let (mean, std, ..) = plain(&data);
        assert!(close(got.mean[0], mean), "{} {mean}", got.mean[0]);
        assert!(close(got.std[0], std), "{} {std}", got.std[0]);
    }

    #[test]
    fn nan_and_infinity_as_numpy() {
        let a = Array::from_shape_vec(
            IxDyn(&[3, 3]),
            vec![
                1.0,
                f64::INFINITY,
                f64::INFINITY,
                f64::NAN,
                2.0,
                f64::NEG_INFINITY,
                3.0,
                5.0,
                1.0,
            ],
        )
        .unwrap();
        for per in [1, 3] {
            let got = by_windows(a.view(), 0, 0, per);
            // Column 0 holds a NaN: everything NaN.
            assert!(got.mean[0].is_nan() && got.std[0].is_nan());
            assert!(matches!(got.min[0], Some(Num::Float(x)) if x.is_nan()));
            assert!(matches!(got.max[0], Some(Num::Float(x)) if x.is_nan()));
            // Column 1: inf among finite values: mean inf, std NaN (inf - inf), as numpy.
            assert_eq!(got.mean[1], f64::INFINITY, "per {per}");
            assert!(got.std[1].is_nan());
            assert_eq!(got.max[1], Some(Num::Float(f64::INFINITY)));
            // Column 2: inf and -inf: mean NaN, min -inf.
            assert!(got.mean[2].is_nan());
            assert_eq!(got.min[2], Some(Num::Float(f64::NEG_INFINITY)));
        }
    }

    #[test]
    fn strided_selections_map_to_their_results() {
        let a = Array::from_shape_vec(IxDyn(&[20, 3]), (0..60).map(f64::from).collect()).unwrap();
        for (step, start, end) in [(3isize, 2isize, 18isize), (-4, 1, 20), (-1, 0, 20)] {
            let plan = Plan {
                elems: vec![
                    SliceInfoElem::Slice {
                        start,
                        end: Some(end),
                        step,
                    },
                    SliceInfoElem::from(..),
                ],
                s: 0,
                rows: start as usize..end as usize,
                a0: Some(0),
                k: 1,
                count: 3,
                out_shape: vec![0],
                row_bytes: 0,
                fortran: false,
            };
            let want: Vec<f64> = a
                .slice(plan.elems.as_slice())
                .index_axis(Axis(1), 0)
                .iter()
                .copied()
                .collect();
            let mut seen = vec![f64::NAN; want.len()];
            for per in [1usize, 2, 5] {
                for c0 in (0..20).step_by(per) {
                    let c1 = (c0 + per).min(20);
                    if let Some((local, j0)) = plan.local(c0, c1) {
                        let w = a
                            .slice_axis(Axis(0), Slice::from(c0..c1))
                            .slice_move(local.as_slice());
                        for (j, x) in w.index_axis(Axis(1), 0).iter().enumerate() {
                            seen[j0 + j] = *x;
                        }
                    }
                }
                assert_eq!(seen, want, "step {step}, per {per}");
            }
        }
    }

    #[test]
    fn numbers_as_percent_g() {
        assert_eq!(g6(0.1), "0.1");
        assert_eq!(g6(1234567.0), "1.23457e+06");
        assert_eq!(g6(123456.0), "123456");
        assert_eq!(g6(0.000123456789), "0.000123457");
        assert_eq!(g6(0.0000123456789), "1.23457e-05");
        assert_eq!(g6(-2.5), "-2.5");
        assert_eq!(g6(1023.5), "1023.5");
        assert_eq!(g6(f64::NAN), "nan");
        assert_eq!(g6(0.0), "0");
        assert_eq!(g6(999999.5), "1e+06");
    }
}
