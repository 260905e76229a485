//! Replacing a file atomically, as the writers (`npy::create`, `NpzWriter`, the safetensors
//! `Writer`) do: the new file is written where nobody sees it and put in place by one
//! `rename`, so a reader sees the old file or the whole new one, and a failure leaves the old
//! file untouched.
//!
//! - **Through symbolic links**: a path that is a link is followed to the file it names (a
//!   dangling link to the file it would create, as `open(O_CREAT)` and numpy's `np.save` do);
//!   that file is replaced and the link stays a link.
//! - **The owner's intent kept**: a replaced file's permission bits, and its owner and group
//!   where the process may set them, go to the new file before anything is written into it; a
//!   new file gets what `open` would give it (`0666` less the umask and the directory's default
//!   ACL).
//! - **Nothing left behind**: on Linux the new file is unnamed (`O_TMPFILE`) until it is put in
//!   place, so a process killed while writing leaves nothing. Where there are no unnamed files
//!   (other OSes, file systems without `O_TMPFILE`) it is written under a hidden name beside the
//!   target, `.NAME.ndmmap-PID-N.tmp`, locked (`flock`) while its writer lives; the next writer
//!   of the same target (and a read-write `npy` open) removes those whose process is gone and
//!   whose lock is free, if this user owns them.

use crate::error::{Error, Result};
use crate::sys;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Links followed before giving up (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// A file being written to replace (or create) another, put in place by
/// [`commit`](Self::commit). Dropped uncommitted, it leaves nothing behind.
#[derive(Debug)]
pub(crate) struct Replacement {
    /// The path the caller gave, for errors.
    path: PathBuf,
    /// The file replaced: `path` followed through symbolic links.
    target: PathBuf,
    /// The new file.
    file: File,
    /// The named temporary file, where the new file has a name before it is put in place.
    temp: Option<PathBuf>,
}

impl Replacement {
    /// Starts replacing `path` (see the module's documentation): removes stale temporary files
    /// of the same target, then makes the new, empty file with the old one's mode and owner.
    pub(crate) fn new(path: &Path) -> Result<Replacement> {
        Self::start(path, true)
    }

    /// [`new`](Self::new), with an unnamed file where the OS has them if `unnamed`, else a
    /// named temporary file (the tests of that path use this on Linux).
    fn start(path: &Path, unnamed: bool) -> Result<Replacement> {
        let target = follow_links(path)?;
        let (dir, name) = split(&target, path)?;
        remove_stale(dir, name);
        let old = match std::fs::metadata(&target) {
            Ok(m) if m.is_dir() => {
                return Err(Error::IsDirectory {
                    path: Some(path.to_path_buf()),
                });
            }
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("stat", Some(path), e)),
        };
        // A file replacing another is made readable by its owner alone until it has the old
        // file's mode; a new one gets the mode `open` gives.
        let mode = if old.is_some() { 0o600 } else { 0o666 };
        let create = |e| Error::io("create", Some(path), e);
        let made = if unnamed {
            sys::unnamed_file_in(dir, mode).map_err(create)?
        } else {
            None
        };
        let (file, temp) = match made {
            Some(f) => (f, None),
            None => {
                let (t, f) = named_temp(dir, name, |t| sys::create_new(t, mode)).map_err(create)?;
                (f, Some(t))
            }
        };
        let r = Replacement {
            path: path.to_path_buf(),
            target,
            file,
            temp,
        };
        // Held until the writer ends: a named temporary file whose lock is free is stale.
        let _ = sys::try_lock(&r.file);
        if let Some(old) = &old {
            sys::keep_owner_and_mode(&r.file, old)
                .map_err(|e| Error::io("keep the mode of", Some(path), e))?;
        }
        Ok(r)
    }

    /// The new file, to write and map.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Puts the new file in place of the target: one `rename` of the named temporary file; an
    /// unnamed one is linked in under the target's name if it has none, else under a
    /// temporary name that is then renamed over it. The writer flushes first what must be on
    /// disk.
    pub(crate) fn commit(mut self) -> Result<()> {
        let io = |what, e| Error::io(what, Some(&self.path), e);
        if self.temp.is_none() {
            match sys::link_unnamed(&self.file, &self.target) {
                Ok(()) => {
                    let _ = sys::unlock(&self.file);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io("link into place", e)),
            }
            let (dir, name) = split(&self.target, &self.path)?;
            let (t, ()) = named_temp(dir, name, |t| sys::link_unnamed(&self.file, t))
                .map_err(|e| io("link into place", e))?;
            self.temp = Some(t);
        }
        if let Some(t) = &self.temp {
            std::fs::rename(t, &self.target).map_err(|e| io("rename into place", e))?;
            self.temp = None;
        }
        // The file in place is the caller's: no lock of ours stays on it while it is mapped.
        let _ = sys::unlock(&self.file);
        Ok(())
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if let Some(t) = &self.temp {
            let _ = std::fs::remove_file(t);
        }
    }
}

