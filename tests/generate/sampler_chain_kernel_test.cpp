// The fused sampling kernel (kernels/sampling.cu, reached through sample_tokens on CUDA tensors)
// against the CPU reference (sampler_chain.h). ctest label `gpu`: every test skips without CUDA.
//   parity:     for given Philox uniforms the kernel's token is the reference's, except where the
//               uniform lies within 1e-6 of a boundary of the reference's cumulative distribution
//               (or a top_p / min_p threshold is that close): counted, and required to be rare;
//   chi-square: 10^5 draws of one row (uniforms differ) follow sampler_distribution.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <cmath>
#include <map>

#include "collapse/generate/philox.h"
#include "collapse/generate/sampler_batch.h"

using namespace collapse;

#define REQUIRE_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to torch"

namespace {

const c10::Device kCuda(c10::kCUDA, 0);

struct Inputs {
  at::Tensor logits;  // [B, V] float32 on the CPU (the values, after any bf16 rounding)
  TokenHistory history;
  at::Tensor uniforms, banned;
};

TokenHistory on(const TokenHistory& h, const c10::Device& device) {
  return {h.tokens.to(device), h.lengths.to(device), h.prompt_lengths.to(device)};
}

// B rows of random logits (scale 3, some exact ties), histories with repeats, banned tokens on
// every fifth row, Philox uniforms; a few special rows (all equal, a single finite logit).
Inputs random_inputs(std::int64_t B, std::int64_t V, at::ScalarType type, std::uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  Inputs in;
  in.logits = (at::randn({B, V}, gen, at::kFloat) * 3.0).to(type).to(at::kFloat);
  in.logits.narrow(1, V / 2, 3).fill_(4.0);
  in.logits[0].fill_(1.0);                                   // every token tied
  in.logits[1].fill_(-std::numeric_limits<float>::infinity());
  in.logits[1][V - 1] = 0.5f;                                // one finite logit
  const std::int64_t capacity = 64;
  const auto int32 = at::TensorOptions().dtype(at::kInt);
  in.history.tokens = at::randint(0, std::max<std::int64_t>(V / 8, 2), {B, capacity}, gen, int32);
  in.history.lengths = at::randint(0, capacity + 1, {B}, gen, int32);
  in.history.prompt_lengths = (in.history.lengths / 3).to(at::kInt);
  in.uniforms = at::empty({B}, at::kFloat);
  in.banned = at::full({B}, -1, at::kInt);
  for (std::int64_t r = 0; r < B; ++r) {
    in.uniforms[r] = sampling_uniform(seed, static_cast<std::uint64_t>(r), 3);
    if (r % 5 == 2) in.banned[r] = static_cast<std::int32_t>((r * 131) % V);
  }
  return in;
}

SamplingRow row_of(const Inputs& in, std::int64_t r) {
  const std::int64_t V = in.logits.size(1), capacity = in.history.tokens.size(1);
  SamplingRow row;
  row.logits = std::span<const float>(in.logits.data_ptr<float>() + r * V, static_cast<std::size_t>(V));
  row.history = std::span<const std::int32_t>(
      in.history.tokens.data_ptr<std::int32_t>() + r * capacity,
      static_cast<std::size_t>(in.history.lengths[r].item<std::int32_t>()));
  row.prompt_length = in.history.prompt_lengths[r].item<std::int32_t>();
  row.banned_token = in.banned[r].item<std::int32_t>();
  return row;
}

std::vector<bool> kept_set(const SamplerConfig& c, const SamplingRow& row) {
  const auto x = apply_sampler_chain(c, row);
  std::vector<bool> kept(x.size());
  for (std::size_t t = 0; t < x.size(); ++t) kept[t] = std::isfinite(x[t]);
  return kept;
}

// Whether rounding may fairly separate the kernel from the reference on this row: u within 1e-6
// of a boundary of the reference's CDF (in vocabulary order), or a top_p / min_p threshold that
// moves when the parameter moves by 1e-6.
bool near_a_boundary(const SamplerConfig& c, const SamplingRow& row, float u) {
  const std::vector<double> p = sampler_distribution(c, row);
  double cumulative = 0.0;
  for (double v : p) {
    if (v == 0.0) continue;
    cumulative += v;
    if (std::abs(cumulative - static_cast<double>(u)) < 1e-6) return true;
  }
  const std::vector<bool> kept = kept_set(c, row);
  for (float scale : {1.0f - 1e-6f, 1.0f + 1e-6f}) {
    SamplerConfig moved = c;
    if (c.top_p < 1.0f) moved.top_p = std::min(1.0f, c.top_p * scale);
    if (c.min_p > 0.0f) moved.min_p = c.min_p * scale;
    if (kept_set(moved, row) != kept) return true;
  }
  return false;
}

std::vector<SamplerConfig> kernel_chains() {
  std::vector<SamplerConfig> out;
  SamplerConfig c;
  out.push_back(c);  // pure sampling
  c.temperature = 0.8f;
  c.top_p = 0.9f;
  out.push_back(c);
  c = SamplerConfig{};
  c.top_k = 50;
  c.temperature = 0.7f;
  out.push_back(c);
  c = SamplerConfig{};
  c.min_p = 0.05f;
  out.push_back(c);
  c = SamplerConfig{};
  c.repetition_penalty = 1.3f;
  c.presence_penalty = 0.5f;
  c.frequency_penalty = 0.25f;
  c.temperature = 1.1f;
  c.top_k = 100;
  c.top_p = 0.95f;
  c.min_p = 0.01f;
  out.push_back(c);  // the full chain
  c = SamplerConfig{};
  c.temperature = 0.0f;
  c.repetition_penalty = 1.5f;
  c.frequency_penalty = 0.5f;
  out.push_back(c);  // greedy with penalties
  return out;
}

std::vector<std::int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).contiguous();
  return std::vector<std::int64_t>(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel());
}

