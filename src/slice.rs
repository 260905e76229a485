//! numpy's slice syntax (`100:200,:`, `::2,5`, `-1`) read against a shape into ndarray's slice
//! elements ([`parse_slice`]), with numpy's clamping of ranges (Python's
//! `PySlice_AdjustIndices`) and bounds-checking of indices; and the hint that keeps an axis of
//! a selection that is a single element ([`slice_keeping_axis`]).
//!
//! A text, not arithmetic on a shape, so it lives beside [`layout`](crate::layout) rather
//! than in it. Every number the user writes is an `i64` at most (a larger slice bound
//! saturates, as Python's does), and every computation here is free of overflow. The slices it
//! returns are normalised: their end is the element after the last one selected, and a slice
//! of at most one element has step 1, so that no later `stride * step` can overflow however
//! large the step was written.

use crate::error::{Error, Result, SliceError};
use ndarray::SliceInfoElem;

/// Reads `spec`, a slice in numpy's syntax (what goes between the brackets of `a[...]`),
/// against `shape`, into one [`SliceInfoElem`] per axis, for ndarray's
/// [`slice`](ndarray::ArrayRef::slice) or [`MmapArray::pages`](crate::MmapArray::pages).
///
/// Both take the elements as they are for an array of dynamic dimension
/// ([`IxDyn`](type@ndarray::IxDyn): an [`AnyArray`](crate::AnyArray), or `.into_dyn()` of a view).
///
/// The selection is numpy's exactly:
/// - `start:stop:step`, any part left out; negative numbers count from the end; bounds past
///   the axis are clamped, as Python clamps them (`3:100` of 5 is `3:5`); a negative step
///   walks backwards (`::-1`), and is written in ndarray's convention (the range, walked from
///   its end), so the view lists the elements in numpy's order;
/// - an integer (`5`, `-1`) selects one index and removes its axis; out of bounds is an error,
///   as in numpy;
/// - axes left out are whole (`1` of a 2-D array is `1,:`); one trailing comma is allowed
///   (`1,` is numpy's `a[1,]`), an empty index (`1,,2`) is not; an empty `spec` selects the
///   whole array (numpy's `a[()]`); spaces around the parts are ignored;
/// - one `...` (numpy's Ellipsis), anywhere, stands for as many whole axes as the other
///   parts leave (`...,1` of a 3-D array is `:,:,1`; none, if they name every axis).
///
/// Not read: `None`/`np.newaxis`, arrays of indices, masks.
///
/// Every element returned fits `shape`; a slice's `end` is one past the last element it
/// selects, and a slice of at most one element has step 1.
///
/// # Errors
/// [`Error::BadSliceSpec`] with the text and a [`SliceError`] naming the axis and the numbers:
/// [`NotAnInteger`](SliceError::NotAnInteger), [`EmptyIndex`](SliceError::EmptyIndex),
/// [`TooManyColons`](SliceError::TooManyColons), [`ZeroStep`](SliceError::ZeroStep),
/// [`MultipleEllipsis`](SliceError::MultipleEllipsis),
/// [`IndexOutOfBounds`](SliceError::IndexOutOfBounds) (an index beyond the `isize` range is
/// reported saturated to it), [`TooManyIndices`](SliceError::TooManyIndices), or
/// [`AxisTooLong`](SliceError::AxisTooLong) for a shape no array has.
///
/// # Examples
/// ```
/// use ndarray::{Array, s};
/// use ndmmap::{Error, SliceError, parse_slice};
///
/// let a = Array::from_iter(0..20).into_shape_with_order((4, 5)).unwrap().into_dyn();
/// // numpy: a[1:, ::-2]
/// let elems = parse_slice("1:, ::-2", a.shape())?;
/// let v = a.slice(elems.as_slice());
/// assert_eq!(v, a.slice(s![1.., ..;-2]).into_dyn());
/// assert_eq!(v.iter().take(3).collect::<Vec<_>>(), [&9, &7, &5]);
/// // numpy: a[-1] (the last row), a[2:100] (clamped), a[()] (all of it)
/// let pick = |spec| Ok::<_, Error>(a.slice(parse_slice(spec, a.shape())?.as_slice()));
/// assert_eq!(pick("-1")?, a.slice(s![3, ..]).into_dyn());
/// assert_eq!(pick("2:100")?.shape(), [2, 5]);
/// assert_eq!(pick("")?, a);
/// // numpy: a[..., 1] (column 1), a[1, ...] (row 1)
/// assert_eq!(pick("..., 1")?, a.slice(s![.., 1]).into_dyn());
/// assert_eq!(pick("1, ...")?, a.slice(s![1, ..]).into_dyn());
///
/// // numpy: IndexError: index 4 is out of bounds for axis 0 with size 4
/// let e = parse_slice("4, :", a.shape()).unwrap_err();
/// assert!(matches!(
///     e,
///     Error::BadSliceSpec { kind: SliceError::IndexOutOfBounds { index: 4, axis: 0, len: 4 }, .. }
/// ));
/// assert_eq!(e.to_string(), r#"bad slice "4, :": index 4 is out of bounds for axis 0 of length 4"#);
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn parse_slice(spec: &str, shape: &[usize]) -> Result<Vec<SliceInfoElem>> {
    parse(spec, shape).map_err(|kind| Error::BadSliceSpec {
        spec: spec.to_string(),
        kind,
    })
}

