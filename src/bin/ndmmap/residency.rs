//! `ndmmap residency`: the fraction of each slice along an axis that is in RAM, as a chart
//! folded into the terminal's columns (with an index scale and a legend), or as JSON.
//!
//! Where the slices of a column are one contiguous stretch of memory (the outer axis of a
//! C-order array, a step of ±1, whole inner axes), each column is counted as one selection, by
//! `cachestat(2)` where the kernel has it: a few dozen calls for a file of any size. Elsewhere
//! one `mincore` pass counts every slice and the columns sum them.

use crate::any_array::{AnyArray, SCOPE, UNKNOWN, known};
use crate::chart;
use crate::open::{self, FileOpts};
use crate::out::{self, Batch, Res, count};
use crate::ranks::{self, Ranks};
use crate::slice;
use ndarray::{Axis, SliceInfoElem};
use ndmmap::Residency;
use serde_json::json;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

pub fn run(o: &FileOpts, axis: i64, spec: Option<&str>, as_json: bool) -> Res<()> {
    let (values, batch) = out::each(&o.files, |b, path| one(b, path, o, axis, spec, as_json))?;
    if as_json {
        out::json(values, batch.several)?;
    }
    batch.finish()
}

fn one(
    b: &mut Batch,
    path: &Path,
    o: &FileOpts,
    axis: i64,
    spec: Option<&str>,
    as_json: bool,
) -> Res<serde_json::Value> {
    let a = open::open(path, o)?;
    let elems = a.slice_elems(spec)?;
    let k = selection_axis(&a, &elems, spec, axis)?;
    let sel = a.pages(&elems)?;
    let started = std::time::Instant::now();
    let whole = known(sel.residency())?;
    // Counting the whole selection took long (a page cache of small folios): share the
    // columns' counts between threads below.
    let slow = started.elapsed() > std::time::Duration::from_millis(2);
    if whole.is_none() {
        out::warn(&format!("{}: residency unknown: {UNKNOWN}", path.display()));
        b.fail();
    }
    if as_json {
        let slices = match whole {
            Some(_) => Some(sel.along(Axis(k))?),
            None => None,
        };
        let mut v = a.describe();
        v.extend([
            ("resident_pages".into(), json!(whole.map(|r| r.resident))),
            (
                "residency_unknown".into(),
                json!(whole.is_none().then_some(UNKNOWN)),
            ),
            ("axis".into(), json!(k)),
            ("slice".into(), json!(spec)),
            ("slices".into(), json!(slices)),
        ]);
        return Ok(serde_json::Value::Object(v));
    }
    let Some(whole) = whole else {
        return Ok(serde_json::Value::Null);
    };
    let full = full_elems(&a, &elems);
    let (shape, strides) = a.selection_layout(&elems);
    let n = shape[k];
    let cols = chart::columns(n, chart::width());
    let fractions = if contiguous(&shape, &strides, k) {
        // Each column is one stretch of memory: one count (one cachestat call) per column,
        // the columns shared between threads (cachestat walks the page cache folio by folio).
        let ax = array_axis(&full, k);
        let len = a.shape()[ax];
        let column = |c: &Range<usize>| -> ndmmap::Result<f64> {
            let mut e = full.clone();
            e[ax] = sub_slice(e[ax], len, c.clone());
            Ok(a.pages(&e)?.residency()?.fraction())
        };
        let threads = if slow {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            1
        };
        let per = cols.len().div_ceil(threads).max(1);
        if threads == 1 {
            cols.iter()
                .map(column)
                .collect::<ndmmap::Result<Vec<f64>>>()?
        } else {
            std::thread::scope(|scope| {
                let parts: Vec<_> = cols
                    .chunks(per)
                    .map(|part| scope.spawn(move || part.iter().map(column).collect::<Vec<_>>()))
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect::<ndmmap::Result<Vec<f64>>>()
            })?
        }
    } else {
        let per = sel.counts_along(Axis(k))?;
        cols.iter()
            .map(|c| {
                let r = per[c.clone()]
                    .iter()
                    .fold(Residency::default(), |s, r| Residency {
                        resident: s.resident + r.resident,
                        total: s.total + r.total,
                    });
                r.fraction()
            })
            .collect()
    };
    let index = |i: usize| array_index(&full, &a.shape(), k, i).to_string();
    b.gap()?;
    let mut t = String::new();
    writeln!(
        t,
        "{}  {} {:?}  axis {k}{}",
        out::one_line(&path.display().to_string(), 300),
        a.descr,
        a.shape(),
        spec.map(|s| format!("  slice [{s}]")).unwrap_or_default()
    )?;
    writeln!(t, "{}", chart::bar(&fractions))?;
    if n > 0 {
        writeln!(t, "{}", chart::scale(&index(0), &index(n - 1), cols.len()))?;
    }
    writeln!(
        t,
        "{}, {}/{} resident ({:.1}%)",
        count(n, "slice"),
        whole.resident,
        count(whole.total, "page"),
        100.0 * whole.fraction()
    )?;
    writeln!(t, "{}", chart::legend(&cols, "slice"))?;
    if let Some(scope) = SCOPE {
        writeln!(t, "{scope}")?;
    }
    out::print(&t)?;
    Ok(serde_json::Value::Null)
}

