//! safetensors files: every tensor mapped in place as a typed array, with the page toolkit
//! per tensor, the residency of all of them at once, and files written from named arrays.
//!
//! ```
//! use ndarray::{Array2, Ix2};
//! use ndmmap::safetensors::{Tensors, Writer};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("model.safetensors");
//! let w = Array2::<f32>::from_elem((64, 32), 0.5);
//! let b = ndarray::Array1::<i64>::from(vec![1, 2, 3]);
//! Writer::new().add("layer0.weight", w.view()).add("step", b.view()).metadata("format", "pt").write(&path)?;
//!
//! let t = Tensors::open(&path)?;                              // header only: no data read
//! assert_eq!(t.metadata()["format"], "pt");
//! // SAFETY: nobody truncates or rewrites the file while `a` lives.
//! let a = unsafe { t.map::<f32, Ix2>("layer0.weight")? };
//! assert_eq!(a.view().sum(), 1024.0);
//! a.pages(..)?.advise(ndmmap::Advice::WillNeed)?;               // the whole toolkit per tensor
//! for (name, r) in t.residency()? {                             // which tensors are in RAM
//!     println!("{name}: {:.0}% resident", 100.0 * r.fraction());
//! }
//! # Ok(()) }
//! ```
//!
//! # The format, and what is checked
//! A safetensors file is an 8-byte little-endian header length `n`, `n` bytes of JSON (a map
//! from tensor names to `{"dtype", "shape", "data_offsets"}`, and an optional `"__metadata__"`
//! map of strings), then the tensors' little-endian, C-order data, with `data_offsets`
//! counted from the end of the header.
//!
//! [`Tensors::open`] reads the length and the header through the file descriptor (no map), and
//! allocates for the header only once its length is checked against [`MAX_HEADER_SIZE`] (the
//! `safetensors` crate's limit) and the file's size. The header is then held to the rules the
//! `safetensors` crate (and so Python's `safetensors`) applies: valid UTF-8 and JSON, known
//! dtypes, each tensor's byte length equal to its shape's product times its dtype's size
//! (overflow refused), the tensors covering the data contiguously from offset 0 with no gap
//! and no overlap, and the data ending exactly at the end of the file; the result is checked
//! again with the crate's own [`Metadata::new`](::safetensors::tensor::Metadata::new). Where
//! the crate would accept a header that names a tensor or a metadata key twice (the last one
//! wins), ndmmap refuses it. Shapes of more than 64 axes are refused, as numpy (and so
//! `safetensors.numpy`) refuses them. Every broken header is [`Error::BadSafetensors`] saying
//! what is wrong, and where in the JSON when that is known; none panics or yields a view past
//! the file's end.
//!
//! The JSON is read by `serde_json` into the crate's own
//! [`TensorInfo`] through the same serde code as the
//! crate's `SafeTensors::read_metadata` (not called itself: it needs the whole file in one
//! buffer). So what the crate accepts is accepted, quirks included (`"dtype": {"F32": null}`,
//! a tensor written as the array `["F32", [2], [0, 8]]`, unknown fields), and nesting deeper
//! than serde_json's limit of 128 levels is refused where it passes them, however deep it goes.
//!
//! # Alignment
//! A tensor starts at byte `8 + n + data_offsets[0]`. Python's writer (and [`Writer`]) pads the
//! header to a multiple of 8 and orders tensors by decreasing element size, so every tensor is
//! aligned for its type; other writers may not. A tensor whose offset is not a multiple of
//! `align_of::<T>()` is [`Error::Misaligned`]; map it as [`Unaligned<T>`] instead.
//!
//! # Page-cache control per tensor
//! A mapped tensor is an [`MmapArray`], so every page operation is one call away:
//! `t.map::<f32, IxDyn>(name)?.pages(..)?.advise(Advice::WillNeed)` prefetches a tensor,
//! `.pages(..)?.evict()` drops it from RAM, `.pages(..)?.lock(Lock::Now)` pins it.
//! [`Tensors::residency`] answers for all tensors at once from one map of the file.
//!
//! [`MmapArray`]: crate::MmapArray

use crate::any::{AnyArray, OtherArray};
use crate::array::{MmapArray, dim_and_strides};
use crate::element::{Bool, Unaligned};
use crate::error::{Error, Result};
use crate::mapping::Mode;
use crate::options::MmapOptions;
use crate::residency::Residency;
use crate::sys::FileAt;
use ::safetensors::tensor::TensorInfo;
use ndarray::{ArrayView, Dimension, ShapeBuilder};
use serde::de::{Error as _, MapAccess, Visitor};
use serde_json::error::Category;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A tensor's element type, as the `safetensors` crate names it (`F32`, `BF16`, `BOOL`, …).
pub use ::safetensors::Dtype;

/// The longest header accepted, in bytes: the `safetensors` crate's limit (100 MB).
pub const MAX_HEADER_SIZE: usize = 100_000_000;

