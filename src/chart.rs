//! Residency charts in the spirit of vmtouch's `-v`: one character per column, each column a
//! group of consecutive slices along an axis ([`columns`]), drawn from the fraction of its
//! pages in RAM ([`bar`]), with the index scale under it ([`scale`]), a legend
//! ([`legend`]) and a total ([`summary`]); ranges of slices in numpy's slice syntax
//! ([`ranges`]); right-aligned tables ([`table`]); and sizes in binary units ([`human`]). Text
//! only: the caller chooses the width ([`terminal_width`] gives a terminal's) and where the
//! lines go.
//!
//! The fractions come from [`Pages::counts_along_groups`](crate::Pages::counts_along_groups)
//! over the same columns ([`fractions`]):
//!
//! ```
//! use ndarray::{Axis, s};
//! use ndmmap::{Advice, MmapArray, chart};
//!
//! let a = MmapArray::<f64, ndarray::Ix2>::anonymous((1000, 512))?; // a row: one page
//! a.pages(s![..500, ..])?.advise(Advice::PopulateWrite)?;
//! let cols = chart::columns(1000, 12); // 12 characters wide: 10 columns of 100 rows
//! let fractions = chart::fractions(&a.pages(..)?, Axis(0), &cols)?;
//! assert_eq!(chart::bar(&fractions), "[OOOOO     ]");
//! assert_eq!(chart::scale("0", "999", cols.len()), format!(" 0{}999", " ".repeat(6)));
//! assert_eq!(
//!     chart::legend(&cols, "row"),
//!     "'O' all pages resident, 'o' half or more, '.' under half, ' ' none; a column is 100 rows"
//! );
//! # Ok::<(), ndmmap::Error>(())
//! ```

use crate::error::Result;
use crate::pages::Pages;
use crate::residency::Residency;
use ndarray::Axis;
use std::ops::Range;

/// The width a chart printed to stdout should take: `$COLUMNS` where it is a number, else the
/// width of the terminal (the console window, on Windows) that stdout is, else 80.
///
/// ```
/// let cols = ndmmap::chart::columns(1000, ndmmap::chart::terminal_width());
/// assert!(!cols.is_empty());
/// ```
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(crate::sys::stdout_columns)
        .unwrap_or(80)
}

/// The slices `0..n` folded into the columns of a chart `width` characters wide (with its two
/// brackets, so `width - 2` columns at most, and at least one): consecutive, non-empty ranges
/// of indices, as even as can be ([`even_groups`](crate::even_groups)). None for `n` 0.
///
/// ```
/// use ndmmap::chart::columns;
/// assert_eq!(columns(10, 6), [0..2, 2..5, 5..7, 7..10]);
/// assert_eq!(columns(3, 80), [0..1, 1..2, 2..3]);
/// ```
pub fn columns(n: usize, width: usize) -> Vec<Range<usize>> {
    crate::even_groups(n, width.saturating_sub(2).max(1))
}

/// The fraction of the pages of each column of `cols` (groups of indices along `axis` of the
/// selection `pages`) that is in RAM: the heights of a chart's columns, counted by
/// [`Pages::counts_along_groups`] (by `cachestat(2)` per column where each is one stretch of
/// memory). A column without pages (of an empty inner axis) is 1.0, as
/// [`Residency::fraction`] has it.
///
/// # Errors
/// As [`Pages::counts_along_groups`]: [`Error::BadAxis`](crate::Error::BadAxis), a column past
/// the axis, and [`Error::ResidencyUnknown`](crate::Error::ResidencyUnknown) where the OS hides
/// the file's residency.
pub fn fractions(pages: &Pages<'_>, axis: Axis, cols: &[Range<usize>]) -> Result<Vec<f64>> {
    let counts = pages.counts_along_groups(axis, cols)?;
    Ok(counts.iter().map(Residency::fraction).collect())
}

/// The fraction in RAM of each column of `cols` (groups of indices into `counts`, one
/// [`Residency`] per index): a column's counts added up, so a column is as resident as the
/// pages of its indices together. For counts made one per item rather than per slice, such
/// as an HDF5 dataset's chunks (`Container::chunk_residency`). A column past the end of
/// `counts` counts what it holds of them.
///
/// ```
/// use ndmmap::{Residency, chart::{columns, fold}};
/// let counts = [(1, 1), (0, 1), (2, 4), (4, 4)].map(|(resident, total)| Residency { resident, total });
/// assert_eq!(fold(&counts, &columns(4, 4)), [0.5, 0.75]);
/// ```
pub fn fold(counts: &[Residency], cols: &[Range<usize>]) -> Vec<f64> {
    cols.iter()
        .map(|c| {
            let c = c.start.min(counts.len())..c.end.min(counts.len());
            counts[c].iter().copied().sum::<Residency>().fraction()
        })
        .collect()
}

