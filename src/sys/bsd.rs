//! FreeBSD, OpenBSD, NetBSD, DragonFly: POSIX advice and `posix_fadvise`, plain `mlock`, no
//! `cachestat`. Compiles by inspection; only Linux is tested.

#![allow(unsafe_code)]

use super::{FileAdvice, RawCacheStat};
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// The platform's memory flags, as UnixMmap.jl exposes them.
pub mod constants {
    /// Protection flags (`PROT_*`).
    pub const PROT: &[(&str, i32)] = &[
        ("PROT_NONE", libc::PROT_NONE),
        ("PROT_READ", libc::PROT_READ),
        ("PROT_WRITE", libc::PROT_WRITE),
        ("PROT_EXEC", libc::PROT_EXEC),
    ];
    /// Map flags (`MAP_*`) the crate can set.
    pub const MAP: &[(&str, i32)] = &[
        ("MAP_SHARED", libc::MAP_SHARED),
        ("MAP_PRIVATE", libc::MAP_PRIVATE),
        ("MAP_ANON", libc::MAP_ANON),
    ];
    /// Advice values (`MADV_*`).
    pub const ADVICE: &[(&str, i32)] = &[
        ("MADV_NORMAL", libc::MADV_NORMAL),
        ("MADV_RANDOM", libc::MADV_RANDOM),
        ("MADV_SEQUENTIAL", libc::MADV_SEQUENTIAL),
        ("MADV_WILLNEED", libc::MADV_WILLNEED),
        ("MADV_DONTNEED", libc::MADV_DONTNEED),
        ("MADV_FREE", libc::MADV_FREE),
    ];
    /// Sync flags (`MS_*`).
    pub const SYNC: &[(&str, i32)] = &[
        ("MS_ASYNC", libc::MS_ASYNC),
        ("MS_SYNC", libc::MS_SYNC),
        ("MS_INVALIDATE", libc::MS_INVALIDATE),
    ];
}

pub(crate) const MAP_POPULATE: libc::c_int = 0;
pub(crate) const MAP_NORESERVE: libc::c_int = 0;
pub(crate) const HAS_LOCK_ON_FAULT: bool = false;

pub(crate) fn advice(name: &str) -> Option<libc::c_int> {
    constants::ADVICE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
}

pub(crate) fn mlock(addr: usize, len: usize, on_fault: bool) -> io::Result<()> {
    if on_fault {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    // SAFETY: locking changes no contents.
    let rc = unsafe { libc::mlock(addr as *const libc::c_void, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(crate) fn mincore(addr: usize, len: usize, out: &mut [u8]) -> io::Result<()> {
    // SAFETY: `out` holds a byte for each page of the range.
    let rc = unsafe {
        libc::mincore(
            addr as *const libc::c_void,
            len,
            out.as_mut_ptr() as *mut libc::c_char,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(crate) fn cachestat(_fd: RawFd, _off: u64, _len: u64) -> io::Result<RawCacheStat> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub(crate) fn fallocate(fd: RawFd, off: u64, len: u64) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor; it returns the error number.
    let rc = unsafe { libc::posix_fallocate(fd, off as libc::off_t, len as libc::off_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

pub(crate) fn fadvise(_fd: RawFd, _off: u64, _len: u64, _advice: FileAdvice) -> io::Result<()> {
    // posix_fadvise is missing on some BSDs (OpenBSD); the advice is a hint, so it is skipped.
    Ok(())
}

pub(crate) fn readahead_window(_fd: RawFd) -> usize {
    128 * 1024
}

pub(crate) fn fd_path(_fd: RawFd) -> Option<PathBuf> {
    None
}
