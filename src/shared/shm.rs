//! POSIX named shared memory (`shm_open`): arrays other processes open by name, Python's
//! `multiprocessing.shared_memory` among them.
//!
//! A named object is a file without a directory: on Linux it lives in `/dev/shm` (a tmpfs,
//! in RAM), and any process of the same user that knows the name can map it. An array made
//! here is an ordinary [`MmapArray`]: views, page control and residency work as for a file.
//!
//! ```
//! use ndarray::Ix2;
//! use ndmmap::shared::shm;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let name = format!("ndmmap-doc-module-{}", std::process::id());
//! // SAFETY: no process truncates the object while the arrays live.
//! let mut a = unsafe { shm::create::<f64, Ix2, _>(&name, (1000, 3))? };
//! a.view_mut()?.fill(1.5);
//!
//! // Another process (here the same one) opens it by name; Python would do
//! // np.ndarray((1000, 3), 'f8', buffer=SharedMemory(name).buf).
//! let b = unsafe { shm::open::<f64, Ix2, _>(&name, (1000, 3))? };
//! assert_eq!(b.view()[[999, 2]], 1.5);
//! drop((a, b)); // the creating handle unlinks the name
//! assert!(unsafe { shm::open::<f64, Ix2, _>(&name, (1000, 3)) }.is_err());
//! # Ok(()) }
//! ```
//!
//! # Names
//! `"name"` and `"/name"` are the same object, as in Python's `SharedMemory` (which prepends
//! the `/`). Refused with [`Error::InvalidShmName`]: an empty name, `.` and `..`, a name with
//! a NUL or with a `/` after its first character, and one longer than the OS allows: 255 bytes
//! after the `/` (`NAME_MAX`), 30 on macOS (`PSHMNAMLEN`, 31, counts the `/`; Python's own
//! names there are 14 bytes long).
//!
//! # Lifetime of a name
//! A name lives until it is unlinked, or until the machine restarts: a process killed before
//! it unlinks leaves the object (and its memory) behind. Unlinking removes the name only:
//! processes that have the object mapped keep it until they unmap it. Here a handle that
//! *created* the object unlinks it when dropped, Rust's ownership at work; a handle that
//! *opened* one leaves it, as Python's `SharedMemory(name)` does. Both are a choice:
//! [`ShmOptions::unlink_on_drop`], and [`unlink`] to unlink explicitly, as Python's
//! `SharedMemory.unlink()` does.
//!
//! # Who may open an object
//! A name is global to the machine: any user can make `/dev/shm/NAME` first and wait for a
//! victim to open it (and then read, change or truncate the victim's data). So an object is
//! opened only if it is this process's own: after `shm_open`, the descriptor that will be
//! mapped is checked with `fstat` (not the name, which may point to another object by then),
//! and an object that another user owns, that every user may write, or (unless asked, below)
//! that its group may write, is refused with [`Error::ShmUntrusted`] before a byte of it is
//! read or mapped. [`open_or_create`](ShmOptions::open_or_create) refuses such an object too:
//! it neither maps it nor creates another under the name.
//!
//! A created object gets the permissions 0600 (read and write for its owner only, as Python's
//! `SharedMemory` makes them), set with `fchmod` after `O_CREAT | O_EXCL`, so the umask does
//! not matter. [`ShmOptions::share_with_group`] makes them 0660 and accepts an existing object
//! that is group-writable, or another user's, if its group is one of this process's groups
//! (the effective group or a supplementary one); an object every user may write is refused
//! always. The exclusive create is atomic: no other process can make the name between the
//! check and the create, and a name that exists is never truncated or re-sized.
//!
//! Root is no exception: root refuses an object that `nobody` made. Objects on Windows are
//! not checked (see [Platforms](#platforms)).
//!
//! # Sizes
//! An object opened with a shape must be at least as long as the array (else
//! [`Error::TooShort`]); a longer one is accepted, because the OS may round a size up: macOS
//! reports an object's size in whole pages, and Python's `SharedMemory.size` with it.
//!
//! # A `.npy` header
//! With [`ShmOptions::npy_header`] (feature `npy`), the object starts with a `.npy` header as
//! numpy writes it (the data 64-byte aligned after it), so on Linux
//! `np.load('/dev/shm/NAME', mmap_mode='r+')` maps it, and [`open_npy`] (or
//! [`npy::open`](crate::npy::open) on `/dev/shm/NAME`) opens it without being told the dtype
//! or the shape. The header is written and read with `pwrite`/`pread`, which Linux and FreeBSD
//! allow on shared memory objects and macOS does not (there the OS error is returned).
//!
//! # Platforms
//! On Windows a name is a pagefile-backed section `Local\NAME` (`CreateFileMappingW`), which
//! any process of the same session opens by name; it is sized at creation, and a longer size
//! (rounded up to whole pages) is what an opener sees. A section vanishes when its last handle
//! or view closes: [`unlink`] does nothing there (a name is never left behind, and cannot be
//! removed while open), and `unlink_on_drop` has no effect. A `.npy` header (read and written
//! with positioned I/O, which a section lacks) is [`Error::Unsupported`]; `preallocate` is not
//! needed (the pagefile commits the whole section at creation).
//!
//! A section gets the default security descriptor of the creator's access token (its user,
//! `SYSTEM` and the administrators may open it), and its name lives in the session's `Local\`
//! namespace, which other sessions' users cannot create names in; an opened section's owner is
//! not checked, and [`ShmOptions::share_with_group`] changes nothing there.
//!
//! Linux is where this is tested, against Python (`scripts/shm_interop.py`). macOS and
//! FreeBSD have `shm_open` and compile; macOS's objects are sized once only (which `create`
//! respects) and cannot be read or written except through a map (so no `.npy` header there).

