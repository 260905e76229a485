//! The crate's one error type.
//!
//! Each variant says what went wrong, where (the path, when there is one) and with which
//! numbers, and is structured so callers match on it, not on its text. An OS error's message
//! is part of `Display` (`open failed for `x.npy`: No such file or directory (os error 2)`) and
//! so is not also returned by `source()`; [`Error::io_error`] gives the OS error itself.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when mapping, controlling or describing an array.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An OS call failed. `what` says which step, `path` which file, when known.
    Io {
        /// The step that failed, e.g. `"open"` or `"mmap"`.
        what: &'static str,
        /// The file involved, when there is one.
        path: Option<PathBuf>,
        /// The OS error.
        source: io::Error,
    },
    /// The path is a directory.
    IsDirectory {
        /// The directory.
        path: Option<PathBuf>,
    },
    /// The bytes after the offset are not a whole number of elements (no shape was given).
    TrailingBytes {
        /// The file.
        path: Option<PathBuf>,
        /// Bytes after the offset.
        available: u64,
        /// The element size.
        elem_size: usize,
    },
    /// The file is a FIFO, socket, or another kind the OS cannot map.
    NotMappable {
        /// The file.
        path: Option<PathBuf>,
        /// What kind of file it is.
        kind: &'static str,
    },
    /// The byte offset does not keep the element type aligned: map
    /// [`Unaligned<T>`](crate::Unaligned) instead (alignment 1, any offset).
    Misaligned {
        /// The byte offset asked for.
        offset: u64,
        /// The alignment the element type needs.
        align: usize,
    },
    /// The file is shorter than offset + data, and may not (or cannot) be grown.
    TooShort {
        /// The file.
        path: Option<PathBuf>,
        /// The file's length in bytes.
        len: u64,
        /// The bytes the array needs: its offset plus its data.
        needed: u64,
    },
    /// The offset lies past the end of a file that cannot be grown.
    OffsetPastEnd {
        /// The file.
        path: Option<PathBuf>,
        /// The offset asked for.
        offset: u64,
        /// The file's length in bytes.
        len: u64,
    },
    /// A writable map was asked of a file handle opened read-only.
    ReadOnlyHandle {
        /// The file.
        path: Option<PathBuf>,
    },
    /// The array's size in bytes overflows, or passes `isize::MAX`.
    SizeOverflow {
        /// The shape asked for.
        shape: Vec<usize>,
        /// The element size in bytes.
        elem_size: usize,
    },
    /// `offset + length` overflows a file position.
    OffsetOverflow {
        /// The offset.
        offset: u64,
        /// The length in bytes.
        len: usize,
    },
    /// The element type has size zero: there is nothing to map.
    ZeroSizedType {
        /// The type's name.
        type_name: &'static str,
    },
    /// A mutable view or a write was asked of an array that is not writable.
    NotWritable {
        /// Why: the map's mode or its current protection.
        reason: &'static str,
    },
    /// An element range lies outside the array.
    RangeOutOfBounds {
        /// First element of the range.
        start: usize,
        /// One past the last element.
        end: usize,
        /// Elements in the array.
        len: usize,
    },
    /// A slice does not fit the array's shape.
    BadSlice(SliceError),
    /// A slice written in numpy's syntax ([`parse_slice`](crate::parse_slice)) does not parse,
    /// or does not fit the shape it was read against.
    BadSliceSpec {
        /// The text, as given.
        spec: String,
        /// What is wrong with it, and on which axis.
        kind: SliceError,
    },
    /// A memory order that is neither `C` nor `F` (`str::parse::<Order>`).
    BadOrder {
        /// The text, as given (its start, for a long one).
        given: String,
    },
    /// A shape written in numpy's tuple syntax ([`parse_shape`](crate::parse_shape)) does not
    /// parse, or has more axes than numpy gives an array.
    BadShapeSpec {
        /// The text, as given.
        spec: String,
        /// What is wrong with it, and in which dimension.
        kind: ShapeError,
    },
    /// A guarded access faulted (`SIGBUS`): the file no longer covers the page, or the
    /// filesystem could not give a sparse page its block. The closure's result was dropped;
    /// writes it made after the fault did not reach the file.
    Fault {
        /// The file.
        path: Option<PathBuf>,
        /// File offset of the first byte that faulted.
        offset: u64,
        /// The file's length now.
        len: u64,
        /// How many pages faulted.
        pages: usize,
        /// The likely cause.
        cause: FaultCause,
    },
    /// The OS hides the page-cache residency of this file from this process: since Linux 5.2,
    /// `mincore` reports every page of a file the caller may not write as resident, and
    /// `cachestat` refuses it (`EPERM`). Run as the file's owner, with write permission on it,
    /// or as root.
    ResidencyUnknown {
        /// The file.
        path: Option<PathBuf>,
    },
    /// An axis that the array does not have.
    BadAxis {
        /// The axis asked for.
        axis: usize,
        /// The array's number of dimensions.
        ndim: usize,
    },
    /// A numpy axis (negative counts from the last) that the array, or the result of a slice
    /// of it, does not have ([`normalize_axis`](crate::normalize_axis),
    /// [`selection_axis`](crate::selection_axis)); numpy's `AxisError`.
    AxisOutOfBounds {
        /// The axis asked for, as given.
        axis: isize,
        /// The dimensions of the array, or of the slice's result.
        ndim: usize,
        /// Whether the axis is one of a slice's result (the message says so).
        sliced: bool,
    },
    /// A range of indices of one axis that is not a range within it: its end past the axis'
    /// length, or its start past its end (a stream's [`range`](crate::stream::Stream::range)).
    AxisRange {
        /// The axis.
        axis: usize,
        /// The range's first index.
        start: usize,
        /// One past the range's last index.
        end: usize,
        /// The axis' length.
        len: usize,
    },
    /// The operation does not exist on this platform or kernel.
    Unsupported {
        /// What was asked.
        what: &'static str,
    },
    /// `mlock` went past `RLIMIT_MEMLOCK`. On Windows `VirtualLock` went past the process's
    /// minimum working-set size (`limit`; raise it with `SetProcessWorkingSetSize`); Wine
    /// refuses every `VirtualLock` with this error.
    LockLimit {
        /// Bytes asked to lock (whole pages).
        requested: usize,
        /// The soft limit in bytes (`None`: unlimited).
        limit: Option<u64>,
        /// The OS error.
        source: io::Error,
    },
    /// The file system has no room for the blocks a file needs (`ENOSPC`, or `EDQUOT` over a
    /// quota; on Windows `ERROR_DISK_FULL`), found when they were allocated: before anything
    /// was mapped, so no later write can fault. A file being created is not left behind.
    NoSpace {
        /// The file.
        path: Option<PathBuf>,
        /// Bytes asked to allocate.
        needed: u64,
        /// Bytes free to this process on the file's file system, when the OS tells.
        available: Option<u64>,
        /// The OS error.
        source: io::Error,
    },
    /// The .npy header's dtype does not match the element type. Its message names the type
    /// that opens the file: `ByteSwapped<f64>` for `">f8"` on a little-endian machine,
    /// `Bool` for `"|b1"`; [`npy::open_any`](crate::npy::open_any) opens any of them.
    DtypeMismatch {
        /// The descriptor of the element type, e.g. `"<f8"`.
        expected: String,
        /// The descriptor in the file.
        found: String,
    },
    /// The array's number of dimensions does not match the file's.
    DimensionMismatch {
        /// Dimensions of the requested type.
        expected: usize,
        /// Dimensions in the file.
        found: usize,
    },
    /// A mutable view was asked of a [`SharedArray`](crate::SharedArray) that other handles
    /// or owned views of the same mapping still hold.
    Shared {
        /// Handles and owned views of the mapping, this one included.
        handles: usize,
    },
    /// A rank's slab cannot be mapped (see `ndmmap::slab`): a Fortran-order or
    /// 0-dimensional array, anonymous memory.
    Slab {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The rank that asked.
        rank: usize,
        /// The number of ranks.
        size: usize,
        /// Why, and what to do instead.
        why: String,
    },
    /// Statistics that cannot be computed or merged (see [`stats`](crate::stats)): an element
    /// type with no order or sum they know, a selection that leaves no axis to reduce, partial
    /// results of different shapes or kinds, or bytes that are not a partial result.
    Stats {
        /// What is wrong, with the numbers, and what to do instead.
        why: String,
    },
    /// The array cannot be resized as asked (an anonymous or copy-on-write map, a
    /// Fortran-order or 0-dimensional array, a header without room).
    CannotResize {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// Why, and what to do instead.
        why: String,
    },
    /// A sealed memory file refused a change (`F_SEAL_SHRINK`, `F_SEAL_GROW`).
    Sealed {
        /// The file.
        path: Option<PathBuf>,
        /// What was refused, e.g. `"shrink"`.
        op: &'static str,
        /// The seal that refused it, e.g. `"F_SEAL_SHRINK"`.
        seal: &'static str,
    },
    /// A received descriptor is not sealed against shrinking, so a safe map of it could fault:
    /// map it with the `unsafe` receive instead, or seal it at the sender.
    NotSealed {
        /// The file, when the OS names it.
        path: Option<PathBuf>,
    },
    /// A reduction over ranks failed (see [`ranks`](crate::ranks)): rank 0's answer, naming
    /// the first rank whose merge failed on the way up the tree, and why.
    Rank {
        /// The rank that failed.
        rank: usize,
        /// The number of ranks.
        size: usize,
        /// Why its merge failed (the error's message on that rank).
        why: String,
    },
    /// This rank's merge failed in a reduction over ranks (see [`ranks`](crate::ranks)): it
    /// has sent why up the tree, and rank 0 returns it as [`Error::Rank`]. A program that
    /// prints errors prints this one on rank 0 only, not again here.
    RankFailed {
        /// This rank.
        rank: usize,
        /// The number of ranks.
        size: usize,
    },
    /// A message describing a passed array (descriptor, dtype, shape) is malformed.
    BadMessage {
        /// What is wrong with it.
        why: String,
    },
    /// A named shared memory object exists already and creating it was asked.
    ShmExists {
        /// The name.
        name: String,
    },
    /// An existing named shared memory object this process does not open: another user
    /// made it, or others may write it (see [the module](crate::shared::shm#who-may-open-an-object)).
    /// Such a user could read the array, change it or truncate it under this process.
    ShmUntrusted {
        /// The object (`/dev/shm/NAME` on Linux, `/NAME` elsewhere).
        path: PathBuf,
        /// Why it was refused.
        why: ShmRefusal,
        /// The object's owner (user id).
        owner: u32,
        /// The object's group (group id).
        group: u32,
        /// The object's permission bits, e.g. `0o666`.
        mode: u32,
        /// This process's effective user id.
        euid: u32,
    },
    /// Waiting for data from another process took longer than the time given: a message
    /// ([`memfd::ReceiveOptions::timeout`](crate::shared::memfd::ReceiveOptions::timeout))
    /// that did not come, or did not come whole.
    TimedOut {
        /// What was waited for, e.g. `"memfd receive"`.
        what: &'static str,
        /// How long it waited.
        waited: std::time::Duration,
        /// Bytes of the message that had come (0: none).
        received: usize,
    },
    /// A name that cannot name a shared memory object.
    InvalidShmName {
        /// The name, quoted safely.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// An archive (`.npz`) or tensor file has no member of that name.
    NoSuchMember {
        /// The file.
        path: Option<PathBuf>,
        /// The name asked for.
        name: String,
        /// Names it does have (the first 20, in file order).
        available: Vec<String>,
        /// How many more names it has beyond those listed.
        more: usize,
    },
    /// A member is compressed, so its bytes cannot be mapped in place.
    Compressed {
        /// The file.
        path: Option<PathBuf>,
        /// The member.
        name: String,
        /// The compression method.
        method: String,
    },
    /// A zip archive (`.npz`) is malformed: its directory, a local header, or a member's
    /// offsets.
    BadArchive {
        /// The file.
        path: Option<PathBuf>,
        /// What is wrong.
        why: String,
    },
    /// The CRC-32 of an archive member's data (inflated, for a compressed member) is not the
    /// one the archive's directory stores: the member was damaged or changed after it was
    /// written. numpy (Python's `zipfile`) refuses such a member too.
    Checksum {
        /// The archive.
        path: Option<PathBuf>,
        /// The member's zip name.
        name: String,
        /// The CRC-32 the directory stores.
        stored: u32,
        /// The CRC-32 of the member's data.
        computed: u32,
    },
    /// A safetensors file is malformed: its header length, its JSON, a tensor's dtype, shape or
    /// offsets.
    BadSafetensors {
        /// The file.
        path: Option<PathBuf>,
        /// What is wrong.
        why: String,
    },
    /// An HDF5 file is malformed, or past the limits the reader keeps to (objects, nesting,
    /// bytes of metadata read): said by `container::Container::open` (feature `hdf5`).
    BadHdf5 {
        /// The file.
        path: Option<PathBuf>,
        /// What is wrong.
        why: String,
    },
    /// A file is not one of the formats of named arrays ndmmap reads
    /// (`container::Container::open`, feature `npy`): `.npy`, `.npz`
    /// (zip), safetensors; or its format's feature is off.
    UnknownFormat {
        /// The file.
        path: Option<PathBuf>,
        /// Its first bytes (at most 16).
        start: Vec<u8>,
        /// The format it looked like and whose feature is off, if that is why.
        feature: Option<&'static str>,
    },
    /// An entry of a container exists but cannot be mapped, and no more specific error says
    /// why (a sub-byte dtype such as safetensors' `F4`).
    Unmappable {
        /// The entry, as `FILE:NAME`.
        path: Option<PathBuf>,
        /// Why.
        why: String,
    },
    /// No mapping of a kind [`ForeignMap::find`](crate::ForeignMap::find) accepts holds the
    /// address range: nothing is mapped there, the range runs past the mapping's end, or the
    /// memory is the heap, a stack or private anonymous memory (no file, no sharing: nothing
    /// a page toolkit could act on), or a view's elements lie outside the mapping found.
    NotMapped {
        /// The first address of the range.
        addr: usize,
        /// The range's length in bytes.
        len: usize,
        /// What holds the range instead, or where the mapping ends.
        why: String,
    },
    /// An operation needs the file behind a foreign mapping
    /// ([`ForeignMap`](crate::ForeignMap)), which could not be opened again: it was deleted
    /// and this process holds no descriptor of it, or `/proc/self/map_files` and its path
    /// are closed to this process.
    FileUnavailable {
        /// The file, as `/proc/self/maps` names it.
        path: Option<PathBuf>,
        /// The operation.
        op: &'static str,
    },
    /// A .npy file is malformed or of a kind that cannot be mapped.
    Npy {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// What is wrong with it.
        kind: NpyError,
    },
}

