//! `ndmmap residency`: the fraction of each slice along an axis that is in RAM, as a chart
//! folded into the terminal's columns (with an index scale and a legend), or as JSON.
//!
//! The counting is the library's ([`ndmmap::Pages::counts_along_groups`], the columns from
//! [`ndmmap::even_groups`]): by `cachestat(2)` per column where a column is one stretch of
//! memory, else one `mincore` pass. With `--mpi` each rank counts the pages of its share of the
//! rows that no earlier rank's rows touch ([`ndmmap::Pages::without`]), so the ranks' pages add
//! up to the file's.

use crate::open::{self, Array, Data, FileOpts};
use crate::out::{self, Batch, Res, SCOPE, UNKNOWN, count, known};
use crate::ranks::{self, Ranks};
use ndarray::{Axis, SliceInfoElem};
use ndmmap::chart::{self, bar, columns, fractions, legend, scale};
use ndmmap::{Residency, ranges_where};
use serde_json::json;
use std::fmt::Write as _;
use std::ops::Range;

pub fn run(o: &FileOpts, axis: i64, spec: Option<&str>, json: bool, ranges: bool) -> Res<()> {
    let (_, batch) = open::each_array(o, None, |b, a| one(b, &a?, axis, spec, json, ranges))?;
    if json {
        batch.end_json()?;
    }
    batch.finish()
}

/// One array's chart, or with `ranges` its resident and partly resident slices as ranges (in
/// numpy's syntax), or JSON with both. An HDF5 chunked dataset's chart is of its chunks, in
/// the order of its chunk index ([`ndmmap::container::Container::chunk_residency`]), another
/// unmapped entry's (a compressed member) of the pages of its bytes.
fn one(
    b: &mut Batch,
    a: &Array,
    axis: i64,
    spec: Option<&str>,
    as_json: bool,
    ranges: bool,
) -> Res<()> {
    let path = &a.path;
    let elems = a.slice_elems(spec)?;
    let sel = a.pages(&elems)?;
    let (k, what) = match &a.data {
        Data::Mapped(_) => (Some(selection_axis(a, &elems, spec, axis)?), "slice"),
        Data::Unmapped(c, e, _) if !c.chunks(&e.name)?.is_empty() => (None, "chunk"),
        Data::Unmapped(..) => (None, "page"),
    };
    let whole = known(sel.residency())?;
    if whole.is_none() {
        out::warn(&format!("{}: residency unknown: {UNKNOWN}", path.display()));
        b.fail();
    }
    let per_item = whole.is_some() && (as_json || ranges || k.is_none());
    let counts = match (&a.data, k) {
        _ if !per_item => None,
        (Data::Unmapped(c, e, _), _) if what == "chunk" => known(c.chunk_residency(&e.name))?,
        (Data::Unmapped(..), _) => {
            known(sel.mincore())?.map(|v| v.into_iter().map(Residency::from).collect())
        }
        (_, k) => Some(sel.counts_along(Axis(k.unwrap_or(0)))?),
    };
    let runs = |keep: fn(&Residency) -> bool| counts.as_deref().map(|c| ranges_where(c, keep));
    if as_json {
        let pairs =
            |keep| runs(keep).map(|v| v.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>());
        let slices: Option<Vec<f64>> =
            (counts.as_ref()).map(|c| c.iter().map(Residency::fraction).collect());
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
            ("ranges".into(), json!(pairs(Residency::is_full))),
            ("partial_ranges".into(), json!(pairs(Residency::is_partial))),
        ]);
        return b.json(v.into());
    }
    let Some(whole) = whole else {
        return Ok(());
    };
    let n = match k {
        Some(k) => ndmmap::selection_shape(a.shape(), &elems)?[k],
        None => counts.as_ref().map_or(0, Vec::len),
    };
    b.gap()?;
    let mut t = String::new();
    writeln!(
        t,
        "{}  {} {}  {}{}",
        out::one_line(&path.display().to_string(), 300),
        a.dtype(),
        (a.dtype() == "?")
            .then(|| "?".into())
            .unwrap_or(format!("{:?}", a.shape())),
        k.map_or(count(n, what), |k| format!("axis {k}")),
        spec.map(|s| format!("  slice [{s}]")).unwrap_or_default()
    )?;
    let cols = columns(n, ndmmap::chart::terminal_width());
    if ranges {
        // Indices of the selection's axis: of a slice, they count from 0 along it.
        let of = spec.map_or("", |_| " (of the slice)");
        let show = |keep| chart::ranges(&runs(keep).unwrap_or_default());
        writeln!(t, "resident{of}: {}", show(Residency::is_full))?;
        writeln!(t, "partly resident{of}: {}", show(Residency::is_partial))?;
    } else if n > 0 {
        let heights = match (k, &counts) {
            (Some(k), _) => fractions(&sel, Axis(k), &cols)?,
            (None, c) => chart::fold(c.as_deref().unwrap_or_default(), &cols),
        };
        writeln!(t, "{}", bar(&heights))?;
        // Where slice i of the chart lies in the array: its index there (a chunk's number).
        let index = |i: usize| match k {
            Some(k) => ndmmap::slice_origin(a.shape(), &elems, k, i)
                .map_or(String::new(), |(_, x)| x.to_string()),
            None => i.to_string(),
        };
        writeln!(t, "{}", scale(&index(0), &index(n - 1), cols.len()))?;
    }
    writeln!(t, "{}", chart::summary(n, whole, what))?;
    if !ranges && n > 0 {
        writeln!(t, "{}", legend(&cols, what))?;
    }
    if let Some(scope) = SCOPE {
        writeln!(t, "{scope}")?;
    }
    out::print(&t)
}