use crate::array::{MmapArray, dim_and_strides};
use crate::element::NpyElement;
use crate::error::{Error, Result, ShmRefusal};
use crate::layout;
use crate::mapping::Mode;
use crate::options::MmapOptions;
use crate::sys::shm::{self as sys, Object, Open};
use ndarray::{Dimension, ShapeBuilder};
use std::ffi::CString;
use std::io::ErrorKind;
use std::path::PathBuf;

/// How often [`ShmOptions::open_or_create`] retries when the name vanishes between a create
/// that found it and the open that follows.
const OPEN_OR_CREATE_TRIES: usize = 8;

/// Permissions of a created object: its owner's only, as Python's `SharedMemory` makes them.
const PRIVATE_MODE: u32 = 0o600;

/// Permissions of a created object shared with its group
/// ([`ShmOptions::share_with_group`]).
const GROUP_MODE: u32 = 0o660;

/// A checked name: the POSIX form (`/name`) for the OS, and the path messages show.
#[derive(Debug)]
struct Name {
    posix: CString,
    path: PathBuf,
}

impl Name {
    fn parse(name: &str) -> Result<Name> {
        let refuse = |why| Error::InvalidShmName {
            name: at_most_100_chars(name),
            why,
        };
        let bare = name.strip_prefix('/').unwrap_or(name);
        if bare.is_empty() {
            return Err(refuse(
                "it is empty; give at least one character after the `/`",
            ));
        } else if bare.contains('/') {
            return Err(refuse(
                "it contains a `/` after its first character; names are flat, not paths",
            ));
        } else if bare == "." || bare == ".." {
            return Err(refuse("`.` and `..` name directories, not objects"));
        } else if bare.len() > sys::NAME_MAX {
            return Err(refuse(sys::TOO_LONG));
        }
        let posix =
            CString::new(format!("/{bare}")).map_err(|_| refuse("it contains a NUL byte"))?;
        let path = sys::shown_path(bare);
        Ok(Name { posix, path })
    }

    fn shown(&self) -> String {
        self.posix.to_string_lossy().into_owned()
    }

    /// Opens the name: a new object gets exactly `mode` (`fchmod`, past the umask; its name
    /// is unlinked again if that fails); an existing one must pass [`Name::check_owner`].
    fn open(&self, how: Open, group: bool) -> Result<Object> {
        let file = sys::shm_open(&self.posix, how).map_err(|e| {
            if matches!(how, Open::New { .. }) && e.kind() == ErrorKind::AlreadyExists {
                Error::ShmExists { name: self.shown() }
            } else {
                Error::io("shm_open", Some(&self.path), e)
            }
        })?;
        match how {
            Open::New { mode } => {
                if let Err(e) = file.set_mode(mode) {
                    let _ = sys::shm_unlink(&self.posix);
                    return Err(Error::io("fchmod (shared memory)", Some(&self.path), e));
                }
            }
            Open::Existing { .. } => self.check_owner(&file, group)?,
        }
        Ok(file)
    }

