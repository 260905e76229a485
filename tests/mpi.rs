//! Beyond one machine (issue 15): slabs by rank and size (no MPI needed), and `ndmmap stats
//! --mpi`, `residency --mpi` and the `mpi_histogram` example under `mpirun -n 1..4` on this
//! machine (processes standing in for nodes), against numpy (the committed fixtures of
//! tests/data/stats/) and against the single-process command. Tests that need `mpirun` print
//! why they skip when it is missing, and fail instead under `CI=true`. Every `mpirun` is
//! bounded by `timeout 60`.
#![cfg(unix)]

mod common;

use common::*;
use ndarray::{Ix1, Ix2, s};
use ndmmap::slab::{self, SlabOptions};
use ndmmap::{Advice, Error, MmapOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NDMMAP: &str = env!("CARGO_BIN_EXE_ndmmap");

/// `timeout 60 mpirun ... -n N` and the rest, or `None` (with the reason printed; a failure
/// under `CI=true`) when this machine has no `mpirun`.
fn mpirun() -> Option<Command> {
    if Command::new("mpirun").arg("--version").output().is_err() {
        skip_or_fail("mpirun not found (apt-get install openmpi-bin libopenmpi-dev)");
        return None;
    }
    let mut c = Command::new("timeout");
    c.args(["60", "mpirun", "--allow-run-as-root", "--oversubscribe"]);
    Some(c)
}

/// Runs one `mpirun` at a time: concurrent launches race on Open MPI's session directory
/// (`/tmp/ompi.HOST.UID`), one removing it while another creates its own under it.
fn run(mut c: Command) -> Output {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = c.output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(124),
        "mpirun timed out: a rank hung"
    );
    out
}

/// The `--json` output of `ndmmap stats --mpi` over `n` ranks.
fn mpi_json(n: usize, args: &[&str]) -> Option<Value> {
    let mut c = mpirun()?;
    c.args(["-n", &n.to_string(), NDMMAP])
        .args(args)
        .arg("--mpi");
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{n} ranks, {args:?}: {err}");
    Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{n} ranks, {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    }))
}

fn one_process(args: &[&str]) -> Output {
    let out = Command::new(NDMMAP).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn fixtures() -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/stats");
    let mut all: Vec<(PathBuf, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let doc = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.with_extension("npy"), doc)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(all.len() >= 29, "the stats fixtures are missing");
    all
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// `got` against `want` (numpy's case, or the single process's output): same axis, shape and
/// count, means and stds to 1e-12 relative (null for null), mins and maxes exactly.
fn same(got: &Value, want: &Value, what: &str) {
    for key in ["axis", "shape", "count"] {
        assert_eq!(got[key], want[key], "{what}: {key}");
    }
    for key in ["mean", "std"] {
        let (g, w) = (got[key].as_array().unwrap(), want[key].as_array().unwrap());
        assert_eq!(g.len(), w.len(), "{what}: {key}");
        for (i, (g, w)) in g.iter().zip(w).enumerate() {
            match (g.as_f64(), w.as_f64()) {
                (Some(g), Some(w)) => assert!(close(g, w), "{what}: {key}[{i}]: {g:e} vs {w:e}"),
                _ => assert!(g.is_null() && w.is_null(), "{what}: {key}[{i}]: {g} vs {w}"),
            }
        }
    }
    for key in ["min", "max"] {
        let (g, w) = (got[key].as_array().unwrap(), want[key].as_array().unwrap());
        assert_eq!(g.len(), w.len(), "{what}: {key}");
        for (i, (g, w)) in g.iter().zip(w).enumerate() {
            // Elements: exactly equal, integers as integers, booleans as booleans.
            assert_eq!(g, w, "{what}: {key}[{i}]");
        }
    }
}

/// The fixture case with exactly `args`.
fn case<'a>(doc: &'a Value, args: &[&str]) -> Option<&'a Value> {
    doc["cases"].as_array().unwrap().iter().find(|c| {
        let a: Vec<&str> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        a == args
    })
}

