//! The `.npy` header, read as numpy's `format.py` reads it.
//!
//! numpy reads the header dictionary with Python's `ast.literal_eval`, so a header is any Python
//! literal that evaluates to the right dictionary: comments, hex integers, implicit string
//! concatenation, parenthesised values, trailing commas and repeated keys (the last one wins)
//! all count. This module reads that language without recursion and without allocating more
//! than the header's own size:
//!
//! - the header's length is checked against the file's length and against a limit (numpy's
//!   `max_header_size`, [`MAX_HEADER_SIZE`] by default) before anything is allocated;
//! - the parser is a loop over tokens with an explicit stack of open brackets, limited to
//!   Python's own nesting limit (200), and values keep at most two levels of structure, so no
//!   input controls the depth of any recursion (dropping a value included);
//! - every header numpy accepts gives the same dtype, shape and order, or is refused with a
//!   reason that says what is unsupported ([`NpyError::UnsupportedDtype`],
//!   [`NpyError::UnsupportedHeader`]); every header numpy refuses is refused.
//!
//! Version 1.0 and 2.0 headers are latin-1 and may carry Python 2's long suffix (`3L`), which
//! numpy strips; version 3.0 headers are UTF-8 and may not.

use crate::element::Dtype;
use crate::error::{Error, NpyError, Result, excerpt};
use crate::npy::dtype::{AnyDtype, STRUCTURED, UnsupportedDtype};
use crate::sys::FileAt;
use std::fs::File;
use std::path::Path;

/// numpy's magic string, the first six bytes of every `.npy` file.
pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy's default limit on a header's length (`max_header_size` in `numpy.load`).
pub const MAX_HEADER_SIZE: usize = 10_000;

/// Python's limit on nested brackets ("too many nested parentheses" past it).
const MAX_DEPTH: usize = 200;

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// Format version: `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub version: (u8, u8),
    /// The dtype descriptor as the file spells it, e.g. `"<f8"` or `"float64"`.
    pub descr: String,
    /// The dtype it names.
    pub dtype: Dtype,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Byte offset of the data (the header's total length).
    pub data_offset: u64,
}

impl Header {
    /// Bytes of data the shape needs with `itemsize`-byte elements.
    pub fn data_len(&self, itemsize: usize) -> Result<usize> {
        crate::layout::checked_bytes(&self.shape, itemsize)
    }

    /// Bytes of the header that precede the dictionary text (magic, version, length field).
    pub(crate) fn preamble_len(&self) -> u64 {
        if self.version.0 == 1 { 10 } else { 12 }
    }
}

/// A header as numpy reads it, whatever its dtype: numeric ([`Header`]'s), one whose elements
/// are raw bytes here (bytes, str, void, datetime, timedelta), or one ndmmap does not map
/// (object, StringDType, structured, subarray: [`AnyDtype::Unsupported`], with its shape,
/// order and data offset all the same). What a container lists and maps
/// ([`AnyArray::Other`](crate::AnyArray::Other) for the raw ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnyHeader {
    /// Format version: `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub(crate) version: (u8, u8),
    /// The dtype descriptor as the file spells it (a list or tuple descriptor as its text).
    pub(crate) descr: String,
    /// The dtype it names.
    pub(crate) dtype: AnyDtype,
    /// Whether the data is in Fortran (column-major) order.
    pub(crate) fortran_order: bool,
    /// The array's shape.
    pub(crate) shape: Vec<usize>,
    /// Byte offset of the data (the header's total length).
    pub(crate) data_offset: u64,
}

impl AnyHeader {
    /// Bytes of data the shape needs with the dtype's item size (0 for an
    /// [`AnyDtype::Unsupported`] dtype, whose size is not known here).
    pub(crate) fn data_len(&self) -> Result<usize> {
        crate::layout::checked_bytes(&self.shape, self.dtype.itemsize())
    }

    /// Why the dtype is not mapped at all, when it is [`AnyDtype::Unsupported`]: the
    /// [`NpyError::UnsupportedDtype`] that reading the header for a numeric type gives.
    pub(crate) fn unsupported(&self) -> Option<NpyError> {
        match &self.dtype {
            AnyDtype::Unsupported(u) => Some(NpyError::UnsupportedDtype {
                descr: excerpt(&self.descr),
                why: u.why.clone(),
            }),
            _ => None,
        }
    }

    /// The [`Header`] of a numeric dtype; another is [`NpyError::UnsupportedDtype`], as
    /// [`Dtype::parse`] says it.
    fn numeric(self, path: &Path) -> Result<Header> {
        if let Some(kind) = self.unsupported() {
            return Err(Error::npy(Some(path), kind));
        }
        match self.dtype {
            AnyDtype::Numeric(dtype) => Ok(Header {
                version: self.version,
                descr: self.descr,
                dtype,
                fortran_order: self.fortran_order,
                shape: self.shape,
                data_offset: self.data_offset,
            }),
            AnyDtype::Raw(r) => Err(Error::npy(
                Some(path),
                NpyError::UnsupportedDtype {
                    descr: excerpt(&self.descr),
                    why: r.why.to_string(),
                },
            )),
            AnyDtype::Unsupported(_) => unreachable!("refused above"),
        }
    }
}

/// Reads up to `buf.len()` bytes at `offset`, returning how many there were.
pub(crate) fn read_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read header", Some(path), e)),
        }
    }
    Ok(got)
}

/// Reads the header of an open `.npy` file, refusing headers longer than `limit`.
pub(crate) fn read_from(file: &File, path: &Path, limit: usize) -> Result<Header> {
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("stat", Some(path), e))?
        .len();
    read_within(file, path, 0, file_len, limit, false)?.numeric(path)
}

/// Reads the header of an open `.npy` file as [`read_from`] does, with a bytes, str, void,
/// datetime or timedelta dtype read too, and one ndmmap does not map (object, structured, ...)
/// read as [`AnyDtype::Unsupported`] with its shape and data offset (not refused).
pub(crate) fn read_any_from(file: &File, path: &Path, limit: usize) -> Result<AnyHeader> {
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("stat", Some(path), e))?
        .len();
    read_within(file, path, 0, file_len, limit, true)
}

impl AnyHeader {
    /// Reads the header of a `.npy` image that occupies bytes `start..start + len` of `file`
    /// (a stored `.npz` member), refusing headers longer than `limit` and headers that run past
    /// `start + len`, and reading bytes, str, void, datetime and timedelta dtypes (and those
    /// not mapped at all as [`AnyDtype::Unsupported`]). Lengths in
    /// errors and the returned [`data_offset`](AnyHeader::data_offset) are relative to
    /// `start`.
    #[cfg_attr(not(feature = "npz"), allow(dead_code))]
    pub(crate) fn read_within(
        file: &File,
        path: &Path,
        start: u64,
        len: u64,
        limit: usize,
    ) -> Result<AnyHeader> {
        read_within(file, path, start, len, limit, true)
    }
}