    /// Refuses an opened object that is not this process's own (see
    /// [the module](self#who-may-open-an-object)); `group`: shared with this process's groups.
    fn check_owner(&self, file: &Object, group: bool) -> Result<()> {
        let owner = file
            .owner()
            .map_err(|e| Error::io("fstat (shared memory)", Some(&self.path), e))?;
        let (Some(o), Some(euid)) = (owner, sys::effective_uid()) else {
            return Ok(());
        };
        let ours_by_group = || group && sys::in_group(o.gid);
        let why = if !o.regular {
            Some(ShmRefusal::NotRegular)
        } else if o.uid != euid && !ours_by_group() {
            Some(ShmRefusal::Owner)
        } else if o.mode & 0o002 != 0 {
            Some(ShmRefusal::WorldWritable)
        } else if o.mode & 0o020 != 0 && !ours_by_group() {
            Some(ShmRefusal::GroupWritable)
        } else {
            None
        };
        match why {
            None => Ok(()),
            Some(why) => Err(Error::ShmUntrusted {
                path: self.path.clone(),
                why,
                owner: o.uid,
                group: o.gid,
                mode: o.mode,
                euid,
            }),
        }
    }
}

/// A refused name for [`Error::InvalidShmName`], whose message shows it with `{:?}` (control
/// characters and bidi overrides escaped there): at most 100 characters of it.
fn at_most_100_chars(name: &str) -> String {
    match name.char_indices().nth(100) {
        Some((end, _)) => format!("{}...", &name[..end]),
        None => name.to_string(),
    }
}

/// Unlinks a name when dropped: kept with the mapping of an array that unlinks on drop.
#[derive(Debug)]
struct UnlinkOnDrop(CString);

impl Drop for UnlinkOnDrop {
    fn drop(&mut self) {
        // Someone may have unlinked it already (or made a new object of that name since,
        // which this then unlinks, as Python's `unlink()` would): nothing to report from a drop.
        let _ = sys::shm_unlink(&self.0);
    }
}

/// How to create or open a named shared memory array: the map's mode, whether dropping the
/// array unlinks the name, whether the object carries a `.npy` header.
///
/// ```
/// use ndarray::Ix1;
/// use ndmmap::{Mode, shared::shm::ShmOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let name = format!("ndmmap-doc-options-{}", std::process::id());
/// // SAFETY: no process truncates the object while the arrays live.
/// let mut w = unsafe { ShmOptions::new().unlink_on_drop(false).create::<u32, Ix1, _>(&name, 16)? };
/// w.view_mut()?[3] = 7;
/// drop(w); // the name stays
/// let r = unsafe { ShmOptions::new().mode(Mode::ReadOnly).open::<u32, Ix1, _>(&name, 16)? };
/// assert_eq!(r.view()[3], 7);
/// ndmmap::shared::shm::unlink(&name)?; // r stays valid; the name is gone
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ShmOptions {
    mode: Mode,
    unlink_on_drop: Option<bool>,
    preallocate: bool,
    share_with_group: bool,
    #[cfg(feature = "npy")]
    npy_header: bool,
}

impl Default for ShmOptions {
    fn default() -> Self {
        ShmOptions::new()
    }
}

impl ShmOptions {
    /// Read-write, unlinking on drop what was created (not what was opened), no `.npy` header,
    /// not preallocated, private to this user (created 0600; see
    /// [`share_with_group`](Self::share_with_group)).
    pub fn new() -> ShmOptions {
        ShmOptions {
            mode: Mode::ReadWrite,
            unlink_on_drop: None,
            preallocate: false,
            share_with_group: false,
            #[cfg(feature = "npy")]
            npy_header: false,
        }
    }