/// `path` followed through symbolic links to the file they name, which may not exist (a
/// dangling link names the file `open(O_CREAT)` would create). Only the last component is
/// followed: the directories on the way are the OS's to resolve.
pub(crate) fn follow_links(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to =
                    std::fs::read_link(&p).map_err(|e| Error::io("readlink", Some(path), e))?;
                p = if to.is_absolute() {
                    to
                } else {
                    dir_of(&p).join(to)
                };
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(Error::io("stat", Some(path), e)),
        }
    }
    Err(Error::io(
        "follow symbolic links",
        Some(path),
        io::Error::other(format!("more than {MAX_LINKS} links")),
    ))
}

/// The directory a path is in (`.` for a bare name).
fn dir_of(p: &Path) -> &Path {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The target's directory and name; an error for a path with no file name (`/`, `..`).
fn split<'a>(target: &'a Path, path: &Path) -> Result<(&'a Path, &'a OsStr)> {
    let name = target.file_name().ok_or_else(|| {
        Error::io(
            "create",
            Some(path),
            io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
        )
    })?;
    Ok((dir_of(target), name))
}

/// The temporary name `.NAME.ndmmap-PID-N.tmp` in `dir`.
fn temp_name(dir: &Path, name: &OsStr, pid: u32, n: u32) -> PathBuf {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(format!(".ndmmap-{pid}-{n}.tmp"));
    dir.join(s)
}

