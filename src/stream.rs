//! Traversal in bounded memory: an array larger than RAM, read front to back a window of rows
//! at a time, with the next window read ahead on another thread and the passed one dropped
//! from the process (and, on request, from the page cache).
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
//! Streams go along axis 0 of an array whose rows are contiguous (C order); a Fortran-order
//! array is an [`Error::Unsupported`].

use crate::array::MmapArray;
use crate::error::{Error, Result};
use crate::mapping::Mode;
use crate::pages::{Flush, Pages};
use crate::sys;
use bytemuck::Pod;
use ndarray::{ArrayView, ArrayViewMut, Axis, Dimension, Slice};
use std::ops::Range;
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

/// The rows of one window and what to do around it; shared by [`Stream`] and [`StreamMut`].
struct Walk<'a> {
    rows: usize,
    per: usize,
    next: usize,
    row_elems: usize,
    behind: Behind,
    /// Whether passed pages may be unmapped (not private memory).
    droppable: bool,
    passed: Option<Range<usize>>,
    ahead: Ahead,
    /// The read-ahead requests of windows not yet dropped: (first row, request).
    requested: std::collections::VecDeque<(usize, usize)>,
    pages: Box<dyn Fn(Range<usize>) -> Result<Pages<'a>> + 'a>,
}