    /// The map's mode: [`Mode::ReadWrite`] (the default: writes are seen by every process
    /// that maps the object), [`Mode::ReadOnly`], or [`Mode::CopyOnWrite`] (writes stay in
    /// this process). An object is opened read-only unless the mode is `ReadWrite`; one being
    /// created is opened read-write whatever the mode, since it must be sized.
    pub fn mode(&mut self, mode: Mode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Whether dropping the array unlinks the name (see [the module](self#lifetime-of-a-name)).
    /// Unset, a created object is unlinked and an opened one is not. The name is unlinked
    /// after the array is unmapped; mappings in other processes stay valid.
    pub fn unlink_on_drop(&mut self, unlink: bool) -> &mut Self {
        self.unlink_on_drop = Some(unlink);
        self
    }

    /// Allocates the memory under the array when it is mapped (`fallocate` on Linux's tmpfs),
    /// so that a full `/dev/shm` (64 MiB in a default Docker container) is an error now rather
    /// than a `SIGBUS` on a later write. Off by default: pages are allocated when first
    /// written. Read-write maps only; elsewhere than Linux the OS may answer `Unsupported`.
    pub fn preallocate(&mut self, preallocate: bool) -> &mut Self {
        self.preallocate = preallocate;
        self
    }

    /// Shares objects with this process's groups (see
    /// [the module](self#who-may-open-an-object)): a created object is made 0660 (its group
    /// may read and write it) instead of 0600, and an existing object is opened if it is this
    /// user's, or if its group is this process's effective group or one of its supplementary
    /// groups, even if that group may write it. Off by default: only this user's objects that
    /// no one else may write are opened. An object every user may write is refused either way.
    /// No effect on Windows.
    ///
    /// ```
    /// use ndmmap::shared::shm::ShmOptions;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # if !cfg!(target_os = "linux") { return Ok(()) } // macOS: the umask applies
    /// let name = format!("ndmmap-doc-group-{}", std::process::id());
    /// // SAFETY: no process truncates the object while the arrays live.
    /// let _a = unsafe { ShmOptions::new().share_with_group(true).create::<u8, _, _>(&name, 8)? };
    /// // A private open refuses a group-writable object...
    /// let private = unsafe { ShmOptions::new().open::<u8, _, _>(&name, 8) };
    /// assert!(matches!(private, Err(ndmmap::Error::ShmUntrusted { mode: 0o660, .. })));
    /// // ...one that shares with the group opens it.
    /// let _b = unsafe { ShmOptions::new().share_with_group(true).open::<u8, _, _>(&name, 8)? };
    /// # Ok(()) }
    /// ```
    pub fn share_with_group(&mut self, share: bool) -> &mut Self {
        self.share_with_group = share;
        self
    }

    /// Whether [`create`](Self::create) (and [`open_or_create`](Self::open_or_create) when it
    /// creates) writes a `.npy` header at the start of the object, the array's data following
    /// it 64-byte aligned, as numpy writes files; `open_or_create` then reads the header of an
    /// object it opens. Off by default: the object holds the data alone, as Python's
    /// `np.ndarray(shape, dtype, buffer=shm.buf)` expects. [`open`](Self::open) maps from the
    /// first byte whatever this says; [`open_npy`](Self::open_npy) reads a header.
    ///
    /// ```
    /// use ndarray::Ix2;
    /// use ndmmap::shared::shm;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let name = format!("ndmmap-doc-npy-{}", std::process::id());
    /// // SAFETY: no process truncates the object while the arrays live.
    /// let mut a = unsafe { shm::ShmOptions::new().npy_header(true).create::<f32, Ix2, _>(&name, (4, 3))? };
    /// a.view_mut()?.fill(2.0);
    /// // numpy: np.load('/dev/shm/' + name, mmap_mode='r+'); here, without dtype or shape:
    /// let b = unsafe { shm::open_npy::<f32, ndarray::IxDyn>(&name)? };
    /// assert_eq!((b.shape(), b.view().sum()), (&[4, 3][..], 24.0));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "npy")]
    pub fn npy_header(&mut self, header: bool) -> &mut Self {
        self.npy_header = header;
        self
    }

    /// Creates the object `name` (`O_CREAT | O_EXCL`, permissions 0600, or 0660 with
    /// [`share_with_group`](Self::share_with_group)), zero-filled and sized for `shape`
    /// (`.f()` for Fortran order), and maps it. A name that exists is
    /// [`Error::ShmExists`]; if anything after creation fails, the name is unlinked again.
    ///
    /// ```
    /// use ndmmap::{Error, shared::shm::ShmOptions};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let name = format!("ndmmap-doc-create-{}", std::process::id());
    /// // SAFETY: no process truncates the object while `a` lives.
    /// let a = unsafe { ShmOptions::new().create::<i64, _, _>(&name, (10, 10))? };
    /// let again = unsafe { ShmOptions::new().create::<i64, _, _>(&name, (10, 10)) };
    /// assert!(matches!(again, Err(Error::ShmExists { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays):
    /// any process of the same user can open the object by name and truncate it, or write it
    /// while a view reads it.
    pub unsafe fn create<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        name: &str,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let name = Name::parse(name)?;
        let file = name.open(self.new_object(), self.share_with_group)?;
        // SAFETY: forwarded to the caller.
        unsafe { self.created(file, &name, shape) }
    }

    /// Opens the existing object `name` and maps `shape` (`.f()` for Fortran order) from its
    /// first byte. The object must be at least as long as the array ([`Error::TooShort`]);
    /// a longer one is accepted (see [the module](self#sizes)). A missing name is
    /// [`Error::Io`] from `shm_open` with `ENOENT`; an object that is not this user's, or
    /// that others may write, is [`Error::ShmUntrusted`] (see
    /// [the module](self#who-may-open-an-object)).
    ///
    /// ```
    /// use ndmmap::shared::shm;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let name = format!("ndmmap-doc-open-{}", std::process::id());
    /// // SAFETY (both): no process truncates the object while the arrays live.
    /// let _owner = unsafe { shm::create::<u8, _, _>(&name, 100)? };
    /// let a = unsafe { shm::ShmOptions::new().open::<u8, _, _>(&name, (10, 10))? };
    /// assert_eq!(a.shape(), &[10, 10]);
    /// let missing = unsafe { shm::open::<u8, _, _>("ndmmap-doc-no-such-name", 1) }.unwrap_err();
    /// assert_eq!(missing.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`create`](Self::create).
    pub unsafe fn open<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        name: &str,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let name = Name::parse(name)?;
        let file = name.open(self.existing(), self.share_with_group)?;
        // SAFETY: forwarded to the caller.
        unsafe { self.opened(file, &name, shape) }
    }

    /// Opens the existing object `name` that starts with a `.npy` header (one made with
    /// [`npy_header`](Self::npy_header), or a `.npy` file numpy wrote into `/dev/shm`) and maps
    /// the array it describes. The dtype must be `T`'s ([`Error::DtypeMismatch`]), the number
    /// of axes `D`'s; the header is read with numpy's size limit.
    ///
    /// ```
    /// use ndmmap::{Mode, shared::shm::ShmOptions};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let name = format!("ndmmap-doc-open-npy-{}", std::process::id());
    /// // SAFETY (both): no process truncates the object while the arrays live.
    /// let _owner = unsafe { ShmOptions::new().npy_header(true).create::<u16, ndarray::Ix3, _>(&name, (2, 3, 4))? };
    /// let a = unsafe { ShmOptions::new().mode(Mode::ReadOnly).open_npy::<u16, ndarray::IxDyn>(&name)? };
    /// assert_eq!(a.shape(), &[2, 3, 4]);
    /// let wrong = unsafe { ShmOptions::new().open_npy::<f32, ndarray::IxDyn>(&name) };
    /// assert!(matches!(wrong, Err(ndmmap::Error::DtypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`create`](Self::create).
    #[cfg(feature = "npy")]
    pub unsafe fn open_npy<T: NpyElement, D: Dimension>(
        &self,
        name: &str,
    ) -> Result<MmapArray<T, D>> {
        let name = Name::parse(name)?;
        let file = name.open(self.existing(), self.share_with_group)?;
        // SAFETY: forwarded to the caller.
        unsafe { self.opened_npy(file, &name, None) }
    }

    /// Opens the object `name` if it exists, else creates it; returns the array and whether
    /// it was created (the creator usually fills it). Unless
    /// [`unlink_on_drop`](Self::unlink_on_drop) is set, the array unlinks the name on drop
    /// only if it created it. With [`npy_header`](Self::npy_header), an object that exists
    /// must carry a header of `T`'s dtype and of this shape. An existing object is checked as
    /// [`open`](Self::open) checks it: one another user made is [`Error::ShmUntrusted`],
    /// never attached to.
    ///
    /// A process that opens the object just after another created it may find it still empty
    /// (creation and sizing are two calls): that is [`Error::TooShort`]; try again.
    ///
    /// ```
    /// use ndmmap::shared::shm::ShmOptions;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let name = format!("ndmmap-doc-ooc-{}", std::process::id());
    /// // SAFETY (both): no process truncates the object while the arrays live.
    /// let (mut a, created) = unsafe { ShmOptions::new().open_or_create::<f32, _, _>(&name, 8)? };
    /// assert!(created);
    /// a.view_mut()?.fill(1.0);
    /// let (b, created) = unsafe { ShmOptions::new().open_or_create::<f32, _, _>(&name, 8)? };
    /// assert!(!created);
    /// assert_eq!(b.view().sum(), 8.0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Safety
    /// As for [`create`](Self::create).
    pub unsafe fn open_or_create<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        name: &str,
        shape: Sh,
    ) -> Result<(MmapArray<T, D>, bool)> {
        let name = Name::parse(name)?;
        let shape = shape.into_shape_with_order();
        let mut last = None;
        for _ in 0..OPEN_OR_CREATE_TRIES {
            // On Windows the name is taken when the object is sized, inside `created`.
            let made = name
                .open(self.new_object(), self.share_with_group)
                .and_then(|file| {
                    // SAFETY: forwarded to the caller.
                    unsafe { self.created(file, &name, shape.clone()) }
                });
            match made {
                Ok(a) => return Ok((a, true)),
                Err(Error::ShmExists { .. }) => {}
                Err(e) => return Err(e),
            }
            match name.open(self.existing(), self.share_with_group) {
                Ok(file) => {
                    #[cfg(feature = "npy")]
                    if self.npy_header {
                        let (dim, strides, _) = dim_and_strides(shape, size_of::<T>())?;
                        let fortran = is_fortran::<T, D>(&dim, &strides)?;
                        let expect = Some((dim.slice(), fortran));
                        // SAFETY: forwarded to the caller.
                        return unsafe { self.opened_npy(file, &name, expect) }.map(|a| (a, false));
                    }
                    // SAFETY: forwarded to the caller.
                    return unsafe { self.opened(file, &name, shape) }.map(|a| (a, false));
                }
                // Unlinked since the create found it: create again.
                Err(e) if e.io_error().map(|e| e.kind()) == Some(ErrorKind::NotFound) => {
                    last = Some(e)
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::ShmExists { name: name.shown() }))
    }

    /// How to create an object: with the permissions of this sharing.
    fn new_object(&self) -> Open {
        Open::New {
            mode: if self.share_with_group {
                GROUP_MODE
            } else {
                PRIVATE_MODE
            },
        }
    }

    /// How to open an existing object for this mode.
    fn existing(&self) -> Open {
        Open::Existing {
            write: self.mode == Mode::ReadWrite,
        }
    }

    /// The map settings for an array at `offset` in the object.
    fn map_options(&self, offset: u64) -> MmapOptions {
        let mut opts = MmapOptions::new();
        opts.mode(self.mode)
            .offset(offset)
            .grow(false)
            .preallocate(self.preallocate);
        opts
    }

    /// Sizes a just-created object, writes its header, maps it; unlinks the name on failure.
    ///
    /// # Safety
    /// As for [`create`](Self::create).
    unsafe fn created<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        mut file: Object,
        name: &Name,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let p = Some(name.path.as_path());
        let made = (|| {
            let (dim, strides, bytes) =
                dim_and_strides(shape.into_shape_with_order(), size_of::<T>())?;
            let header = self.header::<T, D>(&dim, &strides)?;
            let total = layout::checked_end(header.len() as u64, bytes)?;
            // One `ftruncate`: macOS sizes a shared memory object once only.
            file.set_len(total).map_err(|e| {
                if e.kind() == ErrorKind::AlreadyExists {
                    Error::ShmExists { name: name.shown() }
                } else {
                    Error::io("size (ftruncate)", p, e)
                }
            })?;
            if !header.is_empty() {
                let f = file.file().ok_or(Error::Unsupported {
                    what: "a .npy header in named shared memory on Windows",
                })?;
                crate::sys::write_all_at(f, &header, 0)
                    .map_err(|e| Error::io("write .npy header", p, e))?;
            }
            // SAFETY: forwarded to the caller.
            let mut a: MmapArray<T, D> = unsafe {
                self.map_options(header.len() as u64).map_shm(
                    &file,
                    Some(name.path.clone()),
                    |_| Ok((dim, strides, bytes)),
                )?
            };
            if !header.is_empty() {
                a.map_mut().set_npy_header();
            }
            Ok(a)
        })();
        match made {
            Ok(a) => Ok(self.keep_name(a, name, true)),
            Err(e) => {
                let _ = sys::shm_unlink(&name.posix);
                Err(e)
            }
        }
    }

