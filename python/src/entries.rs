//! `entries`: a container's arrays as `ndmmap info` lists them, with their residency.

use crate::errors::to_py;
use ndmmap::Order;
use ndmmap::container::Container;
use pyo3::prelude::*;

/// One entry as a tuple, in the field order of `ndmmap.Entry` (`__init__.py`): name, dtype
/// and shape (None where the header could not be read), order, offset, nbytes, unmappable,
/// chunks, resident_pages (None where the kernel hides it), pages.
type Row = (
    String,
    Option<String>,
    Option<Vec<usize>>,
    &'static str,
    u64,
    u64,
    Option<String>,
    usize,
    Option<u64>,
    usize,
);

/// `ndmmap.entries(path)`: every array of the file at `path` (a `.npy` file's one array is
/// named ''), nothing mapped; the counts from the page cache.
#[pyfunction]
pub fn entries(py: Python<'_>, path: String) -> PyResult<Vec<Row>> {
    py.detach(|| -> ndmmap::Result<Vec<Row>> {
        let c = Container::open(&path)?;
        let mut rows = Vec::with_capacity(c.entries().len());
        for e in c.entries() {
            let p = c.pages(&e.name)?;
            let resident = match p.cachestat() {
                Ok(cs) => Some(cs.resident),
                Err(ndmmap::Error::ResidencyUnknown { .. }) => None,
                Err(err) => return Err(err),
            };
            let chunks = c.chunks(&e.name)?.len();
            // A compressed member's header is not read: its dtype and shape are unknown.
            let known = !e.type_name.is_empty();
            rows.push((
                e.name.clone(),
                known.then(|| e.type_name.clone()),
                known.then(|| e.shape.clone()),
                if e.order == Order::F { "F" } else { "C" },
                e.offset,
                e.len,
                e.unmappable.clone(),
                chunks,
                resident,
                p.len(),
            ));
        }
        Ok(rows)
    })
    .map_err(|e| to_py(e, &path, &path))
}
