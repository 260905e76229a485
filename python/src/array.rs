//! `open`: an `.npy` file, an archive member, a tensor, an HDF5 dataset or a raw file mapped
//! as an `AnyArray`, handed to numpy as a `numpy.ndarray` over the mapped bytes, whose `base`
//! is the [`Mapping`] that owns the map.

use crate::errors::to_py;
use ndmmap::container::{self, Container, Format};
use ndmmap::{AnyArray, Dtype, Mode, Order, RawSpec};
use numpy::npyffi::{self, NPY_ARRAY_WRITEABLE, NpyTypes, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods};
use pyo3::exceptions::{PyImportError, PyValueError};
use pyo3::prelude::*;
use std::ffi::c_int;
use std::path::Path;

/// The owner of one map: the `base` of the numpy arrays over it. It cannot unmap while an
/// array over it lives (numpy holds a reference), and has no method that would.
#[pyclass(frozen, module = "ndmmap", name = "Mapping")]
pub struct Mapping {
    array: AnyArray,
    /// The address of the first byte (as `usize`: a pointer is not `Send`), writable when
    /// `writable`.
    addr: usize,
    writable: bool,
    spec: String,
}

#[pymethods]
impl Mapping {
    /// What was opened, as the user wrote it.
    #[getter]
    fn spec(&self) -> &str {
        &self.spec
    }

    /// 'r', 'r+' or 'c'.
    #[getter]
    fn mode(&self) -> &'static str {
        mode_name(self.array.mode())
    }

    /// The element type as the file names it ('<f8', '>i4', 'BF16').
    #[getter]
    fn dtype(&self) -> String {
        self.array.type_name()
    }

    /// The byte offset of the data in the file.
    #[getter]
    fn offset(&self) -> u64 {
        self.array.offset()
    }

    /// Bytes of data.
    #[getter]
    fn nbytes(&self) -> usize {
        self.array.nbytes()
    }

    fn __repr__(&self) -> String {
        format!(
            "<ndmmap.Mapping {:?} {} {:?} order {} mode '{}', {} bytes at offset {}>",
            self.spec,
            self.array.type_name(),
            self.array.shape(),
            self.array.order(),
            mode_name(self.array.mode()),
            self.array.nbytes(),
            self.array.offset()
        )
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::ReadWrite => "r+",
        Mode::CopyOnWrite => "c",
        _ => "r",
    }
}

/// numpy's mode names (`np.memmap`'s) as ndmmap's [`Mode`].
fn parse_mode(mode: &str) -> PyResult<Mode> {
    match mode {
        "r" | "readonly" => Ok(Mode::ReadOnly),
        "r+" | "readwrite" => Ok(Mode::ReadWrite),
        "c" | "copyonwrite" => Ok(Mode::CopyOnWrite),
        "w+" | "write" => Err(PyValueError::new_err(
            "mode 'w+' creates a file, which ndmmap.open does not: it maps existing files, \
             mode 'r', 'r+' or 'c' (create the file with numpy first)",
        )),
        other => Err(PyValueError::new_err(format!(
            "mode {other:?} is not one of 'r' (read-only), 'r+' (read-write, writes reach the \
             file) or 'c' (copy-on-write, writes stay in memory)"
        ))),
    }
}

/// ml_dtypes' names of the safetensors types numpy lacks.
fn ml_dtypes_name(type_name: &str) -> Option<&'static str> {
    match type_name {
        "BF16" => Some("bfloat16"),
        "F8_E4M3" => Some("float8_e4m3fn"),
        "F8_E5M2" => Some("float8_e5m2"),
        "F8_E8M0" => Some("float8_e8m0fnu"),
        _ => None,
    }
}

