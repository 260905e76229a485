//! Per-result running moments ([`Cells`]): count, sum, min, max and the centered second moment,
//! merged with Chan's pairwise update, and their wire format.

use crate::error::{Error, Result};
use crate::stats::Value;

/// The values of an element type as reduced: `f64` for floats, `i128` for integers and
/// booleans (summed exactly). Sealed: implemented for those two only.
pub trait Val: Copy + Send + Sync + PartialOrd + std::fmt::Debug + 'static {
    /// The sum's type: a plain `f64` sum for floats, an exact `i128` for integers.
    type Sum: Copy + Default + Send + Sync + std::fmt::Debug;
    /// 0 for floats, 1 for integers (the wire format's kind, with 2 for booleans).
    const KIND: u8;
    /// Bytes of a value and of a sum on the wire.
    const SIZE: usize;
    const SUM_SIZE: usize;
    const ZERO: Self;
    fn start(self) -> Self::Sum;
    fn add(s: Self::Sum, x: Self) -> Self::Sum;
    fn join(a: Self::Sum, b: Self::Sum) -> Self::Sum;
    fn sum_f64(s: Self::Sum) -> f64;
    fn f(self) -> f64;
    /// min and max that propagate NaN, as numpy's.
    fn lo(a: Self, b: Self) -> Self;
    fn hi(a: Self, b: Self) -> Self;
    /// min and max for the hot loops (`minsd`/`maxsd`: NaN is not propagated; a block whose
    /// sum is NaN is scanned for NaN afterwards).
    #[inline(always)]
    fn lo_fast(a: Self, x: Self) -> Self {
        if x < a { x } else { a }
    }
    #[inline(always)]
    fn hi_fast(a: Self, x: Self) -> Self {
        if x > a { x } else { a }
    }
    fn is_nan(self) -> bool {
        false
    }
    fn sum_is_nan(_: Self::Sum) -> bool {
        false
    }
    fn is_inf(self) -> bool {
        false
    }
    /// numpy's sum of a contiguous lane (pairwise for floats), of the values `f` reads.
    fn lane_sum<E>(s: &[E], f: impl Fn(&E) -> Self + Copy) -> Self::Sum;
    fn value(self, boolean: bool) -> Value;
    fn sum_value(s: Self::Sum) -> Value;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
    fn put_sum(s: Self::Sum, out: &mut Vec<u8>);
    fn get_sum(b: &[u8]) -> Self::Sum;
}

fn le<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

/// numpy's pairwise summation (`DOUBLE_pairwise_sum`): eight accumulators over blocks of up to
/// 128 values, halves (cut at a multiple of 8) above that. Its order matters beyond rounding:
/// it decides whether a sum of huge values of both signs overflows (numpy's NaN for
/// alternating ±1e308) or cancels.
fn pairwise<E>(a: &[E], f: impl Fn(&E) -> f64 + Copy) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for x in a {
            res += f(x);
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        for (r, x) in r.iter_mut().zip(a) {
            *r = f(x);
        }
        let whole = n - n % 8;
        for block in a[8..whole].chunks_exact(8) {
            for (r, x) in r.iter_mut().zip(block) {
                *r += f(x);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for x in &a[whole..] {
            res += f(x);
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2], f) + pairwise(&a[n2..], f)
    }
}

