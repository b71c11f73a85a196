#include "collapse/model/hf_export.h"

#include <ATen/ATen.h>

#include <set>

#include <fmt/ranges.h>

#include "collapse/data/tokenizer.h"
#include "collapse/model/safetensors.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Our parameter names are Hugging Face's without the "model." prefix of the decoder body.
std::string hf_name(const std::string& ours) {
  return ours.rfind("lm_head.", 0) == 0 ? ours : "model." + ours;
}

json hf_config(const ModelConfig& c, const CheckpointMeta& meta, const SpecialIds& special) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.d_model},
          {"intermediate_size", c.ffn_hidden},
          {"num_hidden_layers", c.n_layer},
          {"num_attention_heads", c.n_head},
          {"num_key_value_heads", c.n_head},
          {"head_dim", c.head_dim()},
          {"max_position_embeddings", c.context},
          {"rms_norm_eps", c.norm_eps},
          {"rope_theta", c.rope_theta},
          // transformers >= 5 reads the rope settings from here; 4.x ignores the member.
          {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", c.rope_theta}}},
          {"rope_scaling", nullptr},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"attention_dropout", 0.0},
          {"mlp_bias", false},
          {"tie_word_embeddings", c.tie_embeddings},
          {"initializer_range", 0.02},
          {"bos_token_id", special.bos},
          {"eos_token_id", special.eos},
          {"pad_token_id", special.pad},
          {"torch_dtype", "float32"},
          {"use_cache", true},
          {"collapse", {{"model", c.to_json()}, {"tokenizer", meta.tokenizer}, {"state", meta.state}}}};
}

}  // namespace

void export_hf(GPT& model, const CheckpointMeta& meta, const Tokenizer& tokenizer,
               const fs::path& out_dir) {
  NamedTensors tensors;
  for (const auto& item : model->named_parameters()) {
    tensors.emplace_back(hf_name(item.key()), item.value().detach().to(at::kCPU, at::kFloat));
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

LoadedModel load_hf_export(const fs::path& dir, const c10::Device& device) {
  const fs::path config_file = dir / "config.json";
  json j;
  try {
    j = json::parse(read_file(config_file));
  } catch (const json::parse_error& e) {
    fail("{}: not valid JSON ({})", config_file.string(), e.what());
  }
  LoadedModel loaded;
  loaded.file = dir / "model.safetensors";
  try {
    if (j.contains("collapse")) {
      loaded.meta.model = ModelConfig::from_json(j.at("collapse").at("model"), config_file.string());
      loaded.meta.tokenizer = j["collapse"].value("tokenizer", json::object());
      loaded.meta.state = j["collapse"].value("state", json::object());
    } else {  // a Llama config written by another tool
      ModelConfig c;
      c.vocab_size = j.at("vocab_size").get<std::int64_t>();
      c.d_model = j.at("hidden_size").get<std::int64_t>();
      c.ffn_hidden = j.at("intermediate_size").get<std::int64_t>();
      c.n_layer = j.at("num_hidden_layers").get<std::int64_t>();
      c.n_head = j.at("num_attention_heads").get<std::int64_t>();
      if (j.value("num_key_value_heads", c.n_head) != c.n_head) {
        fail("{}: grouped-query attention (num_key_value_heads != num_attention_heads) is not "
             "supported",
             config_file.string());
      }
      c.context = j.at("max_position_embeddings").get<std::int64_t>();
      c.norm_eps = j.value("rms_norm_eps", 1e-6);
      c.rope_theta = j.value("rope_theta", 10000.0);
      c.tie_embeddings = j.value("tie_word_embeddings", false);
      loaded.meta.model = c;
    }
  } catch (const json::exception& e) {
    fail("{}: incomplete Llama config ({})", config_file.string(), e.what());
  }
  loaded.meta.tokenizer["export"] = dir.string();

  loaded.model = GPT(loaded.meta.model);
  auto params = loaded.model->named_parameters();
  std::set<std::string> filled;
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : read_safetensors(loaded.file)) {
    std::string ours = name.rfind("model.", 0) == 0 ? name.substr(6) : name;
    at::Tensor* target = params.find(ours);
    if (!target) fail("{}: unexpected tensor '{}' for this config", loaded.file.string(), name);
    if (target->sizes() != tensor.sizes()) {
      fail("{}: tensor '{}' has shape {} but the config needs {}", loaded.file.string(), name,
           fmt::join(tensor.sizes(), "x"), fmt::join(target->sizes(), "x"));
    }
    target->copy_(tensor);
    filled.insert(ours);
  }
  for (const auto& item : params) {
    if (!filled.count(item.key())) {
      fail("{}: tensor '{}' is missing", loaded.file.string(), hf_name(item.key()));
    }
  }
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

}  // namespace collapse
