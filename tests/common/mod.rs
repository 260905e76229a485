//! Helpers shared by the integration tests: files with known bytes, page-cache set-up,
//! running a closure in a forked child, and skipping a test whose prerequisite is missing
//! (`skip_or_fail`, which fails instead under `CI=true`). Page-cache set-up and forking are
//! Unix-only (`cfg(unix)`); the rest builds for Windows too (the suite runs there under Wine).
#![allow(dead_code)]

use std::fs::File;
use std::io::Write;
/// Positioned reads and writes: Unix's `FileExt`, and on Windows the same two calls through
/// `seek_read` / `seek_write` (which also move the handle's position; no test relies on it).
#[cfg(unix)]
pub use std::os::unix::fs::FileExt;

/// See the Unix `FileExt` above: `read_exact_at` and `write_all_at` on Windows.
#[cfg(windows)]
pub trait FileExt {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()>;
}

#[cfg(windows)]
impl FileExt for File {
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
        use std::os::windows::fs::FileExt as _;
        while !buf.is_empty() {
            match self.seek_read(buf, offset)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }

    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
        use std::os::windows::fs::FileExt as _;
        while !buf.is_empty() {
            match self.seek_write(buf, offset)? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                n => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }
}
use std::path::{Path, PathBuf};

#[cfg(unix)]
pub fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// The page size of x86-64 and AArch64 Windows (`GetSystemInfo().dwPageSize`).
#[cfg(windows)]
pub fn page() -> usize {
    4096
}

/// A file in `dir` holding `bytes`.
pub fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    let mut f = File::create(&p).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
    p
}

/// `n` bytes of a pattern that differs at every offset within a page and between pages.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i % 251) as u8 ^ ((i / page()) as u8).wrapping_mul(31))
        .collect()
}

#[cfg(unix)]
/// Evicts the file and opens a handle with readahead off, so reads load only what they ask.
pub fn cold(path: &Path) -> File {
    let f = File::open(path).unwrap();
    f.sync_all().ok();
    ndmmap::evict(&f).unwrap();
    ndmmap::advise_random(&f).unwrap();
    f
}

#[cfg(unix)]
/// Reads whole file pages `pages` (page indices of the file) through `f`.
pub fn read_pages(f: &File, pages: &[usize]) {
    let mut buf = vec![0u8; page()];
    for &p in pages {
        f.read_exact_at(&mut buf, (p * page()) as u64).unwrap();
    }
}

/// Resident file pages according to `fincore`-like mincore on a fresh read-only map.
pub fn resident_file_pages(path: &Path) -> Vec<bool> {
    let a = unsafe { ndmmap::MmapOptions::new().map_path_1d::<u8>(path).unwrap() };
    a.pages(..).unwrap().mincore().unwrap()
}

#[cfg(unix)]
/// Runs `f` in a forked child and returns its exit code (or `-signal` if killed).
pub fn in_child(f: impl FnOnce() -> i32) -> i32 {
    wait(spawn_child(f))
}

/// A numbered check in a forked child ([`in_child_checks`]): `Err(code)` names the one that
/// failed.
pub fn check(ok: bool, code: i32) -> Result<(), i32> {
    if ok { Ok(()) } else { Err(code) }
}

#[cfg(unix)]
/// Runs the checks `f` in a forked child: 0 when all hold, else the code of the one that
/// failed (or `-signal` if the child was killed).
pub fn in_child_checks(f: impl FnOnce() -> Result<(), i32>) -> i32 {
    in_child(move || match f() {
        Ok(()) => 0,
        Err(c) => c,
    })
}

/// The line of `/proc/self/maps` whose address range holds `addr` (Linux), if one does:
/// `start-end perms offset dev inode path`.
#[cfg(unix)]
pub fn maps_line(addr: usize) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .find(|l| {
            let range = l.split_whitespace().next().unwrap_or_default();
            let Some((a, b)) = range.split_once('-') else {
                return false;
            };
            let hex = |x| usize::from_str_radix(x, 16).unwrap_or(0);
            (hex(a)..hex(b)).contains(&addr)
        })
        .map(str::to_string)
}

