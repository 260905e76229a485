//! # ndmmap: files and anonymous memory as typed n-dimensional arrays
//!
//! `ndmmap` maps a file (raw binary at any byte offset, or a numpy `.npy`) or anonymous memory
//! as an [`MmapArray<T, D>`](MmapArray), which hands out [`ndarray`] views without reading the
//! data, and steers and inspects the page cache per array and per slice.
//!
//! ```
//! use ndmmap::{MmapArray, MmapOptions, Mode, Advice};
//! use ndarray::{s, Axis, Ix2};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("data.bin");
//! // A 1000 x 3 f64 dataset behind a 64-byte header, written here through a read-write map.
//! // SAFETY: the file is ours alone while the arrays live.
//! let mut w = unsafe {
//!     MmapOptions::new().mode(Mode::ReadWrite).create(true).offset(64).map_path::<f64, Ix2, _>(&path, (1000, 3))?
//! };
//! w.view_mut()?.fill(2.0);
//! w.msync(ndmmap::Sync::Sync)?;
//!
//! // Read the header with a handle and map what follows, at the handle's stream position.
//! use std::io::Read;
//! let mut file = std::fs::File::open(&path)?;
//! let mut header = [0u8; 64];
//! file.read_exact(&mut header)?;
//! // SAFETY: as above.
//! let a = unsafe { MmapOptions::new().map::<f64, Ix2, _>(&file, (1000, 3))? };
//! a.madvise(Advice::Sequential)?;
//! assert_eq!(a.view().sum_axis(Axis(0))[1], 2000.0);
//! let rows = a.residency_along(Axis(0))?;           // fraction of each row's pages in RAM
//! assert_eq!(rows.len(), 1000);
//! let _part = a.residency_slice(s![100..200, ..])?;  // pages of a slice
//!
//! // A zeroed scratch array shared with forked children.
//! let mut scratch = MmapArray::<u64, Ix2>::anonymous((64, 64))?;
//! scratch.view_mut()?[[3, 4]] = 7;
//! # Ok(()) }
//! ```
//!
//! ## Map of the crate
//! - [`MmapArray`]: one mapping, its shape and order, views ([`view`](MmapArray::view),
//!   [`view_mut`](MmapArray::view_mut)), accessors, and anonymous constructors.
//! - [`MmapOptions`]: the builder: [`Mode`], offset (stream position, bytes, elements), grow
//!   and preallocate, create, map flags; `unsafe` terminal calls for files.
//! - Memory control, each on the whole array, an element range (`_range`) and a slice
//!   (`_slice`): [`madvise`](MmapArray::madvise) with [`Advice`] /
//!   [`UncheckedAdvice`], [`msync`](MmapArray::msync) with [`Sync`],
//!   [`mlock`](MmapArray::mlock) with [`Lock`], [`protect`](MmapArray::protect) with
//!   [`Protection`].
//! - Residency: [`mincore`](MmapArray::mincore), [`PageSpan`],
//!   [`residency_along`](MmapArray::residency_along) (and of a slice:
//!   [`residency_along_slice`](MmapArray::residency_along_slice)), [`Residency`],
//!   [`cachestat`](MmapArray::cachestat), [`evict_slice`](MmapArray::evict_slice), and
//!   [`evict`] / [`advise_random`] / [`prefetch_file`] for a whole file.
//! - [`npy`] (feature `npy`, on by default): `.npy` files opened, created and grown in place;
//!   headers read exactly as numpy reads them, safe against hostile files
//!   ([`npy::OpenOptions`] holds the header size limit).
//! - [`constants`]: the platform's `PROT_*`, `MAP_*`, `MADV_*` and `MS_*` values.
//! - [`Error`]: the one error type; [`NpyError`] says what is wrong with a `.npy` file.
//!
//! ## Platforms
//! Linux is the tested platform. macOS and the BSDs have their code paths in `sys/`, which CI
//! compiles (and lints) for macOS and FreeBSD but cannot run; they answer
//! [`Error::Unsupported`] where the OS lacks a call, and other Unixes get a stub that does the
//! same.

#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

mod array;
mod error;
mod layout;
mod mapping;
#[cfg(feature = "npy")]
pub mod npy;
mod options;
mod pages;
mod residency;
mod sys;

pub use array::{MmapArray, Mode, Order};
pub use bytemuck::Pod;
pub use error::{Error, NpyError, Result, SliceError};
pub use layout::PageSpan;
pub use options::MmapOptions;
pub use pages::{Advice, Flush, Lock, Pages, PagesMut, Protection, Selection, UncheckedAdvice};
pub use residency::{CacheStat, CountSource, Residency, advise_random, evict, prefetch_file};
pub use sys::constants;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
