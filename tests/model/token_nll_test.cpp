#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "collapse/model/token_nll.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

at::Generator seeded(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// Every |actual - expected| <= rel * |expected|; returns the worst ratio for the message.
void expect_relative(const at::Tensor& actual, const at::Tensor& expected, double rel) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const at::Tensor a = actual.to(at::kDouble), e = expected.to(at::kDouble);
  const double worst = ((a - e).abs() / e.abs()).max().item<double>();
  EXPECT_LE(worst, rel) << "worst relative difference " << worst;
}

}  // namespace

TEST(TokenNll, ReferenceIsLogSoftmaxAndGather) {
  // Two tokens over a vocabulary of 3, by hand: nll = logsumexp(row) - row[target].
  const at::Tensor logits = at::tensor({0.0, 0.0, 0.0, 1.0, 2.0, 3.0}, at::kFloat).view({2, 3});
  const at::Tensor nll = token_nll(logits, at::tensor({1, 2}, at::kLong));
  EXPECT_NEAR(nll[0].item<double>(), std::log(3.0), 1e-6);
  EXPECT_NEAR(nll[1].item<double>(), std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0, 1e-6);
  // int32 targets, rows with a stride wider than the vocabulary, bf16 input (widened first).
  const at::Tensor wide = at::randn({5, 12}, seeded(1)), narrow = wide.narrow(1, 0, 9);
  const at::Tensor t = at::tensor({0, 8, 3, 4, 1}, at::kInt);
  expect_relative(token_nll(narrow, t), reference_token_nll(narrow.contiguous(), t.to(at::kLong)), 1e-7);
  expect_relative(token_nll(narrow.to(at::kBFloat16), t),
                  reference_token_nll(narrow.to(at::kBFloat16).to(at::kFloat), t), 1e-7);
  EXPECT_THROW(token_nll(narrow, at::tensor({0, 9, 3, 4, 1}, at::kLong)), Error);
  EXPECT_THROW(token_nll(narrow, at::tensor({0, -1, 3, 4, 1}, at::kLong)), Error);
  EXPECT_THROW(token_nll(narrow, at::tensor({0, 1}, at::kLong)), Error);
}

TEST(TokenNll, ChunkedEqualsLogSoftmaxGatherForEveryChunkSize) {
  const std::int64_t N = 37, d = 16, V = 1000;
  const at::Tensor hidden = at::randn({N, d}, seeded(2));
  const at::Tensor weight = at::randn({V, d}, seeded(3)) * 0.5;  // logits of std ~2
  const at::Tensor targets = at::randint(0, V, {N}, seeded(4), at::TensorOptions().dtype(at::kLong));
  const at::Tensor expected = reference_token_nll(at::mm(hidden, weight.t()), targets);
  // One chunk, chunks dividing the vocabulary, chunks that do not (333, 7, 1), one larger than it.
  for (std::int64_t chunk : std::vector<std::int64_t>{V, 250, 333, 7, 1, 5000}) {
    for (std::int64_t rows : {0, 1, 5, 100}) {
      SCOPED_TRACE(testing::Message() << "vocab_chunk " << chunk << " row_block " << rows);
      expect_relative(chunked_token_nll(hidden, weight, targets, chunk, rows), expected, 1e-5);
    }
  }
  // int32 targets, bf16 hidden states (computed in fp32 after widening).
  expect_relative(chunked_token_nll(hidden, weight, targets.to(at::kInt), 300), expected, 1e-5);
  const at::Tensor h16 = hidden.to(at::kBFloat16);
  expect_relative(chunked_token_nll(h16, weight, targets, 300),
                  reference_token_nll(at::mm(h16.to(at::kFloat), weight.t()), targets), 1e-5);
  EXPECT_EQ(chunked_token_nll(hidden.narrow(0, 0, 0), weight, targets.narrow(0, 0, 0)).numel(), 0);
  EXPECT_THROW(chunked_token_nll(hidden, weight, targets.narrow(0, 0, 5)), Error);
  EXPECT_THROW(chunked_token_nll(hidden, weight.narrow(1, 0, 8), targets), Error);
  EXPECT_THROW(chunked_token_nll(hidden, weight, targets + V), Error);
  EXPECT_THROW(chunked_token_nll(hidden, weight, targets, 0), Error);
}

TEST(TokenNll, ConfidentTokensKeepTheirSmallNllNextToLargeLogits) {
  // Logits near 1000, where one float ulp is 6e-5: the target is the max, the other tokens 5
  // below it, so the NLL is ln(1 + (V - 1) e^-5), 0.0067 for V = 2. Computed as (max - target) +
  // ln(s) it is exact to float rounding; as lse - target it would be off by up to half an ulp of
  // 1000, a relative error of 5e-3.
  for (std::int64_t V : {2, 10, 1000}) {
    SCOPED_TRACE(testing::Message() << "vocab " << V);
    const double exact = std::log1p(static_cast<double>(V - 1) * std::exp(-5.0));
    at::Tensor weight = at::zeros({V, 4});
    weight.select(1, 0).fill_(995.0);
    weight[V - 1][0] = 1000.0;
    at::Tensor hidden = at::zeros({3, 4});
    hidden.select(1, 0).fill_(1.0);
    const at::Tensor targets = at::full({3}, V - 1, at::TensorOptions().dtype(at::kLong));
    for (std::int64_t chunk : {V, std::max<std::int64_t>(V / 3, 1)}) {
      const at::Tensor nll = chunked_token_nll(hidden, weight, targets, chunk);
      for (std::int64_t r = 0; r < 3; ++r) EXPECT_NEAR(nll[r].item<double>(), exact, 1e-6 * exact);
    }
    const at::Tensor direct = token_nll(at::mm(hidden, weight.t()), targets);
    EXPECT_NEAR(direct[0].item<double>(), exact, 1e-6 * exact);
  }
}
