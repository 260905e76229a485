//! File and anonymous maps: modes, offsets, shapes, growth, edges and errors.

mod common;

use common::*;
use ndarray::{Array, ArrayView, Ix0, Ix1, Ix2, Ix3, IxDyn, ShapeBuilder, s};
use ndmmap::{Error, MmapArray, MmapOptions, Mode, Order};
use proptest::prelude::*;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};

fn le_f64(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn read_only_map_sees_the_file() {
    let dir = tmpdir();
    let data: Vec<f64> = (0..12).map(|i| i as f64 * 0.5).collect();
    let p = file_with(dir.path(), "a.bin", bytemuck::cast_slice(&data));
    let a = unsafe {
        MmapOptions::new()
            .map_path::<f64, Ix2, _>(&p, (3, 4))
            .unwrap()
    };
    assert_eq!(a.view(), Array::from_shape_vec((3, 4), data).unwrap());
    assert_eq!(a.mode(), Mode::ReadOnly);
    assert_eq!(a.path(), Some(p.as_path()));
    assert_eq!((a.len(), a.ndim(), a.nbytes(), a.offset()), (12, 2, 96, 0));
    assert_eq!(a.order(), Order::C);
    assert_eq!(a.as_slice().len(), 12);
}

#[test]
fn no_mutable_view_of_a_read_only_map() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "a.bin", &[0; 64]);
    let mut a = unsafe { MmapOptions::new().map_path::<u8, Ix1, _>(&p, 64).unwrap() };
    assert!(matches!(a.view_mut(), Err(Error::NotWritable { .. })));
    assert!(matches!(a.as_slice_mut(), Err(Error::NotWritable { .. })));
}

#[test]
fn read_write_map_writes_reach_the_file() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "a.bin", &[0; 80]);
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(16)
            .map_path::<f64, Ix1, _>(&p, 8)
            .unwrap()
    };
    a.view_mut().unwrap().assign(&Array::linspace(1.0, 8.0, 8));
    // A second, independent map of the same file sees the writes at once (shared).
    let b = unsafe {
        MmapOptions::new()
            .offset(16)
            .map_path::<f64, Ix1, _>(&p, 8)
            .unwrap()
    };
    assert_eq!(b.view()[7], 8.0);
    a.msync(ndmmap::Flush::Sync).unwrap();
    drop(a);
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[..16], &[0; 16]);
    assert_eq!(
        le_f64(&bytes[16..]),
        (1..=8).map(f64::from).collect::<Vec<_>>()
    );
}

#[test]
fn copy_on_write_never_changes_the_file() {
    let dir = tmpdir();
    let orig = pattern(3 * page());
    let p = file_with(dir.path(), "a.bin", &orig);
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::CopyOnWrite)
            .map_path_1d::<u8>(&p)
            .unwrap()
    };
    a.view_mut().unwrap().fill(0xAB);
    assert!(a.view().iter().all(|&b| b == 0xAB));
    a.msync(ndmmap::Flush::Sync).unwrap();
    let other = unsafe { MmapOptions::new().map_path_1d::<u8>(&p).unwrap() };
    assert_eq!(other.as_slice(), &orig[..]);
    drop(a);
    assert_eq!(std::fs::read(&p).unwrap(), orig);
}

