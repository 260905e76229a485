//! numpy slice syntax (`100:200,:`, `::2,5`, `-1`) to ndarray slice elements, with numpy's
//! clamping of ranges and bounds-checking of indices.

use ndarray::SliceInfoElem;

/// Parses `spec` against `shape`.
pub fn parse(spec: &str, shape: &[usize]) -> Result<Vec<SliceInfoElem>, String> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    if parts.len() > shape.len() {
        return Err(format!(
            "slice {spec:?} has {} indices but the array has {} dimensions",
            parts.len(),
            shape.len()
        ));
    }
    parts
        .iter()
        .zip(shape)
        .enumerate()
        .map(|(axis, (p, &n))| one(p, n, axis).map_err(|e| format!("slice {spec:?}: {e}")))
        .collect()
}

fn int(s: &str) -> Result<Option<isize>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<isize>()
        .map(Some)
        .map_err(|_| format!("{s:?} is not an integer"))
}

fn one(p: &str, n: usize, axis: usize) -> Result<SliceInfoElem, String> {
    let n = n as isize;
    if p.is_empty() {
        return Ok(SliceInfoElem::from(..));
    }
    if !p.contains(':') {
        let i = int(p)?.ok_or(format!("empty index for axis {axis}"))?;
        let abs = if i < 0 { i + n } else { i };
        if !(0..n).contains(&abs) {
            return Err(format!(
                "index {i} is out of bounds for axis {axis} with size {n}"
            ));
        }
        return Ok(SliceInfoElem::Index(abs));
    }
    let f: Vec<&str> = p.split(':').collect();
    if f.len() > 3 {
        return Err(format!("{p:?} has too many ':'"));
    }
    let step = int(f.get(2).copied().unwrap_or(""))?.unwrap_or(1);
    if step == 0 {
        return Err(format!("slice step cannot be zero (axis {axis})"));
    }
    let adj = |x: isize| if x < 0 { x + n } else { x };
    let (start, stop) = (int(f[0])?, int(f[1])?);
    let empty = SliceInfoElem::Slice {
        start: 0,
        end: Some(0),
        step: 1,
    };
    if step > 0 {
        let s = start.map_or(0, |x| adj(x).clamp(0, n));
        let e = stop.map_or(n, |x| adj(x).clamp(0, n));
        Ok(if e <= s {
            empty
        } else {
            SliceInfoElem::Slice {
                start: s,
                end: Some(e),
                step,
            }
        })
    } else {
        // numpy walks down from `start`; ndarray walks a range from its end: convert.
        let s = start.map_or(n - 1, |x| adj(x).clamp(-1, n - 1));
        let e = stop.map_or(-1, |x| adj(x).clamp(-1, n - 1));
        Ok(if s <= e {
            empty
        } else {
            SliceInfoElem::Slice {
                start: e + 1,
                end: Some(s + 1),
                step,
            }
        })
    }
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

    #[test]
    fn numpy_semantics() {
        assert_eq!(pick("1:3", &[5]), vec![1, 2]);
        assert_eq!(pick("::2", &[5]), vec![0, 2, 4]);
        assert_eq!(pick("-1", &[5]), vec![4]);
        assert_eq!(pick("3:100", &[5]), vec![3, 4]);
        assert_eq!(pick("::-1", &[4]), vec![3, 2, 1, 0]);
        assert_eq!(pick("3:0:-2", &[5]), vec![3, 1]);
        assert_eq!(pick("4:1", &[5]), Vec::<usize>::new());
        assert_eq!(pick("1,:", &[2, 3]), vec![3, 4, 5]);
        assert_eq!(pick(":,2", &[2, 3]), vec![2, 5]);
        assert_eq!(pick("", &[3]), vec![0, 1, 2]);
    }

    #[test]
    fn bad_slices() {
        for bad in ["5", "-6", "1:2:0", "a:b", "1,2", "1:2:3:4"] {
            assert!(parse(bad, &[5]).is_err(), "{bad}");
        }
    }
}
