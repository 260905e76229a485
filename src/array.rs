//! [`MmapArray`]: one mapping, its shape and layout, and the views it hands out.

use crate::checked::{Checked, CheckedMut};
use crate::error::{Error, Result};
use crate::guard::Guard;
use crate::layout::{self, PageSpan};
use crate::mapping::{Mapping, Mode};
use crate::pages::{self, Advice, Flush, Pages, PagesMut, Selection};
use crate::sys;
use bytemuck::Pod;
use ndarray::{ArrayView, ArrayViewMut, Dimension};
use std::fs::File;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;

/// A fault guard over a mapping that restores the file's pages however the closure ends.
pub(crate) struct Recovering<'a> {
    map: &'a Mapping,
    guard: Option<Guard>,
}

impl<'a> Recovering<'a> {
    pub(crate) fn enter(map: &'a Mapping) -> Result<Recovering<'a>> {
        // Anonymous memory raises no SIGBUS: nothing to guard; nor does Windows.
        let guard = if map.may_fault() && map.len() > 0 {
            Guard::enter(map.ptr() as usize, map.len(), map.prot())?
        } else {
            None
        };
        Ok(Recovering { map, guard })
    }

    pub(crate) fn finish<R>(mut self, r: R) -> Result<R> {
        let Some(guard) = self.guard.take() else {
            return Ok(r);
        };
        // The file's pages go back while the guard still warns guards entered meanwhile.
        match guard.faults() {
            None => Ok(r),
            Some(faults) => {
                drop(r);
                Err(self.map.recover(&faults))
            }
        }
    }
}

impl Drop for Recovering<'_> {
    fn drop(&mut self) {
        // The closure panicked: still put the file's pages back.
        if let Some(guard) = self.guard.take()
            && let Some(faults) = guard.faults()
        {
            let _ = self.map.recover(&faults);
        }
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

impl std::str::FromStr for Order {
    type Err = Error;

    /// `C` or `F`, either case, as numpy's `order=` takes them.
    ///
    /// ```
    /// use ndmmap::Order;
    /// assert_eq!("f".parse::<Order>()?, Order::F);
    /// assert_eq!(Order::C.to_string(), "C");
    /// assert!("K".parse::<Order>().is_err());
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Order> {
        match s {
            "C" | "c" => Ok(Order::C),
            "F" | "f" => Ok(Order::F),
            _ => Err(Error::BadOrder {
                given: crate::error::excerpt(s),
            }),
        }
    }
}

impl std::fmt::Display for Order {
    /// `C` or `F`, as numpy writes them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if *self == Order::F { "F" } else { "C" })
    }
}

/// The memory order of an array of shape `dim` with element `strides`: C unless they differ
/// from C order's (a Fortran-order array with more than one non-trivial axis).
pub(crate) fn order_of<D: Dimension>(dim: &D, strides: &D) -> Order {
    match dim_and_strides(ndarray::Shape::from(dim.clone()), 1) {
        Ok((_, c, _)) if c.slice() != strides.slice() => Order::F,
        _ => Order::C,
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
    map: Mapping,
    dim: D,
    strides: D,
    _elem: PhantomData<T>,
}

/// Shape and strides (in elements) of an ndarray shape, checked to fit in `isize::MAX` bytes
/// of `elem_size`-byte elements.
pub(crate) fn dim_and_strides<D: Dimension>(
    shape: ndarray::Shape<D>,
    elem_size: usize,
) -> Result<(D, D, usize)> {
    let bytes = layout::checked_bytes(shape.raw_dim().slice(), elem_size)?;
    let probe_shape = shape.raw_dim().slice().to_vec();
    let n = shape.size();
    // ndarray computes C or Fortran strides but keeps them private: read them off a view of
    // zero-sized elements, for which any well-aligned pointer is valid for `n` reads.
    let probe: &[()] = {
        // SAFETY: a slice of a zero-sized type of any length occupies no memory.
        unsafe { std::slice::from_raw_parts(std::ptr::NonNull::<()>::dangling().as_ptr(), n) }
    };
    let view = ArrayView::from_shape(shape, probe).map_err(|_| Error::SizeOverflow {
        shape: probe_shape.clone(),
        elem_size,
    })?;
    let mut strides = view.raw_dim();
    for (s, &v) in strides.slice_mut().iter_mut().zip(view.strides()) {
        *s = v as usize;
    }
    Ok((view.raw_dim(), strides, bytes))
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// An array over `map`, whose bytes hold `dim` elements with `strides`.
    pub(crate) fn from_parts(map: Mapping, dim: D, strides: D) -> MmapArray<T, D> {
        debug_assert!(dim.size() * size_of::<T>() <= map.len());
        MmapArray {
            map,
            dim,
            strides,
            _elem: PhantomData,
        }
    }

    /// Remaps a file map in place to `dim` elements (`strides`, `bytes`), which the file must
    /// already cover: the one way the shape of an existing array changes (see
    /// [`resize`](Self::resize), which changes the file around it, and `npy`'s `reload_npy`).
    pub(crate) fn resize_in_place(&mut self, dim: D, strides: D, bytes: usize) -> Result<()> {
        self.map.remap(bytes)?;
        self.dim = dim;
        self.strides = strides;
        Ok(())
    }

    /// After a resize that failed and could not be undone: fewer rows, so that the shape never
    /// describes bytes the mapping does not hold (a view of them would read unmapped memory).
    /// Rows are axis 0 of a C-order array, as `resize` has them.
    pub(crate) fn clamp_rows_to_map(&mut self) {
        let Some(&rows) = self.dim.slice().first() else {
            return;
        };
        let row_bytes = self.nbytes().checked_div(rows).unwrap_or(0);
        if row_bytes > 0 && self.nbytes() > self.map.len() {
            self.dim[0] = self.map.len() / row_bytes;
        }
    }

    /// The mapping (a stream's guard).
    pub(crate) fn mapping(&self) -> &Mapping {
        &self.map
    }

    /// The mapping, to mark or extend it (`npy`, `shared`).
    #[allow(dead_code)]
    pub(crate) fn map_mut(&mut self) -> &mut Mapping {
        &mut self.map
    }

    /// The mapping, shape and strides, taken apart (`shared`).
    #[allow(dead_code)]
    pub(crate) fn into_parts(self) -> (Mapping, D, D) {
        (self.map, self.dim, self.strides)
    }

    /// A read-only view of the whole array.
    ///
    /// ```
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((3, 4))?;
    /// assert_eq!(a.view().sum(), 0.0);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn view(&self) -> ArrayView<'_, T, D> {
        let shape = layout::stride_shape(self.dim.clone(), self.strides.clone());
        // SAFETY: the mapping holds `nbytes` readable bytes at `ptr`, aligned for T (the offset
        // was checked), T is Pod so any bytes are a valid T, and the view borrows `self`, so
        // the mapping outlives it and cannot be changed through `&mut self` meanwhile. Pages
        // are readable: only the `unsafe` `protect_none` takes read access away.
        unsafe { ArrayView::from_shape_ptr(shape, self.map.ptr() as *const T) }
    }

    /// A mutable view of the whole array, or [`Error::NotWritable`] when the map is
    /// read-only (by mode, or because some pages were protected with
    /// [`Protection::Read`](crate::Protection::Read)).
    ///
    /// ```
    /// let mut a = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(16)?;
    /// a.view_mut()?.fill(7);
    /// assert_eq!(a.view()[3], 7);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn view_mut(&mut self) -> Result<ArrayViewMut<'_, T, D>> {
        self.map.check_writable()?;
        let shape = layout::stride_shape(self.dim.clone(), self.strides.clone());
        // SAFETY: as in `view`, and the pages are writable; `&mut self` makes this the only view.
        Ok(unsafe { ArrayViewMut::from_shape_ptr(shape, self.map.ptr() as *mut T) })
    }

