//! The POSIX calls the Unixes share. The OS files re-export what they use from here and write
//! only what differs; the items some OSes cannot use are kept behind the `cfg` that says where
//! they are used:
//! - every Unix: page size, `madvise`, `msync`, `munlock`, `mprotect`, shared anonymous maps,
//!   the memlock limit, a descriptor's access mode, whether the process may write a file,
//!   `MAP_FIXED` file maps, whether a filesystem is full and its free space, advice by name;
//!   what the file writers need (an exclusive `flock` tried, whether a process lives, the
//!   identity of the effective user); `flock` for resizers and readers;
//! - `known`, the Unixes with a file of their own (`stub.rs` answers `Unsupported` instead):
//!   their common flags, `mincore`, plain `mlock`;
//! - `fadvise` and `fallocate`, where libc has `posix_fadvise` and `posix_fallocate` and the OS
//!   file has no better call;
//! - `plain`, every Unix but Linux: the answers of an OS without Linux's extras.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::OnceLock;

/// The readahead window (bytes) assumed where the OS does not tell: Linux's default.
pub(super) const DEFAULT_READAHEAD: usize = 128 * 1024;

/// `Ok` where a call returned 0, else the OS error it left in `errno`.
pub(super) fn check(rc: impl Into<i64>) -> io::Result<()> {
    if rc.into() == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The error of a call this OS does not have.
pub(super) fn unsupported<T>() -> io::Result<T> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// The system's page size (cached).
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// The `MADV_*` value of a named advice from this OS's table, `None` where it has none.
pub(crate) fn advice(name: &str) -> Option<libc::c_int> {
    super::constants::ADVICE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
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
    let Some(path) = super::fd_path(file) else {
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
    file: &File,
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
            file.as_raw_fd(),
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

/// Bytes free to an unprivileged writer on the filesystem holding `file` (`fstatvfs`'s
/// `f_bavail` blocks of `f_frsize` bytes).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn free_space(file: &File) -> Option<u64> {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: fstatvfs writes a statvfs into the buffer it is given.
    let ok = unsafe { libc::fstatvfs(file.as_raw_fd(), st.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful call.
    let st = ok.then(|| unsafe { st.assume_init() })?;
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)] // the types differ by OS
    u64::from(st.f_bavail as u64).checked_mul(st.f_frsize as u64)
}

/// Takes an exclusive `flock` on `file` without waiting: `Ok(false)` when another open file
/// description holds one. The lock lasts until every descriptor of this description is
/// closed, which a killed process's are.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor the caller owns has no memory effects.
    match check(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Drops the `flock` of `file`'s open file description.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    // SAFETY: flock on a descriptor the caller owns has no memory effects.
    check(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) })
}

/// Whether a process `pid` exists (`kill(pid, 0)`: no signal is sent; `EPERM` means it exists
/// and belongs to someone else).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return true; // not a single process: never taken for a dead one
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The effective user id.
#[allow(dead_code)]
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// `flock(fd, op)` (`LOCK_SH`, `LOCK_EX`, `LOCK_UN`): waits until the lock is granted,
/// retried when a signal interrupts the wait. The lock belongs to the open file description,
/// as an OFD `fcntl` lock does, and is released when it is unlocked or its last descriptor
/// closes (a killed process's descriptors close).
pub(crate) fn flock(fd: RawFd, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock only reads its arguments; a bad descriptor is an error.
        match check(unsafe { libc::flock(fd, op) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// What the Unixes with a file of their own share (`stub.rs` answers `Unsupported` on the
/// others, some of which lack `mincore`): the common part of their flag tables, `mincore`, and
/// plain `mlock`.
#[cfg(any(
    any(target_os = "linux", target_os = "android"),
    any(target_os = "macos", target_os = "ios"),
    any(target_os = "freebsd", target_os = "dragonfly"),
    any(target_os = "openbsd", target_os = "netbsd"),
))]
#[macro_use]
pub(super) mod known {
    use super::{check, page_size, unsupported};
    use std::io;

