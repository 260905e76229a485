//! Interruption as a flag, for `ndmmap lock`, which holds its pages until interrupted: SIGINT
//! and SIGTERM on Unix; Ctrl-C, Ctrl-Break and closing the console window on Windows.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Catches SIGINT and SIGTERM from now on, for [`wait`].
#[cfg(unix)]
pub fn catch() -> std::io::Result<()> {
    extern "C" fn on_signal(_: libc::c_int) {
        STOP.store(true, Ordering::SeqCst);
    }
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if unsafe { libc::signal(sig, handler) } == libc::SIG_ERR {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Catches Ctrl-C, Ctrl-Break and the console's closing from now on, for [`wait`].
#[cfg(windows)]
pub fn catch() -> std::io::Result<()> {
    use crate::win;
    extern "system" fn on_ctrl(ctrl: u32) -> i32 {
        match ctrl {
            win::CTRL_C_EVENT | win::CTRL_BREAK_EVENT => {
                STOP.store(true, Ordering::SeqCst);
                1
            }
            win::CTRL_CLOSE_EVENT => {
                STOP.store(true, Ordering::SeqCst);
                // Windows ends the process as soon as this returns: give the main thread the
                // time to release and exit (which ends this thread too). Past about 5 s,
                // Windows ends the process anyway.
                std::thread::sleep(std::time::Duration::from_secs(10));
                1
            }
            _ => 0,
        }
    }
    // SAFETY: no handler and FALSE only turn Ctrl-C processing back on, should the parent
    // have turned it off (the setting is inherited); a failure there leaves Ctrl-Break and
    // the console's closing, so it is not an error.
    unsafe { win::SetConsoleCtrlHandler(None, 0) };
    // SAFETY: the handler only stores to an atomic and sleeps, on a thread Windows creates
    // for it; it is a plain function, valid for the life of the process.
    if unsafe { win::SetConsoleCtrlHandler(Some(on_ctrl), 1) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Blocks until interrupted (after [`catch`]).
pub fn wait() {
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