/// Element types a tensor maps as: the Rust type of each safetensors dtype that has one.
///
/// | dtype | Rust type |
/// |---|---|
/// | `F64`, `F32` | `f64`, `f32` |
/// | `I64`, `I32`, `I16`, `I8` | `i64`, `i32`, `i16`, `i8` |
/// | `U64`, `U32`, `U16`, `U8` | `u64`, `u32`, `u16`, `u8` |
/// | `BOOL` | [`Bool`], or `u8` (the bytes 0 and 1) |
/// | `C64` | `num_complex::Complex<f32>` |
/// | `F16`, `BF16` | `half::f16`, `half::bf16` (feature `half`) |
/// | any of these, at any offset | [`Unaligned<T>`] |
///
/// The FP8, FP6 and FP4 dtypes have no Rust type here. Implement the trait for your own `Pod`
/// newtype to map one: the map checks that its size matches the dtype's.
///
/// ```
/// use ndmmap::safetensors::{Dtype, TensorElement};
/// assert_eq!(f32::DTYPE, Dtype::F32);
/// assert!(u8::accepts(Dtype::BOOL) && !ndmmap::Bool::accepts(Dtype::U8));
/// ```
pub trait TensorElement: bytemuck::Pod {
    /// The dtype this type is written as, and mapped from.
    const DTYPE: Dtype;

    /// Whether a tensor of `dtype` maps as this type: `dtype == DTYPE`, and for `u8` also
    /// `BOOL`.
    fn accepts(dtype: Dtype) -> bool {
        dtype == Self::DTYPE
    }
}

macro_rules! tensor_element {
    ($($t:ty => $d:ident),* $(,)?) => {$(
        impl TensorElement for $t {
            const DTYPE: Dtype = Dtype::$d;
        }
    )*};
}

tensor_element! {
    f64 => F64, f32 => F32,
    i64 => I64, i32 => I32, i16 => I16, i8 => I8,
    u64 => U64, u32 => U32, u16 => U16,
    Bool => BOOL,
    num_complex::Complex<f32> => C64,
}

impl TensorElement for u8 {
    const DTYPE: Dtype = Dtype::U8;

    fn accepts(dtype: Dtype) -> bool {
        matches!(dtype, Dtype::U8 | Dtype::BOOL)
    }
}

#[cfg(feature = "half")]
tensor_element! { half::f16 => F16, half::bf16 => BF16 }

impl<T: TensorElement> TensorElement for Unaligned<T> {
    const DTYPE: Dtype = T::DTYPE;

    fn accepts(dtype: Dtype) -> bool {
        T::accepts(dtype)
    }
}

/// The numpy dtype of a safetensors dtype, where numpy has one.
fn numpy_dtype(d: Dtype) -> Option<crate::element::Dtype> {
    let (kind, size) = match d {
        Dtype::BOOL => ('b', 1),
        Dtype::U8 => ('u', 1),
        Dtype::I8 => ('i', 1),
        Dtype::U16 => ('u', 2),
        Dtype::I16 => ('i', 2),
        Dtype::F16 => ('f', 2),
        Dtype::U32 => ('u', 4),
        Dtype::I32 => ('i', 4),
        Dtype::F32 => ('f', 4),
        Dtype::C64 => ('c', 8),
        Dtype::U64 => ('u', 8),
        Dtype::I64 => ('i', 8),
        Dtype::F64 => ('f', 8),
        _ => return None,
    };
    Some(crate::element::Dtype {
        kind,
        size,
        little_endian: true,
    })
}

/// One tensor of a file, as its header describes it.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("t.safetensors");
/// # ndmmap::safetensors::Writer::new().add("x", ndarray::Array2::<f64>::zeros((2, 3)).view()).write(&path)?;
/// let t = ndmmap::safetensors::Tensors::open(&path)?;
/// let x = t.tensor("x")?;
/// assert_eq!((x.dtype, &x.shape[..], x.nbytes), (ndmmap::safetensors::Dtype::F64, &[2, 3][..], 48));
/// assert_eq!(x.offset % 8, 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tensor {
    /// Its name.
    pub name: String,
    /// Its element type.
    pub dtype: Dtype,
    /// Its shape (C order); empty for a 0-D tensor.
    pub shape: Vec<usize>,
    /// Where its data starts in the file, in bytes from the file's start.
    pub offset: u64,
    /// Bytes of data.
    pub nbytes: u64,
}

/// A safetensors file: its header, read and checked, and a handle to map its tensors from.
///
/// ```
/// use ndmmap::safetensors::Tensors;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("m.safetensors");
/// # ndmmap::safetensors::Writer::new().add("a", ndarray::Array1::<u16>::zeros(4).view())
/// #     .add("b", ndarray::Array1::<u16>::zeros(2).view()).write(&path)?;
/// let t = Tensors::open(&path)?;
/// let names: Vec<&str> = t.tensors().iter().map(|x| x.name.as_str()).collect();
/// assert_eq!(names, ["a", "b"]);                               // in file order
/// // SAFETY: nobody truncates or rewrites the file while `a` lives.
/// let a = unsafe { t.map::<u16, ndarray::Ix1>("a")? };
/// assert_eq!(a.len(), 4);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Tensors {
    file: File,
    path: PathBuf,
    header_len: u64,
    file_len: u64,
    tensors: Vec<Tensor>,
    index: HashMap<String, usize>,
    metadata: BTreeMap<String, String>,
}

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::BadSafetensors {
        path: Some(path.to_path_buf()),
        why: why.into(),
    }
}

