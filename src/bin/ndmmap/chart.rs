//! The progress bar beside the library's residency charts ([`ndmmap::chart`]).

pub use ndmmap::chart::human;
use std::io::IsTerminal;

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
