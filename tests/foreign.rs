//! Maps ndmmap did not make: files, shared anonymous memory and memfds mapped here with
//! `libc::mmap` directly are found from an address, and the page toolkit and the fault guard
//! work on them (and on strided views into them) as on ndmmap's own arrays.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use ndarray::Axis;
use ndmmap::{Advice, Dirty, Error, FaultCause, Flush, ForeignMap, Lock, Residency};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

/// A map made with `libc::mmap`, unmapped on drop.
struct Raw {
    ptr: *mut u8,
    len: usize,
}

impl Raw {
    fn new(len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> Raw {
        // SAFETY: a new mapping at an address the kernel picks.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, off) };
        assert_ne!(
            p,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        Raw { ptr: p.cast(), len }
    }

    fn file(f: &File, len: usize, shared: bool, write: bool) -> Raw {
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        let flags = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        let m = Raw::new(len, prot, flags, f.as_raw_fd(), 0);
        // No readahead around a fault: touching a page loads that page.
        // SAFETY: advice that changes no contents, over the whole new map.
        assert_eq!(
            unsafe { libc::madvise(m.ptr.cast(), len, libc::MADV_RANDOM) },
            0
        );
        m
    }

    fn at(&self, byte: usize) -> *const u8 {
        assert!(byte <= self.len);
        self.ptr.wrapping_add(byte)
    }

    /// Reads one byte of each of `pages` (faults them in).
    fn touch(&self, pages: &[usize]) {
        for &p in pages {
            // SAFETY: the page lies in the map.
            unsafe { std::ptr::read_volatile(self.at(p * page())) };
        }
    }

    fn find(&self) -> ForeignMap {
        // SAFETY: the map lives until `self` is dropped, after the ForeignMap.
        unsafe { ForeignMap::find(self.ptr, self.len) }.unwrap()
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: our own map, no reference into it outlives it.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// `mincore` straight from the kernel, one bool per page of `addr..addr + len`.
fn direct_mincore(addr: *const u8, len: usize) -> Vec<bool> {
    let ps = page();
    let start = addr as usize & !(ps - 1);
    let n = (addr as usize + len - start).div_ceil(ps);
    let mut v = vec![0u8; n];
    // SAFETY: the range lies in a live mapping; `v` holds one byte per page.
    let r = unsafe { libc::mincore(start as *mut _, n * ps, v.as_mut_ptr()) };
    assert_eq!(r, 0);
    v.into_iter().map(|b| b & 1 == 1).collect()
}

fn rw(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap()
}

#[test]
fn residency_equals_mincore_after_touching_chosen_pages() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "r.bin", &pattern(32 * ps));
    let f = cold(&p);
    let m = Raw::file(&f, 32 * ps, true, false);
    m.touch(&[1, 5, 6, 30]);
    let fm = m.find();
    assert_eq!(fm.path(), Some(p.as_path()));
    assert_eq!((fm.offset(), fm.len(), fm.is_shared()), (0, 32 * ps, true));
    assert!(!fm.is_writable() && !fm.is_deleted());
    assert!(fm.file().is_some(), "the file could be opened again");
    let pages = fm.all_pages().unwrap();
    let bits = pages.mincore().unwrap();
    assert_eq!(bits, direct_mincore(m.ptr, m.len));
    assert!(bits[1] && bits[5] && bits[6] && bits[30] && !bits[0] && !bits[31]);
    assert_eq!(pages.residency().unwrap().resident, 4);
    // A find inside the map starts there: offset and pages count from that byte.
    // SAFETY: the map lives.
    let inner = unsafe { ForeignMap::find(m.at(5 * ps + 8), ps) }.unwrap();
    assert_eq!(
        (inner.offset(), inner.page_span().page_count),
        (5 * ps as u64 + 8, 2)
    );
    assert_eq!(inner.all_pages().unwrap().mincore().unwrap(), [true, true]);
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // ranges of indices, as ranges_along gives them
fn strided_and_reversed_views_count_along_their_axes() {
    let dir = tmpdir();
    let ps = page();
    // 16 rows of 2 pages each (f64: 1024 per row).
    let p = file_with(dir.path(), "s.bin", &vec![0u8; 32 * ps]);
    let f = cold(&p);
    let m = Raw::file(&f, 32 * ps, true, false);
    m.touch(&[0, 3, 8, 9, 31]); // row 0 first half, row 1 second, row 4 whole, row 15 second
    let fm = m.find();
    let row = 2 * ps as isize;
    let per_row = |first: usize, rows: &[usize]| {
        rows.iter()
            .map(|&r| direct_mincore(m.at((first + r) * 2 * ps), 2 * ps))
            .collect::<Vec<_>>()
    };
    // Every other row (a[::2]).
    let even = fm.pages(m.ptr, &[8, 1024], &[2 * row, 8], 8).unwrap();
    let c = even.counts_along(Axis(0)).unwrap();
    let expect: Vec<usize> = per_row(0, &[0, 2, 4, 6, 8, 10, 12, 14])
        .iter()
        .map(|b| b.iter().filter(|&&x| x).count())
        .collect();
    assert_eq!(c.iter().map(|r| r.resident).collect::<Vec<_>>(), expect);
    assert_eq!(expect, [1, 0, 2, 0, 0, 0, 0, 0]);
    assert_eq!(even.len(), 16);
    // Back to front (a[::-1]): index i is row 15 - i.
    let rev = fm
        .pages(m.at(15 * 2 * ps), &[16, 1024], &[-row, 8], 8)
        .unwrap();
    let c = rev.counts_along(Axis(0)).unwrap();
    let got: Vec<usize> = c.iter().map(|r| r.resident).collect();
    let mut want = vec![0usize; 16];
    (want[0], want[14], want[15], want[11]) = (1, 1, 1, 2);
    assert_eq!(got, want);
    let some = rev.ranges_along(Axis(0), |r| r.resident > 0).unwrap();
    assert_eq!(some, [0..1, 11..12, 14..16]);
    assert_eq!(
        rev.ranges_along(Axis(0), Residency::is_full).unwrap(),
        [11..12]
    );
    // Columns of the first half-page of each row, reversed inside: pages 0 of each row.
    let cols = fm.pages(m.at(511 * 8), &[16, 512], &[row, -8], 8).unwrap();
    assert_eq!(cols.residency().unwrap().resident, 2); // rows 0 and 4
    assert_eq!(cols.len(), 16);
    // A broadcast axis (stride 0) repeats the same bytes.
    let b = fm.pages(m.at(8 * ps), &[5, 512], &[0, 8], 8).unwrap();
    let c = b.counts_along(Axis(0)).unwrap();
    assert!(c.iter().all(|r| (r.resident, r.total) == (1, 1)));
    // Elements outside the map are refused.
    let e = fm.pages(m.ptr, &[17, 1024], &[row, 8], 8).unwrap_err();
    assert!(matches!(e, Error::NotMapped { .. }), "{e}");
    let e = fm.pages(m.ptr, &[2, 8], &[-8, 1], 1).unwrap_err();
    assert!(matches!(e, Error::NotMapped { .. }), "{e}");
    // A start that is no multiple of the item: the item's bytes are one more axis.
    let odd = fm.pages(m.at(ps - 4), &[2], &[ps as isize], 8).unwrap();
    assert_eq!(odd.len(), 3);
    assert_eq!(odd.counts_along(Axis(0)).unwrap()[0].total, 2);
}

#[test]
fn a_map_split_by_madvise_is_found_whole() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "m.bin", &pattern(16 * ps));
    let f = rw(&p);
    let m = Raw::file(&f, 16 * ps, true, true);
    // SAFETY: advice that changes no contents, on pages of the map.
    assert_eq!(
        unsafe { libc::madvise(m.ptr.add(4 * ps).cast(), 4 * ps, libc::MADV_SEQUENTIAL) },
        0
    );
    let line = maps_line(m.ptr as usize).unwrap();
    let end = usize::from_str_radix(line.split(['-', ' ']).nth(1).unwrap(), 16).unwrap();
    assert_eq!(
        end,
        m.ptr as usize + 4 * ps,
        "the kernel split the area: {line}"
    );
    let fm = m.find();
    assert_eq!(fm.len(), 16 * ps);
    // And ndmmap's own advice on a part splits it again, and it still works.
    let mid = fm.pages(m.at(10 * ps), &[ps], &[1], 1).unwrap();
    mid.advise(Advice::Sequential).unwrap();
    // SAFETY: the map lives.
    let again = unsafe { ForeignMap::find(m.ptr, m.len) }.unwrap();
    let all = again.all_pages().unwrap();
    all.advise(Advice::PopulateRead).unwrap();
    assert_eq!(all.residency().unwrap().resident, 16);
    all.flush(Flush::Sync).unwrap();
    all.lock(Lock::Now).unwrap();
    all.unlock().unwrap();
}

#[test]
fn shared_anonymous_memory_and_memfds_are_accepted() {
    let ps = page();
    let anon = Raw::new(
        8 * ps,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED | libc::MAP_ANONYMOUS,
        -1,
        0,
    );
    anon.touch(&[2]);
    let fm = anon.find();
    assert_eq!((fm.path(), fm.is_shared()), (None, true));
    assert!(fm.file().is_none());
    assert_eq!(
        fm.all_pages().unwrap().mincore().unwrap(),
        direct_mincore(anon.ptr, anon.len)
    );
    let e = fm.all_pages().unwrap().evict().unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");

    let name = c"ndmmap foreign";
    // SAFETY: a new memory file.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: a fresh descriptor we own.
    let memfd = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    memfd.set_len(8 * ps as u64).unwrap();
    let m = Raw::file(&memfd, 8 * ps, true, true);
    drop(memfd); // the map keeps the file alive; a descriptor is found again or not at all
    m.touch(&[0, 7]);
    let fm = m.find();
    assert_eq!(fm.path(), Some(Path::new("/memfd:ndmmap foreign")));
    assert!(fm.is_deleted() && fm.is_writable());
    let r = fm.all_pages().unwrap().residency().unwrap();
    assert_eq!((r.resident, r.total), (2, 8));
    // As root, /proc/self/map_files opens it; checked as the mapped file.
    if ndmmap_is_root() {
        let f = fm.file().expect("map_files opens the memfd for root");
        assert_eq!(f.metadata().unwrap().len(), 8 * ps as u64);
    }
}

fn ndmmap_is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn heap_private_anonymous_and_unmapped_memory_are_refused() {
    #[allow(clippy::useless_vec)] // the heap is the point
    let small = vec![1u8; 64];
    // SAFETY: the vector lives for the call.
    let e = unsafe { ForeignMap::find(small.as_ptr(), small.len()) }.unwrap_err();
    match &e {
        Error::NotMapped { addr, len, why } => {
            assert_eq!((*addr, *len), (small.as_ptr() as usize, 64));
            assert!(why.contains("heap"), "{e}");
        }
        e => panic!("{e}"),
    }
    let large = vec![1u8; 64 << 20]; // malloc maps this privately
    // SAFETY: as above.
    let e = unsafe { ForeignMap::find(large.as_ptr(), large.len()) }.unwrap_err();
    assert!(
        matches!(&e, Error::NotMapped { why, .. } if why.contains("private anonymous")),
        "{e}"
    );
    let private = Raw::new(
        4 * page(),
        libc::PROT_READ,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    );
    // SAFETY: as above.
    let e = unsafe { ForeignMap::find(private.ptr, private.len) }.unwrap_err();
    assert!(matches!(e, Error::NotMapped { .. }), "{e}");
    // A test thread's stack is private anonymous memory too (the main thread's is [stack]).
    let stack = 0u64;
    // SAFETY: as above.
    let e = unsafe { ForeignMap::find((&raw const stack).cast(), 8) }.unwrap_err();
    assert!(matches!(e, Error::NotMapped { .. }), "{e}");
    let gone = private.ptr as usize;
    drop(private);
    // SAFETY: nothing is read at an unmapped address.
    let e = unsafe { ForeignMap::find(gone as *const u8, 1) }.unwrap_err();
    assert!(
        matches!(&e, Error::NotMapped { why, .. } if why.contains("nothing")),
        "{e}"
    );
    assert!(e.to_string().contains(&format!("{gone:#x}")), "{e}");
    // A range past the end of a file map.
    let dir = tmpdir();
    let p = file_with(dir.path(), "e.bin", &vec![0u8; 2 * page()]);
    let f = File::open(&p).unwrap();
    let m = Raw::file(&f, 2 * page(), true, false);
    // SAFETY: nothing is read.
    let e = unsafe { ForeignMap::find(m.ptr, 3 * page()) }.unwrap_err();
    assert!(
        matches!(&e, Error::NotMapped { why, .. } if why.contains("ends")),
        "{e}"
    );
}

#[test]
fn evict_makes_pages_non_resident_after_writing_them_back() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "v.bin", &vec![0u8; 16 * ps]);
    let f = rw(&p);
    let m = Raw::file(&f, 16 * ps, true, true);
    // Dirty every page through the file (this process maps them but has not touched them:
    // pages mapped into page tables stay in the cache whatever is done). The whole file is
    // evicted: the page cache may hold it in one large folio, which a part cannot drop.
    std::os::unix::fs::FileExt::write_all_at(&f, &vec![7u8; 16 * ps], 0).unwrap();
    let fm = m.find();
    let pages = fm.pages(m.ptr, &[16 * ps], &[1], 1).unwrap();
    let cs = pages.cachestat().unwrap();
    assert_eq!(cs.resident, 16);
    if cs.source == ndmmap::CountSource::Cachestat {
        assert_eq!(cs.dirty, Some(16));
    }
    let e = pages.evict_report(Dirty::WriteBack).unwrap();
    assert_eq!(
        (e.selected, e.before, e.after),
        (16, Some(16), Some(0)),
        "{e}"
    );
    assert!(e.written_back);
    assert!(direct_mincore(m.ptr, 16 * ps).iter().all(|&b| !b));
    // SAFETY: within the map; the data comes back from the file.
    assert_eq!(unsafe { std::ptr::read_volatile(m.at(3 * ps)) }, 7);
}

