//! The fault guard across threads: a guard never returns `Ok` computed from a patched page,
//! whichever thread faulted and whenever; work the closure hands to other threads is guarded;
//! recovery restores only what faulted (private copy-on-write pages and locks stay). Every
//! fault happens in a forked child, so a regression cannot take the test runner down.
#![cfg(unix)]

mod common;

use common::*;
use ndarray::{Ix1, Ix2, s};
use ndmmap::{Error, Lock, MmapArray, MmapOptions, Mode};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

/// A read-only map of `path` as `u8`.
fn map(path: &Path) -> MmapArray<u8, Ix1> {
    // SAFETY: the test truncates the file on purpose; every read of it below is guarded.
    unsafe { MmapOptions::new().map_path_1d::<u8>(path).unwrap() }
}

/// Threads reading the same truncated tail under their own guards, many times over: every
/// answer is the fault, never `Ok` with the zeros another thread's fault patched in.
#[test]
fn concurrent_guards_never_return_zeros_as_success() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "c.bin", &vec![1u8; 64 * ps]);
    let code = in_child_checks(|| {
        let a = map(&p);
        truncate(&p, (32 * ps) as u64);
        let (ok, faults) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            for t in 0..8 {
                let (a, ok, faults) = (&a, &ok, &faults);
                s.spawn(move || {
                    for i in 0..300 {
                        // Each thread reads one byte of a tail page, at its own pace.
                        let at = (32 + (t + i) % 32) * ps + i % ps;
                        match a.guarded(|v| v[at]) {
                            Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(Error::Fault { .. }) => faults.fetch_add(1, Ordering::Relaxed),
                            Err(e) => panic!("{e}"),
                        };
                    }
                });
            }
        });
        check(ok.load(Ordering::Relaxed) == 0, 1)?;
        check(faults.load(Ordering::Relaxed) == 8 * 300, 2)?;
        // The head still reads as the file holds it.
        check(
            a.guarded(|v| v.slice(s![..32 * ps]).iter().all(|&b| b == 1))
                .ok()
                == Some(true),
            3,
        )
    });
    assert_eq!(code, 0, "check {code} failed");
}

/// Many threads, each guarding and summing ranges of an all-ones file while another thread
/// truncates it: an `Ok` sum is always the exact one (no zero read as data), and every
/// thread sees the fault once the cut has happened.
#[test]
fn stress_many_guards_racing_a_truncation() {
    let dir = tmpdir();
    let ps = page();
    for round in 0..5 {
        let p = file_with(dir.path(), &format!("s{round}.bin"), &vec![1u8; 256 * ps]);
        let code = in_child_checks(|| {
            let a = map(&p);
            let cut = AtomicBool::new(false);
            let wrong = AtomicUsize::new(0);
            let start = Barrier::new(9);
            std::thread::scope(|s| {
                for t in 0..8usize {
                    let (a, cut, wrong, start) = (&a, &cut, &wrong, &start);
                    s.spawn(move || {
                        start.wait();
                        let mut after = 0;
                        for i in 0..400usize {
                            let lo = ((t * 31 + i * 7) % 200) * ps;
                            let hi = lo + 56 * ps;
                            let was_cut = cut.load(Ordering::SeqCst);
                            // One byte of each page of the range: each must read 1.
                            let r = a.guarded(|v| {
                                (lo..hi).step_by(ps).map(|i| v[i] as usize).sum::<usize>()
                            });
                            match r {
                                Ok(sum) if sum != (hi - lo) / ps => {
                                    wrong.fetch_add(1, Ordering::SeqCst);
                                }
                                // Past the cut, a range reaching page 128 cannot be read.
                                Ok(_) if was_cut && hi > 128 * ps => {
                                    wrong.fetch_add(1, Ordering::SeqCst);
                                }
                                Ok(_) => {}
                                Err(Error::Fault { .. }) => after += 1,
                                Err(_) => {
                                    wrong.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        }
                        std::hint::black_box(after);
                    });
                }
                start.wait();
                std::thread::sleep(std::time::Duration::from_millis(2 + 3 * round as u64));
                truncate(&p, (128 * ps) as u64);
                cut.store(true, Ordering::SeqCst);
            });
            check(wrong.load(Ordering::SeqCst) == 0, 1)
        });
        assert_eq!(code, 0, "round {round}: check {code} failed");
    }
}

/// rayon and scoped threads inside `guarded` are guarded: the fault is an error, not SIGBUS.
#[test]
fn work_on_other_threads_inside_a_guard_is_guarded() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "r.bin", &vec![1u8; 512 * ps]);
    let code = in_child_checks(|| {
        let a = map(&p);
        truncate(&p, (100 * ps) as u64);
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            let r = a.guarded(|v| {
                let bytes = v.as_slice().unwrap();
                bytes
                    .par_chunks(ps)
                    .map(|c| c.iter().map(|&b| b as u64).sum::<u64>())
                    .sum::<u64>()
            });
            check(matches!(r, Err(Error::Fault { .. })), 1)?;
        }
        let r = a.guarded(|v| {
            let bytes = v.as_slice().unwrap();
            std::thread::scope(|s| {
                let hs: Vec<_> = bytes
                    .chunks(128 * ps)
                    .map(|c| s.spawn(move || c.iter().map(|&b| b as u64).sum::<u64>()))
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
            })
        });
        check(matches!(r, Err(Error::Fault { .. })), 2)?;
        // Chunks on rayon's pool: each chunk guarded. One chunk of 16 pages, its file cut in
        // half while it is mapped.
        #[cfg(feature = "rayon")]
        {
            let q = file_with(dir.path(), "q.bin", &vec![1u8; 16 * ps]);
            let b = map(&q);
            // SAFETY: the test truncates on purpose; par_map_reduce guards every chunk.
            let chunks = unsafe { ndmmap::stream::Chunks::new(&b) }
                .unwrap()
                .rows(16 * ps);
            let r = chunks.par_map_reduce(
                |_, v| {
                    truncate(&q, (8 * ps) as u64);
                    v.iter().map(|&b| b as u64).sum::<u64>()
                },
                || 0,
                |x, y| x + y,
            );
            check(matches!(r, Err(Error::Fault { .. })), 3)?;
        }
        // A thread outside any guard, reading past the end, still dies of SIGBUS: checked in
        // tests/faults.rs (`other_sigbus_still_ends_the_process`).
        Ok(())
    });
    assert_eq!(code, 0, "check {code} failed");
}

