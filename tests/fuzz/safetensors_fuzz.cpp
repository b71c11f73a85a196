// The header of a safetensors file (a Hugging Face model's or a `collapse export`'s weights):
// the length prefix, the JSON, every entry's dtype, shape and offsets, the tiling of the data.
// Every entry of a header that passes must lie inside the input.
#include "collapse/model/safetensors_header.h"
#include "collapse/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const collapse::SafetensorsHeader h =
        collapse::parse_safetensors_header(reinterpret_cast<const char*>(data), size, "input.safetensors");
    for (const auto& e : h.entries) {
      if (e.begin > e.end || h.data_start + e.end > size) __builtin_trap();
    }
  } catch (const collapse::Error&) {
  }
  return 0;
}
