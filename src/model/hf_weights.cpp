#include "collapse/model/hf_weights.h"

#include <ATen/ATen.h>

#include <array>
#include <map>

#include "collapse/util/error.h"

namespace collapse {

namespace {

// One of our module paths and where a family stores it.
struct Rename {
  const char* ours;    // a module path, relative to the body or to one layer
  const char* theirs;
  HfJoin join = HfJoin::one;
  bool conv1d = false;
};

// A family's layout: the body's prefix, the layers' container, renamed modules (anything not
// listed keeps our name) and the untied output projection.
struct Layout {
  const char* base;    // the base model's prefix, which files saved from it lack
  const char* body;    // where the body's modules live: base + any inner module
  const char* layers;  // the layers' container within the body
  std::vector<Rename> top, layer;
  const char* output;
};

const Layout& layout_of(ModelFamily f) {
  static const Layout llama{"model.", "model.", "layers.", {}, {}, "lm_head"};
  static const Layout gpt2{
      "transformer.", "transformer.", "h.",
      {{"embed_tokens", "wte"}, {"embed_positions", "wpe"}, {"norm", "ln_f"}},
      {{"input_layernorm", "ln_1"},
       {"post_attention_layernorm", "ln_2"},
       {"self_attn.q_proj", "attn.c_attn", HfJoin::rows, true},
       {"self_attn.k_proj", "attn.c_attn", HfJoin::rows, true},
       {"self_attn.v_proj", "attn.c_attn", HfJoin::rows, true},
       {"self_attn.o_proj", "attn.c_proj", HfJoin::one, true},
       {"mlp.up_proj", "mlp.c_fc", HfJoin::one, true},
       {"mlp.down_proj", "mlp.c_proj", HfJoin::one, true}},
      "lm_head"};
  static const Layout opt{
      "model.", "model.decoder.", "layers.",
      {{"norm", "final_layer_norm"}},
      {{"input_layernorm", "self_attn_layer_norm"},
       {"post_attention_layernorm", "final_layer_norm"},
       {"self_attn.o_proj", "self_attn.out_proj"},
       {"mlp.up_proj", "fc1"},
       {"mlp.down_proj", "fc2"}},
      "lm_head"};
  static const Layout neox{
      "gpt_neox.", "gpt_neox.", "layers.",
      {{"embed_tokens", "embed_in"}, {"norm", "final_layer_norm"}},
      {{"self_attn.q_proj", "attention.query_key_value", HfJoin::heads},
       {"self_attn.k_proj", "attention.query_key_value", HfJoin::heads},
       {"self_attn.v_proj", "attention.query_key_value", HfJoin::heads},
       {"self_attn.o_proj", "attention.dense"},
       {"mlp.up_proj", "mlp.dense_h_to_4h"},
       {"mlp.down_proj", "mlp.dense_4h_to_h"}},
      "embed_out"};
  switch (f) {
    case ModelFamily::llama:
    case ModelFamily::qwen2:
    case ModelFamily::mistral: return llama;
    case ModelFamily::gpt2: return gpt2;
    case ModelFamily::opt: return opt;
    case ModelFamily::gpt_neox: return neox;
  }
  fail("unknown model family");
}

// `path` ("self_attn.q_proj.weight") renamed by the first entry of `renames` whose module it is
// in; the rest of the path is kept.
std::pair<std::string, const Rename*> rename(const std::vector<Rename>& renames, const std::string& path) {
  for (const Rename& r : renames) {
    const std::string module = r.ours;
    if (path.size() > module.size() && path.compare(0, module.size(), module) == 0 && path[module.size()] == '.') {
      return {r.theirs + path.substr(module.size()), &r};
    }
  }
  return {path, nullptr};
}

// Buffers that files of these families may carry besides the weights.
bool is_buffer(const std::string& name) {
  for (const char* suffix : {"rotary_emb.inv_freq", ".attn.bias", ".attn.masked_bias", ".attention.bias",
                             ".attention.masked_bias", ".crossattention.bias"}) {
    if (name.ends_with(suffix)) return true;
  }
  return name == "attn.bias" || name == "attention.bias";
}

}  // namespace

std::vector<HfTensor> hf_tensors(const ModelConfig& c, const std::vector<std::string>& ours) {
  const Layout& l = layout_of(c.family);
  std::vector<HfTensor> out;
  std::map<std::string, std::size_t> index;  // stored name -> its entry in out
  for (const std::string& name : ours) {
    std::string theirs;
    const Rename* how = nullptr;
    if (name.rfind("lm_head.", 0) == 0) {
      theirs = l.output + name.substr(7);
    } else if (name.rfind("layers.", 0) == 0) {
      const std::size_t dot = name.find('.', 7);
      const std::string number = name.substr(7, dot - 7);
      auto [path, r] = rename(l.layer, name.substr(dot + 1));
      theirs = std::string(l.body) + l.layers + number + "." + path;
      how = r;
    } else {
      auto [path, r] = rename(l.top, name);
      theirs = l.body + path;
      how = r;
    }
    const auto [it, fresh] = index.emplace(theirs, out.size());
    if (fresh) {
      const bool matrix = !name.ends_with(".bias");
      out.push_back({theirs, {}, how ? how->join : HfJoin::one, how && how->conv1d && matrix});
    }
    out[it->second].ours.push_back(name);
  }
  return out;
}

std::vector<std::int64_t> joined_shape(const HfTensor& t, const std::vector<std::vector<std::int64_t>>& shapes) {
  std::vector<std::int64_t> shape = shapes.front();
  for (std::size_t i = 1; i < shapes.size(); ++i) shape[0] += shapes[i][0];
  if (t.transposed && shape.size() == 2) std::swap(shape[0], shape[1]);
  return shape;
}

at::Tensor join_hf(const HfTensor& t, const std::vector<at::Tensor>& parts, std::int64_t n_head) {
  at::Tensor joined;
  switch (t.join) {
    case HfJoin::one: joined = parts.front(); break;
    case HfJoin::rows: joined = at::cat(parts, 0); break;
    case HfJoin::heads: {
      // Each part [H * hd, ...] -> [H, hd, ...], stacked on a new dim 1 -> [H, parts, hd, ...].
      std::vector<at::Tensor> per_head;
      for (const at::Tensor& p : parts) {
        std::vector<std::int64_t> shape{n_head, p.size(0) / n_head};
        for (std::int64_t d = 1; d < p.dim(); ++d) shape.push_back(p.size(d));
        per_head.push_back(p.reshape(shape));
      }
      const at::Tensor stacked = at::stack(per_head, 1);
      std::vector<std::int64_t> shape{stacked.size(0) * stacked.size(1) * stacked.size(2)};
      for (std::int64_t d = 3; d < stacked.dim(); ++d) shape.push_back(stacked.size(d));
      joined = stacked.reshape(shape);
      break;
    }
  }
  return t.transposed && joined.dim() == 2 ? joined.t().contiguous() : joined;
}

std::vector<at::Tensor> split_hf(const HfTensor& t, const at::Tensor& stored,
                                 const std::vector<std::vector<std::int64_t>>& shapes, std::int64_t n_head) {
  const at::Tensor whole = t.transposed && stored.dim() == 2 ? stored.t() : stored;
  std::vector<at::Tensor> parts;
  switch (t.join) {
    case HfJoin::one: parts.push_back(whole); break;
    case HfJoin::rows: {
      std::int64_t start = 0;
      for (const auto& shape : shapes) {
        parts.push_back(whole.narrow(0, start, shape[0]));
        start += shape[0];
      }
      break;
    }
    case HfJoin::heads: {
      const std::int64_t n = static_cast<std::int64_t>(shapes.size());
      std::vector<std::int64_t> shape{n_head, n, whole.size(0) / (n_head * n)};
      for (std::int64_t d = 1; d < whole.dim(); ++d) shape.push_back(whole.size(d));
      const at::Tensor grouped = whole.reshape(shape);
      for (std::int64_t i = 0; i < n; ++i) parts.push_back(grouped.select(1, i).reshape(shapes[i]));
      break;
    }
  }
  return parts;
}

std::string canonical_hf_name(ModelFamily f, const std::string& name) {
  if (is_buffer(name)) return {};
  const Layout& l = layout_of(f);
  const std::string output = std::string(l.output) + ".";
  if (name.rfind(l.base, 0) == 0 || name.rfind(output, 0) == 0) return name;
  return l.base + name;
}

std::string hf_output_name(ModelFamily f) { return std::string(layout_of(f).output) + ".weight"; }

}  // namespace collapse
