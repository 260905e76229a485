//! A safetensors file's tensors as entries.

use super::Entry;
use crate::array::Order;
use crate::element::Dtype;
use crate::safetensors::{Dtype as S, Tensors};

/// numpy's dtype of a safetensors dtype (the data is little-endian), where numpy has one.
pub(super) fn numpy_dtype(d: S) -> Option<Dtype> {
    let (kind, size) = match d {
        S::BOOL => ('b', 1),
        S::U8 => ('u', 1),
        S::I8 => ('i', 1),
        S::U16 => ('u', 2),
        S::I16 => ('i', 2),
        S::F16 => ('f', 2),
        S::U32 => ('u', 4),
        S::I32 => ('i', 4),
        S::F32 => ('f', 4),
        S::C64 => ('c', 8),
        S::U64 => ('u', 8),
        S::I64 => ('i', 8),
        S::F64 => ('f', 8),
        _ => return None,
    };
    Some(Dtype {
        kind,
        size,
        little_endian: true,
    })
}

/// The entries of `t`, in the order of their data.
pub(super) fn entries(t: &Tensors) -> Vec<Entry> {
    t.tensors()
        .iter()
        .map(|x| {
            let dtype = numpy_dtype(x.dtype);
            let bits = x.dtype.bitsize();
            Entry {
                name: x.name.clone(),
                dtype,
                type_name: dtype.map_or_else(|| x.dtype.to_string(), |d| d.descr()),
                elem_size: if bits % 8 == 0 { bits / 8 } else { 0 },
                shape: x.shape.clone(),
                order: Order::C,
                offset: x.offset,
                len: x.nbytes,
                unmappable: (bits % 8 != 0).then(|| {
                    format!(
                        "its dtype {} packs {bits}-bit elements, which cannot be mapped one \
                         element at a time",
                        x.dtype
                    )
                }),
            }
        })
        .collect()
}
