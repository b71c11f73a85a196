// GPU parity of the fused NLL kernel and the chunked path (kernels/nll.cuh) with the CPU
// reference, log_softmax + gather in fp32 (ctest label `gpu`; skipped without a CUDA device).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <cmath>
#include <limits>

#include "collapse/model/token_nll.h"

using namespace collapse;

#define REQUIRE_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to torch"

namespace {

at::Generator seeded(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// Every |actual - expected| <= rel * |expected| + abs. The absolute term is a few float ulps of
// logits of magnitude ~10: an NLL near 0 (a near-certain token) is the difference of two such
// numbers, and no fp32 computation gets it to a relative 1e-5.
void expect_relative(const at::Tensor& actual, const at::Tensor& expected, double rel,
                     double abs = 4e-6) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const at::Tensor a = actual.to(at::kCPU, at::kDouble), e = expected.to(at::kCPU, at::kDouble);
  EXPECT_FALSE(a.isnan().any().item<bool>());
  const double worst = ((a - e).abs() / (e.abs() * rel + abs)).max().item<double>();
  EXPECT_LE(worst, 1.0) << "worst difference is " << worst << " x (" << rel << " |expected| + " << abs << ")";
}

}  // namespace

TEST(NllKernel, Fp32MatchesTheCpuReference) {
  REQUIRE_GPU();
  // Vocabulary sizes that are and are not multiples of the vector width, up to a long row.
  for (std::int64_t V : {7, 1000, 32003, 131072}) {
    const std::int64_t N = V > 100000 ? 64 : 300;
    const at::Tensor logits = at::randn({N, V}, seeded(V)) * 3.0;
    const at::Tensor targets = at::randint(0, V, {N}, seeded(V + 1), at::TensorOptions().dtype(at::kLong));
    const at::Tensor expected = reference_token_nll(logits, targets);
    SCOPED_TRACE(testing::Message() << "vocab " << V);
    expect_relative(token_nll(logits.to(at::kCUDA), targets.to(at::kCUDA)), expected, 1e-5);
    expect_relative(token_nll(logits.to(at::kCUDA), targets.to(at::kInt).to(at::kCUDA)), expected, 1e-5);
  }
}

TEST(NllKernel, NearCertainTokensKeepTheirSmallNll) {
  REQUIRE_GPU();
  // Logits near 1000 (one ulp: 6e-5), the target the max and every other token 5 below it: the
  // NLL is ln(1 + (V - 1) e^-5), which (max - target) + ln(s) keeps to float rounding. Computing
  // lse - target instead loses it to an ulp of 1000 (relative error ~5e-3).
  for (std::int64_t V : {2, 1000, 32003}) {
    SCOPED_TRACE(testing::Message() << "vocab " << V);
    at::Tensor logits = at::full({4, V}, 995.0f);
    logits.select(1, V - 1).fill_(1000.0f);
    const at::Tensor targets = at::full({4}, V - 1, at::TensorOptions().dtype(at::kLong));
    const at::Tensor exact = at::full({4}, std::log1p(static_cast<double>(V - 1) * std::exp(-5.0)), at::kDouble);
    expect_relative(token_nll(logits.to(at::kCUDA), targets.to(at::kCUDA)), exact, 1e-5, 0.0);
    at::Tensor weight = at::zeros({V, 4});
    weight.select(1, 0).fill_(995.0f);
    weight[V - 1][0] = 1000.0f;
    at::Tensor hidden = at::zeros({4, 4});
    hidden.select(1, 0).fill_(1.0f);
    expect_relative(chunked_token_nll(hidden.to(at::kCUDA), weight.to(at::kCUDA), targets.to(at::kCUDA),
                                      std::max<std::int64_t>(V / 3, 1)),
                    exact, 1e-5, 0.0);
  }
}

TEST(NllKernel, AnyRowStrideAndAlignment) {
  REQUIRE_GPU();
  // Rows of 1001 logits inside rows of 1013, starting 3 elements in: no row is 16-byte aligned,
  // so every row takes the scalar head, the vector body and the scalar tail.
  const at::Tensor wide = at::randn({257, 1013}, seeded(5)) * 2.0;
  const at::Tensor logits = wide.narrow(1, 3, 1001);
  const at::Tensor targets = at::randint(0, 1001, {257}, seeded(6), at::TensorOptions().dtype(at::kLong));
  const at::Tensor expected = reference_token_nll(logits.contiguous(), targets);
  const at::Tensor gpu = wide.to(at::kCUDA).narrow(1, 3, 1001);
  ASSERT_EQ(gpu.stride(0), 1013);
  expect_relative(token_nll(gpu, targets.to(at::kCUDA)), expected, 1e-5);
  // Many rows (more blocks than one wave) and masked (-inf) logits.
  at::Tensor masked = at::randn({70000, 64}, seeded(7));
  masked.narrow(1, 0, 10).fill_(-std::numeric_limits<float>::infinity());
  const at::Tensor t = at::randint(10, 64, {70000}, seeded(8), at::TensorOptions().dtype(at::kLong));
  expect_relative(token_nll(masked.to(at::kCUDA), t.to(at::kCUDA)), reference_token_nll(masked, t), 1e-5);
}

TEST(NllKernel, Bf16LogitsWithin1e3OfTheReference) {
  REQUIRE_GPU();
  for (std::int64_t V : {8192, 32000 + 5}) {
    const at::Tensor logits = (at::randn({512, V}, seeded(V)) * 3.0).to(at::kBFloat16);
    const at::Tensor targets = at::randint(0, V, {512}, seeded(V + 2), at::TensorOptions().dtype(at::kLong));
    // The reference widens the same bf16 values to fp32.
    const at::Tensor expected = reference_token_nll(logits, targets);
    expect_relative(token_nll(logits.to(at::kCUDA), targets.to(at::kCUDA)), expected, 1e-3);
  }
}

TEST(NllKernel, ChunkedPathOnCudaMatchesTheCpuReference) {
  REQUIRE_GPU();
  const std::int64_t N = 1000, d = 64, V = 32000 + 7;
  const at::Tensor hidden = at::randn({N, d}, seeded(9));
  const at::Tensor weight = at::randn({V, d}, seeded(10)) * 0.25;
  const at::Tensor targets = at::randint(0, V, {N}, seeded(11), at::TensorOptions().dtype(at::kLong));
  const at::Tensor expected = reference_token_nll(at::mm(hidden, weight.t()), targets);
  const at::Tensor h = hidden.to(at::kCUDA), w = weight.to(at::kCUDA), t = targets.to(at::kCUDA);
  for (std::int64_t chunk : {kDefaultVocabChunk, std::int64_t{1000}, std::int64_t{4093}, V}) {
    for (std::int64_t rows : {std::int64_t{0}, std::int64_t{129}}) {
      SCOPED_TRACE(testing::Message() << "vocab_chunk " << chunk << " row_block " << rows);
      expect_relative(chunked_token_nll(h, w, t, chunk, rows), expected, 1e-5);
    }
  }
}
