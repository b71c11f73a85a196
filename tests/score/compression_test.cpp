// Compression ratio: its byte accounting, and that repetition compresses where varied text does not.
#include <gtest/gtest.h>

#include <random>

#include "collapse/score/compression.h"

using namespace collapse;

TEST(CompressionRatio, IsRawOverCompressedBytesOfTheJoinedText) {
  const std::vector<std::string> docs{"the whale", "", "the sea"};
  EXPECT_EQ(compression_text(docs), "the whale\n\nthe sea") << "joined by newlines, none at the end";
  EXPECT_EQ(compression_text({}), "");
  const CompressionResult r = compression_ratio(docs);
  EXPECT_EQ(r.raw_bytes, 9 + 1 + 0 + 1 + 7);
  EXPECT_GT(r.compressed_bytes, 0);
  EXPECT_DOUBLE_EQ(r.ratio, static_cast<double>(r.raw_bytes) / static_cast<double>(r.compressed_bytes));
  EXPECT_EQ(r.level, kCompressionLevel);
  EXPECT_FALSE(r.zstd_version.empty());
}

TEST(CompressionRatio, IsZeroForNoText) {
  EXPECT_EQ(compression_ratio({}).ratio, 0.0);
  EXPECT_EQ(compression_ratio({""}).raw_bytes, 0);
}

TEST(CompressionRatio, RisesWithRepetition) {
  std::mt19937 rng(1);
  std::vector<std::string> varied, repeated;
  for (int d = 0; d < 200; ++d) {
    std::string doc;
    for (int c = 0; c < 200; ++c) doc += static_cast<char>('a' + std::uniform_int_distribution<int>(0, 25)(rng));
    varied.push_back(doc);
    repeated.push_back(varied.front());
  }
  const double v = compression_ratio(varied).ratio, r = compression_ratio(repeated).ratio;
  EXPECT_GT(v, 1.0);    // 26 letters in 8-bit bytes
  EXPECT_LT(v, 1.8);    // but random: about 8 / log2(26) = 1.70 at best
  EXPECT_GT(r, 50.0);   // 200 copies of one document
}

TEST(CompressionRatio, CompressesTheCorpusAsOneTextNotDocumentByDocument) {
  // The same bytes split into documents differently compress to the same size: one stream over
  // the joined text, so repetition across documents counts (as it must for a collapsed corpus).
  std::string one;
  std::vector<std::string> many;
  for (int d = 0; d < 50; ++d) {
    const std::string doc = "call me ishmael " + std::to_string(d % 5);
    many.push_back(doc);
    one += (d ? "\n" : "") + doc;
  }
  const CompressionResult split = compression_ratio(many), whole = compression_ratio({one});
  EXPECT_EQ(split.raw_bytes, whole.raw_bytes);
  EXPECT_EQ(split.compressed_bytes, whole.compressed_bytes);
  EXPECT_GT(split.ratio, 5.0) << "five distinct documents repeated ten times";
}
