//! Concurrent resizes of one `.npy` file (issue 21): forked children resize it in loops while
//! others open it, children are killed while resizing, and the lock protocol itself (openers
//! wait for a resize, a resize waits for openers, a resize of a stale map is refused without
//! touching its pages). After each, the header matches the file's length and every kept row
//! holds its pattern (row `i` is `i` in every column), as `npy::open` and numpy see it.
//!
//! Rows `0..MIN` are never dropped (no child shrinks below `MIN`), so they must hold their
//! pattern in every reader at every moment; a row past `MIN` holds its pattern or, between
//! its growth and its writing, zeros. Once every writer is done, every row holds its pattern:
//! the last resize that made a row zeroed it, and its process then wrote it (a write that
//! faults means the file was cut below the row since, so that resize was not the last).

use super::common;
use ndarray::{ArrayView2, Ix2};
use ndmmap::{Error, MmapArray, NpyError, npy};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// 512-byte rows: row boundaries fall inside pages, and a file's end too.
const COLS: usize = 64;
/// No child shrinks the file below this many rows.
const MIN: usize = 100;
/// Nor grows it past this many.
const MAX: usize = 2500;

/// A small linear congruential generator (the seed is printed, for replaying a failure).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
    /// A row count for a resize.
    fn rows(&mut self) -> usize {
        MIN + self.below((MAX - MIN + 1) as u64) as usize
    }
}

fn seed() -> u64 {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {s}");
    s
}

/// A new file of `rows` rows, each holding its pattern.
fn create(path: &Path, rows: usize) {
    // SAFETY: the test's files are its own until the children start.
    let mut a = unsafe { npy::create::<f64, Ix2, _>(path, (rows, COLS)) }.unwrap();
    write_rows(&mut a, 0, rows).unwrap();
}

/// Writes the pattern into rows `from..to` (those the array still has), guarded: `Err` when
/// another process cut the file under them (what was written before the fault stays).
fn write_rows(a: &mut MmapArray<f64, Ix2>, from: usize, to: usize) -> ndmmap::Result<()> {
    a.guarded_mut(|mut v| {
        for i in from..to.min(v.shape()[0]) {
            v.row_mut(i).fill(i as f64);
        }
    })
}

/// `Err(why)` unless rows `0..MIN` hold their pattern and the others their pattern or zeros,
/// element by element (a row being written is part one, part the other; `settled`: their
/// pattern only).
fn check_rows(v: ArrayView2<'_, f64>, settled: bool) -> Result<(), String> {
    for (i, row) in v.outer_iter().enumerate() {
        let ok = row
            .iter()
            .all(|&x| x == i as f64 || (!settled && i >= MIN && x == 0.0));
        if !ok {
            return Err(format!(
                "row {i} of {} holds {:?}",
                v.shape()[0],
                &row.to_vec()[..4]
            ));
        }
    }
    Ok(())
}

/// The file's header agrees with its length (exactly when `settled`: finished resizes leave
/// nothing after the data), `npy::open` maps it, and its rows hold their pattern (`settled`) or zeros. Returns the rows.
fn check_file(path: &Path, settled: bool) -> usize {
    let h = npy::read_header(path).unwrap();
    let rows = h.shape[0];
    let len = std::fs::metadata(path).unwrap().len();
    let needed = h.data_offset + (rows * COLS * 8) as u64;
    // A resize killed between growing the file and writing the header, or between writing
    // the header and truncating, leaves zeros after the data (numpy ignores them).
    assert!(
        len == needed || (!settled && len > needed),
        "{}: the header says {rows} rows ({needed} bytes), the file is {len} bytes",
        path.display()
    );
    assert!((MIN..=MAX).contains(&rows), "{rows} rows");
    // SAFETY: nobody changes the file any more.
    let a = unsafe { npy::open::<f64, Ix2>(path) }.unwrap();
    assert_eq!(a.shape(), [rows, COLS]);
    check_rows(a.view(), settled).unwrap();
    rows
}

