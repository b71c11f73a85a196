// A Hugging Face model folder of every supported family loads into collapse's model and computes
// what transformers computes. The references (tests/model/hf_model_fixtures.py, run once per ctest
// run by the fixture setup.hf_model_fixtures) are tiny random models saved by transformers in
// fp32, bf16 and fp16, one of them in shards, with the logits, left-padded last-position logits
// and greedy continuations transformers computes from them.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/model/checkpoint.h"
#include "collapse/model/hf_config.h"
#include "collapse/model/hf_import.h"
#include "collapse/model/load_model.h"
#include "collapse/model/safetensors.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kTolerance = 1e-4;  // fp32, max abs difference of logits

fs::path fixtures() { return fs::path(COLLAPSE_TEST_WORK) / "hf-models"; }

json read_json(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

std::vector<std::string> kinds() {
  std::vector<std::string> names;
  for (const json& k : read_json(fixtures() / "kinds.json")) names.push_back(k.at("name"));
  return names;
}

json expected(const std::string& kind) { return read_json(fixtures() / kind / "expected.json"); }

at::Tensor longs(const json& j) {
  const auto rows = j.get<std::vector<std::vector<std::int64_t>>>();
  at::Tensor t = at::empty({static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(rows[0].size())}, at::kLong);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < rows[r].size(); ++c) t[r][c] = rows[r][c];
  }
  return t;
}

at::Tensor floats(const json& j) {
  std::vector<float> flat;
  std::vector<std::int64_t> shape;
  const json* level = &j;
  while (level->is_array()) {
    shape.push_back(static_cast<std::int64_t>(level->size()));
    level = &(*level)[0];
  }
  std::function<void(const json&)> walk = [&](const json& v) {
    if (v.is_array()) {
      for (const json& x : v) walk(x);
    } else {
      flat.push_back(v.get<float>());
    }
  };
  walk(j);
  return at::tensor(flat).view(shape);
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

LoadedModel load(const std::string& kind) { return load_hf_model(fixtures() / kind, at::kCPU); }


}  // namespace

TEST(HfModels, EveryFamilyIsTested) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  std::set<std::string> families;
  for (const json& k : read_json(fixtures() / "kinds.json")) families.insert(k.at("family"));
  for (const auto& f : model_families()) EXPECT_TRUE(families.count(f.name)) << f.name;
}

TEST(HfModels, LogitsEqualTransformers) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  torch::NoGradGuard no_grad;
  for (const std::string& kind : kinds()) {
    const json e = expected(kind);
    LoadedModel m = load(kind);
    EXPECT_LE(max_diff(m.model->forward(longs(e["tokens"])), floats(e["logits"])), kTolerance) << kind;
  }
}

// Rows left-padded to one length, as generation batches prompts: the KV-cache decode path gives
// each row's last-position logits as transformers does with an attention mask.
TEST(HfModels, LeftPaddedRowsDecodeAsTransformersDoes) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  torch::NoGradGuard no_grad;
  for (const std::string& kind : kinds()) {
    const json e = expected(kind);
    LoadedModel m = load(kind);
    const at::Tensor padded = longs(e["padded"]);
    std::vector<std::int64_t> pad;
    for (const json& p : e["prompts"]) pad.push_back(padded.size(1) - static_cast<std::int64_t>(p.size()));
    DecodeCache cache(at::tensor(pad, at::kLong), padded.size(1) + 8);
    EXPECT_LE(max_diff(m.model->decode(padded, cache), floats(e["last_logits"])), kTolerance) << kind;
  }
}

