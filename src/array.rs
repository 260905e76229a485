//! [`MmapArray`]: one mapping, its shape and layout, and the views it hands out.

use crate::error::{Error, Result};
use crate::layout::{self, PageSpan};
use crate::sys;
use bytemuck::Pod;
use ndarray::{ArrayView, ArrayViewMut, Dimension, ShapeBuilder};
use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// How a mapping relates to its file (or, for anonymous maps, to forked children).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Read-only: no mutable view can be had.
    ReadOnly,
    /// Shared read-write (`MAP_SHARED`): writes reach the file and every process mapping it.
    /// For anonymous maps: pages shared with forked children.
    ReadWrite,
    /// Private copy-on-write (`MAP_PRIVATE`): writes stay in this process; the file never
    /// changes. For anonymous maps: pages private to this process.
    CopyOnWrite,
}

impl Mode {
    /// Whether views of a map in this mode may be mutable.
    pub fn is_writable(self) -> bool {
        !matches!(self, Mode::ReadOnly)
    }
}

/// Memory order of an array's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Row-major: the last index varies fastest (C, numpy's default).
    C,
    /// Column-major: the first index varies fastest (Fortran, Julia).
    F,
}

/// The mapping that backs an array. memmap2 maps files and private anonymous memory;
/// `sys::SharedAnon` maps shared anonymous memory, which memmap2 does not offer.
#[derive(Debug)]
pub(crate) enum Backing {
    ReadOnly(memmap2::Mmap),
    Mutable(memmap2::MmapMut),
    SharedAnon(sys::SharedAnon),
}

impl Backing {
    /// Address of the first data byte (element 0).
    pub(crate) fn ptr(&self) -> *mut u8 {
        match self {
            Backing::ReadOnly(m) => m.as_ptr() as *mut u8,
            Backing::Mutable(m) => m.as_ptr() as *mut u8,
            Backing::SharedAnon(m) => m.ptr(),
        }
    }
}

/// A typed n-dimensional array over one memory mapping of a file or of anonymous memory.
///
/// It owns the mapping and hands out [`ArrayView`]s and [`ArrayViewMut`]s that borrow it, so
/// the borrow checker guarantees that nothing unmaps, remaps, resizes or re-protects the
/// mapping while a view of it lives. Dropping the array unmaps it; what was written through a
/// shared file map stays in the page cache and reaches the disk (call
/// [`msync`](MmapArray::msync) to wait for that).
///
/// # Safety of file-backed arrays
///
/// A file-backed array is made by an `unsafe fn` ([`MmapOptions::map`](crate::MmapOptions::map)
/// and its siblings, [`npy::open`](crate::npy)), because the views it hands out are plain Rust
/// references into memory that the OS shares with the file. The caller must make sure that, for
/// as long as the array lives:
/// - no other process or thread truncates the file below the mapped range (accessing a page
///   past the end of the file raises `SIGBUS`);
/// - nothing else writes the mapped bytes while a view reads them, unless the caller accepts
///   the data race (another process writing through its own shared mapping, `write(2)` to the
///   file, and so on), since Rust assumes that data behind `&T` does not change.
///
/// Anonymous arrays have no such hazard (a forked child's writes to a shared anonymous map are
/// the caller's own synchronisation problem, as for any shared memory) and are made safely.
///
/// # Threads
///
/// `MmapArray<T, D>` is `Send` and `Sync` (when `T` is, which every `Pod` type without a
/// pointer is): it owns its mapping, and shared access gives only `&`-views.
#[derive(Debug)]
pub struct MmapArray<T: Pod, D: Dimension> {
    pub(crate) backing: Backing,
    pub(crate) dim: D,
    pub(crate) strides: D,
    pub(crate) mode: Mode,
    pub(crate) file: Option<File>,
    pub(crate) path: Option<PathBuf>,
    pub(crate) offset: u64,
    /// Cleared when some of the mapping was protected against reading.
    pub(crate) readable: bool,
    /// Cleared when some of the mapping was protected against writing.
    pub(crate) writable: bool,
    pub(crate) _elem: PhantomData<T>,
}