void expect_parity(std::int64_t B, std::int64_t V, at::ScalarType type, std::uint64_t seed) {
  const Inputs in = random_inputs(B, V, type, seed);
  const at::Tensor device_logits = in.logits.to(type).to(kCuda);
  const TokenHistory device_history = on(in.history, kCuda);
  for (const SamplerConfig& c : kernel_chains()) {
    ASSERT_TRUE(sampling_uses_kernel(c, kCuda)) << c.describe();
    const auto expected = to_vector(sample_tokens(c, in.logits, in.history, in.uniforms, in.banned));
    const at::Tensor tokens = sample_tokens(c, device_logits, device_history,
                                            in.uniforms.to(kCuda), in.banned.to(kCuda));
    ASSERT_TRUE(tokens.is_cuda());
    const auto actual = to_vector(tokens);
    std::int64_t at_boundary = 0;
    for (std::int64_t r = 0; r < B; ++r) {
      if (actual[r] == expected[r]) continue;
      const SamplingRow row = row_of(in, r);
      const float u = in.uniforms[r].item<float>();
      ASSERT_TRUE(near_a_boundary(c, row, u))
          << c.describe() << " V=" << V << " " << c10::toString(type) << " row " << r
          << ": kernel " << actual[r] << ", reference " << expected[r] << " (u = " << u << ")";
      ++at_boundary;
    }
    EXPECT_LE(at_boundary * 1000, B) << c.describe() << ": " << at_boundary
                                     << " boundary mismatches in " << B << " rows";
    if (c.greedy()) {
      EXPECT_EQ(at_boundary, 0) << "greedy has no boundary to excuse";
    }
  }
}

// The chi-square statistic of `counts` against probabilities `p` over n draws, merging every bin
// with an expected count below 5 into one; returns (statistic, degrees of freedom). A draw of a
// token with p = 0 is a failure of its own.
std::pair<double, int> chi_square(const std::vector<std::int64_t>& counts, const std::vector<double>& p,
                                  std::int64_t n) {
  double statistic = 0.0, pooled_expected = 0.0;
  std::int64_t pooled = 0;
  int bins = 0;
  for (std::size_t t = 0; t < p.size(); ++t) {
    EXPECT_FALSE(p[t] == 0.0 && counts[t] > 0) << "token " << t << " drawn " << counts[t]
                                              << " times but has probability 0";
    const double expected = p[t] * static_cast<double>(n);
    if (expected < 5.0) {
      pooled_expected += expected;
      pooled += counts[t];
      continue;
    }
    const double d = static_cast<double>(counts[t]) - expected;
    statistic += d * d / expected;
    ++bins;
  }
  if (pooled_expected > 0.0) {
    const double d = static_cast<double>(pooled) - pooled_expected;
    statistic += d * d / std::max(pooled_expected, 5.0);
    ++bins;
  }
  return {statistic, std::max(bins - 1, 1)};
}

