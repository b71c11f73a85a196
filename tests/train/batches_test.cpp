#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <numeric>

#include "collapse/train/batches.h"
#include "collapse/util/error.h"

using namespace collapse;

TEST(TrainingWindows, AreContiguousSlicesOfTheStream) {
  std::vector<std::int32_t> stream(1000);
  std::iota(stream.begin(), stream.end(), 0);
  const at::Tensor w = training_windows(stream, 16, 8, 3, 0, 42);
  EXPECT_EQ(w.sizes(), (std::vector<std::int64_t>{8, 17}));
  for (std::int64_t r = 0; r < 8; ++r) {
    const std::int64_t start = w[r][0].item<std::int64_t>();
    EXPECT_LE(start + 16, 999);
    for (std::int64_t j = 0; j <= 16; ++j) EXPECT_EQ(w[r][j].item<std::int64_t>(), start + j);
  }
}

TEST(TrainingWindows, DependOnlyOnSeedStepMicroBatchAndRow) {
  std::vector<std::int32_t> stream(5000);
  std::iota(stream.begin(), stream.end(), 0);
  const at::Tensor a = training_windows(stream, 8, 4, 10, 1, 7);
  EXPECT_TRUE(at::equal(a, training_windows(stream, 8, 4, 10, 1, 7)));
  // Asking for more rows extends the batch without changing the first rows.
  EXPECT_TRUE(at::equal(a, training_windows(stream, 8, 6, 10, 1, 7).narrow(0, 0, 4)));
  EXPECT_FALSE(at::equal(a, training_windows(stream, 8, 4, 11, 1, 7)));
  EXPECT_FALSE(at::equal(a, training_windows(stream, 8, 4, 10, 0, 7)));
  EXPECT_FALSE(at::equal(a, training_windows(stream, 8, 4, 10, 1, 8)));
}

TEST(TrainingWindows, NeedAStreamLongerThanOneWindow) {
  const std::vector<std::int32_t> stream(16, 0);
  EXPECT_THROW(training_windows(stream, 16, 1, 0, 0, 0), Error);
}

TEST(SourceWeights, WeighEachTargetTokenByWhereItLiesInTheStream) {
  // Real documents end at stream position 100: a target at 99 is real, at 100 synthetic.
  const std::vector<std::int64_t> starts{0, 95, 200};
  const at::Tensor w = source_weights(starts, 8, 100, 2.0, 0.5);
  EXPECT_EQ(w.sizes(), (std::vector<std::int64_t>{3, 8}));
  for (std::int64_t j = 0; j < 8; ++j) {
    EXPECT_EQ(w[0][j].item<float>(), 2.0f);                            // targets 1..8
    EXPECT_EQ(w[1][j].item<float>(), 95 + 1 + j < 100 ? 2.0f : 0.5f);  // targets 96..103
    EXPECT_EQ(w[2][j].item<float>(), 0.5f);
  }
}

TEST(WeightedTokenLoss, IsTheMeanLossWithUnitWeightsAndTheRealTokensAloneWithWeightsOneAndZero) {
  const at::Tensor logits = at::randn({12, 50}, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor targets = at::randint(50, {12}, at::TensorOptions().dtype(at::kLong));
  const at::Tensor nll = at::cross_entropy_loss(logits, targets, {}, at::Reduction::None);
  const at::Tensor ones = at::ones({12});
  EXPECT_NEAR(weighted_token_loss(logits, targets, ones).item<double>(),
              at::cross_entropy_loss(logits, targets).item<double>(), 1e-6);
  // Weights (1, 0) with the first 5 tokens real: the real tokens' summed NLL over all 12 tokens.
  at::Tensor real_only = at::zeros({12});
  real_only.narrow(0, 0, 5).fill_(1.0);
  EXPECT_NEAR(weighted_token_loss(logits, targets, real_only).item<double>(),
              nll.narrow(0, 0, 5).sum().item<double>() / 12.0, 1e-6);
  // A batch with no real token under weights (1, 0): 0, not NaN.
  EXPECT_EQ(weighted_token_loss(logits, targets, at::zeros({12})).item<double>(), 0.0);
  // The two sources' losses add up to the unweighted one.
  EXPECT_NEAR(weighted_token_loss(logits, targets, real_only).item<double>() +
                  weighted_token_loss(logits, targets, 1.0 - real_only).item<double>(),
              at::cross_entropy_loss(logits, targets).item<double>(), 1e-6);
}
