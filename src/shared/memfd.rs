//! Anonymous memory files (`memfd_create`), sealed against shrinking, and passing an array's
//! descriptor to another process over a Unix socket (`SCM_RIGHTS`).
//!
//! [`create`] makes a zero-filled, shared, read-write array in a new memory file that no
//! process can truncate (`F_SEAL_SHRINK`, and `F_SEAL_GROW` with [`MemfdOptions::seal_grow`]).
//! [`send`] hands its descriptor, with a one-line description of the array, to the process at
//! the other end of a [`UnixStream`]; [`receive`] maps it there. Both processes see each
//! other's writes, as with a shared map of any file. Any process can be the other end: a
//! spawned worker, an unrelated server, a Python process (see the message format below).
//!
//! [`receive`] maps only descriptors sealed against shrinking: no holder of the file can
//! truncate it under the receiver's views, so the `SIGBUS` of a shrunk shared map cannot
//! happen. A descriptor without that seal (a plain file, which [`send`] can pass too) is
//! [`Error::NotSealed`]; [`receive_unsealed`] maps it anyway. Both are `unsafe`: a second map
//! of the same memory is a second way to write it, so the caller promises that no other map
//! (in this process, such as the creator's array if both ends are here, or in another)
//! writes the received range while a view of the received array reads it, and that the
//! received array's mutable views are not used while other maps read. Seal the file with
//! [`MemfdOptions::seal_future_write`] to let nobody but its creator write at all.
//!
//! Linux (and FreeBSD 13+ for `create`); elsewhere [`create`] and [`receive`] answer
//! [`Error::Unsupported`], while [`send`] and [`receive_unsealed`] work on every Unix.
//!
//! ```
//! use std::os::unix::net::UnixStream;
//! use ndmmap::{Mode, shared::memfd};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # if !cfg!(target_os = "linux") { return Ok(()) }
//! let (ours, theirs) = UnixStream::pair()?;
//! let mut a = memfd::create::<f64, ndarray::Ix2, _>("grid", (1000, 3))?;
//! a.view_mut()?[[0, 0]] = 1.5;
//! memfd::send(&ours, &a)?;
//! // In another process, usually: the other end of a socket it connected to.
//! // SAFETY: `a` and `b` take turns: neither view is used while the other side writes.
//! let mut b = unsafe { memfd::receive::<f64, ndarray::Ix2>(&theirs, Mode::ReadWrite)? };
//! assert_eq!(b.view()[[0, 0]], 1.5);
//! b.view_mut()?[[999, 2]] = 7.0;
//! assert_eq!(a.view()[[999, 2]], 7.0); // one file, two maps
//! # Ok(()) }
//! ```
//!
//! # The message
//!
//! [`send`] writes one line of ASCII text on the socket, with the descriptor attached to its
//! first byte:
//!
//! ```text
//! ndmmap-array 1 <f8 C 0 1000,3\n
//! ```
//!
//! Six fields separated by single spaces: the tag `ndmmap-array`, the format version `1`, the
//! element type as numpy's `dtype.str` (`<f8`, `|u1`, `>i4`), the order `C` or `F`, the byte
//! offset of element 0 in the file, and the shape as comma-separated lengths (empty for a 0-d
//! array), then a newline. Numbers are decimal, without sign or leading zeros. Python can send
//! one with
//! `socket.send_fds(s, [f"ndmmap-array 1 {a.dtype.str} C 0 {','.join(map(str, a.shape))}\n".encode()], [fd])`.
//!
//! The receiver trusts none of it: the line is at most [`MAX_MESSAGE_LEN`] bytes with at most
//! [`MAX_DIMS`] lengths, every field is checked (a malformed line is [`Error::BadMessage`],
//! another element type [`Error::DtypeMismatch`], another number of dimensions
//! [`Error::DimensionMismatch`], a shape whose bytes overflow [`Error::SizeOverflow`], one past
//! the file's end [`Error::TooShort`] or [`Error::OffsetPastEnd`]), exactly one descriptor must
//! come with it, and every descriptor received is closed on every error. The receiver reads
//! exactly the line, never past its newline, so the socket can carry other traffic after it.
//! One receive at a time per socket: two threads reading the same socket would split a
//! message between them.
//!
//! # Waiting
//!
//! [`receive`] and [`receive_unsealed`] wait as long as it takes, as a blocking read does: a
//! sender that never sends, or stops in the middle of its line, blocks them for good (unless
//! the socket has a read timeout of its own, [`UnixStream::set_read_timeout`], which then ends
//! the wait with [`Error::TimedOut`] too). Where the peer is not trusted, give a deadline with
//! [`receive_timeout`] or [`ReceiveOptions::timeout`]: the whole message, its descriptor and
//! its newline, must have come within it, else [`Error::TimedOut`] says how long the receive
//! waited and how many bytes of the message came. A sender that trickles a byte at a time
//! cannot stretch the deadline. After a timeout inside a message the socket holds the rest
//! of that message: close it.

