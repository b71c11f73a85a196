// Device choice and mixed precision.
#pragma once

#include <cstdint>
#include <string>

#include <c10/core/Device.h>

#include "collapse/model/device_name.h"

namespace collapse {

// "auto" (CUDA when available, else CPU), "cpu" or "cuda[:N]". Asking for CUDA without a usable
// GPU is an Error that says so, naming the setting as `what` (the caller's name for it: the CLI's
// --device, an experiment's "exp.toml: device").
c10::Device resolve_device(const std::string& name, const std::string& what = "device");

// Bytes `device` can still give: the CPU's MemAvailable (/proc/meminfo), lowered to what a cgroup's
// memory limit leaves; a CUDA device's free memory. -1 where it cannot be known.
std::int64_t available_memory_bytes(const c10::Device& device);

// bf16 autocast on CUDA for the scope's lifetime (fp32 elsewhere: on a CPU device it does
// nothing). Matmuls run in bf16, reductions and the loss in fp32. The outermost scope frees
// autocast's cached weight casts when it ends; nested scopes leave them to it.
class AutocastScope {
 public:
  explicit AutocastScope(const c10::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool previous_ = false;
};

// Turns CUDA autocast off for the scope (restoring it after): for the output projection, whose
// logits must be fp32 for an exact loss and perplexity.
class NoAutocastScope {
 public:
  NoAutocastScope();
  ~NoAutocastScope();
  NoAutocastScope(const NoAutocastScope&) = delete;
  NoAutocastScope& operator=(const NoAutocastScope&) = delete;

 private:
  bool previous_;
};

}  // namespace collapse
