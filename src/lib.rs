//! # ndmmap: files and anonymous memory as typed n-dimensional arrays
//!
//! `ndmmap` maps a file (a numpy `.npy`, or raw binary at any byte offset) or anonymous memory
//! as an [`MmapArray<T, D>`](MmapArray), which hands out [`ndarray`] views without reading the
//! data, and steers and inspects the page cache per array and per slice through one selector,
//! [`pages`](MmapArray::pages).
//!
//! The common case, a numpy file:
//!
//! ```
//! use ndmmap::ndarray::{Axis, Ix2, s};
//! use ndmmap::{Advice, npy};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("x.npy");
//! # drop(unsafe { npy::create::<f64, Ix2, _>(&path, (1000, 512))? });
//! // SAFETY: nobody truncates or rewrites x.npy while `a` lives.
//! let a = unsafe { npy::open::<f64, Ix2>(&path)? };
//! let col_sums = a.view().sum_axis(Axis(0));               // reads through the page cache
//! a.pages(s![500..600, ..])?.advise(Advice::WillNeed)?;    // prefetch a slice
//! let rows = a.pages(..)?.along(Axis(0))?;                 // fraction of each row in RAM
//! let r = a.pages(..)?.residency()?;                       // resident / total pages
//! assert_eq!((col_sums.len(), rows.len()), (512, 1000));
//! assert!(r.resident <= r.total);
//! # Ok(()) }
//! ```
//!
//! Raw data behind a header, mapped at the handle's stream position, and a shared scratch
//! array:
//!
//! ```
//! use ndmmap::ndarray::Ix2;
//! use ndmmap::{Flush, MmapArray, MmapOptions, Mode};
//! use std::io::Read;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("data.bin");
//! // Write 1000 x 3 f64 behind a 64-byte header; the file grows to fit (sparse).
//! // SAFETY: the file is ours alone while the arrays live.
//! let mut w = unsafe {
//!     MmapOptions::new().mode(Mode::ReadWrite).create(true).offset(64).map_path::<f64, Ix2, _>(&path, (1000, 3))?
//! };
//! w.view_mut()?.fill(2.0);
//! w.msync(Flush::Sync)?;                                   // on disk now
//!
//! let mut file = std::fs::File::open(&path)?;
//! file.read_exact(&mut [0u8; 64])?;                        // read the header...
//! // SAFETY: as above.
//! let a = unsafe { MmapOptions::new().map::<f64, Ix2, _>(&file, (1000, 3))? }; // ...map the rest
//! assert_eq!(a.view().sum(), 6000.0);
//!
//! // A zeroed scratch array shared with forked children.
//! let mut scratch = MmapArray::<u64, Ix2>::anonymous((64, 64))?;
//! scratch.view_mut()?[[3, 4]] = 7;
//! # Ok(()) }
//! ```
//!
//! ## Depend on it
//! `ndmmap` re-exports the [`ndarray`] it is built on (and [`half`](https://docs.rs/half)
//! with the feature `half`): use `ndmmap::ndarray` (and `ndmmap::half`) so your ndarray is
//! ours. A project that names its own `ndarray` dependency must pick the same major version
//! (0.17), or its arrays and ndmmap's are different types that do not mix.
//!
//! ## Map of the crate
//! - [`npy`] (feature `npy`, on by default): `.npy` files opened ([`npy::open`],
//!   [`npy::OpenOptions`]) and created; headers read exactly as numpy reads them, safe
//!   against hostile files.
//! - [`MmapOptions`]: the builder for raw files and anonymous memory: [`Mode`], offset (stream
//!   position, bytes, elements), grow and preallocate, create, map flags; `unsafe` terminal
//!   calls for files, whose contract is on [`MmapArray`].
//! - [`MmapArray`]: one mapping, its shape and order, views ([`view`](MmapArray::view),
//!   [`view_mut`](MmapArray::view_mut)), accessors, anonymous constructors, the page
//!   selector, and [`resize`](MmapArray::resize) along the first axis (raw and `.npy` files,
//!   crash-ordered).
//! - [`shared`]: beyond one borrow and beyond `fork`: [`SharedArray`]
//!   ([`into_shared`](MmapArray::into_shared)), an `Arc`-backed handle with owned,
//!   `'static` sub-views for threads, channels and tasks; `shared::memfd` (Unix) arrays
//!   sealed against truncation and passed to unrelated processes over Unix sockets;
//!   [`shared::shm`] POSIX named shared memory that Python's `multiprocessing.shared_memory`
//!   and `np.load` open.
//! - [`Pages`], from [`MmapArray::pages`] with a [`Selection`] (`..`, an element range, or
//!   `s![..]`): every page operation: [`advise`](Pages::advise) ([`Advice`]; `unsafe`
//!   [`advise_unchecked`](Pages::advise_unchecked) with [`UncheckedAdvice`]),
//!   [`flush`](Pages::flush) ([`Flush`]), [`lock`](Pages::lock) ([`Lock`]) and
//!   [`unlock`](Pages::unlock), [`touch`](Pages::touch) (read now, `vmtouch -t`),
//!   [`evict`](Pages::evict) ([`evict_report`](Pages::evict_report): what left and why the
//!   rest stayed, [`Evicted`], dirty pages written back first with [`Dirty`]), and residency:
//!   [`mincore`](Pages::mincore), [`residency`](Pages::residency) ([`Residency`]),
//!   [`along`](Pages::along) an axis, [`counts_along_groups`](Pages::counts_along_groups)
//!   per group of slices (a chart's columns, from [`even_groups`]),
//!   [`cachestat`](Pages::cachestat) ([`CacheStat`]); [`without`](Pages::without) takes pages
//!   away (a page shared by two ranks' rows counted once). [`PagesMut`], from
//!   [`MmapArray::pages_mut`], changes [`Protection`].
//! - Faults: [`guarded`](MmapArray::guarded) / [`guarded_mut`](MmapArray::guarded_mut) turn a
//!   `SIGBUS` (a file truncated by another process, a full disk) into [`Error::Fault`]
//!   ([`guard`] has the design and its limits); [`checked`](MmapArray::checked) /
//!   [`checked_mut`](MmapArray::checked_mut) copy through the file descriptor, never faulting.
//! - [`foreign`]: the page toolkit and the fault guard for memory ndmmap did not map (a
//!   `numpy.memmap`, Python's `mmap`, a `memfd`, another library's map): [`ForeignMap::find`]
//!   finds the mapping behind an address, [`ForeignMap::pages`] gives [`Pages`] over a
//!   strided view in numpy's layout, [`ForeignMap::guard`] turns `SIGBUS` into
//!   [`Error::Fault`].
//! - [`stream`]: larger than RAM: [`Stream`](stream::Stream) /
//!   [`StreamMut`](stream::StreamMut) walk a C- or Fortran-order array along its outermost
//!   axis in memory (all of it or a range), a window at a time in bounded memory, with
//!   read-ahead; [`Chunks`](stream::Chunks) gives owned chunk maps (in parallel with the
//!   `rayon` feature).
//! - [`stats`]: count, sum, mean, variance and standard deviation (any `ddof`), min and max
//!   along any axis of an array or a slice, out of core on every core, with numpy's answers;
//!   [`Moments`](stats::Moments) merge and travel as bytes (threads, processes, MPI ranks).
//! - [`ranks`]: reductions over the processes of a job (MPI ranks with the feature `mpi`, or
//!   any [`Link`](ranks::Link) between processes): partial results merged in rank order at
//!   rank 0 along a binomial tree ([`tree_reduce`](ranks::tree_reduce)), statistics
//!   ([`Moments::reduce`](stats::Moments::reduce)) and slab residency
//!   ([`gather_residency`](ranks::gather_residency)); a failing rank is named, no rank hangs.
//! - `slab` (feature `slab`; `mpi` adds rsmpi communicators): each of many processes maps
//!   only its own rows of an array file, balanced to within one row, with its row offset
//!   and the whole page toolkit on them.
//! - [`PageSpan`]: where an array's bytes lie in pages; [`slice_origin`]: where an index of
//!   a slice lies in the array; [`evict`], [`advise_random`] and
//!   [`prefetch_file`] for whole files; [`constants`]: the platform's flag values.
//! - [`parse_slice`]: a slice in numpy's syntax (`100:200,::-1`, `-1`, `::2,5`) read against
//!   a shape into `s![..]`'s elements, numpy's selection exactly (clamped bounds, negative
//!   indices and steps); [`slice_keeping_axis`]: how to write a one-element selection so that
//!   it keeps an axis. [`parse_shape`]: a shape as numpy writes a tuple (`(3, 4)`, `3,`);
//!   [`check_size`]: numpy's size rule; [`selection_shape`]: the shape of a slice's result;
//!   [`normalize_axis`] and [`selection_axis`]: a numpy axis (`-1` the last) of an array or
//!   of a selection.
//! - [`chart`]: residency charts as text, vmtouch `-v` style: one character per column of
//!   slices, from [`counts_along_groups`](Pages::counts_along_groups), with a scale and a
//!   legend.
//! - [`Dtype`] and [`NpyElement`]: element types named as numpy names them (`"<f8"`).
//! - `container` (feature `npy`; `.npz` and safetensors with their features): one type for
//!   files of named arrays, `container::Container` of `container::Entry`s (name, dtype or
//!   the format's own name, shape, order, bytes), listed, looked up and mapped alike in every
//!   format, and `container::open` for `PATH` and `PATH:NAME`. [`AnyArray`] maps any entry,
//!   and opens a raw file of a dtype known at run time ([`AnyArray::open_raw`] with a
//!   [`RawSpec`]: numpy's `np.memmap`);
//!   its [`OtherArray`] variant holds dtypes no Rust type holds (`BF16`, FP8, long double).
//! - [`Error`], the one error type, with [`NpyError`], [`SliceError`] and [`ShapeError`] for
//!   what is wrong with a file, a slice or a shape.
//!
//! ## Platforms
//! Linux is the tested platform. macOS and the BSDs have their code paths in `sys/`, which CI
//! compiles (and lints) for macOS and FreeBSD but cannot run; they answer
//! [`Error::Unsupported`] where the OS lacks a call, and other Unixes get a stub that does the
//! same.
//!
//! Windows (`x86_64-pc-windows-gnu`, tested under Wine) has the same API; what differs:
//! - **Maps**: memmap2 maps files in every mode, from the 64 KiB allocation granularity below
//!   the offset; the page span around the array is the same as elsewhere. A mapped file cannot
//!   be truncated or shrunk by anyone (`ERROR_USER_MAPPED_FILE`). Shared anonymous maps are
//!   pagefile-backed sections; with no `fork`, a spawned child process opens a
//!   [`shared::shm`] array by name (a section `Local\NAME`; `shared::memfd` is Unix-only).
//! - **Faults**: [`guarded`](MmapArray::guarded) runs the closure unguarded, since the
//!   truncation fault cannot happen; an in-page I/O error (a failing disk, a full disk under a
//!   sparse file) still ends the process. [`checked`](MmapArray::checked) works as elsewhere.
//! - **Residency** ([`Pages::mincore`], [`Pages::residency`]) comes from `QueryWorkingSetEx`:
//!   it reports this process's working set, not the system file cache. A page the OS has
//!   cached but this process has not touched (or has lost from its working set) reads as not
//!   resident, so a file read by another process looks cold. [`Pages::evict`], [`evict`],
//!   [`advise_random`], [`prefetch_file`] and `cachestat` counts are unsupported.
//! - **Memory control**: flush is `FlushViewOfFile` (plus `FlushFileBuffers` for
//!   [`Flush::Sync`]); lock is `VirtualLock`, bounded by the minimum working-set size
//!   ([`Error::LockLimit`] past it; Wine refuses it always), lock-on-fault unsupported;
//!   protect is `VirtualProtect`. Advice: [`Advice::WillNeed`] is `PrefetchVirtualMemory`,
//!   [`Advice::PopulateRead`] that plus a read of every page, [`UncheckedAdvice::Free`]
//!   `DiscardVirtualMemory`; all other advice is [`Error::Unsupported`].
//! - **Named shared memory**: sections vanish with their last handle or view, so
//!   [`shared::shm::unlink`] does nothing; a `.npy` header in one is unsupported.

