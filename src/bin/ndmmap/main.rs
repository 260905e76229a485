//! `ndmmap`: vmtouch for arrays. Shows and steers which parts of an array file are in the page
//! cache, in the array's own terms: shapes, dtypes, slices.
//!
//! Every failure ends the same way: exit status 1 and one line on stderr (see [`report`]).
//! Output goes through [`outln!`], so a closed stdout ends the command quietly, not in a panic.
#![warn(clippy::print_stdout, clippy::print_stderr)]

/// `println!` for the command's output, returning [`Output`] on failure instead of panicking:
/// `outln!("{x}")?`.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*).map_err($crate::Output)
    }};
}

/// `eprintln!` for notes on stderr; a note that cannot be written is dropped, not a panic.
macro_rules! note {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

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
        #[arg(long, default_value_t = 256, allow_negative_numbers = true)]
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
        /// The axis whose slices are shown (of the array, or of --slice's result); negative
        /// counts from the last, as in numpy.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_axis)]
        axis: i64,
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
        /// Comma-separated shape, e.g. 100,100 (`3,` or `3` for one axis, '' for a scalar).
        #[arg(long, allow_hyphen_values = true)]
        shape: String,
        /// Memory order: C or F.
        #[arg(long, default_value = "C")]
        order: String,
    },
}

#[derive(Args)]
struct Part {
    /// A slice in numpy syntax, e.g. `100:200,:`, `::2,5`, `-1` or `-5:`.
    #[arg(long, allow_hyphen_values = true)]
    slice: Option<String>,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A failed write to stdout (from [`outln!`]).
#[derive(Debug)]
struct Output(std::io::Error);

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing to standard output failed: {}", self.0)
    }
}

impl std::error::Error for Output {}

fn parse_axis(s: &str) -> Result<i64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an axis (an integer, negative from the last)"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            // A bad value is the user's data, reported as every other error; misuse of the
            // command's syntax (unknown flags, --help, --version) stays clap's to print.
            if !matches!(
                e.kind(),
                K::ValueValidation | K::InvalidValue | K::InvalidUtf8
            ) {
                e.exit();
            }
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            report(first.strip_prefix("error: ").unwrap_or(first));
            return ExitCode::FAILURE;
        }
    };
    match run(cli.cmd.unwrap_or(Cmd::Demo { mib: 256 })) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`ndmmap info x | head -1`): nothing is left to say.
        Err(e)
            if e.downcast_ref::<Output>()
                .is_some_and(|o| o.0.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = e.source();
            // A chain is a few errors deep; the bound only guards against a cycle.
            for _ in 0..16 {
                let Some(s) = src else { break };
                msg.push_str(": ");
                msg.push_str(&one_line(&s.to_string(), MAX_MESSAGE));
                src = s.source();
            }
            report(&msg);
            ExitCode::FAILURE
        }
    }
}

/// The longest error line printed, in characters: a hostile file's header can make a message
/// of any length, and the user needs its first words, not megabytes.
const MAX_MESSAGE: usize = 300;

/// Prints an error as one line on stderr: [`one_line`], capped at [`MAX_MESSAGE`].
fn report(msg: &str) {
    note!("ndmmap: error: {}", one_line(msg, MAX_MESSAGE));
}

/// `msg` on one line of at most `max` characters: every line break, other control character
/// or bidirectional override becomes a space, and a longer text keeps its start and its end
/// (where an error chain puts the OS's reason) around an ellipsis.
fn one_line(msg: &str, max: usize) -> String {
    let fold = |c: char| match c {
        '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => ' ',
        c if c.is_control() => ' ',
        c => c,
    };
    if msg.chars().nth(max).is_none() {
        return msg.chars().map(fold).collect();
    }
    let tail = max / 3;
    let head = max.saturating_sub(tail + 1);
    let cut = match tail.checked_sub(1) {
        Some(k) => msg.char_indices().rev().nth(k).map_or(0, |(i, _)| i),
        None => msg.len(),
    };
    msg.chars()
        .take(head)
        .chain(['…'])
        .chain(msg[cut..].chars())
        .map(fold)
        .collect()
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
            outln!(
                "evicted: {} of {} pages still resident (dirty or mapped pages stay)",
                r.resident,
                r.total
            )?;
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
            outln!(
                "created {} ({dtype}, shape {:?}, order {})",
                file.display(),
                shape,
                if fortran { "F" } else { "C" }
            )?;
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
        outln!("{v}")?;
        return Ok(());
    }
    outln!("path         {}", file.file.display())?;
    outln!("dtype        {}", a.descr)?;
    outln!("shape        {:?}", a.shape())?;
    outln!("order        {}", a.order_str())?;
    outln!("data offset  {} bytes", a.data_offset)?;
    outln!(
        "data         {} bytes ({})",
        nbytes,
        chart::human(nbytes as u64)
    )?;
    outln!("page size    {} bytes", span.page_size)?;
    outln!(
        "lead         {} bytes of the first page lie before element 0",
        span.lead
    )?;
    outln!("pages        {}", span.page_count)?;
    let pct = if span.page_count == 0 {
        100.0
    } else {
        100.0 * resident as f64 / span.page_count as f64
    };
    outln!("resident     {resident} pages ({pct:.1}%)")?;
    match (cs.dirty, cs.writeback, cs.evicted) {
        (Some(d), Some(w), Some(e)) => {
            outln!("cachestat    dirty {d}, writeback {w}, evicted {e}")?
        }
        _ => outln!("cachestat    not available (kernel before 6.5); counts from mincore")?,
    }
    Ok(())
}

