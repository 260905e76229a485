//! Streaming statistics: count, sum, mean, variance and standard deviation (any `ddof`), min and
//! max of an array along any axis, of the whole array or of a slice, in one pass of bounded
//! memory on every core, with numpy's answers.
//!
//! Per-column mean and standard deviation of a file of any size:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("x.npy");
//! # let mut w = unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (1000, 3))? };
//! # for (i, x) in w.view_mut()?.iter_mut().enumerate() { *x = (i % 3) as f64; }
//! # drop(w);
//! use ndmmap::stats::Stats;
//! // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
//! let a = unsafe { ndmmap::npy::open::<f64, ndarray::Ix2>(&path)? };
//! let m = Stats::along(0).of(&a)?; // one streaming pass on every core
//! println!("mean {} std {}", m.mean(), m.std(1.0)); // ddof = 1
//! # assert_eq!(m.mean().iter().copied().collect::<Vec<f64>>(), [0.0, 1.0, 2.0]);
//! # Ok(()) }
//! ```
//!
//! # What is computed, and how
//! The array is read a window at a time along its outermost axis in memory (axis 0 of a C-order
//! array, the last axis of a Fortran-order one) by the crate's one streaming engine,
//! [`Stream`]: the next window is read ahead, passed ones are dropped
//! from the process, so the resident set stays about two windows (64 MiB each by default,
//! [`Stats::window`]) whatever the array's size and whichever axis is reduced. Each window's
//! part of the selection is cut into one piece per thread ([`Stats::threads`], all cores by
//! default), each piece reduced along the axis and merged in order. A window of a file that is
//! not yet in RAM is read by one thread, following the read-ahead at the disk's pace: threads
//! split a window only when its pages are resident (two threads faulting one cold window in
//! at two places read it slower than one).
//!
//! - **Numerics.** Values are reduced in blocks small enough to stay in cache. Each block is
//!   summed, and its deviations from its center are summed and squared in a second pass over
//!   the cached block (numpy's own two-pass method, corrected by the deviations' sum); blocks,
//!   windows, threads and processes merge with Chan's pairwise update of count, mean and M2,
//!   the means kept less a shift per result, which is stable at any length. The mean is
//!   numpy's sum / count, summed as numpy sums (pairwise along a contiguous lane, in order
//!   along a strided one). Against numpy on the fixtures of the tests: within 1e-14 relative.
//! - **Types.** Integers (and booleans) are summed exactly in `i128` and their min and max
//!   kept exactly ([`Value::Int`], [`Value::Bool`]); floats (`f16`, `bf16` with the feature
//!   `half`, `f32`, `f64`) are reduced in `f64` (numpy's `dtype=np.float64`); either byte
//!   order, aligned or not ([`Reducible`]).
//! - **NaN, infinity, overflow** as numpy's `np.mean`, `np.std`, `np.min`, `np.max`: a NaN makes
//!   every statistic of its result NaN; a sum that overflows makes the mean ±inf (or NaN where
//!   infinities of both signs meet, as in numpy's pairwise sum of alternating ±1e308) and the
//!   standard deviation infinite (NaN where the mean is NaN or a value is infinite).
//!
//! # Partial results
//! [`Moments`] is both the answer and a partial one: [`Moments::merge`] combines the moments
//! of consecutive parts (threads, processes, MPI ranks; [`Stats::share`] takes one rank's share
//! of the streamed axis) and [`Moments::to_bytes`] / [`Moments::from_bytes`] carry them
//! between processes.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ndmmap::stats::{Moments, Stats};
//! let mut a = ndmmap::MmapArray::<f32, ndarray::Ix2>::anonymous((10, 4))?;
//! a.view_mut()?.iter_mut().enumerate().for_each(|(i, x)| *x = i as f32);
//! // Three "ranks", each reducing its share of the rows, merged in rank order.
//! let parts: Vec<Vec<u8>> = (0..3)
//!     .map(|r| Stats::along(0).share(r, 3).of(&a).map(|m| m.to_bytes()))
//!     .collect::<Result<_, _>>()?;
//! let mut all = Moments::from_bytes(&parts[0])?;
//! for p in &parts[1..] {
//!     all.merge(&Moments::from_bytes(p)?)?;
//! }
//! assert_eq!(all.mean(), Stats::along(0).of(&a)?.mean());
//! # Ok(()) }
//! ```
//!
//! # Results too many to hold
//! Reduced along an inner axis, a tall array has one result per row. [`Stats::each`] hands
//! them over as they become final, in order, so memory stays bounded whatever their number.

mod cells;
mod kernel;
mod summary;
pub use summary::{FEW, Summary, format_g, format_value};

use crate::any::AnyArray;
use crate::array::{MmapArray, Order};
use crate::element::{Bool, ByteSwapped, Unaligned};
use crate::error::{Error, Result};
use crate::stream::Stream;
use cells::{Cells, Val};
use kernel::{Block, Place};
use ndarray::{ArrayD, ArrayView, Axis, Dimension, IxDyn, Slice, SliceInfoElem};
use std::ops::Range;

