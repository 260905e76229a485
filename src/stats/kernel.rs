//! The reduction of one window's selection along one axis into [`Cells`]: blocks of rows small
//! enough to stay in cache, or lanes where each result's values lie close together.
//!
//! Each block is summed (with min and max), then its deviations from its center (its plain
//! mean) are summed and squared in a second pass over the cached block: numpy's own two-pass
//! method, corrected by the deviations' sum. Blocks merge into the results with Chan's update.

use super::Reducible;
use super::cells::{Cells, Part, Val, alloc};
use crate::error::Result;
use ndarray::{ArrayView, Axis, Ix1, Ix2, IxDyn, Slice};

/// Bytes of elements in a block of rows: small enough that the block is still in cache for
/// its second pass.
const BLOCK_BYTES: usize = 512 << 10;

/// Rows per block at least, even when they overflow the cache: a block merges into every
/// result once, which costs more than a second read of its rows from memory.
const BLOCK_ROWS: usize = 16;

/// Values per block of a lane (a reduction along the innermost axis in memory).
const LANE_BLOCK: usize = 4096;

/// Result `t` of a window goes to `(t / run) * stride + offset + t % run` of the whole result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub run: usize,
    pub stride: usize,
    pub offset: usize,
}

impl Place {
    /// Every result to itself.
    pub const SAME: Place = Place {
        run: usize::MAX,
        stride: 0,
        offset: 0,
    };

    #[inline]
    pub fn at(self, t: usize) -> usize {
        if self.run == usize::MAX {
            t + self.offset
        } else {
            (t / self.run) * self.stride + self.offset + t % self.run
        }
    }
}

/// Per-result scratch for one block of rows.
pub struct Block<V: Val> {
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
    pub fn new() -> Block<V> {
        Block {
            sum: vec![],
            center: vec![],
            esum: vec![],
            e2sum: vec![],
            min: vec![],
            max: vec![],
        }
    }

    /// The first `cells` results' centers (their block's plain mean, from its sum of `len`
    /// values), and their deviation sums, zeroed for the second pass.
    fn centers(&mut self, cells: usize, len: usize) -> (&mut [f64], &mut [f64], &mut [f64]) {
        for (c, s) in self.center[..cells].iter_mut().zip(&self.sum[..cells]) {
            *c = V::sum_f64(*s) / len as f64;
        }
        self.esum[..cells].fill(0.0);
        self.e2sum[..cells].fill(0.0);
        (
            &mut self.center[..cells],
            &mut self.esum[..cells],
            &mut self.e2sum[..cells],
        )
    }

    fn fit(&mut self, len: usize) -> Result<()> {
        if self.sum.len() < len {
            *self = Block {
                sum: alloc(len, V::Sum::default())?,
                center: alloc(len, 0.0)?,
                esum: alloc(len, 0.0)?,
                e2sum: alloc(len, 0.0)?,
                min: alloc(len, V::ZERO)?,
                max: alloc(len, V::ZERO)?,
            };
        }
        Ok(())
    }
}

/// A row of a block: the values of every result of a window, in C order.
enum Row<'a, E> {
    Slice(&'a [E]),
    View(ArrayView<'a, E, IxDyn>),
}

impl<E: Copy> Row<'_, E> {
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

    /// Value `c` of the row (C order); for the rare scan for NaN.
    fn at(&self, c: usize) -> Option<E> {
        match self {
            Row::Slice(s) => s.get(c).copied(),
            Row::View(v) => v.iter().nth(c).copied(),
        }
    }
}

/// Reduces one block of `len` rows (`rows()` walks them, and is called twice: the block is
/// still in cache for its second pass) and merges it into `out` at `place`.
fn block<'r, E: Reducible + 'r, I: Iterator<Item = Row<'r, E>>>(
    rows: impl Fn() -> I,
    len: usize,
    cells: usize,
    b: &mut Block<E::Acc>,
    out: &mut Cells<E::Acc>,
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
            let x = e.acc();
            (*s, *lo, *hi) = (x.start(), x, x);
        });
    }
    for row in it {
        row.zip3(sum, lo, hi, |e, s, lo, hi| {
            let x = e.acc();
            *s = <E::Acc as Val>::add(*s, x);
            *lo = Val::lo_fast(*lo, x);
            *hi = Val::hi_fast(*hi, x);
        });
    }
    nan_scan(&rows, cells, sum, lo, hi);
    let (center, esum, e2sum) = b.centers(cells, len);
    if len > 1 {
        for row in rows() {
            row.zip3(center, esum, e2sum, |e, c, es, e2| {
                let d = e.acc().f() - *c;
                *es += d;
                *e2 += d * d;
            });
        }
    }
    merge_block(len, cells, b, out, place);
}