    /// The four flag tables of an OS with a file of its own: the flags they all have, then the
    /// OS's own `map` and `advice` flags.
    macro_rules! tables {
        (map: [$($map:ident),* $(,)?], advice: [$($advice:ident),* $(,)?] $(,)?) => {
            pub(super) const PROT: &[(&str, i32)] =
                names![PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC];
            pub(super) const MAP: &[(&str, i32)] = names![MAP_SHARED, MAP_PRIVATE, $($map),*];
            pub(super) const ADVICE: &[(&str, i32)] = names![
                MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
                $($advice),*
            ];
            pub(super) const SYNC: &[(&str, i32)] = names![MS_ASYNC, MS_SYNC, MS_INVALIDATE];
        };
    }

    /// `mincore` into `out` (one byte per page).
    pub(crate) fn mincore(addr: usize, len: usize, out: &mut [u8]) -> io::Result<()> {
        debug_assert!(out.len() >= len.div_ceil(page_size()));
        // SAFETY: `out` holds a byte for each page of the range, as mincore requires; the
        // range itself is only inspected (an unmapped one is reported as ENOMEM).
        check(unsafe { libc::mincore(addr as _, len, out.as_mut_ptr().cast()) })
    }

    /// `mlock`; `Unsupported` for `on_fault` (Linux's `mlock2` flag, which linux.rs handles).
    pub(crate) fn mlock(addr: usize, len: usize, on_fault: bool) -> io::Result<()> {
        if on_fault {
            return unsupported();
        }
        // SAFETY: locking changes no contents; an unmapped range is reported as ENOMEM.
        check(unsafe { libc::mlock(addr as *const libc::c_void, len) })
    }
}

/// `posix_fadvise` (where libc has it: not macOS, OpenBSD or NetBSD).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
pub(crate) fn fadvise(fd: RawFd, off: u64, len: u64, advice: super::FileAdvice) -> io::Result<()> {
    use super::FileAdvice;
    let a = match advice {
        FileAdvice::DontNeed => libc::POSIX_FADV_DONTNEED,
        FileAdvice::Random => libc::POSIX_FADV_RANDOM,
        FileAdvice::WillNeed => libc::POSIX_FADV_WILLNEED,
    };
    // SAFETY: plain syscall on a descriptor; it returns the error number instead of setting errno.
    match unsafe { libc::posix_fadvise(fd, off as libc::off_t, len as libc::off_t, a) } {
        0 => Ok(()),
        rc => Err(io::Error::from_raw_os_error(rc)),
    }
}

/// `posix_fallocate`: allocates the file's blocks for `off..off + len` (and extends its size)
/// so a full disk fails now, not at a page fault. Where libc has it and the OS file has no
/// better call (Linux uses `fallocate`, macOS `F_PREALLOCATE`).
#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
pub(crate) fn fallocate(fd: RawFd, off: u64, len: u64) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor; it returns the error number instead of setting errno.
    match unsafe { libc::posix_fallocate(fd, off as libc::off_t, len as libc::off_t) } {
        0 => Ok(()),
        rc => Err(io::Error::from_raw_os_error(rc)),
    }
}

/// The answers of an OS without Linux's extras: no `MAP_POPULATE` or `MAP_NORESERVE`, no lock
/// on fault, no `cachestat`, and the default readahead window.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) mod plain {
    use super::super::RawCacheStat;
    use super::{DEFAULT_READAHEAD, RawFd, unsupported};
    use std::io;

    pub(crate) const MAP_POPULATE: libc::c_int = 0;
    pub(crate) const MAP_NORESERVE: libc::c_int = 0;
    pub(crate) const HAS_LOCK_ON_FAULT: bool = false;

    /// `cachestat(2)` is Linux's only.
    pub(crate) fn cachestat(_fd: RawFd, _off: u64, _len: u64) -> io::Result<RawCacheStat> {
        unsupported()
    }

    /// The readahead window is not known: Linux's default.
    pub(crate) fn readahead_window(_fd: RawFd) -> usize {
        DEFAULT_READAHEAD
    }

    /// No unnamed files (Linux's `O_TMPFILE`): the writers use named temporary files.
    #[cfg_attr(not(feature = "npy"), allow(dead_code))]
    pub(crate) fn unnamed_file_in(
        _dir: &std::path::Path,
        _mode: u32,
    ) -> io::Result<Option<std::fs::File>> {
        Ok(None)
    }

    /// No unnamed files to link.
    #[cfg_attr(not(feature = "npy"), allow(dead_code))]
    pub(crate) fn link_unnamed(_fd: RawFd, _dest: &std::path::Path) -> io::Result<()> {
        unsupported()
    }
}

