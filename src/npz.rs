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
//! is [`Error::Compressed`] (its CRC-32 is still checked, on the inflated data, by
//! [`Npz::verify`]). Members are mapped read-only or copy-on-write, never shared read-write:
//! the archive stores a CRC-32 of every member, which a write in place would make wrong, and
//! numpy (Python's `zipfile`) then refuses the member.
//!
//! # Archives as numpy reads them
//! [`Npz::open`] reads the zip directory the way numpy does (`np.load` hands the file to
//! Python's `zipfile`), so that every archive gives numpy's answer or a one-line refusal:
//! - a file that does not start with a zip signature (`PK\x03\x04`, or `PK\x05\x06` for an
//!   empty archive) is not an archive to numpy either;
//! - the end record is the last 22 bytes, or else the last `PK\x05\x06` in the last 65,558
//!   bytes (so a comment, or bytes appended after the record, are accepted); its entry
//!   counts are ignored (the directory is read by its size, as `zipfile` does), so an end
//!   record claiming 65,535 entries or 2^40 costs nothing;
//! - the directory ends where the end record (or the zip64 end record) starts, and its start
//!   follows from its size: offsets are shifted by the difference (`zipfile`'s "concat", for
//!   bytes prepended to an archive);
//! - member names are UTF-8 when flagged so, else code page 437, and end at a NUL byte;
//!   numpy's key is the name without its `.npy` suffix.
//!
//! Every size and offset read from the file goes through checked arithmetic against the
//! file's length before anything is read or allocated by it. Where Python versions differ
//! ndmmap takes the stricter one and refuses, with the reason: a zip64 locator without a
//! consistent zip64 end record (Python 3.11 falls back to the 32-bit record, later versions
//! refuse), and a member whose data runs into the next member's local header or the directory
//! (Python 3.12 and later refuse such overlapping members as possible zip bombs). Archives
//! whose names are ambiguous as numpy keys (two entries named alike, or `x` next to `x.npy`)
//! are refused: numpy would quietly pick one of them.
//!
//! A broken directory is [`Error::BadArchive`] at open; a member whose local header, offsets
//! or `.npy` header are wrong is listed with its [`problem`](Member::problem) and is an error
//! when mapped (numpy, too, fails only when that member is read). The stored CRC-32 is not
//! checked by [`Npz::open`] (that would read every byte): ask for it with
//! [`NpzOptions::verify`], or per member with [`Npz::verify`].

use crate::array::Order;
use crate::array::{MmapArray, dim_and_strides};
use crate::element::{Dtype, NpyElement};
use crate::error::{Error, NpyError, Result};
use crate::mapping::{Mode, check_file_type};
use crate::npy::MAX_HEADER_SIZE;
use crate::npy::dtype::AnyDtype;
use crate::npy::header::AnyHeader;
use crate::options::MmapOptions;
use crate::residency::Residency;
use crate::sys::FileAt;
use ndarray::{ArrayView, AsArray, Dimension, Ix1, ShapeBuilder};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Data alignment of the members [`NpzWriter`] writes.
const ALIGN: u64 = 64;
/// Zip's records: signatures and fixed lengths.
const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const LOCAL_LEN: usize = 30;
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const CENTRAL_LEN: usize = 46;
const END_SIG: &[u8; 4] = b"PK\x05\x06";
const END_LEN: usize = 22;
const END64_SIG: &[u8; 4] = b"PK\x06\x06";
const END64_LEN: usize = 56;
const LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const LOCATOR_LEN: usize = 20;
/// Python's zipfile looks for the end record in the last `(1 << 16) + END_LEN` bytes, and
/// refuses entries that need a later zip version to extract.
const END_SEARCH: u64 = (1 << 16) + END_LEN as u64;
const MAX_EXTRACT_VERSION: u8 = 63;
/// General purpose flags.
const FLAG_ENCRYPTED: u16 = 0x0001;
const FLAG_PATCHED: u16 = 0x0020;
const FLAG_STRONG_ENCRYPTION: u16 = 0x0040;
const FLAG_UTF8: u16 = 0x0800;
/// Compression methods.
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
/// The zip64 extra field's id, and the one [`NpzWriter`] pads with (Android's zipalign's).
const ZIP64_EXTRA: u16 = 0x0001;
const PADDING_EXTRA: u16 = 0xd935;
/// Where a 32-bit zip field says "see the zip64 record".
const MASK32: u64 = 0xffff_ffff;
/// Bytes read or inflated at a time when checking CRCs.
const CHUNK: usize = 1 << 20;

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
    /// The name stored in the zip directory, e.g. `"w.npy"` (cut at a NUL byte, as Python's
    /// `zipfile` cuts it).
    pub zip_name: String,
    /// The dtype as the header spells it (`"<f8"`), also for a dtype ndmmap cannot map.
    pub descr: Option<String>,
    /// The dtype, when it is numeric (an element type holds it); `None` for numpy's bytes,
    /// str, void, datetime and timedelta types (see [`type_name`](Self::type_name)).
    pub dtype: Option<Dtype>,
    /// numpy's canonical descriptor of the dtype (`np.dtype(descr).str`: `"<f8"`, `"|S5"`,
    /// `"<U2"`, `"<M8[s]"`), when the header was read: for a numeric dtype and for numpy's
    /// bytes, str, void, datetime and timedelta types, whose elements
    /// [`map_any`](Npz::map_any) maps as raw bytes ([`AnyArray::Other`](crate::AnyArray::Other)).
    /// For a dtype ndmmap does not map (see [`problem`](Self::problem)) it is `"|O"` for an
    /// object dtype, else the descriptor as the header writes it (an excerpt:
    /// `"[('a', '<f8'), ('b', '<i4')]"` for a structured one).
    pub type_name: Option<String>,
    /// Bytes per element (numpy's `itemsize`: 4 per character of a str), when the header was
    /// read and its dtype is one ndmmap maps (not for object or structured dtypes).
    pub itemsize: Option<usize>,
    /// The shape (empty for a 0-dimensional array).
    pub shape: Option<Vec<usize>>,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Whether the member is compressed (`np.savez_compressed`) rather than stored.
    pub compressed: bool,
    /// The zip compression method: `"stored"`, `"deflated"`, ...
    pub method: String,
    /// Absolute file offset of the member's stored bytes (its `.npy` header); 0 when its
    /// local header cannot be read.
    pub stored_offset: u64,
    /// The member's stored (compressed) size in bytes, as the zip directory states it.
    pub stored_len: u64,
    /// The member's uncompressed size in bytes, as the zip directory states it.
    pub size: u64,
    /// Absolute file offset of the array's data (of the stored bytes when the header is
    /// unknown).
    pub data_offset: u64,
    /// Bytes of array data (the stored bytes when the header is unknown, 0 when they are not
    /// within the file).
    pub data_len: u64,
    /// The CRC-32 the zip directory stores for the member's data (see [`Npz::verify`]).
    pub crc32: u32,
    /// Why the member cannot be mapped, when it cannot.
    pub problem: Option<String>,
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
    /// Compressed with this method: its bytes are readable, not mappable.
    Compressed(String),
    /// Its `.npy` header is broken or unsupported.
    Npy(NpyError),
    /// Its bytes are within the file, but not an array ndmmap maps (its `.npy` header describes
    /// fewer bytes than the member holds).
    Archive(String),
    /// Its bytes cannot be read as numpy reads them (local header, range, encryption,
    /// overlap): numpy fails on it too.
    Unreadable(String),
    /// Its data does not have the CRC-32 the directory stores (found by a verifying open).
    Checksum { stored: u32, computed: u32 },
}

impl Why {
    fn text(&self, zip_name: &str) -> String {
        match self {
            Why::Compressed(method) => format!(
                "compressed ({method}): its bytes are not the array's, so it cannot be mapped"
            ),
            Why::Npy(kind) => kind.to_string(),
            Why::Archive(s) | Why::Unreadable(s) => s.clone(),
            Why::Checksum { stored, computed } => format!(
                "member {:?}: its data has CRC-32 {computed:08x} but the archive stores \
                 {stored:08x}; it was damaged or changed after it was written",
                crate::error::excerpt(zip_name)
            ),
        }
    }
}

