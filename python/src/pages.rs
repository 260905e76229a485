//! The page toolkit for any numpy array backed by a file or shared mapping: `np.memmap`,
//! `np.load(mmap_mode=...)`, `ndmmap.open`, Python's `mmap` under `np.frombuffer`, and any
//! view or strided slice of them. The array's data pointer, shape, strides and item size
//! (numpy's own description, no copy) find the mapping behind it through the library's
//! [`ForeignMap::find`], and [`ForeignMap::pages`] gives the [`Pages`] of exactly its
//! elements: residency along an axis, advice, eviction, flushing and locking. Long work runs
//! with the GIL released, the array held (and so its memory mapped) meanwhile.

use crate::errors::{one_line, to_py};
use ndmmap::ndarray::Axis;
use ndmmap::{
    Advice, Dirty, Error, Flush, ForeignMap, Lock, Pages, Residency, UncheckedAdvice, ranges_where,
};
use numpy::{IntoPyArray, PyArray1, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::ops::Range;

/// What `use` says where an array is not backed by a mapping.
const USE_A_MAP: &str = "use np.memmap, np.load(mmap_mode=...) or ndmmap.open";

/// A numpy array's memory as numpy describes it: the address of element `[0, 0, ...]`,
/// the shape, the strides in bytes and the item size.
#[derive(Debug, Clone)]
pub struct View {
    addr: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
    itemsize: usize,
}

impl View {
    /// The description of `a`, which must be a `numpy.ndarray` (a subclass such as
    /// `np.memmap` too), else a `TypeError` naming `func`.
    pub fn of(a: &Bound<'_, PyAny>, func: &str) -> PyResult<View> {
        let arr = a.cast::<PyUntypedArray>().map_err(|_| {
            let t = a
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".into());
            PyTypeError::new_err(format!("ndmmap.{func}: expected a numpy.ndarray, got {t}"))
        })?;
        // numpy's own description of its data pointer (no struct layout assumed, abi3).
        let addr: usize = arr
            .getattr("__array_interface__")?
            .get_item("data")?
            .get_item(0)?
            .extract()?;
        Ok(View {
            addr,
            shape: arr.shape().to_vec(),
            strides: arr.strides().to_vec(),
            itemsize: arr.dtype().itemsize(),
        })
    }

    /// The description of the outermost numpy array in the `base` chain of `a` (`a` itself
    /// when its base is no numpy array): the array numpy made over the mapped buffer.
    pub fn root(a: &Bound<'_, PyAny>, func: &str) -> PyResult<View> {
        let mut root = a.clone();
        loop {
            let base = root.getattr("base")?;
            if base.cast::<PyUntypedArray>().is_err() {
                return View::of(&root, func);
            }
            root = base;
        }
    }

    /// Whether the array has no element (so no page).
    fn is_empty(&self) -> bool {
        self.shape.contains(&0)
    }

    /// The lowest address and the bytes up to one past the highest of its elements.
    fn extent(&self) -> Option<(usize, usize)> {
        let (mut lo, mut hi) = (self.addr as isize, self.addr as isize);
        for (&n, &s) in self.shape.iter().zip(&self.strides) {
            let reach = s.checked_mul(isize::try_from(n.checked_sub(1)?).ok()?)?;
            if reach < 0 {
                lo = lo.checked_add(reach)?;
            } else {
                hi = hi.checked_add(reach)?;
            }
        }
        let hi = hi.checked_add(isize::try_from(self.itemsize).ok()?)?;
        (lo >= 0 && hi >= lo).then_some((lo as usize, (hi - lo) as usize))
    }

    /// The mapping behind the array's bytes, as far as they reach. The caller keeps the
    /// array alive (holds a reference to it) while the result lives.
    fn find(&self) -> Result<ForeignMap, Error> {
        let (lo, len) = self.checked_extent()?;
        Self::find_range(lo, len)
    }

    /// The whole of the memory that the array's owner keeps mapped: the extent of `root`,
    /// the outermost numpy array of the `base` chain of the array `self` describes (the array
    /// numpy made over the np.memmap's mmap, the Python mmap's buffer or ndmmap's Mapping),
    /// with the array's own extent. Any view of the same map reaches only bytes in it. The
    /// caller keeps the array (and so `root`) alive while the result lives.
    pub fn find_whole(&self, root: &View) -> Result<ForeignMap, Error> {
        let (lo, len) = self.checked_extent()?;
        let (start, end) = match root.extent() {
            Some((r, rlen)) => (lo.min(r), (lo + len).max(r + rlen)),
            None => (lo, lo + len),
        };
        Self::find_range(start, end - start)
    }

    fn checked_extent(&self) -> Result<(usize, usize), Error> {
        self.extent().ok_or_else(|| Error::NotMapped {
            addr: self.addr,
            len: self.itemsize,
            why: "the array's extent overflows the address space".into(),
        })
    }

    /// [`ForeignMap::find`] of `lo..lo + len`, bytes of an array's mapping (see `find`).
    fn find_range(lo: usize, len: usize) -> Result<ForeignMap, Error> {
        // SAFETY: the bytes are those of a numpy array, or of the outermost array of its
        // `base` chain (`find_whole`), that the caller holds a reference to for as long as
        // the ForeignMap (and what is made from it) lives: numpy keeps an array's buffer, and
        // so its base chain's, alive and mapped while the array lives (the chain owns the
        // np.memmap's mmap, ndmmap's Mapping, or a buffer export of Python's mmap, whose
        // `close()` is refused while an export is held).
        unsafe { ForeignMap::find(lo as *const u8, len) }
    }

    /// The pages of the array's elements in `f`.
    fn pages<'f>(&self, f: &'f ForeignMap) -> Result<Pages<'f>, Error> {
        f.pages(
            self.addr as *const u8,
            &self.shape,
            &self.strides,
            self.itemsize,
        )
    }
}