/// [`AnyHeader::read_within`]: the one header reader. `raw` reads non-numeric fixed-size
/// dtypes, and lists the dtypes it does not map as [`AnyDtype::Unsupported`] (their shape
/// checked as any other); without it they are refused where the dtype is read, as
/// [`Dtype::parse`] refuses them (before the shape is looked at).
fn read_within(
    file: &File,
    path: &Path,
    base: u64,
    file_len: u64,
    limit: usize,
    raw: bool,
) -> Result<AnyHeader> {
    let err = |kind| Error::npy(Some(path), kind);
    let mut pre = [0u8; 12];
    // Never read past the image's end: a member's neighbour is not part of its header.
    let pre_len = pre
        .len()
        .min(usize::try_from(file_len).unwrap_or(usize::MAX));
    let got = read_at(file, path, &mut pre[..pre_len], base)?;
    if got < MAGIC.len() || &pre[..6] != MAGIC {
        return Err(err(NpyError::NotNpy {
            start: pre[..got.min(6)].to_vec(),
        }));
    }
    let truncated = |needed: u64| {
        err(NpyError::Truncated {
            len: file_len.min(got as u64),
            needed,
        })
    };
    if got < 8 {
        return Err(truncated(8));
    }
    let version = (pre[6], pre[7]);
    let len_bytes = match version {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        (major, minor) => return Err(err(NpyError::Version { major, minor })),
    };
    let start = 8 + len_bytes;
    if got < start {
        return Err(truncated(start as u64));
    }
    let header_len = if len_bytes == 2 {
        u64::from(u16::from_le_bytes([pre[8], pre[9]]))
    } else {
        u64::from(u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]))
    };
    let needed = start as u64 + header_len;
    if needed > file_len {
        return Err(err(NpyError::Truncated {
            len: file_len,
            needed,
        }));
    }
    // Latin-1 has one byte per character; UTF-8 at most four.
    let per_char = if version.0 == 3 { 4 } else { 1 };
    if header_len > (limit as u64).saturating_mul(per_char) {
        return Err(err(NpyError::HeaderTooLarge {
            len: header_len,
            limit,
        }));
    }
    let mut bytes = vec![0u8; header_len as usize];
    let at = base
        .checked_add(start as u64)
        .ok_or(Error::OffsetOverflow {
            offset: base,
            len: start,
        })?;
    if read_at(file, path, &mut bytes, at)? < bytes.len() {
        // The file shrank between the stat and the read.
        return Err(truncated(needed));
    }
    let text = if version.0 == 3 {
        String::from_utf8(bytes).map_err(|e| {
            err(NpyError::NotUtf8 {
                at: e.utf8_error().valid_up_to(),
            })
        })?
    } else {
        bytes.into_iter().map(char::from).collect()
    };
    let chars = text.chars().count();
    if chars > limit {
        return Err(err(NpyError::HeaderTooLarge {
            len: chars as u64,
            limit,
        }));
    }
    let (descr, dtype, fortran_order, shape) = parse(&text, version.0 < 3, raw).map_err(err)?;
    Ok(AnyHeader {
        version,
        descr,
        dtype,
        fortran_order,
        shape,
        data_offset: needed,
    })
}

/// A header's `(descr, dtype, fortran_order, shape)`.
type Parsed = (String, AnyDtype, bool, Vec<usize>);

/// Parses header text into `(descr, dtype, fortran_order, shape)`. `lenient` allows Python 2's
/// long suffix (`3L`), as numpy does for versions 1.0 and 2.0; `raw` reads non-numeric
/// dtypes, fixed-size ones as raw bytes and the rest as [`AnyDtype::Unsupported`] (else they
/// are [`NpyError::UnsupportedDtype`]).
pub(crate) fn parse(text: &str, lenient: bool, raw: bool) -> std::result::Result<Parsed, NpyError> {
    let chars: Vec<char> = text.chars().collect();
    let syntax = |e: PErr| match e {
        PErr::Syntax { at, why } => NpyError::Syntax {
            at,
            why,
            excerpt: excerpt_at(&chars, at),
        },
        PErr::Unsupported(what) => NpyError::UnsupportedHeader { what },
    };
    let toks = Lexer::new(&chars, lenient).run().map_err(syntax)?;
    let value = parse_tokens(toks).map_err(syntax)?;
    interpret(value, raw, &chars)
}

/// About 100 characters of the header around character `at`.
fn excerpt_at(chars: &[char], at: usize) -> String {
    let from = at.saturating_sub(40).min(chars.len());
    let to = (from + 100).min(chars.len());
    let s: String = chars[from..to].iter().collect();
    let mut e = excerpt(&s);
    if from > 0 {
        e.insert_str(0, "...");
    }
    if to < chars.len() && !e.ends_with("...") {
        e.push_str("...");
    }
    e
}

/// A parse failure: Python refuses the text, or it is Python that ndmmap does not read.
#[derive(Debug)]
enum PErr {
    Syntax { at: usize, why: String },
    Unsupported(&'static str),
}

fn syn<T>(at: usize, why: impl Into<String>) -> std::result::Result<T, PErr> {
    Err(PErr::Syntax {
        at,
        why: why.into(),
    })
}

/// A token of a Python literal.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open(char),
    Close(char),
    Comma,
    Colon,
    Sign(bool),
    Str(String),
    Bytes,
    Int(Option<i128>),
    Float,
    Imag,
    Bool(bool),
    NoneLit,
    Ellipsis,
    Set,
    Newline,
}

struct Lexer<'a> {
    s: &'a [char],
    i: usize,
    lenient: bool,
    open: Vec<char>,
    toks: Vec<(Tok, usize)>,
    line_has_tokens: bool,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

