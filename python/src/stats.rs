//! `stats`: count, mean, standard deviation, min and max along an axis, by the library's
//! streaming `Stats` (out of core, every core), with the GIL released.

use crate::errors::to_py;
use ndmmap::container::{self, Format};
use ndmmap::ndarray::ArrayD;
use ndmmap::stats::{Moments, Stats, Value};
use ndmmap::{AnyArray, Dtype};
use numpy::IntoPyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// count, mean, std, min, max: numpy arrays of the result's shape.
type Five<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
);

/// Why a pass failed: the library's error (about `file`), or a message of our own.
enum Failure {
    Lib(ndmmap::Error, String),
    Value(String),
}

/// `ndmmap.stats`: see `python/ndmmap/__init__.py` for the user's documentation.
#[pyfunction]
#[pyo3(signature = (spec, axis = 0, slice = None, ddof = 0.0, threads = None))]
pub fn stats<'py>(
    py: Python<'py>,
    spec: String,
    axis: isize,
    slice: Option<String>,
    ddof: f64,
    threads: Option<usize>,
) -> PyResult<Five<'py>> {
    let s = spec.clone();
    let (m, dtype) = py
        .detach(|| -> Result<(Moments, Dtype), Failure> {
            let (c, name) = container::open(&s).map_err(|e| Failure::Lib(e, String::new()))?;
            let file = c.path().display().to_string();
            let name = match name {
                Some(n) => n,
                None if c.format() == Format::Npy => String::new(),
                None => {
                    return Err(Failure::Value(format!(
                        "{file} holds {} arrays: name one as {file}:NAME",
                        c.entries().len()
                    )));
                }
            };
            let lib = |e| Failure::Lib(e, file.clone());
            // SAFETY: the map's contract (nobody truncates or rewrites the file while it is
            // read) is the user's, as with np.memmap.
            let a: AnyArray = unsafe { c.map_any(&name) }.map_err(lib)?;
            let mut st = Stats::along(axis);
            if let Some(t) = threads {
                st = st.threads(t);
            }
            if let Some(sl) = &slice {
                let elems = ndmmap::parse_slice(sl, a.shape()).map_err(lib)?;
                if !a.shape().is_empty()
                    && elems.iter().filter(|e| e.is_index()).count() == a.ndim()
                {
                    let hint = ndmmap::slice_keeping_axis(sl, a.shape())
                        .map(|h| format!(": use {h:?}"))
                        .unwrap_or_default();
                    return Err(Failure::Value(format!(
                        "{s}: the slice {sl:?} selects a single element; stats need at least \
                         one axis to reduce{hint}"
                    )));
                }
                st = st.slice(elems);
            }
            let m = st.of_any(&a).map_err(lib)?;
            Ok((m, a.dtype()))
        })
        .map_err(|f| match f {
            Failure::Lib(e, file) => to_py(e, &spec, &file),
            Failure::Value(msg) => PyValueError::new_err(msg),
        })?;
    let count = m.count().mapv(|n| n as i64).into_pyarray(py).into_any();
    let mean = m.mean().into_pyarray(py).into_any();
    let std = m.std(ddof).into_pyarray(py).into_any();
    let min = extreme(py, m.min(), dtype, &spec, "min")?;
    let max = extreme(py, m.max(), dtype, &spec, "max")?;
    Ok((count, mean, std, min, max))
}

/// A min or max as numpy gives it: in the array's dtype (native byte order) where numpy has
/// it, else `float64` (bf16). A result of no values is NaN for floats and a `ValueError` for
/// integers and booleans, as numpy's `np.min` raises on an empty reduction.
fn extreme<'py>(
    py: Python<'py>,
    v: ArrayD<Option<Value>>,
    dtype: Dtype,
    spec: &str,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let empty = || {
        PyValueError::new_err(format!(
            "{spec}: a result of no values has no {what} (numpy raises too: zero-size array \
             to reduction operation)"
        ))
    };
    let arr = match dtype.kind {
        'b' => {
            if v.iter().any(Option::is_none) {
                return Err(empty());
            }
            v.mapv(|x| matches!(x, Some(Value::Bool(true))))
                .into_pyarray(py)
                .into_any()
        }
        'i' | 'u' if v.iter().any(Option::is_none) => return Err(empty()),
        'i' => v
            .mapv(|x| match x {
                Some(Value::Int(i)) => i as i64,
                _ => 0,
            })
            .into_pyarray(py)
            .into_any(),
        'u' => v
            .mapv(|x| match x {
                Some(Value::Int(i)) => i as u64,
                _ => 0,
            })
            .into_pyarray(py)
            .into_any(),
        _ => v
            .mapv(|x| x.map_or(f64::NAN, Value::as_f64))
            .into_pyarray(py)
            .into_any(),
    };
    // numpy's own dtype, in this machine's byte order (min of '>f4' is a float32 value).
    if matches!(dtype.kind, 'b' | 'i' | 'u' | 'f') && dtype.size <= 8 {
        let native = py.import("numpy")?.getattr("dtype")?.call1((Dtype {
            little_endian: cfg!(target_endian = "little"),
            ..dtype
        }
        .descr(),))?;
        return arr.call_method1("astype", (native,));
    }
    Ok(arr)
}
