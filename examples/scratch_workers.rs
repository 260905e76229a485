//! A zeroed anonymous scratch array shared with forked worker processes: each child fills its
//! own rows, the parent waits and reads every row.
//!
//! `cargo run --release --example scratch_workers [WORKERS]`

use ndarray::Ix2;
use ndmmap::MmapArray;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let workers: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(4);
    let cols = 1 << 16;
    let mut scratch = MmapArray::<u64, Ix2>::anonymous((workers, cols))?;
    let base = scratch.view_mut()?.as_mut_ptr() as usize;
    let mut pids = Vec::new();
    for w in 0..workers {
        // SAFETY: the child only writes its own row of the shared map and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        if pid == 0 {
            // SAFETY: row `w` lies inside the mapping, and no other process writes it.
            let row =
                unsafe { std::slice::from_raw_parts_mut((base as *mut u64).add(w * cols), cols) };
            for (i, x) in row.iter_mut().enumerate() {
                *x = (w * cols + i) as u64;
            }
            // SAFETY: ends the child without unwinding into the parent's state.
            unsafe { libc::_exit(0) };
        }
        pids.push(pid);
    }
    for pid in pids {
        let mut status = 0;
        // SAFETY: waiting on our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    let total: u64 = scratch.view().sum();
    let n = (workers * cols) as u64;
    assert_eq!(
        total,
        n * (n - 1) / 2,
        "every child's writes are visible to the parent"
    );
    println!("{workers} workers filled {n} elements; sum {total} is right");
    Ok(())
}
