#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [--seconds S] [--jobs N] [HARNESS...]
# Fuzzes the parsers of outside bytes (docs/reliability.md): builds the libFuzzer harnesses of
# tests/fuzz/ with clang, AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/ (clang
# is installed with apt-get when missing and running as root), then runs each HARNESS (default:
# all of them) for S seconds (default 600), N at a time (default: the number of cores). The
# contract: any bytes give a value or one collapse::Error; a crash, a sanitizer report, an input
# that takes over a second or an allocation over 2 GB is a finding. Each harness starts from its
# saved inputs in tests/fuzz/HARNESS/ plus what earlier runs found (build-fuzz/corpus/HARNESS/);
# findings are written to build-fuzz/findings/HARNESS/. Fix what one shows, then copy it into
# tests/fuzz/HARNESS/ as a regression input: ctest's fuzz.HARNESS replays it in every build.
# Prints, per harness, the seconds run, the inputs executed and the findings; exits non-zero
# when there is a finding.
set -euo pipefail

seconds=600
jobs=$(nproc)
harnesses=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    -*) echo "fuzz: error: unknown option '$1' (see --help)" >&2; exit 1 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: error: --seconds must be a positive integer, got '$seconds'" >&2; exit 1; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: error: --jobs must be a positive integer, got '$jobs'" >&2; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The list in tests/CMakeLists.txt, which may span lines: from "set(COLLAPSE_FUZZ_HARNESSES" to ")".
all=$(sed -n '/^set(COLLAPSE_FUZZ_HARNESSES/,/)/p' tests/CMakeLists.txt | tr '\n' ' ' |
      sed 's/^set(COLLAPSE_FUZZ_HARNESSES *//; s/).*$//; s/  */ /g; s/ *$//')
[[ ${#harnesses[@]} -gt 0 ]] || read -r -a harnesses <<<"$all"
for h in "${harnesses[@]}"; do
  [[ " $all " == *" $h "* ]] || { echo "fuzz: error: no harness '$h' (the harnesses are: $all)" >&2; exit 1; }
done

# clang, and its OpenMP runtime (CMake finds OpenMP for the LibTorch layers even where only the
# torch-free parsers are built).
if ! command -v clang++ >/dev/null || ! dpkg -s libomp-dev >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "fuzz: installing clang and libomp-dev"
    apt-get install -y -qq clang libomp-dev >/dev/null
  elif ! command -v clang++ >/dev/null; then
    echo "fuzz: error: clang++ not found; install clang and libomp-dev (Debian: apt-get install clang libomp-dev)" >&2
    exit 1
  fi
fi

build=build-fuzz
# Configured every time (cheap): a harness added since the last run gets its target.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOLLAPSE_FUZZ=ON \
  -DCOLLAPSE_CUDA=OFF -DCOLLAPSE_BENCHMARKS=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; echo "fuzz: error: configuring $build failed" >&2; exit 1; }
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
echo "fuzz: building ${harnesses[*]} in $build"
cmake --build "$build" -j "$jobs" "${targets[@]}" >"$build/build.log" 2>&1 ||
  { tail -40 "$build/build.log" >&2; echo "fuzz: error: the build failed (log: $build/build.log)" >&2; exit 1; }

run_one() {
  local h=$1 corpus=$build/corpus/$1 findings=$build/findings/$1
  mkdir -p "$corpus" "$findings"
  "$build/bin/fuzz_$h" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "tests/fuzz/$h" >"$build/$h.log" 2>&1 || true
}
echo "fuzz: running each harness for $seconds s, $jobs at a time (logs: $build/HARNESS.log)"
running=0
for h in "${harnesses[@]}"; do
  run_one "$h" &
  running=$((running + 1))
  if [[ $running -ge $jobs ]]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-16s %8s %12s %9s\n' harness seconds executions findings
for h in "${harnesses[@]}"; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$h.log" | tail -1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$build/$h.log" | tail -1)
  found=$(find "$build/findings/$h" -type f | wc -l)
  printf '%-16s %8s %12s %9s\n' "$h" "${took:-?}" "${runs:-?}" "$found"
  if [[ $found -gt 0 ]]; then
    status=1
    find "$build/findings/$h" -type f | sed 's/^/  finding: /'
  fi
done
exit $status
