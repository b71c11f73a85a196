// The GPT: a decoder-only transformer as a torch::nn::Module, one model for every family collapse
// reads (model_config.h). collapse's own models are Llama-style:
//
//   x = embed(tokens)
//   for each layer:  x = x + Attention(RMSNorm(x))   (causal, rotary positions; grouped-query
//                                                     attention and biases where configured)
//                    x = x + SwiGLU(RMSNorm(x))      (down(silu(gate(x)) * up(x)))
//   logits = lm_head(RMSNorm(x))                      (lm_head tied to embed when configured)
//
// The other families vary this in named places, each a branch on the config, never a second stack:
//   norms       LayerNorm with a bias (GPT-2, OPT, GPT-NeoX) instead of RMSNorm
//   positions   a learned position embedding added to the token embedding (GPT-2; OPT's table
//               starts 2 rows in) instead of rotary; rotary on part of each head (GPT-NeoX)
//   MLP         down(act(up(x))) with GELU, its tanh form or ReLU, instead of the gated SwiGLU
//   residual    parallel: x + Attention(norm1(x)) + MLP(norm2(x)) (GPT-NeoX); post_norm:
//               norm after each sum and no final norm (OPT-350m)
//   width       an embedding narrower than the body, projected in and out (OPT-350m)
//
// Two ways through it, the same layers and weights:
//   forward / hidden_states  a whole [B, T] batch from position 0, causal (training, scoring)
//   decode / decode_at       new tokens of left-padded rows written into a DecodeCache and
//                            attending to what the cache holds (generation)
//
// Rotary embeddings use the "rotate half" convention of Hugging Face's Llama
// (q' = q * cos + rotate_half(q) * sin, frequencies theta^(-2i/rotary_dims)), so the weights export
// to LlamaForCausalLM without any permutation. Parameter names follow Hugging Face's Llama layout
// (layers.N.self_attn.q_proj.weight, ...) whatever the family; hf_weights.h maps them to each
// family's own names.
#pragma once

#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "collapse/model/model_config.h"

namespace collapse {

// Keys and values for batched decoding of rows whose prompts differ in length. Rows are
// left-padded to a common length: row b's real tokens start at slot pad[b], so slot j holds
// position j - pad[b]. Buffers of `capacity` slots are allocated on the first decode() and filled
// in place; slots [0, length) are written. Pad slots are never attended to by real positions.
struct DecodeCache {
  std::vector<at::Tensor> keys, values;  // per layer [B, n_kv_head, capacity, head_dim]
  at::Tensor pad;                        // [B] int64, on the model's device
  std::int64_t capacity = 0;
  std::int64_t length = 0;

  DecodeCache() = default;
  DecodeCache(at::Tensor row_padding, std::int64_t slots)
      : pad(std::move(row_padding)), capacity(slots) {}
  std::int64_t batch() const { return pad.size(0); }
  // Keeps rows `rows` ([R] int64, on the cache's device) in that order: drops finished rows,
  // reorders or repeats beams.
  void select_rows(const at::Tensor& rows);
};

// Where one decode call's new positions go in the cache and what they see: built once per call by
// GPTImpl, shared by every layer.
struct DecodeSlots {
  at::Tensor slots;          // [T] int64 on the device: the cache slots the T new positions fill
  std::int64_t visible = 0;  // the keys read are cache slots [0, visible)
  at::Tensor mask;           // [B, 1, T, visible] bool: the slots each new position attends to
  at::Tensor cos, sin;       // [B, 1, T, rotary_dims]: rotary tables at the rows' positions
                             // (undefined for learned positions)
};

// RMSNorm (weight only; normalises in fp32 and returns the input dtype, as Hugging Face's
// LlamaRMSNorm does) or LayerNorm (weight and bias), as the family says.
class NormImpl : public torch::nn::Module {
 public:
  NormImpl(std::int64_t dim, double eps, bool layer_norm);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;  // bias: LayerNorm only

 private:
  double eps_;
  bool layer_norm_;
};
TORCH_MODULE(Norm);

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const ModelConfig& config);
  // x: [B, T, d_model] at positions 0..T-1, causal; cos/sin: [T, rotary_dims], or undefined for
  // learned positions.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
  // x: [B, T, d_model], the new positions: their keys and values are written into k_buf/v_buf
  // ([B, H, capacity, hd]) at where.slots, then they attend to slots [0, where.visible) under
  // where.mask.
  at::Tensor decode(const at::Tensor& x, const DecodeSlots& where, at::Tensor& k_buf,
                    at::Tensor& v_buf);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  // q and k rotated, v: each [B, H, T, hd].
  std::tuple<at::Tensor, at::Tensor, at::Tensor> project(const at::Tensor& x, const at::Tensor& cos,
                                                         const at::Tensor& sin);
  std::int64_t n_head_, n_kv_head_, head_dim_;
};
TORCH_MODULE(Attention);

