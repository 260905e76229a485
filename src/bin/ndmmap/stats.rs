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
use crate::results::{Keep, Results, json_object, text};
use ndarray::IxDyn;
use ndmmap::stats::{Moments, Plan, Stats};
use ndmmap::{MmapArray, Mode, Order};

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
    let keep = match (as_json, plan.streams()) {
        (false, _) => Keep::Ends,
        (true, false) => Keep::All,
        (true, true) => Keep::Spill,
    };
    let mut results = Results::new(keep)?;
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