impl<'a> Lexer<'a> {
    fn new(s: &'a [char], lenient: bool) -> Lexer<'a> {
        // `ast.literal_eval` strips leading spaces and tabs.
        let i = s.iter().take_while(|c| matches!(c, ' ' | '\t')).count();
        Lexer {
            s,
            i,
            lenient,
            open: Vec::new(),
            toks: Vec::new(),
            line_has_tokens: false,
        }
    }

    fn peek(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn push(&mut self, t: Tok, at: usize) {
        self.toks.push((t, at));
        self.line_has_tokens = true;
    }

    /// Consumes a newline (`\n`, `\r\n` or `\r`) at `i`, if there is one.
    fn newline(&mut self) -> bool {
        match self.peek(0) {
            Some('\n') => self.i += 1,
            Some('\r') => self.i += if self.peek(1) == Some('\n') { 2 } else { 1 },
            _ => return false,
        }
        true
    }

    /// Skips a comment up to (not including) the end of its line.
    fn comment(&mut self) {
        while !matches!(self.peek(0), None | Some('\n' | '\r')) {
            self.i += 1;
        }
    }

    /// The start of a physical line outside brackets: blank and comment lines are skipped; a
    /// line with content must not be indented (Python's "unexpected indent").
    fn line_start(&mut self) -> std::result::Result<(), PErr> {
        loop {
            let mut col = 0;
            while let Some(c @ (' ' | '\t' | '\x0c')) = self.peek(0) {
                col = if c == '\x0c' { 0 } else { col + 1 };
                self.i += 1;
            }
            match self.peek(0) {
                None if col > 0 => return syn(self.i, "unexpected indent"),
                None => return Ok(()),
                Some('#') => {
                    self.comment();
                    self.newline();
                }
                Some('\n' | '\r') => {
                    self.newline();
                }
                Some(_) if col > 0 => return syn(self.i, "unexpected indent"),
                Some(_) => return Ok(()),
            }
        }
    }

    fn run(mut self) -> std::result::Result<Vec<(Tok, usize)>, PErr> {
        if self.s.contains(&'\0') {
            let at = self.s.iter().position(|&c| c == '\0').unwrap_or(0);
            return syn(at, "a null character");
        }
        self.line_start()?;
        while let Some(c) = self.peek(0) {
            let at = self.i;
            match c {
                ' ' | '\t' | '\x0c' => self.i += 1,
                '#' => self.comment(),
                '\n' | '\r' => {
                    self.newline();
                    if self.open.is_empty() {
                        if self.line_has_tokens {
                            self.toks.push((Tok::Newline, at));
                            self.line_has_tokens = false;
                        }
                        self.line_start()?;
                    }
                }
                '\\' => {
                    self.i += 1;
                    if !self.newline() {
                        return syn(at, "unexpected character after line continuation character");
                    }
                    if self.i == self.s.len() {
                        return syn(at, "unexpected end of header after a line continuation");
                    }
                }
                '(' | '[' | '{' => {
                    self.open.push(c);
                    if self.open.len() > MAX_DEPTH {
                        return syn(at, "too many nested parentheses (Python allows 200)");
                    }
                    self.i += 1;
                    self.push(Tok::Open(c), at);
                }
                ')' | ']' | '}' => {
                    let want = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    match self.open.pop() {
                        Some(o) if o == want => {}
                        Some(o) => {
                            return syn(at, format!("'{c}' does not match the opening '{o}'"));
                        }
                        None => return syn(at, format!("unmatched '{c}'")),
                    }
                    self.i += 1;
                    self.push(Tok::Close(c), at);
                }
                ',' | ':' | '+' | '-' => {
                    self.i += 1;
                    let t = match c {
                        ',' => Tok::Comma,
                        ':' => Tok::Colon,
                        _ => Tok::Sign(c == '-'),
                    };
                    self.push(t, at);
                }
                '.' if self.peek(1) == Some('.') && self.peek(2) == Some('.') => {
                    self.i += 3;
                    self.push(Tok::Ellipsis, at);
                }
                '.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => {
                    let t = self.number()?;
                    self.push(t, at);
                }
                '0'..='9' => {
                    let t = self.number()?;
                    self.push(t, at);
                }
                '\'' | '"' => {
                    let t = self.string("")?;
                    self.push_string(t, at)?;
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let start = self.i;
                    while self
                        .peek(0)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        self.i += 1;
                    }
                    let word: String = self.s[start..self.i].iter().collect();
                    let next = self.peek(0);
                    if matches!(next, Some('\'' | '"'))
                        && matches!(
                            word.to_ascii_lowercase().as_str(),
                            "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
                        )
                    {
                        let t = self.string(&word)?;
                        self.push_string(t, at)?;
                        continue;
                    }
                    if next.is_some_and(|c| !c.is_ascii()) {
                        return syn(self.i, "a name, which is not a literal");
                    }
                    let t = match word.as_str() {
                        "True" => Tok::Bool(true),
                        "False" => Tok::Bool(false),
                        "None" => Tok::NoneLit,
                        "set" => Tok::Set,
                        _ => {
                            return syn(
                                at,
                                format!("the name {:?}, which is not a literal", excerpt(&word)),
                            );
                        }
                    };
                    self.push(t, at);
                }
                _ => return syn(at, format!("the character {:?}", c)),
            }
        }
        if let Some(o) = self.open.last() {
            return syn(self.i, format!("the end of the header inside '{o}'"));
        }
        Ok(self.toks)
    }

    /// Appends a string token, joining it to a string just before it (`'a' 'b'` is `'ab'`).
    fn push_string(&mut self, t: Tok, at: usize) -> std::result::Result<(), PErr> {
        match (self.toks.last_mut(), &t) {
            (Some((Tok::Str(a), _)), Tok::Str(b)) => a.push_str(b),
            (Some((Tok::Bytes, _)), Tok::Bytes) => {}
            (Some((Tok::Str(_) | Tok::Bytes, _)), _) => {
                return syn(at, "bytes and str literals joined");
            }
            _ => self.push(t, at),
        }
        Ok(())
    }

    /// A number token (Python's integer, float and imaginary literals).
    fn number(&mut self) -> std::result::Result<Tok, PErr> {
        let start = self.i;
        let digits = |lx: &mut Self, radix: u32| -> std::result::Result<String, PErr> {
            let mut out = String::new();
            loop {
                match lx.peek(0) {
                    Some('_') if lx.peek(1).is_some_and(|d| d.is_digit(radix)) => lx.i += 1,
                    Some(d) if d.is_digit(radix) => {
                        out.push(d);
                        lx.i += 1;
                    }
                    _ => return Ok(out),
                }
            }
        };
        let bad = |lx: &Self, what: &str| syn(lx.i, format!("an invalid {what} literal"));
        let tok;
        let radix = match (self.peek(0), self.peek(1)) {
            (Some('0'), Some('x' | 'X')) => 16,
            (Some('0'), Some('o' | 'O')) => 8,
            (Some('0'), Some('b' | 'B')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.i += 2;
            if self.peek(0) == Some('_') {
                self.i += 1;
            }
            let d = digits(self, radix)?;
            if d.is_empty() {
                return bad(self, "integer");
            }
            tok = Tok::Int(i128::from_str_radix(&d, radix).ok());
        } else {
            let int = digits(self, 10)?;
            let mut float = false;
            if self.peek(0) == Some('.') {
                self.i += 1;
                float = true;
                if self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                    digits(self, 10)?;
                }
            }
            if let Some('e' | 'E') = self.peek(0) {
                let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
                if self.peek(1 + sign).is_some_and(|d| d.is_ascii_digit()) {
                    self.i += 1 + sign;
                    digits(self, 10)?;
                    float = true;
                } else {
                    return bad(self, "decimal");
                }
            }
            if let Some('j' | 'J') = self.peek(0) {
                self.i += 1;
                tok = Tok::Imag;
            } else if float {
                tok = Tok::Float;
            } else {
                if int.starts_with('0') && int.bytes().any(|b| b != b'0') {
                    return syn(
                        start,
                        "leading zeros in a decimal integer (Python wants 0o for octal)",
                    );
                }
                tok = Tok::Int(int.parse::<i128>().ok());
            }
        }
        if self.lenient {
            // numpy's `_filter_header`: drop NAME tokens `L` after a number (Python 2 longs).
            let mut j = self.i;
            loop {
                while matches!(self.s.get(j), Some(' ' | '\t' | '\x0c')) {
                    j += 1;
                }
                if self.s.get(j) == Some(&'L') && !self.s.get(j + 1).copied().is_some_and(is_ident)
                {
                    j += 1;
                    self.i = j;
                } else {
                    break;
                }
            }
        }
        if self.peek(0).is_some_and(is_ident) || self.peek(0) == Some('.') && radix != 10 {
            return bad(self, if radix == 10 { "decimal" } else { "integer" });
        }
        Ok(tok)
    }