/// A failure of the toolkit: the library's error, about the file when it is known.
pub struct Failure(Error, String);

impl Failure {
    /// The library's error `e`, the file unknown.
    pub fn new(e: Error) -> Failure {
        Failure(e, String::new())
    }

    /// `Error::NotMapped` as the `TypeError` of an array that is not backed by a mapping;
    /// `Error::LockLimit` as an `OSError` with its errno; the rest as `to_py` maps them.
    pub fn into_py(self, func: &str) -> PyErr {
        let Failure(e, file) = self;
        match &e {
            Error::NotMapped { why, .. } => PyTypeError::new_err(format!(
                "ndmmap.{func}: the array is not backed by a file or shared memory mapping \
                 ({}): {USE_A_MAP}",
                one_line(why)
            )),
            Error::LockLimit { source, .. } => {
                let msg = format!("ndmmap.{func}: {}", one_line(&e.to_string()));
                match source.raw_os_error() {
                    Some(n) => PyOSError::new_err((n, msg)),
                    None => PyOSError::new_err(msg),
                }
            }
            _ => {
                let spec = if file.is_empty() {
                    format!("ndmmap.{func}")
                } else {
                    file.clone()
                };
                to_py(e, &spec, &file)
            }
        }
    }
}

/// Finds the mapping behind `v` and runs `work` on it and the array's pages, with the GIL
/// released. The caller holds the array.
pub fn with_pages<T: Send>(
    py: Python<'_>,
    v: &View,
    work: impl FnOnce(&ForeignMap, &Pages<'_>) -> Result<T, Error> + Send,
) -> Result<T, Failure> {
    py.detach(|| {
        let f = v.find().map_err(|e| Failure(e, String::new()))?;
        let file = f
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let p = v.pages(&f).map_err(|e| Failure(e, file.clone()))?;
        work(&f, &p).map_err(|e| Failure(e, file))
    })
}

/// `(start, end)` pairs of index ranges.
type Ranges = Vec<(usize, usize)>;

fn pairs(r: Vec<Range<usize>>) -> Ranges {
    r.into_iter().map(|r| (r.start, r.end)).collect()
}

/// What `ndmmap.residency` returns: fractions per index, full and partial ranges, resident
/// and total pages.
type ResidencyTuple<'py> = (Bound<'py, PyArray1<f64>>, Ranges, Ranges, usize, usize);

/// `ndmmap.residency`: per index along `axis` (already normalized by the Python layer) the
/// fraction of its pages in RAM, the fully and partly resident index ranges, and the
/// resident and total pages of the whole array.
#[pyfunction]
pub fn residency<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    axis: usize,
) -> PyResult<ResidencyTuple<'py>> {
    let v = View::of(a, "residency")?;
    if axis >= v.shape.len() {
        return Err(PyValueError::new_err(format!(
            "ndmmap.residency: axis {axis} is out of bounds for an array of {} dimensions",
            v.shape.len()
        )));
    }
    if v.is_empty() {
        // No element, no page: every index (if any) is "all of its zero pages" resident.
        let n = v.shape[axis];
        let full = if n > 0 { vec![(0, n)] } else { vec![] };
        return Ok((vec![1.0; n].into_pyarray(py), full, vec![], 0, 0));
    }
    let (fractions, full, partial, resident, total) = with_pages(py, &v, |_, p| {
        let counts = p.counts_along(Axis(axis))?;
        let whole = p.residency()?;
        Ok((
            counts.iter().map(Residency::fraction).collect::<Vec<f64>>(),
            pairs(ranges_where(&counts, Residency::is_full)),
            pairs(ranges_where(&counts, Residency::is_partial)),
            whole.resident,
            whole.total,
        ))
    })
    .map_err(|f| f.into_py("residency"))?;
    Ok((fractions.into_pyarray(py), full, partial, resident, total))
}

