//! `ndmmap`: vmtouch for arrays. Shows and steers which parts of array files are in the page
//! cache, in the arrays' own terms: shapes, dtypes, slices.
//!
//! This file parses the command line and dispatches to one module per subcommand. Errors
//! come in two kinds ([`refused`]): bad input (a file, a dtype, a value, a slice) is one line
//! on stderr ([`out::report`]) and status 1, and with several files each failing file gets its
//! line while the others go on; misuse of the syntax (an unknown flag, a missing FILE, a flag
//! without its value) is at most three lines and status 2. Output goes through `outln!`, so a
//! closed stdout ends the command quietly, not in a panic.
#![warn(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod out;
mod args;
mod chart;
mod create;
mod demo;
mod evict;
mod info;
mod lock;
#[cfg(all(feature = "mpi", unix))]
mod mpi;
mod open;
mod ranks;
mod residency;
mod results;
mod signal;
mod stats;
mod touch;
#[cfg(windows)]
mod win;
use args::Sel;
use clap::{Parser, Subcommand};
use open::FileOpts;
use out::Res;
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
        #[arg(long, default_value_t = 256, allow_negative_numbers = true, value_parser = parse_mib)]
        mib: usize,
    },
    /// Describe array files: dtype, shape, order, layout in pages, residency.
    Info {
        #[command(flatten)]
        file: FileOpts,
        /// Print JSON: one object, or an array of objects for several files.
        #[arg(long)]
        json: bool,
    },
    /// Fraction of each slice along an axis that is in RAM, as a chart (one per file).
    Residency {
        #[command(flatten)]
        sel: Sel,
        /// The axis whose slices are shown (of the array, or of --slice's result); negative
        /// counts from the last, as in numpy.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_axis)]
        axis: i64,
        /// Print the ranges of slices all of whose pages are in RAM, and of those partly in
        /// RAM, in numpy's slice syntax (end exclusive), instead of the chart.
        #[arg(long)]
        ranges: bool,
        /// Under mpirun: each rank counts its slab of rows (axis 0), and rank 0 prints how
        /// much of each rank's slab is in RAM (needs a build with --features cli,mpi).
        #[arg(long)]
        mpi: bool,
    },
    /// Load arrays (or a slice of each) into the page cache.
    Touch(Sel),
    /// Drop arrays (or a slice of each) from the page cache; say what left, and why the rest
    /// stayed (dirty, under writeback, mapped or locked).
    Evict {
        #[command(flatten)]
        sel: Sel,
        /// Write the files' dirty pages back first (fdatasync), so that they can leave too.
        #[arg(long)]
        sync: bool,
    },
    /// Lock arrays (or a slice of each) in RAM until interrupted (Ctrl-C), as `vmtouch -l`;
    /// with --json, a line of JSON when locked and one when released (key "event").
    Lock(Sel),
    /// Count, mean, standard deviation, min and max along an axis (one value per column of a
    /// 2-D array), out of core in one streaming pass.
    Stats {
        #[command(flatten)]
        sel: Sel,
        /// The axis reduced (of the array, or of --slice's result); negative counts from the
        /// last, as in numpy.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_axis)]
        axis: i64,
        /// Bytes per streamed window (tests use small ones to cross many windows).
        #[arg(long, hide = true, default_value_t = stats::WINDOW)]
        window: usize,
        /// Threads that share each window (default: every core).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        /// Under mpirun: each rank streams its share of the rows and rank 0 prints the
        /// combined result, as one process would (needs a build with --features cli,mpi).
        #[arg(long)]
        mpi: bool,
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
        order: ndmmap::Order,
    },
}

fn parse_axis(s: &str) -> Result<i64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an axis (an integer, negative from the last)"))
}

/// `--mib`: a whole number, at least 1 (a dataset of no rows would show nothing).
fn parse_mib(s: &str) -> Result<usize, String> {
    match s.trim().parse() {
        Ok(0) => Err("the demo's dataset needs at least 1 MiB".into()),
        r => r.map_err(|e| format!("not a whole number of MiB ({e})")),
    }
}

/// A command line clap refuses. `--help` and `--version` print in full (status 0). A value
/// that cannot be used is bad input, as a bad file is: one line, status 1. The rest misuses
/// the syntax (an unknown flag, a missing FILE, a flag without its value): the error with
/// clap's tip, the usage line and the hint to `--help`, at most three lines, status 2.
fn refused(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind as K};
    let no_value =
        matches!(e.get(ContextKind::InvalidValue), Some(ContextValue::String(v)) if v.is_empty());
    let text = e.to_string();
    let mut parts = text.split("\n\n").map(|p| {
        let p = p.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        p.strip_prefix("error: ").map(str::to_owned).unwrap_or(p)
    });
    let msg = parts.next().unwrap_or_default();
    match e.kind() {
        _ if !e.use_stderr() => e.exit(),
        K::ValueValidation | K::InvalidValue | K::InvalidUtf8 if !no_value => {
            out::report(&msg);
            return ExitCode::FAILURE;
        }
        _ => {}
    }
    let (tips, rest): (Vec<_>, Vec<_>) = parts.partition(|p| p.starts_with("tip: "));
    let tips: String = tips.iter().map(|t| format!(" ({t})")).collect();
    out::report(&format!("{msg}{tips}"));
    rest.iter()
        .take(2)
        .for_each(|p| note!("{}", out::one_line(p, out::MAX_MESSAGE)));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return refused(e),
    };
    match run(cli.cmd.unwrap_or(Cmd::Demo { mib: 256 })) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`ndmmap info x | head -1`): nothing is left to say.
        Err(e) if out::is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        // Said already, file by file.
        Err(e) if e.is::<out::Reported>() => ExitCode::FAILURE,
        // The library's errors hold the OS's reason in their message and return no `source()`:
        // the message is the whole story.
        Err(e) => {
            out::report(&e.to_string());
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Res<()> {
    match cmd {
        Cmd::Demo { mib } => demo::run(mib),
        Cmd::Info { file, json } => info::run(&file, json),
        Cmd::Residency {
            sel,
            axis,
            ranges,
            mpi,
        } => {
            let (file, spec, json) = (&sel.file, sel.part.slice.as_deref(), sel.json);
            match ranks::init(mpi)? {
                Some(r) => residency::slabs(file, spec, json, r.as_ref()),
                None => residency::run(file, axis, spec, json, ranges),
            }
        }
        Cmd::Touch(sel) => touch::run(&sel),
        Cmd::Evict { sel, sync } => evict::run(&sel, sync),
        Cmd::Lock(sel) => lock::run(&sel),
        Cmd::Stats {
            sel,
            axis,
            window,
            threads,
            mpi,
        } => {
            let r = ranks::init(mpi)?;
            let how = stats::How {
                axis,
                spec: sel.part.slice.as_deref(),
                json: sel.json,
                window,
                threads: threads.map(usize::from),
            };
            stats::run(&sel.file, &how, r.as_deref())
        }
        Cmd::Create {
            file,
            dtype,
            shape,
            order,
        } => create::run(&file, &dtype, &shape, order),
    }
}
