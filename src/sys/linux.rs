//! Linux (and Android): what differs from `posix.rs` — the richest set of advice, `mlock2` with
//! `MLOCK_ONFAULT`, `cachestat`, `fallocate`, the readahead window from sysfs, and
//! `/proc/self/fd` for a descriptor's path (and to reopen one read-only), `memfd_create` and
//! file seals, unnamed files (`O_TMPFILE`) linked in by `linkat`.

use super::RawCacheStat;
use super::Seals;
use super::posix::{DEFAULT_READAHEAD, check};
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::path::PathBuf;

pub(crate) use super::posix::known::mincore;
pub(crate) use super::posix::{advice, fadvise};

tables! {
    map: [MAP_ANONYMOUS, MAP_POPULATE, MAP_NORESERVE, MAP_HUGETLB, MAP_LOCKED],
    advice: [
        MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP,
        MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT,
        MADV_POPULATE_READ, MADV_POPULATE_WRITE,
    ],
}

pub(crate) const MAP_POPULATE: libc::c_int = libc::MAP_POPULATE;
pub(crate) const MAP_NORESERVE: libc::c_int = libc::MAP_NORESERVE;
pub(crate) const HAS_LOCK_ON_FAULT: bool = true;

/// `mlock2` with `MLOCK_ONFAULT` when `on_fault`, else plain `mlock` (the kernel runs the same
/// code for both when no flag is given).
pub(crate) fn mlock(addr: usize, len: usize, on_fault: bool) -> io::Result<()> {
    if !on_fault {
        return super::posix::known::mlock(addr, len, false);
    }
    // SAFETY: locking changes no contents; an unmapped range is reported as ENOMEM.
    check(unsafe {
        libc::syscall(
            libc::SYS_mlock2,
            addr as *const libc::c_void,
            len,
            libc::MLOCK_ONFAULT,
        )
    })
}

#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

#[repr(C)]
#[derive(Default)]
struct Cachestat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// `cachestat(2)` (Linux 6.5+) over `off..off + len` of the file (`len == 0`: to the end).
pub(crate) fn cachestat(fd: RawFd, off: u64, len: u64) -> io::Result<RawCacheStat> {
    const SYS_CACHESTAT: libc::c_long = 451; // the same number on every architecture
    let range = CachestatRange { off, len };
    let mut cs = Cachestat::default();
    // SAFETY: both pointers are to live, properly sized repr(C) structs; flags must be 0.
    check(unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd,
            &range as *const _,
            &mut cs as *mut _,
            0u32,
        )
    })?;
    Ok(RawCacheStat {
        cache: cs.nr_cache,
        dirty: cs.nr_dirty,
        writeback: cs.nr_writeback,
        evicted: cs.nr_evicted,
        recently_evicted: cs.nr_recently_evicted,
    })
}

/// Allocates the file's blocks for `off..off + len` so a full disk fails now, not at a page fault.
/// Where the file system cannot allocate ahead (`EOPNOTSUPP`: some network and FUSE file
/// systems), glibc's `posix_fallocate` writes the blocks instead.
pub(crate) fn fallocate(fd: RawFd, off: u64, len: u64) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor; mode 0 only allocates (and extends the size).
    let r = check(unsafe { libc::fallocate(fd, 0, off as libc::off_t, len as libc::off_t) });
    match r {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            // SAFETY: as above; posix_fallocate returns the error number instead of setting errno.
            match unsafe { libc::posix_fallocate(fd, off as libc::off_t, len as libc::off_t) } {
                0 => Ok(()),
                n => Err(io::Error::from_raw_os_error(n)),
            }
        }
        r => r,
    }
}

