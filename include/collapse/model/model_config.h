// The GPT's shape. Presets:
//   tiny   2 layers, d_model 128, 4 heads, ffn 384,  context 128   (~0.4M + embedding; CPU tests)
//   small  6 layers, d_model 384, 6 heads, ffn 1024, context 256   (~10.6M + embedding; one GPU)
//   base  12 layers, d_model 768, 12 heads, ffn 2048, context 1024 (~85M + embedding; GPT-2 small)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/util/setting_names.h"

namespace collapse {

// "model n_head": how ModelConfig names its fields when the caller gives no names.
inline std::string model_field_name(const std::string& key) { return "model " + key; }

struct ModelConfig {
  std::int64_t vocab_size = 0;
  std::int64_t context = 128;    // maximum sequence length (positions)
  std::int64_t n_layer = 2;
  std::int64_t n_head = 4;
  std::int64_t d_model = 128;
  std::int64_t ffn_hidden = 384;  // SwiGLU hidden width
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = true;

  std::int64_t head_dim() const { return d_model / n_head; }
  // Parameter count, embedding included (counted once when tied).
  std::int64_t parameters() const;

  // Throws Error for an impossible shape (e.g. d_model not divisible by n_head, odd head_dim,
  // which RoPE needs even), naming the fields through `names` (the CLI's --n-head, an
  // experiment's [model] n_head; by default "model n_head").
  void validate(const SettingNames& names = model_field_name) const;

  nlohmann::json to_json() const;
  // Strict: an unknown or missing key, or a wrong type, is an Error naming it and `where`.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& where);

  // vocab_size is left 0: it comes from the dataset's tokenizer.
  static ModelConfig preset(const std::string& name);
  static std::vector<std::string> preset_names();

  bool operator==(const ModelConfig&) const = default;
};

}  // namespace collapse
