//! Faults become errors: `SIGBUS` on a guarded array's pages turns into [`Error::Fault`].
//!
//! A file-backed view is plain memory that the OS shares with a file. When another process
//! truncates the file, reading a page past its new end raises `SIGBUS`; so does writing into
//! a sparse hole when the filesystem is full. [`MmapArray::guarded`](crate::MmapArray::guarded)
//! and [`guarded_mut`](crate::MmapArray::guarded_mut) run a closure on the live mapping (no
//! copy) and turn such a fault into an error. The process lives on; the array stays usable.
//!
//! On Windows nothing is guarded (the closure runs as it is): a mapped file cannot be
//! truncated there, and an in-page I/O error ends the process.
//!
//! # How it works
//! - One process-wide `SIGBUS` handler is installed the first time a guard is entered. It
//!   remembers the handler that was there before.
//! - A guard registers its thread and the mapping's address range in a fixed table of atomic
//!   slots, and removes them when the closure returns (or panics). Many threads can guard at
//!   once, guards can nest, and arrays can be dropped while other threads hold guards.
//! - The handler reads only that table and makes raw system calls: no allocation, no lock.
//!   For a fault raised by the kernel (not `kill`/`raise`) at an address inside a range that
//!   the faulting thread has registered, it maps a zeroed anonymous page over the faulting page
//!   (`mmap(MAP_FIXED)`), records the address, and returns: the instruction runs again on the
//!   zero page and the closure goes on. Every other `SIGBUS` goes to the previous handler (or
//!   the default action, which ends the process), exactly as without ndmmap.
//! - When the closure returns and a fault was recorded, its result is dropped and the guard
//!   answers [`Error::Fault`] with the file offset that faulted, the file's length now, and
//!   the likely cause. The patched pages are mapped from the file again, so the next access
//!   sees the file as it is then.
//!
//! # Limits
//! - Nothing unwinds or jumps out of the closure (no `longjmp`): after a fault it runs to its
//!   end on zero pages, so it must terminate on any data (a loop that waits for a non-zero value
//!   would not). Writes made after the fault land in the zero pages and are lost; the error
//!   says so, and writes before it reached the file.
//! - Plain views ([`view`](crate::MmapArray::view)) are not guarded: they carry the `unsafe`
//!   contract of file-backed arrays.
//! - At most [`SLOTS`] guards can be active at once in a process; past that, a guard is
//!   refused with [`Error::Unsupported`].
//! - For a copy-on-write map, at most [`PAGES`] faulted pages are restored one by one; past
//!   that the whole map is mapped from the file again, and private changes are lost.

use crate::error::{Error, Result};
use crate::sys;
#[cfg(unix)]
use std::cell::UnsafeCell;
#[cfg(unix)]
use std::mem::MaybeUninit;
#[cfg(unix)]
use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};

/// Guards that can be active at once.
pub const SLOTS: usize = 256;
/// Faulted pages a guard remembers one by one.
pub const PAGES: usize = 32;

const FREE: u8 = 0;
const SETTING_UP: u8 = 1;
const ACTIVE: u8 = 2;

/// One registered range.
struct Slot {
    state: AtomicU8,
    tid: AtomicUsize,
    start: AtomicUsize,
    end: AtomicUsize,
    prot: AtomicI32,
    faults: AtomicUsize,
    pages: [AtomicUsize; PAGES],
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU8::new(FREE),
            tid: AtomicUsize::new(0),
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            prot: AtomicI32::new(0),
            faults: AtomicUsize::new(0),
            pages: [const { AtomicUsize::new(0) }; PAGES],
        }
    }
}

static REGISTRY: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
#[cfg(unix)]
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);

/// The `SIGBUS` action that was installed before ours, written once before ours is installed.
#[cfg(unix)]
struct Previous(UnsafeCell<MaybeUninit<libc::sigaction>>);
// SAFETY: written once inside `INSTALL` before the handler that reads it exists; read-only after.
#[cfg(unix)]
unsafe impl Sync for Previous {}
#[cfg(unix)]
static PREVIOUS: Previous = Previous(UnsafeCell::new(MaybeUninit::uninit()));
#[cfg(unix)]
static INSTALL: Once = Once::new();
#[cfg(unix)]
static INSTALLED: AtomicU8 = AtomicU8::new(0);

/// Windows raises no `SIGBUS`, and a mapped file cannot be truncated there: nothing to install
/// and nothing to guard (`Ok(false)`).
#[cfg(not(unix))]
fn install() -> Result<bool> {
    Ok(false)
}

