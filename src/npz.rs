//! `.npz` archives (numpy's `np.savez`): the members listed, each stored member mapped in
//! place as a typed array, and archives written whose members map as aligned `T`.
//!
//! ```
//! use ndarray::{Array2, Ix2};
//! use ndmmap::npz::{Npz, NpzWriter};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("model.npz");
//! let w = Array2::<f32>::from_elem((256, 128), 0.5);
//! NpzWriter::create(&path)?.add("w", &w)?.add("b", &ndarray::arr1(&[1i64, 2, 3]))?.finish()?;
//!
//! let npz = Npz::open(&path)?;                  // reads the directory and the .npy headers
//! for m in npz.members() {
//!     println!("{} {:?} {:?} at byte {}", m.name, m.descr, m.shape, m.data_offset);
//! }
//! // SAFETY: nobody truncates or rewrites model.npz while `a` lives.
//! let a = unsafe { npz.map::<f32, Ix2>("w")? };  // no copy: the archive's bytes
//! assert_eq!(a.view().sum(), 256.0 * 128.0 * 0.5);
//! let resident = npz.residency()?;              // which members are in RAM
//! assert_eq!(resident.len(), 2);
//! # Ok(()) }
//! ```
//!
//! # What numpy writes
//! `np.savez` stores each array as a `.npy` image, uncompressed, in a zip64 archive (numpy
//! forces a zip64 local header on every member). The data of a member starts wherever the
//! zip headers before it end: 183, 446 and 657 bytes into one archive numpy 2.4 wrote, so an
//! `f64` member is rarely 8-byte aligned. [`Npz::map`] maps such a member as
//! [`Unaligned<T>`](crate::Unaligned) (alignment 1, any offset; big-endian members as
//! [`ByteSwapped<T>`](crate::ByteSwapped)), and as plain `T` when the offset allows, never
//! copying. Archives written by [`NpzWriter`] start every member's data on a 64-byte boundary
//! (padding in the zip extra field, which numpy and every zip reader skip), so all of them map
//! as plain `T`.
//!
//! # Compressed members and writes
//! A member of `np.savez_compressed` is deflated: its bytes are not the array's, so mapping it
//! is [`Error::Compressed`]. Members are mapped read-only or copy-on-write, never shared
//! read-write: the archive stores a CRC-32 of every member, which a write in place would make
//! wrong, and numpy (Python's `zipfile`) then refuses the member.
//!
//! # Hostile archives
//! [`Npz::open`] reads the central directory with the [`zip`] crate (which bounds the entry
//! count by the directory's size before allocating), the local headers and the `.npy` headers
//! (each bounded by numpy's header size limit and by the member's stored size). A broken
//! directory, duplicate names and names that collide as numpy keys are [`Error::BadArchive`]
//! at open; a member whose local header, offsets or `.npy` header are wrong is listed with its
//! [`problem`](Member::problem) and is an error when mapped. The stored CRC-32 is not checked
//! (that would read every byte); see [`Npz::verify`].

use crate::array::{MmapArray, dim_and_strides};
use crate::element::{Dtype, NpyElement};
use crate::error::{Error, NpyError, Result};
use crate::mapping::{Mode, check_file_type};
use crate::npy::{Header, MAX_HEADER_SIZE};
use crate::options::MmapOptions;
use crate::residency::Residency;
use crate::sys::FileAt;
use ndarray::{ArrayView, AsArray, Dimension, Ix1, ShapeBuilder};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use zip::CompressionMethod;

/// Data alignment of the members [`NpzWriter`] writes.
const ALIGN: u16 = 64;
/// Names listed by [`Error::NoSuchMember`].
const LISTED: usize = 20;
/// Zip's local file header signature and fixed length.
const LOCAL_SIG: u32 = 0x0403_4b50;
const LOCAL_LEN: u64 = 30;
/// Zip's central directory entry signature and fixed length.
const CENTRAL_SIG: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;

/// One member of an `.npz` archive, as [`Npz::open`] found it.
///
/// `descr`, `dtype` and `shape` come from the member's `.npy` header, so they are `None` when
/// it cannot be read in place (a compressed member) or is broken; [`problem`](Self::problem)
/// then says why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// numpy's key: the zip name without its `.npy` suffix (`np.load(path)[name]`).
    pub name: String,
    /// The name stored in the zip directory, e.g. `"w.npy"`.
    pub zip_name: String,
    /// The dtype as the header spells it (`"<f8"`), also for a dtype ndmmap cannot map.
    pub descr: Option<String>,
    /// The dtype, when ndmmap can map it.
    pub dtype: Option<Dtype>,
    /// The shape (empty for a 0-dimensional array).
    pub shape: Option<Vec<usize>>,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Whether the member is compressed (`np.savez_compressed`) rather than stored.
    pub compressed: bool,
    /// The zip compression method: `"stored"`, `"deflated"`, ...
    pub method: String,
    /// Absolute file offset of the member's stored bytes (its `.npy` header).
    pub stored_offset: u64,
    /// The member's stored (compressed) size in bytes.
    pub stored_len: u64,
    /// Absolute file offset of the array's data (of the stored bytes when the header is
    /// unknown).
    pub data_offset: u64,
    /// Bytes of array data (the stored bytes when the header is unknown).
    pub data_len: u64,
    /// The CRC-32 the zip directory stores for the member's bytes (see [`Npz::verify`]).
    pub crc32: u32,
    /// Why the member cannot be mapped, when it cannot.
    pub problem: Option<String>,
    why: Option<Why>,
}