/// Whether `type_name` is numpy's descriptor of one of its fixed-size non-numeric types,
/// which the library maps as raw bytes ([`AnyArray::Other`]) named by that descriptor: bytes
/// (`|S5`), str (`<U2`, `>U2`), void (`|V8`), datetime (`<M8[s]`) or timedelta (`>m8[ns]`).
/// (A format's own names, such as safetensors' `BF16`, never start with a byte-order mark.)
fn numpy_non_numeric(type_name: &str) -> bool {
    let Some(rest) = type_name.strip_prefix(['|', '<', '>']) else {
        return false;
    };
    let sized = |code: char| {
        rest.strip_prefix(code)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    sized('S') || sized('U') || sized('V') || rest.starts_with("M8") || rest.starts_with("m8")
}

/// numpy's dtype for the elements of `a`: numpy's own where it has one (numeric, or bytes,
/// str, void, datetime and timedelta, whose bytes the library maps raw), else ml_dtypes'
/// (`BF16` as `ml_dtypes.bfloat16`), else a `ValueError`; an `ImportError` saying
/// `pip install ml_dtypes` when that package is needed and missing. The dtype's item size is
/// checked against the mapped elements' before numpy sees the bytes ([`ndarray_over`]).
fn numpy_dtype<'py>(py: Python<'py>, a: &AnyArray, spec: &str) -> PyResult<Bound<'py, PyAny>> {
    let name = a.type_name();
    let descr = a.dtype().descr();
    if numpy_non_numeric(&name) {
        return py.import("numpy")?.getattr("dtype")?.call1((name,));
    }
    if name == descr {
        return py.import("numpy")?.getattr("dtype")?.call1((descr,));
    }
    let Some(ml) = ml_dtypes_name(&name) else {
        return Err(PyValueError::new_err(format!(
            "{spec}: elements of type {name} have no numpy dtype (neither numpy nor ml_dtypes \
             has one)"
        )));
    };
    let module = py.import("ml_dtypes").map_err(|_| {
        PyImportError::new_err(format!(
            "{spec}: elements of type {name} are numpy's ml_dtypes.{ml}, and the package \
             ml_dtypes is not installed: pip install ml_dtypes"
        ))
    })?;
    let t = module.getattr(ml).map_err(|_| {
        PyImportError::new_err(format!(
            "{spec}: elements of type {name} need ml_dtypes.{ml}, which this ml_dtypes lacks: \
             pip install -U ml_dtypes"
        ))
    })?;
    py.import("numpy")?.getattr("dtype")?.call1((t,))
}

/// The byte strides of a contiguous array of `shape` in `order`, checked: `None` when the
/// bytes overflow `isize`.
fn strides(shape: &[usize], itemsize: usize, order: Order) -> Option<(Vec<isize>, usize)> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc: usize = itemsize;
    let mut idx: Vec<usize> = (0..shape.len()).collect();
    if order == Order::C {
        idx.reverse();
    }
    for i in idx {
        strides[i] = isize::try_from(acc).ok()?;
        acc = acc.checked_mul(shape[i])?;
    }
    isize::try_from(acc).ok()?;
    Some((strides, acc))
}

/// A `numpy.ndarray` of `dtype` over `mapping`'s bytes, its `base` the mapping: read-only
/// unless the map is writable. The shape, strides and item size are checked against the
/// mapped bytes before numpy gets the pointer.
fn ndarray_over<'py>(
    py: Python<'py>,
    mapping: Bound<'py, Mapping>,
    dtype: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let descr = PyArrayDescr::new(py, &dtype)?;
    let m = mapping.get();
    let a = &m.array;
    let itemsize = descr.itemsize();
    if itemsize != a.dtype().size || descr.has_object() {
        return Err(PyValueError::new_err(format!(
            "{}: numpy's dtype {} ({} bytes) does not describe elements of {} bytes",
            m.spec,
            dtype.str()?,
            itemsize,
            a.dtype().size
        )));
    }
    let (strides, bytes) = strides(a.shape(), itemsize, a.order())
        .ok_or_else(|| PyValueError::new_err(format!("{}: the array's size overflows", m.spec)))?;
    if bytes != a.nbytes() {
        return Err(PyValueError::new_err(format!(
            "{}: the shape {:?} of {} bytes per element needs {} bytes, the map holds {}",
            m.spec,
            a.shape(),
            itemsize,
            bytes,
            a.nbytes()
        )));
    }
    let mut dims: Vec<npyffi::npy_intp> = Vec::with_capacity(a.ndim());
    for &d in a.shape() {
        // Each dimension fits: their product (times the item size) fits isize (above).
        dims.push(d as npyffi::npy_intp);
    }
    let mut strides: Vec<npyffi::npy_intp> = strides.into_iter().map(|s| s as _).collect();
    let ndim = c_int::try_from(dims.len())
        .map_err(|_| PyValueError::new_err(format!("{}: too many dimensions", m.spec)))?;
    let flags: c_int = if m.writable { NPY_ARRAY_WRITEABLE } else { 0 };
    // SAFETY: `addr` is the first of the map's `nbytes` bytes, which `mapping` owns, and the
    // array covers exactly those bytes (shape x strides x item size checked above); numpy
    // gets the writable flag only for a writable map (`as_mut_ptr` said so). The map stays
    // while the array lives: `SetBaseObject` makes `mapping` the array's base, and a Mapping
    // never unmaps while referenced. `into_dtype_ptr` and `into_ptr` hand over the references
    // the two calls steal (`SetBaseObject` steals it on failure too).
    unsafe {
        let arr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, NpyTypes::PyArray_Type),
            descr.into_dtype_ptr(),
            ndim,
            dims.as_mut_ptr(),
            strides.as_mut_ptr(),
            m.addr as *mut std::ffi::c_void,
            flags,
            std::ptr::null_mut(),
        );
        let arr = Bound::from_owned_ptr_or_err(py, arr)?;
        if PY_ARRAY_API.PyArray_SetBaseObject(py, arr.as_ptr().cast(), mapping.into_ptr()) < 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(arr)
    }
}

