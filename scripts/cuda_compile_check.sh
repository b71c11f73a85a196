#!/usr/bin/env bash
# Usage: scripts/cuda_compile_check.sh [--help]
#
# Compiles (and links, but never runs) against a CUDA build of LibTorch, on a machine without a
# GPU, what a GPU machine builds (the CMake target cuda_glue, as scripts/gpu/check.sh does): the
# kernels, every library and the `collapse` command (COLLAPSE_HAVE_KERNELS, CUDA graphs, the
# kernel launches), the GPU tests and the benchmarks. So the CUDA glue is type-checked before a
# GPU machine sees it; a CPU torch compiles none of it. The other test programs compile the same
# code either way and are left out (they would about double the time).
#
# Downloads the CUDA torch wheel of the GPU machines (torch==$COLLAPSE_CUDA_TORCH, default 2.11.0,
# about 530 MB) into .cache/torch-cuda once, configures build-cuda-check with COLLAPSE_CUDA=ON and
# builds the target cuda_glue. The CUDA libraries torch links to but the local toolkit lacks (nvrtc,
# cuDNN, NCCL, ...) are never loaded: links allow their symbols to stay undefined.
#
# Needs the CUDA toolkit. Environment: CUDA_HOME (the toolkit, default /usr/local/cuda),
# COLLAPSE_CUDA_TORCH (torch version), JOBS (build parallelism, default nproc).
set -euo pipefail

die() { echo "cuda_compile_check: error: $*" >&2; exit 1; }
case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# LibTorch's CMake files find the toolkit from nvcc's folder, so a wrapper script elsewhere on PATH
# will not do: the toolkit's own bin/ goes first ($CUDA_HOME, else /usr/local/cuda).
cuda_home=${CUDA_HOME:-/usr/local/cuda}
[[ -x $cuda_home/bin/nvcc ]] || die "no nvcc in $cuda_home/bin (install the CUDA toolkit, or set CUDA_HOME)"
export PATH=$cuda_home/bin:$PATH CUDA_HOME=$cuda_home

version=${COLLAPSE_CUDA_TORCH:-2.11.0}
cache=.cache/torch-cuda/$version
if [[ ! -f $cache/site/torch/share/cmake/Torch/TorchConfig.cmake ]]; then
  mkdir -p "$cache"
  echo "cuda_compile_check: downloading the CUDA wheel of torch $version"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache" "torch==$version" \
    || die "pip could not download torch==$version"
  wheel=$(ls "$cache"/torch-"$version"*.whl | head -n1)
  rm -rf "$cache/site.tmp" && mkdir -p "$cache/site.tmp"
  (cd "$cache/site.tmp" && python3 -m zipfile -e "../$(basename "$wheel")" .) \
    || die "cannot unpack $wheel"
  [[ -d $cache/site.tmp/torch/lib ]] || die "$wheel holds no torch/lib"
  rm -rf "$cache/site" && mv "$cache/site.tmp" "$cache/site" && rm -f "$wheel"
fi
site=$cache/site
[[ -f $site/torch/lib/libtorch_cuda.so ]] || die "the torch $version wheel is not a CUDA build"

# LibTorch's CMake files insist on finding nvrtc; any existing library stands in for it, as
# nothing here is ever run.
nvrtc=$(ls "$cuda_home"/lib64/libnvrtc.so 2>/dev/null || ls "$cuda_home"/lib64/libcudart.so)
# -O0: a compile check needs the compiler's checks and the linker's, not its optimizer (a
# quarter less time on 2 cores); NDEBUG as in the GPU machines' Release builds.
configure_log=$(cmake -S . -B build-cuda-check -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG" \
  -DCOLLAPSE_CUDA=ON \
  -DTorch_DIR="$PWD/$site/torch/share/cmake/Torch" \
  -DCUDA_nvrtc_LIBRARY="$nvrtc" -DCUDA_NVRTC_LIB="$nvrtc" \
  -DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined 2>&1) || { echo "$configure_log"; die "configure failed"; }
grep -q 'torch-cuda-glue=ON' <<<"$configure_log" \
  || { echo "$configure_log"; die "configured without the CUDA glue (see above)"; }
cmake --build build-cuda-check -j "${JOBS:-$(nproc)}" --target cuda_glue
echo "cuda_compile_check: the CUDA glue (target cuda_glue) compiled and linked against the CUDA build of torch $version"
