#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "collapse/data/split.h"
#include "collapse/util/error.h"

using collapse::split_documents;

TEST(Split, PartitionsEveryDocumentExactlyOnce) {
  const auto s = split_documents(233, 0.05, 0.05, 0);
  std::set<std::int64_t> all;
  for (const auto* part : {&s.train, &s.valid, &s.test}) {
    EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
    all.insert(part->begin(), part->end());
  }
  EXPECT_EQ(all.size(), 233u);
  EXPECT_EQ(s.train.size() + s.valid.size() + s.test.size(), 233u);
  EXPECT_EQ(s.test.size(), 12u);   // round(0.05 * 233)
  EXPECT_EQ(s.valid.size(), 12u);
}

TEST(Split, IsAPureFunctionOfTheSeed) {
  const auto a = split_documents(100, 0.1, 0.1, 7), b = split_documents(100, 0.1, 0.1, 7);
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.valid, b.valid);
  const auto c = split_documents(100, 0.1, 0.1, 8);
  EXPECT_NE(a.test, c.test);
}

TEST(Split, GivesSmallCorporaAtLeastOneHeldOutDocument) {
  const auto s = split_documents(5, 0.05, 0.05, 0);
  EXPECT_EQ(s.test.size(), 1u);
  EXPECT_EQ(s.valid.size(), 1u);
  EXPECT_EQ(s.train.size(), 3u);
}

TEST(Split, RefusesSplitsThatLeaveNothingToTrainOn) {
  EXPECT_THROW(split_documents(2, 0.05, 0.05, 0), collapse::Error);
  EXPECT_THROW(split_documents(100, 0.5, 0.6, 0), collapse::Error);
  EXPECT_THROW(split_documents(100, -0.1, 0.1, 0), collapse::Error);
  EXPECT_THROW(split_documents(100, 0.1, 1.0, 0), collapse::Error);
}
