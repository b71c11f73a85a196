#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include "collapse/model/model.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {
ModelConfig small_config() {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = 97;
  c.context = 24;
  return c;
}

GPT make_model(const ModelConfig& c, std::uint64_t seed = 0) {
  GPT m(c);
  initialize_weights(m, seed);
  m->eval();
  return m;
}

at::Tensor random_tokens(std::int64_t batch, std::int64_t length, std::int64_t vocab) {
  at::Generator gen = at::detail::createCPUGenerator(1234);
  return at::randint(0, vocab, {batch, length}, gen, at::TensorOptions().dtype(at::kLong));
}
}  // namespace

TEST(Model, ProducesLogitsForEveryPosition) {
  GPT m = make_model(small_config());
  torch::NoGradGuard no_grad;
  const at::Tensor logits = m->forward(random_tokens(3, 10, 97));
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{3, 10, 97}));
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
}

TEST(Model, DecodingTokenByTokenWithTheCacheGivesTheFullForwardLogits) {
  GPT m = make_model(small_config());
  torch::NoGradGuard no_grad;
  const at::Tensor tokens = random_tokens(2, 20, 97);
  const at::Tensor full = m->forward(tokens);

  DecodeCache cache(at::zeros({2}, at::kLong), 20);  // no left padding
  std::vector<at::Tensor> steps;
  for (std::int64_t t = 0; t < 20; ++t) steps.push_back(m->decode(tokens.narrow(1, t, 1), cache));
  EXPECT_EQ(cache.length, 20);
  EXPECT_LT((at::stack(steps, 1) - full).abs().max().item<double>(), 1e-5);
}

TEST(Model, PrefillThenChunkedDecodingMatchesTheFullForward) {
  GPT m = make_model(small_config());
  torch::NoGradGuard no_grad;
  const at::Tensor tokens = random_tokens(2, 20, 97);
  const at::Tensor full = m->forward(tokens);
  DecodeCache cache(at::zeros({2}, at::kLong), 20);
  // decode() returns the logits of the last new position of each chunk.
  const at::Tensor a = m->decode(tokens.narrow(1, 0, 7), cache);
  const at::Tensor b = m->decode(tokens.narrow(1, 7, 5), cache);  // several new positions at once
  const at::Tensor c = m->decode(tokens.narrow(1, 12, 8), cache);
  EXPECT_LT((a - full.select(1, 6)).abs().max().item<double>(), 1e-5);
  EXPECT_LT((b - full.select(1, 11)).abs().max().item<double>(), 1e-5);
  EXPECT_LT((c - full.select(1, 19)).abs().max().item<double>(), 1e-5);
}

TEST(Model, LogitsAreFp32) {
  GPT m = make_model(small_config());
  torch::NoGradGuard no_grad;
  EXPECT_EQ(m->forward(random_tokens(1, 4, 97)).scalar_type(), at::kFloat);
}

TEST(Model, IsCausal) {
  GPT m = make_model(small_config());
  torch::NoGradGuard no_grad;
  at::Tensor tokens = random_tokens(1, 12, 97);
  const at::Tensor before = m->forward(tokens);
  tokens.index_put_({0, 11}, (tokens.index({0, 11}).item<std::int64_t>() + 1) % 97);
  const at::Tensor after = m->forward(tokens);
  EXPECT_LT((before.narrow(1, 0, 11) - after.narrow(1, 0, 11)).abs().max().item<double>(), 1e-6);
  EXPECT_GT((before.narrow(1, 11, 1) - after.narrow(1, 11, 1)).abs().max().item<double>(), 1e-4);
}

TEST(Model, RefusesSequencesLongerThanTheContext) {
  GPT m = make_model(small_config());
  torch::NoGradGuard no_grad;
  EXPECT_THROW(m->forward(random_tokens(1, 25, 97)), Error);
  DecodeCache cache(at::zeros({1}, at::kLong), 20);
  m->decode(random_tokens(1, 20, 97), cache);
  EXPECT_THROW(m->decode(random_tokens(1, 5, 97), cache), Error);  // beyond the cache's slots
}