/// Bytes per streamed window, all threads together (two windows are mapped at a time: the one
/// reduced and the one read ahead).
pub const WINDOW: usize = 64 << 20;

/// Results a window holds at most where each window has results of its own (a C-order array
/// reduced along an inner axis): their moments take 56 to 88 bytes each while it is reduced.
const RESULTS: usize = 1 << 18;

/// Bytes of a window's selection per thread at least (see [`Stats::min_piece`]).
pub const MIN_PIECE: usize = 256 << 10;

/// An element type that statistics can reduce: the integer and float types, [`Bool`], and
/// each of them [`Unaligned`] or [`ByteSwapped`] (`half::f16` and `half::bf16` with the
/// feature `half`). Complex numbers are not: they have no order for min and max.
///
/// The trait is sealed: its items are the crate's own.
pub trait Reducible: bytemuck::Pod + Send + Sync {
    /// The type values are reduced in (`f64` or `i128`).
    #[doc(hidden)]
    type Acc: cells::Val;
    /// Whether min and max are booleans.
    #[doc(hidden)]
    const BOOL: bool = false;
    /// The value, as reduced.
    #[doc(hidden)]
    fn acc(&self) -> Self::Acc;
}

macro_rules! reducible {
    ($($t:ty => $acc:ty),* $(,)?) => {$(
        impl Reducible for $t {
            type Acc = $acc;
            #[inline(always)]
            fn acc(&self) -> $acc {
                *self as $acc
            }
        }
        impl Reducible for Unaligned<$t> {
            type Acc = $acc;
            #[inline(always)]
            fn acc(&self) -> $acc {
                self.get() as $acc
            }
        }
    )*};
}
reducible!(u8 => i128, i8 => i128, u16 => i128, i16 => i128, u32 => i128, i32 => i128);
reducible!(u64 => i128, i64 => i128, f32 => f64, f64 => f64);

macro_rules! reducible_swapped {
    ($($t:ty => $acc:ty),* $(,)?) => {$(
        impl Reducible for ByteSwapped<$t> {
            type Acc = $acc;
            #[inline(always)]
            fn acc(&self) -> $acc {
                self.get() as $acc
            }
        }
    )*};
}
reducible_swapped!(u16 => i128, i16 => i128, u32 => i128, i32 => i128, u64 => i128, i64 => i128);
reducible_swapped!(f32 => f64, f64 => f64);

impl Reducible for Bool {
    type Acc = i128;
    const BOOL: bool = true;
    #[inline(always)]
    fn acc(&self) -> i128 {
        i128::from(self.0 != 0)
    }
}

#[cfg(feature = "half")]
macro_rules! reducible_half {
    ($($t:ty),*) => {$(
        impl Reducible for $t {
            type Acc = f64;
            #[inline(always)]
            fn acc(&self) -> f64 {
                self.to_f64()
            }
        }
        impl Reducible for Unaligned<$t> {
            type Acc = f64;
            #[inline(always)]
            fn acc(&self) -> f64 {
                self.get().to_f64()
            }
        }
    )*};
}
#[cfg(feature = "half")]
reducible_half!(half::f16, half::bf16);

#[cfg(feature = "half")]
impl Reducible for ByteSwapped<half::f16> {
    type Acc = f64;
    #[inline(always)]
    fn acc(&self) -> f64 {
        self.get().to_f64()
    }
}

/// A min, max or sum in the dtype's own terms: exact for integers and booleans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An integer dtype's value (every `u64` and `i64` fits).
    Int(i128),
    /// A float dtype's value.
    Float(f64),
    /// A boolean dtype's value.
    Bool(bool),
}

impl Value {
    /// The value as `f64` (an integer rounded once, a boolean 0 or 1).
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Int(x) => x as f64,
            Value::Float(x) => x,
            Value::Bool(x) => f64::from(u8::from(x)),
        }
    }
}

impl std::fmt::Display for Value {
    /// Integers in full, floats as Rust prints them, booleans as numpy (`True`, `False`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(x) => write!(f, "{x}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(x) => f.write_str(if *x { "True" } else { "False" }),
        }
    }
}

/// How to reduce: the axis, the slice, the threads, the window, the share of the streamed
/// axis. Made by [`Stats::along`]; [`of`](Stats::of) and [`each`](Stats::each) run it.
pub struct Stats<'p> {
    axis: isize,
    slice: Option<Vec<SliceInfoElem>>,
    threads: usize,
    window: usize,
    min_piece: usize,
    share: Option<(usize, usize)>,
    progress: Option<&'p (dyn Fn(u64) + Sync)>,
}

impl std::fmt::Debug for Stats<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("axis", &self.axis)
            .field("slice", &self.slice)
            .field("threads", &self.threads)
            .field("window", &self.window)
            .field("min_piece", &self.min_piece)
            .field("share", &self.share)
            .finish_non_exhaustive()
    }
}

