//! Unixes the crate has no file for: `posix.rs` serves the calls every Unix has, the rest
//! answers `Unsupported` (and hints are skipped).

use super::FileAdvice;
use super::posix::unsupported;
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;

pub(crate) use super::posix::advice;
pub(crate) use super::posix::plain::{
    HAS_LOCK_ON_FAULT, MAP_NORESERVE, MAP_POPULATE, cachestat, link_unnamed, readahead_window,
    unnamed_file_in,
};

pub(super) const PROT: &[(&str, i32)] = names![PROT_NONE, PROT_READ, PROT_WRITE];
pub(super) const MAP: &[(&str, i32)] = names![MAP_SHARED, MAP_PRIVATE];
pub(super) const ADVICE: &[(&str, i32)] = names![];
pub(super) const SYNC: &[(&str, i32)] = names![MS_ASYNC, MS_SYNC];

pub(crate) fn mlock(_addr: usize, _len: usize, _on_fault: bool) -> io::Result<()> {
    unsupported()
}
pub(crate) fn mincore(_addr: usize, _len: usize, _out: &mut [u8]) -> io::Result<()> {
    unsupported()
}
pub(crate) fn fallocate(_fd: RawFd, _off: u64, _len: u64) -> io::Result<()> {
    unsupported()
}
pub(crate) fn fadvise(_fd: RawFd, _off: u64, _len: u64, _advice: FileAdvice) -> io::Result<()> {
    Ok(())
}
pub(crate) fn fd_path(_fd: RawFd) -> Option<PathBuf> {
    None
}

/// No `memfd_create`.
pub(crate) fn memfd_create(_name: &std::ffi::CStr) -> io::Result<std::fs::File> {
    unsupported()
}
/// No file seals.
pub(crate) fn add_seals(_fd: RawFd, _seals: super::Seals) -> io::Result<()> {
    unsupported()
}
/// No file seals.
pub(crate) fn seals(_fd: RawFd) -> io::Result<super::Seals> {
    unsupported()
}
/// No `/proc/self/fd` to reopen a descriptor through.
pub(crate) fn reopen_read_only(_fd: RawFd) -> io::Result<std::fs::File> {
    unsupported()
}