impl Val for f64 {
    type Sum = f64;
    const KIND: u8 = 0;
    const SIZE: usize = 8;
    const SUM_SIZE: usize = 8;
    const ZERO: f64 = 0.0;
    #[inline(always)]
    fn start(self) -> f64 {
        self
    }
    #[inline(always)]
    fn add(s: f64, x: f64) -> f64 {
        s + x
    }
    fn join(a: f64, b: f64) -> f64 {
        a + b
    }
    fn sum_f64(s: f64) -> f64 {
        s
    }
    #[inline(always)]
    fn f(self) -> f64 {
        self
    }
    fn lo(a: f64, b: f64) -> f64 {
        if a < b || a.is_nan() { a } else { b }
    }
    fn hi(a: f64, b: f64) -> f64 {
        if a > b || a.is_nan() { a } else { b }
    }
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    fn sum_is_nan(s: f64) -> bool {
        s.is_nan()
    }
    fn is_inf(self) -> bool {
        self.is_infinite()
    }
    fn lane_sum<E>(s: &[E], f: impl Fn(&E) -> f64 + Copy) -> f64 {
        pairwise(s, f)
    }
    fn value(self, _: bool) -> Value {
        Value::Float(self)
    }
    fn sum_value(s: f64) -> Value {
        Value::Float(s)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> f64 {
        f64::from_le_bytes(le(b))
    }
    fn put_sum(s: f64, out: &mut Vec<u8>) {
        s.put(out);
    }
    fn get_sum(b: &[u8]) -> f64 {
        f64::get(b)
    }
}

impl Val for i128 {
    type Sum = i128;
    const KIND: u8 = 1;
    const SIZE: usize = 16;
    const SUM_SIZE: usize = 16;
    const ZERO: i128 = 0;
    #[inline(always)]
    fn start(self) -> i128 {
        self
    }
    #[inline(always)]
    fn add(s: i128, x: i128) -> i128 {
        // Exact: 2^64 values of 2^64 each stay far below 2^127.
        s + x
    }
    fn join(a: i128, b: i128) -> i128 {
        a.saturating_add(b)
    }
    fn sum_f64(s: i128) -> f64 {
        s as f64
    }
    #[inline(always)]
    fn f(self) -> f64 {
        self as f64
    }
    fn lo(a: i128, b: i128) -> i128 {
        a.min(b)
    }
    fn hi(a: i128, b: i128) -> i128 {
        a.max(b)
    }
    fn lane_sum<E>(s: &[E], f: impl Fn(&E) -> i128 + Copy) -> i128 {
        s.iter().map(f).sum()
    }
    fn value(self, boolean: bool) -> Value {
        if boolean {
            Value::Bool(self != 0)
        } else {
            Value::Int(self)
        }
    }
    fn sum_value(s: i128) -> Value {
        Value::Int(s)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> i128 {
        i128::from_le_bytes(le(b))
    }
    fn put_sum(s: i128, out: &mut Vec<u8>) {
        s.put(out);
    }
    fn get_sum(b: &[u8]) -> i128 {
        i128::get(b)
    }
}

/// What a part (a block, a lane, a window, another rank) adds to one result: its count, sum,
/// min and max, and its mean less the result's shift with its M2 (the sum of squared
/// deviations from its mean).
#[derive(Debug, Clone, Copy)]
pub struct Part<V: Val> {
    pub n: u64,
    pub sum: V::Sum,
    pub shift: f64,
    pub mean: f64,
    pub m2: f64,
    pub lo: V,
    pub hi: V,
}

impl<V: Val> Part<V> {
    /// What a block of `n` values adds to a result whose shift is `shift` (`None` before its
    /// first values): the corrected two-pass method around the block's own center (Chan, Golub
    /// and LeVeque): M2 from the deviations `esum`, `e2sum` less the square of their sum, and
    /// the mean less the shift as the center's offset plus the deviations' mean.
    #[allow(clippy::too_many_arguments)]
    pub fn of_block(
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
}

/// A vector of `n` copies of `v`, or an error (not an abort) when it does not fit in memory.
pub fn alloc<T: Clone>(n: usize, v: T) -> Result<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| Error::Stats {
        why: format!("the result has {n} values per statistic, too many to hold in memory"),
    })?;
    out.resize(n, v);
    Ok(out)
}

/// Per result: count, sum, shift, the mean of the values less the shift, M2, min and max.
///
/// The means are kept less one shift per result, the center of its first block: they are then
/// of the size of the spread, not of the values, so a column of 1e4 ± 1e-2 keeps its standard
/// deviation to the last digits when parts are merged (Chan's update is first-order in the
/// parts' means, whose rounding would otherwise be 1e-16 of 1e4, not of 1e-2).
#[derive(Debug, Clone)]
pub struct Cells<V: Val> {
    pub n: Vec<u64>,
    pub sum: Vec<V::Sum>,
    pub shift: Vec<f64>,
    pub mean: Vec<f64>,
    pub m2: Vec<f64>,
    pub min: Vec<V>,
    pub max: Vec<V>,
}

impl<V: Val> Cells<V> {
    pub fn new(len: usize) -> Result<Cells<V>> {
        Ok(Cells {
            n: alloc(len, 0)?,
            sum: alloc(len, V::Sum::default())?,
            shift: alloc(len, 0.0)?,
            mean: alloc(len, 0.0)?,
            m2: alloc(len, 0.0)?,
            min: alloc(len, V::ZERO)?,
            max: alloc(len, V::ZERO)?,
        })
    }

    pub fn len(&self) -> usize {
        self.n.len()
    }

    /// The shift of result `i`, or `None` before its first value.
    pub fn shift(&self, i: usize) -> Option<f64> {
        (self.n[i] > 0).then(|| self.shift[i])
    }

