//! [`AnyArray`]: an array whose element type is known only at run time (a `.npy` file opened
//! with [`npy::open_any`](crate::npy::open_any), an archive member, a tensor).

use crate::array::{MmapArray, Order, dim_and_strides};
use crate::element::{Bool, ByteSwapped, Dtype, NpyElement, Unaligned};
use crate::error::{Error, NpyError, Result};
use crate::layout::PageSpan;
use crate::mapping::Mode;
use crate::options::MmapOptions;
use crate::pages::{Advice, Flush, Pages, Selection};
use ndarray::{IxDyn, ShapeBuilder};
use num_complex::Complex;
use std::any::Any;
use std::fs::File;
use std::path::{Path, PathBuf};

macro_rules! any_array {
    ($(
        $(#[doc = $doc:literal])+
        $(#[cfg($cfg:meta)])?
        $v:ident($t:ty),
    )*) => {
        /// An array whose element type is known only at run time: one variant per element type
        /// ndmmap maps, each holding an [`MmapArray<T, IxDyn>`](MmapArray).
        ///
        /// The variants come in three families, named after the Rust element type:
        /// - **native and aligned**: `U8`, `I8`, `Bool`, `U16`, `I16`, `U32`, `I32`, `U64`,
        ///   `I64`, `F32`, `F64`, `ComplexF32`, `ComplexF64` (and `F16`, `half::f16`, with the
        ///   feature `half`): the data is in this machine's byte order and its offset is a
        ///   multiple of the type's alignment, so the elements are plain `T`;
        /// - **`Unaligned…`** (`UnalignedF64`, …, [`Unaligned<T>`]): native byte order at an
        ///   offset that is not a multiple of `T`'s alignment (`.npz` members, raw data behind
        ///   an odd-sized header); read with [`Unaligned::get`];
        /// - **`Swapped…`** (`SwappedF64`, …, [`ByteSwapped<T>`]): the other byte order
        ///   (numpy's `>f8` on a little-endian machine), at any offset; read with
        ///   [`ByteSwapped::get`].
        ///
        /// One-byte types have only the first family. The enum is `#[non_exhaustive]`: new
        /// element types may be added, so a `match` needs a `_` arm.
        ///
        /// Everything that does not depend on the element type needs no `match`: shape, bytes,
        /// [`dtype`](Self::dtype), [`pages`](Self::pages) (residency, advice, locking, eviction),
        /// [`madvise`](Self::madvise), [`msync`](Self::msync); and [`typed`](Self::typed) /
        /// [`into_typed`](Self::into_typed) reach a typed array when the caller knows the type.
        ///
        /// ```
        /// use ndmmap::{AnyArray, npy};
        /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// # let dir = tempfile::tempdir()?;
        /// # let path = dir.path().join("x.npy");
        /// # drop(unsafe { npy::create::<f64, ndarray::Ix2, _>(&path, (3, 4))? });
        /// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
        /// let a = unsafe { npy::open_any(&path)? };
        /// assert_eq!((a.dtype().descr().as_str(), a.shape()), ("<f8", &[3, 4][..]));
        /// let resident = a.pages(..)?.residency()?;            // no match needed
        /// assert!(resident.resident <= resident.total);
        /// let sum: f64 = match &a {
        ///     AnyArray::F64(x) => x.view().sum(),
        ///     AnyArray::UnalignedF64(x) => x.view().iter().map(|v| v.get()).sum(),
        ///     AnyArray::SwappedF64(x) => x.view().iter().map(|v| v.get()).sum(),
        ///     AnyArray::I64(x) => x.view().iter().map(|&v| v as f64).sum(),
        ///     other => return Err(format!("not summed: {}", other.dtype().descr()).into()),
        /// };
        /// assert_eq!(sum, 0.0);
        /// # Ok(()) }
        /// ```
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum AnyArray {
            $(
                $(#[doc = $doc])+
                $(#[cfg($cfg)])?
                $v(MmapArray<$t, IxDyn>),
            )*
        }

        /// Calls `$body` with the inner array bound to `$a`, whatever the variant.
        macro_rules! dispatch {
            ($self_:expr, $a:ident => $body:expr) => {
                match $self_ {
                    $(
                        $(#[cfg($cfg)])?
                        AnyArray::$v($a) => $body,
                    )*
                }
            };
        }

        impl AnyArray {
            /// Maps `shape` elements of `dtype` at byte `offset` of `file`, as the variant that
            /// holds them (see the type's docs); `fortran` for column-major data.
            ///
            /// # Safety
            /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
            pub(crate) unsafe fn map(
                file: &File,
                path: Option<PathBuf>,
                offset: u64,
                dtype: Dtype,
                shape: &[usize],
                fortran: bool,
                mode: Mode,
            ) -> Result<AnyArray> {
                $(
                    $(#[cfg($cfg)])?
                    if dtype == <$t as NpyElement>::DTYPE
                        && offset.is_multiple_of(align_of::<$t>() as u64)
                    {
                        // SAFETY: forwarded to the caller.
                        let a = unsafe {
                            map_as::<$t>(file, path, offset, shape, fortran, mode)?
                        };
                        return Ok(AnyArray::$v(a));
                    }
                )*
                Err(unsupported(path.as_deref(), dtype))
            }

            /// Whether `T` holds the elements of this array in place: same dtype, same size,
            /// and an alignment the data's offset keeps.
            fn fits<T: NpyElement>(&self) -> bool {
                T::DTYPE == self.dtype()
                    && size_of::<T>() == self.dtype().size
                    && self.offset().is_multiple_of(align_of::<T>() as u64)
            }
        }
    };
}

any_array! {
    /// `u8`, numpy's `|u1`.
    U8(u8),
    /// `i8`, numpy's `|i1`.
    I8(i8),
    /// [`Bool`], numpy's `|b1`.
    Bool(Bool),
    /// `u16`, numpy's `u2` in native byte order.
    U16(u16),
    /// `i16`, numpy's `i2` in native byte order.
    I16(i16),
    /// `u32`, numpy's `u4` in native byte order.
    U32(u32),
    /// `i32`, numpy's `i4` in native byte order.
    I32(i32),
    /// `u64`, numpy's `u8` in native byte order.
    U64(u64),
    /// `i64`, numpy's `i8` in native byte order.
    I64(i64),
    /// `half::f16`, numpy's `f2` in native byte order (feature `half`).
    #[cfg(feature = "half")]
    F16(half::f16),
    /// `f32`, numpy's `f4` in native byte order.
    F32(f32),
    /// `f64`, numpy's `f8` in native byte order.
    F64(f64),
    /// `Complex<f32>`, numpy's `c8` in native byte order.
    ComplexF32(Complex<f32>),
    /// `Complex<f64>`, numpy's `c16` in native byte order.
    ComplexF64(Complex<f64>),

    /// `u16` at an offset that is not a multiple of 2.
    UnalignedU16(Unaligned<u16>),
    /// `i16` at an offset that is not a multiple of 2.
    UnalignedI16(Unaligned<i16>),
    /// `u32` at an offset that is not a multiple of 4.
    UnalignedU32(Unaligned<u32>),
    /// `i32` at an offset that is not a multiple of 4.
    UnalignedI32(Unaligned<i32>),
    /// `u64` at an offset that is not a multiple of 8.
    UnalignedU64(Unaligned<u64>),
    /// `i64` at an offset that is not a multiple of 8.
    UnalignedI64(Unaligned<i64>),
    /// `half::f16` at an offset that is not a multiple of 2 (feature `half`).
    #[cfg(feature = "half")]
    UnalignedF16(Unaligned<half::f16>),
    /// `f32` at an offset that is not a multiple of 4.
    UnalignedF32(Unaligned<f32>),
    /// `f64` at an offset that is not a multiple of 8.
    UnalignedF64(Unaligned<f64>),
    /// `Complex<f32>` at an offset that is not a multiple of 4.
    UnalignedComplexF32(Unaligned<Complex<f32>>),
    /// `Complex<f64>` at an offset that is not a multiple of 8.
    UnalignedComplexF64(Unaligned<Complex<f64>>),

    /// `u16` in the other byte order.
    SwappedU16(ByteSwapped<u16>),
    /// `i16` in the other byte order.
    SwappedI16(ByteSwapped<i16>),
    /// `u32` in the other byte order.
    SwappedU32(ByteSwapped<u32>),
    /// `i32` in the other byte order.
    SwappedI32(ByteSwapped<i32>),
    /// `u64` in the other byte order.
    SwappedU64(ByteSwapped<u64>),
    /// `i64` in the other byte order.
    SwappedI64(ByteSwapped<i64>),
    /// `half::f16` in the other byte order (feature `half`).
    #[cfg(feature = "half")]
    SwappedF16(ByteSwapped<half::f16>),
    /// `f32` in the other byte order.
    SwappedF32(ByteSwapped<f32>),
    /// `f64` in the other byte order (numpy's `>f8` on a little-endian machine).
    SwappedF64(ByteSwapped<f64>),
    /// `Complex<f32>` in the other byte order.
    SwappedComplexF32(ByteSwapped<Complex<f32>>),
    /// `Complex<f64>` in the other byte order.
    SwappedComplexF64(ByteSwapped<Complex<f64>>),
}

/// Maps `shape` elements of `T` at `offset` of `file` (no growth: the file must hold them).
///
/// # Safety
/// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
unsafe fn map_as<T: NpyElement>(
    file: &File,
    path: Option<PathBuf>,
    offset: u64,
    shape: &[usize],
    fortran: bool,
    mode: Mode,
) -> Result<MmapArray<T, IxDyn>> {
    let mut opts = MmapOptions::new();
    opts.mode(mode).grow(false).offset(offset);
    let dim = IxDyn(shape).set_f(fortran);
    // SAFETY: forwarded to the caller.
    unsafe { opts.map_file(file, path, |_| dim_and_strides(dim, size_of::<T>())) }
}

/// The error for a dtype no variant holds, saying what to do.
fn unsupported(path: Option<&Path>, dtype: Dtype) -> Error {
    let why = match (dtype.kind, dtype.size) {
        ('f', 16) | ('c', 32) => format!(
            "is x87 extended precision (numpy's longdouble), which no Rust type holds; convert \
             it once in numpy: np.save(path, np.load(path).astype('{}'))",
            Dtype {
                size: if dtype.kind == 'f' { 8 } else { 16 },
                ..dtype
            }
            .descr()
        ),
        ('f', 2) => "is float16, which ndmmap maps as half::f16 only with its feature `half` \
                     (ndmmap = { features = [\"half\"] })"
            .to_string(),
        _ => "has no element type in ndmmap; convert it once in numpy: \
              np.save(path, np.load(path).astype('<f8'))"
            .to_string(),
    };
    Error::Npy {
        path: path.map(Path::to_path_buf),
        kind: NpyError::UnsupportedDtype {
            descr: dtype.descr(),
            why,
        },
    }
}

impl AnyArray {
    /// Maps `shape` elements of `dtype` at byte `offset` of `file` (raw data whose element type
    /// is known only at run time), in C or Fortran `order` and the `mode` given, as the variant
    /// that holds them: native and aligned, [`Unaligned`], or [`ByteSwapped`] for the other
    /// byte order. The file is never grown: it must hold the data.
    ///
    /// ```
    /// use ndmmap::{AnyArray, Dtype, Mode, Order};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("raw.bin");
    /// // Three big-endian f64 behind a 5-byte header.
    /// let mut bytes = b"HEAD:".to_vec();
    /// for x in [1.5f64, 2.5, 3.5] {
    ///     bytes.extend_from_slice(&x.to_be_bytes());
    /// }
    /// std::fs::write(&path, &bytes)?;
    /// let file = std::fs::File::open(&path)?;
    /// let dtype = Dtype::parse(">f8")?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { AnyArray::map_raw(&file, Some(path), 5, dtype, &[3], Order::C, Mode::ReadOnly)? };
    /// let AnyArray::SwappedF64(x) = &a else { panic!("{a:?}") };
    /// assert_eq!(x.view()[2].get(), 3.5);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    pub unsafe fn map_raw(
        file: &File,
        path: Option<PathBuf>,
        offset: u64,
        dtype: Dtype,
        shape: &[usize],
        order: Order,
        mode: Mode,
    ) -> Result<AnyArray> {
        // SAFETY: forwarded to the caller.
        unsafe { AnyArray::map(file, path, offset, dtype, shape, order == Order::F, mode) }
    }

    /// The dtype of the data as it lies in the file (a [`Swapped…`](Self) array has the
    /// other byte order's dtype, e.g. `">f8"`).
    pub fn dtype(&self) -> Dtype {
        fn of<T: NpyElement>(_: &MmapArray<T, IxDyn>) -> Dtype {
            T::DTYPE
        }
        dispatch!(self, a => of(a))
    }

    /// Whether the elements are plain `T` (native byte order, aligned offset), as opposed to
    /// [`Unaligned<T>`] or [`ByteSwapped<T>`].
    pub fn is_plain(&self) -> bool {
        self.is_native() && self.is_aligned()
    }

    /// Whether the data is in this machine's byte order (not a `Swapped…` variant).
    pub fn is_native(&self) -> bool {
        self.dtype().is_native()
    }

    /// Whether the data's offset is a multiple of the plain element type's alignment (not an
    /// `Unaligned…` variant). A `Swapped…` array answers for its offset too.
    pub fn is_aligned(&self) -> bool {
        let size = self.dtype().size as u64;
        // Complex numbers are aligned as their parts.
        let align = if self.dtype().kind == 'c' {
            size / 2
        } else {
            size
        };
        self.offset().is_multiple_of(align.max(1))
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        dispatch!(self, a => a.shape())
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        dispatch!(self, a => a.ndim())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        dispatch!(self, a => a.len())
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        dispatch!(self, a => a.is_empty())
    }

    /// Bytes of data (elements × item size).
    pub fn nbytes(&self) -> usize {
        dispatch!(self, a => a.nbytes())
    }

    /// The array's memory order.
    pub fn order(&self) -> Order {
        dispatch!(self, a => a.order())
    }

    /// The map's mode.
    pub fn mode(&self) -> Mode {
        dispatch!(self, a => a.mode())
    }

    /// The byte offset of the data in its file.
    pub fn offset(&self) -> u64 {
        dispatch!(self, a => a.offset())
    }

    /// The file's path, when it was opened by path.
    pub fn path(&self) -> Option<&Path> {
        dispatch!(self, a => a.path())
    }

    /// The mapped file.
    pub fn file(&self) -> Option<&File> {
        dispatch!(self, a => a.file())
    }

    /// Where the array's bytes lie in pages.
    pub fn page_span(&self) -> PageSpan {
        dispatch!(self, a => a.page_span())
    }

    /// The pages of a selection (`..`, an element range, `s![..]`): residency, advice,
    /// locking, eviction, as for [`MmapArray::pages`].
    pub fn pages<S: Selection<IxDyn>>(&self, sel: S) -> Result<Pages<'_>> {
        dispatch!(self, a => a.pages(sel))
    }

    /// Advises the kernel about the whole array ([`MmapArray::madvise`]).
    pub fn madvise(&self, advice: Advice) -> Result<()> {
        dispatch!(self, a => a.madvise(advice))
    }

    /// Flushes the whole array to its file ([`MmapArray::msync`]).
    pub fn msync(&self, how: Flush) -> Result<()> {
        dispatch!(self, a => a.msync(how))
    }

    /// The inner array, when its element type is exactly `T` (`F64` for `f64`,
    /// `UnalignedF64` for `Unaligned<f64>`, …); `None` otherwise.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<i32, ndarray::Ix1, _>(&path, 5)? });
    /// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
    /// let a = unsafe { ndmmap::npy::open_any(&path)? };
    /// assert_eq!(a.typed::<i32>().map(|x| x.len()), Some(5));
    /// assert!(a.typed::<f32>().is_none());
    /// # Ok(()) }
    /// ```
    pub fn typed<T: NpyElement>(&self) -> Option<&MmapArray<T, IxDyn>> {
        dispatch!(self, a => (a as &dyn Any).downcast_ref())
    }

    /// The inner array, mutably, when its element type is exactly `T`.
    pub fn typed_mut<T: NpyElement>(&mut self) -> Option<&mut MmapArray<T, IxDyn>> {
        dispatch!(self, a => (a as &mut dyn Any).downcast_mut())
    }

    /// The array as elements of `T`, when `T` holds them in place: the same dtype and size,
    /// and an alignment the data's offset keeps. So an `F64` array converts to `f64` or to
    /// [`Unaligned<f64>`], an `UnalignedF64` one only to `Unaligned<f64>`, a `SwappedF64` one
    /// to [`ByteSwapped<f64>`]. Otherwise the array comes back unchanged in `Err`.
    ///
    /// ```
    /// use ndmmap::Unaligned;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix1, _>(&path, 5)? });
    /// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
    /// let a = unsafe { ndmmap::npy::open_any(&path)? };
    /// let a = a.into_typed::<f32>().unwrap_err();          // wrong type: handed back
    /// let u = a.into_typed::<Unaligned<f64>>().unwrap();   // fine at any offset
    /// assert_eq!(u.view().iter().map(|x| x.get()).sum::<f64>(), 0.0);
    /// # Ok(()) }
    /// ```
    // The array itself comes back on a mismatch, as `Vec::try_into` does: boxing it would
    // cost every caller an allocation for no gain.
    #[allow(clippy::result_large_err)]
    pub fn into_typed<T: NpyElement>(self) -> std::result::Result<MmapArray<T, IxDyn>, AnyArray> {
        if !self.fits::<T>() {
            return Err(self);
        }
        dispatch!(self, a => {
            let (map, dim, strides) = a.into_parts();
            // Same dtype and item size: the bytes hold `dim` elements of `T`, any bit pattern
            // is valid (`Pod`), and the offset keeps `T` aligned (checked above).
            Ok(MmapArray::from_parts(map, dim, strides))
        })
    }

    /// Marks the mapping as a `.npy` file's data, as typed `.npy` arrays are.
    #[cfg(feature = "npy")]
    pub(crate) fn set_npy_header(&mut self) {
        dispatch!(self, a => a.map_mut().set_npy_header())
    }
}
