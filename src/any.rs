//! [`AnyArray`]: an array whose element type is known only at run time (a `.npy` file opened
//! with [`npy::open_any`](crate::npy::open_any), an archive member, a tensor).

use crate::array::{MmapArray, Order, Recovering, dim_and_strides};
use crate::element::{Bool, ByteSwapped, Dtype, NpyElement, Unaligned};
use crate::error::{Error, NpyError, Result};
use crate::layout::{self, PageSpan};
use crate::mapping::{Mapping, Mode};
use crate::options::MmapOptions;
use crate::pages::{self, Advice, Flush, Pages, Selection};
use ndarray::{ArrayView, Dimension, Ix1, IxDyn, ShapeBuilder};
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
        /// One-byte types have only the first family. A fourth, [`Other`](Self::Other), holds
        /// the bytes of elements no Rust type here holds (safetensors' `BF16` and FP8 types,
        /// numpy's long double), with their size and name. The enum is `#[non_exhaustive]`:
        /// new element types may be added, so a `match` needs a `_` arm.
        ///
        /// Everything that does not depend on the element type needs no `match`: shape, bytes,
        /// [`dtype`](Self::dtype), [`pages`](Self::pages) (residency, advice, locking, eviction),
        /// [`madvise`](Self::madvise), [`msync`](Self::msync), for every variant, `Other`
        /// included; and [`typed`](Self::typed) /
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
            /// Elements no other variant holds, as bytes of their size: safetensors' `BF16`
            /// and FP8 types, numpy's long double (`<f16`, `<c32`), `float16` without the
            /// feature `half`, numpy's bytes, str, void, datetime and timedelta types
            /// (`|S5`, `<U2`, `|V8`, `<M8[s]`). `container::Container::map_any`
            /// gives it; [`type_name`](AnyArray::type_name) says what the bytes are.
            Other(OtherArray),
        }

        /// Calls `$body` with the inner array bound to `$a`, whatever the variant: an
        /// `MmapArray<T, IxDyn>`, or for `Other` an [`OtherArray`], which has the same
        /// element-type-free methods. With a second arm, `Other` takes that arm instead.
        macro_rules! dispatch {
            ($self_:expr, $a:ident => $body:expr) => {
                dispatch!($self_, $a => $body, other => {
                    let $a = other;
                    $body
                })
            };
            ($self_:expr, $a:ident => $body:expr, $o:ident => $other:expr) => {
                match $self_ {
                    $(
                        $(#[cfg($cfg)])?
                        AnyArray::$v($a) => $body,
                    )*
                    AnyArray::Other($o) => $other,
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

            /// Whether a variant other than `Other` holds elements of `dtype` (at any offset).
            #[cfg_attr(not(feature = "npy"), allow(dead_code))]
            pub(crate) fn has_variant(dtype: Dtype) -> bool {
                false $(|| {
                    $(#[cfg($cfg)])?
                    let holds = dtype == <$t as NpyElement>::DTYPE;
                    $(#[cfg(not($cfg))]
                    let holds = false;)?
                    holds
                })*
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
    /// byte order; a dtype no Rust type holds (numpy's long double `<f16`, `<c32`) as
    /// [`AnyArray::Other`], its bytes with the page toolkit. The file is never grown: it must
    /// hold the data.
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
        if !AnyArray::has_variant(dtype) {
            let name = dtype.descr();
            // SAFETY: forwarded to the caller.
            let o = unsafe {
                OtherArray::map(
                    file,
                    path,
                    offset,
                    &name,
                    dtype.size,
                    Some(dtype),
                    shape,
                    order,
                    mode,
                )
            };
            return o.map(AnyArray::Other);
        }
        // SAFETY: forwarded to the caller.
        unsafe { AnyArray::map(file, path, offset, dtype, shape, order == Order::F, mode) }
    }

    /// The dtype of the data as it lies in the file (a [`Swapped…`](Self) array has the
    /// other byte order's dtype, e.g. `">f8"`).
    pub fn dtype(&self) -> Dtype {
        fn of<T: NpyElement>(_: &MmapArray<T, IxDyn>) -> Dtype {
            T::DTYPE
        }
        dispatch!(self, a => of(a), o => o.dtype())
    }

    /// What the elements are, by name: numpy's descriptor (`"<f8"`, `">i4"`) for every
    /// variant but [`Other`](Self::Other), whose elements are named by numpy where it has a
    /// name for them (`"<f16"`) and by their format otherwise (`"BF16"`, `"F8_E4M3"`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<i32, ndarray::Ix1, _>(&path, 5)? });
    /// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
    /// let a = unsafe { ndmmap::npy::open_any(&path)? };
    /// assert_eq!(a.type_name(), "<i4");
    /// # Ok(()) }
    /// ```
    pub fn type_name(&self) -> String {
        match self {
            AnyArray::Other(o) => o.type_name().to_string(),
            a => a.dtype().descr(),
        }
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
        if self.dtype().kind == 'V' {
            return true;
        }
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

    /// Runs `f` on the array's bytes as they lie in the file (memory order,
    /// [`nbytes`](Self::nbytes) of them), with faults turned into errors as
    /// [`MmapArray::guarded`] does: a file truncated meanwhile is [`Error::Fault`], not
    /// `SIGBUS`. For work that does not depend on the element type (faulting pages in,
    /// checksums, copies), whatever the variant, [`Other`](Self::Other) included.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<u16, ndarray::Ix2, _>(&path, (3, 4))? });
    /// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
    /// let a = unsafe { ndmmap::npy::open_any(&path)? };
    /// assert_eq!(a.guarded_bytes(|b| (b.len(), b.iter().all(|&x| x == 0)))?, (24, true));
    /// # Ok(()) }
    /// ```
    pub fn guarded_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        dispatch!(self, a => a.guarded(|v| {
            // A mapped array is contiguous in C or F order: its memory-order slice is its bytes.
            f(v.as_slice_memory_order().map_or(&[][..], bytemuck::cast_slice))
        }))
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
        }, o => o.into_typed::<T>().map_err(AnyArray::Other))
    }

    /// The address of the array's first byte, for code outside Rust that is handed the
    /// mapping (the Python package gives it to numpy): [`nbytes`](Self::nbytes) bytes lie
    /// there in memory order ([`order`](Self::order)), readable while `self` lives and is not
    /// moved out of. Reading through it is `unsafe` for the caller, as with any pointer;
    /// writing needs [`as_mut_ptr`](Self::as_mut_ptr).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<u16, ndarray::Ix1, _>(&path, 4)? });
    /// // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
    /// let a = unsafe { ndmmap::npy::open_any(&path)? };
    /// let first = a.as_ptr();
    /// // SAFETY: `a` lives and holds nbytes() = 8 readable bytes at `first`.
    /// let bytes = unsafe { std::slice::from_raw_parts(first, a.nbytes()) };
    /// assert_eq!(bytes, [0; 8]);
    /// # Ok(()) }
    /// ```
    pub fn as_ptr(&self) -> *const u8 {
        dispatch!(self, a => a.mapping().ptr() as *const u8, o => o.map.ptr() as *const u8)
    }

    /// [`as_ptr`](Self::as_ptr) for writing: the same address, or [`Error::NotWritable`]
    /// when the map is read-only. Writes through it reach the file in
    /// [`Mode::ReadWrite`], and stay private to the map in [`Mode::CopyOnWrite`].
    pub fn as_mut_ptr(&mut self) -> Result<*mut u8> {
        dispatch!(self, a => {
            a.mapping().check_writable()?;
            Ok(a.mapping().ptr())
        }, o => {
            o.map.check_writable()?;
            Ok(o.map.ptr())
        })
    }

    /// Marks the mapping as a `.npy` file's data, as typed `.npy` arrays are.
    #[cfg(feature = "npy")]
    pub(crate) fn set_npy_header(&mut self) {
        dispatch!(self, a => a.map_mut().set_npy_header(), o => o.map.set_npy_header())
    }
}

/// The bytes of an array whose elements have no Rust type in ndmmap ([`AnyArray::Other`]):
/// safetensors' `BF16` and FP8 tensors, numpy's long double (`<f16`, `<c32`), `float16`
/// without the feature `half`, and numpy's bytes, str, void, datetime and timedelta arrays
/// from a container (`|S5`, `<U2`, `|V8`, `<M8[s]`: their [`type_name`](Self::type_name)).
/// It has the array's logical shape and order, so everything that
/// does not read values works as on a typed array: [`pages`](Self::pages) takes `..`, an
/// element range or `s![..]` over that shape (residency, advice, locking, eviction),
/// [`page_span`](Self::page_span), [`madvise`](Self::madvise), [`msync`](Self::msync). The
/// values are there as bytes ([`view`](Self::view)), or as a type the caller names
/// ([`into_typed`](Self::into_typed), e.g. `half::bf16`).
///
/// ```
/// # #[cfg(feature = "safetensors")] {
/// use ndmmap::{AnyArray, container::Container};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("bf16.safetensors");
/// // Two BF16 values, 1.0 and 2.0: a tensor numpy has no dtype for.
/// let header = br#"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#;
/// let mut file = (header.len() as u64).to_le_bytes().to_vec();
/// file.extend_from_slice(header);
/// file.extend_from_slice(&[0x80, 0x3f, 0x00, 0x40]);
/// std::fs::write(&path, file)?;
/// let c = Container::open(&path)?;
/// // SAFETY: nobody truncates or rewrites the file while `a` lives.
/// let a = unsafe { c.map_any("w")? };
/// let AnyArray::Other(o) = &a else { panic!("{a:?}") };
/// assert_eq!((o.type_name(), o.elem_size(), o.shape()), ("BF16", 2, &[2][..]));
/// assert_eq!((a.dtype().descr(), a.type_name()), ("|V2".to_string(), "BF16".to_string()));
/// assert_eq!(o.view().shape(), &[2, 2]);                      // the bytes: one row per element
/// let r = a.pages(..)?.residency()?;                           // no match needed
/// assert!(r.resident <= r.total);
/// # Ok(()) }
/// # main().unwrap() }
/// ```
#[derive(Debug)]
pub struct OtherArray {
    map: Mapping,
    dim: IxDyn,
    strides: IxDyn,
    elem_size: usize,
    type_name: String,
    dtype: Option<Dtype>,
}

impl OtherArray {
    /// Maps `shape` elements of `elem_size` bytes at byte `offset` of `file`, named
    /// `type_name` (numpy's `dtype` where it has one), in `order` and `mode`; no growth.
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays).
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn map(
        file: &File,
        path: Option<PathBuf>,
        offset: u64,
        type_name: &str,
        elem_size: usize,
        dtype: Option<Dtype>,
        shape: &[usize],
        order: Order,
        mode: Mode,
    ) -> Result<OtherArray> {
        if elem_size == 0 {
            return Err(Error::ZeroSizedType {
                type_name: "a sub-byte element",
            });
        }
        let (dim, strides, bytes) =
            dim_and_strides(IxDyn(shape).set_f(order == Order::F), elem_size)?;
        let mut opts = MmapOptions::new();
        opts.mode(mode).grow(false).offset(offset);
        // SAFETY: forwarded to the caller.
        let flat: MmapArray<u8, Ix1> = unsafe {
            opts.map_file(file, path, |_| {
                dim_and_strides(ndarray::Shape::from(Ix1(bytes)), 1)
            })?
        };
        let (map, _, _) = flat.into_parts();
        Ok(OtherArray {
            map,
            dim,
            strides,
            elem_size,
            type_name: type_name.to_string(),
            dtype,
        })
    }

    /// What the elements are: numpy's descriptor where numpy has the type (`"<f16"`), else
    /// the format's own name (`"BF16"`, `"F8_E4M3"`).
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.elem_size
    }

    /// numpy's dtype of the elements where numpy has one (long double `<f16`; `<f2` without
    /// the feature `half`), else numpy's void of the element's size (`|V2` for `BF16`): raw
    /// bytes, which is what numpy itself would call them.
    pub fn dtype(&self) -> Dtype {
        self.dtype.unwrap_or(Dtype::void(self.elem_size))
    }

    /// The array's shape (of elements, not bytes).
    pub fn shape(&self) -> &[usize] {
        self.dim.slice()
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.dim.ndim()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.dim.size()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of data (elements × element size).
    pub fn nbytes(&self) -> usize {
        self.len() * self.elem_size
    }

    /// The array's memory order.
    pub fn order(&self) -> Order {
        crate::array::order_of(&self.dim, &self.strides)
    }

    /// The map's mode.
    pub fn mode(&self) -> Mode {
        self.map.mode()
    }

    /// The byte offset of the data in its file.
    pub fn offset(&self) -> u64 {
        self.map.offset()
    }

    /// The file's path, when it was opened by path.
    pub fn path(&self) -> Option<&Path> {
        self.map.path()
    }

    /// The mapped file.
    pub fn file(&self) -> Option<&File> {
        self.map.file()
    }

    /// Where the array's bytes lie in pages.
    pub fn page_span(&self) -> PageSpan {
        PageSpan::new(
            self.map.ptr() as usize,
            self.nbytes(),
            crate::sys::page_size(),
        )
    }

    /// The pages of a selection over the array's shape of elements (`..`, an element range,
    /// `s![..]`), as for [`MmapArray::pages`].
    pub fn pages<S: Selection<IxDyn>>(&self, sel: S) -> Result<Pages<'_>> {
        let (shape, strides) = layout::shape_strides(&self.dim, &self.strides);
        let (ranges, geometry, flat) =
            pages::select(&self.map, 0, &shape, &strides, self.elem_size, sel.sel())?;
        Ok(Pages {
            map: &self.map,
            elem_size: self.elem_size,
            ranges,
            geometry,
            flat,
            restricted: false,
        })
    }

    /// Advises the kernel about the whole array: shorthand for `pages(..)?.advise(advice)`.
    pub fn madvise(&self, advice: Advice) -> Result<()> {
        self.pages(..)?.advise(advice)
    }

    /// Flushes the whole array to its file: shorthand for `pages(..)?.flush(how)`.
    pub fn msync(&self, how: Flush) -> Result<()> {
        self.pages(..)?.flush(how)
    }

    /// The bytes, as an array of the array's shape plus a last axis of
    /// [`elem_size`](Self::elem_size): `view()[[i, j, ..]]` is element `[i, j]`'s bytes, as
    /// they lie in the file.
    pub fn view(&self) -> ArrayView<'_, u8, IxDyn> {
        let mut shape = self.dim.slice().to_vec();
        shape.push(self.elem_size);
        let mut strides: Vec<usize> = self
            .strides
            .slice()
            .iter()
            .map(|&s| s * self.elem_size)
            .collect();
        strides.push(1);
        let shape = layout::stride_shape(IxDyn(&shape), IxDyn(&strides));
        // SAFETY: the mapping holds `nbytes` readable bytes at `ptr` (mapped with this shape's
        // size), laid out as the element strides say, each element `elem_size` bytes; `u8`
        // has no alignment and any value; the view borrows `self`, so the mapping outlives
        // it. Pages are readable: nothing here takes read access away.
        unsafe { ArrayView::from_shape_ptr(shape, self.map.ptr() as *const u8) }
    }

    /// Runs `f` on [`view`](Self::view) with faults turned into errors, as
    /// [`MmapArray::guarded`] does: a file truncated meanwhile is [`Error::Fault`].
    pub fn guarded<R>(&self, f: impl FnOnce(ArrayView<'_, u8, IxDyn>) -> R) -> Result<R> {
        let guard = Recovering::enter(&self.map)?;
        let r = f(self.view());
        guard.finish(r)
    }

    /// The array as elements of `T`, which the caller says the bytes are (`half::bf16` for
    /// `BF16`): any `Pod` type of [`elem_size`](Self::elem_size) bytes whose alignment the
    /// data's offset keeps (else [`Unaligned<T>`]). Otherwise the array comes back
    /// unchanged in `Err`.
    // As `AnyArray::into_typed`: the array itself comes back on a mismatch.
    #[allow(clippy::result_large_err)]
    pub fn into_typed<T: bytemuck::Pod>(
        self,
    ) -> std::result::Result<MmapArray<T, IxDyn>, OtherArray> {
        if size_of::<T>() != self.elem_size || !self.offset().is_multiple_of(align_of::<T>() as u64)
        {
            return Err(self);
        }
        // Same element size: the bytes hold `dim` elements of `T` with these strides, any bit
        // pattern is valid (`Pod`), and the offset keeps `T` aligned (checked above; the map
        // starts on a page boundary, so the address is aligned as the offset is).
        Ok(MmapArray::from_parts(self.map, self.dim, self.strides))
    }

    /// `f` on the array as elements of `T` (as [`into_typed`](Self::into_typed) checks
    /// them), without giving the array up: `None` where `T` does not fit.
    #[cfg_attr(not(feature = "half"), allow(dead_code))]
    pub(crate) fn with_typed<T: bytemuck::Pod, R>(
        &self,
        f: impl FnOnce(&MmapArray<T, IxDyn>) -> R,
    ) -> Option<R> {
        if size_of::<T>() != self.elem_size || !self.offset().is_multiple_of(align_of::<T>() as u64)
        {
            return None;
        }
        // SAFETY: a bitwise copy of the mapping that is never dropped (`ManuallyDrop`, even if
        // `f` panics), so it neither unmaps nor closes what `self` owns; `f` sees it only
        // through `&`, within `self`'s borrow, and `Mapping` holds no state that a `&` method
        // changes. The elements are `T` as in `into_typed`.
        let alias = std::mem::ManuallyDrop::new(MmapArray::<T, IxDyn>::from_parts(
            unsafe { std::ptr::read(&self.map) },
            self.dim.clone(),
            self.strides.clone(),
        ));
        Some(f(&alias))
    }
}