/// `axis` (negative from the last, as in numpy) as an index into the axes of the selection, or
/// the reason there is none.
fn selection_axis(
    a: &open::AnyArray,
    file: &FileOpts,
    elems: &[ndarray::SliceInfoElem],
    slice: Option<&str>,
    axis: i64,
) -> Res<usize> {
    let shape = a.shape();
    let nd = slice::result_ndim(elems, shape.len());
    if nd == 0 {
        let hint = slice.and_then(|s| Some((s, slice::keep_first_axis(s, &shape)?)));
        let msg = match hint {
            Some((s, hint)) => format!(
                "the slice {s} selects a single element (a scalar); residency per axis needs at \
                 least one sliced axis: use {hint}"
            ),
            None => format!(
                "{} is 0-dimensional (a scalar); residency per axis needs at least one axis \
                 (`ndmmap info` counts its pages)",
                file.file.display()
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

fn residency(file: &FileOpts, axis: i64, slice: Option<&str>, json: bool) -> Res<()> {
    let a = open::open(file)?;
    let elems = a.slice_elems(slice)?;
    let axis = selection_axis(&a, file, &elems, slice, axis)?;
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
        outln!("{v}")?;
        return Ok(());
    }
    let (res, tot) = (part.resident, part.total);
    let pct = 100.0 * part.fraction();
    outln!(
        "{}  {} {:?}  axis {axis}{}",
        file.file.display(),
        a.descr,
        a.shape(),
        slice.map(|s| format!("  slice [{s}]")).unwrap_or_default()
    )?;
    outln!("{}", chart::bar(&fractions, chart::width()))?;
    outln!(
        "{} slices, {res}/{tot} pages resident ({pct:.1}%)",
        fractions.len()
    )?;
    Ok(())
}

fn touch(file: &FileOpts, slice: Option<&str>) -> Res<()> {
    let a = open::open(file)?;
    let elems = a.slice_elems(slice)?;
    let before = open::with!(a, m => m.residency_slice(&elems))?;
    let t = std::time::Instant::now();
    // Touch block by block along the first axis of the slice so the progress bar moves.
    let blocks = open::blocks(&a, &elems, 200);
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
    outln!(
        "touched {} pages in {:.2?}: resident {} -> {} of {}",
        after.total,
        t.elapsed(),
        before.resident,
        after.resident,
        after.total
    )?;
    Ok(())
}

fn lock(file: &FileOpts, slice: Option<&str>) -> Res<()> {
    let a = open::open(file)?;
    let elems = a.slice_elems(slice)?;
    open::catch_signals();
    open::with!(a, m => m.mlock_slice(ndmmap::Lock::Now, &elems))?;
    let r = open::with!(a, m => m.residency_slice(&elems))?;
    let ps = open::with!(a, m => m.page_span().page_size);
    note!(
        "locked {} pages ({}) of {}; press Ctrl-C to release",
        r.total,
        chart::human((r.total * ps) as u64),
        file.file.display()
    );
    open::wait_for_signal();
    open::with!(a, m => m.munlock_slice(&elems))?;
    note!("released");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn messages_fold_to_one_short_line() {
        assert_eq!(
            one_line("a\nb\r\nc\u{2028}d\te\u{1b}[31m", 100),
            "a b  c d e [31m"
        );
        assert_eq!(one_line("short", 5), "short");
        assert_eq!(one_line("abcdefghij", 7), "abcd…ij");
        let long = format!("{}: No such file", "é".repeat(10_000));
        let line = one_line(&long, 300);
        assert_eq!(line.chars().count(), 300);
        assert!(
            line.starts_with("éé") && line.ends_with("é: No such file"),
            "{line}"
        );
        assert_eq!(one_line("abc", 0), "…");
    }
}