impl Tensors {
    /// Opens a safetensors file and reads and checks its header (see [the module
    /// docs](self#the-format-and-what-is-checked)). No tensor data is read.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("broken.safetensors");
    /// std::fs::write(&path, [0xff; 8])?;                       // a header length of 2^64 - 1
    /// let e = ndmmap::safetensors::Tensors::open(&path).unwrap_err();
    /// assert!(matches!(e, ndmmap::Error::BadSafetensors { .. }));
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Tensors> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io("open", Some(path), e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("fstat", Some(path), e))?;
        crate::mapping::check_file_type(&meta, Some(path))?;
        let file_len = meta.len();
        if file_len == 0 {
            return Err(bad(path, String::from("the file is empty (0 bytes)")));
        }
        if file_len < 8 {
            return Err(bad(
                path,
                format!("the file is {file_len} bytes long, shorter than the 8-byte header length"),
            ));
        }
        // Read only the header's pages: no readahead into the data, whose residency the
        // caller may be about to measure. (A hint: failure changes nothing.)
        let _ = crate::sys::fadvise(&file, 0, 0, crate::sys::FileAdvice::Random);
        let mut n = [0u8; 8];
        file.read_exact_at(&mut n, 0)
            .map_err(|e| Error::io("read", Some(path), e))?;
        let n = u64::from_le_bytes(n);
        if n > MAX_HEADER_SIZE as u64 {
            return Err(bad(
                path,
                format!("the header length {n} is over the limit of {MAX_HEADER_SIZE} bytes"),
            ));
        }
        if n > file_len - 8 {
            return Err(bad(
                path,
                format!(
                    "the header length {n} goes past the end of the file ({file_len} bytes; \
                     truncated?)"
                ),
            ));
        }
        let mut header = vec![0u8; n as usize];
        file.read_exact_at(&mut header, 8).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                bad(
                    path,
                    "the file ends inside the header (truncated while read?)",
                )
            } else {
                Error::io("read", Some(path), e)
            }
        })?;
        let parsed = parse_header(&header).map_err(|why| bad(path, why))?;
        let data_start = 8 + n;
        let (tensors, data_len) = check_layout(parsed.tensors.0, data_start, path)?;
        let data_end = data_start.checked_add(data_len);
        if data_end != Some(file_len) {
            return Err(bad(
                path,
                if data_end.is_none_or(|e| e > file_len) {
                    format!(
                        "the tensors need {} bytes but the file is {file_len} bytes long \
                         (truncated?)",
                        data_start as u128 + data_len as u128
                    )
                } else {
                    format!(
                        "{} bytes follow the last tensor's data (the tensors must end at the \
                         file's end)",
                        file_len - data_start - data_len
                    )
                },
            ));
        }
        let index = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Ok(Tensors {
            file,
            path: path.to_path_buf(),
            header_len: n,
            file_len,
            tensors,
            index,
            metadata: parsed.metadata.map(|m| m.0).unwrap_or_default(),
        })
    }

    /// The tensors, in the order of their data in the file.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("x", ndarray::arr0(1.0f32).view()).write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// for x in t.tensors() {
    ///     println!("{} {} {:?} {} bytes at {}", x.name, x.dtype, x.shape, x.nbytes, x.offset);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    /// The tensor named `name`, or [`Error::NoSuchMember`] listing the names there are.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("x", ndarray::arr0(1.0f32).view()).write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// assert!(t.tensor("x")?.shape.is_empty());
    /// assert!(matches!(t.tensor("y"), Err(ndmmap::Error::NoSuchMember { .. })));
    /// # Ok(()) }
    /// ```
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        match self.index.get(name) {
            Some(&i) => Ok(&self.tensors[i]),
            None => {
                let names = self.tensors.iter().map(|t| t.name.as_str());
                Err(Error::no_such_member(&self.path, name, names))
            }
        }
    }

    /// The number of tensors.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// assert_eq!((t.len(), t.is_empty()), (0, true));
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file holds no tensors.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("x", ndarray::arr0(1u8).view()).write(&path)?;
    /// assert!(!ndmmap::safetensors::Tensors::open(&path)?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The header's `"__metadata__"` map (empty when it has none).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// ndmmap::safetensors::Writer::new().metadata("format", "np").write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// assert_eq!(t.metadata().get("format").map(String::as_str), Some("np"));
    /// # Ok(()) }
    /// ```
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The header's length in bytes (`n`): the data starts at byte `8 + n`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("x", ndarray::arr0(1u8).view()).write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// assert_eq!(t.header_len() % 8, 0);                       // padded by the writer
    /// assert_eq!(t.tensor("x")?.offset, 8 + t.header_len());
    /// # Ok(()) }
    /// ```
    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    /// The file's length when it was opened.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("x", ndarray::arr0(1u8).view()).write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// assert_eq!(t.file_len(), 8 + t.header_len() + 1);
    /// # Ok(()) }
    /// ```
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The file's path.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().write(&path)?;
    /// assert_eq!(ndmmap::safetensors::Tensors::open(&path)?.path(), path);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file: the handle its header was read through, which every map of a tensor
    /// maps (so the file cannot be swapped between reading and mapping).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// assert_eq!(t.file().metadata()?.len(), t.file_len());
    /// # Ok(()) }
    /// ```
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Maps the tensor `name` read-only as an array of `T` (see [`TensorElement`] for the
    /// types of each dtype). Errors: [`Error::NoSuchMember`], [`Error::DtypeMismatch`] (naming
    /// both dtypes), [`Error::DimensionMismatch`] for a fixed `D` of another number of axes,
    /// [`Error::Misaligned`] when the tensor's offset does not suit `T` (use
    /// [`Unaligned<T>`]), and [`Error::TooShort`] when the file has shrunk since it was
    /// opened. The data is mapped from the handle the header was read from.
    ///
    /// ```
    /// use ndarray::{IxDyn, Ix2};
    /// use ndmmap::{Advice, safetensors::Tensors};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("w", ndarray::Array2::<f32>::ones((8, 4)).view()).write(&path)?;
    /// let t = Tensors::open(&path)?;
    /// // SAFETY: nobody truncates or rewrites the file while the arrays live.
    /// let w = unsafe { t.map::<f32, Ix2>("w")? };
    /// assert_eq!(w.view().sum(), 32.0);
    /// w.pages(..)?.advise(Advice::WillNeed)?;                   // prefetch this tensor
    /// let any_d = unsafe { t.map::<f32, IxDyn>("w")? };          // any number of axes
    /// assert_eq!(any_d.ndim(), 2);
    /// assert!(matches!(unsafe { t.map::<f64, Ix2>("w") }, Err(ndmmap::Error::DtypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays):
    /// the file must not be truncated or written behind the array's back while it lives.
    pub unsafe fn map<T: TensorElement, D: Dimension>(
        &self,
        name: &str,
    ) -> Result<MmapArray<T, D>> {
        // SAFETY: forwarded to the caller.
        unsafe { self.map_with(name, Mode::ReadOnly) }
    }

    /// Maps the tensor `name` in the given mode: [`Mode::CopyOnWrite`] for private changes,
    /// [`Mode::ReadWrite`] to change the file in place (safetensors has no checksum, so the
    /// file stays valid). For read-write the file is opened again for writing, and refused if
    /// the path no longer names the file that was opened. Errors as for [`map`](Self::map).
    ///
    /// ```
    /// use ndmmap::{Mode, safetensors::Tensors};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("b", ndarray::Array1::<i32>::zeros(5).view()).write(&path)?;
    /// let t = Tensors::open(&path)?;
    /// // SAFETY: nobody else truncates or rewrites the file while `b` lives.
    /// let mut b = unsafe { t.map_with::<i32, ndarray::Ix1>("b", Mode::ReadWrite)? };
    /// b.view_mut()?.fill(7);
    /// b.msync(ndmmap::Flush::Sync)?;
    /// drop(b);
    /// assert_eq!(unsafe { t.map::<i32, ndarray::Ix1>("b")? }.view().sum(), 35);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_with<T: TensorElement, D: Dimension>(
        &self,
        name: &str,
        mode: Mode,
    ) -> Result<MmapArray<T, D>> {
        let t = self.tensor(name)?;
        let elem_bits = size_of::<T>().checked_mul(8);
        if !T::accepts(t.dtype) || elem_bits != Some(t.dtype.bitsize()) {
            return Err(Error::DtypeMismatch {
                expected: format!("{} ({})", T::DTYPE, std::any::type_name::<T>()),
                found: t.dtype.to_string(),
            });
        }
        if let Some(n) = D::NDIM
            && n != t.shape.len()
        {
            return Err(Error::DimensionMismatch {
                expected: n,
                found: t.shape.len(),
            });
        }
        self.check_byte_order(t)?;
        let writable;
        let file = if mode == Mode::ReadWrite {
            writable = self.reopen_writable()?;
            &writable
        } else {
            &self.file
        };
        let mut dim = D::zeros(t.shape.len());
        dim.slice_mut().copy_from_slice(&t.shape);
        let mut opts = MmapOptions::new();
        opts.mode(mode).grow(false).offset(t.offset);
        // SAFETY: forwarded to the caller.
        unsafe {
            opts.map_file(file, Some(self.path.clone()), |_| {
                dim_and_strides(dim.into_shape_with_order(), size_of::<T>())
            })
        }
    }

    /// Maps the tensor `name` read-only as an [`AnyArray`], its element type chosen from its
    /// dtype at run time (an `Unaligned…` variant where its offset requires). Dtypes numpy
    /// has no type for (`BF16`, the FP8 types), and `F16` without the feature `half`, are
    /// [`AnyArray::Other`], as [`Container::map_any`](crate::container::Container::map_any)
    /// maps them: their bytes, named by their dtype (`"BF16"`); a dtype of packed sub-byte
    /// elements (FP6, FP4) is [`Error::Unmappable`], naming it.
    ///
    /// ```
    /// use ndmmap::AnyArray;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("ids", ndarray::Array1::<i64>::from(vec![4, 5]).view()).write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { t.map_any("ids")? };
    /// assert_eq!(a.dtype().descr(), "<i8");
    /// let r = a.pages(..)?.residency()?;                           // no match needed
    /// assert!(r.resident <= r.total);
    /// if let AnyArray::I64(x) = &a { assert_eq!(x.view().sum(), 9); }
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_any(&self, name: &str) -> Result<AnyArray> {
        let t = self.tensor(name)?;
        self.check_byte_order(t)?;
        let (file, path) = (&self.file, Some(self.path.clone()));
        let bits = t.dtype.bitsize();
        if bits % 8 != 0 {
            return Err(Error::Unmappable {
                path,
                why: format!(
                    "tensor \"{}\" has dtype {}, which packs {bits}-bit elements: they cannot be \
                     mapped one element at a time",
                    crate::error::excerpt(name),
                    t.dtype
                ),
            });
        }
        let (shape, order, mode) = (&t.shape, crate::Order::C, Mode::ReadOnly);
        match numpy_dtype(t.dtype) {
            // SAFETY: forwarded to the caller.
            Some(d) => unsafe { AnyArray::map_raw(file, path, t.offset, d, shape, order, mode) },
            // SAFETY: forwarded to the caller.
            None => unsafe {
                let name = t.dtype.to_string();
                OtherArray::map(
                    file,
                    path,
                    t.offset,
                    &name,
                    bits / 8,
                    None,
                    shape,
                    order,
                    mode,
                )
            }
            .map(AnyArray::Other),
        }
    }

    /// The residency of every tensor, in file order: the pages of its bytes in RAM, out of
    /// the pages they span (a page shared by two tensors counts for both). One read-only map
    /// of the whole file answers for all; its bytes are never read, so nothing is loaded.
    /// A file this process may not write is [`Error::ResidencyUnknown`] on Linux (see
    /// [`crate::Pages::residency`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// # ndmmap::safetensors::Writer::new().add("a", ndarray::Array1::<f32>::zeros(4096).view()).write(&path)?;
    /// let t = ndmmap::safetensors::Tensors::open(&path)?;
    /// for (name, r) in t.residency()? {
    ///     println!("{name}: {}/{} pages, {:.0}%", r.resident, r.total, 100.0 * r.fraction());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn residency(&self) -> Result<Vec<(String, Residency)>> {
        let mut opts = MmapOptions::new();
        opts.offset(0);
        // SAFETY: the map's bytes are never read or written: only `mincore` and `cachestat`
        // ask about its pages, and a file truncated behind it cannot make them fault.
        let whole = unsafe { opts.map_1d::<u8>(&self.file)? };
        self.tensors
            .iter()
            .map(|t| {
                let range = usize::try_from(t.offset)
                    .ok()
                    .zip(usize::try_from(t.offset + t.nbytes).ok())
                    .map(|(s, e)| s..e)
                    .ok_or(Error::OffsetOverflow {
                        offset: t.offset,
                        len: t.nbytes as usize,
                    })?;
                Ok((t.name.clone(), whole.pages(range)?.residency()?))
            })
            .collect()
    }

    /// The file opened again for writing, checked to be the one whose header was read.
    fn reopen_writable(&self) -> Result<File> {
        let path = &self.path;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open for writing", Some(path), e))?;
        let (a, b) = (
            crate::sys::file_id(&self.file).map_err(|e| Error::io("fstat", Some(path), e))?,
            crate::sys::file_id(&f).map_err(|e| Error::io("fstat", Some(path), e))?,
        );
        if a != b {
            return Err(bad(
                path,
                "the path names another file than the one opened (replaced since?)",
            ));
        }
        Ok(f)
    }

    /// Refuses multi-byte data on a big-endian machine (safetensors data is little-endian).
    fn check_byte_order(&self, t: &Tensor) -> Result<()> {
        if cfg!(target_endian = "big") && t.dtype.bitsize() > 8 {
            return Err(Error::Unsupported {
                what: "mapping little-endian safetensors data on a big-endian machine",
            });
        }
        Ok(())
    }
}

