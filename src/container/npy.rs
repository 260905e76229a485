//! A `.npy` file as a container of one entry, named `""`.

use super::Entry;
use crate::array::Order;
use crate::error::{Error, NpyError, Result};
use crate::npy::MAX_HEADER_SIZE;
use crate::npy::dtype::AnyDtype;
use std::fs::File;
use std::path::Path;

/// The open `.npy` file, and why its one entry cannot be mapped, if it cannot.
#[derive(Debug)]
pub(super) struct Npy {
    /// The handle the header was read through (checked to be the file `probe` read), mapped.
    pub(super) file: File,
    problem: Option<NpyError>,
}

impl Npy {
    /// Reads the header of `path` through `probe` (opened with readahead off) and opens the
    /// handle to map, checked to be the same file.
    pub(super) fn open(path: &Path, probe: File) -> Result<(Npy, Entry)> {
        let io = |what, e| Error::io(what, Some(path), e);
        let file = File::open(path).map_err(|e| io("open", e))?;
        let id = |f: &File| crate::sys::file_id(f).map_err(|e| io("stat", e));
        if id(&file)? != id(&probe)? {
            return Err(Error::Unmappable {
                path: Some(path.to_path_buf()),
                why: "the file was replaced while it was being opened".into(),
            });
        }
        // Under the shared lock a resize holds exclusively: a header and a length of one
        // resize. (Released here: the entry is mapped later, and checked against the file's
        // length again then.)
        let (h, file_len, _lock) =
            crate::npy::read_any_header_locked(&probe, path, MAX_HEADER_SIZE)?;
        let (len, problem) = match h.unsupported() {
            // A dtype with no elements to map (object, structured): listed with its shape,
            // and its bytes are the rest of the file (the header lies within it).
            Some(kind) => (file_len.saturating_sub(h.data_offset), Some(kind)),
            None => {
                let len = h.data_len()? as u64;
                let problem = match h.data_offset.checked_add(len) {
                    Some(end) if end <= file_len => None,
                    _ => Some(NpyError::DataPastEnd {
                        shape: h.shape.clone(),
                        offset: h.data_offset,
                        needed: len,
                        len: file_len,
                    }),
                };
                (len, problem)
            }
        };
        let (dtype, itemsize) = match &h.dtype {
            AnyDtype::Numeric(d) => (Some(*d), d.size),
            AnyDtype::Raw(r) => (None, r.itemsize),
            AnyDtype::Unsupported(_) => (None, 0),
        };
        let problem = match problem {
            None if itemsize == 0 => Some(crate::npy::dtype::zero_itemsize(&h.dtype.descr())),
            p => p,
        };
        let entry = Entry {
            name: String::new(),
            dtype,
            type_name: h.dtype.descr(),
            elem_size: itemsize,
            shape: h.shape,
            order: if h.fortran_order { Order::F } else { Order::C },
            offset: h.data_offset,
            len,
            unmappable: problem.as_ref().map(ToString::to_string),
        };
        Ok((Npy { file, problem }, entry))
    }

    /// The error for mapping the entry, which is about `at`.
    pub(super) fn refusal(&self, at: &Path) -> Option<Error> {
        self.problem.clone().map(|kind| Error::npy(Some(at), kind))
    }
}
