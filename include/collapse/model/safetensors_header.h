// The header of a safetensors file, parsed and checked without LibTorch (safetensors.h builds
// the tensors from it; the fuzz harness of tests/fuzz/ drives it alone).
//
//   u64 little-endian N | N bytes of JSON header | raw tensor bytes
// Checked: the length prefix, the JSON, each entry's dtype, shape and data_offsets (inside the
// file, the size its shape and dtype make), and that the entries tile the data region exactly
// (no overlap, no gap, nothing left over), as the format requires.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace collapse {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "BF16", ... (safetensors_dtypes())
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte range within the data region
};

struct SafetensorsHeader {
  std::size_t data_start = 0;             // where the data region begins in the file
  std::vector<SafetensorsEntry> entries;  // in file order
};

// The dtypes the reader accepts and their element sizes in bytes.
struct SafetensorsDtype {
  const char* name;
  int bytes;
};
const std::vector<SafetensorsDtype>& safetensors_dtypes();

// Parses the `size` bytes of a whole safetensors file; `file` names it in errors ("FILE: not a
// valid safetensors file (...)").
SafetensorsHeader parse_safetensors_header(const char* bytes, std::size_t size, const std::filesystem::path& file);

}  // namespace collapse
