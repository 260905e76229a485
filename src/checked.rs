//! Checked copies, as Erlang's iommap `pread`/`pwrite`: a selection copied out of the file or
//! written into it through the file descriptor, so a truncated file or a full disk is an
//! `Err` and never a `SIGBUS`. Made by [`MmapArray::checked`](crate::MmapArray::checked) and
//! [`checked_mut`](crate::MmapArray::checked_mut).

use crate::array::MmapArray;
use crate::error::{Error, Result};
use crate::mapping::{Mapping, Mode};
use crate::pages::{self, Selection};
use crate::sys::FileAt;
use bytemuck::Pod;
use ndarray::{Array, Dimension, IxDyn};
use std::ops::Range;

/// Reads through the file descriptor; see the [module](self).
#[derive(Debug)]
pub struct Checked<'a, T: Pod, D: Dimension> {
    pub(crate) array: &'a MmapArray<T, D>,
    pub(crate) map: &'a Mapping,
}

/// Reads and writes through the file descriptor; see the [module](self). Borrows the array
/// mutably, so no view sees the bytes change.
#[derive(Debug)]
pub struct CheckedMut<'a, T: Pod, D: Dimension> {
    pub(crate) inner: Checked<'a, T, D>,
}

/// A selection as element offsets in logical order, the byte runs they cover (increasing,
/// merged) and the shape of the result.
struct Plan {
    offsets: Vec<usize>,
    runs: Vec<Range<usize>>,
    shape: Vec<usize>,
}

impl Plan {
    /// `Ok` when a buffer of `n` elements holds exactly the selection.
    fn check_len(&self, n: usize) -> Result<()> {
        if n == self.offsets.len() {
            return Ok(());
        }
        Err(Error::RangeOutOfBounds {
            start: 0,
            end: n,
            len: self.offsets.len(),
        })
    }
}

impl<'a, T: Pod, D: Dimension> Checked<'a, T, D> {
    fn plan<S: Selection<D>>(&self, sel: S) -> Result<Plan> {
        let (shape, strides) = self.array.shape_strides();
        let es = size_of::<T>();
        let (_, geometry, flat) = pages::select(self.map, 0, &shape, &strides, es, sel.sel())?;
        let mut offsets = Vec::new();
        let mut runs: Vec<Range<usize>> = Vec::new();
        for g in &geometry {
            g.for_each_offset(|o| offsets.push(o));
            g.runs(es, |r| runs.push(r));
        }
        let merged = crate::layout::sorted_merged(runs);
        let shape = if flat {
            vec![offsets.len()]
        } else {
            geometry[0].shape.clone()
        };
        Ok(Plan {
            offsets,
            runs: merged,
            shape,
        })
    }

    /// `Ok` when the file still covers every byte of the mapping (`fstat`), else
    /// [`Error::TooShort`] naming both lengths: a cheap test before handing out plain views.
    ///
    /// ```
    /// let a = ndmmap::MmapArray::<u8, ndarray::Ix1>::anonymous(10)?;
    /// a.checked().check()?; // anonymous memory is always covered
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn check(&self) -> Result<()> {
        self.covers(self.map.offset() + self.map.len() as u64)
    }

    fn covers(&self, needed: u64) -> Result<()> {
        let Some(file) = self.map.file() else {
            return Ok(());
        };
        let len = file
            .metadata()
            .map_err(|e| self.map.io_error("fstat", e))?
            .len();
        if len < needed {
            return Err(Error::TooShort {
                path: self.map.path().map(Into::into),
                len,
                needed,
            });
        }
        Ok(())
    }

    /// Copies a selection (`..`, an element range, a slice) into an owned array, reading the
    /// file with `pread`: a file shorter than the selection needs is [`Error::TooShort`],
    /// never a fault. An element range gives a 1-D array; anonymous arrays copy from memory.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("c.bin");
    /// # std::fs::write(&path, bytemuck::cast_slice(&(0..12).map(|i| i as f32).collect::<Vec<_>>()))?;
    /// // SAFETY: nobody writes the file behind the array's back.
    /// let a = unsafe { ndmmap::MmapOptions::new().map_path::<f32, ndarray::Ix2, _>(&path, (3, 4))? };
    /// let col = a.checked().read(ndarray::s![.., 1])?;
    /// assert_eq!(col.as_slice(), Some(&[1.0, 5.0, 9.0][..]));
    /// std::fs::OpenOptions::new().write(true).open(&path)?.set_len(16)?; // someone truncates
    /// assert!(matches!(a.checked().read(..), Err(ndmmap::Error::TooShort { len: 16, needed: 48, .. })));
    /// # Ok(()) }
    /// ```
    pub fn read<S: Selection<D>>(&self, sel: S) -> Result<Array<T, IxDyn>> {
        let plan = self.plan(sel)?;
        let mut out = Vec::with_capacity(plan.offsets.len());
        self.gather(&plan, |v| out.push(v))?;
        Array::from_shape_vec(IxDyn(&plan.shape), out).map_err(|_| Error::SizeOverflow {
            shape: plan.shape.clone(),
            elem_size: size_of::<T>(),
        })
    }

