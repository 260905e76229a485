//! Windows: the counterparts of the POSIX calls, through `windows-sys`. memmap2 maps files and
//! private anonymous memory (`CreateFileMappingW` + `MapViewOfFile`, offsets rounded down to the
//! 64 KiB allocation granularity); this file adds the rest:
//! - page size and allocation granularity (`GetSystemInfo`);
//! - shared anonymous memory as a pagefile-backed section (`CreateFileMappingW` on
//!   `INVALID_HANDLE_VALUE`);
//! - flush (`FlushViewOfFile`, plus `FlushFileBuffers` for `MS_SYNC`), lock (`VirtualLock`,
//!   bounded by the working-set minimum), protect (`VirtualProtect`), advice
//!   (`PrefetchVirtualMemory` for will-need and populate-read, `DiscardVirtualMemory` for free);
//! - residency from `QueryWorkingSetEx`: this process's working set, not the system file cache;
//! - preallocation (`SetFileInformationByHandle` with `FileAllocationInfo`), positioned reads and
//!   writes (`seek_read`/`seek_write`, the handle's position put back), a handle's access
//!   (`NtQueryObject`), path (`GetFinalPathNameByHandleW`) and identity; advisory locks
//!   (`LockFileEx` on one byte past any data).
//!
//! What Windows lacks answers `Unsupported`: `posix_fadvise` (and so eviction), `cachestat`,
//! seals, lock-on-fault. No fault is guarded: a mapped file cannot be truncated there
//! (`ERROR_USER_MAPPED_FILE`), so `map_file_fixed` is never reached.

use super::{FileAdvice, RawCacheStat, Seals};
use std::ffi::c_void;
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::windows::fs::FileExt;
use std::os::windows::io::AsRawHandle;
use std::path::PathBuf;
use std::sync::OnceLock;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem as fs;
use windows_sys::Win32::System::Memory as mem;
use windows_sys::Win32::System::{ProcessStatus, SystemInformation, Threading};

/// ndmmap's protection bits (Windows has `PAGE_*` values, which are not bits): none.
pub(crate) const PROT_NONE: i32 = 0;
/// Readable.
pub(crate) const PROT_READ: i32 = 1;
/// Writable.
pub(crate) const PROT_WRITE: i32 = 2;

/// ndmmap's flush bits: start writing back (`FlushViewOfFile`).
pub(crate) const MS_ASYNC: i32 = 1;
/// Write back and wait (`FlushViewOfFile` + `FlushFileBuffers`).
pub(crate) const MS_SYNC: i32 = 2;
/// Views of a section are coherent on Windows: nothing more to do than `MS_SYNC`.
pub(crate) const MS_INVALIDATE: i32 = 4;

/// No `MAP_POPULATE` (ignored).
pub(crate) const MAP_POPULATE: i32 = 0;
/// No `MAP_NORESERVE` (ignored: a pagefile-backed section is committed when created).
pub(crate) const MAP_NORESERVE: i32 = 0;
/// `VirtualLock` locks now only.
pub(crate) const HAS_LOCK_ON_FAULT: bool = false;

/// ndmmap's number for will-need advice (`PrefetchVirtualMemory`).
const WILLNEED: i32 = 1;
/// Populate-read: `PrefetchVirtualMemory`, then every page read once.
const POPULATE_READ: i32 = 2;
/// Free: `DiscardVirtualMemory` (contents undefined until written).
const FREE: i32 = 3;

pub(super) const PROT: &[(&str, i32)] = &[
    ("PAGE_NOACCESS", mem::PAGE_NOACCESS as i32),
    ("PAGE_READONLY", mem::PAGE_READONLY as i32),
    ("PAGE_READWRITE", mem::PAGE_READWRITE as i32),
    ("PAGE_WRITECOPY", mem::PAGE_WRITECOPY as i32),
];
pub(super) const MAP: &[(&str, i32)] = &[
    ("FILE_MAP_READ", mem::FILE_MAP_READ as i32),
    ("FILE_MAP_WRITE", mem::FILE_MAP_WRITE as i32),
    ("FILE_MAP_COPY", mem::FILE_MAP_COPY as i32),
];
pub(super) const ADVICE: &[(&str, i32)] = &[
    ("MADV_WILLNEED", WILLNEED),
    ("MADV_POPULATE_READ", POPULATE_READ),
    ("MADV_FREE", FREE),
];
pub(super) const SYNC: &[(&str, i32)] = &[("MS_ASYNC", MS_ASYNC), ("MS_SYNC", MS_SYNC)];

