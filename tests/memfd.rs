//! Memory files (`memfd`) passed between processes over Unix sockets: sealed arrays, writes
//! seen both ways by a separately spawned process, the seals refusing `ftruncate`, unsealed
//! and read-only descriptors, and hostile messages (errors, no panic, no descriptor leaked).
#![cfg(target_os = "linux")]

use ndarray::{Ix1, Ix2, IxDyn, ShapeBuilder};
use ndmmap::shared::memfd;
use ndmmap::{Error, MmapArray, MmapOptions, Mode, Order};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The variable that names the socket a spawned child connects to.
const SOCKET_VAR: &str = "NDMMAP_MEMFD_TEST_SOCKET";
const ROWS: usize = 1000;
const COLS: usize = 3;

/// Every test holds this: the descriptor counts of one test must not see another's files.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Entries in /proc/self/fd (the directory's own descriptor counts the same every time).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    }
    (a, b)
}

fn errno(r: std::io::Result<()>) -> Option<i32> {
    r.err().and_then(|e| e.raw_os_error())
}

/// The parent's values, and the child's (the negated ones, in the second half of the rows).
fn parent_value(i: usize, j: usize) -> f64 {
    (i * 10 + j) as f64
}

/// Entry point of the spawned child: does nothing unless the parent test set `SOCKET_VAR`.
/// `memfd::receive`, for the tests' own arrays.
fn recv<T: ndmmap::NpyElement, D: ndarray::Dimension>(
    socket: &std::os::unix::net::UnixStream,
    mode: Mode,
) -> ndmmap::Result<ndmmap::MmapArray<T, D>> {
    // SAFETY: each test orders its writers and readers (a handshake over the socket, or one
    // side reading only after the other wrote), so no view reads bytes another map writes.
    unsafe { memfd::receive(socket, mode) }
}

#[test]
fn child_receives_and_writes() {
    let Some(path) = std::env::var_os(SOCKET_VAR) else {
        return;
    };
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut b = recv::<f64, Ix2>(&s, Mode::ReadWrite).unwrap();
    assert_eq!((b.shape(), b.order()), (&[ROWS, COLS][..], Order::C));
    for ((i, j), &v) in b.view().indexed_iter() {
        assert_eq!(v, parent_value(i, j), "at {i},{j}");
    }
    // The seal holds here too: this process cannot shrink the file either.
    let file = b.file().unwrap();
    assert!(memfd::seals(file).unwrap().shrink);
    assert_eq!(errno(file.set_len(8)), Some(libc::EPERM));
    assert_eq!(errno(file.set_len(0)), Some(libc::EPERM));
    let mut v = b.view_mut().unwrap();
    for i in ROWS / 2..ROWS {
        for j in 0..COLS {
            v[[i, j]] = -parent_value(i, j);
        }
    }
    s.write_all(b"1").unwrap();
    let mut byte = [0u8];
    s.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"2");
    // The parent wrote these after our handshake byte: seen live, not copied.
    assert_eq!(b.view()[[0, 0]], 42.0);
    assert_eq!(b.view()[[ROWS - 1, COLS - 1]], 43.0);
    s.write_all(b"3").unwrap();
}

/// A process started from this test binary (not forked) receives the array over a named
/// socket; each side sees the other's writes in place.
#[test]
fn spawned_process_sees_writes_both_ways() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("memfd.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let mut a = memfd::create::<f64, Ix2, _>("ndmmap-test", (ROWS, COLS)).unwrap();
    a.view_mut()
        .unwrap()
        .indexed_iter_mut()
        .for_each(|((i, j), v)| *v = parent_value(i, j));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_receives_and_writes", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(SOCKET_VAR, &sock_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let parent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        child.try_wait().unwrap().is_none(),
                        "the child exited before connecting"
                    );
                    assert!(Instant::now() < deadline, "the child never connected");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        memfd::send(&s, &a).unwrap();
        let mut byte = [0u8];
        s.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"1");
        for ((i, j), &v) in a.view().indexed_iter() {
            let want = if i < ROWS / 2 {
                parent_value(i, j)
            } else {
                -parent_value(i, j)
            };
            assert_eq!(v, want, "at {i},{j}");
        }
        let mut v = a.view_mut().unwrap();
        v[[0, 0]] = 42.0;
        v[[ROWS - 1, COLS - 1]] = 43.0;
        s.write_all(b"2").unwrap();
        s.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"3");
    }));
    if parent.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "child {}:\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(parent.is_ok(), "the parent side failed; {report}");
    assert!(out.status.success(), "{report}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "the child test did not run: {report}"
    );
}

