#include "collapse/model/device.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "collapse/util/error.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace collapse {

c10::Device resolve_device(const std::string& name, const std::string& what) {
  if (!valid_device_name(name)) fail("{} {}: not a device name ({})", what, name, kDeviceNames);
  if (name == "auto") {
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (!torch::cuda::is_available()) {
    fail("{} {}: no CUDA device is available (no GPU visible, or this torch was built without "
         "CUDA); use cpu or auto",
         what, name);
  }
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    fail("{} {}: not a device name ({})", what, name, kDeviceNames);
  }
  if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
    fail("{} {}: only {} CUDA device(s)", what, name, torch::cuda::device_count());
  }
  return device;
}

namespace {

// The first number in `file` (a missing file, or "max": -1).
std::int64_t number_in(const char* file) {
  std::ifstream in(file);
  std::int64_t value = -1;
  if (!(in >> value)) return -1;
  return value;
}

// What a memory cgroup (v2, else v1) still allows this process tree; -1 without a limit. A v1
// "no limit" is a number near 2^63.
std::int64_t cgroup_room() {
  for (const auto& [limit_file, usage_file] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const std::int64_t limit = number_in(limit_file), usage = number_in(usage_file);
    if (limit > 0 && limit < (std::int64_t{1} << 60) && usage >= 0) return std::max<std::int64_t>(0, limit - usage);
  }
  return -1;
}

std::int64_t cpu_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  std::int64_t available = -1;
  while (std::getline(meminfo, line)) {
    if (!line.starts_with("MemAvailable:")) continue;
    std::istringstream fields(line.substr(13));
    std::int64_t kib = 0;
    if (fields >> kib) available = kib * 1024;
  }
  const std::int64_t room = cgroup_room();
  if (room >= 0 && (available < 0 || room < available)) return room;
  return available;
}

}  // namespace

std::int64_t available_memory_bytes(const c10::Device& device) {
  if (device.is_cpu()) return cpu_available();
#if defined(COLLAPSE_HAVE_KERNELS)
  if (device.is_cuda()) {
    const c10::cuda::CUDAGuard guard(device);
    // Blocks torch's allocator keeps cached for this process are free to it, but not to the
    // driver: handed back first, so that they count.
    c10::cuda::CUDACachingAllocator::emptyCache();
    std::size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
      (void)cudaGetLastError();  // clear the error, which would otherwise surface in torch's next call
      return -1;
    }
    return static_cast<std::int64_t>(free);
  }
#endif
  return -1;
}

AutocastScope::AutocastScope(const c10::Device& device) {
  if (!device.is_cuda()) return;
  previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  active_ = true;
}

NoAutocastScope::NoAutocastScope() : previous_(at::autocast::is_autocast_enabled(at::kCUDA)) {
  at::autocast::set_autocast_enabled(at::kCUDA, false);
}

NoAutocastScope::~NoAutocastScope() { at::autocast::set_autocast_enabled(at::kCUDA, previous_); }

AutocastScope::~AutocastScope() {
  if (!active_) return;
  at::autocast::set_autocast_enabled(at::kCUDA, previous_);
  // Only the outermost scope frees the cached weight casts: an enclosing scope may still use
  // them, e.g. a CUDA graph captured in it (fixed_step_decoder.h) reads them at every replay.
  if (!previous_) at::autocast::clear_cache();
}

}  // namespace collapse
