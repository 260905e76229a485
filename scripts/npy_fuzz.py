#!/usr/bin/env python3
"""Differential fuzzing of ndmmap's .npy reader against numpy's own.

Writes N generated .npy files (valid headers in many spellings, and mutations of them) to a
temporary directory, reads each with numpy (`np.load(path, mmap_mode='r')`), with ndmmap's
library (`examples/npy_probe`) and with its command (`ndmmap info --json`), and fails on:

- a file numpy reads where ndmmap answers a different dtype, shape or order, or maps values
  that differ from numpy's (a CRC-32 of the elements in logical C order, native byte order,
  bools as 0/1; the data is random, the data offset is sometimes unaligned, and big-endian
  and bool files are mapped through `Unaligned<T>` / `ByteSwapped<T>` / `Bool`; bytes, str,
  void, datetime and timedelta files, which the typed API refuses, through the container as
  raw bytes, compared with numpy's `tobytes()`);
- a file numpy reads where ndmmap refuses without saying what is unsupported;
- a file numpy refuses where ndmmap accepts;
- any crash of the library probe, any signal death or exit status other than 0/1 of the
  command, and any command error of more than 3 lines on stderr.

Usage: scripts/npy_fuzz.py [--count N] [--seed S] [--keep DIR] [--bin DIR]
CI runs a bounded version (--count 3000); run a larger one by hand (--count 50000).
The binaries are built in release mode first unless --bin names a directory holding them.
"""

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import json
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# dtype spellings: numeric ones numpy reads, ones it reads but ndmmap cannot map, and ones it
# refuses.
DTYPES = [
    "<f8", "f8", "float64", "d", "<f4", "f", "float32", ">f8", ">i4", "<i2", "i2", "|i1", "b",
    "B", "u1", "|u1", "<u2", "<u4", "<u8", "<i8", "i8", "l", "L", "q", "Q", "int64", "int",
    "int_", "intp", "uint", "<c8", "<c16", "complex", "D", "F", "?", "b1", "|b1", "bool", "e",
    "<f2", "float16", "half", "g", "<f16", "G", "double", "single", "short", "ushort", "byte",
    "ubyte", "intc", "uintc", "longlong", "ulonglong", "f 8", "f08", "<f+8", "=f8", "|f8",
    "=i4", ">u1", ">b1", "<i\t4", "p", "P", "n", "N", "h", "H", "i", "I",
    # read by numpy, not mappable
    "|O", "O", "<U5", "|S3", "S", "|V8", "V4", "<M8[ns]", "<m8", "M8", "float128", "T", "a1",
    "<f8,<i4", "(2,)f8", "3f8", "object", "str", "bytes_", "datetime64", "clongdouble",
    # read by numpy, mapped as raw bytes through the container
    ">U3", "=U1", "|U2", "c", "S 4", "U+2", "V 3", "<M8[10ms]", ">m8[us]", "datetime64[D]",
    "timedelta64[2h]", "M8[0s]", "m8[generic]", "void", "bytes", "\x12", "\x13", "\x15",
    # read by numpy, refused by ndmmap (a datetime divisor, a spaced multiplier)
    "M8[ns/2]", "M8[ 2s]",
    # refused by numpy
    "U536870912", "S2147483648", "M8[]", "M8[B]", "M8[2147483648s]",
    # refused by numpy
    "f3", "x8", "<float64", "Float64", "f8 ", "i0", "b2", "u3", "f-0", "", "<", "float_",
    "int7", "<f-8", " f8",
]
STRUCTURED = [
    "[('a', '<f8')]", "[('a', '<f8'), ('b', '<i4')]", "('<f8', (2,))", "[]",
    "[('x', '<f8', (2,))]", "[('', '|V4'), ('b', '<i4')]",
]


def pyquote(s, rng):
    """A Python literal for the string s, in a random spelling numpy reads."""
    r = rng.random()
    if r < 0.55 or "'" in s or "\\" in s:
        return repr(s)
    if r < 0.7:
        return '"' + s + '"'
    if r < 0.78 and len(s) > 1:
        k = rng.randrange(1, len(s))
        return repr(s[:k]) + rng.choice(["", " ", "\n "]) + repr(s[k:])
    if r < 0.85:
        return rng.choice(["r", "u", "R", "U"]) + repr(s)
    if r < 0.92 and s:
        i = rng.randrange(len(s))
        return "'" + s[:i] + "\\x%02x" % ord(s[i]) + s[i + 1:] + "'" if ord(s[i]) < 256 else repr(s)
    return "'''" + s + "'''"