/// Why an existing named shared memory object was refused ([`Error::ShmUntrusted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShmRefusal {
    /// Another user owns it (and it is not shared with one of this process's groups through
    /// [`ShmOptions::share_with_group`](crate::shared::shm::ShmOptions::share_with_group)).
    Owner,
    /// Its group may write it, and group sharing was not asked (or the group is not one of
    /// this process's).
    GroupWritable,
    /// Every user may write it.
    WorldWritable,
    /// It is not a regular file: something (a FIFO, a directory) someone put under the name.
    NotRegular,
}

/// Why a guarded access faulted ([`Error::Fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultCause {
    /// The file is shorter than the mapping: someone truncated it.
    Truncated,
    /// The filesystem is full: a write into a sparse hole found no free block.
    NoSpace,
    /// Neither: an I/O error, or a cause the OS does not tell.
    Other,
    /// Unknown: the file behind a foreign mapping ([`ForeignMap`](crate::ForeignMap)) could
    /// not be opened again (deleted, or closed to this process), so its length cannot be
    /// read and the faulted pages stay zero pages (private anonymous memory) until the map
    /// is unmapped.
    FileUnavailable,
}

/// What is wrong with a slice: the content of [`Error::BadSlice`], and the `kind` of
/// [`Error::BadSliceSpec`] for a slice in numpy's syntax (whose own mistakes are
/// [`NotAnInteger`](Self::NotAnInteger), [`EmptyIndex`](Self::EmptyIndex),
/// [`TooManyColons`](Self::TooManyColons), [`MultipleEllipsis`](Self::MultipleEllipsis) and
/// [`AxisTooLong`](Self::AxisTooLong)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SliceError {
    /// More indices than the array has axes.
    TooManyIndices {
        /// Indices given (new axes not counted).
        given: usize,
        /// The array's number of axes.
        ndim: usize,
    },
    /// An index outside its axis.
    IndexOutOfBounds {
        /// The index (negative counts from the end).
        index: isize,
        /// The axis.
        axis: usize,
        /// The axis' length.
        len: usize,
    },
    /// A range whose start or end lies outside its axis.
    RangeOutOfBounds {
        /// The range's start.
        start: isize,
        /// The range's end, if given.
        end: Option<isize>,
        /// The axis.
        axis: usize,
        /// The axis' length.
        len: usize,
    },
    /// A step of zero.
    ZeroStep {
        /// The axis.
        axis: usize,
    },
    /// A bound, step or index that is not an integer (numpy syntax: `1:x`, `1.5`).
    NotAnInteger {
        /// The text (trimmed).
        text: String,
        /// The axis it is for.
        axis: usize,
    },
    /// An empty index between commas (numpy syntax: `1,,2`); `:` selects a whole axis.
    EmptyIndex {
        /// The axis it is for (its position in the text).
        axis: usize,
    },
    /// More than two `:` in one axis' slice (numpy syntax: `1:2:3:4`).
    TooManyColons {
        /// The axis' slice as written (trimmed).
        text: String,
        /// The axis.
        axis: usize,
    },
    /// More than one `...` (numpy syntax: `...,0,...`).
    MultipleEllipsis,
    /// An axis longer than `isize::MAX`, which no array has, so no slice can address it.
    AxisTooLong {
        /// The axis.
        axis: usize,
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for SliceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SliceError::TooManyIndices { given, ndim } => {
                let indices = if *given == 1 { "index" } else { "indices" };
                if *ndim == 0 {
                    write!(
                        f,
                        "{given} {indices} given but the array is 0-dimensional (a scalar), \
                         which takes none"
                    )
                } else {
                    write!(
                        f,
                        "{given} {indices} given for an array of {ndim} dimensions"
                    )
                }
            }
            SliceError::IndexOutOfBounds { index, axis, len } => {
                write!(
                    f,
                    "index {index} is out of bounds for axis {axis} of length {len}"
                )
            }
            SliceError::RangeOutOfBounds {
                start,
                end,
                axis,
                len,
            } => write!(
                f,
                "range {start}..{} is out of bounds for axis {axis} of length {len}",
                end.map_or(String::new(), |e| e.to_string())
            ),
            SliceError::ZeroStep { axis } => {
                write!(f, "step 0 on axis {axis}: a step must be non-zero")
            }
            SliceError::NotAnInteger { text, axis } => {
                write!(f, "\"{}\" is not an integer (axis {axis})", excerpt(text))
            }
            SliceError::EmptyIndex { axis } => {
                write!(
                    f,
                    "the index for axis {axis} is empty; write ':' for a whole axis"
                )
            }
            SliceError::TooManyColons { text, axis } => {
                write!(f, "\"{}\" has too many ':' (axis {axis})", excerpt(text))
            }
            SliceError::MultipleEllipsis => {
                write!(f, "an index can only have a single ellipsis ('...')")
            }
            SliceError::AxisTooLong { axis, len } => write!(
                f,
                "axis {axis} has length {len}, more than isize::MAX: no array has such an axis"
            ),
        }
    }
}

