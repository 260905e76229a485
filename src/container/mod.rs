//! Files of named arrays behind one type: a `.npy` file (one array), an `.npz` archive
//! (numpy's `np.savez`), a safetensors file and an HDF5 file (its datasets, by path) are each
//! a [`Container`] of [`Entry`]s, listed,
//! looked up and mapped the same way, whatever the format. [`open`] takes the `PATH` and
//! `PATH:NAME` users write.
//!
//! ```
//! use ndarray::Ix2;
//! use ndmmap::container;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("w.npy");
//! # drop(unsafe { ndmmap::npy::create::<f32, Ix2, _>(&path, (64, 32))? });
//! let (c, name) = container::open(&path)?;                // or "model.safetensors:w", "x.npz:w"
//! for e in c.entries() {
//!     println!("{:?} {} {:?} {} bytes at {}", e.name, e.type_name, e.shape, e.len, e.offset);
//! }
//! let name = name.unwrap_or_default();                      // a .npy file's one entry is ""
//! // SAFETY: nobody truncates or rewrites the file while `a` lives.
//! let a = unsafe { c.map::<f32, Ix2>(&name)? };
//! assert_eq!(a.shape(), &[64, 32]);
//! let r = c.pages(&name)?.residency()?;                     // no map of the entry needed
//! assert_eq!(r.total, a.page_span().page_count);
//! # Ok(()) }
//! ```
//!
//! # One description, one mapping
//! Each format reads its own directory or header (`.npy`: [`npy`](crate::npy)'s header reader;
//! `.npz`: `npz::Npz`; safetensors: `safetensors::Tensors`, each with its feature)
//! into [`Entry`]s: name, numpy's dtype (or the format's own name for a type numpy lacks),
//! shape, order, byte offset and length, and why an entry cannot be mapped where it cannot.
//! From there mapping does not depend on the format: the dtype, the number of axes and the
//! alignment are checked, then the entry's bytes are mapped from the handle its description
//! was read through, never grown. An `.npz` member is never mapped read-write (its stored
//! CRC-32 would go wrong); a `.npy` file and a safetensors tensor may be.
//!
//! # Formats
//! The format is told by the file's first bytes, not its name: numpy's magic `\x93NUMPY`, a
//! zip record (`PK\x03\x04`, or `PK\x05\x06` for an empty archive), or safetensors' 8-byte
//! header length followed by `{`. A file that is none of these is opened as its extension
//! says (`.npz`, `.safetensors`, `.npy`), for that format's own account of what is wrong,
//! else refused ([`Error::UnknownFormat`]). HDF5's signature `\x89HDF\r\n\x1a\n` is looked
//! for at 0 and, after a user block, at 512, 1024, 2048, ... The `.npz`, safetensors and HDF5
//! formats need their features (`npz`, `safetensors`, `hdf5`).
//!
//! # HDF5
//! HDF5 files are read with the pure-Rust `hdf5-pure` crate (feature `hdf5`): only the
//! metadata, through this crate's own handle, within limits (`MAX_METADATA_READ`,
//! `MAX_OBJECTS`, `MAX_DEPTH`, `MAX_CHUNKS` in this module), a panic in the reader caught as
//! [`Error::BadHdf5`]. Entries are the datasets, named by path (`/group/dataset`; the
//! leading `/` may be left out), in h5py's `visititems` order (a dataset linked at two paths
//! is listed at both). dtypes are h5py's (byte order kept: `>f8`; its bool and complex
//! types; fixed-length strings as `|S6`, mapped by [`Container::map_any`]). A contiguous
//! dataset maps read-only, copy-on-write or read-write (only its data bytes are mapped, so
//! writes never touch metadata; HDF5 aligns nothing, so map `Unaligned<T>` where
//! [`Error::Misaligned`] says so). Compact, external, virtual, chunked and never-written
//! datasets are listed with the reason they cannot be mapped; a chunked one's
//! [`Container::pages`] are its chunks' pages (`Container::chunks`), so residency, advice
//! and eviction work per dataset. Compact and chunked datasets (gzip, shuffle and
//! fletcher32 filters too) are read into memory by [`Container::read`], as h5py reads them,
//! within a bound on the size a small file may claim (`MAX_EXPANSION`); an unfiltered
//! chunked dataset's chunks are mapped one by one by `Container::map_chunks`.

use crate::any::{AnyArray, OtherArray};
use crate::array::{MmapArray, Order, dim_and_strides};
use crate::element::{Dtype, NpyElement};
use crate::error::{Error, Result};
use crate::mapping::{Mode, check_file_type};
use crate::options::MmapOptions;
use crate::pages::Pages;
use crate::residency::Residency;
use ndarray::{Array, Dimension, Ix1, ShapeBuilder};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[cfg(feature = "hdf5")]
mod hdf5;
mod npy;
#[cfg(feature = "npz")]
mod npz;
#[cfg(feature = "hdf5")]
pub use hdf5::{
    Chunk, ChunkArray, MAX_CHUNKS, MAX_DEPTH, MAX_EXPANSION, MAX_METADATA_READ, MAX_OBJECTS,
    MAX_READS, MAX_SPARSE_READ,
};
#[cfg(feature = "safetensors")]
mod safetensors;
#[cfg(test)]
mod tests;

/// One array of a [`Container`], as its file describes it: what [`Container::map`] maps.
///
/// ```
/// use ndmmap::{Order, container::Container};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (3, 4))? });
/// let c = Container::open(&path)?;
/// let e = c.entry("")?;                                     // a .npy file's one array
/// assert_eq!((e.type_name.as_str(), e.elem_size, &e.shape[..]), ("<f8", 8, &[3, 4][..]));
/// assert_eq!((e.order, e.offset, e.len), (Order::C, 128, 96));
/// assert!(e.unmappable.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The name it is looked up by: numpy's key in an `.npz` archive (`np.load(f)[name]`,
    /// the zip name without `.npy`), the tensor's name in a safetensors file, and the empty
    /// string for the one array of a `.npy` file.
    pub name: String,
    /// numpy's dtype of the elements, where it is numeric (big-endian kept: `>f8`); `None`
    /// for types numpy lacks (safetensors' `BF16`, FP8, FP6, FP4), for numpy's bytes, str,
    /// void, datetime and timedelta types (`|S5`, `<U2`, `|V8`, `<M8[s]`: see
    /// [`type_name`](Self::type_name)) and where the header could not be read.
    pub dtype: Option<Dtype>,
    /// What the elements are: numpy's canonical descriptor (`"<f8"`, `"|b1"`, `"<f16"`,
    /// `"|S5"`, `"<U2"`, `"<M8[s]"`: `np.dtype(descr).str`) where numpy has the type, else the
    /// format's own name (`"BF16"`, `"F8_E4M3"`); empty when the header could not be read (a
    /// compressed `.npz` member).
    pub type_name: String,
    /// Bytes per element (numpy's `itemsize`: 4 per character of a str); 0 for elements of
    /// less than a byte (`F4`, `F6_*`), for numpy's unsized `|S0`, `<U0`, `|V0`, and where
    /// the header could not be read.
    pub elem_size: usize,
    /// The shape (empty for a 0-dimensional array, and where the header could not be read).
    pub shape: Vec<usize>,
    /// The data's memory order.
    pub order: Order,
    /// Absolute byte offset of the data in the file (for a member whose header could not be
    /// read, of its stored bytes).
    pub offset: u64,
    /// Bytes of data (for a member whose header could not be read, its stored bytes).
    pub len: u64,
    /// Why the entry cannot be mapped, when it cannot: compressed, a broken header, a dtype
    /// ndmmap cannot map (object `|O`, structured), elements of less than a byte or of 0
    /// bytes, data past the file's end.
    pub unmappable: Option<String>,
}

