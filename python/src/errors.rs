//! ndmmap's errors as Python exceptions, each with the library's one-line message naming
//! the file.
//!
//! | `ndmmap::Error` | Python |
//! |---|---|
//! | `Io` (not found) | `FileNotFoundError` |
//! | `Io` (permission denied) | `PermissionError` |
//! | `IsDirectory` | `IsADirectoryError` |
//! | `Fault` | `ndmmap.FaultError` (an `OSError`, with `offset` and `cause`) |
//! | what is wrong with a spec, a file's content, a dtype, a shape, a slice, an axis, a mode | `ValueError` |
//! | anything else (`Io`, ...) | `OSError` |

use ndmmap::{Error, FaultCause};
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError, PyValueError,
};
use pyo3::prelude::*;
use std::io::ErrorKind;

pyo3::create_exception!(
    ndmmap,
    FaultError,
    PyOSError,
    "Reading or writing mapped memory faulted (SIGBUS): the file was truncated under the map, \
     or a write into a sparse file found the disk full. `offset` is the file offset of the \
     first byte that faulted, `cause` 'truncated', 'no space', 'file unavailable' (the file behind the \
     map could not be opened again: the faulted pages stay zero) or 'other'."
);

/// `msg` on one line, safe to print: the library's [`ndmmap::chart::one_line`] (line breaks,
/// other control characters and bidirectional overrides become spaces), whole.
pub fn one_line(msg: &str) -> String {
    ndmmap::chart::one_line(msg, usize::MAX)
}

/// The message of `e` on one line, naming `spec` first unless it already names `file`
/// (the path part of `spec`) or `spec` itself.
fn message(e: &Error, spec: &str, file: &str) -> String {
    let mut msg = one_line(&e.to_string());
    // Python's OSError prints the errno itself ("[Errno 2] ...").
    if let Error::Io { source, .. } = e
        && let Some(n) = source.raw_os_error()
    {
        msg = msg.replace(&format!(" (os error {n})"), "");
    }
    // The library's advice names Rust API; in Python it is a mode and numpy.
    msg = msg.replace(
        "use Mode::CopyOnWrite, or write a new archive with npz::NpzWriter",
        "use mode 'c' (copy-on-write), or write a new archive with np.savez",
    );
    // An HDF5 dataset the library reads or maps in parts (its advice ends the message):
    // from Python, h5py reads it.
    for advice in [
        "read it into memory with Container::read",
        "read it with Container::read",
    ] {
        if let Some(at) = msg.find(advice) {
            msg.truncate(at);
            msg.push_str(
                "read it with h5py (h5py.File(path)[name][()]); ndmmap.entries gives its \
                 residency",
            );
            break;
        }
    }
    if (!file.is_empty() && msg.contains(file)) || msg.contains(spec) {
        msg
    } else {
        format!("{spec}: {msg}")
    }
}

/// `e` as the Python exception a user catches for it (see the module docs). `spec` is what
/// the user passed; `file` the path of the file it names, when known.
pub fn to_py(e: Error, spec: &str, file: &str) -> PyErr {
    let msg = message(&e, spec, file);
    match &e {
        Error::Io { source, .. } => {
            let errno = source.raw_os_error();
            match (source.kind(), errno) {
                (ErrorKind::NotFound, Some(n)) => PyFileNotFoundError::new_err((n, msg)),
                (ErrorKind::NotFound, None) => PyFileNotFoundError::new_err(msg),
                (ErrorKind::PermissionDenied, Some(n)) => PyPermissionError::new_err((n, msg)),
                (ErrorKind::PermissionDenied, None) => PyPermissionError::new_err(msg),
                (_, Some(n)) => PyOSError::new_err((n, msg)),
                (_, None) => PyOSError::new_err(msg),
            }
        }
        Error::IsDirectory { .. } => PyIsADirectoryError::new_err(msg),
        Error::Fault { offset, cause, .. } => fault(*offset, *cause, msg),
        Error::TrailingBytes { .. }
        | Error::NotMappable { .. }
        | Error::Misaligned { .. }
        | Error::TooShort { .. }
        | Error::OffsetPastEnd { .. }
        | Error::SizeOverflow { .. }
        | Error::OffsetOverflow { .. }
        | Error::ZeroSizedType { .. }
        | Error::NotWritable { .. }
        | Error::RangeOutOfBounds { .. }
        | Error::BadSlice(_)
        | Error::BadSliceSpec { .. }
        | Error::BadOrder { .. }
        | Error::BadShapeSpec { .. }
        | Error::BadAxis { .. }
        | Error::AxisOutOfBounds { .. }
        | Error::AxisRange { .. }
        | Error::DtypeMismatch { .. }
        | Error::DimensionMismatch { .. }
        | Error::Stats { .. }
        | Error::NoSuchMember { .. }
        | Error::Compressed { .. }
        | Error::BadArchive { .. }
        | Error::Checksum { .. }
        | Error::BadSafetensors { .. }
        | Error::BadHdf5 { .. }
        | Error::UnknownFormat { .. }
        | Error::Unmappable { .. }
        | Error::Npy { .. } => PyValueError::new_err(msg),
        _ => PyOSError::new_err(msg),
    }
}

/// A [`FaultError`] with its `errno` (EIO), `offset` and `cause`.
pub fn fault(offset: u64, cause: FaultCause, msg: String) -> PyErr {
    let cause = match cause {
        FaultCause::Truncated => "truncated",
        FaultCause::NoSpace => "no space",
        FaultCause::FileUnavailable => "file unavailable",
        _ => "other",
    };
    const EIO: i32 = 5;
    let err = FaultError::new_err((EIO, msg));
    Python::attach(|py| {
        let v = err.value(py);
        // OSError instances have a __dict__: plain attributes work under abi3.
        let _ = v.setattr("offset", offset);
        let _ = v.setattr("cause", cause);
    });
    err
}
