// Curation as a specification (curation.h): each verifier step keeps exactly the documents its
// definition names, a simulated verifier error flips exactly the share it says, and importance
// resampling draws in proportion to the weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "collapse/experiment/curation.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

std::vector<std::int64_t> all_documents(std::int64_t n) {
  std::vector<std::int64_t> d(static_cast<std::size_t>(n));
  std::iota(d.begin(), d.end(), std::int64_t{0});
  return d;
}

// n documents of distinct single tokens, so that no dedup removes any.
TokenCorpus corpus_of(std::int64_t n) {
  TokenCorpus c;
  for (std::int64_t d = 0; d < n; ++d) c.add(std::vector<std::int32_t>{static_cast<std::int32_t>(d), 7});
  return c;
}

// Perplexities that rank the documents in a scrambled order: 10 + (7 d mod n).
std::vector<double> scrambled(std::int64_t n) {
  std::vector<double> v;
  for (std::int64_t d = 0; d < n; ++d) v.push_back(10.0 + static_cast<double>((7 * d) % n));
  return v;
}

std::vector<std::int64_t> complement(const std::vector<std::int64_t>& of, const std::vector<std::int64_t>& kept) {
  std::vector<std::int64_t> out;
  std::set_difference(of.begin(), of.end(), kept.begin(), kept.end(), std::back_inserter(out));
  return out;
}

}  // namespace

TEST(KeepTop, KeepsExactlyTheShareWithTheLowestVerifierPerplexityInDocumentOrder) {
  const std::vector<double> ppl = {5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0, 10.0};
  // The 4 best: perplexities 1, 2, 3, 4 = documents 1, 5, 3, 7; returned in document order.
  EXPECT_EQ(keep_lowest_share(ppl, all_documents(10), 0.4), (std::vector<std::int64_t>{1, 3, 5, 7}));
  // round(share * n), halves up: 0.25 * 10 = 2.5 keeps 3.
  EXPECT_EQ(keep_lowest_share(ppl, all_documents(10), 0.25), (std::vector<std::int64_t>{1, 3, 5}));
  EXPECT_EQ(keep_lowest_share(ppl, all_documents(10), 1.0), all_documents(10));
  // Only the documents given compete; ties go to the earlier document.
  EXPECT_EQ(keep_lowest_share({2.0, 2.0, 2.0, 1.0}, {0, 1, 2}, 0.5), (std::vector<std::int64_t>{0, 1}));
  EXPECT_THROW(keep_lowest_share(ppl, all_documents(10), 0.0), Error);
}

TEST(VerifierError, ZeroIsTheVerifierItselfAndOneKeepsExactlyTheComplementInEveryVerifierStep) {
  const std::int64_t n = 40;
  const TokenCorpus corpus = corpus_of(n);
  const std::vector<double> ppl = scrambled(n);
  const CurationSeeds seeds{1, 2, 3};
  for (const char* step : {"keep_top", "ppl_filter", "best_of_k"}) {
    CurateSettings s;
    if (std::string(step) == "keep_top") s.keep_top = 0.3;
    if (std::string(step) == "ppl_filter") s.ppl_filter_low = 0.2, s.ppl_filter_high = 0.7;
    if (std::string(step) == "best_of_k") s.best_of_k = 4;
    const Curated exact = curate(s, corpus, ppl, seeds);
    ASSERT_FALSE(exact.kept.empty()) << step;
    ASSERT_LT(exact.kept.size(), static_cast<std::size_t>(n)) << step;

    s.verifier_error = 0.0;
    EXPECT_EQ(curate(s, corpus, ppl, seeds).kept, exact.kept) << step;
    s.verifier_error = 1.0;
    const Curated flipped = curate(s, corpus, ppl, seeds);
    EXPECT_EQ(flipped.kept, complement(all_documents(n), exact.kept)) << step;
    EXPECT_EQ(flipped.flipped[step], n) << step;
    EXPECT_EQ(flipped.removed[step], exact.kept.size()) << step;
  }
}

