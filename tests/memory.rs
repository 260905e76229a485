//! Page control through the selector: advice, flushing, locking and protection of arrays,
//! element ranges and slices.
//!
//! Process-wide effects (`VmLck`, rlimits, protection faults) are checked in forked children
//! so that tests running in parallel threads cannot disturb each other.
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use common::*;
use ndarray::{Ix1, Ix2, s};
use ndmmap::{Advice, Error, Lock, MmapArray, MmapOptions, Mode, Protection, UncheckedAdvice};

#[cfg(unix)]
fn vm_lck_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[cfg(unix)]
#[test]
fn mlock_shows_in_vmlck() {
    let code = in_child(|| {
        let a = MmapArray::<u8, Ix2>::anonymous((64, page())).unwrap();
        let before = vm_lck_kib();
        a.pages(..).unwrap().lock(Lock::Now).unwrap();
        let whole = vm_lck_kib() - before;
        a.pages(..).unwrap().unlock().unwrap();
        let after_unlock = vm_lck_kib() - before;
        a.pages(s![8..24, ..]).unwrap().lock(Lock::Now).unwrap();
        let slice = vm_lck_kib() - before;
        a.pages(s![8..24, ..]).unwrap().unlock().unwrap();
        a.pages(0..page()).unwrap().lock(Lock::OnFault).unwrap();
        let on_fault = vm_lck_kib() - before;
        let kib = page() as u64 / 1024;
        let ok = whole == 64 * kib && after_unlock == 0 && slice == 16 * kib && on_fault == kib;
        if ok {
            0
        } else {
            eprintln!("{whole} {after_unlock} {slice} {on_fault}");
            1
        }
    });
    assert_eq!(code, 0);
}

#[cfg(unix)]
#[test]
fn the_locked_flag_locks_at_map_time() {
    let code = in_child(|| {
        let before = vm_lck_kib();
        let _a = MmapOptions::new()
            .locked(true)
            .map_anon::<u8, Ix1, _>(32 * page())
            .unwrap();
        (vm_lck_kib() - before != 32 * page() as u64 / 1024) as i32
    });
    assert_eq!(code, 0);
}

#[cfg(unix)]
#[test]
fn rlimit_memlock_is_an_error_naming_the_limit_and_the_request() {
    let code = in_child(|| {
        let lim = libc::rlimit {
            rlim_cur: 64 * 1024,
            rlim_max: 64 * 1024,
        };
        // SAFETY: plain syscalls in the child; setuid drops CAP_IPC_LOCK so the limit applies.
        unsafe {
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) != 0 || libc::setuid(65534) != 0 {
                return 3;
            }
        }
        let a = MmapArray::<u8, Ix1>::anonymous(1 << 20).unwrap();
        match a.pages(..).unwrap().lock(Lock::Now) {
            Err(
                e @ Error::LockLimit {
                    requested: 1048576,
                    limit: Some(65536),
                    ..
                },
            ) => {
                let msg = e.to_string();
                (!(msg.contains("65536")
                    && msg.contains("1048576")
                    && msg.contains("RLIMIT_MEMLOCK"))) as i32
                    * 4
            }
            other => {
                eprintln!("{other:?}");
                2
            }
        }
    });
    assert_eq!(code, 0);
}

#[cfg(unix)]
#[test]
fn protect_changes_what_views_and_the_os_allow() {
    let mut a = MmapArray::<u32, Ix2>::anonymous((4, 2048)).unwrap();
    a.view_mut().unwrap().fill(7);
    a.pages_mut(..).unwrap().protect(Protection::Read).unwrap();
    assert_eq!(a.view().sum(), 7 * 8192);
    assert!(matches!(a.view_mut(), Err(Error::NotWritable { .. })));
    // The OS really refuses a write now: a child writing through a raw pointer dies of SIGSEGV.
    let ptr = a.view().as_ptr() as *mut u32;
    // SAFETY: the child writes into its own copy of the address space and dies.
    let code = in_child(move || unsafe {
        std::ptr::write_volatile(ptr, 1);
        0
    });
    assert_eq!(code, -libc::SIGSEGV);
    // Taking read access away is `unsafe`: views would fault. A reading child dies of SIGSEGV.
    // SAFETY: no view is taken until the pages are readable again.
    unsafe { a.pages_mut(..).unwrap().protect_none().unwrap() };
    assert!(matches!(a.view_mut(), Err(Error::NotWritable { .. })));
    let ptr = a.view().as_ptr();
    // SAFETY: the child reads its own copy of the address space and dies.
    let code = in_child(move || unsafe { std::ptr::read_volatile(ptr) as i32 });
    assert_eq!(code, -libc::SIGSEGV);
    a.pages_mut(..)
        .unwrap()
        .protect(Protection::ReadWrite)
        .unwrap();
    a.view_mut().unwrap()[[3, 2047]] = 9;
    // A slice protected read-only makes the whole array refuse mutable views until restored.
    a.pages_mut(s![1, ..])
        .unwrap()
        .protect(Protection::Read)
        .unwrap();
    assert!(a.view_mut().is_err());
    assert_eq!(a.view()[[3, 2047]], 9);
    a.pages_mut(0..2048)
        .unwrap()
        .protect(Protection::ReadWrite)
        .unwrap();
    assert!(
        a.view_mut().is_err(),
        "restoring some pages does not prove the whole array writable"
    );
    a.pages_mut(..)
        .unwrap()
        .protect(Protection::ReadWrite)
        .unwrap();
    assert!(a.view_mut().is_ok());
    // A selection that covers every page restores it as `..` does.
    a.pages_mut(s![1, ..])
        .unwrap()
        .protect(Protection::Read)
        .unwrap();
    a.pages_mut(0..8192)
        .unwrap()
        .protect(Protection::ReadWrite)
        .unwrap();
    assert!(a.view_mut().is_ok());
}

