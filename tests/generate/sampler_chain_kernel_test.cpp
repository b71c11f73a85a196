// The fused sampling kernel (kernels/sampling.cu, reached through sample_tokens on CUDA tensors)
// against the CPU reference (sampler_chain.h). ctest label `gpu`: every test skips without CUDA.
//   parity:     for given Philox uniforms the kernel's token is the reference's, except where the
//               uniform lies within 1e-6 of a boundary of the reference's cumulative distribution
//               (or a top_p / min_p threshold is that close): counted, and required to be rare;
//   chi-square: 10^5 draws of one row (uniforms differ) follow sampler_distribution.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

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
Inputs random_inputs(std::int64_t B, std::int64_t V, at::ScalarType type, std::uint64_t seed,
                     std::int64_t capacity = 64) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  Inputs in;
  in.logits = (at::randn({B, V}, gen, at::kFloat) * 3.0).to(type).to(at::kFloat);
  in.logits.narrow(1, V / 2, std::min<std::int64_t>(3, V - V / 2)).fill_(4.0);
  in.logits[0].fill_(1.0);                                   // every token tied
  in.logits[1].fill_(-std::numeric_limits<float>::infinity());
  in.logits[1][V - 1] = 0.5f;                                // one finite logit
  const auto int32 = at::TensorOptions().dtype(at::kInt);
  in.history.tokens = at::randint(0, std::max<std::int64_t>(V / 8, 2), {B, capacity}, gen, int32);
  in.history.lengths = at::randint(0, capacity + 1, {B}, gen, int32);
  in.history.prompt_lengths = (in.history.lengths / 3).to(at::kInt);
  in.uniforms = at::empty({B}, at::kDouble);
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
bool near_a_boundary(const SamplerConfig& c, const SamplingRow& row, double u) {
  const std::vector<double> p = sampler_distribution(c, row);
  double cumulative = 0.0;
  for (double v : p) {
    if (v == 0.0) continue;
    cumulative += v;
    if (std::abs(cumulative - u) < 1e-6) return true;
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

// Row r's chain: configs[0] for every row when there is one, else configs[r] (sample_tokens' rule).
const SamplerConfig& chain_of(std::span<const SamplerConfig> configs, std::int64_t r) {
  return configs.size() == 1 ? configs[0] : configs[static_cast<std::size_t>(r)];
}

// sample_tokens on CUDA (logits as `type`) against the same call on the CPU (the reference): every
// row gets the same token, or a mismatch that a rounding boundary of the reference excuses (rare,
// and never on a greedy row). Returns the kernel's tokens.
std::vector<std::int64_t> expect_rows_match(std::span<const SamplerConfig> configs, const Inputs& in,
                                            at::ScalarType type, const std::string& what) {
  const std::int64_t B = in.logits.size(0), V = in.logits.size(1);
  for (const SamplerConfig& c : configs) {
    EXPECT_TRUE(sampling_uses_kernel(c, kCuda)) << what << ": " << c.describe();
  }
  const auto expected = to_vector(sample_tokens(configs, in.logits, in.history, in.uniforms, in.banned));
  const at::Tensor tokens = sample_tokens(configs, in.logits.to(type).to(kCuda), on(in.history, kCuda),
                                          in.uniforms.to(kCuda), in.banned.to(kCuda));
  EXPECT_TRUE(tokens.is_cuda());
  const auto actual = to_vector(tokens);
  std::int64_t at_boundary = 0;
  for (std::int64_t r = 0; r < B; ++r) {
    if (actual[r] == expected[r]) continue;
    const SamplerConfig& c = chain_of(configs, r);
    const double u = in.uniforms[r].item<double>();
    EXPECT_FALSE(c.greedy()) << what << " V=" << V << " row " << r << " (greedy has no boundary to excuse): kernel "
                             << actual[r] << ", reference " << expected[r];
    EXPECT_TRUE(near_a_boundary(c, row_of(in, r), u))
        << what << " " << c.describe() << " V=" << V << " " << c10::toString(type) << " row " << r
        << ": kernel " << actual[r] << ", reference " << expected[r] << " (u = " << u << ")";
    ++at_boundary;
  }
  // At most one in a thousand rows (one in a small batch).
  EXPECT_LE(at_boundary * 1000, std::max<std::int64_t>(B, 1000))
      << what << ": " << at_boundary << " boundary mismatches in " << B << " rows";
  return actual;
}

std::vector<std::int64_t> expect_rows_match(const SamplerConfig& config, const Inputs& in,
                                            at::ScalarType type, const std::string& what) {
  return expect_rows_match(std::span<const SamplerConfig>(&config, 1), in, type, what);
}

void expect_parity(std::int64_t B, std::int64_t V, at::ScalarType type, std::uint64_t seed) {
  const Inputs in = random_inputs(B, V, type, seed);
  for (const SamplerConfig& c : kernel_chains()) {
    ASSERT_TRUE(sampling_uses_kernel(c, kCuda)) << c.describe();
    expect_rows_match(c, in, type, "parity");
  }
}

// B copies of one row of logits ([V] float32), no history, Philox uniforms, nothing banned.
Inputs repeated_row(const at::Tensor& row, std::int64_t B, std::uint64_t seed) {
  Inputs in;
  in.logits = row.unsqueeze(0).expand({B, row.size(0)}).contiguous();
  const auto int32 = at::TensorOptions().dtype(at::kInt);
  in.history = {at::zeros({B, 1}, int32), at::zeros({B}, int32), at::zeros({B}, int32)};
  in.uniforms = at::empty({B}, at::kDouble);
  for (std::int64_t r = 0; r < B; ++r) in.uniforms[r] = sampling_uniform(seed, static_cast<std::uint64_t>(r), 0);
  in.banned = at::full({B}, -1, int32);
  return in;
}

// The distinct tokens of `tokens`.
std::set<std::int64_t> distinct(const std::vector<std::int64_t>& tokens) {
  return std::set<std::int64_t>(tokens.begin(), tokens.end());
}

// Chains with every penalty on (and the filters after them), for the history tests.
std::vector<SamplerConfig> penalty_chains() {
  std::vector<SamplerConfig> out;
  SamplerConfig c;
  c.repetition_penalty = 1.4f;
  out.push_back(c);  // set semantics over the whole history
  c = SamplerConfig{};
  c.presence_penalty = 0.7f;
  c.frequency_penalty = 0.3f;
  out.push_back(c);  // counts of the generated tokens
  c.repetition_penalty = 1.2f;
  c.temperature = 0.9f;
  c.top_k = 200;
  c.top_p = 0.9f;
  c.min_p = 0.02f;
  out.push_back(c);  // the full chain
  c = SamplerConfig{};
  c.temperature = 0.0f;
  c.repetition_penalty = 2.0f;
  c.frequency_penalty = 1.5f;
  out.push_back(c);  // greedy with penalties
  return out;
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
  at::Tensor uniforms = at::empty({n}, at::kDouble);
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

// Histories that fill the kernel's long sort (4096 slots, capacity 4096) and straddle its short
// one (512 slots), with every penalty.
TEST(SamplingKernel, PenalisesHistoriesOfUpTo4096Tokens) {
  REQUIRE_GPU();
  const std::int64_t B = 64, V = 32000;
  for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
    Inputs in = random_inputs(B, V, type, 41, /*capacity=*/kSamplingMaxHistory);
    const std::int32_t lengths[] = {4096, 4095, 2048, 513, 512, 511, 1, 0};
    for (std::int64_t r = 0; r < B; ++r) in.history.lengths[r] = lengths[r % 8];
    in.history.prompt_lengths = (in.history.lengths / 3).to(at::kInt);
    for (const SamplerConfig& c : penalty_chains()) {
      EXPECT_TRUE(sampling_kernel_fits(c, kCuda, V, kSamplingMaxHistory)) << c.describe();
      expect_rows_match(c, in, type, "4096-token histories");
    }
  }
}

// The reference's definition: NaN and +-inf logits are removed tokens (-inf) before the first
// step, and so is any value a step makes non-finite (a penalty or temperature that overflows);
// a row with no finite value left gives -1.
TEST(SamplingKernel, TreatsNonFiniteLogitsAsRemovedTokens) {
  REQUIRE_GPU();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float huge = std::numeric_limits<float>::max();
  const std::int64_t B = 512, V = 4000;
  for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
    Inputs in = random_inputs(B, V, type, 51);
    for (std::int64_t r = 8; r < B; ++r) {  // scattered NaN, +inf and -inf, more on some rows
      for (std::int64_t i = 0; i < 1 + r % 40; ++i) {
        const std::int64_t t = (r * 977 + i * 131) % V;
        in.logits[r][t] = i % 3 == 0 ? nan : i % 3 == 1 ? inf : -inf;
      }
    }
    in.logits[2].fill_(nan);  // the only finite token is the banned one
    in.logits[2][7] = 1.0f;
    in.banned[2] = 7;
    in.logits[3].fill_(nan);  // nothing finite
    in.logits[4].fill_(inf);
    in.logits[5][0] = inf;  // +inf where the max would be, NaN beside it
    in.logits[5][1] = nan;
    in.logits[6].narrow(0, 0, 10).fill_(huge);  // a temperature below 1 overflows these to +inf
    in.logits[6].narrow(0, 10, 10).fill_(-huge);
    in.logits[7].narrow(0, 0, 5).fill_(huge);  // repetition penalty on -huge overflows to -inf
    in.logits[7].narrow(0, 5, 5).fill_(-huge);
    in.history.tokens[7].narrow(0, 0, 10).copy_(at::arange(10, at::TensorOptions().dtype(at::kInt)));
    in.history.lengths[7] = 10;
    in.history.prompt_lengths[7] = 4;
    in.logits = in.logits.to(type).to(at::kFloat);  // what the kernel reads
    std::vector<SamplerConfig> chains = kernel_chains();
    SamplerConfig greedy;
    greedy.temperature = 0.0f;
    chains.push_back(greedy);
    for (const SamplerConfig& c : chains) {
      const auto tokens = expect_rows_match(c, in, type, "non-finite logits");
      EXPECT_EQ(tokens[2], -1) << c.describe() << ": the banned token was the only finite one";
      EXPECT_EQ(tokens[3], -1) << c.describe() << ": a row of NaN";
      EXPECT_EQ(tokens[4], -1) << c.describe() << ": a row of +inf";
      for (std::int64_t r = 8; r < B; ++r) {
        const std::int64_t t = tokens[static_cast<std::size_t>(r)];
        ASSERT_GE(t, 0) << "row " << r;
        EXPECT_TRUE(std::isfinite(in.logits[r][t].item<float>())) << c.describe() << " row " << r << " token " << t;
      }
    }
  }
}

// top_k's K-th and (K+1)-th logits equal, and top_p's mass reached inside a group of ties: ties
// are kept or removed together, as the reference's thresholds do.
TEST(SamplingKernel, KeepsTiesAtTheTopKAndTopPBoundaries) {
  REQUIRE_GPU();
  const std::int64_t B = 2000, V = 1000;
  // Distinct logits below 4 and ten tokens tied at 5.
  at::Generator gen = at::detail::createCPUGenerator(61);
  at::Tensor row = at::linspace(-6.0, 3.9, V, at::kFloat).index_select(
      0, at::randperm(V, gen, at::TensorOptions().dtype(at::kLong)));
  std::set<std::int64_t> tied;
  for (std::int64_t i = 0; i < 10; ++i) {
    tied.insert(37 * i + 11);
    row[37 * i + 11] = 5.0f;
  }
  SamplingRow ref;
  ref.logits = std::span<const float>(row.data_ptr<float>(), static_cast<std::size_t>(V));
  const std::vector<double> p = sampler_distribution(SamplerConfig{}, ref);
  double tied_mass = 0.0;
  for (std::int64_t t : tied) tied_mass += p[static_cast<std::size_t>(t)];

  for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {  // bf16 rounds the others (below 4) only
    const Inputs in = repeated_row(row.to(type).to(at::kFloat), B, 61);
    for (std::int64_t k : {1, 7, 10}) {  // the boundary falls inside the tie (or at its end)
      SamplerConfig c;
      c.top_k = k;
      EXPECT_EQ(distinct(expect_rows_match(c, in, type, "top_k tie")), tied) << "top_k=" << k;
    }
    SamplerConfig c;
    c.top_p = static_cast<float>(tied_mass / 2.0);  // reached halfway through the tie
    EXPECT_EQ(distinct(expect_rows_match(c, in, type, "top_p tie")), tied);
    c.top_k = 11;  // the tie and the next token; top_p still inside the tie
    EXPECT_EQ(distinct(expect_rows_match(c, in, type, "top_k then top_p tie")), tied);
  }

  // Cumulative mass equal to top_p exactly at a tie: four tokens of probability 1/4 (exact in
  // double and in the kernel's fixed point).
  at::Tensor four = at::full({V}, -std::numeric_limits<float>::infinity(), at::kFloat);
  const std::set<std::int64_t> quarter = {3, 400, 401, 999};
  for (std::int64_t t : quarter) four[t] = 0.0f;
  const Inputs exact = repeated_row(four, B, 62);
  for (float top_p : {0.25f, 0.5f, 0.75f}) {
    SamplerConfig c;
    c.top_p = top_p;
    EXPECT_EQ(distinct(expect_rows_match(c, exact, at::kFloat, "exact top_p")), quarter) << "top_p=" << top_p;
  }
}

// Vocabularies that are not a multiple of the vector width (scalar loads), tiny ones, and a 256k
// one (Gemma-sized, larger than Llama 3's and Qwen2's) with penalties over 4096-token histories.
TEST(SamplingKernel, HandlesVocabulariesAtTheKernelsLimits) {
  REQUIRE_GPU();
  for (std::int64_t V : {3, 4097, 8191}) {
    for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
      const Inputs in = random_inputs(256, V, type, static_cast<std::uint64_t>(V));
      for (const SamplerConfig& c : kernel_chains()) expect_rows_match(c, in, type, "odd vocabulary");
    }
  }
  for (std::int64_t V : {262144, 256003}) {
    for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
      Inputs in = random_inputs(8, V, type, static_cast<std::uint64_t>(V), /*capacity=*/kSamplingMaxHistory);
      in.history.lengths.fill_(static_cast<std::int32_t>(kSamplingMaxHistory));
      in.history.prompt_lengths.fill_(100);
      for (const SamplerConfig& c : penalty_chains()) {
        EXPECT_TRUE(sampling_kernel_fits(c, kCuda, V, kSamplingMaxHistory)) << c.describe() << " V=" << V;
        expect_rows_match(c, in, type, "256k vocabulary");
      }
    }
  }
  // top_k reaching into the values ~32 nats below the max (which carry no mass).
  Inputs wide = random_inputs(256, 32000, at::kFloat, 81);
  wide.logits = wide.logits * 20.0;
  SamplerConfig c;
  c.top_k = 31000;
  expect_rows_match(c, wide, at::kFloat, "top_k into the massless tail");
  c.top_p = 0.999f;
  expect_rows_match(c, wide, at::kFloat, "top_k into the massless tail, then top_p");
}

// One batch, a different chain on every row (temperatures, top_k, top_p, min_p, penalties,
// greedy), against the CPU path of the same call.
TEST(SamplingKernel, RunsADifferentChainOnEveryRow) {
  REQUIRE_GPU();
  std::vector<SamplerConfig> chains = kernel_chains();
  for (const SamplerConfig& c : penalty_chains()) chains.push_back(c);
  SamplerConfig c;
  c.temperature = 0.5f;
  c.min_p = 0.1f;
  chains.push_back(c);
  c = SamplerConfig{};
  c.top_k = 1;
  chains.push_back(c);
  c = SamplerConfig{};
  c.temperature = 1.7f;
  c.top_p = 0.5f;
  c.presence_penalty = -0.5f;
  chains.push_back(c);
  c = SamplerConfig{};
  c.temperature = 0.0f;
  chains.push_back(c);
  const std::int64_t B = 700;
  std::vector<SamplerConfig> configs;
  for (std::int64_t r = 0; r < B; ++r) configs.push_back(chains[static_cast<std::size_t>(r * 7) % chains.size()]);
  for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
    const Inputs in = random_inputs(B, 32000, type, 71);
    expect_rows_match(configs, in, type, "per-row chains");
  }
}