    /// Chan's pairwise update: merges a part (its mean less this result's shift, or, as the
    /// first part, with its own) into result `i`.
    pub fn merge(&mut self, i: usize, p: Part<V>) {
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

    /// Result `j` of `other` (of values that follow this result's) as a part of result `i`:
    /// its mean moved from its shift to this result's.
    pub fn part_of(&self, i: usize, other: &Cells<V>, j: usize) -> Part<V> {
        let theirs = other.shift[j];
        let shift = self.shift(i).unwrap_or(theirs);
        Part {
            n: other.n[j],
            sum: other.sum[j],
            shift,
            mean: (theirs - shift) + other.mean[j],
            m2: other.m2[j],
            lo: other.min[j],
            hi: other.max[j],
        }
    }

    /// Merges every result of `other` into the result `at(j)` of this.
    pub fn merge_all(&mut self, other: &Cells<V>, at: impl Fn(usize) -> usize) {
        for j in 0..other.len() {
            let i = at(j);
            let p = self.part_of(i, other, j);
            self.merge(i, p);
        }
    }

    /// Results `r` alone.
    pub fn range(&self, r: std::ops::Range<usize>) -> Cells<V> {
        Cells {
            n: self.n[r.clone()].to_vec(),
            sum: self.sum[r.clone()].to_vec(),
            shift: self.shift[r.clone()].to_vec(),
            mean: self.mean[r.clone()].to_vec(),
            m2: self.m2[r.clone()].to_vec(),
            min: self.min[r.clone()].to_vec(),
            max: self.max[r].to_vec(),
        }
    }

    /// Forgets every result (they read as having no values).
    pub fn clear(&mut self) {
        self.n.fill(0);
    }

    /// Bytes per result on the wire: count, sum, shift, mean, M2, min and max.
    pub const RECORD: usize = 8 + V::SUM_SIZE + 3 * 8 + 2 * V::SIZE;

    pub fn put(&self, out: &mut Vec<u8>) {
        for i in 0..self.len() {
            out.extend_from_slice(&self.n[i].to_le_bytes());
            V::put_sum(self.sum[i], out);
            for x in [self.shift[i], self.mean[i], self.m2[i]] {
                x.put(out);
            }
            self.min[i].put(out);
            self.max[i].put(out);
        }
    }

    /// Cells from `len` records (`b` holds exactly `len * RECORD` bytes).
    pub fn get(b: &[u8], len: usize) -> Result<Cells<V>> {
        let mut c = Cells::new(len)?;
        for (i, r) in b.chunks_exact(Self::RECORD).enumerate() {
            let mut at = 0;
            let mut take = |size: usize| {
                at += size;
                &r[at - size..at]
            };
            c.n[i] = u64::from_le_bytes(le(take(8)));
            c.sum[i] = V::get_sum(take(V::SUM_SIZE));
            c.shift[i] = f64::get(take(8));
            c.mean[i] = f64::get(take(8));
            c.m2[i] = f64::get(take(8));
            c.min[i] = V::get(take(V::SIZE));
            c.max[i] = V::get(take(V::SIZE));
        }
        Ok(c)
    }

    /// numpy's mean of result `i`: its sum over its count (NaN for no values), which also
    /// gives numpy's ±inf or NaN where the sum overflows.
    pub fn mean_of(&self, i: usize) -> f64 {
        match self.n[i] {
            0 => f64::NAN,
            n => V::sum_f64(self.sum[i]) / n as f64,
        }
    }

    /// numpy's variance of result `i` with `ddof`: M2 over `max(n - ddof, 0)`, and numpy's
    /// answers where its own two passes meet infinities: NaN where the mean is NaN or a value
    /// is infinite (`inf - inf` in a deviation), infinity where the values are finite but the
    /// mean or a squared deviation overflowed.
    pub fn var_of(&self, i: usize, ddof: f64) -> f64 {
        let n = self.n[i];
        if n == 0 {
            return f64::NAN;
        }
        let mean = self.mean_of(i);
        if mean.is_nan() || self.min[i].is_inf() || self.max[i].is_inf() {
            return f64::NAN;
        }
        let m2 = if mean.is_infinite() || !self.m2[i].is_finite() {
            f64::INFINITY
        } else {
            self.m2[i]
        };
        m2 / (n as f64 - ddof).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy 2.x's answers (np.sum of these arrays).
    #[test]
    fn pairwise_overflows_where_numpy_does() {
        let alt = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| if i % 2 == 0 { 1e308 } else { -1e308 })
                .collect()
        };
        for (n, want) in [(2, Some(0.0)), (3, Some(1e308)), (10, Some(0.0))] {
            assert_eq!(pairwise(&alt(n), |x| *x), want.unwrap(), "{n}");
        }
        for n in [16, 100, 1000] {
            assert!(pairwise(&alt(n), |x| *x).is_nan(), "{n}");
        }
        assert_eq!(pairwise(&[1e308; 10], |x| *x), f64::INFINITY);
    }

    #[test]
    fn pairwise_is_exact_on_small_integers() {
        for n in [0usize, 1, 7, 8, 9, 127, 128, 129, 1000, 4097] {
            let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(
                pairwise(&v, |x| *x),
                (n * n.saturating_sub(1) / 2) as f64,
                "{n}"
            );
        }
    }

    #[test]
    fn wire_round_trip() {
        let mut c = Cells::<i128>::new(3).unwrap();
        c.merge(
            1,
            Part {
                n: 4,
                sum: -(1i128 << 100),
                shift: 2.5,
                mean: 0.25,
                m2: 9.0,
                lo: -7,
                hi: 1 << 70,
            },
        );
        let mut b = vec![];
        c.put(&mut b);
        assert_eq!(b.len(), 3 * Cells::<i128>::RECORD);
        let d = Cells::<i128>::get(&b, 3).unwrap();
        assert_eq!((d.n, d.sum[1], d.max[1]), (c.n, c.sum[1], c.max[1]));
    }
}
