//! Named shared memory on Windows: a pagefile-backed section named `Local\NAME`
//! (`CreateFileMappingW` on `INVALID_HANDLE_VALUE`, `OpenFileMappingW`), which any process of
//! the same session opens by name.
//!
//! A section is sized when it is created, so `shm_open(…, New)` only checks the name, and
//! [`Object::set_len`] creates the section (an existing name is `AlreadyExists` then). A
//! section is not a file: it has no `File`, so `.npy` headers (read and written with
//! positioned I/O) are `Unsupported`. A section vanishes when its last handle and view are
//! closed: there is nothing to unlink, and [`shm_unlink`] does nothing.

use super::os::Section;
pub(crate) use super::os::View;
use crate::mapping::Mode;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use windows_sys::Win32::System::Memory as mem;

/// The longest name accepted, in bytes after the leading `/` (object names may be longer;
/// the POSIX limit keeps names portable).
pub(crate) const NAME_MAX: usize = 255;

/// Why a name longer than [`NAME_MAX`] is refused, for `Error::InvalidShmName`.
pub(crate) const TOO_LONG: &str = "longer than 255 bytes after its `/` (NAME_MAX)";

/// How a name is shown in messages: the section's name, `Local\NAME`.
pub(crate) fn shown_path(bare: &str) -> PathBuf {
    PathBuf::from(format!(r"Local\{bare}"))
}

/// How [`shm_open`] opens a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// The object must exist.
    Existing {
        /// Open it read-write.
        write: bool,
    },
    /// The object must not exist; it is made by [`Object::set_len`]. The mode is unused: a
    /// section gets the default security descriptor of the creator's token (its user,
    /// `SYSTEM` and the administrators), and its name lives in the session's `Local\`
    /// namespace, where other sessions' users cannot make objects.
    New {
        /// Unused on Windows.
        mode: u32,
    },
}

/// Owners are not checked on Windows (see [`Open::New`]): never made.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
    pub(crate) regular: bool,
}

/// No POSIX user ids on Windows: `None`, and no owner check.
pub(crate) fn effective_uid() -> Option<u32> {
    None
}

/// No POSIX groups on Windows.
pub(crate) fn in_group(_gid: u32) -> bool {
    false
}

/// A named section, or (before [`Object::set_len`]) the name of one to create.
#[derive(Debug)]
pub(crate) enum Object {
    /// The UTF-16, NUL-terminated name of a section to create.
    ToCreate(Vec<u16>),
    /// An open section.
    Open(Section),
}

/// `Local\NAME`, NUL-terminated UTF-16, from `/NAME`.
fn wide(name: &CStr) -> io::Result<Vec<u16>> {
    let s = name
        .to_str()
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let bare = s.strip_prefix('/').unwrap_or(s);
    Ok(format!(r"Local\{bare}")
        .encode_utf16()
        .chain(std::iter::once(0))
        .collect())
}

/// Opens the section `name` (`/NAME`), or prepares to create it.
pub(crate) fn shm_open(name: &CStr, how: Open) -> io::Result<Object> {
    let w = wide(name)?;
    match how {
        Open::Existing { write } => Section::open(&w, write).map(Object::Open),
        Open::New { .. } => Ok(Object::ToCreate(w)),
    }
}

/// Nothing: a section vanishes when its last handle and view are closed.
pub(crate) fn shm_unlink(_name: &CStr) -> io::Result<()> {
    Ok(())
}

impl Object {
    /// A section has no file: `None`.
    pub(crate) fn file(&self) -> Option<&File> {
        None
    }

    /// `None`: a section has no POSIX owner (see [`Open::New`]).
    pub(crate) fn owner(&self) -> io::Result<Option<Owner>> {
        Ok(None)
    }

    /// Nothing: a section's security descriptor is the creator's default (see [`Open::New`]).
    pub(crate) fn set_mode(&self, _mode: u32) -> io::Result<()> {
        Ok(())
    }

    /// Creates the section, `len` bytes (zeroed, committed from the pagefile now, so a full
    /// pagefile is an error here and not later). An existing name is `AlreadyExists`; an open
    /// section cannot be resized (`Unsupported`).
    pub(crate) fn set_len(&mut self, len: u64) -> io::Result<()> {
        match self {
            Object::ToCreate(w) => {
                *self = Object::Open(Section::create(len.max(1), Some(w))?);
                Ok(())
            }
            Object::Open(_) => Err(io::Error::from(io::ErrorKind::Unsupported)),
        }
    }

    /// Maps the whole section for `mode`.
    pub(crate) fn map_view(&self, mode: Mode) -> io::Result<View> {
        let Object::Open(s) = self else {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        };
        s.map(match mode {
            Mode::ReadOnly => mem::FILE_MAP_READ,
            Mode::ReadWrite => mem::FILE_MAP_READ | mem::FILE_MAP_WRITE,
            Mode::CopyOnWrite => mem::FILE_MAP_COPY,
        })
    }
}
