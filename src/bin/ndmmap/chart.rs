//! The terminal around the library's residency charts ([`ndmmap::chart`]): its width, and
//! the progress bar.

pub use ndmmap::chart::human;
use std::io::IsTerminal;

/// The terminal's width: $COLUMNS, else the terminal's (the console's on Windows), else 80.
pub fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(terminal_width)
        .unwrap_or(80)
}

/// The width of the terminal on stdout, if stdout is one.
#[cfg(unix)]
fn terminal_width() -> Option<usize> {
    // SAFETY: winsize is plain integers, for which all zeroes is a value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize we own; on a non-tty it fails and we fall back.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// The width of the console window on stdout, if stdout is one.
#[cfg(windows)]
fn terminal_width() -> Option<usize> {
    use std::os::windows::io::AsRawHandle;
    let mut info = crate::win::ScreenBufferInfo::default();
    // SAFETY: the handle is stdout's, open for the life of the process; the call writes only
    // `info`, which we own, and fails for a file or a pipe.
    let ok = unsafe {
        crate::win::GetConsoleScreenBufferInfo(std::io::stdout().as_raw_handle(), &mut info)
    } != 0;
    let [left, _, right, _] = info.window;
    let w = i32::from(right) - i32::from(left) + 1;
    (ok && w > 0).then_some(w as usize)
}

/// A progress bar in bytes, with rate and time left, on stderr when it is a terminal; none
/// otherwise (a log or a pipe gets no control characters).
pub fn progress(bytes: u64, msg: String) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let p = indicatif::ProgressBar::new(bytes);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
    ) {
        p.set_style(style.progress_chars("=> "));
    }
    p.set_message(msg);
    Some(p)
}