/// `ndmmap.advise`: `madvise` over the array's pages. 'dontneed' only on shared maps, where
/// the pages read back from the file (or the shared memory) unchanged.
#[pyfunction]
pub fn advise(py: Python<'_>, a: &Bound<'_, PyAny>, advice: &str) -> PyResult<()> {
    enum Given {
        Safe(Advice),
        DontNeed,
    }
    let given = match advice {
        "normal" => Given::Safe(Advice::Normal),
        "willneed" => Given::Safe(Advice::WillNeed),
        "sequential" => Given::Safe(Advice::Sequential),
        "random" => Given::Safe(Advice::Random),
        "dontneed" => Given::DontNeed,
        other => {
            return Err(PyValueError::new_err(format!(
                "ndmmap.advise: advice {other:?} is not one of 'normal', 'willneed', \
                 'sequential', 'random' or 'dontneed'"
            )));
        }
    };
    let v = View::of(a, "advise")?;
    if v.is_empty() {
        return Ok(());
    }
    with_pages(py, &v, |f, p| match given {
        Given::Safe(adv) => p.advise(adv),
        Given::DontNeed if f.is_shared() => {
            // SAFETY: the map is shared (a file's pages or shared memory): MADV_DONTNEED only
            // drops this process's references to the pages, and the next access reads them
            // back from the page cache or the file, dirty data included, so no element
            // changes under any view.
            unsafe { p.advise_unchecked(UncheckedAdvice::DontNeed) }
        }
        Given::DontNeed => Err(Error::Unsupported {
            what: "'dontneed' on a private (copy-on-write) map, which would throw away the \
                   array's changes (they would read back as the file's bytes)",
        }),
    })
    .map_err(|f| match f {
        Failure(Error::Unsupported { what }, _) if what.starts_with("'dontneed'") => {
            PyValueError::new_err(format!(
                "ndmmap.advise: {what}; 'dontneed' is for shared maps (np.memmap mode 'r' or \
                 'r+', np.load(mmap_mode='r'), ndmmap.open mode 'r' or 'r+')"
            ))
        }
        f => f.into_py("advise"),
    })
}

/// What `ndmmap.evict` reports: the library's `Evicted` fields and its one-line summary.
type EvictedTuple = (
    usize,
    bool,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    String,
);

/// `ndmmap.evict`: drops the array's pages from the page cache and says what left and why
/// the rest stayed; `sync` writes the file's dirty data back first.
#[pyfunction]
#[pyo3(signature = (a, sync = false))]
pub fn evict(py: Python<'_>, a: &Bound<'_, PyAny>, sync: bool) -> PyResult<EvictedTuple> {
    let v = View::of(a, "evict")?;
    if v.is_empty() {
        let s = "evicted 0 of 0 pages: 0 still resident".to_string();
        return Ok((0, sync, Some(0), Some(0), Some(0), None, None, None, s));
    }
    let dirty = if sync { Dirty::WriteBack } else { Dirty::Stay };
    let e = with_pages(py, &v, |_, p| p.evict_report(dirty)).map_err(|f| f.into_py("evict"))?;
    Ok((
        e.selected,
        e.written_back,
        e.before,
        e.after,
        e.evicted,
        e.dirty,
        e.writeback,
        e.in_use,
        e.to_string(),
    ))
}

/// `ndmmap.flush`: `msync` of the array's pages, waiting for the writes (`sync`) or not.
#[pyfunction]
#[pyo3(signature = (a, sync = true))]
pub fn flush(py: Python<'_>, a: &Bound<'_, PyAny>, sync: bool) -> PyResult<()> {
    let v = View::of(a, "flush")?;
    if v.is_empty() {
        return Ok(());
    }
    let how = if sync { Flush::Sync } else { Flush::Async };
    with_pages(py, &v, |_, p| p.flush(how)).map_err(|f| f.into_py("flush"))
}

/// `ndmmap.lock`'s start: `mlock` of the array's pages (faulted in now).
#[pyfunction]
pub fn lock(py: Python<'_>, a: &Bound<'_, PyAny>) -> PyResult<()> {
    let v = View::of(a, "lock")?;
    if v.is_empty() {
        return Ok(());
    }
    with_pages(py, &v, |_, p| {
        p.reserve_lock()?;
        p.lock(Lock::Now)
    })
    .map_err(|f| f.into_py("lock"))
}

/// `ndmmap.lock`'s end: `munlock` of the array's pages.
#[pyfunction]
pub fn unlock(py: Python<'_>, a: &Bound<'_, PyAny>) -> PyResult<()> {
    let v = View::of(a, "lock")?;
    if v.is_empty() {
        return Ok(());
    }
    with_pages(py, &v, |_, p| p.unlock()).map_err(|f| f.into_py("lock"))
}
