//! Passing descriptors over Unix sockets (`sendmsg`/`recvmsg` with `SCM_RIGHTS`), the same
//! on every Unix; only the flags differ: `MSG_NOSIGNAL` where the OS has it (a closed peer is
//! an `EPIPE`, not a `SIGPIPE`), and `MSG_CMSG_CLOEXEC` where the OS has it (elsewhere the
//! received descriptors are made close-on-exec right after `recvmsg`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The flags, where the OS has them.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
mod flags {
    pub(super) const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
    pub(super) const RECV_CLOEXEC: libc::c_int = libc::MSG_CMSG_CLOEXEC;
}
/// Elsewhere: `SIGPIPE` is the caller's to ignore, and close-on-exec is set after `recvmsg`.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
mod flags {
    pub(super) const SEND_FLAGS: libc::c_int = 0;
    pub(super) const RECV_CLOEXEC: libc::c_int = 0;
}
use flags::{RECV_CLOEXEC, SEND_FLAGS};

/// A control buffer aligned for `cmsghdr` (its fields are at most 8-byte aligned).
struct ControlBuf(Vec<u64>);

impl ControlBuf {
    /// Room for `fds` descriptors in one `SCM_RIGHTS` message.
    fn for_fds(fds: usize) -> ControlBuf {
        let bytes = fds * size_of::<libc::c_int>();
        // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
        let space = unsafe { libc::CMSG_SPACE(bytes as u32) } as usize;
        ControlBuf(vec![0u64; space.div_ceil(8)])
    }

    fn ptr(&mut self) -> *mut libc::c_void {
        self.0.as_mut_ptr().cast()
    }

    fn len(&self) -> usize {
        self.0.len() * 8
    }
}

/// Sends `data` on a stream socket with `fd` attached to its first byte (`SCM_RIGHTS`); what
/// a short `sendmsg` left is written after it without the descriptor. `data` must not be empty.
pub(crate) fn send_with_fd(
    socket: BorrowedFd<'_>,
    data: &[u8],
    fd: BorrowedFd<'_>,
) -> io::Result<()> {
    if data.is_empty() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let mut control = ControlBuf::for_fds(1);
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is a valid value of this plain C struct (its padding too).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.ptr();
    // The exact CMSG_SPACE(sizeof(int)), not the rounded-up buffer length: some kernels refuse
    // trailing bytes after the last control message.
    // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) } as _;
    debug_assert!(msg.msg_controllen as usize <= control.len());
    // SAFETY: msg_control points to a zeroed, aligned buffer of at least msg_controllen bytes,
    // so CMSG_FIRSTHDR returns a header inside it, with room for one int after it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd.as_raw_fd());
    }
    let sent = loop {
        // SAFETY: msg and everything it points to (iov, data, control) live across the call;
        // sendmsg only reads them.
        let n = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, SEND_FLAGS) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    write_all(socket, &data[sent..])
}

/// Plain `send` of all of `data`, retried on `EINTR` and short writes.
fn write_all(socket: BorrowedFd<'_>, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: `data` is a live buffer of `data.len()` readable bytes.
        let n = unsafe {
            libc::send(
                socket.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                SEND_FLAGS,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// What one `recvmsg` brought.
#[derive(Debug)]
pub(crate) struct Received {
    /// Bytes of data read into the buffer (0: the peer closed the connection).
    pub(crate) len: usize,
    /// Every descriptor that came (`SCM_RIGHTS`), owned: dropping them closes them.
    pub(crate) fds: Vec<OwnedFd>,
    /// The kernel cut the control data short (`MSG_CTRUNC`): more descriptors were sent than
    /// there was room for, and those that did not fit were closed by the kernel.
    pub(crate) truncated: bool,
}

/// One `recvmsg` into `buf` with room for `max_fds` descriptors, received close-on-exec.
/// Control messages other than `SCM_RIGHTS` (credentials) are ignored.
pub(crate) fn recv_with_fds(
    socket: BorrowedFd<'_>,
    buf: &mut [u8],
    max_fds: usize,
) -> io::Result<Received> {
    let mut control = ControlBuf::for_fds(max_fds.max(1));
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid value of this plain C struct.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.ptr();
    msg.msg_controllen = control.len() as _;
    let len = loop {
        // SAFETY: msg points to live buffers (buf, control) of the lengths it states; recvmsg
        // writes at most that much into them.
        let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, RECV_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    // SAFETY: after recvmsg, msg_control/msg_controllen describe the control messages the kernel
    // wrote into `control`; CMSG_FIRSTHDR/CMSG_NXTHDR stay within them (null at the end).
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is a header inside the control buffer (see above).
        let (level, kind, clen) =
            unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN is pure arithmetic.
            let header = unsafe { libc::CMSG_LEN(0) } as usize;
            #[allow(clippy::unnecessary_cast)] // cmsg_len is u32 on the BSDs and macOS
            let n = (clen as usize).saturating_sub(header) / size_of::<libc::c_int>();
            // SAFETY: the kernel wrote `n` ints after the header of this message.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<libc::c_int>();
            for i in 0..n {
                // SAFETY: `i < n` ints lie in this message's data (unaligned reads are fine).
                let raw: RawFd = unsafe { std::ptr::read_unaligned(data.add(i)) };
                // SAFETY: the kernel just installed `raw` in this process's table for us; nothing
                // else owns it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: as for CMSG_FIRSTHDR above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    if RECV_CLOEXEC == 0 {
        for fd in &fds {
            set_cloexec(fd.as_raw_fd())?;
        }
    }
    Ok(Received {
        len,
        fds,
        truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
    })
}

/// `FD_CLOEXEC` on `fd`, where `recvmsg` cannot set it (a `fork` + `exec` in another thread
/// between the two calls can still inherit the descriptor there).
fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_SETFD with an integer argument on a descriptor we own has no memory effects.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `recv(MSG_PEEK)`: the bytes waiting on the socket, left there (blocks until some come; 0
/// when the peer closed). Descriptors are never received by a peek.
pub(crate) fn peek(socket: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is a live buffer of `buf.len()` writable bytes.
        let n = unsafe {
            libc::recv(
                socket.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `poll(POLLIN)` for at most `timeout` (rounded up to whole milliseconds, at most
/// `i32::MAX`): whether the socket has data, or an end or error to report, to read now.
/// `false` when the time ran out, or a signal interrupted the wait (the caller checks its
/// deadline and waits again).
pub(crate) fn wait_readable(
    socket: BorrowedFd<'_>,
    timeout: std::time::Duration,
) -> io::Result<bool> {
    let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
    let mut fd = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `fd` is one live, writable pollfd, and 1 is the count.
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(n > 0)
}
