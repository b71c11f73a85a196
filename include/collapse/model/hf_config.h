// A Hugging Face model folder's config.json read into collapse's ModelConfig. Each supported
// family (config.json's model_type) is a variant of collapse's one model (model.h), not a second
// model stack:
//   llama     LlamaForCausalLM: SmolLM/SmolLM2, TinyLlama, Llama 3.x and collapse's own exports;
//             grouped-query attention, explicit head_dim, rope scaling default / linear / llama3,
//             tied or untied embeddings, attention_bias, mlp_bias
//   qwen2     Qwen2ForCausalLM: Llama with biases on q, k and v
//   mistral   MistralForCausalLM: Llama whose attention sees at most sliding_window tokens back;
//             collapse uses contexts no longer than the window (context = min(positions, window)),
//             where the window changes nothing
//   gpt2      GPT2LMHeadModel: GPT-2, DistilGPT-2; learned positions, LayerNorm, gelu_new MLP
//   opt       OPTForCausalLM: learned positions 2 rows into their table, LayerNorm, ReLU MLP,
//             pre-norm (OPT-125m) or post-norm with project_in / project_out (OPT-350m)
//   gpt_neox  GPTNeoXForCausalLM: Pythia; rotary on rotary_pct of each head, parallel residual,
//             LayerNorm, GELU MLP
// Both spellings of the rotary settings are read: transformers 4's rope_theta + rope_scaling
// (GPT-NeoX: rotary_emb_base, rotary_pct) and transformers 5's rope_parameters. Anything else
// (another model_type, rope type or activation, sliding windows shorter than the context in
// Qwen2, GPT-2's layer-scaled attention, ...) is an Error naming the file, the key and what is
// supported.
#pragma once

#include <filesystem>
#include <span>

#include <nlohmann/json.hpp>

#include "collapse/model/model_config.h"

namespace collapse {

// The model config of config.json `j`; `file` names it in errors.
ModelConfig read_hf_config(const nlohmann::json& j, const std::filesystem::path& file);

// A model folder's JSON file (config.json, the shard index), read and parsed: an Error naming the
// file when it is not JSON.
nlohmann::json read_model_json(const std::filesystem::path& file);

// The model config of a model folder's config.json `j`: collapse's own export (its "collapse"
// block holds the config as collapse writes it) or a Hugging Face family's keys (read_hf_config).
// Torch-free, like this whole file, so that a fuzz harness reads config.json as import does.
ModelConfig model_config_of(const nlohmann::json& j, const std::filesystem::path& file);

// DIR/config.json: an Error naming DIR when it holds none.
std::filesystem::path config_json_in(const std::filesystem::path& dir);

// The model config of the model folder `dir` (its config.json), without reading any weights.
ModelConfig read_model_folder_config(const std::filesystem::path& dir);

// config.json for `c` in its family's layout, without the special token ids. Error for a config
// its family cannot express (a GPT-2 without biases).
nlohmann::json write_hf_config(const ModelConfig& c);

}  // namespace collapse