#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

mod any;
mod array;
pub mod chart;
pub mod checked;
#[cfg(feature = "npy")]
pub mod container;
mod element;
mod error;
mod eviction;
pub mod foreign;
pub mod guard;
mod layout;
mod mapping;
#[cfg(feature = "npy")]
pub mod npy;
#[cfg(feature = "npz")]
pub mod npz;
mod options;
mod pages;
pub mod ranks;
mod raw;
#[cfg(feature = "npy")]
mod replace;
mod residency;
mod resize;
#[cfg(feature = "safetensors")]
pub mod safetensors;
mod shape;
pub mod shared;
#[cfg(feature = "slab")]
pub mod slab;
mod slice;
pub mod stats;
pub mod stream;
mod sys;

/// The [`ndarray`](https://docs.rs/ndarray) crate that ndmmap's arrays are made of: use
/// `ndmmap::ndarray` so your ndarray is ours (an `ArrayView` of another ndarray version is
/// another type).
///
/// ```
/// use ndmmap::ndarray::{ArrayView2, Ix2};
/// let a = ndmmap::MmapArray::<f64, Ix2>::anonymous((2, 3))?;
/// let v: ArrayView2<'_, f64> = a.view(); // a view of ndmmap::ndarray's
/// assert_eq!(v.shape(), [2, 3]);
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub use ndarray;

