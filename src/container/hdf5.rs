//! An HDF5 file's datasets as entries (feature `hdf5`), read with the pure-Rust `hdf5-pure`
//! crate: the groups are walked from the root, and each dataset's datatype, dataspace and
//! data-layout messages (and a chunked one's chunk index) give its [`Entry`] and its
//! [`Chunk`]s. No data is read through the crate: a contiguous dataset is mapped by the
//! container like any other entry, from the handle kept here.
//!
//! Files from strangers: every read the crate makes goes through [`Budgeted`], which refuses
//! reads past [`MAX_METADATA_READ`] bytes or [`MAX_READS`] calls (a loop in the file's
//! B-trees or heaps then ends as an error, not a hang); the walk is iterative, at most
//! [`MAX_DEPTH`] groups deep and [`MAX_OBJECTS`] objects and [`MAX_CHUNKS`] chunks in all (a
//! cycle of hard links ends at the depth limit); and a panic inside the crate is caught and
//! reported as [`Error::BadHdf5`].

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

/// The open HDF5 file: the handle every map maps, and each entry's chunks.
#[derive(Debug)]
pub(super) struct Hdf5 {
    pub(super) file: File,
    /// Per entry (same index as the entries), its chunks; empty for an unchunked dataset.
    pub(super) chunks: Vec<Vec<Chunk>>,
}

/// The file as the reader sees it: positioned reads of our handle, counted, and refused past
/// the limits.
struct Budgeted {
    file: File,
    len: u64,
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
        if bytes > MAX_METADATA_READ || calls > MAX_READS {
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
        bytes: AtomicU64::new(0),
        calls: AtomicU64::new(0),
        over: AtomicBool::new(false),
    });
    let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        walk(Shared(std::sync::Arc::clone(&source)), len)
    }));
    let over = source.over.load(Ordering::Relaxed);
    match walked {
        _ if over => Err(bad(format!(
            "reading its metadata took more than {} MiB or {MAX_READS} reads (a loop in its \
             structures?)",
            MAX_METADATA_READ >> 20
        ))),
        Ok(Ok((entries, chunks))) => Ok((Hdf5 { file, chunks }, entries)),
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

type Walked = (Vec<Entry>, Vec<Vec<Chunk>>);

/// The walk from the root, iterative; errors as one line.
fn walk(source: Shared, file_len: u64) -> std::result::Result<Walked, String> {
    let f = hdf5_pure::File::from_source(source).map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    let mut chunks = Vec::new();
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
                let (e, c) = describe(path, &d, file_len);
                total_chunks = total_chunks.saturating_add(c.len());
                if total_chunks > MAX_CHUNKS {
                    return Err(format!(
                        "its datasets have more than {MAX_CHUNKS} chunks in all (the limit)"
                    ));
                }
                entries.push(e);
                chunks.push(c);
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
    Ok((entries, chunks))
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
fn describe(path: String, d: &hdf5_pure::Dataset, file_len: u64) -> (Entry, Vec<Chunk>) {
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
            return (e, chunks);
        }
    };
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
        Layout::Compact { size } => Some(format!(
            "it is compact (its {size} bytes are stored inside its object header): read it \
             into memory instead"
        )),
        Layout::Chunked { chunk_shape, .. } => {
            let filters: Vec<String> = d
                .filter_pipeline()
                .iter()
                .map(|f| filter_name(f.id))
                .collect();
            let filters = if filters.is_empty() {
                "no filters".to_string()
            } else {
                format!("filters {}", filters.join(", "))
            };
            let listed = match d.chunks() {
                Ok(cs) => {
                    chunks = cs
                        .into_iter()
                        .map(|c| Chunk {
                            start: c.offset,
                            offset: c.address,
                            len: c.storage_size,
                            filter_mask: c.filter_mask,
                        })
                        .collect();
                    e.offset = chunks.iter().map(|c| c.offset).min().unwrap_or(0);
                    e.len = chunks.iter().fold(0u64, |a, c| a.saturating_add(c.len));
                    format!("{} chunks stored", chunks.len())
                }
                Err(err) => {
                    e.len = 0;
                    format!("its chunk index could not be read: {err}")
                }
            };
            Some(format!(
                "it is chunked (chunk shape {chunk_shape:?}, {filters}; {listed}): not one run \
                 of bytes (the library's Container::pages counts its chunks' pages)"
            ))
        }
        Layout::Virtual => Some("it is virtual (its data comes from other datasets)".into()),
        _ => Some("its layout is of a kind this reader does not know".into()),
    };
    e.unmappable = why.or(layout_why);
    (e, chunks)
}