TEST(HfModels, GreedyDecodingGivesTransformersTokens) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  torch::NoGradGuard no_grad;
  for (const std::string& kind : kinds()) {
    const json e = expected(kind);
    LoadedModel m = load(kind);
    const at::Tensor padded = longs(e["padded"]);
    const at::Tensor want = longs(e["greedy"]);
    std::vector<std::int64_t> pad;
    for (const json& p : e["prompts"]) pad.push_back(padded.size(1) - static_cast<std::int64_t>(p.size()));
    DecodeCache cache(at::tensor(pad, at::kLong), padded.size(1) + want.size(1));
    at::Tensor next = m.model->decode(padded, cache).argmax(-1, /*keepdim=*/true);
    std::vector<at::Tensor> got{next};
    for (std::int64_t i = 1; i < want.size(1); ++i) {
      next = m.model->decode(next, cache).argmax(-1, true);
      got.push_back(next);
    }
    EXPECT_TRUE(at::equal(at::cat(got, 1), want)) << kind << ": " << at::cat(got, 1) << " vs " << want;
  }
}

TEST(HfModels, TheConfigBecomesTheModelsShape) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const ModelConfig gqa = load("llama-gqa-llama3-rope").meta.model;
  EXPECT_EQ(gqa.family, ModelFamily::llama);
  EXPECT_EQ(gqa.kv_heads(), 2);
  EXPECT_EQ(gqa.head_dim(), 24);
  EXPECT_EQ(gqa.rope_scaling.kind, RopeScalingKind::llama3);
  EXPECT_TRUE(gqa.tie_embeddings);
  const ModelConfig bias = load("llama-bias-linear-rope-bf16").meta.model;
  EXPECT_TRUE(bias.qkv_bias && bias.o_bias && bias.mlp_bias);
  EXPECT_EQ(bias.rope_scaling.kind, RopeScalingKind::linear);
  EXPECT_EQ(load("llama-v4-config").meta.model, bias) << "transformers 4's rope keys read as 5's";
  const ModelConfig qwen = load("qwen2-mqa-sharded").meta.model;
  EXPECT_EQ(qwen.family, ModelFamily::qwen2);
  EXPECT_TRUE(qwen.qkv_bias && !qwen.o_bias);
  EXPECT_EQ(load("mistral-window-fp16").meta.model.context, 16) << "the sliding window bounds the context";

  const ModelConfig gpt2 = load("gpt2-tied").meta.model;
  EXPECT_EQ(gpt2.family, ModelFamily::gpt2);
  EXPECT_EQ(gpt2.activation, Activation::gelu_tanh);
  EXPECT_EQ(gpt2.ffn_hidden, 4 * 64) << "n_inner null means 4 * n_embd";
  EXPECT_TRUE(gpt2.layout().learned_positions && gpt2.layout().layer_norm && !gpt2.layout().gated_mlp);
  EXPECT_EQ(load("gpt2-hub-layout").meta.model, gpt2);
  const ModelConfig opt = load("opt-pre-norm").meta.model;
  EXPECT_EQ(opt.activation, Activation::relu);
  EXPECT_EQ(opt.layout().position_offset, 2);
  EXPECT_EQ(opt.residual, ResidualKind::sequential);
  const ModelConfig opt350 = load("opt-post-norm-projected").meta.model;
  EXPECT_EQ(opt350.residual, ResidualKind::post_norm);
  EXPECT_EQ(opt350.embedding_width(), 32);
  const ModelConfig pythia = load("gpt-neox-parallel-partial-rope").meta.model;
  EXPECT_EQ(pythia.residual, ResidualKind::parallel);
  EXPECT_EQ(pythia.rotary_width(), 4) << "rotary_pct 0.25 of a head of 16";
  EXPECT_EQ(pythia.activation, Activation::gelu);
  EXPECT_FALSE(pythia.tie_embeddings);
  EXPECT_EQ(load("gpt-neox-sequential-bf16").meta.model.residual, ResidualKind::sequential);
}

// A fine-tuned import is saved in collapse's checkpoints: its shape survives them.
TEST(HfModels, ACheckpointOfAnImportedModelLoadsTheSameModel) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  torch::NoGradGuard no_grad;
  for (const std::string& kind : kinds()) {
    LoadedModel m = load(kind);
    const fs::path file = tests::fresh_dir("hf-checkpoint-" + kind) / "model.ckpt";
    save_checkpoint(file, m.model, m.meta);
    LoadedModel back = load_model(file, at::kCPU);
    EXPECT_EQ(back.meta.model, m.meta.model) << kind;
    const at::Tensor tokens = longs(expected(kind)["tokens"]);
    EXPECT_TRUE(at::equal(back.model->forward(tokens), m.model->forward(tokens))) << kind;
  }
}