/// Runs `f` in a child that has become `nobody` (uid and gid 65534). Returns the exit code.
#[cfg(target_os = "linux")]
pub fn as_nobody(f: impl FnOnce() -> i32) -> i32 {
    in_child(move || {
        // SAFETY: plain system calls in the forked child.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return 77;
            }
        }
        f()
    })
}

/// Sets the length of the file at `path`, as another process truncating it would.
pub fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[cfg(unix)]
/// Starts `f` in a forked child and returns its pid at once (`wait` it; `libc::kill` it). The
/// child's exit code is what `f` returns, 101 if it panics.
pub fn spawn_child(f: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: the child runs `f` and leaves with _exit, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: _exit ends the child at once, without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    pid
}

#[cfg(unix)]
/// Runs `write` in a forked child that then dies of SIGKILL (no unmapping, no exit handlers),
/// and checks it did: what `write` flushed must be found in the file afterwards.
pub fn then_sigkill(write: impl FnOnce()) {
    let code = in_child(move || {
        write();
        // SAFETY: raising a signal at ourselves.
        unsafe { libc::raise(libc::SIGKILL) };
        1
    });
    assert_eq!(code, -libc::SIGKILL);
}

/// Waits for child `pid` and gives its exit code (or minus the signal that ended it). A child
/// that has not ended after 5 minutes is killed (it may be deadlocked on a lock that another
/// thread of the test process held when it was forked) and reported as `-SIGKILL`: a failure,
/// never a hung test run.
#[cfg(unix)]
pub fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let rc = loop {
        // SAFETY: waiting on our own child, without blocking.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc != 0 {
            break rc;
        }
        if std::time::Instant::now() > deadline {
            // SAFETY: killing our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            eprintln!("child {pid} did not end in 5 minutes: killed");
            // SAFETY: as above, now that it is ending.
            break unsafe { libc::waitpid(pid, &mut status, 0) };
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(rc, pid);
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    }
}

/// A test whose prerequisite is missing (`why` says which and how to get it, e.g. "python3 with
/// numpy not found (pip install numpy)") calls this and returns early when it returns true: it
/// prints `skipped: WHY` and returns true, so the suite passes on a machine with only the Rust
/// toolchain. Under CI (the environment variable `CI` is `true`, as `.ci/run` and CI services
/// set it) nothing may skip: it panics with `why` instead, and the test fails.
pub fn skip_or_fail(why: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1") {
        panic!("{why}; CI is set, where no test may skip");
    }
    eprintln!("skipped: {why}");
    true
}

