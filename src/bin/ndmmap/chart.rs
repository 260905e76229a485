//! Residency charts in vmtouch's `-v` spirit, sizes, and the progress bar.

use std::io::IsTerminal;

/// The terminal's width: $COLUMNS, else the tty's, else 80.
pub fn width() -> usize {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return w;
    }
    // SAFETY: TIOCGWINSZ writes a winsize we own; on a non-tty it fails and we fall back.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_col > 0
    {
        return ws.ws_col as usize;
    }
    80
}

/// One character per column, many slices folded into one column by their mean:
/// ' ' none resident, '.' under half, 'o' half or more, 'O' all. Fits `width`.
pub fn bar(fractions: &[f64], width: usize) -> String {
    let cols = fractions.len().min(width.saturating_sub(2).max(1));
    let n = fractions.len();
    // c * n can pass usize::MAX for a long axis in a wide terminal ($COLUMNS is anything).
    let edge = |c: usize| (c as u128 * n as u128 / cols as u128) as usize;
    let line: String = (0..cols)
        .map(|c| {
            let group = &fractions[edge(c)..edge(c + 1).max(edge(c) + 1)];
            let f = group.iter().sum::<f64>() / group.len() as f64;
            if f == 0.0 {
                ' '
            } else if f < 0.5 {
                '.'
            } else if f < 1.0 {
                'o'
            } else {
                'O'
            }
        })
        .collect();
    format!("[{line}]")
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
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A progress bar on stderr when it is a terminal, none otherwise.
pub fn progress(len: u64, msg: &'static str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let p = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}") {
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
        assert_eq!(bar(&[0.0, 0.2, 0.7, 1.0], 80), "[ .oO]");
        let many: Vec<f64> = (0..1000).map(|i| if i < 500 { 1.0 } else { 0.0 }).collect();
        let b = bar(&many, 12);
        assert_eq!(b.chars().count(), 12);
        assert_eq!(b, "[OOOOO     ]");
        assert_eq!(human(1536), "1.5 KiB");
    }
}
