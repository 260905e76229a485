//! Opening array files for the command, through the library's opener
//! ([`ndmmap::container::open`]): `.npy` files and archives describe themselves (`FILE:NAME`
//! names one entry, `FILE` alone every entry), raw files take --dtype/--shape/--offset/--order
//! ([`AnyArray::open_raw`]), whose numbers [`crate::args`] reads.

pub use crate::args::FileOpts;
use crate::out::{self, Batch, Res};
use crate::ranks::Ranks;
use ndarray::SliceInfoElem;
use ndmmap::container::{self, Container, Entry, Format, entry_path};
use ndmmap::{AnyArray, Dtype, Order, PageSpan, Pages, RawSpec};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One array the command works on, and the name it is shown by.
pub struct Array {
    /// The path as the user wrote it, or `FILE:NAME` for an entry of a whole archive.
    pub path: PathBuf,
    pub data: Data,
    /// The order the file declares (a `.npy` header's `fortran_order`, `--order`): the
    /// strides cannot tell it for one axis or an empty one, and numpy reports the header's.
    pub order: Order,
}

/// Why a chunked dataset cannot be reduced, and what works on it.
const CHUNKED: &str = "is an HDF5 chunked dataset: its values are not one run of bytes to \
     map; info, residency, touch, evict and lock work on its chunks";

/// An array's data: mapped by the library, or an entry that cannot be mapped
/// ([`Entry::unmappable`]: compressed, a dtype without fixed-size elements, an HDF5 chunked
/// dataset), whose pages are still its bytes' ([`Container::pages`]), with what refuses
/// to read its values.
pub enum Data {
    Mapped(AnyArray),
    Unmapped(Rc<Container>, Entry, String),
}

impl Array {
    /// numpy's descriptor (`<f8`), the format's own name for a type numpy lacks (`BF16`), or
    /// `?` where the header could not be read (a compressed member).
    pub fn dtype(&self) -> String {
        match &self.data {
            Data::Mapped(a) => a.type_name(),
            Data::Unmapped(_, e, _) if e.type_name.is_empty() => "?".into(),
            Data::Unmapped(_, e, _) => e.type_name.clone(),
        }
    }

    pub fn shape(&self) -> &[usize] {
        match &self.data {
            Data::Mapped(a) => a.shape(),
            Data::Unmapped(_, e, _) => &e.shape,
        }
    }

    /// The mapped array, or why the entry has none.
    pub fn mapped(self) -> Res<AnyArray> {
        match self.data {
            Data::Mapped(a) => Ok(a),
            Data::Unmapped(.., why) => Err(why.into()),
        }
    }

    /// The parsed --slice, one element per axis, or the whole array (no element).
    pub fn slice_elems(&self, spec: Option<&str>) -> Res<Vec<SliceInfoElem>> {
        if let (Some(_), Data::Unmapped(.., why)) = (spec, &self.data) {
            return Err(format!("{why}; leave out --slice: its pages are taken whole").into());
        }
        match spec {
            Some(s) => ndmmap::parse_slice(s, self.shape()).map_err(|e| match e {
                ndmmap::Error::BadSliceSpec {
                    kind: ndmmap::SliceError::TooManyIndices { ndim: 0, .. },
                    ..
                } => format!("{e}: leave out --slice").into(),
                e => e.into(),
            }),
            None => Ok(vec![]),
        }
    }

    /// The pages of a selection: the whole array for no element, else the slice `elems`;
    /// an unmapped entry's pages are its bytes' (a chunked dataset's, its chunks'), whole
    /// ([`slice_elems`](Self::slice_elems) refuses a slice of it).
    pub fn pages(&self, elems: &[SliceInfoElem]) -> Res<Pages<'_>> {
        Ok(match &self.data {
            Data::Mapped(a) if elems.is_empty() => a.pages(..)?,
            Data::Mapped(a) => a.pages(elems)?,
            Data::Unmapped(c, e, _) => c.pages(&e.name)?,
        })
    }

    /// The keys every `--json` output shares (see [`describe`]); an unmapped entry's offset
    /// and bytes are its entry's, its pages those of its bytes (a chunked dataset's, of its
    /// chunks), and it has `chunks`.
    pub fn describe(&self) -> serde_json::Map<String, serde_json::Value> {
        let (path, shape) = (&self.path, self.shape());
        match &self.data {
            Data::Mapped(a) => {
                let (n, dtype) = (a.nbytes() as u64, &a.type_name());
                describe(path, dtype, shape, self.order, a.offset(), n, a.page_span())
            }
            Data::Unmapped(c, e, _) => {
                let span = c.span(&e.name).unwrap_or_else(|_| e.span(4096));
                let (o, n, dtype) = (e.offset, e.len, &e.type_name);
                let mut v = describe(path, dtype, shape, self.order, o, n, span);
                let n = c.chunks(&e.name).map_or(0, <[_]>::len);
                v.insert("chunks".into(), serde_json::json!(n));
                v
            }
        }
    }
}

