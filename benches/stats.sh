#!/usr/bin/env bash
# Streaming statistics against numpy (issue 19, items 3 and 4): every contender in its own
# process, in interleaved rounds (each round all cold, then all cached-read-back, each block in
# an order shuffled per round), on a 1 GiB (262144, 512) f64 .npy of random normal values.
#   stats1, stats2  `ndmmap stats --threads N F > /dev/null` (axis 0, text): the release binary
#                   timed as a whole process from the shell (a fresh process that opens the
#                   file, makes its one pass and prints the 512 columns' table)
#   np-mean         np.load(F, mmap_mode='r').mean(axis=0), timed inside Python (np.load to
#                   the result; interpreter start and `import numpy` excluded)
#   np-five         the same np.load, then mean, std, min and max along axis 0 (count is the
#                   shape), timed together inside Python
#   stream          the library's plain Stream: `Stream::new(&a)?` with its defaults (60 MiB
#                   windows, Behind::Keep), summing each window: `stream_probe stream F --bytes
#                   60M`, timed inside the process from npy::open to the end of the sum
# States, each prepared right before each run (the machine's daemon evicts page cache idle
# ~30 s, so nothing is warmed earlier):
#   cached  "read back": evicted with posix_fadvise(DONTNEED) (python's os.posix_fadvise), then
#           `cat F > /dev/null` (a read back gives the page cache large folios, as a file read
#           by anything would have; a freshly written file's pages differ)
#   cold    `cat F > /dev/null`, then evicted: the same history before every cold run
# Each run's line: `<phase> <round> <mode> <seconds> <GB/s> <VmHWM KiB> <check>
# <resident MiB before> <disk MiB during>` (GB = 10^9 bytes of array data; the check is the
# contender's mean of column 0 or the stream's sum; resident from fincore; disk from
# /proc/vmstat pgpgin, the whole machine's). Reported: medians, the issue's ratios (of the
# medians, and the median of the per-round ratios).
# Then peak RSS (VmHWM, /usr/bin/time's maximum resident set) of `ndmmap stats` along axis 1
# (text, and --json to /dev/null) and along axis 0 of a 512 MiB (4194304, 16) f64 .npy.
# Usage: bash benches/stats.sh [ROUNDS=7]   (~4 min at 7 rounds; 1.5 GiB free in /var/tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
F=/var/tmp/stats-bench-1g.npy
F2=/var/tmp/stats-bench-tall.npy
T=${CARGO_TARGET_DIR:-target}
BIN=$T/release/ndmmap
PROBE=$T/release/examples/stream_probe
python3 -c 'import numpy' 2> /dev/null || python3 -m pip install --quiet numpy
cargo build --quiet --release --features cli --bin ndmmap --example stream_probe
OUT=$(mktemp /var/tmp/stats-bench.XXXXXX)
trap 'rm -f "$F" "$F2" "$OUT" "$OUT.time" "$OUT.json" "$OUT.rss"' EXIT

echo "== machine =="
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/2^20}' /proc/meminfo), kernel $(uname -r), numpy $(python3 -c 'import numpy; print(numpy.__version__)'), $(python3 -V)"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "busiest processes at start: $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{printf "%s %s%%; ", $2, $1}')"

echo
echo "== writing $F (262144 x 512 <f8, 1 GiB) and $F2 (4194304 x 16 <f8, 512 MiB): random normal =="
python3 - "$F" "$F2" <<'PY'
import sys
import numpy as np
for path, shape, seed in ((sys.argv[1], (262144, 512), 0), (sys.argv[2], (4194304, 16), 1)):
    rng = np.random.default_rng(seed)
    a = np.lib.format.open_memmap(path, mode="w+", dtype="<f8", shape=shape)
    step = (32 << 20) // (8 * shape[1])  # 32 MiB at a time
    for i in range(0, shape[0], step):
        a[i:i + step] = rng.standard_normal((min(step, shape[0] - i), shape[1]))
    a.flush()
    del a
PY
sync
ls -l "$F" "$F2" | awk '{print $5, $NF}'

evict() { # posix_fadvise(DONTNEED) of the whole file
  python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$1"
}
resident_mib() { fincore --bytes --noheadings --output RES "$1" | awk '{printf "%.0f", $1 / 2^20}'; }
usec() { echo "${EPOCHREALTIME/./}"; }