/// The `GetLastError` codes that stand for the `errno` values the crate tells apart.
pub(crate) mod errno {
    use windows_sys::Win32::Foundation as f;
    /// `ERROR_ACCESS_DENIED`.
    pub(crate) const EACCES: i32 = f::ERROR_ACCESS_DENIED as i32;
    /// `ERROR_ACCESS_DENIED` (Windows has one code for both).
    pub(crate) const EPERM: i32 = f::ERROR_ACCESS_DENIED as i32;
    /// `ERROR_WORKING_SET_QUOTA`: `VirtualLock` past the working-set minimum.
    pub(crate) const EAGAIN: i32 = f::ERROR_WORKING_SET_QUOTA as i32;
    /// `ERROR_NOT_ENOUGH_QUOTA`.
    pub(crate) const ENOMEM: i32 = f::ERROR_NOT_ENOUGH_QUOTA as i32;
    /// `ERROR_INVALID_PARAMETER`.
    pub(crate) const EINVAL: i32 = f::ERROR_INVALID_PARAMETER as i32;
    /// `ERROR_CALL_NOT_IMPLEMENTED`.
    pub(crate) const ENOSYS: i32 = f::ERROR_CALL_NOT_IMPLEMENTED as i32;
    /// `ERROR_NOT_SUPPORTED`.
    pub(crate) const EOPNOTSUPP: i32 = f::ERROR_NOT_SUPPORTED as i32;
    /// `ERROR_DISK_FULL`.
    pub(crate) const ENOSPC: i32 = f::ERROR_DISK_FULL as i32;
    /// `ERROR_HANDLE_DISK_FULL` (Windows' second code for a full disk, where Unix has a quota's).
    pub(crate) const EDQUOT: i32 = f::ERROR_HANDLE_DISK_FULL as i32;
}

/// `Ok` where a call returned non-zero (`TRUE`), else `GetLastError`'s error.
fn check(ok: i32) -> io::Result<()> {
    if ok != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The error of a call Windows does not have.
fn unsupported<T>() -> io::Result<T> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn handle(file: &File) -> HANDLE {
    file.as_raw_handle() as HANDLE
}

/// `(page size, allocation granularity)` from `GetSystemInfo` (cached).
fn system_info() -> (usize, usize) {
    static INFO: OnceLock<(usize, usize)> = OnceLock::new();
    *INFO.get_or_init(|| {
        // SAFETY: an all-zero SYSTEM_INFO is a valid value; GetSystemInfo only writes it.
        let mut si: SystemInformation::SYSTEM_INFO = unsafe { std::mem::zeroed() };
        // SAFETY: `si` is a live SYSTEM_INFO the call fills.
        unsafe { SystemInformation::GetSystemInfo(&mut si) };
        (si.dwPageSize as usize, si.dwAllocationGranularity as usize)
    })
}

/// The system's page size (cached).
pub(crate) fn page_size() -> usize {
    system_info().0
}

/// The granularity of a view's file offset (64 KiB): memmap2 maps from the multiple of it
/// below the offset asked for.
#[allow(dead_code)]
pub(crate) fn allocation_granularity() -> usize {
    system_info().1
}

/// The number ndmmap gives a named advice on Windows, `None` where Windows has no
/// counterpart.
pub(crate) fn advice(name: &str) -> Option<i32> {
    ADVICE.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// Carries out `advice` (a number from [`advice`]) on `addr..addr + len`.
///
/// # Safety
/// `addr..addr + len` must lie within one live mapping owned by the caller; advice that can
/// change contents (free) must only be given where the caller allows that.
pub(crate) unsafe fn madvise(addr: usize, len: usize, advice: i32) -> io::Result<()> {
    match advice {
        WILLNEED => prefetch(addr, len),
        POPULATE_READ => {
            prefetch(addr, len)?;
            touch(addr, len)
        }
        FREE => {
            // SAFETY: the caller owns the range and allows its contents to go.
            let rc = unsafe { mem::DiscardVirtualMemory(addr as *mut c_void, len) };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(rc as i32))
            }
        }
        _ => unsupported(),
    }
}