impl<'p> Stats<'p> {
    /// Statistics along `axis` of the array (or of its [`slice`](Self::slice)): negative counts
    /// from the end, as numpy's `axis=-1`. All cores, windows of [`WINDOW`] bytes.
    pub fn along(axis: isize) -> Stats<'static> {
        Stats {
            axis,
            slice: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            window: WINDOW,
            min_piece: MIN_PIECE,
            share: None,
            progress: None,
        }
    }

    /// Reduces only this slice (`s![..]`, or a `Vec<SliceInfoElem>`); `axis` is then an axis of
    /// the slice's result, as numpy's `a[...].mean(axis=...)`. New axes are not supported.
    pub fn slice(mut self, slice: impl AsRef<[SliceInfoElem]>) -> Self {
        self.slice = Some(slice.as_ref().to_vec());
        self
    }

    /// Uses `n` threads (at least one). The memory bound does not grow with them: each window
    /// is cut into one piece per thread (when its pages are in RAM: a cold window is read by
    /// one thread at the disk's pace).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// Windows of about `bytes` (whole indices of the streamed axis, at least one).
    pub fn window(mut self, bytes: usize) -> Self {
        self.window = bytes.max(1);
        self
    }

    /// Cuts a window between threads only into pieces of at least `bytes` ([`MIN_PIECE`] by
    /// default): a smaller piece costs a thread more than it saves, and a small array is
    /// then reduced in one piece, in numpy's order.
    pub fn min_piece(mut self, bytes: usize) -> Self {
        self.min_piece = bytes.max(1);
        self
    }

    /// Reduces only share `rank` of `size` of the selection's indices along the streamed axis
    /// (contiguous, balanced to within one, as `ndmmap::slab` shares rows): the partial
    /// result of one rank, to [`merge`](Moments::merge) with the others' in rank order.
    pub fn share(mut self, rank: usize, size: usize) -> Self {
        self.share = Some((rank, size));
        self
    }

    /// Calls `f` with the bytes of each window as it is done (for a progress bar).
    pub fn progress<'q>(self, f: &'q (dyn Fn(u64) + Sync)) -> Stats<'q> {
        Stats {
            axis: self.axis,
            slice: self.slice,
            threads: self.threads,
            window: self.window,
            min_piece: self.min_piece,
            share: self.share,
            progress: Some(f),
        }
    }

    /// What the reduction of `a` will be: the axis, the result's shape, the count per result,
    /// the bytes streamed. `Err` for a 0-D array, a bad slice or axis, or a bad share.
    pub fn plan<T: bytemuck::Pod, D: Dimension>(&self, a: &MmapArray<T, D>) -> Result<Plan> {
        let fortran = a.ndim() > 1 && a.order() == Order::F;
        Plan::new(self, a.shape(), fortran, size_of::<T>())
    }

    /// The statistics of `a` (or its slice) along the axis.
    pub fn of<T: Reducible, D: Dimension>(&self, a: &MmapArray<T, D>) -> Result<Moments> {
        let plan = self.plan(a)?;
        let cells = match self.pass(a, &plan, None)? {
            Some(c) => c,
            None => Cells::new(plan.out_shape.iter().product())?,
        };
        Ok(Moments::new(plan.out_shape, T::BOOL, cells))
    }

    /// [`of`](Self::of), the results handed to `f` in C order, in consecutive parts
    /// `(index of the part's first result, its moments as a 1-D run)`, each as soon as it is
    /// final: window by window where the streamed axis is the result's outermost (a C-order
    /// array reduced along an inner axis), else all at the end. Memory then stays bounded
    /// however many results there are. An error from `f` ends the pass.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let a = ndmmap::MmapArray::<u16, ndarray::Ix2>::anonymous((100_000, 8))?;
    /// let mut seen = 0;
    /// ndmmap::stats::Stats::along(1).window(1 << 20).each(&a, |first, part| {
    ///     assert_eq!(first, seen); // in order
    ///     seen += part.len();      // of 8 values each
    ///     Ok(())
    /// })?;
    /// assert_eq!(seen, 100_000);
    /// # Ok(()) }
    /// ```
    pub fn each<T: Reducible, D: Dimension>(
        &self,
        a: &MmapArray<T, D>,
        mut f: impl FnMut(usize, Moments) -> Result<()>,
    ) -> Result<()> {
        let plan = self.plan(a)?;
        let mut sink = |first: usize, c: Cells<T::Acc>| -> Result<()> {
            let len = c.len();
            f(first, Moments::new(vec![len], T::BOOL, c))
        };
        if let Some(rest) = self.pass(a, &plan, Some(&mut sink))? {
            let len = rest.len();
            f(0, Moments::new(vec![len], T::BOOL, rest))?;
        }
        Ok(())
    }

    /// [`of`](Self::of) for an array whose element type is known at run time, safetensors'
    /// `BF16` included (feature `half`). Complex (and any other unordered) dtypes, and bytes
    /// of a type without arithmetic (`F8_E4M3`, numpy's long double, bytes, str, datetime),
    /// are [`Error::Stats`]; where the bytes are numbers of a type ndmmap has (a datetime's
    /// `i64`), view them as that ([`OtherArray::into_typed`](crate::OtherArray::into_typed))
    /// and reduce it.
    pub fn of_any(&self, a: &AnyArray) -> Result<Moments> {
        any_dispatch!(a, x => self.of(x))
    }

    /// [`each`](Self::each) for an array whose element type is known at run time.
    pub fn each_any(
        &self,
        a: &AnyArray,
        f: impl FnMut(usize, Moments) -> Result<()>,
    ) -> Result<()> {
        any_dispatch!(a, x => self.each(x, f))
    }

    /// Whether [`of_any`](Self::of_any) and [`each_any`](Self::each_any) reduce `a`'s
    /// elements: [`Error::Stats`] with the reason for a dtype they refuse (complex, numpy's
    /// long double, FP8, `BF16` without feature `half`, the bytes of any other
    /// [`AnyArray::Other`]). Nothing is read: a caller going through the arrays of a file can
    /// pass over those that are not numbers before planning a pass.
    ///
    /// ```
    /// use ndmmap::{AnyArray, MmapArray, stats::Stats};
    /// let x = AnyArray::F64(MmapArray::<f64, _>::anonymous(4)?.into_dyn());
    /// let z = MmapArray::<num_complex::Complex64, _>::anonymous(4)?.into_dyn();
    /// let z = AnyArray::ComplexF64(z);
    /// assert!(Stats::reducible(&x).is_ok());
    /// assert!(Stats::reducible(&z).unwrap_err().to_string().contains("complex"));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn reducible(a: &AnyArray) -> Result<()> {
        any_dispatch!(a, x => {
            let _ = x;
            Ok(())
        })
    }

    /// [`plan`](Self::plan) for an array whose element type is known at run time.
    pub fn plan_any(&self, a: &AnyArray) -> Result<Plan> {
        let fortran = a.ndim() > 1 && a.order() == Order::F;
        Plan::new(self, a.shape(), fortran, a.dtype().size)
    }

    /// The one streaming pass over this share of the selection: the results, or with `sink`
    /// the streamable ones handed over as they are final (then `None`, or the results that
    /// were not streamable).
    #[allow(clippy::type_complexity)]
    fn pass<T: Reducible, D: Dimension>(
        &self,
        a: &MmapArray<T, D>,
        plan: &Plan,
        sink: Option<&mut dyn FnMut(usize, Cells<T::Acc>) -> Result<()>>,
    ) -> Result<Option<Cells<T::Acc>>> {
        let total: usize = plan.out_shape.iter().product();
        let disjoint = matches!(plan.a0, Some(ax) if ax != plan.k);
        let mut sink = sink.filter(|_| plan.streams);
        let threads = self.threads.max(1);
        // Every window adds to every result: the first piece of each window into `all`, the
        // others into scratch merged after it in order, so the sums run in memory order (and
        // overflow where numpy's would) whatever the number of threads.
        let mut all = if disjoint {
            None
        } else {
            Some(Cells::new(total)?)
        };
        let mut scratch: Vec<Cells<T::Acc>> = vec![];
        // Each result lies in one window: its piece's results go to `global` or the sink.
        let mut global = if disjoint && sink.is_none() {
            Some(Cells::new(total)?)
        } else {
            None
        };
        let guarded = |v: ArrayView<'_, T, IxDyn>, out: &mut Cells<T::Acc>, place: Place| {
            let mut b = Block::new();
            // A file truncated meanwhile is an error, not SIGBUS, on every thread.
            a.guarded(|_| kernel::reduce(v, plan.k, out, place, &mut b))?
        };
        // Each window's results are held while it is reduced: at most about RESULTS of them.
        let window = match plan.a0 {
            Some(ax) if disjoint => {
                let r = if ax < plan.k { ax } else { ax - 1 };
                let per_index = total.checked_div(plan.out_shape[r]).unwrap_or(1).max(1);
                let rows = (RESULTS / per_index).max(1);
                self.window.min(rows.saturating_mul(plan.row_bytes))
            }
            _ => self.window,
        };
        let stream = Stream::new(a)?.range(plan.part.clone())?.bytes(window);
        for (c0, win) in stream {
            let c1 = c0 + win.shape()[plan.s];
            if let Some((local, j0)) = plan.local(c0, c1) {
                let v = win.into_dyn().slice_move(local.as_slice());
                let bytes = v.len().saturating_mul(size_of::<T>());
                let mut n = threads.min(bytes / self.min_piece).max(1);
                // A window not yet in RAM is read at the disk's pace: one thread follows the
                // read-ahead through it, where two would fault it in at two places at once
                // (cold, 2 threads read 0.89x as fast as 1). A file-backed window is split
                // between threads only when its pages are resident.
                if n > 1
                    && a.file().is_some()
                    && a.pages_along(plan.s, c0..c1)
                        .and_then(|p| p.residency())
                        .is_ok_and(|r| r.resident < r.total)
                {
                    n = 1;
                }
                let pieces = match plan.a0 {
                    Some(ax) => split(v, ax, n),
                    None => vec![(0, v)],
                };
                if disjoint {
                    let done = parallel(pieces, |(off, v)| {
                        let place = plan.place(v.shape(), j0 + off);
                        let results = v
                            .shape()
                            .iter()
                            .enumerate()
                            .filter(|&(j, _)| j != plan.k)
                            .map(|(_, &d)| d)
                            .product();
                        let mut out = Cells::new(results)?;
                        if v.shape()[plan.k] > 0 {
                            guarded(v, &mut out, Place::SAME)?;
                        }
                        Ok((place, out))
                    });
                    for r in done {
                        let (place, out) = r?;
                        match (&mut sink, &mut global) {
                            (Some(f), _) => f(place.at(0), out)?,
                            (None, Some(g)) => g.merge_all(&out, |j| place.at(j)),
                            (None, None) => unreachable!("disjoint results go somewhere"),
                        }
                    }
                } else {
                    let all = all.as_mut().expect("accumulated results");
                    while scratch.len() + 1 < pieces.len() {
                        scratch.push(Cells::new(total)?);
                    }
                    let used = pieces.len() - 1;
                    let outs = std::iter::once(&mut *all).chain(scratch.iter_mut());
                    let jobs: Vec<_> = pieces.into_iter().zip(outs).collect();
                    for r in parallel(jobs, |((_, v), out)| guarded(v, out, Place::SAME)) {
                        r?;
                    }
                    for s in &mut scratch[..used] {
                        all.merge_all(s, |j| j);
                        s.clear();
                    }
                }
            }
            if let Some(p) = self.progress {
                p(((c1 - c0) as u64).saturating_mul(plan.row_bytes as u64));
            }
        }
        Ok(if disjoint { global } else { all })
    }
}

