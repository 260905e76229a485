//! Reads `.npz` archives with the library, for the differential test against numpy
//! (`scripts/npz_fuzz.py`), and lists big archives for memory measurements.
//!
//! `npz_probe < paths` opens each archive (one path per line) with
//! `NpzOptions::verify(true)` (numpy checks a member's CRC-32 when it reads it) and prints:
//! - `P  <path>  ok  <members>`, or `P  <path>  err  <Error variant>  <message>`;
//! - then for each member, in directory order: `M  <name, hex of its UTF-8>  ok  <dtype>
//!   <shape, comma-separated>  <crc32>` (the CRC-32 of the elements' native-order bytes in
//!   logical C order, bools as 0/1, as the fuzzer computes it with numpy; for numpy's bytes,
//!   str, void, datetime and timedelta types, mapped as raw bytes, of the bytes as stored),
//!   or
//!   `M  <name>  err  <Error or NpyError variant>  <message>`;
//! - and `E` when the archive is done, so a crash shows which archive caused it.
//!
//! `npz_probe --list PATH` opens one archive (without verifying) and prints its member count
//! and the bytes of their names: `/usr/bin/time -v` on it gives the memory `Npz::open` takes.

use ndmmap::npz::{Npz, NpzOptions};
use ndmmap::{AnyArray, Error, NpyError, Pod};
use std::io::{BufRead, Write};

fn kind(e: &Error) -> String {
    let d = match e {
        Error::Npy { kind, .. } => {
            let d = format!("{kind:?}");
            if matches!(
                kind,
                NpyError::UnsupportedDtype { .. } | NpyError::UnsupportedHeader { .. }
            ) {
                return format!(
                    "unsupported:{}",
                    d.split([' ', '{', '(']).next().unwrap_or("")
                );
            }
            d
        }
        e => format!("{e:?}"),
    };
    d.split([' ', '{', '(']).next().unwrap_or("").to_string()
}

/// CRC-32 of the native bytes of `values`.
fn crc32<T: Pod>(values: impl Iterator<Item = T>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for v in values {
        h.update(bytemuck::bytes_of(&v));
    }
    h.finalize()
}

/// The CRC of the values of any array.
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
                // Raw bytes of a type numpy names (`<U2`, `|S5`, `<M8[s]`): as stored.
                AnyArray::Other(o) if o.dtype().kind == 'V' => {
                    Some(crc32(o.view().as_standard_layout().iter().copied()))
                }
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

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn err(e: &Error) -> String {
    format!(
        "err\t{}\t{}",
        kind(e),
        e.to_string().replace(['\t', '\n', '\r'], " ")
    )
}

fn member(npz: &Npz, name: &str) -> String {
    // SAFETY: the archives are the probe's own, and nothing writes them while it runs.
    match unsafe { npz.map_any(name) } {
        Err(e) => err(&e),
        Ok(a) => match checksum(&a) {
            None => format!("err\tunsupported:NoElementType\t{}", a.dtype().descr()),
            Some(crc) => {
                let shape: Vec<String> = a.shape().iter().map(usize::to_string).collect();
                format!("ok\t{}\t{}\t{crc}", a.type_name(), shape.join(","))
            }
        },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, path] = &args[..]
        && flag == "--list"
    {
        match Npz::open(path) {
            Ok(npz) => {
                let names: usize = npz.members().iter().map(|m| m.name.len()).sum();
                println!("{} members, {names} bytes of names", npz.members().len());
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let mut out = std::io::stdout().lock();
    for p in std::io::stdin().lock().lines() {
        let Ok(p) = p else { break };
        let mut text = String::new();
        match NpzOptions::new().verify(true).open(&p) {
            Err(e) => text.push_str(&format!("P\t{p}\t{}\n", err(&e))),
            Ok(npz) => {
                text.push_str(&format!("P\t{p}\tok\t{}\n", npz.members().len()));
                for m in npz.members() {
                    text.push_str(&format!("M\t{}\t{}\n", hex(&m.name), member(&npz, &m.name)));
                }
            }
        }
        text.push_str("E\n");
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
}
