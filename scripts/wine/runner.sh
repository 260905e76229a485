#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu: runs a Windows executable under Wine.
#   CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/wine/runner.sh" \
#     cargo test --target x86_64-pc-windows-gnu --tests
# - builds the ProcessPrng shim (bcryptprimitives.dll, see shim.c) once and puts it beside the
#   executable, and beside the profile directory's executables when it runs one from deps/ (a
#   test that spawns target/<triple>/debug/ndmmap.exe needs it there too);
# - uses a private Wine prefix, <target dir>/wine/prefix, created once (wineboot, quiet);
# - silences Wine's debug output (WINEDEBUG=-all unless set) and runs `wine64 "$@"`, whose exit
#   status is the program's.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exe="$1"
exe_dir="$(cd "$(dirname "$exe")" && pwd)"

# The target directory: the parent of the x86_64-pc-windows-gnu directory the executable lives in.
target_dir=""
d="$exe_dir"
while [ "$d" != "/" ]; do
  if [ "$(basename "$d")" = x86_64-pc-windows-gnu ]; then target_dir="$(dirname "$d")"; break; fi
  d="$(dirname "$d")"
done
[ -n "$target_dir" ] || target_dir="${CARGO_TARGET_DIR:-$here/../../target}"
mkdir -p "$target_dir/wine"
target_dir="$(cd "$target_dir" && pwd)"

wine="${WINE:-$(command -v wine64 || echo /usr/lib/wine/wine64)}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEPREFIX="$target_dir/wine/prefix"

(
  # One at a time: the shim build and the first wineboot are shared by every run.
  flock 9
  dll="$("$here/build.sh" "$target_dir/wine")"
  for dir in "$exe_dir" $([ "$(basename "$exe_dir")" = deps ] && dirname "$exe_dir"); do
    [ -f "$dir/bcryptprimitives.dll" ] || cp "$dll" "$dir/bcryptprimitives.dll"
  done
  # (Wine writes system.reg only when its server exits: our own mark says the prefix is made.)
  if [ ! -f "$target_dir/wine/prefix.done" ]; then
    echo "runner.sh: creating the Wine prefix $WINEPREFIX (once)" >&2
    rm -rf "$WINEPREFIX"
    # No Mono or Gecko: nothing here needs .NET or a browser, and their installers would prompt.
    WINEDLLOVERRIDES="mscoree,mshtml=" "$wine" wineboot --init >/dev/null 2>&1
    # Wait for the server to write the new prefix out, so the first test does not pay for it.
    server="$(dirname "$wine")/wineserver"
    if [ -x "$server" ]; then "$server" -w || true; fi
    touch "$target_dir/wine/prefix.done"
  fi
) 9>"$target_dir/wine/lock"

# Not inside Wine: assert_cmd (the command's tests) would wrap every binary it starts in this
# Unix script, which a Windows process cannot start ("Invalid handle").
unset CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER
exec "$wine" "$@"