/// `axis` (negative from the last, as in numpy) as an index into the axes of the selection, or
/// the reason there is none.
fn selection_axis(
    a: &AnyArray,
    elems: &[SliceInfoElem],
    spec: Option<&str>,
    axis: i64,
) -> Res<usize> {
    let shape = a.shape();
    let nd = slice::result_ndim(elems, shape.len());
    if nd == 0 {
        let hint = spec.and_then(|s| Some((s, slice::keep_first_axis(s, &shape)?)));
        let msg = match hint {
            Some((s, hint)) => format!(
                "the slice {s} selects a single element (a scalar); residency per axis needs at \
                 least one sliced axis: use {hint}"
            ),
            None => format!(
                "{} is 0-dimensional (a scalar); residency per axis needs at least one axis \
                 (`ndmmap info` counts its pages)",
                a.path.display()
            ),
        };
        return Err(msg.into());
    }
    let of = if elems.is_empty() {
        "array"
    } else {
        "result of the slice"
    };
    let k = if axis < 0 {
        axis.checked_add(nd as i64)
    } else {
        Some(axis)
    };
    match k {
        Some(k) if (0..nd as i64).contains(&k) => Ok(k as usize),
        _ => Err(format!("axis {axis} is out of bounds for the {nd}-dimensional {of}").into()),
    }
}

/// The selection with one element per axis of the array (`..` for the whole array).
fn full_elems(a: &AnyArray, elems: &[SliceInfoElem]) -> Vec<SliceInfoElem> {
    let nd = a.shape().len();
    let mut full = elems.to_vec();
    full.resize(nd, SliceInfoElem::from(..));
    full
}

/// The axis of the array that axis `k` of the selection `full` comes from (indices drop axes).
fn array_axis(full: &[SliceInfoElem], k: usize) -> usize {
    full.iter()
        .enumerate()
        .filter(|(_, e)| !matches!(e, SliceInfoElem::Index(_)))
        .nth(k)
        .map(|(ax, _)| ax)
        .expect("k is an axis of the selection")
}

/// Start, end and step of a slice element over an axis of length `n` (the command's slices
/// are normalised: non-negative bounds; `..` has no end).
fn bounds(e: SliceInfoElem, n: usize) -> (isize, isize, isize) {
    match e {
        SliceInfoElem::Slice { start, end, step } => (start, end.unwrap_or(n as isize), step),
        _ => (0, n as isize, 1),
    }
}

/// Index `i` along axis `k` of the selection, as an index of the array's axis.
fn array_index(full: &[SliceInfoElem], shape: &[usize], k: usize, i: usize) -> isize {
    let ax = array_axis(full, k);
    let (start, end, step) = bounds(full[ax], shape[ax]);
    let i = i as isize;
    if step > 0 {
        start + i * step
    } else {
        end - 1 + i * step
    }
}

