//! Sharing arrays beyond one borrow and beyond forked children.
//!
//! - [`SharedArray`]: an `Arc`-backed handle to a mapping, `Clone + Send + Sync + 'static`,
//!   made by [`MmapArray::into_shared`]. Its [`slice`](SharedArray::slice)s are owned sub-views
//!   of the same mapping that go through channels and into spawned threads or tasks; the
//!   mapping is unmapped when the last handle or sub-view drops (Erlang's iommap region
//!   binaries, in Rust's types).
//! - `memfd` (Unix only): anonymous memory files sealed against shrinking, passed to
//!   unrelated processes over Unix sockets.
//! - [`shm`]: named shared memory: POSIX `shm_open` objects that Python's
//!   `multiprocessing.shared_memory` opens, named sections (`Local\NAME`) on Windows.
//!
//! ```
//! use ndarray::{Ix2, s};
//! use ndmmap::MmapArray;
//! # fn main() -> ndmmap::Result<()> {
//! let mut a = MmapArray::<f64, Ix2>::anonymous((1000, 8))?;
//! a.view_mut()?.fill(1.0);
//! let shared = a.into_shared();
//! let (tx, rx) = std::sync::mpsc::channel();
//! for k in 0..4 {
//!     let rows = shared.slice(s![k * 250..(k + 1) * 250, ..])?; // owned: 'static + Send
//!     let tx = tx.clone();
//!     std::thread::spawn(move || tx.send(rows.view().sum()).unwrap());
//! }
//! drop((tx, shared)); // the mapping lives on in the sub-views
//! assert_eq!(rx.iter().sum::<f64>(), 8000.0);
//! # Ok(()) }
//! ```

// Memory files and descriptor passing: Unix only (`memfd_create`, `SCM_RIGHTS`). On
// Windows, an array is shared with another process through `shm` (a named section).
#[cfg(unix)]
pub mod memfd;
pub mod shm;

use crate::array::{MmapArray, Recovering};
use crate::error::{Error, Result};
use crate::layout::{self, Geometry};
use crate::mapping::{Mapping, Mode};
use crate::pages::{self, Pages, Selection};
use bytemuck::Pod;
use ndarray::{ArrayView, ArrayViewMut, Axis, Dimension, RawArrayViewMut, SliceArg};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

/// An owned, shareable handle to (part of) a mapped array: `Clone + Send + Sync + 'static`.
///
/// Made by [`MmapArray::into_shared`]; [`slice`](Self::slice) makes owned sub-views that keep
/// the mapping alive by themselves. Each gives an [`ArrayView`] on demand
/// ([`view`](Self::view)) and the page toolkit for its own elements
/// ([`pages`](Self::pages)). Cloning copies a pointer, not data; the mapping is unmapped when
/// the last handle or sub-view is dropped.
///
/// Mutation needs proof that nobody else can read: [`view_mut`](Self::view_mut) works only
/// on the one remaining handle. Disjoint writers (threads filling their own rows) use
/// [`raw_view_mut`](Self::raw_view_mut), whose dereference is `unsafe`, as memmap2's
/// `MmapRaw` serves the same need.
///
/// A handle made from a file-backed array carries that array's file contract (see
/// [`MmapArray`'s safety section](crate::MmapArray#safety-of-file-backed-arrays)) for as long as
/// any handle lives.
pub struct SharedArray<T: Pod, D: Dimension> {
    map: Arc<Mapping>,
    /// Element offset of logical element 0 from the mapping's first byte.
    first: usize,
    dim: D,
    /// Element strides, negative ones as ndarray stores them (two's complement in `usize`).
    strides: D,
    /// The handle covers its whole mapping in the original layout (no slice taken).
    whole: bool,
    _elem: PhantomData<T>,
}

impl<T: Pod, D: Dimension> Clone for SharedArray<T, D> {
    fn clone(&self) -> Self {
        SharedArray {
            map: Arc::clone(&self.map),
            first: self.first,
            dim: self.dim.clone(),
            strides: self.strides.clone(),
            whole: self.whole,
            _elem: PhantomData,
        }
    }
}

