//! macOS and iOS: POSIX advice, plain `mlock`, no `cachestat`, `F_PREALLOCATE`, `F_GETPATH`.
//! Compiles by inspection; only Linux is tested.

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
    let mut fs = libc::fstore_t {
        fst_flags: libc::F_ALLOCATEALL,
        fst_posmode: libc::F_PEOFPOSMODE,
        fst_offset: 0,
        fst_length: (off + len) as libc::off_t,
        fst_bytesalloc: 0,
    };
    // SAFETY: F_PREALLOCATE reads and writes the fstore_t we own.
    let rc = unsafe { libc::fcntl(fd, libc::F_PREALLOCATE, &mut fs) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain syscall on a descriptor.
    let rc = unsafe { libc::ftruncate(fd, (off + len) as libc::off_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(crate) fn fadvise(fd: RawFd, _off: u64, _len: u64, advice: FileAdvice) -> io::Result<()> {
    // macOS has no posix_fadvise: F_NOCACHE / F_RDAHEAD approximate it.
    let (cmd, arg) = match advice {
        FileAdvice::DontNeed => (libc::F_NOCACHE, 1),
        FileAdvice::Random => (libc::F_RDAHEAD, 0),
        FileAdvice::WillNeed => (libc::F_RDAHEAD, 1),
    };
    // SAFETY: plain fcntl on a descriptor.
    let rc = unsafe { libc::fcntl(fd, cmd, arg) };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub(crate) fn readahead_window(_fd: RawFd) -> usize {
    128 * 1024
}

pub(crate) fn fd_path(fd: RawFd) -> Option<PathBuf> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: F_GETPATH writes at most PATH_MAX bytes into buf.
    let rc = unsafe { libc::fcntl(fd, libc::F_GETPATH, buf.as_mut_ptr()) };
    if rc == -1 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0)?;
    buf.truncate(end);
    Some(PathBuf::from(
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(buf),
    ))
}
