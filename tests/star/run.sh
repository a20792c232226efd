#!/usr/bin/env bash
# Conformance tests of the Starlark interpreter: runs every tests/star/*.star
# with `faultbox star --test-builtins` (each must exit 0), then every
# tests/star/errors/*.star, which must exit 1 with the first stderr line
# equal to its "# want: ..." first line. Usage: run.sh [FILE...]
set -uo pipefail
FAULTBOX=${FAULTBOX:-build/src/cli/faultbox}
case $FAULTBOX in /*) ;; *) FAULTBOX=$PWD/$FAULTBOX ;; esac
here=$(cd "$(dirname "$0")" && pwd)
fail=0 n=0
if [ $# -gt 0 ]; then files=("$@"); else files=("$here"/*.star "$here"/errors/*.star); fi
for f in "${files[@]}"; do
  f=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
  n=$((n + 1))
  dir=$(dirname "$f") base=$(basename "$f")
  if [ "$(basename "$dir")" = errors ]; then
    want=$(head -1 "$f" | sed -n 's/^# want: //p')
    out=$(cd "$dir" && "$FAULTBOX" star --test-builtins "$base" 2>&1 >/dev/null)
    rc=$?
    got=$(printf '%s\n' "$out" | head -1)
    if [ $rc -ne 1 ] || [ "$got" != "$want" ]; then
      echo "FAIL errors/$base (exit $rc)"
      echo "  want: $want"
      echo "  got:  $got"
      fail=$((fail + 1))
    fi
  else
    if ! out=$(cd "$dir" && "$FAULTBOX" star --test-builtins "$base" 2>&1); then
      echo "FAIL $base"
      printf '%s\n' "$out" | sed 's/^/  /' | head -20
      fail=$((fail + 1))
    fi
  fi
done
echo "$((n - fail))/$n passed"
[ $fail -eq 0 ]
