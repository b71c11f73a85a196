#include "collapse/model/hf_config.h"

#include <array>

#include "collapse/util/error.h"
#include "collapse/util/json_path.h"

namespace collapse {
using nlohmann::json;

namespace {

// The rope_type names of Hugging Face's rope initialisers that collapse computes.
constexpr std::array<Named<RopeScalingKind>, 3> kRopeTypes{{
    {RopeScalingKind::none, "default", "no scaling"},
    {RopeScalingKind::linear, "linear", "positions divided by factor"},
    {RopeScalingKind::llama3, "llama3", "Llama 3.1's frequency-dependent scaling"},
}};

// The transformers class each family's config.json names.
const char* architecture(ModelFamily f) {
  switch (f) {
    case ModelFamily::llama: return "LlamaForCausalLM";
    case ModelFamily::qwen2: return "Qwen2ForCausalLM";
    case ModelFamily::mistral: return "MistralForCausalLM";
  }
  return "?";
}

double number(const JsonPath& v) {
  if (!v.value().is_number()) v.fail(fmt::format("expected a number, got {}", v.value().dump()));
  return v.value().get<double>();
}

// rope_theta and the scaling, from transformers 5's rope_parameters or transformers 4's
// rope_theta + rope_scaling.
void read_rope(const JsonPath& root, ModelConfig& c) {
  std::optional<JsonPath> scaling;
  if (const auto p = root.find("rope_parameters")) {
    if (const auto theta = p->find("rope_theta")) c.rope_theta = number(*theta);
    scaling = p;
  } else {
    if (const auto theta = root.find("rope_theta")) c.rope_theta = number(*theta);
    scaling = root.find("rope_scaling");
  }
  if (!scaling) return;
  // transformers 4.43+ writes rope_type, older files type.
  const auto type_key = scaling->find("rope_type") ? scaling->find("rope_type") : scaling->find("type");
  const std::string type = type_key ? type_key->string() : "default";
  const auto kind = find_named(std::span<const Named<RopeScalingKind>>(kRopeTypes), type);
  if (!kind) {
    (type_key ? *type_key : *scaling)
        .fail(fmt::format("rope type '{}' is not supported (supported: {})", type,
                          names_of(std::span<const Named<RopeScalingKind>>(kRopeTypes))));
  }
  RopeScaling& r = c.rope_scaling;
  r.kind = *kind;
  if (r.kind == RopeScalingKind::none) return;
  r.factor = number((*scaling)["factor"]);
  if (r.kind == RopeScalingKind::llama3) {
    r.low_freq_factor = number((*scaling)["low_freq_factor"]);
    r.high_freq_factor = number((*scaling)["high_freq_factor"]);
    r.original_context = (*scaling)["original_max_position_embeddings"].integer();
  }
}

}  // namespace

ModelConfig read_hf_config(const json& j, const std::filesystem::path& file) {
  const JsonPath root(j, file.string());
  if (!j.is_object()) root.fail("expected a JSON object");
  const std::string type = root["model_type"].string();
  const auto family = find_named(model_families(), type);
  if (!family) {
    root["model_type"].fail(fmt::format("model_type '{}' is not supported (supported: {})", type,
                                        names_of(model_families())));
  }
  ModelConfig c;
  c.family = *family;
  c.vocab_size = root["vocab_size"].integer();
  c.d_model = root["hidden_size"].integer();
  c.ffn_hidden = root["intermediate_size"].integer();
  c.n_layer = root["num_hidden_layers"].integer();
  c.n_head = root["num_attention_heads"].integer();
  c.n_kv_head = root.integer_or("num_key_value_heads", c.n_head);
  if (c.n_kv_head == c.n_head) c.n_kv_head = 0;
  if (const auto hd = root.find("head_dim")) {
    c.head_size = hd->integer();
    if (c.head_size * c.n_head == c.d_model) c.head_size = 0;  // the implied size: nothing to record
  }
  c.context = root["max_position_embeddings"].integer();
  c.norm_eps = root.find("rms_norm_eps") ? number(root["rms_norm_eps"]) : 1e-6;
  c.tie_embeddings = root.boolean_or("tie_word_embeddings", false);
  read_rope(root, c);
  const std::string act = root.string_or("hidden_act", "silu");
  if (act != "silu") root["hidden_act"].fail(fmt::format("hidden_act '{}' is not supported (supported: silu)", act));

  switch (c.family) {
    case ModelFamily::llama:
      c.qkv_bias = c.o_bias = root.boolean_or("attention_bias", false);
      c.mlp_bias = root.boolean_or("mlp_bias", false);
      break;
    case ModelFamily::qwen2:
      c.qkv_bias = true;
      if (root.boolean_or("use_sliding_window", false)) {
        root["use_sliding_window"].fail("sliding-window attention is not supported; set it to false");
      }
      break;
    case ModelFamily::mistral:
      if (const auto window = root.find("sliding_window")) c.context = std::min(c.context, window->integer());
      break;
  }
  try {
    c.validate([&](const std::string& key) { return file.string() + ": " + key; });
  } catch (const Error& e) {
    fail("{} (from the config's keys)", e.what());
  }
  return c;
}

json write_hf_config(const ModelConfig& c) {
  json rope = {{"rope_type", name_of(std::span<const Named<RopeScalingKind>>(kRopeTypes), c.rope_scaling.kind)},
               {"rope_theta", c.rope_theta}};
  if (c.rope_scaling.kind != RopeScalingKind::none) rope["factor"] = c.rope_scaling.factor;
  if (c.rope_scaling.kind == RopeScalingKind::llama3) {
    rope["low_freq_factor"] = c.rope_scaling.low_freq_factor;
    rope["high_freq_factor"] = c.rope_scaling.high_freq_factor;
    rope["original_max_position_embeddings"] = c.rope_scaling.original_context;
  }
  json j = {{"architectures", {architecture(c.family)}},
            {"model_type", name_of(model_families(), c.family)},
            {"vocab_size", c.vocab_size},
            {"hidden_size", c.d_model},
            {"intermediate_size", c.ffn_hidden},
            {"num_hidden_layers", c.n_layer},
            {"num_attention_heads", c.n_head},
            {"num_key_value_heads", c.kv_heads()},
            {"head_dim", c.head_dim()},
            {"max_position_embeddings", c.context},
            {"rms_norm_eps", c.norm_eps},
            {"rope_theta", c.rope_theta},
            // transformers >= 5 reads the rotary settings from rope_parameters, 4.x from
            // rope_theta and rope_scaling.
            {"rope_parameters", rope},
            {"rope_scaling", c.rope_scaling.kind == RopeScalingKind::none ? json(nullptr) : rope},
            {"hidden_act", "silu"},
            {"attention_dropout", 0.0},
            {"tie_word_embeddings", c.tie_embeddings},
            {"initializer_range", 0.02},
            {"torch_dtype", "float32"},
            {"use_cache", true}};
  switch (c.family) {
    case ModelFamily::llama:
      if (c.qkv_bias != c.o_bias) fail("a Llama model has biases on all of q, k, v and o or on none");
      j["attention_bias"] = c.qkv_bias;
      j["mlp_bias"] = c.mlp_bias;
      break;
    case ModelFamily::qwen2:
      if (!c.qkv_bias || c.o_bias || c.mlp_bias) fail("a Qwen2 model has biases on q, k and v only");
      j["use_sliding_window"] = false;
      j["sliding_window"] = nullptr;
      j["max_window_layers"] = c.n_layer;
      break;
    case ModelFamily::mistral:
      if (c.qkv_bias || c.o_bias || c.mlp_bias) fail("a Mistral model has no biases");
      j["sliding_window"] = nullptr;  // the context never exceeds the window it was read with
      break;
  }
  return j;
}

std::string hf_tensor_name(const std::string& ours) {
  return ours.rfind("lm_head.", 0) == 0 ? ours : "model." + ours;
}

}  // namespace collapse
