// The diversity and distribution metrics on tiny corpora whose values are derived by hand, and
// the CPU n-gram engine against a direct count (std::map of id vectors) on random corpora.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <random>

#include "collapse/util/error.h"
#include "ngram_key.h"
#include "collapse/score/ngram_metrics.h"

using namespace collapse;

namespace {

using Docs = std::vector<std::vector<std::int32_t>>;
using Gram = std::vector<std::int32_t>;
constexpr std::array<int, 4> kOrders{1, 2, 3, 4};

NgramStats stats(const Docs& docs, int n) { return ngram_stats(TokenCorpus(docs), std::array{n})[0]; }

std::map<Gram, std::int64_t> direct_counts(const Docs& docs, int n) {
  std::map<Gram, std::int64_t> counts;
  for (const auto& d : docs) {
    for (std::size_t i = 0; i + n <= d.size(); ++i) ++counts[Gram(d.begin() + i, d.begin() + i + n)];
  }
  return counts;
}

Docs random_docs(std::uint32_t seed, int count, int max_len, int vocab, std::int32_t id_offset = 0) {
  std::mt19937 rng(seed);
  Docs docs(count);
  for (auto& d : docs) {
    d.resize(std::uniform_int_distribution<int>(0, max_len)(rng));
    for (auto& t : d) t = id_offset + std::uniform_int_distribution<int>(0, vocab - 1)(rng);
  }
  return docs;
}

CoverageCounts coverage_of(const Docs& reference, const Docs& synthetic, int n) {
  return ngram_coverage(TokenCorpus(reference), TokenCorpus(synthetic), std::array{n})[0];
}

}  // namespace

TEST(TokenCorpus, HoldsDocumentsFlat) {
  const TokenCorpus c(Docs{{1, 2, 3}, {}, {4}});
  EXPECT_EQ(c.documents(), 3);
  EXPECT_EQ(c.size(), 4);
  EXPECT_EQ(c.offsets, (std::vector<std::int64_t>{0, 3, 3, 4}));
  EXPECT_EQ(c.windows(1), 4);
  EXPECT_EQ(c.windows(2), 2);
  EXPECT_EQ(c.windows(4), 0);
  EXPECT_EQ(c.max_id(), 4);
  const std::vector<std::int64_t> pick{2, 0};
  EXPECT_EQ(c.subset(pick).tokens, (std::vector<std::int32_t>{4, 1, 2, 3}));
  EXPECT_THROW(TokenCorpus(Docs{{1, -1}}), Error);
}

TEST(NgramKey, PacksIdsWhenTheyFitAndHashesOtherwise) {
  const std::int32_t w[4] = {1, 2, 3, 4};
  EXPECT_EQ(ngram_id_bits(0), 1);
  EXPECT_EQ(ngram_id_bits(8191), 13);
  EXPECT_EQ(ngram_id_bits(65535), 16);
  EXPECT_EQ(ngram_id_bits(65536), 17);
  EXPECT_EQ(ngram_key(w, 2, 16), (1ull << 16) | 2u);
  EXPECT_EQ(ngram_key(w, 4, 16), (1ull << 48) | (2ull << 32) | (3ull << 16) | 4u);
  EXPECT_TRUE(ngram_key_is_exact(4, 16));
  EXPECT_FALSE(ngram_key_is_exact(4, 17));
  const std::int32_t v[4] = {1, 2, 4, 3};
  EXPECT_NE(ngram_key(w, 4, 17), ngram_key(v, 4, 17));
  EXPECT_EQ(ngram_key_bits(4, 17), 64);
}

TEST(DistinctN, CountsUniqueOverTotalWithinDocuments) {
  const Docs d{{1, 2, 1, 2}, {1, 2}};
  // 1-grams: 6, distinct {1, 2}.
  EXPECT_DOUBLE_EQ(distinct_n(stats(d, 1)), 2.0 / 6);
  // 2-grams: (1 2) (2 1) (1 2) | (1 2): 4, distinct 2. Joining the documents would add (2 1).
  const NgramStats s2 = stats(d, 2);
  EXPECT_EQ(s2.total, 4);
  EXPECT_EQ(s2.unique, 2);
  EXPECT_EQ(s2.histogram, (std::vector<CountMultiplicity>{{1, 1}, {3, 1}}));
  EXPECT_DOUBLE_EQ(distinct_n(s2), 0.5);
  // 3-grams: (1 2 1) (2 1 2) only; 4-grams: (1 2 1 2).
  EXPECT_DOUBLE_EQ(distinct_n(stats(d, 3)), 1.0);
  EXPECT_EQ(stats(d, 4).total, 1);
}

