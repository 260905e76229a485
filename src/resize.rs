//! [`MmapArray::resize`]: more or fewer rows for a file-backed array, in place.
//!
//! The policy lives here (what may be resized, what happens to bytes after the array, the
//! order of the steps); the file and map operations are [`Mapping`](crate::mapping)'s, and
//! the `.npy` header rewrite is `npy`'s.

use crate::array::{MmapArray, dim_and_strides};
use crate::error::{Error, Result};
use crate::mapping::FileResize;
use bytemuck::Pod;
use ndarray::Dimension;
use std::fs::File;
use std::path::Path;

#[cfg(feature = "npy")]
use crate::npy::HeaderRewrite;

/// Without the `npy` feature no header can be rewritten (and none is prepared).
#[cfg(not(feature = "npy"))]
enum HeaderRewrite {}

#[cfg(not(feature = "npy"))]
impl HeaderRewrite {
    fn write(&self, _: &File, _: Option<&Path>) -> Result<()> {
        match *self {}
    }
    fn undo(&self, _: &File, _: Option<&Path>) -> Result<()> {
        match *self {}
    }
}

impl<T: Pod, D: Dimension> MmapArray<T, D> {
    /// Resizes a file-backed array along its first axis to `new_len` rows, in place: the file
    /// grows or shrinks, the map is remapped (`mremap` on Linux, which may move it; a new map
    /// elsewhere), and a `.npy` file's header is rewritten with the new shape. Taking
    /// `&mut self`, it cannot run while a view of the array lives. The rows kept are never
    /// copied or moved in the file; new rows are zeros.
    ///
    /// ```
    /// use ndarray::{Ix2, s};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("rows.npy");
    /// // SAFETY: the file is ours alone while the arrays live.
    /// let mut a = unsafe { ndmmap::npy::create::<f32, Ix2, _>(&path, (100, 3))? };
    /// a.view_mut()?.fill(1.0);
    /// a.resize(250)?;                                   // 150 new rows of zeros
    /// a.view_mut()?.slice_mut(s![100.., ..]).fill(2.0);
    /// a.resize(120)?;                                   // the file is truncated too
    /// assert_eq!(a.view().sum(), 100.0 * 3.0 + 20.0 * 6.0);
    /// drop(a);
    /// assert_eq!(ndmmap::npy::read_header(&path)?.shape, [120, 3]); // as numpy sees it
    /// # Ok(()) }
    /// ```
    ///
    /// The borrow checker refuses a resize while a view lives (its pages could move or go):
    ///
    /// ```compile_fail
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// let mut a = unsafe { ndmmap::npy::create::<f64, ndarray::Ix1, _>(&path, 10)? };
    /// let v = a.view();
    /// a.resize(20)?; // error[E0502]: cannot borrow `a` as mutable because it is also borrowed
    /// println!("{}", v[0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # What happens to the file
    /// - **Growing** overwrites whatever the file held between the array's old end and its new
    ///   end with zeros and extends a shorter file: sparse (`ftruncate`), or with its disk
    ///   blocks allocated (`fallocate`) when the array was made with `preallocate(true)`, so
    ///   that a full disk is an error now, not a `SIGBUS` on a later write.
    /// - **Shrinking** shrinks the map first, then truncates the file to the array's new end.
    /// - **Bytes after the array.** A raw file may hold bytes after the array that are not
    ///   part of it (a footer, another array). Shrinking truncates the file only when it ended
    ///   exactly where the array ended; otherwise its length is kept, and the dropped rows'
    ///   bytes and what followed them stay in the file untouched. Growing a raw file with
    ///   bytes after the array is refused ([`Error::CannotResize`]) rather than overwriting
    ///   them: map the file again with the longer shape if those bytes are rows of the array,
    ///   or truncate the file to the array's end ([`File::set_len`]) if they are not needed.
    ///   A `.npy` file holds nothing after its data that numpy reads, so growing one turns
    ///   such bytes into new (zeroed) rows.
    ///
    /// # Crash safety (`.npy` files)
    /// A crash at any moment leaves a file that numpy loads with either the old or the new
    /// shape, and no byte of the kept rows lost, because the header, which numpy believes,
    /// only ever describes bytes the file has, and the kept rows are never written:
    /// - growing: zero and extend the file, `fdatasync` (the length is on disk), remap, then
    ///   rewrite the header (one `pwrite` of the bytes of its text that change: the shape's
    ///   digits and the spaces after them, the text keeping its length) and `fdatasync`.
    ///   Until then the old header describes a file with zeros after its data, which numpy
    ///   ignores;
    /// - shrinking: rewrite the header and `fdatasync`, shrink the map, then truncate the
    ///   file. Until the truncation the new header describes a file with bytes after its data.
    ///
    /// A killed process loses nothing the kernel has (the page cache survives it), and the
    /// header write cannot be torn by a kill: the bytes that change are a few dozen, inside the
    /// file's first page for any header with a plain dtype, and Linux looks for a fatal signal
    /// only between the pages of a write. This is tested by killing resizing children at
    /// random points and loading each file with numpy. Against power loss the ordering
    /// relies on the filesystem honouring `fdatasync` and on those bytes (inside the file's
    /// first 512-byte sector) being written whole; rows written through the map are durable
    /// only once [`msync`](Self::msync) has returned, as always.
    ///
    /// # Concurrent resizers and readers
    /// A resize holds an exclusive advisory lock on the file from before it reads the file's
    /// length and header until it has written both: `flock` on Unix, `LockFileEx` on one byte
    /// past any data on Windows, taken on a handle opened afresh for the lock, so that arrays
    /// mapped from one `File` (or a parent's array in a forked child) exclude each other
    /// too. The `.npy` openers ([`npy::open`](crate::npy::open) and its siblings,
    /// [`reload_npy`](Self::reload_npy), [`container::open`](crate::container::open), slabs)
    /// read a header and the file's length under a shared lock, held until they have mapped
    /// them: they never see a header and a length from different resizes, and they wait while
    /// a resize runs. `resize` waits, too, for another resize or an opener to finish; locks
    /// are released when the holder drops them or dies (a killed process's handles close), so
    /// nothing waits for a dead process. On a filesystem without locks (some network
    /// filesystems) both go on unlocked.
    ///
    /// Holding the lock, `resize` reads the header and the file's length again: when another
    /// process (or another array of the file) resized it since this array mapped it, nothing
    /// is changed and the error is [`NpyError::ResizedElsewhere`](crate::NpyError), with both
    /// row counts; [`reload_npy`](Self::reload_npy) picks the new length up. So however
    /// resizers, readers and kills interleave, the header never claims more rows than the
    /// file holds, and every row that every resize kept holds what was written to it.
    ///
    /// The lock covers the resize, not the rows: another process that shrinks the file
    /// after this resize returned makes this array's pages past the new end fault
    /// (`SIGBUS`) when touched. Processes that share a file they resize should touch the
    /// rows with [`guarded_mut`](Self::guarded_mut)/[`guarded`](Self::guarded), which turn
    /// the fault into [`Error::Fault`], then [`reload_npy`](Self::reload_npy). numpy takes no
    /// lock: a `np.load` that runs during a resize can see the old or the new header, each
    /// describing bytes the file has (the order above), but it could read the few changing
    /// bytes while they are being copied.
    ///
    /// The `fdatasync`s (two for a growth, one for a shrink) also write back the rows dirtied
    /// through the map (that is what `fdatasync` does). A raw file has no header to keep
    /// consistent, and nothing is synced (call [`msync`](Self::msync) or [`File::sync_all`]
    /// when its length must be durable).
    /// A step that fails undoes the ones before it: the file's length, the header and the map
    /// are as they were (except zeroed bytes that followed a `.npy` file's data), and the
    /// error is returned.
    ///
    /// # Errors
    /// Nothing is changed when any of these is reported:
    /// - [`Error::CannotResize`]: an anonymous array (make a new one and copy), a
    ///   copy-on-write or read-only map (map the file with [`Mode::ReadWrite`]), a 0-D array,
    ///   a Fortran-order array with more than one axis longer than 1 (its first axis is not
    ///   contiguous in the file: rewrite it in C order), a device, a raw file with bytes after
    ///   the array (above), or a `.npy` header without room for the longer shape;
    /// - [`Error::NotWritable`] while pages are protected against writing
    ///   ([`PagesMut::protect`](crate::PagesMut::protect));
    /// - [`Error::Sealed`]: a memory file sealed against the change (`F_SEAL_GROW`,
    ///   `F_SEAL_SHRINK`);
    /// - [`NpyError::ResizedElsewhere`](crate::NpyError::ResizedElsewhere): the file was
    ///   resized since this array mapped it (call [`reload_npy`](Self::reload_npy), then
    ///   resize); [`NpyError::Stale`](crate::NpyError::Stale): the `.npy` header no longer
    ///   describes the array in other ways (another process rewrote the file);
    ///   [`NpyError::DataPastEnd`](crate::NpyError::DataPastEnd): the file is shorter than its
    ///   header says (truncated by something that is not a resize);
    /// - [`Error::SizeOverflow`] for a shape past `isize::MAX` bytes; [`Error::Io`] for what
    ///   the OS refused (a full disk, an exhausted address space).
    ///
    /// [`Mode::ReadWrite`]: crate::Mode::ReadWrite
    pub fn resize(&mut self, new_len: usize) -> Result<()> {
        let path = self.path().map(Path::to_path_buf);
        let cannot = |why: String| Error::CannotResize {
            path: path.clone(),
            why,
        };
        let shape = self.shape().to_vec();
        let Some(&old_len) = shape.first() else {
            return Err(cannot(
                "a 0-dimensional array has no axis to resize; map it as a 1-D array of one \
                 element to resize it"
                    .into(),
            ));
        };
        let long_axes = shape.iter().filter(|&&n| n > 1).count();
        if self.order() == crate::Order::F && !self.is_empty() && long_axes > 1 {
            return Err(cannot(format!(
                "it is a Fortran-order (column-major) array of shape {shape:?}: its first axis \
                 is not contiguous in the file, so rows cannot be added or dropped at its end; \
                 rewrite it in C order (numpy: np.save(path, np.ascontiguousarray(a)))"
            )));
        }
        let mut dim = self.dims().0;
        dim.slice_mut()[0] = new_len;
        let (dim, strides, bytes) = dim_and_strides(ndarray::Shape::from(dim), size_of::<T>())?;
        // Refusals that need no file come first; then the lock, before the file's length and
        // header are read: from here to the end no other resize changes them, and no `.npy`
        // opener reads them half changed.
        self.map_mut().plan_resize(bytes)?;
        let _lock = self.map_ref().lock_for_resize()?;
        let plan = self.map_mut().plan_resize(bytes)?;
        let has_header = self.map_ref().has_npy_header();
        let header = self.prepare_header(has_header, &shape, dim.slice(), plan.file_len)?;
        if plan.grows() && header.is_none() && plan.trailing() > 0 {
            return Err(cannot(format!(
                "the file has {} bytes after the array (bytes {}..{}) that are not part of it, \
                 which growing from {old_len} to {new_len} rows would overwrite; if they are \
                 rows of the array, map the file again with the longer shape; if they are not \
                 needed, truncate the file to {} bytes (File::set_len) first",
                plan.trailing(),
                plan.old_end,
                plan.file_len,
                plan.old_end
            )));
        }
        if new_len == old_len {
            return Ok(());
        }
        let file = self.resize_file()?;
        if plan.grows() {
            self.grow(&plan, &file, path.as_deref(), header, (dim, strides, bytes))
        } else {
            self.shrink(&plan, &file, path.as_deref(), header, (dim, strides, bytes))
        }
    }