/// A copy-on-write map keeps its private pages however many pages fault, and locked pages
/// stay locked after a fault is recovered.
#[test]
fn recovery_keeps_private_pages_and_locks() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "p.bin", &vec![1u8; 400 * ps]);
    let code = in_child_checks(|| {
        // SAFETY: as in `map`.
        let mut a = unsafe {
            MmapOptions::new()
                .mode(Mode::CopyOnWrite)
                .map_path::<u8, Ix2, _>(&p, (400, ps))
                .unwrap()
        };
        // 100 private pages, then the file loses its last 200 pages: 200 pages fault.
        a.view_mut().unwrap().slice_mut(s![..100, ..]).fill(9);
        truncate(&p, (200 * ps) as u64);
        let r = a.guarded_mut(|v| v.iter().map(|&b| b as u64).sum::<u64>());
        check(
            matches!(r, Err(Error::Fault { pages, .. }) if pages >= 200),
            1,
        )?;
        let v = a.view();
        check(v.slice(s![..100, ..]).iter().all(|&b| b == 9), 2)?;
        check(v.slice(s![100..200, ..]).iter().all(|&b| b == 1), 3)?;

        // Locked pages of a read-only map stay locked through a fault elsewhere.
        let q = file_with(dir.path(), "l.bin", &vec![1u8; 64 * ps]);
        let b = map(&q);
        let locked = b.pages(0..8 * ps).unwrap();
        if locked.lock(Lock::Now).is_err() {
            return Ok(()); // RLIMIT_MEMLOCK: nothing to check here (root in CI has room)
        }
        let before = vm_lck_kb();
        truncate(&q, (32 * ps) as u64);
        check(
            matches!(b.guarded(|v| v[40 * ps]), Err(Error::Fault { .. })),
            4,
        )?;
        check(vm_lck_kb() == before && before >= (8 * ps / 1024) as u64, 5)
    });
    assert_eq!(code, 0, "check {code} failed");
}

