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