    /// A string literal with `prefix` (`r`, `b`, `u`, ...), its opening quote at `i`.
    fn string(&mut self, prefix: &str) -> std::result::Result<Tok, PErr> {
        let p = prefix.to_ascii_lowercase();
        let (raw, bytes) = (p.contains('r'), p.contains('b'));
        if p.contains('f') {
            return syn(self.i, "an f-string, which is not a literal");
        }
        let open_at = self.i;
        let q = self.s[self.i];
        let triple = self.peek(1) == Some(q) && self.peek(2) == Some(q);
        self.i += if triple { 3 } else { 1 };
        let mut v = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return syn(open_at, "an unterminated string");
            };
            if c == q && (!triple || (self.peek(1) == Some(q) && self.peek(2) == Some(q))) {
                self.i += if triple { 3 } else { 1 };
                break;
            }
            if c == '\n' || c == '\r' {
                if !triple {
                    return syn(open_at, "an unterminated string");
                }
                self.newline();
                v.push('\n');
                continue;
            }
            if bytes && !c.is_ascii() {
                return syn(self.i, "a non-ASCII character in a bytes literal");
            }
            if c != '\\' {
                v.push(c);
                self.i += 1;
                continue;
            }
            let Some(d) = self.peek(1) else {
                return syn(open_at, "an unterminated string");
            };
            if raw {
                v.push('\\');
                self.i += 1;
                if !self.newline() {
                    v.push(d);
                    self.i += 1;
                } else {
                    v.push('\n');
                }
                continue;
            }
            self.i += 2;
            let simple = match d {
                '\n' => Some(None),
                '\r' => {
                    if self.peek(0) == Some('\n') {
                        self.i += 1;
                    }
                    Some(None)
                }
                '\\' | '\'' | '"' => Some(Some(d)),
                'a' => Some(Some('\x07')),
                'b' => Some(Some('\x08')),
                'f' => Some(Some('\x0c')),
                'n' => Some(Some('\n')),
                'r' => Some(Some('\r')),
                't' => Some(Some('\t')),
                'v' => Some(Some('\x0b')),
                _ => None,
            };
            if let Some(ch) = simple {
                v.extend(ch);
                continue;
            }
            let hex = |lx: &mut Self, n: usize| -> std::result::Result<u32, PErr> {
                let mut val = 0u32;
                for k in 0..n {
                    match lx.peek(0).and_then(|h| h.to_digit(16)) {
                        Some(h) => {
                            val = val * 16 + h;
                            lx.i += 1;
                        }
                        None => {
                            return syn(
                                lx.i,
                                format!("a truncated \\{d} escape ({k} of {n} digits)"),
                            );
                        }
                    }
                }
                Ok(val)
            };
            match d {
                '0'..='7' => {
                    let mut val = d.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match self.peek(0).and_then(|o| o.to_digit(8)) {
                            Some(o) => {
                                val = val * 8 + o;
                                self.i += 1;
                            }
                            None => break,
                        }
                    }
                    v.extend(char::from_u32(if bytes { val & 0xff } else { val }));
                }
                'x' => {
                    let val = hex(self, 2)?;
                    v.extend(char::from_u32(val));
                }
                'u' | 'U' if !bytes => {
                    let val = hex(self, if d == 'u' { 4 } else { 8 })?;
                    match char::from_u32(val) {
                        Some(ch) => v.push(ch),
                        None if val <= 0x10ffff => {
                            return Err(PErr::Unsupported(
                                "a lone surrogate (\\ud800-\\udfff) in a header string",
                            ));
                        }
                        None => return syn(self.i, "an escape past \\U0010ffff"),
                    }
                }
                'N' if !bytes => {
                    return Err(PErr::Unsupported(
                        "a \\N{...} (Unicode name) escape in a header string",
                    ));
                }
                _ => {
                    // Python keeps unknown escapes as they are (with a warning).
                    v.push('\\');
                    v.push(d);
                }
            }
        }
        Ok(if bytes { Tok::Bytes } else { Tok::Str(v) })
    }
}

/// A Python value, kept to two levels: a container's elements are scalars or [`Val::Other`]
/// (a nested container collapsed to whether it can be a dictionary key).
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Int(Option<i128>),
    Bool(bool),
    Float,
    Imag,
    Tuple(Vec<Val>),
    List,
    /// Keys and values, each value with the characters it spans in the text (from its first
    /// token to its closing bracket or the comma after it).
    Dict(Vec<(Val, Val, Span)>),
    /// None, bytes, complex, Ellipsis, sets, and containers below the first level.
    Other {
        hashable: bool,
        what: &'static str,
    },
}

impl Val {
    fn hashable(&self) -> bool {
        match self {
            Val::Tuple(items) => items.iter().all(Val::hashable),
            Val::List | Val::Dict(_) => false,
            Val::Other { hashable, .. } => *hashable,
            _ => true,
        }
    }

    /// The value as an element of a container: its own elements collapsed.
    fn shallow(self) -> Val {
        match self {
            Val::Tuple(items) => Val::Tuple(items.into_iter().map(Val::collapse).collect()),
            Val::Dict(_) => Val::Other {
                hashable: false,
                what: "a dict",
            },
            v => v,
        }
    }

    fn collapse(self) -> Val {
        match self {
            Val::Tuple(_) => Val::Other {
                hashable: self.hashable(),
                what: "a tuple",
            },
            Val::List => Val::Other {
                hashable: false,
                what: "a list",
            },
            v => v.shallow(),
        }
    }