/// An unnamed file in `dir` (`O_TMPFILE`), open for reading and writing, with `mode` less the
/// umask (and the directory's default ACL), as `open(O_CREAT)` gives. Nothing names it until
/// [`link_unnamed`]: a process killed before then leaves nothing behind. `Ok(None)` where the
/// file system or the kernel has no unnamed files (`EOPNOTSUPP`; `EISDIR` or `EINVAL` from
/// kernels before 3.11), or where `/proc` is not mounted (linking goes through it).
pub(crate) fn unnamed_file_in(dir: &std::path::Path, mode: u32) -> io::Result<Option<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    if !std::path::Path::new("/proc/self/fd").is_dir() {
        return Ok(None);
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(mode)
        .open(dir)
    {
        Ok(f) => Ok(Some(f)),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Gives the unnamed file `fd` (from [`unnamed_file_in`]) the name `dest`, in the directory it
/// was made in: `linkat` of `/proc/self/fd/N`, following that link (`AT_SYMLINK_FOLLOW`, which
/// needs no privilege, unlike `AT_EMPTY_PATH`). `EEXIST` if `dest` exists.
pub(crate) fn link_unnamed(fd: RawFd, dest: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(format!("/proc/self/fd/{fd}"))?;
    let to = std::ffi::CString::new(dest.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths for the duration of the call.
    check(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
}

/// The readahead window (bytes) of the block device behind `fd`, from sysfs; the kernel's
/// default of 128 KiB where it cannot be found. One `MADV_WILLNEED` reads at most this much.
pub(crate) fn readahead_window(fd: RawFd) -> usize {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the struct we own; a bad descriptor is reported, not UB.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return DEFAULT_READAHEAD;
    }
    let (major, minor) = (libc::major(st.st_dev), libc::minor(st.st_dev));
    let base = format!("/sys/dev/block/{major}:{minor}");
    [
        format!("{base}/queue/read_ahead_kb"),
        format!("{base}/../queue/read_ahead_kb"),
    ]
    .iter()
    .find_map(|p| {
        std::fs::read_to_string(p)
            .ok()?
            .trim()
            .parse::<usize>()
            .ok()
    })
    .filter(|&kb| kb > 0)
    .map_or(DEFAULT_READAHEAD, |kb| kb * 1024)
}

/// `/proc/self/fd/N`.
pub(crate) fn fd_path(fd: RawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .ok()
        .filter(|p| p.is_absolute())
}

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`: a new anonymous memory file.
pub(crate) fn memfd_create(name: &CStr) -> io::Result<File> {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: `name` is a live NUL-terminated string; the call returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The `F_SEAL_*` bits of `seals`.
fn seal_bits(seals: Seals) -> libc::c_int {
    [
        (seals.seal, libc::F_SEAL_SEAL),
        (seals.shrink, libc::F_SEAL_SHRINK),
        (seals.grow, libc::F_SEAL_GROW),
        (seals.write, libc::F_SEAL_WRITE),
        (seals.future_write, libc::F_SEAL_FUTURE_WRITE),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |bits, (_, bit)| bits | bit)
}

/// `fcntl(F_ADD_SEALS)`: adds `seals` to those the file has (a seal is never removed).
pub(crate) fn add_seals(fd: RawFd, seals: Seals) -> io::Result<()> {
    // SAFETY: F_ADD_SEALS with an integer argument changes only the file's seal set.
    check(unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seal_bits(seals)) })
}

/// `fcntl(F_GET_SEALS)`: the seals a file has; `EINVAL` for a file that cannot be sealed.
pub(crate) fn seals(fd: RawFd) -> io::Result<Seals> {
    // SAFETY: F_GET_SEALS only reads the file's seal set.
    let bits = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    if bits < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Seals {
        seal: bits & libc::F_SEAL_SEAL != 0,
        shrink: bits & libc::F_SEAL_SHRINK != 0,
        grow: bits & libc::F_SEAL_GROW != 0,
        write: bits & libc::F_SEAL_WRITE != 0,
        future_write: bits & libc::F_SEAL_FUTURE_WRITE != 0,
    })
}

/// A new read-only open file description of the file behind `fd`, by reopening
/// `/proc/self/fd/N` with `O_RDONLY` (close-on-exec).
pub(crate) fn reopen_read_only(fd: RawFd) -> io::Result<File> {
    File::open(format!("/proc/self/fd/{fd}"))
}
