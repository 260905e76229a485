//! Faults become errors: a truncated file or a full filesystem under `guarded` returns
//! `Error::Fault` and the process lives on; every other SIGBUS still ends the process. Every
//! fault happens in a forked child, so a regression cannot take the test runner down.
#![cfg(unix)]

mod common;

use common::*;
use ndarray::{Ix1, Ix2, s};
use ndmmap::{Error, FaultCause, MmapOptions, Mode};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

#[test]
fn a_truncated_read_only_map_faults_into_an_error() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "t.bin", &vec![1u8; 16 << 20]);
    let code = in_child_checks(|| {
        let a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
        check(
            a.guarded(|v| v.iter().all(|&b| b == 1)).ok() == Some(true),
            1,
        )?;
        truncate(&p, ps as u64);
        let e = a.guarded(|v| v.iter().map(|&b| b as u64).sum::<u64>());
        let Err(Error::Fault {
            offset,
            len,
            cause,
            pages,
            ..
        }) = e
        else {
            return Err(2);
        };
        check(len == ps as u64 && offset >= ps as u64, 3)?;
        check(cause == FaultCause::Truncated && pages >= 1, 4)?;
        let msg = a.guarded(|v| v[v.len() - 1]).unwrap_err().to_string();
        check(msg.contains("t.bin") && msg.contains("truncated"), 5)?;
        // The array stays usable: what the file still holds reads as before.
        check(
            a.guarded(|v| v.slice(s![..ps]).iter().all(|&b| b == 1))
                .ok()
                == Some(true),
            6,
        )?;
        // The file grows back (as zeros past the cut): the same array reads it, no error.
        truncate(&p, 16 << 20);
        let sum = a.guarded(|v| v.iter().map(|&b| b as u64).sum::<u64>());
        check(sum.ok() == Some(ps as u64), 7)
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[test]
fn a_truncated_read_write_map_faults_under_guarded_mut() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "w.bin", &vec![0u8; 16 << 20]);
    let code = in_child_checks(|| {
        let mut a = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .map_path::<u64, Ix2, _>(&p, (2048, 1024))
                .unwrap()
        };
        truncate(&p, 4 << 20);
        let r = a.guarded_mut(|mut v| v.fill(7));
        check(
            matches!(r, Err(Error::Fault { cause: FaultCause::Truncated, len, .. }) if len == 4 << 20),
            1,
        )?;
        // Writes before the cut reached the file.
        let mut buf = [0u8; 8];
        File::open(&p).unwrap().read_exact_at(&mut buf, 8).unwrap();
        check(u64::from_ne_bytes(buf) == 7, 2)
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[test]
fn other_sigbus_still_ends_the_process() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "f.bin", &vec![1u8; 1 << 20]);
    // A signal sent with raise(), after a guard installed the handler: the default action.
    let code = in_child(|| {
        let a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
        let _ = a.guarded(|v| v[0]);
        // SAFETY: raising a signal at ourselves.
        unsafe { libc::raise(libc::SIGBUS) };
        0
    });
    assert_eq!(code, -libc::SIGBUS, "raise(SIGBUS) outside a guard");
    // A real fault through a plain (unguarded) view.
    let code = in_child(|| {
        let a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
        let _ = a.guarded(|v| v[0]);
        truncate(&p, 0);
        std::hint::black_box(a.view()[a.len() - 1]) as i32
    });
    assert_eq!(code, -libc::SIGBUS, "a fault outside a guard");
    // A fault inside a guard on one array but on another array's pages.
    let q = file_with(dir.path(), "g.bin", &vec![1u8; 1 << 20]);
    let code = in_child(|| {
        let a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
        let b = unsafe { MmapOptions::new().map_path_1d::<u8>(&q).unwrap() };
        truncate(&q, 0);
        let _ = a.guarded(|_| std::hint::black_box(b.view()[b.len() - 1]));
        0
    });
    assert_eq!(
        code,
        -libc::SIGBUS,
        "a fault on an unguarded array inside a guard"
    );
}

