//! `ndmmap info`: what an array file is (dtype, shape, order, layout in pages) and how much of
//! it is in the page cache. The counts come from one `cachestat(2)` call where the kernel has
//! it (Linux 6.5+), so a file of any size is answered at once.

use crate::any_array::{NO_CACHESTAT, SCOPE, UNKNOWN, known};
use crate::chart;
use crate::open::{self, FileOpts};
use crate::out::{self, Batch, Res, count};
use ndmmap::CountSource;
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;

pub fn run(o: &FileOpts, as_json: bool) -> Res<()> {
    let (values, batch) = out::each(&o.files, |b, path| one(b, path, o, as_json))?;
    if as_json {
        out::json(values, batch.several)?;
    }
    batch.finish()
}

fn one(b: &mut Batch, path: &Path, o: &FileOpts, as_json: bool) -> Res<serde_json::Value> {
    let raw = o.dtype.is_some() || o.shape.is_some() || o.offset.is_some() || o.order.is_some();
    if let Some(c) = open::Container::of(path).filter(|_| !raw && path.is_file()) {
        return members(b, path, c, as_json);
    }
    let a = open::open(path, o)?;
    let span = a.page_span();
    let cs = known(a.pages(&[])?.cachestat())?;
    if as_json {
        let mut v = a.describe();
        v.extend([
            ("resident_pages".into(), json!(cs.map(|c| c.resident))),
            (
                "residency_unknown".into(),
                json!(cs.is_none().then_some(UNKNOWN)),
            ),
            (
                "cachestat".into(),
                json!(cs.is_some_and(|c| c.source == CountSource::Cachestat)),
            ),
            ("dirty_pages".into(), json!(cs.and_then(|c| c.dirty))),
            (
                "writeback_pages".into(),
                json!(cs.and_then(|c| c.writeback)),
            ),
            ("evicted_pages".into(), json!(cs.and_then(|c| c.evicted))),
            (
                "recently_evicted_pages".into(),
                json!(cs.and_then(|c| c.recently_evicted)),
            ),
        ]);
        return Ok(serde_json::Value::Object(v));
    }
    let nbytes = a.nbytes();
    b.gap()?;
    let mut t = String::new();
    writeln!(
        t,
        "path         {}",
        out::one_line(&path.display().to_string(), 300)
    )?;
    writeln!(t, "dtype        {}", a.descr)?;
    writeln!(t, "shape        {:?}", a.shape())?;
    writeln!(t, "order        {}", a.order_str())?;
    writeln!(t, "data offset  {}", count(a.data_offset, "byte"))?;
    writeln!(
        t,
        "data         {} ({})",
        count(nbytes, "byte"),
        chart::human(nbytes as u64)
    )?;
    writeln!(t, "page size    {}", count(span.page_size, "byte"))?;
    writeln!(
        t,
        "lead         {} of the first page {} before element 0",
        count(span.lead, "byte"),
        if span.lead == 1 { "lies" } else { "lie" }
    )?;
    writeln!(t, "pages        {}", span.page_count)?;
    let Some(cs) = cs else {
        writeln!(t, "resident     unknown ({UNKNOWN})")?;
        writeln!(t, "cachestat    unknown (as above)")?;
        out::print(&t)?;
        return Ok(serde_json::Value::Null);
    };
    let pct = if span.page_count == 0 {
        100.0
    } else {
        100.0 * cs.resident as f64 / span.page_count as f64
    };
    writeln!(t, "resident     {} ({pct:.1}%)", count(cs.resident, "page"))?;
    match (cs.dirty, cs.writeback, cs.evicted) {
        (Some(d), Some(w), Some(e)) => {
            writeln!(t, "cachestat    dirty {d}, writeback {w}, evicted {e}")?
        }
        _ => writeln!(t, "cachestat    {NO_CACHESTAT}")?,
    }
    if let Some(scope) = SCOPE {
        writeln!(t, "note         {scope}")?;
    }
    out::print(&t)?;
    Ok(serde_json::Value::Null)
}