/// What is wrong with a shape written in numpy's tuple syntax: the `kind` of
/// [`Error::BadShapeSpec`]. `axis` counts the dimensions from 0, as the shape's indices do;
/// the message counts them from 1 (`dimension 2` of `3,,4`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeError {
    /// Parentheses that do not enclose the whole shape (`(3,4`, `(3),(4)`).
    UnbalancedParentheses,
    /// An empty dimension between commas (`3,,4`, `,3`).
    EmptyDimension {
        /// Which dimension.
        axis: usize,
    },
    /// A negative dimension (`-3`).
    NegativeDimension {
        /// The dimension as written (trimmed).
        text: String,
        /// Which dimension.
        axis: usize,
    },
    /// A dimension that is not a non-negative integer (`2.5`, `x`).
    NotAnInteger {
        /// The dimension as written (trimmed).
        text: String,
        /// Which dimension.
        axis: usize,
    },
    /// A dimension past `isize::MAX`, numpy's largest (its `intp`).
    DimensionTooLarge {
        /// The dimension as written (trimmed).
        text: String,
        /// Which dimension.
        axis: usize,
    },
    /// More dimensions than numpy gives an array (64, its `NPY_MAXDIMS`).
    TooManyDimensions {
        /// The dimensions given.
        ndim: usize,
    },
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::UnbalancedParentheses => f.write_str("unbalanced parentheses"),
            ShapeError::EmptyDimension { axis } => write!(
                f,
                "dimension {}: empty (write each dimension between commas)",
                axis + 1
            ),
            ShapeError::NegativeDimension { text, axis } => write!(
                f,
                "dimension {}: {} is negative; a dimension counts elements",
                axis + 1,
                excerpt(text)
            ),
            ShapeError::NotAnInteger { text, axis } => write!(
                f,
                "dimension {}: \"{}\" is not a non-negative integer",
                axis + 1,
                excerpt(text)
            ),
            ShapeError::DimensionTooLarge { text, axis } => write!(
                f,
                "dimension {}: {} is larger than numpy's largest dimension, {}",
                axis + 1,
                excerpt(text),
                isize::MAX
            ),
            ShapeError::TooManyDimensions { ndim } => write!(
                f,
                "{ndim} dimensions; numpy arrays have at most {}",
                crate::layout::MAX_DIMS
            ),
        }
    }
}