TEST(DistinctN, NeverJoinsDocuments) {
  const NgramStats s = stats(Docs{{1, 2}, {3, 4}}, 2);
  EXPECT_EQ(s.total, 2);
  EXPECT_EQ(s.unique, 2);
  EXPECT_EQ(stats(Docs{{1, 2}, {3, 4}}, 3).total, 0);
}

TEST(DistinctN, IsZeroWithoutNgrams) {
  const Docs d{{}, {5}, {}};
  EXPECT_EQ(distinct_n(stats(d, 2)), 0.0);
  EXPECT_EQ(ngram_entropy(stats(d, 2)), 0.0);
  EXPECT_DOUBLE_EQ(distinct_n(stats(d, 1)), 1.0);
  EXPECT_EQ(ngram_entropy(stats(d, 1)), 0.0);
  EXPECT_EQ(distinct_n(stats(Docs{}, 1)), 0.0);
  EXPECT_THROW(stats(d, 5), Error);
  EXPECT_THROW(stats(d, 0), Error);
}

TEST(NgramEntropy, IsTheEmpiricalEntropyInBits) {
  const Docs d{{1, 2, 1, 2}, {1, 2}};
  EXPECT_DOUBLE_EQ(ngram_entropy(stats(d, 1)), 1.0);  // 1 and 2 three times each
  // 2-grams (1 2) x3, (2 1) x1.
  EXPECT_NEAR(ngram_entropy(stats(d, 2)), -(0.75 * std::log2(0.75) + 0.25 * std::log2(0.25)), 1e-15);
  EXPECT_NEAR(ngram_entropy(stats(Docs{{1, 2, 3, 4, 5, 6, 7, 8}}, 1)), 3.0, 1e-15);
  EXPECT_EQ(ngram_entropy(stats(Docs{{7, 7, 7, 7}}, 1)), 0.0);
}

TEST(NgramEngine, CountsLikeADirectCount) {
  // 13-bit ids (packed keys) and 17-bit ids (4-grams identified by their ids, not a packed key).
  for (const std::int32_t offset : {0, 100000}) {
    const Docs docs = random_docs(5, 200, 30, 6, offset);
    const auto all = ngram_stats(TokenCorpus(docs), kOrders);
    for (int n : kOrders) {
      const auto direct = direct_counts(docs, n);
      std::map<std::int64_t, std::int64_t> histogram;
      std::int64_t total = 0;
      for (const auto& [gram, c] : direct) ++histogram[c], total += c;
      const NgramStats& s = all[n - 1];
      EXPECT_EQ(s.n, n);
      EXPECT_EQ(s.total, total) << "offset " << offset << " n " << n;
      EXPECT_EQ(s.unique, static_cast<std::int64_t>(direct.size()));
      std::vector<CountMultiplicity> expected;
      for (const auto& [c, m] : histogram) expected.push_back({c, m});
      EXPECT_EQ(s.histogram, expected);
    }
  }
}

TEST(NgramEngine, ReferenceKeysAreTheSortedDistinctKeys) {
  const Docs docs = random_docs(6, 50, 20, 300);
  const TokenCorpus corpus(docs);
  for (int bits : {9, 20}) {  // packed, and hashed for n >= 4 (4 x 20 > 64)
    for (int n : kOrders) {
      std::map<std::uint64_t, std::uint32_t> expected;
      for (const auto& [gram, c] : direct_counts(docs, n)) {
        expected[ngram_key(gram.data(), n, bits)] += static_cast<std::uint32_t>(c);
      }
      const auto got = reference::ngram_counts(corpus, n, bits);
      ASSERT_EQ(got.keys.size(), expected.size());
      std::size_t i = 0;
      for (const auto& [key, c] : expected) {
        EXPECT_EQ(got.keys[i], key);
        EXPECT_EQ(got.counts[i], c);
        ++i;
      }
    }
  }
}

TEST(Coverage, CountsTheReferencesDistinctNgramsFoundInTheSynthetic) {
  // Reference unigrams: 1 x5, 2 x3, and 3..20 once each: 20 distinct, the top floor(2.0) = 2 are
  // frequent (1 and 2), the 18 singletons are rare.
  std::vector<std::int32_t> ref{1, 1, 1, 1, 1, 2, 2, 2};
  for (std::int32_t t = 3; t <= 20; ++t) ref.push_back(t);
  const CoverageCounts c = coverage_of(Docs{ref}, Docs{{1, 3}, {4, 99}}, 1);
  EXPECT_EQ(c.reference_distinct, 20);
  EXPECT_EQ(c.covered, 3);
  EXPECT_EQ(c.rare_distinct, 18);
  EXPECT_EQ(c.rare_covered, 2);
  EXPECT_DOUBLE_EQ(coverage(c), 3.0 / 20);
  EXPECT_DOUBLE_EQ(rare_coverage(c), 2.0 / 18);
}