/// The keys every `--json` output shares, for an array or an archive's entry: path, dtype,
/// shape (both `null` for an empty `dtype`: a header not read), order, data offset, bytes
/// and the pages they span.
pub fn describe(
    path: &Path,
    dtype: &str,
    shape: &[usize],
    order: Order,
    offset: u64,
    nbytes: u64,
    span: PageSpan,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    serde_json::Map::from_iter([
        ("path".to_string(), json!(path.display().to_string())),
        ("dtype".into(), json!((!dtype.is_empty()).then_some(dtype))),
        ("shape".into(), json!((!dtype.is_empty()).then_some(shape))),
        ("order".into(), json!(order.to_string())),
        ("data_offset".into(), json!(offset)),
        ("nbytes".into(), json!(nbytes)),
        ("page_size".into(), json!(span.page_size)),
        ("lead".into(), json!(span.lead)),
        ("pages".into(), json!(span.page_count)),
    ])
}

/// What one argument names: one array, or every entry of an archive.
pub enum Target {
    /// A `.npy` file, a raw file with `--dtype`, or an entry `FILE:NAME`.
    One(Box<Array>),
    /// An archive named without `:NAME`: `FILE.npz`, `FILE.safetensors`.
    Whole(Rc<Container>),
}

/// Whether `o` describes a raw file.
fn raw(o: &FileOpts) -> bool {
    o.dtype.is_some() || o.shape.is_some() || o.offset.is_some() || o.order.is_some()
}

/// Opens what `arg` names, read-only, through the library's opener ([`container::open`]): a
/// `.npy` file, an archive (whole, or one entry as `FILE:NAME`), or with `--dtype` a raw file.
pub fn open(arg: &Path, o: &FileOpts) -> Res<Target> {
    if raw(o) {
        return open_raw(arg, o).map(Box::new).map(Target::One);
    }
    let (c, name) = container::open(arg).map_err(|e| -> Box<dyn std::error::Error> {
        match e {
            ndmmap::Error::UnknownFormat { .. } => {
                format!("{e}; for a raw file give --dtype (and --shape, --offset)").into()
            }
            e => e.into(),
        }
    })?;
    let c = Rc::new(c);
    match name {
        Some(name) => entry(&c, &name, arg.to_path_buf(), o.verify)
            .map(Box::new)
            .map(Target::One),
        None if c.format() == Format::Npy => entry(&c, "", arg.to_path_buf(), o.verify)
            .map(Box::new)
            .map(Target::One),
        None => Ok(Target::Whole(c)),
    }
}

/// Maps entry `name` of `c` through the container's own handle, shown as `shown`; with
/// `verify`, an `.npz` member's CRC-32 is checked against its data first.
pub fn entry(c: &Rc<Container>, name: &str, shown: PathBuf, verify: bool) -> Res<Array> {
    if verify && let Some(npz) = c.npz() {
        npz.verify(name)?;
    }
    let e = c.entry(name)?;
    let data = match &e.unmappable {
        // SAFETY: the command only reads the mapping's pages' state and values while it runs;
        // a concurrent truncation by another process is the one hazard, as for vmtouch, and
        // the reads that could meet it are guarded (touch, stats).
        None => Data::Mapped(unsafe { c.map_any(name)? }),
        // Pages of bytes that are whole but no array to map (compressed, a dtype without
        // elements, chunks); a damaged entry's are an error.
        Some(why) => {
            // SAFETY: the library refuses the entry before mapping anything (it is
            // unmappable); were it mapped, it would be read-only and dropped unread.
            let why = match unsafe { c.map_any(name) } {
                _ if !c.chunks(name)?.is_empty() => format!("{} {CHUNKED}", shown.display()),
                // What it is, without the library's advice (calls a command user cannot make).
                _ if c.format() == Format::Hdf5 => {
                    Err(format!("`{}` cannot be mapped: {why}", shown.display()))?
                }
                Err(e) if whole(&e) => e.to_string(),
                Err(e) => Err(e)?,
                Ok(_) => why.clone(),
            };
            Data::Unmapped(Rc::clone(c), e.clone(), why)
        }
    };
    let (path, order) = (shown, e.order);
    Ok(Array { path, data, order })
}

