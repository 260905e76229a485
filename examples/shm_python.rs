//! A Rust process and a Python process sharing one array by name, live: POSIX named shared
//! memory (`/dev/shm` on Linux) seen by Python as `multiprocessing.shared_memory`.
//!
//! The Rust half of `scripts/shm_interop.py` (run by `scripts/npy_interop.sh`), and a story to
//! read. The array is `f64` of shape `(ROWS, COLS)`; the writer of a round fills element
//! `(i, j)` with `i * COLS + j + 0.25`, the other side checks that and answers with its
//! negation.
//!
//! - `shm_python create NAME ROWS COLS [--npy]`: creates the object (with `--npy`, behind a
//!   `.npy` header, for `np.load('/dev/shm/NAME', mmap_mode='r+')`), fills it, prints
//!   `ready`, then waits for a line on stdin: Python has attached, checked and written. It
//!   checks Python's writes through the same mapping (no remap, no reread), prints `ok ...`,
//!   and exits; dropping the array unlinks the name.
//! - `shm_python open NAME ROWS COLS`: opens an object Python created and filled, checks it,
//!   writes the negation, prints `ok ...` and exits, leaving the name to its creator.
//!
//! Python's side of `create`, in short:
//! ```python
//! shm = SharedMemory(name)                      # attaches; the size is the object's
//! a = np.ndarray((rows, cols), "f8", buffer=shm.buf)
//! a[:] = -a                                     # Rust sees this at once
//! ```
//! Any mismatch is printed and the exit code is 1.

use ndarray::{Array2, Ix2};
use ndmmap::MmapArray;
use ndmmap::shared::shm::{self, ShmOptions};
use std::io::{BufRead, Write};

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["create", name, rows, cols] => create(name, rows, cols, false),
        ["create", name, rows, cols, "--npy"] => create(name, rows, cols, true),
        ["open", name, rows, cols] => open(name, rows, cols),
        _ => Err("usage: shm_python create NAME ROWS COLS [--npy] | open NAME ROWS COLS".into()),
    };
    if let Err(e) = run {
        eprintln!("shm_python: {e}");
        std::process::exit(1);
    }
}

/// The values the first writer puts in: distinct, exact in `f64`.
fn pattern(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| (i * cols + j) as f64 + 0.25)
}

/// `Ok` if `a` holds `want`; else where the first difference is.
fn expect(a: &MmapArray<f64, Ix2>, want: &Array2<f64>, what: &str) -> Res {
    if a.shape() != want.shape() {
        return Err(format!("{what}: shape {:?}, expected {:?}", a.shape(), want.shape()).into());
    }
    let view = a.view();
    match view.indexed_iter().find(|&(ix, x)| *x != want[ix]) {
        None => Ok(()),
        Some((ix, x)) => {
            Err(format!("{what}: element {ix:?} is {x}, expected {}", want[ix]).into())
        }
    }
}

fn dims(rows: &str, cols: &str) -> Res<(usize, usize)> {
    Ok((rows.parse()?, cols.parse()?))
}

fn create(name: &str, rows: &str, cols: &str, npy: bool) -> Res {
    let (rows, cols) = dims(rows, cols)?;
    let mut opts = ShmOptions::new();
    opts.npy_header(npy);
    // SAFETY: the Python side maps the object but never truncates it.
    let mut a = unsafe { opts.create::<f64, Ix2, _>(name, (rows, cols))? };
    let want = pattern(rows, cols);
    a.view_mut()?.assign(&want);
    println!("ready {name} data at byte {}", a.offset());
    std::io::stdout().flush()?;

    // Python attaches, checks, and writes the negation; then it says so.
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != "written" {
        return Err(format!("expected `written` from Python, got {line:?}").into());
    }
    expect(
        &a,
        &want.mapv(|x| -x),
        "Python's writes seen through Rust's mapping",
    )?;
    println!("ok rust saw python's {} writes live", rows * cols);
    drop(a); // unlinks the name: the creator owns it
    println!("unlinked");
    Ok(())
}

fn open(name: &str, rows: &str, cols: &str) -> Res {
    let (rows, cols) = dims(rows, cols)?;
    // SAFETY: the Python side never truncates the object while we map it.
    let mut a = unsafe { shm::open::<f64, Ix2, _>(name, (rows, cols))? };
    let want = pattern(rows, cols);
    expect(&a, &want, "Python's values seen by Rust")?;
    a.view_mut()?.mapv_inplace(|x| -x);
    println!("ok rust read python's {} values and wrote", rows * cols);
    Ok(()) // an opener leaves the name
}