use crate::array::{MmapArray, Order, dim_and_strides};
use crate::element::NpyElement;
use crate::error::{Error, Result};
use crate::mapping::Mode;
use crate::options::MmapOptions;
use crate::sys::{self, fdpass};
use bytemuck::Pod;
use ndarray::{Dimension, ShapeBuilder};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The longest message [`receive`] reads, newline included.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The most dimensions a message may give.
pub const MAX_DIMS: usize = 64;

/// The longest name `memfd_create` takes, in bytes (Linux's `MFD_NAME_MAX_LEN`).
pub const MAX_NAME_LEN: usize = 249;

/// The tag that starts every message.
const TAG: &str = "ndmmap-array";

/// The format version written and read.
const VERSION: &str = "1";

/// Descriptors a receive makes room for: more than one is an error, but they are all taken
/// (and closed) so none is left in the socket or silently dropped by the kernel.
const MAX_FDS: usize = 16;

pub use crate::sys::Seals;

/// The seals of the file behind `file`: all `false` for a file that cannot be sealed (a file
/// on disk); [`Error::Unsupported`] on an OS without seals.
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// let a = ndmmap::shared::memfd::create::<u8, ndarray::Ix1, _>("s", 4096)?;
/// let seals = ndmmap::shared::memfd::seals(a.file().unwrap())?;
/// assert!(seals.shrink && !seals.grow && seals.seal);
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn seals(file: &File) -> Result<Seals> {
    match sys::os::seals(file.as_raw_fd()) {
        Ok(s) => Ok(s),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(Seals::default()),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => Err(Error::Unsupported {
            what: "file seals (F_GET_SEALS)",
        }),
        Err(e) => Err(Error::io(
            "fcntl(F_GET_SEALS)",
            sys::fd_path(file).as_deref(),
            e,
        )),
    }
}

/// How [`create`] makes a memory file: which seals, and whether to fault the pages in.
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// use ndmmap::shared::memfd;
/// let a = memfd::MemfdOptions::new().seal_grow(true).populate(true).create::<u32, _, _>("fixed", (64, 64))?;
/// assert!(memfd::seals(a.file().unwrap())?.grow);
/// # Ok::<(), ndmmap::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemfdOptions {
    seal_grow: bool,
    seal_future_write: bool,
    populate: bool,
}

impl MemfdOptions {
    /// Defaults: sealed against shrinking only; pages faulted in on first touch.
    pub fn new() -> MemfdOptions {
        MemfdOptions::default()
    }

    /// Also seal the file against growing (`F_SEAL_GROW`): its size is fixed for good. Off by
    /// default: growing a memory file cannot hurt a map of it.
    pub fn seal_grow(&mut self, seal_grow: bool) -> &mut Self {
        self.seal_grow = seal_grow;
        self
    }

    /// After mapping the creator's array, seal the file against new writers
    /// (`F_SEAL_FUTURE_WRITE`, Linux 5.1+): the returned array stays writable, but every other
    /// holder, and this process too if it maps the file again, can map it read-only only,
    /// even one that reopens the descriptor through `/proc`. Elsewhere
    /// [`Error::Unsupported`].
    pub fn seal_future_write(&mut self, seal_future_write: bool) -> &mut Self {
        self.seal_future_write = seal_future_write;
        self
    }

    /// Fault every page in when mapping (`MAP_POPULATE`): the memory is allocated now.
    pub fn populate(&mut self, populate: bool) -> &mut Self {
        self.populate = populate;
        self
    }

