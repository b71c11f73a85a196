// The real side of precision/recall: windows of the test documents shaped like the synthetic ones.
#include <gtest/gtest.h>

#include "collapse/score/feature_windows.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

std::vector<std::int32_t> iota(std::int32_t from, std::int32_t n) {
  std::vector<std::int32_t> v;
  for (std::int32_t i = 0; i < n; ++i) v.push_back(from + i);
  return v;
}

std::vector<std::vector<std::int32_t>> docs_of(const TokenCorpus& c) {
  std::vector<std::vector<std::int32_t>> out;
  for (std::int64_t d = 0; d < c.documents(); ++d) out.emplace_back(c.document(d).begin(), c.document(d).end());
  return out;
}

}  // namespace

TEST(FeatureWindows, CutsDocumentsIntoConsecutiveWindowsAndDropsShortRemainders) {
  // 10 tokens -> windows [0,4) [4,8), remainder 8..9 dropped; 3 tokens -> one short window.
  const TokenCorpus real({iota(0, 10), iota(100, 3), {}});
  const FeatureWindows w = feature_windows(real, 4, 100);
  EXPECT_EQ(w.available, 3);
  EXPECT_EQ(docs_of(w.windows), (std::vector<std::vector<std::int32_t>>{
                                    {0, 1, 2, 3}, {4, 5, 6, 7}, {100, 101, 102}}));
}

TEST(FeatureWindows, TakesCountWindowsEvenlySpacedInCorpusOrder) {
  const TokenCorpus real({iota(0, 20)});  // windows of 2: starts 0, 2, ..., 18 (W = 10)
  const FeatureWindows w = feature_windows(real, 2, 4);
  EXPECT_EQ(w.available, 10);
  // floor(i * 10 / 4) = 0, 2, 5, 7
  EXPECT_EQ(docs_of(w.windows), (std::vector<std::vector<std::int32_t>>{{0, 1}, {4, 5}, {10, 11}, {14, 15}}));
  EXPECT_EQ(feature_windows(real, 2, 0).windows.documents(), 0);
  EXPECT_THROW(feature_windows(real, 0, 4), Error);
  EXPECT_THROW(feature_windows(real, 2, -1), Error);
}

TEST(FeatureWindows, TheMatchingLengthIsTheMedianSyntheticLengthWithinBounds) {
  EXPECT_EQ(matching_window_length(TokenCorpus({iota(0, 5), iota(0, 9), iota(0, 7)}), 100), 7);
  EXPECT_EQ(matching_window_length(TokenCorpus({iota(0, 4), iota(0, 8)}), 100), 4) << "lower middle";
  EXPECT_EQ(matching_window_length(TokenCorpus({iota(0, 500)}), 127), 127);
  EXPECT_EQ(matching_window_length(TokenCorpus({{}, {}}), 127), 1);
  EXPECT_EQ(matching_window_length(TokenCorpus(), 127), 127);
}