impl<T: Pod, D: Dimension> std::fmt::Debug for SharedArray<T, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedArray")
            .field("shape", &self.shape())
            .field("strides", &self.signed_strides())
            .field("first", &self.first)
            .field("handles", &self.handles())
            .field("map", &self.map)
            .finish()
    }
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// Turns the array into a [`SharedArray`]: an `Arc`-backed handle that can be cloned,
    /// sliced into owned sub-views, and sent to other threads. No data is copied.
    ///
    /// ```
    /// let a = ndmmap::MmapArray::<u32, ndarray::Ix1>::anonymous(16)?;
    /// let h = a.into_shared();
    /// let h2 = h.clone();
    /// std::thread::spawn(move || assert_eq!(h2.view().sum(), 0)).join().unwrap();
    /// assert_eq!(h.handles(), 1);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn into_shared(self) -> SharedArray<T, D> {
        let (map, dim, strides) = self.into_parts();
        SharedArray {
            map: Arc::new(map),
            first: 0,
            dim,
            strides,
            whole: true,
            _elem: PhantomData,
        }
    }
}

/// Where a view of `dim`/`strides` starting at element `first` has its lowest element, its
/// strides made non-negative, and which axes were reversed to do so.
fn lowest<D: Dimension>(first: usize, dim: &D, strides: &D) -> (usize, D, Vec<usize>) {
    let mut low = first;
    let mut abs = strides.clone();
    let mut reversed = Vec::new();
    for (ax, (&n, s)) in dim.slice().iter().zip(abs.slice_mut()).enumerate() {
        let signed = *s as isize;
        if signed < 0 {
            if n > 0 {
                low = low.wrapping_add_signed(signed * (n as isize - 1));
            }
            *s = signed.unsigned_abs();
            reversed.push(ax);
        }
    }
    (low, abs, reversed)
}

impl<T: Pod, D: Dimension> SharedArray<T, D> {
    /// Address of element `offset` (elements from the mapping's first byte).
    fn elem_ptr(&self, offset: usize) -> *mut T {
        self.map.ptr().cast::<T>().wrapping_add(offset)
    }

    fn signed_strides(&self) -> Vec<isize> {
        layout::shape_strides(&self.dim, &self.strides).1
    }