def pyint(n, rng, lenient):
    r = rng.random()
    if n < 0:
        return str(n)
    if r < 0.6:
        return str(n)
    if r < 0.67:
        return hex(n)
    if r < 0.72:
        return oct(n)
    if r < 0.76:
        return bin(n)
    if r < 0.8 and n >= 1000:
        return f"{n:_}"
    if r < 0.85:
        return "+" + str(n)
    if r < 0.9:
        return "(" + str(n) + ")"
    if r < 0.94 and lenient:
        return str(n) + "L"
    if r < 0.97 and n in (0, 1):
        return "True" if n else "False"
    return str(n)


def sep(rng):
    return rng.choice([" ", "", "  ", "\n", "\n  ", "\t", " # note\n ", " \\\n "])


def header_text(rng, version, descr_lit, fortran, shape, extra_key=None, dup=None):
    lenient = version < 3
    items = [
        (pyquote("descr", rng), descr_lit),
        (pyquote("fortran_order", rng), "True" if fortran else "False"),
    ]
    if len(shape) == 1 and rng.random() < 0.9:
        sh = "(" + pyint(shape[0], rng, lenient) + "," + rng.choice(["", " "]) + ")"
    else:
        parts = [pyint(d, rng, lenient) for d in shape]
        sh = "(" + ("," + rng.choice([" ", ""])).join(parts)
        sh += ("," if rng.random() < 0.3 and parts else "") + ")"
    items.append((pyquote("shape", rng), sh))
    rng.shuffle(items)
    if dup is not None:
        # A repeated key: numpy keeps the last value.
        k, v = dup
        items.insert(rng.randrange(len(items) + 1), (pyquote(k, rng), v))
    if extra_key:
        items.append((repr(extra_key), "1"))
    body = "{" + sep(rng)
    body += ("," + sep(rng)).join(k + rng.choice([":", ": ", " : "]) + v for k, v in items)
    if rng.random() < 0.5:
        body += ","
    body += sep(rng) + "}"
    r = rng.random()
    if r < 0.1:
        body += "  # a trailing comment"
    elif r < 0.15:
        body = "# a leading comment\n" + body
    elif r < 0.18:
        body = "(" + body + ")"
    return body


def npy_bytes(version, text, pad_to=64, enc=None):
    enc = enc or ("utf8" if version == 3 else "latin1")
    hb = text.encode(enc) if isinstance(text, str) else text
    pre = 10 if version == 1 else 12
    total = pre + len(hb) + 1
    total += (-total) % pad_to
    hb = hb + b" " * (total - pre - len(hb) - 1) + b"\n"
    if version == 1:
        if len(hb) > 0xFFFF:
            version = 2
            return npy_bytes(2, text, pad_to, enc)
        lenf = struct.pack("<H", len(hb))
    else:
        lenf = struct.pack("<I", len(hb))
    return b"\x93NUMPY" + bytes([version, 0]) + lenf + hb


def itemsize(descr):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.dtype(descr).itemsize
    except Exception:
        return 8