    /// The `.npy` header of a created object: empty unless [`npy_header`](Self::npy_header).
    #[cfg(feature = "npy")]
    fn header<T: NpyElement, D: Dimension>(&self, dim: &D, strides: &D) -> Result<Vec<u8>> {
        if !self.npy_header {
            return Ok(Vec::new());
        }
        let fortran = is_fortran::<T, D>(dim, strides)?;
        Ok(crate::npy::new_header(
            &T::DTYPE.descr(),
            fortran,
            dim.slice(),
        ))
    }

    /// Without the `npy` feature there is no header (the signature kept for one call site).
    #[cfg(not(feature = "npy"))]
    #[allow(clippy::extra_unused_type_parameters)]
    fn header<T: NpyElement, D: Dimension>(&self, _dim: &D, _strides: &D) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// Maps `shape` from the first byte of an opened object.
    ///
    /// # Safety
    /// As for [`create`](Self::create).
    unsafe fn opened<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
        &self,
        file: Object,
        name: &Name,
        shape: Sh,
    ) -> Result<MmapArray<T, D>> {
        let (dim, strides, bytes) = dim_and_strides(shape.into_shape_with_order(), size_of::<T>())?;
        // SAFETY: forwarded to the caller.
        let a = unsafe {
            self.map_options(0)
                .map_shm(&file, Some(name.path.clone()), |_| {
                    Ok((dim, strides, bytes))
                })?
        };
        Ok(self.keep_name(a, name, false))
    }

    /// Maps the array an opened object's `.npy` header describes; with `expect`, the header's
    /// shape and order must be those.
    ///
    /// # Safety
    /// As for [`create`](Self::create).
    #[cfg(feature = "npy")]
    unsafe fn opened_npy<T: NpyElement, D: Dimension>(
        &self,
        file: Object,
        name: &Name,
        expect: Option<(&[usize], bool)>,
    ) -> Result<MmapArray<T, D>> {
        let p = name.path.as_path();
        let f = file.file().ok_or(Error::Unsupported {
            what: "a .npy header in named shared memory on Windows",
        })?;
        let h = crate::npy::read_header_from(f, p, crate::npy::MAX_HEADER_SIZE)?;
        if h.dtype != T::DTYPE {
            return Err(Error::DtypeMismatch {
                expected: T::DTYPE.descr(),
                found: h.dtype.descr(),
            });
        }
        if let Some(n) = D::NDIM
            && n != h.shape.len()
        {
            return Err(Error::DimensionMismatch {
                expected: n,
                found: h.shape.len(),
            });
        }
        if let Some((shape, fortran)) = expect
            && (shape != h.shape.as_slice() || fortran != h.fortran_order)
        {
            let order = |f| if f { "Fortran order" } else { "C order" };
            return Err(Error::npy(
                Some(p),
                crate::error::NpyError::Stale {
                    header: format!("shape {:?}, {}", h.shape, order(h.fortran_order)),
                    array: format!("shape {shape:?}, {}", order(fortran)),
                },
            ));
        }
        let mut dim = D::zeros(h.shape.len());
        dim.slice_mut().copy_from_slice(&h.shape);
        let (dim, strides, bytes) = dim_and_strides(dim.set_f(h.fortran_order), size_of::<T>())?;
        // SAFETY: forwarded to the caller.
        let mut a: MmapArray<T, D> = unsafe {
            self.map_options(h.data_offset)
                .map_shm(&file, Some(p.to_path_buf()), |_| Ok((dim, strides, bytes)))?
        };
        a.map_mut().set_npy_header();
        Ok(self.keep_name(a, name, false))
    }

    /// Ties the unlinking of the name to the array when asked (`created`: the default).
    fn keep_name<T: NpyElement, D: Dimension>(
        &self,
        mut a: MmapArray<T, D>,
        name: &Name,
        created: bool,
    ) -> MmapArray<T, D> {
        if self.unlink_on_drop.unwrap_or(created) {
            a.map_mut()
                .keep_until_drop(Box::new(UnlinkOnDrop(name.posix.clone())));
        }
        a
    }
}

