//! numpy's shapes and axes as a user writes them: a shape tuple read from text
//! ([`parse_shape`]), numpy's size rule ([`check_size`]), the shape of a selection
//! ([`selection_shape`]), and an axis counted from either end, of an array
//! ([`normalize_axis`]) or of a selection ([`selection_axis`]).
//!
//! Beside [`parse_slice`](crate::parse_slice), for the same reader: the text a user types for
//! an array of a type and shape known only at run time ([`AnyArray`](crate::AnyArray),
//! [`RawSpec`](crate::RawSpec)). Pure: no I/O, every computation checked.

use crate::error::{Error, Result, ShapeError};
use crate::layout::{self, MAX_DIMS};
use ndarray::SliceInfoElem;

/// Reads `spec`, a shape as numpy writes a tuple, into its dimensions: `3,4` or `(3, 4)`;
/// `3,`, `(3,)` or `3` for one axis; `''` or `()` for none (a scalar). Spaces around the parts
/// are ignored, and so is one `+` before a dimension.
///
/// # Errors
/// [`Error::BadShapeSpec`] with the text and a [`ShapeError`]: an empty dimension (`3,,4`), a
/// negative one (`-3`), one that is not an integer (`2.5`), one past `isize::MAX` (numpy's
/// `intp`), more than 64 dimensions (numpy's `NPY_MAXDIMS`), unbalanced parentheses. A shape
/// whose bytes numpy could not hold is refused by [`check_size`], which needs the element size.
///
/// ```
/// use ndmmap::{Error, ShapeError, parse_shape};
///
/// assert_eq!(parse_shape("(2, 3, 4)")?, [2, 3, 4]);
/// assert_eq!(parse_shape("3,")?, [3]);
/// assert_eq!(parse_shape("()")?, [0usize; 0]);
/// let e = parse_shape("3,,4").unwrap_err();
/// assert!(matches!(e, Error::BadShapeSpec { kind: ShapeError::EmptyDimension { axis: 1 }, .. }));
/// assert_eq!(
///     e.to_string(),
///     r#"shape "3,,4": dimension 2: empty (write each dimension between commas)"#
/// );
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn parse_shape(spec: &str) -> Result<Vec<usize>> {
    parse(spec).map_err(|kind| Error::BadShapeSpec {
        spec: spec.to_string(),
        kind,
    })
}