/// One member of an archive, as `info` lists it.
struct Row {
    name: String,
    dtype: String,
    shape: Option<Vec<usize>>,
    order: &'static str,
    offset: u64,
    nbytes: u64,
    note: Option<String>,
    residency: Option<ndmmap::Residency>,
}

/// `info FILE.npz` / `info FILE.safetensors`: every member with its dtype, shape, bytes and
/// residency (one map of the whole file; the counts for every member at once).
fn members(
    b: &mut Batch,
    path: &Path,
    c: open::Container,
    as_json: bool,
) -> Res<serde_json::Value> {
    let (rows, kind) = match c {
        open::Container::Npz => {
            let npz = ndmmap::npz::Npz::open(path)?;
            let res = known(npz.residency())?;
            let rows: Vec<Row> = npz
                .members()
                .iter()
                .enumerate()
                .map(|(i, m)| Row {
                    name: m.name.clone(),
                    dtype: m.descr.clone().unwrap_or_else(|| "?".into()),
                    shape: m.shape.clone(),
                    order: if m.fortran_order { "F" } else { "C" },
                    offset: m.data_offset,
                    nbytes: m.data_len,
                    note: if m.compressed {
                        Some(format!("compressed ({}): cannot be mapped", m.method))
                    } else {
                        m.problem.clone()
                    },
                    residency: res.as_ref().map(|r| r[i].1),
                })
                .collect();
            (rows, "npz")
        }
        open::Container::Safetensors => {
            let t = ndmmap::safetensors::Tensors::open(path)?;
            let res = known(t.residency())?;
            let rows: Vec<Row> = t
                .tensors()
                .iter()
                .enumerate()
                .map(|(i, x)| Row {
                    name: x.name.clone(),
                    dtype: open::numpy_descr(x.dtype)
                        .map_or_else(|| format!("{:?}", x.dtype), String::from),
                    shape: Some(x.shape.clone()),
                    order: "C",
                    offset: x.offset,
                    nbytes: x.nbytes,
                    note: None,
                    residency: res.as_ref().map(|r| r[i].1),
                })
                .collect();
            (rows, "safetensors")
        }
    };
    if as_json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "dtype": r.dtype,
                    "shape": r.shape,
                    "order": r.order,
                    "data_offset": r.offset,
                    "nbytes": r.nbytes,
                    "resident_pages": r.residency.map(|x| x.resident),
                    "pages": r.residency.map(|x| x.total),
                    "problem": r.note,
                })
            })
            .collect();
        return Ok(json!({
            "path": path.display().to_string(),
            "format": kind,
            "members": list,
        }));
    }
    b.gap()?;
    let mut t = String::new();
    writeln!(
        t,
        "path     {} ({kind}, {})",
        path.display(),
        count(rows.len(), "member")
    )?;
    let name_w = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    writeln!(
        t,
        "{:<name_w$}  {:<7} {:<18} {:>12} {:>12}  resident",
        "name", "dtype", "shape", "bytes", "offset"
    )?;
    for r in &rows {
        let shape = r.shape.as_ref().map_or("?".to_string(), |s| {
            format!("{s:?}{}", if r.order == "F" { " F" } else { "" })
        });
        let resident = match (&r.note, r.residency) {
            (Some(n), _) => n.clone(),
            (None, Some(x)) => format!(
                "{:5.1}% of {}",
                100.0 * x.fraction(),
                count(x.total, "page")
            ),
            (None, None) => "unknown".to_string(),
        };
        writeln!(
            t,
            "{:<name_w$}  {:<7} {:<18} {:>12} {:>12}  {resident}",
            out::one_line(&r.name, 40),
            r.dtype,
            shape,
            r.nbytes,
            r.offset
        )?;
    }
    if rows.iter().all(|r| r.residency.is_none()) && !rows.is_empty() {
        writeln!(t, "residency unknown: {UNKNOWN}")?;
    }
    if let Some(scope) = SCOPE.filter(|_| rows.iter().any(|r| r.residency.is_some())) {
        writeln!(t, "{scope}")?;
    }
    out::print(&t)?;
    Ok(serde_json::Value::Null)
}