impl Member {
    /// Whether an array of `T` can be mapped at the member's data offset as it is, i.e. whether
    /// the offset is a multiple of `align_of::<T>()` (else use [`Unaligned<T>`](crate::Unaligned)).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?
    /// #     .add("weights", &ndarray::Array2::<f64>::zeros((4, 3)))?
    /// #     .add("bias", &ndarray::arr1(&[0.5f32, 1.5, 2.5]))?
    /// #     .finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// assert!(npz.members().iter().all(|m| m.aligned_for::<f64>()));
    /// # Ok(()) }
    /// ```
    pub fn aligned_for<T>(&self) -> bool {
        self.data_offset.is_multiple_of(align_of::<T>() as u64)
    }

    /// The largest power of two (at most 4096) that divides the data offset: every `T` whose
    /// alignment is at most this maps in place.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?
    /// #     .add("weights", &ndarray::Array2::<f64>::zeros((4, 3)))?
    /// #     .add("bias", &ndarray::arr1(&[0.5f32, 1.5, 2.5]))?
    /// #     .finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// assert!(npz.members().iter().all(|m| m.alignment() >= 64)); // NpzWriter aligns to 64
    /// # Ok(()) }
    /// ```
    pub fn alignment(&self) -> u64 {
        1 << self.data_offset.trailing_zeros().min(12)
    }
}

/// Why a member cannot be mapped; turned into an [`Error`] when it is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Why {
    Compressed(String),
    Npy(NpyError),
    Archive(String),
}

/// An open `.npz` archive: its members listed, each mappable by name.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npz");
/// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1.0f64, 2.0]))?.finish()?;
/// let npz = ndmmap::npz::Npz::open(&path)?;
/// let m = npz.member("x").unwrap();
/// assert_eq!((m.descr.as_deref(), m.shape.as_deref()), (Some("<f8"), Some(&[2][..])));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Npz {
    file: File,
    path: PathBuf,
    members: Vec<Member>,
    index: HashMap<String, usize>,
}

impl Npz {
    /// Opens the archive at `path`: reads its zip directory, every member's local header and
    /// every stored member's `.npy` header (with numpy's header size limit,
    /// [`MAX_HEADER_SIZE`]). No array data is read.
    ///
    /// Errors: [`Error::BadArchive`] for a file that is not a zip archive, a truncated or
    /// inconsistent directory, duplicate names, or two members with the same numpy key (`x`
    /// and `x.npy`). Problems of single members are listed in [`Member::problem`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("junk.npz");
    /// std::fs::write(&path, b"not a zip file")?;
    /// assert!(matches!(ndmmap::npz::Npz::open(&path), Err(ndmmap::Error::BadArchive { .. })));
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Npz> {
        let path = path.as_ref();
        let io = |what, e| Error::io(what, Some(path), e);
        let meta = std::fs::metadata(path).map_err(|e| io("open", e))?;
        check_file_type(&meta, Some(path))?;
        let bad = |why: String| Error::BadArchive {
            path: Some(path.to_path_buf()),
            why,
        };
        // Two handles on one file: `file`, kept and mapped, and `probe`, which reads the
        // directory and headers with readahead off, so that only their pages are read, not the
        // data around them, whose residency the caller may be about to measure. (The hint
        // belongs to the handle, and would slow the maps' sequential reads if given to `file`.)
        let file = File::open(path).map_err(|e| io("open", e))?;
        let probe = File::open(path).map_err(|e| io("open", e))?;
        let fm = file.metadata().map_err(|e| io("stat", e))?;
        let same = crate::sys::file_id(&file)
            .and_then(|a| crate::sys::file_id(&probe).map(|b| a == b))
            .map_err(|e| io("stat", e))?;
        if !same {
            return Err(bad("the file was replaced while it was being opened".into()));
        }
        let _ = crate::sys::fadvise(&probe, 0, 0, crate::sys::FileAdvice::Random);
        let len = fm.len();
        // Python's zipfile looks for the end record only where the format puts it (the last
        // 22 bytes, or before a comment of the length it states); the zip crate would try
        // every `PK\x05\x06` in the file, which a crafted file repeats by the million.
        if !has_end_record(&probe, len) {
            return Err(bad(format!(
                "it has no consistent end-of-central-directory record in its last 64 KiB{}",
                hint(&probe, len)
            )));
        }
        let mut zip = zip::ZipArchive::new(&probe).map_err(|e| match e {
            zip::result::ZipError::Io(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
                io("read zip directory", e)
            }
            e => bad(format!(
                "its zip directory cannot be read ({e}){}",
                hint(&probe, len)
            )),
        })?;
        check_directory(&probe, zip.central_directory_start(), len, zip.len()).map_err(
            |e| match e {
                DirError::Io(e) => io("read zip directory", e),
                DirError::Bad(why) => bad(why),
            },
        )?;
        let mut members: Vec<Member> = Vec::with_capacity(zip.len());
        for i in 0..zip.len() {
            members.push(read_member(&probe, path, len, &mut zip, i)?);
        }
        let mut index: HashMap<String, usize> = HashMap::with_capacity(members.len() * 2);
        for (i, m) in members.iter().enumerate() {
            for key in [&m.name, &m.zip_name] {
                if let Some(&j) = index.get(key.as_str())
                    && j != i
                {
                    return Err(bad(format!(
                        "members {:?} and {:?} both answer to the numpy key {:?}",
                        crate::error::excerpt(&members[j].zip_name),
                        crate::error::excerpt(&m.zip_name),
                        crate::error::excerpt(key)
                    )));
                }
                index.insert(key.clone(), i);
            }
        }
        Ok(Npz {
            file,
            path: path.to_path_buf(),
            members,
            index,
        })
    }