def generate(rng, i):
    """One file's bytes and a note of how it was made."""
    version = rng.choice([1, 1, 2, 3])
    if rng.random() < 0.08:
        descr_lit = rng.choice(STRUCTURED)
        dsize = 12
    else:
        d = rng.choice(DTYPES)
        descr_lit = pyquote(d, rng)
        dsize = itemsize(d)
    ndim = rng.choice([0, 1, 1, 2, 2, 3, 4])
    shape = [rng.choice([0, 1, 2, 3, 5, 7, 16, 100]) for _ in range(ndim)]
    fortran = rng.random() < 0.3
    note = "valid"
    dup = None
    extra = None
    mut = rng.random()
    if mut < 0.06:
        dup = rng.choice([
            ("descr", pyquote(rng.choice(DTYPES), rng)),
            ("fortran_order", rng.choice(["True", "False", "0"])),
            ("shape", rng.choice(["(3,)", "()", "(2, 2)", "[3]", "1.5"])),
        ])
        note = "dup-key"
    elif mut < 0.08:
        extra = rng.choice(["extra", "Descr", "descr "])
        note = "extra-key"
    text = header_text(rng, version, descr_lit, fortran, shape, extra, dup)
    nbytes = dsize
    for s in shape:
        nbytes *= s
    mut = rng.random()
    data_len = nbytes
    if mut < 0.05:
        data_len = max(0, nbytes - rng.randint(1, 16))
        note = "short-data"
    elif mut < 0.08:
        data_len = nbytes + rng.randint(1, 100)
        note = "long-data"
    mut = rng.random()
    if mut < 0.05:
        n = rng.choice([1, 50, 198, 199, 200, 201, 1000, 5000])
        text = text.replace("(", "(" * n + "(", 1).replace(")", ")" + ")" * n, 1)
        note = f"nest-{n}"
    elif mut < 0.08:
        big = rng.choice([2**62, 2**63 - 1, 2**63, 2**64, 10**30, -1, -(2**63), 2**59, 2**61])
        text = header_text(rng, version, descr_lit, fortran, [big] + shape[1:] + [0] * rng.randint(0, 1))
        note = "huge"
    elif mut < 0.12:
        tok = rng.choice(["(", ")", ",", ":", "#", "\\\n", "\n", " ", "'", "L", "0x", "_", "j",
                          ".", "...", "-", "+", "\t", "\x0c", "\r", "[", "]", "{", "}", "0", "1e"])
        k = rng.randrange(len(text) + 1)
        text = text[:k] + tok + text[k:]
        note = f"insert-{tok!r}"
    elif mut < 0.14:
        k = rng.randrange(len(text) + 1)
        text = text[:k] + text[k + rng.randint(1, 4):]
        note = "delete"
    # numpy aligns the data to 64 bytes, but reads a header of any length: some files put the
    # data at an odd offset (ndmmap maps it as Unaligned<T>).
    raw = npy_bytes(version, text, pad_to=rng.choice([64] * 6 + [1, 2, 3, 4, 5, 8, 16]))
    if rng.random() < 0.02:
        # Over numpy's header size limit.
        raw = npy_bytes(2, text + " " * rng.choice([9900, 10100, 30000]))
        note = "long-header"
    body = bytearray(raw)
    mut = rng.random()
    if mut < 0.04 and version == 3:
        k = rng.randrange(12, len(body))
        body[k:k] = rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xc3\xa9"])
        struct.pack_into("<I", body, 8, len(body) - 12)
        note = "utf8"
    elif mut < 0.08:
        k = rng.randrange(len(body))
        body[k] = rng.randrange(256)
        note = f"flip-{k}"
    elif mut < 0.1:
        body[6:8] = bytes(rng.choice([(1, 5), (4, 0), (0, 0), (2, 1), (3, 0), (1, 0)]))
        note = "version"
    elif mut < 0.12:
        if body[6] == 1:
            struct.pack_into("<H", body, 8, rng.choice([0, 1, 0xFFFF, len(body) - 9]))
        else:
            struct.pack_into("<I", body, 8, rng.choice([0, 1, 0xFFFFFFFF, 2**31, len(body) - 11]))
        note = "length-field"
    data = rng.randbytes(min(data_len, 1 << 20))
    whole = bytes(body) + data
    if rng.random() < 0.03:
        whole = whole[: rng.randrange(len(whole) + 1)]
        note = "truncated"
    if rng.random() < 0.005:
        whole = b"\x93NUMPY\x01\x00" + b"\xff\xff" + bytes(rng.randrange(30))
        note = "claims-64k"
    if rng.random() < 0.005:
        whole = b"\x93NUMPY\x02\x00\xff\xff\xff\xff" + bytes(15)
        note = "claims-4g"
    return whole, note