/// What is wrong with a `.npy` file: the `kind` of [`Error::Npy`].
///
/// Text quoted from a file (`excerpt`, `descr`) is at most about 100 characters, with control
/// characters escaped, so a hostile file cannot flood a log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NpyError {
    /// The file does not start with numpy's magic string `\x93NUMPY`.
    NotNpy {
        /// The file's first bytes (at most 6).
        start: Vec<u8>,
    },
    /// The file ends inside the magic string, the version, the header length or the header.
    Truncated {
        /// The file's length in bytes.
        len: u64,
        /// The bytes the header needs.
        needed: u64,
    },
    /// A format version numpy does not read (it reads 1.0, 2.0 and 3.0).
    Version {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// The header is longer than the limit (numpy's `max_header_size`).
    HeaderTooLarge {
        /// The header's length (bytes; characters for a version 3.0 header).
        len: u64,
        /// The limit in force.
        limit: usize,
    },
    /// A version 3.0 header that is not valid UTF-8.
    NotUtf8 {
        /// Byte offset within the header of the first bad byte.
        at: usize,
    },
    /// The header is not a Python literal (numpy's `ast.literal_eval` refuses it too).
    Syntax {
        /// Character offset within the header.
        at: usize,
        /// What was found there.
        why: String,
        /// The header text around `at`.
        excerpt: String,
    },
    /// The header is Python that numpy would read but ndmmap does not.
    UnsupportedHeader {
        /// What it holds.
        what: &'static str,
    },
    /// The header is a Python literal but not the dictionary numpy needs (keys `descr`,
    /// `fortran_order` and `shape`, with a dtype, a bool and a tuple of integers).
    BadHeader {
        /// What is wrong.
        why: String,
    },
    /// A dtype string numpy does not know.
    UnknownDtype {
        /// The descriptor.
        descr: String,
    },
    /// A dtype numpy knows that cannot be mapped as plain elements here.
    UnsupportedDtype {
        /// The descriptor.
        descr: String,
        /// What it is, and what to do.
        why: String,
    },
    /// The shape has a negative length, or more elements than an array can hold.
    BadShape {
        /// The header's shape, as written (excerpt).
        shape: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The data the header describes runs past the end of the file.
    DataPastEnd {
        /// The array's shape.
        shape: Vec<usize>,
        /// Where the data starts.
        offset: u64,
        /// Bytes of data the shape needs.
        needed: u64,
        /// The file's length.
        len: u64,
    },
    /// The data starts at an offset that is not a multiple of the element type's alignment:
    /// open it as [`Unaligned<T>`](crate::Unaligned) (alignment 1), or with
    /// [`npy::open_any`](crate::npy::open_any), which picks `Unaligned<T>` by itself.
    UnalignedData {
        /// The data offset.
        offset: u64,
        /// The alignment the element type needs.
        align: usize,
        /// The file's dtype descriptor, e.g. `"<f8"` (names the type to suggest).
        dtype: String,
    },
    /// [`resize`](crate::MmapArray::resize) or [`reload_npy`](crate::MmapArray::reload_npy)
    /// found a header that no longer describes the array (another process rewrote the file).
    Stale {
        /// What the header says now.
        header: String,
        /// What the array is.
        array: String,
    },
    /// [`resize`](crate::MmapArray::resize) found, once it held the file's lock, that the file
    /// has been resized since this array mapped it (by another process, or another array of the
    /// file): nothing was changed. Pick the new length up with
    /// [`reload_npy`](crate::MmapArray::reload_npy) (or open the file again), then resize.
    ResizedElsewhere {
        /// The rows this array maps.
        mapped_rows: usize,
        /// The rows the file's header says now.
        file_rows: usize,
    },
}

/// `s` in double quotes, escaped as Rust's `{:?}` escapes a string (quotes, backslashes,
/// control characters, bidi overrides), cut after 100 characters (`"..."...`): a name in a
/// list of names, which reads the same whatever characters it holds.
pub(crate) fn quoted(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// At most about 100 characters of `s`, control characters and bidi overrides escaped, for an
/// error message.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 100;
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i >= MAX || out.len() >= MAX {
            out.push_str("...");
            break;
        }
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            // Control characters and bidi overrides, which could rewrite a terminal's output.
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NpyError::NotNpy { start } if start.is_empty() => write!(
                f,
                "not a .npy file: the file is empty (0 bytes), where a .npy file starts with \
                 numpy's magic string \"\\x93NUMPY\""
            ),
            NpyError::NotNpy { start } => write!(
                f,
                "not a .npy file: it starts with {:?} instead of numpy's magic string \"\\x93NUMPY\"",
                excerpt(&String::from_utf8_lossy(start))
            ),
            NpyError::Truncated { len, needed } => write!(
                f,
                "truncated header: the file is {len} bytes long but its header needs {needed}"
            ),
            NpyError::Version { major, minor } => write!(
                f,
                "unsupported .npy format version {major}.{minor} (numpy reads 1.0, 2.0 and 3.0)"
            ),
            NpyError::HeaderTooLarge { len, limit } => write!(
                f,
                "the header is {len} long, over the limit of {limit} (numpy's max_header_size); \
                 if you trust the file, raise the limit with npy::OpenOptions::max_header_size"
            ),
            NpyError::NotUtf8 { at } => {
                write!(f, "the version 3.0 header is not UTF-8 (byte {at})")
            }
            NpyError::Syntax { at, why, excerpt } => write!(
                f,
                "malformed header: {why} at character {at}, in \"{excerpt}\""
            ),
            NpyError::BadHeader { why } => write!(f, "malformed header: {why}"),
            NpyError::UnsupportedHeader { what } => write!(
                f,
                "unsupported header: it holds {what}, which numpy reads but ndmmap does not; \
                 rewrite the file with numpy (np.save(path, np.load(path)))"
            ),
            NpyError::UnknownDtype { descr } => write!(
                f,
                "dtype '{descr}' is not one numpy knows (e.g. '<f8', '<f4', '<i8', '|u1', '<c16', '|b1')"
            ),
            NpyError::UnsupportedDtype { descr, why } => {
                write!(f, "unsupported dtype: '{descr}' {why}")
            }
            NpyError::BadShape { shape, why } => write!(f, "the header's shape {shape} {why}"),
            NpyError::DataPastEnd {
                shape,
                offset,
                needed,
                len,
            } => write!(
                f,
                "the file is truncated: the header's shape {shape:?} needs {needed} bytes of data \
                 after byte {offset}, but the file is {len} bytes long"
            ),
            NpyError::UnalignedData {
                offset,
                align,
                dtype,
            } => {
                let t = rust_type(dtype).map_or("T", |(t, _)| t);
                write!(
                    f,
                    "the data starts at byte {offset}, not a multiple of the element alignment \
                     {align}, so it cannot be viewed as {t} in place; open it as Unaligned<{t}> \
                     (alignment 1, read in place with get()), or with npy::open_any"
                )
            }
            NpyError::Stale { header, array } => write!(
                f,
                "the file's header ({header}) no longer describes this array ({array})"
            ),
            NpyError::ResizedElsewhere {
                mapped_rows,
                file_rows,
            } => write!(
                f,
                "the file was resized to {file_rows} rows (by another process or another array \
                 of it) since this array mapped its {mapped_rows} rows; nothing was changed: \
                 pick the new length up with reload_npy() (or open the file again), then resize"
            ),
        }
    }
}

