#!/usr/bin/env bash
# Builds the Rust half of the numpy round trip and runs it against real numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check numpy
cargo build --quiet --release --example npy_roundtrip
python3 scripts/npy_interop.py target/release/examples/npy_roundtrip
cargo build --quiet --release --example shm_python
python3 scripts/shm_interop.py target/release/examples/shm_python
