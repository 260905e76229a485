//! What the command prints, and how it ends: lines on stdout through [`outln!`] (a closed
//! stdout ends the command quietly), notes and one-line errors on stderr, words in the right
//! number, and the loop over several files in which one file's failure does not stop the others.

use std::path::{Path, PathBuf};

/// `println!` for the command's output, returning [`Output`] on failure instead of panicking:
/// `outln!("{x}")?`.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*).map_err($crate::out::Output)
    }};
}

/// `eprintln!` for notes on stderr; a note that cannot be written is dropped, not a panic.
macro_rules! note {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

/// Every fallible step of the command: any error, printed by [`report`] as one line.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A failed write to stdout (from [`outln!`]).
#[derive(Debug)]
pub struct Output(pub std::io::Error);

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing to standard output failed: {}", self.0)
    }
}

impl std::error::Error for Output {}

/// The command failed and has said why already (on stderr): exit with status 1, print nothing.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed (reported above)")
    }
}

impl std::error::Error for Reported {}

/// An operation this OS lacks ([`ndmmap::Error::Unsupported`] from the library): said once, as
/// one line, and the command stops, as every further file would fail the same way.
#[derive(Debug)]
pub struct NotHere {
    /// The command or step, e.g. `evict`.
    pub what: &'static str,
    /// Why the OS cannot do it.
    pub why: &'static str,
}

impl std::fmt::Display for NotHere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not supported on {}: {}",
            self.what,
            os_name(),
            self.why
        )
    }
}

impl std::error::Error for NotHere {}

/// `r`, with [`ndmmap::Error::Unsupported`] as [`NotHere`]`{ what, why }`.
pub fn supported<T>(r: ndmmap::Result<T>, what: &'static str, why: &'static str) -> Res<T> {
    match r {
        Err(ndmmap::Error::Unsupported { .. }) => Err(NotHere { what, why }.into()),
        r => Ok(r?),
    }
}

/// `r`, with [`ndmmap::Error::Unsupported`] as `None`: a step the caller skips where the OS
/// lacks it.
pub fn optional<T>(r: ndmmap::Result<T>) -> Res<Option<T>> {
    match r {
        Err(ndmmap::Error::Unsupported { .. }) => Ok(None),
        r => Ok(Some(r?)),
    }
}

/// The running OS as its maker writes it.
pub fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "windows" => "Windows",
        "macos" => "macOS",
        "ios" => "iOS",
        "android" => "Android",
        "freebsd" => "FreeBSD",
        "netbsd" => "NetBSD",
        "openbsd" => "OpenBSD",
        "dragonfly" => "DragonFly BSD",
        other => other,
    }
}