impl Error {
    pub(crate) fn io(what: &'static str, path: Option<&Path>, source: io::Error) -> Error {
        Error::Io {
            what,
            path: path.map(Path::to_path_buf),
            source,
        }
    }

    #[cfg(feature = "npy")]
    pub(crate) fn npy(path: Option<&Path>, kind: NpyError) -> Error {
        Error::Npy {
            path: path.map(Path::to_path_buf),
            kind,
        }
    }

    /// The same error about `path` instead of the file it names (an entry's `FILE:NAME`,
    /// for errors met while mapping it).
    #[cfg(feature = "npy")]
    pub(crate) fn at(mut self, path: &Path) -> Error {
        match &mut self {
            Error::Io { path: p, .. }
            | Error::IsDirectory { path: p }
            | Error::TrailingBytes { path: p, .. }
            | Error::NotMappable { path: p, .. }
            | Error::TooShort { path: p, .. }
            | Error::OffsetPastEnd { path: p, .. }
            | Error::ReadOnlyHandle { path: p }
            | Error::Fault { path: p, .. }
            | Error::NoSpace { path: p, .. }
            | Error::Unmappable { path: p, .. }
            | Error::Npy { path: p, .. } => *p = Some(path.to_path_buf()),
            _ => {}
        }
        self
    }

