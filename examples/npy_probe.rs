//! Reads `.npy` files with the library, one line of results per file, for the differential
//! test against numpy (`scripts/npy_fuzz.py`), which runs it on thousands of generated files.
//!
//! `npy_probe < paths` reads one path per line and prints, for each, a tab-separated line:
//! `path  ok  <dtype>  <C|F>  <shape, comma-separated>  mapped  <crc32>` or
//! `path  ok  <dtype>  <C|F>  <shape>  header` or
//! `path  ok  <dtype>  <C|F>  <shape>  raw  <crc32>` or
//! `path  err  <NpyError variant or Error variant>  <message>`. `mapped` means
//! `npy::open_any` mapped the data (plain, `Unaligned<T>`, `ByteSwapped<T>` or `Bool`) and
//! agreed with the header; the CRC-32 is over the elements' native-order bytes in logical C
//! order (a bool as 0 or 1), as the fuzzer computes it with numpy. `header` means the dtype
//! has no Rust element type here (longdouble; float16 without the feature `half`), so only
//! the header and the data's length were checked. `raw` means the dtype is one of numpy's
//! bytes, str, void, datetime or timedelta types, which `npy::open_any` refuses and the
//! container maps as raw bytes (`AnyArray::Other`): the dtype is the container's `type_name`
//! and the CRC-32 is over the elements' bytes as stored, in logical C order. Output is
//! flushed per file, so a crash shows which file caused it.

use ndmmap::container::Container;
use ndmmap::npy;
use ndmmap::{AnyArray, Error, NpyError, Pod};
use std::io::{BufRead, Write};
use std::path::Path;

fn kind(e: &Error) -> String {
    match e {
        Error::Npy { kind, .. } => {
            let d = format!("{kind:?}");
            let name = d.split([' ', '{', '(']).next().unwrap_or("").to_string();
            match kind {
                NpyError::UnsupportedDtype { .. } | NpyError::UnsupportedHeader { .. } => {
                    format!("unsupported:{name}")
                }
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

/// CRC-32 (IEEE, as zlib's `crc32`) of the native bytes of `values`.
fn crc32<T: Pod>(values: impl Iterator<Item = T>) -> u32 {
    let table: [u32; 256] = std::array::from_fn(|i| {
        (0..8).fold(i as u32, |c, _| {
            if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            }
        })
    });
    let mut c = !0u32;
    for v in values {
        for &b in bytemuck::bytes_of(&v) {
            c = table[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
        }
    }
    !c
}

/// The CRC of the values of any array: the one place that matches on the variant.
fn checksum(a: &AnyArray) -> Option<u32> {
    macro_rules! sum {
        ($($plain:ident),*; $($wrapped:ident),*) => {
            match a {
                AnyArray::Bool(x) => Some(crc32(x.view().iter().map(|b| b.get() as u8))),
                $(AnyArray::$plain(x) => Some(crc32(x.view().iter().copied())),)*
                $(AnyArray::$wrapped(x) => Some(crc32(x.view().iter().map(|v| v.get()))),)*
                #[cfg(feature = "half")]
                AnyArray::F16(x) => Some(crc32(x.view().iter().copied())),
                #[cfg(feature = "half")]
                AnyArray::UnalignedF16(x) => Some(crc32(x.view().iter().map(|v| v.get()))),
                #[cfg(feature = "half")]
                AnyArray::SwappedF16(x) => Some(crc32(x.view().iter().map(|v| v.get()))),
                _ => None,
            }
        };
    }
    sum!(
        U8, I8, U16, I16, U32, I32, U64, I64, F32, F64, ComplexF32, ComplexF64;
        UnalignedU16, UnalignedI16, UnalignedU32, UnalignedI32, UnalignedU64, UnalignedI64,
        UnalignedF32, UnalignedF64, UnalignedComplexF32, UnalignedComplexF64,
        SwappedU16, SwappedI16, SwappedU32, SwappedI32, SwappedU64, SwappedI64,
        SwappedF32, SwappedF64, SwappedComplexF32, SwappedComplexF64
    )
}

fn probe(path: &Path) -> Result<String, Error> {
    let h = match npy::read_header(path) {
        Ok(h) => h,
        Err(
            e @ Error::Npy {
                kind: NpyError::UnsupportedDtype { .. },
                ..
            },
        ) => return raw(path).unwrap_or(Err(e)),
        Err(e) => return Err(e),
    };
    // SAFETY: the files are the probe's own, and nothing writes them while it runs.
    let a = match unsafe { npy::open_any(path) } {
        Ok(a) => a,
        Err(Error::Npy {
            kind: NpyError::UnsupportedDtype { .. },
            ..
        }) => return header_only(path, &h),
        Err(e) => return Err(e),
    };
    if a.shape() != h.shape || a.dtype() != h.dtype || a.offset() != h.data_offset {
        return Ok(format!(
            "err\tMismatch\tmapped {} {:?} at {} differs from the header's {} {:?} at {}",
            a.dtype().descr(),
            a.shape(),
            a.offset(),
            h.dtype.descr(),
            h.shape,
            h.data_offset
        ));
    }
    match checksum(&a) {
        Some(crc) => Ok(format!("{}\t{crc}", line(&h, "mapped"))),
        None => header_only(path, &h),
    }
}

/// The `raw` line of a file the container maps as raw bytes, or `None` where it does not.
fn raw(path: &Path) -> Option<Result<String, Error>> {
    let c = Container::open(path).ok()?;
    let e = c.entry("").ok()?;
    if e.dtype.is_some() {
        return None;
    }
    // SAFETY: the files are the probe's own, and nothing writes them while it runs.
    let a = unsafe { c.map_any("") }.ok()?;
    let AnyArray::Other(o) = &a else {
        return None;
    };
    let crc = crc32(o.view().as_standard_layout().iter().copied());
    let shape: Vec<String> = e.shape.iter().map(usize::to_string).collect();
    Some(Ok(format!(
        "ok\t{}\t{}\t{}\traw\t{crc}",
        e.type_name,
        if e.order == ndmmap::Order::F {
            "F"
        } else {
            "C"
        },
        shape.join(",")
    )))
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
