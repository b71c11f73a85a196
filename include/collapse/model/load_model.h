// Loading a model for use, whatever folder or file holds it, and checking that it fits a dataset.
//   a training folder   CKPT/ with best.ckpt (checkpoint.h): its best.ckpt
//   a .ckpt file        (checkpoint.h)
//   a Hugging Face model folder, or a `collapse export` one: config.json + safetensors weights
//                       (hf_import.h)
#pragma once

#include <filesystem>
#include <string>

#include <c10/core/Device.h>

#include "collapse/model/checkpoint.h"

namespace collapse {

class Dataset;

// The model at `path`, moved to `device` and in eval mode. A missing or corrupt file, or a folder
// holding neither form, is an Error naming it.
LoadedModel load_model(const std::filesystem::path& path, const c10::Device& device);

// Throws Error, naming `what` (the caller's name for the model, e.g. "--init runs/gen-0") and the
// dataset, when the model was trained with another tokenizer (fingerprints differ) or its
// vocabulary size differs.
void check_model_fits_dataset(const CheckpointMeta& meta, const Dataset& data,
                              const std::string& what);

}  // namespace collapse