#[test]
fn a_deleted_file_still_gives_residency() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "d.bin", &vec![3u8; 8 * ps]);
    let f = cold(&p);
    let m = Raw::file(&f, 8 * ps, false, false);
    drop(f);
    std::fs::remove_file(&p).unwrap();
    m.touch(&[2, 3]);
    let fm = m.find();
    assert!(fm.is_deleted() && !fm.is_shared());
    assert_eq!(fm.path(), Some(p.as_path()));
    let pages = fm.all_pages().unwrap();
    assert_eq!(pages.mincore().unwrap(), direct_mincore(m.ptr, m.len));
    assert_eq!(pages.residency().unwrap().resident, 2);
}

#[test]
fn without_the_file_residency_works_and_evict_says_why() {
    // An unprivileged process that closed the memfd: no map_files, no path, no descriptor.
    let code = as_nobody(|| {
        let ps = page();
        // SAFETY: a new memory file.
        let fd = unsafe { libc::memfd_create(c"gone".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return 2;
        }
        // SAFETY: a fresh descriptor we own.
        let memfd = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        memfd.set_len(4 * ps as u64).unwrap();
        let m = Raw::file(&memfd, 4 * ps, true, true);
        drop(memfd);
        m.touch(&[1]);
        let fm = m.find();
        if fm.file().is_some() {
            return 3;
        }
        let pages = fm.all_pages().unwrap();
        if pages.residency().map(|r| r.resident).ok() != Some(1) {
            return 4;
        }
        match pages.evict() {
            Err(Error::FileUnavailable { path, .. })
                if path.as_deref() == Some(Path::new("/memfd:gone")) => {}
            _ => return 5,
        }
        // One whose descriptor this process still holds (as Python's mmap does) is found
        // through /proc/self/fd.
        // SAFETY: a new memory file.
        let fd = unsafe { libc::memfd_create(c"kept".as_ptr(), libc::MFD_CLOEXEC) };
        // SAFETY: a fresh descriptor we own.
        let kept = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        kept.set_len(4 * ps as u64).unwrap();
        let m2 = Raw::file(&kept, 4 * ps, true, true);
        let fm2 = m2.find();
        let Some(f) = fm2.file() else { return 6 };
        if f.metadata().unwrap().len() != 4 * ps as u64 || fm2.all_pages().unwrap().evict().is_err()
        {
            return 7;
        }
        0
    });
    assert_eq!(code, 0);
}

#[test]
fn a_truncated_file_faults_into_an_error_inside_the_guard() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "g.bin", &vec![1u8; 16 * ps]);
    let code = in_child_checks(|| {
        let f = File::open(&p).unwrap();
        let m = Raw::file(&f, 16 * ps, true, false);
        let fm = m.find();
        let g = fm.guard().unwrap();
        truncate(&p, 4 * ps as u64);
        // SAFETY: the page lies in the map; the fault is the guard's.
        let x = unsafe { std::ptr::read_volatile(m.at(9 * ps + 3)) };
        check(x == 0, 1)?; // read from the zero page
        match g.finish() {
            Err(Error::Fault {
                offset, len, cause, ..
            }) => {
                check(offset == 9 * ps as u64 + 3, 2)?;
                check(len == 4 * ps as u64, 3)?;
                check(cause == FaultCause::Truncated, 4)?;
            }
            _ => return Err(5),
        }
        // The file's page is back: growing the file again makes it readable.
        truncate(&p, 16 * ps as u64);
        std::os::unix::fs::FileExt::write_all_at(&rw(&p), &[9], (9 * ps + 3) as u64).unwrap();
        // SAFETY: the file covers the page again.
        check(unsafe { std::ptr::read_volatile(m.at(9 * ps + 3)) } == 9, 6)?;
        // And an intact map finishes Ok, the guard from an earlier find too.
        check(fm.guard().unwrap().finish().is_ok(), 7)?;
        // Pages before the cut were never touched by the guard.
        // SAFETY: within the file.
        check(unsafe { std::ptr::read_volatile(m.at(ps)) } == 1, 8)?;
        Ok(())
    });
    assert_eq!(code, 0, "the child failed check {code}");
}