TEST(Coverage, BreaksRankTiesByAscendingIds) {
  // Ten singletons: the frequent one (floor(10 * 10%) = 1) is the smallest n-gram, id 1.
  const Docs ref{{5, 3, 9, 1, 7, 2, 8, 4, 6, 10}};
  const CoverageCounts with_1 = coverage_of(ref, Docs{{1}}, 1);
  EXPECT_EQ(with_1.covered, 1);
  EXPECT_EQ(with_1.rare_distinct, 9);
  EXPECT_EQ(with_1.rare_covered, 0);
  EXPECT_EQ(coverage_of(ref, Docs{{2}}, 1).rare_covered, 1);
  // Fewer than 10 distinct: nothing is frequent, every n-gram is rare.
  const CoverageCounts small = coverage_of(Docs{{1, 1, 1, 2}}, Docs{{1}}, 1);
  EXPECT_EQ(small.rare_distinct, 2);
  EXPECT_EQ(small.rare_covered, 1);
}

TEST(Coverage, UsesWithinDocumentNgramsOnBothSides) {
  const Docs ref{{1, 2}, {3, 4}};
  EXPECT_DOUBLE_EQ(coverage(coverage_of(ref, Docs{{1, 2, 3, 4}}, 2)), 1.0);
  EXPECT_EQ(coverage(coverage_of(ref, Docs{{1}, {2, 3}, {4}}, 2)), 0.0);
  // (2 3) exists only across the reference's boundary: not one of its n-grams.
  EXPECT_EQ(coverage_of(ref, Docs{{2, 3}}, 2).reference_distinct, 2);
  EXPECT_EQ(coverage(coverage_of(Docs{{1}}, Docs{{1}}, 2)), 0.0);  // no reference bigram
}

TEST(Coverage, EqualsADirectComputation) {
  for (const std::int32_t offset : {0, 100000}) {
    const Docs ref = random_docs(7, 150, 25, 5, offset), syn = random_docs(8, 120, 25, 6, offset);
    const auto all = ngram_coverage(TokenCorpus(ref), TokenCorpus(syn), kOrders);
    for (int n : kOrders) {
      const auto rc = direct_counts(ref, n), sc = direct_counts(syn, n);
      // Rank: count descending, then the n-gram key ascending (ids order where keys pack, here
      // n * 3 bits; with 17-bit ids, 4-gram keys are hashes).
      std::int32_t largest = 0;
      for (const Docs* docs : {&ref, &syn}) {
        for (const auto& d : *docs) {
          for (std::int32_t t : d) largest = std::max(largest, t);
        }
      }
      const int bits = ngram_id_bits(largest);
      std::vector<std::tuple<std::int64_t, std::uint64_t, Gram>> ranked;
      for (const auto& [gram, c] : rc) ranked.emplace_back(-c, ngram_key(gram.data(), n, bits), gram);
      std::sort(ranked.begin(), ranked.end());
      const std::size_t top = ranked.size() / 10;
      CoverageCounts expected;
      expected.n = n;
      expected.reference_distinct = static_cast<std::int64_t>(ranked.size());
      for (std::size_t i = 0; i < ranked.size(); ++i) {
        const bool present = sc.count(std::get<2>(ranked[i])) > 0;
        expected.covered += present;
        expected.rare_distinct += i >= top;
        expected.rare_covered += present && i >= top;
      }
      EXPECT_EQ(all[n - 1], expected) << "offset " << offset << " n " << n;
    }
  }
}

TEST(UnigramKl, IsLaplaceSmoothedOverTheUnionVocabularyInBits) {
  // real 1 1 2, synthetic 1 3; U = {1, 2, 3}: P = (3, 2, 1) / 6, Q = (2, 1, 2) / 5.
  const double expected = 0.5 * std::log2(0.5 / 0.4) + (1.0 / 3) * std::log2((1.0 / 3) / 0.2) +
                          (1.0 / 6) * std::log2((1.0 / 6) / 0.4);
  EXPECT_NEAR(unigram_kl(TokenCorpus(Docs{{1, 1}, {2}}), TokenCorpus(Docs{{1, 3}})), expected, 1e-15);
  EXPECT_EQ(unigram_kl(TokenCorpus(Docs{{4, 5, 4}}), TokenCorpus(Docs{{5, 4}, {4}})), 0.0);
  EXPECT_EQ(unigram_kl(TokenCorpus(Docs{}), TokenCorpus(Docs{})), 0.0);
  // An empty synthetic corpus is uniform over U = {1, 2}: P = (1 + 1, 2 + 1) / 5, Q = (1, 1) / 2.
  EXPECT_NEAR(unigram_kl(TokenCorpus(Docs{{1, 2, 2}}), TokenCorpus(Docs{{}})),
              0.4 * std::log2(0.8) + 0.6 * std::log2(1.2), 1e-15);
  EXPECT_THROW(unigram_kl(TokenCorpus(Docs{{1}}), TokenCorpus(Docs{{1}}), 0.0), Error);
}

