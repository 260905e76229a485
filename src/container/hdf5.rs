//! An HDF5 file's datasets as entries (feature `hdf5`), read with the pure-Rust `hdf5-pure`
//! crate: the groups are walked from the root, and each dataset's datatype, dataspace and
//! data-layout messages (and a chunked one's chunk index) give its [`Entry`] and its
//! [`Chunk`]s. A contiguous dataset is mapped by the container like any other entry, from
//! the handle kept here, and so are an unfiltered chunked dataset's chunks. Data is read
//! through the crate only for `Container::read` of a compact dataset (its bytes sit in the
//! object header) and of a filtered chunked one (the crate's decoders: gzip, shuffle,
//! fletcher32, lzf, scale-offset); an unfiltered chunked dataset is assembled here from its
//! chunks, read with positioned reads of the handle.
//!
//! Files from strangers: every read the crate makes goes through [`Budgeted`], which refuses
//! reads past [`MAX_METADATA_READ`] bytes or [`MAX_READS`] calls (a loop in the file's
//! B-trees or heaps then ends as an error, not a hang); the walk is iterative, at most
//! [`MAX_DEPTH`] groups deep and [`MAX_OBJECTS`] objects and [`MAX_CHUNKS`] chunks in all (a
//! cycle of hard links ends at the depth limit); and a panic inside the crate is caught and
//! reported as [`Error::BadHdf5`]. A read into memory is bounded the way a decompression
//! bomb is refused: a chunked dataset is read only if its size is at most
//! [`MAX_EXPANSION`] times the bytes stored for it, or at most [`MAX_SPARSE_READ`]; its
//! chunks must not claim more bytes than the file has, nor lie outside it.

use super::Entry;
use crate::array::Order;
use crate::element::Dtype;
use crate::error::{Error, Result};
use hdf5_pure::{Datatype, DatatypeByteOrder, FormatError, Layout, Source};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes of metadata the reader may read from one file before the open is refused.
pub const MAX_METADATA_READ: u64 = 1 << 30;
/// Reads the reader may make of one file before the open is refused.
pub const MAX_READS: u64 = 50_000_000;
/// Groups and datasets visited in one file (links to the same object count each time).
pub const MAX_OBJECTS: usize = 1_000_000;
/// Groups nested inside one another (a cycle of hard links ends here).
pub const MAX_DEPTH: usize = 64;
/// Chunks listed in one file, over all its chunked datasets.
pub const MAX_CHUNKS: usize = 4_000_000;

/// A chunked dataset is read into memory ([`Container::read`](super::Container::read)) only
/// if its size (shape times element size) is at most this many times the bytes stored for
/// it, or at most [`MAX_SPARSE_READ`]: deflate's largest expansion (a 258-byte match in two
/// 1-bit symbols), so no dataset compressed with gzip is refused, while a small file cannot
/// make the reader allocate and fill gigabytes (a decompression bomb, or a dataset whose
/// never-written chunks would all be fill values). Compact datasets hold all their bytes in
/// the object header, and contiguous ones are checked against the file's length.
pub const MAX_EXPANSION: u64 = 1032;

/// The size up to which a chunked dataset is read into memory whatever the bytes stored for
/// it (see [`MAX_EXPANSION`]): 64 MiB.
pub const MAX_SPARSE_READ: u64 = 64 << 20;

/// One stored chunk of a chunked HDF5 dataset: where it is in the dataset and in the file
/// ([`Container::chunks`](super::Container::chunks)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chunk {
    /// The index of the chunk's first element in the dataset, one per axis.
    pub start: Vec<u64>,
    /// Absolute byte offset of the chunk's stored bytes in the file.
    pub offset: u64,
    /// Bytes stored (after the filters, for a filtered dataset).
    pub len: u64,
    /// Bit `i` set: the `i`-th filter of the pipeline was not applied to this chunk.
    pub filter_mask: u32,
}

/// One stored chunk of an unfiltered chunked HDF5 dataset, mapped read-only
/// ([`Container::map_chunks`](super::Container::map_chunks)).
#[derive(Debug)]
#[non_exhaustive]
pub struct ChunkArray {
    /// The index of the chunk's first element in the dataset, one per axis.
    pub start: Vec<u64>,
    /// The shape of the part of the chunk inside the dataset: the chunk shape, less what
    /// passes the dataset's edge (`min(chunk, shape - start)` per axis). Take
    /// `array`'s elements `[..inside[0], ..inside[1], ...]`.
    pub inside: Vec<usize>,
    /// The whole chunk as HDF5 stores it, of the dataset's chunk shape, in C order, typed
    /// as the dataset's dtype (as [`Container::map_any`](super::Container::map_any) types
    /// an entry). Past [`inside`](Self::inside) its elements are not the dataset's: HDF5
    /// stores edge chunks whole and leaves there what the writer put (the fill value when
    /// the chunk was written through HDF5 with a fill value, zeros or stale values else).
    pub array: crate::AnyArray,
}

