//! `ndmmap lock`: locks arrays, or slices of them, in RAM until interrupted, as `vmtouch -l`.

use crate::chart;
use crate::open::{self, Array, FileOpts};
use crate::out::{self, Res, count};
use crate::signal;
use ndarray::SliceInfoElem;

pub fn run(o: &FileOpts, spec: Option<&str>) -> Res<()> {
    signal::catch().map_err(|e| format!("cannot catch interruption (Ctrl-C): {e}"))?;
    let (arrays, batch) = open::each_array(o, None, |_, a| {
        let a = a?;
        let path = &a.path;
        let elems = a.slice_elems(spec)?;
        let pages = a.pages(&elems)?;
        make_room(pages.len() * pages.span().page_size)
            .map_err(|e| format!("cannot make room to lock {}: {e}", path.display()))?;
        out::supported(
            pages.lock(ndmmap::Lock::Now),
            "lock",
            "the OS offers no call to lock pages in RAM",
        )?;
        Ok((a, elems))
    })?;
    if arrays.is_empty() {
        return batch.finish();
    }
    let locked = |(a, e): &(Array, Vec<SliceInfoElem>)| -> Res<String> {
        let p = a.pages(e)?;
        let bytes = (p.len() * p.span().page_size) as u64;
        Ok(format!(
            "locked {} ({}) of {}",
            count(p.len(), "page"),
            chart::human(bytes),
            a.path.display()
        ))
    };
    if let [one] = arrays.as_slice() {
        note!("{}; press Ctrl-C to release", locked(one)?);
    } else {
        for x in &arrays {
            note!("{}", locked(x)?);
        }
        note!("press Ctrl-C to release");
    }
    signal::wait();
    for (a, e) in &arrays {
        a.pages(e)?.unlock()?;
    }
    note!("released");
    batch.finish()
}

/// Lets the process lock `bytes` more: nothing to do on Unix, where `RLIMIT_MEMLOCK` is the
/// user's to raise (an error past it says so).
#[cfg(unix)]
fn make_room(_bytes: usize) -> std::io::Result<()> {
    Ok(())
}

/// Lets the process lock `bytes` more: `VirtualLock` locks no more than the process's minimum
/// working set (a few hundred KiB by default), so both bounds are raised by `bytes`, as
/// Windows asks of a program that locks (no privilege is needed).
#[cfg(windows)]
fn make_room(bytes: usize) -> std::io::Result<()> {
    use crate::win;
    let (mut min, mut max) = (0, 0);
    // SAFETY: the pseudo-handle of this process needs no closing; the call writes the two
    // usizes we own.
    let ok = unsafe { win::GetProcessWorkingSetSize(win::GetCurrentProcess(), &mut min, &mut max) };
    let too_big = || std::io::Error::other("more than the address space");
    let (min, max) = (
        min.checked_add(bytes).ok_or_else(too_big)?,
        max.checked_add(bytes).ok_or_else(too_big)?,
    );
    // SAFETY: as above; the sizes are plain numbers, which Windows checks.
    if ok == 0 || unsafe { win::SetProcessWorkingSetSize(win::GetCurrentProcess(), min, max) } == 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