fn parse(spec: &str, shape: &[usize]) -> Result<Vec<SliceInfoElem>, SliceError> {
    let (parts, _) = expand(components(spec)?, shape.len())?;
    if let Some(axis) = shape.iter().position(|&n| isize::try_from(n).is_err()) {
        let len = shape[axis];
        return Err(SliceError::AxisTooLong { axis, len });
    }
    let whole = shape[parts.len()..]
        .iter()
        .map(|_| Ok(SliceInfoElem::from(..)));
    parts
        .iter()
        .zip(shape)
        .enumerate()
        .map(|(axis, (p, &n))| one(p, n, axis))
        .chain(whole)
        .collect()
}

/// `spec` (numpy's syntax, as [`parse_slice`] reads it) with its first integer index `i`
/// written as the one-element range `i:i+1` (with `i` counted from 0), so that the selection
/// keeps that axis: the hint to give when a selection must keep an axis (a reduction, a chart
/// along an axis) and `spec` selects a single element. `None` when `spec` has no index, or
/// does not parse.
///
/// ```
/// use ndmmap::slice_keeping_axis;
///
/// assert_eq!(slice_keeping_axis("0,0", &[3, 4]).as_deref(), Some("0:1,0"));
/// assert_eq!(slice_keeping_axis("-1, 2", &[3, 4]).as_deref(), Some("2:3,2"));
/// assert_eq!(slice_keeping_axis("1:2", &[3]), None);
/// ```
pub fn slice_keeping_axis(spec: &str, shape: &[usize]) -> Option<String> {
    let written = components(spec).ok()?;
    let (parts, ellipsis) = expand(written.clone(), shape.len()).ok()?;
    let k = parts.iter().position(|p| !p.contains(':'))?;
    let i = index(parts[k], *shape.get(k)?, k).ok()?;
    // The index's place in the text as written: after a `...`, that many axes further on.
    let at = match ellipsis {
        Some((e, n)) if k > e => k + 1 - n,
        _ => k,
    };
    let mut out: Vec<String> = written.iter().map(|p| p.to_string()).collect();
    out[at] = format!("{i}:{}", i + 1);
    Some(out.join(","))
}

/// The parts of a spec with its `...` expanded, and where the `...` was and how many axes it
/// stands for.
type Expanded<'a> = (Vec<&'a str>, Option<(usize, usize)>);

/// `parts` with their one `...` (numpy's Ellipsis) replaced by as many `:` as make them
/// `ndim` parts, and where the `...` was and how many axes it stands for; more parts than
/// axes (the `...` not counted) are an error, as in numpy.
fn expand(mut parts: Vec<&str>, ndim: usize) -> Result<Expanded<'_>, SliceError> {
    let mut dots = parts.iter().enumerate().filter(|(_, p)| **p == "...");
    let at = dots.next().map(|(i, _)| i);
    if dots.next().is_some() {
        return Err(SliceError::MultipleEllipsis);
    }
    let given = parts.len() - usize::from(at.is_some());
    if given > ndim {
        return Err(SliceError::TooManyIndices { given, ndim });
    }
    let Some(at) = at else {
        return Ok((parts, None));
    };
    let n = ndim - given;
    parts.splice(at..=at, std::iter::repeat_n(":", n));
    Ok((parts, Some((at, n))))
}