#[test]
fn copy_on_write_needs_no_write_permission_and_cannot_grow() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "a.bin", &[1; 16]);
    let f = File::open(&p).unwrap();
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::CopyOnWrite)
            .map::<u8, Ix1, _>(&f, 16)
            .unwrap()
    };
    a.view_mut().unwrap()[0] = 9;
    let e = unsafe {
        MmapOptions::new()
            .mode(Mode::CopyOnWrite)
            .map::<u8, Ix1, _>(&f, 17)
    }
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooShort {
                len: 16,
                needed: 17,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn default_offset_is_the_stream_position() {
    let dir = tmpdir();
    let mut bytes = b"HEADER16bytes...".to_vec();
    bytes.extend(bytemuck::cast_slice::<u32, u8>(&[10, 20, 30, 40]));
    let p = file_with(dir.path(), "h.bin", &bytes);
    let mut f = File::open(&p).unwrap();
    let mut header = [0u8; 16];
    f.read_exact(&mut header).unwrap();
    let a = unsafe { MmapOptions::new().map_1d::<u32>(&f).unwrap() };
    assert_eq!(a.as_slice(), &[10, 20, 30, 40]);
    assert_eq!(a.offset(), 16);
    // The stream position is left where it was.
    assert_eq!(f.stream_position().unwrap(), 16);
    // Counted in elements from the stream position.
    let b = unsafe {
        MmapOptions::new()
            .offset_elements(2)
            .map::<u32, Ix1, _>(&f, 2)
            .unwrap()
    };
    assert_eq!(b.as_slice(), &[30, 40]);
    // An absolute offset ignores the stream position.
    f.seek(SeekFrom::Start(3)).unwrap();
    let c = unsafe {
        MmapOptions::new()
            .offset(20)
            .map::<u32, Ix1, _>(&f, 1)
            .unwrap()
    };
    assert_eq!(c.view()[0], 20);
    // A path means offset 0.
    let d = unsafe { MmapOptions::new().map_path::<u8, Ix1, _>(&p, 6).unwrap() };
    assert_eq!(d.as_slice(), b"HEADER");
}

#[test]
fn fortran_order_maps_column_major() {
    let dir = tmpdir();
    let data: Vec<i32> = (0..24).collect();
    let p = file_with(dir.path(), "f.bin", bytemuck::cast_slice(&data));
    let a = unsafe {
        MmapOptions::new()
            .map_path::<i32, Ix3, _>(&p, (2, 3, 4).f())
            .unwrap()
    };
    let want = Array::from_shape_vec((2, 3, 4).f(), data).unwrap();
    assert_eq!(a.view(), want);
    assert_eq!(a.view()[[1, 2, 3]], 1 + 2 * 2 + 3 * 6);
    assert_eq!(a.order(), Order::F);
    assert_eq!(a.strides(), &[1, 2, 6]);
}

#[test]
fn dynamic_dimensions() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "d.bin", &pattern(60));
    let a = unsafe {
        MmapOptions::new()
            .map_path::<u8, IxDyn, _>(&p, IxDyn(&[3, 4, 5]))
            .unwrap()
    };
    assert_eq!(a.shape(), &[3, 4, 5]);
    let a2 = a.into_dimensionality::<Ix3>().unwrap();
    assert_eq!(a2.view()[[2, 3, 4]], pattern(60)[59]);
    let e = a2.into_dyn().into_dimensionality::<Ix2>().unwrap_err();
    assert!(matches!(
        e,
        Error::DimensionMismatch {
            expected: 2,
            found: 3
        }
    ));
}

#[cfg(unix)]
#[test]
fn writable_file_grows_sparse_to_fit() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "g.bin", &[7; 10]);
    let n = 1 << 20;
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(16)
            .map_path::<f32, Ix1, _>(&p, n)
            .unwrap()
    };
    let meta = std::fs::metadata(&p).unwrap();
    assert_eq!(meta.len(), 16 + 4 * n as u64);
    use std::os::unix::fs::MetadataExt;
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "growth should be sparse, {} blocks",
        meta.blocks()
    );
    assert_eq!(
        &std::fs::read(&p).unwrap()[..10],
        &[7; 10],
        "existing bytes are kept"
    );
    a.view_mut().unwrap()[n - 1] = 2.5;
    assert_eq!(a.view().sum(), 2.5);
}

