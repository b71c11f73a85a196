// How collapse's parameters are stored in each family's Hugging Face layout. collapse names its
// parameters after Llama's (layers.N.self_attn.q_proj.weight, ...) whatever the family; a family
// may store one of ours under another name, transposed (GPT-2's Conv1D keeps [in, out]), or
// several of ours fused into one tensor (GPT-2's c_attn holds q, k and v one after another,
// GPT-NeoX's query_key_value holds them interleaved head by head):
//
//   ours (one layer)          gpt2                      opt                    gpt_neox
//   input_layernorm           ln_1                      self_attn_layer_norm   input_layernorm
//   self_attn.{q,k,v}_proj    attn.c_attn (rows, Conv1D) self_attn.{q,k,v}_proj attention.query_key_value (heads)
//   self_attn.o_proj          attn.c_proj (Conv1D)      self_attn.out_proj     attention.dense
//   post_attention_layernorm  ln_2                      final_layer_norm       post_attention_layernorm
//   mlp.up_proj / down_proj   mlp.c_fc / c_proj (Conv1D) fc1 / fc2             mlp.dense_h_to_4h / dense_4h_to_h
//
// Llama, Qwen2 and Mistral store ours as they are, under "model."; hf_weights.cpp's tables give
// every family's names for the layers' container, the embeddings, the final norm and lm_head.
// Files may also hold the body without its base-model prefix ("h.0.attn.c_attn.weight" for
// "transformer.h.0.attn.c_attn.weight"), as checkpoints saved from the base model do, and buffers
// that are not weights (causal masks, rotary caches), which are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "collapse/model/model_config.h"

namespace collapse {

// How the parameters of one stored tensor are put together.
enum class HfJoin {
  one,    // the one parameter as it is
  rows,   // concatenated along dim 0 (GPT-2's c_attn: q, k, v)
  heads,  // interleaved head by head: [head 0's q, k, v, head 1's q, k, v, ...] (GPT-NeoX)
};

// One tensor of a family's layout.
struct HfTensor {
  std::string name;               // its full name in the family's layout
  std::vector<std::string> ours;  // the parameters it holds, in order
  HfJoin join = HfJoin::one;
  bool transposed = false;        // stored [in, out] (Conv1D); only 2-D tensors are transposed
};

// The layout of a model of config `c` whose parameters are `ours` (a GPT's named_parameters keys,
// in registration order): every parameter lands in exactly one tensor. A tied lm_head is not
// stored.
std::vector<HfTensor> hf_tensors(const ModelConfig& c, const std::vector<std::string>& ours);

// The tensor `t` stores, made of our parameters `parts` (as t.ours names them).
at::Tensor join_hf(const HfTensor& t, const std::vector<at::Tensor>& parts, std::int64_t n_head);
// The shape join_hf gives for parts of shapes `shapes`.
std::vector<std::int64_t> joined_shape(const HfTensor& t, const std::vector<std::vector<std::int64_t>>& shapes);
// `stored` split back into parameters of shapes `shapes`: views where possible.
std::vector<at::Tensor> split_hf(const HfTensor& t, const at::Tensor& stored,
                                 const std::vector<std::vector<std::int64_t>>& shapes, std::int64_t n_head);

// `name` as read from a file of family `f`, with the base-model prefix restored when the file was
// saved without it; empty for a buffer that is not a weight.
std::string canonical_hf_name(ModelFamily f, const std::string& name);

// The family's name of the untied output projection ("lm_head.weight", GPT-NeoX's
// "embed_out.weight"), which files of tied models may carry as a copy of the embedding.
std::string hf_output_name(ModelFamily f);

}  // namespace collapse