impl Entry {
    /// The pages of `page_size` bytes that the entry's bytes span in its file (as
    /// [`MmapArray::page_span`](crate::MmapArray::page_span) gives them for a mapped array).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix1, _>(&path, 1000)? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// let span = c.entry("")?.span(4096); // 8000 bytes at byte 128
    /// assert_eq!((span.lead, span.page_count), (128, 2));
    /// # Ok(()) }
    /// ```
    pub fn span(&self, page_size: usize) -> crate::PageSpan {
        let lead = (self.offset % page_size.max(1) as u64) as usize;
        let len = usize::try_from(self.len).unwrap_or(usize::MAX);
        crate::PageSpan::new(lead, len, page_size)
    }
}

/// The format of a [`Container`]'s file. `#[non_exhaustive]`.
///
/// ```
/// use ndmmap::container::{Container, Format};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<u8, ndarray::Ix1, _>(&path, 3)? });
/// assert_eq!(Container::open(&path)?.format(), Format::Npy);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// A numpy `.npy` file: one array, named `""`.
    Npy,
    /// A numpy `.npz` archive (a zip of `.npy` files; feature `npz`).
    Npz,
    /// A safetensors file (feature `safetensors`).
    Safetensors,
    /// An HDF5 file (feature `hdf5`): its datasets, named by their paths (`/group/dataset`).
    Hdf5,
}

/// The format's short name: `npy`, `npz`, `safetensors`, `hdf5`.
///
/// ```
/// assert_eq!(ndmmap::container::Format::Safetensors.to_string(), "safetensors");
/// ```
impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Npy => "npy",
            Format::Npz => "npz",
            Format::Safetensors => "safetensors",
            Format::Hdf5 => "hdf5",
        })
    }
}

/// What a container keeps of its format: the handle its entries were read through, and what
/// explains an entry that cannot be mapped.
#[derive(Debug)]
enum Backend {
    Npy(npy::Npy),
    #[cfg(feature = "npz")]
    Npz(crate::npz::Npz),
    #[cfg(feature = "safetensors")]
    Safetensors(crate::safetensors::Tensors),
    #[cfg(feature = "hdf5")]
    Hdf5(hdf5::Hdf5),
}

/// A file of named arrays, whatever its format: its [`Entry`]s listed, each looked up with a
/// `Result` and mapped typed ([`map`](Self::map), [`map_with`](Self::map_with)) or as its
/// dtype says ([`map_any`](Self::map_any)), and the page toolkit over any entry's bytes
/// ([`pages`](Self::pages)) without mapping it.
///
/// ```
/// use ndmmap::{AnyArray, container::Container};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<i64, ndarray::Ix1, _>(&path, 10)? });
/// let c = Container::open(&path)?;
/// for e in c.entries() {
///     // SAFETY: nobody truncates or rewrites the file while `a` lives.
///     let a = unsafe { c.map_any(&e.name)? };
///     if let AnyArray::I64(x) = &a {
///         assert_eq!(x.view().sum(), 0);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Container {
    path: PathBuf,
    format: Format,
    backend: Backend,
    entries: Vec<Entry>,
    /// Entry indices sorted by name: lookup by binary search, 8 bytes per entry.
    by_name: Vec<usize>,
    /// A read-only map of the whole file for [`pages`](Self::pages), made on first use; its
    /// bytes are never read.
    whole: OnceLock<MmapArray<u8, Ix1>>,
}

/// An empty vector with room for exactly `n` items, or, where the memory is not there, an
/// [`Error::Io`] (`OutOfMemory`) about `at` rather than an abort: `n` comes from a file.
pub(super) fn with_capacity<T>(n: usize, at: &Path) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::io("allocate", Some(at), std::io::ErrorKind::OutOfMemory.into()))?;
    Ok(v)
}

/// [`Error::DimensionMismatch`] unless `D` can hold entry `e`'s number of axes.
fn check_ndim<D: Dimension>(e: &Entry) -> Result<()> {
    match D::NDIM {
        Some(n) if n != e.shape.len() => Err(Error::DimensionMismatch {
            expected: n,
            found: e.shape.len(),
        }),
        _ => Ok(()),
    }
}

/// `FILE:NAME`, the path the library's errors name an entry by and [`open`] takes (`FILE`
/// alone for the empty name, a `.npy` file's one array).
///
/// ```
/// use ndmmap::container::entry_path;
/// use std::path::Path;
/// assert_eq!(entry_path(Path::new("m.npz"), "w"), Path::new("m.npz:w"));
/// assert_eq!(entry_path(Path::new("x.npy"), ""), Path::new("x.npy"));
/// ```
pub fn entry_path(file: &Path, name: &str) -> PathBuf {
    if name.is_empty() {
        return file.to_path_buf();
    }
    let mut s = file.as_os_str().to_owned();
    s.push(":");
    s.push(name);
    PathBuf::from(s)
}

/// The format of a file that starts with `start`, by its content.
fn sniff(start: &[u8]) -> Option<Format> {
    if start.starts_with(crate::npy::header::MAGIC) {
        Some(Format::Npy)
    } else if start.starts_with(b"PK\x03\x04") || start.starts_with(b"PK\x05\x06") {
        Some(Format::Npz)
    } else if start.len() > 8 && start[8] == b'{' {
        Some(Format::Safetensors)
    } else if start.starts_with(HDF5_SIGNATURE) {
        Some(Format::Hdf5)
    } else {
        None
    }
}

