//! `ndmmap info`: what an array file is (dtype, shape, order, layout in pages) and how much of
//! it is in the page cache; for a whole archive, every entry on a line (`--json`: an object
//! per entry). The counts come from one `cachestat(2)` call where the kernel has it (Linux
//! 6.5+), so a file of any size is answered at once.

use crate::chart;
use crate::open::{self, Array, Data, FileOpts, Target};
use crate::out::{self, Batch, NO_CACHESTAT, Res, SCOPE, UNKNOWN, count, known};
use ndmmap::container::{Container, Entry, Format, entry_path};
use ndmmap::{CacheStat, Order, PageSpan};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

pub fn run(o: &FileOpts, as_json: bool) -> Res<()> {
    let (_, batch) = out::each(&o.files, |b, path| match open::open(path, o)? {
        Target::One(a) => one(b, &a, as_json),
        Target::Whole(c) => {
            b.several = true;
            for e in c.entries().iter().filter(|_| o.verify) {
                c.npz().map_or(Ok(()), |z| z.verify(&e.name))?;
            }
            entries(b, path, &c, c.entries(), as_json)
        }
    })?;
    if as_json {
        batch.end_json()?;
    }
    batch.finish()
}

/// The `--json` keys of the page-cache counts (the library's [`CacheStat`]'s; `None`: unknown,
/// each `null`).
fn counts(cs: Option<CacheStat>) -> Res<serde_json::Map<String, Value>> {
    let Value::Object(mut m) = serde_json::to_value(cs.unwrap_or_default())? else {
        return Err("page-cache counts are not a JSON object".into());
    };
    if cs.is_none() {
        m.values_mut().for_each(|v| *v = Value::Null);
    }
    m.remove("pages");
    let unknown = json!(cs.is_none().then_some(UNKNOWN));
    m.insert("residency_unknown".into(), unknown);
    Ok(m)
}

/// One array (a `.npy` file that cannot be mapped with the reason); an archive's unmapped
/// entry as a listing of one entry.
fn one(b: &mut Batch, a: &Array, as_json: bool) -> Res<()> {
    let (offset, nbytes, span, why) = match &a.data {
        Data::Mapped(m) => (m.offset(), m.nbytes() as u64, m.page_span(), None),
        Data::Unmapped(c, e, _) if c.format() != Format::Npy => {
            return entries(b, c.path(), c, std::slice::from_ref(e), as_json);
        }
        Data::Unmapped(c, e, _) => (e.offset, e.len, c.span("")?, e.unmappable.as_deref()),
    };
    let cs = known(a.pages(&[])?.cachestat())?;
    if as_json {
        let mut v = a.describe();
        v.extend(counts(cs)?);
        v.extend(why.map(|w| ("unmappable".to_string(), json!(w))));
        return b.json(v.into());
    }
    b.gap()?;
    let mut t = String::new();
    writeln!(
        t,
        "path         {}",
        out::one_line(&a.path.display().to_string(), 300)
    )?;
    writeln!(t, "dtype        {}", a.dtype())?;
    writeln!(t, "shape        {:?}", a.shape())?;
    writeln!(t, "order        {}", a.order)?;
    writeln!(t, "data offset  {}", count(offset, "byte"))?;
    writeln!(
        t,
        "data         {} ({})",
        count(nbytes, "byte"),
        chart::human(nbytes)
    )?;
    writeln!(t, "page size    {}", count(span.page_size, "byte"))?;
    writeln!(
        t,
        "lead         {} of the first page {} before element 0",
        count(span.lead, "byte"),
        if span.lead == 1 { "lies" } else { "lie" }
    )?;
    writeln!(t, "pages        {}", span.page_count)?;
    if let Some(why) = why {
        writeln!(t, "unmappable   {}", out::one_line(why, 200))?;
    }
    let Some(cs) = cs else {
        writeln!(t, "resident     unknown ({UNKNOWN})")?;
        writeln!(t, "cachestat    unknown (as above)")?;
        return out::print(&t);
    };
    match span.page_count {
        0 => writeln!(t, "resident     nothing to hold: the array is empty")?,
        n => writeln!(
            t,
            "resident     {} ({:.1}%)",
            count(cs.resident, "page"),
            100.0 * cs.resident as f64 / n as f64
        )?,
    }
    match (cs.dirty, cs.writeback, cs.evicted) {
        (Some(d), Some(w), Some(e)) => {
            writeln!(t, "cachestat    dirty {d}, writeback {w}, evicted {e}")?
        }
        _ => writeln!(t, "cachestat    {NO_CACHESTAT}")?,
    }
    if let Some(scope) = SCOPE {
        writeln!(t, "note         {scope}")?;
    }
    out::print(&t)
}