    /// Makes a zero-filled memory file named `name` (shown as `memfd:NAME` in
    /// `/proc/PID/fd`; at most [`MAX_NAME_LEN`] bytes, no NUL) of the array's size, seals it,
    /// and maps it as a shared read-write array in C or Fortran order as `shape` says
    /// (`(rows, cols).f()`). The descriptor is close-on-exec: it reaches another process
    /// only through [`send`]. The seal set is final (`F_SEAL_SEAL`): no holder can add a
    /// seal that would refuse the others' maps.
    pub fn create<T: Pod, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        name: &str,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let cname = check_name(name)?;
        let (dim, strides, bytes) = dim_and_strides(shape.into_shape_with_order(), size_of::<T>())?;
        let file = sys::os::memfd_create(&cname).map_err(|e| unsupported_or(e, "memfd_create"))?;
        let path = sys::fd_path(&file);
        let io = |what, e| Error::io(what, path.as_deref(), e);
        file.set_len(bytes as u64)
            .map_err(|e| io("ftruncate (memfd)", e))?;
        let seal = |s: Seals, what| {
            sys::os::add_seals(file.as_raw_fd(), s).map_err(|e| match e.kind() {
                io::ErrorKind::Unsupported => Error::Unsupported { what },
                _ => io("fcntl(F_ADD_SEALS)", e),
            })
        };
        seal(
            Seals {
                shrink: true,
                grow: self.seal_grow,
                ..Seals::default()
            },
            "file seals (F_ADD_SEALS)",
        )?;
        let mut o = MmapOptions::new();
        o.mode(Mode::ReadWrite)
            .offset(0)
            .grow(false)
            .populate(self.populate);
        // SAFETY: the file is a new memory file that only this process holds (close-on-exec,
        // not yet sent), sealed against shrinking, and `bytes` long: nobody truncates it under
        // the array, and nobody else writes it until the caller sends it (after which writes
        // by others are shared memory, as with forked children of an anonymous map).
        let a = unsafe { o.map_file(&file, path.clone(), |_| Ok((dim, strides, bytes)))? };
        if self.seal_future_write {
            seal(
                Seals {
                    future_write: true,
                    ..Seals::default()
                },
                "F_SEAL_FUTURE_WRITE",
            )?;
        }
        seal(
            Seals {
                seal: true,
                ..Seals::default()
            },
            "file seals (F_ADD_SEALS)",
        )?;
        Ok(a)
    }
}

/// A zero-filled memory file named `name`, sealed against shrinking, mapped shared and
/// read-write as an array of `shape`: [`MemfdOptions::create`] with the defaults.
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// let mut a = ndmmap::shared::memfd::create::<f32, ndarray::Ix2, _>("scratch", (128, 16))?;
/// a.view_mut()?.fill(1.0);
/// let shrink = a.file().unwrap().set_len(0); // nobody can truncate it
/// assert_eq!(shrink.unwrap_err().raw_os_error(), Some(libc::EPERM));
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn create<T: Pod, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
    name: &str,
    shape: Sh,
) -> Result<MmapArray<T, D>> {
    MemfdOptions::new().create(name, shape)
}

/// Checks a memory file's name: no NUL, at most [`MAX_NAME_LEN`] bytes.
fn check_name(name: &str) -> Result<CString> {
    let bad = |why| Error::InvalidShmName {
        name: excerpt(name.as_bytes()),
        why,
    };
    if name.len() > MAX_NAME_LEN {
        return Err(bad("a memfd name is at most 249 bytes"));
    }
    CString::new(name).map_err(|_| bad("a memfd name cannot contain a NUL byte"))
}

/// [`Error::Unsupported`] for an OS without the call, else the OS error.
fn unsupported_or(e: io::Error, what: &'static str) -> Error {
    if e.kind() == io::ErrorKind::Unsupported {
        Error::Unsupported { what }
    } else {
        Error::io(what, None, e)
    }
}

/// Sends the array's descriptor over `socket` with the message describing it (element type,
/// order, byte offset, shape; see [the module docs](self#the-message)). The receiver can map
/// it read-write if the array's descriptor is writable. Any file-backed array can be sent; an
/// anonymous one is [`Error::Unsupported`] (make it with [`create`] instead). The receiver maps
/// the file, not this process's private pages: for a [`Mode::CopyOnWrite`] array it sees the
/// file as it is, without this process's writes.
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// use std::os::unix::net::UnixStream;
/// use ndmmap::{Mode, shared::memfd};
/// let (tx, rx) = UnixStream::pair().unwrap();
/// let a = memfd::create::<u16, ndarray::Ix1, _>("v", 10)?;
/// memfd::send(&tx, &a)?;
/// // SAFETY: `a` is not written while `b`'s views are used.
/// let b = unsafe { memfd::receive::<u16, ndarray::Ix1>(&rx, Mode::ReadOnly)? };
/// assert_eq!(b.shape(), &[10]);
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn send<T: NpyElement, D: Dimension>(
    socket: &UnixStream,
    array: &MmapArray<T, D>,
) -> Result<()> {
    let file = file_of(array)?;
    send_fd(socket, file, &message_of(array))
}