    /// The OS error behind this error, if there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io { source, .. }
            | Error::LockLimit { source, .. }
            | Error::NoSpace { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The OS error number behind this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. }
            | Error::LockLimit { source, .. }
            | Error::NoSpace { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// The Rust element type that holds a dtype descriptor (`"<f8"` -> `f64`), and whether the
/// descriptor is in the other byte order (to be read as `ByteSwapped<T>`).
fn rust_type(descr: &str) -> Option<(&'static str, bool)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let kind = chars.next()?;
    let size: usize = chars.as_str().parse().ok()?;
    let native = if cfg!(target_endian = "little") {
        '<'
    } else {
        '>'
    };
    let swapped = match order {
        '|' if size == 1 => false,
        o if o == native => false,
        '<' | '>' if size > 1 => true,
        _ => return None,
    };
    let t = match (kind, size) {
        ('b', 1) => "Bool",
        ('u', 1) => "u8",
        ('i', 1) => "i8",
        ('u', 2) => "u16",
        ('i', 2) => "i16",
        ('u', 4) => "u32",
        ('i', 4) => "i32",
        ('u', 8) => "u64",
        ('i', 8) => "i64",
        ('f', 2) => "half::f16",
        ('f', 4) => "f32",
        ('f', 8) => "f64",
        ('c', 8) => "Complex<f32>",
        ('c', 16) => "Complex<f64>",
        _ => return None,
    };
    Some((t, swapped))
}

struct Shown<'a>(&'a Option<PathBuf>);
impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, "`{}`", p.display()),
            None => f.write_str("the file"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                what,
                path: Some(p),
                source,
            } => write!(f, "{what} failed for `{}`: {source}", p.display()),
            Error::Io {
                what,
                path: None,
                source,
            } => write!(f, "{what} failed: {source}"),
            Error::IsDirectory { path } => {
                write!(
                    f,
                    "{} is a directory; give the path of a regular file",
                    Shown(path)
                )
            }
            Error::TrailingBytes {
                path,
                available,
                elem_size,
            } => write!(
                f,
                "the {available} bytes after the offset in {} are not a whole number of \
                 {elem_size}-byte elements; check the offset and the element type, or give a shape",
                Shown(path)
            ),
            Error::NotMappable { path, kind } => {
                write!(
                    f,
                    "{} is a {kind}, which cannot be memory-mapped; copy it to a regular file",
                    Shown(path)
                )
            }
            Error::Misaligned { offset, align } => write!(
                f,
                "byte offset {offset} is not a multiple of the element alignment {align}; map \
                 the elements as ndmmap::Unaligned<T> (alignment 1: any offset, read in place \
                 with get/set), or use an offset divisible by {align}"
            ),
            Error::TooShort { path, len, needed } => write!(
                f,
                "{} is {len} bytes long but the array needs {needed} bytes (offset + data): the \
                 file is shorter than the array (truncated?); to extend a file, map it read-write \
                 with grow(true)",
                Shown(path)
            ),
            Error::OffsetPastEnd { path, offset, len } => {
                write!(
                    f,
                    "offset {offset} lies past the end of {}, which is {len} bytes long",
                    Shown(path)
                )
            }
            Error::ReadOnlyHandle { path } => write!(
                f,
                "{} was opened read-only but a writable map was asked; open it with \
                 OpenOptions::new().read(true).write(true), or map it read-only or copy-on-write",
                Shown(path)
            ),
            Error::SizeOverflow { shape, elem_size } => write!(
                f,
                "shape {shape:?} of {elem_size}-byte elements is too big: more than isize::MAX bytes"
            ),
            Error::OffsetOverflow { offset, len } => {
                write!(
                    f,
                    "offset {offset} plus {len} bytes overflows a file position"
                )
            }
            Error::ZeroSizedType { type_name } => {
                write!(
                    f,
                    "element type `{type_name}` has size zero and cannot be mapped"
                )
            }
            Error::NotWritable { reason } => write!(f, "the array is not writable: {reason}"),
            Error::RangeOutOfBounds { start, end, len } => {
                write!(
                    f,
                    "element range {start}..{end} is out of bounds for an array of {len} elements"
                )
            }
            Error::BadSlice(e) => write!(f, "bad slice: {e}"),
            Error::BadSliceSpec { spec, kind } => {
                write!(f, "bad slice \"{}\": {kind}", excerpt(spec))
            }
            Error::BadOrder { given } => write!(
                f,
                "order \"{given}\": use C (row-major) or F (column-major)"
            ),
            Error::BadShapeSpec {
                spec,
                kind: kind @ ShapeError::TooManyDimensions { .. },
            } => write!(f, "shape \"{}\" has {kind}", excerpt(spec)),
            Error::BadShapeSpec { spec, kind } => {
                write!(f, "shape \"{}\": {kind}", excerpt(spec))
            }
            Error::Fault {
                path,
                offset,
                len,
                pages,
                cause,
            } => {
                let why = match cause {
                    FaultCause::Truncated => {
                        "the file was truncated below the mapping (by another process?)"
                    }
                    FaultCause::NoSpace => "the filesystem is full (a sparse page found no block)",
                    FaultCause::Other => "an I/O error",
                    FaultCause::FileUnavailable => {
                        "unknown: the file behind the foreign mapping could not be reopened, so \
                         the faulted pages stay zero pages"
                    }
                };
                write!(
                    f,
                    "access to {} faulted (SIGBUS) at byte {offset}, {} in all: {why}; the file is \
                     now {len} bytes long; the result was discarded and writes after the fault \
                     did not reach the file",
                    Shown(path),
                    if *pages == 1 {
                        "1 page".to_string()
                    } else {
                        format!("{pages} pages")
                    }
                )
            }
            Error::ResidencyUnknown { path } => write!(
                f,
                "the page-cache residency of {} is unknown to this process: since Linux 5.2 the \
                 kernel shows it only to the file's owner, writers and root (mincore claims every \
                 page resident, cachestat refuses); run as the owner, with write permission, or as root",
                Shown(path)
            ),
            Error::BadAxis { axis, ndim } => {
                write!(
                    f,
                    "axis {axis} is out of bounds for an array of {ndim} dimensions"
                )
            }
            Error::AxisOutOfBounds { axis, ndim, sliced } => write!(
                f,
                "axis {axis} is out of bounds for the {ndim}-dimensional {}",
                if *sliced {
                    "result of the slice"
                } else {
                    "array"
                }
            ),
            Error::AxisRange {
                axis,
                start,
                end,
                len,
            } => {
                let why = if start > end {
                    "starts past its end"
                } else {
                    "ends past the axis"
                };
                write!(
                    f,
                    "index range {start}..{end} of axis {axis} (length {len}) {why}"
                )
            }
            Error::NotMapped { addr, len, why } => write!(
                f,
                "no mapping ndmmap can work on holds {len} bytes at {addr:#x}: {why}"
            ),
            Error::FileUnavailable { path, op } => write!(
                f,
                "cannot {op} {}: the file behind this foreign mapping could not be opened again \
                 (deleted with no descriptor left in this process, or not open to this user)",
                Shown(path)
            ),
            Error::Unsupported { what } => {
                write!(f, "{what} is not supported on this platform or kernel")
            }
            Error::LockLimit {
                requested,
                limit: Some(l),
                source,
            } => write!(
                f,
                "cannot lock {requested} bytes: RLIMIT_MEMLOCK is {l} bytes ({source}); raise it \
                 (ulimit -l) or lock a smaller range"
            ),
            Error::LockLimit {
                requested,
                limit: None,
                source,
            } => write!(f, "cannot lock {requested} bytes: {source}"),
            Error::NoSpace {
                path,
                needed,
                available,
                source,
            } => {
                write!(f, "no room for {}: {needed} bytes needed", Shown(path))?;
                if let Some(a) = available {
                    write!(f, ", {a} free on its file system")?;
                }
                write!(
                    f,
                    " ({source}); free some space or put the file on another file system"
                )
            }
            Error::DtypeMismatch { expected, found } => {
                write!(
                    f,
                    "the file holds dtype {found:?} but the array's element type is {expected:?}"
                )?;
                match rust_type(found) {
                    Some((t, false)) => write!(f, "; open it as {t}"),
                    Some((t, true)) => write!(
                        f,
                        "; it is in the other byte order: open it as ByteSwapped<{t}> (read in \
                         place, swapped on each access)"
                    ),
                    None => Ok(()),
                }
            }
            Error::DimensionMismatch { expected, found } => write!(
                f,
                "the file holds a {found}-dimensional array but a {expected}-dimensional one was asked; \
                 use ndarray::IxDyn to accept any"
            ),
            Error::Shared { handles } => write!(
                f,
                "the mapping is shared by {handles} handles and owned views; a mutable view needs \
                 the only one (drop the others), or use raw_view_mut for disjoint writers"
            ),
            Error::Slab {
                path,
                rank,
                size,
                why,
            } => write!(
                f,
                "cannot map the slab of rank {rank} of {size} of {}: {why}",
                Shown(path)
            ),
            Error::CannotResize { path, why } => {
                write!(f, "cannot resize {}: {why}", Shown(path))
            }
            Error::Sealed { path, op, seal } => write!(
                f,
                "cannot {op} {}: it is sealed with {seal}, so no holder can change its size",
                Shown(path)
            ),
            Error::NotSealed { path } => write!(
                f,
                "{} is not sealed against shrinking (F_SEAL_SHRINK), so another holder could \
                 truncate it under the array; seal it at the sender (ndmmap's memfd arrays are), \
                 or map it with the unsafe receive_unsealed",
                Shown(path)
            ),
            Error::Stats { why } => write!(f, "statistics: {why}"),
            Error::Rank { rank, size, why } => write!(f, "rank {rank} of {size}: {why}"),
            Error::RankFailed { rank, size } => write!(
                f,
                "rank {rank} of {size} failed in a reduction over ranks; rank 0 returns why"
            ),
            Error::BadMessage { why } => write!(f, "bad array message: {why}"),
            Error::ShmExists { name } => write!(
                f,
                "shared memory object {name:?} exists already; open it instead of creating it, \
                 or unlink it first"
            ),
            Error::ShmUntrusted {
                path,
                why,
                owner,
                group,
                mode,
                euid,
            } => {
                let p = path.display();
                let is = match why {
                    ShmRefusal::Owner => format!(
                        "it belongs to user {owner}, not to this process's effective user \
                         {euid}"
                    ),
                    ShmRefusal::GroupWritable => format!(
                        "its mode {mode:04o} lets group {group} write it, and private use was \
                         asked"
                    ),
                    ShmRefusal::WorldWritable => {
                        format!("its mode {mode:04o} lets every user write it")
                    }
                    ShmRefusal::NotRegular => format!(
                        "it is not a regular file but something user {owner} made under the name"
                    ),
                };
                write!(
                    f,
                    "refused to open shared memory object `{p}`: {is}, so another user could \
                     read, change or truncate the array under this process; unlink it \
                     (shm::unlink, as its owner or root) and create it again, or use another \
                     name; to share with a group, ShmOptions::share_with_group(true)"
                )
            }
            Error::TimedOut {
                what,
                waited,
                received: 0,
            } => write!(
                f,
                "{what} timed out after {:.3} s: no message came; wait longer, or check that \
                 the other end sends",
                waited.as_secs_f64()
            ),
            Error::TimedOut {
                what,
                waited,
                received,
            } => write!(
                f,
                "{what} timed out after {:.3} s with {received} bytes of the message received: \
                 the sender stalled inside its message; the socket is now in the middle of a \
                 message, so close it",
                waited.as_secs_f64()
            ),
            Error::InvalidShmName { name, why } => {
                write!(f, "{name:?} cannot name a shared memory object: {why}")
            }
            // A `.npy` file's one array has no name.
            Error::NoSuchMember {
                path,
                name,
                available,
                ..
            } if available.len() == 1 && available[0].is_empty() => write!(
                f,
                "{} holds one array, which has no name: drop {} from the path",
                Shown(path),
                quoted(&format!(":{name}"))
            ),
            Error::NoSuchMember {
                path,
                name,
                available,
                more,
            } => write!(
                f,
                "{} has no member named {}; it has: {}{}",
                Shown(path),
                quoted(name),
                if available.is_empty() {
                    "nothing".to_string()
                } else {
                    available
                        .iter()
                        .map(|n| quoted(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                if *more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
            Error::Compressed { path, name, method } => write!(
                f,
                "member \"{}\" of {} is compressed ({method}), so it cannot be memory-mapped; \
                 save the archive uncompressed (np.savez, not np.savez_compressed) or extract it",
                excerpt(name),
                Shown(path)
            ),
            Error::BadArchive { path, why } => {
                write!(f, "{} is a broken archive: {why}", Shown(path))
            }
            Error::Checksum {
                path,
                name,
                stored,
                computed,
            } => write!(
                f,
                "member \"{}\" of {}: its data has CRC-32 {computed:08x} but the archive stores \
                 {stored:08x}; it was damaged or changed after it was written",
                excerpt(name),
                Shown(path)
            ),
            Error::BadSafetensors { path, why } => {
                write!(f, "{} is not a valid safetensors file: {why}", Shown(path))
            }
            Error::BadHdf5 { path, why } => {
                write!(
                    f,
                    "{} could not be read as an HDF5 file: {why}",
                    Shown(path)
                )
            }
            Error::UnknownFormat {
                path,
                start,
                feature: Some(feature),
            } => write!(
                f,
                "{} looks like a {feature} file (it starts with {:?}), but ndmmap was built \
                 without its feature `{feature}`",
                Shown(path),
                excerpt(&String::from_utf8_lossy(start))
            ),
            Error::UnknownFormat {
                path,
                start,
                feature: None,
            } if start.is_empty() => write!(
                f,
                "{} is empty (0 bytes): it holds no .npy file, .npz archive or safetensors file",
                Shown(path)
            ),
            Error::UnknownFormat {
                path,
                start,
                feature: None,
            } => write!(
                f,
                "{} is not a file of arrays ndmmap reads: it starts with {:?}, where a .npy file \
                 starts with \"\\x93NUMPY\", an .npz (zip) archive with \"PK\", and a \
                 safetensors file with an 8-byte header length and '{{'",
                Shown(path),
                excerpt(&String::from_utf8_lossy(start))
            ),
            Error::Unmappable { path, why } => {
                write!(f, "{} cannot be mapped: {why}", Shown(path))
            }
            Error::Npy {
                path: Some(p),
                kind,
            } => write!(f, "`{}`: {kind}", p.display()),
            Error::Npy { path: None, kind } => write!(f, "{kind}"),
        }
    }
}

impl Error {
    /// [`Error::NoSuchMember`] for `name` in `path`, listing the first 20 of `names` and
    /// counting the rest: one policy for every format.
    #[cfg_attr(
        not(any(feature = "npz", feature = "safetensors", feature = "npy")),
        allow(dead_code)
    )]
    pub(crate) fn no_such_member<'a>(
        path: &Path,
        name: &str,
        names: impl ExactSizeIterator<Item = &'a str>,
    ) -> Error {
        const LISTED: usize = 20;
        let total = names.len();
        Error::NoSuchMember {
            path: Some(path.to_path_buf()),
            name: name.to_string(),
            available: names.take(LISTED).map(str::to_string).collect(),
            more: total.saturating_sub(LISTED),
        }
    }
}