/// How [`Npz::open_with`] opens an archive.
///
/// ```
/// use ndmmap::npz::{Npz, NpzOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("x.npz");
/// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1.0f64, 2.0]))?.finish()?;
/// // Check every member's CRC-32 at open (reads every byte, inflating compressed members):
/// let npz = Npz::open_with(&path, NpzOptions::new().verify(true))?;
/// assert!(npz.members().iter().all(|m| m.problem.is_none()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct NpzOptions {
    verify: bool,
}

impl NpzOptions {
    /// The defaults: the directory and the `.npy` headers are read, the data is not.
    ///
    /// ```
    /// let opts = ndmmap::npz::NpzOptions::new();
    /// # let _ = opts;
    /// ```
    pub fn new() -> NpzOptions {
        NpzOptions::default()
    }

    /// Whether to check every member's CRC-32 at open, as numpy does when it reads a member:
    /// over the stored bytes of a stored member, over the inflated data of a deflated one
    /// (`np.savez_compressed`; members compressed otherwise are not checked, and cannot be
    /// mapped anyway). This reads the whole archive. A member whose data does not match is
    /// listed with its [`problem`](Member::problem), and mapping it is
    /// [`Error::Checksum`]; the other members map as usual. Default `false`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1.0f64, 2.0]))?.finish()?;
    /// let npz = ndmmap::npz::NpzOptions::new().verify(true).open(&path)?;
    /// # let _ = npz;
    /// # Ok(()) }
    /// ```
    pub fn verify(&mut self, yes: bool) -> &mut Self {
        self.verify = yes;
        self
    }

    /// Opens the archive at `path` with these options: [`Npz::open_with`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("x.npz");
    /// # ndmmap::npz::NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1.0f64, 2.0]))?.finish()?;
    /// let npz = ndmmap::npz::NpzOptions::new().open(&path)?;
    /// assert_eq!(npz.members().len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Npz> {
        Npz::open_with(path, self)
    }
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
    /// Member indices sorted by name (names are unique: checked at open).
    by_name: Vec<u32>,
    /// Why the members that have a problem have it, by index.
    whys: HashMap<u32, Why>,
}

