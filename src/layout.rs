//! Pure, checked arithmetic: shapes to byte sizes, alignment, byte ranges to page spans, and
//! slice geometry: where an index of a slice lies in the array ([`slice_origin`]), consecutive
//! indices folded into groups ([`even_groups`]), and whether the groups along an axis are each
//! one stretch of memory.
//!
//! Nothing here touches the OS; every function is total (returns an [`Error`] or `None`
//! instead of overflowing or panicking) and unit-tested below.

use crate::error::{Error, Result, SliceError};
use ndarray::{Dimension, SliceInfoElem};
use std::ops::Range;

/// The pages a run of bytes spans, measured from the page that holds its first byte.
///
/// `lead` is how far the first byte sits past the start of its page (an unaligned offset),
/// so the span covers `lead + len` bytes and `page_count = ceil((lead + len) / page_size)` pages.
/// An empty run spans no pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageSpan {
    /// Bytes between the start of the first page and the first byte of the run.
    pub lead: usize,
    /// Number of pages touched by the run (0 for an empty run).
    pub page_count: usize,
    /// The page size the span was computed with.
    pub page_size: usize,
}

impl PageSpan {
    /// The span of `len` bytes starting at address (or file offset) `start`.
    pub fn new(start: usize, len: usize, page_size: usize) -> PageSpan {
        let lead = start % page_size;
        let page_count = if len == 0 {
            0
        } else {
            (lead + len).div_ceil(page_size)
        };
        PageSpan {
            lead,
            page_count,
            page_size,
        }
    }

    /// Total bytes covered by the pages of the span.
    pub fn span_bytes(&self) -> usize {
        self.page_count * self.page_size
    }
}

/// Byte size of an array of `shape` with `elem_size`-byte elements, refusing shapes whose
/// non-empty axes hold more than `isize::MAX` bytes, as numpy and ndarray refuse them (so
/// `(2^62, 0)` of `f64` is refused although it holds no bytes).
pub(crate) fn checked_bytes(shape: &[usize], elem_size: usize) -> Result<usize> {
    let overflow = || Error::SizeOverflow {
        shape: shape.to_vec(),
        elem_size,
    };
    let bytes = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(elem_size, |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(overflow)?;
    Ok(if shape.contains(&0) { 0 } else { bytes })
}

/// The end of `offset + len` as a file position, refusing a wrap.
pub(crate) fn checked_end(offset: u64, len: usize) -> Result<u64> {
    offset
        .checked_add(len as u64)
        .ok_or(Error::OffsetOverflow { offset, len })
}

/// `Ok` when a byte offset keeps elements of alignment `align` aligned (pages are always aligned
/// more strictly than any element type, so the file offset decides).
pub(crate) fn check_aligned(offset: u64, align: usize) -> Result<()> {
    if offset.is_multiple_of(align as u64) {
        Ok(())
    } else {
        Err(Error::Misaligned { offset, align })
    }
}

/// A selection of an array as a strided view: the element offset of its first element (in
/// logical order), its shape and its strides (in elements; negative for reversed axes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) offset: usize,
    pub(crate) shape: Vec<usize>,
    pub(crate) strides: Vec<isize>,
}

impl Geometry {
    /// The byte runs the view touches (relative to element 0 of the array), increasing.
    pub(crate) fn runs(&self, elem_size: usize, sink: impl FnMut(Range<usize>)) {
        view_runs(
            self.offset * elem_size,
            &self.shape,
            &self.strides,
            elem_size,
            sink,
        );
    }

