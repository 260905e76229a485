#!/usr/bin/env bash
# `ndmmap stats` on a cached 2 GiB .npy file with 1, 2 and 4 MPI ranks: wall time and each
# rank's peak RSS (VmHWM, from GNU time's %M). The README's figure ("Beyond one machine").
#
#   scripts/mpi_bench.sh [FILE] [ROUNDS]
#
# Builds the command with --features cli,mpi (release), creates FILE (16 Mi x 16 float64,
# 2 GiB) with numpy if missing, and runs ROUNDS (default 5) interleaved rounds of 1, 2 and 4
# ranks, each right after reading the file once more (this machine drops idle page cache
# after ~30 s: every run starts from a warm cache). Prints each run, then the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-/tmp/ndmmap_mpi_bench.npy}
rounds=${2:-5}
cargo build --quiet --release --features cli,mpi
bin=target/release/ndmmap
if [ ! -f "$file" ]; then
  python3 - "$file" <<'PY'
import sys, numpy as np
a = np.lib.format.open_memmap(sys.argv[1], mode="w+", dtype="<f8", shape=(16 << 20, 16))
rng = np.random.default_rng(0)
step = 1 << 20
for i in range(0, a.shape[0], step):
    a[i:i + step] = rng.normal(100.0, 3.0, (min(step, a.shape[0] - i), 16))
a.flush()
PY
fi
log=$(mktemp)
for r in $(seq "$rounds"); do
  for n in 1 2 4; do
    cat "$file" > /dev/null    # warm: the whole file in the page cache
    start=$(date +%s.%N)
    mpirun --allow-run-as-root --oversubscribe -n "$n" \
      /usr/bin/time -f "rss_kib %M" "$bin" stats --mpi "$file" > /dev/null 2> "$log.err"
    end=$(date +%s.%N)
    rss=$(grep -o 'rss_kib [0-9]*' "$log.err" | awk '{print $2}' | sort -n | tr '\n' ' ')
    wall=$(echo "$end - $start" | bc)
    echo "round $r ranks $n wall_s $wall rss_kib $rss" | tee -a "$log"
  done
done
echo "medians over $rounds rounds:"
for n in 1 2 4; do
  awk -v n="$n" '$4 == n { print $6 }' "$log" | sort -n |
    awk -v n="$n" '{ v[NR] = $1 } END { printf "ranks %d: wall %.2f s", n, v[int((NR + 1) / 2)] }'
  awk -v n="$n" '$4 == n { for (i = 8; i <= NF; i++) print $i }' "$log" | sort -n |
    awk '{ v[NR] = $1 } END { printf ", peak RSS per rank %d-%d MiB (median %d)\n", v[1] / 1024, v[NR] / 1024, v[int((NR + 1) / 2)] / 1024 }'
done
rm -f "$log" "$log.err"
