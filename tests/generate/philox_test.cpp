#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "collapse/generate/philox.h"

using namespace collapse;

namespace {
void expect_words(const Philox4x32& out, std::uint32_t a, std::uint32_t b, std::uint32_t c,
                  std::uint32_t d) {
  EXPECT_EQ(out.v[0], a);
  EXPECT_EQ(out.v[1], b);
  EXPECT_EQ(out.v[2], c);
  EXPECT_EQ(out.v[3], d);
}
}  // namespace

// The known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
TEST(Philox, MatchesRandom123KnownAnswersForZeros) {
  expect_words(philox4x32_10(Philox4x32{{0, 0, 0, 0}}, 0, 0), 0x6627e8d5u, 0xe169c58du,
               0xbc57ac4cu, 0x9b00dbd8u);
}

TEST(Philox, MatchesRandom123KnownAnswersForAllOnes) {
  const std::uint32_t f = 0xffffffffu;
  expect_words(philox4x32_10(Philox4x32{{f, f, f, f}}, f, f), 0x408f276du, 0x41c83b0eu,
               0xa20bc7c6u, 0x6d5451fdu);
}

TEST(Philox, MatchesRandom123KnownAnswersForPiDigits) {
  expect_words(philox4x32_10(Philox4x32{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                             0xa4093822u, 0x299f31d0u),
               0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

TEST(Philox, SamplingUniformIsTwoWordsMappedIntoTheOpenUnitIntervalWith53Bits) {
  const std::uint64_t seed = 0x0123456789abcdefull, document = 0x1122334455667788ull;
  const std::uint64_t position = 41;
  const Philox4x32 out = philox4x32_10(
      Philox4x32{{41u, 0x55667788u, 0x11223344u, 0u}}, 0x89abcdefu, 0x01234567u);
  const double u = sampling_uniform(seed, document, position);
  // (k + 0.5) / 2^52 for k = the first word's 32 bits, then the second's top 20, exactly.
  const double k = static_cast<double>(out.v[0]) * 1048576.0 + static_cast<double>(out.v[1] >> 12);
  EXPECT_EQ(u * 4503599627370496.0, k + 0.5);
  // The extremes stay strictly inside (0, 1): k + 0.5 is exact in double for every k < 2^52.
  const double top = (4503599627370495.0 + 0.5) / 4503599627370496.0;
  EXPECT_LT(top, 1.0);
  EXPECT_GT(0.5 / 4503599627370496.0, 0.0);
}

TEST(Philox, UniformsResolveProbabilitiesFarBelowTwoToTheMinus23) {
  // The tail matters: with 23 bits every uniform was a multiple of 2^-24, so a token whose
  // cumulative interval is narrower than that could be skipped. Here the low 29 bits of k vary.
  std::set<std::uint64_t> low_bits;
  for (int i = 0; i < 1000; ++i) {
    const double u = sampling_uniform(11, static_cast<std::uint64_t>(i), 0);
    const auto k = static_cast<std::uint64_t>(u * 4503599627370496.0);  // exact: u = (k + 0.5) 2^-52
    low_bits.insert(k & ((1ull << 29) - 1));
  }
  EXPECT_GT(low_bits.size(), 990u);
}

TEST(Philox, UniformsLieStrictlyInsideTheUnitIntervalAndDifferAcrossCounters) {
  std::set<double> seen;
  double sum = 0.0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double u = sampling_uniform(7, static_cast<std::uint64_t>(i % 100), i / 100);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    seen.insert(u);
    sum += u;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));  // 2^52 values: no collisions expected
  EXPECT_NEAR(sum / n, 0.5, 0.01);                       // 5 standard errors is 0.01
  EXPECT_EQ(sampling_uniform(7, 3, 5), sampling_uniform(7, 3, 5));
  EXPECT_NE(sampling_uniform(7, 3, 5), sampling_uniform(8, 3, 5));
  EXPECT_NE(sampling_uniform(7, 3, 5), sampling_uniform(7, 3ull << 32, 5));
}