#[test]
fn eight_threads_guard_at_once_and_only_the_faulting_one_errs() {
    let dir = tmpdir();
    let paths: Vec<_> = (0..8)
        .map(|i| file_with(dir.path(), &format!("m{i}.bin"), &vec![1u8; 8 << 20]))
        .collect();
    let code = in_child_checks(|| {
        let arrays: Vec<_> = paths
            .iter()
            .map(|p| unsafe { MmapOptions::new().map_path_1d::<u8>(p).unwrap() })
            .collect();
        let barrier = std::sync::Barrier::new(8);
        let results: Vec<_> = std::thread::scope(|sc| {
            let hs: Vec<_> = arrays
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let (b, p) = (&barrier, &paths[i]);
                    sc.spawn(move || {
                        a.guarded(|v| {
                            b.wait();
                            if i == 3 {
                                truncate(p, 4096);
                            }
                            v.iter().map(|&x| x as u64).sum::<u64>()
                        })
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, r) in results.iter().enumerate() {
            match (i, r) {
                (3, Err(Error::Fault { .. })) => {}
                (3, _) => return Err(30),
                (_, Ok(s)) if *s == 8 << 20 => {}
                _ => return Err(i as i32 + 1),
            }
        }
        Ok(())
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[test]
fn nested_guards_and_panics_restore_the_file_pages() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "n.bin", &vec![2u8; 4 * ps]);
    let q = file_with(dir.path(), "o.bin", &vec![3u8; 4 * ps]);
    let code = in_child_checks(|| {
        let a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
        let b = unsafe { MmapOptions::new().map_path_1d::<u8>(&q).unwrap() };
        // The inner guard's fault is the inner guard's error; the outer one is intact.
        let outer = a.guarded(|va| {
            truncate(&q, ps as u64);
            let inner = b.guarded(|vb| vb[3 * ps]);
            (va[0], matches!(inner, Err(Error::Fault { .. })))
        });
        check(outer.ok() == Some((2, true)), 1)?;
        // A closure that panics after a fault: the pages are still restored, so data written
        // into the regrown file is read, not the zero page the guard put there.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = b.guarded(|vb| {
                std::hint::black_box(vb[3 * ps]);
                // A panic without the panic hook, whose lock another thread of the test
                // process may have held when this child was forked.
                std::panic::resume_unwind(Box::new("after the fault"));
            });
        }));
        check(caught.is_err(), 2)?;
        let f = OpenOptions::new().write(true).open(&q).unwrap();
        f.write_all_at(&vec![9u8; 3 * ps], ps as u64).unwrap();
        check(b.guarded(|vb| vb[3 * ps]).ok() == Some(9), 3)
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_filesystem_is_an_error_and_earlier_writes_stay() {
    let Some(fs) = small_tmpfs(8) else {
        return;
    };
    let p = fs.path().join("big.bin");
    let code = in_child_checks(|| {
        // 64 MiB, sparse (the default grow), on an 8 MiB filesystem.
        let mut a = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .create(true)
                .map_path::<u8, Ix1, _>(&p, 64 << 20)
                .unwrap()
        };
        let r = a.guarded_mut(|mut v| v.fill(5));
        check(
            matches!(
                r,
                Err(Error::Fault {
                    cause: FaultCause::NoSpace,
                    ..
                })
            ),
            1,
        )?;
        // What was written before the filesystem filled is in the file.
        let mut buf = vec![0u8; 1 << 20];
        File::open(&p).unwrap().read_exact_at(&mut buf, 0).unwrap();
        check(buf.iter().all(|&b| b == 5), 2)?;
        // With preallocation the full disk is an error when mapping, and the file keeps the
        // length it had.
        drop(a);
        std::fs::remove_file(&p).unwrap();
        let q = p.with_file_name("pre.bin");
        std::fs::write(&q, [1u8; 100]).unwrap();
        let e = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .preallocate(true)
                .map_path::<u8, Ix1, _>(&q, 64 << 20)
        };
        check(
            matches!(&e, Err(Error::NoSpace { source, .. }) if source.raw_os_error() == Some(libc::ENOSPC)),
            3,
        )?;
        check(std::fs::metadata(&q).unwrap().len() == 100, 4)
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[test]
fn checked_copies_never_fault_on_a_short_file() {
    let dir = tmpdir();
    let vals: Vec<u32> = (0..4096).collect();
    let p = file_with(dir.path(), "c.bin", bytemuck::cast_slice(&vals));
    let code = in_child_checks(|| {
        let mut a = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .map_path::<u32, Ix2, _>(&p, (64, 64))
                .unwrap()
        };
        // Intact: the copies equal the view's elements, in logical order.
        let sel = s![3..60;-7, 10..13];
        let want: Vec<u32> = a.view().slice(sel).iter().copied().collect();
        let got = a.checked().read(sel).unwrap();
        check(
            got.iter().copied().collect::<Vec<_>>() == want && got.shape() == [9, 3],
            1,
        )?;
        let mut buf = vec![0u32; 5];
        a.checked().read_into(100..105, &mut buf).unwrap();
        check(buf == [100, 101, 102, 103, 104], 2)?;
        a.checked_mut()
            .unwrap()
            .write(s![1, ..4], &[9, 8, 7, 6])
            .unwrap();
        check(a.view()[[1, 3]] == 6, 3)?;
        // Truncated to 1000 bytes: reads and writes past it are errors naming both lengths,
        // and nothing grows the file back.
        truncate(&p, 1000);
        check(a.checked().check().is_err(), 4)?;
        let e = a.checked().read(s![63, ..]);
        check(
            matches!(e, Err(Error::TooShort { len: 1000, needed, .. }) if needed == 64 * 64 * 4),
            5,
        )?;
        check(a.checked().read(0..200).is_ok(), 6)?; // 800 bytes: still in the file
        let e = a.checked_mut().unwrap().write(s![10, ..], &[1; 64]);
        check(matches!(e, Err(Error::TooShort { len: 1000, .. })), 7)?;
        check(std::fs::metadata(&p).unwrap().len() == 1000, 8)?;
        Ok(())
    });
    assert_eq!(code, 0, "check {code} failed");
    // A copy-on-write map never writes its file; a read-only one refuses too.
    let a = unsafe {
        MmapOptions::new()
            .mode(Mode::CopyOnWrite)
            .map_path_1d::<u32>(&p)
            .unwrap()
    };
    let mut a = a;
    assert!(matches!(a.checked_mut(), Err(Error::NotWritable { .. })));
}

#[test]
fn locking_a_truncated_file_names_the_truncation_and_locks_nothing() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "l.bin", &vec![1u8; 64 * page()]);
    let code = in_child_checks(|| {
        let a = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
        let locked = || vm_lck_kib();
        let before = locked();
        truncate(&p, 8 * page() as u64);
        let e = a.pages(..).unwrap().lock(ndmmap::Lock::Now);
        check(
            matches!(e, Err(Error::TooShort { len, .. }) if len == 8 * page() as u64),
            1,
        )?;
        check(locked() == before, 2)?;
        // A strided slice over the truncation: also all or nothing.
        let e = a.pages(s![..;2 * page()]).unwrap().lock(ndmmap::Lock::Now);
        check(e.is_err() && locked() == before, 3)
    });
    assert_eq!(code, 0, "check {code} failed");
}

/// This process's locked memory (`VmLck` in /proc/self/status), in KiB.
fn vm_lck_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn touching_a_truncated_file_is_a_fault_not_sigbus() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "t.bin", &vec![1u8; 3000 * ps]);
    let code = in_child_checks(|| {
        let a = unsafe {
            MmapOptions::new()
                .map_path::<u8, Ix2, _>(&p, (3000, ps))
                .unwrap()
        };
        check(a.pages(s![..10, ..]).unwrap().touch().is_ok(), 1)?;
        truncate(&p, (2000 * ps) as u64);
        // Pages 2000.. are gone: the chunk that holds page 2000 faults, and the chunks before
        // it reported their pages (one chunk of 1024).
        let mut done = 0;
        let r = a.pages(..).unwrap().touch_with(|n| done += n);
        check(matches!(r, Err(Error::Fault { .. })), 2)?;
        check(done == ndmmap::TOUCH_CHUNK && done < 2000, 3)?;
        // The array stays usable: the pages still in the file read as they are.
        check(a.view()[[1999, 0]] == 1, 4)
    });
    assert_eq!(code, 0, "check {code} failed");
}
