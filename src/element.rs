//! Element types and their numpy descriptors: [`Dtype`] (a kind, a size and a byte order)
//! and [`NpyElement`], the `Pod` types that have one. The `.npy` reader, fd passing and named
//! shared memory name an array's element type by its descriptor (`"<f8"`), as numpy does.

use bytemuck::Pod;

/// A numeric dtype as numpy has it: a kind, an item size and a byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dtype {
    /// numpy's kind character: `b` bool, `i` signed, `u` unsigned, `f` float, `c` complex,
    /// `V` void (raw bytes: the [`dtype`](crate::AnyArray::dtype) of an array whose elements
    /// have no numpy type, such as safetensors' `BF16`).
    pub kind: char,
    /// Bytes per element.
    pub size: usize,
    /// Byte order: `true` little-endian (always `true` for one-byte and void types, which
    /// have none).
    pub little_endian: bool,
}

pub(crate) const NATIVE_LE: bool = cfg!(target_endian = "little");

impl Dtype {
    /// numpy's void dtype of `size` bytes (`"|V2"`): raw bytes, no byte order. It names the
    /// elements of an array whose type numpy lacks (safetensors' `BF16` and FP8 types; see
    /// [`AnyArray::Other`](crate::AnyArray::Other)).
    ///
    /// ```
    /// let v = ndmmap::Dtype::void(2);
    /// assert_eq!((v.kind, v.size, v.descr().as_str()), ('V', 2, "|V2"));
    /// ```
    pub const fn void(size: usize) -> Dtype {
        Dtype {
            kind: 'V',
            size,
            little_endian: true,
        }
    }

    /// The canonical descriptor, as numpy's `dtype.str`: `"<f8"`, `"|u1"`, `">i4"`, `"|b1"`,
    /// `"|V2"`.
    ///
    /// ```
    /// use ndmmap::Dtype;
    /// assert_eq!(Dtype { kind: 'f', size: 8, little_endian: false }.descr(), ">f8");
    /// assert_eq!(Dtype::void(2).descr(), "|V2");
    /// ```
    pub fn descr(&self) -> String {
        let order = if self.size == 1 || self.kind == 'V' {
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
        (self.size == 1 || self.kind == 'V' || self.little_endian == NATIVE_LE)
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

/// A `T` stored at any byte offset: alignment 1, so an array of them can be mapped where `T`
/// itself could not (numpy's `.npz` members start at arbitrary offsets; raw data may sit behind
/// a header of any length). Read and write it by value: [`get`](Self::get),
/// [`set`](Self::set), `From`. It is `Pod`, and its dtype is `T`'s.
///
/// The cost: every access is an unaligned load or store, which x86-64 and aarch64 do in
/// hardware at (nearly) the speed of an aligned one; the README's benchmark measures a sum.
///
/// ```
/// use ndmmap::Unaligned;
/// let mut x = Unaligned::new(1.5f64);
/// x.set(x.get() * 2.0);
/// assert_eq!(f64::from(x), 3.0);
/// assert_eq!(align_of::<Unaligned<f64>>(), 1);
/// ```
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
pub struct Unaligned<T: Copy>(T);

// SAFETY: `repr(C, packed)` around one `Pod` field: no padding, every bit pattern valid (as for
// `T`), `Copy + 'static` (as `T`), and no interior references can be formed by bytemuck.
unsafe impl<T: Pod> bytemuck::Zeroable for Unaligned<T> {}
// SAFETY: as above.
unsafe impl<T: Pod> Pod for Unaligned<T> {}

impl<T: Copy> Unaligned<T> {
    /// Wraps a value.
    pub const fn new(v: T) -> Self {
        Unaligned(v)
    }

    /// The value (an unaligned load).
    #[inline(always)]
    pub const fn get(self) -> T {
        self.0
    }

    /// Replaces the value (an unaligned store).
    #[inline(always)]
    pub fn set(&mut self, v: T) {
        self.0 = v;
    }
}

impl<T: Copy> From<T> for Unaligned<T> {
    fn from(v: T) -> Self {
        Unaligned(v)
    }
}

/// `From<Unaligned<T>> for T` and `From<ByteSwapped<T>> for T` for the numeric types (a blanket
/// impl over `T` is not allowed by Rust's orphan rules).
macro_rules! from_wrappers {
    ($($t:ty),*) => {$(
        impl From<Unaligned<$t>> for $t {
            fn from(v: Unaligned<$t>) -> $t {
                v.get()
            }
        }
    )*};
}
from_wrappers!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, Bool);
from_wrappers!(num_complex::Complex<f32>, num_complex::Complex<f64>);

macro_rules! from_swapped {
    ($($t:ty),*) => {$(
        impl From<ByteSwapped<$t>> for $t {
            fn from(v: ByteSwapped<$t>) -> $t {
                v.get()
            }
        }
    )*};
}
from_swapped!(u16, i16, u32, i32, u64, i64, f32, f64);
from_swapped!(num_complex::Complex<f32>, num_complex::Complex<f64>);

impl<T: Copy + std::fmt::Debug> std::fmt::Debug for Unaligned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        v.fmt(f)
    }
}

impl<T: Copy + PartialEq> PartialEq for Unaligned<T> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0, other.0);
        a == b
    }
}

impl<T: NpyElement> NpyElement for Unaligned<T> {
    const DTYPE: Dtype = T::DTYPE;
}

mod sealed {
    pub trait Sealed {}
}

