//! Reads `.npy` files with the library, one line of results per file, for the differential
//! test against numpy (`scripts/npy_fuzz.py`), which runs it on thousands of generated files.
//!
//! `npy_probe < paths` reads one path per line and prints, for each, a tab-separated line:
//! `path  ok  <dtype>  <C|F>  <shape, comma-separated>  <mapped|header>` or
//! `path  err  <NpyError variant or Error variant>  <message>`. `mapped` means `npy::open` mapped
//! the data as the matching Rust type and agreed with the header; `header` means the dtype has
//! no Rust element type here (bool, float16, longdouble, other byte order), so only the header
//! and the data's length were checked. Output is flushed per file, so a crash shows which file
//! caused it.

use ndarray::IxDyn;
use ndmmap::npy::{self, NpyElement};
use ndmmap::{Error, NpyError};
use num_complex::Complex;
use std::io::{BufRead, Write};
use std::path::Path;

fn kind(e: &Error) -> String {
    match e {
        Error::Npy { kind, .. } => {
            let d = format!("{kind:?}");
            let name = d.split([' ', '{', '(']).next().unwrap_or("").to_string();
            match kind {
                NpyError::UnsupportedDtype { .. }
                | NpyError::UnsupportedHeader { .. }
                | NpyError::UnalignedData { .. } => format!("unsupported:{name}"),
                _ => name,
            }
        }
        e => format!("{e:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or("")
            .to_string(),
    }
}

fn map<T: NpyElement>(path: &Path) -> Result<Vec<usize>, Error> {
    // SAFETY: the files are the probe's own, and nothing writes them while it runs.
    let a = unsafe { npy::open::<T, IxDyn>(path)? };
    Ok(a.shape().to_vec())
}

fn probe(path: &Path) -> Result<String, Error> {
    let h = npy::read_header(path)?;
    let d = h.dtype;
    let mapped = if d.is_native() {
        Some(match (d.kind, d.size) {
            ('u', 1) => map::<u8>(path)?,
            ('u', 2) => map::<u16>(path)?,
            ('u', 4) => map::<u32>(path)?,
            ('u', 8) => map::<u64>(path)?,
            ('i', 1) => map::<i8>(path)?,
            ('i', 2) => map::<i16>(path)?,
            ('i', 4) => map::<i32>(path)?,
            ('i', 8) => map::<i64>(path)?,
            ('f', 4) => map::<f32>(path)?,
            ('f', 8) => map::<f64>(path)?,
            ('c', 8) => map::<Complex<f32>>(path)?,
            ('c', 16) => map::<Complex<f64>>(path)?,
            _ => return header_only(path, &h),
        })
    } else {
        None
    };
    match mapped {
        Some(shape) if shape != h.shape => Ok(format!(
            "err\tMismatch\tmapped shape {shape:?} differs from the header's {:?}",
            h.shape
        )),
        Some(_) => Ok(line(&h, "mapped")),
        None => header_only(path, &h),
    }
}

fn header_only(path: &Path, h: &npy::Header) -> Result<String, Error> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::Io {
            what: "stat",
            path: Some(path.into()),
            source: e,
        })?
        .len();
    let bytes = h.data_len(h.dtype.size)? as u64;
    if h.data_offset + bytes > len {
        return Ok(format!(
            "err\tDataPastEnd\tneeds {bytes} bytes after {}, file is {len}",
            h.data_offset
        ));
    }
    Ok(line(h, "header"))
}

fn line(h: &npy::Header, how: &str) -> String {
    let shape: Vec<String> = h.shape.iter().map(usize::to_string).collect();
    format!(
        "ok\t{}\t{}\t{}\t{how}",
        h.dtype.descr(),
        if h.fortran_order { "F" } else { "C" },
        shape.join(",")
    )
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for p in stdin.lock().lines() {
        let Ok(p) = p else { break };
        let r = match probe(Path::new(&p)) {
            Ok(l) => l,
            Err(e) => format!(
                "err\t{}\t{}",
                kind(&e),
                e.to_string().replace(['\t', '\n'], " ")
            ),
        };
        if writeln!(out, "{p}\t{r}").and_then(|_| out.flush()).is_err() {
            break;
        }
    }
}
