//! Traversal in bounded memory: an array larger than RAM, read front to back a window at a
//! time, with the next window read ahead on another thread and the passed one dropped from the
//! process (and, on request, from the page cache).
//!
//! # What is walked
//! A stream walks the array's outermost axis in memory, [`outer_axis`]: axis 0 of a C-order
//! (or 1-D) array, the last axis of a Fortran-order one. One index of that axis (a "row" here,
//! whatever the order: for a Fortran-order matrix, a column) is every other axis whole, one
//! contiguous run of the array's bytes, so a window of consecutive indices is one contiguous
//! run too, and the pages read ahead and dropped behind are exactly the window's. All of the
//! axis is walked, or the indices [`range`](Stream::range) gives.
//!
//! Each window comes as `(first, view)`: `first` is the index along the walked axis of the
//! window's first index (counted from the start of the axis, not of the range), and `view` is
//! the array's [`view`](MmapArray::view) sliced along that axis to the window: every axis is
//! kept, with the array's order and strides.
//!
//! ```
//! use ndmmap::stream::{Behind, Stream};
//! let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((10_000, 64))?;
//! let mut total = 0.0;
//! for (first_row, rows) in Stream::new(&a)?.bytes(1 << 20).behind(Behind::Keep) {
//!     assert_eq!(rows.ncols(), 64);
//!     total += rows.sum();
//!     let _ = first_row;
//! }
//! assert_eq!(total, 0.0);
//! # Ok::<(), ndmmap::Error>(())
//! ```
//!
//! A Fortran-order matrix is walked along its columns (its last axis), here only columns
//! 100 to 249, 64 at a time:
//!
//! ```
//! use ndarray::{ShapeBuilder, s};
//! use ndmmap::stream::{self, Stream};
//! let mut a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((1000, 300).f())?;
//! for ((i, j), x) in a.view_mut()?.indexed_iter_mut() {
//!     *x = (i * 300 + j) as f64;
//! }
//! assert_eq!(stream::outer_axis(&a), 1);
//! let mut next = 100;
//! for (first_col, cols) in Stream::new(&a)?.range(100..250)?.rows(64) {
//!     assert_eq!(first_col, next);
//!     assert_eq!(cols.nrows(), 1000); // every row, some columns
//!     assert_eq!(cols, a.view().slice(s![.., first_col..first_col + cols.ncols()]));
//!     next += cols.ncols();
//! }
//! assert_eq!(next, 250);
//! # Ok::<(), ndmmap::Error>(())
//! ```
//!
//! # What is dropped, and what is never lost
//! After the caller moves on from a window, its pages are unmapped from the process's page
//! tables (`MADV_DONTNEED`), so the resident set stays about one or two windows whatever the
//! array's size. For a read-only or shared map this loses nothing: the pages stay in the page
//! cache (dirty ones included, written back by the kernel as usual) and a later access maps
//! them again. [`Behind::Evict`] also drops them from the page cache, writing dirty pages back
//! first. Private pages (a copy-on-write map, private anonymous memory) hold the only copy of
//! their data, so they are never dropped: such a stream keeps what it passed.
//!
//! # Read-ahead
//! While the caller works on window *k*, a helper thread faults window *k + 1* in
//! (`MADV_POPULATE_READ`, Linux 5.14+; `MADV_WILLNEED` elsewhere), so the caller's own page
//! faults are mostly gone by the time it gets there.
//!
//! # Owned windows
//! [`Chunks`] gives the same windows of a file-backed array as arrays of their own, each its own
//! mapping of the file (a Fortran-order array's chunks are Fortran-order arrays, their last
//! axis shortened); `Chunks::par_map_reduce` (feature `rayon`) works on them in parallel.
//! Every window of an array mapped on its own in this crate, a slab (feature `slab`) included,
//! is mapped by one function here.

use crate::array::{MmapArray, Order, dim_and_strides};
use crate::error::{Error, Result};
use crate::mapping::Mode;
use crate::options::MmapOptions;
use crate::pages::{Flush, Pages};
use crate::sys;
use bytemuck::Pod;
use ndarray::{ArrayView, ArrayViewMut, Axis, Dimension, ShapeBuilder, Slice};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::mpsc;