impl Npz {
    /// Opens the archive at `path`: reads its zip directory as numpy (Python's `zipfile`)
    /// reads it, every member's local header and every stored member's `.npy` header (with
    /// numpy's header size limit, [`MAX_HEADER_SIZE`]). No array data is read, and no CRC
    /// checked: see [`open_with`](Self::open_with).
    ///
    /// Errors: [`Error::BadArchive`] for a file numpy would not read as an archive (it does
    /// not start with a zip signature, has no end record, or a directory that is cut short or
    /// inconsistent), for zip64 records that disagree, for duplicate names, or for two
    /// members with the same numpy key (`x` and `x.npy`). Problems of single members are
    /// listed in [`Member::problem`].
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
        Npz::open_with(path, &NpzOptions::new())
    }

    /// Opens the archive at `path` as [`open`](Self::open) does, with `options`: with
    /// [`NpzOptions::verify`], every member's CRC-32 is checked too (reading the whole
    /// archive), and a member whose data does not match is listed with its
    /// [`problem`](Member::problem) and refused when mapped ([`Error::Checksum`]).
    ///
    /// ```
    /// use ndmmap::npz::{Npz, NpzOptions, NpzWriter};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("x.npz");
    /// NpzWriter::create(&path)?.add("x", &ndarray::arr1(&[1u32, 2, 3]))?.finish()?;
    /// let at = Npz::open(&path)?.member("x").unwrap().data_offset as usize;
    /// let mut bytes = std::fs::read(&path)?;
    /// bytes[at] ^= 1; // damage the data: the stored CRC-32 no longer matches
    /// std::fs::write(&path, &bytes)?;
    /// assert!(Npz::open(&path)?.member("x").unwrap().problem.is_none()); // not read
    /// let npz = Npz::open_with(&path, NpzOptions::new().verify(true))?;
    /// assert!(npz.member("x").unwrap().problem.as_deref().unwrap().contains("CRC-32"));
    /// // SAFETY: nobody truncates or rewrites the archive while the array lives.
    /// let e = unsafe { npz.map::<u32, ndarray::Ix1>("x") }.unwrap_err();
    /// assert!(matches!(e, ndmmap::Error::Checksum { .. }));
    /// # Ok(()) }
    /// ```
    pub fn open_with(path: impl AsRef<Path>, options: &NpzOptions) -> Result<Npz> {
        let path = path.as_ref();
        let io = |what, e| Error::io(what, Some(path), e);
        let meta = std::fs::metadata(path).map_err(|e| io("open", e))?;
        check_file_type(&meta, Some(path))?;
        let bad = |why: String| Error::BadArchive {
            path: Some(path.to_path_buf()),
            why,
        };
        let fail = |f: Fail| match f {
            Fail::Io(e) => io("read zip directory", e),
            Fail::Bad(why) => bad(why),
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
        if !options.verify {
            let _ = crate::sys::fadvise(&probe, 0, 0, crate::sys::FileAdvice::Random);
        }
        let len = fm.len();
        let dir = find_directory(&probe, len).map_err(fail)?;
        let mut npz = Npz {
            file,
            path: path.to_path_buf(),
            members: Vec::new(),
            by_name: Vec::new(),
            whys: HashMap::new(),
        };
        // Each member's local header offset, for the overlap rule.
        let mut offsets: Vec<(u64, u32)> = Vec::new();
        let mut entries = DirReader::new(&probe, &dir).map_err(|e| io("read zip directory", e))?;
        while let Some(e) = entries.next().map_err(fail)? {
            let i = u32::try_from(npz.members.len())
                .map_err(|_| bad("it has more than 2^32 members".into()))?;
            if let Some(at) = e.header_offset {
                offsets.push((at, i));
            }
            let (m, why) = read_member(&probe, path, len, e)?;
            npz.members.push(m);
            if let Some(why) = why {
                npz.set(i, why);
            }
        }
        drop(entries);
        npz.members.shrink_to_fit();
        npz.check_overlaps(offsets, dir.start);
        npz.index().map_err(bad)?;
        if options.verify {
            let mut bufs = Bufs::default();
            for i in 0..npz.members.len() {
                let Ok(k) = u32::try_from(i) else { break };
                match check_crc(&probe, &npz.members[i], npz.whys.get(&k), &mut bufs) {
                    Ok(()) | Err(Check::Unsupported(_)) => {}
                    Err(Check::Unreadable(_)) if npz.whys.contains_key(&k) => {}
                    Err(Check::Unreadable(why)) => npz.set(k, Why::Unreadable(why)),
                    Err(Check::Mismatch { stored, computed }) => {
                        npz.set(k, Why::Checksum { stored, computed })
                    }
                    Err(Check::Io(e)) => return Err(io("read member", e)),
                }
            }
        }
        Ok(npz)
    }

    /// Records why member `i` cannot be mapped (replacing an earlier reason).
    fn set(&mut self, i: u32, why: Why) {
        if let Some(m) = self.members.get_mut(i as usize) {
            m.problem = Some(why.text(&m.zip_name));
            self.whys.insert(i, why);
        }
    }

    /// Python 3.12+'s zip bomb rule: a member's data must end before the next local header
    /// (in file order) or the central directory. `offsets` are the local headers' offsets that
    /// are not below 0 once shifted (a member whose offset is below 0 is unreadable, and would
    /// only bound members below it, unreadable too).
    fn check_overlaps(&mut self, mut offsets: Vec<(u64, u32)>, dir_start: u64) {
        // Stable: equal offsets keep directory order, as Python's sorted(reverse=True).
        offsets.sort_by_key(|&(offset, _)| std::cmp::Reverse(offset));
        let mut end = u128::from(dir_start);
        for (offset, i) in offsets {
            let readable = !matches!(self.whys.get(&i), Some(Why::Unreadable(_)));
            if let Some(m) = self.members.get(i as usize)
                && readable
            {
                let stop = u128::from(m.stored_offset) + u128::from(m.stored_len);
                if stop > end {
                    let why = format!(
                        "member {:?}: its data (bytes {}..{stop}) runs into {} at byte {end}; \
                         Python 3.12 and later refuse such overlapping members as possible zip \
                         bombs (3.11 reads them), and so does ndmmap",
                        crate::error::excerpt(&m.zip_name),
                        m.stored_offset,
                        if end == u128::from(dir_start) {
                            "the central directory"
                        } else {
                            "the next member's local header"
                        }
                    );
                    self.set(i, Why::Unreadable(why));
                }
            }
            end = u128::from(offset);
        }
    }

    /// Sorts the members by name for lookups, refusing names that are ambiguous as numpy keys.
    fn index(&mut self) -> std::result::Result<(), String> {
        let members = &self.members;
        let q = |s: &str| crate::error::excerpt(s);
        // At most 2^32 members (checked as they were read).
        let mut by_name: Vec<u32> = (0..members.len())
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        by_name.sort_unstable_by(|&a, &b| {
            members[a as usize]
                .name
                .cmp(&members[b as usize].name)
                .then(a.cmp(&b))
        });
        for w in by_name.windows(2) {
            let (a, b) = (&members[w[0] as usize], &members[w[1] as usize]);
            if a.name == b.name {
                return Err(if a.zip_name == b.zip_name {
                    format!(
                        "its directory has two entries named {:?}; numpy would read only the \
                         last of them, ndmmap refuses the archive",
                        q(&a.zip_name)
                    )
                } else {
                    format!(
                        "members {:?} and {:?} both answer to the numpy key {:?}",
                        q(&a.zip_name),
                        q(&b.zip_name),
                        q(&a.name)
                    )
                });
            }
        }
        for m in members {
            if m.zip_name != m.name
                && let Ok(p) = by_name
                    .binary_search_by(|&j| members[j as usize].name.as_str().cmp(&m.zip_name))
            {
                let other = &members[by_name[p] as usize];
                return Err(format!(
                    "members {:?} and {:?} both answer to the numpy key {:?}",
                    q(&m.zip_name),
                    q(&other.zip_name),
                    q(&m.zip_name)
                ));
            }
        }
        self.by_name = by_name;
        Ok(())
    }

    /// The index of the member with numpy key `name`, or zip name `name`.
    fn find(&self, name: &str) -> Option<usize> {
        let by_name = |key: &str| {
            self.by_name
                .binary_search_by(|&i| self.members[i as usize].name.as_str().cmp(key))
                .ok()
                .map(|p| self.by_name[p] as usize)
        };
        if let Some(i) = by_name(name) {
            return Some(i);
        }
        let i = by_name(name.strip_suffix(".npy")?)?;
        (self.members[i].zip_name == name).then_some(i)
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
        self.find(name).map(|i| &self.members[i])
    }

    /// The index of member `name`, or [`Error::NoSuchMember`] listing the names there are.
    fn get(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| {
            let names = self.members.iter().map(|m| m.name.as_str());
            Error::no_such_member(&self.path, name, names)
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
        let Some(dtype) = dtype else {
            return Err(self.raw_refusal(m));
        };
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
    /// `match`; numpy's bytes, str, void, datetime and timedelta types (`|S5`, `<U2`,
    /// `<M8[s]`) map as [`AnyArray::Other`](crate::AnyArray::Other), their bytes as stored.
    /// Errors as for [`map`](Self::map), and a dtype no element type holds (long double).
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
        let path = Some(self.path.clone());
        let Some(dtype) = dtype else {
            let order = if m.fortran_order { Order::F } else { Order::C };
            let type_name = m.type_name.as_deref().unwrap_or_default();
            let itemsize = m.itemsize.unwrap_or_default();
            // SAFETY: forwarded to the caller; the range lies within the member (checked at
            // open).
            let o = unsafe {
                crate::any::OtherArray::map(
                    &self.file,
                    path,
                    m.data_offset,
                    type_name,
                    itemsize,
                    None,
                    shape,
                    order,
                    Mode::ReadOnly,
                )
            };
            return o.map(crate::AnyArray::Other);
        };
        // SAFETY: forwarded to the caller; the range lies within the member (checked at open).
        unsafe {
            crate::AnyArray::map(
                &self.file,
                path,
                m.data_offset,
                dtype,
                shape,
                m.fortran_order,
                Mode::ReadOnly,
            )
        }
    }

    /// The error for mapping member `m`, whose dtype no element type holds (bytes, str, void,
    /// datetime, timedelta), as an array of a numeric type: what [`Dtype::parse`] says of it.
    fn raw_refusal(&self, m: &Member) -> Error {
        let descr = m.descr.as_deref().unwrap_or_default();
        match Dtype::parse(descr) {
            Err(Error::Npy { kind, .. }) => Error::npy(Some(&self.member_path(&m.name)), kind),
            _ => Error::DtypeMismatch {
                expected: "a numeric dtype".into(),
                found: m.type_name.clone().unwrap_or_default(),
            },
        }
    }

    /// The member `name` when it can be mapped in `mode`: its dtype (`None` for one whose
    /// elements are raw bytes here) and shape, or the error that says why not.
    fn mappable(&self, name: &str, mode: Mode) -> Result<(&Member, Option<Dtype>, &[usize])> {
        let i = self.get(name)?;
        let m = &self.members[i];
        if mode == Mode::ReadWrite {
            return Err(Error::NotWritable {
                reason: "an .npz member is mapped read-only or copy-on-write, never shared \
                         read-write: a write would leave the member's stored CRC-32 wrong and \
                         numpy would refuse the archive; use Mode::CopyOnWrite, or write a new \
                         archive with npz::NpzWriter",
            });
        }
        if let Some(why) = u32::try_from(i).ok().and_then(|k| self.whys.get(&k)) {
            return Err(self.error(m, why));
        }
        match (m.itemsize, m.shape.as_deref()) {
            (Some(_), Some(shape)) => Ok((m, m.dtype, shape)),
            _ => Err(Error::BadArchive {
                path: Some(self.path.clone()),
                why: format!(
                    "member {:?} has no .npy header",
                    crate::error::excerpt(&m.zip_name)
                ),
            }),
        }
    }

    /// The error that says why member `m` cannot be mapped.
    fn error(&self, m: &Member, why: &Why) -> Error {
        match why {
            Why::Compressed(method) => Error::Compressed {
                path: Some(self.path.clone()),
                name: m.name.clone(),
                method: method.clone(),
            },
            Why::Npy(kind) => Error::npy(Some(&self.member_path(&m.name)), kind.clone()),
            Why::Archive(why) | Why::Unreadable(why) => Error::BadArchive {
                path: Some(self.path.clone()),
                why: why.clone(),
            },
            &Why::Checksum { stored, computed } => Error::Checksum {
                path: Some(self.path.clone()),
                name: m.zip_name.clone(),
                stored,
                computed,
            },
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

    /// Checks member `name`'s data against the CRC-32 the archive stores for it, as numpy
    /// (Python's `zipfile`) does when it reads the member: the stored bytes of a stored
    /// member, the inflated data of a deflated one (`np.savez_compressed`). Reads every byte
    /// of the member through the page cache (`pread`; nothing is mapped).
    ///
    /// Errors: [`Error::Checksum`] when the data does not match; [`Error::BadArchive`] for a
    /// member numpy cannot read either (its local header or range is broken, its deflate
    /// stream ends early); [`Error::Compressed`] for a member compressed with a method other
    /// than deflate (ndmmap inflates only deflate).
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
        let i = self.get(name)?;
        let m = &self.members[i];
        let why = u32::try_from(i).ok().and_then(|k| self.whys.get(&k));
        match check_crc(&self.file, m, why, &mut Bufs::default()) {
            Ok(()) => Ok(()),
            Err(Check::Mismatch { stored, computed }) => Err(Error::Checksum {
                path: Some(self.path.clone()),
                name: m.zip_name.clone(),
                stored,
                computed,
            }),
            Err(Check::Unreadable(why)) => Err(Error::BadArchive {
                path: Some(self.path.clone()),
                why,
            }),
            Err(Check::Unsupported(method)) => Err(Error::Compressed {
                path: Some(self.path.clone()),
                name: m.name.clone(),
                method,
            }),
            Err(Check::Io(e)) => Err(Error::io("read member", Some(&self.path), e)),
        }
    }
}

/// Why the zip directory cannot be read.
enum Fail {
    Io(std::io::Error),
    Bad(String),
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Fail {
        Fail::Io(e)
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from(u32_at(b, i)) | (u64::from(u32_at(b, i + 4)) << 32)
}

/// Where the central directory is, as Python's `zipfile` finds it.
#[derive(Debug, Clone, Copy)]
struct Directory {
    /// Its first byte.
    start: u64,
    /// Its size in bytes: it ends where the end record (or the zip64 end record) starts.
    size: u64,
    /// Where the end record (or the zip64 end record) says the directory starts. The
    /// difference `start - stated_start` is added to every offset the directory states
    /// (non-zero when bytes were prepended to an archive, or its offsets are wrong):
    /// `zipfile`'s "concat".
    stated_start: u64,
}

impl Directory {
    /// A local header offset the directory states, shifted by `zipfile`'s "concat": `None`
    /// when that is below 0 (or past `u64::MAX`), outside any file.
    fn shift(&self, stated: u64) -> Option<u64> {
        stated
            .checked_add(self.start)?
            .checked_sub(self.stated_start)
    }
}

/// Finds the end record and the directory as Python 3.11's `_EndRecData`, `_EndRecData64` and
/// `_RealGetContents` do (with the stricter zip64 checks of later versions), after numpy's
/// own test: the file starts with a zip signature.
fn find_directory(file: &File, len: u64) -> std::result::Result<Directory, Fail> {
    let mut magic = [0u8; 6];
    let n = len.min(6) as usize;
    file.read_exact_at(&mut magic[..n], 0)?;
    if len == 0 {
        return Err(Fail::Bad(
            "the file is empty (0 bytes), and numpy reads no archive from it either".into(),
        ));
    }
    if !magic.starts_with(LOCAL_SIG) && !magic.starts_with(END_SIG) {
        return Err(Fail::Bad(format!(
            "it does not start with a zip signature (PK\\x03\\x04, or PK\\x05\\x06 for an empty \
             archive), so numpy does not read it as an archive either{}",
            if magic.starts_with(b"\x93NUMPY") {
                ": it is a .npy file"
            } else {
                ""
            }
        )));
    }
    if len < END_LEN as u64 {
        return Err(Fail::Bad(format!(
            "it is {len} bytes long, shorter than a zip end record ({END_LEN} bytes): it was \
             cut short"
        )));
    }
    // The last 22 bytes when they are an end record without a comment, else the last end
    // signature in the last 64 KiB + 22 bytes, whatever follows it (a comment, or not).
    let tail_len = len.min(END_SEARCH) as usize;
    let tail_start = len - tail_len as u64;
    let mut tail = vec![0u8; tail_len];
    file.read_exact_at(&mut tail, tail_start)?;
    let last = tail_len - END_LEN;
    let at = if tail[last..].starts_with(END_SIG) && tail[tail_len - 2..] == [0, 0] {
        last
    } else {
        match tail.windows(4).rposition(|w| w == END_SIG) {
            Some(i) if i <= last => i,
            Some(i) => {
                return Err(Fail::Bad(format!(
                    "its last end-of-directory signature, at byte {}, is cut short by the end \
                     of the file",
                    tail_start + i as u64
                )));
            }
            None => {
                return Err(Fail::Bad(
                    "it has no end-of-central-directory record in its last 64 KiB: it is not \
                     a zip archive, or it was cut short"
                        .into(),
                ));
            }
        }
    };
    let end_at = tail_start + at as u64;
    let record = &tail[at..at + END_LEN];
    let (mut size, mut offset) = (u64::from(u32_at(record, 12)), u64::from(u32_at(record, 16)));
    let mut dir_end = end_at;
    if let Some(locator_at) = end_at.checked_sub(LOCATOR_LEN as u64) {
        let mut locator = [0u8; LOCATOR_LEN];
        file.read_exact_at(&mut locator, locator_at)?;
        if locator.starts_with(LOCATOR_SIG) {
            let (disk, relative, disks) = (
                u32_at(&locator, 4),
                u64_at(&locator, 8),
                u32_at(&locator, 16),
            );
            if disk != 0 || disks > 1 {
                return Err(Fail::Bad(format!(
                    "it spans several disks (its zip64 locator names disk {disk} of {disks}); \
                     numpy (Python's zipfile) cannot read such archives either"
                )));
            }
            let Some(record_at) = locator_at.checked_sub(END64_LEN as u64) else {
                return Err(Fail::Bad(format!(
                    "its zip64 locator at byte {locator_at} leaves no room for a zip64 end \
                     record before it; numpy (Python's zipfile) refuses the archive too"
                )));
            };
            let mut record = [0u8; END64_LEN];
            file.read_exact_at(&mut record, record_at)?;
            if !record.starts_with(END64_SIG) {
                return Err(Fail::Bad(format!(
                    "its zip64 locator at byte {locator_at} is not preceded by a zip64 end \
                     record (Python 3.11's zipfile then falls back to the 32-bit end record, \
                     later versions refuse the archive, and so does ndmmap)"
                )));
            }
            // Python 3.11 reads the zip64 end record just before the locator; later versions
            // read it where the locator points, or just before the locator when bytes were
            // prepended (the locator's offset then smaller by their count), and check that the
            // directory ends where the record starts. ndmmap reads what both agree on.
            let record_len = u64_at(&record, 4);
            (size, offset) = (u64_at(&record, 40), u64_at(&record, 48));
            let disagree = |what: String| {
                Fail::Bad(format!(
                    "its zip64 records disagree: {what}; Python versions read such archives \
                     differently, ndmmap refuses them"
                ))
            };
            if record_len != (END64_LEN - 12) as u64 {
                return Err(disagree(format!(
                    "the zip64 end record at byte {record_at} says it is {} bytes long \
                     ({END64_LEN} expected)",
                    record_len.saturating_add(12)
                )));
            }
            if relative > record_at || offset.checked_add(size) != Some(relative) {
                return Err(disagree(format!(
                    "the locator points to byte {relative}, the zip64 end record is at byte \
                     {record_at} and puts the {size}-byte central directory at byte {offset}"
                )));
            }
            if relative != record_at {
                let mut other = [0u8; 4];
                file.read_exact_at(&mut other, relative)?;
                if other == *END64_SIG {
                    return Err(disagree(format!(
                        "the locator points to a zip64 end record at byte {relative}, but \
                         another one is at byte {record_at}"
                    )));
                }
            }
            dir_end = record_at;
        }
    }
    let Some(start) = dir_end.checked_sub(size) else {
        return Err(Fail::Bad(format!(
            "its end record says the central directory is {size} bytes long, but only \
             {dir_end} bytes come before the end record; numpy (Python's zipfile) refuses it too"
        )));
    };
    Ok(Directory {
        start,
        size,
        stated_start: offset,
    })
}

/// One entry of the central directory, as Python's `zipfile` reads it.
struct Entry {
    /// The name as stored (not yet cut at a NUL byte: the local header must repeat it).
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    stored_len: u64,
    size: u64,
    /// The local header's offset as the directory states it.
    stated_offset: u64,
    /// The local header's offset, with the directory's "concat" added ([`Directory::shift`]);
    /// `None` when that is below 0.
    header_offset: Option<u64>,
    /// Where the directory starts, and where the end record says it starts (for messages).
    dir_start: u64,
    dir_stated_start: u64,
}

/// Reads the central directory's entries one at a time, as `_RealGetContents` does: while the
/// bytes read (by the entries' stated lengths) are fewer than the directory's size.
struct DirReader<'a> {
    r: BufReader<std::io::Take<&'a File>>,
    dir: Directory,
    total: u64,
    count: u64,
}

impl<'a> DirReader<'a> {
    fn new(file: &'a File, dir: &Directory) -> std::io::Result<DirReader<'a>> {
        let mut f = file;
        f.seek(SeekFrom::Start(dir.start))?;
        Ok(DirReader {
            r: BufReader::with_capacity(1 << 16, f.take(dir.size)),
            dir: *dir,
            total: 0,
            count: 0,
        })
    }

    fn next(&mut self) -> std::result::Result<Option<Entry>, Fail> {
        if self.total >= self.dir.size {
            return Ok(None);
        }
        let at = self.dir.start.saturating_add(self.total);
        let mut c = [0u8; CENTRAL_LEN];
        let got = fill(&mut self.r, &mut c)?;
        if got < CENTRAL_LEN {
            return Err(Fail::Bad(format!(
                "its central directory is cut short: entry {} at byte {at} has {got} of its \
                 {CENTRAL_LEN} bytes before the end record; numpy (Python's zipfile) refuses it \
                 too",
                self.count
            )));
        }
        if !c.starts_with(CENTRAL_SIG) {
            return Err(Fail::Bad(format!(
                "its central directory has no entry signature at byte {at} (entry {}): the \
                 directory is damaged, or the end record's sizes are wrong; numpy (Python's \
                 zipfile) refuses it too",
                self.count
            )));
        }
        let (name_len, extra_len, comment_len) = (u16_at(&c, 28), u16_at(&c, 30), u16_at(&c, 32));
        // Short reads are taken as zipfile takes them: the last entry's name may be cut by
        // the directory's end.
        let raw = read_up_to(&mut self.r, name_len)?;
        let flags = u16_at(&c, 8);
        let name = decode_name(raw, flags).map_err(|()| {
            Fail::Bad(format!(
                "entry {} of its directory is flagged UTF-8 but its name is not; numpy \
                 (Python's zipfile) refuses the archive too",
                self.count
            ))
        })?;
        let extra = read_up_to(&mut self.r, extra_len)?;
        std::io::copy(
            &mut (&mut self.r).take(u64::from(comment_len)),
            &mut std::io::sink(),
        )?;
        let q = || crate::error::excerpt(&name);
        let version = c[6];
        if version > MAX_EXTRACT_VERSION {
            return Err(Fail::Bad(format!(
                "member {:?} needs zip version {}.{} to be extracted; numpy (Python's zipfile) \
                 refuses the archive too",
                q(),
                version / 10,
                version % 10
            )));
        }
        let (mut size, mut stored_len) = (u64::from(u32_at(&c, 24)), u64::from(u32_at(&c, 20)));
        let mut offset = u64::from(u32_at(&c, 42));
        // zipfile's _decodeExtra: every zip64 field replaces the value that is all ones.
        let mut x = &extra[..];
        while x.len() >= 4 {
            let (id, n) = (u16_at(x, 0), usize::from(u16_at(x, 2)));
            if n + 4 > x.len() {
                return Err(Fail::Bad(format!(
                    "member {:?}: its extra field {id:04x} of {n} bytes runs past the end of \
                     the entry's extra data; numpy (Python's zipfile) refuses the archive too",
                    q()
                )));
            }
            if id == ZIP64_EXTRA {
                let mut data = &x[4..4 + n];
                let mut take = |field: &str| match data {
                    [a, b, c, d, e, f, g, h, rest @ ..] => {
                        data = rest;
                        Ok(u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]))
                    }
                    _ => Err(Fail::Bad(format!(
                        "member {:?}: its zip64 extra field lacks the {field}; numpy (Python's \
                         zipfile) refuses the archive too",
                        q()
                    ))),
                };
                if size == u64::MAX || size == MASK32 {
                    size = take("file size")?;
                }
                if stored_len == MASK32 {
                    stored_len = take("compressed size")?;
                }
                if offset == MASK32 {
                    offset = take("local header offset")?;
                }
            }
            x = &x[n + 4..];
        }
        let entry_len = CENTRAL_LEN as u64
            + u64::from(name_len)
            + u64::from(extra_len)
            + u64::from(comment_len);
        self.total = self.total.saturating_add(entry_len);
        self.count += 1;
        Ok(Some(Entry {
            name,
            flags,
            method: u16_at(&c, 10),
            crc: u32_at(&c, 16),
            stored_len,
            size,
            stated_offset: offset,
            header_offset: self.dir.shift(offset),
            dir_start: self.dir.start,
            dir_stated_start: self.dir.stated_start,
        }))
    }
}

/// Reads until `buf` is full or the reader ends: the count read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads at most `n` bytes (fewer where the reader ends).
fn read_up_to(r: &mut impl Read, n: u16) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(usize::from(n));
    r.take(u64::from(n)).read_to_end(&mut v)?;
    Ok(v)
}