// Upper tail: the Wilson-Hilferty normal approximation of a chi-square with `df` degrees.
double chi_square_z(double statistic, int df) {
  const double k = df;
  return (std::cbrt(statistic / k) - (1.0 - 2.0 / (9.0 * k))) / std::sqrt(2.0 / (9.0 * k));
}

// One row whose mass sits on ~200 scattered "head" tokens (so the kept sets are small enough to
// bin), over a noisy tail.
at::Tensor peaked_row(std::int64_t V, std::uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor row = at::randn({V}, gen, at::kFloat);
  const at::Tensor head = at::randperm(V, gen, at::TensorOptions().dtype(at::kLong)).narrow(0, 0, std::min<std::int64_t>(200, V / 4));
  row.index_put_({head}, at::randn({head.size(0)}, gen, at::kFloat) + 12.0);
  return row;
}

}  // namespace

TEST(SamplingKernel, PicksTheReferenceTokenExceptAtCdfBoundariesFp32) {
  REQUIRE_GPU();
  expect_parity(4096, 1000, at::kFloat, 1);
  expect_parity(1024, 32000, at::kFloat, 2);
  expect_parity(256, 128256, at::kFloat, 3);
  expect_parity(512, 1001, at::kFloat, 4);  // a row stride without 16-byte alignment: scalar loads
}

TEST(SamplingKernel, PicksTheReferenceTokenExceptAtCdfBoundariesBf16) {
  REQUIRE_GPU();
  expect_parity(4096, 1000, at::kBFloat16, 5);
  expect_parity(1024, 32000, at::kBFloat16, 6);
  expect_parity(256, 128256, at::kBFloat16, 7);
  expect_parity(512, 1001, at::kBFloat16, 8);
}

TEST(SamplingKernel, DrawsFollowTheChainsDistribution) {
  REQUIRE_GPU();
  const std::int64_t n = 100000;
  std::vector<SamplerConfig> configs;
  SamplerConfig c;
  configs.push_back(c);  // pure sampling: the tail is one pooled bin
  c.temperature = 0.8f;
  c.top_p = 0.9f;
  configs.push_back(c);
  c = SamplerConfig{};
  c.top_k = 50;
  c.temperature = 1.2f;
  configs.push_back(c);
  c = SamplerConfig{};
  c.min_p = 0.1f;
  c.repetition_penalty = 1.3f;
  c.frequency_penalty = 0.5f;
  configs.push_back(c);
  at::Tensor uniforms = at::empty({n}, at::kFloat);
  for (std::int64_t i = 0; i < n; ++i) uniforms[i] = sampling_uniform(99, static_cast<std::uint64_t>(i), 0);
  const at::Tensor device_uniforms = uniforms.to(kCuda);
  const at::Tensor banned = at::full({n}, -1, at::TensorOptions().dtype(at::kInt).device(kCuda));
  for (std::int64_t V : {1000, 32000, 128256}) {
    for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
      const at::Tensor row = peaked_row(V, static_cast<std::uint64_t>(V)).to(type).to(at::kFloat);
      // A history over head tokens, so the penalties move mass.
      const at::Tensor order = at::argsort(row, /*stable=*/true, /*dim=*/0, /*descending=*/true);
      const at::Tensor history_row = order.narrow(0, 0, 20).repeat({2}).to(at::kInt);
      TokenHistory history{history_row.unsqueeze(0).expand({n, 40}).contiguous().to(kCuda),
                           at::full({n}, 40, at::TensorOptions().dtype(at::kInt).device(kCuda)),
                           at::full({n}, 10, at::TensorOptions().dtype(at::kInt).device(kCuda))};
      const at::Tensor logits = row.to(type).unsqueeze(0).to(kCuda).expand({n, V});
      for (const SamplerConfig& config : configs) {
        ASSERT_TRUE(sampling_uses_kernel(config, kCuda));
        const auto tokens = to_vector(sample_tokens(config, logits, history, device_uniforms, banned));
        SamplingRow ref;
        ref.logits = std::span<const float>(row.data_ptr<float>(), static_cast<std::size_t>(V));
        ref.history = std::span<const std::int32_t>(history_row.data_ptr<std::int32_t>(), 40);
        ref.prompt_length = 10;
        const std::vector<double> p = sampler_distribution(config, ref);
        std::vector<std::int64_t> counts(static_cast<std::size_t>(V), 0);
        for (std::int64_t t : tokens) {
          ASSERT_GE(t, 0);
          ASSERT_LT(t, V);
          ++counts[static_cast<std::size_t>(t)];
        }
        const auto [statistic, df] = chi_square(counts, p, n);
        EXPECT_LT(chi_square_z(statistic, df), 4.0)
            << config.describe() << " V=" << V << " " << c10::toString(type) << ": chi2 " << statistic
            << " with " << df << " degrees of freedom";
      }
    }
  }
}