/// `PrefetchVirtualMemory` over one range: a hint, which returns before the pages are read.
fn prefetch(addr: usize, len: usize) -> io::Result<()> {
    let entry = mem::WIN32_MEMORY_RANGE_ENTRY {
        VirtualAddress: addr as *mut c_void,
        NumberOfBytes: len,
    };
    // SAFETY: the entry is a live struct; prefetching only reads the range in, and an
    // unmapped range is an error, not undefined behaviour.
    check(unsafe { mem::PrefetchVirtualMemory(Threading::GetCurrentProcess(), 1, &entry, 0) })
}

/// Reads one byte of every page of `addr..addr + len`, so each is resident when this
/// returns; a range with an unreadable page is `ERROR_NOACCESS` (nothing is read then).
fn touch(addr: usize, len: usize) -> io::Result<()> {
    let end = addr + len;
    let mut at = addr;
    while at < end {
        // SAFETY: an all-zero MEMORY_BASIC_INFORMATION is valid; VirtualQuery only writes it.
        let mut mbi: mem::MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `mbi` is live and of the size given.
        let n = unsafe {
            mem::VirtualQuery(
                at as *const c_void,
                &mut mbi,
                size_of::<mem::MEMORY_BASIC_INFORMATION>(),
            )
        };
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        let readable = mbi.State == mem::MEM_COMMIT
            && mbi.Protect & (mem::PAGE_NOACCESS | mem::PAGE_GUARD) == 0
            && mbi.Protect != 0;
        if !readable {
            return Err(io::Error::from_raw_os_error(
                windows_sys::Win32::Foundation::ERROR_NOACCESS as i32,
            ));
        }
        at = (mbi.BaseAddress as usize + mbi.RegionSize).max(at + 1);
    }
    let ps = page_size();
    let mut p = addr;
    while p < end {
        // SAFETY: the page is committed and readable (checked above) and lies in a mapping the
        // caller owns; a volatile read of one byte has no other effect.
        unsafe { std::ptr::read_volatile(p as *const u8) };
        p += ps;
    }
    Ok(())
}

/// `FlushViewOfFile`, then `FlushFileBuffers` for `MS_SYNC` (or `MS_INVALIDATE`). Anonymous
/// memory (`file` is `None`) has nothing to flush to.
pub(crate) fn msync(addr: usize, len: usize, flags: i32, file: Option<&File>) -> io::Result<()> {
    let Some(file) = file else {
        return Ok(());
    };
    // SAFETY: FlushViewOfFile only writes dirty pages of the range back; an address outside a
    // view is an error.
    check(unsafe { mem::FlushViewOfFile(addr as *const c_void, len) })?;
    if flags & (MS_SYNC | MS_INVALIDATE) != 0 {
        // SAFETY: a live file handle; the call only waits for writes to reach the disk.
        match check(unsafe { fs::FlushFileBuffers(handle(file)) }) {
            // A handle without write access has written nothing to wait for.
            Err(e) if e.raw_os_error() == Some(errno::EACCES) => {}
            r => r?,
        }
    }
    Ok(())
}

/// `VirtualLock(addr, len)`: bounded by the process's minimum working-set size
/// (`ERROR_WORKING_SET_QUOTA` past it). `on_fault` is refused by the caller.
pub(crate) fn mlock(addr: usize, len: usize, _on_fault: bool) -> io::Result<()> {
    // SAFETY: locking changes no contents; an unmapped range is an error.
    check(unsafe { mem::VirtualLock(addr as *const c_void, len) })
}

/// `VirtualUnlock(addr, len)`. Pages that were not locked are `Ok`, as with `munlock` (Windows
/// answers `ERROR_NOT_LOCKED`, having dropped them from the working set).
pub(crate) fn munlock(addr: usize, len: usize) -> io::Result<()> {
    // SAFETY: unlocking changes no contents; an unmapped range is an error.
    match check(unsafe { mem::VirtualUnlock(addr as *const c_void, len) }) {
        Err(e)
            if e.raw_os_error()
                == Some(windows_sys::Win32::Foundation::ERROR_NOT_LOCKED as i32) =>
        {
            Ok(())
        }
        r => r,
    }
}