    /// The elements in memory order, as one slice.
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: as in `view`: `len()` aligned, initialised Pod elements live as long as `self`.
        unsafe { std::slice::from_raw_parts(self.map.ptr() as *const T, self.len()) }
    }

    /// The elements in memory order, as one mutable slice (see [`view_mut`](Self::view_mut)).
    pub fn as_slice_mut(&mut self) -> Result<&mut [T]> {
        self.map.check_writable()?;
        // SAFETY: as in `view_mut`.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.map.ptr() as *mut T, self.len()) })
    }

    /// The pages a selection touches, with every page operation on them: `..` for the whole
    /// array, an element range (flat, in logical order), or a slice `s![..]`.
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// use ndmmap::{Advice, MmapArray};
    /// let a = MmapArray::<f64, ndarray::Ix2>::anonymous((1000, 512))?;
    /// a.pages(s![100..200, ..])?.advise(Advice::WillNeed)?;
    /// let rows = a.pages(..)?.along(Axis(0))?;        // fraction resident per row
    /// let first = a.pages(0..512)?.residency()?;       // the first row's pages
    /// assert_eq!((rows.len(), first.total), (1000, 1));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn pages<S: Selection<D>>(&self, sel: S) -> Result<Pages<'_>> {
        self.select(sel.sel())
    }

    /// The pages of indices `range` of `axis`, every other axis whole: a stream's window, for
    /// any dimension type (a runtime slice is a [`Selection`] of `IxDyn` arrays only).
    pub(crate) fn pages_along(&self, axis: usize, range: Range<usize>) -> Result<Pages<'_>> {
        let window = layout::axis_window(self.ndim(), axis, range);
        self.select(pages::Sel::Slice(&window))
    }

    fn select(&self, sel: pages::Sel<'_>) -> Result<Pages<'_>> {
        let (shape, strides) = self.shape_strides();
        let (ranges, geometry, flat) =
            pages::select(&self.map, 0, &shape, &strides, size_of::<T>(), sel)?;
        Ok(Pages {
            map: &self.map,
            elem_size: size_of::<T>(),
            ranges,
            geometry,
            flat,
            restricted: false,
        })
    }

    /// The pages a selection touches, for changing their protection
    /// ([`PagesMut::protect`]); borrows the array mutably, so no view lives meanwhile.
    pub fn pages_mut<S: Selection<D>>(&mut self, sel: S) -> Result<PagesMut<'_>> {
        let p = self.pages(sel)?;
        let whole = p.len() == p.span().page_count;
        let addrs = p.addr_ranges().collect();
        Ok(PagesMut {
            map: &mut self.map,
            addrs,
            whole,
        })
    }

    /// Runs `f` on a view of the array with faults turned into errors: a `SIGBUS` on the
    /// array's pages inside `f` (the file was truncated by another process, or a full
    /// filesystem could not fill a sparse page) makes this return [`Error::Fault`] instead of
    /// killing the process. No copy is made; on an intact file it costs two atomic stores.
    /// After a fault `f` runs to its end on zero pages and its result is dropped; the array
    /// stays usable. See [`guard`](crate::guard) for how and the limits.
    ///
    /// On Windows `f` runs unguarded: a mapped file cannot be truncated there, so the fault this
    /// guards against cannot happen; the faults that remain (an in-page I/O error: a failing
    /// disk, or a full disk under a sparse file) end the process.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("g.bin");
    /// # std::fs::write(&path, vec![0u8; 1 << 20])?;
    /// // SAFETY: nobody writes the file behind the array's back; truncation is guarded below.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path_1d::<f64>(&path)? };
    /// std::fs::OpenOptions::new().write(true).open(&path)?.set_len(4096)?; // someone truncates
    /// match a.guarded(|v| v.sum()) {
    ///     Err(ndmmap::Error::Fault { len, .. }) => assert_eq!(len, 4096),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn guarded<R>(&self, f: impl FnOnce(ArrayView<'_, T, D>) -> R) -> Result<R> {
        let guard = Recovering::enter(&self.map)?;
        let r = f(self.view());
        guard.finish(r)
    }

    /// [`guarded`](Self::guarded) with a mutable view: writing into a sparse page on a full
    /// filesystem is [`Error::Fault`] with [`FaultCause::NoSpace`](crate::FaultCause::NoSpace);
    /// what was written before the fault is in the file.
    pub fn guarded_mut<R>(&mut self, f: impl FnOnce(ArrayViewMut<'_, T, D>) -> R) -> Result<R> {
        self.map.check_writable()?;
        let guard = Recovering::enter(&self.map)?;
        let shape = layout::stride_shape(self.dim.clone(), self.strides.clone());
        // SAFETY: as in `view_mut`.
        let view = unsafe { ArrayViewMut::from_shape_ptr(shape, self.map.ptr() as *mut T) };
        let r = f(view);
        guard.finish(r)
    }

    /// Copies selections out of the file through its descriptor (`pread`), so a truncated file
    /// is an `Err`, never a fault; and [`check`](Checked::check)s that the file still covers
    /// the mapping. See [`checked`](crate::checked).
    pub fn checked(&self) -> Checked<'_, T, D> {
        Checked {
            array: self,
            map: &self.map,
        }
    }

    /// [`checked`](Self::checked), and writes through the descriptor (`pwrite`): a full disk
    /// is the OS error. Needs a read-write map.
    pub fn checked_mut(&mut self) -> Result<CheckedMut<'_, T, D>> {
        crate::checked::check_mode(&self.map)?;
        Ok(CheckedMut {
            inner: self.checked(),
        })
    }

    /// The shape and strides as ndarray's dimension type.
    pub(crate) fn dims(&self) -> (D, D) {
        (self.dim.clone(), self.strides.clone())
    }

    /// Shape and element strides as plain vectors.
    pub(crate) fn shape_strides(&self) -> (Vec<usize>, Vec<isize>) {
        layout::shape_strides(&self.dim, &self.strides)
    }

    /// Gives `advice` for the whole array: shorthand for `pages(..)?.advise(advice)`.
    pub fn madvise(&self, advice: Advice) -> Result<()> {
        self.pages(..)?.advise(advice)
    }

    /// Writes the whole array back to its file: shorthand for `pages(..)?.flush(how)`.
    pub fn msync(&self, how: Flush) -> Result<()> {
        self.pages(..)?.flush(how)
    }

    /// The length of each axis.
    pub fn shape(&self) -> &[usize] {
        self.dim.slice()
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
        order_of(&self.dim, &self.strides)
    }

    /// The map's mode.
    pub fn mode(&self) -> Mode {
        self.map.mode()
    }

    /// Byte offset of element 0 in the file (0 for anonymous maps).
    pub fn offset(&self) -> u64 {
        self.map.offset()
    }

    /// The file's path, where one is known (given, or read back from the OS for a handle).
    pub fn path(&self) -> Option<&Path> {
        self.map.path()
    }

    /// The file behind the map (`None` for anonymous maps).
    pub fn file(&self) -> Option<&File> {
        self.map.file()
    }

    /// The pages the array's bytes span: `lead` bytes of the first page lie before element 0.
    pub fn page_span(&self) -> PageSpan {
        PageSpan::new(self.map.ptr() as usize, self.nbytes(), sys::page_size())
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
        MmapArray::from_parts(self.map, dim, strides)
    }
}