/// How an entry's data is stored, as far as reading it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stored {
    /// Contiguous (mapped, or read like any other entry), or a dataset that cannot be read.
    Other,
    /// Compact: its bytes (`size` of them) sit in the object header, read through the HDF5
    /// reader.
    Compact {
        /// The bytes stored.
        size: u64,
    },
    /// Chunked, with a chunk index that could be read.
    Chunked {
        /// Elements per chunk along each axis.
        shape: Vec<u64>,
        /// The filter pipeline's filter ids, in the order they were applied.
        filters: Vec<u16>,
    },
}

impl From<hdf5_pure::Chunk> for Chunk {
    fn from(c: hdf5_pure::Chunk) -> Chunk {
        Chunk {
            start: c.offset,
            offset: c.address,
            len: c.storage_size,
            filter_mask: c.filter_mask,
        }
    }
}

/// The open HDF5 file: the handle every map maps, and each entry's chunks.
#[derive(Debug)]
pub(super) struct Hdf5 {
    pub(super) file: File,
    /// The file's length when opened.
    pub(super) len: u64,
    /// Per entry (same index as the entries), its chunks; empty for an unchunked dataset.
    pub(super) chunks: Vec<Vec<Chunk>>,
    /// Per entry, how its data is stored.
    pub(super) stored: Vec<Stored>,
}

/// The file as the reader sees it: positioned reads of our handle, counted, and refused past
/// the limits.
struct Budgeted {
    file: File,
    len: u64,
    /// Bytes that may be read in all ([`MAX_METADATA_READ`] for the walk; more for a read of
    /// a dataset's data).
    max_bytes: u64,
    bytes: AtomicU64,
    calls: AtomicU64,
    over: AtomicBool,
}

impl Source for Budgeted {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::result::Result<(), FormatError> {
        let n = buf.len() as u64;
        let bytes = self.bytes.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        let calls = self.calls.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if bytes > self.max_bytes || calls > MAX_READS {
            self.over.store(true, Ordering::Relaxed);
            return Err(FormatError::Source("read budget spent".into()));
        }
        crate::sys::read_exact_at(&self.file, buf, offset)
            .map_err(|e| FormatError::Source(e.to_string()))
    }
}

/// Reads the datasets of the HDF5 file at `path` through `file` (`len` bytes), in the order
/// h5py's `visititems` gives them (depth first, names in byte order).
pub(super) fn open(path: &Path, file: File, len: u64) -> Result<(Hdf5, Vec<Entry>)> {
    let (entries, chunks, stored) =
        with_reader(path, &file, len, MAX_METADATA_READ, |f| walk(f, len))?;
    Ok((
        Hdf5 {
            file,
            len,
            chunks,
            stored,
        },
        entries,
    ))
}

/// Runs `job` on the HDF5 reader opened over `file` (`len` bytes) through a [`Budgeted`]
/// source that may read `max_bytes`; the budget spent, an error (one line) and a panic in
/// the reader all become [`Error::BadHdf5`].
fn with_reader<R>(
    path: &Path,
    file: &File,
    len: u64,
    max_bytes: u64,
    job: impl FnOnce(hdf5_pure::File) -> std::result::Result<R, String>,
) -> Result<R> {
    let bad = |why: String| Error::BadHdf5 {
        path: Some(path.to_path_buf()),
        why,
    };
    let reader_file = file
        .try_clone()
        .map_err(|e| Error::io("open", Some(path), e))?;
    let source = std::sync::Arc::new(Budgeted {
        file: reader_file,
        len,
        max_bytes,
        bytes: AtomicU64::new(0),
        calls: AtomicU64::new(0),
        over: AtomicBool::new(false),
    });
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let f = hdf5_pure::File::from_source(Shared(std::sync::Arc::clone(&source)))
            .map_err(|e| e.to_string())?;
        job(f)
    }));
    let over = source.over.load(Ordering::Relaxed);
    match done {
        _ if over => Err(bad(format!(
            "reading it took more than {} MiB or {MAX_READS} reads (a loop in its \
             structures?)",
            max_bytes >> 20
        ))),
        Ok(Ok(r)) => Ok(r),
        Ok(Err(why)) => Err(bad(why)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(bad(format!("the HDF5 reader gave up on it ({msg})")))
        }
    }
}

/// An `Arc<Budgeted>` as a [`Source`] the reader can own.
struct Shared(std::sync::Arc<Budgeted>);