    /// The archive's path.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?
    /// #     .add("weights", &ndarray::Array2::<f64>::zeros((4, 3)))?
    /// #     .add("bias", &ndarray::arr1(&[0.5f32, 1.5, 2.5]))?
    /// #     .finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// assert_eq!(npz.path(), path);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open archive: the handle its directory and headers were read through, which every
    /// map of a member maps (so the file cannot be swapped between reading and mapping).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1u8]))?.finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// assert_eq!(npz.file().metadata()?.len(), std::fs::metadata(&path)?.len());
    /// # Ok(()) }
    /// ```
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The members, in the order of the zip directory (the order `np.savez` wrote them).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?
    /// #     .add("weights", &ndarray::Array2::<f64>::zeros((4, 3)))?
    /// #     .add("bias", &ndarray::arr1(&[0.5f32, 1.5, 2.5]))?
    /// #     .finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// let names: Vec<&str> = npz.members().iter().map(|m| m.name.as_str()).collect();
    /// assert_eq!(names, ["weights", "bias"]);
    /// # Ok(()) }
    /// ```
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member with numpy key `name` (or zip name, `"x.npy"`), if there is one.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?
    /// #     .add("weights", &ndarray::Array2::<f64>::zeros((4, 3)))?
    /// #     .add("bias", &ndarray::arr1(&[0.5f32, 1.5, 2.5]))?
    /// #     .finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// assert_eq!(npz.member("bias.npy").map(|m| m.name.as_str()), Some("bias"));
    /// assert!(npz.member("nope").is_none());
    /// # Ok(()) }
    /// ```
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.index.get(name).map(|&i| &self.members[i])
    }

    /// The member `name`, or [`Error::NoSuchMember`] listing the names there are.
    fn get(&self, name: &str) -> Result<&Member> {
        self.member(name).ok_or_else(|| Error::NoSuchMember {
            path: Some(self.path.clone()),
            name: name.to_string(),
            available: self
                .members
                .iter()
                .take(LISTED)
                .map(|m| m.name.clone())
                .collect(),
        })
    }

    /// The path errors about member `name` carry: `archive.npz:name`, as the CLI addresses it.
    fn member_path(&self, name: &str) -> PathBuf {
        member_path(&self.path, name)
    }

    /// Maps the stored member `name` (its numpy key, or its zip name) read-only as an array of
    /// `T`: the archive's own bytes, no copy.
    ///
    /// `T`'s dtype must be the member's ([`Error::DtypeMismatch`]; a big-endian member maps as
    /// [`ByteSwapped<T>`](crate::ByteSwapped)) and `D` its number of dimensions
    /// ([`Error::DimensionMismatch`]; `IxDyn` takes any). The data offset must be a multiple
    /// of `align_of::<T>()`, else [`Error::Misaligned`]: map
    /// [`Unaligned<T>`](crate::Unaligned) instead, which takes any offset (see
    /// [`Member::aligned_for`]). A compressed member is [`Error::Compressed`], a missing name
    /// [`Error::NoSuchMember`], a broken member the error its [`problem`](Member::problem)
    /// describes.
    ///
    /// ```
    /// use ndmmap::{Unaligned, npz::Npz};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1.0f64, 2.0]))?.finish()?;
    /// let npz = Npz::open(&path)?;
    /// // SAFETY: nobody truncates or rewrites the archive while the arrays live.
    /// let x = unsafe { npz.map::<f64, ndarray::Ix1>("x")? };
    /// assert_eq!(x.as_slice(), &[1.0, 2.0]);
    /// // Any archive, aligned or not (np.savez's), maps as Unaligned<T>:
    /// let u = unsafe { npz.map::<Unaligned<f64>, ndarray::Ix1>("x")? };
    /// assert_eq!(u.view().map(|v| v.get()).sum(), 3.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays):
    /// the archive must not be truncated or rewritten while the array lives.
    pub unsafe fn map<T: NpyElement, D: Dimension>(&self, name: &str) -> Result<MmapArray<T, D>> {
        // SAFETY: forwarded to the caller.
        unsafe { self.map_with(name, Mode::ReadOnly) }
    }

    /// Maps the stored member `name` as [`map`](Self::map) does, read-only
    /// ([`Mode::ReadOnly`]) or private ([`Mode::CopyOnWrite`]: writes stay in this process).
    /// [`Mode::ReadWrite`] is refused ([`Error::NotWritable`]): a write in place would leave
    /// the member's stored CRC-32 wrong, and numpy would then refuse the archive; write a new
    /// one with [`NpzWriter`] instead.
    ///
    /// ```
    /// use ndmmap::{Mode, npz::Npz};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1.0f64, 2.0]))?.finish()?;
    /// let npz = Npz::open(&path)?;
    /// // SAFETY: nobody truncates or rewrites the archive while the arrays live.
    /// let mut x = unsafe { npz.map_with::<f64, ndarray::Ix1>("x", Mode::CopyOnWrite)? };
    /// x.view_mut()?.fill(0.0); // private: the archive keeps its values
    /// assert!(unsafe { npz.map_with::<f64, ndarray::Ix1>("x", Mode::ReadWrite) }.is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_with<T: NpyElement, D: Dimension>(
        &self,
        name: &str,
        mode: Mode,
    ) -> Result<MmapArray<T, D>> {
        let (m, dtype, shape) = self.mappable(name, mode)?;
        if dtype != T::DTYPE {
            return Err(Error::DtypeMismatch {
                expected: T::DTYPE.descr(),
                found: dtype.descr(),
            });
        }
        if let Some(n) = D::NDIM
            && n != shape.len()
        {
            return Err(Error::DimensionMismatch {
                expected: n,
                found: shape.len(),
            });
        }
        let mut dim = D::zeros(shape.len());
        dim.slice_mut().copy_from_slice(shape);
        let dim = dim.set_f(m.fortran_order);
        let mut opts = MmapOptions::new();
        opts.mode(mode).grow(false).offset(m.data_offset);
        // SAFETY: forwarded to the caller; the range lies within the member (checked at open)
        // and within the file (checked again by map_file).
        unsafe {
            opts.map_file(&self.file, Some(self.path.clone()), |_| {
                dim_and_strides(dim, size_of::<T>())
            })
        }
    }

    /// Maps the stored member `name` read-only as whatever element type its dtype names: an
    /// [`AnyArray`](crate::AnyArray), whose variant says the type (`F64`, `UnalignedF64` at an
    /// offset `f64` cannot take, `SwappedF64` for `>f8`, ...) and whose page toolkit needs no
    /// `match`. Errors as for [`map`](Self::map), and a dtype no element type holds.
    ///
    /// ```
    /// use ndmmap::{AnyArray, npz::Npz};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1.0f64, 2.0]))?.finish()?;
    /// let npz = Npz::open(&path)?;
    /// for m in npz.members() {
    ///     // SAFETY: nobody truncates or rewrites the archive while the arrays live.
    ///     let a = unsafe { npz.map_any(&m.name)? };
    ///     let r = a.pages(..)?.residency()?;
    ///     println!("{} {} {:?}: {}/{} pages", m.name, a.dtype().descr(), a.shape(), r.resident, r.total);
    ///     if let AnyArray::F64(x) = &a {
    ///         assert_eq!(x.view().sum(), 3.0);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_any(&self, name: &str) -> Result<crate::AnyArray> {
        let (m, dtype, shape) = self.mappable(name, Mode::ReadOnly)?;
        // SAFETY: forwarded to the caller; the range lies within the member (checked at open).
        unsafe {
            crate::AnyArray::map(
                &self.file,
                Some(self.path.clone()),
                m.data_offset,
                dtype,
                shape,
                m.fortran_order,
                Mode::ReadOnly,
            )
        }
    }

    /// The member `name` when it can be mapped in `mode`: its dtype and shape, or the error
    /// that says why not.
    fn mappable(&self, name: &str, mode: Mode) -> Result<(&Member, Dtype, &[usize])> {
        let m = self.get(name)?;
        if mode == Mode::ReadWrite {
            return Err(Error::NotWritable {
                reason: "an .npz member is mapped read-only or copy-on-write, never shared \
                         read-write: a write would leave the member's stored CRC-32 wrong and \
                         numpy would refuse the archive; use Mode::CopyOnWrite, or write a new \
                         archive with npz::NpzWriter",
            });
        }
        if let Some(why) = &m.why {
            return Err(match why {
                Why::Compressed(method) => Error::Compressed {
                    path: Some(self.path.clone()),
                    name: m.name.clone(),
                    method: method.clone(),
                },
                Why::Npy(kind) => Error::npy(Some(&self.member_path(&m.name)), kind.clone()),
                Why::Archive(why) => Error::BadArchive {
                    path: Some(self.path.clone()),
                    why: why.clone(),
                },
            });
        }
        match (m.dtype, m.shape.as_deref()) {
            (Some(dtype), Some(shape)) => Ok((m, dtype, shape)),
            _ => unreachable!("a member without a problem has a header"),
        }
    }

    /// Page-cache residency of every member's data at once ("which members are in RAM"), in
    /// the order of [`members`](Self::members), from one read-only map of the whole archive
    /// (`cachestat(2)` where the kernel has it, else `mincore`). A member whose header is
    /// unknown counts its stored bytes. Like every residency figure, it is
    /// [`Error::ResidencyUnknown`] for a file this process may not write (Linux hides the page
    /// cache of such files).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?
    /// #     .add("weights", &ndarray::Array2::<f64>::zeros((4, 3)))?
    /// #     .add("bias", &ndarray::arr1(&[0.5f32, 1.5, 2.5]))?
    /// #     .finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// for (name, r) in npz.residency()? {
    ///     println!("{name}: {:.0}% of {} pages in RAM", 100.0 * r.fraction(), r.total);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn residency(&self) -> Result<Vec<(String, Residency)>> {
        let mut opts = MmapOptions::new();
        opts.mode(Mode::ReadOnly).grow(false).offset(0);
        // SAFETY: the map's bytes are never read: only their page-cache state is asked
        // (mincore, cachestat), which a truncated file turns into an error, not a fault.
        let all = unsafe {
            opts.map_file::<u8, Ix1>(&self.file, Some(self.path.clone()), |r| {
                let n = usize::try_from(r.len).map_err(|_| Error::SizeOverflow {
                    shape: vec![usize::MAX],
                    elem_size: 1,
                })?;
                dim_and_strides(ndarray::Shape::from(Ix1(n)), 1)
            })?
        };
        let len = all.len() as u64;
        self.members
            .iter()
            .map(|m| {
                let start = m.data_offset.min(len) as usize;
                let end = m.data_offset.saturating_add(m.data_len).min(len) as usize;
                Ok((m.name.clone(), all.pages(start..end)?.residency()?))
            })
            .collect()
    }

    /// Checks the stored CRC-32 of member `name` against its bytes, as Python's `zipfile`
    /// does when numpy reads the member: reads every byte of it (through the page cache, with
    /// `pread`; nothing is mapped). [`Error::BadArchive`] when they differ.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("example.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?
    /// #     .add("weights", &ndarray::Array2::<f64>::zeros((4, 3)))?
    /// #     .add("bias", &ndarray::arr1(&[0.5f32, 1.5, 2.5]))?
    /// #     .finish()?;
    /// let npz = ndmmap::npz::Npz::open(&path)?;
    /// npz.verify("weights")?;
    /// # Ok(()) }
    /// ```
    pub fn verify(&self, name: &str) -> Result<()> {
        let m = self.get(name)?;
        let stored = m.crc32;
        let mut crc = Crc32::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut at = m.stored_offset;
        let end = m.stored_offset + m.stored_len;
        while at < end {
            let n = buf.len().min((end - at) as usize);
            self.file.read_exact_at(&mut buf[..n], at).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    Error::BadArchive {
                        path: Some(self.path.clone()),
                        why: format!(
                            "member {:?} runs past the end of the file",
                            crate::error::excerpt(&m.zip_name)
                        ),
                    }
                } else {
                    Error::io("read member", Some(&self.path), e)
                }
            })?;
            crc.update(&buf[..n]);
            at += n as u64;
        }
        let got = crc.finish();
        if got != stored {
            return Err(Error::BadArchive {
                path: Some(self.path.clone()),
                why: format!(
                    "member {:?}: its bytes have CRC-32 {got:08x} but the directory says \
                     {stored:08x} (changed after it was written?)",
                    crate::error::excerpt(&m.zip_name)
                ),
            });
        }
        Ok(())
    }
}