/// Polls `cond` for up to `secs` seconds.
pub fn eventually(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let t = std::time::Instant::now();
    while t.elapsed().as_secs_f64() < secs {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    cond()
}

/// The output of `cmd`, run to its end, which must have succeeded (else the test fails with
/// the command and its stderr).
pub fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A temporary directory on the project's disk (`CARGO_TARGET_TMPDIR`), not on `/tmp`, which
/// may be a tmpfs whose pages `posix_fadvise(DONTNEED)` cannot evict.
pub fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

#[cfg(unix)]
/// Starts `cmd` (its stderr piped), truncates `path` to `len` after `delay_ms`, and waits. The
/// command must end with status 0 or 1, never a signal, and an error must be one line on stderr;
/// returns the status code and the stderr text.
pub fn truncated_under(
    mut cmd: std::process::Command,
    path: &Path,
    len: u64,
    delay_ms: u64,
) -> (i32, String) {
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    truncate(path, len);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{cmd:?} ended with {:?}: {err}",
        out.status
    );
    if code == Some(1) {
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    (code.unwrap_or(-1), err)
}

/// `tight.npy` in `dir`: five `u1` values behind a version 1.0 header padded to 16 bytes with no
/// spare room, as numpy 1.x wrote it; and the file's bytes.
pub fn tight_npy(dir: &Path) -> (PathBuf, Vec<u8>) {
    let p = dir.join("tight.npy");
    let dict = "{'descr': '<u1', 'fortran_order': False, 'shape': (5,), }";
    let mut hdr = dict.as_bytes().to_vec();
    while !(10 + hdr.len() + 1).is_multiple_of(16) {
        hdr.push(b' ');
    }
    hdr.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(hdr.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&hdr);
    bytes.extend_from_slice(&[1, 2, 3, 4, 5]);
    std::fs::write(&p, &bytes).unwrap();
    (p, bytes)
}

/// An `.npz` of three members whose middle one, `c`, is marked deflated (the writer stores;
/// the method is patched in the local header and the central directory, as
/// `np.savez_compressed` would have written it), and a safetensors file with a `BF16` tensor
/// between two numpy ones (row i of `h` holds i), all made by the library's writers. For the
/// command's whole-archive tests (tests/cli.rs, tests/stats.rs).
#[cfg(feature = "cli")]
pub fn mixed_archives(dir: &Path) -> (String, String) {
    let npz = dir.join("mixed.npz");
    let w = ndarray::Array2::<f64>::from_shape_fn((300, 8), |(i, j)| (i * 8 + j) as f64);
    let c = ndarray::Array1::<i32>::from_iter(0..3000);
    let b = ndarray::Array1::<i32>::from_iter(0..5);
    ndmmap::npz::NpzWriter::create(&npz)
        .unwrap()
        .add("w", &w)
        .unwrap()
        .add("c", &c)
        .unwrap()
        .add("b", &b)
        .unwrap()
        .finish()
        .unwrap();
    let mut bytes = std::fs::read(&npz).unwrap();
    for (sig, name_at, method_at) in [(&b"PK\x03\x04"[..], 30, 8), (&b"PK\x01\x02"[..], 46, 10)] {
        let at = (0..bytes.len() - name_at - 5)
            .find(|&i| bytes[i..].starts_with(sig) && bytes[i + name_at..].starts_with(b"c.npy"))
            .unwrap();
        bytes[at + method_at] = 8;
    }
    std::fs::write(&npz, bytes).unwrap();
    let st = dir.join("mixed.safetensors");
    let layer = ndarray::Array2::<f32>::ones((64, 64));
    let h = ndarray::Array2::<half::bf16>::from_shape_fn((128, 64), |(i, _)| {
        half::bf16::from_f32(i as f32)
    });
    ndmmap::safetensors::Writer::new()
        .add("layer0", layer.view())
        .add("h", h.view())
        .add("bias", b.view())
        .write(&st)
        .unwrap();
    let s = |p: std::path::PathBuf| p.to_str().unwrap().to_string();
    (s(npz), s(st))
}

/// The names in `dir`, sorted (hidden ones too: a writer's leftover temporary file is one).
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A tmpfs of a few MiB mounted on a fresh directory (a small or full disk), unmounted and
/// removed on drop.
#[cfg(target_os = "linux")]
pub struct Tmpfs(tempfile::TempDir);

#[cfg(target_os = "linux")]
impl Tmpfs {
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

#[cfg(target_os = "linux")]
impl Drop for Tmpfs {
    /// Unmounts, lazily if busy: a child that another test forked meanwhile may still hold a
    /// descriptor of a file on it.
    fn drop(&mut self) {
        let umount = |lazy: bool| {
            let mut c = std::process::Command::new("umount");
            if lazy {
                c.arg("-l");
            }
            c.arg(self.0.path())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !umount(false) {
            umount(true);
        }
    }
}

/// Mounts a tmpfs of `mib` MiB (root only: `None` after `skip_or_fail` otherwise).
#[cfg(target_os = "linux")]
pub fn small_tmpfs(mib: usize) -> Option<Tmpfs> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("mounting a small tmpfs needs root");
        return None;
    }
    let dir = tmpdir();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        skip_or_fail("mount -t tmpfs failed");
        return None;
    }
    Some(Tmpfs(dir))
}
