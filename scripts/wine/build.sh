#!/usr/bin/env bash
# Builds bcryptprimitives.dll (the ProcessPrng shim, see shim.c) into the directory given as $1
# (default: target/wine). Prints the DLL's path. Needs gcc-mingw-w64-x86-64.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../target/wine}"
mkdir -p "$out"
dll="$out/bcryptprimitives.dll"
if [ ! -f "$dll" ] || [ "$here/shim.c" -nt "$dll" ] || [ "$here/shim.def" -nt "$dll" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -s -o "$dll.tmp" "$here/shim.c" "$here/shim.def" -ladvapi32
  mv "$dll.tmp" "$dll"
fi
echo "$(cd "$out" && pwd)/bcryptprimitives.dll"