#[test]
fn a_guard_dropped_without_finish_restores_the_pages_and_touch_is_guarded() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "h.bin", &vec![1u8; 8 * ps]);
    let code = in_child_checks(|| {
        let f = rw(&p);
        let m = Raw::file(&f, 8 * ps, false, true); // private, writable (numpy's mode 'c')
        let fm = m.find();
        check(!fm.is_shared() && fm.is_writable(), 1)?;
        truncate(&p, 2 * ps as u64);
        // touch reads under the guard: an error, not SIGBUS.
        let e = fm.all_pages().unwrap().touch().unwrap_err();
        check(
            matches!(e, Error::Fault { offset, .. } if offset == 2 * ps as u64),
            2,
        )?;
        {
            let _g = fm.guard().unwrap();
            // SAFETY: as above.
            unsafe { std::ptr::read_volatile(m.at(5 * ps)) };
        }
        truncate(&p, 8 * ps as u64);
        // SAFETY: the file covers the page again; a zero page would read 0 as well, so write
        // through the file and read it through the map.
        std::os::unix::fs::FileExt::write_all_at(&f, &[4], 5 * ps as u64).unwrap();
        check(unsafe { std::ptr::read_volatile(m.at(5 * ps)) } == 4, 3)?;
        Ok(())
    });
    assert_eq!(code, 0, "the child failed check {code}");
}