    /// A short description for messages.
    fn describe(&self) -> String {
        match self {
            Val::Str(s) => format!("'{}'", excerpt(s)),
            Val::Int(Some(n)) => n.to_string(),
            Val::Int(None) => "a very large integer".into(),
            Val::Bool(b) => if *b { "True" } else { "False" }.into(),
            Val::Float => "a float".into(),
            Val::Imag => "a complex number".into(),
            Val::Tuple(_) => "a tuple".into(),
            Val::List => "a list".into(),
            Val::Dict(_) => "a dict".into(),
            Val::Other { what, .. } => (*what).into(),
        }
    }
}

/// A range of characters of the header text.
type Span = std::ops::Range<usize>;

/// How a value was written, which decides what `literal_eval` lets an operator apply to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cat {
    /// A constant: a literal token, possibly in parentheses.
    Const,
    /// A constant number with a sign (`-3`).
    Signed,
    /// `real ± imaginary`.
    Complex,
    /// A container.
    Container,
}

/// One expression being read: `[sign] operand [(+|-) operand]`.
#[derive(Default)]
struct Expr {
    sign: Option<bool>,
    left: Option<(Val, Cat)>,
    op: bool,
    right_signed: bool,
    right: Option<(Val, Cat)>,
}

impl Expr {
    fn is_empty(&self) -> bool {
        self.sign.is_none() && self.left.is_none()
    }

    fn can_take_operand(&self) -> bool {
        self.left.is_none() || (self.op && self.right.is_none())
    }

    fn sign(&mut self, neg: bool, at: usize) -> std::result::Result<(), PErr> {
        if self.left.is_none() {
            if self.sign.is_some() {
                return syn(at, "a sign applied to a signed number");
            }
            self.sign = Some(neg);
        } else if !self.op {
            self.op = true;
        } else if self.right.is_none() && !self.right_signed {
            self.right_signed = true;
        } else {
            return syn(at, "an arithmetic expression, which is not a literal");
        }
        Ok(())
    }

    fn operand(&mut self, v: Val, cat: Cat, at: usize) -> std::result::Result<(), PErr> {
        if self.left.is_none() {
            self.left = Some((v, cat));
        } else if self.op && self.right.is_none() {
            self.right = Some((v, cat));
        } else {
            return syn(at, "two values without a comma between them");
        }
        Ok(())
    }

    /// The finished value, `None` when nothing was written.
    fn finish(&mut self, at: usize) -> std::result::Result<Option<(Val, Cat)>, PErr> {
        let e = std::mem::take(self);
        let Some((mut v, mut cat)) = e.left else {
            return match e.sign {
                None => Ok(None),
                Some(_) => syn(at, "a sign without a number"),
            };
        };
        let number = |v: &Val| matches!(v, Val::Int(_) | Val::Float | Val::Imag);
        if let Some(neg) = e.sign {
            if cat != Cat::Const || !number(&v) {
                return syn(at, format!("a sign applied to {}", v.describe()));
            }
            if let (true, Val::Int(n)) = (neg, &v) {
                v = Val::Int(n.and_then(i128::checked_neg));
            }
            cat = Cat::Signed;
        }
        if e.op {
            let Some((r, rcat)) = e.right else {
                return syn(at, "an operator without a right-hand side");
            };
            let real = matches!(v, Val::Int(_) | Val::Float) && cat != Cat::Complex;
            if !real || e.right_signed || rcat != Cat::Const || r != Val::Imag {
                return syn(at, "an arithmetic expression, which is not a literal");
            }
            v = Val::Other {
                hashable: true,
                what: "a complex number",
            };
            cat = Cat::Complex;
        }
        Ok(Some((v, cat)))
    }
}

/// An open bracket and what has been read inside it.
struct Frame {
    open: char,
    items: Vec<Val>,
    pairs: Vec<(Val, Val, Span)>,
    key: Option<Val>,
    /// Where the value after the key's ':' starts.
    value_from: Option<usize>,
    is_set: bool,
    commas: usize,
    expr: Expr,
}

impl Frame {
    /// Ends the element before the comma or closing bracket at `at`; the element's text ends
    /// by `end`.
    fn element(&mut self, at: usize, end: usize, closing: bool) -> std::result::Result<(), PErr> {
        let from = self.value_from.take().unwrap_or(at);
        let Some((v, _)) = self.expr.finish(at)? else {
            let trailing_ok = closing
                && self.key.is_none()
                && (self.commas > 0 || self.items.is_empty() && self.pairs.is_empty());
            return if trailing_ok {
                Ok(())
            } else {
                syn(at, "a missing value")
            };
        };
        if self.open != '{' {
            self.items.push(v.shallow());
        } else if let Some(k) = self.key.take() {
            self.pairs.push((k, v.shallow(), from..end.max(from)));
        } else if !self.pairs.is_empty() {
            return syn(at, "a dict entry without a ':'");
        } else {
            if !v.hashable() {
                return Err(PErr::Syntax {
                    at,
                    why: format!("{} in a set (unhashable)", v.describe()),
                });
            }
            self.is_set = true;
            self.items.push(v.shallow());
        }
        Ok(())
    }

    fn colon(&mut self, at: usize) -> std::result::Result<(), PErr> {
        if self.open != '{' || self.key.is_some() || self.is_set {
            return syn(at, "a ':' outside a dict entry");
        }
        let Some((k, _)) = self.expr.finish(at)? else {
            return syn(at, "a ':' without a key");
        };
        if !k.hashable() {
            return syn(at, format!("{} as a dict key (unhashable)", k.describe()));
        }
        self.key = Some(k);
        Ok(())
    }
}

