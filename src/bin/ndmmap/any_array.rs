//! [`AnyArray`]: an opened array file of any dtype. Residency and page-cache work do not
//! depend on values, so the data is mapped as byte arrays of the element's size, and every
//! page operation goes through [`AnyArray::pages`].

use ndarray::{IxDyn, SliceInfoElem};
use ndmmap::{MmapArray, PageSpan, Pages};
use std::path::PathBuf;

use crate::out::Res;

/// The mapping, by element size. The command never reads values, only pages, so elements are
/// byte arrays (alignment 1): data at any byte offset maps, as numpy's memmap maps it.
pub enum Inner {
    B1(MmapArray<u8, IxDyn>),
    B2(MmapArray<[u8; 2], IxDyn>),
    B4(MmapArray<[u8; 4], IxDyn>),
    B8(MmapArray<[u8; 8], IxDyn>),
    B16(MmapArray<[u8; 16], IxDyn>),
    B32(MmapArray<[u8; 32], IxDyn>),
}

/// An opened array file of any dtype.
pub struct AnyArray {
    pub inner: Inner,
    /// The path as the user wrote it.
    pub path: PathBuf,
    /// numpy's descriptor of the dtype, e.g. `<f8`.
    pub descr: String,
    /// Byte offset of element 0 in the file.
    pub data_offset: u64,
    pub fortran: bool,
}

/// Runs an expression on the typed mapping inside an [`AnyArray`].
macro_rules! with {
    ($a:expr, $m:ident => $e:expr) => {
        match &$a.inner {
            Inner::B1($m) => $e,
            Inner::B2($m) => $e,
            Inner::B4($m) => $e,
            Inner::B8($m) => $e,
            Inner::B16($m) => $e,
            Inner::B32($m) => $e,
        }
    };
}

impl AnyArray {
    pub fn shape(&self) -> Vec<usize> {
        with!(self, m => m.shape().to_vec())
    }

    pub fn order_str(&self) -> &'static str {
        if self.fortran { "F" } else { "C" }
    }

    /// Bytes of element data.
    pub fn nbytes(&self) -> usize {
        with!(self, m => m.nbytes())
    }

    /// The pages the array spans.
    pub fn page_span(&self) -> PageSpan {
        with!(self, m => m.page_span())
    }

    /// The parsed --slice, one element per axis, or the whole array (no element).
    pub fn slice_elems(&self, spec: Option<&str>) -> Res<Vec<SliceInfoElem>> {
        match spec {
            Some(s) => Ok(crate::slice::parse(s, &self.shape())?),
            None => Ok(vec![]),
        }
    }

    /// The pages of a selection: the whole array for no element, else the slice `elems`.
    pub fn pages(&self, elems: &[SliceInfoElem]) -> ndmmap::Result<Pages<'_>> {
        if elems.is_empty() {
            with!(self, m => m.pages(..))
        } else {
            with!(self, m => m.pages(elems))
        }
    }

    /// The shape and strides (in elements) of the selection `elems`, without reading data.
    pub fn selection_layout(&self, elems: &[SliceInfoElem]) -> (Vec<usize>, Vec<isize>) {
        with!(self, m => {
            let v = m.view();
            if elems.is_empty() {
                (v.shape().to_vec(), v.strides().to_vec())
            } else {
                let v = v.slice(elems);
                (v.shape().to_vec(), v.strides().to_vec())
            }
        })
    }

    /// The array's bytes, in memory order.
    /// Runs `f` on the array's bytes with faults turned into errors: a file that another
    /// process truncates meanwhile is an `Err`, not a `SIGBUS`.
    pub fn guarded_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> ndmmap::Result<R> {
        with!(self, m => m.guarded(|v| {
            // The elements are byte arrays: the view is the array's bytes in memory order.
            let elems = v.to_slice_memory_order().unwrap_or(&[]);
            f(bytemuck::cast_slice(elems))
        }))
    }

    /// The open file behind the mapping.
    pub fn file(&self) -> Option<&std::fs::File> {
        with!(self, m => m.file())
    }

    /// The keys every `--json` output shares, `resident_pages` last (the caller's to fill).
    pub fn describe(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let span = self.page_span();
        serde_json::Map::from_iter([
            ("path".to_string(), json!(self.path.display().to_string())),
            ("dtype".into(), json!(self.descr)),
            ("shape".into(), json!(self.shape())),
            ("order".into(), json!(self.order_str())),
            ("data_offset".into(), json!(self.data_offset)),
            ("nbytes".into(), json!(self.nbytes())),
            ("page_size".into(), json!(span.page_size)),
            ("lead".into(), json!(span.lead)),
            ("pages".into(), json!(span.page_count)),
        ])
    }
}

/// Why a residency count is unknown ([`ndmmap::Error::ResidencyUnknown`]), and what to do.
pub const UNKNOWN: &str = "the kernel shows a file's page cache only to its owner, to \
    processes that may write it, and to root (Linux 5.2+); run as the owner, with write \
    permission, or as root";

/// `info`'s cachestat line where the counts have no dirty, writeback and evicted figures.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const NO_CACHESTAT: &str = "not available (kernel before 6.5); counts from mincore";
#[cfg(windows)]
pub const NO_CACHESTAT: &str = "not on Windows; counts from QueryWorkingSetEx";
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
pub const NO_CACHESTAT: &str = "not on this OS (Linux 6.5+); counts from mincore";

/// What "resident" means where it is not "in the page cache": one line under the counts of
/// `info` and `residency` (and the demo's first).
#[cfg(windows)]
pub const SCOPE: Option<&str> = Some(
    "on Windows, resident means in this process's working set, not in the system file cache: \
     a new ndmmap process starts at 0",
);
#[cfg(not(windows))]
pub const SCOPE: Option<&str> = None;

/// A residency answer, with [`ndmmap::Error::ResidencyUnknown`] as `Ok(None)`: a count the
/// kernel hides, which the command says it does not know rather than fails on.
pub fn known<T>(r: ndmmap::Result<T>) -> Res<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ndmmap::Error::ResidencyUnknown { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
