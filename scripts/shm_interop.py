#!/usr/bin/env python3
"""Live interop between ndmmap's named shared memory and Python's multiprocessing.shared_memory,
both ways, with target/release/examples/shm_python as the Rust process (stdin/stdout handshakes):

1. Rust creates a raw segment and fills it; Python attaches with SharedMemory(name) and
   np.ndarray(buffer=shm.buf), checks, writes; Rust sees the writes through its mapping.
2. Python creates and fills a segment; Rust opens it by name, checks, writes; Python sees it.
3. Rust creates a segment behind a .npy header; np.load('/dev/shm/NAME', mmap_mode='r+')
   checks and writes; Rust sees the writes.
4. Unlinking: the name is gone once Rust's creating handle drops; Rust's opener leaves Python's.

Exits non-zero on any mismatch. Run by scripts/npy_interop.sh (which builds the Rust half).
Python < 3.13 registers every segment it attaches to with its resource tracker, which unlinks
it (and warns) when Python exits (bpo-38119): attached segments are unregistered here."""
import os
import signal
import subprocess
import sys
from multiprocessing import resource_tracker, shared_memory

import numpy as np

exe = sys.argv[1]
ROWS, COLS = 1000, 3
failures = []
signal.alarm(120)  # a lost handshake fails the run instead of hanging CI


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def pattern():
    i, j = np.indices((ROWS, COLS))
    return (i * COLS + j).astype("f8") + 0.25


def attach(name):
    """SharedMemory(name) without the resource tracker's unlink at exit."""
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name, track=False)
    shm = shared_memory.SharedMemory(name)
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def gone(name):
    try:
        attach(name).close()
        return False
    except FileNotFoundError:
        return True


def start_rust(*args):
    return subprocess.Popen([exe, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def expect_line(proc, prefix):
    line = proc.stdout.readline()
    check(line.startswith(prefix), f"rust says {line.strip()!r}")
    return line


def finish(proc, what):
    out, _ = proc.communicate(timeout=60)
    for line in out.splitlines():
        check(line.startswith(("ok ", "unlinked")), f"rust says {line!r}")
    check(proc.returncode == 0, f"{what}: rust exited with {proc.returncode}")


pid = os.getpid()
want = pattern()

# 1. Rust creates, Python attaches.
name = f"ndmmap-interop-{pid}-raw"
rust = start_rust("create", name, str(ROWS), str(COLS))
expect_line(rust, "ready")
shm = attach(name)
check(shm.size >= want.nbytes, f"1: SharedMemory({name!r}).size {shm.size} covers {want.nbytes} bytes")
a = np.ndarray((ROWS, COLS), dtype="<f8", buffer=shm.buf)
check(np.array_equal(a, want), "1: python sees rust's values through shm.buf")
a[:] = -a
del a
shm.close()
rust.stdin.write("written\n")
rust.stdin.flush()
finish(rust, "1")
check(gone(name), "1, 4: the name is gone after rust's creating handle dropped (FileNotFoundError)")

# 2. Python creates, Rust opens.
name = f"ndmmap-interop-{pid}-py"
shm = shared_memory.SharedMemory(name=name, create=True, size=want.nbytes)
try:
    a = np.ndarray((ROWS, COLS), dtype="<f8", buffer=shm.buf)
    a[:] = want
    rust = start_rust("open", name, str(ROWS), str(COLS))
    finish(rust, "2")
    check(np.array_equal(a, -want), "2: python sees rust's writes through its own mapping")
    # Python created this name, so its tracker holds it once already: attach plainly (which
    # registers it again, a no-op) so that unlink() unregisters it once.
    try:
        shared_memory.SharedMemory(name).close()
        kept = True
    except FileNotFoundError:
        kept = False
    check(kept, "2, 4: rust's opener left python's name in place")
    del a
finally:
    shm.close()
    shm.unlink()
check(gone(name), "2: python's unlink removed the name")
rust = subprocess.run([exe, "open", name, str(ROWS), str(COLS)], capture_output=True, text=True)
check(
    rust.returncode != 0 and "No such file" in rust.stderr,
    f"2: rust's open of the unlinked name fails: {rust.stderr.strip()!r}",
)

# 3. Rust creates with a .npy header, numpy loads /dev/shm/NAME.
name = f"ndmmap-interop-{pid}-npy"
path = f"/dev/shm/{name}"
if os.path.isdir("/dev/shm"):
    rust = start_rust("create", name, str(ROWS), str(COLS), "--npy")
    line = expect_line(rust, "ready")
    m = np.load(path, mmap_mode="r+")
    check(
        m.shape == (ROWS, COLS) and m.dtype == np.dtype("<f8") and m.offset % 64 == 0,
        f"3: np.load({path!r}, mmap_mode='r+'): shape {m.shape}, dtype {m.dtype}, data at {m.offset}",
    )
    check(line.split()[-1] == str(m.offset), "3: numpy's data offset is rust's")
    check(np.array_equal(m, want), "3: numpy sees rust's values")
    m[:] = -m
    m.flush()
    del m
    rust.stdin.write("written\n")
    rust.stdin.flush()
    finish(rust, "3")
    check(not os.path.exists(path), f"3, 4: {path} is gone after rust's handle dropped")
else:
    print("skip 3: no /dev/shm here")

print(f"shm interop: {len(failures)} failures")
sys.exit(1 if failures else 0)