/// [`send`] a read-only descriptor of the array's file (`/proc/self/fd/N` reopened with
/// `O_RDONLY`, Linux only): the receiver can map it [`Mode::ReadOnly`] or
/// [`Mode::CopyOnWrite`], and [`Mode::ReadWrite`] is [`Error::ReadOnlyHandle`]. This guards
/// against mistakes, not against a hostile receiver, which can reopen a memory file read-write
/// through its own `/proc/self/fd`; for that, seal the file with
/// [`MemfdOptions::seal_future_write`].
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// use std::os::unix::net::UnixStream;
/// use ndmmap::{Error, Mode, shared::memfd};
/// let (tx, rx) = UnixStream::pair().unwrap();
/// let a = memfd::create::<u16, ndarray::Ix1, _>("v", 10)?;
/// memfd::send_read_only(&tx, &a)?;
/// // SAFETY: nothing writes `a` while the received array lives.
/// let refused = unsafe { memfd::receive::<u16, ndarray::Ix1>(&rx, Mode::ReadWrite) };
/// assert!(matches!(refused, Err(Error::ReadOnlyHandle { .. })));
/// # Ok::<(), ndmmap::Error>(())
/// ```
pub fn send_read_only<T: NpyElement, D: Dimension>(
    socket: &UnixStream,
    array: &MmapArray<T, D>,
) -> Result<()> {
    let file = file_of(array)?;
    let ro = sys::os::reopen_read_only(file.as_raw_fd()).map_err(|e| match e.kind() {
        io::ErrorKind::Unsupported => Error::Unsupported {
            what: "reopening a descriptor read-only (/proc/self/fd)",
        },
        _ => Error::io("reopen read-only", array.path(), e),
    })?;
    send_fd(socket, &ro, &message_of(array))
}

/// The file behind an array that can be sent.
fn file_of<T: Pod, D: Dimension>(array: &MmapArray<T, D>) -> Result<&File> {
    array.file().ok_or(Error::Unsupported {
        what: "sending an anonymous array (make it with memfd::create)",
    })
}

/// The message describing `array`.
fn message_of<T: NpyElement, D: Dimension>(array: &MmapArray<T, D>) -> String {
    Message {
        dtype: T::DTYPE.descr(),
        order: array.order(),
        offset: array.offset(),
        shape: array.shape().to_vec(),
    }
    .to_line()
}

fn send_fd(socket: &UnixStream, file: &File, line: &str) -> Result<()> {
    fdpass::send_with_fd(socket.as_fd(), line.as_bytes(), file.as_fd())
        .map_err(|e| Error::io("sendmsg (SCM_RIGHTS)", None, e))
}

/// Receives an array sent with [`send`] (or any sender of [the message](self#the-message)) and
/// maps it in `mode`. The descriptor must be sealed against shrinking (a memory file made by
/// [`create`]), else [`Error::NotSealed`] and the descriptor is closed, so the file cannot be
/// truncated under the array; [`receive_unsealed`] maps other files.
/// [`Mode::ReadWrite`] of a read-only descriptor is [`Error::ReadOnlyHandle`]. The file is
/// never grown: a message that describes more than the file holds is [`Error::TooShort`].
/// It waits until the whole message has come, for good if it never does: give a deadline
/// with [`receive_timeout`] (see [Waiting](self#waiting)).
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// use std::os::unix::net::UnixStream;
/// use ndmmap::{Mode, shared::memfd};
/// let (tx, rx) = UnixStream::pair().unwrap();
/// let a = memfd::create::<i32, ndarray::IxDyn, _>("cube", ndarray::IxDyn(&[4, 5, 6]))?;
/// memfd::send(&tx, &a)?;
/// // SAFETY: `a` is not written while `b`'s views are used (and `b` is private).
/// let b = unsafe { memfd::receive::<i32, ndarray::Ix3>(&rx, Mode::CopyOnWrite)? };
/// assert_eq!(b.shape(), &[4, 5, 6]);
/// # Ok::<(), ndmmap::Error>(())
/// ```
///
/// # Safety
/// A second map of shared memory is a second way to reach the same bytes. While a view of
/// the received array is used, no other map of the file (the sender's, another receiver's,
/// in this process or another) may write the bytes it reads, and while a mutable view of it
/// is used, nothing else may read or write those bytes; other processes' writes are the
/// data race the [file contract of `MmapArray`](MmapArray#safety-of-file-backed-arrays)
/// describes. Truncation, the contract's other hazard, cannot happen: the seal is checked.
pub unsafe fn receive<T: NpyElement, D: Dimension>(
    socket: &UnixStream,
    mode: Mode,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { ReceiveOptions::new().receive(socket, mode) }
}

