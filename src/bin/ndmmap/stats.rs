//! `ndmmap stats`: count, mean, standard deviation (numpy's `ddof=0`), min and max along an
//! axis, out of core, in one streaming pass on every core: the library's
//! [`ndmmap::stats::Stats`], opened, run and printed.
//!
//! Results come from the library part by part as they are final. The text table shows the
//! first and last few, so it holds only those; `--json` prints every result, and where they
//! stream (one result per row of a tall array) the parts wait in an unnamed temporary file,
//! not in memory, until the pass has succeeded. Under `mpirun` with `--mpi` each rank reduces
//! its share of the streamed axis and the ranks' partial results merge along a tree in rank
//! order ([`Ranks::reduce`]): rank 0 prints what one process would.

use crate::any_array::AnyArray;
use crate::chart;
use crate::open::{self, FileOpts};
use crate::out::{self, Res};
use crate::ranks::{self, Ranks};
use ndarray::IxDyn;
use ndmmap::stats::{Moments, Plan, Stats, Value};
use ndmmap::{MmapArray, Mode, Order};
use serde_json::json;
use std::fmt::Write as _;
use std::io::{Read, Seek, Write};

/// Bytes per streamed window.
pub const WINDOW: usize = ndmmap::stats::WINDOW;

/// Results shown at each end of the text table when there are many.
const FEW: usize = 5;

/// What `ndmmap stats` was asked.
pub struct How<'a> {
    pub axis: i64,
    pub spec: Option<&'a str>,
    pub json: bool,
    pub window: usize,
    /// `None`: every core.
    pub threads: Option<usize>,
}

/// `ndmmap stats`, in one process, or spread over `ranks` (`--mpi`).
pub fn run(o: &FileOpts, how: &How<'_>, ranks: Option<&dyn Ranks>) -> Res<()> {
    let (spec, as_json) = (how.spec, how.json);
    let root = ranks.is_none_or(|r| r.rank() == 0);
    let mut printed = 0;
    let (_, batch) = out::each(&o.files, |b, path| {
        let (a, plan, results) = match ranks {
            None => {
                let (a, typed, st) = prepare(path, o, how)?;
                let (p, r) = one(&typed, &a, st, as_json)?;
                (a, p, r)
            }
            Some(r) => {
                let local = prepare(path, o, how).and_then(|(a, t, st)| {
                    let st = st.share(r.rank(), r.size());
                    let p = plan(&t, &st, &a)?;
                    let m = of(&t, &st)?;
                    Ok((a, p, m))
                });
                // Every rank fails together, or every rank goes on to the reduction.
                let (a, p, m) = ranks::agree(r, local, |(a, p, _)| key(a, p))?;
                let merge = &mut |earlier: Vec<u8>, later: &[u8]| -> Res<Vec<u8>> {
                    let mut m = Moments::from_bytes(&earlier)?;
                    m.merge(&Moments::from_bytes(later)?)?;
                    Ok(m.to_bytes())
                };
                let Some(all) = r.reduce(m.to_bytes(), merge)? else {
                    return Ok(());
                };
                (a, p, Results::of(Moments::from_bytes(&all)?)?)
            }
        };
        if as_json {
            let sep = match (o.files.len() > 1, printed) {
                (false, _) => "",
                (true, 0) => "[",
                (true, _) => ",",
            };
            printed += 1;
            json_object(sep, &a, spec, &plan, results)
        } else {
            b.gap()?;
            out::print(&text(&a, spec, &plan, &results))
        }
    })?;
    if as_json && root && o.files.len() > 1 {
        outln!("{}", if printed == 0 { "[]" } else { "]" })?;
    } else if as_json && printed == 1 {
        outln!()?;
    }
    batch.finish()
}

/// Opens `path` and says how to reduce it: the axis, the `--slice`, the window, the threads.
fn prepare(
    path: &std::path::Path,
    o: &FileOpts,
    how: &How<'_>,
) -> Res<(AnyArray, Typed, Stats<'static>)> {
    let a = open::open(path, o)?;
    let typed = typed(&a)?;
    let mut st = Stats::along(how.axis as isize).window(how.window.max(1));
    if let Some(t) = how.threads {
        st = st.threads(t);
    }
    if let Some(spec) = how.spec {
        let elems = a.slice_elems(Some(spec))?;
        if crate::slice::result_ndim(&elems, a.shape().len()) == 0 {
            let hint = crate::slice::keep_first_axis(spec, &a.shape())
                .map(|h| format!(": use {h}"))
                .unwrap_or_default();
            return Err(format!(
                "{}: the slice {spec} selects a single element (a scalar); stats need at least \
                 one axis to reduce{hint}",
                a.path.display()
            )
            .into());
        }
        st = st.slice(elems);
    }
    Ok((a, typed, st))
}

/// The array as the library's typed array: the command's opener maps bytes (for pages), the
/// statistics need values. Mapped again from the same file, offset, dtype and shape.
enum Typed {
    Any(ndmmap::AnyArray),
    Bf16(MmapArray<ndmmap::Unaligned<half::bf16>, IxDyn>),
}

