//! POSIX named shared memory: create and open by name, the name's lifetime, name rules, sizes,
//! the `.npy` header, residency. Python's side is in `scripts/shm_interop.py`.
//!
//! Every test uses its own name (pid + counter) inside a [`Name`] guard that unlinks it when
//! the test ends, passed or failed.
#![cfg(unix)]

mod common;

use common::page;
use ndarray::{Ix1, Ix2};
use ndmmap::shared::shm::{self, ShmOptions};
use ndmmap::{Error, Mode};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A unique name, unlinked (if it still exists) when dropped.
struct Name(String);

impl Name {
    fn new(tag: &str) -> Name {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Name(format!("ndmmap-test-{}-{n}-{tag}", std::process::id()))
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = shm::unlink(&self.0);
    }
}

/// Whether the name exists (an open of zero bytes succeeds).
fn exists(name: &str) -> bool {
    // SAFETY: a zero-length map reads nothing.
    match unsafe {
        ShmOptions::new()
            .mode(Mode::ReadOnly)
            .open::<u8, Ix1, _>(name, 0)
    } {
        Ok(_) => true,
        Err(e) if e.io_error().map(|e| e.kind()) == Some(std::io::ErrorKind::NotFound) => false,
        Err(e) => panic!("open of {name}: {e}"),
    }
}

#[test]
fn create_then_open_sees_writes_both_ways() {
    let name = Name::new("roundtrip");
    // SAFETY (all maps here): only this test uses the name, and nothing truncates it.
    let mut a = unsafe { shm::create::<f64, Ix2, _>(&name, (1000, 3)).unwrap() };
    assert!(a.view().iter().all(|&x| x == 0.0), "created zero-filled");
    a.view_mut()
        .unwrap()
        .indexed_iter_mut()
        .for_each(|((i, j), x)| *x = (i * 3 + j) as f64);
    let mut b = unsafe { shm::open::<f64, Ix2, _>(&name, (1000, 3)).unwrap() };
    assert_eq!(b.view(), a.view(), "the second map sees the first's writes");
    b.view_mut().unwrap()[[999, 2]] = -1.0;
    b.view_mut().unwrap()[[0, 0]] = 42.0;
    assert_eq!(
        a.view()[[999, 2]],
        -1.0,
        "the first map sees the second's writes"
    );
    assert_eq!(a.view()[[0, 0]], 42.0);
    assert_eq!(a.mode(), Mode::ReadWrite);
    #[cfg(target_os = "linux")]
    assert_eq!(
        a.path(),
        Some(std::path::Path::new(&format!("/dev/shm/{}", &*name)))
    );
}

#[test]
fn bare_and_slashed_names_are_one_object() {
    let name = Name::new("slash");
    // SAFETY: as above.
    let mut a = unsafe { shm::create::<u32, Ix1, _>(&name, 4).unwrap() };
    a.view_mut().unwrap()[1] = 11;
    let b = unsafe { shm::open::<u32, Ix1, _>(&format!("/{}", &*name), 4).unwrap() };
    assert_eq!(b.view()[1], 11);
}

#[test]
fn second_create_is_shm_exists() {
    let name = Name::new("exists");
    // SAFETY: as above.
    let _a = unsafe { shm::create::<u8, Ix1, _>(&name, 10).unwrap() };
    let err = unsafe { shm::create::<u8, Ix1, _>(&name, 10) }.unwrap_err();
    match &err {
        Error::ShmExists { name: n } => assert_eq!(n, &format!("/{}", &*name)),
        e => panic!("expected ShmExists, got {e:?}"),
    }
    assert!(err.to_string().contains("exists already"), "{err}");
    // The failed create did not unlink the first one's name.
    assert!(exists(&name));
}

#[test]
fn open_of_a_missing_name_is_not_found() {
    let name = Name::new("missing");
    // SAFETY: nothing is mapped.
    let err = unsafe { shm::open::<f64, Ix1, _>(&name, 3) }.unwrap_err();
    assert_eq!(
        err.io_error().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("shm_open") && text.contains(&*name.0),
        "{text}"
    );
    #[cfg(target_os = "linux")]
    assert!(text.contains("/dev/shm/"), "{text}");
    assert!(shm::unlink(&name).is_err(), "unlink of a missing name");
}