#[cfg(unix)]
#[test]
fn preallocate_allocates_the_blocks() {
    use std::os::unix::fs::MetadataExt;
    let dir = tmpdir();
    let p = dir.path().join("pre.bin");
    let n = 4 << 20;
    let _a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .preallocate(true)
            .map_path::<u8, Ix1, _>(&p, n)
            .unwrap()
    };
    let meta = std::fs::metadata(&p).unwrap();
    assert_eq!(meta.len(), n as u64);
    assert!(
        meta.blocks() * 512 >= n as u64,
        "fallocate should allocate every block"
    );
    // An existing sparse file long enough already: its holes in the range are filled.
    let q = dir.path().join("holes.bin");
    std::fs::File::create(&q).unwrap().set_len(8 << 20).unwrap();
    let _b = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(1 << 20)
            .preallocate(true)
            .map_path::<u8, Ix1, _>(&q, 2 << 20)
            .unwrap()
    };
    let meta = std::fs::metadata(&q).unwrap();
    assert_eq!(meta.len(), 8 << 20);
    assert!(
        meta.blocks() * 512 >= 2 << 20 && meta.blocks() * 512 < 8 << 20,
        "{} blocks",
        meta.blocks()
    );
}

#[test]
fn grow_off_or_read_only_short_file_is_an_error_naming_both_lengths() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "s.bin", &[0; 100]);
    let e = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .grow(false)
            .map_path::<u8, Ix1, _>(&p, 101)
    }
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooShort {
                len: 100,
                needed: 101,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("s.bin") && msg.contains("100") && msg.contains("101"),
        "{msg}"
    );
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 100, "file untouched");
    let e = unsafe { MmapOptions::new().offset(8).map_path::<u8, Ix1, _>(&p, 100) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooShort {
                len: 100,
                needed: 108,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn offset_past_the_end_of_a_read_only_file() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "s.bin", &[0; 100]);
    let e = unsafe { MmapOptions::new().offset(200).map_path_1d::<u8>(&p) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::OffsetPastEnd {
                offset: 200,
                len: 100,
                ..
            }
        ),
        "{e:?}"
    );
    let e = unsafe { MmapOptions::new().offset(200).map_path::<u8, Ix1, _>(&p, 4) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::OffsetPastEnd {
                offset: 200,
                len: 100,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("s.bin"));
}