/// Whether `strides` are Fortran order (and not also C order) for `dim`.
#[cfg(feature = "npy")]
fn is_fortran<T, D: Dimension>(dim: &D, strides: &D) -> Result<bool> {
    let (_, c_strides, _) = dim_and_strides(ndarray::Shape::from(dim.clone()), size_of::<T>())?;
    Ok(c_strides.slice() != strides.slice())
}

/// Creates the object `name`, zero-filled, and maps `shape` read-write; dropping the array
/// unlinks the name. See [`ShmOptions::create`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let name = format!("ndmmap-doc-fn-create-{}", std::process::id());
/// // SAFETY: no process truncates the object while `a` lives.
/// let mut a = unsafe { ndmmap::shared::shm::create::<f64, _, _>(&name, (2, 3))? };
/// a.view_mut()?[[1, 2]] = 4.0;
/// # Ok(()) }
/// ```
///
/// # Safety
/// See [the safety section of `MmapArray`](crate::MmapArray#safety-of-file-backed-arrays):
/// any process of the same user can open the object by name and truncate it.
pub unsafe fn create<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
    name: &str,
    shape: Sh,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { ShmOptions::new().create(name, shape) }
}

/// Opens the existing object `name` and maps `shape` read-write; dropping the array leaves
/// the name. See [`ShmOptions::open`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let name = format!("ndmmap-doc-fn-open-{}", std::process::id());
/// // SAFETY (both): no process truncates the object while the arrays live.
/// let mut a = unsafe { ndmmap::shared::shm::create::<u16, _, _>(&name, 4)? };
/// let mut b = unsafe { ndmmap::shared::shm::open::<u16, _, _>(&name, 4)? };
/// b.view_mut()?[0] = 9;
/// assert_eq!(a.view()[0], 9);
/// # Ok(()) }
/// ```
///
/// # Safety
/// As for [`create`].
pub unsafe fn open<T: NpyElement, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
    name: &str,
    shape: Sh,
) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { ShmOptions::new().open(name, shape) }
}