/// HDF5's format signature, at the start of the superblock.
const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// [`Format::Hdf5`] when `file` (of `len` bytes) holds HDF5's signature at 512, 1024, 2048, ...
/// bytes, where the superblock is found after a user block (offset 0 is `sniff`'s).
fn hdf5_after_user_block(file: &File, len: u64) -> Option<Format> {
    let mut at = 512u64;
    while at.saturating_add(8) <= len {
        let mut b = [0u8; 8];
        if crate::sys::read_exact_at(file, &mut b, at).is_ok() && &b == HDF5_SIGNATURE {
            return Some(Format::Hdf5);
        }
        at = at.saturating_mul(2);
    }
    None
}

/// The format a file's extension names, for the error when its content names none.
fn by_extension(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "npy" => Some(Format::Npy),
        "npz" => Some(Format::Npz),
        "safetensors" => Some(Format::Safetensors),
        "h5" | "hdf5" | "he5" => Some(Format::Hdf5),
        _ => None,
    }
}

impl Container {
    /// Opens the file at `path` and reads its entries (the `.npy` header, the zip directory
    /// and every member's header, the safetensors header); no array data is read. The
    /// format is told by the content (see [the module docs](self#formats)).
    ///
    /// Errors: the format's own for a broken file ([`Error::Npy`], [`Error::BadArchive`],
    /// [`Error::BadSafetensors`]), [`Error::UnknownFormat`] for none of them, and the OS's
    /// ([`Error::Io`], [`Error::IsDirectory`]). An entry that cannot be mapped is listed
    /// with its reason ([`Entry::unmappable`]), not refused.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("notes.txt");
    /// std::fs::write(&path, "not an array")?;
    /// let e = ndmmap::container::Container::open(&path).unwrap_err();
    /// assert!(matches!(e, ndmmap::Error::UnknownFormat { .. }));
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Container> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|e| Error::io("open", Some(path), e))?;
        check_file_type(&meta, Some(path))?;
        let probe = File::open(path).map_err(|e| Error::io("open", Some(path), e))?;
        // Read only the first page: no readahead into the data, whose residency the caller
        // may be about to measure. (A hint: failure changes nothing.)
        let _ = crate::sys::fadvise(&probe, 0, 0, crate::sys::FileAdvice::Random);
        let mut start = [0u8; 16];
        let got = crate::npy::header::read_at(&probe, path, &mut start, 0)?;
        let start = &start[..got];
        let format = sniff(start)
            .or_else(|| hdf5_after_user_block(&probe, meta.len()))
            .or_else(|| by_extension(path))
            .ok_or_else(|| Error::UnknownFormat {
                path: Some(path.to_path_buf()),
                start: start.to_vec(),
                feature: None,
            })?;
        let _missing = |feature| Error::UnknownFormat {
            path: Some(path.to_path_buf()),
            start: start.to_vec(),
            feature: Some(feature),
        };
        let (backend, entries) = match format {
            Format::Npy => {
                let (n, e) = npy::Npy::open(path, probe)?;
                (Backend::Npy(n), vec![e])
            }
            #[cfg(feature = "npz")]
            Format::Npz => {
                let z = crate::npz::Npz::open(path)?;
                let e = npz::entries(&z);
                (Backend::Npz(z), e)
            }
            #[cfg(feature = "safetensors")]
            Format::Safetensors => {
                let t = crate::safetensors::Tensors::open(path)?;
                let e = safetensors::entries(&t);
                (Backend::Safetensors(t), e)
            }
            #[cfg(feature = "hdf5")]
            Format::Hdf5 => {
                let (h, e) = hdf5::open(path, probe, meta.len())?;
                (Backend::Hdf5(h), e)
            }
            #[cfg(not(feature = "hdf5"))]
            Format::Hdf5 => return Err(_missing("hdf5")),
            #[cfg(not(feature = "npz"))]
            Format::Npz => return Err(_missing("npz")),
            #[cfg(not(feature = "safetensors"))]
            Format::Safetensors => return Err(_missing("safetensors")),
        };
        let mut by_name: Vec<usize> = (0..entries.len()).collect();
        by_name.sort_unstable_by(|&a, &b| entries[a].name.cmp(&entries[b].name));
        Ok(Container {
            path: path.to_path_buf(),
            format,
            backend,
            entries,
            by_name,
            whole: OnceLock::new(),
        })
    }

    /// The file's format.
    ///
    /// ```
    /// use ndmmap::container::{Container, Format};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<u8, ndarray::Ix1, _>(&path, 3)? });
    /// let c = Container::open(&path)?;
    /// assert_eq!(c.format(), Format::Npy);
    /// # Ok(()) }
    /// ```
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file's path, as given to [`open`](Self::open).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<u8, ndarray::Ix1, _>(&path, 3)? });
    /// assert_eq!(ndmmap::container::Container::open(&path)?.path(), path);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, in file order (the zip directory's order; the order of the tensors'
    /// data), unmappable ones included.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<u8, ndarray::Ix1, _>(&path, 3)? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// let names: Vec<&str> = c.entries().iter().map(|e| e.name.as_str()).collect();
    /// assert_eq!(names, [""]);
    /// # Ok(()) }
    /// ```
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry named `name` (in an `.npz` archive also its zip name, `"w.npy"`), or
    /// [`Error::NoSuchMember`] naming the file and listing the first 20 names (in file
    /// order), whatever the format.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<u8, ndarray::Ix1, _>(&path, 3)? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// assert_eq!(c.entry("")?.shape, [3]);
    /// let e = c.entry("w").unwrap_err();
    /// assert!(matches!(e, ndmmap::Error::NoSuchMember { ref available, .. } if available == &[""]));
    /// # Ok(()) }
    /// ```
    pub fn entry(&self, name: &str) -> Result<&Entry> {
        self.index(name).map(|i| &self.entries[i])
    }

    /// The position of entry `name` in [`entries`](Self::entries).
    fn index(&self, name: &str) -> Result<usize> {
        let find = |name: &str| {
            self.by_name
                .binary_search_by(|&i| self.entries[i].name.as_str().cmp(name))
                .ok()
                .map(|k| self.by_name[k])
        };
        // Without `npz` the closure is only `None`.
        #[cfg_attr(not(feature = "npz"), allow(clippy::unnecessary_lazy_evaluations))]
        let found = find(name).or_else(|| match &self.backend {
            // numpy's key or the zip name: the archive knows both.
            #[cfg(feature = "npz")]
            Backend::Npz(z) => z.member(name).and_then(|m| find(&m.name)),
            // A dataset's path with or without its leading `/`.
            #[cfg(feature = "hdf5")]
            Backend::Hdf5(_) if !name.starts_with('/') => find(&format!("/{name}")),
            _ => None,
        });
        found.ok_or_else(|| {
            let names = self.entries.iter().map(|e| e.name.as_str());
            Error::no_such_member(&self.path, name, names)
        })
    }

    /// The `.npz` archive behind the container, for what only archives have
    /// ([`verify`](crate::npz::Npz::verify), zip names, stored CRCs).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npz");
    /// ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1u8, 2]))?.finish()?;
    /// let c = ndmmap::container::Container::open(&path)?;
    /// c.npz().unwrap().verify("x")?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "npz")]
    pub fn npz(&self) -> Option<&crate::npz::Npz> {
        match &self.backend {
            Backend::Npz(z) => Some(z),
            _ => None,
        }
    }

    /// The safetensors file behind the container, for what only it has
    /// ([`metadata`](crate::safetensors::Tensors::metadata), its own dtypes).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("t.safetensors");
    /// ndmmap::safetensors::Writer::new().metadata("format", "pt").write(&path)?;
    /// let c = ndmmap::container::Container::open(&path)?;
    /// assert_eq!(c.safetensors().unwrap().metadata()["format"], "pt");
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "safetensors")]
    pub fn safetensors(&self) -> Option<&crate::safetensors::Tensors> {
        match &self.backend {
            Backend::Safetensors(t) => Some(t),
            _ => None,
        }
    }

    /// The handle the entries were read through, which every map maps.
    fn file(&self) -> &File {
        match &self.backend {
            Backend::Npy(n) => &n.file,
            #[cfg(feature = "npz")]
            Backend::Npz(z) => z.file(),
            #[cfg(feature = "safetensors")]
            Backend::Safetensors(t) => t.file(),
            #[cfg(feature = "hdf5")]
            Backend::Hdf5(h) => &h.file,
        }
    }

    /// The entry `name` when it can be mapped in `mode`, with its index; else the error that
    /// says why not, naming it as `FILE:NAME`.
    fn mappable(&self, name: &str, mode: Mode) -> Result<&Entry> {
        let e = self.entry(name)?;
        let at = entry_path(&self.path, &e.name);
        if self.format == Format::Npz && mode == Mode::ReadWrite {
            return Err(Error::NotWritable {
                reason: "an .npz member is mapped read-only or copy-on-write, never shared \
                         read-write: a write would leave the member's stored CRC-32 wrong and \
                         numpy would refuse the archive; use Mode::CopyOnWrite, or write a new \
                         archive with npz::NpzWriter",
            });
        }
        if let Some(why) = &e.unmappable {
            return Err(match &self.backend {
                Backend::Npy(n) => n.refusal(&at),
                // The archive's own error: Compressed, the .npy header's, BadArchive.
                #[cfg(feature = "npz")]
                Backend::Npz(z) => npz::refusal(z, &e.name),
                #[cfg(feature = "safetensors")]
                Backend::Safetensors(_) => None,
                // What it is, and what the library can do instead.
                #[cfg(feature = "hdf5")]
                Backend::Hdf5(h) => h.advice(self.index(name)?).map(|advice| Error::Unmappable {
                    path: Some(at.clone()),
                    why: format!("{why}: {advice}"),
                }),
            }
            .unwrap_or_else(|| Error::Unmappable {
                path: Some(at),
                why: why.clone(),
            }));
        }
        Ok(e)
    }

    /// For [`Mode::ReadWrite`], the file opened again for writing, checked to be the one
    /// the entries were read from; other modes map that handle itself (`None`).
    fn writable(&self, mode: Mode) -> Result<Option<File>> {
        if mode != Mode::ReadWrite {
            return Ok(None);
        }
        let path = &self.path;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open for writing", Some(path), e))?;
        let id = |f: &File| crate::sys::file_id(f).map_err(|e| Error::io("fstat", Some(path), e));
        if id(self.file())? != id(&f)? {
            return Err(Error::Unmappable {
                path: Some(path.clone()),
                why: "the path names another file than the one opened (replaced since?)".into(),
            });
        }
        Ok(Some(f))
    }

    /// Maps entry `name` read-only as an array of `T`: the file's own bytes, no copy. See
    /// [`map_with`](Self::map_with) for the checks and errors.
    ///
    /// ```
    /// use ndmmap::{Unaligned, container::Container};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix1, _>(&path, 4)? });
    /// let c = Container::open(&path)?;
    /// // SAFETY: nobody truncates or rewrites the file while the arrays live.
    /// let x = unsafe { c.map::<f64, ndarray::Ix1>("")? };
    /// assert_eq!(x.view().sum(), 0.0);
    /// let u = unsafe { c.map::<Unaligned<f64>, ndarray::IxDyn>("")? }; // any offset
    /// assert_eq!(u.ndim(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays):
    /// the file must not be truncated or rewritten while the array lives.
    pub unsafe fn map<T: NpyElement, D: Dimension>(&self, name: &str) -> Result<MmapArray<T, D>> {
        // SAFETY: forwarded to the caller.
        unsafe { self.map_with(name, Mode::ReadOnly) }
    }

    /// Maps entry `name` as an array of `T` in `mode`: [`Mode::ReadOnly`],
    /// [`Mode::CopyOnWrite`] (private changes), or [`Mode::ReadWrite`] (changes reach the
    /// file; the file is opened again for writing and must still be the one opened).
    ///
    /// Checked, in this order: the entry exists ([`Error::NoSuchMember`]) and can be mapped
    /// (its format's error, or [`Error::Unmappable`]); an `.npz` member is not asked
    /// read-write ([`Error::NotWritable`]); `T`'s dtype is the entry's
    /// ([`Error::DtypeMismatch`]: a big-endian entry maps as
    /// [`ByteSwapped<T>`](crate::ByteSwapped)); `D` has the entry's number of axes
    /// ([`Error::DimensionMismatch`]; `IxDyn` takes any); the offset keeps `T` aligned
    /// ([`Error::Misaligned`]: map [`Unaligned<T>`](crate::Unaligned), which takes any
    /// offset). Errors about the file name the entry as `FILE:NAME`.
    ///
    /// ```
    /// use ndmmap::{Mode, container::Container};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<i32, ndarray::Ix1, _>(&path, 4)? });
    /// let c = Container::open(&path)?;
    /// // SAFETY: nobody else truncates or rewrites the file while the arrays live.
    /// let mut w = unsafe { c.map_with::<i32, ndarray::Ix1>("", Mode::ReadWrite)? };
    /// w.view_mut()?.fill(7);
    /// drop(w);
    /// assert_eq!(unsafe { c.map::<i32, ndarray::Ix1>("")? }.view().sum(), 28);
    /// assert!(matches!(unsafe { c.map::<f32, ndarray::Ix1>("") }, Err(ndmmap::Error::DtypeMismatch { .. })));
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
        let e = self.mappable(name, mode)?;
        if e.dtype != Some(T::DTYPE) {
            return Err(Error::DtypeMismatch {
                expected: T::DTYPE.descr(),
                found: e.type_name.clone(),
            });
        }
        check_ndim::<D>(e)?;
        if !e.offset.is_multiple_of(align_of::<T>() as u64) {
            return Err(Error::Misaligned {
                offset: e.offset,
                align: align_of::<T>(),
            });
        }
        let mut dim = D::zeros(e.shape.len());
        dim.slice_mut().copy_from_slice(&e.shape);
        let shape = dim.set_f(e.order == Order::F);
        let writable = self.writable(mode)?;
        let file = writable.as_ref().unwrap_or(self.file());
        let mut opts = MmapOptions::new();
        opts.mode(mode).grow(false).offset(e.offset);
        // SAFETY: forwarded to the caller.
        let mut a: MmapArray<T, D> = unsafe {
            opts.map_file(file, Some(self.path.clone()), |_| {
                dim_and_strides(shape, size_of::<T>())
            })
        }
        .map_err(|err| err.at(&entry_path(&self.path, &e.name)))?;
        if self.format == Format::Npy {
            a.map_mut().set_npy_header();
        }
        Ok(a)
    }

    /// Reads entry `name` into memory as an array of `T`, in `T`'s byte order: a `>f8`
    /// entry read as `f64` gives the numbers (bytes swapped on a little-endian machine). The
    /// file's bytes are read with positioned reads of the container's handle (nothing is
    /// mapped, so the call is safe; a file truncated meanwhile gives [`Error::Io`]).
    ///
    /// Every entry [`map_with`](Self::map_with) maps can be read, and so can the HDF5 datasets
    /// it cannot map (feature `hdf5`): a compact one (its bytes inside the object header);
    /// a chunked one, assembled from its chunks, its never-written chunks reading as its fill
    /// value as h5py reads them (0 unless the dataset sets one); a filtered one (gzip,
    /// shuffle, fletcher32, lzf, scale-offset; another filter is an [`Error::Unmappable`]
    /// naming it). A chunked dataset is read only if its size is at most
    /// `container::MAX_EXPANSION` times the bytes stored for it or at most
    /// `container::MAX_SPARSE_READ` (a decompression bomb is refused so, and so is a small
    /// file that would make the reader allocate and fill gigabytes).
    ///
    /// Checked, in this order: the entry exists ([`Error::NoSuchMember`]) and can be read
    /// (the error [`map_with`](Self::map_with) gives, or [`Error::Unmappable`] with the
    /// reason); `T` has the entry's kind and size ([`Error::DtypeMismatch`], as for `map`,
    /// but either byte order is taken); `D` has the entry's number of axes
    /// ([`Error::DimensionMismatch`]). The array's memory comes from `Vec::try_reserve`:
    /// too much of it is an [`Error::Io`] (out of memory), not an abort. The result keeps the
    /// entry's memory order ([`Entry::order`]).
    ///
    /// ```
    /// use ndmmap::container::Container;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # let mut w = unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (2, 3))? };
    /// # w.view_mut()?.fill(1.5);
    /// # drop(w);
    /// let c = Container::open(&path)?;
    /// let a = c.read::<f64, ndarray::Ix2>("")?;                 // an ndarray::Array2<f64>
    /// assert_eq!(a, ndarray::Array2::from_elem((2, 3), 1.5));
    /// assert!(matches!(c.read::<i64, ndarray::Ix2>(""), Err(ndmmap::Error::DtypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// An HDF5 file's chunked or compact dataset:
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let c = ndmmap::container::Container::open("data.h5")?;
    /// let images = c.read::<u16, ndarray::Ix3>("/images")?;    // gzip-compressed chunks
    /// println!("{} images, mean {}", images.len_of(ndarray::Axis(0)), images.mean().unwrap_or(0));
    /// # Ok(()) }
    /// ```
    pub fn read<T: NpyElement, D: Dimension>(&self, name: &str) -> Result<Array<T, D>> {
        let i = self.index(name)?;
        let e = &self.entries[i];
        let at = entry_path(&self.path, &e.name);
        #[cfg(feature = "hdf5")]
        let here = match &self.backend {
            Backend::Hdf5(h) if h.reads(i) => Some(h),
            _ => None,
        };
        #[cfg(not(feature = "hdf5"))]
        let here: Option<std::convert::Infallible> = None;
        if here.is_none() {
            self.mappable(name, Mode::ReadOnly)?;
        }
        let want = T::DTYPE;
        let found = e
            .dtype
            .filter(|d| d.kind == want.kind && d.size == want.size && size_of::<T>() == want.size);
        let Some(found) = found else {
            return Err(Error::DtypeMismatch {
                expected: want.descr(),
                found: e.type_name.clone(),
            });
        };
        check_ndim::<D>(e)?;
        let count = e
            .shape
            .iter()
            .try_fold(1usize, |a, &n| a.checked_mul(n))
            .filter(|&n| {
                n.checked_mul(size_of::<T>())
                    .is_some_and(|b| b <= isize::MAX as usize)
            })
            .ok_or_else(|| Error::SizeOverflow {
                shape: e.shape.clone(),
                elem_size: size_of::<T>(),
            })?;
        #[cfg(feature = "hdf5")]
        if let Some(h) = here {
            h.bounded(&self.path, i, e, (count * size_of::<T>()) as u64)?;
        }
        let mut v: Vec<T> = with_capacity(count, &at)?;
        v.resize(count, T::zeroed());
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut v);
        match here {
            #[cfg(feature = "hdf5")]
            Some(h) => h.read_into(&self.path, i, e, bytes)?,
            #[cfg(not(feature = "hdf5"))]
            Some(never) => match never {},
            None => crate::sys::read_exact_at(self.file(), bytes, e.offset)
                .map_err(|err| Error::io("read", Some(&at), err))?,
        }
        if found.little_endian != want.little_endian {
            swap_each(
                bytes,
                if found.kind == 'c' {
                    found.size / 2
                } else {
                    found.size
                },
            );
        }
        let mut dim = D::zeros(e.shape.len());
        dim.slice_mut().copy_from_slice(&e.shape);
        // HDF5 data read here is in C order; other entries keep theirs.
        Array::from_shape_vec(dim.set_f(e.order == Order::F), v).map_err(|_| Error::SizeOverflow {
            shape: e.shape.clone(),
            elem_size: size_of::<T>(),
        })
    }

    /// Maps entry `name` read-only as whatever its dtype names: an [`AnyArray`] whose
    /// variant says the element type (`F64`, `UnalignedF64` at an offset `f64` cannot take,
    /// `SwappedF64` for `>f8`), or [`AnyArray::Other`] for elements no Rust type here holds
    /// (safetensors' `BF16` and FP8 types, numpy's long double, and numpy's bytes, str, void,
    /// datetime and timedelta types: `|S5`, `<U2`, `|V8`, `<M8[s]`): their bytes, size and
    /// [`type_name`](AnyArray::type_name). Every page operation works on every variant.
    /// Errors as for [`map_with`](Self::map_with), less the type checks.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<u16, ndarray::Ix2, _>(&path, (3, 4))? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// // SAFETY: nobody truncates or rewrites the file while `a` lives.
    /// let a = unsafe { c.map_any("")? };
    /// assert_eq!((a.type_name().as_str(), a.shape()), ("<u2", &[3, 4][..]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_any(&self, name: &str) -> Result<AnyArray> {
        // SAFETY: forwarded to the caller.
        unsafe { self.map_any_with(name, Mode::ReadOnly) }
    }

    /// Maps entry `name` in `mode` as whatever its dtype names (see
    /// [`map_any`](Self::map_any)): [`Mode::ReadOnly`], [`Mode::CopyOnWrite`] or
    /// [`Mode::ReadWrite`], as [`map_with`](Self::map_with) takes them (an `.npz` member is
    /// not mapped read-write: [`Error::NotWritable`]).
    ///
    /// ```
    /// use ndmmap::{AnyArray, Mode};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<i32, ndarray::Ix1, _>(&path, 4)? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// // SAFETY: nobody else truncates or rewrites the file while the arrays live.
    /// if let AnyArray::I32(mut w) = unsafe { c.map_any_with("", Mode::CopyOnWrite)? } {
    ///     w.view_mut()?.fill(7); // private to this map
    /// }
    /// assert_eq!(unsafe { c.map::<i32, ndarray::Ix1>("")? }.view().sum(), 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    pub unsafe fn map_any_with(&self, name: &str, mode: Mode) -> Result<AnyArray> {
        let e = self.mappable(name, mode)?;
        // SAFETY: forwarded to the caller.
        let mut a = unsafe { self.map_typed_as(e, e.offset, &e.shape, e.order, mode) }?;
        if self.format == Format::Npy {
            a.set_npy_header();
        }
        Ok(a)
    }

    /// Maps in `mode`, as entry `e`'s dtype names, the `shape` elements (in `order`) at byte
    /// `offset` of the file.
    ///
    /// # Safety
    /// As for [`map`](Self::map).
    unsafe fn map_typed_as(
        &self,
        e: &Entry,
        offset: u64,
        shape: &[usize],
        order: Order,
        mode: Mode,
    ) -> Result<AnyArray> {
        let path = Some(self.path.clone());
        let writable = self.writable(mode)?;
        let file = writable.as_ref().unwrap_or(self.file());
        let mapped = match e.dtype {
            // SAFETY: forwarded to the caller.
            Some(d) if AnyArray::has_variant(d) => unsafe {
                AnyArray::map_raw(file, path, offset, d, shape, order, mode)
            },
            // SAFETY: forwarded to the caller.
            _ => unsafe {
                OtherArray::map(
                    file,
                    path,
                    offset,
                    &e.type_name,
                    e.elem_size,
                    e.dtype,
                    shape,
                    order,
                    mode,
                )
            }
            .map(AnyArray::Other),
        };
        mapped.map_err(|err| err.at(&entry_path(&self.path, &e.name)))
    }

    /// The pages of entry `name`'s bytes, with every page operation on them (residency,
    /// advice, locking, eviction; see [`Pages`]), without mapping the entry: they come from
    /// one read-only map of the whole file, made on first use, whose bytes only
    /// [`Pages::touch`] reads (under a guard).
    /// Any entry works, unmappable ones too (a compressed member's stored bytes); bytes an
    /// entry claims past the file's end are left out. Per-slice selections need the entry
    /// mapped: [`map_any`](Self::map_any), then [`AnyArray::pages`].
    ///
    /// ```
    /// use ndmmap::Advice;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix1, _>(&path, 4096)? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// let p = c.pages("")?;
    /// p.advise(Advice::WillNeed)?;                          // prefetch the entry
    /// let r = p.residency()?;                               // resident / total pages
    /// assert!(r.resident <= r.total && r.total >= 8);
    /// # Ok(()) }
    /// ```
    pub fn pages(&self, name: &str) -> Result<Pages<'_>> {
        let e = self.entry(name)?;
        let whole = self.whole()?;
        #[cfg(feature = "hdf5")]
        if let Backend::Hdf5(h) = &self.backend {
            let chunks = &h.chunks[self.index(name)?];
            if !chunks.is_empty() {
                return chunk_pages(whole, chunks.iter().map(|c| (c.offset, c.len)));
            }
        }
        byte_pages(whole, e.offset, e.len)
    }

    /// Where entry `name`'s bytes lie in pages of the file: the lead before its first byte in
    /// its first page (as [`Entry::span`]), and the number of pages
    /// [`pages`](Self::pages) holds: bytes it claims past the file's end left out, and for
    /// an HDF5 chunked dataset its chunks' pages (a page two chunks share counted once,
    /// pages between its chunks not at all).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix1, _>(&path, 1000)? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// let span = c.span("")?; // 8000 bytes at byte 128
    /// assert_eq!((span.lead, span.page_count), (128, c.pages("")?.len()));
    /// # Ok(()) }
    /// ```
    pub fn span(&self, name: &str) -> Result<crate::PageSpan> {
        let p = self.pages(name)?;
        let mut span = self.entry(name)?.span(p.span().page_size);
        span.page_count = p.len();
        Ok(span)
    }

    /// The stored chunks of entry `name`, an HDF5 chunked dataset, in the order of its chunk
    /// index: each chunk's first element, and its byte offset and length in the file (the
    /// byte runs [`pages`](Self::pages) counts). Empty for every other entry (and a chunked
    /// dataset none of whose chunks was written); [`Error::NoSuchMember`] as for
    /// [`entry`](Self::entry).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let c = ndmmap::container::Container::open("data.h5")?;
    /// for ch in c.chunks("/images")? {
    ///     println!("chunk at {:?}: {} bytes at {}", ch.start, ch.len, ch.offset);
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "hdf5")]
    pub fn chunks(&self, name: &str) -> Result<&[Chunk]> {
        let i = self.index(name)?;
        Ok(match &self.backend {
            Backend::Hdf5(h) => &h.chunks[i],
            _ => &[],
        })
    }

    /// The residency of each stored chunk of entry `name`, an HDF5 chunked dataset, in the
    /// order of [`chunks`](Self::chunks): which chunks of it are in RAM (one [`Residency`]
    /// per chunk, over the pages its stored bytes span; a page two chunks share counts for
    /// both). Empty for every other entry; bytes past the file's end are left out. Errors:
    /// [`Error::NoSuchMember`], and [`Error::ResidencyUnknown`] where the OS hides the
    /// file's page cache.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let c = ndmmap::container::Container::open("data.h5")?;
    /// let chunks = c.chunks("/images")?;
    /// for (ch, r) in chunks.iter().zip(c.chunk_residency("/images")?) {
    ///     println!("chunk at {:?}: {:.0}% in RAM", ch.start, 100.0 * r.fraction());
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "hdf5")]
    pub fn chunk_residency(&self, name: &str) -> Result<Vec<Residency>> {
        let chunks = self.chunks(name)?;
        if chunks.is_empty() {
            return Ok(Vec::new());
        }
        let whole = self.whole()?;
        chunks
            .iter()
            .map(|c| byte_pages(whole, c.offset, c.len)?.residency())
            .collect()
    }

    /// The chunk shape of entry `name`, an HDF5 chunked dataset (elements per chunk along
    /// each axis); `None` for every other entry, and for a chunked dataset whose datatype,
    /// shape or chunk index could not be read. [`Error::NoSuchMember`] as for
    /// [`entry`](Self::entry).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let c = ndmmap::container::Container::open("data.h5")?;
    /// if let Some(shape) = c.chunk_shape("/images")? {
    ///     println!("chunks of {shape:?} elements");
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "hdf5")]
    pub fn chunk_shape(&self, name: &str) -> Result<Option<Vec<usize>>> {
        let i = self.index(name)?;
        Ok(match &self.backend {
            Backend::Hdf5(h) => h
                .chunk_shape(i)
                .and_then(|s| s.iter().map(|&n| usize::try_from(n).ok()).collect()),
            _ => None,
        })
    }

    /// Maps each stored chunk of entry `name`, an unfiltered chunked HDF5 dataset, read-only
    /// as a [`ChunkArray`]: the chunk's first element in the dataset
    /// ([`start`](ChunkArray::start)), the shape of its part inside the dataset
    /// ([`inside`](ChunkArray::inside)), and the whole chunk as HDF5 stores it
    /// ([`array`](ChunkArray::array), an [`AnyArray`] of the chunk shape typed as
    /// [`map_any`](Self::map_any) types the entry; HDF5 stores edge chunks whole, so past
    /// `inside` its elements are not the dataset's). In the order of the chunk index, as
    /// [`chunks`](Self::chunks) lists them; chunks never written are not stored and not
    /// listed (they read as the fill value: [`read`](Self::read)). All chunks are mapped
    /// before the call returns, one map each (the OS caps a process's maps: 65530 by
    /// default on Linux, `vm.max_map_count`; past that the call fails with the OS error).
    ///
    /// Errors: [`Error::NoSuchMember`]; [`Error::Unmappable`] for an entry that is not a
    /// chunked dataset, a filtered one (its chunks' bytes are compressed: read it with
    /// [`read`](Self::read)), or one whose chunks do not fit its shape or the file; a
    /// mapping's own errors ([`Error::Misaligned`] never: every variant takes any offset).
    ///
    /// ```no_run
    /// use ndmmap::AnyArray;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let c = ndmmap::container::Container::open("data.h5")?;
    /// // SAFETY: nobody truncates or rewrites data.h5 while the chunks are mapped.
    /// for ch in unsafe { c.map_chunks("/images")? } {
    ///     if let AnyArray::U16(a) = &ch.array {
    ///         let whole = a.view();
    ///         let part = whole.slice_each_axis(|ax| (..ch.inside[ax.axis.index()]).into());
    ///         println!("chunk at {:?}: sum {}", ch.start, part.iter().map(|&x| x as u64).sum::<u64>());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`map`](Self::map): the file must not be truncated or rewritten while a
    /// chunk's array lives.
    #[cfg(feature = "hdf5")]
    pub unsafe fn map_chunks(&self, name: &str) -> Result<Vec<ChunkArray>> {
        let i = self.index(name)?;
        let e = &self.entries[i];
        let at = entry_path(&self.path, &e.name);
        let refuse = |why: String| Error::Unmappable {
            path: Some(at.clone()),
            why,
        };
        let Backend::Hdf5(h) = &self.backend else {
            return Err(refuse(
                "it is not an HDF5 dataset: map it with Container::map or map_any".into(),
            ));
        };
        let (chunks, grid) = h.mappable_chunks(i, e).map_err(refuse)?;
        let mut out = with_capacity(chunks.len(), &at)?;
        for c in chunks {
            let inside = e
                .shape
                .iter()
                .zip(&grid)
                .zip(&c.start)
                .map(|((&s, &n), &at)| n.min(s - at as usize))
                .collect();
            // SAFETY: forwarded to the caller.
            let array = unsafe { self.map_typed_as(e, c.offset, &grid, Order::C, Mode::ReadOnly) }?;
            out.push(ChunkArray {
                start: c.start.clone(),
                inside,
                array,
            });
        }
        Ok(out)
    }

    /// The read-only map of the whole file behind [`pages`](Self::pages).
    fn whole(&self) -> Result<&MmapArray<u8, Ix1>> {
        if let Some(w) = self.whole.get() {
            return Ok(w);
        }
        let mut opts = MmapOptions::new();
        opts.mode(Mode::ReadOnly).grow(false).offset(0);
        // SAFETY: the map's bytes are never written: it is private to the container and only
        // hands out `Pages`, whose operations ask the kernel about or for its pages
        // (mincore, cachestat, madvise with safe advice, msync, mlock), which a truncated
        // file turns into an error, never a fault in this process; the one that reads them,
        // `Pages::touch`, reads under a guard, which turns such a fault into an error.
        let w = unsafe {
            opts.map_file::<u8, Ix1>(self.file(), Some(self.path.clone()), |r| {
                let n = usize::try_from(r.len).map_err(|_| Error::SizeOverflow {
                    shape: vec![usize::MAX],
                    elem_size: 1,
                })?;
                dim_and_strides(ndarray::Shape::from(Ix1(n)), 1)
            })?
        };
        Ok(self.whole.get_or_init(|| w))
    }

    /// The residency of every entry's bytes, in file order ("which arrays are in RAM"): one
    /// [`Residency`] per entry from [`pages`](Self::pages). A page shared by two entries
    /// counts for both. Like every residency figure, [`Error::ResidencyUnknown`] for a file
    /// this process may not write (Linux hides the page cache of such files).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npy");
    /// # drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix1, _>(&path, 4096)? });
    /// let c = ndmmap::container::Container::open(&path)?;
    /// for (name, r) in c.residency_all()? {
    ///     println!("{name:?}: {}/{} pages, {:.0}%", r.resident, r.total, 100.0 * r.fraction());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn residency_all(&self) -> Result<Vec<(String, Residency)>> {
        self.entries
            .iter()
            .map(|e| Ok((e.name.clone(), self.pages(&e.name)?.residency()?)))
            .collect()
    }
}