/// Reads the tokens of one Python literal without recursion.
fn parse_tokens(toks: Vec<(Tok, usize)>) -> std::result::Result<Val, PErr> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut top = Expr::default();
    let mut end = 0;
    // Just past the previous token when it was a closing bracket: where a value ends.
    let mut after_close = None;
    let mut toks = toks.into_iter().peekable();
    while let Some((tok, at)) = toks.next() {
        end = at;
        let value_end = after_close.take().unwrap_or(at);
        if let Tok::Close(_) = tok {
            after_close = Some(at + 1);
        }
        if let Some(f) = stack.last_mut()
            && f.key.is_some()
            && f.value_from.is_none()
        {
            f.value_from = Some(at);
        }
        let expr = match stack.last_mut() {
            Some(f) => &mut f.expr,
            None => &mut top,
        };
        let scalar = match &tok {
            Tok::Str(s) => Some(Val::Str(s.clone())),
            Tok::Int(n) => Some(Val::Int(*n)),
            Tok::Float => Some(Val::Float),
            Tok::Imag => Some(Val::Imag),
            Tok::Bool(b) => Some(Val::Bool(*b)),
            Tok::Bytes => Some(Val::Other {
                hashable: true,
                what: "bytes",
            }),
            Tok::NoneLit => Some(Val::Other {
                hashable: true,
                what: "None",
            }),
            Tok::Ellipsis => Some(Val::Other {
                hashable: true,
                what: "Ellipsis",
            }),
            _ => None,
        };
        if let Some(v) = scalar {
            expr.operand(v, Cat::Const, at)?;
            continue;
        }
        match tok {
            Tok::Sign(neg) => expr.sign(neg, at)?,
            Tok::Set => {
                // `set()`, the one call `literal_eval` allows.
                let open = toks.next().map(|t| t.0);
                let close = toks.next().map(|t| t.0);
                if open != Some(Tok::Open('(')) || close != Some(Tok::Close(')')) {
                    return syn(at, "a call other than set(), which is not a literal");
                }
                let empty = Val::Other {
                    hashable: false,
                    what: "a set",
                };
                expr.operand(empty, Cat::Container, at)?;
            }
            Tok::Open(c) => {
                if !expr.can_take_operand() {
                    return syn(at, "a call or subscript, which is not a literal");
                }
                stack.push(Frame {
                    open: c,
                    items: Vec::new(),
                    pairs: Vec::new(),
                    key: None,
                    value_from: None,
                    is_set: false,
                    commas: 0,
                    expr: Expr::default(),
                });
            }
            Tok::Comma => match stack.last_mut() {
                Some(f) => {
                    f.element(at, value_end, false)?;
                    f.commas += 1;
                }
                None => return syn(at, "a tuple at the top, not a dictionary"),
            },
            Tok::Colon => match stack.last_mut() {
                Some(f) => f.colon(at)?,
                None => return syn(at, "a ':' outside a dict"),
            },
            Tok::Close(_) => {
                let Some(mut f) = stack.pop() else {
                    return syn(at, "an unmatched closing bracket");
                };
                let grouped = f.open == '(' && f.commas == 0 && !f.expr.is_empty();
                let (v, cat) = if grouped {
                    // `(x)` is x itself.
                    match f.expr.finish(at)? {
                        Some(vc) => vc,
                        None => return syn(at, "a missing value"),
                    }
                } else {
                    f.element(at, value_end, true)?;
                    let v = match f.open {
                        '(' => Val::Tuple(f.items),
                        '[' => Val::List,
                        _ if f.is_set => Val::Other {
                            hashable: false,
                            what: "a set",
                        },
                        _ => Val::Dict(f.pairs),
                    };
                    (v, Cat::Container)
                };
                let parent = match stack.last_mut() {
                    Some(p) => &mut p.expr,
                    None => &mut top,
                };
                parent.operand(v, cat, at)?;
            }
            Tok::Newline => {
                if let Some((_, at)) = toks.next() {
                    return syn(at, "text after the dictionary");
                }
            }
            _ => unreachable!("scalars were handled above"),
        }
    }
    match top.finish(end)? {
        Some((v, _)) => Ok(v),
        None => syn(0, "an empty header"),
    }
}