def checksum(a):
    """CRC-32 of the elements in logical C order, in native byte order (bools as 0/1), as
    npy_probe computes it."""
    if a.nbytes == 0:
        # Nothing to read; and copying 2**65 elements of zero bytes each (a shape numpy
        # accepts for an itemsize-0 dtype) would loop for ever.
        return zlib.crc32(b"")
    b = np.ascontiguousarray(a)
    if b.dtype.kind in "SUVMm":
        # Mapped as raw bytes: the bytes as stored.
        raw = b.tobytes()
    elif b.dtype.kind == "b":
        raw = (b.view(np.uint8) != 0).astype(np.uint8).tobytes()
    else:
        raw = b.astype(b.dtype.newbyteorder("="), copy=False).tobytes()
    return zlib.crc32(raw)


def numpy_read(path):
    """numpy's answer: ('ok', dtype.str, shape, fortran_order, crc32) or ('err', reason).

    np.load(mmap_mode='r') is the reference, numpy's way of doing what ndmmap does. (Without
    mmap_mode numpy reads a negative length as "infer it": a shape (-2**63, 5) whose element
    count wraps to 0 loads as (0, 5); mapping refuses it, as ndmmap does.)
    """
    fmt = getattr(np.lib, "_format_impl", None) or np.lib.format
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = np.load(path, mmap_mode="r", allow_pickle=False)
            if not isinstance(a, np.ndarray):
                return ("err", type(a).__name__)
            with open(path, "rb") as f:
                v = fmt.read_magic(f)
                _, fortran, _ = fmt._read_array_header(f, v)
            crc = checksum(a)
        return ("ok", a.dtype.str, tuple(int(x) for x in a.shape), bool(fortran), crc)
    except Exception as e:  # numpy refuses: any exception
        return ("err", f"{type(e).__name__}: {str(e)[:80]}")


def numpy_worker():
    """Reads paths on stdin, prints numpy's answer for each as a JSON line."""
    for line in sys.stdin:
        p = line.rstrip("\n")
        print(json.dumps([p, numpy_read(p)]), flush=True)


def run_numpy(files):
    """numpy's answers, from a worker process restarted when numpy itself crashes: np.load
    can kill the interpreter (SIGFPE on a 'str' dtype of itemsize 0 with shape (-1,)); such a
    file counts as refused by numpy."""
    ref, crashes = {}, []
    todo = [p for p, _ in files]
    while todo:
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--numpy-worker"],
                           input="\n".join(todo) + "\n", capture_output=True, text=True)
        for line in r.stdout.splitlines():
            p, ans = json.loads(line)
            ref[p] = tuple(tuple(x) if isinstance(x, list) else x for x in ans)
        rest = [p for p in todo if p not in ref]
        if rest:
            crashes.append((rest[0], r.returncode))
            ref[rest[0]] = ("err", f"numpy crashed (status {r.returncode})")
            rest = rest[1:]
        todo = rest
    return ref, crashes