/// Reverses the bytes of every `unit`-byte group of `bytes` (nothing for one-byte units).
fn swap_each(bytes: &mut [u8], unit: usize) {
    if unit > 1 {
        for u in bytes.chunks_exact_mut(unit) {
            u.reverse();
        }
    }
}

/// The pages of `whole` (a map of the whole file) that hold its bytes `offset..offset + len`,
/// those past the end left out.
fn byte_pages(whole: &MmapArray<u8, Ix1>, offset: u64, len: u64) -> Result<Pages<'_>> {
    let n = whole.len() as u64;
    let start = offset.min(n) as usize;
    let end = offset.saturating_add(len).min(n) as usize;
    whole.pages(start..end)
}

/// The pages of `whole` (a map of the whole file) that hold bytes of `runs` (offset, length),
/// runs past the end left out.
#[cfg(feature = "hdf5")]
fn chunk_pages(
    whole: &MmapArray<u8, Ix1>,
    runs: impl Iterator<Item = (u64, u64)>,
) -> Result<Pages<'_>> {
    let all = whole.pages(..)?;
    let span = all.span();
    let (page, count) = (span.page_size as u64, span.page_count);
    let len = whole.len() as u64;
    let mut keep: Vec<std::ops::Range<usize>> = runs
        .filter_map(|(o, n)| {
            let end = o.saturating_add(n).min(len);
            (o < end).then(|| (o / page) as usize..end.div_ceil(page) as usize)
        })
        .collect();
    keep.sort_unstable_by_key(|r| r.start);
    // The pages not kept, taken away from the whole.
    let mut away = Vec::new();
    let mut at = 0;
    for r in keep {
        if r.start > at {
            away.push(at..r.start);
        }
        at = at.max(r.end);
    }
    if at < count {
        away.push(at..count);
    }
    Ok(all.without(&away))
}

