//! What Windows does differently, checked on every OS where the behaviour is common and on
//! Windows alone where it differs: named shared memory opened by a spawned child process (no
//! `fork` there), maps at offsets that are not multiples of the 64 KiB allocation granularity,
//! flush, lock, protect, advice and residency (the working set on Windows), and the calls that
//! answer `Unsupported` there.

use ndarray::Ix1;
use ndmmap::shared::shm;
use ndmmap::{Advice, Flush, Lock, MmapArray, MmapOptions, Mode, Protection};
use std::process::Command;

/// Set (to the object's name) in the child that `child_opens_named_shared_memory` spawns.
const CHILD_ENV: &str = "NDMMAP_WINDOWS_TEST_CHILD";
const N: usize = 4096;

/// The parent: creates a named object, fills it, runs this test binary again as a child that
/// opens the object by name, and sees what the child wrote back.
#[test]
fn child_opens_named_shared_memory() {
    let name = format!("ndmmap-test-child-{}", std::process::id());
    // SAFETY: only this test and its child use the object; neither truncates it.
    let mut a = unsafe { shm::create::<u64, Ix1, _>(&name, N) }.unwrap();
    for (i, x) in a.view_mut().unwrap().iter_mut().enumerate() {
        *x = i as u64 * 3;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_side", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &name)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {text}");
    assert!(text.contains("child saw the parent's writes"), "{text}");
    let v = a.view();
    assert_eq!(v[0], 0xC0FFEE, "the child's write is seen by the parent");
    assert_eq!(v[N - 1], u64::MAX);
    assert_eq!(v[1], 3);
}

/// The child: returns at once unless spawned by the test above.
#[test]
fn child_side() {
    let Ok(name) = std::env::var(CHILD_ENV) else {
        return;
    };
    // SAFETY: the parent keeps the object alive and does not truncate it.
    let mut b = unsafe { shm::open::<u64, Ix1, _>(&name, N) }.unwrap();
    let expect: u64 = (0..N as u64).map(|i| i * 3).sum();
    assert_eq!(b.view().sum(), expect);
    let mut v = b.view_mut().unwrap();
    v[0] = 0xC0FFEE;
    v[N - 1] = u64::MAX;
    b.pages(..).unwrap().flush(Flush::Sync).unwrap();
    println!("child saw the parent's writes");
}

/// A file map whose offset is past 64 KiB and not a multiple of it (nor of the page size):
/// the values, the page span around the array's bytes and every page operation on it.
#[test]
fn offset_past_the_allocation_granularity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.bin");
    let offset = 65536 + 4096 + 40; // 8-byte aligned
    let n = 3000usize;
    let mut bytes = vec![0xEEu8; offset];
    for i in 0..n as u64 {
        bytes.extend_from_slice(&(i * 7).to_le_bytes());
    }
    std::fs::write(&path, &bytes).unwrap();
    for mode in [Mode::ReadOnly, Mode::ReadWrite, Mode::CopyOnWrite] {
        // SAFETY: nobody else touches the file.
        let a = unsafe {
            MmapOptions::new()
                .mode(mode)
                .offset(offset as u64)
                .map_path::<u64, Ix1, _>(&path, n)
        }
        .unwrap();
        assert_eq!(a.view()[0], 0);
        assert_eq!(a.view()[n - 1], (n as u64 - 1) * 7);
        let span = a.page_span();
        assert_eq!(span.lead, offset % span.page_size);
        assert_eq!(
            span.page_count,
            (span.lead + n * 8).div_ceil(span.page_size)
        );
        let p = a.pages(..).unwrap();
        assert_eq!(p.mincore().unwrap().len(), span.page_count);
        p.advise(Advice::WillNeed).unwrap();
        p.flush(Flush::Sync).unwrap();
        match p.lock(Lock::Now) {
            Ok(()) => p.unlock().unwrap(),
            Err(ndmmap::Error::LockLimit { .. }) if cfg!(windows) => {}
            Err(e) => panic!("{e}"),
        }
        let q = a.pages(100..200).unwrap();
        q.advise(Advice::WillNeed).unwrap();
        assert!(!q.mincore().unwrap().is_empty());
    }
}

/// Data written through a read-write map is in the file after `flush(Sync)`.
#[test]
fn flush_reaches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    // SAFETY: nobody else touches the file.
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .map_path::<u32, Ix1, _>(&path, 5000)
    }
    .unwrap();
    a.view_mut().unwrap().fill(0xABCD_1234);
    a.pages(..).unwrap().flush(Flush::Sync).unwrap();
    a.pages(10..20).unwrap().flush(Flush::Async).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 5000 * 4);
    assert!(bytes.chunks(4).all(|c| c == 0xABCD_1234u32.to_le_bytes()));
    // Anonymous maps: flushing is harmless.
    let b = MmapArray::<u8, Ix1>::anonymous(8192).unwrap();
    b.pages(..).unwrap().flush(Flush::Sync).unwrap();
}

/// Preallocation makes the file as long as the array.
#[test]
fn preallocate_extends_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.bin");
    // SAFETY: nobody else touches the file.
    let a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .preallocate(true)
            .map_path::<u64, Ix1, _>(&path, 70_000)
    }
    .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 70_000 * 8);
    assert_eq!(a.view().sum(), 0);
}

/// Locking a few pages works (or, on Windows, is the documented `LockLimit`) and unlocking pages that were never locked is not an error.
#[test]
fn lock_and_unlock() {
    let a = MmapArray::<u8, Ix1>::anonymous(16 * 4096).unwrap();
    let p = a.pages(0..4 * 4096).unwrap();
    match p.lock(Lock::Now) {
        Ok(()) => p.unlock().unwrap(),
        // Wine refuses `VirtualLock` (access denied): the limit's error, as documented.
        Err(ndmmap::Error::LockLimit { .. }) if cfg!(windows) => {}
        Err(e) => panic!("{e}"),
    }
    a.pages(..).unwrap().unlock().unwrap();
}