/// Calls `$body` with the typed array of `$a` bound to `$x`, for every dtype statistics reduce.
macro_rules! any_dispatch {
    ($a:expr, $x:ident => $body:expr) => {
        match $a {
            AnyArray::U8($x) => $body,
            AnyArray::I8($x) => $body,
            AnyArray::Bool($x) => $body,
            AnyArray::U16($x) => $body,
            AnyArray::I16($x) => $body,
            AnyArray::U32($x) => $body,
            AnyArray::I32($x) => $body,
            AnyArray::U64($x) => $body,
            AnyArray::I64($x) => $body,
            #[cfg(feature = "half")]
            AnyArray::F16($x) => $body,
            AnyArray::F32($x) => $body,
            AnyArray::F64($x) => $body,
            AnyArray::UnalignedU16($x) => $body,
            AnyArray::UnalignedI16($x) => $body,
            AnyArray::UnalignedU32($x) => $body,
            AnyArray::UnalignedI32($x) => $body,
            AnyArray::UnalignedU64($x) => $body,
            AnyArray::UnalignedI64($x) => $body,
            #[cfg(feature = "half")]
            AnyArray::UnalignedF16($x) => $body,
            AnyArray::UnalignedF32($x) => $body,
            AnyArray::UnalignedF64($x) => $body,
            AnyArray::SwappedU16($x) => $body,
            AnyArray::SwappedI16($x) => $body,
            AnyArray::SwappedU32($x) => $body,
            AnyArray::SwappedI32($x) => $body,
            AnyArray::SwappedU64($x) => $body,
            AnyArray::SwappedI64($x) => $body,
            #[cfg(feature = "half")]
            AnyArray::SwappedF16($x) => $body,
            AnyArray::SwappedF32($x) => $body,
            AnyArray::SwappedF64($x) => $body,
            #[cfg(feature = "half")]
            AnyArray::Other(o) if o.type_name() == "BF16" => o
                .with_typed(|$x: &MmapArray<Unaligned<half::bf16>, ndarray::IxDyn>| $body)
                .unwrap_or_else(|| {
                    Err(Error::Stats {
                        why: "BF16 elements of 2 bytes expected".into(),
                    })
                }),
            AnyArray::Other(o) => Err(Error::Stats {
                why: match (o.dtype().kind, o.dtype().size) {
                    ('f', 16) | ('c', 32) => format!(
                        "dtype {} is x87 long double (numpy's longdouble), which no Rust type \
                         holds",
                        o.type_name()
                    ),
                    _ if o.type_name() == "BF16" => "BF16 needs ndmmap's feature `half`".into(),
                    _ => format!("dtype {} holds no numbers statistics reduce", o.type_name()),
                },
            }),
            other => Err(Error::Stats {
                why: format!(
                    "dtype {} cannot be reduced: complex numbers have no order for min and \
                     max; reduce the real or imaginary part, or the magnitude, instead",
                    other.dtype().descr()
                ),
            }),
        }
    };
}
use any_dispatch;