/// Whether the file ends with an end-of-central-directory record as Python's `zipfile` finds
/// it: at the last 22 bytes, or followed by exactly the comment it announces (at most 64 KiB).
fn has_end_record(file: &File, len: u64) -> bool {
    let tail = len.min(65_557);
    let mut buf = vec![0u8; tail as usize];
    if file.read_exact_at(&mut buf, len - tail).is_err() {
        return false;
    }
    (0..buf.len().saturating_sub(21)).rev().any(|i| {
        let comment = u16::from_le_bytes([buf[i + 20], buf[i + 21]]) as usize;
        buf[i..i + 4] == *b"PK\x05\x06" && i + 22 + comment == buf.len()
    })
}

/// What a zip reader's refusal likely means, from whether the file has an end record at all
/// (in its last 64 KiB + 22 bytes, where the format puts it).
fn hint(file: &File, len: u64) -> &'static str {
    let tail = len.min(65_557);
    let mut buf = vec![0u8; tail as usize];
    if file.read_exact_at(&mut buf, len - tail).is_err() {
        return "";
    }
    if buf.windows(4).any(|w| w == b"PK\x05\x06") {
        "; its end record, or the directory that record points to, is inconsistent (cut \
         short, or damaged)"
    } else {
        "; a zip archive ends with an end-of-central-directory record, which this file lacks: \
         it is not a zip archive (np.save wrote a .npy?), or it was cut short"
    }
}

