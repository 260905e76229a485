//! What `ndmmap stats` prints: the results of a file as the library hands them over, part by
//! part, kept as the output needs them (the ends of the table; every result for `--json`, in
//! memory or in an unnamed temporary file), and their table and JSON object.

use crate::out::{self, Res};
use ndmmap::stats::{Moments, Plan, Summary, Value};
use serde_json::json;
use std::io::{Seek, Write};

/// What the output says of the array reduced: its name, dtype and shape.
pub struct Label {
    /// As the user wrote it, or `FILE:NAME` for an entry of a whole archive.
    pub path: std::path::PathBuf,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub fortran: bool,
}

/// What [`Results`] keeps of the parts beyond the table's ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Nothing (the table).
    Ends,
    /// Every result as JSON text, in memory (`--json` of few results).
    All,
    /// Every result as JSON text, in unnamed temporary files (`--json` of results streamed
    /// window by window: memory stays bounded).
    Spill,
}

/// One statistic's JSON array so far (without its brackets), in memory or in a file.
enum Buf {
    Mem(Vec<u8>),
    File(std::io::BufWriter<std::fs::File>),
}

impl Buf {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Buf::Mem(v) => v,
            Buf::File(f) => f,
        }
    }

    /// Copies the array's text to `w`.
    fn copy_to(self, w: &mut dyn Write) -> std::io::Result<()> {
        match self {
            Buf::Mem(v) => w.write_all(&v),
            Buf::File(f) => {
                let mut f = f
                    .into_inner()
                    .map_err(std::io::IntoInnerError::into_error)?;
                f.rewind()?;
                std::io::copy(&mut f, w).map(|_| ())
            }
        }
    }
}

/// The results of one file as the library hands them over: the first and last few for the
/// table, and every result for `--json` as the JSON text of its four arrays, written as the
/// parts come (in memory, or in unnamed temporary files where the results stream).
pub struct Results {
    /// The ends of the table (the library's [`Summary`]).
    summary: Summary,
    /// mean, min, max and std.
    json: Option<[Buf; 4]>,
}

impl Results {
    pub fn new(plan: &Plan, keep: Keep) -> Res<Results> {
        let file = || -> Res<Buf> {
            let f = tempfile::tempfile().map_err(|e| {
                format!(
                    "cannot create a temporary file for the results in {}: {e}; set TMPDIR to \
                     a directory with room",
                    std::env::temp_dir().display()
                )
            })?;
            Ok(Buf::File(std::io::BufWriter::with_capacity(1 << 16, f)))
        };
        let json = match keep {
            Keep::Ends => None,
            Keep::All => Some([(); 4].map(|()| Buf::Mem(vec![]))),
            Keep::Spill => Some([file()?, file()?, file()?, file()?]),
        };
        Ok(Results {
            summary: Summary::new(plan),
            json,
        })
    }

    pub fn of(plan: &Plan, m: Moments) -> Res<Results> {
        let mut r = Results::new(plan, Keep::All)?;
        r.push(0, m)?;
        Ok(r)
    }

    pub fn push(&mut self, first: usize, m: Moments) -> ndmmap::Result<()> {
        let was = self.summary.len();
        self.summary.push(first, &m)?;
        let Some([mean, min, max, std]) = &mut self.json else {
            return Ok(());
        };
        let io = |source| ndmmap::Error::Io {
            what: "write the results to a temporary file (set TMPDIR to a directory with room)",
            path: None,
            source,
        };
        let comma = |w: &mut dyn Write, i: usize| match was + i {
            0 => Ok(()),
            _ => w.write_all(b","),
        };
        let floats = |b: &mut Buf, v: ndarray::ArrayD<f64>| -> std::io::Result<()> {
            let w = b.writer();
            for (i, x) in v.iter().enumerate() {
                comma(w, i)?;
                // NaN and infinity, which JSON lacks, as null.
                serde_json::to_writer(&mut *w, x)?;
            }
            Ok(())
        };
        let values = |b: &mut Buf, v: ndarray::ArrayD<Option<Value>>| -> std::io::Result<()> {
            let w = b.writer();
            for (i, x) in v.iter().enumerate() {
                comma(w, i)?;
                match x {
                    Some(Value::Int(x)) => write!(w, "{x}")?,
                    Some(Value::Float(x)) => serde_json::to_writer(&mut *w, x)?,
                    Some(Value::Bool(x)) => write!(w, "{x}")?,
                    None => w.write_all(b"null")?,
                }
            }
            Ok(())
        };
        floats(mean, m.mean()).map_err(io)?;
        values(min, m.min()).map_err(io)?;
        values(max, m.max()).map_err(io)?;
        floats(std, m.std(0.0)).map_err(io)
    }
}

/// Prints the `--json` object (after `sep`): the description, then every statistic's array.
pub fn json_object(sep: &str, a: &Label, spec: Option<&str>, p: &Plan, r: Results) -> Res<()> {
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    let io = |e| -> Box<dyn std::error::Error> { out::Output(e).into() };
    let head = json!({
        "path": a.path.display().to_string(),
        "dtype": a.dtype,
        "slice": spec,
        "axis": p.axis(),
        "shape": p.shape(),
        "count": p.count(),
    })
    .to_string();
    write!(w, "{sep}{}", head.trim_end_matches('}')).map_err(io)?;
    let bufs = r.json.ok_or("the results were not kept for --json")?;
    for (name, buf) in ["mean", "min", "max", "std"].into_iter().zip(bufs) {
        write!(w, ",\"{name}\":[").map_err(io)?;
        buf.copy_to(&mut w).map_err(io)?;
        write!(w, "]").map_err(io)?;
    }
    write!(w, "}}").map_err(io)?;
    w.flush().map_err(io)
}

/// The text table: a title line, then the first and last few results.
pub fn text(a: &Label, spec: Option<&str>, p: &Plan, r: &Results) -> String {
    let table = r.summary.to_string();
    let table = match table.strip_suffix(" shown)\n") {
        Some(t) => format!("{t} shown, all of them with --json)\n"),
        None => table,
    };
    format!(
        "{}  {} {:?}  axis {}{}  count {}  result {:?}\n{table}",
        out::one_line(&a.path.display().to_string(), 300),
        a.dtype,
        a.shape,
        p.axis(),
        spec.map(|s| format!("  slice [{s}]")).unwrap_or_default(),
        p.count(),
        p.shape()
    )
}