/// A header as the `safetensors` crate reads it: its (private) `HashMetadata`, an optional
/// `"__metadata__"` map of strings beside the tensors, flattened, each tensor the crate's own
/// [`TensorInfo`]. The same serde code reads it (serde_json, its recursion limit of 128, the
/// values buffered for the flattened map), so what the crate and Python's `safetensors` accept
/// or refuse, this does too; but the tensors keep the header's order, and a name or a
/// metadata key given twice is refused where the crate keeps the last.
#[derive(serde::Deserialize)]
#[serde(expecting = "a JSON object of tensors")]
struct Header {
    #[serde(rename = "__metadata__")]
    metadata: Option<Strings>,
    #[serde(flatten)]
    tensors: Named,
}

/// `"__metadata__"`: strings by key, a key given twice refused.
struct Strings(BTreeMap<String, String>);

/// The tensors in the header's order, a name given twice refused. Its errors start with
/// `tensor "NAME": `: serde_json reports them where the header's object ends.
struct Named(Vec<(String, TensorInfo)>);

impl<'de> serde::Deserialize<'de> for Strings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Strings, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(k) = m.next_key::<String>()? {
                    match out.entry(k) {
                        std::collections::btree_map::Entry::Vacant(e) => {
                            let v = m.next_value().map_err(|x| {
                                A::Error::custom(format_args!(
                                    "the \"__metadata__\" key {:?}: {}",
                                    crate::error::excerpt(e.key()),
                                    crate::error::excerpt(&x.to_string())
                                ))
                            })?;
                            e.insert(v)
                        }
                        std::collections::btree_map::Entry::Occupied(e) => {
                            return Err(A::Error::custom(format_args!(
                                "the \"__metadata__\" key {:?} appears twice",
                                crate::error::excerpt(e.key())
                            )));
                        }
                    };
                }
                Ok(Strings(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> serde::Deserialize<'de> for Named {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Named;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("tensors by name")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Named, A::Error> {
                let (mut out, mut seen) = (Vec::new(), HashSet::new());
                while let Some(name) = m.next_key::<String>()? {
                    let shown = crate::error::excerpt(&name);
                    if !seen.insert(name.clone()) {
                        return Err(A::Error::custom(format_args!(
                            "tensor {shown:?}: named twice"
                        )));
                    }
                    let info = m.next_value::<TensorInfo>().map_err(|e| {
                        A::Error::custom(format_args!(
                            "tensor {shown:?}: {}",
                            crate::error::excerpt(&e.to_string())
                        ))
                    })?;
                    out.push((name, info));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses a header's bytes (see the module docs). The error is the reason: what, and where
/// in the header's JSON when serde_json knows.
fn parse_header(bytes: &[u8]) -> std::result::Result<Header, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("the header is not UTF-8: {e}"))?;
    serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        let what = msg.strip_suffix(&at).unwrap_or(&msg);
        match e.classify() {
            // Found in a tensor once the whole object was read: the position is its end.
            Category::Data if what.starts_with("tensor ") => what.to_string(),
            Category::Data => format!("{}{at}", crate::error::excerpt(what)),
            _ => format!("the header's JSON: {}{at}", crate::error::excerpt(what)),
        }
    })
}

