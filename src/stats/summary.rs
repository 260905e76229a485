//! [`Summary`]: the first and last few results of a reduction, kept as its parts stream by,
//! and their table as numpy prints numbers (`%g`).

use super::{Moments, Plan, Value};
use crate::error::Result;
use std::collections::VecDeque;
use std::fmt;

/// Results shown at each end of a [`Summary`]'s table.
pub const FEW: usize = 5;

/// A result's position in C order and its mean, std, min and max.
type Row = (usize, f64, f64, Option<Value>, Option<Value>);

/// The first and last [`FEW`] results of a reduction, in bounded memory however many there
/// are: feed it the parts [`Stats::each`](super::Stats::each) hands over (or one whole
/// [`Moments`]), then print it. Its `Display` is a table, one line per result (its index in
/// the result's shape, mean, std with `ddof = 0`, min, max), numbers as numpy's `%g`.
///
/// ```
/// use ndmmap::stats::{Stats, Summary};
/// let a = ndmmap::MmapArray::<f32, ndarray::Ix2>::anonymous((1000, 3))?;
/// let st = Stats::along(1);
/// let mut summary = Summary::new(&st.plan(&a)?);
/// st.each(&a, |first, part| summary.push(first, &part))?;
/// assert_eq!(summary.len(), 1000);
/// let table = summary.to_string();
/// assert!(table.starts_with("row  mean  std  min  max\n  0     0    0    0    0\n"));
/// assert!(table.ends_with("(1000 results; the first and last 5 shown)\n"));
/// # Ok::<(), ndmmap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Summary {
    shape: Vec<usize>,
    /// What a result is: `column`, `row`, `index` (or nothing for one result).
    what: &'static str,
    head: Vec<Row>,
    tail: VecDeque<Row>,
    len: usize,
}

impl Summary {
    /// An empty summary of the results `plan` gives.
    pub fn new(plan: &Plan) -> Summary {
        // A matrix reduced along one axis gives one result per column (axis 0) or row.
        let what = match (plan.shape().len(), plan.axis()) {
            (0, _) => "",
            (1, 0) => "column",
            (1, 1) => "row",
            _ => "index",
        };
        Summary {
            what,
            shape: plan.shape().to_vec(),
            head: vec![],
            tail: VecDeque::new(),
            len: 0,
        }
    }

    /// Adds a part: the 1-D run of results from index `first` (C order) on, the parts in
    /// order.
    pub fn push(&mut self, first: usize, part: &Moments) -> Result<()> {
        let len = part.len();
        let head = (FEW - self.head.len()).min(len);
        let tail = len.saturating_sub(FEW + 2).max(head);
        for (start, run) in [(0, part.run(0..head)?), (tail, part.run(tail..len)?)] {
            let (mean, std, min, max) = (run.mean(), run.std(0.0), run.min(), run.max());
            for (i, (((&mean, &std), &min), &max)) in
                mean.iter().zip(&std).zip(&min).zip(&max).enumerate()
            {
                let row = (first + start + i, mean, std, min, max);
                if self.head.len() < FEW {
                    self.head.push(row);
                } else {
                    if self.tail.len() == FEW + 2 {
                        self.tail.pop_front();
                    }
                    self.tail.push_back(row);
                }
            }
        }
        self.len += len;
        Ok(())
    }

    /// How many results were pushed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no result was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Result `i` (C order) as its index in the result's shape: `(3, 4)`, `7`, or `all`.
    fn label(&self, i: usize) -> String {
        match self.shape.len() {
            0 => "all".into(),
            1 => i.to_string(),
            _ => {
                let mut idx = vec![0; self.shape.len()];
                let mut rest = i;
                for (d, &len) in idx.iter_mut().zip(&self.shape).rev() {
                    *d = rest % len.max(1);
                    rest /= len.max(1);
                }
                let parts: Vec<String> = idx.iter().map(usize::to_string).collect();
                format!("({})", parts.join(", "))
            }
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            return writeln!(f, "no results: the result is empty");
        }
        let mut rows = vec![[self.what, "mean", "std", "min", "max"].map(String::from)];
        // The whole tail when the head and tail meet, else its last few after a "..." row.
        let whole = self.len <= 2 * FEW + 2;
        let skip = if whole {
            0
        } else {
            self.tail.len().saturating_sub(FEW)
        };
        let show = |x: &Row| {
            [
                self.label(x.0),
                format_g(x.1),
                format_g(x.2),
                format_value(x.3),
                format_value(x.4),
            ]
        };
        rows.extend(self.head.iter().map(show));
        if !whole {
            rows.push(["...", "", "", "", ""].map(String::from));
        }
        rows.extend(self.tail.iter().skip(skip).map(show));
        let mut width = [0usize; 5];
        for row in &rows {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(width)
                // Padded by hand: `format!`'s width stops at 65535 (a label can be longer).
                .map(|(c, w)| " ".repeat(w.saturating_sub(c.chars().count())) + c)
                .collect();
            writeln!(f, "{}", line.join("  ").trim_end())?;
        }
        if !whole {
            writeln!(f, "({} results; the first and last {FEW} shown)", self.len)?;
        }
        Ok(())
    }
}