/// The slice element that selects indices `r` (of the selection `e` over an axis of length
/// `n`): ndarray walks a negative step from the end of its range.
fn sub_slice(e: SliceInfoElem, n: usize, r: Range<usize>) -> SliceInfoElem {
    let (start, end, step) = bounds(e, n);
    let (i0, i1) = (r.start as isize, r.end as isize - 1);
    let (lo, hi) = if step > 0 {
        (start + i0 * step, start + i1 * step)
    } else {
        (end - 1 + i1 * step, end - 1 + i0 * step)
    };
    SliceInfoElem::Slice {
        start: lo,
        end: Some(hi + 1),
        step,
    }
}

/// Whether the slices along axis `k` of a view (`shape`, `strides` in elements) lie one after
/// the other in memory, each one contiguous: then any run of consecutive slices is one stretch.
fn contiguous(shape: &[usize], strides: &[isize], k: usize) -> bool {
    let mut inner: Vec<(usize, usize)> = shape
        .iter()
        .zip(strides)
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
    shape[k] <= 1 || strides[k].unsigned_abs() == block
}

/// `residency --mpi`: how much of each rank's slab (its share of the rows along axis 0, as
/// `ndmmap::slab` shares them) is in the page cache, counted by each rank on its own slab and
/// gathered to rank 0, which prints one line per rank (or `--json`).
pub fn slabs(o: &FileOpts, spec: Option<&str>, as_json: bool, r: &dyn Ranks) -> Res<()> {
    if let Some(s) = spec {
        return Err(format!(
            "--mpi shows each rank's slab of rows; it takes no --slice (got {s:?})"
        )
        .into());
    }
    let (values, batch) = out::each(&o.files, |b, path| {
        let local = open::open(path, o).and_then(|a| {
            let shape = a.shape();
            if shape.is_empty() {
                return Err(format!(
                    "{} is 0-dimensional (a scalar): it has no rows to share between ranks",
                    path.display()
                )
                .into());
            }
            let rows = r.rows(shape[0]);
            let mut e = vec![SliceInfoElem::from(..); shape.len()];
            e[0] = SliceInfoElem::Slice {
                start: rows.start as isize,
                end: Some(rows.end as isize),
                step: 1,
            };
            let res = known(a.pages(&e)?.residency())?;
            Ok((a, rows, res))
        });
        let (a, rows, res) = ranks::agree(r, local, |(a, ..)| {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            (&a.descr, a.shape(), a.fortran).hash(&mut h);
            h.finish()
        })?;
        let mine: Vec<u8> = [
            rows.start,
            rows.end,
            res.map_or(0, |x| x.resident),
            res.map_or(0, |x| x.total),
            usize::from(res.is_some()),
        ]
        .iter()
        .flat_map(|&x| (x as u64).to_le_bytes())
        .collect();
        let Some(parts) = r.gather(&mine) else {
            return Ok(serde_json::Value::Null);
        };
        let slabs: Vec<(Range<usize>, Option<Residency>)> = parts
            .iter()
            .map(|p| {
                let x: Vec<usize> = p
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()) as usize)
                    .collect();
                let res = (x[4] != 0).then_some(Residency {
                    resident: x[2],
                    total: x[3],
                });
                (x[0]..x[1], res)
            })
            .collect();
        let unknown = slabs.iter().filter(|(_, r)| r.is_none()).count();
        if unknown > 0 {
            out::warn(&format!(
                "{}: residency unknown on {}: {UNKNOWN}",
                path.display(),
                count(unknown, "rank")
            ));
            b.fail();
        }
        let total = slabs
            .iter()
            .filter_map(|(_, r)| *r)
            .fold(Residency::default(), |s, r| Residency {
                resident: s.resident + r.resident,
                total: s.total + r.total,
            });
        if as_json {
            let mut v = a.describe();
            let ranks: Vec<serde_json::Value> = slabs
                .iter()
                .enumerate()
                .map(|(k, (rows, res))| {
                    json!({
                        "rank": k,
                        "rows": [rows.start, rows.end],
                        "resident_pages": res.map(|x| x.resident),
                        "pages": res.map(|x| x.total),
                        "fraction": res.map(|x| x.fraction()),
                    })
                })
                .collect();
            v.extend([
                ("resident_pages".into(), json!(total.resident)),
                ("ranks".into(), json!(ranks)),
            ]);
            return Ok(serde_json::Value::Object(v));
        }
        b.gap()?;
        let mut t = String::new();
        writeln!(
            t,
            "{}  {} {:?}  rows shared by {}",
            path.display(),
            a.descr,
            a.shape(),
            count(slabs.len(), "rank")
        )?;
        let cells: Vec<[String; 4]> = slabs
            .iter()
            .enumerate()
            .map(|(k, (rows, res))| {
                [
                    k.to_string(),
                    format!("{}..{}", rows.start, rows.end),
                    res.map_or("?".into(), |x| format!("{}/{}", x.resident, x.total)),
                    res.map_or("unknown".into(), |x| {
                        format!("{:.1}%", 100.0 * x.fraction())
                    }),
                ]
            })
            .collect();
        let head = ["rank", "rows", "pages", "resident"].map(String::from);
        let mut width = [0usize; 4];
        for c in std::iter::once(&head).chain(&cells) {
            for (w, s) in width.iter_mut().zip(c) {
                *w = (*w).max(s.chars().count());
            }
        }
        for c in std::iter::once(&head).chain(&cells) {
            let line: Vec<String> = c
                .iter()
                .zip(width)
                .map(|(s, w)| format!("{s:>w$}"))
                .collect();
            writeln!(t, "{}", line.join("  "))?;
        }
        writeln!(
            t,
            "{}/{} resident ({:.1}%)",
            total.resident,
            count(total.total, "page"),
            100.0 * total.fraction()
        )?;
        out::print(&t)?;
        Ok(serde_json::Value::Null)
    })?;
    if as_json && r.rank() == 0 {
        out::json(values, batch.several)?;
    }
    batch.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, IxDyn, ShapeBuilder};

    #[test]
    fn contiguity_of_slices() {
        // C order: rows are contiguous, columns are not; F order the other way round.
        assert!(contiguous(&[4, 5], &[5, 1], 0));
        assert!(!contiguous(&[4, 5], &[5, 1], 1));
        assert!(contiguous(&[4, 5], &[1, 4], 1));
        assert!(!contiguous(&[4, 5], &[1, 4], 0));
        // Reversed rows, and every other row (a gap between rows).
        assert!(contiguous(&[4, 5], &[-5, 1], 0));
        assert!(!contiguous(&[2, 5], &[10, 1], 0));
        // Part of each row.
        assert!(!contiguous(&[4, 3], &[5, 1], 0));
        assert!(contiguous(&[7], &[1], 0));
        assert!(!contiguous(&[7], &[2], 0));
    }

    #[test]
    fn sub_slices_select_what_the_selection_does() {
        let n = 20;
        let a = Array::from_shape_vec(IxDyn(&[n]).set_f(false), (0..n).collect()).unwrap();
        for spec in ["::1", "3:17", "::-1", "15:2:-1", "::3", "-2::-4", "5"] {
            let full = slice::parse(spec, &[n]).unwrap();
            if matches!(full[0], SliceInfoElem::Index(_)) {
                continue;
            }
            let sel: Vec<usize> = a.slice(full.as_slice()).iter().copied().collect();
            for (i, &x) in sel.iter().enumerate() {
                assert_eq!(array_index(&full, &[n], 0, i), x as isize, "{spec}");
            }
            for r in [0..1, 0..sel.len(), 1..sel.len().min(3)] {
                if r.is_empty() || r.end > sel.len() {
                    continue;
                }
                let e = sub_slice(full[0], n, r.clone());
                let got: Vec<usize> = a.slice(&[e][..]).iter().copied().collect();
                assert_eq!(got, sel[r.clone()].to_vec(), "{spec} {r:?}");
            }
        }
    }
}
