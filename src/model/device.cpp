#include "collapse/model/device.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include <algorithm>

#include "collapse/util/error.h"

namespace collapse {

bool valid_device_name(const std::string& name) {
  if (name == "auto" || name == "cpu" || name == "cuda") return true;
  if (!name.starts_with("cuda:")) return false;
  const std::string index = name.substr(5);  // 0, or digits without a leading zero
  if (index.empty() || index.size() > 4 || (index.size() > 1 && index[0] == '0')) return false;
  return std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
}

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