/// Opens the container a user names as `PATH` or `PATH:NAME`, and gives the name, if any.
///
/// `spec` that names an existing file (or anything else that exists) is the path. Otherwise
/// it is split at a `:` whose left side is an existing file, the longest such side winning,
/// whatever the extension (`.npz`, `.safetensors`, `.npy`): so names may hold `:` and so may
/// paths. When no prefix is a file, `spec` is the path, and opening it says it is missing.
///
/// | `spec` | on disk | path | name |
/// |---|---|---|---|
/// | `model.safetensors` | the file | `model.safetensors` | `None` |
/// | `model.safetensors:layer.0:w` | the file | `model.safetensors` | `Some("layer.0:w")` |
/// | `a.npz:b.npz:c` | `a.npz` and `a.npz:b.npz` | `a.npz:b.npz` | `Some("c")` |
/// | `x.npy:` | `x.npy` | `x.npy` | `Some("")` |
/// | `gone.npz:w` | nothing | `gone.npz:w` | error: not found |
///
/// A `spec` that is not valid UTF-8 is taken as a path.
///
/// ```
/// use ndmmap::container;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npy");
/// # drop(unsafe { ndmmap::npy::create::<u8, ndarray::Ix1, _>(&path, 3)? });
/// let (c, name) = container::open(format!("{}:", path.display()))?;
/// assert_eq!((c.path(), name.as_deref()), (path.as_path(), Some("")));
/// let (_, name) = container::open(&path)?;
/// assert_eq!(name, None);
/// assert!(container::open(dir.path().join("missing.npz:w")).is_err());
/// # Ok(()) }
/// ```
pub fn open(spec: impl AsRef<Path>) -> Result<(Container, Option<String>)> {
    let (path, name) = split_spec(spec);
    Ok((Container::open(path)?, name))
}

