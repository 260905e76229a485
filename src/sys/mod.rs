//! The only module that calls the OS. Every function takes page-aligned addresses and lengths
//! (callers round with `layout::page_round`) and returns `io::Result`.
//!
//! On Unix, `posix.rs` holds the calls the Unixes share. `os` is this OS's file, picked by
//! `cfg` below: `linux.rs`, `macos.rs` and `bsd.rs` hold only what differs there (advice
//! values, `mlock2`, `cachestat`, `fallocate`, readahead size, a descriptor's path) and
//! re-export the rest from `posix.rs`, so callers always name `sys::os::…`; `stub.rs` answers
//! `Unsupported` on other Unixes. On Windows, `windows.rs` is `os` and also serves what
//! `posix.rs` serves elsewhere (the re-exports below name the same functions on every OS).
//!
//! Functions that act on a file take `&File` here, whatever the OS's handle type.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[cfg(unix)]
use std::os::fd::AsRawFd;

/// `names![A, B]` is `&[("A", libc::A), ("B", libc::B)]`: a table of an OS's flags.
#[cfg(unix)]
macro_rules! names {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), libc::$name)),*]
    };
}

// `posix.rs` also defines `tables!` (the flag tables of an OS with a file of its own).
#[cfg(unix)]
#[macro_use]
mod posix;

// The `cfg` of `stub.rs` names the families above it once more, as `posix.rs` does for
// `known`; an OS added to one list and not the others fails to build (two paths, or an
// unresolved `posix::known`) or warns (`known` unused).
#[cfg(unix)]
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

#[cfg(windows)]
#[path = "windows.rs"]
pub(crate) mod os;

/// Descriptor passing over Unix sockets.
#[cfg(unix)]
pub(crate) mod fdpass;
/// Advisory locks between resizers and header readers.
mod lock;
pub(crate) use lock::FileLock;
/// Named shared memory: POSIX `shm_open` on Unix, named pagefile-backed sections on Windows.
#[cfg_attr(windows, path = "shm_windows.rs")]
pub(crate) mod shm;

#[cfg(windows)]
pub(crate) use os::{
    SharedAnon, access_mode, filesystem_full, madvise, map_file_fixed, may_write, memlock_limit,
    mprotect, munlock, page_size,
};
#[cfg(unix)]
pub(crate) use posix::{
    SharedAnon, SigbusHandler, access_mode, fault_of, filesystem_full, install_sigbus, madvise,
    map_file_fixed, may_write, memlock_limit, mprotect, munlock, page_size, sigbus_default,
    sigbus_is_default, zero_pages_fixed,
};

/// Page protections (`PROT_*` on Unix; on Windows ndmmap's own bits, turned into `PAGE_*`
/// values by `windows.rs`).
#[cfg(unix)]
pub(crate) use libc::{PROT_NONE, PROT_READ, PROT_WRITE};
/// See above.
#[cfg(windows)]
pub(crate) use os::{PROT_NONE, PROT_READ, PROT_WRITE};

/// Flush flags (`MS_*` on Unix; on Windows ndmmap's own bits, read by `windows.rs`).
#[cfg(unix)]
pub(crate) use libc::{MS_ASYNC, MS_INVALIDATE, MS_SYNC};
/// See above.
#[cfg(windows)]
pub(crate) use os::{MS_ASYNC, MS_INVALIDATE, MS_SYNC};

/// The OS error codes the crate tells apart: `errno` values on Unix; on Windows the
/// `GetLastError` codes its calls give for the same conditions.
pub(crate) mod errno {
    #[cfg(windows)]
    pub(crate) use super::os::errno::{
        EACCES, EAGAIN, EDQUOT, EINVAL, ENOMEM, ENOSPC, ENOSYS, EOPNOTSUPP, EPERM,
    };
    #[cfg(unix)]
    pub(crate) use libc::{
        EACCES, EAGAIN, EDQUOT, EINVAL, ENOMEM, ENOSPC, ENOSYS, EOPNOTSUPP, EPERM,
    };
}

/// Whether an OS error says the file system is full (or the user's quota is spent).
pub(crate) fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(errno::ENOSPC | errno::EDQUOT))
}

/// Bytes free to this process on the file system holding `file`, where the OS tells.
pub(crate) fn free_space(file: &File) -> Option<u64> {
    #[cfg(unix)]
    return posix::free_space(file);
    #[cfg(windows)]
    return os::free_space(file);
}

// What the file writers (`crate::replace`) ask of the OS.

/// An unnamed file in `dir` (Linux's `O_TMPFILE`: nothing names it until
/// [`link_unnamed`], so a killed process leaves nothing behind), created with `mode` less the
/// umask. `Ok(None)` where the OS or the file system has none.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn unnamed_file_in(dir: &Path, mode: u32) -> io::Result<Option<File>> {
    os::unnamed_file_in(dir, mode)
}