#[test]
fn a_fault_outside_a_guard_still_ends_the_process() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "o.bin", &vec![1u8; 4 * ps]);
    let code = in_child(|| {
        let f = File::open(&p).unwrap();
        let m = Raw::file(&f, 4 * ps, true, false);
        let fm = m.find();
        fm.guard().unwrap().finish().unwrap(); // the handler is installed, no guard active
        truncate(&p, 0);
        // SAFETY: this faults, and nothing guards it: the child dies of SIGBUS.
        unsafe { std::ptr::read_volatile(m.at(2 * ps)) };
        0
    });
    assert_eq!(code, -libc::SIGBUS);
}

#[test]
fn without_the_file_a_fault_says_so_and_residency_is_unknown() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "n.bin", &vec![1u8; 8 * ps]);
    // Root's, and closed to nobody: the path cannot be opened once root is given up.
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let code = in_child_checks(|| {
        // Mapped as root, then root is given up: no map_files, no path, no descriptor.
        let m = Raw::file(&File::open(&p).unwrap(), 8 * ps, true, false);
        let p2 = p.clone();
        let truncator = spawn_child(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            truncate(&p2, 2 * ps as u64);
            0
        });
        // SAFETY: plain system calls in the forked child.
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(65534) == 0
                && libc::setuid(65534) == 0
        };
        check(dropped, 1)?;
        let fm = m.find();
        check(fm.file().is_none(), 2)?;
        check(fm.path() == Some(p.as_path()), 3)?;
        // A read-only map of a file this user may not write: mincore may lie, so unknown.
        let r = fm.all_pages().unwrap().residency();
        check(matches!(r, Err(Error::ResidencyUnknown { .. })), 4)?;
        let g = fm.guard().unwrap();
        check(wait(truncator) == 0, 5)?;
        // SAFETY: the page lies in the map; the fault is the guard's.
        let x = unsafe { std::ptr::read_volatile(m.at(5 * ps)) };
        check(x == 0, 6)?;
        match g.finish() {
            Err(e @ Error::Fault { .. }) => {
                let Error::Fault { offset, cause, .. } = &e else {
                    unreachable!()
                };
                check(*offset == 5 * ps as u64, 7)?;
                check(*cause == FaultCause::FileUnavailable, 8)?;
                check(e.to_string().contains("could not be reopened"), 9)?;
            }
            _ => return Err(10),
        }
        // The patched page stays a zero page: reading it again is no fault.
        // SAFETY: as above; the page is private anonymous memory now.
        check(unsafe { std::ptr::read_volatile(m.at(5 * ps)) } == 0, 11)?;
        Ok(())
    });
    assert_eq!(code, 0, "the child failed check {code}");
}
