//! `MmapArray::resize`: rows added and dropped in place on raw and `.npy` files, bytes after a
//! raw array kept, preallocated growth, every refusal with its error, and crash safety (a
//! child killed at random points while resizing; numpy loads each result). Concurrent
//! resizers, readers and kills on one file are in `resize/concurrent.rs`.

mod common;
#[cfg(all(unix, feature = "npy"))]
#[path = "resize/concurrent.rs"]
mod concurrent;

use ndarray::{Array, Ix0, Ix1, Ix2, ShapeBuilder, s};
use ndmmap::{Error, MmapArray, MmapOptions, Mode};
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// A raw read-write array of `shape` `f64` at byte `offset` of `p` (created, grown to fit).
fn raw<D: ndarray::Dimension>(
    p: &Path,
    offset: u64,
    shape: impl ShapeBuilder<Dim = D>,
    preallocate: bool,
) -> MmapArray<f64, D> {
    // SAFETY: the test's files are its own.
    unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .offset(offset)
            .preallocate(preallocate)
            .map_path::<f64, D, _>(p, shape)
    }
    .unwrap()
}

fn cannot_resize(r: ndmmap::Result<()>, words: &str) {
    match r {
        Err(e @ Error::CannotResize { .. }) => {
            assert!(e.to_string().contains(words), "{e}")
        }
        other => panic!("expected CannotResize ({words}), got {other:?}"),
    }
}

#[test]
fn raw_1d_grows_and_shrinks_keeping_data() {
    let dir = common::tmpdir();
    let p = dir.path().join("r.bin");
    std::fs::write(&p, [7u8; 64]).unwrap(); // a 64-byte header the array lies behind
    let mut a = raw::<Ix1>(&p, 64, 100, false);
    a.as_slice_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
        .for_each(|(i, x)| *x = i as f64);
    a.resize(10_000).unwrap();
    assert_eq!((a.len(), file_len(&p)), (10_000, 64 + 80_000));
    assert_eq!(a.view()[99], 99.0);
    assert_eq!(a.view().slice(s![100..]).sum(), 0.0, "new rows are zero");
    a.view_mut().unwrap().slice_mut(s![100..]).fill(1.0);
    a.resize(50).unwrap();
    assert_eq!((a.len(), file_len(&p)), (50, 64 + 400), "truncated");
    assert_eq!(a.view().sum(), (0..50).sum::<usize>() as f64);
    a.resize(0).unwrap();
    assert_eq!((a.len(), file_len(&p)), (0, 64));
    a.resize(60).unwrap();
    assert_eq!(a.view().sum(), 0.0, "rows dropped and grown again are zero");
    drop(a);
    assert_eq!(
        std::fs::read(&p).unwrap()[..64],
        [7u8; 64],
        "the header is untouched"
    );
}

#[test]
fn raw_2d_to_zero_rows_and_back() {
    let dir = common::tmpdir();
    let p = dir.path().join("r2.bin");
    let mut a = raw::<Ix2>(&p, 0, (30, 7), false);
    let want = Array::from_shape_fn((30, 7), |(i, j)| (i * 7 + j) as f64);
    a.view_mut().unwrap().assign(&want);
    a.resize(1000).unwrap();
    assert_eq!(a.shape(), &[1000, 7]);
    assert_eq!(a.strides(), &[7, 1]);
    assert_eq!(a.view().slice(s![..30, ..]), want);
    a.resize(10).unwrap();
    assert_eq!(a.view(), want.slice(s![..10, ..]));
    a.resize(0).unwrap();
    assert_eq!((a.shape(), file_len(&p)), (&[0, 7][..], 0));
    a.resize(5).unwrap();
    assert_eq!((a.view().sum(), file_len(&p)), (0.0, 5 * 7 * 8));
    // A fresh map of the file sees the same.
    drop(a);
    let b = unsafe { MmapOptions::new().map_path::<f64, Ix2, _>(&p, (5, 7)) }.unwrap();
    assert_eq!(b.view().sum(), 0.0);
}