/// [`receive`] with a deadline: the whole message must come within `timeout`, else
/// [`Error::TimedOut`] (see [Waiting](self#waiting)). [`ReceiveOptions`] sets the same for
/// [`receive_unsealed`].
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// use std::{io::Write, os::unix::net::UnixStream, time::Duration};
/// use ndmmap::{Error, Mode, shared::memfd};
/// let (mut tx, rx) = UnixStream::pair().unwrap();
/// tx.write_all(b"ndmmap-array 1 <f8").unwrap(); // and nothing more
/// // SAFETY: nothing is mapped: the message never ends.
/// let r = unsafe { memfd::receive_timeout::<f64, ndarray::Ix1>(&rx, Mode::ReadOnly, Duration::from_millis(50)) };
/// assert!(matches!(r, Err(Error::TimedOut { received: 18, .. })));
/// # Ok::<(), ndmmap::Error>(())
/// ```
///
/// # Safety
/// As for [`receive`].
pub unsafe fn receive_timeout<T: NpyElement, D: Dimension>(
    socket: &UnixStream,
    mode: Mode,
    timeout: Duration,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { ReceiveOptions::new().timeout(timeout).receive(socket, mode) }
}

/// How a receive waits: for good (the default, as [`receive`] and [`receive_unsealed`] do),
/// or until a deadline (see [Waiting](self#waiting)).
///
/// ```
/// # if !cfg!(target_os = "linux") { return Ok(()) }
/// use std::{os::unix::net::UnixStream, time::Duration};
/// use ndmmap::{Error, Mode, shared::memfd::ReceiveOptions};
/// let (_tx, rx) = UnixStream::pair().unwrap();
/// let opts = *ReceiveOptions::new().timeout(Duration::from_millis(20));
/// // SAFETY: nothing comes, so nothing is mapped.
/// let r = unsafe { opts.receive_unsealed::<u8, ndarray::Ix1>(&rx, Mode::ReadOnly) };
/// assert!(matches!(r, Err(Error::TimedOut { received: 0, .. })));
/// # Ok::<(), ndmmap::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceiveOptions {
    timeout: Option<Duration>,
}

impl ReceiveOptions {
    /// No deadline: a receive waits until the whole message has come (or the socket's own
    /// read timeout ends the wait).
    pub fn new() -> ReceiveOptions {
        ReceiveOptions::default()
    }

    /// The time the whole message (descriptor, line and newline) may take to come, counted
    /// from the call; past it the receive is [`Error::TimedOut`]. A zero timeout takes only a
    /// message that is already waiting whole.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// [`receive`], waiting as these options say.
    ///
    /// # Safety
    /// As for [`receive`].
    pub unsafe fn receive<T: NpyElement, D: Dimension>(
        &self,
        socket: &UnixStream,
        mode: Mode,
    ) -> Result<MmapArray<T, D>> {
        let (file, msg) = receive_parts(socket, self.wait())?;
        let dim = msg.dim::<T, D>()?;
        let s = seals(&file)?;
        if !s.shrink {
            return Err(Error::NotSealed {
                path: sys::fd_path(&file),
            });
        }
        // SAFETY: the file is sealed against shrinking, so no holder can truncate it under
        // the map (`map` refuses a range past its current end and never grows it); the caller
        // takes on the rest of the file contract (writes through other maps).
        unsafe { map(&file, &msg, dim, mode) }
    }

    /// [`receive_unsealed`], waiting as these options say.
    ///
    /// # Safety
    /// As for [`receive_unsealed`].
    pub unsafe fn receive_unsealed<T: NpyElement, D: Dimension>(
        &self,
        socket: &UnixStream,
        mode: Mode,
    ) -> Result<MmapArray<T, D>> {
        let (file, msg) = receive_parts(socket, self.wait())?;
        let dim = msg.dim::<T, D>()?;
        // SAFETY: forwarded to the caller.
        unsafe { map(&file, &msg, dim, mode) }
    }

    fn wait(&self) -> Wait {
        Wait {
            start: Instant::now(),
            timeout: self.timeout,
        }
    }
}

/// The clock of one receive: when it started, and its deadline if it has one.
#[derive(Debug, Clone, Copy)]
struct Wait {
    start: Instant,
    timeout: Option<Duration>,
}

impl Wait {
    /// Returns once the socket has something to read (or an end to report); past the
    /// deadline, [`Error::TimedOut`] with the `received` bytes of the message so far.
    fn readable(&self, socket: &UnixStream, received: usize) -> Result<()> {
        let Some(timeout) = self.timeout else {
            return Ok(());
        };
        loop {
            let left = timeout.saturating_sub(self.start.elapsed());
            let ready = fdpass::wait_readable(socket.as_fd(), left)
                .map_err(|e| Error::io("poll (memfd receive)", None, e))?;
            if ready {
                return Ok(());
            }
            if self.start.elapsed() >= timeout {
                return Err(self.timed_out(received));
            }
        }
    }

    fn timed_out(&self, received: usize) -> Error {
        Error::TimedOut {
            what: "memfd receive",
            waited: self.start.elapsed(),
            received,
        }
    }