/// The comma-separated components of `spec`, trimmed.
fn components(spec: &str) -> Result<Vec<&str>, SliceError> {
    let body = spec.trim();
    if body.is_empty() {
        return Ok(vec![]);
    }
    // numpy's `a[1,]`: one trailing comma after something.
    let body = match body.strip_suffix(',') {
        Some(b) if !b.trim().is_empty() => b,
        _ => body,
    };
    let parts: Vec<&str> = body.split(',').map(str::trim).collect();
    if let Some(axis) = parts.iter().position(|p| p.is_empty()) {
        return Err(SliceError::EmptyIndex { axis });
    }
    Ok(parts)
}

/// An integer as Python reads a slice bound: optional sign, decimal digits; a value beyond
/// the `isize` range saturates (Python's `_PyEval_SliceIndex`). `None` for an empty field.
fn bound(s: &str, axis: usize) -> Result<Option<isize>, SliceError> {
    if s.is_empty() {
        return Ok(None);
    }
    let (neg, digits) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SliceError::NotAnInteger {
            text: s.to_string(),
            axis,
        });
    }
    // Digits only, so parsing can fail only by overflow: saturate.
    let v = match digits.parse::<u64>() {
        Ok(v) if neg => (v as i128).wrapping_neg().max(isize::MIN as i128) as isize,
        Ok(v) => v.min(isize::MAX as u64) as isize,
        Err(_) if neg => isize::MIN,
        Err(_) => isize::MAX,
    };
    Ok(Some(v))
}

/// An index (`p`, not empty) into an axis of length `n`, counted from 0.
fn index(p: &str, n: usize, axis: usize) -> Result<usize, SliceError> {
    // Not empty (`components` refuses empty parts), so never `None`.
    let i = bound(p, axis)?.unwrap_or(isize::MAX);
    // An index beyond the isize range saturated, and is out of bounds as such.
    let out = || SliceError::IndexOutOfBounds {
        index: i,
        axis,
        len: n,
    };
    let abs = if i < 0 {
        n.checked_sub(i.unsigned_abs()).ok_or_else(out)?
    } else {
        i as usize
    };
    if abs >= n {
        return Err(out());
    }
    Ok(abs)
}

/// Python's `PySlice_Unpack` and `PySlice_AdjustIndices`: the first index, the step and the
/// number of elements of `start:stop:step` over axis `axis` of length `n` (at most
/// `isize::MAX`, checked by [`parse`]).
fn adjust(
    start: Option<isize>,
    stop: Option<isize>,
    step: Option<isize>,
    n: usize,
    axis: usize,
) -> Result<(isize, isize, usize), SliceError> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(SliceError::ZeroStep { axis });
    }
    // So that -step cannot overflow.
    let step = step.max(-isize::MAX);
    let n = isize::try_from(n).map_err(|_| SliceError::AxisTooLong { axis, len: n })?;
    let clamp = |x: Option<isize>, default: isize| -> isize {
        match x {
            None => default,
            Some(x) if x < 0 => {
                // x + n cannot overflow: x < 0 <= n.
                let x = x + n;
                if x < 0 {
                    if step < 0 { -1 } else { 0 }
                } else {
                    x
                }
            }
            Some(x) if x >= n => {
                if step < 0 {
                    n - 1
                } else {
                    n
                }
            }
            Some(x) => x,
        }
    };
    let (start, stop) = if step < 0 {
        (clamp(start, n - 1), clamp(stop, -1))
    } else {
        (clamp(start, 0), clamp(stop, n))
    };
    // Here -1 <= start, stop <= n, so the differences below cannot overflow.
    let len = if step < 0 && stop < start {
        (start - stop - 1) / -step + 1
    } else if step > 0 && start < stop {
        (stop - start - 1) / step + 1
    } else {
        0
    };
    Ok((start, step, len as usize))
}

