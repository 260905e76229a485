//! Residency charts in vmtouch's `-v` spirit (one character per column, many slices folded
//! into a column), their index scale and legend, sizes, and the progress bar.

use crate::out::count;
use std::io::IsTerminal;
use std::ops::Range;

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

/// The slices `0..n` folded into the columns of a chart `width` characters wide (with its two
/// brackets): consecutive, non-empty ranges of indices, as even as can be.
pub fn columns(n: usize, width: usize) -> Vec<Range<usize>> {
    ndmmap::even_groups(n, width.saturating_sub(2).max(1))
}

/// The symbol of a column whose pages are `f` resident.
fn symbol(f: f64) -> char {
    if f <= 0.0 {
        ' '
    } else if f < 0.5 {
        '.'
    } else if f < 1.0 {
        'o'
    } else {
        'O'
    }
}

/// One character per column, from each column's resident fraction.
pub fn bar(fractions: &[f64]) -> String {
    format!(
        "[{}]",
        fractions.iter().map(|&f| symbol(f)).collect::<String>()
    )
}

/// The line under a chart of `cols` columns: the index of its first slice under the first
/// column, of its last under the last.
pub fn scale(first: &str, last: &str, cols: usize) -> String {
    if cols <= 1 || first == last {
        return format!(" {first}");
    }
    // The last label ends under the last column (character `cols` of the line).
    let room = cols + 1;
    match room.checked_sub(1 + first.chars().count() + last.chars().count()) {
        Some(pad) if pad >= 1 => format!(" {first}{}{last}", " ".repeat(pad)),
        _ => format!(" {first}..{last}"),
    }
}

/// The legend under a chart: its symbols, and how many slices a column holds.
pub fn legend(cols: &[Range<usize>], what: &str) -> String {
    let (lo, hi) = cols
        .iter()
        .map(Range::len)
        .fold((usize::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));
    let per = if cols.is_empty() {
        String::new()
    } else if lo == hi {
        format!("; a column is {}", count(lo, what))
    } else {
        format!("; a column is {lo} or {hi} {what}s")
    };
    format!("'O' all pages resident, 'o' half or more, '.' under half, ' ' none{per}")
}

/// Bytes in binary units.
pub fn human(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        count(bytes, "byte")
    } else {
        format!("{v:.1} {}", units[u])
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fold_to_width() {
        assert_eq!(bar(&[0.0, 0.2, 0.7, 1.0]), "[ .oO]");
        let cols = columns(1000, 12);
        assert_eq!(cols.len(), 10);
        assert_eq!((cols[0].clone(), cols[9].clone()), (0..100, 900..1000));
        assert_eq!(columns(3, 80), vec![0..1, 1..2, 2..3]);
        assert_eq!(columns(0, 80), Vec::<Range<usize>>::new());
        let huge = columns(usize::MAX, 1000);
        assert_eq!((huge.len(), huge[997].end), (998, usize::MAX));
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(1), "1 byte");
    }

    #[test]
    fn scales_and_legends() {
        // The last label ends under the last column: character 32 of `[` + 32 columns.
        assert_eq!(scale("0", "31", 32), format!(" 0{}31", " ".repeat(29)));
        assert_eq!(scale("0", "0", 1), " 0");
        assert_eq!(scale("1000", "2000", 5), " 1000..2000");
        assert!(legend(&columns(32, 80), "slice").ends_with("a column is 1 slice"));
        assert!(legend(&columns(10, 5), "slice").ends_with("a column is 3 or 4 slices"));
        assert!(legend(&columns(30, 5), "slice").ends_with("a column is 10 slices"));
    }
}
