//! POSIX named shared memory: `shm_open`, `shm_unlink`.
//!
//! Names arrive checked by [`crate::shared::shm`]: one leading `/`, then at most [`NAME_MAX`]
//! bytes with no other `/` and no NUL. Linux, macOS and the BSDs have the calls; other Unixes
//! (Android's bionic among them) answer `Unsupported`.

use crate::mapping::Mode;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The longest name this OS accepts, in bytes after the leading `/`: `NAME_MAX` (255) where
/// the name is a file name (Linux's `/dev/shm`, the BSDs), 30 on macOS, whose `PSHMNAMLEN`
/// (31) counts the `/`.
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) const NAME_MAX: usize = 30;
/// See above.
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
pub(crate) const NAME_MAX: usize = 255;

/// Why a name longer than [`NAME_MAX`] is refused, for `Error::InvalidShmName`.
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) const TOO_LONG: &str =
    "longer than 30 bytes after its `/` (macOS's PSHMNAMLEN is 31, the `/` included)";
/// See above.
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
pub(crate) const TOO_LONG: &str = "longer than 255 bytes after its `/` (NAME_MAX)";

/// The directory where the OS shows named objects as files, if it does: `/dev/shm` on
/// Linux (`/dev/shm/NAME` is what `np.load` and error messages name).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const SHM_DIR: Option<&str> = Some("/dev/shm");
/// See above.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const SHM_DIR: Option<&str> = None;

/// How a name is shown in messages: `/dev/shm/NAME` on Linux, `/NAME` elsewhere.
pub(crate) fn shown_path(bare: &str) -> PathBuf {
    match SHM_DIR {
        Some(dir) => Path::new(dir).join(bare),
        None => PathBuf::from(format!("/{bare}")),
    }
}

/// An open named shared memory object: a file (on Windows, a section; see `shm_windows.rs`).
#[derive(Debug)]
pub(crate) struct Object(File);

impl Object {
    /// The object's file.
    pub(crate) fn file(&self) -> Option<&File> {
        Some(&self.0)
    }

    /// Sizes the object (`ftruncate`).
    pub(crate) fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    /// Never called: the object is mapped as the file it is.
    pub(crate) fn map_view(&self, _mode: Mode) -> io::Result<View> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// A view of a Windows section: none on Unix.
#[derive(Debug)]
pub(crate) enum View {}

impl View {
    pub(crate) fn ptr(&self) -> *mut u8 {
        match *self {}
    }

    pub(crate) fn len(&self) -> usize {
        match *self {}
    }
}

/// Permissions of a created object: the owner's only, as Python's `SharedMemory` makes them.
const MODE: u32 = 0o600;

/// How [`shm_open`] opens a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// The object must exist (`O_RDONLY` or `O_RDWR`).
    Existing {
        /// Open it read-write.
        write: bool,
    },
    /// The object must not exist: `O_CREAT | O_EXCL | O_RDWR`, mode 0600; an existing name
    /// is `ErrorKind::AlreadyExists`.
    New,
}

#[cfg(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
))]
mod imp {
    use super::{MODE, Open};
    use std::ffi::CStr;
    use std::fs::File;
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd};

    pub(super) fn shm_open(name: &CStr, how: Open) -> io::Result<File> {
        let oflag = match how {
            Open::Existing { write: false } => libc::O_RDONLY,
            Open::Existing { write: true } => libc::O_RDWR,
            Open::New => libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
        };
        // macOS declares `shm_open` variadic: the mode goes as the promoted `c_uint`.
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        // SAFETY: `name` is a NUL-terminated string that outlives the call; the flags and mode
        // are plain integers.
        let fd = unsafe { libc::shm_open(name.as_ptr(), oflag, MODE as libc::c_uint) };
        #[cfg(not(any(target_os = "macos", target_os = "ios")))]
        // SAFETY: as above.
        let fd = unsafe { libc::shm_open(name.as_ptr(), oflag, MODE as libc::mode_t) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // glibc, macOS and FreeBSD open with close-on-exec; POSIX does not say so, and the
        // other BSDs' libcs may not: set it everywhere, so a spawned child does not inherit it.
        // SAFETY: `owned` is an open descriptor; F_SETFD takes an integer.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from(owned))
    }

    pub(super) fn shm_unlink(name: &CStr) -> io::Result<()> {
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        if unsafe { libc::shm_unlink(name.as_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
)))]
mod imp {
    use super::Open;
    use std::ffi::CStr;
    use std::fs::File;
    use std::io;

    pub(super) fn shm_open(_name: &CStr, _how: Open) -> io::Result<File> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(super) fn shm_unlink(_name: &CStr) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// `shm_open(name, how)`, the descriptor close-on-exec. `name` starts with `/`.
pub(crate) fn shm_open(name: &CStr, how: Open) -> io::Result<Object> {
    imp::shm_open(name, how).map(Object)
}

/// `shm_unlink(name)`: the name is gone; mappings and descriptors of the object stay valid
/// until closed.
pub(crate) fn shm_unlink(name: &CStr) -> io::Result<()> {
    imp::shm_unlink(name)
}