def main():
    if sys.argv[1:] == ["--numpy-worker"]:
        return numpy_worker()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", help="write the files here and keep them")
    ap.add_argument("--bin", help="directory holding npy_probe and ndmmap (default: build them)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    if args.bin:
        probe = os.path.join(args.bin, "examples", "npy_probe")
        cli = os.path.join(args.bin, "ndmmap")
    else:
        subprocess.run(["cargo", "build", "--quiet", "--release", "--features", "cli",
                        "--example", "npy_probe", "--bin", "ndmmap"], cwd=ROOT, check=True)
        probe = os.path.join(ROOT, "target", "release", "examples", "npy_probe")
        cli = os.path.join(ROOT, "target", "release", "ndmmap")
    tmp = args.keep or tempfile.mkdtemp(prefix="npy-fuzz-")
    os.makedirs(tmp, exist_ok=True)
    files = []
    for i in range(args.count):
        data, note = generate(rng, i)
        p = os.path.join(tmp, f"f{i:06d}.npy")
        with open(p, "wb") as f:
            f.write(data)
        files.append((p, note))
    ref, numpy_crashes = run_numpy(files)

    # The library, one process for all files; restarted after a crash, which is a failure.
    lib = {}
    crashes = []
    todo = [p for p, _ in files]
    while todo:
        r = subprocess.run([probe], input="\n".join(todo) + "\n", capture_output=True, text=True)
        for line in r.stdout.splitlines():
            parts = line.split("\t")
            lib[parts[0]] = parts[1:]
        done = [p for p in todo if p in lib]
        rest = [p for p in todo if p not in lib]
        if r.returncode != 0 or rest:
            if rest:
                crashes.append((rest[0], r.returncode, r.stderr.strip()[-300:]))
                lib[rest[0]] = ["crash"]
                rest = rest[1:]
        todo = rest
        del done

    failures = []
    counts = {"numpy_ok": 0, "numpy_err": 0, "agree_ok": 0, "values": 0, "raw": 0,
              "unsupported": 0, "agree_err": 0, "listed": 0}
    notes = dict(files)
    for p, _ in files:
        want = ref[p]
        got = lib[p]
        if want[0] == "ok":
            counts["numpy_ok"] += 1
        else:
            counts["numpy_err"] += 1
        # --- library
        if got[0] == "crash":
            failures.append((p, "library crashed", want, got))
        elif want[0] == "ok" and got[0] == "ok":
            if (got[1], tuple(int(x) for x in got[3].split(",") if x), got[2] == "F") != (
                want[1], want[2], want[3]):
                failures.append((p, "library answered differently", want, got))
            elif got[4] in ("mapped", "raw") and int(got[5]) != want[4]:
                failures.append((p, "library mapped different values", want, got))
            else:
                counts["agree_ok"] += 1
                if got[4] == "mapped":
                    counts["values"] += 1
                elif got[4] == "raw":
                    counts["raw"] += 1
        elif want[0] == "ok":
            if got[1].startswith("unsupported:"):
                counts["unsupported"] += 1
            else:
                failures.append((p, "library refused a file numpy reads", want, got))
        elif got[0] == "ok":
            failures.append((p, "library accepted a file numpy refuses", want, got))
        else:
            counts["agree_err"] += 1
        # --- command
        r = subprocess.run([cli, "info", "--json", p], capture_output=True, text=True,
                           errors="replace")
        lines = r.stderr.splitlines()
        if r.returncode < 0 or r.returncode not in (0, 1):
            failures.append((p, f"command exit status {r.returncode}", want, r.stderr[-300:]))
            continue
        if len(lines) > 3:
            failures.append((p, f"command wrote {len(lines)} lines to stderr", want, r.stderr[:300]))
        if r.returncode == 0:
            try:
                j = json.loads(r.stdout)
            except ValueError:
                failures.append((p, "command printed bad JSON", want, r.stdout[:300]))
                continue
            if j.get("unmappable"):
                # Listed, not mapped, with the reason (object, structured, StringDType): a
                # refusal with a reason; where numpy maps the file, the shape must be its.
                counts["listed"] += 1
                if want[0] == "ok" and (tuple(j["shape"]), j["order"] == "F") != want[2:4]:
                    failures.append((p, "command listed a different shape", want, r.stdout[:300]))
            elif want[0] != "ok":
                failures.append((p, "command accepted a file numpy refuses", want, r.stdout[:300]))
            elif (j["dtype"], tuple(j["shape"]), j["order"] == "F") != (want[1], want[2], want[3]):
                failures.append((p, "command answered differently", want, r.stdout[:300]))
        elif want[0] == "ok" and "unsupported" not in r.stderr.lower():
            failures.append((p, "command refused a file numpy reads", want, r.stderr[:300]))

    print(f"npy_fuzz: seed {seed}, {len(files)} files in {tmp}")
    for p, status in numpy_crashes:
        print(f"  numpy itself crashed (status {status}) on {p} ({notes[p]}); counted as refused")
    print("  numpy reads {numpy_ok}, refuses {numpy_err}; ndmmap library: same answer {agree_ok} "
          "(same values {values}, same raw bytes {raw}), refused as unsupported {unsupported}, "
          "both refuse {agree_err}; ndmmap info lists {listed} without mapping them (with why)"
          .format(**counts))
    for p, why, want, got in failures[:30]:
        print(f"FAIL {why}: {p} ({notes[p]})\n  numpy:  {want}\n  ndmmap: {got}")
    if not args.keep and not failures:
        shutil.rmtree(tmp)
    if failures:
        print(f"{len(failures)} failures (files kept in {tmp}; rerun with --seed {seed})")
        sys.exit(1)
    print("  no disagreement, crash or long error")


if __name__ == "__main__":
    main()
