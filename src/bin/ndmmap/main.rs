//! `ndmmap`: vmtouch for arrays. Shows and steers which parts of array files are in the page
//! cache, in the arrays' own terms: shapes, dtypes, slices.
//!
//! This file parses the command line and dispatches to one module per subcommand. Every
//! failure ends the same way: exit status 1 and one line on stderr ([`out::report`]); with
//! several files, each failing file gets its line and the others go on. Output goes through
//! `outln!`, so a closed stdout ends the command quietly, not in a panic.
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
use clap::{Args, Parser, Subcommand};
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
        #[arg(long, default_value_t = 256, allow_negative_numbers = true)]
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
        file: FileOpts,
        /// The axis whose slices are shown (of the array, or of --slice's result); negative
        /// counts from the last, as in numpy.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_axis)]
        axis: i64,
        #[command(flatten)]
        part: Part,
        /// Print JSON: one object, or an array of objects for several files.
        #[arg(long)]
        json: bool,
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
    Touch {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        part: Part,
    },
    /// Drop arrays (or a slice of each) from the page cache.
    Evict {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        part: Part,
    },
    /// Lock arrays (or a slice of each) in RAM until interrupted (Ctrl-C), as `vmtouch -l`.
    Lock {
        #[command(flatten)]
        file: FileOpts,
        #[command(flatten)]
        part: Part,
    },
    /// Count, mean, standard deviation, min and max along an axis (one value per column of a
    /// 2-D array), out of core in one streaming pass.
    Stats {
        #[command(flatten)]
        file: FileOpts,
        /// The axis reduced (of the array, or of --slice's result); negative counts from the
        /// last, as in numpy.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_axis)]
        axis: i64,
        #[command(flatten)]
        part: Part,
        /// Print JSON: one object, or an array of objects for several files.
        #[arg(long)]
        json: bool,
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

#[derive(Args)]
struct Part {
    /// A slice in numpy syntax, e.g. `100:200,:`, `::2,5`, `-1` or `-5:`.
    #[arg(long, allow_hyphen_values = true)]
    slice: Option<String>,
}

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
            out::report(first.strip_prefix("error: ").unwrap_or(first));
            return ExitCode::FAILURE;
        }
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
            file,
            axis,
            part,
            json,
            ranges,
            mpi,
        } => match ranks::init(mpi)? {
            Some(r) => residency::slabs(&file, part.slice.as_deref(), json, r.as_ref()),
            None => residency::run(&file, axis, part.slice.as_deref(), json, ranges),
        },
        Cmd::Touch { file, part } => touch::run(&file, part.slice.as_deref()),
        Cmd::Evict { file, part } => evict::run(&file, part.slice.as_deref()),
        Cmd::Lock { file, part } => lock::run(&file, part.slice.as_deref()),
        Cmd::Stats {
            file,
            axis,
            part,
            json,
            window,
            threads,
            mpi,
        } => {
            let r = ranks::init(mpi)?;
            let how = stats::How {
                axis,
                spec: part.slice.as_deref(),
                json,
                window,
                threads: threads.map(usize::from),
            };
            stats::run(&file, &how, r.as_deref())
        }
        Cmd::Create {
            file,
            dtype,
            shape,
            order,
        } => create::run(&file, &dtype, &shape, order),
    }
}