/// `VirtualProtect(addr, len, …)` for ndmmap's protection bits. A copy-on-write view cannot
/// be made `PAGE_READWRITE`: it is given `PAGE_WRITECOPY` then.
///
/// # Safety
/// The caller must make sure no reference into the range is used in a way the new protection
/// forbids (the array API takes `&mut self` and tracks the protection).
pub(crate) unsafe fn mprotect(addr: usize, len: usize, prot: i32) -> io::Result<()> {
    let new = if prot & PROT_WRITE != 0 {
        mem::PAGE_READWRITE
    } else if prot & PROT_READ != 0 {
        mem::PAGE_READONLY
    } else {
        mem::PAGE_NOACCESS
    };
    let mut old = 0;
    // SAFETY: forwarded to the caller's contract; `old` is a live u32.
    let r = check(unsafe { mem::VirtualProtect(addr as *const c_void, len, new, &mut old) });
    match r {
        Err(_) if new == mem::PAGE_READWRITE => {
            // SAFETY: as above.
            check(unsafe {
                mem::VirtualProtect(addr as *const c_void, len, mem::PAGE_WRITECOPY, &mut old)
            })
        }
        r => r,
    }
}

/// Residency of `len / page_size` pages from `addr`: one byte per page, 1 where the page is in
/// this process's working set (`QueryWorkingSetEx`'s `Valid` bit). A page the system caches
/// but this process has not touched (or has lost from its working set) is 0.
pub(crate) fn mincore(addr: usize, len: usize, out: &mut [u8]) -> io::Result<()> {
    const BATCH: usize = 1 << 14;
    let ps = page_size();
    let pages = len.div_ceil(ps).min(out.len());
    let mut info: Vec<ProcessStatus::PSAPI_WORKING_SET_EX_INFORMATION> = Vec::new();
    for (b, chunk) in out[..pages].chunks_mut(BATCH).enumerate() {
        info.clear();
        info.extend(
            (0..chunk.len()).map(|i| ProcessStatus::PSAPI_WORKING_SET_EX_INFORMATION {
                VirtualAddress: (addr + (b * BATCH + i) * ps) as *mut c_void,
                VirtualAttributes: Default::default(),
            }),
        );
        let bytes = std::mem::size_of_val(info.as_slice()) as u32;
        // SAFETY: `info` holds `chunk.len()` entries whose addresses the call reads and whose
        // attributes it writes, `bytes` long.
        check(unsafe {
            ProcessStatus::K32QueryWorkingSetEx(
                Threading::GetCurrentProcess(),
                info.as_mut_ptr().cast(),
                bytes,
            )
        })?;
        for (o, i) in chunk.iter_mut().zip(&info) {
            // SAFETY: every bit pattern of the union is a valid usize.
            *o = (unsafe { i.VirtualAttributes.Flags } & 1) as u8;
        }
    }
    Ok(())
}

/// No `cachestat`.
pub(crate) fn cachestat(_file: &File, _off: u64, _len: u64) -> io::Result<RawCacheStat> {
    unsupported()
}

/// No `posix_fadvise`: eviction and readahead hints are `Unsupported`.
pub(crate) fn fadvise(_file: &File, _off: u64, _len: u64, _advice: FileAdvice) -> io::Result<()> {
    unsupported()
}

/// `PrefetchVirtualMemory` takes any length at once: no window to split it by.
pub(crate) fn readahead_window(_file: &File) -> usize {
    usize::MAX
}

/// No file seals.
pub(crate) fn seals(_file: &File) -> io::Result<Seals> {
    unsupported()
}

/// Makes the file at least `off + len` bytes long with its blocks allocated
/// (`SetFileInformationByHandle(FileAllocationInfo)`, then `set_len`), so a full disk fails
/// now, not at a page fault. A file already allocated that far is only extended if shorter.
pub(crate) fn fallocate(file: &File, off: u64, len: u64) -> io::Result<()> {
    let end = off
        .checked_add(len)
        .and_then(|e| i64::try_from(e).ok())
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    match allocate(file, end) {
        // Where the file system (or Wine) cannot set an allocation size: extending a file that
        // is not sparse allocates it on NTFS.
        Err(e)
            if e.kind() == io::ErrorKind::Unsupported
                || e.raw_os_error() == Some(errno::EINVAL) =>
        {
            if file.metadata()?.len() < end as u64 {
                file.set_len(end as u64)?;
            }
            Ok(())
        }
        r => r,
    }
}