    /// The header rewrite a `.npy` file needs (`None` for a raw file).
    fn prepare_header(
        &self,
        has_header: bool,
        shape: &[usize],
        new_shape: &[usize],
        file_len: u64,
    ) -> Result<Option<HeaderRewrite>> {
        let Some(file) = self.file().filter(|_| has_header) else {
            return Ok(None);
        };
        #[cfg(feature = "npy")]
        {
            HeaderRewrite::prepare(
                file,
                self.path(),
                (self.offset(), file_len),
                shape,
                size_of::<T>(),
                new_shape,
            )
            .map(Some)
        }
        #[cfg(not(feature = "npy"))]
        {
            let _ = (file, shape, new_shape, file_len);
            Err(Error::CannotResize {
                path: self.path().map(Path::to_path_buf),
                why: "it is a .npy file, whose header only the `npy` feature can rewrite".into(),
            })
        }
    }

    /// A handle of the file, kept while the map changes.
    fn resize_file(&self) -> Result<File> {
        let file = self.file().ok_or(Error::Unsupported {
            what: "resizing an anonymous map",
        })?;
        file.try_clone()
            .map_err(|e| Error::io("dup", self.path(), e))
    }

    /// Grows: zero and extend the file, make that durable, remap, then write the header.
    fn grow(
        &mut self,
        plan: &FileResize,
        file: &File,
        path: Option<&Path>,
        header: Option<HeaderRewrite>,
        (dim, strides, bytes): (D, D, usize),
    ) -> Result<()> {
        let (old_dim, old_strides) = self.dims();
        let old_bytes = self.map_ref().len();
        self.map_ref().extend_file(plan)?;
        let mut done = if header.is_some() {
            self.map_ref().sync_file()
        } else {
            Ok(())
        };
        if done.is_ok() {
            done = self.resize_in_place(dim, strides, bytes);
            if done.is_ok()
                && let Some(h) = &header
            {
                done = h.write(file, path).inspect_err(|_| {
                    let _ = h.undo(file, path);
                    let _ = self.resize_in_place(old_dim, old_strides, old_bytes);
                });
            }
        }
        if done.is_err() {
            // Cut the file back only under a map that no longer covers the new rows (a failed
            // shrink-back leaves them mapped: a shorter file would fault under them).
            if self.map_ref().len() <= old_bytes {
                self.map_ref().restore_len(plan);
            }
            self.clamp_rows_to_map();
        }
        done
    }

    /// Shrinks: write the header, shrink the map, then truncate the file.
    fn shrink(
        &mut self,
        plan: &FileResize,
        file: &File,
        path: Option<&Path>,
        header: Option<HeaderRewrite>,
        (dim, strides, bytes): (D, D, usize),
    ) -> Result<()> {
        let (old_dim, old_strides) = self.dims();
        let old_bytes = self.map_ref().len();
        let undo_header = || {
            if let Some(h) = &header {
                let _ = h.undo(file, path);
            }
        };
        if let Some(h) = &header {
            h.write(file, path).inspect_err(|_| undo_header())?;
        }
        self.resize_in_place(dim, strides, bytes)
            .inspect_err(|_| undo_header())?;
        self.map_mut().truncate_file(plan).inspect_err(|_| {
            // The file still holds every byte: grow the map back over them.
            let _ = self.resize_in_place(old_dim, old_strides, old_bytes);
            undo_header();
            self.clamp_rows_to_map();
        })
    }

    /// The mapping, for its file operations (`&mut self`: no view lives).
    fn map_ref(&mut self) -> &crate::mapping::Mapping {
        self.map_mut()
    }
}
