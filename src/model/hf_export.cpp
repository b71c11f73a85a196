#include "collapse/model/hf_export.h"

#include <ATen/ATen.h>

#include "collapse/data/tokenizer.h"
#include "collapse/model/hf_config.h"
#include "collapse/model/hf_weights.h"
#include "collapse/model/safetensors.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json hf_config(const ModelConfig& c, const CheckpointMeta& meta, const SpecialIds& special) {
  json j = write_hf_config(c);
  j["bos_token_id"] = special.bos;
  j["eos_token_id"] = special.eos;
  j["pad_token_id"] = special.pad;
  j["collapse"] = {{"model", c.to_json()}, {"tokenizer", meta.tokenizer}, {"state", meta.state}};
  return j;
}

}  // namespace

void export_hf(GPT& model, const CheckpointMeta& meta, const Tokenizer& tokenizer,
               const fs::path& out_dir) {
  NamedTensors tensors;
  const auto params = model->named_parameters();
  for (const HfTensor& t : hf_tensors(model->config(), params.keys())) {
    std::vector<at::Tensor> parts;
    for (const std::string& ours : t.ours) parts.push_back(params[ours].detach().to(at::kCPU, at::kFloat));
    tensors.emplace_back(t.name, join_hf(t, parts, model->config().n_head).contiguous());
  }
  // Built as a whole beside the destination, then swapped in: a killed export leaves either the
  // old folder or the new one, never a mix.
  const fs::path dest = normalize_dir(out_dir);
  const fs::path tmp = temp_dir_for(dest);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    write_safetensors(tmp / "model.safetensors", tensors, {{"format", "pt"}});
    tokenizer.save(tmp);
    write_file_atomic(tmp / "config.json", hf_config(meta.model, meta, tokenizer.special()).dump(2) + "\n");
    replace_dir(tmp, dest);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace collapse