/// [`fallocate`] through `FileAllocationInfo`.
fn allocate(file: &File, end: i64) -> io::Result<()> {
    // SAFETY: an all-zero FILE_STANDARD_INFO is valid; the call writes it.
    let mut std_info: fs::FILE_STANDARD_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: `std_info` is live and of the size given.
    check(unsafe {
        fs::GetFileInformationByHandleEx(
            handle(file),
            fs::FileStandardInfo,
            (&mut std_info as *mut fs::FILE_STANDARD_INFO).cast(),
            size_of::<fs::FILE_STANDARD_INFO>() as u32,
        )
    })?;
    if std_info.AllocationSize < end {
        let alloc = fs::FILE_ALLOCATION_INFO {
            AllocationSize: end,
        };
        // SAFETY: `alloc` is live and of the size given; a larger allocation never truncates.
        check(unsafe {
            fs::SetFileInformationByHandle(
                handle(file),
                fs::FileAllocationInfo,
                (&alloc as *const fs::FILE_ALLOCATION_INFO).cast(),
                size_of::<fs::FILE_ALLOCATION_INFO>() as u32,
            )
        })?;
    }
    if std_info.EndOfFile < end {
        file.set_len(end as u64)?;
    }
    Ok(())
}

/// `GetFinalPathNameByHandleW`, without its `\\?\` prefix.
pub(crate) fn fd_path(file: &File) -> Option<PathBuf> {
    let mut buf = vec![0u16; 1024];
    loop {
        // SAFETY: the call writes at most `buf.len()` UTF-16 units.
        let n = unsafe {
            fs::GetFinalPathNameByHandleW(handle(file), buf.as_mut_ptr(), buf.len() as u32, 0)
        } as usize;
        if n == 0 {
            return None;
        }
        if n < buf.len() {
            buf.truncate(n);
            break;
        }
        buf.resize(n + 1, 0);
    }
    let s = String::from_utf16(&buf).ok()?;
    let s = match s.strip_prefix(r"\\?\UNC\") {
        Some(rest) => format!(r"\\{rest}"),
        None => s.strip_prefix(r"\\?\").map(str::to_string).unwrap_or(s),
    };
    Some(PathBuf::from(s))
}

/// The byte `lock_file` locks: far past the end of any file, so that the lock, which Windows
/// enforces on reads and writes of the bytes it covers, stops no `ReadFile` or `WriteFile` of
/// the file's data (a whole-file lock, as `std::fs::File::lock` takes, would refuse the
/// resizer's own header write through its other handle).
const LOCK_BYTE: u64 = (i64::MAX - 1) as u64;

/// `LockFileEx` on [`LOCK_BYTE`], exclusive or shared: waits until it is granted (the
/// handle is synchronous). The lock belongs to the handle, and Windows releases it when the
/// handle closes or the process ends.
pub(crate) fn lock_file(file: &File, exclusive: bool) -> io::Result<()> {
    let mut at = lock_overlapped();
    let flags = if exclusive {
        fs::LOCKFILE_EXCLUSIVE_LOCK
    } else {
        0
    };
    // SAFETY: `at` is live for the call, which waits (a synchronous handle) before returning.
    check(unsafe { fs::LockFileEx(handle(file), flags, 0, 1, 0, &mut at) })
}

/// `UnlockFileEx` of what [`lock_file`] locked.
pub(crate) fn unlock_file(file: &File) -> io::Result<()> {
    let mut at = lock_overlapped();
    // SAFETY: as in `lock_file`.
    check(unsafe { fs::UnlockFileEx(handle(file), 0, 1, 0, &mut at) })
}

/// An `OVERLAPPED` that says where [`LOCK_BYTE`] is.
fn lock_overlapped() -> windows_sys::Win32::System::IO::OVERLAPPED {
    let mut at = windows_sys::Win32::System::IO::OVERLAPPED::default();
    at.Anonymous.Anonymous.Offset = LOCK_BYTE as u32;
    at.Anonymous.Anonymous.OffsetHigh = (LOCK_BYTE >> 32) as u32;
    at
}

/// `(volume serial number, file index)` from `GetFileInformationByHandle`.
pub(crate) fn file_id(file: &File) -> io::Result<(u64, u64)> {
    // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is valid; the call writes it.
    let mut info: fs::BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is live.
    check(unsafe { fs::GetFileInformationByHandle(handle(file), &mut info) })?;
    Ok((
        info.dwVolumeSerialNumber as u64,
        (info.nFileIndexHigh as u64) << 32 | info.nFileIndexLow as u64,
    ))
}

/// The access a handle was opened with: `(readable, writable)`, from the access the object
/// manager granted it (`NtQueryObject(ObjectBasicInformation)`).
pub(crate) fn access_mode(file: &File) -> io::Result<(bool, bool)> {
    use windows_sys::Wdk::Foundation::{NtQueryObject, ObjectBasicInformation};
    use windows_sys::Win32::System::WindowsProgramming::PUBLIC_OBJECT_BASIC_INFORMATION;
    let mut info = PUBLIC_OBJECT_BASIC_INFORMATION::default();
    let mut got = 0u32;
    // SAFETY: `info` is live and of the size given; the call writes at most that.
    let status = unsafe {
        NtQueryObject(
            handle(file),
            ObjectBasicInformation,
            (&mut info as *mut PUBLIC_OBJECT_BASIC_INFORMATION).cast(),
            size_of::<PUBLIC_OBJECT_BASIC_INFORMATION>() as u32,
            &mut got,
        )
    };
    if status < 0 {
        // Not known: let the map itself succeed or fail.
        return Ok((true, true));
    }
    let a = info.GrantedAccess;
    Ok((
        a & (fs::FILE_READ_DATA | windows_sys::Win32::Foundation::GENERIC_READ) != 0,
        a & (fs::FILE_WRITE_DATA | windows_sys::Win32::Foundation::GENERIC_WRITE) != 0,
    ))
}

/// Residency is the working set, which every process sees for itself: always answered.
pub(crate) fn may_write(_file: &File) -> bool {
    true
}

/// The minimum working-set size in bytes (`GetProcessWorkingSetSize`), which bounds what
/// `VirtualLock` can lock (a little less than it, in practice).
pub(crate) fn memlock_limit() -> Option<u64> {
    let (mut min, mut max) = (0usize, 0usize);
    // SAFETY: both pointers are to live usizes.
    let ok = unsafe {
        Threading::GetProcessWorkingSetSize(Threading::GetCurrentProcess(), &mut min, &mut max)
    };
    (ok != 0).then_some(min as u64)
}

/// Raises this process's minimum and maximum working-set sizes by `bytes`, so that
/// `VirtualLock` can lock that much more (no privilege is needed).
pub(crate) fn grow_working_set(bytes: usize) -> io::Result<()> {
    let (mut min, mut max) = (0usize, 0usize);
    // SAFETY: the pseudo-handle of this process needs no closing; both pointers are to live
    // usizes.
    check(unsafe {
        Threading::GetProcessWorkingSetSize(Threading::GetCurrentProcess(), &mut min, &mut max)
    })?;
    let too_big = || io::Error::other("more than the address space");
    let min = min.checked_add(bytes).ok_or_else(too_big)?;
    let max = max.checked_add(bytes).ok_or_else(too_big)?;
    // SAFETY: as above; the sizes are plain numbers, which Windows checks.
    check(unsafe { Threading::SetProcessWorkingSetSize(Threading::GetCurrentProcess(), min, max) })
}

/// Never called on Windows (no fault is guarded there): `Unsupported`.
///
/// # Safety
/// None needed; `unsafe` to match the Unix signature.
pub(crate) unsafe fn map_file_fixed(
    _addr: usize,
    _len: usize,
    _prot: i32,
    _shared: bool,
    _file: &File,
    _off: u64,
) -> io::Result<()> {
    unsupported()
}

/// Whether the volume holding `file` has no byte left for this user (`GetDiskFreeSpaceExW`
/// is not asked: only a guarded fault needs this, and Windows guards none).
pub(crate) fn filesystem_full(_file: &File) -> bool {
    false
}

/// Bytes free on the volume holding `file`: not asked (`GetDiskFreeSpaceExW` takes a path).
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn free_space(_file: &File) -> Option<u64> {
    None
}

/// A lock that a killed process's temporary files would lose: Windows has `LockFileEx`, but
/// the writers' clean-up tells a live writer by its process alone ([`process_alive`]), so
/// this takes none and answers `true`.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn try_lock(_file: &File) -> io::Result<bool> {
    Ok(true)
}

