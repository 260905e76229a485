//! The only module that calls libc. Every function takes page-aligned addresses and lengths
//! (callers round with `layout::page_round`) and returns `io::Result`.
//!
//! The POSIX calls common to every Unix live here; what differs per OS (advice values, `mlock2`,
//! `cachestat`, `fallocate`, `mremap`, readahead size, a descriptor's path) lives in `os`, picked
//! by `cfg` below, with `stub.rs` answering `Unsupported` on other Unixes.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::OnceLock;

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "android", path = "linux.rs")]
#[cfg_attr(any(target_os = "macos", target_os = "ios"), path = "macos.rs")]
#[cfg_attr(
    any(
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    ),
    path = "bsd.rs"
)]
#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    )),
    path = "stub.rs"
)]
pub(crate) mod os;

pub use os::constants;

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The system's page size (cached).
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// `madvise(addr, len, advice)`.
///
/// # Safety
/// `addr..addr + len` must lie within one live mapping owned by the caller; advice that can
/// change contents must only be given where the caller allows that.
pub(crate) unsafe fn madvise(addr: usize, len: usize, advice: libc::c_int) -> io::Result<()> {
    // SAFETY: the caller guarantees the range is mapped; madvise never touches other memory.
    check(unsafe { libc::madvise(addr as *mut libc::c_void, len, advice) })
}

/// `msync(addr, len, flags)`.
pub(crate) fn msync(addr: usize, len: usize, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: msync only inspects the range; an unmapped range is reported as ENOMEM, not UB.
    check(unsafe { libc::msync(addr as *mut libc::c_void, len, flags) })
}

/// `munlock(addr, len)`.
pub(crate) fn munlock(addr: usize, len: usize) -> io::Result<()> {
    // SAFETY: munlock changes no contents; an unmapped range is reported as ENOMEM.
    check(unsafe { libc::munlock(addr as *const libc::c_void, len) })
}

/// `mprotect(addr, len, prot)`.
///
/// # Safety
/// The caller must make sure no reference into the range is used in a way the new protection
/// forbids (the array API takes `&mut self` and tracks the protection).
pub(crate) unsafe fn mprotect(addr: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
    // SAFETY: forwarded to the caller's contract.
    check(unsafe { libc::mprotect(addr as *mut libc::c_void, len, prot) })
}

/// An anonymous `MAP_SHARED` region: pages seen by forked children (memmap2 maps anonymous
/// memory privately only). Unmapped on drop.
#[derive(Debug)]
pub(crate) struct SharedAnon {
    ptr: usize,
    len: usize,
}

impl SharedAnon {
    /// Maps `len` zeroed bytes (at least one page is mapped so the address is valid).
    pub(crate) fn new(len: usize, extra_flags: libc::c_int) -> io::Result<SharedAnon> {
        let map_len = len.max(1);
        // SAFETY: a fresh anonymous mapping at an address the kernel picks aliases nothing.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANON | extra_flags,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedAnon {
            ptr: ptr as usize,
            len,
        })
    }

    pub(crate) fn ptr(&self) -> *mut u8 {
        self.ptr as *mut u8
    }
}

impl Drop for SharedAnon {
    fn drop(&mut self) {
        // SAFETY: the region was mapped by `new` with this length and is unmapped once, here.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len.max(1)) };
    }
}

/// The soft `RLIMIT_MEMLOCK` in bytes, `None` when unlimited or unknown.
pub(crate) fn memlock_limit() -> Option<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut rl) } != 0
        || rl.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    Some(rl.rlim_cur as u64)
}

/// The access mode a descriptor was opened with: `(readable, writable)`.
pub(crate) fn access_mode(file: &File) -> io::Result<(bool, bool)> {
    // SAFETY: F_GETFL on a descriptor the caller owns has no memory effects.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(match flags & libc::O_ACCMODE {
        libc::O_RDONLY => (true, false),
        libc::O_WRONLY => (false, true),
        _ => (true, true),
    })
}

/// The path a descriptor was opened with, where the OS can tell.
pub(crate) fn fd_path(file: &File) -> Option<PathBuf> {
    os::fd_path(file.as_raw_fd())
}

/// `posix_fadvise`, used to evict and to control readahead (tests and the CLI use it through
/// [`crate::residency`]).
pub(crate) fn fadvise(file: &File, offset: u64, len: u64, advice: FileAdvice) -> io::Result<()> {
    os::fadvise(file.as_raw_fd(), offset, len, advice)
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

/// Whether this process may write `file` (the kernel shows page-cache residency through
/// `mincore` only then, since Linux 5.2): an fd open for writing, the file's owner, root, or
/// write permission by `faccessat(AT_EACCESS)` on the fd's path.
pub(crate) fn may_write(file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    if access_mode(file).is_ok_and(|(_, w)| w) {
        return true;
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 || file.metadata().is_ok_and(|m| m.uid() == euid) {
        return true;
    }
    let Some(path) = fd_path(file) else {
        return false;
    };
    let Ok(c) = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
    else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}

/// Maps `len` bytes of `fd` at file offset `off` over `addr..addr + len` (`MAP_FIXED`), shared
/// or private: puts file pages back where a fault guard had put zero pages.
///
/// # Safety
/// `addr..addr + len` must be page-aligned and lie in a mapping the caller owns, with no
/// reference into it that the change could invalidate.
pub(crate) unsafe fn map_file_fixed(
    addr: usize,
    len: usize,
    prot: libc::c_int,
    shared: bool,
    fd: std::os::fd::RawFd,
    off: u64,
) -> io::Result<()> {
    let flags = libc::MAP_FIXED
        | if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
    // SAFETY: the caller owns the range; MAP_FIXED replaces only pages in it.
    let r = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            prot,
            flags,
            fd,
            off as libc::off_t,
        )
    };
    if r == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Whether the filesystem holding `file` has no block left for an unprivileged writer.
pub(crate) fn filesystem_full(file: &File) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: fstatvfs writes a statvfs into the buffer it is given.
    let ok = unsafe { libc::fstatvfs(file.as_raw_fd(), st.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful call.
    ok && unsafe { st.assume_init() }.f_bavail == 0
}
