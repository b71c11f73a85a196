#include "collapse/model/model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/nn/functional/activation.h>

#include <cmath>
#include <limits>

#include "collapse/model/device.h"
#include "collapse/util/error.h"

namespace collapse {
namespace nn = torch::nn;

namespace {

nn::Linear linear(std::int64_t in, std::int64_t out, bool bias = false) {
  return nn::Linear(nn::LinearOptions(in, out).bias(bias));
}

// The rotary inverse frequencies theta^(-2i/d), i < d/2, d = the rotary width, in fp32 on
// `device`, stretched by the config's rope scaling as Hugging Face's rope initialisers do.
at::Tensor rotary_inverse_frequencies(const ModelConfig& config, const c10::Device& device) {
  const std::int64_t hd = config.rotary_width();
  const auto options = at::TensorOptions().dtype(at::kLong).device(device);
  const at::Tensor exponents = at::arange(0, hd, 2, options).to(at::kFloat) / hd;
  const at::Tensor inv_freq = 1.0 / at::pow(config.rope_theta, exponents);
  const RopeScaling& r = config.rope_scaling;
  switch (r.kind) {
    case RopeScalingKind::none: return inv_freq;
    case RopeScalingKind::linear: return inv_freq / r.factor;
    case RopeScalingKind::llama3: {
      // Wavelengths longer than original_context / low_freq_factor are slowed by `factor`, those
      // shorter than original_context / high_freq_factor kept, and those between interpolated.
      const double old_context = static_cast<double>(r.original_context);
      const at::Tensor wavelength = 2 * M_PI / inv_freq;
      const at::Tensor scaled = at::where(wavelength > old_context / r.low_freq_factor, inv_freq / r.factor, inv_freq);
      const at::Tensor smooth = (old_context / wavelength - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      const at::Tensor blended = (1 - smooth) * scaled / r.factor + smooth * scaled;
      const at::Tensor medium = (wavelength >= old_context / r.high_freq_factor) &
                                (wavelength <= old_context / r.low_freq_factor);
      return at::where(medium, blended, scaled);
    }
  }
  fail("unknown rope scaling");
}

// cos/sin tables [..., rotary_dims] for the given positions (any shape, int64), computed as
// Hugging Face's Llama does (fp32 inverse frequencies, each half repeated), then cast to `dtype`.
// Undefined tensors for models with learned positions.
std::pair<at::Tensor, at::Tensor> rotary_tables(const at::Tensor& positions, const ModelConfig& config,
                                                c10::ScalarType dtype) {
  if (config.layout().learned_positions) return {};
  const at::Tensor inv_freq = rotary_inverse_frequencies(config, positions.device());
  const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [..., hd/2]
  const at::Tensor table = at::cat({freqs, freqs}, -1);                      // [..., hd]
  return {table.cos().to(dtype), table.sin().to(dtype)};
}

at::Tensor rotate_half(const at::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// x ([..., head_dim]) with its first cos.size(-1) dims rotated, the rest passed through; x itself
// where there are no rotary tables.
at::Tensor rotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!cos.defined()) return x;
  const std::int64_t d = cos.size(-1);
  const at::Tensor c = cos.to(x.scalar_type()), s = sin.to(x.scalar_type());
  if (d == x.size(-1)) return x * c + rotate_half(x) * s;
  const at::Tensor head = x.narrow(-1, 0, d);
  return at::cat({head * c + rotate_half(head) * s, x.narrow(-1, d, x.size(-1) - d)}, -1);
}

at::Tensor activate(Activation a, const at::Tensor& x) {
  switch (a) {
    case Activation::silu: return at::silu(x);
    case Activation::gelu: return at::gelu(x);
    case Activation::gelu_tanh: return at::gelu(x, "tanh");
    case Activation::relu: return at::relu(x);
  }
  fail("unknown activation");
}

// The dtype the body computes in: bf16 under autocast, else that of `x`.
c10::ScalarType compute_type(const at::Tensor& x) {
  return at::autocast::is_autocast_enabled(x.device().type()) ? at::kBFloat16 : x.scalar_type();
}

}  // namespace

// --- the layers, in the order the forward pass meets them

NormImpl::NormImpl(std::int64_t dim, double eps, bool layer_norm) : eps_(eps), layer_norm_(layer_norm) {
  weight = register_parameter("weight", at::ones({dim}));
  if (layer_norm) bias = register_parameter("bias", at::zeros({dim}));
}

at::Tensor NormImpl::forward(const at::Tensor& x) {
  if (layer_norm_) return at::layer_norm(x, {x.size(-1)}, weight, bias, eps_);
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * normed.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : n_head_(c.n_head), n_kv_head_(c.kv_heads()), head_dim_(c.head_dim()) {
  q_proj = register_module("q_proj", linear(c.d_model, n_head_ * head_dim_, c.qkv_bias));
  k_proj = register_module("k_proj", linear(c.d_model, n_kv_head_ * head_dim_, c.qkv_bias));
  v_proj = register_module("v_proj", linear(c.d_model, n_kv_head_ * head_dim_, c.qkv_bias));
  o_proj = register_module("o_proj", linear(n_head_ * head_dim_, c.d_model, c.o_bias));
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> AttentionImpl::project(const at::Tensor& x,
                                                                      const at::Tensor& cos,
                                                                      const at::Tensor& sin) {
  const std::int64_t B = x.size(0), T = x.size(1);
  auto heads = [&](const at::Tensor& t, std::int64_t n) { return t.view({B, T, n, head_dim_}).transpose(1, 2); };
  // [B, H, T, hd] for queries, [B, H_kv, T, hd] for keys and values.
  at::Tensor q = heads(q_proj(x), n_head_), k = heads(k_proj(x), n_kv_head_), v = heads(v_proj(x), n_kv_head_);
  return {rotate(q, cos, sin), rotate(k, cos, sin), v};
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const std::int64_t B = x.size(0), T = x.size(1);
  const auto [q, k, v] = project(x, cos, sin);
  const at::Tensor y = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/T > 1,
                                                       std::nullopt, /*enable_gqa=*/n_kv_head_ != n_head_);
  return o_proj(y.transpose(1, 2).reshape({B, T, n_head_ * head_dim_}));
}

at::Tensor AttentionImpl::decode(const at::Tensor& x, const DecodeSlots& where, at::Tensor& k_buf,
                                 at::Tensor& v_buf) {
  const std::int64_t B = x.size(0), T = x.size(1);
  const auto [q, k, v] = project(x, where.cos, where.sin);
  k_buf.index_copy_(2, where.slots, k.to(k_buf.scalar_type()));
  v_buf.index_copy_(2, where.slots, v.to(v_buf.scalar_type()));
  const at::Tensor keys = k_buf.narrow(2, 0, where.visible).to(q.scalar_type());
  const at::Tensor values = v_buf.narrow(2, 0, where.visible).to(q.scalar_type());
  const at::Tensor y = at::scaled_dot_product_attention(q, keys, values, where.mask, 0.0, false,
                                                       std::nullopt, /*enable_gqa=*/n_kv_head_ != n_head_);
  return o_proj(y.transpose(1, 2).reshape({B, T, n_head_ * head_dim_}));
}

MLPImpl::MLPImpl(const ModelConfig& c) : activation_(c.activation) {
  if (c.layout().gated_mlp) {
    gate_proj = register_module("gate_proj", linear(c.d_model, c.ffn_hidden, c.mlp_bias));
  }
  up_proj = register_module("up_proj", linear(c.d_model, c.ffn_hidden, c.mlp_bias));
  down_proj = register_module("down_proj", linear(c.ffn_hidden, c.d_model, c.mlp_bias));
}

at::Tensor MLPImpl::forward(const at::Tensor& x) {
  if (gate_proj) return down_proj(activate(activation_, gate_proj(x)) * up_proj(x));
  return down_proj(activate(activation_, up_proj(x)));
}

BlockImpl::BlockImpl(const ModelConfig& c) : residual_(c.residual) {
  const bool layer_norm = c.layout().layer_norm;
  input_layernorm = register_module("input_layernorm", Norm(c.d_model, c.norm_eps, layer_norm));
  self_attn = register_module("self_attn", Attention(c));
  post_attention_layernorm =
      register_module("post_attention_layernorm", Norm(c.d_model, c.norm_eps, layer_norm));
  mlp = register_module("mlp", MLP(c));
}

template <typename Attend>
at::Tensor BlockImpl::run(const at::Tensor& x, Attend&& attend) {
  switch (residual_) {
    case ResidualKind::sequential: {
      const at::Tensor h = x + attend(input_layernorm(x));
      return h + mlp(post_attention_layernorm(h));
    }
    case ResidualKind::parallel:
      return x + attend(input_layernorm(x)) + mlp(post_attention_layernorm(x));
    case ResidualKind::post_norm: {
      const at::Tensor h = input_layernorm(x + attend(x));
      return post_attention_layernorm(h + mlp(h));
    }
  }
  fail("unknown residual kind");
}

at::Tensor BlockImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return run(x, [&](const at::Tensor& h) { return self_attn->forward(h, cos, sin); });
}

at::Tensor BlockImpl::decode(const at::Tensor& x, const DecodeSlots& where, at::Tensor& k_buf,
                             at::Tensor& v_buf) {
  return run(x, [&](const at::Tensor& h) { return self_attn->decode(h, where, k_buf, v_buf); });
}

// --- the model

GPTImpl::GPTImpl(const ModelConfig& config) : config_(config) {
  config_.validate();
  const FamilyLayout layout = config.layout();
  const std::int64_t width = config.embedding_width();
  embed_tokens = register_module("embed_tokens", nn::Embedding(config.vocab_size, width));
  if (layout.learned_positions) {
    embed_positions = register_module(
        "embed_positions", nn::Embedding(config.context + layout.position_offset, config.d_model));
  }
  if (width != config.d_model) {
    project_in = register_module("project_in", linear(width, config.d_model));
    project_out = register_module("project_out", linear(config.d_model, width));
  }
  layers = register_module("layers", nn::ModuleList());
  for (std::int64_t i = 0; i < config.n_layer; ++i) layers->push_back(Block(config));
  if (config.residual != ResidualKind::post_norm) {
    norm = register_module("norm", Norm(config.d_model, config.norm_eps, layout.layer_norm));
  }
  if (!config.tie_embeddings) {
    lm_head = register_module("lm_head", linear(width, config.vocab_size));
  }
}

at::Tensor GPTImpl::embed(const at::Tensor& tokens, const at::Tensor& positions) {
  at::Tensor x = embed_tokens(tokens);
  if (project_in) x = project_in(x);
  if (embed_positions) x = x + embed_positions(positions + config_.layout().position_offset);
  return x;
}

at::Tensor GPTImpl::finish(const at::Tensor& x) {
  const at::Tensor normed = norm ? norm(x) : x;
  return project_out ? project_out(normed) : normed;
}

at::Tensor GPTImpl::forward(const at::Tensor& tokens) { return logits(hidden_states(tokens)); }

at::Tensor GPTImpl::hidden_states(const at::Tensor& tokens) {
  if (tokens.dim() != 2) fail("model input must be [batch, time], got {} dimensions", tokens.dim());
  const std::int64_t T = tokens.size(1);
  if (T > config_.context) {
    fail("sequence of {} positions exceeds the model context {}", T, config_.context);
  }
  const auto positions = at::arange(T, at::TensorOptions().dtype(at::kLong).device(tokens.device()));
  at::Tensor x = embed(tokens, positions);
  const auto [cos, sin] = rotary_tables(positions, config_, compute_type(x));  // [T, rotary_dims]
  for (std::int64_t i = 0; i < config_.n_layer; ++i) {
    x = layers->ptr<BlockImpl>(i)->forward(x, cos, sin);
  }
  return finish(x);
}

at::Tensor GPTImpl::logits(const at::Tensor& hidden) {
  // In fp32 even under autocast: bf16 logits carry ~0.03 of rounding at magnitudes of 10, which
  // would bias every loss and perplexity. The body's matmuls stay in bf16.
  NoAutocastScope fp32;
  return at::linear(hidden.to(at::kFloat), output_weight());
}

at::Tensor GPTImpl::output_weight() const {
  return config_.tie_embeddings ? embed_tokens->weight : lm_head->weight;
}

at::Tensor GPTImpl::decode(const at::Tensor& tokens, DecodeCache& cache) {
  if (tokens.dim() != 2 || tokens.size(0) != cache.batch()) {
    fail("decode input must be [batch {}, time], got {} dimensions with {} rows", cache.batch(),
         tokens.dim(), tokens.dim() > 0 ? tokens.size(0) : 0);
  }
  const std::int64_t T = tokens.size(1), start = cache.length;
  if (start + T > cache.capacity) {
    fail("decoding {} slots exceeds the cache capacity {}", start + T, cache.capacity);
  }
  const auto longs = at::TensorOptions().dtype(at::kLong).device(tokens.device());
  const at::Tensor logits = decode_into(tokens, cache, at::arange(start, start + T, longs), start + T);
  cache.length = start + T;
  return logits;
}

at::Tensor GPTImpl::decode_at(const at::Tensor& tokens, DecodeCache& cache, const at::Tensor& slot) {
  if (tokens.dim() != 2 || tokens.size(0) != cache.batch() || tokens.size(1) != 1) {
    fail("decode_at input must be [batch {}, 1], got {} dimensions", cache.batch(), tokens.dim());
  }
  if (cache.keys.empty()) fail("decode_at needs a cache that a decode() has filled");
  return decode_into(tokens, cache, slot, cache.capacity);
}

at::Tensor GPTImpl::decode_into(const at::Tensor& tokens, DecodeCache& cache,
                                const at::Tensor& slots, std::int64_t visible) {
  const std::int64_t B = tokens.size(0), T = tokens.size(1);
  const auto longs = at::TensorOptions().dtype(at::kLong).device(tokens.device());
  const at::Tensor pad = cache.pad.view({B, 1});
  DecodeSlots where{.slots = slots, .visible = visible, .mask = {}, .cos = {}, .sin = {}};
  // Real positions see the row's real slots up to themselves; a pad slot sees only itself (so its
  // softmax is never empty, and nothing real ever reads it).
  const at::Tensor keys = at::arange(visible, longs).view({1, 1, visible});
  const at::Tensor query = slots.view({1, T, 1});
  where.mask = (((keys >= pad.view({B, 1, 1})) & (keys <= query)) | (keys == query)).unsqueeze(1);

  const at::Tensor positions = (slots.view({1, T}) - pad).clamp_min(0);  // [B, T]
  at::Tensor x = embed(tokens, positions);
  const c10::ScalarType compute = compute_type(x);
  std::tie(where.cos, where.sin) = rotary_tables(positions, config_, compute);
  if (where.cos.defined()) {
    where.cos = where.cos.unsqueeze(1), where.sin = where.sin.unsqueeze(1);  // [B, 1, T, rotary_dims]
  }
  if (cache.keys.empty()) {
    const auto options = at::TensorOptions().dtype(compute).device(tokens.device());
    for (std::int64_t i = 0; i < config_.n_layer; ++i) {
      cache.keys.push_back(at::zeros({B, config_.kv_heads(), cache.capacity, config_.head_dim()}, options));
      cache.values.push_back(at::zeros_like(cache.keys.back()));
    }
  }
  for (std::int64_t i = 0; i < config_.n_layer; ++i) {
    x = layers->ptr<BlockImpl>(i)->decode(x, where, cache.keys[i], cache.values[i]);
  }
  at::Tensor out = logits(finish(x.narrow(1, T - 1, 1)).squeeze(1));
  if (decoded_vocab_ > 0 && decoded_vocab_ < out.size(-1)) {
    out.narrow(-1, decoded_vocab_, out.size(-1) - decoded_vocab_).fill_(-std::numeric_limits<float>::infinity());
  }
  return out;
}

void DecodeCache::select_rows(const at::Tensor& rows) {
  const std::int64_t R = rows.size(0);
  // Later decodes read slots [0, length) and write each new slot before reading it, so only the
  // filled slots move: not the whole capacity, which early in a long decode is mostly empty.
  // Fewer rows (finished documents dropped, beams reordered) reuse the buffers' leading rows;
  // more rows (beams repeated) need new buffers, zeroed so unread slots hold finite values.
  auto move = [&](at::Tensor& buffer) {
    const at::Tensor kept = buffer.narrow(2, 0, length).index_select(0, rows);  // before any write
    if (R <= buffer.size(0)) {
      buffer = buffer.narrow(0, 0, R);
    } else {
      std::vector<std::int64_t> sizes = buffer.sizes().vec();
      sizes[0] = R;
      buffer = at::zeros(sizes, buffer.options());
    }
    buffer.narrow(2, 0, length).copy_(kept);
  };
  for (auto& k : keys) move(k);
  for (auto& v : values) move(v);
  pad = pad.index_select(0, rows);
}

void initialize_weights(GPT& model, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double std = 0.02;
  const double residual_std = std / std::sqrt(2.0 * static_cast<double>(model->config().n_layer));
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    if (name.ends_with(".bias")) {
      p.zero_();
      continue;
    }
    if (name.find("norm") != std::string::npos) {
      p.fill_(1.0);
      continue;
    }
    // Projections that write into the residual stream get a smaller scale (GPT-2), so the
    // stream's variance does not grow with depth.
    const bool residual = name.find("o_proj") != std::string::npos ||
                          name.find("down_proj") != std::string::npos;
    at::Tensor fresh = at::empty(p.sizes(), at::TensorOptions().dtype(at::kFloat));
    fresh.normal_(0.0, residual ? residual_std : std, gen);
    p.copy_(fresh);
  }
}

}  // namespace collapse
