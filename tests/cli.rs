//! The `ndmmap` command, run as a built binary (issues 5 and 9).
#![cfg(feature = "cli")]
// Imports used only by the Unix-only tests (page cache, fork, /proc) are unused on Windows.
#![cfg_attr(windows, allow(unused_imports))]

mod common;

use assert_cmd::Command;
use common::*;
use ndarray::{Axis, Ix2};
use std::path::Path;

fn ndmmap() -> Command {
    Command::cargo_bin("ndmmap").unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = ndmmap().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A (rows, cols()) f64 .npy, one page per row (after a 128-byte header: rows straddle pages).
fn npy_file(dir: &Path, rows: usize) -> std::path::PathBuf {
    npy_named(dir, "a.npy", rows)
}

/// [`npy_file`] named `name`.
fn npy_named(dir: &Path, name: &str, rows: usize) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut a = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&p, (rows, cols())).unwrap() };
    a.view_mut().unwrap().fill(1.0);
    a.msync(ndmmap::Flush::Sync).unwrap();
    p
}

#[test]
fn create_then_info_json_matches_the_library() {
    let dir = tmpdir();
    let p = dir.path().join("c.npy");
    let ps = p.to_str().unwrap();
    ndmmap()
        .args([
            "create", ps, "--dtype", "f4", "--shape", "100,30", "--order", "F",
        ])
        .assert()
        .success();
    let v = json(&["info", ps, "--json"]);
    let a = unsafe { ndmmap::npy::open::<f32, Ix2>(&p).unwrap() };
    let span = a.page_span();
    assert_eq!(v["path"], ps);
    assert_eq!(v["dtype"], "<f4");
    assert_eq!(v["shape"], serde_json::json!([100, 30]));
    assert_eq!(v["order"], "F");
    assert_eq!(v["data_offset"], a.offset());
    assert_eq!(v["nbytes"], 12000);
    assert_eq!(v["page_size"], span.page_size);
    assert_eq!(v["lead"], span.lead);
    assert_eq!(v["pages"], span.page_count);
    assert!(v["resident_pages"].as_u64().unwrap() <= span.page_count as u64);
    for key in [
        "dirty_pages",
        "writeback_pages",
        "evicted_pages",
        "recently_evicted_pages",
        "cachestat",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    // The library's own count of the same pages (the test may write the file: it is known).
    let r = a.pages(..).unwrap().residency().unwrap();
    assert_eq!(r.total, span.page_count);
    assert_eq!(v["residency_unknown"], serde_json::Value::Null);
    let text = ndmmap().args(["info", ps]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("<f4") && text.contains("[100, 30]") && text.contains("lead"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn residency_reports_the_rows_the_test_loaded() {
    let dir = tmpdir();
    let ps = page();
    // Raw file, rows of exactly one page, at offset 0: row i is file page i.
    let p = file_with(dir.path(), "r.bin", &pattern(32 * ps));
    let f = cold(&p);
    let loaded = [2usize, 3, 17, 31];
    read_pages(&f, &loaded);
    let path = p.to_str().unwrap();
    let v = json(&[
        "residency",
        path,
        "--dtype",
        "f8",
        "--shape",
        rows_shape(),
        "--json",
    ]);
    let want: Vec<f64> = (0..32)
        .map(|i| if loaded.contains(&i) { 1.0 } else { 0.0 })
        .collect();
    let got: Vec<f64> = v["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!(v["axis"], 0);
    assert_eq!(v["resident_pages"], 4);
    assert_eq!(v["pages"], 32);
    // A slice: rows 16.. only.
    let v = json(&[
        "residency",
        path,
        "--dtype",
        "f8",
        "--shape",
        rows_shape(),
        "--slice",
        "16:,:",
        "--json",
    ]);
    let got: Vec<f64> = v["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(got, want[16..].to_vec());
    // The chart: one column per row when the terminal is wide enough.
    let out = ndmmap()
        .args(["residency", path, "--dtype", "f8", "--shape", rows_shape()])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let chart: String = want
        .iter()
        .map(|&x| if x == 1.0 { 'O' } else { ' ' })
        .collect();
    assert!(text.contains(&format!("[{chart}]")), "{text}");
    assert!(text.contains("4/32 pages resident (12.5%)"), "{text}");
    // Folded into a narrow terminal.
    let out = ndmmap()
        .args(["residency", path, "--dtype", "f8", "--shape", rows_shape()])
        .env("COLUMNS", "10")
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(line.chars().count(), 10, "{line}");
}

#[cfg(unix)]
#[test]
fn touch_and_evict_a_slice() {
    let dir = tmpdir();
    let p = npy_file(dir.path(), 64);
    let path = p.to_str().unwrap();
    cold(&p);
    let out = ndmmap()
        .args(["touch", path, "--slice", "10:20"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let a = unsafe { ndmmap::npy::open::<f64, Ix2>(&p).unwrap() };
    let rows = a.pages(..).unwrap().along(Axis(0)).unwrap();
    assert!(rows[10..20].iter().all(|&x| x == 1.0), "{rows:?}");
    assert_eq!(rows[40], 0.0);
    ndmmap().args(["evict", path]).assert().success();
    assert_eq!(a.pages(..).unwrap().residency().unwrap().resident, 0);
}

/// Kills the child if the test fails before it is waited for.
#[cfg(unix)]
struct Reap(std::process::Child);

#[cfg(unix)]
impl Reap {
    /// `ndmmap lock ARGS` started, its stdin empty, its stderr piped, its stdout `stdout`.
    fn lock(args: &[&str], stdout: std::process::Stdio) -> Reap {
        Reap(
            std::process::Command::new(assert_cmd::cargo::cargo_bin("ndmmap"))
                .arg("lock")
                .args(args)
                .stdin(std::process::Stdio::null())
                .stdout(stdout)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        )
    }
}

#[cfg(unix)]
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[test]
fn lock_holds_until_interrupted() {
    use std::io::BufRead;
    let dir = tmpdir();
    let p = npy_file(dir.path(), 16);
    let args = [p.to_str().unwrap(), "--slice", "0:4"];
    let mut child = Reap::lock(&args, std::process::Stdio::null());
    let mut err = std::io::BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("locked") && line.contains("Ctrl-C"), "{line}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.0.id())).unwrap();
    let vmlck = status
        .lines()
        .find(|l| l.starts_with("VmLck:"))
        .unwrap()
        .to_string();
    assert!(!vmlck.contains(" 0 kB"), "{vmlck}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) };
    assert!(child.0.wait().unwrap().success());
    line.clear();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("released"), "{line}");
}

/// Issue 21: the demo on a TMPDIR too small for its dataset (a 64 MiB tmpfs, 256 MiB asked)
/// ends with status 1 and one line on stderr, not SIGBUS, and removes its directory.
#[cfg(target_os = "linux")]
#[test]
fn demo_on_a_small_tmpdir_fails_cleanly() {
    let Some(fs) = small_tmpfs(64) else {
        return;
    };
    let out = ndmmap()
        .arg("demo")
        .env("TMPDIR", fs.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {err}", out.status);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("268435456 bytes needed"), "{err}");
    assert!(names_in(fs.path()).is_empty(), "{:?}", names_in(fs.path()));
}

/// Issue 21: `stats --json` of a tall array spills its results to unnamed temporary files; on a
/// TMPDIR too small for them it ends with one line that says what to do, status 1, and
/// nothing left behind.
#[cfg(target_os = "linux")]
#[test]
fn stats_json_on_a_small_tmpdir_fails_cleanly() {
    let Some(fs) = small_tmpfs(1) else {
        return;
    };
    let dir = tmpdir();
    // 1,000,000 rows of 2: a million results, tens of MiB of JSON text.
    let path = dir.path().join("tall.npy");
    // SAFETY: the file is this test's alone.
    drop(unsafe { ndmmap::npy::create::<f64, ndarray::Ix2, _>(&path, (1_000_000, 2)).unwrap() });
    let out = ndmmap()
        .args(["stats", path.to_str().unwrap(), "--axis", "1", "--json"])
        .env("TMPDIR", fs.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {err}", out.status);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("No space left on device") && err.contains("set TMPDIR"),
        "{err}"
    );
    assert!(names_in(fs.path()).is_empty(), "{:?}", names_in(fs.path()));
}

#[cfg(unix)]
#[test]
fn demo_runs_and_cleans_up() {
    let tmp = tmpdir();
    let out = ndmmap()
        .args(["demo", "--mib", "8"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "shape [2048, 512]",
        "pages resident",
        "cold (from disk)",
        "hot (page cache)",
        "removed",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the demo removes its files"
    );
    // Its stats line: 2048 rows of 512 columns, row i all i, so each column is 0..2048.
    let line = text
        .lines()
        .find(|l| l.starts_with("stats"))
        .unwrap_or_else(|| panic!("no stats line: {text}"));
    let std = ((2048.0f64 * 2048.0 - 1.0) / 12.0).sqrt();
    for want in [
        "all 512 columns".to_string(),
        "count 2048".into(),
        "mean 1023.5".into(),
        format!("std {}", g6(std)),
        "min 0".into(),
        "max 2047".into(),
    ] {
        assert!(line.contains(&want), "{want}: {line}");
    }
}

/// `x` with six significant digits and no trailing zeros, as the command prints it.
#[cfg(unix)]
fn g6(x: f64) -> String {
    let digits = 5 - x.log10().floor() as usize;
    let s = format!("{x:.digits$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The OS's words for a missing file: ENOENT's text; on Windows, whose text differs between
/// versions (and Wine), ERROR_FILE_NOT_FOUND's number.
const NO_SUCH_FILE: &str = if cfg!(windows) {
    "(os error 2)"
} else {
    "No such file"
};

/// Runs a bad command: exit status 1, one line on stderr naming the problem, no panic.
/// Returns the line.
fn fails(args: &[&str], needle: &str) -> String {
    let out = ndmmap().args(args).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with("ndmmap: error: ") && err.contains(needle),
        "{args:?}: {err}"
    );
    assert!(!err.contains("panicked"));
    err
}

#[test]
fn bad_input_is_one_clear_line_and_status_one() {
    let dir = tmpdir();
    let d = dir.path().to_str().unwrap();
    let missing = format!("{d}/missing.npy");
    fails(&["info", &missing], NO_SUCH_FILE);
    fails(&["info", d], "is a directory");
    let broken =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/broken_magic.npy");
    fails(&["info", broken.to_str().unwrap()], "magic");
    let truncated = broken.with_file_name("broken_truncated_header.npy");
    fails(
        &["residency", truncated.to_str().unwrap()],
        "truncated header",
    );
    let raw = file_with(dir.path(), "raw.bin", &[0; 1000]);
    let raw = raw.to_str().unwrap();
    fails(&["info", raw, "--dtype", "f9"], "f9");
    fails(&["info", raw], "--dtype");
    fails(
        &["info", raw, "--dtype", "f8", "--shape", "100,100"],
        "80000",
    );
    fails(
        &[
            "residency",
            raw,
            "--dtype",
            "u1",
            "--shape",
            "10,100",
            "--slice",
            "10",
        ],
        "out of bounds",
    );
    fails(
        &["residency", raw, "--dtype", "u1", "--slice", "1:x"],
        "not an integer",
    );
    fails(
        &["residency", raw, "--dtype", "u1", "--axis", "3"],
        "axis 3",
    );
    fails(
        &[
            "create",
            &format!("{d}/n.npy"),
            "--dtype",
            "bool",
            "--shape",
            "3",
        ],
        "bool",
    );
    fails(
        &["create", raw, "--dtype", "u1", "--shape", "3"],
        "already exists",
    );
    assert_eq!(
        std::fs::read(raw).unwrap(),
        vec![0; 1000],
        "the existing file is untouched"
    );
}

/// Columns of f8 in one page: 512 with 4 KiB pages.
fn cols() -> usize {
    page() / 8
}

/// `32,{cols()}`: the shape of the rows file.
#[cfg(unix)]
fn rows_shape() -> &'static str {
    static S: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    S.get_or_init(|| format!("32,{}", cols()))
}

/// A raw (32, cols()) f8 file, one row per page, with rows `loaded` (and only they) in the page
/// cache; and `--dtype f8 --shape 32,{cols()}` to read it.
#[cfg(unix)]
fn rows_file(dir: &Path, loaded: &[usize]) -> (std::path::PathBuf, std::fs::File) {
    let p = file_with(dir, "rows.bin", &pattern(32 * page()));
    let f = cold(&p);
    read_pages(&f, loaded);
    (p, f)
}

/// `residency --json` per-slice fractions of the rows file, with `extra` arguments.
#[cfg(unix)]
fn rows_residency(path: &Path, extra: &[&str]) -> (Vec<f64>, serde_json::Value) {
    let mut args = vec![
        "residency",
        path.to_str().unwrap(),
        "--dtype",
        "f8",
        "--shape",
        rows_shape(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let v = json(&args);
    let got = v["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    (got, v)
}

#[cfg(unix)]
#[test]
fn negative_slices_and_axes_mean_what_numpy_means() {
    let dir = tmpdir();
    let loaded = [1usize, 2, 27, 29, 31];
    let (p, _f) = rows_file(dir.path(), &loaded);
    let row = |i: usize| if loaded.contains(&i) { 1.0 } else { 0.0 };
    let rows: Vec<f64> = (0..32).map(row).collect();
    // numpy: a[-5:] is rows 27..32.
    let (got, v) = rows_residency(&p, &["--slice", "-5:"]);
    assert_eq!(got, rows[27..].to_vec());
    assert_eq!(v["slice"], "-5:");
    // a[-1] is row 31, one axis of cols() elements, all on the (resident) page of row 31;
    // a[-2] is row 30, not resident. `--slice=-1` says the same as `--slice -1`.
    for (spec, want) in [("-1", 1.0), ("-2", 0.0)] {
        let (got, _) = rows_residency(&p, &["--slice", spec]);
        assert_eq!(got, vec![want; cols()], "{spec}");
    }
    let (a, _) = rows_residency(&p, &["--slice", "-1"]);
    let (b, _) = rows_residency(&p, &["--slice=-1"]);
    assert_eq!(a, b);
    // Negative steps walk down from the start: a[-1::-2] is rows 31, 29, ..., 1;
    // a[-3:-6:-1] is rows 29, 28, 27.
    let (got, _) = rows_residency(&p, &["--slice", "-1::-2"]);
    let want: Vec<f64> = (0..32).rev().step_by(2).map(row).collect();
    assert_eq!(got, want);
    let (got, _) = rows_residency(&p, &["--slice", "-3:-6:-1"]);
    assert_eq!(got, vec![row(29), row(28), row(27)]);
    // A trailing comma, as numpy's a[-5:,].
    let (got, _) = rows_residency(&p, &["--slice", "-5:,"]);
    assert_eq!(got, rows[27..].to_vec());
    // --axis -1 is the last axis: the cols() columns, each on every page, each 5/32 resident.
    let (got, v) = rows_residency(&p, &["--axis", "-1"]);
    assert_eq!(v["axis"], 1);
    assert_eq!(got, vec![5.0 / 32.0; cols()]);
}

#[cfg(unix)]
#[test]
fn extreme_slice_numbers_are_clamped_as_numpy_does() {
    let dir = tmpdir();
    let loaded = [0usize, 1, 31];
    let (p, _f) = rows_file(dir.path(), &loaded);
    let row = |i: usize| if loaded.contains(&i) { 1.0 } else { 0.0 };
    let (min, max) = ("-9223372036854775808", "9223372036854775807");
    for (spec, want) in [
        // a[1::huge] is row 1 only; a[::-huge] is the last row only.
        (format!("1::{max}"), vec![row(1)]),
        (format!("::{min}"), vec![row(31)]),
        (format!("{min}:"), (0..32).map(row).collect()),
        (format!("{max}:{min}:-1"), (0..32).rev().map(row).collect()),
        (format!("{min}:{max}:{max}"), vec![row(0)]),
        (format!("{max}:"), vec![]),
        // Python saturates bounds beyond 64 bits.
        ("-99999999999999999999:2".into(), vec![row(0), row(1)]),
    ] {
        let (got, _) = rows_residency(&p, &["--slice", &spec]);
        assert_eq!(got, want, "{spec}");
    }
    // The page operations take the same slices without overflowing.
    let path = p.to_str().unwrap();
    for cmd in ["touch", "evict"] {
        for spec in [
            format!("1::{max}"),
            format!("::{min}"),
            format!("{max}:{min}:{min}"),
        ] {
            let out = ndmmap()
                .args([
                    cmd,
                    path,
                    "--dtype",
                    "f8",
                    "--shape",
                    rows_shape(),
                    "--slice",
                    &spec,
                ])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{cmd} {spec}: {err}");
        }
    }
}

/// `info raw --dtype u1 opt value`.
fn raw_info<'a>(raw: &'a str, opt: &'a str, value: &'a str) -> Vec<&'a str> {
    vec!["info", raw, "--dtype", "u1", opt, value]
}

#[test]
fn out_of_range_numbers_are_one_line_and_status_one() {
    let dir = tmpdir();
    let raw = file_with(dir.path(), "raw.bin", &[0; 1000]);
    let raw = raw.to_str().unwrap();
    let u1 = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["residency", raw, "--dtype", "u1", "--shape", "10,100"]
            .map(String::from)
            .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: Vec<String>, needle: &str| {
        fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), needle)
    };
    // Indices past any axis, in and beyond 64 bits.
    for index in [
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "-11,0",
    ] {
        run(u1(&["--slice", index]), "out of bounds");
    }
    run(u1(&["--slice", "1:2:0"]), "zero");
    // Offsets: past the file, past u64, negative, not a number; never a clap usage error.
    let off = |o| raw_info(raw, "--offset", o);
    fails(&off("18446744073709551615"), "past the end");
    fails(&off("18446744073709551616"), "largest file offset");
    fails(&off("-1"), "negative");
    fails(&off("1e3"), "whole number");
    // Shapes whose size overflows, with or without a zero among them, and too many axes.
    let shape = |s| raw_info(raw, "--shape", s);
    fails(&shape("18446744073709551615"), "largest dimension");
    fails(&shape("4294967296,4294967296"), "isize::MAX");
    fails(&shape("0,9223372036854775807,2"), "too big");
    let many = vec!["1"; 65].join(",");
    fails(&shape(&many), "at most 64");
    let d = dir.path().to_str().unwrap();
    let new = format!("{d}/new.npy");
    for (s, needle) in [
        ("9223372036854775807,9223372036854775807", "isize::MAX"),
        ("18446744073709551616", "largest dimension"),
        ("0,4611686018427387904,4", "too big"),
    ] {
        fails(&["create", &new, "--dtype", "u1", "--shape", s], needle);
    }
    assert!(!Path::new(&new).exists(), "nothing is created");
    // Axes: out of range either way, or not a number.
    run(u1(&["--axis", "-3"]), "axis -3");
    run(u1(&["--axis", "99999999999999999999"]), "not an axis");
    run(u1(&["--slice", "0", "--axis", "1"]), "1-dimensional result");
}

#[test]
fn shapes_are_read_as_numpy_tuples() {
    let dir = tmpdir();
    let raw = file_with(dir.path(), "raw.bin", &[0; 24]);
    let raw = raw.to_str().unwrap();
    let shape = |s| raw_info(raw, "--shape", s);
    fails(&shape("3,,4"), "dimension 2: empty");
    fails(&shape(","), "empty");
    fails(&shape(",3"), "empty");
    fails(&shape("3,4,,"), "empty");
    fails(&shape("-3"), "negative");
    fails(&shape("3,-4"), "negative");
    fails(&shape("2.5"), "not a non-negative integer");
    fails(&shape("x"), "not a non-negative integer");
    fails(&shape("(3,4"), "parentheses");
    // numpy's one-axis tuple (3,), spelled with or without its parentheses.
    for s in ["3,", "(3,)", " 3 "] {
        let v = json(&["info", raw, "--dtype", "u1", "--shape", s, "--json"]);
        assert_eq!(v["shape"], serde_json::json!([3]), "{s:?}");
    }
    let v = json(&[
        "info",
        raw,
        "--dtype",
        "u1",
        "--shape",
        "(2, 3, 4)",
        "--json",
    ]);
    assert_eq!(v["shape"], serde_json::json!([2, 3, 4]));
    // create refuses the same, and makes a scalar of the empty shape.
    let d = dir.path().to_str().unwrap();
    let c = format!("{d}/c.npy");
    fails(&["create", &c, "--dtype", "f8", "--shape", "3,,4"], "empty");
    fails(
        &["create", &c, "--dtype", "f8", "--shape", "-3"],
        "negative",
    );
    assert!(!Path::new(&c).exists());
    ndmmap()
        .args(["create", &c, "--dtype", "f8", "--shape", ""])
        .assert()
        .success();
    let v = json(&["info", &c, "--json"]);
    assert_eq!(v["shape"], serde_json::json!([]));
    assert_eq!(v["nbytes"], 8);
}

#[cfg(unix)]
#[test]
fn scalars_get_a_word_about_scalars() {
    let dir = tmpdir();
    let scalar =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/scalar_0d.npy");
    let scalar = scalar.to_str().unwrap();
    fails(
        &["residency", scalar, "--slice", "0"],
        "0-dimensional (a scalar)",
    );
    fails(&["residency", scalar, "--slice", "0,0"], "scalar");
    fails(&["touch", scalar, "--slice", "0"], "scalar");
    fails(&["residency", scalar], "0-dimensional (a scalar)");
    fails(&["residency", scalar, "--axis", "0"], "scalar");
    // Page operations on a scalar work on its page.
    for cmd in ["touch", "evict"] {
        ndmmap().args([cmd, scalar]).assert().success();
    }
    // All indices select one element: residency along an axis says how to keep one.
    let p = npy_file(dir.path(), 4);
    let path = p.to_str().unwrap();
    fails(
        &["residency", path, "--slice", "0,0"],
        "the slice 0,0 selects a single element (a scalar); residency per axis needs at least \
         one sliced axis: use 0:1,0",
    );
    fails(&["residency", path, "--slice", "-1,7"], "use 3:4,7");
    // ... and the page operations work on that element's page.
    cold(&p);
    let out = ndmmap()
        .args(["touch", path, "--slice", "-1,-1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = unsafe { ndmmap::npy::open::<f64, Ix2>(&p).unwrap() };
    let span = a.page_span();
    let last = (span.lead + (a.len() - 1) * 8) / span.page_size;
    let pages = a.pages(..).unwrap().mincore().unwrap();
    // Page 0 holds the header, which the command read; the pages between stay cold.
    assert!(pages[last], "{pages:?}");
    assert!(pages[1..last].iter().all(|&r| !r), "{pages:?}");
    ndmmap()
        .args(["evict", path, "--slice", "-1,-1"])
        .assert()
        .success();
    assert!(!a.pages(..).unwrap().mincore().unwrap()[last]);
}

#[cfg(unix)]
#[test]
fn every_error_is_one_bounded_line() {
    let dir = tmpdir();
    let d = dir.path();
    // A newline in a path would end the line early.
    let nl = d.join("x\ny");
    std::fs::create_dir(&nl).unwrap();
    let p = nl.join("m.npy");
    fails(&["info", p.to_str().unwrap()], "No such file");
    // A long message keeps its start and its end (the OS's reason).
    let long = d
        .join("a".repeat(250))
        .join(format!("{}.npy", "b".repeat(250)));
    let err = fails(&["info", long.to_str().unwrap()], "…");
    assert!(
        err.trim_end()
            .ends_with("No such file or directory (os error 2)"),
        "{err}"
    );
    assert!(
        err.trim_end().chars().count() <= "ndmmap: error: ".len() + 300,
        "{err}"
    );
    // A hostile header: a dtype of 3000 lines.
    let descr = "z\n".repeat(3000);
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3,), }}");
    let mut h = header.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&h);
    let hostile = file_with(d, "hostile.npy", &bytes);
    let err = fails(&["info", hostile.to_str().unwrap()], "");
    assert!(
        err.trim_end().chars().count() <= "ndmmap: error: ".len() + 300,
        "{err}"
    );
    // Bad values of typed options are reported the same way, not as clap usage errors.
    let raw = file_with(d, "raw.bin", &[0; 8]);
    let raw = raw.to_str().unwrap();
    fails(
        &["residency", raw, "--dtype", "u1", "--axis", "x"],
        "not an axis",
    );
    fails(&["demo", "--mib", "-1"], "--mib");
    fails(&["demo", "--mib", "0"], "at least 1 MiB");
}

/// Issue 22: misuse of the syntax (an unknown flag or subcommand, a missing FILE, a flag
/// without its value, a flag given twice) is at most three lines: the error, the usage line
/// when clap has one, the hint to --help; status 2. --help and --version print in full.
#[test]
fn usage_errors_are_three_lines_and_status_two() {
    for (args, needle) in [
        (&["info", "--jsn", "x.npy"][..], "'--jsn'"),
        (&["info"][..], "<FILE>"),
        (&["touch"][..], "<FILE>"),
        (&["residency", "x.npy", "--slice"][..], "--slice"),
        (&["frob"][..], "'frob'"),
        (&["evict", "x.npy", "--json", "--json"][..], "--json"),
    ] {
        let out = ndmmap().args(args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert!((2..=3).contains(&lines.len()), "{args:?}: {err}");
        assert!(lines[0].starts_with("ndmmap: error: ") && lines[0].contains(needle));
        assert_eq!(
            lines[lines.len() - 1],
            "For more information, try '--help'."
        );
        if lines.len() == 3 {
            assert!(lines[1].starts_with("Usage: ndmmap"), "{err}");
        }
    }
    // clap's tip joins the error's line.
    let out = ndmmap().args(["info", "--jsn", "x.npy"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.lines().next().unwrap().contains("'--json'"), "{err}");
    for args in [
        &["--help"][..],
        &["evict", "--help"][..],
        &["--version"][..],
    ] {
        let out = ndmmap().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty() && out.stderr.is_empty(), "{args:?}");
    }
    let help = ndmmap().args(["evict", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("--sync") && help.contains("--json"), "{help}");
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tmpdir();
    let p = npy_file(dir.path(), 4);
    for args in [
        vec!["info", p.to_str().unwrap()],
        vec!["residency", p.to_str().unwrap(), "--json"],
    ] {
        // The reading end is gone before the command writes its first line.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ndmmap"))
            .args(&args)
            .stdout(writer)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// Runs the command, returning (status code, stdout, stderr).
#[cfg(unix)]
fn run(args: &[&str], columns: &str) -> (Option<i32>, String, String) {
    let out = ndmmap()
        .args(args)
        .env("COLUMNS", columns)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[cfg(unix)]
#[test]
fn several_files_per_command_as_vmtouch_takes_them() {
    let dir = tmpdir();
    let a = npy_named(dir.path(), "a.npy", 8);
    let b = npy_named(dir.path(), "b.npy", 16);
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    cold(&a);
    cold(&b);
    // touch and evict: one line per file, each naming its file.
    let (code, out, err) = run(&["touch", pa, pb], "80");
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!("{pa}: touched 9 pages")),
        "{out}"
    );
    assert!(
        lines[1].starts_with(&format!("{pb}: touched 17 pages")),
        "{out}"
    );
    for p in [&a, &b] {
        let m = unsafe { ndmmap::npy::open::<f64, Ix2>(p).unwrap() };
        let r = m.pages(..).unwrap().residency().unwrap();
        assert_eq!(r.resident, r.total, "{}", p.display());
    }
    let (code, out, _) = run(&["evict", pa, pb], "80");
    assert_eq!(code, Some(0));
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{pb}: evicted 17 of 17 pages: 0 still resident")),
        "{out}"
    );
    // info: one block per file, a blank line between.
    let (code, out, _) = run(&["info", pa, pb], "80");
    assert_eq!(code, Some(0));
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{out}");
    assert!(
        blocks[0].starts_with(&format!("path         {pa}")),
        "{out}"
    );
    assert!(
        blocks[1].starts_with(&format!("path         {pb}")),
        "{out}"
    );
    // residency: one chart per file.
    let (code, out, _) = run(&["residency", pa, pb], "80");
    assert_eq!(code, Some(0));
    let c = cols();
    assert!(out.contains(&format!("{pa}  <f8 [8, {c}]")), "{out}");
    assert!(out.contains(&format!("{pb}  <f8 [16, {c}]")), "{out}");
    assert!(
        out.contains("8 slices") && out.contains("16 slices"),
        "{out}"
    );
    // A file that fails gets its one line; the others are still done; the status is 1.
    let missing = dir.path().join("missing.npy");
    let pm = missing.to_str().unwrap();
    let (code, out, err) = run(&["touch", pa, pm, pb], "80");
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("ndmmap: error: ") && err.contains("missing.npy"),
        "{err}"
    );
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn json_is_one_object_for_one_file_and_an_array_for_several() {
    let dir = tmpdir();
    let a = npy_named(dir.path(), "a.npy", 8);
    let b = npy_named(dir.path(), "b.npy", 16);
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    for cmd in ["info", "residency"] {
        let one = json(&[cmd, pa, "--json"]);
        assert!(one.is_object(), "{cmd}: {one}");
        assert_eq!(one["path"], pa);
        let both = json(&[cmd, pa, pb, "--json"]);
        let arr = both.as_array().unwrap_or_else(|| panic!("{cmd}: {both}"));
        assert_eq!(arr.len(), 2);
        assert_eq!(arr[0], one, "{cmd}: the same object as alone");
        assert_eq!(arr[1]["path"], pb);
        assert_eq!(arr[1]["shape"], serde_json::json!([16, cols()]));
        assert_eq!(arr[1]["pages"], 17);
    }
    let r = json(&["residency", pb, "--json"]);
    assert_eq!(r["slices"].as_array().unwrap().len(), 16);
    // A failing file is left out of the array, reported on stderr, and the status is 1.
    let missing = dir.path().join("missing.npy");
    let out = ndmmap()
        .args(["info", pa, missing.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.npy"));
}

#[cfg(unix)]
#[test]
fn words_agree_with_their_numbers() {
    let dir = tmpdir();
    // One page: 8 u1 elements at offset 0 of a raw file.
    let raw = file_with(dir.path(), "one.bin", &[7; 8]);
    let raw = raw.to_str().unwrap();
    let u1 = |cmd: &'static str| vec![cmd, raw, "--dtype", "u1"];
    let (_, out, _) = run(&[u1("touch"), vec![]].concat(), "80");
    let one = format!("touched 1 page ({:.1} KiB) in ", page() as f64 / 1024.0);
    assert!(out.starts_with(&one), "{out}");
    assert!(out.contains("-> 1 of 1"), "{out}");
    let (_, out, _) = run(&u1("evict"), "80");
    assert!(out.starts_with("evicted 1 of 1 page: "), "{out}");
    let (_, out, _) = run(&u1("info"), "80");
    assert!(out.contains("data offset  0 bytes"), "{out}");
    assert!(out.contains("data         8 bytes"), "{out}");
    assert!(
        out.contains("lead         0 bytes of the first page lie before"),
        "{out}"
    );
    let (_, out, _) = run(&[u1("residency"), vec!["--slice", "3:4"]].concat(), "80");
    assert!(out.contains("1 slice, 0/1 page resident"), "{out}");
    assert!(out.contains("a column is 1 slice"), "{out}");
    let (_, out, _) = run(&[u1("residency"), vec!["--slice", "3:5"]].concat(), "80");
    assert!(out.contains("2 slices, 0/1 page resident"), "{out}");
    // One byte after a one-byte offset: "1 byte ... lies".
    let (_, out, _) = run(
        &[u1("info"), vec!["--offset", "1", "--shape", "1"]].concat(),
        "80",
    );
    assert!(out.contains("data offset  1 byte\n"), "{out}");
    assert!(out.contains("data         1 byte"), "{out}");
    assert!(
        out.contains("lead         1 byte of the first page lies before"),
        "{out}"
    );
    // Many pages and many slices.
    let p = npy_file(dir.path(), 4);
    let (_, out, _) = run(&["touch", p.to_str().unwrap()], "80");
    let five = format!("touched 5 pages ({:.1} KiB)", 5.0 * page() as f64 / 1024.0);
    assert!(out.starts_with(&five), "{out}");
}

#[cfg(unix)]
#[test]
fn the_chart_has_an_index_scale_and_a_legend() {
    let dir = tmpdir();
    let loaded = [2usize, 3, 17, 31];
    let (p, _f) = rows_file(dir.path(), &loaded);
    let path = p.to_str().unwrap();
    let raw = ["--dtype", "f8", "--shape", rows_shape()];
    let chart = |extra: &[&str], cols: &str| {
        let (code, out, err) = run(&[&["residency", path][..], &raw, extra].concat(), cols);
        assert_eq!(code, Some(0), "{err}");
        out.lines().map(String::from).collect::<Vec<_>>()
    };
    // One column per row: the scale puts 0 under the first column, 31 under the last.
    let lines = chart(&[], "80");
    assert_eq!(lines[1].chars().count(), 34, "{lines:?}");
    assert_eq!(lines[2], format!(" 0{}31", " ".repeat(29)));
    assert_eq!(
        lines[4],
        "'O' all pages resident, 'o' half or more, '.' under half, ' ' none; a column is 1 slice"
    );
    // Folded into 8 columns of 4 rows each: rows 0-3 hold 2 resident rows ('o'), 16-19
    // and 28-31 one each ('.').
    let lines = chart(&[], "10");
    assert_eq!(lines[1], "[o   .  .]");
    assert_eq!(lines[2], " 0     31");
    assert!(lines[4].ends_with("a column is 4 slices"), "{lines:?}");
    // The scale counts the array's rows: a slice from 16, and one walking backwards.
    let lines = chart(&["--slice", "16:"], "80");
    assert_eq!(lines[2], format!(" 16{}31", " ".repeat(12)));
    let lines = chart(&["--slice", "::-1"], "80");
    assert_eq!(lines[2], format!(" 31{}0", " ".repeat(29)));
    let want: String = (0..32)
        .rev()
        .map(|i| if loaded.contains(&i) { 'O' } else { ' ' })
        .collect();
    assert_eq!(lines[1], format!("[{want}]"));
    // Uneven folds say so; a chart along a non-contiguous axis (the columns) folds the same.
    let lines = chart(&["--axis", "1"], "7");
    assert_eq!(lines[1], "[.....]");
    assert!(
        lines[4].ends_with("a column is 102 or 103 slices"),
        "{lines:?}"
    );
    assert_eq!(lines[2], " 0 511");
}

#[cfg(unix)]
#[test]
fn touch_visits_pages_in_ascending_order_whatever_the_steps() {
    let dir = tmpdir();
    let p = npy_file(dir.path(), 64);
    let path = p.to_str().unwrap();
    for spec in ["::-1", "::-1,::-1", "60:2:-3"] {
        cold(&p);
        let (code, out, err) = run(&["touch", path, "--slice", spec], "80");
        assert_eq!(code, Some(0), "{spec}: {err}");
        let a = unsafe { ndmmap::npy::open::<f64, Ix2>(&p).unwrap() };
        use ndarray::s;
        // numpy's 60:2:-3 is rows 60, 57, ..., 3: ndarray's 3..61 stepping -3 from the end.
        let pages = match spec {
            "::-1" => a.pages(s![..;-1, ..]),
            "::-1,::-1" => a.pages(s![..;-1, ..;-1]),
            _ => a.pages(s![3..61;-3, ..]),
        }
        .unwrap();
        let r = pages.residency().unwrap();
        assert_eq!(r.resident, r.total, "{spec}: {out}");
        assert!(
            out.contains(&format!("touched {} pages", pages.len())),
            "{out}"
        );
    }
}

#[test]
fn a_progress_bar_only_on_a_terminal() {
    let dir = tmpdir();
    let p = npy_file(dir.path(), 64);
    let path = p.to_str().unwrap();
    // Not a terminal: nothing on stderr.
    let out = ndmmap().args(["touch", path]).output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A terminal (a pseudo-terminal from util-linux's `script`): the bar, in bytes.
    if cfg!(windows) {
        // Not a missing prerequisite: Windows has no `script` (the suite runs there under Wine).
        println!("skipped the terminal half: `script` and its pseudo-terminal are Unix-only");
        return;
    }
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
        && skip_or_fail(
            "the terminal half needs `script` (util-linux; Debian: apt-get install bsdutils)",
        )
    {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("ndmmap");
    let cmd = format!("{} touch {path}", bin.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("touching") && text.contains("KiB"),
        "{text:?}"
    );
    assert!(text.contains("ETA"), "{text:?}");
}

/// A command that makes this process run `ndmmap` as user `nobody`, or why there is none.
#[cfg(unix)]
fn as_nobody() -> Result<Vec<String>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root: cannot switch to nobody (run the tests as root)".into());
    }
    let have = |c: &str| std::process::Command::new(c).arg("--help").output().is_ok();
    if have("setpriv") {
        Ok([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
        .map(String::from)
        .to_vec())
    } else if have("runuser") {
        Ok(["runuser", "-u", "nobody", "--"].map(String::from).to_vec())
    } else {
        Err("neither setpriv nor runuser is installed (util-linux)".into())
    }
}

#[cfg(unix)]
#[test]
fn residency_hidden_by_the_kernel_is_unknown_never_a_number() {
    let prefix = match as_nobody() {
        Ok(p) => p,
        Err(why) => {
            skip_or_fail(&why);
            return;
        }
    };
    use std::os::unix::fs::PermissionsExt;
    let dir = tmpdir();
    // nobody may enter the directory, run the binary and read (not write) the file.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("ndmmap");
    std::fs::copy(assert_cmd::cargo::cargo_bin("ndmmap"), &bin).unwrap();
    let p = npy_file(dir.path(), 16);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = p.to_str().unwrap();
    let nobody = |args: &[&str]| {
        let out = std::process::Command::new(&prefix[0])
            .args(&prefix[1..])
            .arg(&bin)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, who, _) = {
        let out = std::process::Command::new(&prefix[0])
            .args(&prefix[1..])
            .args(["id", "-u"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            (),
        )
    };
    assert_eq!((code, who.trim()), (Some(0), "65534"));
    // The pages are all cold; mincore would claim them all resident to nobody.
    cold(&p);
    let (code, out, err) = nobody(&["info", path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("shape        [16, {}]", cols())),
        "the other facts: {out}"
    );
    let line = out.lines().find(|l| l.starts_with("resident")).unwrap();
    assert!(line.starts_with("resident     unknown ("), "{line}");
    assert!(
        line.contains("owner") && line.contains("root"),
        "reason and remedy: {line}"
    );
    assert!(!out.contains("pages ("), "no count: {out}");
    let (code, out, _) = nobody(&["info", path, "--json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["resident_pages"], serde_json::Value::Null);
    assert!(
        v["residency_unknown"].as_str().unwrap().contains("owner"),
        "{v}"
    );
    assert_eq!(v["pages"], 17);
    // residency: a one-line warning, status 1, no chart.
    let (code, out, err) = nobody(&["residency", path]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty(), "no chart: {out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("ndmmap: warning: ") && err.contains("residency unknown"),
        "{err}"
    );
    let (code, out, _) = nobody(&["residency", path, "--json"]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["slices"], serde_json::Value::Null);
    assert_eq!(v["resident_pages"], serde_json::Value::Null);
    // touch and evict do their work but claim no count.
    let (code, out, err) = nobody(&["touch", path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("touched 17 pages") && out.contains("resident count unknown"),
        "{out}"
    );
    assert!(!out.contains("->"), "{out}");
    let a = unsafe { ndmmap::npy::open::<f64, Ix2>(&p).unwrap() };
    let r = a.pages(..).unwrap().residency().unwrap();
    assert_eq!(
        r.resident, r.total,
        "nobody's touch loaded the pages (seen by root)"
    );
    let (code, out, _) = nobody(&["evict", path]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("evicted up to 17 pages; resident count unknown"),
        "{out}"
    );
    assert_eq!(a.pages(..).unwrap().residency().unwrap().resident, 0);
    // Root, who may write the file, gets the count: the header's page, which `info` read.
    let (code, out, _) = run(&["info", path], "80");
    assert_eq!(code, Some(0));
    assert!(out.contains("resident     1 page (5.9%)"), "{out}");
}

/// Every subcommand on a file another process truncates: status 1 and one line, never a
/// signal death. `touch` reads the pages, so its truncation lands mid-read (a cold 256 MiB
/// file takes a while to read); the others meet it when they open the file or lock it.
#[cfg(unix)]
#[test]
fn a_file_truncated_under_the_command_is_an_error_not_a_signal() {
    let dir = tmpdir();
    let p = dir.path().join("cut.npy");
    let bin = env!("CARGO_BIN_EXE_ndmmap");
    let mut mid_touch = 0;
    for round in 0..4 {
        let _ = std::fs::remove_file(&p);
        let mut a = unsafe { ndmmap::npy::create::<u8, Ix2, _>(&p, (65536, 4096)).unwrap() };
        a.view_mut().unwrap().fill(1); // real blocks, so reading them back is disk I/O
        a.msync(ndmmap::Flush::Sync).unwrap();
        drop(a);
        ndmmap::evict(&std::fs::File::open(&p).unwrap()).unwrap();
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("touch").arg(&p);
        let (code, err) = truncated_under(cmd, &p, 1 << 20, 20 + 20 * round);
        if code == 1 && err.contains("faulted") {
            mid_touch += 1;
            assert!(err.contains("truncated"), "{err}");
        }
    }
    if mid_touch == 0 {
        eprintln!(
            "note: no truncation landed while touch was reading; only the others were checked"
        );
    }
    // The file is now shorter than its header says: every subcommand refuses it in one line.
    for cmd in ["info", "residency", "touch", "evict", "lock"] {
        let out = std::process::Command::new(bin)
            .arg(cmd)
            .arg(&p)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
        assert!(
            err.contains("shorter") || err.contains("bytes long"),
            "{cmd}: {err}"
        );
    }
}

/// An `.npz` with an unaligned-looking set of members and a safetensors file, made by the
/// library's writers.
fn archives(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let npz = dir.join("m.npz");
    let w = ndarray::Array2::<f64>::from_shape_fn((300, 8), |(i, j)| (i * 8 + j) as f64);
    let b = ndarray::Array1::<i32>::from_iter(0..5);
    ndmmap::npz::NpzWriter::create(&npz)
        .unwrap()
        .add("w", &w)
        .unwrap()
        .add("b", &b)
        .unwrap()
        .finish()
        .unwrap();
    let st = dir.join("m.safetensors");
    let layer = ndarray::Array2::<f32>::ones((64, 64));
    ndmmap::safetensors::Writer::new()
        .add("layer0", layer.view())
        .add("bias", b.view())
        .write(&st)
        .unwrap();
    (npz, st)
}

#[cfg(unix)]
#[test]
fn archive_members_are_addressed_as_file_colon_name() {
    let dir = tmpdir();
    let (npz, st) = archives(dir.path());
    let (npz, st) = (npz.to_str().unwrap(), st.to_str().unwrap());
    // `info FILE` lists the members with their residency (an object per member for --json).
    let v = json(&["info", npz, "--json"]);
    let names: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(names, [serde_json::json!("w"), serde_json::json!("b")]);
    assert_eq!(v[0]["path"], format!("{npz}:w"));
    assert_eq!(v[0]["dtype"], "<f8");
    assert_eq!(v[0]["shape"], serde_json::json!([300, 8]));
    assert_eq!(v[0]["nbytes"], 300 * 8 * 8);
    let m0 = &v[0];
    assert!(m0["resident_pages"].as_u64().unwrap() <= m0["pages"].as_u64().unwrap());
    let text = ndmmap().args(["info", st]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("layer0") && text.contains("<f4") && text.contains("[64, 64]"),
        "{text}"
    );
    // A member is an array like any other: info, stats, residency, touch, evict.
    let member = format!("{npz}:w");
    let v = json(&["info", &member, "--json"]);
    let lib = ndmmap::npz::Npz::open(dir.path().join("m.npz")).unwrap();
    assert_eq!(v["data_offset"], lib.member("w").unwrap().data_offset);
    assert_eq!(v["shape"], serde_json::json!([300, 8]));
    let s = json(&["stats", &member, "--json"]);
    assert_eq!(
        s["max"],
        serde_json::json!([
            2392.0, 2393.0, 2394.0, 2395.0, 2396.0, 2397.0, 2398.0, 2399.0
        ])
    );
    let f = dir.path().join("m.npz");
    let file = std::fs::File::open(&f).unwrap();
    ndmmap::evict(&file).unwrap();
    ndmmap().args(["touch", &member]).assert().success();
    let r = json(&["residency", &member, "--json"]);
    assert_eq!(r["resident_pages"], r["pages"], "{r}");
    ndmmap()
        .args(["evict", &format!("{st}:layer0")])
        .assert()
        .success();
    let s = json(&["stats", &format!("{st}:layer0"), "--json"]);
    assert_eq!(s["mean"], serde_json::json!(vec![1.0; 64]));
}

#[test]
fn archive_mistakes_are_one_line() {
    let dir = tmpdir();
    let (npz, st) = archives(dir.path());
    let (npz, st) = (npz.to_str().unwrap(), st.to_str().unwrap());
    fails(
        &["info", &format!("{npz}:nope")],
        "has no member named \"nope\"; it has: \"w\", \"b\"",
    );
    fails(&["info", &format!("{st}:nope")], "nope");
    fails(&["touch", &format!("{npz}:")], "no member named \"\"");
    fails(
        &["info", &format!("{npz}:w"), "--dtype", "f8"],
        "an archive's member describes itself",
    );
    fails(
        &["info", &format!("{}/missing.npz:w", dir.path().display())],
        "missing.npz",
    );
    // Any byte offset works for raw files: the command never needs aligned values.
    let raw = dir.path().join("off.bin");
    let mut bytes = vec![7u8; 100];
    bytes.extend((0..1000).flat_map(|i| (i as f64).to_le_bytes()));
    std::fs::write(&raw, bytes).unwrap();
    let raw = raw.to_str().unwrap();
    let s = json(&["stats", raw, "--dtype", "f8", "--offset", "100", "--json"]);
    assert_eq!(s["max"], serde_json::json!([999.0]));
    ndmmap()
        .args(["residency", raw, "--dtype", "f8", "--offset", "100"])
        .assert()
        .success();
}

/// The object of `--json`'s array whose path ends in `:name`.
fn by_name<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let tail = format!(":{name}");
    v.as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with(&tail))
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

/// Runs the command: its status, stdout and stderr.
fn outputs(args: &[&str]) -> (Option<i32>, String, String) {
    let out = ndmmap().args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

#[test]
fn info_lists_every_entry_of_a_whole_archive() {
    let dir = tmpdir();
    let (npz, st) = mixed_archives(dir.path());
    let v = json(&["info", &npz, "--json"]);
    let v = v.as_array().unwrap();
    let names: Vec<_> = v.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["w", "c", "b"]);
    assert_eq!(v[0]["path"], format!("{npz}:w"));
    assert_eq!(v[0]["unmappable"], serde_json::Value::Null);
    let why = v[1]["unmappable"].as_str().unwrap();
    assert!(why.contains("compressed"), "{why}");
    assert_eq!(
        (v[2]["dtype"].as_str(), v[2]["nbytes"].as_u64()),
        (Some("<i4"), Some(20))
    );
    let v = json(&["info", &st, "--json"]);
    // The tensors in the order of their data (the writer's, not the order they were added).
    let h = by_name(&v, "h");
    assert_eq!(
        (h["name"].as_str(), h["dtype"].as_str()),
        (Some("h"), Some("BF16"))
    );
    assert_eq!(h["shape"], serde_json::json!([128, 64]));
    assert_eq!(h["nbytes"], 128 * 64 * 2);
    // Text: a line per entry, the unmappable one with its reason; status 0 (nothing failed).
    let (code, out, err) = outputs(&["info", &npz]);
    assert_eq!(code, Some(0), "{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .to_string()
    };
    assert!(
        line("w").contains("[300, 8]") && line("w").contains("<f8"),
        "{out}"
    );
    assert!(line("c").contains("compressed"), "{out}");
    let (_, out, _) = outputs(&["info", &st]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("h ") && l.contains("BF16")),
        "{out}"
    );
}

#[cfg(unix)]
#[test]
fn page_commands_act_on_every_entry_of_a_whole_archive() {
    let dir = tmpdir();
    let (npz, st) = mixed_archives(dir.path());
    let cold_all = || {
        for f in [&npz, &st] {
            ndmmap::evict(&std::fs::File::open(f).unwrap()).unwrap();
        }
    };
    // safetensors, BF16 included: every entry touched, then fully resident.
    cold_all();
    let (code, out, err) = outputs(&["touch", &st]);
    assert_eq!(code, Some(0), "{err}");
    for name in ["layer0", "h", "bias"] {
        assert!(out.contains(&format!("{st}:{name}: touched")), "{out}");
    }
    let all = json(&["residency", &st, "--json"]);
    let v = all.as_array().unwrap();
    assert_eq!(v.len(), 3);
    for e in v {
        assert_eq!(e["resident_pages"], e["pages"], "{e}");
    }
    let h = by_name(&all, "h");
    assert_eq!(
        (h["path"].as_str(), h["dtype"].as_str()),
        (Some(&*format!("{st}:h")), Some("BF16"))
    );
    assert_eq!(h["slices"].as_array().unwrap().len(), 128);
    // A chart per entry, titled FILE:NAME.
    let (code, out, _) = outputs(&["residency", &st]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!("{st}:h  BF16 [128, 64]  axis 0")),
        "{out}"
    );
    assert_eq!(out.matches("resident (").count(), 3, "{out}");
    // An archive with a compressed member: its stored bytes are pages like any other's, so
    // every page command acts on all three (a chart of its pages; no dtype, no axis).
    cold_all();
    let (code, out, err) = outputs(&["touch", &npz]);
    assert_eq!(code, Some(0), "{err}");
    for name in ["w", "c", "b"] {
        assert!(out.contains(&format!("{npz}:{name}: touched")), "{out}");
    }
    let v = json(&["residency", &npz, "--json"]);
    let v = v.as_array().unwrap();
    let names: Vec<_> = v.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [format!("{npz}:w"), format!("{npz}:c"), format!("{npz}:b")]
    );
    for e in v {
        assert_eq!(e["resident_pages"], e["pages"], "{e}");
    }
    let c = &v[1];
    let null = &serde_json::Value::Null;
    assert_eq!(
        (&c["dtype"], &c["shape"], &c["axis"]),
        (null, null, null),
        "{c}"
    );
    let pages = c["pages"].as_u64().unwrap() as usize;
    assert_eq!(c["slices"].as_array().unwrap().len(), pages, "{c}");
    let (code, out, err) = outputs(&["residency", &format!("{npz}:c")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with(&format!("{npz}:c  ? ?  ")), "{out}");
    assert!(out.contains("a column is 1 page"), "{out}");
    let (code, out, err) = outputs(&["evict", "--sync", &npz]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.matches(": evicted ").count(), 3, "{out}");
    // (Opening the archive again reads its directory, and readahead the pages around it.)
    assert!(out.contains(&format!("{npz}:c: evicted ")), "{out}");
    assert!(
        out.lines().all(|l| l.ends_with(": 0 still resident")),
        "{out}"
    );
    // What reads its values cannot: a slice of it, and stats (status 1, the others done).
    let (code, _, err) = outputs(&["touch", &format!("{npz}:c"), "--slice", "0"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("compressed") && err.contains("leave out --slice"),
        "{err}"
    );
    let (code, out, err) = outputs(&["stats", &npz]);
    assert_eq!((code, err.lines().count()), (Some(1), 1), "{err}");
    assert!(err.contains("\"c\"") && err.contains("np.savez"), "{err}");
    assert!(
        out.contains(&format!("{npz}:w ")) && out.contains(&format!("{npz}:b ")),
        "{out}"
    );
    // A slice applies to each entry: one that does not fit is that entry's error.
    let (code, out, err) = outputs(&["evict", &st, "--slice", "100:"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.matches(": evicted ").count(), 3, "{out}");
    let (code, _, err) = outputs(&["touch", &st, "--slice", "0,0"]);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("{st}:bias")), "{err}");
}

/// `stats FILE.npz` reduces the numeric members and passes over the others with a note
/// (status 0); named alone, such a member is an error.
#[test]
fn stats_of_a_whole_archive_skip_what_holds_no_numbers_to_reduce() {
    let dir = tmpdir();
    let path = dir.path().join("z.npz");
    let x = ndarray::Array1::<f64>::from_iter((0..10).map(f64::from));
    let z = ndarray::Array1::from_elem(4, num_complex::Complex64::new(1.0, 2.0));
    ndmmap::npz::NpzWriter::create(&path)
        .unwrap()
        .add("z", &z)
        .unwrap()
        .add("x", &x)
        .unwrap()
        .finish()
        .unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = outputs(&["stats", p]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err.trim_end(),
        format!("ndmmap: skipped `{p}:z`: stats do not reduce <c16 elements")
    );
    assert!(
        out.contains(&format!("{p}:x  <f8 [10]")) && out.contains("4.5"),
        "{out}"
    );
    let v = json(&["stats", p, "--json"]);
    let paths: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].clone())
        .collect();
    assert_eq!(paths, [serde_json::json!(format!("{p}:x"))]);
    let (code, _, err) = outputs(&["stats", &format!("{p}:z")]);
    assert_eq!(code, Some(1));
    let why = format!("ndmmap: error: {p}:z: statistics: dtype <c16 cannot be reduced: complex");
    assert!(
        err.starts_with(&why) && err.contains("; info, residency,"),
        "{err}"
    );
    // A scalar (np.savez of a number) has no axis: passed over too.
    ndmmap::npz::NpzWriter::create(&path)
        .unwrap()
        .add("s", &ndarray::arr0(3.5f64))
        .unwrap()
        .add("x", &x)
        .unwrap()
        .finish()
        .unwrap();
    let (code, out, err) = outputs(&["stats", p]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("skipped `{p}:s`: it is 0-dimensional")),
        "{err}"
    );
    assert!(out.contains(&format!("{p}:x  <f8 [10]")), "{out}");
}

#[cfg(unix)]
#[test]
fn lock_holds_every_entry_of_a_whole_archive() {
    use std::io::BufRead;
    let dir = tmpdir();
    let (_, st) = mixed_archives(dir.path());
    let mut child = Reap(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ndmmap"))
            .args(["lock", &st])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = std::io::BufReader::new(child.0.stderr.take().unwrap());
    let mut lines = vec![];
    for _ in 0..4 {
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        lines.push(line);
    }
    for name in ["layer0", "h", "bias"] {
        let of = format!("{st}:{name}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("locked") && l.trim_end().ends_with(&of)),
            "{lines:?}"
        );
    }
    assert!(lines[3].contains("Ctrl-C"), "{lines:?}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) };
    assert!(child.0.wait().unwrap().success());
}

/// `--verify` checks an `.npz` member's CRC-32 before using it: a byte changed in its data
/// after writing is a one-line error naming both checksums; without the flag, nothing is read.
#[test]
fn verify_checks_an_archive_members_crc() {
    let dir = tmpdir();
    let path = dir.path().join("v.npz");
    ndmmap::npz::NpzWriter::create(&path)
        .unwrap()
        .add("a", &ndarray::Array1::<f64>::from_elem(512, 1.0))
        .unwrap()
        .add("b", &ndarray::Array1::<f64>::from_elem(512, 2.0))
        .unwrap()
        .finish()
        .unwrap();
    let npz = ndmmap::npz::Npz::open(&path).unwrap();
    let at = npz.member("a").unwrap().data_offset + 8;
    drop(npz);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&3.0f64.to_le_bytes(), at).unwrap();
    drop(f);
    let a = format!("{}:a", path.display());
    let b = format!("{}:b", path.display());
    ndmmap().args(["stats", &a]).assert().success();
    ndmmap().args(["stats", &b, "--verify"]).assert().success();
    let line = fails(&["stats", &a, "--verify"], "CRC-32");
    assert!(line.contains("damaged"), "{line}");
    // A whole archive: the damaged member's line, the other member's result, status 1.
    let out = ndmmap()
        .args(["stats", path.to_str().unwrap(), "--verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    // info lists a whole archive: with --verify, a damaged member fails it in one line.
    let whole = path.to_str().unwrap();
    ndmmap().args(["info", whole]).assert().success();
    let line = fails(&["info", whole, "--verify"], "CRC-32");
    assert!(line.contains("\"a.npy\""), "{line}");
}

/// A raw file of a dtype no Rust type holds (numpy's long double) is still bytes in pages:
/// info and residency work on it, stats refuses it in one line naming it.
#[test]
fn raw_long_double_is_pages_not_numbers() {
    let dir = tmpdir();
    let path = file_with(dir.path(), "ld.bin", &[0u8; 128]);
    let p = path.to_str().unwrap();
    let out = ndmmap()
        .args(["residency", p, "--dtype", "<f16", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["dtype"].as_str(), v["shape"][0].as_u64()),
        (Some("<f16"), Some(8))
    );
    ndmmap()
        .args(["info", p, "--dtype", "<f16", "--shape", "4"])
        .assert()
        .success();
    fails(&["stats", p, "--dtype", "<f16"], "long double");
}

/// Issue 22: `touch` and `evict` answer in JSON too: the keys every `--json` output shares,
/// and what the command did; an array for several files.
#[cfg(unix)]
#[test]
fn touch_and_evict_answer_in_json() {
    let dir = tmpdir();
    let a = npy_named(dir.path(), "a.npy", 8);
    let b = npy_named(dir.path(), "b.npy", 16);
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    cold(&a);
    let v = json(&["touch", pa, "--json"]);
    assert_eq!(v["path"], pa);
    assert_eq!(
        (v["pages"].as_u64(), v["touched_pages"].as_u64()),
        (Some(9), Some(9))
    );
    // The header's page, which opening read, may be in already.
    assert!(v["resident_before"].as_u64().unwrap() <= 1, "{v}");
    assert_eq!(v["resident_after"], 9);
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["residency_unknown"], serde_json::Value::Null);
    let v = json(&["evict", pa, "--json", "--slice", "4:"]);
    assert_eq!(v["selected_pages"], 5);
    assert_eq!(
        (v["resident_before"].as_u64(), v["resident_after"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(v["evicted_pages"], 5);
    assert_eq!(v["written_back"], false);
    for key in ["dirty_pages", "writeback_pages", "mapped_or_locked_pages"] {
        assert!(v.get(key).is_some(), "{key}: {v}");
    }
    let v = json(&["evict", pa, pb, "--json", "--sync"]);
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 2, "{v}");
    assert_eq!(
        (all[0]["path"].as_str(), all[1]["path"].as_str()),
        (Some(pa), Some(pb))
    );
    assert!(
        all.iter()
            .all(|x| x["written_back"] == true && x["resident_after"] == 0),
        "{v}"
    );
    let v = json(&["touch", pa, pb, "--json"]);
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
}

/// Issue 22: on a freshly written file, `evict` says that its pages stayed and why (dirty or
/// under writeback, where cachestat tells), and with --sync they leave.
#[cfg(target_os = "linux")]
#[test]
fn evict_says_why_pages_stay_and_sync_lets_them_go() {
    let dir = tmpdir();
    let p = dir.path().join("fresh.npy");
    let ps = p.to_str().unwrap();
    let mut a = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&p, (64, cols())).unwrap() };
    a.view_mut().unwrap().fill(3.0);
    drop(a);
    let out = ndmmap().args(["evict", ps]).output().unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("evicted "), "{line}");
    let v = json(&["evict", ps, "--json"]);
    let stayed = v["resident_after"].as_u64().unwrap();
    if stayed > 0 && !v["dirty_pages"].is_null() {
        // cachestat (Linux 6.5+): every page that stayed has its reason.
        let sum = ["dirty_pages", "writeback_pages", "mapped_or_locked_pages"]
            .map(|k| v[k].as_u64().unwrap())
            .iter()
            .sum::<u64>();
        assert_eq!(sum, stayed, "{v}");
    }
    if line.contains("dirty") || line.contains("under writeback") {
        assert!(line.contains("--sync"), "{line}");
    }
    let out = ndmmap().args(["evict", ps, "--sync"]).output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.ends_with(": 0 still resident\n"), "{line}");
}

/// Issue 22: `lock --json` prints one JSON line when the pages are locked and one when they
/// are released, each with an "event" key; an array of objects for several files.
#[cfg(target_os = "linux")]
#[test]
fn lock_answers_in_json_on_locking_and_on_release() {
    use std::io::BufRead;
    let dir = tmpdir();
    let a = npy_named(dir.path(), "a.npy", 4);
    let b = npy_named(dir.path(), "b.npy", 8);
    let args = [a.to_str().unwrap(), b.to_str().unwrap(), "--json"];
    let mut child = Reap::lock(&args, std::process::Stdio::piped());
    let mut out = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let locked = v.as_array().unwrap();
    assert_eq!(locked.len(), 2, "{v}");
    assert!(locked.iter().all(|x| x["event"] == "locked"), "{v}");
    assert_eq!(locked[1]["locked_pages"], 9);
    assert_eq!(locked[1]["locked_bytes"], 9 * page());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = child.0.wait().unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(status.success(), "{line}");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|x| x["event"] == "released"),
        "{v}"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.is_empty(), "{err}");
}

#[cfg(unix)]
#[test]
fn residency_ranges_are_printed_and_always_in_json() {
    let dir = tmpdir();
    // One row per page: rows 1..4 and 6 resident (4 and 5 evicted), then 30 and 31.
    let (p, _f) = rows_file(dir.path(), &[1, 2, 3, 6, 30, 31]);
    let (_, v) = rows_residency(&p, &[]);
    assert_eq!(v["ranges"], serde_json::json!([[1, 4], [6, 7], [30, 32]]));
    assert_eq!(v["partial_ranges"], serde_json::json!([]));
    // Of a slice, along the slice's axis: rows 2, 4, 6, ... are its indices 0, 1, 2, ...
    let (_, v) = rows_residency(&p, &["--slice", "2::2, ..."]);
    assert_eq!(v["ranges"], serde_json::json!([[0, 1], [2, 3], [14, 15]]));
    // A column crosses every row's page: each column is partly resident.
    let (_, v) = rows_residency(&p, &["--axis", "1"]);
    let all = serde_json::json!([[0, cols()]]);
    assert_eq!(
        (&v["ranges"], &v["partial_ranges"]),
        (&serde_json::json!([]), &all)
    );
    let out = ndmmap()
        .args(["residency", p.to_str().unwrap(), "--dtype", "f8"])
        .args(["--shape", rows_shape(), "--ranges"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\nresident: 1:4, 6:7, 30:32\n"), "{text}");
    assert!(text.contains("\npartly resident: none\n"), "{text}");
    assert!(
        !text.contains("'O'") && text.lines().count() == 4,
        "no chart: {text}"
    );
}

#[test]
fn an_empty_selection_says_it_is_empty() {
    let dir = tmpdir();
    let p = npy_file(dir.path(), 4);
    let ps = p.to_str().unwrap();
    let out = ndmmap()
        .args(["residency", ps, "--slice", "10:"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the selection is empty (0 slices)"), "{text}");
    assert!(!text.contains('%') && !text.contains("[]"), "{text}");
    let v = json(&["residency", ps, "--slice", "10:", "--json"]);
    let none = serde_json::json!([]);
    assert_eq!((&v["slices"], &v["ranges"]), (&none, &none));
    // numpy's Ellipsis reads as numpy reads it; two are numpy's error.
    let v = json(&["residency", ps, "--slice", "...,0:1", "--json"]);
    assert_eq!(v["slices"].as_array().unwrap().len(), 4);
    fails(
        &["residency", ps, "--slice", "...,..."],
        "an index can only have a single ellipsis ('...')",
    );
}

#[test]
fn refusals_speak_the_commands_words() {
    let dir = tmpdir();
    let raw = file_with(dir.path(), "raw.bin", &[0; 400]);
    let raw = raw.to_str().unwrap();
    let e = fails(&["info", raw, "--dtype", "f4", "--shape", "20,10"], "800");
    assert!(
        e.contains("truncated") && e.contains("--shape") && !e.contains("grow(true)"),
        "{e}"
    );
    let e = fails(&["info", raw, "--dtype", "f4", "--offset", "2"], "--offset");
    assert!(
        e.contains("not a whole number of --dtype f4 elements"),
        "{e}"
    );
    // An empty file says it is empty, in every format.
    for name in ["e.npy", "e.npz", "e.safetensors", "e.bin"] {
        let p = file_with(dir.path(), name, &[]);
        fails(&["info", p.to_str().unwrap()], "is empty (0 bytes)");
    }
    // A .npy file cut short is named as truncated.
    let p = npy_file(dir.path(), 4);
    let bytes = std::fs::read(&p).unwrap();
    let cut = file_with(dir.path(), "cut.npy", &bytes[..bytes.len() - 8]);
    fails(&["info", cut.to_str().unwrap()], "the file is truncated");
}

/// Issue 22: an empty array says it is empty (not "100.0%" of nothing), and a name after a
/// `.npy` file says the file's one array has none.
#[test]
fn empty_arrays_and_names_of_npy_files_are_said_plainly() {
    let dir = tmpdir();
    let p = dir.path().join("e.npy");
    // SAFETY: the file is this test's alone.
    drop(unsafe { ndmmap::npy::create::<f64, Ix2, _>(&p, (0, 3)).unwrap() });
    let out = ndmmap()
        .args(["info", p.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("the array is empty") && !text.contains("100.0%"),
        "{text}"
    );
    let named = format!("{}:x", p.display());
    fails(
        &["info", &named],
        "holds one array, which has no name: drop \":x\"",
    );
}