#[test]
fn a_read_only_map_cannot_be_made_writable() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "ro.bin", &vec![1; page()]);
    let mut a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
    assert!(matches!(
        a.pages_mut(..).unwrap().protect(Protection::ReadWrite),
        Err(Error::NotWritable { .. })
    ));
    // SAFETY: no view is taken until the pages are readable again.
    unsafe { a.pages_mut(..).unwrap().protect_none().unwrap() };
    a.pages_mut(..).unwrap().protect(Protection::Read).unwrap();
    assert!(a.view().iter().all(|&b| b == 1));
}

#[cfg(unix)]
#[test]
fn dont_need_zeroes_a_private_anonymous_map() {
    let mut a = MmapArray::<u64, Ix2>::anonymous_private((8, 512)).unwrap();
    a.view_mut().unwrap().fill(5);
    // SAFETY: no view is alive; losing the data is the point.
    unsafe {
        a.pages(s![2..4, ..])
            .unwrap()
            .advise_unchecked(UncheckedAdvice::DontNeed)
            .unwrap()
    };
    let v = a.view();
    assert_eq!(v.slice(s![2..4, ..]).sum(), 0);
    assert_eq!(v.slice(s![..2, ..]).sum(), 5 * 1024);
    // SAFETY: as above.
    unsafe {
        a.pages(..)
            .unwrap()
            .advise_unchecked(UncheckedAdvice::DontNeed)
            .unwrap()
    };
    assert_eq!(a.view().sum(), 0);
}

#[test]
fn safe_advice_keeps_contents() {
    let mut a = MmapArray::<u8, Ix1>::anonymous_private(16 * page()).unwrap();
    a.view_mut().unwrap().fill(3);
    for adv in [
        Advice::Normal,
        Advice::Random,
        Advice::Sequential,
        Advice::WillNeed,
        Advice::HugePage,
        Advice::NoHugePage,
        Advice::DontDump,
        Advice::DoDump,
        Advice::Cold,
        Advice::PageOut,
        Advice::PopulateRead,
        Advice::PopulateWrite,
    ] {
        match a.pages(5..page() * 3 + 1).unwrap().advise(adv) {
            Ok(()) => {}
            // Older kernels lack some advice: it must be reported, never silently ignored.
            Err(e) => assert!(
                matches!(e, Error::Io { .. } | Error::Unsupported { .. }),
                "{adv:?}: {e}"
            ),
        }
    }
    assert!(a.view().iter().all(|&b| b == 3));
}

#[cfg(unix)]
#[test]
fn msync_of_a_slice_persists_it_through_sigkill() {
    let dir = tmpdir();
    let p = dir.path().join("rows.bin");
    let p2 = p.clone();
    then_sigkill(move || {
        let mut a = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .create(true)
                .offset(24)
                .map_path::<f64, Ix2, _>(&p2, (32, 700))
        }
        .unwrap();
        a.view_mut().unwrap().slice_mut(s![5, ..]).fill(6.5);
        a.pages(s![5, ..])
            .unwrap()
            .flush(ndmmap::Flush::Sync)
            .unwrap();
        a.pages(0..10)
            .unwrap()
            .flush(ndmmap::Flush::Invalidate)
            .unwrap();
    });
    let a = unsafe {
        MmapOptions::new()
            .offset(24)
            .map_path::<f64, Ix2, _>(&p, (32, 700))
            .unwrap()
    };
    assert!(a.view().slice(s![5, ..]).iter().all(|&x| x == 6.5));
}

#[cfg(unix)]
#[test]
fn constants_list_the_platform_flags() {
    let names: Vec<&str> = ndmmap::constants::ADVICE.iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"MADV_WILLNEED") && names.contains(&"MADV_DONTNEED"));
    assert!(
        ndmmap::constants::SYNC
            .iter()
            .any(|&(n, v)| n == "MS_SYNC" && v == libc::MS_SYNC)
    );
    assert!(
        ndmmap::constants::PROT
            .iter()
            .any(|&(n, v)| n == "PROT_READ" && v == libc::PROT_READ)
    );
    assert!(
        ndmmap::constants::MAP
            .iter()
            .any(|&(n, _)| n == "MAP_SHARED")
    );
}