/// [`block`] for rows that lie one after the other in memory (`part` holds whole rows of
/// `cells` values): four rows per sweep over the results, so each result's running sum, min
/// and max are loaded and stored once per four values, not once per value (the same order of
/// additions as one row at a time).
fn block_flat<E: Reducible>(
    part: &[E],
    cells: usize,
    b: &mut Block<E::Acc>,
    out: &mut Cells<E::Acc>,
    place: Place,
) {
    type V<E> = <E as Reducible>::Acc;
    let len = part.len() / cells;
    if len == 0 {
        return;
    }
    let (sum, lo, hi) = (
        &mut b.sum[..cells],
        &mut b.min[..cells],
        &mut b.max[..cells],
    );
    let (first, rest) = part.split_at(cells);
    for (((e, s), lo), hi) in first.iter().zip(&mut *sum).zip(&mut *lo).zip(&mut *hi) {
        let x = e.acc();
        (*s, *lo, *hi) = (x.start(), x, x);
    }
    let mut fours = rest.chunks_exact(4 * cells);
    for four in &mut fours {
        let (r01, r23) = four.split_at(2 * cells);
        let ((r0, r1), (r2, r3)) = (r01.split_at(cells), r23.split_at(cells));
        let rows = r0.iter().zip(r1).zip(r2.iter().zip(r3));
        for ((((x0, x1), (x2, x3)), s), (lo, hi)) in
            rows.zip(&mut *sum).zip(lo.iter_mut().zip(hi.iter_mut()))
        {
            let (x0, x1, x2, x3) = (x0.acc(), x1.acc(), x2.acc(), x3.acc());
            let add = <V<E> as Val>::add;
            *s = add(add(add(add(*s, x0), x1), x2), x3);
            *lo = Val::lo_fast(
                Val::lo_fast(*lo, x0),
                Val::lo_fast(x1, Val::lo_fast(x2, x3)),
            );
            *hi = Val::hi_fast(
                Val::hi_fast(*hi, x0),
                Val::hi_fast(x1, Val::hi_fast(x2, x3)),
            );
        }
    }
    for row in fours.remainder().chunks_exact(cells) {
        for (((e, s), lo), hi) in row.iter().zip(&mut *sum).zip(&mut *lo).zip(&mut *hi) {
            let x = e.acc();
            *s = <V<E> as Val>::add(*s, x);
            *lo = Val::lo_fast(*lo, x);
            *hi = Val::hi_fast(*hi, x);
        }
    }
    let rows = || part.chunks_exact(cells).map(Row::Slice);
    nan_scan(rows, cells, sum, lo, hi);
    let (center, esum, e2sum) = b.centers(cells, len);
    if len > 1 {
        let mut fours = part.chunks_exact(4 * cells);
        for four in &mut fours {
            let (r01, r23) = four.split_at(2 * cells);
            let ((r0, r1), (r2, r3)) = (r01.split_at(cells), r23.split_at(cells));
            let rows = r0.iter().zip(r1).zip(r2.iter().zip(r3));
            for ((((x0, x1), (x2, x3)), c), (es, e2)) in rows
                .zip(&*center)
                .zip(esum.iter_mut().zip(e2sum.iter_mut()))
            {
                let d = [x0, x1, x2, x3].map(|x| x.acc().f() - *c);
                *es += (d[0] + d[1]) + (d[2] + d[3]);
                *e2 += (d[0] * d[0] + d[1] * d[1]) + (d[2] * d[2] + d[3] * d[3]);
            }
        }
        for row in fours.remainder().chunks_exact(cells) {
            for ((x, c), (es, e2)) in row
                .iter()
                .zip(&*center)
                .zip(esum.iter_mut().zip(e2sum.iter_mut()))
            {
                let d = x.acc().f() - *c;
                *es += d;
                *e2 += d * d;
            }
        }
    }
    merge_block(len, cells, b, out, place);
}

/// The fast min and max let NaN through: a NaN makes the sum NaN, so only the results whose
/// sum is NaN are scanned for one.
fn nan_scan<'r, E: Reducible + 'r, I: Iterator<Item = Row<'r, E>>>(
    rows: impl Fn() -> I,
    cells: usize,
    sum: &[<E::Acc as Val>::Sum],
    lo: &mut [E::Acc],
    hi: &mut [E::Acc],
) {
    for c in 0..cells {
        if <E::Acc as Val>::sum_is_nan(sum[c])
            && let Some(nan) = rows().find_map(|r| r.at(c).map(|e| e.acc()).filter(|x| x.is_nan()))
        {
            (lo[c], hi[c]) = (nan, nan);
        }
    }
}

