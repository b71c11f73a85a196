#include "collapse/model/device.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include "collapse/util/error.h"

namespace collapse {

c10::Device resolve_device(const std::string& name) {
  if (name == "auto") {
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      fail("--device {}: no CUDA device is available (no GPU visible, or this torch was built "
           "without CUDA); use --device cpu or auto",
           name);
    }
    try {
      c10::Device device(name);
      if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
        fail("--device {}: only {} CUDA device(s)", name, torch::cuda::device_count());
      }
      return device;
    } catch (const c10::Error&) {
      fail("--device {}: not a device name (auto, cpu, cuda, cuda:N)", name);
    }
  }
  fail("--device {}: not a device name (auto, cpu, cuda, cuda:N)", name);
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