/// `archive.npz:name`, the path member-level errors carry.
fn member_path(archive: &Path, name: &str) -> PathBuf {
    let mut s = archive.as_os_str().to_owned();
    s.push(":");
    s.push(name);
    PathBuf::from(s)
}

/// The name of a zip compression method.
fn method_name(m: CompressionMethod) -> String {
    let known = [
        (CompressionMethod::STORE, "stored"),
        (CompressionMethod::DEFLATE, "deflated"),
        (CompressionMethod::DEFLATE64, "deflate64"),
        (CompressionMethod::BZIP2, "bzip2"),
        (CompressionMethod::LZMA, "lzma"),
        (CompressionMethod::ZSTD, "zstd"),
        (CompressionMethod::XZ, "xz"),
        (CompressionMethod::PPMD, "ppmd"),
        (CompressionMethod::AES, "aes-encrypted"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == m)
        .map_or_else(|| format!("{m:?}").to_lowercase(), |(_, n)| n.to_string())
}

enum DirError {
    Io(std::io::Error),
    Bad(String),
}

/// Walks the central directory's entries from `start` (the zip crate read `expected` distinct
/// names): a name that appears twice is refused, as the zip crate would silently keep the last
/// of them (Python's zipfile lists both and reads the last).
fn check_directory(
    file: &File,
    start: u64,
    len: u64,
    expected: usize,
) -> std::result::Result<(), DirError> {
    let mut f = file;
    f.seek(SeekFrom::Start(start)).map_err(DirError::Io)?;
    let mut r = std::io::BufReader::with_capacity(1 << 16, f.take(len.saturating_sub(start)));
    let mut names = HashSet::with_capacity(expected);
    let mut fixed = [0u8; CENTRAL_LEN];
    // The zip crate read `expected` entries; one more is read to see a repeat past them.
    for _ in 0..=expected {
        match r.read_exact(&mut fixed) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(DirError::Io(e)),
        }
        if u32::from_le_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]) != CENTRAL_SIG {
            return Ok(());
        }
        let u16_at = |i: usize| u16::from_le_bytes([fixed[i], fixed[i + 1]]) as usize;
        let mut name = vec![0u8; u16_at(28)];
        match r.read_exact(&mut name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(DirError::Io(e)),
        }
        let skip = (u16_at(30) + u16_at(32)) as u64;
        std::io::copy(&mut (&mut r).take(skip), &mut std::io::sink()).map_err(DirError::Io)?;
        if names.contains(&name) {
            return Err(DirError::Bad(format!(
                "its directory has two entries named {:?}; numpy would read only the last of \
                 them, ndmmap refuses the archive",
                crate::error::excerpt(&String::from_utf8_lossy(&name))
            )));
        }
        names.insert(name);
    }
    Ok(())
}