/// A zip name as Python's `zipfile` decodes it: UTF-8 when flagged so (an error when it is
/// not), else code page 437.
fn decode_name(raw: Vec<u8>, flags: u16) -> std::result::Result<String, ()> {
    if flags & FLAG_UTF8 != 0 || raw.is_ascii() {
        return String::from_utf8(raw).map_err(|_| ());
    }
    Ok(raw
        .iter()
        .map(|&b| match b.checked_sub(128) {
            Some(i) => CP437_HIGH[usize::from(i)],
            None => char::from(b),
        })
        .collect())
}

/// Code page 437's bytes 128..=255 (Python's `cp437` codec; 0..=127 are ASCII).
const CP437_HIGH: [char; 128] = [
    '\u{00c7}', '\u{00fc}', '\u{00e9}', '\u{00e2}', '\u{00e4}', '\u{00e0}', '\u{00e5}', '\u{00e7}',
    '\u{00ea}', '\u{00eb}', '\u{00e8}', '\u{00ef}', '\u{00ee}', '\u{00ec}', '\u{00c4}', '\u{00c5}',
    '\u{00c9}', '\u{00e6}', '\u{00c6}', '\u{00f4}', '\u{00f6}', '\u{00f2}', '\u{00fb}', '\u{00f9}',
    '\u{00ff}', '\u{00d6}', '\u{00dc}', '\u{00a2}', '\u{00a3}', '\u{00a5}', '\u{20a7}', '\u{0192}',
    '\u{00e1}', '\u{00ed}', '\u{00f3}', '\u{00fa}', '\u{00f1}', '\u{00d1}', '\u{00aa}', '\u{00ba}',
    '\u{00bf}', '\u{2310}', '\u{00ac}', '\u{00bd}', '\u{00bc}', '\u{00a1}', '\u{00ab}', '\u{00bb}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{2561}', '\u{2562}', '\u{2556}',
    '\u{2555}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{255c}', '\u{255b}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{255e}', '\u{255f}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{2567}',
    '\u{2568}', '\u{2564}', '\u{2565}', '\u{2559}', '\u{2558}', '\u{2552}', '\u{2553}', '\u{256b}',
    '\u{256a}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{258c}', '\u{2590}', '\u{2580}',
    '\u{03b1}', '\u{00df}', '\u{0393}', '\u{03c0}', '\u{03a3}', '\u{03c3}', '\u{00b5}', '\u{03c4}',
    '\u{03a6}', '\u{0398}', '\u{03a9}', '\u{03b4}', '\u{221e}', '\u{03c6}', '\u{03b5}', '\u{2229}',
    '\u{2261}', '\u{00b1}', '\u{2265}', '\u{2264}', '\u{2320}', '\u{2321}', '\u{00f7}', '\u{2248}',
    '\u{00b0}', '\u{2219}', '\u{00b7}', '\u{221a}', '\u{207f}', '\u{00b2}', '\u{25a0}', '\u{00a0}',
];