/// A raw file: `--dtype` elements at `--offset`, in `--shape` (default: 1-D over the rest of
/// the file) and `--order`, opened by the library ([`AnyArray::open_raw`]).
fn open_raw(path: &Path, o: &FileOpts) -> Res<Array> {
    let shown = path.display();
    let is_entry = container::split_spec(path).1.is_some();
    let npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let rule = "--dtype, --shape, --offset and --order are for raw files";
    if is_entry {
        return Err(format!("{shown}: {rule}; an archive's member describes itself").into());
    }
    if npy {
        return Err(format!("{shown}: {rule}; a .npy file describes itself").into());
    }
    let Some(dtype) = o.dtype.as_deref() else {
        return Err(format!("{shown}: give --dtype too: {rule}, whose elements it names").into());
    };
    let mut spec = RawSpec::new(Dtype::parse(dtype)?).offset(o.offset.unwrap_or(0));
    if let Some(shape) = o.shape.as_deref() {
        spec = spec.shape(ndmmap::parse_shape(shape)?);
    }
    let order = o.order.unwrap_or(Order::C);
    // SAFETY: as for an entry (see `entry`). The library's advice in the command's words.
    let a = unsafe { AnyArray::open_raw(path, &spec.order(order)) }.map_err(|e| match e {
        ndmmap::Error::TooShort { len, needed, .. } => format!(
            "`{shown}` is {len} bytes long, but --offset and --shape ask for {needed}: the file is \
             truncated, or --shape (or --offset) is too large; without --shape the array is \
             the rest of the file"
        )
        .into(),
        ndmmap::Error::TrailingBytes { available, .. } => format!(
            "the {available} bytes after --offset in `{shown}` are not a whole number of --dtype \
             {dtype} elements: check --offset and --dtype, or give --shape"
        )
        .into(),
        e => Box::<dyn std::error::Error>::from(e),
    })?;
    let (path, data) = (path.to_path_buf(), Data::Mapped(a));
    Ok(Array { path, data, order })
}

/// Whether the library's refusal to map an entry leaves its bytes whole (its pages are
/// still worked on): compressed, or of a dtype without elements to map.
fn whole(e: &ndmmap::Error) -> bool {
    use ndmmap::{Error as E, NpyError as N};
    match e {
        E::Npy { kind, .. } => matches!(kind, N::UnsupportedDtype { .. }),
        e => matches!(e, E::Compressed { .. } | E::Unmappable { .. }),
    }
}

/// Runs `f` on every array the arguments name, in turn: the array of a `.npy` file, a raw
/// file or `FILE:NAME`, and every entry of a whole archive (shown as `FILE:NAME`; the batch
/// is then `several`). A failure, of a file or of one entry (an unmappable one gets its
/// reason), is one line on stderr and the others go on ([`out::each`]). An entry that
/// cannot be mapped reaches `f` as its `Err`, so that under `--mpi` (`ranks`) every rank
/// meets every entry: the ranks agree on each file's opening and its entries first.
pub fn each_array<T>(
    o: &FileOpts,
    ranks: Option<&dyn Ranks>,
    mut f: impl FnMut(&mut Batch, Res<Array>) -> Res<T>,
) -> Res<(Vec<T>, Batch)> {
    let mut values = Vec::new();
    let (_, batch) = out::each(&o.files, |b, path| {
        let target = open(path, o);
        let target = match ranks {
            Some(r) => crate::ranks::agree(r, target, |t| match t {
                Target::One(_) => 0,
                Target::Whole(c) => {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::hash::DefaultHasher::new();
                    c.entries().iter().for_each(|e| e.name.hash(&mut h));
                    h.finish() | 1
                }
            })?,
            None => target?,
        };
        match target {
            Target::One(a) => values.push(f(b, Ok(*a))?),
            Target::Whole(c) => {
                b.several = true;
                for e in c.entries() {
                    let shown = entry_path(path, &e.name);
                    let a = entry(&c, &e.name, shown.clone(), o.verify);
                    b.member = true;
                    let v = b.attempt(|b| f(b, a).map_err(|e| named(&shown, e)));
                    b.member = false;
                    values.extend(v?);
                }
            }
        }
        Ok(())
    })?;
    Ok((values, batch))
}

/// `e`, said of `path` (an entry of a whole archive) where its message does not name it
/// already (a slice that does not fit, an axis out of range).
fn named(path: &Path, e: Box<dyn std::error::Error>) -> Box<dyn std::error::Error> {
    let shown = path.display().to_string();
    let msg = e.to_string();
    if e.is::<out::Reported>() || e.is::<out::NotHere>() || e.is::<out::Output>() {
        return e;
    }
    if msg.contains(&shown) {
        return e;
    }
    format!("{shown}: {msg}").into()
}
