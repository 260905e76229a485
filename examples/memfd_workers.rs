//! A sealed memory-file array shared with worker processes that are spawned, not forked: the
//! parent creates the array, starts N copies of this program, and passes each the array's
//! descriptor over a Unix socket; every worker maps it read-write, fills its own rows and says
//! so; the parent then reads every row in place and checks the sum. Nothing is copied: one
//! memory file, N + 1 maps. Linux (and FreeBSD 13+).
//!
//! `cargo run --example memfd_workers [WORKERS]`

use ndarray::{Ix2, s};
use ndmmap::{Mode, shared::memfd};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const ROWS_PER_WORKER: usize = 10_000;
const COLS: usize = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        return worker(args[2].parse()?, args[3].parse()?, Path::new(&args[4]));
    }
    let workers: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(4);
    let rows = workers * ROWS_PER_WORKER;
    let start = Instant::now();
    let a = match memfd::create::<f64, Ix2, _>("memfd_workers", (rows, COLS)) {
        Err(ndmmap::Error::Unsupported { what }) => {
            println!("this OS has no {what}: nothing to show");
            return Ok(());
        }
        a => a?,
    };
    let dir = std::env::temp_dir().join(format!("ndmmap-memfd-workers-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sock = dir.join("array.sock");
    let listener = UnixListener::bind(&sock)?;
    let run = || -> Result<Vec<u32>, Box<dyn std::error::Error>> {
        let mut children = Vec::new();
        for w in 0..workers {
            let child = Command::new(std::env::current_exe()?)
                .arg("worker")
                .arg(w.to_string())
                .arg(workers.to_string())
                .arg(&sock)
                .spawn()?;
            children.push(child);
        }
        // Each worker that connects gets the array; it knows its rows from its arguments.
        let mut conns = Vec::new();
        for _ in 0..workers {
            let (conn, _) = listener.accept()?;
            memfd::send(&conn, &a)?;
            conns.push(conn);
        }
        for mut conn in conns {
            let mut done = [0u8];
            conn.read_exact(&mut done)?;
        }
        let mut pids = Vec::new();
        for mut child in children {
            pids.push(child.id());
            if !child.wait()?.success() {
                return Err(format!("worker {} failed", child.id()).into());
            }
        }
        Ok(pids)
    };
    let pids = run();
    std::fs::remove_dir_all(&dir)?;
    let pids = pids?;
    let sum = a.view().sum();
    let n = (rows * COLS) as f64;
    let expected = n * (n - 1.0) / 2.0;
    let seals = memfd::seals(a.file().unwrap())?;
    println!(
        "{workers} spawned workers (pids {pids:?}) filled a {rows} x {COLS} f64 array ({} MiB) \
         in {:.1} ms",
        a.nbytes() >> 20,
        start.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "one memory file ({}), sealed against shrinking: {}, against growing: {}",
        a.path().map_or("memfd".into(), |p| p.display().to_string()),
        seals.shrink,
        seals.grow
    );
    println!("sum {sum} (expected {expected})");
    assert_eq!(sum, expected);
    Ok(())
}

/// A worker: connects, receives the array, fills rows `w * k .. (w + 1) * k` with their
/// flat indices, and reports done.
fn worker(w: usize, workers: usize, sock: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = UnixStream::connect(sock)?;
    // Safe: the memory file is sealed against shrinking, so nobody can truncate it under us.
    // SAFETY: each worker writes only its own rows, and the parent reads them only after every
    // worker has said it is done.
    let mut b = unsafe { memfd::receive::<f64, Ix2>(&conn, Mode::ReadWrite)? };
    let k = b.shape()[0] / workers;
    let mut view = b.view_mut()?;
    let mut mine = view.slice_mut(s![w * k..(w + 1) * k, ..]);
    for ((i, j), x) in mine.indexed_iter_mut() {
        *x = ((w * k + i) * COLS + j) as f64;
    }
    conn.write_all(b"1")?;
    Ok(())
}
