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
//! - A guard registers the mapping's address range in a fixed table of atomic slots, and
//!   removes it when the closure has returned (or panicked) and the file's pages are back. Many
//!   guards can be active at once, on any threads, and they can nest.
//! - The range is guarded **for every thread while the guard lives**: work the closure hands
//!   to other threads (rayon, scoped threads) is guarded too. So is any other thread that
//!   reads the same array's pages meanwhile: it reads zeros where the file is gone, and the
//!   guard reports the fault.
//! - The handler reads only that table and makes raw system calls: no allocation, no lock.
//!   For a fault raised by the kernel (not `kill`/`raise`) at an address inside a guarded
//!   range, every guard whose range holds the address notes the fault, and then a zeroed
//!   anonymous page is mapped over the faulting page (`mmap(MAP_FIXED)`): the instruction runs
//!   again on the zero page and the code goes on. Every other `SIGBUS` goes to the previous
//!   handler (or the default action, which ends the process), exactly as without ndmmap.
//! - **The rule**: a guarded closure during whose run a page of its mapping was patched
//!   returns [`Error::Fault`], never `Ok`: whichever thread faulted, and also when the page
//!   was patched by another guard before this one started and is not restored yet (a guard
//!   starting finds the notes of the guards still active). Its result is dropped; the error
//!   gives the file offset that faulted, the file's length now and the likely cause.
//! - The guard that saw a fault maps the patched pages from the file again before it ends,
//!   so the next access sees the file as it is then. Only those pages: the others keep their
//!   private (copy-on-write) contents, their locks (`mlock`) and their protection.
//!
//! # Maps ndmmap did not make
//! [`ForeignMap::guard`](crate::ForeignMap::guard) guards a mapping that something else in
//! the process made (a `numpy.memmap`, a `memfd` map), found through `/proc/self/maps`, with
//! the same registry, handler and rule: no `Ok` from a patched page. The patched pages are
//! mapped again from the file as `/proc/self/maps` described the map: at its file offset,
//! shared or private, with the protection each part had. Where the file could not be opened
//! again (deleted with no descriptor left, or closed to this user), the patched pages stay
//! zero pages, and the error says so ([`FaultCause::FileUnavailable`](crate::FaultCause)).
//! Restoring a shared writable map needs the file open for writing; opened read-only, the
//! restore fails and the error is the OS's.
//!
//! # Limits
//! - Nothing unwinds or jumps out of the closure (no `longjmp`): after a fault it runs to its
//!   end on zero pages, so it must terminate on any data (a loop that waits for a non-zero value
//!   would not). Writes made after the fault land in the zero pages and are lost; the error
//!   says so, and writes before it reached the file.
//! - Plain views ([`view`](crate::MmapArray::view)) are not guarded when no guard of their
//!   array is active: they carry the `unsafe` contract of file-backed arrays.
//! - At most [`SLOTS`] guards can be active at once in a process; past that, a guard is
//!   refused with [`Error::Unsupported`].
//! - A guard notes its first [`PAGES`] faults one by one, the rest by the lowest and highest
//!   page; the pages between those two are mapped from the file again. They are past the end
//!   of the file (or pages it cannot give), so they hold no private data to lose.
//! - Restored pages get back the protection they had: the mode's, or what
//!   [`protect`](crate::PagesMut::protect) gave them.

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
    start: AtomicUsize,
    end: AtomicUsize,
    prot: AtomicI32,
    faults: AtomicUsize,
    pages: [AtomicUsize; PAGES],
    /// The lowest and highest page patched in the range (`usize::MAX` and 0 for none).
    lo: AtomicUsize,
    hi: AtomicUsize,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU8::new(FREE),
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            prot: AtomicI32::new(0),
            faults: AtomicUsize::new(0),
            pages: [const { AtomicUsize::new(0) }; PAGES],
            lo: AtomicUsize::new(usize::MAX),
            hi: AtomicUsize::new(0),
        }
    }

    /// Whether the slot guards `addr` now.
    #[cfg(unix)]
    fn guards(&self, addr: usize) -> bool {
        self.state.load(Ordering::SeqCst) == ACTIVE
            && addr >= self.start.load(Ordering::SeqCst)
            && addr < self.end.load(Ordering::SeqCst)
    }

    /// Notes a fault at `addr` on `page`: async-signal-safe (atomics only).
    fn record(&self, addr: usize, page: usize) {
        let n = self.faults.fetch_add(1, Ordering::SeqCst);
        if n < PAGES {
            self.pages[n].store(addr, Ordering::SeqCst);
        }
        self.lo.fetch_min(page, Ordering::SeqCst);
        self.hi.fetch_max(page, Ordering::SeqCst);
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
        let ps = PAGE_SIZE.load(Ordering::Relaxed);
        let page = addr & !(ps - 1);
        // Every guard whose range holds the page notes the fault before the page is patched,
        // whichever thread faulted. A guard that became active during the first pass is
        // found by the second; one that becomes active after it finds the first pass's notes
        // when it starts (`Guard::enter`): so no guard reads a patched page unawares.
        let mut noted = [0u64; SLOTS / 64];
        let mut prot = None;
        for _pass in 0..2 {
            for (i, slot) in REGISTRY.iter().enumerate() {
                if noted[i / 64] & (1u64 << (i % 64)) == 0 && slot.guards(addr) {
                    slot.record(addr, page);
                    noted[i / 64] |= 1u64 << (i % 64);
                    prot.get_or_insert(slot.prot.load(Ordering::SeqCst));
                }
            }
        }
        if let Some(prot) = prot {
            // SAFETY: `page` lies in a mapping that an active guard registered; the mapping
            // lives at least as long as the guard, and replacing the page with a zero page is
            // what the guard is for (its owner restores the file's page when the guard ends).
            if unsafe { sys::zero_pages_fixed(page, ps, prot) } {
                return;
            }
        }
        // Not ours, or cannot recover: fall through to the previous handler.
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
    /// The lowest and highest page patched (every patched page lies between them).
    pub(crate) lo: usize,
    pub(crate) hi: usize,
}