#[test]
fn invalid_names_are_refused() {
    let long = "x".repeat(256);
    for bad in [
        "",
        "/",
        "a/b",
        "//a",
        "/a/",
        "a\0b",
        ".",
        "..",
        "/..",
        long.as_str(),
    ] {
        // SAFETY: nothing is mapped.
        let err = unsafe { shm::create::<u8, Ix1, _>(bad, 1) }.unwrap_err();
        assert!(
            matches!(err, Error::InvalidShmName { .. }),
            "{bad:?}: {err:?}"
        );
        assert!(matches!(
            unsafe { shm::open::<u8, Ix1, _>(bad, 1) }.unwrap_err(),
            Error::InvalidShmName { .. }
        ));
        assert!(matches!(
            shm::unlink(bad).unwrap_err(),
            Error::InvalidShmName { .. }
        ));
    }
    let err = unsafe { shm::create::<u8, Ix1, _>("a\nb/c", 1) }.unwrap_err();
    assert!(
        err.to_string().contains("a\\nb/c"),
        "control characters escaped: {err}"
    );
}

#[cfg(not(target_os = "macos"))]
#[test]
fn a_name_of_255_bytes_is_accepted() {
    let mut long = Name::new("");
    long.0 = format!("{}{}", long.0, "y".repeat(255 - long.0.len()));
    assert_eq!(long.0.len(), 255);
    // SAFETY: as above.
    let a = unsafe { shm::create::<u8, Ix1, _>(&format!("/{}", long.0), 1).unwrap() };
    assert_eq!(a.len(), 1);
}

#[test]
fn created_unlinks_on_drop_unless_asked_not_to() {
    let name = Name::new("unlink");
    // SAFETY: as above.
    let a = unsafe { shm::create::<u8, Ix1, _>(&name, 10).unwrap() };
    assert!(exists(&name));
    drop(a);
    assert!(!exists(&name), "the creating handle unlinked the name");

    let a = unsafe {
        ShmOptions::new()
            .unlink_on_drop(false)
            .create::<u8, Ix1, _>(&name, 10)
            .unwrap()
    };
    drop(a);
    assert!(exists(&name), "kept with unlink_on_drop(false)");
    shm::unlink(&name).unwrap();
    assert!(!exists(&name), "unlinked explicitly");
}

#[test]
fn opened_keeps_the_name_unless_asked() {
    let name = Name::new("opened");
    // SAFETY: as above.
    let owner = unsafe {
        ShmOptions::new()
            .unlink_on_drop(false)
            .create::<u8, Ix1, _>(&name, 10)
            .unwrap()
    };
    drop(unsafe { shm::open::<u8, Ix1, _>(&name, 10).unwrap() });
    assert!(exists(&name), "an opener leaves the name by default");
    let mut b = unsafe {
        ShmOptions::new()
            .unlink_on_drop(true)
            .open::<u8, Ix1, _>(&name, 10)
            .unwrap()
    };
    b.view_mut().unwrap()[0] = 5;
    drop(b);
    assert!(!exists(&name), "an opener asked to unlink did");
    assert_eq!(owner.view()[0], 5, "the owner's map outlives the name");
}

#[test]
fn failed_create_leaves_no_name() {
    let name = Name::new("rollback");
    // SAFETY: nothing is mapped.
    let err = unsafe { shm::create::<f64, Ix2, _>(&name, (usize::MAX / 4, 3)) }.unwrap_err();
    assert!(matches!(err, Error::SizeOverflow { .. }), "{err:?}");
    assert!(!exists(&name), "the created name was unlinked again");
}

#[test]
fn open_of_a_short_object_is_too_short() {
    let name = Name::new("short");
    // SAFETY: as above.
    let _a = unsafe { shm::create::<u8, Ix1, _>(&name, 100).unwrap() };
    let err = unsafe { shm::open::<f64, Ix1, _>(&name, 13) }.unwrap_err();
    match err {
        Error::TooShort { len, needed, .. } => assert_eq!((len, needed), (100, 104)),
        e => panic!("expected TooShort, got {e:?}"),
    }
    // Longer than the array is fine (the OS or Python may round a size up).
    let b = unsafe { shm::open::<f64, Ix2, _>(&name, (4, 3)).unwrap() };
    assert_eq!(b.shape(), &[4, 3]);
}