#[test]
fn trailing_bytes_without_a_shape_are_an_error() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "t.bin", &[0; 20]);
    let e = unsafe { MmapOptions::new().map_path_1d::<f64>(&p) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::TrailingBytes {
                available: 20,
                elem_size: 8,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn misaligned_offset_is_an_error() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "m.bin", &[0; 64]);
    let e = unsafe { MmapOptions::new().offset(4).map_path::<f64, Ix1, _>(&p, 2) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Misaligned {
                offset: 4,
                align: 8
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("multiple of the element alignment 8")
    );
}

#[cfg(unix)]
#[test]
fn missing_path_directory_and_fifo_are_clear_errors() {
    let dir = tmpdir();
    let missing = dir.path().join("nope.bin");
    let e = unsafe { MmapOptions::new().map_path_1d::<u8>(&missing) }.unwrap_err();
    assert!(
        matches!(&e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{e:?}"
    );
    // The OS reason is in the message, once: not also in `source()`.
    let msg = e.to_string();
    assert!(
        msg.contains("nope.bin") && msg.contains("No such file or directory"),
        "{msg}"
    );
    assert!(std::error::Error::source(&e).is_none());
    assert_eq!(
        e.io_error().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );

    let e = unsafe { MmapOptions::new().map_path_1d::<u8>(dir.path()) }.unwrap_err();
    assert!(matches!(e, Error::IsDirectory { .. }), "{e:?}");
    let e =
        unsafe { MmapOptions::new().map_1d::<u8>(&File::open(dir.path()).unwrap()) }.unwrap_err();
    assert!(matches!(e, Error::IsDirectory { .. }), "{e:?}");

    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = unsafe { MmapOptions::new().map_path_1d::<u8>(&fifo) }.unwrap_err();
    assert!(
        matches!(e, Error::NotMappable { kind: "FIFO", .. }),
        "{e:?}"
    );
    let e =
        unsafe { MmapOptions::new().map_1d::<u8>(&File::open("/dev/null").unwrap()) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotMappable {
                kind: "character device",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn writable_map_of_a_read_only_handle_is_refused() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "r.bin", &[0; 64]);
    let f = File::open(&p).unwrap();
    let e = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .map::<u8, Ix1, _>(&f, 64)
    }
    .unwrap_err();
    assert!(matches!(e, Error::ReadOnlyHandle { .. }), "{e:?}");
    assert!(
        e.to_string().contains("r.bin"),
        "the path comes back from the handle: {e}"
    );
    let rw = OpenOptions::new().read(true).write(true).open(&p).unwrap();
    assert!(
        unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .map::<u8, Ix1, _>(&rw, 64)
        }
        .is_ok()
    );
}

#[test]
fn overflowing_shapes_and_zero_sized_types_are_errors() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "o.bin", &[0; 64]);
    let e =
        unsafe { MmapOptions::new().map_path::<u64, Ix2, _>(&p, (usize::MAX / 2, 3)) }.unwrap_err();
    assert!(
        matches!(e, Error::SizeOverflow { elem_size: 8, .. }),
        "{e:?}"
    );
    let e = unsafe { MmapOptions::new().map_path::<u16, Ix1, _>(&p, isize::MAX as usize / 2 + 1) }
        .unwrap_err();
    assert!(matches!(e, Error::SizeOverflow { .. }), "{e:?}");
    let e = MmapArray::<u8, Ix1>::anonymous(usize::MAX).unwrap_err();
    assert!(matches!(e, Error::SizeOverflow { .. }), "{e:?}");
    let e = unsafe { MmapOptions::new().map_path::<(), Ix1, _>(&p, 4) }.unwrap_err();
    assert!(matches!(e, Error::ZeroSizedType { .. }), "{e:?}");
    let e = unsafe {
        MmapOptions::new()
            .offset(u64::MAX - 3)
            .map_path::<u8, Ix1, _>(&p, 8)
    }
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::OffsetOverflow { .. } | Error::OffsetPastEnd { .. }
        ),
        "{e:?}"
    );
}

#[test]
fn empty_files_zero_length_and_zero_dimensional_arrays() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "e.bin", &[]);
    let a = unsafe { MmapOptions::new().map_path_1d::<f64>(&p).unwrap() };
    assert!(a.is_empty());
    assert_eq!(a.view().sum(), 0.0);
    assert_eq!(a.pages(..).unwrap().mincore().unwrap(), Vec::<bool>::new());
    let b = unsafe {
        MmapOptions::new()
            .map_path::<f64, Ix2, _>(&p, (0, 5))
            .unwrap()
    };
    assert_eq!(b.shape(), &[0, 5]);
    let p2 = file_with(dir.path(), "z.bin", &7.5f64.to_le_bytes());
    let c = unsafe { MmapOptions::new().map_path::<f64, Ix0, _>(&p2, ()).unwrap() };
    assert_eq!(c.view().into_scalar(), &7.5);
    // Zero length at an unaligned offset within a file.
    let d = unsafe {
        MmapOptions::new()
            .offset(3)
            .map_path::<u8, Ix1, _>(&p2, 0)
            .unwrap()
    };
    assert_eq!(d.len(), 0);
    let mut z = MmapArray::<u32, Ix2>::anonymous((0, 3)).unwrap();
    assert_eq!(z.view_mut().unwrap().len(), 0);
}