/// `spec` as [`open`] reads it, without opening anything: the file, and the entry's name when
/// `spec` is `FILE:NAME` (the longest prefix before a `:` that is a file, where `spec` itself
/// does not exist).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let file = dir.path().join("m.npz");
/// std::fs::write(&file, b"")?;
/// let spec = ndmmap::container::entry_path(&file, "layer:0");
/// let (path, name) = ndmmap::container::split_spec(&spec);
/// assert_eq!((path, name.as_deref()), (file.clone(), Some("layer:0")));
/// assert_eq!(ndmmap::container::split_spec(&file), (file, None));
/// # Ok(()) }
/// ```
pub fn split_spec(spec: impl AsRef<Path>) -> (PathBuf, Option<String>) {
    split(spec.as_ref(), |p| p.is_file())
}

/// `spec` as a path and a name: itself when it exists, else split at the last `:` whose left
/// side `is_file` accepts (the longest such side).
fn split(spec: &Path, is_file: impl Fn(&Path) -> bool) -> (PathBuf, Option<String>) {
    let whole = (spec.to_path_buf(), None);
    if spec.exists() {
        return whole;
    }
    let Some(s) = spec.to_str() else {
        return whole;
    };
    s.rmatch_indices(':')
        .map(|(i, _)| i)
        .find(|&i| i > 0 && is_file(Path::new(&s[..i])))
        .map_or(whole, |i| {
            (PathBuf::from(&s[..i]), Some(s[i + 1..].to_string()))
        })
}