/// A registered range; unregistered on drop (after its owner restored the patched pages).
pub(crate) struct Guard {
    slot: &'static Slot,
}

impl Guard {
    /// Registers `start..start + len` (pages mapped with `prot`), for every thread while the
    /// guard lives; `None` where the OS has no fault to guard (Windows). Pages of the range
    /// that another guard's fault patched and that are not restored yet count as this
    /// guard's faults from the start: reading them would read zeros.
    pub(crate) fn enter(start: usize, len: usize, prot: i32) -> Result<Option<Guard>> {
        if !install()? {
            return Ok(None);
        }
        let end = start + len;
        let ps = sys::page_size();
        for slot in &REGISTRY {
            if slot
                .state
                .compare_exchange(FREE, SETTING_UP, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                slot.start.store(start, Ordering::SeqCst);
                slot.end.store(end, Ordering::SeqCst);
                slot.prot.store(prot, Ordering::SeqCst);
                slot.faults.store(0, Ordering::SeqCst);
                slot.lo.store(usize::MAX, Ordering::SeqCst);
                slot.hi.store(0, Ordering::SeqCst);
                slot.state.store(ACTIVE, Ordering::SeqCst);
                // After becoming active (the handler's second pass relies on this order).
                for other in REGISTRY.iter().filter(|o| !std::ptr::eq(*o, slot)) {
                    if other.state.load(Ordering::SeqCst) != ACTIVE {
                        continue;
                    }
                    let n = other.faults.load(Ordering::SeqCst);
                    let (lo, hi) = (
                        other.lo.load(Ordering::SeqCst),
                        other.hi.load(Ordering::SeqCst),
                    );
                    if n == 0 || lo == usize::MAX || hi < start || lo >= end {
                        continue;
                    }
                    let known = &other.pages[..n.min(PAGES)];
                    let mut inside = known
                        .iter()
                        .map(|a| a.load(Ordering::SeqCst))
                        .filter(|a| (start..end).contains(a))
                        .peekable();
                    if n > PAGES || inside.peek().is_some() {
                        for a in inside {
                            slot.record(a, a & !(ps - 1));
                        }
                        // Pages past the first PAGES are known only by their bounds.
                        if n > PAGES {
                            let first = lo.max(start);
                            slot.record(first, first & !(ps - 1));
                            slot.hi.fetch_max(hi.min(end - 1), Ordering::SeqCst);
                        }
                    }
                }
                return Ok(Some(Guard { slot }));
            }
        }
        Err(Error::Unsupported {
            what: "more than 256 guards active at once",
        })
    }

    /// What faulted in the range so far, if anything did. The guard stays registered until
    /// it is dropped, so that its notes warn guards entered meanwhile until the patched
    /// pages are restored.
    pub(crate) fn faults(&self) -> Option<Faults> {
        let count = self.slot.faults.load(Ordering::SeqCst);
        (count > 0).then(|| Faults {
            addrs: self.slot.pages[..count.min(PAGES)]
                .iter()
                .map(|a| a.load(Ordering::SeqCst))
                .collect(),
            count,
            lo: self.slot.lo.load(Ordering::SeqCst),
            hi: self.slot.hi.load(Ordering::SeqCst),
        })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.slot.state.store(FREE, Ordering::SeqCst);
    }
}