numpy_run() { # mean|five FILE
  python3 - "$@" <<'PY'
import sys, time
import numpy as np
t = time.perf_counter()
a = np.load(sys.argv[2], mmap_mode="r")
if sys.argv[1] == "mean":
    m = a.mean(axis=0)
else:
    m = a.mean(axis=0); s = a.std(axis=0); lo = a.min(axis=0); hi = a.max(axis=0)
dt = time.perf_counter() - t
hwm = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(f"np-{sys.argv[1]} {dt:.3f} {a.nbytes / dt / 1e9:.3f} {hwm} {m[0]:.17g}")
PY
}

command_run() { # THREADS: the whole process, from the shell
  local s e
  s=$(usec)
  /usr/bin/time -f %M -o "$OUT.time" "$BIN" stats --threads "$1" "$F" > /dev/null
  e=$(usec)
  awk -v b=$((262144 * 512 * 8)) -v us=$((e - s)) -v m="$(tail -1 "$OUT.time")" -v n="$1" \
    'BEGIN {printf "stats%s %.3f %.3f %s -\n", n, us/1e6, b/(us/1e6)/1e9, m}'
}

run() { # contender -> its one line
  case $1 in
    stats*) command_run "${1#stats}" ;;
    np-mean) numpy_run mean "$F" ;;
    np-five) numpy_run five "$F" ;;
    stream) "$PROBE" stream "$F" --bytes 60M | sed 's/^stream60M/stream/' ;;
  esac
}

pgpgin() { awk '$1 == "pgpgin" {print $2}' /proc/vmstat; }
measured() { # contender -> its line, the MiB resident before, the MiB read from disk during
  local before res line
  res=$(resident_mib "$F")
  before=$(pgpgin)
  line=$(run "$1")
  echo "$line $res $((($(pgpgin) - before) / 1024))"
}

CONTENDERS=(stats1 stats2 np-mean np-five stream)
shuffled() { # SEED CONTENDER... (seeded: reruns repeat the orders)
  local seed=$1
  shift
  printf '%s\n' "$@" | awk -v s="$seed" 'BEGIN {srand(s + 0)} {print rand(), $0}' | sort -n | cut -d' ' -f2
}