TEST(SamplingKernel, TokensDoNotDependOnTheBatchAroundThem) {
  REQUIRE_GPU();
  const Inputs in = random_inputs(64, 32000, at::kBFloat16, 21);
  SamplerConfig c;
  c.temperature = 0.9f;
  c.top_p = 0.95f;
  c.repetition_penalty = 1.2f;
  const at::Tensor logits = in.logits.to(at::kBFloat16).to(kCuda);
  const TokenHistory history = on(in.history, kCuda);
  const auto all = to_vector(sample_tokens(c, logits, history, in.uniforms.to(kCuda), in.banned.to(kCuda)));
  EXPECT_EQ(to_vector(sample_tokens(c, logits, history, in.uniforms.to(kCuda), in.banned.to(kCuda))), all);
  for (std::int64_t r : {0, 5, 63}) {
    const TokenHistory one{history.tokens.narrow(0, r, 1), history.lengths.narrow(0, r, 1),
                           history.prompt_lengths.narrow(0, r, 1)};
    const auto single = to_vector(sample_tokens(c, logits.narrow(0, r, 1), one,
                                                in.uniforms.narrow(0, r, 1).to(kCuda),
                                                in.banned.narrow(0, r, 1).to(kCuda)));
    EXPECT_EQ(single[0], all[static_cast<std::size_t>(r)]) << "row " << r;
  }
}

TEST(SamplingKernel, OtherChainsRunTheReferenceOnCudaTensors) {
  REQUIRE_GPU();
  const Inputs in = random_inputs(32, 1000, at::kFloat, 31);
  SamplerConfig c;
  c.typical_p = 0.8f;
  EXPECT_FALSE(sampling_uses_kernel(c, kCuda));
  c = SamplerConfig{};
  c.min_p = 0.05f;
  c.temperature = 0.7f;
  c.order = {SamplerStep::min_p,       SamplerStep::repetition_penalty, SamplerStep::presence_frequency,
             SamplerStep::temperature, SamplerStep::top_k,              SamplerStep::top_p,
             SamplerStep::typical_p};
  EXPECT_FALSE(sampling_uses_kernel(c, kCuda));  // min_p before temperature
  const auto expected = to_vector(sample_tokens(c, in.logits, in.history, in.uniforms, in.banned));
  const at::Tensor tokens = sample_tokens(c, in.logits.to(kCuda), on(in.history, kCuda),
                                          in.uniforms.to(kCuda), in.banned.to(kCuda));
  EXPECT_TRUE(tokens.is_cuda());
  EXPECT_EQ(to_vector(tokens), expected);
  // Inactive steps do not count: the same order with min_p off is the kernel's chain.
  c.min_p = 0.0f;
  EXPECT_TRUE(sampling_uses_kernel(c, kCuda));
}