/// numpy's checks of the evaluated header (`_read_array_header`). `chars` is the header text
/// (a list or tuple descriptor is quoted from it).
fn interpret(v: Val, raw: bool, chars: &[char]) -> std::result::Result<Parsed, NpyError> {
    let bad = |why: String| NpyError::BadHeader { why };
    let Val::Dict(pairs) = v else {
        return Err(bad(format!("it is {}, not a dictionary", v.describe())));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    let mut others = Vec::new();
    for (k, v, span) in pairs {
        // Repeated keys: the last value wins, as in a Python dict.
        match &k {
            Val::Str(s) if s == "descr" => descr = Some((v, span)),
            Val::Str(s) if s == "fortran_order" => fortran = Some(v),
            Val::Str(s) if s == "shape" => shape = Some(v),
            _ => {
                let d = k.describe();
                if !others.contains(&d) && others.len() < 5 {
                    others.push(d);
                }
            }
        }
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err(bad(
            "the keys 'descr', 'fortran_order' and 'shape' are not all there".into(),
        ));
    };
    if !others.is_empty() {
        return Err(bad(format!(
            "it has keys other than 'descr', 'fortran_order' and 'shape': {}",
            others.join(", ")
        )));
    }
    let fortran = match fortran {
        Val::Bool(b) => b,
        v => {
            return Err(bad(format!(
                "'fortran_order' is {}, not True or False",
                v.describe()
            )));
        }
    };
    let (descr, span) = descr;
    let (descr, dtype) = match descr {
        Val::Str(s) if raw => match AnyDtype::parse_listed(&s) {
            Ok(d) => (s, d),
            Err(Error::Npy { kind, .. }) => return Err(kind),
            Err(e) => return Err(bad(e.to_string())),
        },
        Val::Str(s) => match AnyDtype::parse(&s) {
            Ok(AnyDtype::Numeric(d)) => (s, AnyDtype::Numeric(d)),
            Ok(AnyDtype::Raw(r)) => {
                return Err(NpyError::UnsupportedDtype {
                    descr: excerpt(&s),
                    why: r.why.to_string(),
                });
            }
            Ok(AnyDtype::Unsupported(u)) => {
                return Err(NpyError::UnsupportedDtype {
                    descr: excerpt(&s),
                    why: u.why,
                });
            }
            Err(Error::Npy { kind, .. }) => return Err(kind),
            Err(e) => return Err(bad(e.to_string())),
        },
        Val::Tuple(_) | Val::List => {
            // The descriptor as written: numpy reads a list as fields (`descr_to_dtype`), the
            // header's shape the array's; a tuple as a subarray, whose dimensions numpy appends
            // to the array's shape, or a base type with fields. Neither is mapped, and only a
            // list is listed.
            let text: String = chars[span.start.min(chars.len())..span.end.min(chars.len())]
                .iter()
                .collect();
            let text = text.trim().to_string();
            if !raw || matches!(descr, Val::Tuple(_)) {
                return Err(NpyError::UnsupportedDtype {
                    descr: excerpt(&text),
                    why: STRUCTURED.into(),
                });
            }
            let dtype = AnyDtype::Unsupported(UnsupportedDtype {
                name: excerpt(&text),
                why: STRUCTURED.into(),
            });
            (text, dtype)
        }
        v => {
            return Err(bad(format!(
                "'descr' is {}, not a dtype descriptor",
                v.describe()
            )));
        }
    };
    let Val::Tuple(dims) = shape else {
        return Err(bad(format!(
            "'shape' is {}, not a tuple of integers",
            shape.describe()
        )));
    };
    let written = || {
        let s: Vec<String> = dims.iter().map(Val::describe).collect();
        excerpt(&format!("({})", s.join(", ")))
    };
    if dims.len() > crate::layout::MAX_DIMS {
        return Err(NpyError::BadShape {
            shape: written(),
            why: "has more than 64 axes, numpy's limit (NPY_MAXDIMS): numpy cannot load it",
        });
    }
    let mut out = Vec::with_capacity(dims.len());
    for d in &dims {
        let n = match d {
            Val::Int(Some(n)) => *n,
            Val::Int(None) => i128::MAX,
            Val::Bool(_) => {
                // `_read_array_header` lets bools pass (they are ints), but numpy then fails
                // to build the array ("an integer is required").
                return Err(NpyError::BadShape {
                    shape: written(),
                    why: "holds True or False, which numpy cannot load as a length",
                });
            }
            v => {
                return Err(bad(format!(
                    "'shape' holds {}, not only integers",
                    v.describe()
                )));
            }
        };
        if n < 0 {
            return Err(NpyError::BadShape {
                shape: written(),
                why: "has a negative length",
            });
        }
        out.push(usize::try_from(n).unwrap_or(usize::MAX));
    }
    // numpy's limit: the elements of the non-empty axes, in bytes, fit in an npy_intp.
    let fits = out
        .iter()
        .filter(|&&n| n != 0)
        .try_fold(dtype.itemsize(), |acc, &n| acc.checked_mul(n))
        .is_some_and(|b| b <= isize::MAX as usize);
    if !fits {
        return Err(NpyError::BadShape {
            shape: written(),
            why: "holds more bytes than an array can (isize::MAX)",
        });
    }
    Ok((descr, dtype, fortran, out))
}

/// The dictionary text of a header, as numpy writes it.
pub(crate) fn dict_text(descr: &str, fortran: bool, shape: &[usize]) -> String {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let f = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {dims}, }}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (String, bool, Vec<usize>) {
        match parse(text, true, false) {
            Ok((_, d, f, s)) => (d.descr(), f, s),
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    fn refused(text: &str) -> NpyError {
        match parse(text, false, false) {
            Ok(v) => panic!("{text:?} was accepted as {v:?}"),
            Err(e) => e,
        }
    }

    /// Each header below was checked with numpy 2.4 (`format._read_array_header`).
    #[test]
    fn headers_numpy_accepts() {
        let f8 = |s: &[usize]| ("<f8".to_string(), false, s.to_vec());
        for (text, want) in [
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                f8(&[3]),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}  # c\n",
                f8(&[3]),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (0x3, 0o4, 0b1, 1_0)}",
                f8(&[3, 4, 1, 10]),
            ),
            (
                "{\"descr\": \"<\" 'f8', 'fortran_order': False, 'shape': ((3),)}",
                f8(&[3]),
            ),
            (
                "{'descr': '<i8', 'descr': '<f8', 'fortran_order': False, 'shape': ()}",
                f8(&[]),
            ),
            (
                "{'descr': 1.5, 'descr': '<f8', 'fortran_order': False, 'shape': (+2, 1)}",
                f8(&[2, 1]),
            ),
            (
                "\n# leading comment\n{'descr':'\\x3cf8',\n  'fortran_order':False,'shape':(3,)\n}\n  \n",
                f8(&[3]),
            ),
            (
                "({'descr': r'<f8', 'fortran_order': False, 'shape': (3,)})",
                f8(&[3]),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4 L)}",
                f8(&[3, 4]),
            ),
            (
                "{'descr': '''<f8''', 'fortran_order': False, 'shape': (3,)}",
                f8(&[3]),
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'descr': '<f8',}",
                f8(&[3]),
            ),
        ] {
            assert_eq!(ok(text), want, "{text:?}");
        }
    }

    #[test]
    fn headers_numpy_refuses() {
        for text in [
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [3]}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3.0,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (03,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (--3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}\n  ",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}\n{}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} \\",
            "{'descr': '<f8', 'fortran_order': Flase, 'shape': (3,)}",
            "{'descr': b'<f8', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), [1]: 2}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}",
            "\n  {'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}\0",
            "{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [(3,)][0]}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1+2j,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (True, 3)}",
        ] {
            refused(text);
        }
    }

    #[test]
    fn nesting_is_limited_as_python_limits_it() {
        let nest = |n: usize| {
            format!(
                "{{'descr': '<f8', 'fortran_order': False, 'shape': {}3,{}}}",
                "(".repeat(n),
                ")".repeat(n)
            )
        };
        // 199 parentheses inside the dict's brace: 200 levels, Python's limit.
        assert_eq!(ok(&nest(199)).2, vec![3]);
        let e = refused(&nest(200));
        assert!(e.to_string().contains("too many nested"), "{e}");
        let e = refused(&"[".repeat(100_000));
        assert!(e.to_string().contains("too many nested"), "{e}");
    }

    #[test]
    fn messages_quote_little_of_a_hostile_header() {
        let text = format!("{{'descr': '<f8', {}", "x".repeat(1_000_000));
        let e = refused(&text).to_string();
        assert!(e.len() < 300, "{} bytes: {e}", e.len());
    }

    #[test]
    fn dtypes_and_structured() {
        assert!(matches!(
            refused("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,)}"),
            NpyError::UnsupportedDtype { .. }
        ));
        assert!(matches!(
            refused("{'descr': '|O', 'fortran_order': False, 'shape': (3,)}"),
            NpyError::UnsupportedDtype { .. }
        ));
        assert_eq!(
            ok("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3)}"),
            (">i2".into(), true, vec![2, 3])
        );
    }

    fn raw(text: &str) -> std::result::Result<(String, usize, bool, Vec<usize>), NpyError> {
        parse(text, false, true).map(|(_, d, f, s)| (d.descr(), d.itemsize(), f, s))
    }

    fn header(descr: &str, fortran: bool, shape: &str) -> String {
        format!("{{'descr': {descr:?}, 'fortran_order': {fortran:?}, 'shape': {shape}}}")
            .replace("true", "True")
            .replace("false", "False")
    }

    /// Bytes, str, void, datetime and timedelta headers: read with their item size and shape
    /// where a container asks (`raw`), refused as before where a numeric type is needed.
    /// Item sizes checked with numpy 2.4.
    #[test]
    fn raw_dtypes_are_read_where_asked() {
        for (descr, canonical, itemsize) in [
            ("|S5", "|S5", 5),
            ("<U2", "<U2", 8),
            (">U2", ">U2", 8),
            ("|V8", "|V8", 8),
            ("<M8[s]", "<M8[s]", 8),
            ("<m8[ns]", "<m8[ns]", 8),
            ("datetime64[D]", "<M8[D]", 8),
            ("S", "|S0", 0),
            ("str", "<U0", 0),
        ] {
            let text = header(descr, true, "(2, 3)");
            assert_eq!(
                raw(&text).unwrap(),
                (canonical.to_string(), itemsize, true, vec![2, 3]),
                "{text}"
            );
            assert!(
                matches!(refused(&text), NpyError::UnsupportedDtype { .. }),
                "{text}"
            );
            // Without `raw` the dtype is refused before the shape is looked at, as before.
            assert!(matches!(
                refused(&header(descr, false, "(-1,)")),
                NpyError::UnsupportedDtype { .. }
            ));
        }
    }

    /// Object, structured, subarray and StringDType headers, and datetime units ndmmap does
    /// not read: listed with their shape and order where a container asks (`raw`), named as
    /// numpy's `dtype.str` names them where that is simple (`|O`, checked with numpy 2.4),
    /// else as written; refused as before where a numeric type is needed.
    #[test]
    fn unsupported_dtypes_keep_their_shape_where_asked() {
        for (descr, name, why) in [
            ("'|O'", "|O", "object"),
            ("'O8'", "|O", "object"),
            ("'>O'", "|O", "object"),
            ("'object'", "|O", "object"),
            ("'T'", "T", "StringDType"),
            ("'<f8,<i4'", "<f8,<i4", "structured"),
            ("'f8,'", "f8,", "structured"),
            ("'(2,)f8,i4'", "(2,)f8,i4", "structured"),
            (
                "[('a', '<f8'), ('b', '<i4')]",
                "[('a', '<f8'), ('b', '<i4')]",
                "structured",
            ),
            (
                "  [('a', '<U2')]  # fields\n",
                "[('a', '<U2')]",
                "structured",
            ),
            (
                "[('a', '<f8', (2, 3))]",
                "[('a', '<f8', (2, 3))]",
                "structured",
            ),
        ] {
            for (end, shape) in [("", "(2, 3)"), (", 'descr': '<f8'", "(2, 3)")] {
                let text =
                    format!("{{'descr': {descr}, 'fortran_order': True, 'shape': {shape}{end}}}");
                if !end.is_empty() {
                    // The last 'descr' wins: a numeric one.
                    assert_eq!(raw(&text).unwrap().0, "<f8", "{text}");
                    continue;
                }
                let (d, dtype, fortran, shape) = parse(&text, false, true).unwrap();
                let AnyDtype::Unsupported(u) = &dtype else {
                    panic!("{text}: {dtype:?}")
                };
                assert_eq!(
                    (u.name.as_str(), dtype.itemsize(), fortran, shape),
                    (name, 0, true, vec![2, 3]),
                    "{text}"
                );
                assert!(u.why.contains(why), "{text}: {}", u.why);
                // The descriptor as the header writes it (a list's or tuple's text).
                assert!(descr.contains(d.as_str()), "{text}: {d}");
                // Refused where a numeric type is needed, before the shape is looked at.
                match refused(&format!(
                    "{{'descr': {descr}, 'fortran_order': False, 'shape': (-1,)}}"
                )) {
                    NpyError::UnsupportedDtype { why: w, .. } => assert!(w.contains(why)),
                    e => panic!("{text}: {e}"),
                }
            }
            // Listed, the shape is checked as any other.
            let text = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (-1,)}}");
            assert!(
                matches!(raw(&text), Err(NpyError::BadShape { .. })),
                "{text}"
            );
        }
        // Still refused where asked, before the shape is looked at: subarrays, whose
        // dimensions numpy appends to the array's shape (checked with numpy 2.4: '(2,)f8' of
        // shape (5,) loads as <f8 (5, 2)), and datetime units ndmmap does not read (numpy
        // refuses some of them, 'M8[B]', and reads others, 'M8[ns/2]').
        for descr in [
            "'(2,)S5'",
            "'(2,3)f8'",
            "'3f8'",
            "('<f8', (2,))",
            "('|V8', [('a', '<f8')])",
            "'M8[ns/2]'",
            "'M8[B]'",
        ] {
            let text = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (-1,)}}");
            assert!(
                matches!(raw(&text), Err(NpyError::UnsupportedDtype { .. })),
                "{text}"
            );
        }
        // A dtype numpy does not read is still refused, listed or not.
        for descr in ["'|Q9'", "'O4'"] {
            let text = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (3,)}}");
            assert!(
                matches!(raw(&text), Err(NpyError::UnknownDtype { .. })),
                "{text}"
            );
        }
        // A very long structured descriptor is quoted as an excerpt.
        let fields: Vec<String> = (0..200).map(|i| format!("('f{i}', '<f8')")).collect();
        let text = format!(
            "{{'descr': [{}], 'fortran_order': False, 'shape': (3,)}}",
            fields.join(", ")
        );
        let (_, dtype, _, _) = parse(&text, false, true).unwrap();
        assert!(dtype.descr().len() < 120, "{}", dtype.descr());
        assert!(
            dtype.descr().starts_with("[('f0', '<f8')"),
            "{}",
            dtype.descr()
        );
    }

    /// Hostile item sizes and shapes: a clear error, never a panic or a wrapped size.
    #[test]
    fn raw_dtype_sizes_are_bounded() {
        for descr in [
            "S99999999999999999999",
            "|S99999999999999999999",
            "U99999999999999999999",
            "<U536870912",
            "<U4611686018427387904",
            "S-1",
            "U-1",
            "V-5",
            "S2147483648",
        ] {
            let e = raw(&header(descr, false, "(3,)")).unwrap_err();
            assert!(matches!(e, NpyError::UnknownDtype { .. }), "{descr}: {e}");
        }
        // The largest item sizes numpy reads, with shapes whose bytes pass isize::MAX.
        for (descr, shape) in [
            ("|S2147483647", "(4294967296, 4294967296)"),
            ("<U536870911", "(4611686018427387904,)"),
            ("|V2147483647", "(8589934592,)"),
            ("<M8[s]", "(1152921504606846976,)"),
        ] {
            let e = raw(&header(descr, false, shape)).unwrap_err();
            assert!(
                matches!(e, NpyError::BadShape { .. }),
                "{descr} {shape}: {e}"
            );
        }
        let (_, itemsize, _, shape) = raw(&header("<U536870911", false, "(2,)")).unwrap();
        assert_eq!((itemsize, shape), (2_147_483_644, vec![2]));
        // Items of 0 bytes: any shape, as numpy reads it (0 bytes of data).
        let (_, itemsize, _, shape) =
            raw(&header("|S0", false, "(9223372036854775807, 4)")).unwrap();
        assert_eq!((itemsize, shape), (0, vec![isize::MAX as usize, 4]));
    }

    #[test]
    fn round_trip() {
        for shape in [vec![], vec![0], vec![3], vec![2, 3, 4]] {
            let text = dict_text("<f8", false, &shape);
            assert_eq!(ok(&text), ("<f8".to_string(), false, shape));
        }
    }
}