#[test]
fn map_flags() {
    let dir = tmpdir();
    let p = file_with(dir.path(), "flags.bin", &pattern(1 << 20));
    // Windows has no transparent huge pages: asking is an error there, not a silent no-op.
    #[cfg(windows)]
    assert!(matches!(
        MmapOptions::new()
            .huge_pages(true)
            .map_anon::<u8, Ix1, _>(4096),
        Err(Error::Unsupported { .. })
    ));
    let huge = cfg!(unix);
    let a = unsafe {
        MmapOptions::new()
            .populate(true)
            .no_reserve(true)
            .huge_pages(huge)
            .map_path_1d::<u8>(&p)
            .unwrap()
    };
    assert_eq!(a.as_slice(), &pattern(1 << 20)[..]);
    assert!(
        a.pages(..).unwrap().mincore().unwrap().iter().all(|&r| r),
        "populate faults every page in"
    );
    let mut s = MmapOptions::new()
        .huge_pages(huge)
        .populate(true)
        .map_anon::<u64, Ix1, _>(1 << 18)
        .unwrap();
    s.view_mut().unwrap().fill(3);
    assert_eq!(s.view().sum(), 3 << 18);
}

#[test]
fn create_option_makes_a_new_file() {
    let dir = tmpdir();
    let p = dir.path().join("new.bin");
    let e = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .map_path::<u8, Ix1, _>(&p, 8)
    }
    .unwrap_err();
    assert!(
        matches!(&e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .create(true)
            .map_path::<u8, Ix1, _>(&p, 8)
            .unwrap()
    };
    a.as_slice_mut().unwrap().copy_from_slice(b"ndmmap!!");
    drop(a);
    assert_eq!(std::fs::read(&p).unwrap(), b"ndmmap!!");
}

#[cfg(unix)]
#[test]
fn anonymous_maps_are_zeroed_and_shared_with_forked_children() {
    let mut a = MmapArray::<u64, Ix2>::anonymous((256, 512)).unwrap();
    assert!(a.file().is_none() && a.path().is_none());
    assert_eq!(a.view().sum(), 0);
    a.view_mut().unwrap()[[0, 0]] = 11;
    let ptr = a.view().as_ptr() as *mut u64;
    let code = in_child(move || {
        // SAFETY: the child owns its copy of the mapping's address space; the parent waits.
        let v = unsafe { std::slice::from_raw_parts_mut(ptr, 256 * 512) };
        if v[0] != 11 {
            return 2;
        }
        v[256 * 512 - 1] = 42;
        0
    });
    assert_eq!(code, 0);
    assert_eq!(
        a.view()[[255, 511]],
        42,
        "the parent sees the child's write"
    );
}

#[cfg(unix)]
#[test]
fn private_anonymous_maps_are_not_shared() {
    let mut a = MmapArray::<u8, Ix1>::anonymous_private(page()).unwrap();
    assert_eq!(a.mode(), Mode::CopyOnWrite);
    let ptr = a.view_mut().unwrap().as_mut_ptr();
    let code = in_child(move || {
        // SAFETY: the child writes its own copy-on-write copy of the page.
        unsafe { *ptr = 5 };
        0
    });
    assert_eq!(code, 0);
    assert_eq!(a.view()[0], 0);
}

#[cfg(unix)]
#[test]
fn msync_makes_writes_survive_sigkill() {
    let dir = tmpdir();
    let p = dir.path().join("durable.bin");
    let n = 3 * page() + 123;
    let want = pattern(n);
    let p2 = p.clone();
    let w2 = want.clone();
    then_sigkill(move || {
        let mut a = unsafe {
            MmapOptions::new()
                .mode(Mode::ReadWrite)
                .create(true)
                .offset(5)
                .map_path::<u8, Ix1, _>(&p2, n)
        }
        .unwrap();
        a.as_slice_mut().unwrap().copy_from_slice(&w2);
        a.msync(ndmmap::Flush::Async).unwrap();
        a.msync(ndmmap::Flush::Sync).unwrap();
    });
    let got = std::fs::read(&p).unwrap();
    assert_eq!(got.len(), 5 + n);
    assert!(
        got[5..] == want[..],
        "every byte written before SIGKILL is in the file"
    );
}