/// Element types whose bytes can be reversed: numbers of more than one byte.
pub trait SwapBytes: Pod + sealed::Sealed {
    /// The value with its bytes in reverse order.
    fn swap_bytes(self) -> Self;
}

macro_rules! swap_int {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl SwapBytes for $t {
            #[inline(always)]
            fn swap_bytes(self) -> Self {
                <$t>::swap_bytes(self)
            }
        }
    )*};
}
swap_int!(u16, u32, u64, i16, i32, i64);

macro_rules! swap_float {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl SwapBytes for $t {
            #[inline(always)]
            fn swap_bytes(self) -> Self {
                <$t>::from_bits(self.to_bits().swap_bytes())
            }
        }
        impl sealed::Sealed for num_complex::Complex<$t> {}
        impl SwapBytes for num_complex::Complex<$t> {
            #[inline(always)]
            fn swap_bytes(self) -> Self {
                num_complex::Complex::new(self.re.swap_bytes(), self.im.swap_bytes())
            }
        }
    )*};
}
swap_float!(f32, f64);

/// A `T` stored in the other byte order: big-endian data on a little-endian machine (numpy's
/// `>f8`, `>i4`), little-endian data on a big-endian one. It reads and writes native values
/// ([`get`](Self::get), [`set`](Self::set)), swapping the bytes on the way; its dtype is `T`'s
/// with the byte order flipped, so `npy::open::<ByteSwapped<f64>, _>` opens a `>f8` file in
/// place. Alignment 1, like [`Unaligned`], so any offset works.
///
/// ```
/// use ndmmap::ByteSwapped;
/// let x = ByteSwapped::new(1.0f64);
/// assert_eq!(bytemuck::bytes_of(&x), &1.0f64.to_be_bytes()[..]);
/// assert_eq!(x.get(), 1.0);
/// assert_eq!(<ByteSwapped<f64> as ndmmap::NpyElement>::DTYPE.descr(), ">f8");
/// ```
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
pub struct ByteSwapped<T: Copy>(T);

// SAFETY: as for `Unaligned`: one `Pod` field, packed, no padding, any bit pattern valid.
unsafe impl<T: Pod> bytemuck::Zeroable for ByteSwapped<T> {}
// SAFETY: as above.
unsafe impl<T: Pod> Pod for ByteSwapped<T> {}

impl<T: SwapBytes> ByteSwapped<T> {
    /// Stores `v` with its bytes reversed.
    #[inline(always)]
    pub fn new(v: T) -> Self {
        ByteSwapped(v.swap_bytes())
    }

    /// The native value.
    #[inline(always)]
    pub fn get(self) -> T {
        let raw = self.0;
        raw.swap_bytes()
    }

    /// Stores a native value.
    #[inline(always)]
    pub fn set(&mut self, v: T) {
        self.0 = v.swap_bytes();
    }
}

impl<T: SwapBytes> From<T> for ByteSwapped<T> {
    fn from(v: T) -> Self {
        ByteSwapped::new(v)
    }
}

impl<T: SwapBytes + std::fmt::Debug> std::fmt::Debug for ByteSwapped<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl<T: SwapBytes + PartialEq> PartialEq for ByteSwapped<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: NpyElement + SwapBytes> NpyElement for ByteSwapped<T> {
    const DTYPE: Dtype = Dtype {
        little_endian: !T::DTYPE.little_endian,
        ..T::DTYPE
    };
}

/// numpy's `bool` (`|b1`): one byte, 0 for false, anything else true (numpy writes 1).
/// Equality and hashing go by the truth value, as numpy compares bools: `Bool(2) == Bool(1)`.
///
/// ```
/// use ndmmap::Bool;
/// assert!(Bool::from(true).get());
/// assert_eq!(bool::from(Bool(0)), false);
/// assert_eq!(Bool(2), Bool(1));
/// assert_eq!(<Bool as ndmmap::NpyElement>::DTYPE.descr(), "|b1");
/// ```
#[repr(transparent)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Bool(pub u8);

impl PartialEq for Bool {
    fn eq(&self, other: &Bool) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Bool {}

impl std::hash::Hash for Bool {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.get().hash(h);
    }
}

// SAFETY: `repr(transparent)` over `u8`: no padding, every bit pattern valid.
unsafe impl bytemuck::Zeroable for Bool {}
// SAFETY: as above.
unsafe impl Pod for Bool {}

impl Bool {
    /// The truth value: any non-zero byte is true, as numpy reads it.
    #[inline(always)]
    pub const fn get(self) -> bool {
        self.0 != 0
    }
}

impl From<bool> for Bool {
    fn from(b: bool) -> Bool {
        Bool(b as u8)
    }
}

impl From<Bool> for bool {
    fn from(b: Bool) -> bool {
        b.get()
    }
}

impl NpyElement for Bool {
    const DTYPE: Dtype = Dtype {
        kind: 'b',
        size: 1,
        little_endian: true,
    };
}

#[cfg(feature = "half")]
impl NpyElement for half::f16 {
    const DTYPE: Dtype = Dtype {
        kind: 'f',
        size: 2,
        little_endian: NATIVE_LE,
    };
}

#[cfg(feature = "half")]
impl sealed::Sealed for half::f16 {}

#[cfg(feature = "half")]
from_wrappers!(half::f16);
#[cfg(feature = "half")]
from_swapped!(half::f16);

#[cfg(feature = "half")]
impl SwapBytes for half::f16 {
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        half::f16::from_bits(self.to_bits().swap_bytes())
    }
}