/// `v` cut along `ax` into at most `n` pieces (balanced to within one index), each with its
/// first index along `ax`.
fn split<'a, T>(
    v: ArrayView<'a, T, IxDyn>,
    ax: usize,
    n: usize,
) -> Vec<(usize, ArrayView<'a, T, IxDyn>)> {
    let len = v.shape()[ax];
    let n = n.min(len).max(1);
    (0..n)
        .map(|i| {
            let r = balanced(len, i, n);
            (r.start, v.clone().slice_axis_move(Axis(ax), Slice::from(r)))
        })
        .collect()
}

/// The share `i` of `n` of `len` indices: contiguous, in order, balanced to within one (the
/// first `len % n` shares one more).
pub(crate) fn balanced(len: usize, i: usize, n: usize) -> Range<usize> {
    let (per, extra) = (len / n, len % n);
    let start = i * per + i.min(extra);
    start..start + per + usize::from(i < extra)
}

/// Runs `f` on each job, the first on this thread and the others on scoped threads; the
/// results in the jobs' order.
fn parallel<J: Send, R: Send>(jobs: Vec<J>, f: impl Fn(J) -> Result<R> + Sync) -> Vec<Result<R>> {
    if jobs.len() <= 1 {
        return jobs.into_iter().map(&f).collect();
    }
    std::thread::scope(|sc| {
        let mut it = jobs.into_iter();
        let first = it.next();
        let f = &f;
        let handles: Vec<_> = it.map(|j| sc.spawn(move || f(j))).collect();
        let mut out: Vec<Result<R>> = first.into_iter().map(f).collect();
        for h in handles {
            out.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out
    })
}

/// Where a selection lies in an array, and how its windows become parts of the result.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The selection: one element per axis of the array, bounds resolved.
    elems: Vec<SliceInfoElem>,
    /// The streamed axis of the array: the outermost in memory.
    s: usize,
    /// The indices along `s` that the selection spans.
    rows: Range<usize>,
    /// This share of them.
    part: Range<usize>,
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
    /// Whether the results of a window are a run of the result in C order.
    streams: bool,
}

