#include "collapse/model/hf_import.h"

#include <ATen/ATen.h>

#include <map>
#include <set>

#include <fmt/ranges.h>

#include "collapse/data/tokenizer.h"
#include "collapse/model/hf_config.h"
#include "collapse/model/safetensors.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json(const fs::path& file) {
  try {
    return json::parse(read_file(file));
  } catch (const json::parse_error& e) {
    fail("{}: not valid JSON ({})", file.string(), e.what());
  }
}

// The weight files of `dir`: model.safetensors, or every shard model.safetensors.index.json's
// weight_map names, each once.
std::vector<fs::path> weight_files(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "model.safetensors", ec)) return {dir / "model.safetensors"};
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index, ec)) {
    const json j = read_json(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
      fail("{}: weight_map: expected an object of tensor -> shard file", index.string());
    }
    std::set<std::string> shards;
    for (const auto& [name, shard] : j["weight_map"].items()) {
      if (!shard.is_string()) fail("{}: weight_map.{}: expected a file name", index.string(), name);
      shards.insert(shard.get<std::string>());
    }
    std::vector<fs::path> files;
    for (const std::string& s : shards) {
      if (fs::path(s).has_parent_path()) fail("{}: weight_map names '{}', not a file of the folder", index.string(), s);
      if (!fs::exists(dir / s, ec)) fail("{}: shard {} is missing", index.string(), (dir / s).string());
      files.push_back(dir / s);
    }
    return files;
  }
  if (fs::exists(dir / "pytorch_model.bin", ec)) {
    fail("{} holds pytorch_model.bin, which collapse does not read (it is a pickle); convert it "
         "with: python -c \"from transformers import AutoModelForCausalLM as M; "
         "M.from_pretrained('{}').save_pretrained('{}', safe_serialization=True)\"",
         dir.string(), dir.string(), dir.string());
  }
  fail("{} holds no weights (model.safetensors or model.safetensors.index.json)", dir.string());
}

// Our parameter name of a Hugging Face tensor name, or nothing for tensors a model folder may
// carry that are not weights (rotary caches written by old transformers versions).
std::optional<std::string> our_name(const std::string& name) {
  if (name.ends_with("rotary_emb.inv_freq")) return std::nullopt;
  if (name.rfind("model.", 0) == 0) return name.substr(6);
  return name;
}

// The tokenizer fingerprint of the folder's tokenizer; empty where it has none collapse reads.
std::string tokenizer_fingerprint(const fs::path& dir) {
  try {
    return Tokenizer(dir).fingerprint();
  } catch (const Error&) {
    return {};
  }
}

}  // namespace

bool is_hf_model_folder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "config.json", ec)) return false;
  for (const char* f : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"}) {
    if (fs::exists(dir / f, ec)) return true;
  }
  return false;
}

LoadedModel load_hf_model(const fs::path& dir, const c10::Device& device) {
  const fs::path config_file = dir / "config.json";
  std::error_code ec;
  if (!fs::exists(config_file, ec)) fail("{} holds no config.json", dir.string());
  const json j = read_json(config_file);
  const std::vector<fs::path> files = weight_files(dir);

  LoadedModel loaded;
  loaded.file = files.front();
  if (j.is_object() && j.contains("collapse")) {  // collapse's own export
    try {
      loaded.meta.model = ModelConfig::from_json(j.at("collapse").at("model"), config_file.string());
      loaded.meta.tokenizer = j["collapse"].value("tokenizer", json::object());
      loaded.meta.state = j["collapse"].value("state", json::object());
    } catch (const json::exception& e) {
      fail("{}: collapse: {}", config_file.string(), e.what());
    }
  } else {
    loaded.meta.model = read_hf_config(j, config_file);
    const std::string fingerprint = tokenizer_fingerprint(dir);
    if (!fingerprint.empty()) loaded.meta.tokenizer["fingerprint"] = fingerprint;
  }
  loaded.meta.tokenizer["export"] = dir.string();

  loaded.model = GPT(loaded.meta.model);
  auto params = loaded.model->named_parameters();
  std::map<std::string, fs::path> filled;  // our name -> the file it came from
  torch::NoGradGuard no_grad;
  for (const fs::path& file : files) {
    for (const auto& [name, tensor] : read_safetensors(file)) {
      const auto ours = our_name(name);
      // Files of tied models may carry the output projection too: it is the embedding.
      if (!ours || (loaded.meta.model.tie_embeddings && *ours == "lm_head.weight")) continue;
      at::Tensor* target = params.find(*ours);
      if (!target) fail("{}: unexpected tensor '{}' for this config", file.string(), name);
      if (target->sizes() != tensor.sizes()) {
        fail("{}: tensor '{}' has shape {} but the config needs {}", file.string(), name,
             fmt::join(tensor.sizes(), "x"), fmt::join(target->sizes(), "x"));
      }
      if (!at::isFloatingType(tensor.scalar_type())) {
        fail("{}: tensor '{}' has dtype {}, expected F32, F16 or BF16", file.string(), name,
             c10::toString(tensor.scalar_type()));
      }
      if (!filled.emplace(*ours, file).second) {
        fail("{}: tensor '{}' appears twice (also in {})", file.string(), name, filled[*ours].string());
      }
      target->copy_(tensor);  // converts to fp32
    }
  }
  for (const auto& item : params) {
    if (!filled.count(item.key())) {
      fail("{}: tensor '{}' is missing", files.size() == 1 ? files.front().string() : dir.string(),
           hf_tensor_name(item.key()));
    }
  }
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

}  // namespace collapse