/// What a stream does with a window the caller has moved past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Behind {
    /// Unmap its pages from the process (the resident set stays bounded); the page cache keeps
    /// them, so a second pass over a cached file is fast.
    Keep,
    /// Also drop them from the page cache (`posix_fadvise(DONTNEED)`, dirty pages written
    /// back first): a pass that leaves the cache as it found it.
    Evict,
}

/// Windows of 60 MiB by default: a stream keeps about two windows resident (the caller's and
/// the one read ahead), so a pass stays within 128 MiB of RSS.
const DEFAULT_BYTES: usize = 60 << 20;

/// The read-ahead thread: faults in the page ranges it is sent, and says which request it has
/// finished, so a window is never dropped before its read-ahead is done (which would map its
/// pages again behind the stream).
struct Ahead {
    tx: Option<mpsc::Sender<(usize, Vec<Range<usize>>)>>,
    done: Option<mpsc::Receiver<usize>>,
    sent: usize,
    finished: usize,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ahead {
    fn start() -> Ahead {
        let (tx, rx) = mpsc::channel::<(usize, Vec<Range<usize>>)>();
        let (done_tx, done) = mpsc::channel::<usize>();
        let populate = sys::os::advice("MADV_POPULATE_READ");
        let willneed = sys::os::advice("MADV_WILLNEED");
        let thread = std::thread::Builder::new()
            .name("ndmmap-read-ahead".into())
            .spawn(move || {
                for (seq, ranges) in rx {
                    for r in ranges {
                        let len = r.end - r.start;
                        // SAFETY: the ranges are pages of the stream's array, which outlives
                        // this thread (joined when the stream drops); populating or advising
                        // reads pages in and never changes their contents.
                        let done = populate
                            .is_some_and(|a| unsafe { sys::madvise(r.start, len, a) }.is_ok());
                        if !done && let Some(a) = willneed {
                            // SAFETY: as above.
                            let _ = unsafe { sys::madvise(r.start, len, a) };
                        }
                    }
                    if done_tx.send(seq).is_err() {
                        break;
                    }
                }
            })
            .ok();
        let (tx, done) = match thread {
            Some(_) => (Some(tx), Some(done)),
            None => (None, None),
        };
        Ahead {
            tx,
            done,
            sent: 0,
            finished: 0,
            thread,
        }
    }

    /// Sends ranges to read ahead; the request's number, or `None` if there is no thread.
    fn send(&mut self, ranges: Vec<Range<usize>>) -> Option<usize> {
        let tx = self.tx.as_ref()?;
        self.sent += 1;
        tx.send((self.sent, ranges)).ok()?;
        Some(self.sent)
    }

    /// Waits until request `seq` is done.
    fn wait(&mut self, seq: usize) {
        while self.finished < seq {
            match self.done.as_ref().map(mpsc::Receiver::recv) {
                Some(Ok(n)) => self.finished = n,
                _ => return,
            }
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.tx = None; // closes the channel: the thread ends
        self.done = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The axis a stream walks: the outermost axis in memory, whose every index is one contiguous
/// run of the array's bytes. Axis 0 for a C-order array, a 1-D array (and, having no axis, a
/// 0-D one); the last axis, `ndim - 1`, for a Fortran-order array of more than one axis (as
/// [`MmapArray::order`] tells it).
///
/// ```
/// use ndarray::ShapeBuilder;
/// use ndmmap::{MmapArray, stream::outer_axis};
/// assert_eq!(outer_axis(&MmapArray::<u8, ndarray::Ix3>::anonymous((2, 3, 4))?), 0);
/// assert_eq!(outer_axis(&MmapArray::<u8, ndarray::Ix3>::anonymous((2, 3, 4).f())?), 2);
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn outer_axis<T: Pod, D: Dimension>(a: &MmapArray<T, D>) -> usize {
    if a.ndim() > 1 && a.order() == Order::F {
        a.ndim() - 1
    } else {
        0
    }
}

/// The file bytes of indices `range` of the outermost axis of an array that lies at byte
/// `offset`, each index `index_bytes` long: one contiguous run, as `(start, len)`.
fn window_bytes(offset: u64, index_bytes: usize, range: &Range<usize>) -> Result<(u64, usize)> {
    let overflow = || Error::OffsetOverflow {
        offset,
        len: range.end.saturating_mul(index_bytes),
    };
    let skip = range.start.checked_mul(index_bytes).ok_or_else(overflow)?;
    let len = range.len().checked_mul(index_bytes).ok_or_else(overflow)?;
    let start = offset.checked_add(skip as u64).ok_or_else(overflow)?;
    crate::layout::checked_end(start, len)?;
    Ok((start, len))
}

/// Bytes of one index of `axis` of an array of shape `dim`: every other axis whole.
fn index_bytes(dim: &[usize], axis: usize, elem_size: usize) -> Result<usize> {
    let mut others = dim.to_vec();
    others.remove(axis);
    crate::layout::checked_bytes(&others, elem_size)
}

/// `Err` unless `range` lies within `axis` of length `len`.
fn check_range(axis: usize, len: usize, range: &Range<usize>) -> Result<()> {
    if range.start > range.end || range.end > len {
        return Err(Error::AxisRange {
            axis,
            start: range.start,
            end: range.end,
            len,
        });
    }
    Ok(())
}

/// Maps indices `range` of the outermost axis `axis` of the array of shape `dim` (all of it,
/// in C order when `axis` is 0, in Fortran order when it is the last of several) that lies at
/// byte `offset` of `file`, as an array of its own: the same order, that axis shortened to the
/// range. The one function that maps a window of an array ([`Chunks`], slabs).
/// `opts` gives the mode and flags; its offset is replaced. The map is marked as part of a
/// larger array, which [`MmapArray::resize`] refuses (the file holds the rest).
///
/// # Safety
/// The file contract of [`MmapArray`](crate::MmapArray#safety-of-file-backed-arrays), for as
/// long as the window lives.
pub(crate) unsafe fn map_window<T: Pod, D: Dimension>(
    opts: &MmapOptions,
    file: &std::fs::File,
    path: Option<PathBuf>,
    offset: u64,
    dim: &D,
    axis: usize,
    range: Range<usize>,
) -> Result<MmapArray<T, D>> {
    let ndim = dim.ndim();
    if axis >= ndim {
        return Err(Error::BadAxis { axis, ndim });
    }
    if axis != 0 && axis != ndim - 1 {
        return Err(Error::Unsupported {
            what: "mapping a window of an axis that is neither the first nor the last",
        });
    }
    check_range(axis, dim[axis], &range)?;
    crate::layout::checked_bytes(dim.slice(), size_of::<T>())?;
    let per_index = index_bytes(dim.slice(), axis, size_of::<T>())?;
    let (start, _) = window_bytes(offset, per_index, &range)?;
    let mut local = dim.clone();
    local[axis] = range.len();
    let shape = local.set_f(axis > 0);
    let mut o = opts.clone();
    o.offset(start);
    // SAFETY: forwarded to the caller.
    let mut window: MmapArray<T, D> =
        unsafe { o.map_file(file, path, |_| dim_and_strides(shape, size_of::<T>()))? };
    window.map_mut().set_fixed_len();
    Ok(window)
}

/// The windows of a walk: which axis, which of its indices, how many per window, and where
/// the walk is; shared by [`Stream`], [`StreamMut`] and [`Chunks`].
#[derive(Debug, Clone)]
struct Windows {
    axis: usize,
    /// The axis' length.
    len: usize,
    /// Bytes of one index of the axis.
    index_bytes: usize,
    /// The indices walked.
    range: Range<usize>,
    /// Indices per window (at least one).
    per: usize,
    /// The first index of the next window.
    next: usize,
}

impl Windows {
    /// All of the outermost axis of `a`, in windows of [`DEFAULT_BYTES`]. `Err` for a 0-D
    /// array, or one in neither C nor Fortran order (whose indices are not contiguous).
    fn new<T: Pod, D: Dimension>(a: &MmapArray<T, D>) -> Result<Windows> {
        if a.ndim() == 0 {
            return Err(Error::BadAxis { axis: 0, ndim: 0 });
        }
        let axis = outer_axis(a);
        let (dim, strides) = a.dims();
        // Every array this crate makes is in C or Fortran order; check rather than assume, as
        // the windows' pages and views rest on it.
        let plain = dim_and_strides(dim.clone().set_f(axis > 0), 1);
        if !matches!(plain, Ok((_, s, _)) if s == strides) {
            return Err(Error::Unsupported {
                what: "streaming an array in neither C nor Fortran order",
            });
        }
        let len = dim[axis];
        let mut w = Windows {
            axis,
            len,
            index_bytes: index_bytes(dim.slice(), axis, size_of::<T>())?,
            range: 0..len,
            per: 1,
            next: 0,
        };
        w.set_bytes(DEFAULT_BYTES);
        Ok(w)
    }

    fn set_rows(&mut self, n: usize) {
        self.per = n.max(1);
    }

    fn set_bytes(&mut self, bytes: usize) {
        // Indices of no bytes (another axis is empty): one window holds them all.
        self.per = bytes
            .checked_div(self.index_bytes)
            .unwrap_or(usize::MAX)
            .max(1);
    }

    fn set_range(&mut self, range: Range<usize>) -> Result<()> {
        check_range(self.axis, self.len, &range)?;
        self.next = range.start;
        self.range = range;
        Ok(())
    }

    /// The next window, without moving on.
    fn peek(&self) -> Option<Range<usize>> {
        (self.next < self.range.end)
            .then(|| self.next..self.next.saturating_add(self.per).min(self.range.end))
    }

    /// The next window, moving on past it.
    fn advance(&mut self) -> Option<Range<usize>> {
        let r = self.peek()?;
        self.next = r.end;
        Some(r)
    }
}

/// A walk's windows and what to do around them (read ahead, drop behind); shared by
/// [`Stream`] and [`StreamMut`].
struct Walk<'a> {
    windows: Windows,
    behind: Behind,
    /// Whether passed pages may be unmapped (not private memory).
    droppable: bool,
    /// Whether the first window's read-ahead was asked for.
    started: bool,
    passed: Option<Range<usize>>,
    ahead: Ahead,
    /// The read-ahead requests of windows not yet dropped: (first index, request).
    requested: std::collections::VecDeque<(usize, usize)>,
    pages: Box<dyn Fn(Range<usize>) -> Result<Pages<'a>> + 'a>,
    /// The array's mapping, for [`Stream::guarded`] and [`StreamMut::guarded`].
    map: &'a crate::mapping::Mapping,
}

impl<'a> Walk<'a> {
    fn new<T: Pod, D: Dimension>(a: &'a MmapArray<T, D>) -> Result<Walk<'a>> {
        let windows = Windows::new(a)?;
        let axis = windows.axis;
        Ok(Walk {
            windows,
            behind: Behind::Keep,
            droppable: a.mode() != Mode::CopyOnWrite,
            started: false,
            passed: None,
            ahead: Ahead::start(),
            requested: std::collections::VecDeque::new(),
            pages: Box::new(move |r: Range<usize>| a.pages_along(axis, r)),
            map: a.mapping(),
        })
    }

    /// `f(stream)` under a fault guard over the array's pages.
    fn guarded<S, R>(
        map: &crate::mapping::Mapping,
        stream: S,
        f: impl FnOnce(S) -> R,
    ) -> Result<R> {
        let guard = crate::array::Recovering::enter(map)?;
        let r = f(stream);
        guard.finish(r)
    }

    /// Walks `range` from its start: what was passed is dropped, read-ahead asked for so far
    /// finished first.
    fn set_range(&mut self, range: Range<usize>) -> Result<()> {
        self.windows.set_range(range)?;
        self.release();
        while let Some((_, seq)) = self.requested.pop_front() {
            self.ahead.wait(seq);
        }
        self.started = false;
        Ok(())
    }

    /// Asks the read-ahead thread for window `r`.
    fn prefetch(&mut self, r: Range<usize>) {
        let start = r.start;
        if let Ok(p) = (self.pages)(r) {
            let ranges = p.addr_ranges().collect();
            drop(p);
            if let Some(seq) = self.ahead.send(ranges) {
                self.requested.push_back((start, seq));
            }
        }
    }

    /// Drops what the caller passed (see the module docs); errors are hints lost, never data.
    fn release(&mut self) {
        let Some(r) = self.passed.take() else { return };
        // Its read-ahead must be over, or it would map the pages again after the drop.
        while let Some(&(start, seq)) = self.requested.front() {
            if start > r.start {
                break;
            }
            self.ahead.wait(seq);
            self.requested.pop_front();
        }
        if !self.droppable {
            return;
        }
        let Ok(p) = (self.pages)(r) else { return };
        if self.behind == Behind::Evict {
            // Dirty pages first, so eviction drops them too.
            let _ = p.flush(Flush::Sync);
        }
        // SAFETY: the map is read-only or shared (file or anonymous), so unmapping its pages
        // from this process loses nothing: the page cache (or shared memory) keeps them,
        // dirty ones included, and any view still alive maps them again on access.
        let _ = unsafe { p.advise_unchecked(crate::UncheckedAdvice::DontNeed) };
        if self.behind == Behind::Evict {
            let _ = p.evict();
        }
    }

    /// The next window's indices, read ahead of it scheduled.
    fn step(&mut self) -> Option<Range<usize>> {
        self.release();
        if !self.started {
            self.started = true;
            if let Some(first) = self.windows.peek() {
                self.prefetch(first);
            }
        }
        let r = self.windows.advance()?;
        if let Some(ahead) = self.windows.peek() {
            self.prefetch(ahead);
        }
        self.passed = Some(r.clone());
        Some(r)
    }
}

impl Drop for Walk<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// The window settings shared by [`Stream`], [`StreamMut`] and [`Chunks`]; `$w` is the field
/// path to their [`Windows`], `$what` what a window is called in the docs.
macro_rules! window_builder {
    ($what:literal, $($w:ident).+) => {
        /// The axis walked: [`outer_axis`] of the array.
        pub fn axis(&self) -> usize {
            self.$($w).+.axis
        }

        #[doc = concat!($what, " of `n` indices of the walked axis (at least one): `n` rows of a C-order")]
        /// array, `n` indices of the last axis of a Fortran-order one.
        pub fn rows(mut self, n: usize) -> Self {
            self.$($w).+.set_rows(n);
            self
        }

        #[doc = concat!($what, " of about `bytes` (whole indices of the walked axis, at least one).")]
        pub fn bytes(mut self, bytes: usize) -> Self {
            self.$($w).+.set_bytes(bytes);
            self
        }
    };
}

/// Consecutive windows of an array along its outermost axis in memory, as views, in bounded
/// memory (see the [module docs](self)). An `Iterator` over `(first, view)`: `first` is the
/// index along [`axis`](Stream::axis) of the window's first index, `view` the window.
pub struct Stream<'a, T: Pod, D: Dimension> {
    array: &'a MmapArray<T, D>,
    walk: Walk<'a>,
}

impl<'a, T: Pod, D: Dimension> Stream<'a, T, D> {
    /// A stream over all of [`outer_axis`] of `array`, in windows of 60 MiB, keeping the page
    /// cache ([`Behind::Keep`]). `Err(BadAxis)` for a 0-D array, `Err(Unsupported)` for one
    /// in neither C nor Fortran order (which no array of this crate is).
    pub fn new(array: &'a MmapArray<T, D>) -> Result<Stream<'a, T, D>> {
        Ok(Stream {
            array,
            walk: Walk::new(array)?,
        })
    }

    /// Walks only indices `range` of the axis (all of it by default), from `range.start`; the
    /// first index of each window is still counted from the start of the axis. An empty range
    /// yields no window. [`Error::AxisRange`] if `range` ends past the axis or starts past its
    /// end.
    ///
    /// ```
    /// use ndarray::s;
    /// use ndmmap::stream::Stream;
    /// let a = ndmmap::MmapArray::<u32, ndarray::Ix3>::anonymous((100, 4, 5))?;
    /// let firsts: Vec<usize> = Stream::new(&a)?.range(10..25)?.rows(7).map(|(i, _)| i).collect();
    /// assert_eq!(firsts, [10, 17, 24]);
    /// let (_, w) = Stream::new(&a)?.range(10..25)?.rows(7).nth(2).unwrap();
    /// assert_eq!(w, a.view().slice(s![24..25, .., ..]));
    /// assert!(matches!(
    ///     Stream::new(&a)?.range(90..101),
    ///     Err(ndmmap::Error::AxisRange { axis: 0, start: 90, end: 101, len: 100 })
    /// ));
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn range(mut self, range: Range<usize>) -> Result<Self> {
        self.walk.set_range(range)?;
        Ok(self)
    }

    window_builder!("Windows", walk.windows);

    /// What to do with passed windows.
    pub fn behind(mut self, behind: Behind) -> Self {
        self.walk.behind = behind;
        self
    }
}

impl<'a, T: Pod, D: Dimension> Stream<'a, T, D> {
    /// Runs `f` on the stream under [`guarded`](MmapArray::guarded)'s fault guard over the
    /// array's pages, for every thread `f` uses: a file truncated during the walk is
    /// [`Error::Fault`], not `SIGBUS`, and what `f` computed is dropped.
    ///
    /// ```
    /// use ndmmap::stream::Stream;
    /// let a = ndmmap::MmapArray::<f64, ndarray::Ix2>::anonymous((10_000, 8))?;
    /// let sum = Stream::new(&a)?.guarded(|s| s.map(|(_, rows)| rows.sum()).sum::<f64>())?;
    /// assert_eq!(sum, 0.0);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn guarded<R>(self, f: impl FnOnce(Self) -> R) -> Result<R> {
        let map = self.walk.map;
        Walk::guarded(map, self, f)
    }
}

impl<'a, T: Pod, D: Dimension> Iterator for Stream<'a, T, D> {
    type Item = (usize, ArrayView<'a, T, D>);

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.walk.step()?;
        let view = self
            .array
            .view()
            .slice_axis_move(Axis(self.walk.windows.axis), Slice::from(r.clone()));
        Some((r.start, view))
    }
}

/// [`Stream`] with mutable views, for a pass that writes: what it writes reaches the file as
/// through any view of a shared map (and, with [`Behind::Evict`], is written back before its
/// pages are dropped). The windows are disjoint.
pub struct StreamMut<'a, T: Pod, D: Dimension> {
    ptr: *mut T,
    dim: D,
    strides: D,
    walk: Walk<'a>,
    _array: std::marker::PhantomData<&'a mut MmapArray<T, D>>,
}

// SAFETY: the stream hands out disjoint mutable views of an array it borrows mutably, as
// `chunks_mut` does; T is Pod (plain data, Send and Sync).
unsafe impl<T: Pod, D: Dimension> Send for StreamMut<'_, T, D> {}

impl<'a, T: Pod, D: Dimension> StreamMut<'a, T, D> {
    /// A writing stream over [`outer_axis`] of `array`, which must be writable
    /// ([`Error::NotWritable`] otherwise); the other errors as for [`Stream::new`].
    pub fn new(array: &'a mut MmapArray<T, D>) -> Result<StreamMut<'a, T, D>> {
        let view = array.view_mut()?;
        let (ptr, dim, strides) = {
            let mut v = view;
            let dim = v.raw_dim();
            let mut strides = dim.clone();
            for (s, &x) in strides.slice_mut().iter_mut().zip(v.strides()) {
                *s = x as usize;
            }
            (v.as_mut_ptr(), dim, strides)
        };
        let array: &'a MmapArray<T, D> = array;
        Ok(StreamMut {
            ptr,
            dim,
            strides,
            walk: Walk::new(array)?,
            _array: std::marker::PhantomData,
        })
    }

    /// Walks only indices `range` of the axis, as [`Stream::range`] does.
    pub fn range(mut self, range: Range<usize>) -> Result<Self> {
        self.walk.set_range(range)?;
        Ok(self)
    }

    window_builder!("Windows", walk.windows);

    /// What to do with passed windows.
    pub fn behind(mut self, behind: Behind) -> Self {
        self.walk.behind = behind;
        self
    }
}

impl<'a, T: Pod, D: Dimension> StreamMut<'a, T, D> {
    /// Runs `f` on the stream under [`guarded_mut`](MmapArray::guarded_mut)'s fault guard,
    /// as [`Stream::guarded`]: writing into a file truncated meanwhile, or into a sparse page
    /// of a full filesystem, is [`Error::Fault`], not `SIGBUS`.
    pub fn guarded<R>(self, f: impl FnOnce(Self) -> R) -> Result<R> {
        let map = self.walk.map;
        Walk::guarded(map, self, f)
    }
}

impl<'a, T: Pod, D: Dimension> Iterator for StreamMut<'a, T, D> {
    type Item = (usize, ArrayViewMut<'a, T, D>);

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.walk.step()?;
        let axis = self.walk.windows.axis;
        let mut dim = self.dim.clone();
        dim[axis] = r.len();
        let shape = crate::layout::stride_shape(dim, self.strides.clone());
        // The element offset of the window's first index: within the array, as r.start is
        // within the axis (and 0 for an empty array, whose strides are 0).
        let first = self.strides[axis] * r.start;
        // SAFETY: indices `r` of the walked axis, every other axis whole, of the array the
        // stream borrows mutably for 'a; windows are disjoint ranges of that axis, so no two
        // views handed out alias; the pages are writable (checked by `view_mut` in `new`).
        let view = unsafe { ArrayViewMut::from_shape_ptr(shape, self.ptr.add(first)) };
        Some((r.start, view))
    }
}

/// The same windows as owned arrays, each its own mapping of the file, unmapped when dropped
/// (Haskell bytestring-mmap's lazily mapped chunks): a chunk is `Send` and `'static`, so it can
/// go to another thread, or be kept while the traversal moves on. A chunk has the array's
/// order, its walked axis shortened to the chunk's indices (the chunks of a Fortran-order
/// array are Fortran-order arrays); it cannot be [resized](MmapArray::resize), as the file
/// holds the rest of the array. The next chunk's file range is asked for
/// (`posix_fadvise(WILLNEED)`) as each chunk is made.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("c.bin");
/// # std::fs::write(&path, bytemuck::cast_slice(&vec![1.0f64; 1000 * 8]))?;
/// use ndmmap::stream::Chunks;
/// // SAFETY: nobody truncates or rewrites the file while `a` or its chunks live.
/// let a = unsafe { ndmmap::MmapOptions::new().map_path::<f64, ndarray::Ix2, _>(&path, (1000, 8))? };
/// let chunks = unsafe { Chunks::new(&a)? }.rows(300);
/// let handles: Vec<_> = chunks
///     .map(|c| c.map(|(_, chunk)| std::thread::spawn(move || chunk.view().sum())))
///     .collect::<Result<_, _>>()?;
/// let total: f64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
/// assert_eq!(total, 8000.0);
/// # Ok(()) }
/// ```
///
/// A Fortran-order array's chunks, of some of its columns:
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f.bin");
/// # std::fs::write(&path, bytemuck::cast_slice(&(0..6000).map(f64::from).collect::<Vec<_>>()))?;
/// use ndarray::{ShapeBuilder, s};
/// use ndmmap::{Order, stream::Chunks};
/// // SAFETY: nobody truncates or rewrites the file while `a` or its chunks live.
/// let a = unsafe { ndmmap::MmapOptions::new().map_path::<f64, ndarray::Ix2, _>(&path, (6, 1000).f())? };
/// for chunk in unsafe { Chunks::new(&a)? }.range(100..400)?.rows(128) {
///     let (first, c) = chunk?;
///     assert_eq!((c.order(), c.shape()[0]), (Order::F, 6));
///     assert_eq!(c.view(), a.view().slice(s![.., first..first + c.shape()[1]]));
/// }
/// # Ok(()) }
/// ```
pub struct Chunks<T: Pod, D: Dimension> {
    file: std::fs::File,
    path: Option<PathBuf>,
    options: MmapOptions,
    offset: u64,
    dim: D,
    windows: Windows,
    _elem: std::marker::PhantomData<T>,
}

impl<T: Pod, D: Dimension> Chunks<T, D> {
    /// Owned windows of all of [`outer_axis`] of the file-backed `array`, 60 MiB each by
    /// default. The chunks map the file itself, in the array's mode: a copy-on-write array's
    /// private changes are not in them. `Err` for anonymous memory, and as for
    /// [`Stream::new`].
    ///
    /// # Safety
    /// As for the array's own constructor (see
    /// [`MmapArray`](crate::MmapArray#safety-of-file-backed-arrays)), for as long as any chunk
    /// lives: each is a new mapping of the same file.
    pub unsafe fn new(array: &MmapArray<T, D>) -> Result<Chunks<T, D>> {
        let windows = Windows::new(array)?;
        let file = array
            .file()
            .ok_or(Error::Unsupported {
                what: "owned chunks of anonymous memory (stream it with Stream instead)",
            })?
            .try_clone()
            .map_err(|e| Error::io("dup", array.path(), e))?;
        let mut options = MmapOptions::new();
        options.mode(array.mode()).grow(false);
        Ok(Chunks {
            file,
            path: array.path().map(Into::into),
            options,
            offset: array.offset(),
            dim: array.dims().0,
            windows,
            _elem: std::marker::PhantomData,
        })
    }

    /// Only indices `range` of the axis, as [`Stream::range`].
    pub fn range(mut self, range: Range<usize>) -> Result<Self> {
        self.windows.set_range(range)?;
        Ok(self)
    }

    window_builder!("Chunks", windows);
}

impl<T: Pod, D: Dimension> Iterator for Chunks<T, D> {
    type Item = Result<(usize, MmapArray<T, D>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.windows.advance()?;
        if let Some(ahead) = self.windows.peek()
            && let Ok((off, len)) = window_bytes(self.offset, self.windows.index_bytes, &ahead)
            && len > 0
        {
            // A hint: failure changes nothing.
            let _ = crate::prefetch_file(&self.file, off, len as u64);
        }
        // SAFETY: the caller of `Chunks::new` upheld the file contract for every chunk.
        let chunk = unsafe {
            map_window(
                &self.options,
                &self.file,
                self.path.clone(),
                self.offset,
                &self.dim,
                self.windows.axis,
                r.clone(),
            )
        };
        Some(chunk.map(|c| (r.start, c)))
    }
}

#[cfg(feature = "rayon")]
impl<T: Pod + Send + Sync, D: Dimension + Send> Chunks<T, D> {
    /// Maps `f` over the chunks on rayon's thread pool and reduces the results with `reduce`
    /// (from `identity`). Workers pull chunks as they finish the last one, and each chunk is
    /// unmapped when its `f` returns, so at most about one chunk per worker thread is mapped
    /// at a time: the memory bound of the sequential walk, times the threads. Each chunk is
    /// read under [`guarded`](MmapArray::guarded)'s guard: a file truncated meanwhile is
    /// [`Error::Fault`], not `SIGBUS`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("p.bin");
    /// # std::fs::write(&path, bytemuck::cast_slice(&vec![2.0f64; 1 << 16]))?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` or its chunks live.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path_1d::<f64>(&path)? };
    /// let chunks = unsafe { ndmmap::stream::Chunks::new(&a)? }.rows(4096);
    /// let sum = chunks.par_map_reduce(|_, v| v.sum(), || 0.0, |x, y| x + y)?;
    /// assert_eq!(sum, 2.0 * 65536.0);
    /// # Ok(()) }
    /// ```
    pub fn par_map_reduce<R: Send>(
        self,
        f: impl Fn(usize, ArrayView<'_, T, D>) -> R + Sync + Send,
        identity: impl Fn() -> R + Sync + Send,
        reduce: impl Fn(R, R) -> R + Sync + Send,
    ) -> Result<R> {
        use rayon::iter::{ParallelBridge, ParallelIterator};
        // Each chunk under its own guard: a file truncated meanwhile is an error on any worker.
        self.par_bridge()
            .map(|c| c.and_then(|(first, chunk)| chunk.guarded(|v| f(first, v))))
            .try_reduce(&identity, |a, b| Ok(reduce(a, b)))
    }
}
