//! `ndmmap stats`: count, mean, standard deviation (numpy's `ddof=0`), min and max along an
//! axis, out of core, in one streaming pass on every core: the library's
//! [`ndmmap::stats::Stats`], opened, run and printed.
//!
//! Results come from the library part by part as they are final. The text table shows the
//! first and last few, so it holds only those; `--json` prints every result, and where they
//! stream (one result per row of a tall array) each statistic's JSON array is written as the
//! parts come to an unnamed temporary file, not kept in memory, and printed once the pass has
//! succeeded. Under `mpirun` with `--mpi` each rank reduces
//! its share of the streamed axis and the ranks' partial results merge along a tree in rank
//! order ([`Moments::reduce`]): rank 0 prints what one process would.

use crate::chart;
use crate::open::{self, Array, Data, FileOpts};
use crate::out::{self, Res};
use crate::ranks::{self, Ranks};
use crate::results::{Keep, Label, Results, json_object, text};
use ndmmap::AnyArray;
use ndmmap::stats::{Plan, Stats};

/// Bytes per streamed window.
pub const WINDOW: usize = ndmmap::stats::WINDOW;

/// What `ndmmap stats` was asked.
pub struct How<'a> {
    pub axis: i64,
    pub spec: Option<&'a str>,
    pub json: bool,
    pub window: usize,
    /// `None`: every core.
    pub threads: Option<usize>,
}

/// `ndmmap stats`, in one process, or spread over `ranks` (`--mpi`): each array in turn, every
/// numeric entry of a whole archive (the others are skipped, with a note).
pub fn run(o: &FileOpts, how: &How<'_>, ranks: Option<&dyn Ranks>) -> Res<()> {
    let (spec, as_json) = (how.spec, how.json);
    let root = ranks.is_none_or(|r| r.rank() == 0);
    let mut printed = 0;
    let (_, batch) = open::each_array(o, ranks, |b, a| {
        let skip = |a: &Array| Some((a.path.display().to_string(), skipped(a)?));
        if let Some((path, why)) = a.as_ref().ok().filter(|_| b.member).and_then(skip) {
            if root {
                note!("ndmmap: skipped `{path}`: {why}");
            }
            return Ok(());
        }
        let (l, plan, results) = match ranks {
            None => {
                let (l, typed, st) = prepare(a?, how)?;
                let (p, r) = one(&typed, &l, st, as_json)?;
                (l, p, r)
            }
            Some(r) => {
                let local = a.and_then(|a| prepare(a, how)).and_then(|(l, t, st)| {
                    let st = st.share(r.rank(), r.size());
                    let p = plan(&t, &st, &l)?;
                    let m = st.of_any(&t)?;
                    Ok((l, p, m))
                });
                // Every rank fails together, or every rank goes on to the reduction.
                let (l, p, m) = ranks::agree(r, local, |(l, p, _)| key(l, p))?;
                let Some(all) = ranks::reduced(m.reduce(r))? else {
                    return Ok(());
                };
                let r = Results::of(&p, all)?;
                (l, p, r)
            }
        };
        if as_json {
            let sep = match (b.several, printed) {
                (false, _) => "",
                (true, 0) => "[",
                (true, _) => ",",
            };
            printed += 1;
            json_object(sep, &l, spec, &plan, results)
        } else {
            b.gap()?;
            out::print(&text(&l, spec, &plan, &results))
        }
    })?;
    if as_json && root && batch.several {
        outln!("{}", if printed == 0 { "[]" } else { "]" })?;
    } else if as_json && printed == 1 {
        outln!()?;
    }
    batch.finish()
}

/// Says how to reduce `a`: the axis, the `--slice`, the window, the threads.
fn prepare(a: Array, how: &How<'_>) -> Res<(Label, AnyArray, Stats<'static>)> {
    let l = Label {
        path: a.path.clone(),
        dtype: a.dtype(),
        shape: a.shape().to_vec(),
        fortran: a.order == ndmmap::Order::F,
    };
    let elems = how.spec.map(|s| a.slice_elems(Some(s))).transpose()?;
    let mut st = Stats::along(how.axis as isize).window(how.window.max(1));
    if let Some(t) = how.threads {
        st = st.threads(t);
    }
    if let (Some(spec), Some(elems)) = (how.spec, elems) {
        if elems.iter().filter(|e| e.is_index()).count() == l.shape.len() {
            let hint = ndmmap::slice_keeping_axis(spec, &l.shape)
                .map(|h| format!(": use {h}"))
                .unwrap_or_default();
            return Err(format!(
                "{}: the slice {spec} selects a single element (a scalar); stats need at least \
                 one axis to reduce{hint}",
                l.path.display()
            )
            .into());
        }
        st = st.slice(elems);
    }
    let (path, dtype) = (l.path.display(), &l.dtype);
    let also = "info, residency, touch, evict and lock work on it";
    if let Data::Mapped(m) = &a.data {
        Stats::reducible(m).map_err(|e| format!("{path}: {e}; {also}"))?;
    } else if !numbers(&a) {
        return Err(format!("{path}: stats do not reduce {dtype} elements; {also}").into());
    }
    Ok((l, a.mapped()?, st))
}

/// Whether `a`'s elements are numbers stats reduce ([`Stats::reducible`]); not an unmapped
/// entry of a dtype numpy lacks or cannot map (`|O`); a compressed one's are, and it fails.
fn numbers(a: &Array) -> bool {
    match &a.data {
        Data::Mapped(m) => Stats::reducible(m).is_ok(),
        Data::Unmapped(_, e, _) => e.dtype.is_some() || e.type_name.is_empty(),
    }
}

/// Why stats pass over `a`, an entry of an archive named whole: no numbers, or no axis.
fn skipped(a: &Array) -> Option<String> {
    let dtype = a.dtype();
    if !numbers(a) {
        return Some(format!("stats do not reduce {dtype} elements"));
    }
    let scalar = a.shape().is_empty() && dtype != "?";
    scalar.then(|| "it is 0-dimensional (a scalar), with no axis to reduce".into())
}

fn plan(a: &AnyArray, st: &Stats<'_>, l: &Label) -> Res<Plan> {
    let path = out::one_line(&l.path.display().to_string(), 200);
    st.plan_any(a).map_err(|e| format!("{path}: {e}").into())
}

/// What every rank must agree on before their parts are merged.
fn key(a: &Label, p: &Plan) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same in every process.
    let mut h = std::hash::DefaultHasher::new();
    (
        &a.dtype,
        &a.shape,
        a.fortran,
        p.axis(),
        p.shape(),
        p.count(),
    )
        .hash(&mut h);
    h.finish()
}

/// One process's pass, with a progress bar on a terminal.
fn one(t: &AnyArray, a: &Label, st: Stats<'_>, as_json: bool) -> Res<(Plan, Results)> {
    let plan = plan(t, &st, a)?;
    let bar = chart::progress(plan.bytes(), format!("stats {}", a.path.display()));
    let inc = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let st = st.progress(&inc);
    let keep = match (as_json, plan.streams()) {
        (false, _) => Keep::Ends,
        (true, false) => Keep::All,
        (true, true) => Keep::Spill,
    };
    let mut results = Results::new(&plan, keep)?;
    let r = st.each_any(t, |first, m| results.push(first, m));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    r?;
    Ok((plan, results))
}