/// Reads the member a directory entry describes: its local header (as Python's
/// `ZipFile.open` reads it) and its `.npy` header. I/O errors fail; a member numpy cannot
/// read, or ndmmap cannot map, is returned with the reason.
fn read_member(file: &File, path: &Path, len: u64, e: Entry) -> Result<(Member, Option<Why>)> {
    let mut zip_name = e.name.clone();
    if let Some(nul) = zip_name.find('\0') {
        zip_name.truncate(nul);
    }
    let name = zip_name
        .strip_suffix(".npy")
        .unwrap_or(&zip_name)
        .to_string();
    let mut m = Member {
        name,
        zip_name,
        descr: None,
        dtype: None,
        type_name: None,
        itemsize: None,
        shape: None,
        fortran_order: false,
        compressed: e.method != STORED,
        method: method_name(e.method),
        stored_offset: 0,
        stored_len: e.stored_len,
        size: e.size,
        data_offset: 0,
        data_len: 0,
        crc32: e.crc,
        problem: None,
    };
    let why = locate(file, path, len, &e, &mut m)?;
    if let Some(why) = &why {
        m.problem = Some(why.text(&m.zip_name));
    }
    Ok((m, why))
}

/// Finds member `m`'s bytes from its local header and reads its `.npy` header into `m`:
/// `Some(why)` when it cannot be mapped.
fn locate(file: &File, path: &Path, len: u64, e: &Entry, m: &mut Member) -> Result<Option<Why>> {
    let q = || crate::error::excerpt(&e.name);
    let unreadable = |s: String| Ok(Some(Why::Unreadable(s)));
    let io = |e| Error::io("read local header", Some(path), e);
    let Some(at) = e.header_offset.filter(|&at| at <= len) else {
        return unreadable(if e.dir_start == e.dir_stated_start {
            format!(
                "member {:?}: its local header offset ({}) is past the end of the file ({len} \
                 bytes)",
                q(),
                e.stated_offset
            )
        } else {
            // zipfile's "concat": every offset moves as far as the directory moved.
            let moved = match e.header_offset {
                Some(at) => format!("to byte {at}, past the end of the file ({len} bytes)"),
                None => format!("before the start of the file ({len} bytes)"),
            };
            format!(
                "member {:?}: the end record puts the central directory at byte {}, but it is \
                 at byte {} (its size back from the end record); numpy (Python's zipfile) \
                 moves each local header offset by the difference, which moves this one ({}) \
                 {moved}",
                q(),
                e.dir_stated_start,
                e.dir_start,
                e.stated_offset
            )
        });
    };
    let mut local = [0u8; LOCAL_LEN];
    if len - at < LOCAL_LEN as u64 {
        return unreadable(format!(
            "member {:?}: its local header at byte {at} is cut short by the end of the file",
            q()
        ));
    }
    file.read_exact_at(&mut local, at).map_err(io)?;
    if !local.starts_with(LOCAL_SIG) {
        return unreadable(format!(
            "member {:?}: there is no local header at byte {at} (Python's zipfile refuses such \
             a member too)",
            q()
        ));
    }
    if e.flags & (FLAG_PATCHED | FLAG_STRONG_ENCRYPTION) != 0 {
        return unreadable(format!(
            "member {:?} is patched data or strongly encrypted (zip flags {:04x}); numpy \
             (Python's zipfile) cannot read it either",
            q(),
            e.flags
        ));
    }
    let (name_len, extra_len) = (u16_at(&local, 26), u16_at(&local, 28));
    let name_at = at + LOCAL_LEN as u64;
    let mut raw = vec![0u8; (len - name_at).min(u64::from(name_len)) as usize];
    file.read_exact_at(&mut raw, name_at).map_err(io)?;
    match decode_name(raw, u16_at(&local, 6)) {
        Ok(local_name) if local_name == e.name => {}
        _ => {
            return unreadable(format!(
                "member {:?}: the local header at byte {at} does not name it (Python's \
                 zipfile refuses such a member too)",
                q()
            ));
        }
    }
    if e.flags & FLAG_ENCRYPTED != 0 {
        return unreadable(format!(
            "member {:?} is encrypted; numpy cannot read it either",
            q()
        ));
    }
    // at <= len, so these sums of at most 2^17 more cannot wrap a u64 file length.
    let start = name_at + u64::from(name_len) + u64::from(extra_len);
    let stored_len = e.stored_len;
    match start.checked_add(stored_len) {
        Some(end) if end <= len => {}
        _ => {
            return unreadable(format!(
                "member {:?}: its {stored_len} stored bytes at byte {start} run past the end \
                 of the file ({len} bytes); Python 3.12 and later refuse such overlapping \
                 members (3.11 reads as many bytes as the uncompressed size says), and so does \
                 ndmmap",
                q()
            ));
        }
    }
    m.stored_offset = start;
    m.data_offset = start;
    m.data_len = stored_len;
    if e.method != STORED {
        return Ok(Some(Why::Compressed(m.method.clone())));
    }
    // Python's zipfile reads a stored member's first `size` bytes (all `stored_len` of them
    // when they are fewer), and numpy reads the array from those.
    let content = stored_len.min(e.size);
    m.data_len = content;
    let mpath = member_path(path, &m.name);
    let h = match AnyHeader::read_within(file, &mpath, start, content, MAX_HEADER_SIZE) {
        Ok(h) => h,
        Err(Error::Npy { kind, .. }) => {
            // (A dtype numpy reads and ndmmap does not map is read with its shape, below.)
            if let NpyError::UnsupportedDtype { descr, .. } | NpyError::UnknownDtype { descr } =
                &kind
            {
                m.descr = Some(descr.clone());
            }
            return Ok(Some(Why::Npy(kind)));
        }
        Err(e @ Error::Io { .. }) => return Err(e),
        Err(err) => return Ok(Some(Why::Archive(format!("member {:?}: {err}", q())))),
    };
    m.descr = Some(h.descr.clone());
    m.dtype = match h.dtype {
        AnyDtype::Numeric(d) => Some(d),
        AnyDtype::Raw(_) | AnyDtype::Unsupported(_) => None,
    };
    let itemsize = h.dtype.itemsize();
    m.type_name = Some(h.dtype.descr());
    m.fortran_order = h.fortran_order;
    // The header lies within the member (read_within checked it).
    m.data_offset = start + h.data_offset;
    m.data_len = content - h.data_offset;
    if let Some(kind) = h.unsupported() {
        // No elements to map (object, structured): the shape and the bytes after the header
        // are listed, and the item size is not known here.
        m.shape = Some(h.shape);
        return Ok(Some(Why::Npy(kind)));
    }
    m.itemsize = Some(itemsize);
    let needed = h.data_len().ok().map(|n| n as u64);
    let why = match needed {
        None => Some(Why::Npy(NpyError::BadShape {
            shape: format!("{:?}", h.shape),
            why: "has more bytes than an array can hold",
        })),
        // Counted in the member's terms: the archive is longer than the member.
        Some(needed) if needed > m.data_len => Some(Why::Archive(format!(
            "member {:?}: its .npy header's shape {:?} needs {needed} bytes of data but the \
             member holds {} (it is cut short)",
            q(),
            h.shape,
            m.data_len
        ))),
        Some(needed) if needed < m.data_len => Some(Why::Archive(format!(
            "member {:?}: its .npy header describes {needed} bytes of data but the member holds \
             {} more; the header lies",
            q(),
            m.data_len - needed
        ))),
        Some(_) if itemsize == 0 => {
            Some(Why::Npy(crate::npy::dtype::zero_itemsize(&h.dtype.descr())))
        }
        Some(_) => None,
    };
    m.shape = Some(h.shape);
    Ok(why)
}