/// Makes a file under the first free temporary name for `name` in `dir` with `make`, which
/// fails with `AlreadyExists` for a name that is taken.
fn named_temp<T>(
    dir: &Path,
    name: &OsStr,
    mut make: impl FnMut(&Path) -> io::Result<T>,
) -> io::Result<(PathBuf, T)> {
    let pid = std::process::id();
    let mut last = None;
    for n in 0..64 {
        let t = temp_name(dir, name, pid, n);
        match make(&t) {
            Ok(x) => return Ok((t, x)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// The process id in a temporary name of `name` (`.NAME.ndmmap-PID-N.tmp`), if `file` is one.
fn temp_pid(file: &OsStr, name: &OsStr) -> Option<u32> {
    let f = file.as_encoded_bytes();
    let rest = f
        .strip_prefix(b".")?
        .strip_prefix(name.as_encoded_bytes())?
        .strip_prefix(b".ndmmap-")?
        .strip_suffix(b".tmp")?;
    let rest = std::str::from_utf8(rest).ok()?;
    let (pid, n) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n)).then(|| pid.parse().ok())?
}

/// Removes the temporary files that writers of `dir/name` left behind when they were killed:
/// those whose process is gone, whose lock nobody holds, that are regular files this user
/// owns. Best effort: what cannot be read or removed is left.
fn remove_stale(dir: &Path, name: &OsStr) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = temp_pid(&entry.file_name(), name) else {
            continue;
        };
        if pid == me || sys::process_alive(pid) {
            continue;
        }
        let p = entry.path();
        let stale = || -> io::Result<bool> {
            let before = std::fs::symlink_metadata(&p)?;
            if !before.file_type().is_file() || !sys::owned_by_me(&before) {
                return Ok(false);
            }
            let f = sys::open_to_inspect(&p)?;
            if !sys::try_lock(&f)? {
                return Ok(false);
            }
            // Still the file that was checked and locked (not renamed into place and
            // replaced by another in between).
            let now = sys::file_id(&sys::open_to_inspect(&p)?)?;
            Ok(sys::file_id(&f)? == now)
        };
        if stale().unwrap_or(false) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Removes stale temporary files of the file `path` names (see [`Replacement`]); for a
/// read-write open, which is where a writer killed before may be retried.
pub(crate) fn remove_stale_beside(path: &Path) {
    if let Ok(target) = follow_links(path)
        && let Ok((dir, name)) = split(&target, path)
    {
        remove_stale(dir, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_parse_back() {
        let name = OsStr::new("x.npy");
        let t = temp_name(Path::new("d"), name, 4321, 7);
        assert_eq!(t, Path::new("d/.x.npy.ndmmap-4321-7.tmp"));
        assert_eq!(temp_pid(t.file_name().unwrap(), name), Some(4321));
        for other in [
            ".x.npy.ndmmap-4321-7.tmp~",
            ".y.npy.ndmmap-4321-7.tmp",
            ".x.npy.ndmmap--7.tmp",
            ".x.npy.ndmmap-12-.tmp",
            ".x.npy.ndmmap-1-2-3.tmp",
            ".x.npy.ndmmap-+1-2.tmp",
            "x.npy",
        ] {
            assert_eq!(temp_pid(OsStr::new(other), name), None, "{other}");
        }
        // A temporary file of the target "x.npy.ndmmap-5" is not one of "x.npy".
        let t = temp_name(Path::new("."), OsStr::new("x.npy.ndmmap-5"), 6, 0);
        assert_eq!(temp_pid(t.file_name().unwrap(), name), None);
    }

    /// A child that has ended and been reaped: its pid names no process.
    #[cfg(unix)]
    fn dead_pid() -> u32 {
        // SAFETY: the child leaves at once with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: ends the child without running the parent's handlers.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        pid as u32
    }

    /// The named-temporary path (other OSes; file systems without `O_TMPFILE`): the temporary
    /// file has the old file's mode from the start, is renamed over the target through a link,
    /// and goes when the writer is dropped unfinished.
    #[cfg(unix)]
    #[test]
    fn named_temporaries_keep_the_mode_and_go_when_dropped() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.npy");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.npy");
        std::os::unix::fs::symlink("real.npy", &link).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let r = Replacement::start(&link, false).unwrap();
        let t = r.temp.clone().unwrap();
        assert_eq!(
            t,
            temp_name(dir.path(), OsStr::new("real.npy"), std::process::id(), 0)
        );
        assert_eq!(mode(&t), 0o600);
        r.file().write_all(b"new").unwrap();
        drop(r);
        assert!(!t.exists());
        assert_eq!(std::fs::read(&real).unwrap(), b"old");
        let r = Replacement::start(&link, false).unwrap();
        r.file().write_all(b"new").unwrap();
        r.commit().unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(mode(&real), 0o600);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    /// A writer on the named-temporary path killed mid-write leaves its file; the next writer
    /// of the same target removes it, and only it: not a live writer's, not one whose lock is
    /// held, not a symbolic link, not another target's, not another user's.
    #[cfg(unix)]
    #[test]
    fn stale_temporaries_are_removed_safely() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let p = d.join("x.npy");
        let x = OsStr::new("x.npy");
        // SAFETY: the child writes a file, then is killed.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let r = Replacement::start(&p, false).unwrap();
            r.file().write_all(&vec![1u8; 1 << 20]).unwrap();
            // SAFETY: raising a signal at ourselves; _exit if it were ignored.
            unsafe {
                libc::raise(libc::SIGKILL);
                libc::_exit(1);
            }
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        let killed = temp_name(d, x, pid as u32, 0);
        assert!(killed.exists(), "the killed writer's temporary file");

        // SAFETY: getppid has no preconditions.
        let live = temp_name(d, x, unsafe { libc::getppid() } as u32, 0);
        std::fs::write(&live, b"").unwrap();
        let locked = temp_name(d, x, dead_pid(), 0);
        let held = sys::create_new(&locked, 0o600).unwrap();
        assert!(sys::try_lock(&held).unwrap());
        let link = temp_name(d, x, dead_pid(), 0);
        std::os::unix::fs::symlink("x.npy", &link).unwrap();
        let other = temp_name(d, OsStr::new("y.npy"), dead_pid(), 0);
        std::fs::write(&other, b"").unwrap();
        let mut kept = vec![&live, &locked, &link, &other];
        let theirs = temp_name(d, x, dead_pid(), 1);
        std::fs::write(&theirs, b"").unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&theirs, Some(4321), None).unwrap();
            kept.push(&theirs);
        }
        let orphan = temp_name(d, x, dead_pid(), 2);
        std::fs::write(&orphan, b"").unwrap();

        let r = Replacement::start(&p, false).unwrap();
        assert!(!killed.exists() && !orphan.exists(), "stale files removed");
        for k in &kept {
            assert!(std::fs::symlink_metadata(k).is_ok(), "{} kept", k.display());
        }
        r.commit().unwrap();
        assert!(p.exists());
        drop(held);
    }

    #[test]
    fn links_are_followed_to_their_target() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain");
        assert_eq!(follow_links(&p).unwrap(), p);
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink("sub/../plain", &link).unwrap();
            std::fs::create_dir(dir.path().join("sub")).unwrap();
            assert_eq!(
                follow_links(&link).unwrap(),
                dir.path().join("sub/../plain")
            );
            let lp = dir.path().join("loop");
            std::os::unix::fs::symlink("loop", &lp).unwrap();
            assert!(follow_links(&lp).is_err());
        }
    }
}