/// Reads member `i`: its directory entry (from the zip crate), its local header and its
/// `.npy` header. I/O errors fail; a broken member is returned with its problem.
fn read_member(
    file: &File,
    path: &Path,
    file_len: u64,
    zip: &mut zip::ZipArchive<&File>,
    i: usize,
) -> Result<Member> {
    let zip_name = zip.name_for_index(i).unwrap_or_default().to_string();
    let name = zip_name
        .strip_suffix(".npy")
        .unwrap_or(&zip_name)
        .to_string();
    let q = crate::error::excerpt(&zip_name);
    let mut m = Member {
        name,
        zip_name,
        descr: None,
        dtype: None,
        shape: None,
        fortran_order: false,
        compressed: false,
        method: String::new(),
        stored_offset: 0,
        stored_len: 0,
        data_offset: 0,
        data_len: 0,
        crc32: 0,
        problem: None,
        why: None,
    };
    let set = |mut m: Member, why: Why| {
        m.problem = Some(match &why {
            Why::Compressed(method) => format!(
                "compressed ({method}): its bytes are not the array's, so it cannot be mapped"
            ),
            Why::Npy(kind) => kind.to_string(),
            Why::Archive(s) => s.clone(),
        });
        m.why = Some(why);
        Ok(m)
    };
    let f = match zip.by_index_raw(i) {
        Ok(f) => f,
        Err(zip::result::ZipError::Io(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
            return Err(Error::io("read local header", Some(path), e));
        }
        Err(e) => {
            return set(
                m,
                Why::Archive(format!(
                    "member {q:?}: its local header cannot be read ({e}); the directory points \
                     past the end of the file or at something else"
                )),
            );
        }
    };
    let (header_start, data_start) = (f.header_start(), f.data_start());
    let (stored_len, size, method) = (f.compressed_size(), f.size(), f.compression());
    let (encrypted, raw_name) = (f.encrypted(), f.name_raw().to_vec());
    m.crc32 = f.crc32();
    drop(f);
    m.method = method_name(method);
    m.compressed = method != CompressionMethod::STORE;
    m.stored_offset = data_start;
    m.stored_len = stored_len;
    m.data_offset = data_start;
    m.data_len = stored_len;
    // Python's zipfile refuses a member whose local header names another file.
    let mut local = [0u8; LOCAL_LEN as usize];
    let mut local_name = vec![0u8; raw_name.len()];
    let names_it = pread(file, path, &mut local, header_start)?
        && u32::from_le_bytes([local[0], local[1], local[2], local[3]]) == LOCAL_SIG
        && u16::from_le_bytes([local[26], local[27]]) as usize == raw_name.len()
        && pread(file, path, &mut local_name, header_start + LOCAL_LEN)?
        && local_name == raw_name;
    if !names_it {
        return set(
            m,
            Why::Archive(format!(
                "member {q:?}: the local header at byte {header_start} does not name it \
                 (Python's zipfile refuses such a member too)"
            )),
        );
    }
    if encrypted {
        return set(
            m,
            Why::Archive(format!(
                "member {q:?} is encrypted; numpy cannot read it either"
            )),
        );
    }
    match data_start.checked_add(stored_len) {
        Some(end) if end <= file_len => {}
        _ => {
            return set(
                m,
                Why::Archive(format!(
                    "member {q:?}: its {stored_len} stored bytes at byte {data_start} run past \
                     the end of the file ({file_len} bytes)"
                )),
            );
        }
    }
    if m.compressed {
        return set(m.clone(), Why::Compressed(m.method.clone()));
    }
    if size != stored_len {
        return set(
            m,
            Why::Archive(format!(
                "member {q:?} is stored (not compressed) but its sizes differ: {stored_len} \
                 stored, {size} uncompressed"
            )),
        );
    }
    let mpath = member_path(path, &m.name);
    let h = match Header::read_within(file, &mpath, data_start, stored_len, MAX_HEADER_SIZE) {
        Ok(h) => h,
        Err(Error::Npy { kind, .. }) => {
            if let NpyError::UnsupportedDtype { descr, .. } | NpyError::UnknownDtype { descr } =
                &kind
            {
                m.descr = Some(descr.clone());
            }
            return set(m, Why::Npy(kind));
        }
        Err(e @ Error::Io { .. }) => return Err(e),
        Err(e) => return set(m, Why::Archive(format!("member {q:?}: {e}"))),
    };
    m.descr = Some(h.descr.clone());
    m.dtype = Some(h.dtype);
    m.shape = Some(h.shape.clone());
    m.fortran_order = h.fortran_order;
    m.data_offset = data_start + h.data_offset;
    m.data_len = stored_len - h.data_offset;
    let needed = match h.data_len(h.dtype.size) {
        Ok(n) => n as u64,
        Err(_) => {
            return set(
                m,
                Why::Npy(NpyError::BadShape {
                    shape: format!("{:?}", h.shape),
                    why: "has more bytes than an array can hold",
                }),
            );
        }
    };
    if needed > m.data_len {
        return set(
            m,
            Why::Npy(NpyError::DataPastEnd {
                shape: h.shape.clone(),
                offset: h.data_offset,
                needed,
                len: stored_len,
            }),
        );
    }
    if needed < m.data_len {
        let extra = m.data_len - needed;
        return set(
            m,
            Why::Archive(format!(
                "member {q:?}: its .npy header describes {needed} bytes of data but the member \
                 holds {extra} more; the header lies"
            )),
        );
    }
    Ok(m)
}

/// Reads `buf.len()` bytes at `at`: `false` when the file ends first.
fn pread(file: &File, path: &Path, buf: &mut [u8], at: u64) -> Result<bool> {
    match file.read_exact_at(buf, at) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(Error::io("read local header", Some(path), e)),
    }
}

