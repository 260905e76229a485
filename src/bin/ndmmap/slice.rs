//! numpy slice syntax (`100:200,:`, `::2,5`, `-1`) to ndarray slice elements, with numpy's
//! clamping of ranges (Python's `PySlice_AdjustIndices`) and bounds-checking of indices.
//!
//! Every number the user writes is an `i64` at most (a larger slice bound saturates, as Python's
//! does), and every computation here is free of overflow. The slices it returns are normalised:
//! their end is the element after the last one selected, and a slice of at most one element has
//! step 1, so that no later `stride * step` can overflow however large the step was written.

use ndarray::SliceInfoElem;

/// Parses `spec` against `shape`, into one element per axis (axes `spec` leaves out are whole,
/// as in numpy). An empty `spec` selects the whole array (numpy's `a[()]`); one trailing comma
/// is allowed (`1,` is numpy's `a[1,]`); empty components are not.
pub fn parse(spec: &str, shape: &[usize]) -> Result<Vec<SliceInfoElem>, String> {
    let parts = components(spec)?;
    if parts.len() > shape.len() {
        let n = parts.len();
        let indices = if n == 1 { "index" } else { "indices" };
        return Err(if shape.is_empty() {
            format!(
                "slice {spec:?} has {n} {indices} but the array is 0-dimensional (a scalar), \
                 which takes none: leave out --slice"
            )
        } else {
            format!(
                "slice {spec:?} has {n} {indices} but the array has {} dimensions",
                shape.len()
            )
        });
    }
    parts
        .iter()
        .zip(shape)
        .enumerate()
        .map(|(axis, (p, &n))| one(p, n, axis).map_err(|e| format!("slice {spec:?}: {e}")))
        .chain(
            shape[parts.len()..]
                .iter()
                .map(|_| Ok(SliceInfoElem::from(..))),
        )
        .collect()
}

/// `spec` with its first integer index `i` written as the one-element range `i:i+1` (with `i`
/// counted from 0), so that the selection keeps an axis: the hint given when a command needs
/// an axis and `spec` selects a scalar. `None` when `spec` has no index.
pub fn keep_first_axis(spec: &str, shape: &[usize]) -> Option<String> {
    let parts = components(spec).ok()?;
    let k = parts.iter().position(|p| !p.contains(':'))?;
    let i = index(parts[k], *shape.get(k)?, k).ok()?;
    let mut out: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    out[k] = format!("{i}:{}", i + 1);
    Some(out.join(","))
}

/// The comma-separated components of `spec`, trimmed.
fn components(spec: &str) -> Result<Vec<&str>, String> {
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
    if let Some(k) = parts.iter().position(|p| p.is_empty()) {
        return Err(format!(
            "slice {spec:?}: component {} is empty; write ':' for a whole axis",
            k + 1
        ));
    }
    Ok(parts)
}

/// An integer as Python reads a slice bound: optional sign, decimal digits; a value beyond
/// the `isize` range saturates (Python's `_PyEval_SliceIndex`). `None` for an empty field.
fn bound(s: &str) -> Result<Option<isize>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let (neg, digits) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not an integer"));
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

/// An index into an axis of length `n`, counted from 0.
fn index(p: &str, n: usize, axis: usize) -> Result<usize, String> {
    let i = bound(p)?.ok_or(format!("empty index for axis {axis}"))?;
    // An index beyond the isize range saturated, and is out of bounds as such.
    let out = || format!("index {p} is out of bounds for axis {axis} with size {n}");
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
/// number of elements of `start:stop:step` over an axis of length `n`.
fn adjust(
    start: Option<isize>,
    stop: Option<isize>,
    step: Option<isize>,
    n: usize,
) -> Result<(isize, isize, usize), String> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err("slice step cannot be zero".into());
    }
    // So that -step cannot overflow.
    let step = step.max(-isize::MAX);
    let n = isize::try_from(n).map_err(|_| format!("axis length {n} is too large"))?;
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

fn one(p: &str, n: usize, axis: usize) -> Result<SliceInfoElem, String> {
    if !p.contains(':') {
        // An index below n <= isize::MAX (the array exists) fits an isize.
        return Ok(SliceInfoElem::Index(index(p, n, axis)? as isize));
    }
    let f: Vec<&str> = p.split(':').map(str::trim).collect();
    if f.len() > 3 {
        return Err(format!("{p:?} has too many ':'"));
    }
    let (start, stop) = (bound(f[0])?, bound(f[1])?);
    let step = bound(f.get(2).copied().unwrap_or(""))?;
    let (start, step, len) =
        adjust(start, stop, step, n).map_err(|e| format!("{e} (axis {axis})"))?;
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

/// The number of axes of the selection `elems` of an array with `ndim` axes.
pub fn result_ndim(elems: &[SliceInfoElem], ndim: usize) -> usize {
    let indices = elems
        .iter()
        .filter(|e| matches!(e, SliceInfoElem::Index(_)))
        .count();
    ndim - indices
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
        for bad in [
            "5",
            "-6",
            "1:2:0",
            "a:b",
            "1,2",
            "1:2:3:4",
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999999",
            ",",
            "1,,",
            ",1",
            "--1",
            "1.5",
            "- 1",
        ] {
            assert!(parse(bad, &[5]).is_err(), "{bad}");
        }
        assert!(parse(",,", &[5, 5]).is_err());
        assert!(parse(":,,:", &[5, 5, 5]).unwrap_err().contains("empty"));
        assert!(parse("0", &[]).unwrap_err().contains("scalar"));
    }

    #[test]
    fn hint_keeps_an_axis() {
        assert_eq!(keep_first_axis("0,0", &[3, 4]).unwrap(), "0:1,0");
        assert_eq!(keep_first_axis("-1, 2", &[3, 4]).unwrap(), "2:3,2");
        assert_eq!(keep_first_axis(":,-1", &[3, 4]).unwrap(), ":,3:4");
        assert_eq!(keep_first_axis("1:2", &[3]), None);
        assert_eq!(
            result_ndim(&parse("1,:", &[2, 3, 4]).unwrap(), 3),
            2,
            "an index removes its axis"
        );
    }
}