/// Checks that the tensors' byte lengths agree with their shapes and dtypes and that they
/// cover `0..data_len` contiguously, with specific reasons; the `safetensors` crate's
/// `Metadata::new` (the reference) checks the same again. Returns them in file order with
/// absolute offsets, and the data's length.
fn check_layout(
    mut raw: Vec<(String, TensorInfo)>,
    data_start: u64,
    path: &Path,
) -> Result<(Vec<Tensor>, u64)> {
    raw.sort_by_key(|(_, t)| t.data_offsets);
    let mut end = 0u64;
    let mut out = Vec::with_capacity(raw.len());
    for (full, t) in &raw {
        let (s, e) = (t.data_offsets.0 as u64, t.data_offsets.1 as u64);
        let name = crate::error::excerpt(full);
        if t.shape.len() > crate::layout::MAX_DIMS {
            return Err(bad(
                path,
                format!(
                    "tensor {name:?}: shape has {} axes; at most {} are allowed (numpy's limit)",
                    t.shape.len(),
                    crate::layout::MAX_DIMS
                ),
            ));
        }
        let bits = t
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .and_then(|n| n.checked_mul(t.dtype.bitsize() as u64))
            .ok_or_else(|| {
                bad(
                    path,
                    format!(
                        "tensor {name:?}: shape {:?} of {} overflows",
                        t.shape, t.dtype
                    ),
                )
            })?;
        if bits % 8 != 0 {
            return Err(bad(
                path,
                format!(
                    "tensor {name:?}: shape {:?} of {} is not a whole number of bytes",
                    t.shape, t.dtype
                ),
            ));
        }
        let nbytes = bits / 8;
        if e < s || e - s != nbytes {
            return Err(bad(
                path,
                format!(
                    "tensor {name:?}: data_offsets [{s}, {e}] hold {} bytes but shape {:?} of {} \
                     needs {nbytes}",
                    e.saturating_sub(s),
                    t.shape,
                    t.dtype
                ),
            ));
        }
        if s != end {
            return Err(bad(
                path,
                if s < end {
                    format!(
                        "tensor {name:?}: data_offsets [{s}, {e}] overlap the previous tensor's \
                         data, which ends at {end}"
                    )
                } else {
                    format!(
                        "tensor {name:?}: data_offsets [{s}, {e}] leave a gap after byte {end} \
                         (tensors must cover the data contiguously)"
                    )
                },
            ));
        }
        end = e;
        let offset = data_start
            .checked_add(s)
            .ok_or_else(|| bad(path, format!("tensor {name:?}: offset {s} overflows")))?;
        out.push(Tensor {
            name: full.clone(),
            dtype: t.dtype,
            shape: t.shape.clone(),
            offset,
            nbytes,
        });
    }
    ::safetensors::tensor::Metadata::new(None, raw).map_err(|e| bad(path, e.to_string()))?;
    Ok((out, end))
}

