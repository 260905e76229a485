//! numpy `.npy` files as memory-mapped arrays: open, create, grow in place.
//!
//! (API skeleton: bodies are being written; see issue 4.)

use crate::array::{MmapArray, Mode};
use crate::error::Result;
use bytemuck::Pod;
use ndarray::{Dimension, ShapeBuilder};
use std::path::Path;

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version, `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub version: (u8, u8),
    /// The dtype descriptor, e.g. `"<f8"`.
    pub descr: String,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Byte offset of the data (the header's total length).
    pub data_offset: u64,
}

/// A dtype as numpy spells it (`"f8"`, `"<f4"`, `"i2"`, `"u1"`, `"c16"`, `"?"`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// numpy's kind character: `b` bool, `i` signed, `u` unsigned, `f` float, `c` complex.
    pub kind: char,
    /// Bytes per element.
    pub size: usize,
    /// Byte order: `true` little-endian (or order-less, size 1).
    pub little_endian: bool,
}

impl Dtype {
    /// Parses numpy's spelling of a fixed-size numeric dtype.
    pub fn parse(s: &str) -> Result<Dtype> {
        let _ = s;
        unimplemented!()
    }

    /// The canonical descriptor, e.g. `"<f8"`, `"|u1"`.
    pub fn descr(&self) -> String {
        unimplemented!()
    }
}

/// Element types with a `.npy` descriptor.
pub trait NpyElement: Pod {
    /// The dtype of the type in native (little-endian) order.
    const DTYPE: Dtype;
}

/// Reads the header of a `.npy` file.
pub fn read_header(path: impl AsRef<Path>) -> Result<Header> {
    let _ = path;
    unimplemented!()
}

/// Opens a `.npy` file read-only.
///
/// # Safety
/// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
pub unsafe fn open<T: NpyElement, D: Dimension>(path: impl AsRef<Path>) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded.
    unsafe { open_with(path, Mode::ReadOnly) }
}

/// Opens a `.npy` file read-write (shared).
///
/// # Safety
/// As for [`open`].
pub unsafe fn open_mut<T: NpyElement, D: Dimension>(
    path: impl AsRef<Path>,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded.
    unsafe { open_with(path, Mode::ReadWrite) }
}

/// Opens a `.npy` file in the given mode.
///
/// # Safety
/// As for [`open`].
pub unsafe fn open_with<T: NpyElement, D: Dimension>(
    path: impl AsRef<Path>,
    mode: Mode,
) -> Result<MmapArray<T, D>> {
    let _ = (path, mode);
    unimplemented!()
}

/// Creates (or truncates) a zero-filled `.npy` file of `shape` (`.f()` for Fortran order) and
/// maps it read-write.
///
/// # Safety
/// As for [`open`].
pub unsafe fn create<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
    path: impl AsRef<Path>,
    shape: Sh,
) -> Result<MmapArray<T, D>> {
    let _ = (path, shape.into_shape_with_order());
    unimplemented!()
}

impl<T: NpyElement, D: Dimension> MmapArray<T, D> {
    /// Grows a read-write C-order `.npy` array along its first axis to `new_len` in place:
    /// extends the file, rewrites the header's shape, remaps.
    pub fn grow_npy(&mut self, new_len: usize) -> Result<()> {
        let _ = new_len;
        unimplemented!()
    }
}
