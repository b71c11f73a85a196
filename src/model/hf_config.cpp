#include "collapse/model/hf_config.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/json_path.h"

namespace collapse {
using nlohmann::json;

namespace {

// transformers' activation names (ACT2FN) that collapse computes; the first of each is written.
// gelu_fast and gelu_pytorch_tanh are gelu_new's formula, computed differently.
constexpr std::array<Named<Activation>, 7> kHfActivations{{
    {Activation::silu, "silu", ""},
    {Activation::silu, "swish", ""},
    {Activation::gelu, "gelu", ""},
    {Activation::gelu_tanh, "gelu_new", ""},
    {Activation::gelu_tanh, "gelu_pytorch_tanh", ""},
    {Activation::gelu_tanh, "gelu_fast", ""},
    {Activation::relu, "relu", ""},
}};

// The transformers class each family's config.json names.
const char* architecture(ModelFamily f) {
  switch (f) {
    case ModelFamily::llama: return "LlamaForCausalLM";
    case ModelFamily::qwen2: return "Qwen2ForCausalLM";
    case ModelFamily::mistral: return "MistralForCausalLM";
    case ModelFamily::gpt2: return "GPT2LMHeadModel";
    case ModelFamily::opt: return "OPTForCausalLM";
    case ModelFamily::gpt_neox: return "GPTNeoXForCausalLM";
  }
  return "?";
}

double number(const JsonPath& v) {
  if (!v.value().is_number()) v.fail(fmt::format("expected a number, got {}", v.value().dump()));
  return v.value().get<double>();
}

// a * b, or INT64_MAX where that overflows: the sizes of a config.json are outside bytes, read
// before ModelConfig::validate refuses sizes past its limits (which INT64_MAX is).
std::int64_t saturating_product(std::int64_t a, std::int64_t b) {
  std::int64_t product = 0;
  return __builtin_mul_overflow(a, b, &product) ? std::numeric_limits<std::int64_t>::max() : product;
}

double number_or(const JsonPath& root, const char* key, double fallback) {
  const auto v = root.find(key);
  return v ? number(*v) : fallback;
}

Activation read_activation(const JsonPath& root, const char* key, const char* fallback) {
  const std::string name = root.string_or(key, fallback);
  const auto a = find_named(std::span<const Named<Activation>>(kHfActivations), name);
  if (!a) {
    root[key].fail(fmt::format("{} '{}' is not supported (supported: {})", key, name,
                               names_of(std::span<const Named<Activation>>(kHfActivations))));
  }
  return *a;
}

// A key that must hold `expected` (where absent, transformers' default, which is `expected`).
void require(const JsonPath& root, const char* key, bool expected, const char* why) {
  if (root.boolean_or(key, expected) != expected) {
    root[key].fail(fmt::format("{} is not supported ({}); it must be {}", key, why, expected));
  }
}

// rope_theta, the scaling and the rotary fraction of each head, from transformers 5's
// rope_parameters or transformers 4's keys (GPT-NeoX's rotary_emb_base and rotary_pct).
void read_rope(const JsonPath& root, ModelConfig& c) {
  const bool neox = c.family == ModelFamily::gpt_neox;
  std::optional<JsonPath> scaling;
  double fraction = neox ? 0.25 : 1.0;
  if (const auto p = root.find("rope_parameters")) {
    if (const auto theta = p->find("rope_theta")) c.rope_theta = number(*theta);
    if (const auto f = p->find("partial_rotary_factor")) fraction = number(*f);
    scaling = p;
  } else {
    c.rope_theta = number_or(root, neox ? "rotary_emb_base" : "rope_theta", c.rope_theta);
    if (neox) fraction = number_or(root, "rotary_pct", fraction);
    scaling = root.find("rope_scaling");
  }
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    root.fail(fmt::format("the rotary fraction of each head (partial_rotary_factor, rotary_pct) must be in (0, 1], got {}",
                          fraction));
  }
  if (fraction != 1.0) {
    if (!neox) root.fail(fmt::format("partial_rotary_factor {} is not supported for {} models", fraction,
                                     name_of(model_families(), c.family)));
    // transformers truncates: int(head_size * fraction).
    c.rotary_dims = static_cast<std::int64_t>(static_cast<double>(c.head_dim()) * fraction);
    if (c.rotary_dims == c.head_dim()) c.rotary_dims = 0;
  }
  if (!scaling) return;
  // transformers 4.43+ writes rope_type, older files type.
  const auto type_key = scaling->find("rope_type") ? scaling->find("rope_type") : scaling->find("type");
  const std::string type = type_key ? type_key->string() : "default";
  const auto kind = find_named(rope_scaling_kinds(), type);
  if (!kind) {
    (type_key ? *type_key : *scaling)
        .fail(fmt::format("rope type '{}' is not supported (supported: {})", type,
                          names_of(rope_scaling_kinds())));
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

// LlamaConfig, Qwen2Config, MistralConfig.
void read_llama_like(const JsonPath& root, ModelConfig& c) {
  c.vocab_size = root["vocab_size"].integer();
  c.d_model = root["hidden_size"].integer();
  c.ffn_hidden = root["intermediate_size"].integer();
  c.n_layer = root["num_hidden_layers"].integer();
  c.n_head = root["num_attention_heads"].integer();
  c.n_kv_head = root.integer_or("num_key_value_heads", c.n_head);
  if (c.n_kv_head == c.n_head) c.n_kv_head = 0;
  if (const auto hd = root.find("head_dim")) {
    c.head_size = hd->integer();
    if (saturating_product(c.head_size, c.n_head) == c.d_model) c.head_size = 0;  // the implied size: nothing to record
  }
  c.context = root["max_position_embeddings"].integer();
  c.norm_eps = number_or(root, "rms_norm_eps", 1e-6);
  c.tie_embeddings = root.boolean_or("tie_word_embeddings", false);
  c.activation = read_activation(root, "hidden_act", "silu");
  read_rope(root, c);
  switch (c.family) {
    case ModelFamily::qwen2:
      c.qkv_bias = true;
      require(root, "use_sliding_window", false, "sliding-window attention");
      break;
    case ModelFamily::mistral:
      if (const auto window = root.find("sliding_window")) c.context = std::min(c.context, window->integer());
      break;
    default:
      c.qkv_bias = c.o_bias = root.boolean_or("attention_bias", false);
      c.mlp_bias = root.boolean_or("mlp_bias", false);
  }
}

// GPT2Config.
void read_gpt2(const JsonPath& root, ModelConfig& c) {
  c.vocab_size = root["vocab_size"].integer();
  c.d_model = root["n_embd"].integer();
  c.n_layer = root["n_layer"].integer();
  c.n_head = root["n_head"].integer();
  c.context = root["n_positions"].integer();
  c.ffn_hidden = root.integer_or("n_inner", saturating_product(4, c.d_model));  // null: 4 * n_embd
  c.norm_eps = number_or(root, "layer_norm_epsilon", 1e-5);
  c.activation = read_activation(root, "activation_function", "gelu_new");
  c.tie_embeddings = root.boolean_or("tie_word_embeddings", true);
  c.qkv_bias = c.o_bias = c.mlp_bias = true;
  require(root, "scale_attn_weights", true, "unscaled attention");
  require(root, "scale_attn_by_inverse_layer_idx", false, "attention scaled by layer");
  require(root, "add_cross_attention", false, "cross-attention");
}

// OPTConfig.
void read_opt(const JsonPath& root, ModelConfig& c) {
  c.vocab_size = root["vocab_size"].integer();
  c.d_model = root["hidden_size"].integer();
  c.ffn_hidden = root["ffn_dim"].integer();
  c.n_layer = root["num_hidden_layers"].integer();
  c.n_head = root["num_attention_heads"].integer();
  c.context = root["max_position_embeddings"].integer();
  c.norm_eps = 1e-5;  // OPT's LayerNorms use torch's default
  c.activation = read_activation(root, "activation_function", "relu");
  c.tie_embeddings = root.boolean_or("tie_word_embeddings", true);
  c.qkv_bias = c.o_bias = c.mlp_bias = root.boolean_or("enable_bias", true);
  if (!root.boolean_or("do_layer_norm_before", true)) c.residual = ResidualKind::post_norm;
  c.embed_dim = root.integer_or("word_embed_proj_dim", c.d_model);
  if (c.embed_dim == c.d_model) c.embed_dim = 0;
  require(root, "_remove_final_layer_norm", false, "a pre-norm OPT without its final norm");
  require(root, "layer_norm_elementwise_affine", true, "LayerNorms without weights");
}

// GPTNeoXConfig.
void read_gpt_neox(const JsonPath& root, ModelConfig& c) {
  c.vocab_size = root["vocab_size"].integer();
  c.d_model = root["hidden_size"].integer();
  c.ffn_hidden = root["intermediate_size"].integer();
  c.n_layer = root["num_hidden_layers"].integer();
  c.n_head = root["num_attention_heads"].integer();
  c.context = root["max_position_embeddings"].integer();
  c.norm_eps = number_or(root, "layer_norm_eps", 1e-5);
  c.activation = read_activation(root, "hidden_act", "gelu");
  c.tie_embeddings = root.boolean_or("tie_word_embeddings", false);
  c.qkv_bias = c.o_bias = root.boolean_or("attention_bias", true);
  c.mlp_bias = true;
  if (root.boolean_or("use_parallel_residual", true)) c.residual = ResidualKind::parallel;
  read_rope(root, c);
}

// The rotary settings in both spellings: transformers >= 5 reads rope_parameters, 4.x rope_theta
// and rope_scaling (GPT-NeoX: rotary_emb_base and rotary_pct).
void write_rope(const ModelConfig& c, json& j) {
  json rope = {{"rope_type", name_of(rope_scaling_kinds(), c.rope_scaling.kind)},
               {"rope_theta", c.rope_theta}};
  if (c.rope_scaling.kind != RopeScalingKind::none) rope["factor"] = c.rope_scaling.factor;
  if (c.rope_scaling.kind == RopeScalingKind::llama3) {
    rope["low_freq_factor"] = c.rope_scaling.low_freq_factor;
    rope["high_freq_factor"] = c.rope_scaling.high_freq_factor;
    rope["original_max_position_embeddings"] = c.rope_scaling.original_context;
  }
  if (c.family == ModelFamily::gpt_neox) {
    const double fraction = static_cast<double>(c.rotary_width()) / static_cast<double>(c.head_dim());
    rope["partial_rotary_factor"] = fraction;
    j["rotary_pct"] = fraction;
    j["rotary_emb_base"] = c.rope_theta;
  } else {
    j["rope_theta"] = c.rope_theta;
  }
  j["rope_parameters"] = rope;
  j["rope_scaling"] = c.rope_scaling.kind == RopeScalingKind::none ? json(nullptr) : rope;
}

[[noreturn]] void unrepresentable(const ModelConfig& c, const char* what) {
  fail("a {} model {}; this config cannot be written as one", name_of(model_families(), c.family), what);
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
  switch (c.family) {
    case ModelFamily::gpt2: read_gpt2(root, c); break;
    case ModelFamily::opt: read_opt(root, c); break;
    case ModelFamily::gpt_neox: read_gpt_neox(root, c); break;
    default: read_llama_like(root, c);
  }
  try {
    c.validate([&](const std::string& key) { return file.string() + ": " + key; });
  } catch (const Error& e) {
    fail("{} (from the config's keys)", e.what());
  }
  return c;
}

json read_model_json(const std::filesystem::path& file) {
  try {
    return json::parse(read_file(file));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", file.string(), e.what());
  }
}

ModelConfig model_config_of(const json& j, const std::filesystem::path& file) {
  if (!j.is_object() || !j.contains("collapse")) return read_hf_config(j, file);
  ModelConfig c;
  try {
    c = ModelConfig::from_json(j.at("collapse").at("model"), file.string());
  } catch (const json::exception& e) {
    fail("{}: collapse: {}", file.string(), e.what());
  }
  // Checked here as a Hugging Face config is, so that a hand-edited export is refused naming the
  // file and key, not later by the model's constructor without them (found by fuzzing).
  c.validate([&](const std::string& key) { return file.string() + ": collapse.model." + key; });
  return c;
}

std::filesystem::path config_json_in(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) fail("{} holds no config.json", dir.string());
  return file;
}

ModelConfig read_model_folder_config(const std::filesystem::path& dir) {
  const std::filesystem::path file = config_json_in(dir);
  return model_config_of(read_model_json(file), file);
}

json write_hf_config(const ModelConfig& c) {
  const char* activation = name_of(std::span<const Named<Activation>>(kHfActivations), c.activation);
  const bool all_biases = c.qkv_bias && c.o_bias && c.mlp_bias;
  const bool no_biases = !c.qkv_bias && !c.o_bias && !c.mlp_bias;
  if (c.family != ModelFamily::gpt_neox && c.rotary_dims != 0) unrepresentable(c, "rotates whole heads");
  if (c.family != ModelFamily::opt && c.embed_dim != 0) unrepresentable(c, "embeds at the body's width");
  json j = {{"architectures", {architecture(c.family)}},
            {"model_type", name_of(model_families(), c.family)},
            {"vocab_size", c.vocab_size},
            {"tie_word_embeddings", c.tie_embeddings},
            {"initializer_range", 0.02},
            {"torch_dtype", "float32"},
            {"use_cache", true}};
  switch (c.family) {
    case ModelFamily::gpt2:
      if (!all_biases) unrepresentable(c, "has biases on every projection");
      if (c.residual != ResidualKind::sequential) unrepresentable(c, "is pre-norm and sequential");
      j.update({{"n_embd", c.d_model}, {"n_layer", c.n_layer}, {"n_head", c.n_head},
                {"n_inner", c.ffn_hidden}, {"n_positions", c.context}, {"n_ctx", c.context},
                {"layer_norm_epsilon", c.norm_eps}, {"activation_function", activation},
                {"scale_attn_weights", true}});
      return j;
    case ModelFamily::opt:
      if (!all_biases && !no_biases) unrepresentable(c, "has biases on every projection or on none");
      if (c.residual == ResidualKind::parallel) unrepresentable(c, "is sequential (pre- or post-norm)");
      if (c.norm_eps != 1e-5) unrepresentable(c, "has LayerNorms of eps 1e-5");
      j.update({{"hidden_size", c.d_model}, {"ffn_dim", c.ffn_hidden}, {"num_hidden_layers", c.n_layer},
                {"num_attention_heads", c.n_head}, {"max_position_embeddings", c.context},
                {"do_layer_norm_before", c.residual == ResidualKind::sequential},
                {"word_embed_proj_dim", c.embedding_width()}, {"activation_function", activation},
                {"enable_bias", all_biases}, {"layer_norm_elementwise_affine", true}});
      return j;
    case ModelFamily::gpt_neox:
      if (c.qkv_bias != c.o_bias || !c.mlp_bias) unrepresentable(c, "has MLP biases and attention biases on all of q, k, v and o or none");
      if (c.residual == ResidualKind::post_norm) unrepresentable(c, "is pre-norm");
      if (c.n_kv_head != 0 || c.head_size != 0) unrepresentable(c, "has d_model / n_head heads of keys and values");
      j.update({{"hidden_size", c.d_model}, {"intermediate_size", c.ffn_hidden},
                {"num_hidden_layers", c.n_layer}, {"num_attention_heads", c.n_head},
                {"max_position_embeddings", c.context}, {"layer_norm_eps", c.norm_eps},
                {"hidden_act", activation}, {"attention_bias", c.qkv_bias},
                {"use_parallel_residual", c.residual == ResidualKind::parallel}});
      write_rope(c, j);
      return j;
    default: break;
  }
  // The Llama-like families.
  if (c.residual != ResidualKind::sequential) unrepresentable(c, "is pre-norm and sequential");
  j.update({{"hidden_size", c.d_model}, {"intermediate_size", c.ffn_hidden},
            {"num_hidden_layers", c.n_layer}, {"num_attention_heads", c.n_head},
            {"num_key_value_heads", c.kv_heads()}, {"head_dim", c.head_dim()},
            {"max_position_embeddings", c.context}, {"rms_norm_eps", c.norm_eps},
            {"hidden_act", activation}, {"attention_dropout", 0.0}});
  write_rope(c, j);
  switch (c.family) {
    case ModelFamily::qwen2:
      if (!c.qkv_bias || c.o_bias || c.mlp_bias) unrepresentable(c, "has biases on q, k and v only");
      j["use_sliding_window"] = false;
      j["sliding_window"] = nullptr;
      j["max_window_layers"] = c.n_layer;
      break;
    case ModelFamily::mistral:
      if (!no_biases) unrepresentable(c, "has no biases");
      j["sliding_window"] = nullptr;  // the context never exceeds the window it was read with
      break;
    default:
      if (c.qkv_bias != c.o_bias) unrepresentable(c, "has biases on all of q, k, v and o or on none");
      j["attention_bias"] = c.qkv_bias;
      j["mlp_bias"] = c.mlp_bias;
  }
  return j;
}

}  // namespace collapse