/// Protection: read-only refuses mutable views, read-write gives them back, on shared,
/// private and copy-on-write file maps.
#[test]
fn protect_read_then_read_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.bin");
    std::fs::write(&path, vec![1u8; 3 * 65536]).unwrap();
    let mut arrays = vec![
        MmapArray::<u8, Ix1>::anonymous(3 * 4096).unwrap(),
        MmapArray::<u8, Ix1>::anonymous_private(3 * 4096).unwrap(),
    ];
    for mode in [Mode::ReadWrite, Mode::CopyOnWrite] {
        // SAFETY: nobody else touches the file.
        arrays.push(
            unsafe {
                MmapOptions::new()
                    .mode(mode)
                    .map_path::<u8, Ix1, _>(&path, 3 * 65536)
            }
            .unwrap(),
        );
    }
    for mut a in arrays {
        a.pages_mut(..).unwrap().protect(Protection::Read).unwrap();
        assert!(a.view_mut().is_err());
        let first = a.view()[0];
        a.pages_mut(..)
            .unwrap()
            .protect(Protection::ReadWrite)
            .unwrap();
        a.view_mut().unwrap()[0] = first.wrapping_add(1);
        assert_eq!(a.view()[0], first.wrapping_add(1));
    }
    // A read-only map cannot be made writable.
    // SAFETY: nobody else touches the file.
    let mut r = unsafe { MmapOptions::new().map_path::<u8, Ix1, _>(&path, 65536) }.unwrap();
    assert!(
        r.pages_mut(..)
            .unwrap()
            .protect(Protection::ReadWrite)
            .is_err()
    );
    assert_eq!(
        std::fs::read(&path).unwrap()[0],
        2,
        "the shared map wrote the file"
    );
}

/// Residency: pages written by this process are resident (on Windows: in its working set);
/// pages never touched are not; a populated range is resident.
#[test]
fn residency_of_touched_pages() {
    let mut a = MmapArray::<u8, Ix1>::anonymous_private(64 * 4096).unwrap();
    let ps = a.page_span().page_size;
    let pages = a.page_span().page_count;
    let mut v = a.view_mut().unwrap();
    for p in 0..4 {
        v[p * ps] = 1;
    }
    let bits = a.pages(..).unwrap().mincore().unwrap();
    assert_eq!(bits.len(), pages);
    assert!(bits[..4].iter().all(|&b| b), "{bits:?}");
    assert!(!bits[pages - 1], "an untouched page is not resident");
    let r = a.pages(..).unwrap().residency().unwrap();
    assert!(r.resident >= 4 && r.resident < r.total, "{r:?}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("res.bin");
    std::fs::write(&path, vec![5u8; 256 * 1024]).unwrap();
    // SAFETY: nobody else touches the file.
    let f = unsafe { MmapOptions::new().map_path::<u8, Ix1, _>(&path, 256 * 1024) }.unwrap();
    f.pages(..).unwrap().advise(Advice::PopulateRead).unwrap();
    assert!(f.pages(..).unwrap().mincore().unwrap().iter().all(|&b| b));
}

/// What Windows answers differently: eviction, `cachestat`, lock-on-fault and the advice it
/// lacks are `Unsupported`; a guard runs the closure (no fault can be caught there); `unlink`
/// does nothing, since a section vanishes with its last handle.
#[cfg(windows)]
#[test]
fn windows_differences() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.bin");
    std::fs::write(&path, vec![3u8; 65536]).unwrap();
    // SAFETY: nobody else touches the file.
    let a = unsafe { MmapOptions::new().map_path::<u8, Ix1, _>(&path, 65536) }.unwrap();
    let p = a.pages(..).unwrap();
    assert!(matches!(p.evict(), Err(ndmmap::Error::Unsupported { .. })));
    assert!(matches!(
        p.advise(Advice::Sequential),
        Err(ndmmap::Error::Unsupported { .. })
    ));
    assert!(matches!(
        p.lock(Lock::OnFault),
        Err(ndmmap::Error::Unsupported { .. })
    ));
    // SAFETY: no view is in use.
    let dontneed = unsafe { p.advise_unchecked(ndmmap::UncheckedAdvice::DontNeed) };
    assert!(matches!(dontneed, Err(ndmmap::Error::Unsupported { .. })));
    assert_eq!(p.cachestat().unwrap().source, ndmmap::CountSource::Mincore);
    assert!(matches!(
        ndmmap::evict(&std::fs::File::open(&path).unwrap()),
        Err(ndmmap::Error::Unsupported { .. })
    ));
    assert_eq!(
        a.guarded(|v| v.iter().map(|&x| x as u64).sum::<u64>())
            .unwrap(),
        3 * 65536
    );
    // A mapped file cannot be truncated on Windows.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    assert!(f.set_len(4096).is_err());

    let name = format!("ndmmap-test-unlink-{}", std::process::id());
    // SAFETY: only this test uses the object.
    let s = unsafe { shm::create::<u8, Ix1, _>(&name, 10) }.unwrap();
    shm::unlink(&name).unwrap();
    shm::unlink(&name).unwrap();
    // SAFETY: as above.
    assert!(
        unsafe { shm::open::<u8, Ix1, _>(&name, 10) }.is_ok(),
        "still open: not gone"
    );
    drop(s);
    // SAFETY: as above.
    let gone = unsafe { shm::open::<u8, Ix1, _>(&name, 10) }.unwrap_err();
    assert_eq!(
        gone.io_error().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
}
