#!/usr/bin/env bash
# Usage: reference_fixture.sh PYTHON OUT_DIR SCRIPT [ARG...]
# A ctest fixture made by a Python reference script: runs `PYTHON SCRIPT OUT_DIR ARG...` into a
# fresh OUT_DIR. Where the script exits 77 (its reference libraries are not importable) it writes
# OUT_DIR/unavailable.txt with the script's message and succeeds, so that the tests skip and say
# why instead of failing.
set -uo pipefail
python=$1 out=$2 script=$3
shift 3
rm -rf "$out"
mkdir -p "$out"
message=$("$python" "$script" "$out" "$@" 2>&1)
rc=$?
echo "$message"
if [[ $rc == 77 ]]; then
  echo "$message" >"$out/unavailable.txt"
  exit 0
fi
exit $rc