fn parse(spec: &str) -> std::result::Result<Vec<usize>, ShapeError> {
    let t = spec.trim();
    let body = t
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .unwrap_or(t)
        .trim();
    if body.contains(['(', ')']) {
        return Err(ShapeError::UnbalancedParentheses);
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
        .map(|(axis, p)| dimension(p, axis))
        .collect::<std::result::Result<Vec<usize>, ShapeError>>()?;
    if dims.len() > MAX_DIMS {
        return Err(ShapeError::TooManyDimensions { ndim: dims.len() });
    }
    Ok(dims)
}

/// One dimension `p` (trimmed) of a shape, the `axis`-th.
fn dimension(p: &str, axis: usize) -> std::result::Result<usize, ShapeError> {
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    let text = || p.to_string();
    if p.is_empty() {
        return Err(ShapeError::EmptyDimension { axis });
    }
    if p.strip_prefix('-').is_some_and(digits) {
        return Err(ShapeError::NegativeDimension { text: text(), axis });
    }
    if !digits(p.strip_prefix('+').unwrap_or(p)) {
        return Err(ShapeError::NotAnInteger { text: text(), axis });
    }
    match p.parse::<u64>() {
        Ok(d) if d <= isize::MAX as u64 => Ok(d as usize),
        _ => Err(ShapeError::DimensionTooLarge { text: text(), axis }),
    }
}

/// numpy's size rule: the bytes of an array of `shape` with `elem_size`-byte elements, when
/// the product of the non-zero dimensions times the element size is at most `isize::MAX`
/// (numpy's and ndarray's limit), even where another dimension is 0: an empty array numpy
/// could not have made is refused, not written or mapped.
///
/// # Errors
/// [`Error::SizeOverflow`] with the shape and the element size.
///
/// ```
/// use ndmmap::{Error, check_size};
///
/// assert_eq!(check_size(&[3, 4], 8)?, 96);
/// assert_eq!(check_size(&[], 8)?, 8); // a scalar
/// assert_eq!(check_size(&[0, 5], 8)?, 0);
/// let e = check_size(&[0, 1 << 61], 8).unwrap_err();
/// assert!(matches!(e, Error::SizeOverflow { elem_size: 8, .. }));
/// assert!(e.to_string().ends_with("is too big: more than isize::MAX bytes"));
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn check_size(shape: &[usize], elem_size: usize) -> Result<usize> {
    layout::checked_bytes(shape, elem_size)
}

/// The shape of the selection `elems` (as `s![..]` or [`parse_slice`](crate::parse_slice)
/// gives it; no element for the whole array) of an array of `shape`, as ndarray's
/// [`slice`](ndarray::ArrayRef::slice) would give it, without an array: an index removes its
/// axis, a range keeps its number of elements, a new axis adds one of length 1, axes past
/// `elems` are whole.
///
/// # Errors
/// [`Error::BadSlice`] when `elems` does not fit `shape` (where ndarray would panic).
///
/// ```
/// use ndarray::s;
/// use ndmmap::{parse_slice, selection_shape};
///
/// assert_eq!(selection_shape(&[10, 4], s![2..9;3, 1].as_ref())?, [3]);
/// assert_eq!(selection_shape(&[10, 4], &parse_slice("::-1", &[10, 4])?)?, [10, 4]);
/// assert_eq!(selection_shape(&[10, 4], &[])?, [10, 4]);
/// assert!(selection_shape(&[10, 4], s![10, ..].as_ref()).is_err());
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn selection_shape(shape: &[usize], elems: &[SliceInfoElem]) -> Result<Vec<usize>> {
    layout::check_slice(shape, elems)?;
    Ok(layout::slice_geometry(shape, &vec![0; shape.len()], elems).shape)
}

/// numpy's axis normalisation (`normalize_axis_index`): `axis` of an array of `ndim`
/// dimensions, negative counting from the last (`-1` is the last axis), as an index from 0.
///
/// # Errors
/// [`Error::AxisOutOfBounds`] for an axis outside `-ndim..ndim` (every axis of a 0-dimensional
/// array).
///
/// ```
/// use ndmmap::{Error, normalize_axis};
///
/// assert_eq!(normalize_axis(-1, 3)?, 2);
/// assert_eq!(normalize_axis(0, 3)?, 0);
/// let e = normalize_axis(2, 2).unwrap_err();
/// assert!(matches!(e, Error::AxisOutOfBounds { axis: 2, ndim: 2, sliced: false }));
/// assert_eq!(e.to_string(), "axis 2 is out of bounds for the 2-dimensional array");
/// assert!(normalize_axis(-3, 2).is_err());
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn normalize_axis(axis: isize, ndim: usize) -> Result<usize> {
    axis_of(axis, ndim, false)
}

/// [`normalize_axis`] for an axis of the selection `elems` (no element: the whole array) of
/// an array of `shape`: numpy's `a[...].sum(axis=...)` counts the axes of the slice's result,
/// which an index removes. Its [`Error::AxisOutOfBounds`] says when the axis is a slice's.
///
/// # Errors
/// [`Error::BadSlice`] when `elems` does not fit `shape`; [`Error::AxisOutOfBounds`] when the
/// selection has no axis `axis`.
///
/// ```
/// use ndarray::s;
/// use ndmmap::selection_axis;
///
/// // Row 3 of a 10 x 4 array has one axis: -1 is it.
/// assert_eq!(selection_axis(&[10, 4], s![3, ..].as_ref(), -1)?, 0);
/// assert_eq!(selection_axis(&[10, 4], &[], -1)?, 1);
/// let e = selection_axis(&[10, 4], s![3, ..].as_ref(), 1).unwrap_err();
/// assert_eq!(e.to_string(), "axis 1 is out of bounds for the 1-dimensional result of the slice");
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn selection_axis(shape: &[usize], elems: &[SliceInfoElem], axis: isize) -> Result<usize> {
    let ndim = selection_shape(shape, elems)?.len();
    axis_of(axis, ndim, !elems.is_empty())
}

/// The one rule of [`normalize_axis`] and [`selection_axis`]: `axis` of `ndim` dimensions,
/// those of a slice's result when `sliced`.
pub(crate) fn axis_of(axis: isize, ndim: usize, sliced: bool) -> Result<usize> {
    let out = || Error::AxisOutOfBounds { axis, ndim, sliced };
    let n = isize::try_from(ndim).map_err(|_| out())?;
    let k = if axis < 0 { axis + n } else { axis };
    if (0..n).contains(&k) {
        Ok(k as usize)
    } else {
        Err(out())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(spec: &str) -> ShapeError {
        match parse_shape(spec) {
            Err(Error::BadShapeSpec { kind, .. }) => kind,
            other => panic!("{spec:?}: {other:?}"),
        }
    }

    #[test]
    fn shapes_read_as_numpy_tuples() {
        for (s, want) in [
            ("3,4", vec![3, 4]),
            ("(3, 4)", vec![3, 4]),
            (" 3 ", vec![3]),
            ("3,", vec![3]),
            ("(3,)", vec![3]),
            ("+3", vec![3]),
            ("", vec![]),
            ("()", vec![]),
            ("( )", vec![]),
            ("0,9223372036854775807", vec![0, isize::MAX as usize]),
        ] {
            assert_eq!(parse_shape(s).unwrap(), want, "{s:?}");
        }
        let many = vec!["1"; MAX_DIMS].join(",");
        assert_eq!(parse_shape(&many).unwrap().len(), MAX_DIMS);
    }

    #[test]
    fn bad_shapes_say_which_dimension() {
        use ShapeError::*;
        assert_eq!(kind("3,,4"), EmptyDimension { axis: 1 });
        assert_eq!(kind(","), EmptyDimension { axis: 0 });
        assert_eq!(kind("3,4,,"), EmptyDimension { axis: 2 });
        let text = |t: &str| t.to_string();
        assert_eq!(
            kind("3,-4"),
            NegativeDimension {
                text: text("-4"),
                axis: 1
            }
        );
        assert_eq!(
            kind("2.5"),
            NotAnInteger {
                text: text("2.5"),
                axis: 0
            }
        );
        assert_eq!(
            kind("9223372036854775808"),
            DimensionTooLarge {
                text: text("9223372036854775808"),
                axis: 0
            }
        );
        assert_eq!(kind("(3,4"), UnbalancedParentheses);
        assert_eq!(kind("(3),(4)"), UnbalancedParentheses);
        let many = vec!["1"; MAX_DIMS + 1].join(",");
        assert_eq!(kind(&many), TooManyDimensions { ndim: 65 });
        // The words the command has always printed.
        let msg = |s: &str| parse_shape(s).unwrap_err().to_string();
        assert_eq!(
            msg("-3"),
            r#"shape "-3": dimension 1: -3 is negative; a dimension counts elements"#
        );
        assert_eq!(
            msg("x"),
            r#"shape "x": dimension 1: "x" is not a non-negative integer"#
        );
        assert_eq!(
            msg("18446744073709551616"),
            "shape \"18446744073709551616\": dimension 1: 18446744073709551616 is larger than \
             numpy's largest dimension, 9223372036854775807"
        );
        assert_eq!(msg("(3,4"), r#"shape "(3,4": unbalanced parentheses"#);
        assert!(msg(&many).ends_with("has 65 dimensions; numpy arrays have at most 64"));
    }

    #[test]
    fn sizes_follow_numpy() {
        assert_eq!(
            check_size(&[isize::MAX as usize], 1).unwrap(),
            isize::MAX as usize
        );
        assert!(check_size(&[0, isize::MAX as usize, 2], 1).is_err());
        assert!(check_size(&[1 << 32, 1 << 32], 1).is_err());
        assert_eq!(check_size(&[1 << 59, 0], 8).unwrap(), 0);
    }

    #[test]
    fn axes_count_from_either_end() {
        for (axis, ndim, want) in [(0, 1, Some(0)), (-1, 1, Some(0)), (-2, 2, Some(0))] {
            assert_eq!(normalize_axis(axis, ndim).ok(), want);
        }
        for (axis, ndim) in [
            (1, 1),
            (-2, 1),
            (0, 0),
            (-1, 0),
            (isize::MIN, 3),
            (isize::MAX, 3),
        ] {
            assert!(
                matches!(normalize_axis(axis, ndim), Err(Error::AxisOutOfBounds { axis: a, ndim: n, sliced: false }) if (a, n) == (axis, ndim)),
                "{axis} of {ndim}"
            );
        }
        let e = selection_axis(&[4, 5, 6], ndarray::s![1, .., 2].as_ref(), -2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "axis -2 is out of bounds for the 1-dimensional result of the slice"
        );
        assert_eq!(
            selection_axis(
                &[4, 5, 6],
                ndarray::s![.., ndarray::NewAxis, 2].as_ref(),
                -1
            )
            .unwrap(),
            2
        );
        assert!(matches!(
            selection_axis(&[4], ndarray::s![4].as_ref(), 0),
            Err(Error::BadSlice(_))
        ));
    }

    #[test]
    fn selection_shapes_are_ndarrays() {
        use ndarray::{Array, IxDyn, s};
        let a = Array::<u8, _>::zeros(IxDyn(&[5, 6, 7]));
        for sl in [
            s![.., .., ..].as_ref().to_vec(),
            s![1, 2..;2, ..;-3].as_ref().to_vec(),
            vec![
                SliceInfoElem::Index(-1),
                SliceInfoElem::NewAxis,
                SliceInfoElem::Slice {
                    start: 5,
                    end: Some(2),
                    step: 1,
                },
                SliceInfoElem::Index(3),
            ],
            s![..;isize::MAX, ..;-isize::MAX, ..].as_ref().to_vec(),
        ] {
            assert_eq!(
                selection_shape(a.shape(), &sl).unwrap(),
                a.slice(sl.as_slice()).shape(),
                "{sl:?}"
            );
        }
        // Axes past the selection's elements are whole, as for `pages`.
        assert_eq!(selection_shape(a.shape(), &[]).unwrap(), [5, 6, 7]);
        let first = s![1..3].as_ref().to_vec();
        assert_eq!(selection_shape(a.shape(), &first).unwrap(), [2, 6, 7]);
    }
}
