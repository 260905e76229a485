//! The only module that calls libc. Every function takes page-aligned addresses and lengths
//! (callers round with `layout::page_round`) and returns `io::Result`.
//!
//! `posix.rs` holds the calls the Unixes share. `os` is this OS's file, picked by `cfg` below:
//! `linux.rs`, `macos.rs` and `bsd.rs` hold only what differs there (advice values, `mlock2`,
//! `cachestat`, `fallocate`, readahead size, a descriptor's path) and re-export the rest from
//! `posix.rs`, so callers always name `sys::os::…`; `stub.rs` answers `Unsupported` on other
//! Unixes.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// `names![A, B]` is `&[("A", libc::A), ("B", libc::B)]`: a table of an OS's flags.
macro_rules! names {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), libc::$name)),*]
    };
}

// `posix.rs` also defines `tables!` (the flag tables of an OS with a file of its own).
#[macro_use]
mod posix;

// The `cfg` of `stub.rs` names the families above it once more, as `posix.rs` does for
// `known`; an OS added to one list and not the others fails to build (two paths, or an
// unresolved `posix::known`) or warns (`known` unused).
#[cfg_attr(any(target_os = "linux", target_os = "android"), path = "linux.rs")]
#[cfg_attr(any(target_os = "macos", target_os = "ios"), path = "macos.rs")]
#[cfg_attr(
    any(
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "openbsd",
        target_os = "netbsd"
    ),
    path = "bsd.rs"
)]
#[cfg_attr(
    not(any(
        any(target_os = "linux", target_os = "android"),
        any(target_os = "macos", target_os = "ios"),
        any(target_os = "freebsd", target_os = "dragonfly"),
        any(target_os = "openbsd", target_os = "netbsd"),
    )),
    path = "stub.rs"
)]
pub(crate) mod os;

/// Descriptor passing over Unix sockets.
pub(crate) mod fdpass;
/// POSIX named shared memory.
pub(crate) mod shm;

pub(crate) use posix::{
    SharedAnon, SigbusHandler, access_mode, fault_of, filesystem_full, install_sigbus, madvise,
    map_file_fixed, may_write, memlock_limit, mprotect, msync, munlock, page_size, parallelism,
    sigbus_default, sigbus_is_default, thread_id, zero_pages_fixed,
};

/// The platform's memory flags, as UnixMmap.jl exposes them.
pub mod constants {
    /// Protection flags (`PROT_*`).
    pub const PROT: &[(&str, i32)] = super::os::PROT;
    /// Map flags (`MAP_*`) the crate can set.
    pub const MAP: &[(&str, i32)] = super::os::MAP;
    /// Advice values (`MADV_*`).
    pub const ADVICE: &[(&str, i32)] = super::os::ADVICE;
    /// Sync flags (`MS_*`).
    pub const SYNC: &[(&str, i32)] = super::os::SYNC;
}

/// The path a descriptor was opened with, where the OS can tell.
pub(crate) fn fd_path(file: &File) -> Option<PathBuf> {
    os::fd_path(file.as_raw_fd())
}

/// `posix_fadvise`, used to evict and to control readahead (tests and the CLI use it through
/// [`crate::residency`]).
pub(crate) fn fadvise(file: &File, offset: u64, len: u64, advice: FileAdvice) -> io::Result<()> {
    os::fadvise(file.as_raw_fd(), offset, len, advice)
}

/// What `posix_fadvise` is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileAdvice {
    DontNeed,
    Random,
    WillNeed,
}

/// Page-cache counts of a file range (from `cachestat(2)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RawCacheStat {
    pub cache: u64,
    pub dirty: u64,
    pub writeback: u64,
    pub evicted: u64,
    pub recently_evicted: u64,
}

/// The seals a memory file has (`F_GET_SEALS`): which changes its holders cannot make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Seals {
    /// `F_SEAL_SEAL`: no seal can be added any more.
    pub seal: bool,
    /// `F_SEAL_SHRINK`: the file cannot be made shorter.
    pub shrink: bool,
    /// `F_SEAL_GROW`: the file cannot be made longer.
    pub grow: bool,
    /// `F_SEAL_WRITE`: nobody can write the file's contents.
    pub write: bool,
    /// `F_SEAL_FUTURE_WRITE` (Linux 5.1+): writable maps made before the seal keep working;
    /// nobody can make a new one or `write(2)` the file.
    pub future_write: bool,
}
