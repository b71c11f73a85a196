// Loading a Hugging Face model folder: config.json (hf_config.h) and the weights, from
// model.safetensors or the shards model.safetensors.index.json names (fp32, fp16 or bf16, read
// through a memory mapping and converted to fp32). The folder's tokenizer, where it has one that
// collapse reads, gives the model's tokenizer fingerprint, so a dataset prepared with it fits.
// collapse's own exports (config.json with a "collapse" member) load with their recorded config,
// tokenizer identity and training state.
#pragma once

#include <filesystem>

#include <c10/core/Device.h>

#include "collapse/model/checkpoint.h"

namespace collapse {

// Whether `dir` looks like a model folder (config.json beside safetensors weights or a
// pytorch_model.bin, which load_hf_model refuses with the command that converts it).
bool is_hf_model_folder(const std::filesystem::path& dir);

// The config and identity of folder `dir`'s model without its weights (config.json, the
// tokenizer's fingerprint).
CheckpointMeta read_hf_model_meta(const std::filesystem::path& dir);

// The model of folder `dir`, moved to `device` and in eval mode. Errors name the file and the key
// or tensor at fault: a missing config.json, an unsupported model_type, a tensor missing, of the
// wrong shape or of an unsupported dtype.
LoadedModel load_hf_model(const std::filesystem::path& dir, const c10::Device& device);

}  // namespace collapse