namespace {

// A folder of a tiny Llama (2 layers, 4 heads, vocab 16) whose config.json and tensors a test
// then breaks.
struct TinyFolder {
  fs::path dir;
  json config = json::parse(R"({"model_type": "llama", "vocab_size": 16, "hidden_size": 8,
      "intermediate_size": 12, "num_hidden_layers": 1, "num_attention_heads": 2,
      "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "tie_word_embeddings": true})");
  NamedTensors tensors = {
      {"model.embed_tokens.weight", at::zeros({16, 8})},
      {"model.layers.0.self_attn.q_proj.weight", at::zeros({8, 8})},
      {"model.layers.0.self_attn.k_proj.weight", at::zeros({8, 8})},
      {"model.layers.0.self_attn.v_proj.weight", at::zeros({8, 8})},
      {"model.layers.0.self_attn.o_proj.weight", at::zeros({8, 8})},
      {"model.layers.0.mlp.gate_proj.weight", at::zeros({12, 8})},
      {"model.layers.0.mlp.up_proj.weight", at::zeros({12, 8})},
      {"model.layers.0.mlp.down_proj.weight", at::zeros({8, 12})},
      {"model.layers.0.input_layernorm.weight", at::ones({8})},
      {"model.layers.0.post_attention_layernorm.weight", at::ones({8})},
      {"model.norm.weight", at::ones({8})}};