/// CRC-32 (IEEE, as zip stores it), a table at a time.
struct Crc32 {
    table: [u32; 256],
    crc: u32,
}

impl Crc32 {
    fn new() -> Crc32 {
        let mut table = [0u32; 256];
        for (i, t) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *t = c;
        }
        Crc32 { table, crc: !0 }
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.crc = self.table[((self.crc ^ b as u32) & 0xff) as usize] ^ (self.crc >> 8);
        }
    }

    fn finish(&self) -> u32 {
        !self.crc
    }
}

/// Writes an `.npz` archive that numpy loads and whose members all map as aligned `T`: each
/// member is stored (uncompressed) with its data on a 64-byte boundary (padding in the zip
/// extra field), in zip64 where a member or an offset passes 4 GiB. The archive is written
/// under a temporary name beside `path` and renamed into place by [`finish`](Self::finish)
/// (after an `fsync`), so a failure leaves an existing file untouched; a writer dropped
/// unfinished removes its temporary file.
///
/// ```
/// use ndarray::{Array2, ShapeBuilder};
/// use ndmmap::npz::{Npz, NpzWriter};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("layers.npz");
/// let c = Array2::<f64>::zeros((3, 4));
/// let f = Array2::<i32>::zeros((3, 4).f());                // stored with fortran_order True
/// NpzWriter::create(&path)?.add("c", &c)?.add("f", &f)?.finish()?;
/// let npz = Npz::open(&path)?;
/// assert!(npz.members().iter().all(|m| m.data_offset % 64 == 0));
/// assert!(npz.member("f").unwrap().fortran_order);
/// # Ok(()) }
/// ```
pub struct NpzWriter {
    path: PathBuf,
    tmp: PathBuf,
    zip: Option<zip::ZipWriter<File>>,
    names: HashSet<String>,
}