/// Buffers for checking CRCs, reused from member to member.
#[derive(Default)]
struct Bufs {
    input: Vec<u8>,
    output: Vec<u8>,
}

/// Why a member's CRC-32 could not be confirmed.
enum Check {
    Mismatch {
        stored: u32,
        computed: u32,
    },
    /// numpy cannot read the member's data either.
    Unreadable(String),
    /// Compressed with a method ndmmap does not inflate.
    Unsupported(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for Check {
    fn from(e: std::io::Error) -> Check {
        Check::Io(e)
    }
}

/// Checks member `m`'s data against its stored CRC-32 as Python's `ZipExtFile` does: the
/// first `size` bytes of its content (stored bytes, or inflated ones).
fn check_crc(
    file: &File,
    m: &Member,
    why: Option<&Why>,
    bufs: &mut Bufs,
) -> std::result::Result<(), Check> {
    if let Some(Why::Unreadable(s)) = why {
        return Err(Check::Unreadable(s.clone()));
    }
    let computed = match m.method.as_str() {
        "stored" => crc_stored(file, m.stored_offset, m.stored_len.min(m.size), bufs)?,
        "deflated" => crc_deflated(file, m, bufs)?,
        _ => return Err(Check::Unsupported(m.method.clone())),
    };
    if computed != m.crc32 {
        return Err(Check::Mismatch {
            stored: m.crc32,
            computed,
        });
    }
    Ok(())
}

/// The CRC-32 of `len` bytes at `at` (checked to lie within the file at open).
fn crc_stored(file: &File, mut at: u64, mut len: u64, bufs: &mut Bufs) -> std::io::Result<u32> {
    let mut crc = crc32fast::Hasher::new();
    let chunk = len.min(CHUNK as u64) as usize;
    if bufs.input.len() < chunk {
        bufs.input.resize(chunk, 0);
    }
    while len > 0 {
        let n = len.min(CHUNK as u64) as usize;
        let buf = &mut bufs.input[..n];
        file.read_exact_at(buf, at)?;
        crc.update(buf);
        at += n as u64;
        len -= n as u64;
    }
    Ok(crc.finalize())
}

/// The CRC-32 of the first `m.size` bytes a deflated member inflates to; fewer bytes, or a
/// broken stream, is [`Check::Unreadable`] (Python's `zipfile` fails on them too).
fn crc_deflated(file: &File, m: &Member, bufs: &mut Bufs) -> std::result::Result<u32, Check> {
    use miniz_oxide::inflate::stream::{InflateState, inflate};
    use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
    let q = || crate::error::excerpt(&m.zip_name);
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut crc = crc32fast::Hasher::new();
    let chunk = m.stored_len.min(CHUNK as u64) as usize;
    if bufs.input.len() < chunk {
        bufs.input.resize(chunk, 0);
    }
    if bufs.output.len() < CHUNK {
        bufs.output.resize(CHUNK, 0);
    }
    let (mut at, mut in_left, mut out_left) = (m.stored_offset, m.stored_len, m.size);
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut stalled = false;
    while out_left > 0 {
        if lo == hi && in_left > 0 {
            let n = in_left.min(chunk as u64) as usize;
            file.read_exact_at(&mut bufs.input[..n], at)?;
            (at, in_left, lo, hi) = (at + n as u64, in_left - n as u64, 0, n);
        }
        let r = inflate(
            &mut state,
            &bufs.input[lo..hi],
            &mut bufs.output,
            MZFlush::None,
        );
        lo += r.bytes_consumed;
        let n = (r.bytes_written as u64).min(out_left) as usize;
        crc.update(&bufs.output[..n]);
        out_left -= n as u64;
        match r.status {
            Ok(MZStatus::StreamEnd) => break,
            Ok(_) | Err(MZError::Buf) => {}
            Err(e) => {
                return Err(Check::Unreadable(format!(
                    "member {:?}: its deflate stream is broken ({e:?}); numpy cannot read it \
                     either",
                    q()
                )));
            }
        }
        if r.bytes_consumed == 0 && r.bytes_written == 0 {
            if (lo == hi && in_left == 0) || stalled {
                break;
            }
            stalled = true;
        } else {
            stalled = false;
        }
    }
    if out_left > 0 {
        return Err(Check::Unreadable(format!(
            "member {:?}: its deflate stream ends {out_left} bytes short of the {} the \
             directory states; numpy cannot read it either",
            q(),
            m.size
        )));
    }
    Ok(crc.finalize())
}

/// `archive.npz:name`, the path member-level errors carry.
fn member_path(archive: &Path, name: &str) -> PathBuf {
    let mut s = archive.as_os_str().to_owned();
    s.push(":");
    s.push(name);
    PathBuf::from(s)
}

/// The name of a zip compression method.
fn method_name(method: u16) -> String {
    match method {
        STORED => "stored",
        1 => "shrunk",
        6 => "imploded",
        DEFLATED => "deflated",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        98 => "ppmd",
        99 => "aes-encrypted",
        m => return format!("method {m}"),
    }
    .to_string()
}

/// Writes an `.npz` archive that numpy loads and whose members all map as aligned `T`: each
/// member is stored (uncompressed) with its data on a 64-byte boundary (padding in the zip
/// extra field), in zip64 where a member or an offset passes 4 GiB. The archive is written
/// where nobody sees it (an unnamed file, `O_TMPFILE`, on Linux; else a hidden temporary
/// name beside `path`) and renamed into place by [`finish`](Self::finish) (after an
/// `fsync`), so a failure, a writer dropped unfinished or a killed process leaves an existing
/// file untouched and no temporary file behind. A file replaced keeps its permission bits
/// (and its owner and group, where the process may set them); a symbolic link at `path`
/// stays a link, and the file it names is the one replaced, as `np.savez` writes through it. Nothing is printed, and nothing panics: a name or a
/// size the zip format cannot hold, or a name [`Npz::open`] would refuse, is an error before
/// anything of the member is written; a failed write (a full disk) is an error, after which
/// the writer takes no more members.
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
    /// `None` once a write failed, or the archive was finished.
    out: Option<BufWriter<File>>,
    /// The file being written, put in place by `finish`; `None` once finished. (After `out`:
    /// the buffer's bytes go to the file before an unfinished one is removed.)
    new: Option<crate::replace::Replacement>,
    /// Bytes written so far.
    at: u64,
    /// The central directory to be written.
    entries: Vec<Written>,
    /// The numpy keys and zip names taken.
    keys: HashSet<String>,
}

/// A member written, for the central directory.
struct Written {
    zip_name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

impl std::fmt::Debug for NpzWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzWriter")
            .field("path", &self.path)
            .field("members", &self.entries.len())
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
        let new = crate::replace::Replacement::new(&path)?;
        let file = new
            .file()
            .try_clone()
            .map_err(|e| Error::io("dup", Some(&path), e))?;
        Ok(NpzWriter {
            path,
            new: Some(new),
            out: Some(BufWriter::with_capacity(1 << 16, file)),
            at: 0,
            entries: Vec::new(),
            keys: HashSet::new(),
        })
    }