/// The member names of `c`, for the error of an archive opened without one.
fn name_hint(c: &Container) -> String {
    let names: Vec<String> = c
        .entries()
        .iter()
        .take(8)
        .map(|e| format!("{:?}", e.name))
        .collect();
    let more = if c.entries().len() > 8 { ", ..." } else { "" };
    format!("{}{more}", names.join(", "))
}

/// What to map: a container entry, or a raw file.
enum Opened {
    Entry(AnyArray),
    NeedsName(Container),
}

/// `ndmmap.open`: see `python/ndmmap/__init__.py` for the user's documentation. `dtype`
/// given (a numpy dtype) means a raw file, with `shape` (None: 1-D over the rest), `offset`
/// and `order`.
#[pyfunction]
#[pyo3(signature = (spec, mode = "r", dtype = None, shape = None, offset = 0, order = "C"))]
pub fn open<'py>(
    py: Python<'py>,
    spec: String,
    mode: &str,
    dtype: Option<Bound<'py, PyAny>>,
    shape: Option<Vec<usize>>,
    offset: u64,
    order: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let mode_ = parse_mode(mode)?;
    let order = match order {
        "C" | "c" => Order::C,
        "F" | "f" => Order::F,
        o => {
            return Err(PyValueError::new_err(format!(
                "order {o:?} is not 'C' (row-major) or 'F' (column-major)"
            )));
        }
    };
    if let Some(dtype) = dtype {
        // A raw file, as np.memmap reads it.
        let dtype = py.import("numpy")?.getattr("dtype")?.call1((dtype,))?;
        if dtype.getattr("hasobject")?.extract::<bool>()? {
            return Err(PyValueError::new_err(format!(
                "{spec}: dtype {} holds Python objects, which a file cannot",
                dtype.str()?
            )));
        }
        let descr: String = dtype.getattr("str")?.extract()?;
        let parsed = Dtype::parse(&descr).map_err(|e| to_py(e, &spec, &spec))?;
        let mut raw = RawSpec::new(parsed).offset(offset).order(order).mode(mode_);
        if let Some(s) = shape {
            raw = raw.shape(s);
        }
        let path = spec.clone();
        // SAFETY: the map's contract (nobody truncates or rewrites the file while it is
        // mapped) is the user's, as with np.memmap; a fault is a SIGBUS, which the guard
        // (ndmmap.guard) will turn into FaultError.
        let a = py
            .detach(|| unsafe { AnyArray::open_raw(Path::new(&path), &raw) })
            .map_err(|e| to_py(e, &spec, &spec))?;
        let m = Bound::new(py, mapping(a, &spec)?)?;
        return ndarray_over(py, m, dtype);
    }
    if shape.is_some() || offset != 0 || order != Order::C {
        return Err(PyValueError::new_err(format!(
            "{spec}: shape=, offset= and order= describe a raw file: give dtype= too (a .npy \
             file, an archive member, a tensor or a dataset knows its own)"
        )));
    }
    let s = spec.clone();
    let opened = py
        .detach(|| -> Result<(Opened, String), (ndmmap::Error, String)> {
            let (c, name) = container::open(&s).map_err(|e| (e, String::new()))?;
            let file = c.path().display().to_string();
            let name = match name {
                Some(n) => n,
                None if c.format() == Format::Npy => String::new(),
                None => return Ok((Opened::NeedsName(c), file)),
            };
            // SAFETY: as for a raw file above: the user's contract, as with np.memmap.
            let a = unsafe { c.map_any_with(&name, mode_) }.map_err(|e| (e, file.clone()))?;
            Ok((Opened::Entry(a), file))
        })
        .map_err(|(e, file)| to_py(e, &spec, &file))?;
    match opened {
        (Opened::Entry(a), _) => {
            let dtype = numpy_dtype(py, &a, &spec)?;
            let m = Bound::new(py, mapping(a, &spec)?)?;
            ndarray_over(py, m, dtype)
        }
        (Opened::NeedsName(c), file) => {
            let kind = match c.format() {
                Format::Npz => "an .npz archive",
                Format::Safetensors => "a safetensors file",
                Format::Hdf5 => "an HDF5 file",
                _ => "a container",
            };
            let n = c.entries().len();
            Err(PyValueError::new_err(format!(
                "{file} is {kind} of {n} {}: name one as {file}:NAME ({}); \
                 ndmmap.entries({file:?}) lists them",
                if n == 1 { "array" } else { "arrays" },
                name_hint(&c)
            )))
        }
    }
}

/// The [`Mapping`] owning `a`, with the address numpy will be given (writable when the
/// map is).
fn mapping(mut a: AnyArray, spec: &str) -> PyResult<Mapping> {
    let writable = a.mode() != Mode::ReadOnly;
    let addr = if writable {
        a.as_mut_ptr().map_err(|e| to_py(e, spec, spec))? as usize
    } else {
        a.as_ptr() as usize
    };
    Ok(Mapping {
        array: a,
        addr,
        writable,
        spec: spec.to_string(),
    })
}