/// Merges a block's scratch (`len` rows, `cells` results) into `out` at `place`.
fn merge_block<V: Val>(len: usize, cells: usize, b: &Block<V>, out: &mut Cells<V>, place: Place) {
    for c in 0..cells {
        let at = place.at(c);
        let p = Part::of_block(
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

/// Reduces part of one lane (values of one result; `values()` is called twice, `sum` gives
/// their sum) and merges it into result `at` of `out`.
fn lane_block<'r, E: Reducible + 'r, I: Iterator<Item = &'r E>>(
    values: impl Fn() -> I,
    sum: impl FnOnce() -> <E::Acc as Val>::Sum,
    out: &mut Cells<E::Acc>,
    at: usize,
) {
    let mut it = values();
    let Some(first) = it.next() else { return };
    let x = first.acc();
    let (mut lo, mut hi, mut n) = (x, x, 1u64);
    for e in it {
        let x = e.acc();
        lo = Val::lo_fast(lo, x);
        hi = Val::hi_fast(hi, x);
        n += 1;
    }
    let sum = sum();
    if <E::Acc as Val>::sum_is_nan(sum)
        && let Some(nan) = values().map(|e| e.acc()).find(|x| x.is_nan())
    {
        (lo, hi) = (nan, nan);
    }
    let center = <E::Acc as Val>::sum_f64(sum) / n as f64;
    let (mut esum, mut e2sum) = (0.0, 0.0);
    if n > 1 {
        for e in values() {
            let d = e.acc().f() - center;
            esum += d;
            e2sum += d * d;
        }
    }
    let p = Part::of_block(n, sum, center, esum, e2sum, lo, hi, out.shift(at));
    out.merge(at, p);
}

/// Reduces the window's selection `v` along `k` and merges its results (in C order of `v`
/// without `k`) into `out` at `place`.
pub fn reduce<E: Reducible>(
    v: ArrayView<'_, E, IxDyn>,
    k: usize,
    out: &mut Cells<E::Acc>,
    place: Place,
    b: &mut Block<E::Acc>,
) -> Result<()> {
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
    if cells == 1 || innermost {
        // Lane by lane: each result's values lie close together (or there is one result).
        // Short lanes laid end to end in memory are walked as one slice.
        let mut perm: Vec<usize> = (0..v.ndim()).filter(|&j| j != k).collect();
        perm.push(k);
        if nk <= LANE_BLOCK
            && let Some(flat) = v.clone().permuted_axes(perm).to_slice()
        {
            for (t, lane) in flat.chunks_exact(nk).enumerate() {
                let sum = || <E::Acc as Val>::lane_sum(lane, E::acc);
                lane_block(|| lane.iter(), sum, out, place.at(t));
            }
            return Ok(());
        }
        for (t, lane) in v.lanes(Axis(k)).into_iter().enumerate() {
            let at = place.at(t);
            match lane.to_slice() {
                Some(s) => {
                    for part in s.chunks(LANE_BLOCK) {
                        let sum = || <E::Acc as Val>::lane_sum(part, E::acc);
                        lane_block(|| part.iter(), sum, out, at);
                    }
                }
                None => {
                    for i in (0..nk).step_by(LANE_BLOCK) {
                        let part =
                            lane.slice_axis(Axis(0), Slice::from(i..(i + LANE_BLOCK).min(nk)));
                        let sum = || {
                            let mut it = part.iter();
                            let first =
                                it.next().map_or_else(Default::default, |e| e.acc().start());
                            it.fold(first, |s, e| <E::Acc as Val>::add(s, e.acc()))
                        };
                        lane_block(|| part.iter(), sum, out, at);
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
    b.fit(cells)?;
    let per = (BLOCK_BYTES / cells.saturating_mul(size_of::<E>()).max(1))
        .max(BLOCK_ROWS)
        .min(nk);
    match w.to_slice() {
        Some(flat) => {
            for part in flat.chunks(per * cells) {
                block_flat(part, cells, b, out, place);
            }
        }
        None => {
            for i in (0..nk).step_by(per) {
                let part = w.slice_axis(Axis(0), Slice::from(i..(i + per).min(nk)));
                block(
                    || part.outer_iter().map(Row::View),
                    part.shape()[0],
                    cells,
                    b,
                    out,
                    place,
                );
            }
        }
    }
    Ok(())
}
