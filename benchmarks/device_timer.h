// How the kernel benchmarks (sampling_bench, nll_bench) time device work and keep the L2 cache
// out of their bandwidth figures. Header-only: each benchmark is one program.
//
// Timing. On CUDA a pair of CUDA events brackets `calls` consecutive calls on the current stream
// and the elapsed time is divided by `calls`: the device's time alone, with inputs already on
// the device and no host timer around uploads or synchronisations. Back-to-back calls hide the
// launch latency of every call but the first behind the previous call's work, so a burst of
// calls measures a step's device time, not the host's launch cost. (Raw CUDA runtime events:
// ATen's CUDAEvent header pulls in cuSPARSE's, which a bare toolkit may lack.) A call that
// synchronises the host inside (a validity check that reads a device value) keeps its
// round trip in the time: that is part of every call a user makes. On the CPU a steady clock
// brackets the calls.
//
// L2. A Hopper GPU's L2 holds tens of MiB: a benchmark that reads the same 32 MiB of logits at
// every call would measure L2 bandwidth. rotation_copies() says how many copies of an
// input together exceed twice the device's L2, and the benchmark reads copy i % copies at call
// i, so every call reads from HBM. On the CPU there is one copy (the CPU figures were always
// measured that way).
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "collapse/util/error.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace collapse::bench {

#if defined(COLLAPSE_HAVE_KERNELS)
inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) fail("benchmark timer: {}: {}", what, cudaGetErrorString(status));
}

// "cuda" without an index means the current device; events and attributes need its number.
inline c10::DeviceIndex cuda_index(const c10::Device& device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
#endif

// Bytes of the L2 cache of a CUDA device; 0 on the CPU (no rotation there).
inline std::int64_t l2_cache_bytes(const c10::Device& device) {
#if defined(COLLAPSE_HAVE_KERNELS)
  if (device.is_cuda()) {
    int bytes = 0;
    check_cuda(cudaDeviceGetAttribute(&bytes, cudaDevAttrL2CacheSize, cuda_index(device)),
               "cudaDeviceGetAttribute(L2 cache size)");
    return bytes;
  }
#endif
  (void)device;
  return 0;
}

// How many copies of an input of `bytes` bytes a benchmark rotates through so that together
// they exceed twice the L2 cache: 1 when one copy already does, and always 1 on the CPU.
inline std::int64_t rotation_copies(const c10::Device& device, std::int64_t bytes) {
  const std::int64_t l2 = l2_cache_bytes(device);
  if (l2 == 0 || bytes <= 0) return 1;
  return std::max<std::int64_t>(1, 2 * l2 / bytes + 1);
}

// `copies` copies of `t` in one contiguous block [copies, t's sizes...]; pool.select(0, i) is
// copy i, itself contiguous. One copy is `t` itself (no second allocation of a large input).
inline at::Tensor rotation_pool(const at::Tensor& t, std::int64_t copies) {
  if (copies <= 1) return t.unsqueeze(0);
  std::vector<std::int64_t> repeats(static_cast<std::size_t>(t.dim() + 1), 1);
  repeats[0] = copies;
  return t.unsqueeze(0).repeat(repeats);
}

// Seconds per call of a burst of consecutive calls, on the device of the benchmark.
class StepTimer {
 public:
  explicit StepTimer(const c10::Device& device) : device_(device) {
#if defined(COLLAPSE_HAVE_KERNELS)
    if (device_.is_cuda()) {
      device_ = c10::Device(c10::kCUDA, cuda_index(device));
      const c10::cuda::CUDAGuard guard(device_);
      check_cuda(cudaEventCreate(&start_), "cudaEventCreate");
      check_cuda(cudaEventCreate(&stop_), "cudaEventCreate");
    }
#endif
  }
  ~StepTimer() {
#if defined(COLLAPSE_HAVE_KERNELS)
    if (start_ != nullptr) cudaEventDestroy(start_);
    if (stop_ != nullptr) cudaEventDestroy(stop_);
#endif
  }
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  // Runs call(0), ..., call(calls - 1) back to back and returns the seconds one call took, on
  // average: device time between two events on CUDA, host time on the CPU.
  template <class Call>
  double seconds_per_call(int calls, Call&& call) {
    start();
    for (int i = 0; i < calls; ++i) call(i);
    return stop() / calls;
  }

 private:
  void start() {
#if defined(COLLAPSE_HAVE_KERNELS)
    if (device_.is_cuda()) {
      // The stream is looked up per burst: the benchmark's work runs on the current stream.
      stream_ = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
      check_cuda(cudaEventRecord(start_, stream_), "cudaEventRecord(start)");
      return;
    }
#endif
    host_start_ = std::chrono::steady_clock::now();
  }

  double stop() {
#if defined(COLLAPSE_HAVE_KERNELS)
    if (device_.is_cuda()) {
      check_cuda(cudaEventRecord(stop_, stream_), "cudaEventRecord(stop)");
      check_cuda(cudaEventSynchronize(stop_), "cudaEventSynchronize");
      float ms = 0.0f;
      check_cuda(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
      return static_cast<double>(ms) * 1e-3;
    }
#endif
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - host_start_).count();
  }

  c10::Device device_;
  std::chrono::steady_clock::time_point host_start_;
#if defined(COLLAPSE_HAVE_KERNELS)
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  cudaStream_t stream_ = nullptr;
#endif
};

}  // namespace collapse::bench
