#!/usr/bin/env bash
# The README's Rust examples as a user gets them (CI runs this; so can you, after a build):
# 1. each ```rust block is a complete program: no rustdoc-hidden lines (`# ...`), a `fn main`,
#    and ndarray named through ndmmap's re-export (`ndmmap::ndarray`), never a crate of its own;
# 2. a new cargo project that depends on this checkout by path, with the features of the
#    README's "Depend on it" line, gets each block pasted as a program (src/bin/readme_N.rs,
#    N counted from 1: the quick start is 1), builds them offline and runs them;
# 3. the quick start prints what it found.
# The build shares CARGO_TARGET_DIR (default target/) and Cargo.lock with this checkout, so the
# dependencies are the ones already built; only ndmmap with that feature set and the programs
# are compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

fail() { echo "README.md: $*" >&2; exit 1; }

# 1. The blocks, checked as text. A fence opens with ```LANG and closes with ```; only Rust
# blocks are looked at (a `# comment` in a ```sh block is fine).
awk '
  /^```/ { if (fence) { fence = 0; if (rust && !main) { print "README.md:" start ": a Rust block without fn main"; bad = 1 } }
           else { fence = 1; rust = ($0 ~ /^```rust/); main = 0; start = NR }
           next }
  fence && rust && /^#( |$)/ { print "README.md:" NR ": a hidden line (rustdoc drops it, a copy keeps it): " $0; bad = 1 }
  fence && rust && /fn main\(/ { main = 1 }
  fence && rust { line = $0; gsub(/ndmmap::ndarray/, "", line);
                  if (line ~ /(^|[^[:alnum:]_:])ndarray::/) { print "README.md:" NR ": ndarray not through ndmmap::ndarray: " $0; bad = 1 } }
  END { exit bad }
' README.md || fail "Rust blocks must be complete programs, as copied"

# 2. The dependency line, mirrored with a path.
dep=$(grep -m1 '^ndmmap = { version = "' README.md) || fail 'no `ndmmap = { version = ...` line'
version=$(sed -n 's/^ndmmap = { version = "\([^"]*\)".*/\1/p' <<<"$dep")
features=$(sed -n 's/.*features = \(\[[^]]*\]\).*/\1/p' <<<"$dep")
crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
case "$crate_version" in "$version" | "$version".*) ;; *) fail "depends on version $version, Cargo.toml has $crate_version" ;; esac
[ -n "$features" ] || fail "the dependency line has no features list"

project=$(mktemp -d "${TMPDIR:-/tmp}/ndmmap-readme.XXXXXX")
trap 'rm -rf "$project"' EXIT
mkdir -p "$project/src/bin"
cat >"$project/Cargo.toml" <<EOF
[package]
name = "readme-examples"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
ndmmap = { path = "$root", features = $features }

[workspace]
EOF
cp Cargo.lock "$project/"
awk -v dir="$project/src/bin" '
  /^```/ { if (fence) { fence = 0; if (out) close(out); out = "" }
           else { fence = 1; if ($0 ~ /^```rust/) { n++; out = dir "/readme_" n ".rs"; if ($0 ~ /no_run/) print n > (dir "/no_run") } }
           next }
  fence && out { print > out }
' README.md
count=$(find "$project/src/bin" -name 'readme_*.rs' | wc -l)
[ "$count" -gt 0 ] || fail "no Rust blocks"
echo "README.md: $count Rust blocks, built as copied with $dep"

# Offline: every crate the checkout's build needed is in the registry cache already.
CARGO_TARGET_DIR="$target_dir" cargo build --quiet --offline --manifest-path "$project/Cargo.toml" --bins

# 3. Run them (a `no_run` block is only built), the quick start's output checked.
for n in $(seq 1 "$count"); do
  if grep -qx "$n" "$project/src/bin/no_run" 2>/dev/null; then
    echo "== readme_$n: built (no_run)"
    continue
  fi
  echo "== readme_$n"
  timeout 120 "$target_dir/debug/readme_$n" | tee "$project/out_$n"
done
for want in 'x.npy: dtype <f4, shape \[1000, 256\]' 'sum of column 3: 1500' \
  'data.bin: shape \[1000, 3\] after 64 bytes, column 1 sums to 2000' 'scratch: shape \[1024, 1024\], sum 1'; do
  grep -q "$want" "$project/out_1" || fail "the quick start did not print '$want'"
done
echo "README.md: every example builds and runs as copied; the quick start prints what it found"