    /// Elements of the view.
    pub(crate) fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Calls `f` with the element offset of each element of the view, in logical order.
    pub(crate) fn for_each_offset(&self, mut f: impl FnMut(usize)) {
        if self.len() == 0 {
            return;
        }
        let mut idx = vec![0usize; self.shape.len()];
        loop {
            let off = self.offset as isize
                + idx
                    .iter()
                    .zip(&self.strides)
                    .map(|(&i, &s)| i as isize * s)
                    .sum::<isize>();
            f(off as usize);
            let mut k = idx.len();
            loop {
                if k == 0 {
                    return;
                }
                k -= 1;
                idx[k] += 1;
                if idx[k] < self.shape[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
    }
}

impl Geometry {
    /// The indices `r` along axis `k` of the view, as a view of their own.
    pub(crate) fn group(&self, k: usize, r: Range<usize>) -> Geometry {
        let mut g = self.clone();
        if !r.is_empty() {
            // Index r.start lies within the array: the shift stays within the mapping, and an
            // offset relative to a view with negative strides wraps back as `select` adds it.
            g.offset = g
                .offset
                .wrapping_add_signed(r.start as isize * self.strides[k]);
        }
        g.shape[k] = r.len();
        g
    }

    /// Whether the indices along axis `k` lie one after the other in memory, each one a
    /// contiguous block (the outer axis of a C-order array, a step of ±1, whole inner axes):
    /// then any run of consecutive indices is one stretch of memory.
    pub(crate) fn contiguous_along(&self, k: usize) -> bool {
        let mut inner: Vec<(usize, usize)> = self
            .shape
            .iter()
            .zip(&self.strides)
            .enumerate()
            .filter(|&(j, (&n, _))| j != k && n > 1)
            .map(|(_, (&n, &s))| (s.unsigned_abs(), n))
            .collect();
        inner.sort_unstable();
        let mut block = 1usize;
        for (s, n) in inner {
            if s != block {
                return false;
            }
            block *= n;
        }
        self.shape[k] <= 1 || self.strides[k].unsigned_abs() == block
    }
}

/// The indices `0..len` folded into at most `groups` consecutive, non-empty ranges, as even as
/// can be (their lengths differ by at most one, the longer ones spread out): the columns of a
/// chart `groups` characters wide over an axis of `len` slices, for
/// [`Pages::counts_along_groups`](crate::Pages::counts_along_groups). No ranges for `len` 0;
/// `groups` 0 is taken as 1.
///
/// ```
/// use ndmmap::even_groups;
/// assert_eq!(even_groups(10, 4), [0..2, 2..5, 5..7, 7..10]);
/// assert_eq!(even_groups(3, 80), [0..1, 1..2, 2..3]);
/// assert!(even_groups(0, 80).is_empty());
/// ```
pub fn even_groups(len: usize, groups: usize) -> Vec<Range<usize>> {
    let n = len.min(groups.max(1));
    // c * len can pass usize::MAX for a long axis folded into many groups.
    let edge = |c: usize| (c as u128 * len as u128 / n as u128) as usize;
    (0..n).map(|c| edge(c)..edge(c + 1)).collect()
}

/// Where index `i` along axis `axis` of a slice's result lies in the array it slices: the
/// array's axis and the index on it, following ndarray's rules (negative bounds count from the
/// end, a negative step walks its range from the end, axes past `elems` are taken whole).
/// `None` when the slice does not fit `shape`, when `axis` is not an axis of the result or
/// `i` is past its end, and for an axis that [`NewAxis`](ndarray::NewAxis) inserts.
///
/// ```
/// use ndarray::s;
/// // Rows 9, 7, 5, ... of a 10 x 4 array, then its column 2: result axis 0 is array axis 0.
/// let sl = s![..;-2, 2];
/// assert_eq!(ndmmap::slice_origin(&[10, 4], sl.as_ref(), 0, 1), Some((0, 7)));
/// // The index drops array axis 1: the result has one axis.
/// assert_eq!(ndmmap::slice_origin(&[10, 4], sl.as_ref(), 1, 0), None);
/// assert_eq!(ndmmap::slice_origin(&[10, 4], s![3, 1..].as_ref(), 0, 0), Some((1, 1)));
/// ```
pub fn slice_origin(
    shape: &[usize],
    elems: &[SliceInfoElem],
    axis: usize,
    i: usize,
) -> Option<(usize, usize)> {
    check_slice(shape, elems).ok()?;
    let (mut k, mut ax) = (0, 0); // axis of the result, of the array
    for e in elems {
        match *e {
            SliceInfoElem::NewAxis => {
                if k == axis {
                    return None;
                }
                k += 1;
                continue;
            }
            SliceInfoElem::Index(_) => {}
            SliceInfoElem::Slice { start, end, step } => {
                if k == axis {
                    let n = shape[ax] as isize;
                    let abs = |x: isize| (if x < 0 { n + x } else { x }) as usize;
                    let (s, e) = (abs(start), end.map_or(n as usize, abs));
                    let st = step.unsigned_abs();
                    let len = if e > s { (e - s).div_ceil(st) } else { 0 };
                    if i >= len {
                        return None;
                    }
                    // i < len: i * st < e - s, no overflow.
                    let at = if step > 0 { s + i * st } else { e - 1 - i * st };
                    return Some((ax, at));
                }
                k += 1;
            }
        }
        ax += 1;
    }
    let ax = ax.checked_add(axis.checked_sub(k)?)?;
    (ax < shape.len() && i < shape[ax]).then_some((ax, i))
}

/// An element range (flat indices in logical, row-major order) of an array as strided views:
/// at most two partial blocks per axis and one block of whole outer slices.
pub(crate) fn range_geometry(
    shape: &[usize],
    strides: &[isize],
    range: Range<usize>,
) -> Result<Vec<Geometry>> {
    let len: usize = shape.iter().product();
    if range.start > range.end || range.end > len {
        return Err(Error::RangeOutOfBounds {
            start: range.start,
            end: range.end,
            len,
        });
    }
    let mut out = Vec::new();
    blocks(shape, strides, 0, range.start, range.end, &mut out);
    Ok(out)
}

/// Splits elements `a..b` (row-major) of the sub-array at element offset `base` into blocks.
/// Recursion is bounded by the number of axes.
fn blocks(
    shape: &[usize],
    strides: &[isize],
    base: usize,
    a: usize,
    b: usize,
    out: &mut Vec<Geometry>,
) {
    if a >= b {
        return;
    }
    let Some((&n0, rest)) = shape.split_first() else {
        out.push(Geometry {
            offset: base,
            shape: Vec::new(),
            strides: Vec::new(),
        });
        return;
    };
    let inner: usize = rest.iter().product();
    if inner == 0 || n0 == 0 {
        return;
    }
    // A shared sub-view may have negative strides: offsets wrap like the two's complement
    // they stand for, and the caller's base brings them back into the mapping.
    let row = |i: usize| base.wrapping_add_signed(i as isize * strides[0]);
    let (i0, j0, i1, j1) = (a / inner, a % inner, b / inner, b % inner);
    if i0 == i1 {
        return blocks(rest, &strides[1..], row(i0), j0, j1, out);
    }
    let mut full = i0;
    if j0 != 0 {
        blocks(rest, &strides[1..], row(i0), j0, inner, out);
        full += 1;
    }
    if i1 > full {
        let mut sh = vec![i1 - full];
        sh.extend_from_slice(rest);
        out.push(Geometry {
            offset: row(full),
            shape: sh,
            strides: strides.to_vec(),
        });
    }
    if j1 != 0 {
        blocks(rest, &strides[1..], row(i1), 0, j1, out);
    }
}

/// Checks a slice (as `s![..]` gives it) against a shape, so that ndarray's slicing cannot panic.
pub(crate) fn check_slice(shape: &[usize], elems: &[SliceInfoElem]) -> Result<()> {
    let bad = |e: SliceError| Err(Error::BadSlice(e));
    let consumed = elems
        .iter()
        .filter(|e| !matches!(e, SliceInfoElem::NewAxis))
        .count();
    if consumed > shape.len() {
        return bad(SliceError::TooManyIndices {
            given: consumed,
            ndim: shape.len(),
        });
    }
    let mut axis = 0;
    for e in elems {
        match *e {
            SliceInfoElem::NewAxis => continue,
            SliceInfoElem::Index(i) => {
                let n = shape[axis];
                let abs = if i < 0 { n as isize + i } else { i };
                if abs < 0 || abs >= n as isize {
                    return bad(SliceError::IndexOutOfBounds {
                        index: i,
                        axis,
                        len: n,
                    });
                }
            }
            SliceInfoElem::Slice { start, end, step } => {
                let n = shape[axis] as isize;
                if step == 0 {
                    return bad(SliceError::ZeroStep { axis });
                }
                let abs = |x: isize| if x < 0 { n + x } else { x };
                let s = abs(start);
                let e = end.map(abs).unwrap_or(n);
                if s < 0 || s > n || e < 0 || e > n {
                    return bad(SliceError::RangeOutOfBounds {
                        start,
                        end,
                        axis,
                        len: n as usize,
                    });
                }
            }
        }
        axis += 1;
    }
    Ok(())
}

/// A selection of indices `range` of axis `axis` of an `ndim`-dimensional array, every other
/// axis whole: the window of a stream along its outermost axis, as a slice
/// (`s![.., .., a..b]` for the last axis). `range` must lie within the axis (whose length is at
/// most `isize::MAX`, as the length of any array's axis is).
pub(crate) fn axis_window(ndim: usize, axis: usize, range: Range<usize>) -> Vec<SliceInfoElem> {
    let whole = SliceInfoElem::Slice {
        start: 0,
        end: None,
        step: 1,
    };
    let window = SliceInfoElem::Slice {
        start: range.start as isize,
        end: Some(range.end as isize),
        step: 1,
    };
    (0..ndim)
        .map(|k| if k == axis { window } else { whole })
        .collect()
}

/// The geometry of a slice of an array with `shape` and element `strides`: the element offset
/// of its first element, and its shape and strides, following ndarray's slicing rules
/// (a negative step walks the range from its end). The slice must have passed [`check_slice`].
pub(crate) fn slice_geometry(
    shape: &[usize],
    strides: &[isize],
    elems: &[SliceInfoElem],
) -> Geometry {
    let (mut off, mut out_shape, mut out_strides) = (0isize, Vec::new(), Vec::new());
    let mut axis = 0;
    for e in elems {
        match *e {
            SliceInfoElem::NewAxis => {
                out_shape.push(1);
                out_strides.push(0);
                continue;
            }
            SliceInfoElem::Index(i) => {
                let n = shape[axis] as isize;
                off += if i < 0 { n + i } else { i } * strides[axis];
            }
            SliceInfoElem::Slice { start, end, step } => {
                let n = shape[axis] as isize;
                let abs = |x: isize| if x < 0 { n + x } else { x };
                let (s, e) = (abs(start), end.map(abs).unwrap_or(n));
                let len = if e > s {
                    ((e - s) as usize).div_ceil(step.unsigned_abs())
                } else {
                    0
                };
                if len > 0 {
                    off += if step > 0 { s } else { e - 1 } * strides[axis];
                }
                out_shape.push(len);
                // An axis of at most one element has no stride to speak of (ndarray gives it
                // 0); any longer one has |step| < n, so the product stays within the array.
                out_strides.push(if len <= 1 { 0 } else { strides[axis] * step });
            }
        }
        axis += 1;
    }
    out_shape.extend_from_slice(&shape[axis..]);
    out_strides.extend_from_slice(&strides[axis..]);
    Geometry {
        // Negative (relative to a view with negative strides) wraps; the caller's base, added
        // with wrapping arithmetic, brings it back into the mapping.
        offset: off as usize,
        shape: out_shape,
        strides: out_strides,
    }
}

/// The byte runs that a strided view touches, in increasing address order, merged when they
/// abut or overlap. `offset_bytes` is where element 0 of the view lies (relative to the caller's
/// base), `shape`/`strides` are in elements. Runs are produced by iterating only over the axes
/// outside the view's largest contiguous inner block.
pub(crate) fn view_runs(
    offset_bytes: usize,
    shape: &[usize],
    strides: &[isize],
    elem_size: usize,
    mut sink: impl FnMut(Range<usize>),
) {
    if shape.contains(&0) {
        return;
    }
    // Normalise negative strides: the lowest address is where every negative axis is at its end.
    let mut start = offset_bytes as isize;
    let mut axes: Vec<(usize, usize)> = Vec::with_capacity(shape.len());
    for (&n, &s) in shape.iter().zip(strides) {
        if n == 1 {
            continue;
        }
        if s < 0 {
            start += s * (n as isize - 1) * elem_size as isize;
        }
        axes.push((n, s.unsigned_abs()));
    }
    let start = start as usize;
    // Outer axes first (largest stride); the innermost contiguous block is merged into one run.
    axes.sort_by_key(|&(_, s)| std::cmp::Reverse(s));
    let mut block = 1usize; // elements in the contiguous inner block
    while let Some(&(n, s)) = axes.last() {
        if s == block {
            block *= n;
            axes.pop();
        } else {
            break;
        }
    }
    let run_len = block * elem_size;
    let mut current: Option<Range<usize>> = None;
    let mut emit = |r: Range<usize>| match &mut current {
        Some(c) if r.start <= c.end => c.end = c.end.max(r.end),
        Some(c) => {
            sink(c.clone());
            *c = r;
        }
        None => current = Some(r),
    };
    let mut idx = vec![0usize; axes.len()];
    'outer: loop {
        let off: usize = idx
            .iter()
            .zip(&axes)
            .map(|(&i, &(_, s))| i * s)
            .sum::<usize>()
            * elem_size;
        emit(start + off..start + off + run_len);
        // Odometer over outer axes, last (smallest stride) fastest.
        let mut k = axes.len();
        loop {
            if k == 0 {
                break 'outer;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < axes[k].0 {
                break;
            }
            idx[k] = 0;
        }
    }
    if let Some(c) = current {
        sink(c);
    }
}

/// The pages (indices from the page holding byte 0, `lead` bytes before it) that a non-empty
/// byte run relative to byte 0 touches: the one page rounding of the crate.
pub(crate) fn page_range(lead: usize, page_size: usize, run: &Range<usize>) -> Range<usize> {
    (lead + run.start) / page_size..(lead + run.end).div_ceil(page_size)
}

/// The page indices (relative to the page holding byte 0 of the caller's base, `lead` bytes
/// before it) touched by byte runs, merged: `runs` are relative to element 0.
pub(crate) fn runs_to_pages(
    lead: usize,
    page_size: usize,
    runs: impl FnOnce(&mut dyn FnMut(Range<usize>)),
) -> Vec<Range<usize>> {
    let mut pages: Vec<Range<usize>> = Vec::new();
    let mut sorted = true;
    runs(&mut |r: Range<usize>| {
        if r.is_empty() {
            return;
        }
        let p = page_range(lead, page_size, &r);
        match pages.last_mut() {
            Some(last) if p.start <= last.end && p.end >= last.start => {
                last.start = last.start.min(p.start);
                last.end = last.end.max(p.end);
            }
            Some(last) => {
                sorted &= p.start > last.end;
                pages.push(p);
            }
            None => pages.push(p),
        }
    });
    if !sorted {
        // Runs of several blocks (an element range of a Fortran-order array) can come out of
        // address order: sort and merge, so every operation visits pages in ascending order.
        pages = sorted_merged(pages);
    }
    pages
}

/// Ranges sorted by start, overlapping or touching ones merged.
pub(crate) fn sorted_merged(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// The ranges of `a` (ascending, disjoint) less those of `b` (ascending, disjoint).
pub(crate) fn subtract(a: &[Range<usize>], b: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for r in a {
        let mut start = r.start;
        // Ranges of `b` wholly before this one cannot cut a later one either.
        while j < b.len() && b[j].end <= start {
            j += 1;
        }
        let mut jj = j;
        while start < r.end && jj < b.len() && b[jj].start < r.end {
            if b[jj].start > start {
                out.push(start..b[jj].start);
            }
            start = start.max(b[jj].end);
            jj += 1;
        }
        if start < r.end {
            out.push(start..r.end);
        }
    }
    out
}

/// The ranges of `a` (ascending, disjoint) that lie within those of `b` (ascending, disjoint).
pub(crate) fn intersect(a: &[Range<usize>], b: &[Range<usize>]) -> Vec<Range<usize>> {
    let (mut out, mut i, mut j) = (Vec::new(), 0, 0);
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].start.max(b[j].start), a[i].end.min(b[j].end));
        if lo < hi {
            out.push(lo..hi);
        }
        if a[i].end <= b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The most axes an array may have: numpy's `NPY_MAXDIMS` (numpy refuses files with more).
#[cfg_attr(not(any(feature = "npy", feature = "safetensors")), allow(dead_code))]
pub(crate) const MAX_DIMS: usize = 64;

/// ndarray's shape for a view of `dim` with element `strides`. An empty array gets ndarray's
/// default strides instead: ndarray's debug check refuses the zero strides of an empty array's
/// longer axes on a mutable view (as if elements overlapped), and an empty view has no
/// element whose address the strides could change.
pub(crate) fn stride_shape<D: Dimension>(dim: D, strides: D) -> ndarray::StrideShape<D> {
    use ndarray::ShapeBuilder;
    if dim.size() == 0 {
        dim.into()
    } else {
        dim.strides(strides)
    }
}

/// Shape and element strides of a dimension, as plain slices.
pub(crate) fn shape_strides<D: Dimension>(dim: &D, strides: &D) -> (Vec<usize>, Vec<isize>) {
    (
        dim.slice().to_vec(),
        strides.slice().iter().map(|&s| s as isize).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn span_counts_the_unaligned_leading_page() {
        assert_eq!(PageSpan::new(0, 4096, 4096).page_count, 1);
        assert_eq!(PageSpan::new(1, 4096, 4096).page_count, 2);
        assert_eq!(PageSpan::new(4095, 2, 4096).page_count, 2);
        assert_eq!(
            PageSpan::new(4096 + 8, 8, 4096),
            PageSpan {
                lead: 8,
                page_count: 1,
                page_size: 4096
            }
        );
        assert_eq!(PageSpan::new(7, 0, 4096).page_count, 0);
    }

    #[test]
    fn bytes_overflow_is_an_error() {
        assert_eq!(checked_bytes(&[3, 4], 8).unwrap(), 96);
        assert_eq!(checked_bytes(&[], 8).unwrap(), 8);
        assert!(checked_bytes(&[usize::MAX, 2], 1).is_err());
        assert!(checked_bytes(&[usize::MAX / 4], 8).is_err());
        assert!(checked_bytes(&[isize::MAX as usize / 2 + 1], 2).is_err());
        assert!(checked_bytes(&[isize::MAX as usize], 1).is_ok());
        assert_eq!(checked_bytes(&[1 << 59, 0], 8).unwrap(), 0);
        assert!(checked_bytes(&[1 << 61, 0], 8).is_err());
        assert!(checked_bytes(&[0, usize::MAX], 1).is_err());
    }

    #[test]
    fn alignment() {
        assert!(check_aligned(8, 8).is_ok());
        assert!(matches!(
            check_aligned(12, 8),
            Err(Error::Misaligned {
                offset: 12,
                align: 8
            })
        ));
    }

    #[test]
    fn slices_are_checked() {
        use ndarray::s;
        assert!(check_slice(&[4, 5], s![1..3, ..].as_ref()).is_ok());
        assert!(check_slice(&[4, 5], s![-1, 2..5].as_ref()).is_ok());
        assert!(check_slice(&[4, 5], s![4, ..].as_ref()).is_err());
        assert!(check_slice(&[4, 5], s![.., 0..6].as_ref()).is_err());
        assert!(check_slice(&[4], s![.., ..].as_ref()).is_err());
        assert!(check_slice(&[4], s![-5..].as_ref()).is_err());
    }

    #[test]
    fn axis_windows_are_slices_of_one_axis() {
        use ndarray::{Array, Axis, ShapeBuilder, Slice};
        for f in [false, true] {
            let a = Array::from_shape_vec(ndarray::IxDyn(&[3, 4, 5]).set_f(f), (0..60).collect())
                .unwrap();
            for axis in 0..3 {
                let w = axis_window(3, axis, 1..3);
                check_slice(a.shape(), &w).unwrap();
                assert_eq!(
                    a.slice(w.as_slice()),
                    a.slice_axis(Axis(axis), Slice::from(1..3))
                );
            }
        }
        assert_eq!(axis_window(1, 0, 2..2).len(), 1);
    }

    #[test]
    fn slice_geometry_matches_ndarray() {
        use ndarray::{Array, ShapeBuilder, s};
        let a = Array::from_shape_vec((6, 7).f(), (0..42).collect())
            .unwrap()
            .into_dyn();
        let strides: Vec<isize> = a.strides().to_vec();
        for info in [
            s![1..5;2, ..].as_ref().to_vec(),
            s![.., 3].as_ref().to_vec(),
            s![-1, 1..;-3].as_ref().to_vec(),
            s![2..2, ..].as_ref().to_vec(),
            s![.., ndarray::NewAxis, ..;2].as_ref().to_vec(),
            // Steps far past the axis: one element, and no overflowing stride * step.
            s![1..;isize::MAX, ..].as_ref().to_vec(),
            s![..;isize::MIN, 2..;-isize::MAX].as_ref().to_vec(),
        ] {
            let v = a.slice(info.as_slice());
            let Geometry {
                offset: off,
                shape,
                strides: st,
            } = slice_geometry(a.shape(), &strides, &info);
            let off = off as isize;
            assert_eq!(shape, v.shape());
            if !v.is_empty() {
                // ndarray zeroes the strides of empty axes; they address nothing.
                assert_eq!(st, v.strides());
                assert_eq!(off, *v.first().unwrap() as isize);
            }
        }
    }

    #[test]
    fn element_ranges_in_logical_order() {
        use ndarray::{Array, ShapeBuilder};
        for shape in [vec![4, 5, 3], vec![7], vec![2, 1, 6]] {
            for f in [false, true] {
                let n: usize = shape.iter().product();
                let a = Array::from_shape_vec(ndarray::IxDyn(&shape).set_f(f), (0..n).collect())
                    .unwrap();
                let strides: Vec<isize> = a.strides().to_vec();
                // The memory offset of each element in logical order.
                let logical: Vec<usize> = a.iter().copied().collect();
                let mem_of = |v: usize| {
                    // element with value v sits at memory offset: position of v in memory order
                    a.as_slice_memory_order()
                        .unwrap()
                        .iter()
                        .position(|&x| x == v)
                        .unwrap()
                };
                for start in 0..=n {
                    for end in start..=n {
                        let gs = range_geometry(&shape, &strides, start..end).unwrap();
                        let mut got: Vec<usize> = Vec::new();
                        for g in &gs {
                            g.runs(1, |r| got.extend(r));
                        }
                        got.sort_unstable();
                        let mut want: Vec<usize> =
                            logical[start..end].iter().map(|&v| mem_of(v)).collect();
                        want.sort_unstable();
                        assert_eq!(got, want, "{shape:?} f={f} {start}..{end}");
                        assert_eq!(gs.iter().map(Geometry::len).sum::<usize>(), end - start);
                    }
                }
            }
        }
        assert!(range_geometry(&[3], &[1], 2..4).is_err());
    }

    fn brute_runs(off: usize, shape: &[usize], strides: &[isize], es: usize) -> Vec<Range<usize>> {
        // Every element's bytes, sorted and merged.
        let mut v: Vec<Range<usize>> = Vec::new();
        let n: usize = shape.iter().product();
        for flat in 0..n {
            let mut rem = flat;
            let mut o = off as isize;
            for k in (0..shape.len()).rev() {
                o += (rem % shape[k]) as isize * strides[k] * es as isize;
                rem /= shape[k];
            }
            v.push(o as usize..o as usize + es);
        }
        v.sort_by_key(|r| r.start);
        let mut out: Vec<Range<usize>> = Vec::new();
        for r in v {
            match out.last_mut() {
                Some(l) if r.start <= l.end => l.end = l.end.max(r.end),
                _ => out.push(r),
            }
        }
        out
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one-range lists are what is meant
    fn even_groups_cover_in_order() {
        assert_eq!(even_groups(1000, 10)[9], 900..1000);
        assert_eq!(even_groups(5, 0), [0..5]);
        let huge = even_groups(usize::MAX, 998);
        assert_eq!((huge.len(), huge[997].end), (998, usize::MAX));
        for len in 0..40 {
            for n in 0..12 {
                let g = even_groups(len, n);
                assert_eq!(g.len(), len.min(n.max(1)));
                assert!(g.iter().all(|r| !r.is_empty()));
                assert_eq!(g.first().map_or(0, |r| r.start), 0);
                assert_eq!(g.last().map_or(0, |r| r.end), len);
                assert!(g.windows(2).all(|w| w[0].end == w[1].start));
                let (lo, hi) = g.iter().fold((usize::MAX, 0), |(lo, hi), r| {
                    (lo.min(r.len()), hi.max(r.len()))
                });
                assert!(g.is_empty() || hi - lo <= 1, "{len} {n}: {g:?}");
            }
        }
    }

    #[test]
    fn contiguity_of_indices_along_an_axis() {
        let g = |shape: &[usize], strides: &[isize]| Geometry {
            offset: 0,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
        };
        // C order: rows are contiguous, columns are not; F order the other way round.
        assert!(g(&[4, 5], &[5, 1]).contiguous_along(0));
        assert!(!g(&[4, 5], &[5, 1]).contiguous_along(1));
        assert!(g(&[4, 5], &[1, 4]).contiguous_along(1));
        assert!(!g(&[4, 5], &[1, 4]).contiguous_along(0));
        // Reversed rows, and every other row (a gap between rows).
        assert!(g(&[4, 5], &[-5, 1]).contiguous_along(0));
        assert!(!g(&[2, 5], &[10, 1]).contiguous_along(0));
        // Part of each row.
        assert!(!g(&[4, 3], &[5, 1]).contiguous_along(0));
        assert!(g(&[7], &[1]).contiguous_along(0));
        assert!(!g(&[7], &[2]).contiguous_along(0));
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn page_range_sets() {
        assert_eq!(subtract(&[0..10], &[2..3, 5..7]), [0..2, 3..5, 7..10]);
        assert_eq!(subtract(&[0..3, 5..9], &[0..6]), [6..9]);
        assert_eq!(intersect(&[0..3, 5..9], &[2..6, 8..20]), [2..3, 5..6, 8..9]);
    }

    /// Disjoint ascending ranges below 64 from a bit mask, and back.
    fn ranges_of(mask: u64) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        for p in (0..64).filter(|&p| mask >> p & 1 == 1) {
            match out.last_mut() {
                Some(l) if l.end == p => l.end = p + 1,
                _ => out.push(p..p + 1),
            }
        }
        out
    }

    fn mask_of(ranges: &[Range<usize>]) -> u64 {
        ranges
            .iter()
            .flat_map(Clone::clone)
            .fold(0, |m, p| m | 1 << p)
    }

    /// A slice element over an axis of length `n`, from arbitrary numbers.
    fn elem(kind: u8, a: isize, b: Option<isize>, step: isize) -> SliceInfoElem {
        match kind % 4 {
            0 => SliceInfoElem::Index(a),
            1 => SliceInfoElem::NewAxis,
            _ => SliceInfoElem::Slice {
                start: a,
                end: b,
                step,
            },
        }
    }

    proptest! {
        #[test]
        fn page_range_sets_match_bit_masks(a in any::<u64>(), b in any::<u64>()) {
            let (ra, rb) = (ranges_of(a), ranges_of(b));
            let d = subtract(&ra, &rb);
            prop_assert_eq!(mask_of(&d), a & !b);
            // Pieces of one range of `a` are parted by `b`, of two by `a`'s own gaps.
            prop_assert_eq!(d, ranges_of(a & !b));
            let i = intersect(&ra, &rb);
            prop_assert_eq!(mask_of(&i), a & b);
            prop_assert!(i.windows(2).all(|w| w[0].end <= w[1].start));
        }

        #[test]
        fn slice_origins_match_ndarray(
            shape in proptest::collection::vec(1usize..6, 1..4),
            kinds in proptest::collection::vec(any::<u8>(), 0..4),
            bounds in proptest::collection::vec((-7isize..7, proptest::option::of(-7isize..7)), 4),
            steps in proptest::collection::vec(prop_oneof![-3isize..=-1, 1isize..=3], 4),
        ) {
            use ndarray::{ArrayD, IxDyn};
            let elems: Vec<SliceInfoElem> = kinds
                .iter()
                .zip(&bounds)
                .zip(&steps)
                .map(|((&k, &(a, b)), &st)| elem(k, a, b, st))
                .collect();
            prop_assume!(check_slice(&shape, &elems).is_ok());
            // Element values are their own flat index in the array.
            let n: usize = shape.iter().product();
            let a = ArrayD::from_shape_vec(IxDyn(&shape), (0..n).collect()).unwrap();
            // ndarray wants every axis named; slice_origin takes the rest whole itself.
            let mut full = elems.clone();
            let named = elems.iter().filter(|e| !matches!(e, SliceInfoElem::NewAxis)).count();
            full.extend((named..shape.len()).map(|_| SliceInfoElem::from(..)));
            let v = a.slice(full.as_slice());
            let unflat = |mut f: usize| {
                let mut idx = vec![0; shape.len()];
                for k in (0..shape.len()).rev() {
                    idx[k] = f % shape[k];
                    f /= shape[k];
                }
                idx
            };
            for k in 0..v.ndim() + 1 {
                for i in 0..7 {
                    let got = slice_origin(&shape, &elems, k, i);
                    let inside = k < v.ndim() && i < v.shape()[k];
                    if !inside || v.shape().contains(&0) {
                        if !inside {
                            prop_assert_eq!(got, None);
                        }
                        continue;
                    }
                    let mut at = vec![0; v.ndim()];
                    at[k] = i;
                    let idx = unflat(v[IxDyn(&at)]);
                    match got {
                        // The array's index on the axis is `x`; moving along the result's
                        // axis moves only it.
                        Some((ax, x)) => {
                            prop_assert_eq!(idx[ax], x);
                            if i > 0 {
                                let mut prev = at.clone();
                                prev[k] = i - 1;
                                let p = unflat(v[IxDyn(&prev)]);
                                for j in 0..shape.len() {
                                    prop_assert!(j == ax || p[j] == idx[j]);
                                }
                            }
                        }
                        // Only a new axis has no origin.
                        None => prop_assert_eq!(v.shape()[k], 1),
                    }
                }
            }
        }

        #[test]
        fn groups_and_contiguity_match_brute_force(
            shape in proptest::collection::vec(1usize..5, 1..4),
            step in proptest::collection::vec(1usize..3, 3),
            flip in proptest::collection::vec(any::<bool>(), 3),
            fortran in any::<bool>(),
            es in prop_oneof![Just(1usize), Just(8)],
        ) {
            // A C- or F-order parent sliced with steps (and reversals), as in the test above.
            let nd = shape.len();
            let parent: Vec<usize> = shape.iter().zip(&step).map(|(&n, &s)| n * s).collect();
            let mut pstr = vec![1isize; nd];
            if fortran {
                for k in 1..nd { pstr[k] = pstr[k - 1] * parent[k - 1] as isize; }
            } else {
                for k in (0..nd - 1).rev() { pstr[k] = pstr[k + 1] * parent[k + 1] as isize; }
            }
            let mut strides = vec![0isize; nd];
            let mut off = 1000isize;
            for k in 0..nd {
                strides[k] = pstr[k] * step[k] as isize;
                if flip[k] { off += strides[k] * (shape[k] as isize - 1); strides[k] = -strides[k]; }
            }
            let g = Geometry { offset: off as usize, shape: shape.clone(), strides: strides.clone() };
            for k in 0..nd {
                let mut every_group_one_run = true;
                for a in 0..shape[k] {
                    for b in a + 1..=shape[k] {
                        // The group's elements, by brute force: index a..b along k.
                        let mut sh = shape.clone();
                        sh[k] = b - a;
                        let o = (off + a as isize * strides[k]) as usize;
                        let want = brute_runs(o * es, &sh, &strides, es);
                        let mut got = Vec::new();
                        g.group(k, a..b).runs(es, |r| got.push(r));
                        prop_assert_eq!(&got, &want);
                        every_group_one_run &= want.len() == 1;
                    }
                }
                prop_assert_eq!(g.contiguous_along(k), every_group_one_run, "axis {}", k);
            }
        }
    }

    proptest! {
        #[test]
        fn runs_match_brute_force(
            shape in proptest::collection::vec(1usize..5, 1..4),
            step in proptest::collection::vec(1usize..3, 3),
            flip in proptest::collection::vec(any::<bool>(), 3),
            es in prop_oneof![Just(1usize), Just(8)],
        ) {
            // A C-order parent of twice the size, sliced with steps (and reversals).
            let nd = shape.len();
            let parent: Vec<usize> = shape.iter().zip(&step).map(|(&n, &s)| n * s).collect();
            let mut pstr = vec![1isize; nd];
            for k in (0..nd - 1).rev() { pstr[k] = pstr[k + 1] * parent[k + 1] as isize; }
            let mut strides = vec![0isize; nd];
            let mut off = 1000isize;
            for k in 0..nd {
                strides[k] = pstr[k] * step[k] as isize;
                if flip[k] { off += strides[k] * (shape[k] as isize - 1); strides[k] = -strides[k]; }
            }
            let off = off as usize * es;
            let mut got = Vec::new();
            view_runs(off, &shape, &strides, es, |r| got.push(r));
            prop_assert_eq!(got, brute_runs(off, &shape, &strides, es));
        }
    }
}