/// numpy's verdict on each file (`np.load` with and without `mmap_mode='r'`): `ok ROWS` or
/// `bad WHY`, one line each; `None` (with a message) when numpy is missing.
fn numpy_checks(paths: &[PathBuf], settled: bool) -> Option<Vec<String>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const CHECK: &str = r#"
import sys, numpy as np
cols, lo, hi, settled = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
for line in sys.stdin:
    try:
        p = line.strip()
        rows = []
        for a in (np.load(p, mmap_mode='r'), np.load(p)):
            n = a.shape[0]
            assert a.dtype == np.float64 and a.shape == (n, cols), (a.dtype, a.shape)
            assert lo <= n <= hi, n
            idx = np.arange(n, dtype=np.float64)[:, None]
            assert (a[:lo] == idx[:lo]).all(), 'a kept row changed'
            ok = (a[lo:] == idx[lo:]) if settled else ((a[lo:] == idx[lo:]) | (a[lo:] == 0))
            assert ok.all(), 'a row is neither its index nor zero'
            rows.append(n)
        assert rows[0] == rows[1], rows
        print('ok', rows[0], flush=True)
    except Exception as e:
        print('bad', repr(e).replace('\n', ' '), flush=True)
"#;
    let numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .stderr(Stdio::null())
        .status();
    if !numpy.is_ok_and(|s| s.success()) {
        common::skip_or_fail("python3 with numpy not found (pip install numpy)");
        return None;
    }
    let mut child = Command::new("python3")
        .args([
            "-c",
            CHECK,
            &COLS.to_string(),
            &MIN.to_string(),
            &MAX.to_string(),
        ])
        .arg(if settled { "1" } else { "0" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    for p in paths {
        writeln!(input, "{}", p.display()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), paths.len(), "{lines:?}");
    Some(lines)
}

/// A resizer child: `iters` resizes to random row counts, writing the pattern into new rows.
/// A resize refused because another process resized first is picked up (`reload_npy`) and
/// tried again; a write cut short by another's shrink likewise. Any other error fails.
fn resizer(a: &mut MmapArray<f64, Ix2>, iters: usize, seed: u64) -> i32 {
    let mut rng = Rng::new(seed);
    let mut done = 0;
    while done < iters {
        let n = rng.rows();
        let old = a.shape()[0];
        match a.resize(n) {
            Ok(()) => {
                done += 1;
                match write_rows(a, old, n) {
                    Ok(()) => {}
                    Err(Error::Fault { .. }) => a.reload_npy().unwrap(),
                    Err(e) => {
                        eprintln!("write: {e}");
                        return 2;
                    }
                }
            }
            Err(Error::Npy {
                kind: NpyError::ResizedElsewhere { mapped_rows, .. },
                ..
            }) if mapped_rows == old => a.reload_npy().unwrap(),
            Err(e) => {
                eprintln!("resize to {n}: {e}");
                return 3;
            }
        }
    }
    0
}

/// A reader child: until `stop` exists, opens the file (`npy::open`, `npy::open_any`) and
/// picks up resizes of an open array (`reload_npy`); each must succeed with a shape the file
/// holds, and rows `0..MIN` must hold their pattern (read guarded: a shrink after the open
/// faults the rows it cut, which is not the opener's error).
fn reader(path: &Path, stop: &Path) -> i32 {
    // SAFETY: the file only changes through resizes, and the rows are read guarded.
    let mut held = unsafe { npy::open::<f64, Ix2>(path) }.unwrap();
    let mut rounds = 0;
    loop {
        let last = stop.exists();
        // SAFETY: as above.
        let a = match unsafe { npy::open::<f64, Ix2>(path) } {
            Ok(a) => a,
            Err(e) => {
                eprintln!("open: {e}");
                return 4;
            }
        };
        let views = [&a, &held];
        for v in views {
            if !(MIN..=MAX).contains(&v.shape()[0]) {
                eprintln!("{} rows", v.shape()[0]);
                return 5;
            }
            match v.guarded(|v| check_rows(v, false)) {
                Ok(Ok(())) | Err(Error::Fault { .. }) => {}
                Ok(Err(why)) => {
                    eprintln!("{why}");
                    return 6;
                }
                Err(e) => {
                    eprintln!("read: {e}");
                    return 7;
                }
            }
        }
        // SAFETY: as above.
        match unsafe { npy::open_any(path) } {
            Ok(any) if any.shape().len() == 2 && (MIN..=MAX).contains(&any.shape()[0]) => {}
            other => {
                eprintln!("open_any: {other:?}");
                return 8;
            }
        }
        if let Err(e) = held.reload_npy() {
            eprintln!("reload_npy: {e}");
            return 9;
        }
        rounds += 1;
        if last {
            break;
        }
    }
    if rounds == 0 { 10 } else { 0 }
}

/// Three resizers (two of them using one array mapped before the fork, so sharing its open
/// file description, one opening the file itself) and two readers, on one file.
#[test]
fn resizers_and_readers_leave_a_consistent_file() {
    let dir = common::tmpdir();
    let path = dir.path().join("shared.npy");
    let stop = dir.path().join("stop");
    create(&path, 1000);
    let seed = seed();
    let started = std::time::Instant::now();
    // SAFETY: every process changes the file only through resizes; rows are written guarded.
    let mut inherited = unsafe { npy::open_mut::<f64, Ix2>(&path) }.unwrap();
    let iters = 300;
    let mut resizers = Vec::new();
    for k in 0..3u64 {
        let seed = seed.wrapping_add(k);
        resizers.push(common::spawn_child(|| {
            if k < 2 {
                resizer(&mut inherited, iters, seed)
            } else {
                // SAFETY: as above.
                let mut own = unsafe { npy::open_mut::<f64, Ix2>(&path) }.unwrap();
                resizer(&mut own, iters, seed)
            }
        }));
    }
    drop(inherited);
    let readers: Vec<_> = (0..2)
        .map(|_| common::spawn_child(|| reader(&path, &stop)))
        .collect();
    for pid in resizers {
        assert_eq!(common::wait(pid), 0, "a resizer failed (seed {seed})");
    }
    std::fs::write(&stop, b"").unwrap();
    for pid in readers {
        assert_eq!(common::wait(pid), 0, "a reader failed (seed {seed})");
    }
    let rows = check_file(&path, true);
    println!(
        "3 x {iters} resizes and 2 readers in {:.2} s; {rows} rows at the end",
        started.elapsed().as_secs_f64()
    );
    if let Some(answers) = numpy_checks(&[path], true) {
        assert!(answers[0].starts_with("ok "), "numpy: {answers:?}");
    }
}

/// Two resizers killed (`SIGKILL`) at random moments, many times: each file loads in
/// `npy::open` and numpy with its kept rows intact, and the dead hold no lock.
#[test]
fn resizers_killed_at_random_moments_leave_files_numpy_loads() {
    let dir = common::tmpdir();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let started = std::time::Instant::now();
    let mut paths = Vec::new();
    let mut rows_seen = std::collections::BTreeSet::new();
    for trial in 0..40 {
        let path = dir.path().join(format!("killed{trial}.npy"));
        create(&path, 1000);
        let pids: Vec<_> = (0..2u64)
            .map(|k| {
                let seed = seed.wrapping_add(trial * 2 + k);
                common::spawn_child(|| {
                    // SAFETY: the file changes only through resizes; rows are written guarded.
                    let mut a = unsafe { npy::open_mut::<f64, Ix2>(&path) }.unwrap();
                    resizer(&mut a, usize::MAX, seed)
                })
            })
            .collect();
        for pid in pids {
            std::thread::sleep(Duration::from_millis(2 + rng.below(40)));
            // SAFETY: signalling our own child.
            assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
            assert_eq!(
                common::wait(pid),
                -libc::SIGKILL,
                "a resizer ended by itself (trial {trial}, seed {seed})"
            );
        }
        rows_seen.insert(check_file(&path, false));
        paths.push(path);
    }
    // The dead hold no lock: a resize goes through at once (an alarm ends a child that waits).
    let last = paths.last().unwrap().clone();
    let code = common::in_child(|| {
        // SAFETY: alarm only schedules a signal.
        unsafe { libc::alarm(10) };
        // SAFETY: nothing else has the file now.
        let mut a = unsafe { npy::open_mut::<f64, Ix2>(&last) }.unwrap();
        a.resize(MIN).unwrap();
        0
    });
    assert_eq!(code, 0, "a resize after the kills failed or waited");
    assert_eq!(check_file(&last, false), MIN);
    println!(
        "40 trials of 2 killed resizers in {:.2} s; rows at the kills: {rows_seen:?}",
        started.elapsed().as_secs_f64()
    );
    if let Some(answers) = numpy_checks(&paths, false) {
        for (p, a) in paths.iter().zip(&answers) {
            assert!(
                a.starts_with("ok "),
                "{}: numpy: {a} (seed {seed})",
                p.display()
            );
        }
    }
}

/// Takes `flock(op)` on a handle of its own for `path` (what another process's resize or
/// opener holds).
fn flocked(path: &Path, op: libc::c_int) -> std::fs::File {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    // SAFETY: flock on our own descriptor.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), op) }, 0);
    f
}

/// Releases a lock from [`flocked`] (`LOCK_UN`: a child forked meanwhile has a copy of the
/// descriptor, and closing ours alone would keep the lock).
fn unlock(f: std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on our own descriptor.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_UN) }, 0);
}