  explicit TinyFolder(const std::string& name) : dir(tests::fresh_dir(name)) {}
  // Writes the folder and returns the one-line error loading it gives.
  std::string error() {
    tests::write_text(dir / "config.json", config.dump());
    write_safetensors(dir / "model.safetensors", tensors);
    try {
      load_model(dir, at::kCPU);
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "no error loading " << dir;
    return {};
  }
};

}  // namespace

TEST(HfModels, AnIntactTinyFolderLoads) {
  TinyFolder f("hf-tiny-ok");
  tests::write_text(f.dir / "config.json", f.config.dump());
  write_safetensors(f.dir / "model.safetensors", f.tensors);
  EXPECT_EQ(load_model(f.dir, at::kCPU).meta.model.vocab_size, 16);
}

TEST(HfModels, BadFoldersAreOneLineNamingTheKeyOrTensor) {
  {
    TinyFolder f("hf-bad-type");
    f.config["model_type"] = "bert";
    EXPECT_NE(f.error().find("config.json: model_type: model_type 'bert' is not supported (supported: llama, qwen2, mistral, gpt2, opt or gpt_neox)"), std::string::npos);
  }
  {
    TinyFolder f("hf-bad-rope");
    f.config["rope_scaling"] = json{{"rope_type", "yarn"}, {"factor", 4.0}};
    EXPECT_NE(f.error().find("config.json: rope_scaling.rope_type: rope type 'yarn' is not supported (supported: default, linear or llama3)"), std::string::npos);
  }
  {
    TinyFolder f("hf-bad-act");
    f.config["hidden_act"] = "quick_gelu";
    EXPECT_NE(f.error().find("config.json: hidden_act: hidden_act 'quick_gelu' is not supported (supported: silu, swish, gelu, gelu_new"), std::string::npos);
  }
  {
    TinyFolder f("hf-missing-key");
    f.config.erase("num_hidden_layers");
    EXPECT_NE(f.error().find("config.json: missing key 'num_hidden_layers'"), std::string::npos);
  }
  {
    TinyFolder f("hf-missing-tensor");
    f.tensors.pop_back();
    EXPECT_NE(f.error().find("tensor 'model.norm.weight' is missing"), std::string::npos);
  }
  {
    TinyFolder f("hf-wrong-shape");
    f.tensors[1].second = at::zeros({8, 4});
    EXPECT_NE(f.error().find("tensor 'model.layers.0.self_attn.q_proj.weight' has shape 8x4 but the config needs 8x8"), std::string::npos);
  }
  {
    TinyFolder f("hf-partial-rope");
    f.config["rope_parameters"] = json{{"rope_type", "default"}, {"rope_theta", 1e4}, {"partial_rotary_factor", 0.5}};
    EXPECT_NE(f.error().find("config.json: partial_rotary_factor 0.5 is not supported for llama models"), std::string::npos);
  }
  {
    TinyFolder f("hf-rotary-fraction");
    f.config["rope_parameters"] = json{{"rope_type", "default"}, {"rope_theta", 1e4}, {"partial_rotary_factor", 0}};
    EXPECT_NE(f.error().find("config.json: the rotary fraction of each head (partial_rotary_factor, rotary_pct) must be in (0, 1], got 0"),
              std::string::npos);
  }
  {
    TinyFolder f("hf-gpt2-layer-scaled");
    f.config = json{{"model_type", "gpt2"}, {"vocab_size", 16}, {"n_embd", 8}, {"n_layer", 1}, {"n_head", 2},
                    {"n_positions", 32}, {"scale_attn_by_inverse_layer_idx", true}};
    EXPECT_NE(f.error().find("config.json: scale_attn_by_inverse_layer_idx: scale_attn_by_inverse_layer_idx is not supported (attention scaled by layer); it must be false"), std::string::npos);
  }
  {
    TinyFolder f("hf-extra-tensor");
    f.tensors.emplace_back("model.layers.0.self_attn.extra.weight", at::zeros({2}));
    EXPECT_NE(f.error().find("unexpected tensor 'model.layers.0.self_attn.extra.weight' for this config"), std::string::npos);
  }
  {
    TinyFolder f("hf-wrong-dtype");
    f.tensors[1].second = at::zeros({8, 8}, at::kLong);
    EXPECT_NE(f.error().find("tensor 'model.layers.0.self_attn.q_proj.weight' has dtype Long, expected F32, F16 or BF16"), std::string::npos);
  }
}

// A shard index is outside bytes: the files it names must be files of the model folder, so a
// downloaded folder cannot make collapse read what lies beside or above it.
TEST(HfModels, AShardIndexNamingAPathOutsideTheFolderIsRefused) {
  for (const std::string shard : {"../model.safetensors", "/etc/passwd", "..", "sub/model.safetensors"}) {
    TinyFolder f("hf-shard-escape");
    tests::write_text(f.dir / "config.json", f.config.dump());
    write_safetensors(f.dir / "weights.safetensors", f.tensors);
    json index = {{"weight_map", json::object()}};
    for (const auto& [name, tensor] : f.tensors) index["weight_map"][name] = "weights.safetensors";
    index["weight_map"]["model.norm.weight"] = shard;
    tests::write_text(f.dir / "model.safetensors.index.json", index.dump());
    try {
      load_model(f.dir, at::kCPU);
      ADD_FAILURE() << "no error for shard " << shard;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("weight_map names '" + shard + "', not a file of the folder"), std::string::npos)
          << e.what();
    }
  }
}

TEST(HfModels, AFolderWithoutConfigOrWithAPickleSaysWhatToDo) {
  const fs::path empty = tests::fresh_dir("hf-no-config");
  tests::write_text(empty / "model.safetensors", "");
  try {
    load_model(empty, at::kCPU);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no model"), std::string::npos) << e.what();
  }
  const fs::path pickle = tests::fresh_dir("hf-pickle");
  tests::write_text(pickle / "config.json", "{}");
  tests::write_text(pickle / "pytorch_model.bin", "");
  try {
    load_model(pickle, at::kCPU);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("save_pretrained('" + pickle.string() + "', safe_serialization=True)"), std::string::npos) << e.what();
  }
}