/// The OS error's message is part of `Display`, so `source()` returns `None` (the Rust API
/// guidelines: a message in one place, not both); [`Error::io_error`] gives the OS error.
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name of the no-such-member list is quoted alike, whatever it holds: a quote or a
    /// backslash was printed raw inside the quotes while a newline or an ESC was escaped.
    #[test]
    fn member_names_are_quoted_alike() {
        let names = [
            "\"q\\",
            "x\ny",
            "e\u{1b}[2J",
            "r\u{202e}l",
            "plain",
            "\u{e9}\u{6f22}",
        ];
        let e = Error::no_such_member(Path::new("a.npz"), "n\"o", names.into_iter());
        let text = e.to_string();
        let listed = r#"it has: "\"q\\", "x\ny", "e\u{1b}[2J", "r\u{202e}l", "plain", "é漢""#;
        assert!(text.contains(r#"has no member named "n\"o";"#), "{text}");
        assert!(text.ends_with(listed), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        // 20 names and a count of the rest; a long name cut after 100 characters.
        let long = "y".repeat(150);
        let many: Vec<String> = std::iter::once(long.clone())
            .chain((1..25).map(|i| format!("m{i:02}")))
            .collect();
        let e = Error::no_such_member(Path::new("a.npz"), "z", many.iter().map(String::as_str));
        let text = e.to_string();
        assert!(text.ends_with("\"m19\" and 5 more"), "{text}");
        assert!(
            text.contains(&format!("it has: \"{}\"..., \"m01\"", &long[..100])),
            "{text}"
        );
        // The nameless array of a .npy file.
        let e = Error::no_such_member(Path::new("a.npy"), "x\\", [""].into_iter());
        assert!(
            e.to_string().contains(r#"drop ":x\\" from the path"#),
            "{e}"
        );
    }
}
