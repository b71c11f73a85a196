// The GPT's shape. Presets:
//   tiny   2 layers, d_model 128, 4 heads, ffn 384,  context 128   (~0.4M + embedding; CPU tests)
//   small  6 layers, d_model 384, 6 heads, ffn 1024, context 256   (~10.6M + embedding; one GPU)
//   base  12 layers, d_model 768, 12 heads, ffn 2048, context 1024 (~85M + embedding; GPT-2 small)
// Models of Hugging Face's families (hf_config.h) also set the family's layout (LayerNorm, learned
// positions, a plain MLP), grouped-query attention, an explicit head size, partial or scaled
// rotary embeddings, the residual wiring and biases; collapse's own models leave them at their
// defaults, which to_json() omits.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/util/named.h"
#include "collapse/util/setting_names.h"

namespace collapse {

// "model n_head": how ModelConfig names its fields when the caller gives no names.
inline std::string model_field_name(const std::string& key) { return "model " + key; }

// The Hugging Face family a model is written as (config.json's model_type, hf_config.h).
// collapse's own models are Llama models.
enum class ModelFamily { llama, qwen2, mistral, gpt2, opt, gpt_neox };
std::span<const Named<ModelFamily>> model_families();

// What a family fixes about its layers; the rest varies within a family and is a ModelConfig field.
struct FamilyLayout {
  bool layer_norm;            // LayerNorm with a bias; otherwise RMSNorm
  bool gated_mlp;             // down(act(gate(x)) * up(x)); otherwise down(act(up(x)))
  bool learned_positions;     // a position embedding added to the token's; otherwise rotary
  std::int64_t position_offset;  // rows of the position table before position 0 (OPT: 2)
};
FamilyLayout family_layout(ModelFamily family);

// The MLP's activation (Hugging Face's hidden_act / activation_function).
enum class Activation { silu, gelu, gelu_tanh, relu };
std::span<const Named<Activation>> activations();

// How a block adds its attention and MLP to the residual stream.
enum class ResidualKind { sequential, parallel, post_norm };
std::span<const Named<ResidualKind>> residual_kinds();

// How rotary frequencies are stretched for contexts beyond the trained one (Hugging Face's
// rope_type): "default" leaves them, "linear" divides every one by `factor`, "llama3" divides the
// low frequencies by `factor`, keeps the high ones and blends those between.
enum class RopeScalingKind { none, linear, llama3 };
std::span<const Named<RopeScalingKind>> rope_scaling_kinds();

struct RopeScaling {
  RopeScalingKind kind = RopeScalingKind::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;    // llama3 only
  double high_freq_factor = 4.0;   // llama3 only
  std::int64_t original_context = 8192;  // llama3 only: original_max_position_embeddings
  bool operator==(const RopeScaling&) const = default;
};

struct ModelConfig {
  ModelFamily family = ModelFamily::llama;
  std::int64_t vocab_size = 0;
  std::int64_t context = 128;    // maximum sequence length (positions)
  std::int64_t n_layer = 2;
  std::int64_t n_head = 4;
  std::int64_t d_model = 128;
  std::int64_t ffn_hidden = 384;  // the MLP's hidden width
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = true;
  // Grouped-query attention: heads of keys and values, each shared by n_head / n_kv_head query
  // heads. 0: n_head (plain multi-head attention).
  std::int64_t n_kv_head = 0;
  // The size of one head. 0: d_model / n_head.
  std::int64_t head_size = 0;
  RopeScaling rope_scaling;
  bool qkv_bias = false;  // biases on the query, key and value projections (Qwen2, Llama's attention_bias)
  bool o_bias = false;    // a bias on the attention's output projection (Llama's attention_bias)
  bool mlp_bias = false;  // biases on the MLP's projections (Llama's mlp_bias)
  Activation activation = Activation::silu;
  // Rotary embeddings on the first rotary_dims of each head, the rest passed through (GPT-NeoX's
  // rotary_pct). 0: the whole head.
  std::int64_t rotary_dims = 0;
  ResidualKind residual = ResidualKind::sequential;
  // The width of the token embedding, projected to and from d_model when it differs (OPT's
  // word_embed_proj_dim, project_in / project_out). 0: d_model.
  std::int64_t embed_dim = 0;

  // 0 while n_head is not positive (a config not yet validated).
  std::int64_t head_dim() const { return head_size > 0 ? head_size : n_head > 0 ? d_model / n_head : 0; }
  std::int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  std::int64_t rotary_width() const { return rotary_dims > 0 ? rotary_dims : head_dim(); }
  std::int64_t embedding_width() const { return embed_dim > 0 ? embed_dim : d_model; }
  FamilyLayout layout() const { return family_layout(family); }
  // Parameter count, embedding included (counted once when tied).
  std::int64_t parameters() const;

  // Throws Error for an impossible shape (e.g. d_model not divisible by n_head, odd head_dim,
  // which RoPE needs even), naming the fields through `names` (the CLI's --n-head, an
  // experiment's [model] n_head; by default "model n_head").
  void validate(const SettingNames& names = model_field_name) const;

  // Keys at their defaults after tie_embeddings are omitted, so a plain model's JSON (in
  // checkpoints, manifests and requests) is what it was before they existed.
  nlohmann::json to_json() const;
  // Strict: an unknown or missing key, or a wrong type, is an Error naming it and `where`. The
  // keys after tie_embeddings may be absent (their defaults).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& where);

  // vocab_size is left 0: it comes from the dataset's tokenizer.
  static ModelConfig preset(const std::string& name);
  static std::vector<std::string> preset_names();

  bool operator==(const ModelConfig&) const = default;
};

// The positions a caller works in: `requested` (0: the model's whole context), which may not
// exceed the context. Error naming `what` (the CLI's --context) otherwise. A pretrained model's
// context (SmolLM2: 8192) is often more than a CPU can evaluate or train in one window.
std::int64_t window_within(const ModelConfig& c, std::int64_t requested, const std::string& what);

}  // namespace collapse