#[test]
fn stats_over_1_to_4_ranks_equals_numpy_and_one_process() {
    // Every fixture (rows that no rank count divides, 1-row and 0-row files, C and Fortran
    // order, every dtype) in one command per rank count and axis.
    let all = fixtures();
    for axis in ["0", "1"] {
        let files: Vec<&(PathBuf, Value)> = all
            .iter()
            .filter(|(_, doc)| case(doc, &["--axis", axis]).is_some())
            .collect();
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.to_str().unwrap()).collect();
        let mut args = vec!["stats", "--json", "--axis", axis];
        args.extend(&paths);
        let single: Value = serde_json::from_slice(&one_process(&args).stdout).unwrap();
        for n in 1..=4 {
            let Some(got) = mpi_json(n, &args) else {
                return;
            };
            let got = got.as_array().unwrap();
            assert_eq!(got.len(), files.len());
            for (i, (path, doc)) in files.iter().enumerate() {
                let what = format!("{} ranks, axis {axis}, {}", n, path.display());
                same(&got[i], case(doc, &["--axis", axis]).unwrap(), &what);
                same(&got[i], &single[i], &format!("{what} (vs one process)"));
            }
        }
    }
}

#[test]
fn text_output_is_the_single_process_text() {
    let all = fixtures();
    let mut args = vec!["stats"];
    args.extend(all.iter().map(|(p, _)| p.to_str().unwrap()));
    let single = one_process(&args).stdout;
    for n in [2, 3] {
        let Some(mut c) = mpirun() else { return };
        c.args(["-n", &n.to_string(), NDMMAP])
            .args(&args)
            .arg("--mpi");
        let out = run(c);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&single),
            "{n} ranks"
        );
    }
}

#[test]
fn slices_and_small_windows_over_3_ranks_equal_numpy() {
    // The fixture cases with a slice (negative steps, an index on the shared axis, ...),
    // each rank streaming its share in windows of 4 KiB.
    for (path, doc) in fixtures() {
        for c in doc["cases"].as_array().unwrap() {
            let args: Vec<&str> = c["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            if !args.contains(&"--slice") {
                continue;
            }
            let mut full = vec!["stats", "--json", "--window", "4096"];
            full.extend(&args);
            full.push(path.to_str().unwrap());
            let Some(got) = mpi_json(3, &full) else {
                return;
            };
            same(&got, c, &format!("3 ranks, {} {args:?}", path.display()));
        }
    }
}

#[test]
fn a_rank_that_cannot_open_its_file_fails_every_rank_with_one_line() {
    let dir = tmpdir();
    let good = dir.path().join("good.npy");
    let other = dir.path().join("other.npy");
    drop(unsafe { ndmmap::npy::create::<f64, Ix2, _>(&good, (10, 3)).unwrap() });
    drop(unsafe { ndmmap::npy::create::<f64, Ix2, _>(&other, (11, 3)).unwrap() });
    let missing = dir.path().join("missing.npy");
    let cases = [
        // Rank 1 (of 3) is given a file that is not there: MPMD launch, one program per rank.
        (missing.clone(), "rank 1 of 3: open failed for"),
        // Rank 1 opens another array: the ranks cannot combine their parts.
        (other.clone(), "the 3 ranks opened different arrays"),
    ];
    for (bad, needle) in cases {
        for cmd in ["stats", "residency"] {
            let Some(mut c) = mpirun() else { return };
            let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());
            c.args(["-n", "1", NDMMAP, cmd, "--mpi", good])
                .args([":", "-n", "1", NDMMAP, cmd, "--mpi", bad])
                .args([":", "-n", "1", NDMMAP, cmd, "--mpi", good]);
            let started = std::time::Instant::now();
            let out = run(c);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_ne!(out.status.code(), Some(0), "{cmd}: {err}");
            // mpirun adds its own banner about the non-zero status; ndmmap's ranks say one line.
            let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("ndmmap:")).collect();
            assert_eq!(ours.len(), 1, "{cmd}: {err}");
            assert!(ours[0].contains(needle), "{cmd}: {needle:?} in {err}");
            assert!(out.stdout.is_empty(), "{cmd}");
            assert!(started.elapsed().as_secs() < 30, "{cmd}: took too long");
        }
    }
}

