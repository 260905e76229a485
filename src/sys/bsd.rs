//! FreeBSD, OpenBSD, NetBSD, DragonFly: what differs from `posix.rs` — no way to ask a
//! descriptor's path, and on OpenBSD and NetBSD (whose libc bindings lack them) no
//! `posix_fadvise` or `posix_fallocate`. Compiles by inspection (CI lints FreeBSD); only Linux
//! is tested.

use std::os::fd::RawFd;
use std::path::PathBuf;

pub(crate) use super::posix::advice;
pub(crate) use super::posix::known::{mincore, mlock};
pub(crate) use super::posix::plain::{
    HAS_LOCK_ON_FAULT, MAP_NORESERVE, MAP_POPULATE, cachestat, readahead_window,
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