impl Source for Shared {
    fn len(&self) -> u64 {
        self.0.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::result::Result<(), FormatError> {
        self.0.read_at(offset, buf)
    }
}

/// A group or dataset met in the walk.
enum Member {
    Group(hdf5_pure::Group),
    Dataset(hdf5_pure::Dataset),
}

type Walked = (Vec<Entry>, Vec<Vec<Chunk>>, Vec<Stored>);

/// The walk from the root, iterative; errors as one line.
fn walk(f: hdf5_pure::File, file_len: u64) -> std::result::Result<Walked, String> {
    let mut entries = Vec::new();
    let mut chunks = Vec::new();
    let mut stored = Vec::new();
    let mut objects = 0usize;
    let mut total_chunks = 0usize;
    // (path, depth, member); children pushed in reverse name order, so popped in order.
    let mut stack: Vec<(String, usize, Member)> = vec![(String::new(), 0, Member::Group(f.root()))];
    while let Some((path, depth, m)) = stack.pop() {
        objects += 1;
        if objects > MAX_OBJECTS {
            return Err(format!(
                "it links more than {MAX_OBJECTS} groups and datasets (the limit)"
            ));
        }
        match m {
            Member::Dataset(d) => {
                let (e, c, st) = describe(path, &d, file_len);
                total_chunks = total_chunks.saturating_add(c.len());
                if total_chunks > MAX_CHUNKS {
                    return Err(format!(
                        "its datasets have more than {MAX_CHUNKS} chunks in all (the limit)"
                    ));
                }
                entries.push(e);
                chunks.push(c);
                stored.push(st);
            }
            Member::Group(g) => {
                if depth >= MAX_DEPTH {
                    return Err(format!(
                        "{path} is nested more than {MAX_DEPTH} groups deep (a cycle of hard \
                         links?)"
                    ));
                }
                let at = |what: &str, e: hdf5_pure::Error| {
                    format!(
                        "the {what} of group {} could not be read: {e}",
                        shown(&path)
                    )
                };
                let mut kids: Vec<(String, Member)> = Vec::new();
                for (name, d) in g.iter_datasets().map_err(|e| at("datasets", e))? {
                    kids.push((name, Member::Dataset(d)));
                }
                for (name, sub) in g.iter_groups().map_err(|e| at("groups", e))? {
                    kids.push((name, Member::Group(sub)));
                }
                if objects.saturating_add(kids.len()) > MAX_OBJECTS {
                    return Err(format!(
                        "it links more than {MAX_OBJECTS} groups and datasets (the limit)"
                    ));
                }
                kids.sort_by(|a, b| b.0.as_bytes().cmp(a.0.as_bytes()));
                for (name, kid) in kids {
                    stack.push((format!("{path}/{name}"), depth + 1, kid));
                }
            }
        }
    }
    Ok((entries, chunks, stored))
}

/// `/` for the root's path `""`.
fn shown(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

/// numpy's dtype of an HDF5 datatype as h5py reads it, its descriptor, its size, or why it
/// cannot be mapped.
fn dtype(t: &Datatype) -> std::result::Result<(Option<Dtype>, String, usize), String> {
    let le = |o: &DatatypeByteOrder| match o {
        DatatypeByteOrder::LittleEndian => Ok(true),
        DatatypeByteOrder::BigEndian => Ok(false),
        _ => Err("VAX byte order, which numpy lacks".to_string()),
    };
    let num = |kind: char, size: u32, little_endian: bool| {
        let d = Dtype {
            kind,
            size: size as usize,
            little_endian: little_endian || size == 1,
        };
        Ok((Some(d), d.descr(), size as usize))
    };
    match t {
        Datatype::FixedPoint {
            size: size @ (1 | 2 | 4 | 8),
            byte_order,
            layout,
        } => num(
            if layout.signed { 'i' } else { 'u' },
            *size,
            le(byte_order)?,
        ),
        Datatype::FloatingPoint {
            size: size @ (2 | 4 | 8),
            byte_order,
            ..
        } => num('f', *size, le(byte_order)?),
        // h5py's bool: an enum of an 8-bit integer with FALSE = 0 and TRUE = 1.
        Datatype::Enumeration {
            size: 1,
            base_type,
            members,
        } if matches!(**base_type, Datatype::FixedPoint { .. })
            && members.len() == 2
            && members.iter().any(|m| m.name == "FALSE" && m.value == [0])
            && members.iter().any(|m| m.name == "TRUE" && m.value == [1]) =>
        {
            num('b', 1, true)
        }
        // h5py's complex: a compound of two floats of one type named r and i.
        Datatype::Compound { size, members }
            if members.len() == 2
                && members[0].name == "r"
                && members[1].name == "i"
                && members[0].byte_offset == 0
                && u64::from(*size) == 2 * members[1].byte_offset
                && members[0].datatype == members[1].datatype =>
        {
            match &members[0].datatype {
                Datatype::FloatingPoint {
                    size: half @ (4 | 8),
                    byte_order,
                    ..
                } if *size == 2 * half => num('c', *size, le(byte_order)?),
                _ => Err("a compound type".into()),
            }
        }
        Datatype::String { size, .. } => Ok((None, format!("|S{size}"), *size as usize)),
        Datatype::Opaque { size, .. } => {
            let d = Dtype::void(*size as usize);
            Ok((Some(d), d.descr(), *size as usize))
        }
        Datatype::FixedPoint { size, .. } => Err(format!("a {size}-byte integer")),
        Datatype::FloatingPoint { size, .. } => Err(format!("a {size}-byte float")),
        Datatype::VariableLength { is_string, .. } => Err(if *is_string {
            "a variable-length string type (its strings live in the file's heaps)".into()
        } else {
            "a variable-length type (its elements live in the file's heaps)".into()
        }),
        Datatype::Compound { .. } => Err("a compound type".into()),
        Datatype::Enumeration { .. } => Err("an enumeration type".into()),
        Datatype::Array { .. } => Err("an array type".into()),
        Datatype::Reference { .. } => Err("a reference type".into()),
        Datatype::BitField { .. } => Err("a bit-field type".into()),
        Datatype::Time { .. } => Err("a time type".into()),
        _ => Err("a datatype class this reader does not know".into()),
    }
}

/// A short name of a datatype numpy cannot map, for listings.
fn class_name(t: &Datatype) -> &'static str {
    match t {
        Datatype::FixedPoint { .. } => "int",
        Datatype::FloatingPoint { .. } => "float",
        Datatype::VariableLength {
            is_string: true, ..
        } => "vlen-str",
        Datatype::VariableLength { .. } => "vlen",
        Datatype::Compound { .. } => "compound",
        Datatype::Enumeration { .. } => "enum",
        Datatype::Array { .. } => "array",
        Datatype::Reference { .. } => "reference",
        Datatype::BitField { .. } => "bitfield",
        Datatype::Time { .. } => "time",
        _ => "unknown",
    }
}

/// A filter's name, as h5py calls it.
fn filter_name(id: u16) -> String {
    match id {
        1 => "gzip".into(),
        2 => "shuffle".into(),
        3 => "fletcher32".into(),
        4 => "szip".into(),
        5 => "nbit".into(),
        6 => "scaleoffset".into(),
        32000 => "lzf".into(),
        32001 => "blosc".into(),
        32015 => "zstd".into(),
        _ => format!("filter {id}"),
    }
}

/// The entry of dataset `d` at `path`, and its chunks; what cannot be read of it is said in
/// [`Entry::unmappable`], not as an error of the whole file.
fn describe(path: String, d: &hdf5_pure::Dataset, file_len: u64) -> (Entry, Vec<Chunk>, Stored) {
    let mut e = Entry {
        name: path,
        dtype: None,
        type_name: String::new(),
        elem_size: 0,
        shape: Vec::new(),
        order: Order::C,
        offset: 0,
        len: 0,
        unmappable: None,
    };
    let mut why: Option<String> = None;
    match d.datatype() {
        Ok(t) => match dtype(&t) {
            Ok((dt, name, size)) => (e.dtype, e.type_name, e.elem_size) = (dt, name, size),
            Err(w) => {
                e.type_name = class_name(&t).into();
                why = Some(format!("its datatype is {w}, which cannot be mapped"));
            }
        },
        Err(err) => why = Some(format!("its datatype could not be read ({err})")),
    }
    let mut nbytes = None;
    match d.shape() {
        Ok(s) => {
            let shape: Option<Vec<usize>> = s.iter().map(|&n| usize::try_from(n).ok()).collect();
            let count = s.iter().try_fold(1u64, |a, &n| a.checked_mul(n));
            nbytes = count.and_then(|c| c.checked_mul(e.elem_size as u64));
            e.shape = shape.unwrap_or_default();
            if nbytes.is_none() || e.shape.len() != s.len() {
                why.get_or_insert_with(|| format!("its shape {s:?} is too large"));
            }
        }
        Err(err) => {
            why.get_or_insert_with(|| format!("its dataspace could not be read ({err})"));
        }
    }
    let mut chunks = Vec::new();
    let nbytes = nbytes.unwrap_or(0);
    e.len = nbytes;
    let layout = match d.layout() {
        Ok(l) => l,
        Err(err) => {
            e.unmappable = Some(why.unwrap_or(format!("its layout could not be read ({err})")));
            return (e, chunks, Stored::Other);
        }
    };
    let mut stored = Stored::Other;
    let layout_why = match layout {
        Layout::Contiguous {
            address: Some(a),
            size,
        } => {
            e.offset = a;
            if e.elem_size == 0 {
                e.len = size; // a datatype with no numpy size: the stored bytes
            }
            if size < nbytes {
                Some(format!(
                    "its contiguous storage holds {size} bytes, not the {nbytes} of its shape"
                ))
            } else if a.checked_add(nbytes).is_none_or(|end| end > file_len) {
                Some(format!(
                    "its data ({nbytes} bytes at {a}) runs past the file's end ({file_len} bytes)"
                ))
            } else {
                None
            }
        }
        // Nothing to map, and nothing needed: an empty array.
        Layout::Contiguous { address: None, .. } if nbytes == 0 => None,
        Layout::Contiguous { address: None, .. } => Some(
            "it has no data in this file: its storage was never allocated (never written), or \
             it is stored in external files (H5Pset_external)"
                .into(),
        ),
        Layout::Compact { size } => {
            stored = Stored::Compact { size };
            Some(format!(
                "it is compact (its {size} bytes are stored inside its object header)"
            ))
        }
        Layout::Chunked { chunk_shape, .. } => {
            let ids: Vec<u16> = d.filter_pipeline().iter().map(|f| f.id).collect();
            let filters: Vec<String> = ids.iter().map(|&id| filter_name(id)).collect();
            let filters = if filters.is_empty() {
                "no filters".to_string()
            } else {
                format!("filters {}", filters.join(", "))
            };
            let listed = match d.chunks() {
                Ok(cs) => {
                    chunks = cs.into_iter().map(Chunk::from).collect();
                    e.offset = chunks.iter().map(|c| c.offset).min().unwrap_or(0);
                    e.len = chunks.iter().fold(0u64, |a, c| a.saturating_add(c.len));
                    stored = Stored::Chunked {
                        shape: chunk_shape.clone(),
                        filters: ids,
                    };
                    format!("{} chunks stored", chunks.len())
                }
                Err(err) => {
                    e.len = 0;
                    format!("its chunk index could not be read: {err}")
                }
            };
            Some(format!(
                "it is chunked (chunk shape {chunk_shape:?}, {filters}; {listed}): not one run \
                 of bytes"
            ))
        }
        Layout::Virtual => Some("it is virtual (its data comes from other datasets)".into()),
        _ => Some("its layout is of a kind this reader does not know".into()),
    };
    if why.is_some() {
        stored = Stored::Other;
    }
    e.unmappable = why.or(layout_why);
    (e, chunks, stored)
}

/// The geometry of a chunked dataset's stored chunks, checked against the dataset and the
/// file: what reading or mapping them needs.
#[derive(Debug)]
pub(super) struct Grid {
    /// Elements per chunk along each axis (each at least 1).
    chunk: Vec<usize>,
    /// Bytes of one whole chunk, unfiltered.
    chunk_bytes: u64,
    /// Bytes stored for all chunks.
    stored: u64,
    /// Every chunk of the grid is stored: no element reads as the fill value.
    full: bool,
}

/// Checks chunked dataset `e`'s `chunks` (of `chunk` elements each) against its shape and
/// the file's `file_len` bytes: one start per axis, on the grid, inside the dataset, no two
/// alike; each chunk inside the file, whole (`chunk_bytes` stored) when `unfiltered`; and
/// all of them together no longer than the file.
fn grid(
    e: &Entry,
    chunks: &[Chunk],
    chunk: &[u64],
    file_len: u64,
    unfiltered: bool,
) -> std::result::Result<Grid, String> {
    let rank = e.shape.len();
    if chunk.len() != rank || rank == 0 || chunk.contains(&0) {
        return Err(format!(
            "its chunk shape {chunk:?} does not fit its shape {:?}",
            e.shape
        ));
    }
    let too_large = || format!("its chunk shape {chunk:?} is too large");
    let dims: Vec<usize> = chunk
        .iter()
        .map(|&n| usize::try_from(n).map_err(|_| too_large()))
        .collect::<std::result::Result<_, _>>()?;
    let chunk_bytes = chunk
        .iter()
        .try_fold(e.elem_size as u64, |a, &n| a.checked_mul(n))
        .ok_or_else(too_large)?;
    let mut cells = 1u64;
    for (&s, &c) in e.shape.iter().zip(&dims) {
        cells = cells.saturating_mul((s as u64).div_ceil(c as u64));
    }
    let mut stored = 0u64;
    let mut starts: Vec<&[u64]> = Vec::with_capacity(chunks.len());
    for c in chunks {
        let on_grid = c.start.len() == rank
            && c.start
                .iter()
                .zip(e.shape.iter().zip(&dims))
                .all(|(&at, (&s, &n))| at % n as u64 == 0 && at < s as u64);
        if !on_grid {
            return Err(format!(
                "a chunk starts at {:?}, not on its grid of {chunk:?} inside {:?}",
                c.start, e.shape
            ));
        }
        if c.offset.checked_add(c.len).is_none_or(|end| end > file_len) {
            return Err(format!(
                "a chunk ({} bytes at {}) runs past the file's end ({file_len} bytes)",
                c.len, c.offset
            ));
        }
        if unfiltered && c.len != chunk_bytes {
            return Err(format!(
                "a chunk stores {} bytes, not the {chunk_bytes} of its chunk shape",
                c.len
            ));
        }
        stored = stored.saturating_add(c.len);
        starts.push(&c.start);
    }
    if stored > file_len {
        return Err(format!(
            "its chunks claim {stored} bytes, more than the file's {file_len}"
        ));
    }
    starts.sort_unstable();
    if starts.windows(2).any(|w| w[0] == w[1]) {
        return Err("two of its chunks start at the same element".into());
    }
    Ok(Grid {
        chunk: dims,
        chunk_bytes,
        stored,
        full: starts.len() as u64 == cells,
    })
}

/// The filters the HDF5 reader decodes.
fn decodable(id: u16) -> bool {
    matches!(id, 1 | 2 | 3 | 6 | 32000)
}

/// Copies a whole chunk's bytes `src` (`g.chunk` elements of `elem` bytes, C order), whose
/// first element is `start`, into `out`, the dataset (`shape`, C order): only the part
/// inside the dataset.
fn place(out: &mut [u8], shape: &[usize], src: &[u8], chunk: &[usize], start: &[u64], elem: usize) {
    let rank = shape.len();
    let inside: Vec<usize> = (0..rank)
        .map(|k| chunk[k].min(shape[k] - start[k] as usize))
        .collect();
    let row = inside[rank - 1] * elem;
    // Element strides of the chunk and of the dataset.
    let strides = |dims: &[usize]| {
        let mut s = vec![1usize; rank];
        for k in (0..rank - 1).rev() {
            s[k] = s[k + 1] * dims[k + 1];
        }
        s
    };
    let (cs, ds) = (strides(chunk), strides(shape));
    let mut idx = vec![0usize; rank - 1];
    'rows: loop {
        let from: usize = idx.iter().zip(&cs).map(|(i, s)| i * s).sum::<usize>() * elem;
        let to: usize = (0..rank)
            .map(|k| (start[k] as usize + idx.get(k).copied().unwrap_or(0)) * ds[k])
            .sum::<usize>()
            * elem;
        out[to..to + row].copy_from_slice(&src[from..from + row]);
        for k in (0..rank - 1).rev() {
            idx[k] += 1;
            if idx[k] < inside[k] {
                continue 'rows;
            }
            idx[k] = 0;
        }
        break;
    }
}