// down(act(gate(x)) * up(x)) where the family's MLP is gated, else down(act(up(x))).
class MLPImpl : public torch::nn::Module {
 public:
  explicit MLPImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};  // gate: gated only

 private:
  Activation activation_;
};
TORCH_MODULE(MLP);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelConfig& config);
  // Attention::forward's arguments.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
  // Attention::decode's arguments: this layer's cache buffers.
  at::Tensor decode(const at::Tensor& x, const DecodeSlots& where, at::Tensor& k_buf,
                    at::Tensor& v_buf);
  Norm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  MLP mlp{nullptr};

 private:
  // The block around its attention, the same for both paths: `attend` maps the attention's input
  // to its output.
  template <typename Attend>
  at::Tensor run(const at::Tensor& x, Attend&& attend);
  ResidualKind residual_;
};
TORCH_MODULE(Block);

class GPTImpl : public torch::nn::Module {
 public:
  explicit GPTImpl(const ModelConfig& config);

  // tokens: [B, T] int64 at positions 0..T-1 (T at most the context), causal attention. Returns
  // logits [B, T, vocab] in fp32 (also under autocast).
  at::Tensor forward(const at::Tensor& tokens);
  // The final normalised hidden states [B, T, d_model] (input to lm_head).
  at::Tensor hidden_states(const at::Tensor& tokens);
  // lm_head applied to hidden states, in fp32 whatever the autocast state.
  at::Tensor logits(const at::Tensor& hidden);
  // The output projection: lm_head's weight, or the embedding's when tied. [vocab, d_model].
  at::Tensor output_weight() const;

  // tokens: [B, T] int64, the next T slots of every row of `cache` (left padding included).
  // Returns the fp32 logits [B, vocab] of the last new slot only: what decoding needs, without
  // paying the output projection for every prompt position. The caller keeps every row's
  // positions below the context (checking here would cost a device sync per step).
  at::Tensor decode(const at::Tensor& tokens, DecodeCache& cache);
  // One token per row ([B, 1] int64) at slot `slot`, a [1] int64 tensor on the model's device,
  // into a cache whose buffers exist (a decode() filled the slots before it). Unlike decode(), the
  // shapes and the launched work are the same at every slot: attention runs over all `capacity`
  // slots, masked, and nothing is read back to the host, so a CUDA graph can capture the step once
  // and replay it (fixed_step_decoder.h). cache.length is not advanced: the caller owns `slot`.
  at::Tensor decode_at(const at::Tensor& tokens, DecodeCache& cache, const at::Tensor& slot);

  const ModelConfig& config() const { return config_; }

  // decode() and decode_at() give ids at or above `n` a logit of -inf, so no decoding picks them
  // (a tokenizer with fewer ids than the model's embedding rows). 0: every id. Not saved.
  void limit_decoded_vocab(std::int64_t n) { decoded_vocab_ = n; }
  std::int64_t decoded_vocab() const { return decoded_vocab_; }

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::Embedding embed_positions{nullptr};           // learned positions only
  torch::nn::Linear project_in{nullptr}, project_out{nullptr};  // embed_dim != d_model only
  torch::nn::ModuleList layers{nullptr};
  Norm norm{nullptr};                  // null for post_norm residuals
  torch::nn::Linear lm_head{nullptr};  // null when tied

 private:
  // The body's input: token embeddings (projected to d_model) plus learned position embeddings
  // at `positions` (any shape broadcasting against tokens', int64) where the family has them.
  at::Tensor embed(const at::Tensor& tokens, const at::Tensor& positions);
  // The final norm and projection out, where the model has them.
  at::Tensor finish(const at::Tensor& x);
  // decode()'s and decode_at()'s shared body: the new tokens written at `slots` ([T] int64),
  // attending to cache slots [0, visible); the logits of the last new position.
  at::Tensor decode_into(const at::Tensor& tokens, DecodeCache& cache, const at::Tensor& slots,
                         std::int64_t visible);
  ModelConfig config_;
  std::int64_t decoded_vocab_ = 0;
};
TORCH_MODULE(GPT);

// Limits a model's decoded ids (GPT::limit_decoded_vocab) for its lifetime, then restores them.
class DecodedVocabulary {
 public:
  DecodedVocabulary(GPT& model, std::int64_t n) : model_(model), saved_(model->decoded_vocab()) {
    model->limit_decoded_vocab(n);
  }
  ~DecodedVocabulary() { model_->limit_decoded_vocab(saved_); }
  DecodedVocabulary(const DecodedVocabulary&) = delete;
  DecodedVocabulary& operator=(const DecodedVocabulary&) = delete;

 private:
  GPT& model_;
  std::int64_t saved_;
};

// Deterministic initialisation from `seed` (normal(0, 0.02); residual output projections scaled by
// 1/sqrt(2 * n_layer); norms at 1). Uses a private generator: global RNG state is untouched.
void initialize_weights(GPT& model, std::uint64_t seed);

}  // namespace collapse
