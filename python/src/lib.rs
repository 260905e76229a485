//! `ndmmap._ndmmap`: the extension module behind the Python package `ndmmap`
//! (`python/ndmmap/__init__.py` wraps it, `_ndmmap.pyi` types it).
//!
//! A thin layer over the library: [`open`](array) maps an entry or a raw file as an
//! `AnyArray` and hands numpy its bytes as a `numpy.ndarray` whose `base` owns the map;
//! [`entries`](entries) lists a container as `ndmmap info` does; [`stats`](stats) runs the
//! library's streaming statistics with the GIL released. Errors become Python exceptions in
//! [`errors`].
//!
//! Module map (one concept per file):
//! - `errors.rs`: `ndmmap::Error` -> Python exception classes; `FaultError`.
//! - `array.rs`: `Mapping` (the owner of one map, numpy's `base`), `open`, the numpy
//!   array over a map (bounds checked before numpy gets the pointer).
//! - `entries.rs`: a container's entries with their residency.
//! - `stats.rs`: count, mean, std, min, max along an axis, out of core.
//!
//! - `pages.rs`: the page toolkit for any numpy array backed by a file or shared mapping
//!   (`np.memmap`, `np.load(mmap_mode=...)`, `ndmmap.open`, their views), found from the
//!   array's data pointer, shape and strides: residency, advice, eviction, flush, lock.
//! - `guard.rs`: `Guard`, a SIGBUS guard over the mapping behind an array (`ndmmap.guard`).

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod array;
mod entries;
mod errors;
mod guard;
mod pages;
mod stats;

use pyo3::prelude::*;

/// The extension module `ndmmap._ndmmap`.
#[pymodule]
fn _ndmmap(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FaultError", m.py().get_type::<errors::FaultError>())?;
    m.add_class::<array::Mapping>()?;
    m.add_function(wrap_pyfunction!(array::open, m)?)?;
    m.add_function(wrap_pyfunction!(entries::entries, m)?)?;
    m.add_function(wrap_pyfunction!(stats::stats, m)?)?;
    m.add_class::<guard::Guard>()?;
    for f in [
        wrap_pyfunction!(pages::residency, m)?,
        wrap_pyfunction!(pages::advise, m)?,
        wrap_pyfunction!(pages::evict, m)?,
        wrap_pyfunction!(pages::flush, m)?,
        wrap_pyfunction!(pages::lock, m)?,
        wrap_pyfunction!(pages::unlock, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