/// Opens the existing object `name` that starts with a `.npy` header and maps its array
/// read-write; dropping the array leaves the name. See [`ShmOptions::open_npy`] and
/// [`ShmOptions::npy_header`].
///
/// ```
/// use ndmmap::shared::shm;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let name = format!("ndmmap-doc-fn-open-npy-{}", std::process::id());
/// // SAFETY (both): no process truncates the object while the arrays live.
/// let mut a = unsafe { shm::ShmOptions::new().npy_header(true).create::<i8, ndarray::Ix1, _>(&name, 5)? };
/// a.view_mut()?[4] = -1;
/// let b = unsafe { shm::open_npy::<i8, ndarray::Ix1>(&name)? };
/// assert_eq!(b.view()[4], -1);
/// # Ok(()) }
/// ```
///
/// # Safety
/// As for [`create`].
#[cfg(feature = "npy")]
pub unsafe fn open_npy<T: NpyElement, D: Dimension>(name: &str) -> Result<MmapArray<T, D>> {
    // SAFETY: forwarded to the caller.
    unsafe { ShmOptions::new().open_npy(name) }
}

/// Unlinks the name, as Python's `SharedMemory.unlink()` does: the object can no longer be
/// opened, and is freed once every process has unmapped it. A name that does not exist is
/// [`Error::Io`] with `ENOENT`.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let name = format!("ndmmap-doc-unlink-{}", std::process::id());
/// // SAFETY: no process truncates the object while `a` lives.
/// let a = unsafe { ndmmap::shared::shm::ShmOptions::new().unlink_on_drop(false).create::<u8, _, _>(&name, 1)? };
/// drop(a);
/// ndmmap::shared::shm::unlink(&name)?;
/// assert!(ndmmap::shared::shm::unlink(&name).is_err());
/// # Ok(()) }
/// ```
pub fn unlink(name: &str) -> Result<()> {
    let name = Name::parse(name)?;
    sys::shm_unlink(&name.posix).map_err(|e| Error::io("shm_unlink", Some(&name.path), e))
}