#[test]
fn residency_gathers_each_rank_slab() {
    let dir = tmpdir();
    let path = dir.path().join("r.npy");
    // 300 pages (more than the kernel's read-around of a fault), rows not divisible by 3.
    let rows = 300 * page() / 8 + 3;
    let mut a = unsafe { ndmmap::npy::create::<f64, Ix1, _>(&path, rows).unwrap() };
    a.view_mut().unwrap().fill(1.0);
    a.msync(ndmmap::Flush::Sync).unwrap();
    drop(a);
    // Evict all, then bring rank 1's slab only into the page cache.
    let _ = cold(&path);
    let want = slab::rows(rows, 1, 3);
    let b = unsafe { SlabOptions::new(1, 3).npy::<f64, Ix1>(&path).unwrap() };
    assert_eq!(b.rows(), want);
    b.pages(..).unwrap().advise(Advice::WillNeed).unwrap();
    assert!(eventually(5.0, || {
        b.pages(..).unwrap().residency().unwrap().fraction() == 1.0
    }));
    // Held in RAM while the ranks count: the machine's memory daemon dropped one of these
    // pages before an mpirun's count once, in CI.
    b.pages(..).unwrap().lock(ndmmap::Lock::Now).unwrap();
    let Some(v) = mpi_json(3, &["residency", "--json", path.to_str().unwrap()]) else {
        return;
    };
    let ranks = v["ranks"].as_array().unwrap();
    assert_eq!(ranks.len(), 3);
    for (k, r) in ranks.iter().enumerate() {
        let rk = slab::rows(rows, k, 3);
        assert_eq!(r["rank"], k);
        assert_eq!(r["rows"], serde_json::json!([rk.start, rk.end]));
        let frac = r["fraction"].as_f64().unwrap();
        if k == 1 {
            assert_eq!(frac, 1.0, "{v}");
        } else {
            // Only pages near rank 1's slab (shared, or read around) can be resident.
            assert!(frac < 0.5, "{v}");
        }
    }
    // And as text from rank 0 alone.
    let Some(mut c) = mpirun() else { return };
    c.args([
        "-n",
        "3",
        NDMMAP,
        "residency",
        "--mpi",
        path.to_str().unwrap(),
    ]);
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("rows shared by 3 ranks"), "{text}");
    assert_eq!(text.lines().count(), 6, "{text}");
}