#[test]
fn raw_file_with_bytes_after_the_array_keeps_them() {
    let dir = common::tmpdir();
    let p = dir.path().join("footer.bin");
    // 16 header bytes, 10 x 4 f64, then a 100-byte footer that is not part of the array.
    let mut bytes = vec![1u8; 16];
    bytes.extend((0..40).flat_map(|i| (i as f64).to_ne_bytes()));
    bytes.extend([0xAB; 100]);
    std::fs::write(&p, &bytes).unwrap();
    let mut a = raw::<Ix2>(&p, 16, (10, 4), false);
    // Shrinking keeps the file's length: the dropped rows and the footer stay.
    a.resize(4).unwrap();
    assert_eq!(a.view()[[3, 3]], 15.0);
    assert_eq!(std::fs::read(&p).unwrap(), bytes, "the file is unchanged");
    // Growing would overwrite what follows the array: refused, the file unchanged.
    cannot_resize(a.resize(5), "bytes after the array");
    cannot_resize(a.resize(1000), "set_len");
    assert_eq!(
        (a.shape(), std::fs::read(&p).unwrap()),
        (&[4, 4][..], bytes)
    );
    // Same length: nothing to do, not an error.
    a.resize(4).unwrap();
    // Once the caller truncates the file to the array's end, it grows (zeros). (Windows
    // refuses to truncate a mapped file at all.)
    if cfg!(windows) {
        return;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(16 + 4 * 32)
        .unwrap();
    a.resize(6).unwrap();
    assert_eq!(a.view().slice(s![4.., ..]).sum(), 0.0);
    assert_eq!(file_len(&p), 16 + 6 * 32);
}

#[cfg(unix)]
#[test]
fn preallocated_growth_allocates_blocks_and_sparse_growth_does_not() {
    let dir = common::tmpdir();
    let mib = 1u64 << 20;
    let blocks = |p: &Path| std::fs::metadata(p).unwrap().blocks() * 512;
    let pp = dir.path().join("pre.bin");
    let mut a = raw::<Ix2>(&pp, 0, (1, 1024), true);
    a.resize(1024).unwrap(); // 8 MiB
    assert_eq!(file_len(&pp), 8 * mib);
    assert!(blocks(&pp) >= 8 * mib, "{} bytes allocated", blocks(&pp));
    let ps = dir.path().join("sparse.bin");
    let mut b = raw::<Ix2>(&ps, 0, (1, 1024), false);
    b.resize(1024).unwrap();
    assert_eq!(file_len(&ps), 8 * mib);
    assert!(blocks(&ps) < mib, "{} bytes allocated", blocks(&ps));
}

#[test]
fn refusals_change_nothing_and_say_why() {
    // Anonymous memory has no file.
    let mut anon = MmapArray::<f64, Ix2>::anonymous((4, 4)).unwrap();
    cannot_resize(anon.resize(8), "anonymous");
    let mut private = MmapArray::<f64, Ix2>::anonymous_private((4, 4)).unwrap();
    cannot_resize(private.resize(8), "anonymous");
    let dir = common::tmpdir();
    let p = dir.path().join("a.bin");
    drop(raw::<Ix2>(&p, 0, (4, 4), false));
    let map = |mode: Mode| {
        // SAFETY: the test's files are its own.
        unsafe {
            MmapOptions::new()
                .mode(mode)
                .map_path::<f64, Ix2, _>(&p, (4, 4))
        }
        .unwrap()
    };
    cannot_resize(map(Mode::CopyOnWrite).resize(8), "copy-on-write");
    cannot_resize(map(Mode::ReadOnly).resize(8), "read-only");
    cannot_resize(map(Mode::ReadOnly).resize(2), "Mode::ReadWrite");
    // Fortran order with two long axes: the first axis is not contiguous.
    let mut f = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .map_path::<f64, Ix2, _>(&p, (4, 4).f())
    }
    .unwrap();
    cannot_resize(f.resize(8), "Fortran");
    // 0-D.
    let mut z = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .map_path::<f64, Ix0, _>(&p, ())
    }
    .unwrap();
    cannot_resize(z.resize(2), "0-dimensional");
    // Pages protected against writing.
    let mut w = map(Mode::ReadWrite);
    w.pages_mut(..)
        .unwrap()
        .protect(ndmmap::Protection::Read)
        .unwrap();
    assert!(matches!(w.resize(8), Err(Error::NotWritable { .. })));
    assert_eq!(file_len(&p), 128, "no refusal changed the file");
}