fn typed(a: &AnyArray) -> Res<Typed> {
    let file = a.file().ok_or("stats reads files, not anonymous memory")?;
    let order = if a.fortran { Order::F } else { Order::C };
    let shape = a.shape();
    if a.descr == "BF16" {
        let mut o = ndmmap::MmapOptions::new();
        o.offset(a.data_offset).grow(false);
        // SAFETY: as for the whole array (open.rs): the command only reads, and a truncation
        // by another process is turned into an error by the guards the pass reads under.
        let m = unsafe { o.map(file, IxDyn(&shape).set_f(a.fortran))? };
        return Ok(Typed::Bf16(m));
    }
    let dtype = ndmmap::Dtype::parse(&a.descr).map_err(|_| {
        format!(
            "{}: stats reduces numbers, and {} is none numpy or ndmmap knows (info, residency, \
             touch, evict and lock work on it)",
            out::one_line(&a.path.display().to_string(), 200),
            a.descr
        )
    })?;
    // SAFETY: as above.
    let m = unsafe {
        ndmmap::AnyArray::map_raw(
            file,
            Some(a.path.clone()),
            a.data_offset,
            dtype,
            &shape,
            order,
            Mode::ReadOnly,
        )?
    };
    Ok(Typed::Any(m))
}

use ndarray::ShapeBuilder as _;

fn plan(t: &Typed, st: &Stats<'_>, a: &AnyArray) -> Res<Plan> {
    let p = match t {
        Typed::Any(x) => st.plan_any(x),
        Typed::Bf16(x) => st.plan(x),
    };
    p.map_err(|e| format!("{}: {e}", out::one_line(&a.path.display().to_string(), 200)).into())
}

fn of(t: &Typed, st: &Stats<'_>) -> Res<Moments> {
    Ok(match t {
        Typed::Any(x) => st.of_any(x)?,
        Typed::Bf16(x) => st.of(x)?,
    })
}

/// What every rank must agree on before their parts are merged.
fn key(a: &AnyArray, p: &Plan) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same in every process.
    let mut h = std::hash::DefaultHasher::new();
    (
        &a.descr,
        a.shape(),
        a.fortran,
        p.axis(),
        p.shape(),
        p.count(),
    )
        .hash(&mut h);
    h.finish()
}