#[test]
fn read_only_and_copy_on_write_opens() {
    let name = Name::new("modes");
    // SAFETY: as above.
    let mut a = unsafe { shm::create::<i32, Ix1, _>(&name, 8).unwrap() };
    a.view_mut().unwrap().fill(3);
    let mut r = unsafe {
        ShmOptions::new()
            .mode(Mode::ReadOnly)
            .open::<i32, Ix1, _>(&name, 8)
            .unwrap()
    };
    assert!(matches!(r.view_mut(), Err(Error::NotWritable { .. })));
    let mut c = unsafe {
        ShmOptions::new()
            .mode(Mode::CopyOnWrite)
            .open::<i32, Ix1, _>(&name, 8)
            .unwrap()
    };
    c.view_mut().unwrap().fill(9);
    assert_eq!(a.view().sum(), 24, "a private map's writes stay private");
    a.view_mut().unwrap()[0] = 100;
    assert_eq!(r.view()[0], 100, "a read-only map sees later writes");
}

#[test]
fn open_or_create_creates_once() {
    let name = Name::new("ooc");
    // SAFETY: as above.
    let (mut a, created) = unsafe {
        ShmOptions::new()
            .open_or_create::<u64, Ix2, _>(&name, (3, 4))
            .unwrap()
    };
    assert!(created);
    a.view_mut().unwrap()[[2, 3]] = 77;
    let (b, created) = unsafe {
        ShmOptions::new()
            .open_or_create::<u64, Ix2, _>(&name, (3, 4))
            .unwrap()
    };
    assert!(!created);
    assert_eq!(b.view()[[2, 3]], 77);
    drop(b);
    assert!(exists(&name), "the opener does not unlink");
    drop(a);
    assert!(!exists(&name), "the creator does");
}

