#include "collapse/model/model_config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "collapse/util/error.h"

namespace collapse {
using nlohmann::json;

namespace {

constexpr std::array<Named<ModelFamily>, 6> kFamilies{{
    {ModelFamily::llama, "llama", "LlamaForCausalLM (SmolLM2, TinyLlama, Llama 3.x, collapse's own models)"},
    {ModelFamily::qwen2, "qwen2", "Qwen2ForCausalLM (Llama with q/k/v biases)"},
    {ModelFamily::mistral, "mistral", "MistralForCausalLM (Llama with a sliding window)"},
    {ModelFamily::gpt2, "gpt2", "GPT2LMHeadModel (GPT-2, DistilGPT-2: learned positions, LayerNorm, plain MLP)"},
    {ModelFamily::opt, "opt", "OPTForCausalLM (OPT: learned positions offset by 2, LayerNorm, ReLU MLP)"},
    {ModelFamily::gpt_neox, "gpt_neox", "GPTNeoXForCausalLM (Pythia: partial rotary, parallel residual, LayerNorm)"},
}};

constexpr std::array<Named<Activation>, 4> kActivations{{
    {Activation::silu, "silu", "x * sigmoid(x) (Llama's SwiGLU)"},
    {Activation::gelu, "gelu", "the exact, erf GELU (GPT-NeoX)"},
    {Activation::gelu_tanh, "gelu_tanh", "the tanh approximation of GELU (GPT-2's gelu_new)"},
    {Activation::relu, "relu", "max(x, 0) (OPT)"},
}};

constexpr std::array<Named<ResidualKind>, 3> kResidualKinds{{
    {ResidualKind::sequential, "sequential", "x + attn(norm1(x)), then + mlp(norm2(.)) (pre-norm)"},
    {ResidualKind::parallel, "parallel", "x + attn(norm1(x)) + mlp(norm2(x)) (GPT-NeoX's use_parallel_residual)"},
    {ResidualKind::post_norm, "post_norm", "norm1(x + attn(x)), then norm2(. + mlp(.)), no final norm (OPT-350m)"},
}};

// Named as Hugging Face's rope_type (hf_config reads and writes them).
constexpr std::array<Named<RopeScalingKind>, 3> kRopeScalingKinds{{
    {RopeScalingKind::none, "default", "rotary frequencies as trained"},
    {RopeScalingKind::linear, "linear", "every frequency divided by factor"},
    {RopeScalingKind::llama3, "llama3", "low frequencies divided by factor, high ones kept, those between blended"},
}};

}  // namespace

std::span<const Named<ModelFamily>> model_families() { return kFamilies; }
std::span<const Named<RopeScalingKind>> rope_scaling_kinds() { return kRopeScalingKinds; }
std::span<const Named<Activation>> activations() { return kActivations; }
std::span<const Named<ResidualKind>> residual_kinds() { return kResidualKinds; }

FamilyLayout family_layout(ModelFamily family) {
  switch (family) {
    case ModelFamily::llama:
    case ModelFamily::qwen2:
    case ModelFamily::mistral:
      return {.layer_norm = false, .gated_mlp = true, .learned_positions = false, .position_offset = 0};
    case ModelFamily::gpt2:
      return {.layer_norm = true, .gated_mlp = false, .learned_positions = true, .position_offset = 0};
    case ModelFamily::opt:
      return {.layer_norm = true, .gated_mlp = false, .learned_positions = true, .position_offset = 2};
    case ModelFamily::gpt_neox:
      return {.layer_norm = true, .gated_mlp = false, .learned_positions = false, .position_offset = 0};
  }
  fail("unknown model family");
}

std::int64_t ModelConfig::parameters() const {
  const std::int64_t q = n_head * head_dim(), kv = kv_heads() * head_dim();
  const std::int64_t attention = d_model * (q + 2 * kv) + q * d_model +
                                 (qkv_bias ? q + 2 * kv : 0) + (o_bias ? d_model : 0);
  const FamilyLayout l = layout();
  const std::int64_t mlp_inputs = l.gated_mlp ? 2 : 1;
  const std::int64_t mlp = (mlp_inputs + 1) * d_model * ffn_hidden +
                           (mlp_bias ? mlp_inputs * ffn_hidden + d_model : 0);
  const std::int64_t norm = l.layer_norm ? 2 * d_model : d_model;
  const std::int64_t per_layer = attention + mlp + 2 * norm;
  const std::int64_t final_norm = residual == ResidualKind::post_norm ? 0 : norm;
  const std::int64_t embedding = vocab_size * embedding_width();
  const std::int64_t positions = l.learned_positions ? (context + l.position_offset) * d_model : 0;
  const std::int64_t projections = embedding_width() != d_model ? 2 * embedding_width() * d_model : 0;
  return n_layer * per_layer + final_norm + embedding * (tie_embeddings ? 1 : 2) + positions + projections;
}

void ModelConfig::validate(const SettingNames& names) const {
  auto positive = [&](const char* key, std::int64_t v) {
    if (v <= 0) fail("{} must be positive, got {}", names(key), v);
  };
  positive("vocab_size", vocab_size);
  positive("context", context);
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("d_model", d_model);
  positive("ffn_hidden", ffn_hidden);
  // Sizes past these are a damaged or hostile config.json, not a model: refused here, before
  // anything is allocated (n_layer 1e9 once ran 24 s into std::bad_alloc).
  auto at_most = [&](const char* key, std::int64_t v, std::int64_t hi) {
    if (v > hi) fail("{} must be at most {}, got {}", names(key), hi, v);
  };
  constexpr std::int64_t kMaxSize = std::int64_t{1} << 24;
  at_most("vocab_size", vocab_size, std::int64_t{1} << 31);
  for (const auto& [key, v] : {std::pair<const char*, std::int64_t>{"context", context}, {"n_layer", n_layer},
                               {"n_head", n_head}, {"d_model", d_model}, {"ffn_hidden", ffn_hidden},
                               {"n_kv_head", n_kv_head}, {"head_size", head_size}, {"embed_dim", embed_dim},
                               {"rotary_dims", rotary_dims}}) {
    at_most(key, v, kMaxSize);
  }
  const double width = static_cast<double>(std::max(d_model, n_head * std::max<std::int64_t>(head_size, 1)));
  const double rough = static_cast<double>(n_layer) * (4.0 * width * width + 3.0 * width * static_cast<double>(ffn_hidden)) +
                       2.0 * static_cast<double>(vocab_size) * width;
  if (rough > 1e12) {
    fail("{} {}, {} {} and {} {} make about {:.3g} parameters ({:.3g} TB of fp32 weights): not a model this "
         "machine, or any, can hold",
         names("n_layer"), n_layer, names("d_model"), d_model, names("ffn_hidden"), ffn_hidden, rough, rough * 4e-12);
  }
  if (n_kv_head < 0) fail("{} must be positive, got {}", names("n_kv_head"), n_kv_head);
  if (head_size < 0) fail("{} must be positive, got {}", names("head_size"), head_size);
  if (head_size == 0 && d_model % n_head != 0) {
    fail("{} {} is not divisible by {} {}", names("d_model"), d_model, names("n_head"), n_head);
  }
  if (n_head % kv_heads() != 0) {
    fail("{} {} is not divisible by {} {}", names("n_head"), n_head, names("n_kv_head"), kv_heads());
  }
  if (rotary_dims < 0) fail("{} must be positive, got {}", names("rotary_dims"), rotary_dims);
  if (embed_dim < 0) fail("{} must be positive, got {}", names("embed_dim"), embed_dim);
  if (layout().learned_positions) {
    if (rotary_dims != 0 || rope_scaling.kind != RopeScalingKind::none) {
      fail("{} and {} are for rotary models; a {} model has learned positions", names("rotary_dims"),
           names("rope_scaling"), name_of(model_families(), family));
    }
  } else if (rotary_dims == 0 && head_dim() % 2 != 0) {
    fail("the head size {} must be even for rotary embeddings ({})", head_dim(),
         head_size > 0 ? names("head_size") : names("d_model") + " / " + names("n_head"));
  } else if (rotary_dims > head_dim() || rotary_dims % 2 != 0) {
    fail("{} {} must be even and at most the head size {}", names("rotary_dims"), rotary_dims, head_dim());
  }
  if (!(rope_theta > 0) || !std::isfinite(rope_theta)) {
    fail("{} must be a finite positive number, got {}", names("rope_theta"), rope_theta);
  }
  if (!(norm_eps > 0)) fail("{} must be positive, got {}", names("norm_eps"), norm_eps);
  const RopeScaling& r = rope_scaling;
  if (r.kind != RopeScalingKind::none && !(r.factor > 0)) {
    fail("{} factor must be positive, got {}", names("rope_scaling"), r.factor);
  }
  if (r.kind == RopeScalingKind::llama3 &&
      !(r.low_freq_factor > 0 && r.high_freq_factor > r.low_freq_factor && r.original_context > 0)) {
    fail("{} llama3 needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0, "
         "got {}, {} and {}",
         names("rope_scaling"), r.low_freq_factor, r.high_freq_factor, r.original_context);
  }
}

namespace {

json rope_scaling_json(const RopeScaling& r) {
  json j = {{"type", name_of(rope_scaling_kinds(), r.kind)}, {"factor", r.factor}};
  if (r.kind == RopeScalingKind::llama3) {
    j["low_freq_factor"] = r.low_freq_factor;
    j["high_freq_factor"] = r.high_freq_factor;
    j["original_context"] = r.original_context;
  }
  return j;
}

}  // namespace

json ModelConfig::to_json() const {
  json j = {{"vocab_size", vocab_size}, {"context", context},       {"n_layer", n_layer},
            {"n_head", n_head},         {"d_model", d_model},       {"ffn_hidden", ffn_hidden},
            {"rope_theta", rope_theta}, {"norm_eps", norm_eps},     {"tie_embeddings", tie_embeddings}};
  const ModelConfig defaults;
  if (family != defaults.family) j["family"] = name_of(model_families(), family);
  if (n_kv_head != defaults.n_kv_head) j["n_kv_head"] = n_kv_head;
  if (head_size != defaults.head_size) j["head_size"] = head_size;
  if (rope_scaling != defaults.rope_scaling) j["rope_scaling"] = rope_scaling_json(rope_scaling);
  if (qkv_bias) j["qkv_bias"] = true;
  if (o_bias) j["o_bias"] = true;
  if (mlp_bias) j["mlp_bias"] = true;
  if (activation != defaults.activation) j["activation"] = name_of(activations(), activation);
  if (rotary_dims != defaults.rotary_dims) j["rotary_dims"] = rotary_dims;
  if (residual != defaults.residual) j["residual"] = name_of(residual_kinds(), residual);
  if (embed_dim != defaults.embed_dim) j["embed_dim"] = embed_dim;
  return j;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: model config must be a JSON object", where);
  ModelConfig c;
  static const std::vector<std::string> kOptional = {
      "family", "n_kv_head", "head_size",  "rope_scaling", "qkv_bias", "o_bias",
      "mlp_bias", "activation", "rotary_dims", "residual", "embed_dim"};
  const json reference = c.to_json();
  for (const auto& [key, value] : j.items()) {
    if (!reference.contains(key) && std::find(kOptional.begin(), kOptional.end(), key) == kOptional.end()) {
      fail("{}: unknown model config key '{}'", where, key);
    }
  }
  auto read = [&](const json& from, const std::string& key, auto& out, bool required) {
    if (!from.contains(key)) {
      if (required) fail("{}: model config lacks '{}'", where, key);
      return;
    }
    using T = std::decay_t<decltype(out)>;
    const json& v = from.at(key);
    // The JSON library converts a float to an integer without checking its range (undefined
    // behaviour past int64's; found by fuzzing): a size must be written as an integer.
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (!v.is_number_integer() ||
          (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))) {
        fail("{}: model config '{}' must be an integer, got {}", where, key, v.dump());
      }
    }
    try {
      out = v.get<T>();
    } catch (const json::exception&) {
      fail("{}: model config '{}' has the wrong type ({})", where, key, from.at(key).dump());
    }
  };
  read(j, "vocab_size", c.vocab_size, true);
  read(j, "context", c.context, true);
  read(j, "n_layer", c.n_layer, true);
  read(j, "n_head", c.n_head, true);
  read(j, "d_model", c.d_model, true);
  read(j, "ffn_hidden", c.ffn_hidden, true);
  read(j, "rope_theta", c.rope_theta, true);
  read(j, "norm_eps", c.norm_eps, true);
  read(j, "tie_embeddings", c.tie_embeddings, true);
  read(j, "n_kv_head", c.n_kv_head, false);
  read(j, "head_size", c.head_size, false);
  read(j, "qkv_bias", c.qkv_bias, false);
  read(j, "o_bias", c.o_bias, false);
  read(j, "mlp_bias", c.mlp_bias, false);
  read(j, "rotary_dims", c.rotary_dims, false);
  read(j, "embed_dim", c.embed_dim, false);
  // A name of one of the closed sets, e.g. "family": "gpt2".
  auto read_named = [&](const std::string& key, auto table, auto& out) {
    if (!j.contains(key)) return;
    std::string name;
    read(j, key, name, true);
    const auto v = find_named(table, name);
    if (!v) fail("{}: model config {} '{}' is unknown ({})", where, key, name, names_of(table));
    out = *v;
  };
  read_named("family", model_families(), c.family);
  read_named("activation", activations(), c.activation);
  read_named("residual", residual_kinds(), c.residual);
  if (j.contains("rope_scaling")) {
    const json& r = j.at("rope_scaling");
    if (!r.is_object()) fail("{}: model config 'rope_scaling' must be an object", where);
    std::string type;
    read(r, "type", type, true);
    const auto kind = find_named(rope_scaling_kinds(), type);
    if (!kind) {
      fail("{}: model config rope_scaling type '{}' is unknown ({})", where, type,
           names_of(rope_scaling_kinds()));
    }
    c.rope_scaling.kind = *kind;
    read(r, "factor", c.rope_scaling.factor, true);
    read(r, "low_freq_factor", c.rope_scaling.low_freq_factor, false);
    read(r, "high_freq_factor", c.rope_scaling.high_freq_factor, false);
    read(r, "original_context", c.rope_scaling.original_context, false);
  }
  return c;
}

std::int64_t window_within(const ModelConfig& c, std::int64_t requested, const std::string& what) {
  if (requested < 0) fail("{} must be positive, got {}", what, requested);
  if (requested > c.context) fail("{} {} exceeds the model's context of {} positions", what, requested, c.context);
  return requested > 0 ? requested : c.context;
}

ModelConfig ModelConfig::preset(const std::string& name) {
  ModelConfig c;
  if (name == "tiny") {
    c.n_layer = 2, c.n_head = 4, c.d_model = 128, c.ffn_hidden = 384, c.context = 128;
  } else if (name == "small") {
    c.n_layer = 6, c.n_head = 6, c.d_model = 384, c.ffn_hidden = 1024, c.context = 256;
  } else if (name == "base") {
    c.n_layer = 12, c.n_head = 12, c.d_model = 768, c.ffn_hidden = 2048, c.context = 1024;
  } else {
    fail("unknown model preset '{}' (tiny, small or base)", name);
  }
  return c;
}

std::vector<std::string> ModelConfig::preset_names() { return {"tiny", "small", "base"}; }

}  // namespace collapse