/// `axis` (negative from the last, as in numpy) as an index into the axes of the selection
/// ([`ndmmap::selection_axis`]), or the reason there is none: a scalar gets a word of its own.
fn selection_axis(a: &Array, elems: &[SliceInfoElem], spec: Option<&str>, axis: i64) -> Res<usize> {
    let shape = a.shape();
    if ndmmap::selection_shape(shape, elems)?.is_empty() {
        let hint = spec.and_then(|s| Some((s, ndmmap::slice_keeping_axis(s, shape)?)));
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
    let axis = isize::try_from(axis).map_err(|_| format!("axis {axis} is out of bounds"))?;
    Ok(ndmmap::selection_axis(shape, elems, axis)?)
}

/// `residency --mpi`: how much of each rank's slab (its share of the rows along axis 0, as
/// `ndmmap::slab` shares them) is in the page cache, counted by each rank on its own slab and
/// collected at rank 0, which prints one line per rank (or `--json`). A page that two ranks'
/// rows share is counted once, by the first rank whose rows touch it: the ranks' pages add up
/// to the file's.
pub fn slabs(o: &FileOpts, spec: Option<&str>, as_json: bool, r: &dyn Ranks) -> Res<()> {
    if let Some(s) = spec {
        return Err(format!(
            "--mpi shows each rank's slab of rows; it takes no --slice (got {s:?})"
        )
        .into());
    }
    let (_, batch) = open::each_array(o, Some(r), |b, a| {
        let local = a.and_then(|a| {
            if let Data::Unmapped(.., why) = &a.data {
                return Err(format!("{why}; --mpi shares rows, which needs it mapped").into());
            }
            let shape = a.shape().to_vec();
            if shape.is_empty() {
                return Err(format!(
                    "{} is 0-dimensional (a scalar): it has no rows to share between ranks",
                    a.path.display()
                )
                .into());
            }
            let rows = r.rows(shape[0]);
            let of_rows = |rows: Range<usize>| {
                let mut e = vec![SliceInfoElem::from(..); shape.len()];
                e[0] = SliceInfoElem::from(rows);
                e
            };
            let earlier = a.pages(&of_rows(0..rows.start))?;
            let mine = a.pages(&of_rows(rows.clone()))?;
            let res = known(mine.without(earlier.ranges()).residency())?;
            Ok((a, rows, res))
        });
        let (a, rows, res) = ranks::agree(r, local, |(a, ..)| {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            (a.dtype(), a.shape(), a.order == ndmmap::Order::F).hash(&mut h);
            h.finish()
        })?;
        let gathered = ndmmap::ranks::gather_residency(r, rows, res);
        let Some(slabs) = ranks::reduced(gathered)? else {
            return Ok(());
        };
        let path = &a.path;
        let unknown = slabs.iter().filter(|s| s.residency.is_none()).count();
        if unknown > 0 {
            out::warn(&format!(
                "{}: residency unknown on {}: {UNKNOWN}",
                path.display(),
                count(unknown, "rank")
            ));
            b.fail();
        }
        let total: Residency = slabs.iter().filter_map(|s| s.residency).sum();
        if as_json {
            let mut v = a.describe();
            let ranks: Vec<serde_json::Value> = slabs
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let (rows, res) = (&s.rows, s.residency);
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
            return b.json(v.into());
        }
        b.gap()?;
        let mut t = String::new();
        writeln!(
            t,
            "{}  {} {:?}  rows shared by {}",
            path.display(),
            a.dtype(),
            a.shape(),
            count(slabs.len(), "rank")
        )?;
        let head = ["rank", "rows", "pages", "resident"].map(String::from);
        let cells = slabs.iter().enumerate().map(|(k, s)| {
            let (rows, res) = (&s.rows, s.residency);
            [
                k.to_string(),
                format!("{}..{}", rows.start, rows.end),
                res.map_or("?".into(), |x| format!("{}/{}", x.resident, x.total)),
                res.map_or("unknown".into(), |x| {
                    format!("{:.1}%", 100.0 * x.fraction())
                }),
            ]
        });
        t.push_str(&chart::table(
            &std::iter::once(head).chain(cells).collect::<Vec<_>>(),
        ));
        writeln!(t, "{}", chart::summary(slabs.len(), total, "rank"))?;
        out::print(&t)
    })?;
    if as_json && r.rank() == 0 {
        batch.end_json()?;
    }
    batch.finish()
}
