//! An `.npz` archive's members as entries.

use super::Entry;
use crate::array::Order;
use crate::error::Error;
use crate::npz::Npz;

/// The entries of `npz`, in the order of its directory.
pub(super) fn entries(npz: &Npz) -> Vec<Entry> {
    npz.members()
        .iter()
        .map(|m| Entry {
            name: m.name.clone(),
            dtype: m.dtype,
            type_name: m
                .type_name
                .clone()
                .or_else(|| m.descr.clone())
                .unwrap_or_default(),
            elem_size: m.itemsize.unwrap_or(0),
            shape: m.shape.clone().unwrap_or_default(),
            order: if m.fortran_order { Order::F } else { Order::C },
            offset: m.data_offset,
            len: m.data_len,
            unmappable: m.problem.clone(),
        })
        .collect()
}

/// The archive's own error for mapping the unmappable member `name` ([`Error::Compressed`],
/// the `.npy` header's, [`Error::BadArchive`]), when it gives one.
pub(super) fn refusal(npz: &Npz, name: &str) -> Option<Error> {
    // SAFETY: the member has a problem, which the archive reports before mapping anything;
    // were it mapped all the same, it would be read-only and dropped at once, unread.
    unsafe { npz.map_any(name) }.err()
}