impl Plan {
    fn new(o: &Stats<'_>, shape: &[usize], fortran: bool, elem_size: usize) -> Result<Plan> {
        let nd = shape.len();
        if nd == 0 {
            return Err(Error::Stats {
                why: "the array is 0-dimensional (a scalar): there is no axis to reduce".into(),
            });
        }
        let mut elems = o.slice.clone().unwrap_or_default();
        if elems.iter().any(|e| matches!(e, SliceInfoElem::NewAxis)) {
            return Err(Error::Stats {
                why: "a new axis in the slice is not supported; reduce without it".into(),
            });
        }
        crate::layout::check_slice(shape, &elems)?;
        elems.resize(nd, SliceInfoElem::from(..));
        // Bounds resolved (0 <= start <= end <= len), as ndarray reads them.
        for (e, &n) in elems.iter_mut().zip(shape) {
            let abs = |x: isize| if x < 0 { x + n as isize } else { x };
            *e = match *e {
                SliceInfoElem::Index(i) => SliceInfoElem::Index(abs(i)),
                SliceInfoElem::Slice { start, end, step } => {
                    let s = abs(start);
                    let e = end.map_or(n as isize, abs).max(s);
                    SliceInfoElem::Slice {
                        start: s,
                        end: Some(e),
                        step,
                    }
                }
                new_axis => new_axis,
            };
        }
        let sel_shape = crate::shape::selection_shape(shape, &elems)?;
        let sel_nd = sel_shape.len();
        if sel_nd == 0 {
            return Err(Error::Stats {
                why: "the slice selects a single element (a scalar): keep at least one axis \
                      to reduce (a range such as i..i+1 instead of the index i)"
                    .into(),
            });
        }
        let k = crate::shape::axis_of(o.axis, sel_nd, o.slice.is_some())?;
        let s = if fortran { nd - 1 } else { 0 };
        let (rows, a0) = match elems[s] {
            SliceInfoElem::Index(i) => (i as usize..i as usize + 1, None),
            SliceInfoElem::Slice { start, end, .. } => {
                let kept = elems[..s]
                    .iter()
                    .filter(|e| !matches!(e, SliceInfoElem::Index(_)))
                    .count();
                (start as usize..end.unwrap_or(start) as usize, Some(kept))
            }
            SliceInfoElem::NewAxis => unreachable!("refused above"),
        };
        let part = match o.share {
            None => rows.clone(),
            Some((rank, size)) if rank < size => {
                let r = balanced(rows.len(), rank, size);
                rows.start + r.start..rows.start + r.end
            }
            Some((rank, size)) => {
                return Err(Error::Stats {
                    why: format!(
                        "share {rank} of {size}: the rank must be below the number of ranks"
                    ),
                });
            }
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
        // Results stream in order where the streamed axis is the result's outermost and is
        // walked forwards (a negative step would hand them over last first).
        let forwards = matches!(elems[s], SliceInfoElem::Slice { step, .. } if step > 0);
        let streams = match a0 {
            Some(ax) if ax != k && forwards => {
                let r = if ax < k { ax } else { ax - 1 };
                out_shape[..r].iter().product::<usize>() == 1
            }
            _ => false,
        };
        Ok(Plan {
            elems,
            s,
            rows,
            part,
            a0,
            k,
            count: sel_shape[k],
            out_shape,
            row_bytes,
            streams,
        })
    }

    /// The reduced axis, of the selection (a negative axis resolved).
    pub fn axis(&self) -> usize {
        self.k
    }

    /// The shape of the result: the selection's without the reduced axis.
    pub fn shape(&self) -> &[usize] {
        &self.out_shape
    }

    /// Values reduced into each result: the selection's length along the axis.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The axis of the array that is streamed: its outermost in memory.
    pub fn streamed_axis(&self) -> usize {
        self.s
    }

    /// The indices of the streamed axis this share reads.
    pub fn indices(&self) -> Range<usize> {
        self.part.clone()
    }

    /// Bytes this share streams.
    pub fn bytes(&self) -> u64 {
        (self.part.len() as u64).saturating_mul(self.row_bytes as u64)
    }

    /// Whether [`Stats::each`] hands the results over window by window.
    pub fn streams(&self) -> bool {
        self.streams
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
            _ => Place::SAME,
        }
    }
}