/// Shape and strides (in elements) of an ndarray shape, checked to fit in `isize::MAX` bytes
/// of `elem_size`-byte elements.
pub(crate) fn dim_and_strides<D: Dimension>(
    shape: ndarray::Shape<D>,
    elem_size: usize,
) -> Result<(D, D, usize)> {
    let bytes = layout::checked_bytes(shape.raw_dim().slice(), elem_size)?;
    let n = shape.size();
    // ndarray computes C or Fortran strides but keeps them private: read them off a view of
    // zero-sized elements, for which any well-aligned pointer is valid for `n` reads.
    let probe: &[()] = {
        // SAFETY: a slice of a zero-sized type of any length occupies no memory.
        unsafe { std::slice::from_raw_parts(std::ptr::NonNull::<()>::dangling().as_ptr(), n) }
    };
    let view = ArrayView::from_shape(shape, probe).map_err(|e| Error::BadSlice {
        reason: e.to_string(),
    })?;
    let mut strides = view.raw_dim();
    for (s, &v) in strides.slice_mut().iter_mut().zip(view.strides()) {
        *s = v as usize;
    }
    Ok((view.raw_dim(), strides, bytes))
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// A read-only view of the whole array.
    ///
    /// # Panics
    /// If part of the mapping was protected against reading with
    /// [`protect`](MmapArray::protect) (reading it would kill the process with `SIGSEGV`);
    /// [`try_view`](MmapArray::try_view) returns an error instead.
    pub fn view(&self) -> ArrayView<'_, T, D> {
        match self.try_view() {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// A read-only view, or [`Error::NotReadable`] if part of the mapping is protected
    /// against reading.
    pub fn try_view(&self) -> Result<ArrayView<'_, T, D>> {
        if !self.readable {
            return Err(Error::NotReadable);
        }
        let shape = self.dim.clone().strides(self.strides.clone());
        // SAFETY: the mapping holds `nbytes` readable bytes at `ptr`, aligned for T (the offset
        // was checked), T is Pod so any bytes are a valid T, and the view borrows `self`, so
        // the mapping outlives it and cannot be changed through `&mut self` meanwhile.
        Ok(unsafe { ArrayView::from_shape_ptr(shape, self.as_ptr()) })
    }

    /// A mutable view of the whole array, or [`Error::NotWritable`] when the map is
    /// read-only (by mode or by a [`protect`](MmapArray::protect) call).
    pub fn view_mut(&mut self) -> Result<ArrayViewMut<'_, T, D>> {
        self.check_writable()?;
        let shape = self.dim.clone().strides(self.strides.clone());
        // SAFETY: as in `try_view`, and the pages are writable; `&mut self` makes this the
        // only view.
        Ok(unsafe { ArrayViewMut::from_shape_ptr(shape, self.backing.ptr() as *mut T) })
    }

    /// The elements in memory order, as one slice.
    pub fn as_slice(&self) -> Result<&[T]> {
        if !self.readable {
            return Err(Error::NotReadable);
        }
        // SAFETY: as in `try_view`: `len()` aligned, initialised Pod elements live as long as `self`.
        Ok(unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len()) })
    }

    /// The elements in memory order, as one mutable slice (see [`view_mut`](Self::view_mut)).
    pub fn as_slice_mut(&mut self) -> Result<&mut [T]> {
        self.check_writable()?;
        // SAFETY: as in `view_mut`.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.backing.ptr() as *mut T, self.len()) })
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if !self.mode.is_writable() {
            return Err(Error::NotWritable {
                reason: "the map is read-only",
            });
        }
        if !self.writable || !self.readable {
            return Err(Error::NotWritable {
                reason: "part of the mapping is protected against writing",
            });
        }
        Ok(())
    }

    /// Pointer to element 0.
    pub fn as_ptr(&self) -> *const T {
        self.backing.ptr() as *const T
    }

    /// The length of each axis.
    pub fn shape(&self) -> &[usize] {
        self.dim.slice()
    }

    /// The shape as ndarray's dimension type.
    pub fn raw_dim(&self) -> D {
        self.dim.clone()
    }

    /// The strides of each axis, in elements.
    pub fn strides(&self) -> &[usize] {
        self.strides.slice()
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.dim.ndim()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dim.size()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of element data (`len() * size_of::<T>()`).
    pub fn nbytes(&self) -> usize {
        self.len() * std::mem::size_of::<T>()
    }

    /// Memory order: C unless the array was made Fortran-ordered (and has more than one
    /// non-trivial axis).
    pub fn order(&self) -> Order {
        let probe_c = ndarray::Shape::from(self.dim.clone());
        match dim_and_strides(probe_c, 1) {
            Ok((_, c, _)) if c.slice() != self.strides.slice() => Order::F,
            _ => Order::C,
        }
    }

    /// The map's mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Byte offset of element 0 in the file (0 for anonymous maps).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The file's path, where one is known (given, or read back from the OS for a handle).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file behind the map (`None` for anonymous maps).
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }

    /// Whether the map is anonymous memory rather than a file.
    pub fn is_anonymous(&self) -> bool {
        self.file.is_none()
    }

    /// The pages the array's bytes span: `lead` bytes of the first page lie before element 0.
    pub fn page_span(&self) -> PageSpan {
        PageSpan::new(self.backing.ptr() as usize, self.nbytes(), sys::page_size())
    }

    /// The system's page size.
    pub fn page_size() -> usize {
        sys::page_size()
    }
}

impl<T: Pod> MmapArray<T, ndarray::IxDyn> {
    /// Converts the dimension type to a fixed one, `Err(DimensionMismatch)` if it does not fit.
    pub fn into_dimensionality<D2: Dimension>(self) -> Result<MmapArray<T, D2>> {
        let found = self.ndim();
        let fail = || Error::DimensionMismatch {
            expected: D2::NDIM.unwrap_or(found),
            found,
        };
        let dim = D2::from_dimension(&self.dim).ok_or_else(fail)?;
        let strides = D2::from_dimension(&self.strides).ok_or_else(fail)?;
        Ok(self.with_dim(dim, strides))
    }
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// Converts to a dynamic-dimensional array.
    pub fn into_dyn(self) -> MmapArray<T, ndarray::IxDyn> {
        let (dim, strides) = (self.dim.clone().into_dyn(), self.strides.clone().into_dyn());
        self.with_dim(dim, strides)
    }

    /// The same mapping under another dimension type (same shape and strides).
    fn with_dim<D2: Dimension>(self, dim: D2, strides: D2) -> MmapArray<T, D2> {
        MmapArray {
            backing: self.backing,
            dim,
            strides,
            mode: self.mode,
            file: self.file,
            path: self.path,
            offset: self.offset,
            readable: self.readable,
            writable: self.writable,
            _elem: PhantomData,
        }
    }
}