/// The character of a column whose pages are `fraction` resident: `' '` none, `'.'` under
/// half, `'o'` half or more, `'O'` all.
///
/// ```
/// use ndmmap::chart::symbol;
/// assert_eq!([0.0, 0.2, 0.5, 1.0].map(symbol), [' ', '.', 'o', 'O']);
/// ```
pub fn symbol(fraction: f64) -> char {
    if fraction <= 0.0 {
        ' '
    } else if fraction < 0.5 {
        '.'
    } else if fraction < 1.0 {
        'o'
    } else {
        'O'
    }
}

/// The chart: one [`symbol`] per column, from each column's resident fraction, in brackets.
///
/// ```
/// assert_eq!(ndmmap::chart::bar(&[0.0, 0.2, 0.7, 1.0]), "[ .oO]");
/// ```
pub fn bar(fractions: &[f64]) -> String {
    let body: String = fractions.iter().map(|&f| symbol(f)).collect();
    format!("[{body}]")
}

/// The line under a chart of `cols` columns: the index of its first slice under its first
/// column and the index of its last slice ending under its last column, or `first..last` where
/// the chart is too narrow for both; `first` alone for one column or one label.
///
/// ```
/// use ndmmap::chart::scale;
/// assert_eq!(scale("0", "31", 32), format!(" 0{}31", " ".repeat(29)));
/// assert_eq!(scale("1000", "2000", 5), " 1000..2000");
/// assert_eq!(scale("7", "7", 1), " 7");
/// ```
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

/// The legend under a chart of the columns `cols`: its symbols, and how many slices a column
/// holds, each a `what` (`"slice"`, `"row"`; made plural with an `s`).
///
/// ```
/// use ndmmap::chart::{columns, legend};
/// assert!(legend(&columns(10, 5), "slice").ends_with("; a column is 3 or 4 slices"));
/// assert!(legend(&columns(3, 80), "row").ends_with("; a column is 1 row"));
/// ```
pub fn legend(cols: &[Range<usize>], what: &str) -> String {
    let (lo, hi) = cols
        .iter()
        .map(Range::len)
        .fold((usize::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));
    let per = if cols.is_empty() {
        String::new()
    } else if lo == hi {
        format!("; a column is {}", count(lo as u64, what))
    } else {
        format!("; a column is {lo} or {hi} {what}s")
    };
    format!("'O' all pages resident, 'o' half or more, '.' under half, ' ' none{per}")
}

/// The line under a chart of `n` slices (each a `what`) whose pages are `whole`: `"4 slices,
/// 3/4 pages resident (75.0%)"`. A selection of no slices says it is empty, and one of no
/// pages that it has none, rather than a fraction of nothing.
///
/// ```
/// use ndmmap::{Residency, chart::summary};
/// let r = |resident, total| Residency { resident, total };
/// assert_eq!(summary(4, r(3, 4), "slice"), "4 slices, 3/4 pages resident (75.0%)");
/// assert_eq!(summary(0, r(0, 0), "slice"), "the selection is empty (0 slices)");
/// assert_eq!(summary(5, r(0, 0), "row"), "5 rows, no pages (they hold no bytes)");
/// ```
pub fn summary(n: usize, whole: Residency, what: &str) -> String {
    let slices = count(n as u64, what);
    if n == 0 {
        return format!("the selection is empty ({slices})");
    }
    if whole.total == 0 {
        let they = if n == 1 { "it holds" } else { "they hold" };
        return format!("{slices}, no pages ({they} no bytes)");
    }
    format!(
        "{slices}, {}/{} resident ({:.1}%)",
        whole.resident,
        count(whole.total as u64, "page"),
        100.0 * whole.fraction()
    )
}

/// Ranges of indices (end exclusive) in numpy's slice syntax, `"0:3, 5:6"`; `"none"` for no
/// range.
///
/// ```
/// use ndmmap::chart::ranges;
/// assert_eq!(ranges(&[0..3, 5..6]), "0:3, 5:6");
/// assert_eq!(ranges(&[]), "none");
/// ```
pub fn ranges(ranges: &[Range<usize>]) -> String {
    if ranges.is_empty() {
        return "none".into();
    }
    let each: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}:{}", r.start, r.end))
        .collect();
    each.join(", ")
}