#[test]
fn residency_counts_a_page_two_slabs_share_once() {
    // Rows of 24 bytes behind a 128-byte header: slab boundaries fall inside pages, so
    // neighbouring ranks touch the same page; it is counted once, and the ranks' pages add
    // up to the file's (and, with every page cached, their resident pages too).
    let dir = tmpdir();
    for (name, fortran) in [("c.npy", false), ("f.npy", true)] {
        let path = dir.path().join(name);
        let shape = ndarray::ShapeBuilder::set_f((10007, 3), fortran);
        let mut a = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&path, shape).unwrap() };
        a.view_mut().unwrap().fill(1.0);
        a.msync(ndmmap::Flush::Sync).unwrap();
        drop(a);
        std::fs::read(&path).unwrap();
        // Held in RAM for the test: the machine's memory daemon, and other tests' evictions,
        // may drop a page of it between the read and an mpirun's count (one did, in CI).
        // SAFETY: the test's own file, which nothing truncates while it is mapped.
        let held = unsafe { ndmmap::npy::open::<f64, Ix2>(&path).unwrap() };
        held.pages(..).unwrap().lock(ndmmap::Lock::Now).unwrap();
        let p = path.to_str().unwrap();
        let single: Value =
            serde_json::from_slice(&one_process(&["residency", "--json", p]).stdout).unwrap();
        let pages = single["pages"].as_u64().unwrap();
        assert!(pages > 50, "{single}");
        assert_eq!(
            single["resident_pages"], pages,
            "every page cached: {single}"
        );
        for n in 1..=4 {
            // Cached again right before each run: mpirun may wait for another test's, and
            // the machine's memory daemon evicts page cache left idle for about 30 s.
            std::fs::read(&path).unwrap();
            let Some(v) = mpi_json(n, &["residency", "--json", p]) else {
                return;
            };
            let ranks = v["ranks"].as_array().unwrap();
            let sum = |key: &str| ranks.iter().map(|r| r[key].as_u64().unwrap()).sum::<u64>();
            assert_eq!(sum("pages"), pages, "{name}, {n} ranks: {v}");
            assert_eq!(sum("resident_pages"), pages, "{name}, {n} ranks: {v}");
            assert_eq!(v["resident_pages"], pages, "{name}, {n} ranks: {v}");
            assert_eq!(v["pages"], pages, "{name}, {n} ranks: {v}");
        }
    }
}

#[test]
fn the_histogram_example_equals_numpy() {
    // target/debug/examples/, beside this test's target/debug/deps/ (whatever the target dir).
    let exe = std::env::current_exe().unwrap();
    let exe = exe
        .parent()
        .unwrap()
        .with_file_name("examples")
        .join("mpi_histogram");
    if !exe.exists() {
        // A whole `cargo test --features full,mpi` builds the examples; `--test mpi` alone does not.
        skip_or_fail(&format!(
            "{} is not built (cargo build --features full,mpi --example mpi_histogram)",
            exe.display()
        ));
        return;
    }
    let dir = tmpdir();
    let path = dir.path().join("h.npy");
    let mut a = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&path, (1001, 3)).unwrap() };
    for ((i, j), x) in a.view_mut().unwrap().indexed_iter_mut() {
        *x = ((i * 7919 + j * 31) % 997) as f64 * 0.37 - j as f64;
    }
    a.msync(ndmmap::Flush::Sync).unwrap();
    let py = Command::new("python3")
        .args([
            "-c",
            "import numpy as np, sys; a = np.load(sys.argv[1])\n\
             for c in range(a.shape[1]):\n    h, e = np.histogram(a[:, c], 7); \
             print(' '.join(map(str, h)))",
            path.to_str().unwrap(),
        ])
        .output();
    let py = match py {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => {
            skip_or_fail("python3 with numpy not found (pip install numpy)");
            return;
        }
    };
    for n in [2, 4] {
        let Some(mut c) = mpirun() else { return };
        c.args(["-n", &n.to_string()])
            .arg(&exe)
            .args([path.to_str().unwrap(), "7"]);
        let out = run(c);
        assert!(out.status.success());
        let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split(' ').skip(4).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(got.join("\n") + "\n", py, "{n} ranks");
    }
}

// The slab API by rank and size: no MPI needed.

#[test]
fn slabs_of_a_npy_file_cover_it_in_order() {
    let dir = tmpdir();
    let path = dir.path().join("x.npy");
    let mut a = unsafe { ndmmap::npy::create::<f64, Ix2, _>(&path, (10, 3)).unwrap() };
    for (i, x) in a.view_mut().unwrap().iter_mut().enumerate() {
        *x = i as f64;
    }
    drop(a);
    let whole = unsafe { ndmmap::npy::open::<f64, Ix2>(&path).unwrap() };
    for size in 1..=12 {
        let mut seen = 0;
        for rank in 0..size {
            let s = unsafe { SlabOptions::new(rank, size).npy::<f64, Ix2>(&path).unwrap() };
            assert_eq!(s.rows(), slab::rows(10, rank, size));
            assert_eq!(s.first_row(), seen);
            assert_eq!(s.global_shape(), &[10, 3]);
            assert_eq!(s.shape(), &[s.rows().len(), 3]);
            assert_eq!(s.view(), whole.view().slice(s![s.rows(), ..]));
            // The page toolkit, on this slab's pages only.
            s.pages(..).unwrap().advise(Advice::WillNeed).unwrap();
            let r = s.pages(..).unwrap().residency().unwrap();
            assert!(r.resident <= r.total);
            s.pages(..).unwrap().evict().unwrap();
            seen = s.rows().end;
            // The same from the array already open.
            let o = unsafe { SlabOptions::new(rank, size).of(&whole).unwrap() };
            assert_eq!(o.view(), s.view());
        }
        assert_eq!(seen, 10);
    }
}

