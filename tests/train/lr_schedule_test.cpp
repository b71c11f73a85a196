#include <gtest/gtest.h>

#include "collapse/train/lr_schedule.h"

using collapse::LrSchedule;

TEST(LrSchedule, WarmsUpLinearlyToThePeak) {
  const LrSchedule s{.peak = 1.0, .floor_ratio = 0.1, .warmup = 4, .total = 20};
  EXPECT_DOUBLE_EQ(s.at(0), 0.25);
  EXPECT_DOUBLE_EQ(s.at(1), 0.5);
  EXPECT_DOUBLE_EQ(s.at(3), 1.0);
  EXPECT_DOUBLE_EQ(s.at(4), 1.0);  // first step of the decay is still the peak
}

TEST(LrSchedule, DecaysWithACosineToTheFloorAtTheLastStep) {
  const LrSchedule s{.peak = 2.0, .floor_ratio = 0.1, .warmup = 0, .total = 11};
  EXPECT_DOUBLE_EQ(s.at(0), 2.0);
  EXPECT_NEAR(s.at(5), 0.2 + 1.8 * 0.5, 1e-12);  // halfway
  EXPECT_DOUBLE_EQ(s.at(10), 0.2);
  for (int i = 1; i < 11; ++i) EXPECT_LT(s.at(i), s.at(i - 1));
}