    fn refuse(&self, why: String) -> Error {
        Error::BadArchive {
            path: Some(self.path.clone()),
            why,
        }
    }

    /// Adds `array` as member `name` (numpy's key; stored as `name.npy`), copying its data: a
    /// C-contiguous array as it is, a Fortran-contiguous one (`.f()`, `.t()`) as it is with
    /// `fortran_order` True, any other view in C order.
    ///
    /// Refused before anything is written ([`Error::BadArchive`]): a name given twice, a name
    /// that would collide with another as a numpy key (`x` and `x.npy`), a name with a NUL
    /// byte (Python's `zipfile` cuts names there), a name longer than a zip name holds
    /// (65,535 bytes with `.npy`). A failed write is an [`Error::Io`], after which the writer
    /// takes no more members.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let a = ndarray::Array2::<u16>::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as u16);
    /// let mut w = ndmmap::npz::NpzWriter::create(dir.path().join("v.npz"))?;
    /// w.add("every_other_column", &a.slice(ndarray::s![.., ..;2]))?;  // copied in C order
    /// w.add("scalar", &ndarray::arr0(7.5f32))?;
    /// assert!(w.add("scalar", &ndarray::arr0(1.0f32)).is_err());
    /// assert!(w.add("scalar.npy", &ndarray::arr0(1.0f32)).is_err()); // numpy's key "scalar.npy" is taken
    /// assert!(w.add(&"x".repeat(65_532), &ndarray::arr0(1u8)).is_err()); // too long a zip name
    /// w.finish()?;
    /// # Ok(()) }
    /// ```
    pub fn add<'a, T: NpyElement, D: Dimension>(
        &mut self,
        name: &str,
        array: impl AsArray<'a, T, D>,
    ) -> Result<&mut Self> {
        let view: ArrayView<'a, T, D> = array.into();
        let q = crate::error::excerpt(name);
        let zip_name = format!("{name}.npy");
        if self.keys.contains(name) || self.keys.contains(&zip_name) {
            return Err(self.refuse(format!(
                "member {q:?} was added already, or collides with another as a numpy key \
                 (\"x\" is stored as \"x.npy\", which is also the key of a member \"x.npy\"); \
                 numpy would read only one of them"
            )));
        }
        if name.contains('\0') {
            return Err(self.refuse(format!(
                "member name {q:?} has a NUL byte, where Python's zipfile would cut it"
            )));
        }
        let name_len = u16::try_from(zip_name.len()).map_err(|_| {
            self.refuse(format!(
                "member name {q:?} is {} bytes long; a zip name holds at most 65,535 bytes, \
                 \".npy\" included",
                name.len()
            ))
        })?;
        let out = self.out.as_mut().ok_or(Error::NotWritable {
            reason: "an earlier write to the archive failed, or it was finished already",
        })?;
        let fortran =
            !view.is_standard_layout() && view.ndim() > 1 && view.t().is_standard_layout();
        let header = crate::npy::new_header(&T::DTYPE.descr(), fortran, view.shape());
        let bytes = crate::layout::checked_bytes(view.shape(), size_of::<T>())?;
        let size = (header.len() as u64)
            .checked_add(bytes as u64)
            .ok_or(Error::SizeOverflow {
                shape: view.shape().to_vec(),
                elem_size: size_of::<T>(),
            })?;
        // The data in memory order: the slice itself, else copies in C order.
        let contiguous = view
            .as_slice_memory_order()
            .filter(|_| view.is_standard_layout() || fortran);
        let each = |f: &mut dyn FnMut(&[u8]) -> std::io::Result<()>| -> std::io::Result<()> {
            f(&header)?;
            if let Some(s) = contiguous {
                return f(bytemuck::cast_slice(s));
            }
            let mut buf: Vec<T> = Vec::with_capacity((1 << 16) / size_of::<T>().max(1));
            for &x in view.iter() {
                buf.push(x);
                if buf.len() == buf.capacity() {
                    f(bytemuck::cast_slice(&buf))?;
                    buf.clear();
                }
            }
            f(bytemuck::cast_slice(&buf))
        };
        let mut crc = crc32fast::Hasher::new();
        each(&mut |b| {
            crc.update(b);
            Ok(())
        })
        .map_err(|e| Error::io("write archive", Some(&self.path), e))?;
        let crc = crc.finalize();
        let local = local_header(self.at, &zip_name, name_len, crc, size);
        let offset = self.at;
        let end = offset
            .checked_add(local.len() as u64)
            .and_then(|n| n.checked_add(size));
        let written = match end {
            None => Err(std::io::Error::other("the archive would pass 2^64 bytes")),
            Some(_) => out
                .write_all(&local)
                .and_then(|()| each(&mut |b| out.write_all(b))),
        };
        if let Err(e) = written {
            // The member is half written: nothing more can be added.
            self.out = None;
            return Err(Error::io("write archive", Some(&self.path), e));
        }
        self.at = end.unwrap_or(u64::MAX);
        self.keys.insert(name.to_string());
        self.keys.insert(zip_name.clone());
        self.entries.push(Written {
            zip_name,
            crc,
            size,
            offset,
        });
        Ok(self)
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
        let mut out = self.out.take().ok_or(Error::NotWritable {
            reason: "an earlier write to the archive failed, or it was finished already",
        })?;
        let directory = central_directory(&self.entries, self.at);
        out.write_all(&directory)
            .map_err(|e| io("write archive", e))?;
        let file = out
            .into_inner()
            .map_err(|e| io("write archive", e.into_error()))?;
        file.sync_all().map_err(|e| io("fsync", e))?;
        drop(file);
        match self.new.take() {
            Some(new) => new.commit(),
            None => Err(Error::NotWritable {
                reason: "the archive was finished already",
            }),
        }
    }
}