/// Rows of cells as a table: each column right-aligned to its widest cell (in characters),
/// columns two spaces apart, a line per row.
///
/// ```
/// use ndmmap::chart::table;
/// let rows = [["rank", "rows"], ["0", "0..10"]];
/// assert_eq!(table(&rows), "rank   rows\n   0  0..10\n");
/// ```
pub fn table<R: AsRef<[S]>, S: AsRef<str>>(rows: &[R]) -> String {
    let mut width = Vec::new();
    for row in rows {
        for (k, cell) in row.as_ref().iter().enumerate() {
            let w = cell.as_ref().chars().count();
            match width.get_mut(k) {
                Some(x) => *x = w.max(*x),
                None => width.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .zip(&width)
            .map(|(c, &w)| format!("{:>w$}", c.as_ref()))
            .collect();
        out.push_str(&cells.join("  "));
        out.push('\n');
    }
    out
}

/// `bytes` in binary units, with one decimal: `1.5 KiB`, `3.0 GiB`; below 1 KiB in bytes
/// (`1 byte`, `512 bytes`).
///
/// ```
/// use ndmmap::chart::human;
/// assert_eq!((human(1536).as_str(), human(1).as_str()), ("1.5 KiB", "1 byte"));
/// assert_eq!(human(3 << 30), "3.0 GiB");
/// ```
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

/// `n` and `word`, in the plural unless `n` is 1: `1 page`, `2 pages`, `0 slices`.
///
/// ```
/// use ndmmap::chart::count;
/// assert_eq!((count(1u8, "page"), count(0usize, "slice")), ("1 page".into(), "0 slices".into()));
/// ```
pub fn count<N: TryInto<u64> + Copy + std::fmt::Display>(n: N, word: &str) -> String {
    if n.try_into().is_ok_and(|n| n == 1) {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `text` on one line of at most `max` characters, safe to print to a terminal: every line
/// break, other control character or bidirectional override becomes a space, and a longer
/// text keeps its start and its end (where an error puts the OS's reason) around an
/// ellipsis. For names and messages that come from files (an entry's name in a stranger's
/// archive can hold escape sequences or megabytes).
///
/// ```
/// use ndmmap::chart::one_line;
/// assert_eq!(one_line("a\nb\u{1b}[31m", 80), "a b [31m");
/// assert_eq!(one_line("abcdefghij", 7), "abcd…ij");
/// ```
pub fn one_line(text: &str, max: usize) -> String {
    let fold = |c: char| match c {
        '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => ' ',
        c if c.is_control() => ' ',
        c => c,
    };
    if text.chars().nth(max).is_none() {
        return text.chars().map(fold).collect();
    }
    let tail = max / 3;
    let head = max.saturating_sub(tail + 1);
    let cut = match tail.checked_sub(1) {
        Some(k) => text.char_indices().rev().nth(k).map_or(0, |(i, _)| i),
        None => text.len(),
    };
    text.chars()
        .take(head)
        .chain(['…'])
        .chain(text[cut..].chars())
        .map(fold)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_fold_to_one_short_line() {
        assert_eq!(
            one_line("a\nb\r\nc\u{2028}d\te\u{1b}[31m", 100),
            "a b  c d e [31m"
        );
        assert_eq!(one_line("short", 5), "short");
        let long = format!("{}: No such file", "é".repeat(10_000));
        let line = one_line(&long, 300);
        assert_eq!(line.chars().count(), 300);
        assert!(
            line.starts_with("éé") && line.ends_with("é: No such file"),
            "{line}"
        );
        assert_eq!(one_line("abc", 0), "…");
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(1u8, "page"), "1 page");
        assert_eq!(count(2usize, "slice"), "2 slices");
        assert_eq!(count(-1i64, "row"), "-1 rows");
    }

    #[test]
    fn bars_fold_to_width() {
        assert_eq!(bar(&[0.0, 0.2, 0.7, 1.0]), "[ .oO]");
        assert_eq!(bar(&[]), "[]");
        let cols = columns(1000, 12);
        assert_eq!(cols.len(), 10);
        assert_eq!((cols[0].clone(), cols[9].clone()), (0..100, 900..1000));
        assert_eq!(columns(3, 80), vec![0..1, 1..2, 2..3]);
        assert_eq!(columns(0, 80), Vec::<Range<usize>>::new());
        assert_eq!(columns(5, 0), vec![0..5]);
        let huge = columns(usize::MAX, 1000);
        assert_eq!((huge.len(), huge[997].end), (998, usize::MAX));
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(1), "1 byte");
        assert_eq!(human(0), "0 bytes");
        assert_eq!(human(u64::MAX), "16777216.0 TiB");
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
        assert!(legend(&[], "slice").ends_with("' ' none"));
    }
}
