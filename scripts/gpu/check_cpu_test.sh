#!/usr/bin/env bash
# Usage: scripts/gpu/check_cpu_test.sh [--help] BUILD_DIR
#
# The ctest test bench.gpu_check_cpu (benchmarks/CMakeLists.txt): runs scripts/gpu/check.sh --cpu
# against the CPU build BUILD_DIR into BUILD_DIR/check-cpu, then checks what it wrote:
# summary.md exists; summary.json lists every stage of `check.sh --list-stages`, in order, each
# with a status (ok, failed or skipped) and its seconds; no stage failed except GPU-only ones;
# and every benchmark or baseline stage that ran has headline numbers (so the summary still
# parses the benchmarks' output). check.sh's code thus runs on every test run here and is never
# first executed on the GPU machine. Lists every problem it finds, then exits non-zero.
set -euo pipefail

die() { echo "check_cpu_test: error: $*" >&2; exit 1; }
case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") die "missing BUILD_DIR (see --help)" ;;
esac
(($# == 1)) || die "expected one BUILD_DIR (see --help)"
build=$(realpath "$1") || die "no build folder '$1'"
[[ -f $build/CMakeCache.txt ]] || die "$build is not a CMake build folder"
check=$(dirname "${BASH_SOURCE[0]}")/check.sh
out=$build/check-cpu

# check.sh's own exit status says whether a stage failed; the checker below says which, and
# lets GPU-only stages fail, so it decides the test's result.
"$check" --cpu --build-dir "$build" "$out" || echo "check_cpu_test: check.sh exited with status $?"
python3 - "$out" "$("$check" --list-stages)" <<'EOF'
import json, os, sys

out, expected = sys.argv[1], sys.argv[2].split()
problems = []
if not os.path.isfile(os.path.join(out, "summary.md")):
    problems.append("no summary.md")
try:
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"check_cpu_test: error: cannot read {out}/summary.json: {e}")
stages = summary.get("stages", [])
names = [s.get("name") for s in stages]
if names != expected:
    problems.append(f"summary.json lists {names}, check.sh --list-stages {expected}")
for s in stages:
    name, status, seconds = s.get("name"), s.get("status"), s.get("seconds")
    if status not in ("ok", "failed", "skipped"):
        problems.append(f"{name}: status {status!r} is not ok, failed or skipped")
    if not isinstance(seconds, (int, float)) or seconds < 0:
        problems.append(f"{name}: seconds {seconds!r} is not a number >= 0")
    if status == "failed" and not s.get("gpu_only"):
        problems.append(f"{name} failed: {s.get('note')} (see {out}/{s.get('log')})")
    if status == "ok" and name.startswith(("bench-", "baseline-")):
        h = s.get("headline") or {}
        if not (h.get("rows") or h.get("chunked")):
            problems.append(f"{name}: no headline numbers in summary.json (did the benchmark output change?)")
for p in problems:
    print(f"check_cpu_test: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"check_cpu_test: ok: {len(stages)} stages, "
      + ", ".join(f"{s['name']} {s['status']}" for s in stages))
EOF
