//! FreeBSD, OpenBSD, NetBSD, DragonFly: what differs from `posix.rs` — no way to ask a
//! descriptor's path, and on OpenBSD and NetBSD (whose libc bindings lack them) no
//! `posix_fadvise` or `posix_fallocate`; `memfd_create` and file seals on FreeBSD (13+) only.
//! Compiles by inspection (CI lints FreeBSD); only Linux is tested.

use super::Seals;
use std::os::fd::RawFd;
use std::path::PathBuf;

pub(crate) use super::posix::advice;
pub(crate) use super::posix::known::{mincore, mlock};
pub(crate) use super::posix::plain::{
    HAS_LOCK_ON_FAULT, MAP_NORESERVE, MAP_POPULATE, cachestat, link_unnamed, readahead_window,
    unnamed_file_in,
};
#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
pub(crate) use super::posix::{fadvise, fallocate};

tables! { map: [MAP_ANON], advice: [] }

/// OpenBSD and NetBSD: no `posix_fadvise`; the advice is a hint, so it is skipped.
#[cfg(any(target_os = "openbsd", target_os = "netbsd"))]
pub(crate) fn fadvise(
    _fd: RawFd,
    _off: u64,
    _len: u64,
    _advice: super::FileAdvice,
) -> std::io::Result<()> {
    Ok(())
}

/// OpenBSD and NetBSD: no `posix_fallocate`.
#[cfg(any(target_os = "openbsd", target_os = "netbsd"))]
pub(crate) fn fallocate(_fd: RawFd, _off: u64, _len: u64) -> std::io::Result<()> {
    super::posix::unsupported()
}

/// No `/proc/self/fd` or `F_GETPATH` to ask.
pub(crate) fn fd_path(_fd: RawFd) -> Option<PathBuf> {
    None
}

/// FreeBSD 13+: `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`.
#[cfg(target_os = "freebsd")]
pub(crate) fn memfd_create(name: &std::ffi::CStr) -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: `name` is a live NUL-terminated string; the call returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// FreeBSD: `fcntl(F_ADD_SEALS)`; it has no `F_SEAL_FUTURE_WRITE`.
#[cfg(target_os = "freebsd")]
pub(crate) fn add_seals(fd: RawFd, seals: Seals) -> std::io::Result<()> {
    if seals.future_write {
        return super::posix::unsupported();
    }
    let bits = [
        (seals.seal, libc::F_SEAL_SEAL),
        (seals.shrink, libc::F_SEAL_SHRINK),
        (seals.grow, libc::F_SEAL_GROW),
        (seals.write, libc::F_SEAL_WRITE),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |bits, (_, bit)| bits | bit);
    // SAFETY: F_ADD_SEALS with an integer argument changes only the file's seal set.
    super::posix::check(unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, bits) })
}

/// FreeBSD: `fcntl(F_GET_SEALS)`.
#[cfg(target_os = "freebsd")]
pub(crate) fn seals(fd: RawFd) -> std::io::Result<Seals> {
    // SAFETY: F_GET_SEALS only reads the file's seal set.
    let bits = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    if bits < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Seals {
        seal: bits & libc::F_SEAL_SEAL != 0,
        shrink: bits & libc::F_SEAL_SHRINK != 0,
        grow: bits & libc::F_SEAL_GROW != 0,
        write: bits & libc::F_SEAL_WRITE != 0,
        future_write: false,
    })
}

/// OpenBSD, NetBSD, DragonFly: no `memfd_create`.
#[cfg(not(target_os = "freebsd"))]
pub(crate) fn memfd_create(_name: &std::ffi::CStr) -> std::io::Result<std::fs::File> {
    super::posix::unsupported()
}

/// OpenBSD, NetBSD, DragonFly: no file seals.
#[cfg(not(target_os = "freebsd"))]
pub(crate) fn add_seals(_fd: RawFd, _seals: Seals) -> std::io::Result<()> {
    super::posix::unsupported()
}

/// OpenBSD, NetBSD, DragonFly: no file seals.
#[cfg(not(target_os = "freebsd"))]
pub(crate) fn seals(_fd: RawFd) -> std::io::Result<Seals> {
    super::posix::unsupported()
}

/// No `/proc/self/fd` to reopen a descriptor through.
pub(crate) fn reopen_read_only(_fd: RawFd) -> std::io::Result<std::fs::File> {
    super::posix::unsupported()
}
