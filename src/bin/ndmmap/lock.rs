//! `ndmmap lock`: locks arrays, or slices of them, in RAM until interrupted, as `vmtouch -l`.

use crate::any_array::AnyArray;
use crate::chart;
use crate::open::{self, FileOpts};
use crate::out::{self, Res, count};
use crate::signal;
use ndarray::SliceInfoElem;

pub fn run(o: &FileOpts, spec: Option<&str>) -> Res<()> {
    signal::catch().map_err(|e| format!("cannot catch interruption (Ctrl-C): {e}"))?;
    let (arrays, batch) = out::each(&o.files, |_, path| {
        let a = open::open(path, o)?;
        let elems = a.slice_elems(spec)?;
        let pages = a.pages(&elems)?;
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
    let locked = |(a, e): &(AnyArray, Vec<SliceInfoElem>)| -> Res<String> {
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