/// Whether a process `pid` is running (`OpenProcess`, then `GetExitCodeProcess` is not
/// `STILL_ACTIVE`). A process this user may not query is taken as running.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn process_alive(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, GetLastError, STILL_ACTIVE};
    // SAFETY: OpenProcess takes plain values and returns a handle or null.
    let h = unsafe { Threading::OpenProcess(Threading::PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        // SAFETY: GetLastError has no preconditions.
        return unsafe { GetLastError() } == ERROR_ACCESS_DENIED;
    }
    let mut code = 0u32;
    // SAFETY: `h` is a live process handle; `code` is ours to write.
    let ok = unsafe { Threading::GetExitCodeProcess(h, &mut code) } != 0;
    // SAFETY: `h` was opened above and is closed once.
    unsafe { CloseHandle(h) };
    !ok || code == STILL_ACTIVE as u32
}

/// No unnamed files on Windows: the writers use named temporary files.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn unnamed_file_in(_dir: &std::path::Path, _mode: u32) -> io::Result<Option<File>> {
    Ok(None)
}

/// No unnamed files to link.
#[cfg_attr(not(feature = "npy"), allow(dead_code))]
pub(crate) fn link_unnamed(_file: &File, _dest: &std::path::Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Reads at `offset` (`seek_read`), putting the handle's position back: on Windows a
/// positioned read moves it, and the position is the default map offset.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut f = file;
    let pos = f.stream_position()?;
    let r = file.seek_read(buf, offset);
    f.seek(SeekFrom::Start(pos))?;
    r
}

