#!/usr/bin/env bash
# Peer comparisons, each run side by side in one script on the same warm pages:
#   1. residency of a page-cached 4 GiB file, whole processes, interleaved rounds, medians:
#      a full mincore (bench_probe), `ndmmap info` and the `ndmmap residency` chart (cachestat
#      counts) vs fincore and vmtouch; and pages(..).along(Axis(0)) of it as a (n, 512) f64 array;
#   2. .npy: map an 8 GiB file and read one element, and sum a cached 1 GiB file:
#      ndmmap vs numpy (np.load(mmap_mode='r'), timed inside Python).
# Usage: bash benches/peers.sh [ROUNDS]   (needs ~13 GiB of free disk, sparse where it can)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
command -v vmtouch >/dev/null || { apt-get update -qq && apt-get install -y -qq vmtouch >/dev/null; }
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install --quiet numpy
cargo build --quiet --release --example bench_probe
cargo build --quiet --release --features cli --bin ndmmap
PROBE=target/release/examples/bench_probe
CLI=target/release/ndmmap
DIR=$(mktemp -d /var/tmp/ndmmap-peers.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

# Median wall time in ms of a command over ROUNDS runs.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== residency of a page-cached 4 GiB file (median of $ROUNDS interleaved rounds) =="
F=$DIR/four.bin
head -c $((4 << 30)) /dev/zero | tr '\0' '\1' > "$F"
declare -A T
for r in $(seq "$ROUNDS"); do
  cat "$F" > /dev/null   # warm right before timing: the daemon evicts pages idle ~30 s
  for tool in ndmmap info chart fincore vmtouch; do
    case $tool in
      ndmmap) cmd=("$PROBE" mincore "$F") ;;
      info) cmd=("$CLI" info --dtype f8 --shape 524288,1024 "$F") ;;
      chart) cmd=("$CLI" residency --dtype f8 --shape 524288,1024 "$F") ;;
      fincore) cmd=(fincore "$F") ;;
      vmtouch) cmd=(vmtouch "$F") ;;
    esac
    # $EPOCHREALTIME (bash 5) costs no process: a millisecond command is timed fairly.
    s=${EPOCHREALTIME/./}; "${cmd[@]}" > /dev/null; e=${EPOCHREALTIME/./}
    T[$tool]+="$(( e - s ))"$'\n'
  done
done
for tool in ndmmap info chart fincore vmtouch; do
  printf '%s\n' "${T[$tool]}" | sed '/^$/d' | median | awk -v t=$tool '{printf "%-8s process %8.2f ms\n", t, $1/1000}'
done
nd=$(printf '%s\n' "${T[ndmmap]}" | sed '/^$/d' | median)
fc=$(printf '%s\n' "${T[fincore]}" | sed '/^$/d' | median)
vt=$(printf '%s\n' "${T[vmtouch]}" | sed '/^$/d' | median)
in=$(printf '%s\n' "${T[info]}" | sed '/^$/d' | median)
ch=$(printf '%s\n' "${T[chart]}" | sed '/^$/d' | median)
awk -v a="$nd" -v b="$fc" -v c="$vt" 'BEGIN {printf "ratio ndmmap/fincore %.2f   ndmmap/vmtouch %.2f   (below 1: ndmmap faster)\n", a/b, a/c}'
awk -v i="$in" -v r="$ch" -v b="$fc" 'BEGIN {printf "fincore is %.1fx the time of ndmmap info, %.1fx of the ndmmap residency chart\n", b/i, b/r}'
cat "$F" > /dev/null
echo "in-process: mincore $($PROBE mincore "$F" "$ROUNDS") ms, pages(..).along(Axis(0)) of (1048576, 512) f64 $($PROBE along "$F" "$ROUNDS") ms"
rm -f "$F"

echo
echo "== .npy: ndmmap vs numpy =="
python3 - "$PROBE" "$DIR" "$ROUNDS" <<'PY'
import os, subprocess, sys, time
import numpy as np
probe, d, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])

def med(f):
    ts = []
    for _ in range(rounds):
        s = time.perf_counter(); f(); ts.append((time.perf_counter() - s) * 1e3)
    return sorted(ts)[len(ts) // 2]

big = os.path.join(d, "eight.npy")
m = np.lib.format.open_memmap(big, mode="w+", dtype="<f8", shape=((8 << 30) // 8,))  # sparse
del m
def np_open():
    a = np.load(big, mmap_mode="r"); float(a[a.shape[0] // 2])
np_ms = med(np_open)
nd_ms = float(subprocess.run([probe, "npy-open", big, str(rounds)], capture_output=True, text=True, check=True).stdout)
print(f"map 8 GiB .npy + read one element: ndmmap {nd_ms:.3f} ms, numpy {np_ms:.3f} ms, ratio ndmmap/numpy {nd_ms/np_ms:.3f}")
os.remove(big)

one = os.path.join(d, "one.npy")
np.save(one, np.arange((1 << 30) // 8, dtype="<f8") % 1000)
with open(one, "rb") as f:
    while f.read(1 << 24): pass   # warm right before timing
a = np.load(one, mmap_mode="r"); a.sum()
np_ms = med(lambda: a.sum())
nd_ms = float(subprocess.run([probe, "npy-sum", one, str(rounds)], capture_output=True, text=True, check=True).stdout)
print(f"sum cached 1 GiB .npy (mapped once): ndmmap {nd_ms:.1f} ms, numpy memmap {np_ms:.1f} ms, ratio ndmmap/numpy {nd_ms/np_ms:.3f}")
PY
