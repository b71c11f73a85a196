// The names of devices, as every command and config takes them: torch-free, so that a config is
// checked without LibTorch (and fuzzed: tests/fuzz/experiment_toml_fuzz.cpp).
#pragma once

#include <string>

namespace collapse {

// The device names every command and config takes, in words.
inline constexpr const char* kDeviceNames = "\"auto\", \"cpu\", \"cuda\" or \"cuda:N\"";
// Whether `name` is one of them (N a non-negative integer); says nothing of what this machine has.
bool valid_device_name(const std::string& name);

}  // namespace collapse