/// The bytes an unwritten element of dataset `d` (of dtype `dt`) reads as, in the dataset's
/// byte order: `Ok(None)` for zeros (no fill value set), `Err` when this reader cannot tell
/// for this dtype.
fn fill_bytes(d: &hdf5_pure::Dataset, dt: Dtype) -> std::result::Result<Option<Vec<u8>>, String> {
    macro_rules! fill {
        ($t:ty) => {
            d.fill_value::<$t>()
                .map_err(|e| format!("its fill value could not be read ({e})"))?
                .map(|v| {
                    if dt.little_endian {
                        v.to_le_bytes().to_vec()
                    } else {
                        v.to_be_bytes().to_vec()
                    }
                })
        };
    }
    Ok(match (dt.kind, dt.size) {
        ('i', 1) => fill!(i8),
        ('i', 2) => fill!(i16),
        ('i', 4) => fill!(i32),
        ('i', 8) => fill!(i64),
        ('u', 1) => fill!(u8),
        ('u', 2) => fill!(u16),
        ('u', 4) => fill!(u32),
        ('u', 8) => fill!(u64),
        ('f', 4) => fill!(f32),
        ('f', 8) => fill!(f64),
        _ => {
            return Err(format!(
                "a fill value of dtype {} is not read here",
                dt.descr()
            ));
        }
    })
}

