#include "collapse/model/load_model.h"

#include "collapse/data/dataset.h"
#include "collapse/model/hf_import.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;

LoadedModel load_model(const fs::path& path, const c10::Device& device) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return load_checkpoint(path, device);
  if (is_hf_model_folder(path)) return load_hf_model(path, device);
  if (!fs::exists(path / "best.ckpt", ec)) {
    fail("{} holds no model: expected best.ckpt (a `collapse train` folder) or config.json + "
         "model.safetensors (a Hugging Face model folder or a `collapse export`)",
         path.string());
  }
  return load_checkpoint(path / "best.ckpt", device);
}

void check_model_fits_dataset(const CheckpointMeta& meta, const Dataset& data,
                              const std::string& what) {
  const std::string fingerprint = meta.tokenizer.value("fingerprint", "");
  if (!fingerprint.empty() && fingerprint != data.tokenizer_fingerprint()) {
    fail("{} was trained with a different tokenizer than dataset {}; use the dataset it was "
         "trained on",
         what, data.dir().string());
  }
  // Hugging Face models often pad their embedding past the tokenizer's ids (OPT: 50272 rows for
  // 50265 ids): a model needs a row for every id of the dataset, and may have more.
  if (meta.model.vocab_size < data.vocab_size()) {
    fail("{} has vocabulary {} but dataset {} has {} ids", what, meta.model.vocab_size,
         data.dir().string(), data.vocab_size());
  }
}

}  // namespace collapse