#[test]
fn every_unaligned_u8_offset_maps_the_right_bytes() {
    let dir = tmpdir();
    let ps = page();
    let bytes = pattern(3 * ps);
    let p = file_with(dir.path(), "u.bin", &bytes);
    let f = File::open(&p).unwrap();
    for off in 1..=ps + 1 {
        let a = unsafe {
            MmapOptions::new()
                .offset(off as u64)
                .map::<u8, Ix1, _>(&f, 300)
                .unwrap()
        };
        assert_eq!(a.as_slice(), &bytes[off..off + 300], "offset {off}");
        let span = a.page_span();
        assert_eq!(span.lead, off % ps);
        assert_eq!(span.page_count, (off % ps + 300).div_ceil(ps));
    }
}

#[test]
fn unaligned_multiples_of_eight_map_f64() {
    let dir = tmpdir();
    let vals: Vec<f64> = (0..3000).map(|i| i as f64).collect();
    let p = file_with(dir.path(), "f.bin", bytemuck::cast_slice(&vals));
    let ps = page();
    for off in (8..=2 * ps + 8).step_by(8).filter(|o| o % ps != 0) {
        let a = unsafe {
            MmapOptions::new()
                .offset(off as u64)
                .map::<f64, Ix2, _>(&File::open(&p).unwrap(), (10, 7))
                .unwrap()
        };
        let first = (off / 8) as f64;
        assert_eq!(a.view()[[0, 0]], first);
        assert_eq!(a.view()[[9, 6]], first + 69.0);
        assert_eq!(
            a.view().slice(s![.., 3]).sum(),
            (0..10).map(|r| first + 3.0 + 7.0 * r as f64).sum::<f64>()
        );
    }
}

#[test]
fn arrays_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MmapArray<f64, Ix2>>();
    let a = MmapArray::<u32, Ix1>::anonymous(1000).unwrap();
    let total: u32 = std::thread::scope(|s| {
        let h = s.spawn(|| a.view().sum());
        h.join().unwrap()
    });
    assert_eq!(total, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// A random shape, order and offset map exactly the bytes a plain `Array` is written as.
    #[test]
    fn maps_what_a_plain_array_writes(
        shape in proptest::collection::vec(0usize..6, 0..4),
        fortran in any::<bool>(),
        off_elems in 0u64..1100,
    ) {
        let dir = tmpdir();
        let n: usize = shape.iter().product();
        let arr = Array::from_shape_vec(IxDyn(&shape).set_f(fortran), (0..n).map(|i| i as f64 * 1.25 - 3.0).collect()).unwrap();
        // Write the array's elements in its own memory order after `off_elems` f64s of filler.
        let mut bytes = vec![0xEEu8; off_elems as usize * 8];
        let mem: Vec<f64> = if fortran { arr.t().iter().copied().collect() } else { arr.iter().copied().collect() };
        bytes.extend_from_slice(bytemuck::cast_slice(&mem));
        let p = file_with(dir.path(), "p.bin", &bytes);
        let a = unsafe { MmapOptions::new().offset(off_elems * 8).map_path::<f64, IxDyn, _>(&p, IxDyn(&shape).set_f(fortran)).unwrap() };
        prop_assert_eq!(a.view(), arr.view());
        let v: ArrayView<f64, IxDyn> = a.view();
        prop_assert_eq!(v.shape(), &shape[..]);
    }
}

#[test]
fn empty_arrays_with_a_zero_length_axis_give_mutable_views() {
    // ndarray's debug check once refused their zero strides as overlapping elements.
    let mut a = MmapArray::<u16, ndarray::Ix3>::anonymous((2, 0, 3)).unwrap();
    assert_eq!(a.view_mut().unwrap().shape(), &[2, 0, 3]);
    assert_eq!(a.guarded_mut(|v| v.len()).unwrap(), 0);
    let mut b = MmapArray::<f32, ndarray::Ix2>::anonymous((5, 0)).unwrap();
    let windows: Vec<usize> = ndmmap::stream::StreamMut::new(&mut b)
        .unwrap()
        .map(|(_, w)| w.shape()[0])
        .collect();
    assert_eq!(windows.iter().sum::<usize>(), 5);
}