/// A min or max as the table shows it: floats as [`format_g`], integers in full, `-` for none.
pub fn format_value(v: Option<Value>) -> String {
    match v {
        Some(Value::Float(x)) => format_g(x),
        Some(v) => v.to_string(),
        None => "-".into(),
    }
}

/// `x` as C's `%g` (numpy's short form): six significant digits, an exponent below 1e-4 and
/// from 1e6.
///
/// ```
/// use ndmmap::stats::format_g;
/// assert_eq!((format_g(0.1), format_g(1234567.0), format_g(0.0000123456789)), ("0.1".into(), "1.23457e+06".into(), "1.23457e-05".into()));
/// ```
pub fn format_g(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{x:.5e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.unsigned_abs())
    } else {
        trim(&format!("{x:.*}", (5 - exp) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_percent_g() {
        assert_eq!(format_g(0.1), "0.1");
        assert_eq!(format_g(1234567.0), "1.23457e+06");
        assert_eq!(format_g(123456.0), "123456");
        assert_eq!(format_g(0.000123456789), "0.000123457");
        assert_eq!(format_g(0.0000123456789), "1.23457e-05");
        assert_eq!(format_g(-2.5), "-2.5");
        assert_eq!(format_g(1023.5), "1023.5");
        assert_eq!(format_g(f64::NAN), "nan");
        assert_eq!(format_g(0.0), "0");
        assert_eq!(format_g(-0.0), "-0");
        assert_eq!(format_g(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_g(999999.5), "1e+06");
    }

    #[test]
    fn a_table_keeps_its_ends_whatever_the_parts() {
        use crate::MmapArray;
        // Row i of a (37, 2) u16 array holds i, i: result i has mean i and std 0.
        let mut a = MmapArray::<u16, ndarray::Ix2>::anonymous((37, 2)).unwrap();
        for (i, mut row) in a.view_mut().unwrap().outer_iter_mut().enumerate() {
            row.fill(i as u16);
        }
        let st = super::super::Stats::along(1);
        let whole = {
            let mut s = Summary::new(&st.plan(&a).unwrap());
            s.push(0, &st.of(&a).unwrap()).unwrap();
            s.to_string()
        };
        // Parts of 1 result (the smallest window) give the same table.
        let st1 = super::super::Stats::along(1).window(1);
        let mut parts = Summary::new(&st1.plan(&a).unwrap());
        st1.each(&a, |first, m| parts.push(first, &m)).unwrap();
        assert_eq!(parts.to_string(), whole);
        let lines: Vec<&str> = whole.lines().collect();
        assert_eq!(lines[0], "row  mean  std  min  max");
        assert_eq!(lines[1], "  0     0    0    0    0");
        assert_eq!(lines[6], "...");
        assert_eq!(lines[11], " 36    36    0   36   36");
        assert_eq!(lines[12], "(37 results; the first and last 5 shown)");
        // 12 results show whole; a 2-D result labels by index tuple.
        let b = MmapArray::<u8, ndarray::Ix3>::anonymous((2, 3, 4)).unwrap();
        let st = super::super::Stats::along(0);
        let mut s = Summary::new(&st.plan(&b).unwrap());
        s.push(0, &st.of(&b).unwrap()).unwrap();
        let t = s.to_string();
        assert_eq!(t.lines().count(), 13, "{t}");
        assert!(t.starts_with(" index  mean"), "{t}");
        assert!(t.lines().nth(12).unwrap().starts_with("(2, 3)"), "{t}");
    }
}
