// The batch entry point on the CPU: every row gets exactly the per-row reference's token.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <span>

#include "collapse/generate/philox.h"
#include "collapse/generate/sampler_batch.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

struct Batch {
  at::Tensor logits;  // [B, V] float32 (the values the reference sees)
  TokenHistory history;
  at::Tensor uniforms, banned;
};

// Random logits with a few exact ties, histories of varying length with repeated tokens, some
// banned tokens, and Philox uniforms.
Batch random_batch(std::int64_t B, std::int64_t V, std::int64_t capacity, std::uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  Batch b;
  b.logits = at::randn({B, V}, gen, at::kFloat) * 3.0;
  b.logits.narrow(1, 0, 4).fill_(2.5);  // ties at a plausible threshold
  b.history.tokens = at::randint(0, V / 4, {B, capacity}, gen, at::TensorOptions().dtype(at::kInt));
  b.history.lengths = at::randint(0, capacity + 1, {B}, gen, at::TensorOptions().dtype(at::kInt));
  b.history.prompt_lengths = at::empty({B}, at::kInt);
  b.uniforms = at::empty({B}, at::kDouble);
  b.banned = at::full({B}, -1, at::kInt);
  for (std::int64_t r = 0; r < B; ++r) {
    const std::int32_t length = b.history.lengths[r].item<std::int32_t>();
    b.history.prompt_lengths[r] = length / 2;
    b.uniforms[r] = sampling_uniform(seed, static_cast<std::uint64_t>(r), 0);
    if (r % 3 == 0) b.banned[r] = static_cast<std::int32_t>((r * 7) % V);
  }
  return b;
}

// Row r's reference token under configs[r] (or configs[0] for every row when there is one).
std::vector<std::int64_t> reference_tokens(std::span<const SamplerConfig> configs,
                                           const at::Tensor& logits_f32, const Batch& b) {
  std::vector<std::int64_t> out;
  const at::Tensor x = logits_f32.contiguous();
  const std::int64_t V = x.size(1), capacity = b.history.tokens.size(1);
  for (std::int64_t r = 0; r < x.size(0); ++r) {
    SamplingRow row;
    row.logits = std::span<const float>(x.data_ptr<float>() + r * V, static_cast<std::size_t>(V));
    row.history = std::span<const std::int32_t>(
        b.history.tokens.data_ptr<std::int32_t>() + r * capacity,
        static_cast<std::size_t>(b.history.lengths[r].item<std::int32_t>()));
    row.prompt_length = b.history.prompt_lengths[r].item<std::int32_t>();
    row.banned_token = b.banned[r].item<std::int32_t>();
    const SamplerConfig& c = configs[configs.size() == 1 ? 0 : static_cast<std::size_t>(r)];
    out.push_back(sample_token_reference(c, row, b.uniforms[r].item<double>()));
  }
  return out;
}

std::vector<std::int64_t> reference_tokens(const SamplerConfig& c, const at::Tensor& logits_f32,
                                           const Batch& b) {
  return reference_tokens(std::span<const SamplerConfig>(&c, 1), logits_f32, b);
}

std::vector<std::int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).contiguous();
  return std::vector<std::int64_t>(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel());
}

std::vector<SamplerConfig> chains() {
  std::vector<SamplerConfig> out;
  SamplerConfig c;
  out.push_back(c);  // pure sampling
  c.repetition_penalty = 1.3f;
  c.presence_penalty = 0.4f;
  c.frequency_penalty = 0.2f;
  c.temperature = 0.8f;
  c.top_k = 50;
  c.top_p = 0.9f;
  c.min_p = 0.02f;
  out.push_back(c);  // the kernel's full chain
  SamplerConfig typical;
  typical.typical_p = 0.7f;
  typical.temperature = 1.2f;
  typical.order = {SamplerStep::min_p,       SamplerStep::temperature, SamplerStep::typical_p,
                   SamplerStep::top_k,       SamplerStep::top_p,       SamplerStep::repetition_penalty,
                   SamplerStep::presence_frequency};
  typical.min_p = 0.05f;
  out.push_back(typical);  // a reordered chain with typical_p
  SamplerConfig greedy;
  greedy.temperature = 0.0f;
  greedy.repetition_penalty = 1.5f;
  out.push_back(greedy);
  return out;
}

}  // namespace

TEST(SampleTokens, CpuBatchEqualsThePerRowReferenceForFp32) {
  const Batch b = random_batch(24, 500, 40, 11);
  for (const SamplerConfig& c : chains()) {
    const at::Tensor tokens = sample_tokens(c, b.logits, b.history, b.uniforms, b.banned);
    EXPECT_EQ(tokens.scalar_type(), at::kLong);
    EXPECT_EQ(to_vector(tokens), reference_tokens(c, b.logits, b)) << c.describe();
  }
}

TEST(SampleTokens, CpuBatchEqualsThePerRowReferenceForBf16) {
  const Batch b = random_batch(24, 512, 40, 12);
  const at::Tensor bf16 = b.logits.to(at::kBFloat16);
  for (const SamplerConfig& c : chains()) {
    const at::Tensor tokens = sample_tokens(c, bf16, b.history, b.uniforms, b.banned);
    // The reference sees the bf16 values widened to float.
    EXPECT_EQ(to_vector(tokens), reference_tokens(c, bf16.to(at::kFloat), b)) << c.describe();
  }
}

