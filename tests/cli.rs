//! The `ndmmap` command, run as a built binary (issue 5).
#![cfg(feature = "cli")]

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

/// A (rows, 512) f64 .npy, one row per page (after a 128-byte header: rows straddle pages).
fn npy_file(dir: &Path, rows: usize) -> std::path::PathBuf {
    let p = dir.join("a.npy");
    let mut a = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&p, (rows, 512)).unwrap() };
    a.view_mut().unwrap().fill(1.0);
    a.msync(ndmmap::Sync::Sync).unwrap();
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
    for key in ["dirty_pages", "writeback_pages", "evicted_pages"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let text = ndmmap().args(["info", ps]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("<f4") && text.contains("[100, 30]") && text.contains("lead"),
        "{text}"
    );
}

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
        "32,512",
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
        "32,512",
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
        .args(["residency", path, "--dtype", "f8", "--shape", "32,512"])
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
        .args(["residency", path, "--dtype", "f8", "--shape", "32,512"])
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
    let rows = a.residency_along(Axis(0)).unwrap();
    assert!(rows[10..20].iter().all(|&x| x == 1.0), "{rows:?}");
    assert_eq!(rows[40], 0.0);
    ndmmap().args(["evict", path]).assert().success();
    assert_eq!(a.residency().unwrap().resident, 0);
}

/// Kills the child if the test fails before it is waited for.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lock_holds_until_interrupted() {
    use std::io::BufRead;
    let dir = tmpdir();
    let p = npy_file(dir.path(), 16);
    let mut child = Reap(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ndmmap"))
            .args(["lock", p.to_str().unwrap(), "--slice", "0:4"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
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
}

/// Runs a bad command: exit status 1, one line on stderr naming the problem, no panic.
fn fails(args: &[&str], needle: &str) {
    let out = ndmmap().args(args).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with("ndmmap: error: ") && err.contains(needle),
        "{args:?}: {err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_input_is_one_clear_line_and_status_one() {
    let dir = tmpdir();
    let d = dir.path().to_str().unwrap();
    let missing = format!("{d}/missing.npy");
    fails(&["info", &missing], "No such file");
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
    fails(&["info", raw, "--dtype", "f9"], "\"f9\"");
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