impl std::fmt::Debug for NpzWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzWriter")
            .field("path", &self.path)
            .field("members", &self.names.len())
            .finish()
    }
}

impl NpzWriter {
    /// Starts an archive to be put at `path` by [`finish`](Self::finish).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// // An archive with no members, as np.savez(path) writes:
    /// ndmmap::npz::NpzWriter::create(dir.path().join("empty.npz"))?.finish()?;
    /// # Ok(()) }
    /// ```
    pub fn create(path: impl AsRef<Path>) -> Result<NpzWriter> {
        let path = path.as_ref().to_path_buf();
        let (tmp, file) = crate::npy::temp_beside(&path)?;
        Ok(NpzWriter {
            path,
            tmp,
            zip: Some(zip::ZipWriter::new(file)),
            names: HashSet::new(),
        })
    }

    /// Adds `array` as member `name` (numpy's key; stored as `name.npy`), copying its data: a
    /// C-contiguous array as it is, a Fortran-contiguous one (`.f()`, `.t()`) as it is with
    /// `fortran_order` True, any other view in C order. A name given twice is an error.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let a = ndarray::Array2::<u16>::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as u16);
    /// let mut w = ndmmap::npz::NpzWriter::create(dir.path().join("v.npz"))?;
    /// w.add("every_other_column", &a.slice(ndarray::s![.., ..;2]))?;  // copied in C order
    /// w.add("scalar", &ndarray::arr0(7.5f32))?;
    /// assert!(w.add("scalar", &ndarray::arr0(1.0f32)).is_err());
    /// w.finish()?;
    /// # Ok(()) }
    /// ```
    pub fn add<'a, T: NpyElement, D: Dimension>(
        &mut self,
        name: &str,
        array: impl AsArray<'a, T, D>,
    ) -> Result<&mut Self> {
        let view: ArrayView<'a, T, D> = array.into();
        if !self.names.insert(name.to_string()) {
            return Err(Error::BadArchive {
                path: Some(self.path.clone()),
                why: format!(
                    "member {:?} was added twice; numpy would read only the last one",
                    crate::error::excerpt(name)
                ),
            });
        }
        let fortran =
            !view.is_standard_layout() && view.ndim() > 1 && view.t().is_standard_layout();
        let header = crate::npy::new_header(&T::DTYPE.descr(), fortran, view.shape());
        let bytes = crate::layout::checked_bytes(view.shape(), size_of::<T>())?;
        let total = header.len() as u64 + bytes as u64;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .with_alignment(ALIGN)
            .large_file(total >= u32::MAX as u64);
        let path = self.path.clone();
        let zip = self.zip.as_mut().ok_or(Error::NotWritable {
            reason: "the archive failed while being written",
        })?;
        let io = |e: std::io::Error| Error::io("write archive", Some(&path), e);
        let ze = |e: zip::result::ZipError| match e {
            zip::result::ZipError::Io(e) => io(e),
            e => io(std::io::Error::other(e.to_string())),
        };
        let written = (|| {
            zip.start_file(format!("{name}.npy"), options).map_err(ze)?;
            zip.write_all(&header).map_err(io)?;
            if let Some(s) = view.as_slice_memory_order()
                && (view.is_standard_layout() || fortran)
            {
                zip.write_all(bytemuck::cast_slice(s)).map_err(io)?;
            } else {
                let mut buf: Vec<T> = Vec::with_capacity((1 << 20) / size_of::<T>().max(1));
                for &x in view.iter() {
                    buf.push(x);
                    if buf.len() == buf.capacity() {
                        zip.write_all(bytemuck::cast_slice(&buf)).map_err(io)?;
                        buf.clear();
                    }
                }
                zip.write_all(bytemuck::cast_slice(&buf)).map_err(io)?;
            }
            Ok(())
        })();
        if written.is_err() {
            // The member is half written: nothing more can be added.
            self.zip = None;
        }
        written.map(|()| self)
    }

    /// Writes the zip directory, flushes the archive to disk (`fsync`) and renames it into
    /// place.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("one.npz");
    /// ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1u8, 2, 3]))?.finish()?;
    /// assert_eq!(ndmmap::npz::Npz::open(&path)?.members().len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn finish(&mut self) -> Result<()> {
        let path = self.path.clone();
        let io = |what, e| Error::io(what, Some(&path), e);
        let zip = self.zip.take().ok_or(Error::NotWritable {
            reason: "the archive failed while being written, or was finished already",
        })?;
        let file = zip.finish().map_err(|e| match e {
            zip::result::ZipError::Io(e) => io("write archive", e),
            e => io("write archive", std::io::Error::other(e.to_string())),
        })?;
        file.sync_all().map_err(|e| io("fsync", e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| io("rename into place", e))?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for NpzWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