/// A one-line error of the HDF5 reader.
fn said(e: impl std::fmt::Display) -> String {
    e.to_string().replace('\n', " ")
}

impl Hdf5 {
    /// Whether entry `i` is read by [`read_into`](Self::read_into) (a compact or chunked
    /// dataset), not as one run of bytes.
    pub(super) fn reads(&self, i: usize) -> bool {
        self.stored[i] != Stored::Other
    }

    /// The chunk shape of entry `i`, when it is a chunked dataset whose chunks were listed.
    pub(super) fn chunk_shape(&self, i: usize) -> Option<&[u64]> {
        match &self.stored[i] {
            Stored::Chunked { shape, .. } => Some(shape),
            _ => None,
        }
    }

    /// Entry `i`'s (`e`'s) chunks and chunk shape, when it is an unfiltered chunked dataset
    /// whose chunks fit its shape and the file; else why not.
    pub(super) fn mappable_chunks(
        &self,
        i: usize,
        e: &Entry,
    ) -> std::result::Result<(&[Chunk], Vec<usize>), String> {
        match &self.stored[i] {
            Stored::Chunked { shape, filters } if filters.is_empty() => {
                let g = grid(e, &self.chunks[i], shape, self.len, true)?;
                Ok((&self.chunks[i], g.chunk))
            }
            Stored::Chunked { filters, .. } => {
                let names: Vec<String> = filters.iter().map(|&id| filter_name(id)).collect();
                Err(format!(
                    "its chunks are filtered ({}): their stored bytes are not its elements; \
                     read it with Container::read",
                    names.join(", ")
                ))
            }
            Stored::Compact { .. } => Err(format!(
                "{}: {}",
                e.unmappable.as_deref().unwrap_or("it is compact"),
                self.advice(i).unwrap_or_default()
            )),
            Stored::Other => Err(match &e.unmappable {
                Some(why) => {
                    format!("it is not a chunked dataset whose chunks can be mapped: {why}")
                }
                None => "it is not chunked: map it with Container::map or map_any".into(),
            }),
        }
    }