#[cfg(target_os = "linux")]
#[test]
fn a_fortran_array_with_one_long_axis_resizes_as_c() {
    let dir = common::tmpdir();
    let p = dir.path().join("col.bin");
    let mut a = raw::<Ix2>(&p, 0, (5, 1).f(), false);
    a.as_slice_mut().unwrap().fill(3.0);
    a.resize(8).unwrap();
    assert_eq!((a.shape(), a.strides()), (&[8, 1][..], &[1, 1][..]));
    assert_eq!(a.view().sum(), 15.0);
}

/// A memory file (`memfd_create`) of `len` bytes with `seals` added.
#[cfg(target_os = "linux")]
fn memfd(len: u64, seals: libc::c_int) -> std::fs::File {
    use std::os::fd::FromRawFd;
    // SAFETY: a NUL-terminated name; the call returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(c"resize".as_ptr(), libc::MFD_ALLOW_SEALING) };
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.set_len(len).unwrap();
    // SAFETY: F_ADD_SEALS with an integer argument changes only the file's seal set.
    assert_eq!(
        unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) },
        0,
        "{}",
        std::io::Error::last_os_error()
    );
    f
}

#[cfg(target_os = "linux")]
#[test]
fn a_sealed_memory_file_refuses_with_its_seal() {
    let map = |f: &std::fs::File| {
        // SAFETY: the memory file is the test's own.
        unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .offset(0)
                .map::<u64, Ix2, _>(f, (16, 8))
        }
        .unwrap()
    };
    let grow_sealed = memfd(1024, libc::F_SEAL_GROW);
    let mut a = map(&grow_sealed);
    match a.resize(32) {
        Err(Error::Sealed { op, seal, .. }) => assert_eq!((op, seal), ("grow", "F_SEAL_GROW")),
        other => panic!("{other:?}"),
    }
    a.resize(8).unwrap(); // shrinking is allowed
    assert_eq!(grow_sealed.metadata().unwrap().len(), 512);
    let shrink_sealed = memfd(1024, libc::F_SEAL_SHRINK);
    let mut b = map(&shrink_sealed);
    match b.resize(8) {
        Err(e @ Error::Sealed { .. }) => {
            assert!(matches!(
                e,
                Error::Sealed {
                    op: "shrink",
                    seal: "F_SEAL_SHRINK",
                    ..
                }
            ));
            assert!(e.to_string().contains("F_SEAL_SHRINK"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (b.shape(), shrink_sealed.metadata().unwrap().len()),
        (&[16, 8][..], 1024)
    );
    b.resize(40).unwrap(); // growing is allowed
    assert_eq!(shrink_sealed.metadata().unwrap().len(), 40 * 64);
}

#[cfg(unix)]
#[test]
fn a_failed_growth_restores_the_file() {
    let dir = common::tmpdir();
    let p = dir.path().join("big.bin");
    drop(raw::<Ix2>(&p, 0, (100, 1024), false));
    let code = common::in_child(|| {
        let mut a = raw::<Ix2>(&p, 0, (100, 1024), false);
        let lim = libc::rlimit {
            rlim_cur: 2 << 30,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: setrlimit with a valid struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) } != 0 {
            return 77;
        }
        // Little address space left: the remap of a 32 GiB growth fails.
        if a.resize(4 << 20).is_ok() {
            return 1;
        }
        if a.shape() != [100, 1024] || file_len(&p) != 100 * 8192 {
            return 2;
        }
        if a.resize(110).is_err() || file_len(&p) != 110 * 8192 {
            return 3;
        }
        0
    });
    assert_eq!(code, 0, "check {code} failed");
}

#[cfg(feature = "npy")]
mod npy_files {
    use super::*;
    use ndmmap::NpyError;
    use ndmmap::npy;

    #[test]
    fn npy_2d_resizes_down_to_zero_and_back() {
        let dir = common::tmpdir();
        let p = dir.path().join("x.npy");
        let mut a = unsafe { npy::create::<i32, Ix2, _>(&p, (100, 5)) }.unwrap();
        let want = Array::from_shape_fn((100, 5), |(i, j)| (i * 5 + j) as i32);
        a.view_mut().unwrap().assign(&want);
        let offset = a.offset();
        for (n, len) in [(3000, 3000), (40, 40), (0, 0), (7, 7)] {
            a.resize(n).unwrap();
            assert_eq!(a.shape(), &[n, 5]);
            assert_eq!(a.offset(), offset, "the data does not move");
            assert_eq!(file_len(&p), offset + len * 20);
            assert_eq!(npy::read_header(&p).unwrap().shape, [n, 5]);
            let back: Array<i32, Ix2> = ndarray_npy::read_npy(&p).unwrap();
            assert_eq!(back, a.view());
        }
        // What was kept through 40 rows survived; rows grown after 0 are zero.
        assert_eq!(a.view().sum(), 0);
        a.view_mut().unwrap().fill(1);
        a.resize(100).unwrap();
        assert_eq!(a.view().slice(s![..7, ..]).sum(), 35);
        assert_eq!(a.view().slice(s![7.., ..]).sum(), 0);
    }

    #[test]
    fn npy_1d_keeps_its_rows() {
        let dir = common::tmpdir();
        let p = dir.path().join("v.npy");
        let mut a = unsafe { npy::create::<f64, Ix1, _>(&p, 10) }.unwrap();
        a.as_slice_mut()
            .unwrap()
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = i as f64);
        a.resize(1_000_000).unwrap();
        a.resize(5).unwrap();
        drop(a);
        let back: Array<f64, Ix1> = ndarray_npy::read_npy(&p).unwrap();
        assert_eq!(back.to_vec(), [0.0, 1.0, 2.0, 3.0, 4.0]);
    }

    #[cfg(unix)]
    #[test]
    fn npy_preallocated_growth_allocates_blocks() {
        let dir = common::tmpdir();
        let p = dir.path().join("pre.npy");
        let mut a = unsafe {
            npy::OpenOptions::new()
                .preallocate(true)
                .create::<f64, Ix2, _>(&p, (1, 1024))
        }
        .unwrap();
        a.resize(1024).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert!(
            m.blocks() * 512 >= 8 << 20,
            "{} bytes allocated",
            m.blocks() * 512
        );
    }

    #[test]
    fn npy_bytes_after_the_data_become_zero_rows_or_stay() {
        let dir = common::tmpdir();
        let p = dir.path().join("t.npy");
        let mut a = unsafe { npy::create::<u8, Ix2, _>(&p, (4, 8)) }.unwrap();
        a.view_mut().unwrap().fill(1);
        let end = file_len(&p);
        std::io::Write::write_all(
            &mut std::fs::OpenOptions::new().append(true).open(&p).unwrap(),
            &[0xAB; 100],
        )
        .unwrap();
        // Shrinking leaves a file with bytes after the data its length.
        a.resize(2).unwrap();
        assert_eq!(file_len(&p), end + 100);
        // Growing turns them into rows, zeroed (numpy reads nothing after the data).
        a.resize(20).unwrap();
        assert_eq!(a.view().slice(s![..2, ..]).sum(), 16);
        assert_eq!(a.view().slice(s![2.., ..]).sum(), 0);
        assert_eq!(file_len(&p), end + 16 * 8);
    }

    #[test]
    fn npy_refusals_change_nothing() {
        let dir = common::tmpdir();
        // Fortran order.
        let pf = dir.path().join("f.npy");
        let mut f = unsafe { npy::create::<f64, Ix2, _>(&pf, (4, 3).f()) }.unwrap();
        let before = std::fs::read(&pf).unwrap();
        cannot_resize(f.resize(8), "Fortran");
        cannot_resize(f.resize(2), "C order");
        assert_eq!(std::fs::read(&pf).unwrap(), before);
        // 0-D.
        let p0 = dir.path().join("s.npy");
        let mut z = unsafe { npy::create::<f64, Ix0, _>(&p0, ()) }.unwrap();
        cannot_resize(z.resize(1), "0-dimensional");
        // Read-only and copy-on-write.
        let p = dir.path().join("x.npy");
        drop(unsafe { npy::create::<f64, Ix2, _>(&p, (4, 3)) }.unwrap());
        let before = std::fs::read(&p).unwrap();
        cannot_resize(
            unsafe { npy::open::<f64, Ix2>(&p) }.unwrap().resize(8),
            "read-only",
        );
        cannot_resize(
            unsafe { npy::open_with::<f64, Ix2>(&p, Mode::CopyOnWrite) }
                .unwrap()
                .resize(2),
            "copy-on-write",
        );
        assert_eq!(std::fs::read(&p).unwrap(), before);
        // A file another array (or process) resized since this one mapped it: refused, saying
        // both row counts and what to do.
        let mut a = unsafe { npy::open_mut::<f64, Ix2>(&p) }.unwrap();
        let mut b = unsafe { npy::open_mut::<f64, Ix2>(&p) }.unwrap();
        b.resize(6).unwrap();
        let e = a.resize(8).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Npy {
                    kind: NpyError::ResizedElsewhere {
                        mapped_rows: 4,
                        file_rows: 6
                    },
                    path: Some(at),
                } if at == &p
            ),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains("x.npy") && text.contains("reload_npy") && text.contains("6 rows"),
            "{text}"
        );
        assert_eq!(npy::read_header(&p).unwrap().shape, [6, 3]);
        // reload_npy picks the other's shape up, and then it resizes.
        a.reload_npy().unwrap();
        a.resize(8).unwrap();
        b.reload_npy().unwrap();
        assert_eq!(b.shape(), &[8, 3]);
        // A shrink by one array, picked up by the other. Windows refuses to shorten a file
        // another map still views: a clear error, and nothing changed.
        if cfg!(windows) {
            match a.resize(1) {
                Err(Error::CannotResize { why, .. }) => assert!(why.contains("another map")),
                other => panic!("{other:?}"),
            }
            assert_eq!(npy::read_header(&p).unwrap().shape, [8, 3]);
            return;
        }
        a.resize(1).unwrap();
        b.reload_npy().unwrap();
        assert_eq!((b.shape(), file_len(&p)), (&[1, 3][..], b.offset() + 24));
    }

    #[test]
    fn npy_header_without_room_is_refused_before_anything_changes() {
        let dir = common::tmpdir();
        // A version 1.0 header padded to 16 bytes with no spare room, as old numpy wrote.
        let (p, bytes) = common::tight_npy(dir.path());
        let mut t = unsafe { npy::open_mut::<u8, Ix1>(&p) }.unwrap();
        cannot_resize(t.resize(1_000_000_000_000_000), "room");
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
        t.resize(2).unwrap(); // one digit still fits
        assert_eq!(npy::read_header(&p).unwrap().shape, [2]);
    }

    // ---- crash safety ----

    /// Set (to the file's path) in the child process the crash test spawns.
    const CHILD_ENV: &str = "NDMMAP_RESIZE_CRASH_CHILD";
    /// The row counts the child cycles through (the file starts with the first).
    const SIZES: [usize; 4] = [1000, 3000, 1700, 2600];
    #[cfg(unix)]
    const COLS: usize = 512;

    /// The child of `a_crash_at_any_point_leaves_a_file_numpy_loads`: resizes the file in a
    /// loop, filling new rows with their index, until it is killed. Returns at once in a
    /// normal test run.
    #[test]
    fn crash_child() {
        let Some(path) = std::env::var_os(CHILD_ENV) else {
            return;
        };
        // SAFETY: the parent does not touch the file until this process is dead.
        let mut a = unsafe { npy::open_mut::<f64, Ix2>(&path) }.unwrap();
        for k in 1.. {
            let n = SIZES[k % SIZES.len()];
            let old = a.shape()[0];
            a.resize(n).unwrap();
            let mut v = a.view_mut().unwrap();
            for i in old..n {
                v.row_mut(i).fill(i as f64);
            }
        }
    }

    /// numpy checks files named on stdin, one per line, answering `ok ROWS` or `bad WHY`.
    #[cfg(unix)]
    const CHECKER: &str = r#"