/// `F_SEAL_SHRINK` refuses every shrink with `EPERM`; growth is refused only with
/// `seal_grow`; the seal set is final.
#[test]
fn seals_refuse_truncation() {
    let _serial = serial();
    let a = memfd::create::<u64, Ix1, _>("shrink", 1024).unwrap();
    let f = a.file().unwrap();
    let s = memfd::seals(f).unwrap();
    assert!(s.shrink && s.seal && !s.grow && !s.write && !s.future_write);
    assert_eq!(f.metadata().unwrap().len(), 8192);
    assert_eq!(errno(f.set_len(4096)), Some(libc::EPERM));
    assert_eq!(errno(f.set_len(0)), Some(libc::EPERM));
    // SAFETY: a plain syscall on a descriptor we own.
    assert_eq!(unsafe { libc::ftruncate(f.as_raw_fd(), 1) }, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EPERM)
    );
    f.set_len(16384).unwrap(); // growing is harmless, and allowed
    assert_eq!(f.metadata().unwrap().len(), 16384);
    // SAFETY: F_ADD_SEALS on our descriptor: refused, F_SEAL_SEAL is set.
    let added = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_WRITE) };
    assert_eq!(added, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EPERM)
    );

    let b = memfd::MemfdOptions::new()
        .seal_grow(true)
        .create::<u8, Ix1, _>("fixed", 100)
        .unwrap();
    let f = b.file().unwrap();
    assert!(memfd::seals(f).unwrap().grow);
    assert_eq!(errno(f.set_len(200)), Some(libc::EPERM));
    assert_eq!(errno(f.set_len(50)), Some(libc::EPERM));
    assert_eq!(f.metadata().unwrap().len(), 100);
    // The name shows in /proc as memfd:NAME.
    let link = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap();
    assert!(
        link.to_string_lossy().starts_with("/memfd:fixed"),
        "{link:?}"
    );
}