/// One tensor to write: its dtype, shape and C-order bytes (borrowed when the view is
/// C-contiguous).
#[derive(Debug)]
struct Entry<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Cow<'a, [u8]>,
}

// The crate's serializer, in the test that our layout is its layout.
#[cfg(test)]
impl ::safetensors::View for &Entry<'_> {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }

    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Writes a safetensors file from named arrays of any [`TensorElement`] types, and metadata.
///
/// Views in C order are written from their memory; any other layout (Fortran order, slices
/// with steps, negative strides) is copied in logical (row-major) order, as safetensors
/// stores it. The file is laid out as the `safetensors` crate's serializer lays it out (the
/// header padded to a multiple of 8, the tensors ordered by decreasing element size, so each
/// maps aligned) and written as `.npy` files are: a new file beside the target (an unnamed
/// one where the OS has them), with the replaced file's mode and owner, `fsync`ed and put in
/// place when complete; a symbolic link stays a link and its target is replaced; an existing
/// file, even one that is mapped, is replaced, not overwritten. Python's
/// `safetensors.numpy.load_file` loads it.
///
/// ```
/// use ndarray::{Array2, ShapeBuilder, arr1};
/// use ndmmap::{Bool, safetensors::{Tensors, Writer}};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("mixed.safetensors");
/// let f = Array2::<f64>::from_shape_vec((2, 3).f(), (0..6).map(f64::from).collect())?; // Fortran order
/// let mask = arr1(&[Bool::from(true), Bool::from(false)]);
/// Writer::new()
///     .add("f", f.view())
///     .add("mask", mask.view())
///     .add("ids", arr1(&[1u16, 2, 3]).view())
///     .metadata("source", "doctest")
///     .write(&path)?;
/// let t = Tensors::open(&path)?;
/// // SAFETY: nobody truncates or rewrites the file while `g` lives.
/// let g = unsafe { t.map::<f64, ndarray::Ix2>("f")? };
/// assert_eq!(g.view(), f.view());                              // same values, now C order
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Writer<'a> {
    tensors: Vec<(String, Entry<'a>)>,
    metadata: HashMap<String, String>,
}

