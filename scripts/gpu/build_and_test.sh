#!/usr/bin/env bash
# Usage: scripts/gpu/build_and_test.sh [--help]
#
# Run on the GPU machine from a copy of the repository that carries .debs (see
# scripts/gpu/README.md). Unpacks .debs into .deps-prefix, configures build-gpu with the CUDA
# kernels (sm_90) and the torch of python3, builds with every core, runs the gpu-labelled
# tests, then the whole test suite. Logs go to build-gpu/logs and, when $OUT is set, are
# copied there (also on failure). Exits non-zero if the build or either test run fails.
#
# Environment: OUT (folder the device tool brings back), CMAKE_ARGS (extra configure arguments).
set -euo pipefail

die() { echo "build_and_test: error: $*" >&2; exit 1; }
case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
logs=build-gpu/logs
mkdir -p "$logs"
# shellcheck disable=SC2317  # called by the EXIT trap
save_logs() {
  [[ -n ${OUT:-} ]] || return 0
  mkdir -p "$OUT"
  cp -r "$logs/." "$OUT/"
  cp build-gpu/Testing/Temporary/LastTest*.log "$OUT/" 2>/dev/null || true
}
trap save_logs EXIT

scripts/gpu/unpack_debs.sh .debs .deps-prefix >/dev/null
# shellcheck source=/dev/null
. .deps-prefix/env.sh
# CUDA images often keep nvcc outside PATH.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

command -v nvcc >/dev/null || die "nvcc not found (looked on PATH and in /usr/local/cuda/bin)"
torch_dir=$(python3 -c 'import os, torch; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))') \
  || die "python3 cannot import torch"
{
  echo "host: $(uname -srm), $(nproc) cores"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' || true
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  fi
  nvcc --version | tail -n1
  cmake --version | head -n1
} 2>&1 | tee "$logs/machine.txt"

# CMAKE_ARGS is split on spaces on purpose, like make's.
# shellcheck disable=SC2086
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCOLLAPSE_CUDA=ON \
  -DCOLLAPSE_CUDA_ARCHITECTURES=90 -DTorch_DIR="$torch_dir" ${CMAKE_ARGS:-} 2>&1 | tee "$logs/configure.log"
cmake --build build-gpu -j "$(nproc)" 2>&1 | tee "$logs/build.log"

# Both test runs happen even if the first fails; the exit status reports either failure.
status=0
ctest --test-dir build-gpu -L gpu --output-on-failure 2>&1 | tee "$logs/ctest-gpu.log" || status=1
ctest --test-dir build-gpu --output-on-failure -j "$(nproc)" 2>&1 | tee "$logs/ctest-all.log" || status=1
echo "build_and_test: $( ((status == 0)) && echo "all tests passed" || echo "FAILURES, see $logs")"
exit "$status"
