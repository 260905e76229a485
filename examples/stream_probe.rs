//! One contender of `benches/stream.sh` per process: a pass over a 2-D f64 `.npy`, timed
//! inside the process, printing one line `<mode> <seconds> <GB/s> <VmHWM KiB> <sum>`
//! (GB = 10^9 bytes of array data; VmHWM read from /proc/self/status at the end, so it is
//! this process's peak resident set, file pages included).
//!
//! - `stream_probe stream FILE [--bytes N]`: `Stream::new(&a)?.bytes(N).behind(Behind::Keep)`,
//!   summing each window (N defaults to 64 MiB; a suffix K, M or G is binary).
//! - `stream_probe chunks FILE [--bytes N]`: the same windows as owned maps
//!   (`stream::Chunks`, the next window asked for with `posix_fadvise(WILLNEED)`, no thread).
//! - `stream_probe map FILE`: `npy::open`, then `a.view().sum()` over the whole map.
//! - `stream_probe read FILE`: `read()` the data into one reused 16 MiB buffer, summing it.
//! - `stream_probe fill FILE`: write element i as `(i % 1021) as f64` through
//!   `npy::open_mut` and `msync` it, so the file is not sparse. Every partial sum of such
//!   small integers is an exact f64, so every contender's sum must agree to the last digit,
//!   whatever its summation order.
//! - `stream_probe evict FILE`: drop FILE from the page cache (`ndmmap::evict`, that is
//!   `posix_fadvise(DONTNEED)`), then print how many of its pages are still resident.
//!
//! `--advise sequential` (stream, chunks, map) first gives the whole map
//! `madvise(MADV_SEQUENTIAL)`. `--trace` (stream) prints on stderr, per window, when it was
//! handed out and when summed (ms since open), with the resident set at each (MiB): whether
//! the read-ahead thread is ahead of the caller shows there. All timings cover open (or map)
//! to the end of the sum.

use ndarray::{ArrayView1, IxDyn};
use ndmmap::stream::{Behind, Chunks, Stream};
use ndmmap::{Advice, Flush, MmapOptions, npy};
use std::io::{Read, Seek, SeekFrom};
use std::time::Instant;

/// A `VmXxx:` figure of this process in KiB (`VmHWM`: the peak resident set), 0 where /proc
/// has none.
fn vm_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn parse_bytes(s: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let (num, shift) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    Ok(num.parse::<usize>()? << shift)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, path) = match (args.get(1), args.get(2)) {
        (Some(m), Some(p)) => (m.as_str(), p.as_str()),
        _ => {
            return Err(
                "usage: stream_probe stream|chunks|map|read|fill|evict FILE \
                        [--bytes N] [--advise sequential] [--trace]"
                    .into(),
            );
        }
    };
    let mut window = 64usize << 20;
    let mut sequential = false;
    let mut trace = false;
    let mut rest = args[3..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--bytes" => window = parse_bytes(rest.next().ok_or("--bytes needs a value")?)?,
            "--trace" => trace = true,
            "--advise" => match rest.next().map(String::as_str) {
                Some("sequential") => sequential = true,
                _ => return Err("--advise takes: sequential".into()),
            },
            other => return Err(format!("unknown argument {other}").into()),
        }
    }

    let start = Instant::now();
    let (sum, nbytes) = match mode {
        "stream" => {
            // SAFETY (all maps below): the benchmark owns its file; nothing else writes it.
            let a = unsafe { npy::open::<f64, IxDyn>(path)? };
            if sequential {
                a.madvise(Advice::Sequential)?;
            }
            let mut total = 0.0;
            for (first, rows) in Stream::new(&a)?.bytes(window).behind(Behind::Keep) {
                if !trace {
                    total += rows.sum();
                    continue;
                }
                let (got, rss) = (start.elapsed().as_secs_f64() * 1e3, vm_kib("VmRSS:") >> 10);
                total += rows.sum();
                let done = start.elapsed().as_secs_f64() * 1e3;
                eprintln!(
                    "row {first}: handed out {got:.0} ms (RSS {rss} MiB), \
                     summed {done:.0} ms (RSS {} MiB)",
                    vm_kib("VmRSS:") >> 10
                );
            }
            (total, a.nbytes())
        }
        "chunks" => {
            // SAFETY: as above.
            let a = unsafe { npy::open::<f64, IxDyn>(path)? };
            let mut total = 0.0;
            // SAFETY: as above, for the chunks' own maps too.
            for chunk in unsafe { Chunks::new(&a)? }.bytes(window) {
                let (_, c) = chunk?;
                if sequential {
                    c.madvise(Advice::Sequential)?;
                }
                total += c.view().sum();
            }
            (total, a.nbytes())
        }
        "map" => {
            // SAFETY: as above.
            let a = unsafe { npy::open::<f64, IxDyn>(path)? };
            if sequential {
                a.madvise(Advice::Sequential)?;
            }
            (a.view().sum(), a.nbytes())
        }
        "read" => {
            let header = npy::read_header(path)?;
            let mut file = std::fs::File::open(path)?;
            file.seek(SeekFrom::Start(header.data_offset))?;
            let mut buf = vec![0f64; (16 << 20) / 8];
            let (mut total, mut nbytes) = (0.0, 0usize);
            loop {
                // Fill the buffer (read may return less); a tail short of 8 bytes is not data.
                let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf);
                let mut got = 0;
                while got < bytes.len() {
                    match file.read(&mut bytes[got..])? {
                        0 => break,
                        n => got += n,
                    }
                }
                let n = got / 8;
                total += ArrayView1::from(&buf[..n]).sum();
                nbytes += n * 8;
                if got < buf.len() * 8 {
                    break;
                }
            }
            (total, nbytes)
        }
        "fill" => {
            // SAFETY: as above.
            let mut a = unsafe { npy::open_mut::<f64, IxDyn>(path)? };
            for (i, x) in a.as_slice_mut()?.iter_mut().enumerate() {
                *x = (i % 1021) as f64;
            }
            a.msync(Flush::Sync)?;
            (a.view().sum(), a.nbytes())
        }
        "evict" => {
            let file = std::fs::File::open(path)?;
            ndmmap::evict(&file)?;
            // SAFETY: as above.
            let m = unsafe { MmapOptions::new().map_path_1d::<u8>(path)? };
            let pages = m.pages(..)?.mincore()?;
            let resident = pages.iter().filter(|&&r| r).count();
            println!(
                "evict {path}: {resident} of {} pages still resident",
                pages.len()
            );
            return Ok(());
        }
        other => return Err(format!("unknown mode {other}").into()),
    };
    let secs = start.elapsed().as_secs_f64();
    let mut label = match mode {
        "stream" | "chunks" if window.is_multiple_of(1 << 20) => format!("{mode}{}M", window >> 20),
        "stream" | "chunks" => format!("{mode}{}K", window >> 10),
        _ => mode.to_string(),
    };
    if sequential {
        label.push_str("+seq");
    }
    println!(
        "{label} {secs:.3} {:.3} {} {sum:.0}",
        nbytes as f64 / secs / 1e9,
        vm_kib("VmHWM:")
    );
    Ok(())
}
