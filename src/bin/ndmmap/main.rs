//! `ndmmap`: vmtouch for arrays. Shows and steers which parts of an array file are in the page
//! cache, in the array's own terms: shapes, dtypes, slices.

mod chart;
mod demo;
mod open;
mod slice;

use clap::{Args, Parser, Subcommand};
use ndarray::Axis;
use open::FileOpts;
use std::process::ExitCode;

/// vmtouch for arrays: residency, prefetch, eviction and locking of .npy and raw array files.
#[derive(Parser)]
#[command(name = "ndmmap", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a dataset in a temporary directory and show what ndmmap does with it (the default).
    Demo {
        /// Size of the dataset in MiB.
        #[arg(long, default_value_t = 256)]
        mib: usize,
    },
    /// Describe an array file: dtype, shape, order, layout in pages, residency.
    Info {
        #[command(flatten)]
        file: FileOpts,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Fraction of each slice along an axis that is in RAM, as a chart.
    Residency {
        #[command(flatten)]
        file: FileOpts,
        /// The axis whose slices are shown (of the array, or of --slice's result).
        #[arg(long, default_value_t = 0)]
        axis: usize,
        #[command(flatten)]
        part: Part,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Load an array (or a slice) into the page cache.
    Touch {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        part: Part,
    },
    /// Drop an array (or a slice) from the page cache.
    Evict {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        part: Part,
    },
    /// Lock an array (or a slice) in RAM until interrupted (Ctrl-C), as `vmtouch -l`.
    Lock {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        part: Part,
    },
    /// Create a zero-filled .npy file.
    Create {
        /// The file to create.
        file: std::path::PathBuf,
        /// numpy dtype: f8, <f4, i2, u1, c16, ...
        #[arg(long)]
        dtype: String,
        /// Comma-separated shape, e.g. 100,100.
        #[arg(long)]
        shape: String,
        /// Memory order: C or F.
        #[arg(long, default_value = "C")]
        order: String,
    },
}

#[derive(Args)]
struct Part {
    /// A slice in numpy syntax, e.g. `100:200,:` or `::2,5`.
    #[arg(long)]
    slice: Option<String>,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.cmd.unwrap_or(Cmd::Demo { mib: 256 })) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = e.source();
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            eprintln!("ndmmap: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Res<()> {
    match cmd {
        Cmd::Demo { mib } => demo::run(mib),
        Cmd::Info { file, json } => info(&file, json),
        Cmd::Residency {
            file,
            axis,
            part,
            json,
        } => residency(&file, axis, part.slice.as_deref(), json),
        Cmd::Touch { file, part } => touch(&file, part.slice.as_deref()),
        Cmd::Evict { file, part } => {
            let a = open::open(&file)?;
            let elems = a.slice_elems(part.slice.as_deref())?;
            open::with!(a, m => m.evict_slice(&elems))?;
            let r = open::with!(a, m => m.residency_slice(&elems))?;
            println!(
                "evicted: {} of {} pages still resident (dirty or mapped pages stay)",
                r.resident, r.total
            );
            Ok(())
        }
        Cmd::Lock { file, part } => lock(&file, part.slice.as_deref()),
        Cmd::Create {
            file,
            dtype,
            shape,
            order,
        } => {
            let shape = open::parse_shape(&shape)?;
            let fortran = open::parse_order(&order)?;
            open::create(&file, &dtype, &shape, fortran)?;
            println!(
                "created {} ({dtype}, shape {:?}, order {})",
                file.display(),
                shape,
                if fortran { "F" } else { "C" }
            );
            Ok(())
        }
    }
}

/// The keys every `--json` output shares.
fn describe(
    a: &open::AnyArray,
    file: &FileOpts,
) -> Res<serde_json::Map<String, serde_json::Value>> {
    let span = open::with!(a, m => m.page_span());
    Ok(serde_json::Map::from_iter([
        (
            "path".to_string(),
            serde_json::json!(file.file.display().to_string()),
        ),
        ("dtype".into(), serde_json::json!(a.descr)),
        ("shape".into(), serde_json::json!(a.shape())),
        ("order".into(), serde_json::json!(a.order_str())),
        ("data_offset".into(), serde_json::json!(a.data_offset)),
        (
            "nbytes".into(),
            serde_json::json!(open::with!(a, m => m.nbytes())),
        ),
        ("page_size".into(), serde_json::json!(span.page_size)),
        ("lead".into(), serde_json::json!(span.lead)),
        ("pages".into(), serde_json::json!(span.page_count)),
        (
            "resident_pages".into(),
            serde_json::json!(open::with!(a, m => m.residency())?.resident),
        ),
    ]))
}

fn info(file: &FileOpts, json: bool) -> Res<()> {
    let a = open::open(file)?;
    let span = open::with!(a, m => m.page_span());
    let cs = open::with!(a, m => m.cachestat())?;
    let resident = open::with!(a, m => m.residency())?.resident;
    let nbytes = open::with!(a, m => m.nbytes());
    if json {
        let mut v = describe(&a, file)?;
        v.extend([
            (
                "cachestat".into(),
                serde_json::json!(cs.source == ndmmap::CountSource::Cachestat),
            ),
            ("dirty_pages".into(), serde_json::json!(cs.dirty)),
            ("writeback_pages".into(), serde_json::json!(cs.writeback)),
            ("evicted_pages".into(), serde_json::json!(cs.evicted)),
            (
                "recently_evicted_pages".into(),
                serde_json::json!(cs.recently_evicted),
            ),
        ]);
        let v = serde_json::Value::Object(v);
        println!("{v}");
        return Ok(());
    }
    println!("path         {}", file.file.display());
    println!("dtype        {}", a.descr);
    println!("shape        {:?}", a.shape());
    println!("order        {}", a.order_str());
    println!("data offset  {} bytes", a.data_offset);
    println!(
        "data         {} bytes ({})",
        nbytes,
        chart::human(nbytes as u64)
    );
    println!("page size    {} bytes", span.page_size);
    println!(
        "lead         {} bytes of the first page lie before element 0",
        span.lead
    );
    println!("pages        {}", span.page_count);
    let pct = if span.page_count == 0 {
        100.0
    } else {
        100.0 * resident as f64 / span.page_count as f64
    };
    println!("resident     {resident} pages ({pct:.1}%)");
    match (cs.dirty, cs.writeback, cs.evicted) {
        (Some(d), Some(w), Some(e)) => {
            println!("cachestat    dirty {d}, writeback {w}, evicted {e}")
        }
        _ => println!("cachestat    not available (kernel before 6.5); counts from mincore"),
    }
    Ok(())
}

fn residency(file: &FileOpts, axis: usize, slice: Option<&str>, json: bool) -> Res<()> {
    let a = open::open(file)?;
    let elems = a.slice_elems(slice)?;
    let counts = open::with!(a, m => m.residency_counts_along_slice(&elems, Axis(axis)))?;
    let fractions: Vec<f64> = counts.iter().map(ndmmap::Residency::fraction).collect();
    let part = open::with!(a, m => m.residency_slice(&elems))?;
    if json {
        let mut v = describe(&a, file)?;
        v.extend([
            ("axis".into(), serde_json::json!(axis)),
            ("slice".into(), serde_json::json!(slice)),
            ("slices".into(), serde_json::json!(fractions)),
        ]);
        let v = serde_json::Value::Object(v);
        println!("{v}");
        return Ok(());
    }
    let (res, tot) = (part.resident, part.total);
    let pct = 100.0 * part.fraction();
    println!(
        "{}  {} {:?}  axis {axis}{}",
        file.file.display(),
        a.descr,
        a.shape(),
        slice.map(|s| format!("  slice [{s}]")).unwrap_or_default()
    );
    println!("{}", chart::bar(&fractions, chart::width()));
    println!(
        "{} slices, {res}/{tot} pages resident ({pct:.1}%)",
        fractions.len()
    );
    Ok(())
}

fn touch(file: &FileOpts, slice: Option<&str>) -> Res<()> {
    let a = open::open(file)?;
    let elems = a.slice_elems(slice)?;
    let before = open::with!(a, m => m.residency_slice(&elems))?;
    let t = std::time::Instant::now();
    // Touch block by block along the first axis of the slice so the progress bar moves.
    let blocks = open::blocks(&a, &elems, 200)?;
    let bar = chart::progress(blocks.len() as u64, "touching");
    for b in &blocks {
        open::with!(a, m => m.madvise_slice(ndmmap::Advice::WillNeed, b))?;
        open::with!(a, m => { open::read_all(&m.view().slice(b.as_slice()).into_dyn()); Ok::<(), ndmmap::Error>(()) })?;
        if let Some(p) = &bar {
            p.inc(1);
        }
    }
    if let Some(p) = bar {
        p.finish_and_clear();
    }
    let after = open::with!(a, m => m.residency_slice(&elems))?;
    println!(
        "touched {} pages in {:.2?}: resident {} -> {} of {}",
        after.total,
        t.elapsed(),
        before.resident,
        after.resident,
        after.total
    );
    Ok(())
}

fn lock(file: &FileOpts, slice: Option<&str>) -> Res<()> {
    let a = open::open(file)?;
    let elems = a.slice_elems(slice)?;
    open::catch_signals();
    open::with!(a, m => m.mlock_slice(ndmmap::Lock::Now, &elems))?;
    let r = open::with!(a, m => m.residency_slice(&elems))?;
    let ps = open::with!(a, m => m.page_span().page_size);
    eprintln!(
        "locked {} pages ({}) of {}; press Ctrl-C to release",
        r.total,
        chart::human((r.total * ps) as u64),
        file.file.display()
    );
    open::wait_for_signal();
    open::with!(a, m => m.munlock_slice(&elems))?;
    eprintln!("released");
    Ok(())
}