/// Installs the handler once (`Ok(true)`). `Err` if `sigaction` refused.
#[cfg(unix)]
fn install() -> Result<bool> {
    let mut failed = None;
    INSTALL.call_once(|| {
        PAGE_SIZE.store(sys::page_size(), Ordering::Relaxed);
        // SAFETY: `PREVIOUS` is written before our handler is installed, so the handler never
        // reads it uninitialised.
        match unsafe { sys::install_sigbus(handler, (*PREVIOUS.0.get()).as_mut_ptr()) } {
            Ok(()) => INSTALLED.store(1, Ordering::Release),
            Err(e) => failed = Some(e),
        }
    });
    if INSTALLED.load(Ordering::Acquire) == 1 {
        Ok(true)
    } else {
        Err(Error::io(
            "sigaction(SIGBUS)",
            None,
            failed.unwrap_or_else(|| {
                std::io::Error::other("the SIGBUS handler could not be installed")
            }),
        ))
    }
}

/// The process-wide `SIGBUS` handler. Async-signal-safe: atomics and single system calls.
#[cfg(unix)]
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let (addr, code) = unsafe { sys::fault_of(info) };
    // si_code > 0: raised by the kernel for a fault at `addr` (not kill, raise or sigqueue).
    if code > 0 {
        let tid = sys::thread_id();
        let ps = PAGE_SIZE.load(Ordering::Relaxed);
        for slot in &REGISTRY {
            if slot.state.load(Ordering::Acquire) != ACTIVE
                || slot.tid.load(Ordering::Relaxed) != tid
                || addr < slot.start.load(Ordering::Relaxed)
                || addr >= slot.end.load(Ordering::Relaxed)
            {
                continue;
            }
            let page = addr & !(ps - 1);
            // SAFETY: `page` lies in a mapping the guarding thread registered and owns for the
            // guard's duration; replacing it with a zero page is what the guard is for.
            if !unsafe { sys::zero_pages_fixed(page, ps, slot.prot.load(Ordering::Relaxed)) } {
                break; // cannot recover: fall through to the previous handler
            }
            let n = slot.faults.fetch_add(1, Ordering::AcqRel);
            if n < PAGES {
                slot.pages[n].store(addr, Ordering::Release);
            }
            return;
        }
    }
    // SAFETY: as in `chain`.
    unsafe { chain(sig, info, ctx, code) }
}

/// Passes a signal that is not ours to the previous action.
///
/// # Safety
/// Called from the handler with the handler's arguments.
#[cfg(unix)]
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void, code: i32) {
    // SAFETY: PREVIOUS was initialised before the handler was installed.
    let prev = unsafe { (*PREVIOUS.0.get()).assume_init_ref() };
    let h = prev.sa_sigaction;
    if h == libc::SIG_DFL || h == libc::SIG_IGN {
        // The default action: a fault re-executes the faulting instruction and comes again;
        // a signal that was sent is sent again.
        sys::sigbus_default(code <= 0);
        return;
    }
    // SAFETY: `h` is the previous handler, installed by its owner with these flags.
    unsafe {
        if prev.sa_flags & libc::SA_SIGINFO != 0 {
            let f: sys::SigbusHandler = std::mem::transmute(h);
            f(sig, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(h);
            f(sig);
        }
    }
    // A handler that gave the signal back to the default action (as Rust's own stack-overflow
    // handler does for a fault that is not a stack overflow) expects it to come again; one that
    // was sent does not come again by itself.
    if code <= 0 && sys::sigbus_is_default() {
        sys::sigbus_default(true);
    }
}

/// What a guard saw.
pub(crate) struct Faults {
    /// Addresses of the first faults (up to [`PAGES`]).
    pub(crate) addrs: Vec<usize>,
    /// How many faults there were.
    pub(crate) count: usize,
}

/// A registered range; unregistered on drop (the closure returned or panicked).
pub(crate) struct Guard {
    slot: &'static Slot,
}

impl Guard {
    /// Registers `start..start + len` (pages mapped with `prot`) for the calling thread;
    /// `None` where the OS has no fault to guard (Windows).
    pub(crate) fn enter(start: usize, len: usize, prot: i32) -> Result<Option<Guard>> {
        if !install()? {
            return Ok(None);
        }
        for slot in &REGISTRY {
            if slot
                .state
                .compare_exchange(FREE, SETTING_UP, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                slot.tid.store(sys::thread_id(), Ordering::Relaxed);
                slot.start.store(start, Ordering::Relaxed);
                slot.end.store(start + len, Ordering::Relaxed);
                slot.prot.store(prot, Ordering::Relaxed);
                slot.faults.store(0, Ordering::Relaxed);
                slot.state.store(ACTIVE, Ordering::Release);
                return Ok(Some(Guard { slot }));
            }
        }
        Err(Error::Unsupported {
            what: "more than 256 guards active at once",
        })
    }

    /// Unregisters the range and gives what faulted, if anything did.
    pub(crate) fn exit(self) -> Option<Faults> {
        let count = self.slot.faults.load(Ordering::Acquire);
        let faults = (count > 0).then(|| Faults {
            addrs: self.slot.pages[..count.min(PAGES)]
                .iter()
                .map(|a| a.load(Ordering::Acquire))
                .collect(),
            count,
        });
        drop(self);
        faults
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.slot.state.store(FREE, Ordering::Release);
    }
}
