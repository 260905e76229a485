//! Linux (and Android): the richest set of advice, `mlock2`, `cachestat`, `fallocate`, `mremap`.

#![allow(unsafe_code)]

use super::{FileAdvice, RawCacheStat};
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// The platform's memory flags, as UnixMmap.jl exposes them.
pub mod constants {
    /// Protection flags (`PROT_*`).
    pub const PROT: &[(&str, i32)] = &[
        ("PROT_NONE", libc::PROT_NONE),
        ("PROT_READ", libc::PROT_READ),
        ("PROT_WRITE", libc::PROT_WRITE),
        ("PROT_EXEC", libc::PROT_EXEC),
    ];
    /// Map flags (`MAP_*`) the crate can set.
    pub const MAP: &[(&str, i32)] = &[
        ("MAP_SHARED", libc::MAP_SHARED),
        ("MAP_PRIVATE", libc::MAP_PRIVATE),
        ("MAP_ANONYMOUS", libc::MAP_ANONYMOUS),
        ("MAP_POPULATE", libc::MAP_POPULATE),
        ("MAP_NORESERVE", libc::MAP_NORESERVE),
        ("MAP_HUGETLB", libc::MAP_HUGETLB),
        ("MAP_LOCKED", libc::MAP_LOCKED),
    ];
    /// Advice values (`MADV_*`).
    pub const ADVICE: &[(&str, i32)] = &[
        ("MADV_NORMAL", libc::MADV_NORMAL),
        ("MADV_RANDOM", libc::MADV_RANDOM),
        ("MADV_SEQUENTIAL", libc::MADV_SEQUENTIAL),
        ("MADV_WILLNEED", libc::MADV_WILLNEED),
        ("MADV_DONTNEED", libc::MADV_DONTNEED),
        ("MADV_FREE", libc::MADV_FREE),
        ("MADV_REMOVE", libc::MADV_REMOVE),
        ("MADV_DONTFORK", libc::MADV_DONTFORK),
        ("MADV_DOFORK", libc::MADV_DOFORK),
        ("MADV_HUGEPAGE", libc::MADV_HUGEPAGE),
        ("MADV_NOHUGEPAGE", libc::MADV_NOHUGEPAGE),
        ("MADV_DONTDUMP", libc::MADV_DONTDUMP),
        ("MADV_DODUMP", libc::MADV_DODUMP),
        ("MADV_WIPEONFORK", libc::MADV_WIPEONFORK),
        ("MADV_KEEPONFORK", libc::MADV_KEEPONFORK),
        ("MADV_COLD", libc::MADV_COLD),
        ("MADV_PAGEOUT", libc::MADV_PAGEOUT),
        ("MADV_POPULATE_READ", 22),
        ("MADV_POPULATE_WRITE", 23),
    ];
    /// Sync flags (`MS_*`).
    pub const SYNC: &[(&str, i32)] = &[
        ("MS_ASYNC", libc::MS_ASYNC),
        ("MS_SYNC", libc::MS_SYNC),
        ("MS_INVALIDATE", libc::MS_INVALIDATE),
    ];
}

pub(crate) const MAP_POPULATE: libc::c_int = libc::MAP_POPULATE;
pub(crate) const MAP_NORESERVE: libc::c_int = libc::MAP_NORESERVE;
pub(crate) const HAS_LOCK_ON_FAULT: bool = true;

/// `MADV_*` value of a named advice, `None` where the platform has none.
pub(crate) fn advice(name: &str) -> Option<libc::c_int> {
    constants::ADVICE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
}

/// `mlock2` with `MLOCK_ONFAULT` when `on_fault`, else `mlock`.
pub(crate) fn mlock(addr: usize, len: usize, on_fault: bool) -> io::Result<()> {
    let flags = if on_fault { libc::MLOCK_ONFAULT } else { 0 };
    // SAFETY: locking changes no contents; an unmapped range is reported as ENOMEM.
    let rc = unsafe { libc::syscall(libc::SYS_mlock2, addr as *const libc::c_void, len, flags) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `mincore` into `out` (one byte per page).
pub(crate) fn mincore(addr: usize, len: usize, out: &mut [u8]) -> io::Result<()> {
    debug_assert!(out.len() >= len.div_ceil(super::page_size()));
    // SAFETY: `out` holds a byte for each page of the range, as mincore requires.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, out.as_mut_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd,
            &range as *const _,
            &mut cs as *mut _,
            0u32,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(RawCacheStat {
        cache: cs.nr_cache,
        dirty: cs.nr_dirty,
        writeback: cs.nr_writeback,
        evicted: cs.nr_evicted,
        recently_evicted: cs.nr_recently_evicted,
    })
}

/// Allocates the file's blocks for `off..off + len` so a full disk fails now, not at a page fault.
pub(crate) fn fallocate(fd: RawFd, off: u64, len: u64) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor; mode 0 only allocates (and extends the size).
    let rc = unsafe { libc::fallocate(fd, 0, off as libc::off_t, len as libc::off_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `posix_fadvise`.
pub(crate) fn fadvise(fd: RawFd, off: u64, len: u64, advice: FileAdvice) -> io::Result<()> {
    let a = match advice {
        FileAdvice::DontNeed => libc::POSIX_FADV_DONTNEED,
        FileAdvice::Random => libc::POSIX_FADV_RANDOM,
        FileAdvice::WillNeed => libc::POSIX_FADV_WILLNEED,
    };
    // SAFETY: plain syscall on a descriptor; it returns the error number instead of setting errno.
    let rc = unsafe { libc::posix_fadvise(fd, off as libc::off_t, len as libc::off_t, a) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The readahead window (bytes) of the block device behind `fd`, from sysfs; the kernel's
/// default of 128 KiB where it cannot be found. One `MADV_WILLNEED` reads at most this much.
pub(crate) fn readahead_window(fd: RawFd) -> usize {
    const DEFAULT: usize = 128 * 1024;
    // SAFETY: fstat writes into a zeroed stat struct we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return DEFAULT;
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
    .map_or(DEFAULT, |kb| kb * 1024)
}

/// `/proc/self/fd/N`.
pub(crate) fn fd_path(fd: RawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .ok()
        .filter(|p| p.is_absolute())
}