import sys, numpy as np
sizes = [int(s) for s in sys.argv[1].split(',')]
cols, m = int(sys.argv[2]), min(sizes)
for line in sys.stdin:
    try:
        p = line.strip()
        rows = []
        for a in (np.load(p, mmap_mode='r'), np.load(p)):
            n = a.shape[0]
            assert a.dtype == np.float64 and a.shape == (n, cols), (a.dtype, a.shape)
            assert n in sizes, f'{n} rows is none of {sizes}'
            idx = np.arange(n, dtype=np.float64)[:, None]
            assert (a[:m] == idx[:m]).all(), 'a kept row changed'
            assert ((a[m:] == idx[m:]) | (a[m:] == 0)).all(), 'a new row is neither its index nor 0'
            rows.append(n)
        assert rows[0] == rows[1], rows
        print('ok', rows[0], flush=True)
    except Exception as e:
        print('bad', repr(e).replace('\n', ' '), flush=True)
"#;

    #[cfg(unix)]
    #[test]
    fn a_crash_at_any_point_leaves_a_file_numpy_loads() {
        use std::io::{BufRead, Write};
        use std::process::{Command, Stdio};
        let numpy = Command::new("python3")
            .args(["-c", "import numpy"])
            .stderr(Stdio::null())
            .status();
        if !numpy.is_ok_and(|s| s.success()) {
            common::skip_or_fail("python3 with numpy not found (pip install numpy)");
            return;
        }
        let sizes: Vec<String> = SIZES.iter().map(usize::to_string).collect();
        let mut checker = Command::new("python3")
            .args(["-c", CHECKER, &sizes.join(","), &COLS.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut to_numpy = checker.stdin.take().unwrap();
        let mut from_numpy = std::io::BufReader::new(checker.stdout.take().unwrap());
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        println!("crash test seed {seed}");
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let dir = common::tmpdir();
        let exe = std::env::current_exe().unwrap();
        let started = std::time::Instant::now();
        let mut found = std::collections::BTreeMap::<usize, usize>::new();
        let trials = 40;
        for trial in 0..trials {
            let p = dir.path().join(format!("crash{trial}.npy"));
            let mut a = unsafe { npy::create::<f64, Ix2, _>(&p, (SIZES[0], COLS)) }.unwrap();
            for (i, mut row) in a.view_mut().unwrap().outer_iter_mut().enumerate() {
                row.fill(i as f64);
            }
            drop(a);
            let mut child = Command::new(&exe)
                .args(["--exact", "npy_files::crash_child", "--nocapture"])
                .env(CHILD_ENV, &p)
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            let delay = 20 + next() % 280;
            std::thread::sleep(std::time::Duration::from_millis(delay));
            if let Some(status) = child.try_wait().unwrap() {
                panic!("trial {trial} (seed {seed}): the child ended by itself: {status}");
            }
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(libc::SIGKILL)
            );
            writeln!(to_numpy, "{}", p.display()).unwrap();
            let mut answer = String::new();
            from_numpy.read_line(&mut answer).unwrap();
            let answer = answer.trim();
            let rows = match answer.strip_prefix("ok ") {
                Some(n) => n.parse::<usize>().unwrap(),
                None => panic!(
                    "trial {trial} (seed {seed}, killed after {delay} ms): numpy: {answer:?}"
                ),
            };
            *found.entry(rows).or_default() += 1;
            std::fs::remove_file(&p).unwrap();
        }
        drop(to_numpy);
        checker.wait().unwrap();
        println!(
            "crash test: {trials} children killed at random points in {:.1} s; rows numpy \
             found (rows: trials): {found:?}",
            started.elapsed().as_secs_f64()
        );
        assert!(
            found.len() > 1 || !found.contains_key(&SIZES[0]),
            "every child was killed before its first resize: {found:?}"
        );
    }
}