/// Writes all of `buf` at `offset` (`seek_write`), putting the handle's position back.
pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    let mut f = file;
    let pos = f.stream_position()?;
    let mut r = Ok(());
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => {
                r = Err(io::Error::from(io::ErrorKind::WriteZero));
                break;
            }
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                r = Err(e);
                break;
            }
        }
    }
    f.seek(SeekFrom::Start(pos))?;
    r
}

/// A view of a pagefile-backed section: zeroed memory shared with every process that maps the
/// same section (unnamed here: with nobody but this process, as Windows has no `fork`; named
/// sections are `shm`'s). Unmapped on drop.
#[derive(Debug)]
pub(crate) struct SharedAnon {
    view: View,
}

impl SharedAnon {
    /// Maps `len` zeroed bytes (at least one byte is mapped so the address is valid).
    pub(crate) fn new(len: usize, _extra_flags: i32) -> io::Result<SharedAnon> {
        let section = Section::create(len.max(1) as u64, None)?;
        let view = section.map(mem::FILE_MAP_READ | mem::FILE_MAP_WRITE)?;
        Ok(SharedAnon { view })
    }

    pub(crate) fn ptr(&self) -> *mut u8 {
        self.view.ptr()
    }
}

/// A section handle (`CreateFileMappingW` / `OpenFileMappingW`), closed on drop. Its views
/// keep the section alive after the handle is closed.
#[derive(Debug)]
pub(crate) struct Section(HANDLE);

// SAFETY: a section handle may be used and closed from any thread.
unsafe impl Send for Section {}
// SAFETY: as above; `&Section` only maps views.
unsafe impl Sync for Section {}

impl Section {
    /// A new pagefile-backed section of `size` bytes, read-write, named `name` (UTF-16, NUL
    /// terminated) or unnamed. A name that exists is `ErrorKind::AlreadyExists`.
    pub(crate) fn create(size: u64, name: Option<&[u16]>) -> io::Result<Section> {
        let name_ptr = name.map_or(std::ptr::null(), <[u16]>::as_ptr);
        // SAFETY: a null security descriptor and a NUL-terminated name (or null) that outlives
        // the call.
        let h = unsafe {
            mem::CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null(),
                mem::PAGE_READWRITE,
                (size >> 32) as u32,
                size as u32,
                name_ptr,
            )
        };
        let err = io::Error::last_os_error();
        if h.is_null() {
            return Err(err);
        }
        let section = Section(h);
        if name.is_some()
            && err.raw_os_error()
                == Some(windows_sys::Win32::Foundation::ERROR_ALREADY_EXISTS as i32)
        {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        Ok(section)
    }

