//! Raw files whose element type is known only at run time: [`RawSpec`] says how to read one
//! (dtype, shape, offset, order, mode) and [`AnyArray::open_raw`] opens it, as numpy's
//! `np.memmap(path, dtype, mode, offset, shape, order)` does.
//!
//! The counting of the elements after an offset ([`elements_after`]) is the one rule for every
//! 1-D map without a shape (also [`MmapOptions::map_path_1d`](crate::MmapOptions::map_path_1d)).

use crate::any::AnyArray;
use crate::array::Order;
use crate::element::Dtype;
use crate::error::{Error, Result};
use crate::mapping::{Mapping, Mode, Settings};
use std::path::{Path, PathBuf};

/// How to read a raw file whose elements are of a [`Dtype`] known at run time: the shape
/// (default, as numpy's `memmap`: 1-D over the whole elements after the offset), the byte
/// offset of element 0 (default 0), the order (default C) and the [`Mode`] (default
/// read-only). [`AnyArray::open_raw`] opens a file by it.
///
/// ```
/// use ndmmap::{AnyArray, Dtype, Order, RawSpec};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("raw.bin");
/// // A 16-byte header, then 2 x 3 little-endian u16 in Fortran order.
/// let mut bytes = vec![0u8; 16];
/// bytes.extend([1u16, 2, 3, 4, 5, 6].iter().flat_map(|x| x.to_le_bytes()));
/// std::fs::write(&path, &bytes)?;
///
/// let spec = RawSpec::new(Dtype::parse("<u2")?).shape([2, 3]).offset(16).order(Order::F);
/// // SAFETY: nobody truncates or rewrites the file while `a` lives.
/// let a = unsafe { AnyArray::open_raw(&path, &spec)? };
/// assert_eq!((a.shape(), a.type_name().as_str()), (&[2, 3][..], "<u2"));
/// let AnyArray::U16(x) = &a else { panic!("{a:?}") };
/// assert_eq!(x.view()[[1, 0]], 2); // the second element in memory
///
/// // No shape: numpy's memmap default, every element after the offset.
/// // SAFETY: as above.
/// let all = unsafe { AnyArray::open_raw(&path, &RawSpec::new(Dtype::parse("u1")?))? };
/// assert_eq!(all.shape(), [28]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSpec {
    dtype: Dtype,
    shape: Option<Vec<usize>>,
    offset: u64,
    order: Order,
    mode: Mode,
}

impl RawSpec {
    /// Elements of `dtype`, in the defaults: 1-D over the file after byte 0, C order,
    /// read-only.
    pub fn new(dtype: Dtype) -> RawSpec {
        RawSpec {
            dtype,
            shape: None,
            offset: 0,
            order: Order::C,
            mode: Mode::ReadOnly,
        }
    }

    /// The array's shape ([`parse_shape`](crate::parse_shape) reads numpy's tuple syntax),
    /// instead of 1-D over the elements after the offset.
    pub fn shape(mut self, shape: impl Into<Vec<usize>>) -> RawSpec {
        self.shape = Some(shape.into());
        self
    }

    /// The byte offset of element 0 in the file: any offset, page-aligned or not.
    pub fn offset(mut self, bytes: u64) -> RawSpec {
        self.offset = bytes;
        self
    }

    /// The order of the elements in memory: [`Order::C`] (row-major, the default) or
    /// [`Order::F`].
    pub fn order(mut self, order: Order) -> RawSpec {
        self.order = order;
        self
    }

    /// How the map relates to the file: [`Mode::ReadOnly`] (the default),
    /// [`Mode::ReadWrite`] (the file is opened for writing) or [`Mode::CopyOnWrite`]. The file
    /// is never grown: it must hold the data.
    pub fn mode(mut self, mode: Mode) -> RawSpec {
        self.mode = mode;
        self
    }
}