/// The [`half`](https://docs.rs/half) crate (feature `half`) whose `f16` and `bf16` ndmmap maps:
/// use `ndmmap::half` so your `f16` is ours.
///
/// ```
/// use ndmmap::half::f16;
/// let mut a = ndmmap::MmapArray::<f16, ndmmap::ndarray::Ix1>::anonymous(4)?;
/// a.view_mut()?[1] = f16::from_f32(0.5);
/// assert_eq!(a.view()[1].to_f32(), 0.5);
/// # Ok::<(), ndmmap::Error>(())
/// ```
#[cfg(feature = "half")]
pub use half;

pub use any::{AnyArray, OtherArray};
pub use array::{MmapArray, Order};
pub use bytemuck::Pod;
pub use element::{Bool, ByteSwapped, Dtype, NpyElement, SwapBytes, Unaligned};
pub use error::{Error, FaultCause, NpyError, Result, ShapeError, ShmRefusal, SliceError};
pub use eviction::{Dirty, Evicted};
pub use foreign::{ForeignGuard, ForeignMap};
pub use layout::{PageSpan, even_groups, slice_origin};
pub use mapping::Mode;
pub use options::MmapOptions;
pub use pages::{
    Advice, Flush, Lock, Pages, PagesMut, Protection, Selection, TOUCH_CHUNK, UncheckedAdvice,
};
pub use raw::RawSpec;
pub use residency::{
    CacheStat, CountSource, Residency, advise_random, evict, prefetch_file, ranges_where,
};
pub use shape::{check_size, normalize_axis, parse_shape, selection_axis, selection_shape};
pub use shared::SharedArray;
pub use slice::{parse_slice, slice_keeping_axis};
pub use sys::constants;

/// The README's examples, compiled and run as doctests with the features its "Depend on it"
/// line gives (`cargo test --features full --doc`); `scripts/readme_examples.sh` builds and runs
/// them as copied into a new project.
#[cfg(all(
    doctest,
    feature = "npz",
    feature = "safetensors",
    feature = "half",
    feature = "slab"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
