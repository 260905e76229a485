//! Element types and their numpy descriptors: [`Dtype`] (a kind, a size and a byte order)
//! and [`NpyElement`], the `Pod` types that have one. The `.npy` reader, fd passing and named
//! shared memory name an array's element type by its descriptor (`"<f8"`), as numpy does.

use bytemuck::Pod;

/// A numeric dtype as numpy has it: a kind, an item size and a byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dtype {
    /// numpy's kind character: `b` bool, `i` signed, `u` unsigned, `f` float, `c` complex.
    pub kind: char,
    /// Bytes per element.
    pub size: usize,
    /// Byte order: `true` little-endian (always `true` for one-byte types, which have none).
    pub little_endian: bool,
}

pub(crate) const NATIVE_LE: bool = cfg!(target_endian = "little");

impl Dtype {
    /// The canonical descriptor, as numpy's `dtype.str`: `"<f8"`, `"|u1"`, `">i4"`, `"|b1"`.
    pub fn descr(&self) -> String {
        let order = if self.size == 1 {
            '|'
        } else if self.little_endian {
            '<'
        } else {
            '>'
        };
        format!("{order}{}{}", self.kind, self.size)
    }

    /// Whether values of this dtype can be read in place on this machine: native byte order,
    /// and not x87 extended precision (`float128`/`longdouble` and its complex, which no Rust
    /// type holds).
    pub fn is_native(&self) -> bool {
        (self.size == 1 || self.little_endian == NATIVE_LE)
            && !matches!((self.kind, self.size), ('f', 16) | ('c', 32))
    }
}

/// Element types with a `.npy` descriptor.
pub trait NpyElement: Pod {
    /// The dtype of the type in native byte order.
    const DTYPE: Dtype;
}

macro_rules! npy_element {
    ($($t:ty => $kind:literal, $size:literal;)*) => {$(
        impl NpyElement for $t {
            const DTYPE: Dtype =
                Dtype { kind: $kind, size: $size, little_endian: NATIVE_LE || $size == 1 };
        }
    )*};
}

npy_element! {
    u8 => 'u', 1; u16 => 'u', 2; u32 => 'u', 4; u64 => 'u', 8;
    i8 => 'i', 1; i16 => 'i', 2; i32 => 'i', 4; i64 => 'i', 8;
    f32 => 'f', 4; f64 => 'f', 8;
    num_complex::Complex<f32> => 'c', 8; num_complex::Complex<f64> => 'c', 16;
}
