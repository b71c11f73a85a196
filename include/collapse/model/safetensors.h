// The safetensors file format (Hugging Face), reader and writer in one place.
//
//   u64 little-endian N | N bytes of JSON header | raw tensor bytes
// The header maps each tensor name to {"dtype": "F32"|"BF16"|..., "shape": [...],
// "data_offsets": [begin, end]} (offsets relative to the end of the header, tensors packed in
// order without gaps) and may hold "__metadata__": {string: string}. We pad the header with
// spaces to a multiple of 8 bytes, as the reference implementation does.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace collapse {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes CPU copies of `tensors` (F32, F16, BF16, I64, I32 supported) atomically.
void write_safetensors(const std::filesystem::path& file, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Every tensor of `file`, in file order, on the CPU. The file is memory-mapped and the tensors
// are views of the mapping (copy-on-write; it lives as long as any of them), so reading costs
// no copy beyond what the caller makes (a dtype conversion, a move to the GPU). A malformed file
// is an Error naming it.
NamedTensors read_safetensors(const std::filesystem::path& file);

// Drops from memory the file pages under `view`, a tensor read_safetensors returned whose bytes
// are no longer needed (copied into a model): a later read of them goes back to the file. Keeps
// the peak memory of loading near the model's size instead of the model plus the whole file.
// Does nothing for tensors that are not views of a mapping.
void release_mapped_pages(const at::Tensor& view);

}  // namespace collapse