    /// A read-only view of the handle's elements.
    ///
    /// ```
    /// use ndarray::s;
    /// let mut a = ndmmap::MmapArray::<i32, ndarray::Ix2>::anonymous((3, 4))?;
    /// a.view_mut()?.row_mut(2).fill(5);
    /// let last = a.into_shared().slice(s![-1, ..;-1])?;
    /// assert_eq!(last.view().to_vec(), vec![5, 5, 5, 5]);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn view(&self) -> ArrayView<'_, T, D> {
        let (low, abs, reversed) = lowest(self.first, &self.dim, &self.strides);
        // SAFETY: `first`, `dim` and `strides` describe elements inside the mapping (made by
        // `into_shared` from a whole array, or by `slice`, which checks the selection against
        // the shape), so with non-negative strides from the lowest element every element lies
        // in the mapping, aligned (the array's offset was checked) and initialised (`T: Pod`).
        // `self` holds an `Arc` of the mapping, which outlives the borrow; the mapping cannot
        // be resized or re-protected while it is shared (only `&Mapping` is reachable), and
        // writers through `raw_view_mut` promised not to write while views of their elements
        // live.
        let mut v = unsafe {
            ArrayView::from_shape_ptr(
                layout::stride_shape(self.dim.clone(), abs),
                self.elem_ptr(low).cast_const(),
            )
        };
        for ax in reversed {
            v.invert_axis(Axis(ax));
        }
        v
    }

    /// A mutable view, when this is the only handle of the mapping and the map is writable:
    /// else [`Error::Shared`] (with the count of handles) or [`Error::NotWritable`].
    ///
    /// ```
    /// let mut h = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(8)?.into_shared();
    /// let other = h.clone();
    /// assert!(matches!(h.view_mut(), Err(ndmmap::Error::Shared { handles: 2 })));
    /// drop(other);
    /// h.view_mut()?.fill(1);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn view_mut(&mut self) -> Result<ArrayViewMut<'_, T, D>> {
        let handles = self.handles();
        if Arc::get_mut(&mut self.map).is_none() {
            return Err(Error::Shared { handles });
        }
        let raw = self.raw_view_mut()?;
        // SAFETY: `Arc::get_mut` succeeded, so no other handle or sub-view of the mapping
        // exists, and `&mut self` excludes views through this one: the view is the only access
        // to its elements for its lifetime. The raw view is valid as `view` explains.
        Ok(unsafe { raw.deref_into_view_mut() })
    }

    /// A raw mutable view of the handle's elements, for writers that split an array among
    /// themselves (each thread its own rows), where the borrow checker cannot see that the
    /// parts are disjoint. [`Error::NotWritable`] on a read-only map.
    ///
    /// Making the raw view is safe; dereferencing it (`deref_into_view_mut`, or writing
    /// through its pointer) is `unsafe`: the caller promises that while it writes, no other
    /// view (from any handle, in any thread) reads or writes the same elements, and that a
    /// handle of the mapping lives as long as the raw view is used.
    ///
    /// ```
    /// use ndarray::s;
    /// let h = ndmmap::MmapArray::<u64, ndarray::Ix2>::anonymous((4, 1000))?.into_shared();
    /// std::thread::scope(|scope| -> ndmmap::Result<()> {
    ///     for r in 0..4 {
    ///         let row = h.slice(s![r, ..])?;
    ///         scope.spawn(move || {
    ///             let raw = row.raw_view_mut().unwrap();
    ///             // SAFETY: each thread writes only its own row, and nobody reads meanwhile;
    ///             // `row` keeps the mapping alive while the view is used.
    ///             unsafe { raw.deref_into_view_mut() }.fill(r as u64);
    ///         });
    ///     }
    ///     Ok(())
    /// })?;
    /// assert_eq!(h.view().sum(), 6000);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn raw_view_mut(&self) -> Result<RawArrayViewMut<T, D>> {
        self.map.check_writable()?;
        let (low, abs, reversed) = lowest(self.first, &self.dim, &self.strides);
        // SAFETY: as in `view`: the pointer and shape describe elements inside the mapping; a
        // raw view asserts nothing about aliasing, which its dereference (unsafe) must uphold.
        let mut v = unsafe {
            RawArrayViewMut::from_shape_ptr(
                layout::stride_shape(self.dim.clone(), abs),
                self.elem_ptr(low),
            )
        };
        for ax in reversed {
            v.invert_axis(Axis(ax));
        }
        Ok(v)
    }

    /// An owned sub-view of the same mapping: a slice `s![..]` (checked: a bad slice is
    /// [`Error::BadSlice`], never a panic). For `IxDyn` handles a `&[SliceInfoElem]` works too,
    /// and missing trailing axes are taken whole.
    ///
    /// ```
    /// use ndarray::s;
    /// let h = ndmmap::MmapArray::<f32, ndarray::Ix3>::anonymous((4, 5, 6))?.into_shared();
    /// let plane = h.slice(s![1, .., 2..;2])?;         // a SharedArray<f32, Ix2>
    /// assert_eq!(plane.shape(), &[5, 2]);
    /// assert!(h.slice(s![9, .., ..]).is_err());
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn slice<I: SliceArg<D>>(&self, info: I) -> Result<SharedArray<T, I::OutDim>> {
        let (shape, strides) = layout::shape_strides(&self.dim, &self.strides);
        let elems = info.as_ref();
        layout::check_slice(&shape, elems)?;
        let g: Geometry = layout::slice_geometry(&shape, &strides, elems);
        let mut dim = I::OutDim::zeros(g.shape.len());
        let mut out_strides = I::OutDim::zeros(g.shape.len());
        dim.slice_mut().copy_from_slice(&g.shape);
        for (o, &s) in out_strides.slice_mut().iter_mut().zip(&g.strides) {
            *o = s as usize;
        }
        Ok(SharedArray {
            map: Arc::clone(&self.map),
            first: self.first.wrapping_add(g.offset),
            dim,
            strides: out_strides,
            whole: false,
            _elem: PhantomData,
        })
    }

    /// The pages the handle's elements (or a selection of them: `..`, an element range in
    /// logical order, `s![..]`) touch, with every page operation of [`Pages`]. Page indices
    /// count from the first page of the whole mapping, as for the array it was made from.
    ///
    /// ```
    /// use ndarray::{Axis, s};
    /// let h = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((1024, 512))?.into_shared();
    /// let half = h.slice(s![512.., ..])?;
    /// half.pages(..)?.advise(ndmmap::Advice::PopulateRead)?;
    /// let rows = h.pages(..)?.along(Axis(0))?;
    /// assert_eq!((rows[0], rows[1023]), (0.0, 1.0));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn pages<S: Selection<D>>(&self, sel: S) -> Result<Pages<'_>> {
        let (shape, strides) = layout::shape_strides(&self.dim, &self.strides);
        let (ranges, geometry, flat) = pages::select(
            &self.map,
            self.first,
            &shape,
            &strides,
            size_of::<T>(),
            sel.sel(),
        )?;
        Ok(Pages {
            map: &self.map,
            elem_size: size_of::<T>(),
            ranges,
            geometry,
            flat,
            restricted: false,
        })
    }

    /// Runs `f` on a view with faults turned into errors, as [`MmapArray::guarded`] does.
    pub fn guarded<R>(&self, f: impl FnOnce(ArrayView<'_, T, D>) -> R) -> Result<R> {
        let guard = Recovering::enter(&self.map)?;
        let r = f(self.view());
        guard.finish(r)
    }

    /// The [`MmapArray`] back, when this is the only handle and it is not a slice; else the
    /// handle unchanged. An array is needed to resize, re-protect or stream the mapping.
    ///
    /// ```
    /// let h = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(8)?.into_shared();
    /// let copy = h.clone();
    /// let h = h.into_array().unwrap_err(); // `copy` still shares the mapping
    /// drop(copy);
    /// let a = h.into_array().unwrap();
    /// assert_eq!(a.len(), 8);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn into_array(self) -> std::result::Result<MmapArray<T, D>, SharedArray<T, D>> {
        if !self.whole {
            return Err(self);
        }
        match Arc::try_unwrap(self.map) {
            Ok(map) => Ok(MmapArray::from_parts(map, self.dim, self.strides)),
            Err(map) => Err(SharedArray { map, ..self }),
        }
    }

    /// How many handles and owned sub-views share the mapping (this one included).
    pub fn handles(&self) -> usize {
        Arc::strong_count(&self.map)
    }

    /// The length of each axis.
    pub fn shape(&self) -> &[usize] {
        self.dim.slice()
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.dim.ndim()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dim.size()
    }

    /// Whether the handle has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The map's mode.
    pub fn mode(&self) -> Mode {
        self.map.mode()
    }

    /// The file's path, where one is known.
    pub fn path(&self) -> Option<&Path> {
        self.map.path()
    }

    /// Converts the dimension type to a dynamic one.
    pub fn into_dyn(self) -> SharedArray<T, ndarray::IxDyn> {
        SharedArray {
            map: self.map,
            first: self.first,
            dim: self.dim.into_dyn(),
            strides: self.strides.into_dyn(),
            whole: self.whole,
            _elem: PhantomData,
        }
    }
}

impl<T: Pod, D: Dimension> From<MmapArray<T, D>> for SharedArray<T, D> {
    fn from(a: MmapArray<T, D>) -> Self {
        a.into_shared()
    }
}