TEST(Model, CountsItsParameters) {
  for (bool tied : {true, false}) {
    ModelConfig c = small_config();
    c.tie_embeddings = tied;
    GPT m(c);
    std::int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    EXPECT_EQ(n, c.parameters());
  }
  ModelConfig small = ModelConfig::preset("small");
  small.vocab_size = 0;
  EXPECT_NEAR(static_cast<double>(small.parameters()), 10.6e6, 0.2e6);  // "~10M" without embedding
}

TEST(Model, InitialisationIsAPureFunctionOfTheSeed) {
  GPT a = make_model(small_config(), 5), b = make_model(small_config(), 5),
      c = make_model(small_config(), 6);
  torch::NoGradGuard no_grad;
  const at::Tensor tokens = random_tokens(1, 8, 97);
  EXPECT_TRUE(at::equal(a->forward(tokens), b->forward(tokens)));
  EXPECT_FALSE(at::equal(a->forward(tokens), c->forward(tokens)));
}

TEST(ModelConfig, RejectsImpossibleShapes) {
  ModelConfig c = small_config();
  c.n_head = 5;  // 128 % 5 != 0
  EXPECT_THROW(c.validate(), Error);
  c = small_config();
  c.d_model = 12, c.n_head = 4;  // head_dim 3 is odd
  EXPECT_THROW(c.validate(), Error);
  EXPECT_THROW(ModelConfig::preset("huge"), Error);
}

// Issue 19, probe finding 11: a config.json with n_layer 1e9 ran 24 s into std::bad_alloc. Absurd
// sizes are refused by validate(), which every way of making a model goes through, before any
// allocation.
TEST(ModelConfig, AbsurdSizesAreRefusedBeforeAnythingIsAllocated) {
  auto error_of = [](ModelConfig c) {
    try {
      c.validate();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  ModelConfig c = small_config();
  c.n_layer = 1000000000;
  EXPECT_EQ(error_of(c), "model n_layer must be at most 16777216, got 1000000000");
  c.n_layer = 100000;
  c.d_model = c.ffn_hidden = 65536;
  c.n_head = 512;
  EXPECT_NE(error_of(c).find("make about 3.01e+15 parameters"), std::string::npos) << error_of(c);
  c = small_config();
  c.vocab_size = std::int64_t{1} << 40;
  EXPECT_NE(error_of(c).find("vocab_size must be at most 2147483648"), std::string::npos);
  EXPECT_EQ(error_of(small_config()), "(no error)");
}

TEST(ModelConfig, JsonRoundTripsAndIsStrict) {
  const ModelConfig c = small_config();
  EXPECT_EQ(ModelConfig::from_json(c.to_json(), "test"), c);
  nlohmann::json extra = c.to_json();
  extra["n_layers"] = 3;
  EXPECT_THROW(ModelConfig::from_json(extra, "test"), Error);
  nlohmann::json wrong = c.to_json();
  wrong["n_layer"] = "two";
  EXPECT_THROW(ModelConfig::from_json(wrong, "test"), Error);
}

// A size written as a float is refused, not truncated (2.5 layers) or converted out of range
// (3.8e27 does not fit an integer; found by fuzzing config.json).
TEST(ModelConfig, SizesMustBeJsonIntegers) {
  for (const nlohmann::json& bad : {nlohmann::json(2.5), nlohmann::json(3.8e27), nlohmann::json(18446744073709551615ULL)}) {
    nlohmann::json j = small_config().to_json();
    j["ffn_hidden"] = bad;
    try {
      ModelConfig::from_json(j, "m.json");
      ADD_FAILURE() << "accepted ffn_hidden " << bad.dump();
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "m.json: model config 'ffn_hidden' must be an integer, got " + bad.dump());
    }
  }
  nlohmann::json j = small_config().to_json();
  j["rope_theta"] = 10000;  // a real number may be written as an integer
  EXPECT_EQ(ModelConfig::from_json(j, "m.json").rope_theta, 10000.0);
}