    /// What a library user can do with entry `i` where it cannot be mapped (the calls that
    /// read it or map its parts), for the refusal of a map; `None` where nothing can.
    /// [`Entry::unmappable`] says what the entry is, so a listing (`ndmmap info`) shows
    /// that alone.
    pub(super) fn advice(&self, i: usize) -> Option<&'static str> {
        match &self.stored[i] {
            Stored::Compact { .. } => Some("read it into memory with Container::read"),
            Stored::Chunked { filters, .. } if filters.is_empty() => Some(
                "read it with Container::read, or map its chunks with Container::map_chunks \
                 (Container::pages counts its chunks' pages)",
            ),
            Stored::Chunked { .. } => {
                Some("read it with Container::read (Container::pages counts its chunks' pages)")
            }
            Stored::Other => None,
        }
    }

    /// Checks that entry `i` (`e`, of the file at `path`), of `n` bytes, may be read into
    /// memory before any of that memory is allocated: a compact dataset stores `n` bytes; a
    /// chunked dataset's chunks fit its grid and the file, and `n` and one whole chunk are
    /// within [`MAX_EXPANSION`] times the bytes stored for it or [`MAX_SPARSE_READ`]. Gives
    /// a chunked dataset's [`Grid`].
    pub(super) fn bounded(&self, path: &Path, i: usize, e: &Entry, n: u64) -> Result<Option<Grid>> {
        let refuse = |why: String| Error::Unmappable {
            path: Some(super::entry_path(path, &e.name)),
            why,
        };
        let (shape, filters) = match &self.stored[i] {
            Stored::Chunked { shape, filters } => (shape, filters),
            Stored::Compact { size } if *size != n => {
                return Err(refuse(format!(
                    "its compact storage holds {size} bytes, not the {n} of its shape"
                )));
            }
            _ => return Ok(None),
        };
        let g = grid(e, &self.chunks[i], shape, self.len, filters.is_empty()).map_err(refuse)?;
        let limit = g.stored.saturating_mul(MAX_EXPANSION).max(MAX_SPARSE_READ);
        // A chunk larger than the dataset is decoded (or filled) whole, so it counts too.
        let n = n.max(g.chunk_bytes);
        if n > limit {
            return Err(refuse(format!(
                "it needs {n} bytes, more than {MAX_EXPANSION} times the {} bytes stored for it \
                 and more than {} MiB (refused as a decompression bomb would be; \
                 Container::map_chunks maps its chunks)",
                g.stored,
                MAX_SPARSE_READ >> 20
            )));
        }
        Ok(Some(g))
    }

    /// Reads entry `i` (`e`, of the file at `path`), a compact or chunked dataset, into
    /// `out`: its elements in C order and the dataset's byte order. `out` holds exactly the
    /// entry's `shape` times `elem_size` bytes, zeroed.
    pub(super) fn read_into(&self, path: &Path, i: usize, e: &Entry, out: &mut [u8]) -> Result<()> {
        let at = super::entry_path(path, &e.name);
        let refuse = |why: String| Error::Unmappable {
            path: Some(at.clone()),
            why,
        };
        let n = out.len() as u64;
        let dt = e.dtype;
        match &self.stored[i] {
            Stored::Other => Err(refuse(e.unmappable.clone().unwrap_or_default())),
            Stored::Compact { .. } => {
                let raw = self.raw(path, e, n, MAX_METADATA_READ, |d| match d.layout() {
                    Ok(Layout::Compact { size }) if size == n => Ok(()),
                    Ok(Layout::Compact { size }) => Err(format!(
                        "its compact storage holds {size} bytes, not the {n} of its shape"
                    )),
                    Ok(_) => Err("its layout is no longer compact (the file changed?)".into()),
                    Err(err) => Err(format!("its layout could not be read ({})", said(err))),
                })?;
                out.copy_from_slice(&raw);
                Ok(())
            }
            Stored::Chunked { filters, .. } => {
                let chunks = &self.chunks[i];
                let g = self
                    .bounded(path, i, e, n)?
                    .expect("a chunked dataset's grid");
                let budget = MAX_METADATA_READ.saturating_add(g.stored);
                let recheck = |d: &hdf5_pure::Dataset| {
                    let now: Vec<Chunk> = d
                        .chunks()
                        .map_err(said)?
                        .into_iter()
                        .map(Chunk::from)
                        .collect();
                    if now != *chunks {
                        return Err("its chunks changed since the file was opened".into());
                    }
                    Ok(())
                };
                if !filters.is_empty() {
                    if let Some(&id) = filters.iter().find(|&&id| !decodable(id)) {
                        return Err(refuse(format!(
                            "it is filtered with {}, which this reader cannot decode",
                            filter_name(id)
                        )));
                    }
                    let raw = self.raw(path, e, n, budget, recheck)?;
                    out.copy_from_slice(&raw);
                    return Ok(());
                }
                if !g.full {
                    let fill = match dt {
                        Some(dt) => self
                            .with_dataset(path, e, MAX_METADATA_READ, |d| Ok(fill_bytes(d, dt)))?,
                        None => Err(String::new()),
                    };
                    match fill {
                        Ok(None) => {}
                        Ok(Some(f)) if f.iter().all(|&b| b == 0) => {}
                        Ok(Some(f)) if f.len() == e.elem_size => {
                            for el in out.chunks_exact_mut(f.len()) {
                                el.copy_from_slice(&f);
                            }
                        }
                        // A fill value this module cannot build: the reader's own read.
                        _ => {
                            let raw = self.raw(path, e, n, budget, recheck)?;
                            out.copy_from_slice(&raw);
                            return Ok(());
                        }
                    }
                }
                let len = usize::try_from(g.chunk_bytes).map_err(|_| {
                    refuse(format!(
                        "its chunks of {} bytes are too large",
                        g.chunk_bytes
                    ))
                })?;
                let mut buf: Vec<u8> = super::with_capacity(len, &at)?;
                buf.resize(len, 0);
                for c in chunks {
                    crate::sys::read_exact_at(&self.file, &mut buf, c.offset)
                        .map_err(|err| Error::io("read", Some(&at), err))?;
                    place(out, &e.shape, &buf, &g.chunk, &c.start, e.elem_size);
                }
                Ok(())
            }
        }
    }

    /// Runs `job` on dataset `e` (by its path) of the file at `path`, through a reader that
    /// may read `budget` bytes.
    fn with_dataset<R>(
        &self,
        path: &Path,
        e: &Entry,
        budget: u64,
        job: impl FnOnce(&hdf5_pure::Dataset) -> std::result::Result<R, String>,
    ) -> Result<R> {
        with_reader(path, &self.file, self.len, budget, |f| {
            let d = f
                .dataset(&e.name)
                .map_err(|err| format!("it could not be found again: {}", said(err)))?;
            job(&d)
        })
        .map_err(|err| match err {
            Error::BadHdf5 { why, .. } => Error::Unmappable {
                path: Some(super::entry_path(path, &e.name)),
                why: format!("it could not be read: {why}"),
            },
            other => other,
        })
    }

    /// Dataset `e`'s bytes (`n` of them) as the HDF5 reader reads them (`read_raw`, its
    /// filters undone), after `check` and a check that its shape still makes `n` bytes.
    fn raw(
        &self,
        path: &Path,
        e: &Entry,
        n: u64,
        budget: u64,
        check: impl FnOnce(&hdf5_pure::Dataset) -> std::result::Result<(), String>,
    ) -> Result<Vec<u8>> {
        self.with_dataset(path, e, budget, |d| {
            let shape = d.shape().map_err(said)?;
            let now = shape
                .iter()
                .try_fold(e.elem_size as u64, |a, &k| a.checked_mul(k));
            if now != Some(n) {
                return Err(format!("its shape is now {shape:?} (the file changed?)"));
            }
            check(d)?;
            let raw = d.read_raw().map_err(said)?;
            if raw.len() as u64 != n {
                return Err(format!("the reader gave {} bytes, not {n}", raw.len()));
            }
            Ok(raw)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(shape: &[usize], elem_size: usize) -> Entry {
        Entry {
            name: "/d".into(),
            dtype: None,
            type_name: String::new(),
            elem_size,
            shape: shape.to_vec(),
            order: Order::C,
            offset: 0,
            len: 0,
            unmappable: None,
        }
    }

    fn chunk(start: &[u64], offset: u64, len: u64) -> Chunk {
        Chunk {
            start: start.to_vec(),
            offset,
            len,
            filter_mask: 0,
        }
    }

    #[test]
    fn an_edge_chunk_places_only_its_part_inside() {
        // A 5 x 3 dataset of 1-byte elements, chunks of 4 x 2: the chunk at (4, 2) has one
        // element inside.
        let mut out = vec![0u8; 15];
        let src: Vec<u8> = (1..=8).collect();
        place(&mut out, &[5, 3], &src, &[4, 2], &[4, 2], 1);
        assert_eq!(out[14], 1);
        assert_eq!(out.iter().filter(|&&b| b != 0).count(), 1);
        // The chunk at (0, 2): its first column, rows 0..4, from every other byte.
        let mut out = vec![0u8; 15];
        place(&mut out, &[5, 3], &src, &[4, 2], &[0, 2], 1);
        assert_eq!([out[2], out[5], out[8], out[11], out[14]], [1, 3, 5, 7, 0]);
        // 2-byte elements, 1-D.
        let mut out = vec![0u8; 6];
        place(&mut out, &[3], &[9, 8, 7, 6, 5, 4], &[3], &[0], 2);
        assert_eq!(out, [9, 8, 7, 6, 5, 4]);
    }

    #[test]
    fn chunks_off_the_grid_outside_the_file_or_twice_are_refused() {
        let e = entry(&[5, 3], 4);
        let ok = [chunk(&[0, 0], 0, 32), chunk(&[4, 2], 32, 32)];
        let g = grid(&e, &ok, &[4, 2], 1000, true).unwrap();
        assert_eq!(
            (g.chunk, g.chunk_bytes, g.stored, g.full),
            (vec![4, 2], 32, 64, false)
        );
        let bad = |cs: &[Chunk], file: u64| grid(&e, cs, &[4, 2], file, true).unwrap_err();
        assert!(bad(&[chunk(&[1, 0], 0, 32)], 1000).contains("not on its grid"));
        assert!(bad(&[chunk(&[8, 0], 0, 32)], 1000).contains("not on its grid"));
        assert!(bad(&[chunk(&[0, 0], 990, 32)], 1000).contains("past the file's end"));
        assert!(bad(&[chunk(&[0, 0], 0, 31)], 1000).contains("not the 32"));
        assert!(bad(&[chunk(&[0, 0], 0, 32), chunk(&[0, 0], 32, 32)], 1000).contains("same"));
        assert!(bad(&[chunk(&[0, 0], 0, 32), chunk(&[4, 0], 0, 32)], 40).contains("claim"));
        assert!(grid(&e, &[], &[4, 0], 1000, true).is_err());
        assert!(grid(&e, &[], &[u64::MAX, 2], 1000, true).is_err());
        // Filtered chunks may store any number of bytes.
        assert!(grid(&e, &[chunk(&[0, 0], 0, 7)], &[4, 2], 1000, false).is_ok());
    }
}
