//! Unixes the crate has no specific code for: the POSIX calls in `sys/mod.rs` work, the rest
//! answers `Unsupported`.

use super::{FileAdvice, RawCacheStat};
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// The platform's memory flags (POSIX ones only here).
pub mod constants {
    /// Protection flags (`PROT_*`).
    pub const PROT: &[(&str, i32)] = &[
        ("PROT_NONE", libc::PROT_NONE),
        ("PROT_READ", libc::PROT_READ),
        ("PROT_WRITE", libc::PROT_WRITE),
    ];
    /// Map flags (`MAP_*`).
    pub const MAP: &[(&str, i32)] = &[
        ("MAP_SHARED", libc::MAP_SHARED),
        ("MAP_PRIVATE", libc::MAP_PRIVATE),
    ];
    /// Advice values (`MADV_*`).
    pub const ADVICE: &[(&str, i32)] = &[];
    /// Sync flags (`MS_*`).
    pub const SYNC: &[(&str, i32)] = &[("MS_ASYNC", libc::MS_ASYNC), ("MS_SYNC", libc::MS_SYNC)];
}

pub(crate) const MAP_POPULATE: libc::c_int = 0;
pub(crate) const MAP_NORESERVE: libc::c_int = 0;
pub(crate) const HAS_LOCK_ON_FAULT: bool = false;

fn unsupported<T>() -> io::Result<T> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub(crate) fn advice(_name: &str) -> Option<libc::c_int> {
    None
}
pub(crate) fn mlock(_addr: usize, _len: usize, _on_fault: bool) -> io::Result<()> {
    unsupported()
}
pub(crate) fn mincore(_addr: usize, _len: usize, _out: &mut [u8]) -> io::Result<()> {
    unsupported()
}
pub(crate) fn cachestat(_fd: RawFd, _off: u64, _len: u64) -> io::Result<RawCacheStat> {
    unsupported()
}
pub(crate) fn fallocate(_fd: RawFd, _off: u64, _len: u64) -> io::Result<()> {
    unsupported()
}
pub(crate) fn fadvise(_fd: RawFd, _off: u64, _len: u64, _advice: FileAdvice) -> io::Result<()> {
    Ok(())
}
pub(crate) fn readahead_window(_fd: RawFd) -> usize {
    128 * 1024
}
pub(crate) fn fd_path(_fd: RawFd) -> Option<PathBuf> {
    None
}