#[test]
fn residency_of_a_written_shm_array() {
    let name = Name::new("residency");
    let page = page();
    // SAFETY: as above.
    let mut a = unsafe { shm::create::<u8, Ix2, _>(&name, (16, page)).unwrap() };
    a.view_mut().unwrap().fill(1);
    let r = a.pages(..).unwrap().residency().unwrap();
    assert_eq!((r.resident, r.total), (16, 16), "{r:?}");
    let rows = a.pages(..).unwrap().along(ndarray::Axis(0)).unwrap();
    assert!(rows.iter().all(|&f| f == 1.0), "{rows:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn preallocate_allocates_at_creation() {
    use std::os::unix::fs::MetadataExt;
    let blocks = |name: &str| {
        std::fs::metadata(format!("/dev/shm/{name}"))
            .unwrap()
            .blocks()
    };
    let (sparse, full) = (Name::new("sparse"), Name::new("prealloc"));
    let n = 64 * page();
    // SAFETY: as above.
    let _s = unsafe { shm::create::<u8, Ix1, _>(&sparse, n).unwrap() };
    let _f = unsafe {
        ShmOptions::new()
            .preallocate(true)
            .create::<u8, Ix1, _>(&full, n)
            .unwrap()
    };
    assert_eq!(blocks(&sparse), 0, "pages allocated when first written");
    assert!(blocks(&full) * 512 >= n as u64, "{} blocks", blocks(&full));
}

#[test]
fn resize_a_shm_array() {
    let name = Name::new("resize");
    // SAFETY: as above.
    let mut a = unsafe { shm::create::<f32, Ix2, _>(&name, (4, 3)).unwrap() };
    a.view_mut().unwrap().fill(1.0);
    a.resize(1000).unwrap();
    a.view_mut().unwrap()[[999, 2]] = 2.0;
    let b = unsafe { shm::open::<f32, Ix2, _>(&name, (1000, 3)).unwrap() };
    assert_eq!(
        b.view().sum(),
        14.0,
        "the kept rows, and the new row's write"
    );
    a.resize(2).unwrap();
    let err = unsafe { shm::open::<f32, Ix2, _>(&name, (3, 3)) }.unwrap_err();
    assert!(matches!(err, Error::TooShort { .. }), "{err:?}");
}

#[cfg(feature = "npy")]
mod npy_header {
    use super::*;
    use ndarray::IxDyn;

    fn header_segment(name: &Name) -> ndmmap::MmapArray<f64, Ix2> {
        // SAFETY: only this test uses the name, and nothing truncates it.
        let mut a = unsafe {
            ShmOptions::new()
                .npy_header(true)
                .create::<f64, Ix2, _>(name, (5, 3))
                .unwrap()
        };
        a.view_mut()
            .unwrap()
            .indexed_iter_mut()
            .for_each(|((i, j), x)| *x = (10 * i + j) as f64);
        a
    }

    #[test]
    fn open_npy_reads_the_header() {
        let name = Name::new("npy");
        let a = header_segment(&name);
        assert_eq!(a.offset() % 64, 0, "data 64-byte aligned");
        assert!(a.offset() > 0);
        // SAFETY: as above.
        let b = unsafe { shm::open_npy::<f64, IxDyn>(&name).unwrap() };
        assert_eq!(b.shape(), &[5, 3]);
        assert_eq!(b.view()[[4, 2]], 42.0);
        assert_eq!(b.offset(), a.offset());
        let err = unsafe { shm::open_npy::<f32, IxDyn>(&name) }.unwrap_err();
        assert!(matches!(err, Error::DtypeMismatch { .. }), "{err:?}");
        let err = unsafe { shm::open_npy::<f64, Ix1>(&name) }.unwrap_err();
        assert!(
            matches!(
                err,
                Error::DimensionMismatch {
                    expected: 1,
                    found: 2
                }
            ),
            "{err:?}"
        );
        // A raw segment has no header.
        let raw = Name::new("raw");
        let _r = unsafe { shm::create::<f64, Ix1, _>(&raw, 16).unwrap() };
        let err = unsafe { shm::open_npy::<f64, IxDyn>(&raw) }.unwrap_err();
        assert!(matches!(err, Error::Npy { .. }), "{err:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn npy_open_reads_dev_shm() {
        let name = Name::new("devshm");
        let mut a = header_segment(&name);
        let path = format!("/dev/shm/{}", &*name);
        let h = ndmmap::npy::read_header(&path).unwrap();
        assert_eq!(
            (h.descr.as_str(), h.shape.as_slice(), h.fortran_order),
            ("<f8", &[5, 3][..], false)
        );
        assert_eq!(h.data_offset, a.offset());
        // SAFETY: as above.
        let mut b = unsafe { ndmmap::npy::open_mut::<f64, Ix2>(&path).unwrap() };
        assert_eq!(b.view(), a.view());
        b.view_mut().unwrap()[[0, 1]] = -5.0;
        assert_eq!(a.view()[[0, 1]], -5.0, "live both ways");
        a.view_mut().unwrap()[[1, 1]] = -6.0;
        assert_eq!(b.view()[[1, 1]], -6.0);
        // What numpy's reader (ndarray-npy here) reads is the same array.
        drop(b);
        let file = std::fs::File::open(&path).unwrap();
        let read: ndarray::Array2<f64> = ndarray_npy::ReadNpyExt::read_npy(file).unwrap();
        assert_eq!(read.view(), a.view());
    }

    #[test]
    fn resize_rewrites_the_header() {
        let name = Name::new("npy-resize");
        let mut a = header_segment(&name);
        a.resize(100_000).unwrap();
        // SAFETY: as above.
        let b = unsafe { shm::open_npy::<f64, Ix2>(&name).unwrap() };
        assert_eq!(b.shape(), &[100_000, 3]);
        assert_eq!((b.offset(), b.view()[[4, 2]]), (a.offset(), 42.0));
    }

    #[test]
    fn fortran_order_header() {
        use ndarray::ShapeBuilder;
        let name = Name::new("fortran");
        // SAFETY: as above.
        let mut a = unsafe {
            ShmOptions::new()
                .npy_header(true)
                .create::<i16, Ix2, _>(&name, (2, 3).f())
                .unwrap()
        };
        a.view_mut().unwrap()[[1, 0]] = 8;
        let b = unsafe { shm::open_npy::<i16, Ix2>(&name).unwrap() };
        assert_eq!(b.view()[[1, 0]], 8);
        assert_eq!(b.view().strides(), &[1, 2]);
    }

    #[test]
    fn open_or_create_checks_an_existing_header() {
        let name = Name::new("ooc-npy");
        let _a = header_segment(&name);
        let opts = *ShmOptions::new().npy_header(true);
        // SAFETY: as above.
        let (b, created) = unsafe { opts.open_or_create::<f64, Ix2, _>(&name, (5, 3)).unwrap() };
        assert!(!created);
        assert_eq!(b.view()[[3, 1]], 31.0);
        let err = unsafe { opts.open_or_create::<f64, Ix2, _>(&name, (6, 3)) }.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Npy {
                    kind: ndmmap::NpyError::Stale { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

/// Who may open an object: another user's, or one others may write, is refused (issue 21).
/// Objects are made and changed through `/dev/shm`, so these run on Linux; the tests that
/// need a second user make the object as `nobody` in a forked child and need root.
#[cfg(target_os = "linux")]
mod ownership {
    use super::{Name, common};
    use ndarray::Ix1;
    use ndmmap::shared::shm::{self, ShmOptions};
    use ndmmap::{Error, Mode, ShmRefusal};
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    /// `nobody`'s ids on Debian and most distributions.
    const NOBODY: u32 = 65534;

    fn path(name: &str) -> PathBuf {
        PathBuf::from(format!("/dev/shm/{name}"))
    }

    fn mode_of(name: &str) -> u32 {
        std::fs::metadata(path(name)).unwrap().permissions().mode() & 0o7777
    }

    fn chmod(name: &str, mode: u32) {
        std::fs::set_permissions(path(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Whether this process may become another user; else prints why the test skips.
    fn root_or_skip() -> bool {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return !common::skip_or_fail(
                "not root: making an object as user nobody (uid 65534) needs setuid; run as root",
            );
        }
        true
    }

    /// In a forked child that becomes `nobody`, makes `/dev/shm/NAME` with mode 0666 through
    /// `shm_open` and fills its 4096 bytes with 0xAB: a trap for a root that opens it.
    fn made_by_nobody(name: &str) {
        let posix = std::ffi::CString::new(format!("/{name}")).unwrap();
        let code = common::as_nobody(move || {
            // SAFETY: a forked child (now nobody) uses plain libc calls on a string and
            // descriptor it owns.
            unsafe {
                let fd = libc::shm_open(
                    posix.as_ptr(),
                    libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                    0o666,
                );
                if fd < 0 || libc::fchmod(fd, 0o666) != 0 || libc::ftruncate(fd, 4096) != 0 {
                    return 3;
                }
                let data = [0xABu8; 4096];
                if libc::write(fd, data.as_ptr().cast(), data.len()) != 4096 {
                    return 4;
                }
                libc::close(fd);
            }
            0
        });
        assert_eq!(code, 0, "the child made the object as nobody");
        let meta = std::fs::metadata(path(name)).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o666));
    }

    fn untouched(name: &str) {
        let bytes = std::fs::read(path(name)).unwrap();
        assert_eq!(bytes.len(), 4096, "not truncated nor resized");
        assert!(bytes.iter().all(|&b| b == 0xAB), "not written");
    }

    fn is_refused(r: ndmmap::Result<impl std::fmt::Debug>, name: &str, why: ShmRefusal) {
        match r {
            Err(Error::ShmUntrusted {
                path: p, why: w, ..
            }) if w == why => assert_eq!(p, path(name)),
            other => panic!("{name}: expected ShmUntrusted({why:?}), got {other:?}"),
        }
    }

    #[test]
    fn another_users_object_is_refused_by_root() {
        if !root_or_skip() {
            return;
        }
        let name = Name::new("nobody");
        made_by_nobody(&name);
        for group in [false, true] {
            let mut o = ShmOptions::new();
            o.share_with_group(group);
            // SAFETY (all here): each call is refused before anything is mapped.
            let r = unsafe { o.open_or_create::<u8, Ix1, _>(&name, 4096) };
            match &r {
                Err(Error::ShmUntrusted {
                    why: ShmRefusal::Owner,
                    owner: NOBODY,
                    group: NOBODY,
                    mode: 0o666,
                    euid: 0,
                    ..
                }) => {}
                other => panic!("open_or_create of nobody's object: {other:?}"),
            }
            let text = r.unwrap_err().to_string();
            assert!(
                text.contains(&format!("/dev/shm/{}", &*name))
                    && text.contains("user 65534")
                    && text.contains("effective user 0")
                    && text.contains("unlink"),
                "{text}"
            );
            is_refused(
                unsafe { o.open::<u8, Ix1, _>(&name, 4096) },
                &name,
                ShmRefusal::Owner,
            );
            let ro = *o.clone().mode(Mode::ReadOnly);
            is_refused(
                unsafe { ro.open::<u8, Ix1, _>(&name, 16) },
                &name,
                ShmRefusal::Owner,
            );
            #[cfg(feature = "npy")]
            is_refused(
                unsafe { o.open_npy::<u8, ndarray::IxDyn>(&name) },
                &name,
                ShmRefusal::Owner,
            );
            // A bigger shape would have made a careless open_or_create resize it.
            is_refused(
                unsafe { o.open_or_create::<u8, Ix1, _>(&name, 1 << 20) },
                &name,
                ShmRefusal::Owner,
            );
            untouched(&name);
        }
        // Creating over it is ShmExists, as ever, and touches nothing.
        assert!(matches!(
            unsafe { shm::create::<u8, Ix1, _>(&name, 16) },
            Err(Error::ShmExists { .. })
        ));
        untouched(&name);
    }

    #[test]
    fn a_fifo_under_the_name_is_refused_without_blocking() {
        if !root_or_skip() {
            return;
        }
        let name = Name::new("fifo");
        let p = std::ffi::CString::new(path(&name).to_str().unwrap()).unwrap();
        let code = common::as_nobody(move || {
            // SAFETY: a forked child (now nobody) makes a FIFO.
            unsafe {
                if libc::mkfifo(p.as_ptr(), 0o666) != 0 {
                    return 3;
                }
            }
            0
        });
        assert_eq!(code, 0);
        let t = std::time::Instant::now();
        // SAFETY: refused before anything is mapped.
        let r = unsafe {
            ShmOptions::new()
                .mode(Mode::ReadOnly)
                .open::<u8, Ix1, _>(&name, 1)
        };
        is_refused(r, &name, ShmRefusal::NotRegular);
        assert!(t.elapsed().as_secs() < 5, "the open did not block");
    }

    #[test]
    fn own_objects_writable_by_others_are_refused_unless_shared() {
        let name = Name::new("writable");
        // SAFETY (all here): only this test uses the name; nothing truncates it.
        let mut a = unsafe {
            ShmOptions::new()
                .unlink_on_drop(false)
                .create::<u32, Ix1, _>(&name, 8)
                .unwrap()
        };
        a.view_mut().unwrap()[0] = 5;
        let private = ShmOptions::new();
        let group = *ShmOptions::new().share_with_group(true);

        chmod(&name, 0o660);
        is_refused(
            unsafe { private.open::<u32, Ix1, _>(&name, 8) },
            &name,
            ShmRefusal::GroupWritable,
        );
        is_refused(
            unsafe { private.open_or_create::<u32, Ix1, _>(&name, 8) },
            &name,
            ShmRefusal::GroupWritable,
        );
        let b = unsafe { group.open::<u32, Ix1, _>(&name, 8).unwrap() };
        assert_eq!(b.view()[0], 5, "our group's object opens when shared");

        chmod(&name, 0o666);
        for o in [private, group] {
            is_refused(
                unsafe { o.open::<u32, Ix1, _>(&name, 8) },
                &name,
                ShmRefusal::WorldWritable,
            );
        }
        chmod(&name, 0o602);
        is_refused(
            unsafe { group.open::<u32, Ix1, _>(&name, 8) },
            &name,
            ShmRefusal::WorldWritable,
        );

        // Readable by others is the owner's choice; writable by the owner only is private.
        chmod(&name, 0o644);
        let c = unsafe { private.open::<u32, Ix1, _>(&name, 8).unwrap() };
        assert_eq!(c.view()[0], 5);
        assert_eq!(a.view()[0], 5);
    }

    #[test]
    fn created_objects_are_0600_or_0660_whatever_the_umask() {
        // The umask is the process's: change it in a forked child only.
        let code = common::in_child(|| {
            for (umask, group, want) in [
                (0o000, false, 0o600),
                (0o022, false, 0o600),
                (0o077, true, 0o660),
                (0o000, true, 0o660),
            ] {
                // SAFETY: umask has no preconditions; this child runs no other thread.
                unsafe { libc::umask(umask) };
                let name = Name::new("mode");
                // SAFETY: only this child uses the name.
                let a = unsafe {
                    ShmOptions::new()
                        .share_with_group(group)
                        .open_or_create::<u8, Ix1, _>(&name, 8)
                };
                let (_a, created) = a.unwrap();
                assert!(created);
                assert_eq!(mode_of(&name), want, "umask {umask:o}, group {group}");
                let plain = Name::new("mode-fn");
                let _b = unsafe { shm::create::<u8, Ix1, _>(&plain, 1).unwrap() };
                assert_eq!(mode_of(&plain), 0o600, "umask {umask:o}, shm::create");
            }
            0
        });
        assert_eq!(code, 0);
    }
}
