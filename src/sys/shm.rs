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

    /// Who owns the object and who may write it (`fstat` of this descriptor, so what is
    /// checked is what is mapped, whatever the name points to since).
    pub(crate) fn owner(&self) -> io::Result<Option<Owner>> {
        imp::owner(&self.0).map(Some)
    }

    /// Sets the object's permission bits to exactly `mode` (`fchmod`), whatever the umask made
    /// of the mode given to `shm_open`. macOS has no `fchmod` of shared memory: there the
    /// umask applies, and this does nothing.
    pub(crate) fn set_mode(&self, mode: u32) -> io::Result<()> {
        imp::set_mode(&self.0, mode)
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

/// The owner, group and permissions of an open object (`fstat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    /// The owner's user id.
    pub(crate) uid: u32,
    /// The object's group id.
    pub(crate) gid: u32,
    /// The permission bits (`st_mode & 0o7777`).
    pub(crate) mode: u32,
    /// Whether it is a regular file: on Linux a name in `/dev/shm` can be anything another
    /// user made there (a FIFO, a directory); elsewhere an object is always one.
    pub(crate) regular: bool,
}

/// This process's effective user id (`geteuid`).
pub(crate) fn effective_uid() -> Option<u32> {
    imp::effective_uid()
}

/// Whether `gid` is this process's effective group or one of its supplementary groups.
pub(crate) fn in_group(gid: u32) -> bool {
    imp::in_group(gid)
}

/// How [`shm_open`] opens a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// The object must exist (`O_RDONLY` or `O_RDWR`; on Linux also `O_NONBLOCK`, so a FIFO
    /// someone made in `/dev/shm` under the name does not block the open; it is then refused
    /// as not a regular file).
    Existing {
        /// Open it read-write.
        write: bool,
    },
    /// The object must not exist: `O_CREAT | O_EXCL | O_RDWR` with these permission bits
    /// (less the umask: set them exactly with [`Object::set_mode`]); an existing name is
    /// `ErrorKind::AlreadyExists`.
    New {
        /// The permission bits, e.g. `0o600`.
        mode: u32,
    },
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
    use super::{Open, Owner};
    use std::ffi::CStr;
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// Flags added to the open of an existing object: `O_NONBLOCK` on Linux, where glibc's
    /// `shm_open` passes them to `open` and a FIFO in `/dev/shm` would block it. Other
    /// systems' `shm_open` may refuse flags POSIX does not list, and hold no FIFOs.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const EXISTING_FLAGS: libc::c_int = libc::O_NONBLOCK;
    /// See above.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const EXISTING_FLAGS: libc::c_int = 0;

    pub(super) fn shm_open(name: &CStr, how: Open) -> io::Result<File> {
        let (oflag, mode) = match how {
            Open::Existing { write: false } => (libc::O_RDONLY | EXISTING_FLAGS, 0),
            Open::Existing { write: true } => (libc::O_RDWR | EXISTING_FLAGS, 0),
            Open::New { mode } => (libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, mode & 0o777),
        };
        // macOS declares `shm_open` variadic: the mode goes as the promoted `c_uint`.
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        // SAFETY: `name` is a NUL-terminated string that outlives the call; the flags and mode
        // are plain integers.
        let fd = unsafe { libc::shm_open(name.as_ptr(), oflag, mode as libc::c_uint) };
        #[cfg(not(any(target_os = "macos", target_os = "ios")))]
        // SAFETY: as above.
        let fd = unsafe { libc::shm_open(name.as_ptr(), oflag, mode as libc::mode_t) };
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

    #[allow(clippy::unnecessary_cast)] // mode_t is u16 on macOS
    pub(super) fn owner(file: &File) -> io::Result<Owner> {
        // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `file` is an open descriptor; `st` is a live, writable `stat`.
        if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let st_mode = st.st_mode as u32;
        // macOS reports an object's mode without its file type; Linux's objects are files
        // of `/dev/shm`, where someone may have made anything under the name.
        let regular = !cfg!(any(target_os = "linux", target_os = "android"))
            || st_mode & (libc::S_IFMT as u32) == libc::S_IFREG as u32;
        Ok(Owner {
            uid: st.st_uid,
            gid: st.st_gid,
            mode: st_mode & 0o7777,
            regular,
        })
    }

    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    pub(super) fn set_mode(file: &File, mode: u32) -> io::Result<()> {
        // SAFETY: `file` is an open descriptor; the mode is a plain integer.
        if unsafe { libc::fchmod(file.as_raw_fd(), mode as libc::mode_t) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// macOS cannot `fchmod` a shared memory object: the umask applies to its mode.
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub(super) fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
        Ok(())
    }

    pub(super) fn effective_uid() -> Option<u32> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Some(unsafe { libc::geteuid() })
    }

    pub(super) fn in_group(gid: u32) -> bool {
        // SAFETY: getegid has no preconditions and cannot fail.
        if unsafe { libc::getegid() } == gid {
            return true;
        }
        // SAFETY: with a size of 0, getgroups only counts the groups.
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        if n <= 0 {
            return false;
        }
        let mut groups = vec![0 as libc::gid_t; n as usize];
        // SAFETY: `groups` has room for `n` ids.
        let n = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
        n > 0 && groups[..n as usize].contains(&gid)
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
    use super::{Open, Owner};
    use std::ffi::CStr;
    use std::fs::File;
    use std::io;

    pub(super) fn shm_open(_name: &CStr, _how: Open) -> io::Result<File> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(super) fn shm_unlink(_name: &CStr) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(super) fn owner(_file: &File) -> io::Result<Owner> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(super) fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(super) fn effective_uid() -> Option<u32> {
        None
    }

    pub(super) fn in_group(_gid: u32) -> bool {
        false
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
