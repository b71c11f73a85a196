#include "collapse/model/hf_import.h"

#include <ATen/ATen.h>

#include <map>
#include <set>

#include <fmt/ranges.h>

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

// The weight files of `dir`: model.safetensors, or every shard model.safetensors.index.json's
// weight_map names, each once.
std::vector<fs::path> weight_files(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "model.safetensors", ec)) return {dir / "model.safetensors"};
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index, ec)) {
    const json j = read_model_json(index);
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
      if (s.empty() || s == "." || s == ".." || fs::path(s).has_parent_path()) {
        fail("{}: weight_map names '{}', not a file of the folder", index.string(), s);
      }
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

// The tokenizer fingerprint of the folder's tokenizer; empty where it has none collapse reads.
std::string tokenizer_fingerprint(const fs::path& dir) {
  try {
    return Tokenizer(dir).fingerprint();
  } catch (const Error&) {
    return {};
  }
}

// A tensor read from a file, with the file it came from.
struct Stored {
  at::Tensor tensor;
  fs::path file;
};

// Every tensor of `files` under its canonical name (hf_weights.h), buffers and a tied model's
// copy of the embedding left out. The tensors are views of the files' mappings.
std::map<std::string, Stored> stored_tensors(const ModelConfig& config, const std::vector<fs::path>& files) {
  std::map<std::string, Stored> stored;
  const std::string output = hf_output_name(config.family);
  for (const fs::path& file : files) {
    for (auto& [name, tensor] : read_safetensors(file)) {
      const std::string canonical = canonical_hf_name(config.family, name);
      if (canonical.empty() || (config.tie_embeddings && canonical == output)) continue;
      const auto [it, fresh] = stored.emplace(canonical, Stored{tensor, file});
      if (!fresh) fail("{}: tensor '{}' appears twice (also in {})", file.string(), name, it->second.file.string());
    }
  }
  return stored;
}

// The model's parameters from the tensors of `files`, each checked for presence, dtype and shape.
void fill_parameters(GPT& model, const std::vector<fs::path>& files, const fs::path& dir) {
  const ModelConfig& config = model->config();
  std::map<std::string, Stored> stored = stored_tensors(config, files);
  auto params = model->named_parameters();
  torch::NoGradGuard no_grad;
  for (const HfTensor& t : hf_tensors(config, params.keys())) {
    const auto found = stored.find(t.name);
    if (found == stored.end()) {
      fail("{}: tensor '{}' is missing", files.size() == 1 ? files.front().string() : dir.string(), t.name);
    }
    const auto& [tensor, file] = found->second;
    std::vector<at::Tensor*> targets;
    std::vector<std::vector<std::int64_t>> shapes;
    for (const std::string& ours : t.ours) {
      targets.push_back(params.find(ours));
      shapes.push_back(targets.back()->sizes().vec());
    }
    const std::vector<std::int64_t> want = joined_shape(t, shapes);
    if (tensor.sizes() != at::IntArrayRef(want)) {
      fail("{}: tensor '{}' has shape {} but the config needs {}", file.string(), t.name,
           fmt::join(tensor.sizes(), "x"), fmt::join(want, "x"));
    }
    if (!at::isFloatingType(tensor.scalar_type())) {
      fail("{}: tensor '{}' has dtype {}, expected F32, F16 or BF16", file.string(), t.name,
           c10::toString(tensor.scalar_type()));
    }
    const std::vector<at::Tensor> parts = split_hf(t, tensor, shapes, config.n_head);
    for (std::size_t i = 0; i < parts.size(); ++i) targets[i]->copy_(parts[i]);  // converts to fp32
    release_mapped_pages(tensor);
    stored.erase(found);
  }
  if (!stored.empty()) {
    const auto& [name, s] = *stored.begin();
    fail("{}: unexpected tensor '{}' for this config", s.file.string(), name);
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

CheckpointMeta read_hf_model_meta(const fs::path& dir) {
  const fs::path config_file = config_json_in(dir);
  const json j = read_model_json(config_file);
  CheckpointMeta meta;
  meta.model = model_config_of(j, config_file);
  if (j.is_object() && j.contains("collapse")) {  // collapse's own export
    try {
      meta.tokenizer = j["collapse"].value("tokenizer", json::object());
      meta.state = j["collapse"].value("state", json::object());
    } catch (const json::exception& e) {
      fail("{}: collapse: {}", config_file.string(), e.what());
    }
  } else {
    const std::string fingerprint = tokenizer_fingerprint(dir);
    if (!fingerprint.empty()) meta.tokenizer["fingerprint"] = fingerprint;
  }
  meta.tokenizer["export"] = dir.string();
  return meta;
}

LoadedModel load_hf_model(const fs::path& dir, const c10::Device& device) {
  config_json_in(dir);  // its absence is said before the weights'
  const std::vector<fs::path> files = weight_files(dir);  // before the config: a pickle's advice first
  LoadedModel loaded;
  loaded.meta = read_hf_model_meta(dir);
  loaded.file = files.front();

  loaded.model = GPT(loaded.meta.model);
  fill_parameters(loaded.model, files, dir);
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

}  // namespace collapse
