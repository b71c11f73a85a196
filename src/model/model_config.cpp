#include "collapse/model/model_config.h"

#include "collapse/util/error.h"

namespace collapse {
using nlohmann::json;

std::int64_t ModelConfig::parameters() const {
  const std::int64_t per_layer = 4 * d_model * d_model + 3 * d_model * ffn_hidden + 2 * d_model;
  const std::int64_t embedding = vocab_size * d_model;
  return n_layer * per_layer + d_model + embedding * (tie_embeddings ? 1 : 2);
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
  if (d_model % n_head != 0) {
    fail("{} {} is not divisible by {} {}", names("d_model"), d_model, names("n_head"), n_head);
  }
  if (head_dim() % 2 != 0) {
    fail("the head size {} / {} = {} must be even for rotary embeddings", names("d_model"),
         names("n_head"), head_dim());
  }
  if (!(rope_theta > 0)) fail("{} must be positive, got {}", names("rope_theta"), rope_theta);
  if (!(norm_eps > 0)) fail("{} must be positive, got {}", names("norm_eps"), norm_eps);
}

json ModelConfig::to_json() const {
  return {{"vocab_size", vocab_size}, {"context", context},       {"n_layer", n_layer},
          {"n_head", n_head},         {"d_model", d_model},       {"ffn_hidden", ffn_hidden},
          {"rope_theta", rope_theta}, {"norm_eps", norm_eps},     {"tie_embeddings", tie_embeddings}};
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: model config must be a JSON object", where);
  ModelConfig c;
  const json reference = c.to_json();
  for (const auto& [key, value] : j.items()) {
    if (!reference.contains(key)) fail("{}: unknown model config key '{}'", where, key);
  }
  auto get = [&](const char* key, auto& out) {
    if (!j.contains(key)) fail("{}: model config lacks '{}'", where, key);
    try {
      out = j.at(key).get<std::decay_t<decltype(out)>>();
    } catch (const json::exception&) {
      fail("{}: model config '{}' has the wrong type ({})", where, key, j.at(key).dump());
    }
  };
  get("vocab_size", c.vocab_size);
  get("context", c.context);
  get("n_layer", c.n_layer);
  get("n_head", c.n_head);
  get("d_model", c.d_model);
  get("ffn_hidden", c.ffn_hidden);
  get("rope_theta", c.rope_theta);
  get("norm_eps", c.norm_eps);
  get("tie_embeddings", c.tie_embeddings);
  return c;
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
