//! `ndmmap info`: what an array file is (dtype, shape, order, layout in pages) and how much of
//! it is in the page cache. The counts come from one `cachestat(2)` call where the kernel has
//! it (Linux 6.5+), so a file of any size is answered at once.

use crate::any_array::{UNKNOWN, known};
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
    writeln!(t, "path         {}", path.display())?;
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
        _ => writeln!(
            t,
            "cachestat    not available (kernel before 6.5); counts from mincore"
        )?,
    }
    out::print(&t)?;
    Ok(serde_json::Value::Null)
}