impl<'a> Writer<'a> {
    /// An empty writer.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("empty.safetensors");
    /// ndmmap::safetensors::Writer::new().write(&path)?;           // a file with no tensors
    /// assert!(ndmmap::safetensors::Tensors::open(&path)?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn new() -> Writer<'a> {
        Writer::default()
    }

    /// Adds the tensor `name` with `view`'s shape and values. Names must be unique and not
    /// `"__metadata__"`; [`write`](Self::write) refuses them otherwise.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// let a = ndarray::Array3::<i8>::zeros((2, 3, 4));
    /// ndmmap::safetensors::Writer::new().add("a", a.view()).add("a0", a.slice(ndarray::s![0, .., ..])).write(&path)?;
    /// # Ok(()) }
    /// ```
    pub fn add<T: TensorElement, D: Dimension>(
        &mut self,
        name: impl Into<String>,
        view: ArrayView<'a, T, D>,
    ) -> &mut Self {
        let shape = view.shape().to_vec();
        let data = match view.to_slice() {
            Some(s) => Cow::Borrowed(bytemuck::cast_slice::<T, u8>(s)),
            None => {
                let mut bytes = Vec::with_capacity(view.len() * size_of::<T>());
                for x in view.iter() {
                    bytes.extend_from_slice(bytemuck::bytes_of(x));
                }
                Cow::Owned(bytes)
            }
        };
        self.tensors.push((
            name.into(),
            Entry {
                dtype: T::DTYPE,
                shape,
                data,
            },
        ));
        self
    }

    /// Sets a `"__metadata__"` entry (a later value for the same key replaces the earlier).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// ndmmap::safetensors::Writer::new().metadata("format", "pt").write(&path)?;
    /// # Ok(()) }
    /// ```
    pub fn metadata(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Writes the file at `path` (replacing one that is there). A name given twice or named
    /// `"__metadata__"` is [`Error::BadSafetensors`], and nothing is written.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("t.safetensors");
    /// let x = ndarray::arr1(&[1.0f32]);
    /// let e = ndmmap::safetensors::Writer::new().add("x", x.view()).add("x", x.view()).write(&path);
    /// assert!(matches!(e, Err(ndmmap::Error::BadSafetensors { .. })) && !path.exists());
    /// # Ok(()) }
    /// ```
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &self.tensors {
            if name == "__metadata__" {
                return Err(bad(path, "a tensor may not be named \"__metadata__\""));
            }
            if !seen.insert(name.as_str()) {
                return Err(bad(
                    path,
                    format!(
                        "the tensor {:?} is added twice",
                        crate::error::excerpt(name)
                    ),
                ));
            }
        }
        let metadata = (!self.metadata.is_empty()).then(|| self.metadata.clone());
        // The safetensors crate's layout (its `prepare`): tensors by decreasing alignment,
        // then by name, so each maps aligned; the header padded to a multiple of 8.
        let mut order: Vec<&(String, Entry<'_>)> = self.tensors.iter().collect();
        order.sort_by(|(ln, l), (rn, r)| r.dtype.cmp(&l.dtype).then(ln.cmp(rn)));
        let mut offset = 0;
        let infos = order
            .iter()
            .map(|(name, e)| {
                let info = ::safetensors::tensor::TensorInfo {
                    dtype: e.dtype,
                    shape: e.shape.clone(),
                    data_offsets: (offset, offset + e.data.len()),
                };
                offset += e.data.len();
                (name.clone(), info)
            })
            .collect();
        let header = ::safetensors::tensor::Metadata::new(metadata, infos)
            .map_err(|e| bad(path, e.to_string()))?;
        let mut header = serde_json::to_vec(&header).map_err(|e| bad(path, e.to_string()))?;
        header.resize(header.len().next_multiple_of(8), b' ');
        // A new file beside the target (through a symbolic link), with the replaced file's
        // mode and owner, put in place when complete: a mapped old file is never truncated,
        // and a writer killed meanwhile leaves nothing behind.
        let r = crate::replace::Replacement::new(path)?;
        let io = |e| Error::io("write", Some(path), e);
        use std::io::Write as _;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, r.file());
        w.write_all(&(header.len() as u64).to_le_bytes())
            .map_err(io)?;
        w.write_all(&header).map_err(io)?;
        for (_, e) in &order {
            w.write_all(&e.data).map_err(io)?;
        }
        w.flush().map_err(io)?;
        drop(w);
        r.file()
            .sync_all()
            .map_err(|e| Error::io("fsync", Some(path), e))?;
        r.commit()
    }
}