TEST(VerifierError, FlipsTheDecisionsOfASeededShareOfTheDocuments) {
  const std::vector<std::int64_t> documents = all_documents(100);
  const std::vector<std::int64_t> kept = keep_lowest_share(scrambled(100), documents, 0.5);
  for (const double e : {0.1, 0.25, 0.5}) {
    const auto out = flip_decisions(documents, kept, e, 11);
    // A flipped document changes sides: the symmetric difference is the flipped set.
    std::vector<std::int64_t> changed;
    std::set_symmetric_difference(kept.begin(), kept.end(), out.begin(), out.end(), std::back_inserter(changed));
    EXPECT_EQ(changed.size(), static_cast<std::size_t>(std::lround(e * 100))) << e;
    EXPECT_EQ(flip_decisions(documents, kept, e, 11), out) << "seeded";
    EXPECT_NE(flip_decisions(documents, kept, e, 12), out) << "another seed flips others";
  }
  // The flipped share grows by adding documents: a seed's flips at 0.1 are among those at 0.25.
  const auto at = [&](double e) {
    const auto out = flip_decisions(documents, kept, e, 11);
    std::vector<std::int64_t> changed;
    std::set_symmetric_difference(kept.begin(), kept.end(), out.begin(), out.end(), std::back_inserter(changed));
    return changed;
  };
  const auto small = at(0.1), large = at(0.25);
  EXPECT_TRUE(std::includes(large.begin(), large.end(), small.begin(), small.end()));
}

TEST(Resample, DrawsAsManyDocumentsWithProbabilityProportionalToTheWeights) {
  const std::vector<std::int64_t> documents = {3, 8, 20, 21};
  const std::vector<double> weights = {1.0, 2.0, 0.0, 5.0};
  std::map<std::int64_t, int> counts;
  const int rounds = 500;
  for (int round = 0; round < rounds; ++round) {
    const auto drawn = resample_documents(documents, weights, static_cast<std::uint64_t>(round));
    ASSERT_EQ(drawn.size(), documents.size());
    ASSERT_TRUE(std::is_sorted(drawn.begin(), drawn.end()));
    for (const auto d : drawn) ++counts[d];
  }
  EXPECT_EQ(counts[20], 0) << "a zero weight is never drawn";
  const double draws = 4.0 * rounds;
  // Expected shares 1/8, 2/8, 5/8; 2000 draws: 4 standard errors are below 0.045.
  EXPECT_NEAR(counts[3] / draws, 1.0 / 8, 0.03);
  EXPECT_NEAR(counts[8] / draws, 2.0 / 8, 0.04);
  EXPECT_NEAR(counts[21] / draws, 5.0 / 8, 0.045);
  EXPECT_EQ(resample_documents(documents, weights, 9), resample_documents(documents, weights, 9));
  EXPECT_THROW(resample_documents(documents, {0.0, 0.0, 0.0, 0.0}, 1), Error);
}