/// `info FILE.npz` / `info FILE.safetensors`: every entry with its dtype, shape, bytes and
/// residency, unmappable ones with the reason (the counts from the container's pages of each
/// entry's bytes: nothing is mapped per entry), a line (`--json`: an object, with the keys of
/// one array's and its `name` and `unmappable` reason) printed as each is counted.
fn entries(b: &mut Batch, path: &Path, c: &Container, list: &[Entry], as_json: bool) -> Res<()> {
    // An entry's counts, the pages of its bytes and its chunks (an HDF5 chunked dataset's
    // pages are those of its chunks).
    let row = |e: &Entry| -> Res<(Option<CacheStat>, PageSpan, usize)> {
        let cs = known(c.pages(&e.name)?.cachestat())?;
        Ok((cs, c.span(&e.name)?, c.chunks(&e.name)?.len()))
    };
    if as_json {
        for e in list {
            let (cs, span, chunks) = row(e)?;
            let shown = entry_path(path, &e.name);
            let (o, n) = (e.offset, e.len);
            let mut v = open::describe(&shown, &e.type_name, &e.shape, e.order, o, n, span);
            v.insert("name".into(), json!(e.name));
            v.extend(counts(cs)?);
            v.insert("unmappable".into(), json!(e.unmappable));
            v.insert("chunks".into(), json!(chunks));
            b.json(v.into())?;
        }
        return Ok(());
    }
    b.gap()?;
    let mut t = String::new();
    writeln!(
        t,
        "path     {} ({}, {})",
        out::one_line(&path.display().to_string(), 300),
        c.format(),
        count(list.len(), "member")
    )?;
    let name_w = list
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    writeln!(
        t,
        "{:<name_w$}  {:<7} {:<18} {:>12} {:>12}  resident",
        "name", "dtype", "shape", "bytes", "offset"
    )?;
    let mut known_any = false;
    for (i, e) in list.iter().enumerate() {
        let (cs, span, chunks) = row(e)?;
        known_any |= cs.is_some();
        let total = span.page_count;
        let shape = match (&e.unmappable, e.type_name.is_empty()) {
            (Some(_), true) => "?".to_string(),
            _ => format!(
                "{:?}{}",
                e.shape,
                if e.order == Order::F { " F" } else { "" }
            ),
        };
        let resident = match (&e.unmappable, cs) {
            (Some(why), _) if chunks == 0 => out::one_line(why, 120),
            (_, Some(x)) => {
                let pct = 100.0 * x.resident as f64 / total.max(1) as f64;
                let of = match chunks {
                    0 => String::new(),
                    n => format!(" in {}", count(n, "chunk")),
                };
                format!("{pct:5.1}% of {}{of}", count(total, "page"))
            }
            (_, None) => "unknown".to_string(),
        };
        let dtype = if e.type_name.is_empty() {
            "?"
        } else {
            &e.type_name
        };
        writeln!(
            t,
            "{:<name_w$}  {:<7} {:<18} {:>12} {:>12}  {resident}",
            out::one_line(&e.name, 40),
            out::one_line(dtype, 20),
            shape,
            e.len,
            e.offset
        )?;
        // Printed a block at a time: the text of a million entries is not kept.
        if i % 4096 == 4095 {
            out::print(&std::mem::take(&mut t))?;
        }
    }
    if !known_any && !list.is_empty() {
        writeln!(t, "residency unknown: {UNKNOWN}")?;
    }
    if let Some(scope) = SCOPE.filter(|_| known_any) {
        writeln!(t, "{scope}")?;
    }
    out::print(&t)
}