#[test]
fn one_row_zero_rows_raw_files_and_fortran_order() {
    let dir = tmpdir();
    // 1 row over 3 ranks: rank 0 has it, the others an empty array at the end.
    let one = dir.path().join("one.npy");
    drop(unsafe { ndmmap::npy::create::<i32, Ix2, _>(&one, (1, 4)).unwrap() });
    let zero = dir.path().join("zero.npy");
    drop(unsafe { ndmmap::npy::create::<i32, Ix2, _>(&zero, (0, 4)).unwrap() });
    for rank in 0..3 {
        let s = unsafe { SlabOptions::new(rank, 3).npy::<i32, Ix2>(&one).unwrap() };
        assert_eq!(s.shape(), &[usize::from(rank == 0), 4]);
        let z = unsafe { SlabOptions::new(rank, 3).npy::<i32, Ix2>(&zero).unwrap() };
        assert_eq!((z.shape(), z.rows()), (&[0, 4][..], 0..0));
        assert_eq!(z.pages(..).unwrap().residency().unwrap().total, 0);
    }
    // A raw file behind a 16-byte header.
    let raw = dir.path().join("d.bin");
    let mut bytes = vec![0u8; 16];
    bytes.extend((0..21u16).flat_map(|x| x.to_le_bytes()));
    std::fs::write(&raw, &bytes).unwrap();
    let s = unsafe {
        SlabOptions::new(2, 4)
            .raw::<u16, _, _>(&raw, 16, (7, 3))
            .unwrap()
    };
    assert_eq!(
        (s.rows(), s.as_slice()),
        (4..6, &[12, 13, 14, 15, 16, 17][..])
    );
    // Too short for the whole array: every rank says so, even one whose rows are there.
    let e = unsafe { SlabOptions::new(0, 4).raw::<u16, _, _>(&raw, 16, (8, 3)) };
    assert!(
        matches!(
            e,
            Err(Error::TooShort {
                needed: 64,
                len: 58,
                ..
            })
        ),
        "{e:?}"
    );
    // Fortran order: rows are not contiguous; a clear error, not a wrong answer.
    let f = dir.path().join("f.npy");
    drop(unsafe {
        ndmmap::npy::create::<f64, Ix2, _>(&f, ndarray::ShapeBuilder::f((5, 3))).unwrap()
    });
    let e = unsafe { SlabOptions::new(0, 2).npy::<f64, Ix2>(&f) }.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Slab {
                rank: 0,
                size: 2,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("Fortran order") && msg.contains("f.npy"),
        "{msg}"
    );
    let e = unsafe {
        SlabOptions::new(0, 2).raw::<f64, _, _>(&f, 128, ndarray::ShapeBuilder::f((5, 3)))
    };
    assert!(matches!(e, Err(Error::Slab { .. })), "{e:?}");
    // Anonymous memory has no file to share.
    let anon = MmapOptions::new().map_anon::<f64, Ix2, _>((4, 2)).unwrap();
    let e = unsafe { SlabOptions::new(0, 2).of(&anon) };
    assert!(matches!(e, Err(Error::Slab { .. })), "{e:?}");
}