echo
echo "== the answers agree (cached): ndmmap stats --json against numpy's mean, std, min, max =="
cat "$F" > /dev/null
"$BIN" stats --json "$F" > "$OUT.json"
python3 - "$F" "$OUT.json" <<'PY'
import json, sys
import numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
r = json.load(open(sys.argv[2]))
for k, f in (("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)):
    want = f(a, axis=0)
    got = np.array(r[k])
    print(f"{k:5s} max |ndmmap - numpy| / |numpy| = {np.max(np.abs(got - want) / np.abs(want)):.2e}")
PY

echo
echo "== $ROUNDS interleaved rounds (phase round mode seconds GB/s VmHWM_KiB check resident_MiB disk_MiB) =="
T0=$SECONDS
for r in $(seq "$ROUNDS"); do
  for c in $(shuffled "$r" "${CONTENDERS[@]}"); do
    cat "$F" > /dev/null
    evict "$F"
    echo "cold $r $(measured "$c")" | tee -a "$OUT"
  done
  for c in $(shuffled $((r + 1000)) "${CONTENDERS[@]}"); do
    evict "$F"
    cat "$F" > /dev/null
    echo "cached $r $(measured "$c")" | tee -a "$OUT"
  done
  echo "-- round $r done at ${SECONDS}s, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "load at end of rounds: $(cut -d' ' -f1-3 /proc/loadavg), $((SECONDS - T0)) s of rounds"

echo
echo "== medians over $ROUNDS rounds (stats: whole process; numpy: in Python from np.load; stream: in process) =="
awk -v list="${CONTENDERS[*]}" '
  function med(s,   a, k, i, j, t) { # median of a space-separated list (insertion sort: mawk has no asort)
    k = split(s, a, " "); for (i = 2; i <= k; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  function lo(s,   a, k, i, x) { k = split(s, a, " "); x = a[1] + 0; for (i = 2; i <= k; i++) if (a[i] + 0 < x) x = a[i] + 0; return x }
  function hi(s,   a, k, i, x) { k = split(s, a, " "); x = a[1] + 0; for (i = 2; i <= k; i++) if (a[i] + 0 > x) x = a[i] + 0; return x }
  { key = $1 " " $3; sec[key] = sec[key] " " $4; g[key] = g[key] " " $5; m[key] = m[key] " " $6
    res[key] = res[key] " " $8; disk[key] = disk[key] " " $9; S[$1, $3, $2] = $4; G[$1, $3, $2] = $5 }
  END {
    nc = split(list, c, " ")
    printf "%-7s %-8s %8s %8s %8s %8s %8s %13s %13s\n", "phase", "mode", "seconds", "sec min", "sec max", "GB/s", "VmHWM MiB", "resident MiB", "disk MiB"
    for (ph = 1; ph <= 2; ph++) for (i = 1; i <= nc; i++) { k = (ph == 1 ? "cold " : "cached ") c[i]; if (!(k in g)) continue
      split(k, p, " ")
      printf "%-7s %-8s %8.3f %8.3f %8.3f %8.3f %9.1f %6.0f-%-6.0f %6.0f-%-6.0f\n", p[1], p[2], med(sec[k]), lo(sec[k]), hi(sec[k]), med(g[k]), \
        med(m[k]) / 1024, lo(res[k]), hi(res[k]), lo(disk[k]), hi(disk[k]) }
    print ""
    print "== the issue'"'"'s ratios (of the medians / paired: the median of the per-round ratios) =="
    ratio("cached", "stats2", "np-mean", "time", 1.0); ratio("cold", "stats2", "stream", "GB/s", 0.95)
    ratio("cold", "stats1", "stream", "GB/s", 0.95)
    print ""
    print "== more ratios =="
    ratio("cached", "stats2", "np-five", "time", 0); ratio("cached", "stats1", "stats2", "time", 0)
    ratio("cached", "stats1", "np-mean", "time", 0); ratio("cached", "np-five", "np-mean", "time", 0)
    ratio("cached", "stats2", "stream", "GB/s", 0)
    ratio("cold", "stats2", "np-mean", "time", 0); ratio("cold", "stats2", "np-five", "time", 0)
    ratio("cold", "stats1", "stats2", "time", 0); ratio("cold", "np-mean", "stream", "GB/s", 0)
  }
  function ratio(phase, a, b, what, target,   r, pr, x, rr, ok, A, B, le) {
    if (!((phase " " a) in g) || !((phase " " b) in g)) return
    le = what == "time" # a time ratio should be at most its target, a throughput ratio at least
    r = le ? med(sec[phase " " a]) / med(sec[phase " " b]) : med(g[phase " " a]) / med(g[phase " " b])
    pr = ""; for (x = 1; (phase, a, x) in S; x++) if ((phase, b, x) in S)
      pr = pr " " (le ? S[phase, a, x] / S[phase, b, x] : G[phase, a, x] / G[phase, b, x])
    rr = med(pr)
    if (target) { A = le ? r <= target : r >= target; B = le ? rr <= target : rr >= target
      ok = sprintf("  (target %s %.2fx: %s)", le ? "<=" : ">=", target, A && B ? "met" : A || B ? "borderline" : "MISSED") }
    printf "%-6s %-7s / %-7s %-4s %.3fx, paired %.3fx%s\n", phase, a, b, what, r, rr, ok
  }' "$OUT"

echo
echo "== peak RSS on $F2 (4194304 x 16 <f8, 512 MiB; cached read back before each run; 3 runs each) =="
echo "(the issue's bound along axis 1: <= 200 MiB; numpy's mean along axis 1 for comparison, VmHWM in Python)"
printf "%-34s %12s %12s %10s\n" "run" "VmHWM MiB" "max MiB" "seconds"
rss_runs() { # LABEL COMMAND...: 3 runs; the median and the max peak RSS, the median seconds
  local label=$1 s e i
  shift
  : > "$OUT.rss"
  for i in 1 2 3; do
    evict "$F2"
    cat "$F2" > /dev/null
    s=$(usec)
    /usr/bin/time -f %M -o "$OUT.time" "$@" > /dev/null
    e=$(usec)
    echo "$(tail -1 "$OUT.time") $((e - s))" >> "$OUT.rss"
  done
  printf "%-34s %12.1f %12.1f %10.3f\n" "$label" \
    "$(sort -n -k1,1 "$OUT.rss" | awk 'NR == 2 {print $1 / 1024}')" \
    "$(sort -n -k1,1 "$OUT.rss" | awk 'NR == 3 {print $1 / 1024}')" \
    "$(sort -n -k2,2 "$OUT.rss" | awk 'NR == 2 {print $2 / 1e6}')"
}
rss_runs "ndmmap stats --axis 1" "$BIN" stats --axis 1 "$F2"
rss_runs "ndmmap stats --axis 1 --json" "$BIN" stats --axis 1 --json "$F2"
rss_runs "ndmmap stats --axis 0" "$BIN" stats --axis 0 "$F2"
rss_runs "ndmmap stats --axis 0 --json" "$BIN" stats --axis 0 --json "$F2"
rss_runs "numpy mean(axis=1) (whole process)" python3 -c 'import sys, numpy as np
np.load(sys.argv[1], mmap_mode="r").mean(axis=1)' "$F2"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg), $SECONDS s in all"