TEST(Curate, StepsRunInTheirOrderAndResampleTheDocumentsLeft) {
  const std::int64_t n = 20;
  TokenCorpus corpus;
  for (std::int64_t d = 0; d < n; ++d) corpus.add(std::vector<std::int32_t>{static_cast<std::int32_t>(d % 10), 1, 2});
  CurateSettings s;
  s.keep_top = 0.5;             // the 10 lowest perplexities
  s.dedup = Dedup::exact;       // documents d and d + 10 are equal
  s.resample = Resample::detector;
  // The 10 lowest perplexities: documents 0-4 and their duplicates 10-14.
  std::vector<double> ppl(static_cast<std::size_t>(n));
  for (std::int64_t d = 0; d < n; ++d) {
    ppl[static_cast<std::size_t>(d)] = d < 5 ? 1.0 + d : d >= 10 && d < 15 ? d - 4.0 : 50.0 + d;
  }
  std::vector<std::int64_t> weighed;
  const Curated c = curate(s, corpus, ppl, {1, 2, 3}, [&](const std::vector<std::int64_t>& docs) {
    weighed = docs;
    std::vector<double> w(docs.size(), 0.0);
    w.front() = 1.0;  // every draw is the first document
    return w;
  });
  // keep_top keeps 0-4 and 10-14, dedup drops 10-14, resampling weighs 0-4 and draws 0 five times.
  EXPECT_EQ(weighed, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(c.kept, std::vector<std::int64_t>(5, 0));
  EXPECT_EQ(c.removed["keep_top"], 10);
  EXPECT_EQ(c.removed["exact_dedup"], 5);
  EXPECT_EQ(c.removed["resample"], 4);
  EXPECT_THROW(curate(s, corpus, ppl, {1, 2, 3}), Error) << "resampling needs the weights";
}

// --- Best-of-k, the perplexity filter and deduplication, step by step ---------------------------

TEST(BestOfK, KeepsTheLowestOfEachConsecutiveGroupOfKTheFirstOfEqualsAndDropsAShortLastGroup) {
  //                              group 0         group 1         group 2         short
  const std::vector<double> ppl = {3.0, 1.0, 2.0, 5.0, 5.0, 6.0, 9.0, 8.0, 7.0, 0.5};
  EXPECT_EQ(keep_best_of_k(ppl, all_documents(10), 3), (std::vector<std::int64_t>{1, 3, 8}));
  EXPECT_EQ(keep_best_of_k(ppl, all_documents(10), 1), all_documents(10)) << "k = 1 is off";
  // Groups are formed from the documents given, in their order.
  EXPECT_EQ(keep_best_of_k(ppl, {9, 0, 2, 5}, 2), (std::vector<std::int64_t>{9, 2}));
  EXPECT_TRUE(keep_best_of_k(ppl, {0, 1}, 3).empty());
  EXPECT_THROW(keep_best_of_k(ppl, all_documents(10), 0), Error);
}

TEST(PerplexityFilter, KeepsTheClosedIntervalBetweenLinearlyInterpolatedQuantiles) {
  // numpy.quantile([10, 20, 30, 40, 50], 0.25) = 20 and (.., 0.75) = 40, both kept (closed).
  const std::vector<double> ppl = {50.0, 10.0, 40.0, 20.0, 30.0};
  EXPECT_EQ(keep_between_quantiles(ppl, all_documents(5), 0.25, 0.75), (std::vector<std::int64_t>{2, 3, 4}));
  // Between data points: quantile(0.3) = 22 and quantile(0.7) = 38 keep only 30.
  EXPECT_EQ(keep_between_quantiles(ppl, all_documents(5), 0.3, 0.7), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(keep_between_quantiles(ppl, all_documents(5), 0.0, 1.0), all_documents(5));
  // Quantiles of the documents given only: of {10, 20, 50}, quantile(0.5) = 20.
  EXPECT_EQ(keep_between_quantiles(ppl, {0, 1, 3}, 0.5, 1.0), (std::vector<std::int64_t>{0, 3}));
}

TEST(ExactDedup, DropsEveryLaterCopyOfATokenSequenceAndNothingThatDiffersByOneToken) {
  TokenCorpus c;
  c.add(std::vector<std::int32_t>{1, 2, 3});
  c.add(std::vector<std::int32_t>{1, 2, 3});     // copy of 0
  c.add(std::vector<std::int32_t>{1, 2, 3, 4});  // a prefix is not a copy
  c.add(std::vector<std::int32_t>{1, 2, 4});
  c.add(std::vector<std::int32_t>{});
  c.add(std::vector<std::int32_t>{});            // two empty documents are equal
  c.add(std::vector<std::int32_t>{1, 2, 3});     // copy of 0
  EXPECT_EQ(drop_exact_duplicates(c, all_documents(7)), (std::vector<std::int64_t>{0, 2, 3, 4}));
  // The first of the documents given is the one kept.
  EXPECT_EQ(drop_exact_duplicates(c, {6, 1, 3}), (std::vector<std::int64_t>{6, 3}));
}

namespace {

std::vector<std::int32_t> range_of(std::int32_t from, std::int32_t to) {
  std::vector<std::int32_t> v;
  for (std::int32_t t = from; t < to; ++t) v.push_back(t);
  return v;
}

std::vector<std::int32_t> joined(std::vector<std::int32_t> a, const std::vector<std::int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST(MinHashDedup, RemovesNearDuplicatesAboveTheThresholdAndKeepsThoseWellBelowForAnySeed) {
  // With 1-token shingles the Jaccard similarities are exact: B shares 90 of A's 100 tokens
  // (J = 90 / 110 = 0.82), C shares 50 (J = 50 / 150 = 0.33). 128 hash functions estimate J
  // with a standard error of at most 0.035, so the margins below are 3.5 standard errors.
  TokenCorpus c;
  const auto a = range_of(0, 100);
  c.add(a);
  c.add(joined(range_of(0, 90), range_of(1000, 1010)));  // B
  c.add(joined(range_of(0, 50), range_of(2000, 2050)));  // C
  std::vector<std::int32_t> shuffled_a(a.rbegin(), a.rend());
  c.add(shuffled_a);                                      // A reversed: the same set of tokens
  c.add(std::vector<std::int32_t>{});                     // empty: no shingles, always kept
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    EXPECT_EQ(drop_near_duplicates(c, all_documents(5), 1, 0.7, seed), (std::vector<std::int64_t>{0, 2, 4}))
        << "seed " << seed;
    // At 0.95 B is no longer a duplicate; A reversed is (estimate exactly 1: equal sets).
    EXPECT_EQ(drop_near_duplicates(c, all_documents(5), 1, 0.95, seed), (std::vector<std::int64_t>{0, 1, 2, 4}))
        << "seed " << seed;
    // The threshold is inclusive: an estimate of exactly 1 is a duplicate at threshold 1.
    EXPECT_EQ(drop_near_duplicates(c, {0, 3}, 1, 1.0, seed), (std::vector<std::int64_t>{0})) << "seed " << seed;
    // Shingles are token n-grams: reversed, A shares no 3-gram with itself.
    EXPECT_EQ(drop_near_duplicates(c, {0, 3}, 3, 0.5, seed), (std::vector<std::int64_t>{0, 3})) << "seed " << seed;
  }
  // A document shorter than n is one shingle, the whole document.
  TokenCorpus short_docs;
  short_docs.add(std::vector<std::int32_t>{4, 5});
  short_docs.add(std::vector<std::int32_t>{4, 5});
  short_docs.add(std::vector<std::int32_t>{5, 4});
  EXPECT_EQ(drop_near_duplicates(short_docs, all_documents(3), 5, 0.9, 1), (std::vector<std::int64_t>{0, 2}));
}

TEST(Curate, RecordsHowManyDistinctDocumentsEachStepRemovedUnderItsOwnName) {
  // 12 documents in 6 best-of-2 groups; the winners' perplexities 1..6; winners 2 and 3 are
  // copies of winner 1 (the same tokens).
  TokenCorpus corpus;
  std::vector<double> ppl;
  for (std::int32_t g = 0; g < 6; ++g) {
    const std::int32_t content = g == 2 || g == 3 ? 1 : g;
    corpus.add(range_of(100 * content, 100 * content + 20));
    ppl.push_back(1.0 + g);
    corpus.add(std::vector<std::int32_t>{9999, g});
    ppl.push_back(100.0 + g);
  }
  CurateSettings s;
  s.best_of_k = 2;
  s.ppl_filter_low = 0.0;
  s.ppl_filter_high = 0.8;  // of 1..6: quantile 5, drops the winner of group 5
  s.dedup = Dedup::minhash;
  s.minhash_ngram = 2;
  const Curated c = curate(s, corpus, ppl, {1, 2, 3});
  EXPECT_EQ(c.kept, (std::vector<std::int64_t>{0, 2, 8}));
  EXPECT_EQ(c.removed, (nlohmann::json{{"best_of_k", 6}, {"ppl_filter", 1}, {"minhash_dedup", 2}}));
  EXPECT_TRUE(c.flipped.empty());
}