/// A regular file's descriptor is refused by the safe receive (and closed); the unsafe one
/// maps it, offset and all.
#[test]
fn unsealed_descriptor_is_refused_then_mapped_unsafely() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.bin");
    std::fs::write(&path, [0u8; 24]).unwrap();
    // SAFETY: the file is ours; nobody truncates it while the arrays live.
    let mut a = unsafe {
        MmapOptions::new()
            .mode(Mode::ReadWrite)
            .offset(24)
            .map_path::<i32, Ix2, _>(&path, (5, 7).f())
            .unwrap()
    };
    a.view_mut()
        .unwrap()
        .indexed_iter_mut()
        .for_each(|((i, j), v)| *v = (i * 100 + j) as i32);
    let (tx, rx) = pair();
    let before = open_fds();
    memfd::send(&tx, &a).unwrap();
    match recv::<i32, Ix2>(&rx, Mode::ReadOnly) {
        Err(Error::NotSealed { path: Some(p) }) => assert!(p.ends_with("plain.bin"), "{p:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(open_fds(), before, "the refused descriptor was not closed");
    memfd::send(&tx, &a).unwrap();
    // SAFETY: nobody truncates plain.bin while `b` lives.
    let mut b = unsafe { memfd::receive_unsealed::<i32, Ix2>(&rx, Mode::ReadWrite).unwrap() };
    assert_eq!((b.offset(), b.order()), (24, Order::F));
    assert_eq!(b.view(), a.view());
    b.view_mut().unwrap()[[4, 6]] = -1;
    assert_eq!(a.view()[[4, 6]], -1);
}

/// A read-only descriptor maps read-only or copy-on-write, never read-write.
#[test]
fn read_only_descriptor_cannot_map_read_write() {
    let _serial = serial();
    let mut a = memfd::create::<u32, Ix1, _>("ro", 4096).unwrap();
    a.view_mut().unwrap().fill(9);
    let (tx, rx) = pair();
    let before = open_fds();
    memfd::send_read_only(&tx, &a).unwrap();
    assert!(matches!(
        recv::<u32, Ix1>(&rx, Mode::ReadWrite),
        Err(Error::ReadOnlyHandle { .. })
    ));
    assert_eq!(open_fds(), before);
    memfd::send_read_only(&tx, &a).unwrap();
    let mut b = recv::<u32, Ix1>(&rx, Mode::ReadOnly).unwrap();
    assert!(b.view_mut().is_err());
    assert_eq!(b.view()[4095], 9);
    // The descriptor itself is read-only: not even ftruncate (EINVAL: not open for writing).
    assert!(b.file().unwrap().set_len(1 << 20).is_err());
    memfd::send_read_only(&tx, &a).unwrap();
    let mut c = recv::<u32, Ix1>(&rx, Mode::CopyOnWrite).unwrap();
    c.view_mut().unwrap()[0] = 1; // private to `c`
    assert_eq!((a.view()[0], b.view()[0], c.view()[0]), (9, 9, 1));
}

/// With `seal_future_write` the creator keeps writing and every receiver maps read-only.
#[test]
fn future_write_seal_keeps_receivers_read_only() {
    let _serial = serial();
    let mut a = memfd::MemfdOptions::new()
        .seal_future_write(true)
        .create::<u8, Ix1, _>("frozen", 64)
        .unwrap();
    assert!(memfd::seals(a.file().unwrap()).unwrap().future_write);
    let (tx, rx) = pair();
    memfd::send(&tx, &a).unwrap();
    let refused = recv::<u8, Ix1>(&rx, Mode::ReadWrite).unwrap_err();
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");
    memfd::send(&tx, &a).unwrap();
    let b = recv::<u8, Ix1>(&rx, Mode::ReadOnly).unwrap();
    a.view_mut().unwrap()[63] = 5;
    assert_eq!(b.view()[63], 5);
}

/// The receiver reads exactly the message: bytes after it stay on the socket.
#[test]
fn bytes_after_the_message_stay_on_the_socket() {
    let _serial = serial();
    let a = memfd::create::<f32, IxDyn, _>("dyn", IxDyn(&[2, 3, 4])).unwrap();
    let (mut tx, mut rx) = pair();
    memfd::send(&tx, &a).unwrap();
    tx.write_all(b"next").unwrap();
    memfd::send(&tx, &a).unwrap();
    let b = recv::<f32, IxDyn>(&rx, Mode::ReadOnly).unwrap();
    assert_eq!(b.shape(), &[2, 3, 4]);
    let mut next = [0u8; 4];
    rx.read_exact(&mut next).unwrap();
    assert_eq!(&next, b"next");
    let c = recv::<f32, ndarray::Ix3>(&rx, Mode::ReadOnly).unwrap();
    assert_eq!(c.shape(), &[2, 3, 4]);
}

/// `sendmsg` with `fds` attached to `data` (none: a plain send), as a hostile peer would.
fn send_raw(sock: &UnixStream, data: &[u8], fds: &[RawFd]) {
    let bytes = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(bytes as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer holds one header and `fds.len()` ints.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(bytes as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr(),
                libc::CMSG_DATA(c).cast::<RawFd>(),
                fds.len(),
            );
        }
    }
    // SAFETY: msg points to live buffers.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, 0) };
    assert_eq!(
        n,
        data.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

/// A hostile message: its name, its bytes, the descriptors sent with it, the error expected.
type Case = (&'static str, Vec<u8>, Vec<RawFd>, fn(&Error) -> bool);

/// Hostile messages: each is an error (never a panic), and every descriptor that came with it
/// is closed.
#[test]
fn hostile_messages_are_errors_and_leak_nothing() {
    let _serial = serial();
    let a = memfd::create::<f64, Ix2, _>("target", (10, 3)).unwrap();
    let fd = a.file().unwrap().as_raw_fd();
    let dir = tempfile::tempdir().unwrap();
    let dir_file = std::fs::File::open(dir.path()).unwrap();
    let (tx, rx) = pair();
    let descr = <f64 as ndmmap::NpyElement>::DTYPE.descr();
    let long_shape = vec!["1"; 65].join(",");
    let huge = format!("ndmmap-array 1 {descr} C 0 {},{}\n", usize::MAX, usize::MAX);
    let past_end = format!("ndmmap-array 1 {descr} C 0 11,3\n");
    let offset_past = format!("ndmmap-array 1 {descr} C 4096 10,3\n");
    let offset_overflow = format!("ndmmap-array 1 {descr} C {} 10,3\n", u64::MAX - 7);
    let misaligned = format!("ndmmap-array 1 {descr} C 3 1,1\n");
    let good = format!("ndmmap-array 1 {descr} C 0 10,3\n");
    let wrong_ndim = format!("ndmmap-array 1 {descr} C 0 30\n");
    let too_many_dims = format!("ndmmap-array 1 {descr} C 0 {long_shape}\n");
    let no_newline = "x".repeat(5000);
    let cases: Vec<Case> = vec![
        (
            "wrong dtype",
            b"ndmmap-array 1 <i2 C 0 10,3\n".to_vec(),
            vec![fd],
            |e| matches!(e, Error::DtypeMismatch { .. }),
        ),
        ("bad text", b"hello there\n".to_vec(), vec![fd], |e| {
            matches!(e, Error::BadMessage { .. })
        }),
        ("binary", b"\x00\xff\x93NUMPY\n".to_vec(), vec![fd], |e| {
            matches!(e, Error::BadMessage { .. })
        }),
        ("two fds", good.clone().into_bytes(), vec![fd, fd], |e| {
            matches!(e, Error::BadMessage { .. })
        }),
        ("twenty fds", good.clone().into_bytes(), vec![fd; 20], |e| {
            matches!(e, Error::BadMessage { .. })
        }),
        ("no fd", good.clone().into_bytes(), vec![], |e| {
            matches!(e, Error::BadMessage { .. })
        }),
        ("huge shape", huge.into_bytes(), vec![fd], |e| {
            matches!(e, Error::SizeOverflow { .. })
        }),
        ("past the end", past_end.into_bytes(), vec![fd], |e| {
            matches!(
                e,
                Error::TooShort {
                    len: 240,
                    needed: 264,
                    ..
                }
            )
        }),
        (
            "offset past the end",
            offset_past.into_bytes(),
            vec![fd],
            |e| matches!(e, Error::OffsetPastEnd { .. } | Error::TooShort { .. }),
        ),
        (
            "offset overflow",
            offset_overflow.into_bytes(),
            vec![fd],
            |e| {
                matches!(
                    e,
                    Error::OffsetOverflow { .. } | Error::OffsetPastEnd { .. }
                )
            },
        ),
        ("misaligned", misaligned.into_bytes(), vec![fd], |e| {
            matches!(e, Error::Misaligned { .. })
        }),
        ("wrong ndim", wrong_ndim.into_bytes(), vec![fd], |e| {
            matches!(
                e,
                Error::DimensionMismatch {
                    expected: 2,
                    found: 1
                }
            )
        }),
        ("65 dims", too_many_dims.into_bytes(), vec![fd], |e| {
            matches!(e, Error::BadMessage { .. })
        }),
        (
            "a directory",
            good.clone().into_bytes(),
            vec![dir_file.as_raw_fd()],
            |e| matches!(e, Error::IsDirectory { .. } | Error::NotSealed { .. }),
        ),
        (
            "a socket",
            good.clone().into_bytes(),
            vec![tx.as_raw_fd()],
            |e| matches!(e, Error::NotMappable { .. } | Error::NotSealed { .. }),
        ),
        ("no newline", no_newline.into_bytes(), vec![fd], |e| {
            matches!(e, Error::BadMessage { .. })
        }),
    ];
    for (what, data, fds, expected) in cases {
        let before = open_fds();
        send_raw(&tx, &data, &fds);
        let got = std::panic::catch_unwind(|| recv::<f64, Ix2>(&rx, Mode::ReadWrite));
        let got = got.unwrap_or_else(|_| panic!("{what}: receive panicked"));
        match &got {
            Err(e) if expected(e) => {
                let text = e.to_string();
                assert!(text.len() < 1000, "{what}: a long message: {text}");
            }
            other => panic!("{what}: {other:?}"),
        }
        drop(got);
        assert_eq!(open_fds(), before, "{what}: a descriptor leaked");
        // Drain what a refused message left (the 5000-byte line), so the next case starts clean.
        rx.set_nonblocking(true).unwrap();
        let mut sink = [0u8; 8192];
        while matches!((&rx).read(&mut sink), Ok(1..)) {}
        rx.set_nonblocking(false).unwrap();
    }
    // The peer closes inside a message, and before any.
    let (tx, rx) = pair();
    send_raw(&tx, b"ndmmap-array 1 <f8", &[fd]);
    drop(tx);
    let before = open_fds();
    assert!(matches!(
        recv::<f64, Ix2>(&rx, Mode::ReadOnly),
        Err(Error::BadMessage { .. })
    ));
    assert!(matches!(
        recv::<f64, Ix2>(&rx, Mode::ReadOnly),
        Err(Error::BadMessage { .. })
    ));
    assert_eq!(open_fds(), before);
    // After all that, a good message still maps.
    let (tx, rx) = pair();
    send_raw(&tx, good.as_bytes(), &[fd]);
    let b = recv::<f64, Ix2>(&rx, Mode::ReadOnly).unwrap();
    assert_eq!(b.shape(), &[10, 3]);
}

/// Page operations and residency work on a memory file array.
#[test]
fn residency_of_a_memfd_array() {
    let _serial = serial();
    let mut a = memfd::create::<u8, Ix2, _>("resident", (64, 4096)).unwrap();
    let r = a.pages(..).unwrap().residency().unwrap();
    assert_eq!(r.total, a.page_span().page_count);
    a.view_mut().unwrap().fill(1);
    let r = a.pages(..).unwrap().residency().unwrap();
    assert_eq!(r.resident, r.total);
    let rows = a.pages(..).unwrap().along(ndarray::Axis(0)).unwrap();
    assert_eq!(rows.len(), 64);
    // The receiver sees the same pages resident.
    let (tx, rx) = pair();
    memfd::send(&tx, &a).unwrap();
    let b = recv::<u8, Ix2>(&rx, Mode::ReadOnly).unwrap();
    assert_eq!(b.pages(..).unwrap().residency().unwrap().resident, r.total);
}

/// What cannot be made or sent is a clear error.
#[test]
fn refusals() {
    let _serial = serial();
    let long = "n".repeat(250);
    for name in [long.as_str(), "nul\0byte"] {
        assert!(matches!(
            memfd::create::<u8, Ix1, _>(name, 1),
            Err(Error::InvalidShmName { .. })
        ));
    }
    let anon = MmapArray::<f64, Ix1>::anonymous(4).unwrap();
    let (tx, _rx) = pair();
    assert!(matches!(
        memfd::send(&tx, &anon),
        Err(Error::Unsupported { .. })
    ));
    // Zero-sized arrays are created, sent and received.
    let z = memfd::create::<f64, Ix2, _>("empty", (0, 3)).unwrap();
    let (tx, rx) = pair();
    memfd::send(&tx, &z).unwrap();
    let r = recv::<f64, Ix2>(&rx, Mode::ReadWrite).unwrap();
    assert_eq!(r.shape(), &[0, 3]);
}

/// The first half of a valid message for an `<f8` array of 8 elements, and the rest.
const HALF: &[u8] = b"ndmmap-array 1 <f8 ";
const REST: &[u8] = b"C 0 8\n";

/// A deadline ends the wait for a sender that sent half a message, its descriptor with it,
/// and stalled (issue 21): within about twice the timeout, with the bytes that came, and the
/// descriptor closed.
#[test]
fn a_stalled_sender_times_out() {
    let _serial = serial();
    let a = memfd::create::<f64, Ix1, _>("stall", 8).unwrap();
    for timeout_ms in [200u64, 400] {
        let (tx, rx) = UnixStream::pair().unwrap();
        let before = open_fds();
        send_raw(&tx, HALF, &[a.file().unwrap().as_raw_fd()]);
        let t = Instant::now();
        let timeout = Duration::from_millis(timeout_ms);
        // SAFETY: nothing is mapped: the message never ends.
        let r = unsafe { memfd::receive_timeout::<f64, Ix1>(&rx, Mode::ReadOnly, timeout) };
        let took = t.elapsed();
        match &r {
            Err(Error::TimedOut {
                what,
                waited,
                received,
            }) => {
                assert_eq!(*received, HALF.len());
                assert!(*waited >= timeout && *waited <= took, "{waited:?} {took:?}");
                assert!(what.contains("receive"), "{what}");
            }
            other => panic!("expected TimedOut, got {other:?}"),
        }
        assert!(took >= timeout && took < 2 * timeout, "took {took:?}");
        let text = r.unwrap_err().to_string();
        assert!(
            text.contains("timed out after")
                && text.contains(&format!("{} bytes", HALF.len()))
                && text.contains("stalled"),
            "{text}"
        );
        assert_eq!(open_fds(), before, "the descriptor that came was closed");
        drop(tx);
    }
}

/// A sender that trickles a byte at a time cannot stretch the deadline, and one that sends
/// nothing times out with nothing received.
#[test]
fn trickling_and_silent_senders_time_out() {
    let _serial = serial();
    let a = memfd::create::<f64, Ix1, _>("trickle", 8).unwrap();
    let (tx, rx) = UnixStream::pair().unwrap();
    let fd = a.file().unwrap().as_raw_fd();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        let tx = tx.try_clone().unwrap();
        std::thread::spawn(move || {
            send_raw(&tx, &HALF[..1], &[fd]);
            for &b in HALF[1..].iter().cycle() {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
                if (&tx).write_all(&[b]).is_err() {
                    break;
                }
            }
        })
    };
    let timeout = Duration::from_millis(300);
    let t = Instant::now();
    // SAFETY: nothing is mapped: no newline ever comes.
    let r = unsafe { memfd::receive_timeout::<f64, Ix1>(&rx, Mode::ReadOnly, timeout) };
    let took = t.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    assert!(
        matches!(r, Err(Error::TimedOut { received, .. }) if received > 1),
        "{r:?}"
    );
    assert!(took < 2 * timeout, "took {took:?}");

    let (_tx, rx) = UnixStream::pair().unwrap();
    let opts = *memfd::ReceiveOptions::new().timeout(Duration::from_millis(100));
    // SAFETY: nothing comes, so nothing is mapped.
    let r = unsafe { opts.receive_unsealed::<f64, Ix1>(&rx, Mode::ReadOnly) };
    let text = r.as_ref().map(|_| ()).unwrap_err().to_string();
    assert!(
        matches!(r, Err(Error::TimedOut { received: 0, .. })),
        "{r:?}"
    );
    assert!(text.contains("no message came"), "{text}");
}

/// A message that comes whole before the deadline is received, even in two parts.
#[test]
fn a_message_within_the_timeout_is_received() {
    let _serial = serial();
    let mut a = memfd::create::<f64, Ix1, _>("intime", 8).unwrap();
    a.view_mut().unwrap()[7] = 2.5;
    let (tx, rx) = UnixStream::pair().unwrap();
    let fd = a.file().unwrap().as_raw_fd();
    let sender = std::thread::spawn(move || {
        send_raw(&tx, HALF, &[fd]);
        std::thread::sleep(Duration::from_millis(50));
        (&tx).write_all(REST).unwrap();
        tx
    });
    // SAFETY: `a` is not written while `b` is read.
    let b = unsafe {
        memfd::receive_timeout::<f64, Ix1>(&rx, Mode::ReadOnly, Duration::from_secs(10)).unwrap()
    };
    assert_eq!(b.view()[7], 2.5);
    drop(sender.join().unwrap());
}

/// Without a deadline of its own, a receive ends at the socket's read timeout: the same
/// `TimedOut`, not an `EAGAIN`.
#[test]
fn the_sockets_read_timeout_is_a_timeout_too() {
    let _serial = serial();
    let a = memfd::create::<f64, Ix1, _>("sotimeo", 8).unwrap();
    let (tx, rx) = UnixStream::pair().unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    send_raw(&tx, HALF, &[a.file().unwrap().as_raw_fd()]);
    let r = recv::<f64, Ix1>(&rx, Mode::ReadOnly);
    assert!(
        matches!(r, Err(Error::TimedOut { received, .. }) if received == HALF.len()),
        "{r:?}"
    );
}
