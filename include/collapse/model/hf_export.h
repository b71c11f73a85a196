// Export to the Hugging Face layout of the model's family (hf_config.h; collapse's own models are
// transformers' LlamaForCausalLM), loaded back by hf_import.h:
//   DIR/config.json        the family's config (hidden_size, num_hidden_layers, ...) + "collapse"
//   DIR/model.safetensors  fp32 weights named model.embed_tokens.weight,
//                          model.layers.N.self_attn.{q,k,v,o}_proj.weight,
//                          model.layers.N.mlp.{gate,up,down}_proj.weight,
//                          model.layers.N.{input,post_attention}_layernorm.weight,
//                          model.norm.weight, lm_head.weight (only when not tied)
//   DIR/tokenizer.model    the tokenizer's files (Tokenizer::save): tokenizer.model, or
//   (tokenizer.json)       tokenizer.json and special_ids.json
// config.json's bos/eos/pad_token_id are the tokenizer's special ids.
#pragma once

#include <filesystem>

#include "collapse/data/tokenizer.h"
#include "collapse/model/checkpoint.h"

namespace collapse {

void export_hf(GPT& model, const CheckpointMeta& meta, const Tokenizer& tokenizer,
               const std::filesystem::path& out_dir);

}  // namespace collapse