/// Writes a safetensors file of tensors of one element type (see [`Writer`] for mixed
/// types, and for how the file is written).
///
/// ```
/// use ndarray::Array2;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("two.safetensors");
/// let (a, b) = (Array2::<f32>::zeros((3, 3)), Array2::<f32>::eye(3));
/// ndmmap::safetensors::write(&path, [("a", a.view()), ("b", b.view())], [("format", "np")])?;
/// assert_eq!(ndmmap::safetensors::Tensors::open(&path)?.len(), 2);
/// # Ok(()) }
/// ```
pub fn write<'a, T, D, N, K, V>(
    path: impl AsRef<Path>,
    tensors: impl IntoIterator<Item = (N, ArrayView<'a, T, D>)>,
    metadata: impl IntoIterator<Item = (K, V)>,
) -> Result<()>
where
    T: TensorElement,
    D: Dimension,
    N: Into<String>,
    K: Into<String>,
    V: Into<String>,
{
    let mut w = Writer::new();
    for (n, v) in tensors {
        w.add(n, v);
    }
    for (k, v) in metadata {
        w.metadata(k, v);
    }
    w.write(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer lays a file out byte for byte as the safetensors crate's serializer does.
    #[test]
    fn written_files_are_the_crates_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let (a, b) = (ndarray::arr1(&[1u8, 2, 3]), ndarray::arr2(&[[1.5f64, 2.5]]));
        let c = ndarray::arr1(&[7i32; 5]);
        let mut w = Writer::new();
        w.add("small", a.view())
            .add("wide", b.view())
            .add("a_mid", c.view())
            .add("b_mid", c.view())
            .metadata("k", "v");
        w.write(&path).unwrap();
        let theirs = ::safetensors::serialize(
            w.tensors.iter().map(|(n, e)| (n.as_str(), e)),
            Some(w.metadata.clone()),
        )
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), theirs);
    }

    fn header(s: &str) -> std::result::Result<Header, String> {
        parse_header(s.as_bytes())
    }

    #[test]
    fn parses_what_python_writes() {
        let h = header(
            r#"{"__metadata__":{"format":"np","k\u00e9\n":"v"},"b":{"dtype":"BOOL","shape":[],"data_offsets":[8,9]},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}   "#,
        )
        .unwrap();
        let t = &h.tensors.0;
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].0, "b");
        assert_eq!((t[1].1.dtype, t[1].1.data_offsets), (Dtype::F64, (0, 8)));
        assert_eq!(h.metadata.unwrap().0["k\u{e9}\n"], "v");
    }

    #[test]
    fn reads_what_the_crate_reads_and_refuses_bad_json() {
        // Unknown fields are skipped; a dtype as a one-key map and a tensor as an array are
        // the crate's (serde's) quirks, accepted as it accepts them.
        for ok in [
            r#"{"a":{"x":[1,{"y":[true,null,-1.5e3]},"s"],"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#,
            r#"{"a":{"dtype":{"U8":null},"shape":[2],"data_offsets":[0,2]}}"#,
            r#"{"a":["U8",[2],[0,2]]}"#,
            r#"{"__metadata__":null,"a":{"x":1,"x":2,"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#,
        ] {
            let h = header(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(h.tensors.0[0].1.shape, [2]);
        }
        for (bad, why) in [
            ("", "EOF while parsing a value at line 1 column 0"),
            ("{", "EOF while parsing an object"),
            (
                "[]",
                "invalid type: sequence, expected a JSON object of tensors",
            ),
            (r#"{"a":1}"#, r#"tensor "a": invalid type: integer `1`"#),
            (
                r#"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
                "invalid type: floating point `1.0`, expected usize",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
                "invalid value: integer `-1`, expected usize",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}"#,
                "invalid number at line 1 column 31",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}"#,
                "invalid type: floating point",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
                "invalid length 1, expected a tuple of size 2",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1]}}"#,
                "missing field `data_offsets`",
            ),
            (
                r#"{"a":{"dtype":"X","shape":[1],"data_offsets":[0,4]}}"#,
                "unknown variant `X`",
            ),
            (
                r#"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                "duplicate field `dtype`",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                r#"tensor "a": named twice"#,
            ),
            (
                r#"{"__metadata__":{"k":"1","k":"2"}}"#,
                r#"the "__metadata__" key "k" appears twice"#,
            ),
            (
                r#"{"__metadata__":{},"__metadata__":{}}"#,
                "duplicate field `__metadata__`",
            ),
            (
                r#"{"__metadata__":{"a":1}}"#,
                r#"the "__metadata__" key "a": invalid type: integer `1`, expected a string at line 1 column 22"#,
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x"#,
                "trailing characters",
            ),
            (r#"{"\ud800":{}}"#, "unexpected end of hex escape"),
        ] {
            match header(bad) {
                Err(e) => assert!(e.contains(why), "{bad:?}: {e}"),
                Ok(_) => panic!("accepted {bad:?}"),
            }
        }
        let deep = |n: usize| {
            format!(
                r#"{{"a":{{"z":{}{},"dtype":"U8","shape":[0],"data_offsets":[0,0]}}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        // As deep as Python's safetensors 0.8 reads (serde_json's 128 levels, less two).
        assert!(header(&deep(125)).is_ok());
        for n in [126, 100_000] {
            let e = header(&deep(n)).err().unwrap();
            assert_eq!(
                e,
                "the header's JSON: recursion limit exceeded at line 1 column 136"
            );
        }
    }

    #[test]
    fn messages_quote_little_of_the_header() {
        let long = "\u{1b}[31m".to_string() + &"x".repeat(1_000_000);
        for h in [
            format!(r#"{{"a":{{"dtype":"{long}","shape":[1],"data_offsets":[0,4]}}}}"#),
            format!(r#"{{"{long}":{{"dtype":"{long}","shape":[1],"data_offsets":[0,4]}}}}"#),
            format!(r#"{{"__metadata__":{{"k":{{"{long}":1}}}}}}"#),
        ] {
            let e = header(&h).err().unwrap();
            assert!(e.len() < 300 && !e.contains('\u{1b}'), "{e}");
        }
    }
}