TEST(UnigramJs, IsTheUnsmoothedJensenShannonDivergenceInBits) {
  // P = (2/3, 1/3, 0), Q = (1/2, 0, 1/2), M = (7/12, 1/6, 1/4).
  const double expected =
      0.5 * ((2.0 / 3) * std::log2((2.0 / 3) / (7.0 / 12)) + (1.0 / 3) * std::log2(2.0)) +
      0.5 * (0.5 * std::log2(0.5 / (7.0 / 12)) + 0.5 * std::log2(2.0));
  EXPECT_NEAR(unigram_js(TokenCorpus(Docs{{1, 1, 2}}), TokenCorpus(Docs{{1}, {3}})), expected, 1e-15);
  EXPECT_EQ(unigram_js(TokenCorpus(Docs{{1, 2}}), TokenCorpus(Docs{{2, 1}})), 0.0);
  EXPECT_DOUBLE_EQ(unigram_js(TokenCorpus(Docs{{1, 2}}), TokenCorpus(Docs{{3, 3, 4}})), 1.0);
  EXPECT_EQ(unigram_js(TokenCorpus(Docs{}), TokenCorpus(Docs{})), 0.0);
}

TEST(ZipfExponent, IsTheNegatedLogLogSlope) {
  // Counts 840 / r for r = 1..8: exactly Zipf with exponent 1.
  std::vector<std::int32_t> doc;
  for (std::int32_t r = 1; r <= 8; ++r) doc.insert(doc.end(), 840 / r, r + 10);
  const ZipfFit fit = zipf_exponent(TokenCorpus(Docs{doc}));
  EXPECT_EQ(fit.ranks, 8);
  EXPECT_NEAR(fit.exponent, 1.0, 1e-12);
  // The fit stops at max_rank: a tail of singletons beyond rank 8 is ignored.
  for (std::int32_t t = 100; t < 140; ++t) doc.push_back(t);
  EXPECT_NEAR(zipf_exponent(TokenCorpus(Docs{doc}), 8).exponent, 1.0, 1e-12);
  EXPECT_GT(zipf_exponent(TokenCorpus(Docs{doc})).exponent, 1.0);  // the flat tail steepens it
  // Counts 8 / r^2 (8, 2): exponent 2 from two ranks.
  EXPECT_NEAR(zipf_exponent(TokenCorpus(Docs{{1, 1, 1, 1, 1, 1, 1, 1, 2, 2}})).exponent, 2.0, 1e-12);
  EXPECT_EQ(zipf_exponent(TokenCorpus(Docs{{3, 3, 3}})).ranks, 1);
  EXPECT_EQ(zipf_exponent(TokenCorpus(Docs{{3, 3, 3}})).exponent, 0.0);
  EXPECT_THROW(zipf_exponent(TokenCorpus(Docs{{1}}), 1), Error);
}

TEST(BleuMatches, EqualTheDefinitionWithEveryOtherReference) {
  for (const std::int32_t offset : {0, 100000}) {
    const Docs docs = random_docs(9, 60, 14, 4, offset);
    const TokenCorpus corpus(docs);
    BleuRoles roles;
    // Odd documents are references, every third a hypothesis: roles that differ per document.
    for (std::size_t d = 0; d < docs.size(); ++d) {
      roles.is_reference.push_back(d % 2);
      roles.hypothesis_slot.push_back(d % 3 == 0 ? static_cast<std::int32_t>(roles.hypotheses++) : -1);
    }
    const auto got = cpu_ngram_engine().bleu_matches(corpus, roles, kOrders, ngram_id_bits_of({&corpus}));
    for (int n : kOrders) {
      for (std::size_t h = 0; h < docs.size(); ++h) {
        if (roles.hypothesis_slot[h] < 0) continue;
        const auto hyp = direct_counts(Docs{docs[h]}, n);
        std::int64_t expected = 0;
        for (const auto& [gram, c] : hyp) {
          std::int64_t best = 0;
          for (std::size_t r = 0; r < docs.size(); ++r) {
            if (r == h || !roles.is_reference[r]) continue;
            const auto rc = direct_counts(Docs{docs[r]}, n);
            const auto it = rc.find(gram);
            if (it != rc.end()) best = std::max(best, it->second);
          }
          expected += std::min(c, best);
        }
        EXPECT_EQ(got[n - 1].matches[roles.hypothesis_slot[h]], expected) << "n " << n << " doc " << h;
      }
    }
  }
}