// The fault guard's system calls (see `crate::guard`). The handler calls these from a signal
// handler: each is one async-signal-safe call (`mmap`, `sigaction` and `raise` are system
// calls or listed as safe).

/// The faulting address and the code (`si_code > 0`: raised by the kernel for a fault) of a
/// signal.
///
/// # Safety
/// `info` is the `siginfo_t` an `SA_SIGINFO` handler was given.
pub(crate) unsafe fn fault_of(info: *const libc::siginfo_t) -> (usize, i32) {
    // SAFETY: the caller passes the kernel's siginfo.
    unsafe { (si_addr(info), (*info).si_code) }
}

/// `si_addr`: a method in the libc crate on Linux, a field elsewhere.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn si_addr(info: *const libc::siginfo_t) -> usize {
    // SAFETY: the caller passes the kernel's siginfo.
    unsafe { (*info).si_addr() as usize }
}

/// `si_addr`: a method in the libc crate on Linux, a field elsewhere.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
unsafe fn si_addr(info: *const libc::siginfo_t) -> usize {
    // SAFETY: the caller passes the kernel's siginfo.
    unsafe { (*info).si_addr as usize }
}

/// A `SIGBUS` handler taking `(signal, siginfo, context)`.
pub(crate) type SigbusHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// Stores the current `SIGBUS` action in `prev`, then installs `handler` (`SA_SIGINFO`, on the
/// alternate stack where there is one).
///
/// # Safety
/// `prev` must be valid for a write and must not be read by `handler` before this returns.
pub(crate) unsafe fn install_sigbus(
    handler: SigbusHandler,
    prev: *mut libc::sigaction,
) -> io::Result<()> {
    // SAFETY: valid pointers for sigaction; a zeroed sigaction is a valid starting value.
    unsafe {
        check(libc::sigaction(libc::SIGBUS, std::ptr::null(), prev))?;
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut act.sa_mask);
        check(libc::sigaction(libc::SIGBUS, &act, std::ptr::null_mut()))
    }
}

/// Maps a zeroed anonymous page range over `addr..addr + len` (`MAP_FIXED`); `false` if the
/// kernel refused.
///
/// # Safety
/// The range must lie in a mapping whose pages the caller may replace (a guarded range).
pub(crate) unsafe fn zero_pages_fixed(addr: usize, len: usize, prot: libc::c_int) -> bool {
    // SAFETY: the caller owns the range; MAP_FIXED replaces only pages in it.
    let r = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            prot,
            libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    r != libc::MAP_FAILED
}

/// Whether `SIGBUS`'s action is the default one now.
pub(crate) fn sigbus_is_default() -> bool {
    // SAFETY: a zeroed sigaction is valid; sigaction only writes it.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut now) == 0
            && now.sa_sigaction == libc::SIG_DFL
    }
}

/// Gives `SIGBUS` back to the default action (ending the process), and sends it again when
/// `resend` (a signal that was sent, rather than a fault that recurs when the handler returns).
pub(crate) fn sigbus_default(resend: bool) {
    // SAFETY: a zeroed sigaction with SIG_DFL is valid; raise has no preconditions.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
        if resend {
            libc::raise(libc::SIGBUS);
        }
    }
}

/// The width of the terminal on stdout, if stdout is one (`TIOCGWINSZ`).
pub(crate) fn stdout_columns() -> Option<usize> {
    // SAFETY: winsize is plain integers, for which all zeroes is a value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize we own; on a non-tty it fails and we say so.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}