impl<'a> Walk<'a> {
    fn new<T: Pod, D: Dimension>(a: &'a MmapArray<T, D>) -> Result<Walk<'a>> {
        if a.ndim() == 0 {
            return Err(Error::BadAxis { axis: 0, ndim: 0 });
        }
        if a.ndim() > 1 && !a.view().is_standard_layout() {
            return Err(Error::Unsupported {
                what: "streaming a Fortran-order array (its rows are not contiguous)",
            });
        }
        let rows = a.shape()[0];
        let row_elems: usize = a.shape()[1..].iter().product();
        let droppable = a.mode() != Mode::CopyOnWrite;
        let mut w = Walk {
            rows,
            per: 1,
            next: 0,
            row_elems,
            behind: Behind::Keep,
            droppable,
            passed: None,
            ahead: Ahead::start(),
            requested: std::collections::VecDeque::new(),
            pages: Box::new(move |r: Range<usize>| a.pages(r.start * row_elems..r.end * row_elems)),
        };
        w.set_bytes(DEFAULT_BYTES, size_of::<T>());
        Ok(w)
    }

    fn set_bytes(&mut self, bytes: usize, elem: usize) {
        let row_bytes = self.row_elems * elem;
        self.per = bytes.checked_div(row_bytes).unwrap_or(self.rows).max(1);
    }

    fn window(&self, start: usize) -> Range<usize> {
        start..(start + self.per).min(self.rows)
    }

    /// Asks the read-ahead thread for the window starting at `start`.
    fn prefetch(&mut self, start: usize) {
        if start < self.rows
            && let Ok(p) = (self.pages)(self.window(start))
        {
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

    /// The next window's rows, read ahead of it scheduled.
    fn step(&mut self) -> Option<Range<usize>> {
        self.release();
        if self.next >= self.rows {
            return None;
        }
        if self.next == 0 {
            self.prefetch(0);
        }
        let r = self.window(self.next);
        self.next = r.end;
        self.prefetch(r.end);
        self.passed = Some(r.clone());
        Some(r)
    }
}

impl Drop for Walk<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// The window settings of [`Stream`] and [`StreamMut`], which both hold a `walk`.
macro_rules! window_builder {
    () => {
        /// Windows of `n` rows (at least one).
        pub fn rows(mut self, n: usize) -> Self {
            self.walk.per = n.max(1);
            self
        }

        /// Windows of about `bytes` (whole rows, at least one). The resident set peaks at
        /// about two windows: the caller's and the one read ahead.
        pub fn bytes(mut self, bytes: usize) -> Self {
            self.walk.set_bytes(bytes, size_of::<T>());
            self
        }

        /// What to do with passed windows.
        pub fn behind(mut self, behind: Behind) -> Self {
            self.walk.behind = behind;
            self
        }
    };
}

/// Consecutive windows of rows of an array, as views, in bounded memory (see the [module
/// docs](self)). An `Iterator` over `(first_row, view)`.
pub struct Stream<'a, T: Pod, D: Dimension> {
    array: &'a MmapArray<T, D>,
    walk: Walk<'a>,
}

impl<'a, T: Pod, D: Dimension> Stream<'a, T, D> {
    /// A stream over the rows (axis 0) of `array`, in windows of 60 MiB, keeping the page
    /// cache ([`Behind::Keep`]). `Err` for a 0-D or a Fortran-order array.
    pub fn new(array: &'a MmapArray<T, D>) -> Result<Stream<'a, T, D>> {
        Ok(Stream {
            array,
            walk: Walk::new(array)?,
        })
    }

    window_builder!();
}

impl<'a, T: Pod, D: Dimension> Iterator for Stream<'a, T, D> {
    type Item = (usize, ArrayView<'a, T, D>);

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.walk.step()?;
        let view = self
            .array
            .view()
            .slice_axis_move(Axis(0), Slice::from(r.clone()));
        Some((r.start, view))
    }
}

/// [`Stream`] with mutable views, for a pass that writes: what it writes reaches the file as
/// through any view of a shared map (and, with [`Behind::Evict`], is written back before its
/// pages are dropped).
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
    /// A writing stream over the rows of `array`, which must be writable.
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

    window_builder!();
}

impl<'a, T: Pod, D: Dimension> Iterator for StreamMut<'a, T, D> {
    type Item = (usize, ArrayViewMut<'a, T, D>);

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.walk.step()?;
        let mut dim = self.dim.clone();
        dim[0] = r.len();
        let shape = crate::layout::stride_shape(dim, self.strides.clone());
        let row = self.strides[0] * r.start;
        // SAFETY: rows `r` of the array, which the stream borrows mutably for 'a; windows are
        // disjoint, so no two views handed out alias; the pages are writable (checked by
        // `view_mut` in `new`).
        let view = unsafe { ArrayViewMut::from_shape_ptr(shape, self.ptr.add(row)) };
        Some((r.start, view))
    }
}

/// The same windows as owned arrays, each its own mapping of the file, unmapped when dropped
/// (Haskell bytestring-mmap's lazily mapped chunks): a chunk is `Send` and `'static`, so it can
/// go to another thread, or be kept while the traversal moves on. The next chunk's file range
/// is asked for (`posix_fadvise(WILLNEED)`) as each chunk is made.
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
pub struct Chunks<T: Pod, D: Dimension> {
    file: std::fs::File,
    path: Option<std::path::PathBuf>,
    mode: Mode,
    offset: u64,
    dim: D,
    row_bytes: usize,
    per: usize,
    next: usize,
    _elem: std::marker::PhantomData<T>,
}

impl<T: Pod, D: Dimension> Chunks<T, D> {
    /// Owned windows of the rows of the file-backed `array`, 60 MiB each by default. The chunks
    /// map the file itself: a copy-on-write array's private changes are not in them. `Err` for
    /// anonymous memory, a 0-D or a Fortran-order array.
    ///
    /// # Safety
    /// As for the array's own constructor (see
    /// [`MmapArray`](crate::MmapArray#safety-of-file-backed-arrays)), for as long as any chunk
    /// lives: each is a new mapping of the same file.
    pub unsafe fn new(array: &MmapArray<T, D>) -> Result<Chunks<T, D>> {
        let walk = Walk::new(array)?;
        let file = array
            .file()
            .ok_or(Error::Unsupported {
                what: "owned chunks of anonymous memory (stream it with Stream instead)",
            })?
            .try_clone()
            .map_err(|e| Error::io("dup", array.path(), e))?;
        Ok(Chunks {
            file,
            path: array.path().map(Into::into),
            mode: array.mode(),
            offset: array.offset(),
            dim: array.dims().0,
            row_bytes: walk.row_elems * size_of::<T>(),
            per: walk.per,
            next: 0,
            _elem: std::marker::PhantomData,
        })
    }

    /// Chunks of `n` rows (at least one).
    pub fn rows(mut self, n: usize) -> Self {
        self.per = n.max(1);
        self
    }

    /// Chunks of about `bytes` (whole rows, at least one).
    pub fn bytes(mut self, bytes: usize) -> Self {
        self.per = bytes
            .checked_div(self.row_bytes)
            .unwrap_or(self.dim[0])
            .max(1);
        self
    }

    fn chunk(&self, r: Range<usize>) -> Result<MmapArray<T, D>> {
        let mut dim = self.dim.clone();
        dim[0] = r.len();
        let settings = crate::mapping::Settings {
            mode: Some(self.mode),
            offset: crate::mapping::Offset::Bytes(self.offset + (r.start * self.row_bytes) as u64),
            grow: false,
            ..Default::default()
        };
        let shape = ndarray::Shape::from(dim);
        // SAFETY: the caller of `Chunks::new` upheld the file contract for every chunk.
        let (map, (dim, strides)) = unsafe {
            crate::mapping::Mapping::map_file(
                &settings,
                &self.file,
                self.path.clone(),
                size_of::<T>(),
                align_of::<T>(),
                |_| {
                    crate::array::dim_and_strides(shape, size_of::<T>())
                        .map(|(d, s, b)| ((d, s), b))
                },
            )?
        };
        Ok(MmapArray::from_parts(map, dim, strides))
    }
}

impl<T: Pod, D: Dimension> Iterator for Chunks<T, D> {
    type Item = Result<(usize, MmapArray<T, D>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let rows = self.dim[0];
        if self.next >= rows {
            return None;
        }
        let r = self.next..(self.next + self.per).min(rows);
        self.next = r.end;
        let ahead = r.end..(r.end + self.per).min(rows);
        if !ahead.is_empty() {
            let off = self.offset + (ahead.start * self.row_bytes) as u64;
            // A hint: failure changes nothing.
            let _ = crate::prefetch_file(&self.file, off, (ahead.len() * self.row_bytes) as u64);
        }
        Some(self.chunk(r.clone()).map(|a| (r.start, a)))
    }
}

#[cfg(feature = "rayon")]
impl<T: Pod + Send + Sync, D: Dimension + Send> Chunks<T, D> {
    /// Maps `f` over the chunks on rayon's thread pool and reduces the results with `reduce`
    /// (from `identity`). Workers pull chunks as they finish the last one, and each chunk is
    /// unmapped when its `f` returns, so at most about one chunk per worker thread is mapped
    /// at a time: the memory bound of the sequential walk, times the threads.
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
        self.par_bridge()
            .map(|c| c.map(|(first, chunk)| f(first, chunk.view())))
            .try_reduce(&identity, |a, b| Ok(reduce(a, b)))
    }
}