/// Whether `e` says that stdout's reader went away (`ndmmap info x | head -1`).
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<Output>()
        .is_some_and(|o| o.0.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The longest error line printed, in characters: a hostile file's header can make a message
/// of any length, and the user needs its first words, not megabytes.
pub const MAX_MESSAGE: usize = 300;

/// Prints an error as one line on stderr: [`one_line`], capped at [`MAX_MESSAGE`]. The
/// library's errors carry the OS's reason in their message (and return no `source()`), so the
/// message is the whole story.
pub fn report(msg: &str) {
    note!("ndmmap: error: {}", one_line(msg, MAX_MESSAGE));
}

/// Prints a warning as one line on stderr.
pub fn warn(msg: &str) {
    note!("ndmmap: warning: {}", one_line(msg, MAX_MESSAGE));
}

pub use ndmmap::chart::{count, one_line};

/// The state of a command run over several files: whether there are several (then text is
/// prefixed or separated by file and `--json` prints an array), and whether one has failed.
#[derive(Debug)]
pub struct Batch {
    /// More than one file was given.
    pub several: bool,
    /// The item is an entry of an archive named whole (`FILE.npz`), not by the user.
    pub member: bool,
    failed: bool,
    printed: bool,
    /// `--json` objects printed so far ([`json`](Self::json)).
    objects: usize,
}

impl Batch {
    /// Notes a failure that was reported already (a warning): the command ends with status 1.
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// Before a file's block of text: a blank line after the previous file's.
    pub fn gap(&mut self) -> Res<()> {
        if self.printed {
            outln!()?;
        }
        self.printed = true;
        Ok(())
    }

    /// Prints one `--json` object as it comes (nothing is kept: an archive of a million
    /// entries is a million objects): alone for one array, else as the next element of the
    /// array of them all, which [`end_json`](Self::end_json) closes.
    pub fn json(&mut self, v: serde_json::Value) -> Res<()> {
        let sep = if self.objects > 0 { "," } else { "[" };
        let sep = if self.several { sep } else { "" };
        self.objects += 1;
        print(&format!("{sep}{v}"))
    }

    /// Ends `--json` output: the array of several arrays' objects (`[]` for none), or the
    /// line of one.
    pub fn end_json(&self) -> Res<()> {
        match (self.several, self.objects) {
            (true, 0) => print("[]\n"),
            (true, _) => print("]\n"),
            (false, 0) => Ok(()),
            (false, _) => print("\n"),
        }
    }

    /// `"path: "` when there are several files, so that one-line results say whose they are.
    pub fn prefix(&self, path: &Path) -> String {
        if self.several {
            format!("{}: ", path.display())
        } else {
            String::new()
        }
    }

    /// `Ok` when every file succeeded, else [`Reported`] (status 1; each failure said why).
    pub fn finish(self) -> Res<()> {
        if self.failed {
            Err(Reported.into())
        } else {
            Ok(())
        }
    }

    /// Runs one item's work (a file's, an archive entry's): a failure is reported as one line
    /// on stderr and noted (status 1 at the end), and `Ok(None)` lets the others go on. A
    /// closed stdout, and an operation this OS lacks ([`NotHere`], reported by [`each`]),
    /// stop every item.
    pub fn attempt<T>(&mut self, f: impl FnOnce(&mut Batch) -> Res<T>) -> Res<Option<T>> {
        match f(self) {
            Ok(v) => Ok(Some(v)),
            Err(e) if is_broken_pipe(e.as_ref()) || e.is::<NotHere>() => Err(e),
            Err(e) => {
                if !e.is::<Reported>() {
                    report(&e.to_string());
                }
                self.failed = true;
                Ok(None)
            }
        }
    }
}

/// Runs `f` on each file in turn, as vmtouch does: a file that fails is reported as one line on
/// stderr and the others go on ([`Batch::attempt`]); the results of those that succeed are
/// returned in order. A closed stdout stops at once (there is no one left to tell).
pub fn each<T>(
    files: &[PathBuf],
    mut f: impl FnMut(&mut Batch, &Path) -> Res<T>,
) -> Res<(Vec<T>, Batch)> {
    let mut batch = Batch {
        several: files.len() > 1,
        member: false,
        failed: false,
        printed: false,
        objects: 0,
    };
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        match batch.attempt(|b| f(b, path)) {
            Ok(v) => out.extend(v),
            Err(e) if e.is::<NotHere>() => {
                report(&e.to_string());
                return Err(Reported.into());
            }
            Err(e) => return Err(e),
        }
    }
    Ok((out, batch))
}

/// Prints `text` (whole lines) with one write: a block of lines costs one system call, not one
/// per line.
pub fn print(text: &str) -> Res<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Output(e).into())
}

/// Prints `--json` results: the one object for one file, an array of objects for several.
pub fn json(values: Vec<serde_json::Value>, several: bool) -> Res<()> {
    if several {
        outln!("{}", serde_json::Value::Array(values))?;
    } else if let Some(v) = values.into_iter().next() {
        outln!("{v}")?;
    }
    Ok(())
}

/// Why a residency count is unknown ([`ndmmap::Error::ResidencyUnknown`]), and what to do.
pub const UNKNOWN: &str = "the kernel shows a file's page cache only to its owner, to \
    processes that may write it, and to root (Linux 5.2+); run as the owner, with write \
    permission, or as root";

/// `info`'s cachestat line where the counts have no dirty, writeback and evicted figures.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const NO_CACHESTAT: &str = "not available (kernel before 6.5); counts from mincore";
#[cfg(windows)]
pub const NO_CACHESTAT: &str = "not on Windows; counts from QueryWorkingSetEx";
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
pub const NO_CACHESTAT: &str = "not on this OS (Linux 6.5+); counts from mincore";

/// What "resident" means where it is not "in the page cache": one line under the counts of
/// `info` and `residency` (and the demo's first).
#[cfg(windows)]
pub const SCOPE: Option<&str> = Some(
    "on Windows, resident means in this process's working set, not in the system file cache: \
     a new ndmmap process starts at 0",
);
#[cfg(not(windows))]
pub const SCOPE: Option<&str> = None;

/// A residency answer, with [`ndmmap::Error::ResidencyUnknown`] as `Ok(None)`: a count the
/// kernel hides, which the command says it does not know rather than fails on.
pub fn known<T>(r: ndmmap::Result<T>) -> Res<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ndmmap::Error::ResidencyUnknown { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