/// One process's pass, with a progress bar on a terminal.
fn one(t: &Typed, a: &AnyArray, st: Stats<'_>, as_json: bool) -> Res<(Plan, Results)> {
    let plan = plan(t, &st, a)?;
    let bar = chart::progress(plan.bytes(), format!("stats {}", a.path.display()));
    let inc = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let st = st.progress(&inc);
    let mut results = Results::new(as_json && plan.streams())?;
    let r = match t {
        Typed::Any(x) => st.each_any(x, |first, m| results.push(first, m)),
        Typed::Bf16(x) => st.each(x, |first, m| results.push(first, m)),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    r?;
    Ok((plan, results))
}

/// The results of one file as the library hands them over: the first and last few for the
/// table, and all of them for `--json`, in memory or spilled to an unnamed temporary file.
struct Results {
    head: Vec<Row>,
    tail: std::collections::VecDeque<Row>,
    len: usize,
    kept: Vec<Moments>,
    spill: Option<std::fs::File>,
}

/// A result's position in C order and its statistics.
type Row = (usize, f64, f64, Option<Value>, Option<Value>);

impl Results {
    fn new(spill: bool) -> Res<Results> {
        let spill = if spill {
            Some(tempfile::tempfile().map_err(|e| {
                format!(
                    "cannot create a temporary file for the results in {}: {e}; set TMPDIR to \
                     a directory with room",
                    std::env::temp_dir().display()
                )
            })?)
        } else {
            None
        };
        Ok(Results {
            head: vec![],
            tail: Default::default(),
            len: 0,
            kept: vec![],
            spill,
        })
    }

    fn of(m: Moments) -> Res<Results> {
        let mut r = Results::new(false)?;
        r.push(0, m)?;
        Ok(r)
    }

    fn push(&mut self, first: usize, m: Moments) -> ndmmap::Result<()> {
        let (mean, std, min, max) = (m.mean(), m.std(0.0), m.min(), m.max());
        for (i, (((&mean, &std), &min), &max)) in
            mean.iter().zip(&std).zip(&min).zip(&max).enumerate()
        {
            let row = (first + i, mean, std, min, max);
            if self.head.len() < FEW {
                self.head.push(row);
            } else {
                if self.tail.len() == FEW + 2 {
                    self.tail.pop_front();
                }
                self.tail.push_back(row);
            }
        }
        self.len += m.len();
        match &mut self.spill {
            Some(f) => {
                let b = m.to_bytes();
                f.write_all(&(b.len() as u64).to_le_bytes())
                    .and_then(|()| f.write_all(&b))
                    .map_err(|source| ndmmap::Error::Io {
                        what: "write the results to a temporary file",
                        path: None,
                        source,
                    })
            }
            None => {
                self.kept.push(m);
                Ok(())
            }
        }
    }

    /// Calls `f` on every part in order.
    fn each(&mut self, mut f: impl FnMut(&Moments) -> Res<()>) -> Res<()> {
        let Some(file) = &mut self.spill else {
            return self.kept.iter().try_for_each(f);
        };
        file.rewind()?;
        let mut r = std::io::BufReader::new(file);
        let mut len = [0u8; 8];
        while r.read_exact(&mut len).is_ok() {
            let mut b = vec![0u8; u64::from_le_bytes(len) as usize];
            r.read_exact(&mut b)?;
            f(&Moments::from_bytes(&b)?)?;
        }
        Ok(())
    }
}

/// Prints the `--json` object (after `sep`), every statistic's array read part by part.
fn json_object(sep: &str, a: &AnyArray, spec: Option<&str>, p: &Plan, mut r: Results) -> Res<()> {
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    let io = |e| -> Box<dyn std::error::Error> { out::Output(e).into() };
    let head = json!({
        "path": a.path.display().to_string(),
        "dtype": a.descr,
        "slice": spec,
        "axis": p.axis(),
        "shape": p.shape(),
        "count": p.count(),
    })
    .to_string();
    write!(w, "{sep}{}", head.trim_end_matches('}')).map_err(io)?;
    type Get = fn(&Moments) -> Vec<serde_json::Value>;
    let stats: [(&str, Get); 4] = [
        ("mean", |m| m.mean().iter().map(|x| json!(x)).collect()),
        ("min", |m| m.min().iter().map(|x| value_json(*x)).collect()),
        ("max", |m| m.max().iter().map(|x| value_json(*x)).collect()),
        ("std", |m| m.std(0.0).iter().map(|x| json!(x)).collect()),
    ];
    for (name, get) in stats {
        write!(w, ",\"{name}\":[").map_err(io)?;
        let mut first = true;
        r.each(|m| {
            for v in get(m) {
                write!(w, "{}{v}", if first { "" } else { "," }).map_err(io)?;
                first = false;
            }
            Ok(())
        })?;
        write!(w, "]").map_err(io)?;
    }
    write!(w, "}}").map_err(io)?;
    w.flush().map_err(io)
}

/// A min or max in JSON: integers exactly, NaN and infinity (which JSON lacks) as null.
fn value_json(v: Option<Value>) -> serde_json::Value {
    match v {
        Some(Value::Int(x)) => i64::try_from(x)
            .map(Into::into)
            .or_else(|_| u64::try_from(x).map(Into::into))
            .unwrap_or_default(),
        Some(Value::Float(x)) => json!(x),
        Some(Value::Bool(x)) => json!(x),
        None => serde_json::Value::Null,
    }
}

/// A min or max as the table shows it.
pub fn value_text(v: Option<Value>) -> String {
    match v {
        Some(Value::Float(x)) => out::g6(x),
        Some(v) => v.to_string(),
        None => "-".into(),
    }
}

/// The text table: a title line, then the first and last few results.
fn text(a: &AnyArray, spec: Option<&str>, p: &Plan, r: &Results) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{}  {} {:?}  axis {}{}  count {}  result {:?}",
        out::one_line(&a.path.display().to_string(), 300),
        a.descr,
        a.shape(),
        p.axis(),
        spec.map(|s| format!("  slice [{s}]")).unwrap_or_default(),
        p.count(),
        p.shape()
    );
    if r.len == 0 {
        let _ = writeln!(t, "no results: the result is empty");
        return t;
    }
    let shape = p.shape();
    let label = |i: usize| -> String {
        if shape.len() < 2 {
            return if shape.is_empty() {
                "all".into()
            } else {
                i.to_string()
            };
        }
        let mut idx = vec![0; shape.len()];
        let mut rest = i;
        for (d, &len) in idx.iter_mut().zip(shape).rev() {
            *d = rest % len;
            rest /= len;
        }
        let parts: Vec<String> = idx.iter().map(usize::to_string).collect();
        format!("({})", parts.join(", "))
    };
    let head = ["", "column", "index"][shape.len().min(2)];
    let mut rows = vec![[head, "mean", "std", "min", "max"].map(String::from)];
    // The whole tail when the head and tail meet, else its last few after a "..." row.
    let whole = r.len <= 2 * FEW + 2;
    let skip = if whole {
        0
    } else {
        r.tail.len().saturating_sub(FEW)
    };
    let show = |x: &Row| {
        [
            label(x.0),
            out::g6(x.1),
            out::g6(x.2),
            value_text(x.3),
            value_text(x.4),
        ]
    };
    rows.extend(r.head.iter().map(show));
    if !whole {
        rows.push(["...", "", "", "", ""].map(String::from));
    }
    rows.extend(r.tail.iter().skip(skip).map(show));
    let mut width = [0usize; 5];
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(width)
            // Padded by hand: `format!`'s width stops at 65535 (a label can be longer).
            .map(|(c, w)| " ".repeat(w.saturating_sub(c.chars().count())) + c)
            .collect();
        let _ = writeln!(t, "{}", line.join("  ").trim_end());
    }
    if !whole {
        let _ = writeln!(
            t,
            "({} results; the first and last {FEW} shown, all of them with --json)",
            r.len
        );
    }
    t
}