    /// An OS error of a read: the socket's own read timeout (`EAGAIN` on a blocking socket
    /// with `SO_RCVTIMEO`) is [`Error::TimedOut`] too, other errors name the call.
    fn io_error(
        &self,
        socket: &UnixStream,
        what: &'static str,
        e: io::Error,
        received: usize,
    ) -> Error {
        let socket_timeout = matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) && socket.read_timeout().is_ok_and(|t| t.is_some());
        if socket_timeout {
            self.timed_out(received)
        } else {
            Error::io(what, None, e)
        }
    }
}

/// Receives an array as [`receive`] does, and maps whatever descriptor came, sealed or not:
/// a file on disk sent with [`send`], a memory file from a sender that did not seal it. It
/// waits for good, as [`receive`] does; [`ReceiveOptions::receive_unsealed`] takes a deadline.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::unix::net::UnixStream;
/// use ndmmap::{MmapOptions, Mode, shared::memfd};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("plain.bin");
/// // SAFETY: the file is ours; nobody truncates it while the arrays live.
/// let a = unsafe { MmapOptions::new().mode(Mode::ReadWrite).create(true).map_path::<f64, ndarray::Ix1, _>(&path, 8)? };
/// let (tx, rx) = UnixStream::pair()?;
/// memfd::send(&tx, &a)?;
/// // SAFETY: as for `a`: nobody truncates plain.bin while `b` lives.
/// let b = unsafe { memfd::receive_unsealed::<f64, ndarray::Ix1>(&rx, Mode::ReadOnly)? };
/// assert_eq!(b.len(), 8);
/// # Ok(()) }
/// ```
///
/// # Safety
/// The caller upholds [the file contract of `MmapArray`](MmapArray#safety-of-file-backed-arrays)
/// for the received file: no process (the sender included) truncates it below the mapped
/// range while the array lives.
pub unsafe fn receive_unsealed<T: NpyElement, D: Dimension>(
    socket: &UnixStream,
    mode: Mode,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { ReceiveOptions::new().receive_unsealed(socket, mode) }
}

/// Maps the checked message's array from `file`, never growing it.
///
/// # Safety
/// The file contract of [`MmapArray`].
unsafe fn map<T: Pod, D: Dimension>(
    file: &File,
    msg: &Message,
    dim: D,
    mode: Mode,
) -> Result<MmapArray<T, D>> {
    let shape = dim.set_f(msg.order == Order::F);
    let mut o = MmapOptions::new();
    o.mode(mode).offset(msg.offset).grow(false);
    // SAFETY: forwarded to the caller.
    unsafe { o.map_file(file, None, |_| dim_and_strides(shape, size_of::<T>())) }
}

/// Receives one message and its descriptor: exactly one descriptor, the whole line read (and
/// not a byte more), parsed, within `wait`'s deadline. Every descriptor that came is closed
/// on an error.
fn receive_parts(socket: &UnixStream, wait: Wait) -> Result<(File, Message)> {
    let mut first = [0u8; 1];
    wait.readable(socket, 0)?;
    let got = fdpass::recv_with_fds(socket.as_fd(), &mut first, MAX_FDS)
        .map_err(|e| wait.io_error(socket, "recvmsg (SCM_RIGHTS)", e, 0))?;
    if got.len == 0 {
        return Err(bad("the connection closed before a message came"));
    }
    let line = read_line(socket, first[0], wait)?;
    if got.truncated {
        return Err(bad(format!(
            "the control data was cut short (more than {MAX_FDS} descriptors, or another kind \
             of control message): exactly one descriptor must come with the message"
        )));
    }
    let mut fds = got.fds;
    if fds.len() != 1 {
        return Err(bad(format!(
            "{} descriptors came with the message: exactly one must",
            fds.len()
        )));
    }
    let msg = Message::parse(&line)?;
    let file = File::from(fds.remove(0));
    Ok((file, msg))
}

/// Reads the rest of a line that started with `first`: peeks at what waits, then reads up to
/// and including the newline, so nothing after the message is consumed.
fn read_line(socket: &UnixStream, first: u8, wait: Wait) -> Result<Vec<u8>> {
    let mut line = vec![first];
    let mut buf = vec![0u8; MAX_MESSAGE_LEN];
    while line.last() != Some(&b'\n') {
        let room = MAX_MESSAGE_LEN - line.len();
        if room == 0 {
            return Err(bad(format!(
                "no newline in the first {MAX_MESSAGE_LEN} bytes"
            )));
        }
        wait.readable(socket, line.len())?;
        let n = fdpass::peek(socket.as_fd(), &mut buf[..room])
            .map_err(|e| wait.io_error(socket, "recv (MSG_PEEK, message)", e, line.len()))?;
        if n == 0 {
            return Err(bad("the connection closed inside the message"));
        }
        let take = buf[..n]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(n, |i| i + 1);
        let mut reader = socket;
        // The peek saw these bytes: the read takes them without waiting.
        reader
            .read_exact(&mut buf[..take])
            .map_err(|e| wait.io_error(socket, "recv (message)", e, line.len()))?;
        line.extend_from_slice(&buf[..take]);
    }
    line.pop();
    Ok(line)
}