/// Names the unnamed `file` `dest` (in the directory it was made in); `AlreadyExists` if
/// `dest` exists.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn link_unnamed(file: &File, dest: &Path) -> io::Result<()> {
    #[cfg(unix)]
    return os::link_unnamed(file.as_raw_fd(), dest);
    #[cfg(windows)]
    return os::link_unnamed(file, dest);
}

/// A new file at `path` (`O_EXCL`: `AlreadyExists` if there is one), for reading and writing,
/// created with `mode` less the umask (Unix; Windows has no mode).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode);
    #[cfg(windows)]
    let _ = mode;
    o.open(path)
}

/// Opens `path` read-only to inspect it: not through a symbolic link, and without waiting
/// (`O_NOFOLLOW | O_NONBLOCK` on Unix: a FIFO put there does not block the open).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn open_to_inspect(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, libc::O_NOFOLLOW | libc::O_NONBLOCK);
    o.open(path)
}

/// Takes an exclusive lock on `file` without waiting (`flock`, which the OS drops when the
/// holder dies): `Ok(false)` when someone holds one. Windows takes none and answers `true`.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    #[cfg(unix)]
    return posix::try_lock(file);
    #[cfg(windows)]
    return os::try_lock(file);
}

/// Drops the lock [`try_lock`] took.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    return posix::unlock(file);
    #[cfg(windows)]
    {
        let _ = file;
        Ok(())
    }
}

/// Whether the process `pid` is running (one that this user may not ask about counts).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    return posix::process_alive(pid);
    #[cfg(windows)]
    return os::process_alive(pid);
}

/// The width in columns of the terminal (the console window, on Windows) on stdout, if
/// stdout is one.
pub(crate) fn stdout_columns() -> Option<usize> {
    #[cfg(unix)]
    return posix::stdout_columns();
    #[cfg(windows)]
    return os::stdout_columns();
}

/// Whether this process runs as root (effective user 0; never on Windows).
pub(crate) fn is_root() -> bool {
    #[cfg(unix)]
    return posix::euid() == 0;
    #[cfg(windows)]
    return false;
}

/// Whether this process's effective user owns the file (always, on Windows, which has no
/// owner in `Metadata`).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    return std::os::unix::fs::MetadataExt::uid(meta) == posix::euid();
    #[cfg(windows)]
    {
        let _ = meta;
        true
    }
}

/// Gives `file` the owner, group and permission bits of `old` (the file it will replace):
/// `fchown` where the process may (`EPERM` is ignored: an unprivileged user keeps their own
/// ids), then `fchmod` of the `rwx` bits (not the set-id bits, which a write to the old file
/// would have cleared). On Windows, nothing: a new file
/// takes its directory's inherited ACL, and the read-only attribute would refuse the rename.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn keep_owner_and_mode(file: &File, old: &std::fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let now = file.metadata()?;
        if (now.uid(), now.gid()) != (old.uid(), old.gid()) {
            match std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())) {
                Ok(()) => {}
                // Not ours to give away: try the group alone (a member of it may).
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                    let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
                }
                Err(e) => return Err(e),
            }
        }
        file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o777))
    }
    #[cfg(windows)]
    {
        let _ = (file, old);
        Ok(())
    }
}

/// `msync(addr, len, flags)`; `file` is the mapping's file where it has one, which Windows
/// flushes (`FlushFileBuffers`) for `MS_SYNC`.
pub(crate) fn msync(addr: usize, len: usize, flags: i32, file: Option<&File>) -> io::Result<()> {
    #[cfg(unix)]
    {
        let _ = file;
        posix::msync(addr, len, flags)
    }
    #[cfg(windows)]
    {
        os::msync(addr, len, flags, file)
    }
}

/// The platform's memory flags, as UnixMmap.jl exposes them.
pub mod constants {
    /// Protection flags (`PROT_*`; Windows: `PAGE_*`).
    pub const PROT: &[(&str, i32)] = super::os::PROT;
    /// Map flags (`MAP_*`) the crate can set (Windows: the `FILE_MAP_*` access of a view).
    pub const MAP: &[(&str, i32)] = super::os::MAP;
    /// Advice values (`MADV_*`). Windows has none: there the table lists the advice names
    /// ndmmap carries out, under numbers of its own.
    pub const ADVICE: &[(&str, i32)] = super::os::ADVICE;
    /// Sync flags (`MS_*`; Windows: ndmmap's numbers for a flush with and without waiting).
    pub const SYNC: &[(&str, i32)] = super::os::SYNC;
}

