#!/usr/bin/env bash
# Usage: scripts/sanitize_check.sh [--help]
#
# Builds every test program that links no LibTorch (the util and data layers: corpora, tokenizers,
# token files, atomic files, JSON and UTF-8 handling; the fuzz replays of every parser of outside
# bytes) with AddressSanitizer and UndefinedBehaviorSanitizer in build-sanitize/, and runs them:
# ctest's label torch_free (docs/reliability.md). An out-of-bounds read, a use after free, a leak
# or undefined behaviour fails the test that meets it, with the sanitizer's report.
#
# Left out: the layers that link LibTorch (model and up). Their parsers of outside bytes are built
# here from their torch-free source files (the safetensors and checkpoint headers, config.json,
# samples files, the experiment schema); the rest would mean an instrumented build of every torch
# layer, too long for CI's budget on 2 cores.
#
# Needs what `make test` needs (scripts/bootstrap.sh). Environment: JOBS (build and test
# parallelism, default nproc).
set -euo pipefail

die() { echo "sanitize_check: error: $*" >&2; exit 1; }
case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=build-sanitize
jobs=${JOBS:-$(nproc)}
# -O0 -g: readable reports, and a quarter less compile time than -O1 on 2 cores (the tests run in
# well under a minute either way); asserts on.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g" \
  -DCMAKE_C_FLAGS_DEBUG="-O0 -g" -DCOLLAPSE_SANITIZE=address,undefined -DCOLLAPSE_CUDA=OFF \
  -DCOLLAPSE_BENCHMARKS=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; die "configuring $build failed"; }
cmake --build "$build" -j "$jobs" --target torch_free_tests
# detect_leaks: on by default on x86-64 Linux; said here so that it stays on elsewhere.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
  ctest --test-dir "$build" -L torch_free --output-on-failure -j "$jobs"
echo "sanitize_check: every torch-free test passed under AddressSanitizer and UndefinedBehaviorSanitizer"