/// One axis' part of a spec: an index, or `start:stop:step`.
fn one(p: &str, n: usize, axis: usize) -> Result<SliceInfoElem, SliceError> {
    if !p.contains(':') {
        // An index below n <= isize::MAX (the array exists) fits an isize.
        return Ok(SliceInfoElem::Index(index(p, n, axis)? as isize));
    }
    let f: Vec<&str> = p.split(':').map(str::trim).collect();
    if f.len() > 3 {
        return Err(SliceError::TooManyColons {
            text: p.to_string(),
            axis,
        });
    }
    let (start, stop) = (bound(f[0], axis)?, bound(f[1], axis)?);
    let step = bound(f.get(2).copied().unwrap_or(""), axis)?;
    let (start, step, len) = adjust(start, stop, step, n, axis)?;
    // ndarray walks `start..end` forwards, or from its end for a negative step: give it the
    // tightest such range. Every element lies in 0..n, so none of this overflows.
    Ok(match len {
        0 => SliceInfoElem::Slice {
            start: 0,
            end: Some(0),
            step: 1,
        },
        1 => SliceInfoElem::Slice {
            start,
            end: Some(start + 1),
            step: 1,
        },
        _ => {
            // (len - 1) * |step| <= n - 1: the last element is inside the axis.
            let last = start + (len as isize - 1) * step;
            if step > 0 {
                SliceInfoElem::Slice {
                    start,
                    end: Some(last + 1),
                    step,
                }
            } else {
                SliceInfoElem::Slice {
                    start: last,
                    end: Some(start + 1),
                    step,
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, IxDyn};

    /// The flat indices numpy would select, against ours.
    fn pick(spec: &str, shape: &[usize]) -> Vec<usize> {
        let a = Array::from_shape_vec(IxDyn(shape), (0..shape.iter().product()).collect()).unwrap();
        let s = parse(spec, shape).unwrap();
        a.slice(s.as_slice()).iter().copied().collect()
    }

    /// Python's own `range(n)[start:stop:step]`, spelled out with big integers.
    fn python(start: Option<i128>, stop: Option<i128>, step: Option<i128>, n: i128) -> Vec<usize> {
        let step = step.unwrap_or(1);
        let (lo, hi) = if step < 0 { (-1, n - 1) } else { (0, n) };
        let fix = |x: Option<i128>, d: i128| match x {
            None => d,
            Some(x) if x < 0 => (x + n).max(lo),
            Some(x) => x.min(hi),
        };
        let (mut i, stop) = if step < 0 {
            (fix(start, n - 1), fix(stop, -1))
        } else {
            (fix(start, 0), fix(stop, n))
        };
        let mut out = vec![];
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            out.push(i as usize);
            i += step;
        }
        out
    }

    #[test]
    fn numpy_semantics() {
        assert_eq!(pick("1:3", &[5]), vec![1, 2]);
        assert_eq!(pick("::2", &[5]), vec![0, 2, 4]);
        assert_eq!(pick("-1", &[5]), vec![4]);
        assert_eq!(pick("-5:", &[5]), vec![0, 1, 2, 3, 4]);
        assert_eq!(pick("-2:", &[5]), vec![3, 4]);
        assert_eq!(pick("3:100", &[5]), vec![3, 4]);
        assert_eq!(pick("::-1", &[4]), vec![3, 2, 1, 0]);
        assert_eq!(pick("3:0:-2", &[5]), vec![3, 1]);
        assert_eq!(pick("4:1", &[5]), Vec::<usize>::new());
        assert_eq!(pick("1,:", &[2, 3]), vec![3, 4, 5]);
        assert_eq!(pick("1,", &[2, 3]), vec![3, 4, 5]);
        assert_eq!(pick(":,2", &[2, 3]), vec![2, 5]);
        assert_eq!(pick("", &[3]), vec![0, 1, 2]);
        assert_eq!(pick("", &[]), vec![0]);
        assert_eq!(pick(" 1 : 3 ", &[5]), vec![1, 2]);
    }

    /// Against numpy 2: `np.arange(24).reshape(2, 3, 4)[spec].ravel()`, and its shape.
    #[test]
    fn ellipsis_as_numpy_reads_it() {
        let s = [2, 3, 4];
        assert_eq!(pick("...,1", &s), vec![1, 5, 9, 13, 17, 21]);
        assert_eq!(pick("1,...", &s), (12..24).collect::<Vec<_>>());
        assert_eq!(pick("...", &s), (0..24).collect::<Vec<_>>());
        assert_eq!(pick("...,", &s), (0..24).collect::<Vec<_>>());
        assert_eq!(pick("1,...,2", &s), vec![14, 18, 22]);
        assert_eq!(pick("0,1,2,...", &s), vec![6]);
        assert_eq!(pick("...,0,0,0", &s), vec![0]);
        assert_eq!(
            pick(" ... , ::-2", &s),
            vec![3, 1, 7, 5, 11, 9, 15, 13, 19, 17, 23, 21]
        );
        assert_eq!(pick("-1,...,1:3", &s), vec![13, 14, 17, 18, 21, 22]);
        assert_eq!(pick("...,-1,:", &s), vec![8, 9, 10, 11, 20, 21, 22, 23]);
        assert_eq!(pick("...", &[5]), vec![0, 1, 2, 3, 4]);
        assert_eq!(pick("...,2:", &[5]), vec![2, 3, 4]);
        assert_eq!(pick("...", &[]), vec![0]);
        let shape = |spec| {
            let e = parse(spec, &s).unwrap();
            crate::selection_shape(&s, &e).unwrap()
        };
        assert_eq!(shape("...,1"), [2, 3]);
        assert_eq!(shape("1,...,2"), [3]);
        assert_eq!(shape("0,1,2,..."), [0usize; 0]);
        // The axis an error names is the array's, past the `...`.
        assert_eq!(
            parse("...,7", &s),
            Err(SliceError::IndexOutOfBounds {
                index: 7,
                axis: 2,
                len: 4
            })
        );
        assert_eq!(
            parse("...,x", &s),
            Err(SliceError::NotAnInteger {
                text: "x".into(),
                axis: 2
            })
        );
    }

    #[test]
    fn extreme_bounds_follow_python() {
        let (min, max) = (i64::MIN as i128, i64::MAX as i128);
        let big = 10i128.pow(30);
        let vals = [
            None,
            Some(min - 1),
            Some(min),
            Some(min + 1),
            Some(-big),
            Some(-6),
            Some(-5),
            Some(-1),
            Some(0),
            Some(1),
            Some(4),
            Some(5),
            Some(max - 1),
            Some(max),
            Some(max + 1),
            Some(big),
        ];
        let text = |x: Option<i128>| x.map_or(String::new(), |x| x.to_string());
        for n in [0usize, 1, 5] {
            for &a in &vals {
                for &b in &vals {
                    for &c in &vals {
                        if c == Some(0) {
                            continue;
                        }
                        let spec = format!("{}:{}:{}", text(a), text(b), text(c));
                        // Python saturates to the isize range before it adjusts.
                        let sat = |x: Option<i128>| x.map(|x| x.clamp(min, max));
                        let want = python(sat(a), sat(b), sat(c).map(|c| c.max(-max)), n as i128);
                        assert_eq!(pick(&spec, &[n]), want, "{spec} over {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn one_element_slices_have_step_one() {
        for spec in [
            "1::9223372036854775807",
            "::-9223372036854775808",
            "3:4:-1000",
        ] {
            let s = parse(spec, &[5]).unwrap();
            assert!(
                matches!(s[0], SliceInfoElem::Slice { step: 1, .. }),
                "{spec}: {s:?}"
            );
        }
    }

    #[test]
    fn bad_slices() {
        use SliceError::*;
        let oob = |index| IndexOutOfBounds {
            index,
            axis: 0,
            len: 5,
        };
        let nan = |text: &str, axis| NotAnInteger {
            text: text.into(),
            axis,
        };
        let max = isize::MAX;
        for (bad, want) in [
            ("5", oob(5)),
            ("-6", oob(-6)),
            ("9223372036854775807", oob(max)),
            ("-9223372036854775808", oob(-max - 1)),
            // Saturated, as the bounds of a range are.
            ("99999999999999999999999", oob(max)),
            ("1:2:0", ZeroStep { axis: 0 }),
            ("a:b", nan("a", 0)),
            ("--1", nan("--1", 0)),
            ("1.5", nan("1.5", 0)),
            ("- 1", nan("- 1", 0)),
            (":+", nan("+", 0)),
            ("1,2", TooManyIndices { given: 2, ndim: 1 }),
            (
                "1:2:3:4",
                TooManyColons {
                    text: "1:2:3:4".into(),
                    axis: 0,
                },
            ),
            (",", EmptyIndex { axis: 0 }),
            ("1,,", EmptyIndex { axis: 1 }),
            (",1", EmptyIndex { axis: 0 }),
        ] {
            assert_eq!(parse(bad, &[5]), Err(want), "{bad}");
        }
        assert_eq!(parse(",,", &[5, 5]), Err(EmptyIndex { axis: 0 }));
        assert_eq!(parse(":,,:", &[5, 5, 5]), Err(EmptyIndex { axis: 1 }));
        assert_eq!(parse(":, x", &[5, 5]), Err(nan("x", 1)));
        assert_eq!(parse("0", &[]), Err(TooManyIndices { given: 1, ndim: 0 }));
        // numpy: IndexError: an index can only have a single ellipsis ('...')
        assert_eq!(parse("...,...", &[5, 5]), Err(MultipleEllipsis));
        assert_eq!(parse("...,0,...", &[5, 5, 5]), Err(MultipleEllipsis));
        // numpy counts the indices, not the `...`: 3-dimensional, but 4 were indexed.
        let four = TooManyIndices { given: 4, ndim: 3 };
        assert_eq!(parse("0,0,0,0,...", &[2, 2, 2]), Err(four.clone()));
        assert_eq!(parse("...,0,0,0,0", &[2, 2, 2]), Err(four));
        assert_eq!(parse("...:2", &[5]), Err(nan("...", 0)));
        let len = usize::MAX;
        assert_eq!(parse("0", &[len]), Err(AxisTooLong { axis: 0, len }));
    }

    #[test]
    fn errors_name_the_spec_and_read_as_numpy_would() {
        let msg = |spec: &str, shape: &[usize]| parse_slice(spec, shape).unwrap_err().to_string();
        assert_eq!(
            msg("1:x", &[5]),
            r#"bad slice "1:x": "x" is not an integer (axis 0)"#
        );
        assert_eq!(
            msg(":,,:", &[5, 5, 5]),
            r#"bad slice ":,,:": the index for axis 1 is empty; write ':' for a whole axis"#
        );
        assert_eq!(
            msg("0", &[]),
            r#"bad slice "0": 1 index given but the array is 0-dimensional (a scalar), which takes none"#
        );
        assert_eq!(
            msg("0,0,0", &[2, 2]),
            r#"bad slice "0,0,0": 3 indices given for an array of 2 dimensions"#
        );
        assert_eq!(
            msg(":, 2", &[5, 2]),
            r#"bad slice ":, 2": index 2 is out of bounds for axis 1 of length 2"#
        );
        assert!(msg("::0", &[5]).contains("step 0 on axis 0"));
        assert_eq!(
            msg("...,...", &[5]),
            r#"bad slice "...,...": an index can only have a single ellipsis ('...')"#
        );
        // Text from the caller is quoted short, with control characters escaped.
        let long = format!("\x1b[2J{}", "9".repeat(500));
        let m = msg(&long, &[5]);
        assert!(m.len() < 300 && m.contains("\\u{1b}"), "{m}");
    }

    #[test]
    fn hint_keeps_an_axis() {
        assert_eq!(slice_keeping_axis("0,0", &[3, 4]).unwrap(), "0:1,0");
        assert_eq!(slice_keeping_axis("-1, 2", &[3, 4]).unwrap(), "2:3,2");
        assert_eq!(slice_keeping_axis(":,-1", &[3, 4]).unwrap(), ":,3:4");
        assert_eq!(slice_keeping_axis("1:2", &[3]), None);
        assert_eq!(slice_keeping_axis("0,", &[3, 4]).unwrap(), "0:1");
        assert_eq!(slice_keeping_axis("9", &[3]), None);
        // Written as given, the `...` kept.
        assert_eq!(slice_keeping_axis("...,1", &[3, 4]).unwrap(), "...,1:2");
        assert_eq!(slice_keeping_axis("1,...", &[3, 4]).unwrap(), "1:2,...");
        assert_eq!(
            slice_keeping_axis(":,...,-1", &[2, 3, 4]).unwrap(),
            ":,...,3:4"
        );
        assert_eq!(slice_keeping_axis("0,...,0", &[2, 3]).unwrap(), "0:1,...,0");
        assert_eq!(slice_keeping_axis("...,...", &[3]), None);
        let hint = slice_keeping_axis("-1,7", &[4, 8]).unwrap();
        assert_eq!(parse(&hint, &[4, 8]).unwrap().len(), 2);
        assert!(parse(&hint, &[4, 8]).unwrap()[0].is_slice());
    }
}