    /// Opens the named section `name` (UTF-16, NUL terminated), for writing if `write`.
    pub(crate) fn open(name: &[u16], write: bool) -> io::Result<Section> {
        let access = if write {
            mem::FILE_MAP_READ | mem::FILE_MAP_WRITE
        } else {
            mem::FILE_MAP_READ
        };
        // SAFETY: a NUL-terminated name that outlives the call.
        let h = unsafe { mem::OpenFileMappingW(access, 0, name.as_ptr()) };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Section(h))
    }

    /// Maps the whole section with `access` (`FILE_MAP_*`).
    pub(crate) fn map(&self, access: u32) -> io::Result<View> {
        // SAFETY: a live section handle; length 0 maps the whole section at an address the
        // system picks, aliasing nothing of ours.
        let addr = unsafe { mem::MapViewOfFile(self.0, access, 0, 0, 0) };
        if addr.Value.is_null() {
            return Err(io::Error::last_os_error());
        }
        // Unmapped on drop if what follows fails.
        let mut view = View {
            ptr: addr.Value as usize,
            len: 0,
            _section: None,
        };
        view._section = Some(self.duplicate()?);
        // SAFETY: an all-zero MEMORY_BASIC_INFORMATION is valid; VirtualQuery only writes it.
        let mut mbi: mem::MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `mbi` is live and of the size given.
        let n = unsafe {
            mem::VirtualQuery(
                addr.Value,
                &mut mbi,
                size_of::<mem::MEMORY_BASIC_INFORMATION>(),
            )
        };
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        view.len = mbi.RegionSize;
        Ok(view)
    }
}

impl Section {
    /// Another handle of the same section (`DuplicateHandle`).
    fn duplicate(&self) -> io::Result<Section> {
        use windows_sys::Win32::Foundation::{DUPLICATE_SAME_ACCESS, DuplicateHandle};
        let mut h: HANDLE = std::ptr::null_mut();
        // SAFETY: both process handles are this process's pseudo-handle; `h` is a live HANDLE
        // the call writes.
        check(unsafe {
            let me = Threading::GetCurrentProcess();
            DuplicateHandle(me, self.0, me, &mut h, 0, 0, DUPLICATE_SAME_ACCESS)
        })?;
        Ok(Section(h))
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by `create` or `open` and is closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

/// A mapped view of a section, unmapped on drop. It holds a handle of its section, closed
/// after the view is unmapped: Windows keeps a section (and its name) alive while a view of it
/// exists, Wine only while a handle does.
#[derive(Debug)]
pub(crate) struct View {
    ptr: usize,
    /// The view's size (the section's, rounded up to whole pages).
    len: usize,
    _section: Option<Section>,
}

impl View {
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.ptr as *mut u8
    }

    /// The view's size in bytes: the section's, rounded up to whole pages.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: the view was mapped by `Section::map` and is unmapped once, here.
        unsafe {
            mem::UnmapViewOfFile(mem::MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.ptr as *mut c_void,
            })
        };
    }
}

/// The width of the console window on stdout, if stdout is one.
pub(crate) fn stdout_columns() -> Option<usize> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::System::Console::{
        CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo,
    };
    // SAFETY: CONSOLE_SCREEN_BUFFER_INFO is plain integers, for which all zeroes is a value.
    let mut info: CONSOLE_SCREEN_BUFFER_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is stdout's, open for the life of the process; the call writes only
    // `info`, which we own, and fails for a file or a pipe.
    let ok = unsafe { GetConsoleScreenBufferInfo(std::io::stdout().as_raw_handle(), &mut info) };
    let w = i32::from(info.srWindow.Right) - i32::from(info.srWindow.Left) + 1;
    (ok != 0 && w > 0).then_some(w as usize)
}