/// Whether the child `pid` is still running (it has not ended yet).
fn running(pid: libc::pid_t) -> bool {
    let mut status = 0;
    // SAFETY: polling our own child.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 }
}

/// The protocol, step by step: an opener waits while a resize holds the exclusive lock, a
/// resize waits while an opener holds the shared one, and both go on when it is released.
/// (A child still waiting after 300 ms proves nothing about timing: it cannot finish at all
/// until the lock is released.)
#[test]
fn openers_wait_for_a_resize_and_a_resize_for_openers() {
    let dir = common::tmpdir();
    let path = dir.path().join("locked.npy");
    create(&path, 200);
    // A resize in progress: the header already says 300 rows, the file holds 200.
    let resizing = flocked(&path, libc::LOCK_EX);
    let h = npy::read_header(&path).unwrap();
    let header = std::fs::read(&path).unwrap()[..h.data_offset as usize].to_vec();
    let at = header.windows(9).position(|w| w == b"(200, 64)").unwrap();
    common::FileExt::write_all_at(
        &std::fs::OpenOptions::new().write(true).open(&path).unwrap(),
        b"(300, 64)",
        at as u64,
    )
    .unwrap();
    let opener = common::spawn_child(|| {
        // SAFETY: the file only changes through resizes.
        let a = unsafe { npy::open::<f64, Ix2>(&path) }.unwrap();
        (a.shape()[0] == 300) as i32 * 42
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        running(opener),
        "an opener read the header while a resize held the lock"
    );
    // The resize finishes (the file grows to what the header says) and lets go.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(h.data_offset + 300 * COLS as u64 * 8)
        .unwrap();
    unlock(resizing);
    assert_eq!(
        common::wait(opener),
        42,
        "the opener did not see the finished resize"
    );

    // A reader holding the shared lock makes a resize wait.
    let reading = flocked(&path, libc::LOCK_SH);
    let resizer = common::spawn_child(|| {
        // SAFETY: as above.
        let mut a = unsafe { npy::open_mut::<f64, Ix2>(&path) }.unwrap();
        a.resize(150).map_or(1, |()| 0)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        running(resizer),
        "a resize ran while an opener held the shared lock"
    );
    assert_eq!(npy::read_header(&path).unwrap().shape, [300, COLS]);
    unlock(reading);
    assert_eq!(common::wait(resizer), 0);
    assert_eq!(check_file(&path, false), 150);
}

/// A map whose file another array shrank (or something truncated) is refused by `resize`
/// with the numbers, and nothing is touched: no `SIGBUS` from the pages the file lost, no
/// change to the file.
#[test]
fn a_stale_map_is_refused_without_touching_its_pages() {
    let dir = common::tmpdir();
    let path = dir.path().join("stale.npy");
    create(&path, 1000);
    // SAFETY: the arrays' pages past the file's end are never read.
    let mut stale = unsafe { npy::open_mut::<f64, Ix2>(&path) }.unwrap();
    let mut other = unsafe { npy::open_mut::<f64, Ix2>(&path) }.unwrap();
    other.resize(120).unwrap();
    let before = std::fs::read(&path).unwrap();
    for n in [5000, 1000, 500, 10] {
        match stale.resize(n) {
            Err(Error::Npy {
                kind:
                    NpyError::ResizedElsewhere {
                        mapped_rows: 1000,
                        file_rows: 120,
                    },
                path: Some(p),
            }) if p == path => {}
            r => panic!("resize({n}) of a stale map: {r:?}"),
        }
        assert_eq!(stale.shape(), [1000, COLS], "the array changed");
        assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    }
    stale.reload_npy().unwrap();
    stale.resize(130).unwrap();
    drop(other);

    // Truncated by something that is not a resize: the header claims rows the file lacks.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(stale.offset() + 50 * COLS as u64 * 8)
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    match stale.resize(200) {
        Err(Error::Npy {
            kind: NpyError::DataPastEnd { .. },
            ..
        }) => {}
        r => panic!("resize of a truncated file: {r:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
}