/// 1980-01-01 00:00:00, the earliest time a zip stores (the archive does not depend on the
/// clock).
const DOS_DATE: u16 = (1 << 5) | 1;

/// A stored member's local header at `at`, with the zip64 sizes when `size` needs them and
/// padding that puts the data on an [`ALIGN`]-byte boundary.
fn local_header(at: u64, zip_name: &str, name_len: u16, crc: u32, size: u64) -> Vec<u8> {
    let zip64 = size >= MASK32;
    let mut extra = Vec::new();
    if zip64 {
        put16(&mut extra, ZIP64_EXTRA);
        put16(&mut extra, 16);
        put64(&mut extra, size);
        put64(&mut extra, size);
    }
    let unpadded = at % ALIGN + (LOCAL_LEN as u64) + u64::from(name_len) + extra.len() as u64;
    let mut pad = (ALIGN - unpadded % ALIGN) % ALIGN;
    if pad > 0 && pad < 4 {
        pad += ALIGN;
    }
    if pad > 0 {
        put16(&mut extra, PADDING_EXTRA);
        put16(&mut extra, (pad - 4) as u16);
        extra.resize(extra.len() + (pad - 4) as usize, 0);
    }
    let mut h = Vec::with_capacity(LOCAL_LEN + zip_name.len() + extra.len());
    h.extend_from_slice(LOCAL_SIG);
    put16(&mut h, if zip64 { 45 } else { 20 });
    put16(&mut h, flags_for(zip_name));
    put16(&mut h, STORED);
    put16(&mut h, 0);
    put16(&mut h, DOS_DATE);
    put32(&mut h, crc);
    let small = if zip64 { MASK32 as u32 } else { size as u32 };
    put32(&mut h, small);
    put32(&mut h, small);
    put16(&mut h, name_len);
    put16(&mut h, extra.len() as u16);
    h.extend_from_slice(zip_name.as_bytes());
    h.extend_from_slice(&extra);
    h
}

/// The central directory of `entries`, starting at byte `at`, and its end records (zip64 ones
/// where a count, size or offset needs them).
fn central_directory(entries: &[Written], at: u64) -> Vec<u8> {
    let mut d = Vec::new();
    for e in entries {
        let (big_size, big_offset) = (e.size >= MASK32, e.offset >= MASK32);
        let mut extra = Vec::new();
        if big_size || big_offset {
            put16(&mut extra, ZIP64_EXTRA);
            put16(
                &mut extra,
                8 * (2 * u16::from(big_size) + u16::from(big_offset)),
            );
            if big_size {
                put64(&mut extra, e.size);
                put64(&mut extra, e.size);
            }
            if big_offset {
                put64(&mut extra, e.offset);
            }
        }
        let zip64 = big_size || big_offset;
        d.extend_from_slice(CENTRAL_SIG);
        put16(&mut d, (3 << 8) | if zip64 { 45 } else { 20 }); // made by: Unix
        put16(&mut d, if zip64 { 45 } else { 20 });
        put16(&mut d, flags_for(&e.zip_name));
        put16(&mut d, STORED);
        put16(&mut d, 0);
        put16(&mut d, DOS_DATE);
        put32(&mut d, e.crc);
        let size = e.size.min(MASK32) as u32;
        put32(&mut d, size);
        put32(&mut d, size);
        // Checked by add: the name fits, and the extra field is at most 28 bytes.
        put16(&mut d, e.zip_name.len() as u16);
        put16(&mut d, extra.len() as u16);
        put16(&mut d, 0); // comment
        put16(&mut d, 0); // disk
        put16(&mut d, 0); // internal attributes
        put32(&mut d, 0o100_644 << 16); // a regular file, rw-r--r--
        put32(&mut d, e.offset.min(MASK32) as u32);
        d.extend_from_slice(e.zip_name.as_bytes());
        d.extend_from_slice(&extra);
    }
    let (count, size, offset) = (entries.len() as u64, d.len() as u64, at);
    if count >= 0xffff || size >= MASK32 || offset >= MASK32 {
        let record_at = offset.saturating_add(size);
        d.extend_from_slice(END64_SIG);
        put64(&mut d, (END64_LEN - 12) as u64);
        put16(&mut d, (3 << 8) | 45);
        put16(&mut d, 45);
        put32(&mut d, 0);
        put32(&mut d, 0);
        put64(&mut d, count);
        put64(&mut d, count);
        put64(&mut d, size);
        put64(&mut d, offset);
        d.extend_from_slice(LOCATOR_SIG);
        put32(&mut d, 0);
        put64(&mut d, record_at);
        put32(&mut d, 1);
    }
    d.extend_from_slice(END_SIG);
    put16(&mut d, 0);
    put16(&mut d, 0);
    put16(&mut d, count.min(0xffff) as u16);
    put16(&mut d, count.min(0xffff) as u16);
    put32(&mut d, size.min(MASK32) as u32);
    put32(&mut d, offset.min(MASK32) as u32);
    put16(&mut d, 0);
    d
}

/// The general purpose flags for a name: UTF-8 unless it is ASCII (else a zip reader takes it
/// as code page 437).
fn flags_for(zip_name: &str) -> u16 {
    if zip_name.is_ascii() { 0 } else { FLAG_UTF8 }
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}