fn bad(why: impl Into<String>) -> Error {
    Error::BadMessage { why: why.into() }
}

/// Quotes at most 40 bytes of untrusted text, escaped.
fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(40)];
    let mut s = String::from_utf8_lossy(cut).escape_debug().to_string();
    if bytes.len() > cut.len() {
        s.push('…');
    }
    s
}

/// What a message says about an array.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    dtype: String,
    order: Order,
    offset: u64,
    shape: Vec<usize>,
}

impl Message {
    /// The line, newline included.
    fn to_line(&self) -> String {
        let shape: Vec<String> = self.shape.iter().map(usize::to_string).collect();
        let order = match self.order {
            Order::C => 'C',
            Order::F => 'F',
        };
        format!(
            "{TAG} {VERSION} {} {order} {} {}\n",
            self.dtype,
            self.offset,
            shape.join(",")
        )
    }

    /// Parses a line (without its newline), strictly.
    fn parse(line: &[u8]) -> Result<Message> {
        if let Some(i) = line.iter().position(|&b| !(b' '..=b'~').contains(&b)) {
            return Err(bad(format!(
                "byte {i} (0x{:02x}) is not printable ASCII in \"{}\"",
                line[i],
                excerpt(line)
            )));
        }
        // Printable ASCII: valid UTF-8.
        let text = std::str::from_utf8(line).map_err(|_| bad("not ASCII"))?;
        let fields: Vec<&str> = text.splitn(7, ' ').collect();
        if fields.first() != Some(&TAG) {
            return Err(bad(format!("not an {TAG} message: \"{}\"", excerpt(line))));
        }
        if fields.len() != 6 {
            return Err(bad(format!(
                "{} space-separated fields where 6 are expected (tag, version, dtype, order, \
                 offset, shape) in \"{}\"",
                if fields.len() > 6 {
                    "more than 6".to_string()
                } else {
                    fields.len().to_string()
                },
                excerpt(line)
            )));
        }
        if fields[1] != VERSION {
            return Err(bad(format!(
                "format version \"{}\": only {VERSION} is known",
                excerpt(fields[1].as_bytes())
            )));
        }
        let dtype = fields[2];
        let b = dtype.as_bytes();
        let well_formed = (3..=5).contains(&b.len())
            && matches!(b[0], b'<' | b'>' | b'|')
            && b[1].is_ascii_lowercase()
            && b[2..].iter().all(u8::is_ascii_digit);
        if !well_formed {
            return Err(bad(format!(
                "\"{}\" is not a dtype descriptor like <f8 or |u1",
                excerpt(b)
            )));
        }
        let order = match fields[3] {
            "C" => Order::C,
            "F" => Order::F,
            o => {
                return Err(bad(format!(
                    "order \"{}\": C or F is expected",
                    excerpt(o.as_bytes())
                )));
            }
        };
        let offset = number(fields[4], "offset")?;
        let shape = if fields[5].is_empty() {
            Vec::new()
        } else {
            let n = fields[5].split(',').count();
            if n > MAX_DIMS {
                return Err(bad(format!("{n} dimensions: at most {MAX_DIMS}")));
            }
            fields[5]
                .split(',')
                .map(|len| {
                    let v = number(len, "shape length")?;
                    usize::try_from(v)
                        .map_err(|_| bad(format!("shape length {v} does not fit a usize")))
                })
                .collect::<Result<Vec<usize>>>()?
        };
        Ok(Message {
            dtype: dtype.to_string(),
            order,
            offset,
            shape,
        })
    }

    /// Checks the message against `T` and `D`: the dimension to map.
    fn dim<T: NpyElement, D: Dimension>(&self) -> Result<D> {
        let expected = T::DTYPE.descr();
        if self.dtype != expected {
            return Err(Error::DtypeMismatch {
                expected,
                found: self.dtype.clone(),
            });
        }
        let n = self.shape.len();
        if let Some(k) = D::NDIM
            && k != n
        {
            return Err(Error::DimensionMismatch {
                expected: k,
                found: n,
            });
        }
        let mut dim = D::zeros(n);
        dim.slice_mut().copy_from_slice(&self.shape);
        Ok(dim)
    }
}

