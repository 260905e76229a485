//! Faults as exceptions: a [`Guard`] over the whole mapping behind a numpy array (the memory
//! of the outermost array of its `base` chain, which numpy made over the mapped buffer, found
//! as the page toolkit finds it, [`crate::pages`]) turns a `SIGBUS` on its pages into
//! `ndmmap.FaultError` when it finishes, through the library's [`ForeignMap::guard`]. The
//! Python layer (`ndmmap.guard`, a context manager) enters it before the block and finishes
//! it after.

use crate::errors::to_py;
use crate::pages::{Failure, View};
use ndmmap::{ForeignGuard, ForeignMap};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// A fault guard over the mapping behind an array, from creation to [`finish`](Guard::finish)
/// (or until it is dropped, which restores faulted pages too).
#[pyclass(module = "ndmmap._ndmmap", name = "Guard")]
pub struct Guard {
    // Declared before `map`, so dropped before it: the guard borrows `*map`.
    guard: Option<ForeignGuard<'static>>,
    map: Box<ForeignMap>,
    /// The array: it keeps the mapping (its `base` chain's) alive while the guard (and `map`)
    /// lives.
    _array: Py<PyAny>,
}

#[pymethods]
impl Guard {
    /// Guards the whole mapping behind `a` (a numpy array backed by a file or shared
    /// mapping; else `TypeError`).
    #[new]
    fn new(a: &Bound<'_, PyAny>) -> PyResult<Guard> {
        let v = View::of(a, "guard")?;
        let root = View::root(a, "guard")?;
        let map = Box::new(
            v.find_whole(&root)
                .map_err(|e| Failure::new(e).into_py("guard"))?,
        );
        let file = map
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let guard = map.guard().map_err(|e| to_py(e, "ndmmap.guard", &file))?;
        // SAFETY: `guard` borrows the ForeignMap in the heap allocation `map` owns, which
        // never moves (the Box is never replaced or mutably borrowed) and outlives the guard:
        // `finish` consumes the guard first, and otherwise the field order drops `guard`
        // before `map`. The 'static lifetime never leaves this struct.
        let guard: ForeignGuard<'static> = unsafe { std::mem::transmute(guard) };
        Ok(Guard {
            guard: Some(guard),
            map,
            _array: a.clone().unbind(),
        })
    }

    /// Ends the guard: returns if no page of the mapping faulted while it lived, else the
    /// faulted pages are mapped from the file again and this raises `FaultError` (with
    /// `offset` and `cause`). A second call is a `RuntimeError`.
    fn finish(&mut self) -> PyResult<()> {
        let g = self
            .guard
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("ndmmap.guard: this guard has finished"))?;
        let file = self
            .map
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        g.finish().map_err(|e| to_py(e, "ndmmap.guard", &file))
    }

    /// Whether the guard is still active.
    #[getter]
    fn active(&self) -> bool {
        self.guard.is_some()
    }
}