/// `VmLck` of this process, in kB (`/proc/self/status`).
fn vm_lck_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A guard that starts while another guard's patched page is still mapped in counts it as
/// its own fault: it must not read those zeros as data.
#[test]
fn a_guard_entered_over_a_patched_page_reports_it() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "e.bin", &vec![1u8; 8 * ps]);
    let code = in_child_checks(|| {
        let a = Arc::new(map(&p));
        truncate(&p, (4 * ps) as u64);
        let (inside, go_on) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let t = {
            let (a, inside, go_on) = (a.clone(), inside.clone(), go_on.clone());
            std::thread::spawn(move || {
                a.guarded(|v| {
                    let x = v[6 * ps]; // faults: page 6 becomes a zero page
                    inside.wait();
                    go_on.wait(); // the page stays patched while the other guard runs
                    x
                })
            })
        };
        inside.wait();
        // Page 6 reads as a zero page now, without a fault of this thread.
        let r = a.guarded(|v| v[6 * ps]);
        go_on.wait();
        check(matches!(t.join().unwrap(), Err(Error::Fault { .. })), 1)?;
        check(matches!(r, Err(Error::Fault { .. })), 2)
    });
    assert_eq!(code, 0, "check {code} failed");
}

/// A stream walked under its guard: a file truncated during the walk is an error, reading or
/// writing, and the windows read before the cut were the file's.
#[test]
fn streams_walked_under_a_guard_fault_into_errors() {
    use ndmmap::stream::{Stream, StreamMut};
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "w.bin", &vec![1u8; 64 * ps]);
    let code = in_child_checks(|| {
        let a = map(&p);
        let r = Stream::new(&a).unwrap().bytes(8 * ps).guarded(|s| {
            let mut ones = 0;
            for (first, rows) in s {
                if first == 16 * ps {
                    truncate(&p, (20 * ps) as u64);
                }
                ones += rows.iter().filter(|&&b| b == 1).count();
            }
            ones
        });
        check(matches!(r, Err(Error::Fault { .. })), 1)?;
        truncate(&p, (64 * ps) as u64);
        // SAFETY: as in `map`.
        let mut b = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .map_path_1d::<u8>(&p)
                .unwrap()
        };
        let r = StreamMut::new(&mut b).unwrap().bytes(8 * ps).guarded(|s| {
            for (first, mut rows) in s {
                if first == 32 * ps {
                    truncate(&p, (36 * ps) as u64);
                }
                rows.fill(2);
            }
        });
        check(matches!(r, Err(Error::Fault { .. })), 2)?;
        // What was written before the cut reached the file.
        let mut x = [0u8; 1];
        std::os::unix::fs::FileExt::read_exact_at(&std::fs::File::open(&p).unwrap(), &mut x, 0)
            .unwrap();
        check(x[0] == 2, 3)
    });
    assert_eq!(code, 0, "check {code} failed");
}

/// The permissions `/proc/self/maps` shows for the page at `addr` (`rw-s`, `r--p`, ...).
fn perms_at(addr: usize) -> String {
    maps_line(addr)
        .and_then(|l| Some(l.split_whitespace().nth(1)?.to_string()))
        .unwrap_or_default()
}

/// Pages that faulted and were restored get back the protection `protect` gave them; the
/// others keep theirs.
#[test]
fn recovery_keeps_protections() {
    let dir = tmpdir();
    let ps = page();
    let p = file_with(dir.path(), "x.bin", &vec![1u8; 64 * ps]);
    let code = in_child_checks(|| {
        // SAFETY: as in `map`.
        let mut a = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .map_path::<u8, Ix2, _>(&p, (64, ps))
                .unwrap()
        };
        a.pages_mut(s![8..16, ..])
            .unwrap()
            .protect(ndmmap::Protection::Read)
            .unwrap();
        a.pages_mut(s![40..48, ..])
            .unwrap()
            .protect(ndmmap::Protection::Read)
            .unwrap();
        let base = a.view().as_ptr() as usize;
        truncate(&p, (32 * ps) as u64);
        check(
            matches!(
                a.guarded(|v| v.iter().map(|&b| b as u64).sum::<u64>()),
                Err(Error::Fault { .. })
            ),
            1,
        )?;
        check(perms_at(base + 44 * ps) == "r--s", 2)?;
        check(perms_at(base + 50 * ps) == "rw-s", 3)?;
        check(perms_at(base + 10 * ps) == "r--s", 4)?;
        check(perms_at(base + 20 * ps) == "rw-s", 5)
    });
    assert_eq!(code, 0, "check {code} failed");
}