TEST(SampleTokens, ResultsDoNotDependOnTheThreadCountOrTheLayout) {
  const Batch b = random_batch(33, 300, 20, 13);
  const SamplerConfig c = chains()[1];
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = to_vector(sample_tokens(c, b.logits, b.history, b.uniforms, b.banned));
  at::set_num_threads(2);
  const auto two = to_vector(sample_tokens(c, b.logits, b.history, b.uniforms, b.banned));
  at::set_num_threads(threads);
  EXPECT_EQ(one, two);
  // A non-contiguous view of the same logits (the last position of [B, T, V]).
  const at::Tensor padded = at::zeros({33, 2, 300}, at::kFloat);
  padded.select(1, 1).copy_(b.logits);
  EXPECT_EQ(to_vector(sample_tokens(c, padded.select(1, 1), b.history, b.uniforms, b.banned)), one);
}

TEST(SampleTokens, WithoutPenaltiesTheHistoryMayBeAbsent) {
  const Batch b = random_batch(4, 64, 8, 14);
  SamplerConfig c;
  c.top_p = 0.8f;
  const auto with = to_vector(sample_tokens(c, b.logits, b.history, b.uniforms, b.banned));
  EXPECT_EQ(to_vector(sample_tokens(c, b.logits, TokenHistory{}, b.uniforms, b.banned)), with);
}

TEST(SampleTokens, RejectsMisshapenInputs) {
  const Batch b = random_batch(4, 64, 8, 15);
  SamplerConfig c;
  auto message = [&](const at::Tensor& logits, const TokenHistory& h, const at::Tensor& u,
                     const at::Tensor& ban) {
    try {
      sample_tokens(c, logits, h, u, ban);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(b.logits.to(at::kDouble), b.history, b.uniforms, b.banned),
            "sample_tokens: logits must be [batch, vocab] float32 or bfloat16, got Double [4, 64]");
  EXPECT_EQ(message(b.logits, b.history, b.uniforms.narrow(0, 0, 3), b.banned),
            "sample_tokens: uniforms must be [4] Double, got Double [3]");
  EXPECT_EQ(message(b.logits, b.history, b.uniforms, b.banned.to(at::kLong)),
            "sample_tokens: banned must be [4] Int, got Long [4]");
  c.repetition_penalty = 1.2f;
  EXPECT_EQ(message(b.logits, TokenHistory{}, b.uniforms, b.banned),
            "sample_tokens: history tokens must be [4, capacity] int32 (a penalty is on), got undefined");
  TokenHistory too_long = b.history;
  too_long.lengths = b.history.lengths.clone();
  too_long.lengths[2] = 9;
  EXPECT_EQ(message(b.logits, too_long, b.uniforms, b.banned),
            "sample_tokens: row 2 has history length 9 outside [0, 8]");
}

TEST(SampleTokens, TheCpuNeverRunsTheKernel) {
  EXPECT_FALSE(sampling_uses_kernel(SamplerConfig{}, c10::Device(c10::kCPU)));
}

TEST(SampleTokens, EveryRowMayHaveItsOwnChain) {
  // One batch mixing every test chain (greedy, penalties, filters), row r taking chain r mod n:
  // each row gets its own chain's reference token, as if sampled alone.
  const Batch b = random_batch(24, 500, 40, 16);
  const std::vector<SamplerConfig> all = chains();
  std::vector<SamplerConfig> per_row;
  for (std::int64_t r = 0; r < 24; ++r) per_row.push_back(all[static_cast<std::size_t>(r) % all.size()]);
  const auto tokens = to_vector(sample_tokens(per_row, b.logits, b.history, b.uniforms, b.banned));
  EXPECT_EQ(tokens, reference_tokens(per_row, b.logits, b));
  for (std::int64_t r = 0; r < 24; ++r) {
    const SamplerConfig& c = per_row[static_cast<std::size_t>(r)];
    EXPECT_EQ(tokens[static_cast<std::size_t>(r)], reference_tokens(c, b.logits, b)[static_cast<std::size_t>(r)])
        << "row " << r << ": " << c.describe();
  }
  // Without any penalty in the batch the history may be absent; one chain per row or one for all.
  std::vector<SamplerConfig> plain(24);
  for (std::int64_t r = 0; r < 24; ++r) plain[static_cast<std::size_t>(r)].top_k = 1 + r;
  EXPECT_EQ(to_vector(sample_tokens(plain, b.logits, TokenHistory{}, b.uniforms, b.banned)),
            reference_tokens(plain, b.logits, b));
  try {
    sample_tokens(std::span<const SamplerConfig>(plain.data(), 3), b.logits, b.history, b.uniforms, b.banned);
    ADD_FAILURE() << "3 chains for 24 rows were accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "sample_tokens: 3 sampler chains for a batch of 24 (give one, or one per row)");
  }
}

TEST(SampleTokens, NonFiniteLogitsAreRemovedAndABannedLastTokenLeavesNothing) {
  // NaN, +inf and -inf logits are removed tokens (the chain's definition); a row whose only
  // finite logit is banned has nothing left to sample: -1.
  const float nan = std::nanf(""), inf = std::numeric_limits<float>::infinity();
  const at::Tensor logits =
      at::tensor({nan, 1.0f, inf, -inf, 0.5f, /**/ -inf, -inf, 2.0f, nan, inf}, at::kFloat).view({2, 5});
  const at::Tensor banned = at::tensor({-1, 2}, at::kInt);
  for (const SamplerConfig& c : chains()) {
    if (c.penalizes()) continue;
    for (double u : {1e-9, 0.5, 1.0 - 1e-9}) {
      const auto tokens = to_vector(sample_tokens(c, logits, TokenHistory{}, at::full({2}, u, at::kDouble), banned));
      EXPECT_TRUE(tokens[0] == 1 || tokens[0] == 4) << c.describe() << " picked " << tokens[0];
      EXPECT_EQ(tokens[1], -1) << c.describe();
    }
  }
}