/// Count, sum, mean, variance, min and max per result, mergeable and serializable: the answer
/// of [`Stats::of`], and a partial one ([`merge`](Self::merge), [`to_bytes`](Self::to_bytes)).
#[derive(Debug, Clone)]
pub struct Moments {
    shape: Vec<usize>,
    boolean: bool,
    cells: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Float(Cells<f64>),
    Int(Cells<i128>),
}

/// Calls `$body` with the cells of `$m` bound to `$c`, whatever their value type.
macro_rules! with_cells {
    ($m:expr, $c:ident => $body:expr) => {
        match $m {
            Inner::Float($c) => $body,
            Inner::Int($c) => $body,
        }
    };
}

const MAGIC: &[u8; 8] = b"ndmstat1";

impl Moments {
    fn new<V: Val>(shape: Vec<usize>, boolean: bool, cells: Cells<V>) -> Moments {
        debug_assert_eq!(cells.len(), shape.iter().product::<usize>());
        Moments {
            shape,
            boolean,
            cells: wrap(cells),
        }
    }

    /// The shape of the result.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of results.
    pub fn len(&self) -> usize {
        with_cells!(&self.cells, c => c.len())
    }

    /// Whether there are no results.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn array<X>(&self, f: impl Fn(usize) -> X) -> ArrayD<X> {
        let v: Vec<X> = (0..self.len()).map(f).collect();
        ArrayD::from_shape_vec(IxDyn(&self.shape), v).expect("one value per result")
    }

    /// Values reduced into each result.
    pub fn count(&self) -> ArrayD<u64> {
        with_cells!(&self.cells, c => self.array(|i| c.n[i]))
    }

    /// The sum of each result (integers exactly, rounded once to `f64`).
    pub fn sum(&self) -> ArrayD<f64> {
        with_cells!(&self.cells, c => self.array(|i| sum_value(c, i).as_f64()))
    }

    /// The sum of each result in the dtype's terms ([`Value::Int`] exactly for integers and
    /// booleans, [`Value::Float`] for floats).
    pub fn sum_values(&self) -> ArrayD<Value> {
        with_cells!(&self.cells, c => self.array(|i| sum_value(c, i)))
    }

    /// numpy's `mean`: the sum over the count; NaN for a result of no values.
    pub fn mean(&self) -> ArrayD<f64> {
        with_cells!(&self.cells, c => self.array(|i| c.mean_of(i)))
    }

    /// numpy's `var(ddof=ddof)`: the sum of squared deviations over `count - ddof` (infinite
    /// or NaN where that is not above 0, as numpy).
    pub fn var(&self, ddof: f64) -> ArrayD<f64> {
        with_cells!(&self.cells, c => self.array(|i| c.var_of(i, ddof)))
    }

    /// numpy's `std(ddof=ddof)`: the square root of [`var`](Self::var).
    pub fn std(&self, ddof: f64) -> ArrayD<f64> {
        self.var(ddof).mapv(f64::sqrt)
    }

    /// The minimum of each result in the dtype's terms (`None` for a result of no values).
    pub fn min(&self) -> ArrayD<Option<Value>> {
        let b = self.boolean;
        with_cells!(&self.cells, c => self.array(|i| (c.n[i] > 0).then(|| c.min[i].value(b))))
    }

    /// The maximum of each result in the dtype's terms (`None` for a result of no values).
    pub fn max(&self) -> ArrayD<Option<Value>> {
        let b = self.boolean;
        with_cells!(&self.cells, c => self.array(|i| (c.n[i] > 0).then(|| c.max[i].value(b))))
    }

    /// Results `range` (in C order) alone, as a 1-D run: a few results of many, say, to show.
    /// `Err` if the range is not within [`len`](Self::len).
    pub fn run(&self, range: Range<usize>) -> Result<Moments> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::Stats {
                why: format!(
                    "results {}..{} asked of {} results",
                    range.start,
                    range.end,
                    self.len()
                ),
            });
        }
        let len = range.len();
        let cells = match &self.cells {
            Inner::Float(c) => Inner::Float(c.range(range)),
            Inner::Int(c) => Inner::Int(c.range(range)),
        };
        Ok(Moments {
            shape: vec![len],
            boolean: self.boolean,
            cells,
        })
    }

    /// Merges the moments of the values that follow these (the next thread's, process's or
    /// rank's part of the same selection), result by result (Chan's update). `Err` if the
    /// shapes or value types differ.
    pub fn merge(&mut self, later: &Moments) -> Result<()> {
        let why = format!(
            "cannot merge partial results of shape {:?} ({}) into shape {:?} ({}): they come \
             from different arrays, axes or slices",
            later.shape,
            later.kind_name(),
            self.shape,
            self.kind_name()
        );
        let mismatch = || Error::Stats { why: why.clone() };
        if later.shape != self.shape || later.boolean != self.boolean {
            return Err(mismatch());
        }
        match (&mut self.cells, &later.cells) {
            (Inner::Float(a), Inner::Float(b)) => a.merge_all(b, |j| j),
            (Inner::Int(a), Inner::Int(b)) => a.merge_all(b, |j| j),
            _ => return Err(mismatch()),
        }
        Ok(())
    }

    fn kind(&self) -> u8 {
        match (&self.cells, self.boolean) {
            (Inner::Float(_), _) => 0,
            (Inner::Int(_), false) => 1,
            (Inner::Int(_), true) => 2,
        }
    }

    fn kind_name(&self) -> &'static str {
        ["floats", "integers", "booleans"][self.kind() as usize]
    }

    /// The moments as bytes (little-endian, versioned), for [`from_bytes`](Self::from_bytes)
    /// in another process.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(self.kind());
        out.extend_from_slice(&(self.shape.len() as u32).to_le_bytes());
        for &d in &self.shape {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        with_cells!(&self.cells, c => c.put(&mut out));
        out
    }

    /// Moments from [`to_bytes`](Self::to_bytes). Every length is checked against the bytes
    /// given before anything is allocated: `Err` (never a panic) for bytes that are not moments.
    pub fn from_bytes(b: &[u8]) -> Result<Moments> {
        let bad = |why: String| Error::Stats {
            why: format!("the bytes are not partial results: {why}"),
        };
        if b.len() < 13 || &b[..8] != MAGIC {
            return Err(bad(format!(
                "they do not start with {:?} and a kind ({} bytes)",
                std::str::from_utf8(MAGIC).unwrap_or_default(),
                b.len()
            )));
        }
        let kind = b[8];
        let ndim = u32::from_le_bytes([b[9], b[10], b[11], b[12]]) as usize;
        if kind > 2 || ndim > 64 {
            return Err(bad(format!("kind {kind}, {ndim} axes")));
        }
        let head = 13 + 8 * ndim;
        if b.len() < head {
            return Err(bad(format!("{} bytes, too few for {ndim} axes", b.len())));
        }
        let shape: Vec<usize> = b[13..head]
            .chunks_exact(8)
            .map(|d| usize::try_from(u64::from_le_bytes(d.try_into().unwrap_or_default())))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad("an axis longer than this machine's memory".into()))?;
        let len = shape
            .iter()
            .try_fold(1usize, |p, &d| p.checked_mul(d))
            .ok_or_else(|| bad(format!("shape {shape:?} overflows")))?;
        let rest = &b[head..];
        let record = if kind == 0 {
            Cells::<f64>::RECORD
        } else {
            Cells::<i128>::RECORD
        };
        if len.checked_mul(record) != Some(rest.len()) {
            return Err(bad(format!(
                "shape {shape:?} needs {len} records of {record} bytes, and {} bytes follow",
                rest.len()
            )));
        }
        let cells = if kind == 0 {
            Inner::Float(Cells::get(rest, len)?)
        } else {
            Inner::Int(Cells::get(rest, len)?)
        };
        Ok(Moments {
            shape,
            boolean: kind == 2,
            cells,
        })
    }
}

fn wrap<V: Val>(c: Cells<V>) -> Inner {
    // `V` is f64 or i128 (sealed): one of the two casts holds.
    let any: Box<dyn std::any::Any> = Box::new(c);
    match any.downcast::<Cells<f64>>() {
        Ok(f) => Inner::Float(*f),
        Err(any) => Inner::Int(*any.downcast::<Cells<i128>>().expect("f64 or i128")),
    }
}

fn sum_value<V: Val>(c: &Cells<V>, i: usize) -> Value {
    V::sum_value(c.sum[i])
}

#[cfg(test)]
mod tests;