    /// [`read`](Self::read) into a caller's buffer, in logical order: `out` must hold exactly
    /// the selection's elements.
    pub fn read_into<S: Selection<D>>(&self, sel: S, out: &mut [T]) -> Result<()> {
        let plan = self.plan(sel)?;
        plan.check_len(out.len())?;
        let mut i = 0;
        self.gather(&plan, |v| {
            out[i] = v;
            i += 1;
        })
    }

    /// Reads the plan's runs and hands out its elements in logical order.
    fn gather(&self, plan: &Plan, mut put: impl FnMut(T)) -> Result<()> {
        let es = size_of::<T>();
        let Some(file) = self.map.file() else {
            // Anonymous memory cannot fault: copy from it.
            let base = self.map.ptr();
            for &o in &plan.offsets {
                // SAFETY: `o` is an element of the array, within the mapping, and T is Pod.
                put(unsafe { std::ptr::read_unaligned(base.add(o * es) as *const T) });
            }
            return Ok(());
        };
        let start = self.map.offset();
        if let Some(last) = plan.runs.last() {
            self.covers(start + last.end as u64)?;
        }
        let mut bufs = Vec::with_capacity(plan.runs.len());
        for r in &plan.runs {
            let mut b = vec![0u8; r.len()];
            let mut got = 0;
            while got < b.len() {
                match file.read_at(&mut b[got..], start + (r.start + got) as u64) {
                    Ok(0) => {
                        // Truncated between the check and the read.
                        return Err(Error::TooShort {
                            path: self.map.path().map(Into::into),
                            len: start + (r.start + got) as u64,
                            needed: start + r.end as u64,
                        });
                    }
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(self.map.io_error("pread", e)),
                }
            }
            bufs.push(b);
        }
        for &o in &plan.offsets {
            let at = o * es;
            let k = plan.runs.partition_point(|r| r.end <= at);
            let b = &bufs[k][at - plan.runs[k].start..][..es];
            put(bytemuck::pod_read_unaligned(b));
        }
        Ok(())
    }
}

impl<'a, T: Pod, D: Dimension> CheckedMut<'a, T, D> {
    /// The read side ([`Checked`]).
    pub fn reader(&self) -> &Checked<'a, T, D> {
        &self.inner
    }

    /// Writes `src` (in logical order) over a selection, through the file with `pwrite`: a
    /// file shorter than the selection is [`Error::TooShort`] (the file is not grown), a full
    /// disk the OS error, never a fault. Needs a read-write map (a copy-on-write map never
    /// writes its file); anonymous arrays copy into memory.
    ///
    /// ```
    /// let mut a = ndmmap::MmapArray::<i32, ndarray::Ix2>::anonymous((2, 3))?;
    /// a.checked_mut()?.write(ndarray::s![1, ..], &[7, 8, 9])?;
    /// assert_eq!(a.view()[[1, 2]], 9);
    /// # Ok::<(), ndmmap::Error>(())
    /// ```
    pub fn write<S: Selection<D>>(&mut self, sel: S, src: &[T]) -> Result<()> {
        let c = &self.inner;
        let plan = c.plan(sel)?;
        plan.check_len(src.len())?;
        let es = size_of::<T>();
        let Some(file) = c.map.file() else {
            let base = c.map.ptr();
            for (&o, v) in plan.offsets.iter().zip(src) {
                // SAFETY: `o` is an element of the array, within the writable mapping;
                // `&mut` on the array means no view reads it meanwhile.
                unsafe { std::ptr::write_unaligned(base.add(o * es) as *mut T, *v) };
            }
            return Ok(());
        };
        let start = c.map.offset();
        if let Some(last) = plan.runs.last() {
            c.covers(start + last.end as u64)?;
        }
        let mut bufs: Vec<Vec<u8>> = plan.runs.iter().map(|r| vec![0u8; r.len()]).collect();
        for (&o, v) in plan.offsets.iter().zip(src) {
            let at = o * es;
            let k = plan.runs.partition_point(|r| r.end <= at);
            let off = at - plan.runs[k].start;
            bufs[k][off..off + es].copy_from_slice(bytemuck::bytes_of(v));
        }
        for (r, b) in plan.runs.iter().zip(&bufs) {
            file.write_all_at(b, start + r.start as u64)
                .map_err(|e| c.map.io_error("pwrite", e))?;
        }
        Ok(())
    }
}

/// Whether checked writes may go to this mapping's file.
pub(crate) fn check_mode(map: &Mapping) -> Result<()> {
    match map.mode() {
        Mode::ReadWrite => Ok(()),
        Mode::ReadOnly => Err(Error::NotWritable {
            reason: "the map is read-only",
        }),
        Mode::CopyOnWrite if map.file().is_none() => Ok(()),
        Mode::CopyOnWrite => Err(Error::NotWritable {
            reason: "a copy-on-write map never writes its file",
        }),
    }
}