/// The path a file was opened with, where the OS can tell.
pub(crate) fn fd_path(file: &File) -> Option<PathBuf> {
    #[cfg(unix)]
    return os::fd_path(file.as_raw_fd());
    #[cfg(windows)]
    return os::fd_path(file);
}

/// `posix_fadvise`, used to evict and to control readahead (tests and the CLI use it through
/// [`crate::residency`]). Windows has no counterpart: `Unsupported`.
pub(crate) fn fadvise(file: &File, offset: u64, len: u64, advice: FileAdvice) -> io::Result<()> {
    #[cfg(unix)]
    return os::fadvise(file.as_raw_fd(), offset, len, advice);
    #[cfg(windows)]
    return os::fadvise(file, offset, len, advice);
}

/// `cachestat(2)` over `off..off + len` of the file (Linux 6.5+; `Unsupported` elsewhere).
pub(crate) fn cachestat(file: &File, off: u64, len: u64) -> io::Result<RawCacheStat> {
    #[cfg(unix)]
    return os::cachestat(file.as_raw_fd(), off, len);
    #[cfg(windows)]
    return os::cachestat(file, off, len);
}

/// Allocates the file's blocks for `off..off + len` (extending it if shorter), so a full disk
/// fails now, not at a page fault.
pub(crate) fn fallocate(file: &File, off: u64, len: u64) -> io::Result<()> {
    #[cfg(unix)]
    return os::fallocate(file.as_raw_fd(), off, len);
    #[cfg(windows)]
    return os::fallocate(file, off, len);
}

/// The bytes one will-need hint reads ahead for `file`.
pub(crate) fn readahead_window(file: &File) -> usize {
    #[cfg(unix)]
    return os::readahead_window(file.as_raw_fd());
    #[cfg(windows)]
    return os::readahead_window(file);
}

/// The seals a file has (`F_GET_SEALS`); `Unsupported` where the OS has none.
pub(crate) fn seals(file: &File) -> io::Result<Seals> {
    #[cfg(unix)]
    return os::seals(file.as_raw_fd());
    #[cfg(windows)]
    return os::seals(file);
}

/// Reads at `offset` without using the handle's position (`pread`; on Windows `seek_read`,
/// after which the handle's position is put back). Returns what was read; 0 at the end.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, offset);
    #[cfg(windows)]
    return os::read_at(file, buf, offset);
}

/// Fills `buf` from `offset` (`UnexpectedEof` if the file ends first).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset` (`pwrite`; on Windows `seek_write`, the handle's position
/// put back).
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::write_all_at(file, buf, offset);
    #[cfg(windows)]
    return os::write_all_at(file, buf, offset);
}

/// The identity of the file behind a handle: `(device, inode)` on Unix, `(volume serial,
/// file index)` on Windows. Two handles of one file have the same.
pub(crate) fn file_id(file: &File) -> io::Result<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata()?;
        Ok((m.dev(), m.ino()))
    }
    #[cfg(windows)]
    {
        os::file_id(file)
    }
}

/// Whether a file's metadata says it is something that cannot be mapped: `Some(kind)` for a
/// FIFO, socket, character device or other special file. Regular files, block devices and
/// (on macOS) shared memory objects, whose mode has no type bits, can be.
pub(crate) fn special_file_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        // macOS reports a POSIX shared memory object's mode without any file type bits.
        // (`mode_t` is u16 there, u32 on Linux: the cast is needed on one of them.)
        #[allow(clippy::unnecessary_cast)]
        let untyped = std::os::unix::fs::MetadataExt::mode(meta) & libc::S_IFMT as u32 == 0;
        if ft.is_file() || ft.is_block_device() || untyped {
            None
        } else if ft.is_fifo() {
            Some("FIFO")
        } else if ft.is_socket() {
            Some("socket")
        } else if ft.is_char_device() {
            Some("character device")
        } else {
            Some("special file")
        }
    }
    #[cfg(windows)]
    {
        (!ft.is_file()).then_some("special file")
    }
}

/// Whether the file is a block device, whose length is found by seeking to its end.
pub(crate) fn is_block_device(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    return std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type());
    #[cfg(windows)]
    {
        let _ = meta;
        false
    }
}

/// How many threads can run at once (`available_parallelism`, read once: it reads cgroup
/// files each time it is asked).
pub(crate) fn parallelism() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
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

/// Positioned reads and writes on every OS (`std::os::unix::fs::FileExt`'s names): the crate
/// imports this trait where it would import that one.
pub(crate) trait FileAt {
    /// [`read_at`](fn@read_at).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// [`read_exact_at`](fn@read_exact_at).
    #[cfg_attr(not(feature = "npy"), allow(dead_code))]
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// [`write_all_at`](fn@write_all_at).
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
}

impl FileAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        read_at(self, buf, offset)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_exact_at(self, buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        write_all_at(self, buf, offset)
    }
}
