//! Advisory whole-file locks between the processes (and threads) that resize a file and
//! those that read its header: `flock` on Unix, `LockFileEx` on one byte on Windows.
//!
//! A lock is taken on a handle of its own, opened afresh for the file, not on the handle the
//! array maps. `flock` and OFD `fcntl` locks belong to an open file description, which a
//! `dup` (`File::try_clone`) and a `fork` share: two arrays mapped from one `File`, or a
//! parent and the child it forked after mapping, would each be granted "their" lock on the
//! same description and exclude nothing. A fresh description per lock makes every holder a
//! separate owner. (Classic `fcntl` locks are worse: per process, so threads share them, and
//! closing any descriptor of the file drops them.)

use std::fs::File;
use std::io;

#[cfg(unix)]
use std::os::fd::AsRawFd;

/// A held lock: released when dropped (explicitly, so that a copy of the handle a `fork`
/// made meanwhile does not keep it), and by the OS when the process dies.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    /// Waits for a shared lock on `file` (readers of a header and a length).
    /// `Ok(None)` where the filesystem has no locks (some network filesystems).
    #[cfg_attr(not(feature = "npy"), allow(dead_code))]
    pub(crate) fn shared(file: &File) -> io::Result<Option<FileLock>> {
        FileLock::take(file, false)
    }

    /// Waits for the exclusive lock on `file` (a resizer). `Ok(None)` as for
    /// [`shared`](Self::shared).
    pub(crate) fn exclusive(file: &File) -> io::Result<Option<FileLock>> {
        FileLock::take(file, true)
    }

    fn take(file: &File, exclusive: bool) -> io::Result<Option<FileLock>> {
        let file = fresh_handle(file)?;
        #[cfg(unix)]
        let locked = {
            let op = if exclusive {
                libc::LOCK_EX
            } else {
                libc::LOCK_SH
            };
            super::posix::flock(file.as_raw_fd(), op)
        };
        #[cfg(windows)]
        let locked = super::os::lock_file(&file, exclusive);
        match locked {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(e) if no_locks_here(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = super::posix::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        #[cfg(windows)]
        let _ = super::os::unlock_file(&self.file);
    }
}

/// Whether a lock call failed because the file's filesystem (or object) has no locks.
fn no_locks_here(e: &io::Error) -> bool {
    #[cfg(unix)]
    let codes = [
        libc::ENOLCK,
        libc::EOPNOTSUPP,
        libc::ENOTSUP,
        libc::ENOSYS,
        libc::EINVAL,
    ];
    #[cfg(windows)]
    let codes = [super::errno::EOPNOTSUPP, super::errno::ENOSYS];
    e.kind() == io::ErrorKind::Unsupported || e.raw_os_error().is_some_and(|c| codes.contains(&c))
}

/// A new handle (a new open file description) of the file `file` is open on: through
/// `/proc/self/fd` on Linux, else through the path the OS gives for it, checked to be the same
/// file. Where neither works (a file removed meanwhile on macOS, FreeBSD's missing path), a
/// duplicate of `file`, whose lock then excludes other opens of the file but not other
/// duplicates of this one.
fn fresh_handle(file: &File) -> io::Result<File> {
    #[cfg(unix)]
    if let Ok(f) = super::os::reopen_read_only(file.as_raw_fd()) {
        return Ok(f);
    }
    if let Some(p) = super::fd_path(file)
        && let Ok(f) = File::open(p)
        && super::file_id(&f)
            .ok()
            .zip(super::file_id(file).ok())
            .is_some_and(|(a, b)| a == b)
    {
        return Ok(f);
    }
    file.try_clone()
}