/// A decimal number without sign or leading zeros that fits a `u64`.
fn number(text: &str, what: &str) -> Result<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return Err(bad(format!(
            "{what} \"{}\" is not a decimal number without sign or leading zeros",
            excerpt(text.as_bytes())
        )));
    }
    text.parse::<u64>().map_err(|_| {
        bad(format!(
            "{what} {} does not fit 64 bits",
            excerpt(text.as_bytes())
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Message> {
        Message::parse(s.as_bytes())
    }

    #[test]
    fn round_trip() {
        for m in [
            Message {
                dtype: "<f8".into(),
                order: Order::C,
                offset: 0,
                shape: vec![1000, 3],
            },
            Message {
                dtype: "|u1".into(),
                order: Order::F,
                offset: u64::MAX,
                shape: vec![],
            },
            Message {
                dtype: ">c16".into(),
                order: Order::C,
                offset: 4096,
                shape: vec![0, usize::MAX, 1],
            },
        ] {
            let line = m.to_line();
            assert!(line.ends_with('\n'));
            assert_eq!(parse(line.trim_end_matches('\n')).unwrap(), m);
        }
        assert_eq!(
            Message {
                dtype: "<f8".into(),
                order: Order::C,
                offset: 0,
                shape: vec![1000, 3]
            }
            .to_line(),
            "ndmmap-array 1 <f8 C 0 1000,3\n"
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad_line in [
            "",
            "ndmmap-array",
            "ndmmap-array 1 <f8 C 0",
            "ndmmap-array 1 <f8 C 0 3 extra",
            "ndmmap-array  1 <f8 C 0 3",
            "ndmmap-array 2 <f8 C 0 3",
            "ndmmap-arrax 1 <f8 C 0 3",
            "ndmmap-array 1 f8 C 0 3",
            "ndmmap-array 1 <F8 C 0 3",
            "ndmmap-array 1 <f8x C 0 3",
            "ndmmap-array 1 <f123456 C 0 3",
            "ndmmap-array 1 <f8 c 0 3",
            "ndmmap-array 1 <f8 C -1 3",
            "ndmmap-array 1 <f8 C +1 3",
            "ndmmap-array 1 <f8 C 01 3",
            "ndmmap-array 1 <f8 C 18446744073709551616 3",
            "ndmmap-array 1 <f8 C 0 3,",
            "ndmmap-array 1 <f8 C 0 ,3",
            "ndmmap-array 1 <f8 C 0 3,,4",
            "ndmmap-array 1 <f8 C 0 3 ",
            "ndmmap-array 1 <f8 C 0 99999999999999999999999",
            "ndmmap-array 1 <f8 C 0 3\r",
            "ndmmap-array 1 <f8 C 0 3\0",
            "ndmmap-array 1 <f8 C 0 é",
        ] {
            match parse(bad_line) {
                Err(Error::BadMessage { why }) => assert!(why.len() < 400, "{why}"),
                other => panic!("{bad_line:?}: {other:?}"),
            }
        }
        let many = vec!["1"; MAX_DIMS + 1].join(",");
        assert!(matches!(
            parse(&format!("ndmmap-array 1 <f8 C 0 {many}")),
            Err(Error::BadMessage { .. })
        ));
        let max = vec!["1"; MAX_DIMS].join(",");
        assert_eq!(
            parse(&format!("ndmmap-array 1 <f8 C 0 {max}"))
                .unwrap()
                .shape
                .len(),
            MAX_DIMS
        );
    }

    #[test]
    fn checks_type_and_dimensions() {
        let m = parse("ndmmap-array 1 <f8 C 0 2,3").unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(m.dim::<f64, ndarray::Ix2>().unwrap().slice(), &[2, 3]);
            assert_eq!(m.dim::<f64, ndarray::IxDyn>().unwrap().slice(), &[2, 3]);
        }
        assert!(matches!(
            m.dim::<f32, ndarray::Ix2>(),
            Err(Error::DtypeMismatch { .. })
        ));
        assert!(matches!(
            m.dim::<f64, ndarray::Ix3>(),
            Err(Error::DtypeMismatch { .. }
                | Error::DimensionMismatch {
                    expected: 3,
                    found: 2
                })
        ));
    }

    #[test]
    fn names() {
        assert!(check_name("ok").is_ok());
        assert!(check_name(&"x".repeat(MAX_NAME_LEN)).is_ok());
        assert!(matches!(
            check_name(&"x".repeat(MAX_NAME_LEN + 1)),
            Err(Error::InvalidShmName { .. })
        ));
        assert!(matches!(
            check_name("a\0b"),
            Err(Error::InvalidShmName { .. })
        ));
    }
}