impl AnyArray {
    /// Opens the raw file `path` and maps its elements as `spec` says, as the variant that
    /// holds them (see [`map_raw`](Self::map_raw), which does the mapping): numpy's
    /// `np.memmap(path, dtype, mode, offset, shape, order)`. See [`RawSpec`] for an example.
    ///
    /// # Errors
    /// - [`Error::SizeOverflow`] for a shape past `isize::MAX` bytes ([`check_size`](crate::check_size)),
    ///   checked before the file is opened;
    /// - [`Error::IsDirectory`], [`Error::NotMappable`] (a FIFO, a socket, a device) and
    ///   [`Error::Io`] before anything is mapped;
    /// - without a shape, [`Error::OffsetPastEnd`] when the offset lies past the end of the file
    ///   and [`Error::TrailingBytes`] when the bytes after it are not whole elements (numpy's
    ///   memmap refuses the same);
    /// - with a shape, [`Error::TooShort`] when the file does not hold it; and whatever
    ///   [`map_raw`](Self::map_raw) refuses.
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    pub unsafe fn open_raw(path: impl AsRef<Path>, spec: &RawSpec) -> Result<AnyArray> {
        let path = path.as_ref();
        let size = spec.dtype.size;
        if size == 0 {
            return Err(Error::ZeroSizedType { type_name: "|V0" });
        }
        if let Some(shape) = &spec.shape {
            crate::check_size(shape, size)?;
        }
        let settings = Settings {
            mode: Some(spec.mode),
            ..Settings::default()
        };
        // Refuses a directory, a FIFO or a device before opening it (opening a FIFO blocks).
        let file = Mapping::open(&settings, path)?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("fstat", Some(path), e))?;
        let shape = match &spec.shape {
            Some(s) => s.clone(),
            None => vec![elements_after(Some(path), meta.len(), spec.offset, size)?],
        };
        // SAFETY: forwarded to the caller.
        unsafe {
            AnyArray::map_raw(
                &file,
                Some(path.to_path_buf()),
                spec.offset,
                spec.dtype,
                &shape,
                spec.order,
                spec.mode,
            )
        }
    }
}

/// How many `size`-byte elements (`size` > 0) lie after `offset` in a file of `len` bytes, or
/// why none can be counted: numpy's memmap refuses the same ([`Error::OffsetPastEnd`],
/// [`Error::TrailingBytes`]).
pub(crate) fn elements_after(
    path: Option<&Path>,
    len: u64,
    offset: u64,
    size: usize,
) -> Result<usize> {
    let path = || path.map(Path::to_path_buf);
    let Some(available) = len.checked_sub(offset) else {
        let path: Option<PathBuf> = path();
        return Err(Error::OffsetPastEnd { path, offset, len });
    };
    if !available.is_multiple_of(size as u64) {
        return Err(Error::TrailingBytes {
            path: path(),
            available,
            elem_size: size,
        });
    }
    usize::try_from(available / size as u64).map_err(|_| Error::SizeOverflow {
        shape: vec![usize::MAX],
        elem_size: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_after_the_offset() {
        let p = Some(Path::new("x.bin"));
        assert_eq!(elements_after(p, 24, 8, 8).unwrap(), 2);
        assert_eq!(elements_after(p, 24, 24, 8).unwrap(), 0);
        assert!(matches!(
            elements_after(p, 24, 25, 8),
            Err(Error::OffsetPastEnd {
                offset: 25,
                len: 24,
                ..
            })
        ));
        assert!(matches!(
            elements_after(p, 24, 1, 8),
            Err(Error::TrailingBytes {
                available: 23,
                elem_size: 8,
                ..
            })
        ));
        assert_eq!(
            elements_after(None, u64::MAX, 0, 1).ok(),
            usize::try_from(u64::MAX).ok()
        );
    }

    #[test]
    fn specs_build() {
        let d = Dtype::void(4);
        let s = RawSpec::new(d)
            .shape(vec![2])
            .offset(3)
            .order(Order::F)
            .mode(Mode::CopyOnWrite);
        assert_eq!(
            (s.shape.as_deref(), s.offset, s.order, s.mode),
            (Some(&[2][..]), 3, Order::F, Mode::CopyOnWrite)
        );
        assert_eq!(RawSpec::new(d).shape, None);
    }
}
