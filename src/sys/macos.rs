//! macOS and iOS: what differs from `posix.rs` — `F_PREALLOCATE` for `fallocate`, `F_NOCACHE`
//! and `F_RDAHEAD` in place of `posix_fadvise` (which macOS lacks), `F_GETPATH` for a
//! descriptor's path; no `memfd_create` or file seals (`Unsupported`). Compiles by inspection (CI
//! lints it); only Linux is tested.

use super::FileAdvice;
use super::posix::check;
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;

pub(crate) use super::posix::advice;
pub(crate) use super::posix::known::{mincore, mlock};
pub(crate) use super::posix::plain::{
    HAS_LOCK_ON_FAULT, MAP_NORESERVE, MAP_POPULATE, cachestat, link_unnamed, readahead_window,
    unnamed_file_in,
};

tables! { map: [MAP_ANON], advice: [] }

/// Makes the file at least `off + len` bytes long with its new blocks allocated, so a full disk
/// fails now, not at a page fault. `F_PREALLOCATE` allocates from the end of the file only (the
/// holes of a sparse file stay holes), and a longer file is left as it is.
pub(crate) fn fallocate(fd: RawFd, off: u64, len: u64) -> io::Result<()> {
    let end = off
        .checked_add(len)
        .and_then(|end| libc::off_t::try_from(end).ok())
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the struct we own; a bad descriptor is reported, not UB.
    check(unsafe { libc::fstat(fd, &mut st) })?;
    if st.st_size >= end {
        return Ok(());
    }
    let mut fs = libc::fstore_t {
        fst_flags: libc::F_ALLOCATEALL,
        fst_posmode: libc::F_PEOFPOSMODE,
        fst_offset: 0,
        fst_length: end - st.st_size,
        fst_bytesalloc: 0,
    };
    // SAFETY: F_PREALLOCATE reads and writes the fstore_t we own.
    if unsafe { libc::fcntl(fd, libc::F_PREALLOCATE, &mut fs) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain syscall on a descriptor; `end` is past the current size, so it only grows.
    check(unsafe { libc::ftruncate(fd, end) })
}

/// `F_NOCACHE` and `F_RDAHEAD` approximate `posix_fadvise`, which macOS lacks; they act on the
/// whole descriptor, not a range.
pub(crate) fn fadvise(fd: RawFd, _off: u64, _len: u64, advice: FileAdvice) -> io::Result<()> {
    let (cmd, arg) = match advice {
        FileAdvice::DontNeed => (libc::F_NOCACHE, 1),
        FileAdvice::Random => (libc::F_RDAHEAD, 0),
        FileAdvice::WillNeed => (libc::F_RDAHEAD, 1),
    };
    // SAFETY: plain fcntl on a descriptor, with an integer argument.
    if unsafe { libc::fcntl(fd, cmd, arg) } == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `F_GETPATH`.
pub(crate) fn fd_path(fd: RawFd) -> Option<PathBuf> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: F_GETPATH writes at most PATH_MAX bytes into buf.
    if unsafe { libc::fcntl(fd, libc::F_GETPATH, buf.as_mut_ptr()) } == -1 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0)?;
    buf.truncate(end);
    Some(PathBuf::from(
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(buf),
    ))
}

/// No `memfd_create`.
pub(crate) fn memfd_create(_name: &std::ffi::CStr) -> io::Result<std::fs::File> {
    super::posix::unsupported()
}
/// No file seals.
pub(crate) fn add_seals(_fd: RawFd, _seals: super::Seals) -> io::Result<()> {
    super::posix::unsupported()
}
/// No file seals.
pub(crate) fn seals(_fd: RawFd) -> io::Result<super::Seals> {
    super::posix::unsupported()
}
/// No `/proc/self/fd` to reopen a descriptor through.
pub(crate) fn reopen_read_only(_fd: RawFd) -> io::Result<std::fs::File> {
    super::posix::unsupported()
}
