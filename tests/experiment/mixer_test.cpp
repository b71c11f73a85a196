// The mixer's training sets as specifications: which documents generation k trains on, and how
// much of each source, for the [mix] keys (mixer.h; docs/experiments.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

#include "collapse/experiment/mixer.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

// 200 real documents of 10..59 tokens; generations 0..2 wrote 150 curated documents each of
// 5..34 tokens.
const std::vector<std::int64_t> kReal = [] {
  std::vector<std::int64_t> v(200);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 10 + static_cast<std::int64_t>(i * 7 % 50);
  return v;
}();
const std::vector<std::vector<std::int64_t>> kSynthetic = [] {
  std::vector<std::vector<std::int64_t>> out(3, std::vector<std::int64_t>(150));
  for (std::size_t g = 0; g < out.size(); ++g) {
    for (std::size_t i = 0; i < 150; ++i) out[g][i] = 5 + static_cast<std::int64_t>((i * 11 + g) % 30);
  }
  return out;
}();
constexpr std::int64_t kLongestReal = 59, kLongestSynthetic = 34;

ExperimentSettings settings(MixRegime regime) {
  ExperimentSettings s;
  s.generations = 4;
  s.mix.regime = regime;
  return s;
}

std::int64_t total(const std::vector<std::int64_t>& lengths) {
  return std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0});
}

// The (generation, index) pairs of a training set, real documents as generation -1.
std::set<std::pair<std::int64_t, std::int64_t>> members(const TrainSet& t) {
  std::set<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto i : t.real) out.insert({-1, i});
  for (const auto& part : t.synthetic) {
    for (const auto i : part.documents) out.insert({part.generation, i});
  }
  return out;
}

// The token counts a training set claims, recounted from the lengths.
void expect_counts_add_up(const TrainSet& t) {
  std::int64_t real = 0;
  for (const auto i : t.real) real += kReal[static_cast<std::size_t>(i)];
  EXPECT_EQ(t.real_tokens, real);
  for (const auto& part : t.synthetic) {
    std::int64_t n = 0;
    for (const auto i : part.documents) n += kSynthetic[static_cast<std::size_t>(part.generation)][static_cast<std::size_t>(i)];
    EXPECT_EQ(part.tokens, n) << "generation " << part.generation;
  }
}

}  // namespace

TEST(Mixer, ThePoolIsEveryRealDocumentAndEverySyntheticCorpusUnderAccumulate) {
  const ExperimentSettings s = settings(MixRegime::accumulate);
  const TrainSet t = mix_training_set(s, 3, 7, kReal, kSynthetic);
  EXPECT_EQ(t.real.size(), 200u);
  ASSERT_EQ(t.synthetic.size(), 3u);
  EXPECT_EQ(t.documents(), 200 + 3 * 150);
  EXPECT_EQ(t.real_tokens, total(kReal));
  expect_counts_add_up(t);
  EXPECT_EQ(generation0_training_set(s, kReal, 7).real_tokens, total(kReal));
}

TEST(Mixer, TrainSizeInDocumentsDrawsExactlyThatManyFromThePoolWithoutReplacement) {
  ExperimentSettings s = settings(MixRegime::accumulate);
  const auto pool = members(mix_training_set(s, 3, 7, kReal, kSynthetic));
  s.mix.train_size = {SizeSpec::Kind::documents, 120};
  const TrainSet t = mix_training_set(s, 3, 7, kReal, kSynthetic);
  const auto drawn = members(t);
  EXPECT_EQ(t.documents(), 120);
  EXPECT_EQ(drawn.size(), 120u) << "no document twice";
  EXPECT_TRUE(std::includes(pool.begin(), pool.end(), drawn.begin(), drawn.end()));
  EXPECT_TRUE(std::is_sorted(t.real.begin(), t.real.end()));
  expect_counts_add_up(t);
  // Every source can be drawn: from 650 documents, 120 hold some of each (real 200/650).
  EXPECT_GT(t.real.size(), 0u);
  EXPECT_EQ(t.synthetic.size(), 3u);
  // A pure function of (seed, generation): the same again, another draw for another seed or
  // generation.
  EXPECT_EQ(members(mix_training_set(s, 3, 7, kReal, kSynthetic)), drawn);
  EXPECT_NE(members(mix_training_set(s, 3, 8, kReal, kSynthetic)), drawn);
}

TEST(Mixer, TrainSizeInTokensIsReachedAndPassedByAtMostOneDocument) {
  ExperimentSettings s = settings(MixRegime::accumulate);
  s.mix.train_size = {SizeSpec::Kind::tokens, 3000};
  for (std::int64_t k = 1; k <= 3; ++k) {
    const TrainSet t = mix_training_set(s, k, 3, kReal, kSynthetic);
    expect_counts_add_up(t);
    EXPECT_GE(t.tokens(), 3000) << k;
    EXPECT_LT(t.tokens(), 3000 + kLongestReal) << k;
  }
}

TEST(Mixer, SameIsGenerationZerosTrainingSetSizeInTokens) {
  // Kazdan, Schaeffer et al.'s accumulate-subsample: every generation trains on as many tokens
  // as generation 0, drawn from everything accumulated so far.
  ExperimentSettings s = settings(MixRegime::accumulate);
  s.mix.train_size = {SizeSpec::Kind::same, 0};
  const std::int64_t gen0 = generation0_training_set(s, kReal, 1).real_tokens;
  for (std::int64_t k = 1; k <= 3; ++k) {
    const TrainSet t = mix_training_set(s, k, 1, kReal, kSynthetic);
    EXPECT_GE(t.tokens(), gen0) << k;
    EXPECT_LT(t.tokens(), gen0 + kLongestReal) << k;
    EXPECT_LT(t.real_tokens, gen0) << "generation " << k << " draws synthetic documents too";
  }
}

TEST(Mixer, SyntheticShareSplitsTheDrawnTokensBetweenTheSources) {
  ExperimentSettings s = settings(MixRegime::accumulate);
  s.mix.train_size = {SizeSpec::Kind::tokens, 4000};
  for (double share : {0.0, 0.25, 0.9, 1.0}) {
    s.mix.synthetic_share = share;
    const TrainSet t = mix_training_set(s, 3, 5, kReal, kSynthetic);
    expect_counts_add_up(t);
    const auto synthetic = static_cast<std::int64_t>(std::llround(share * 4000));
    EXPECT_GE(t.synthetic_tokens(), synthetic) << share;
    EXPECT_LT(t.synthetic_tokens(), synthetic + std::max<std::int64_t>(kLongestSynthetic, 1)) << share;
    EXPECT_GE(t.real_tokens, 4000 - synthetic) << share;
    EXPECT_LT(t.real_tokens, 4000 - synthetic + kLongestReal) << share;
    if (share == 0.0) {
      EXPECT_EQ(t.synthetic_tokens(), 0);
    }
    if (share == 1.0) {
      EXPECT_EQ(t.real_tokens, 0);
    }
  }
}

TEST(Mixer, RealDocumentsKeepsThatManyOfGenerationZerosRealDocuments) {
  ExperimentSettings s = settings(MixRegime::replace);
  s.mix.real_documents = 37;
  const TrainSet t = mix_training_set(s, 2, 4, kReal, kSynthetic);
  EXPECT_EQ(t.real.size(), 37u);
  ASSERT_EQ(t.synthetic.size(), 1u);
  EXPECT_EQ(t.synthetic[0].generation, 1);
  expect_counts_add_up(t);
  // The same documents as the share that rounds to 37 of 200.
  ExperimentSettings by_share = settings(MixRegime::replace);
  by_share.mix.real_fraction = 0.185;
  EXPECT_EQ(mix_training_set(by_share, 2, 4, kReal, kSynthetic).real, t.real);
}

TEST(Mixer, RequestsThePoolCannotMeetAreErrorsNamingTheKeys) {
  ExperimentSettings s = settings(MixRegime::replace);
  s.mix.train_size = {SizeSpec::Kind::documents, 151};  // the pool: generation 0's 150 documents
  try {
    mix_training_set(s, 1, 0, kReal, kSynthetic);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[mix] train_size = \"151\" asks for 151 documents, but its pool holds only 150"),
              std::string::npos)
        << e.what();
  }
  s.mix.train_size = {SizeSpec::Kind::tokens, 100};
  s.mix.synthetic_share = 0.5;  // replace without kept real data has no real tokens to draw
  try {
    mix_training_set(s, 1, 0, kReal, kSynthetic);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[mix] synthetic_share = 0.5 (real) asks for 50 tokens, but its pool holds only 0"),
              std::string::npos)
        << e.what();
  }
  s = settings(MixRegime::replace);
  s.mix.real_documents = 201;
  EXPECT_THROW(mix_training_set(s, 1, 0, kReal, kSynthetic), Error);
}

// --- The regimes, document by document ---------------------------------------------------------

namespace {

std::set<std::pair<std::int64_t, std::int64_t>> whole_corpus(std::int64_t generation) {
  std::set<std::pair<std::int64_t, std::int64_t>> out;
  for (std::int64_t i = 0; i < 150; ++i) out.insert({generation, i});
  return out;
}

std::set<std::int64_t> as_set(const std::vector<std::int64_t>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST(Mixer, ReplaceTrainsOnThePreviousGenerationsWholeCorpusAndNothingElse) {
  const ExperimentSettings s = settings(MixRegime::replace);
  EXPECT_EQ(generation0_training_set(s, kReal, 7).real.size(), 200u);
  for (std::int64_t k = 1; k <= 3; ++k) {
    const TrainSet t = mix_training_set(s, k, 7, kReal, kSynthetic);
    EXPECT_EQ(members(t), whole_corpus(k - 1)) << "generation " << k;
    EXPECT_EQ(t.real_tokens, 0) << k;
    expect_counts_add_up(t);
  }
}

TEST(Mixer, AccumulateTrainsOnEveryRealDocumentAndEveryEarlierCorpusWhole) {
  const ExperimentSettings s = settings(MixRegime::accumulate);
  for (std::int64_t k = 1; k <= 3; ++k) {
    auto expected = members(generation0_training_set(s, kReal, 2));
    for (std::int64_t j = 0; j < k; ++j) {
      const auto part = whole_corpus(j);
      expected.insert(part.begin(), part.end());
    }
    EXPECT_EQ(members(mix_training_set(s, k, 2, kReal, kSynthetic)), expected) << "generation " << k;
  }
}

TEST(Mixer, RealFractionKeepsRoundedPTimesNOfGenerationZerosDocumentsDrawnAnewEachGeneration) {
  ExperimentSettings s = settings(MixRegime::replace);
  // round(p * 200): 0.1 -> 20, 0.333 -> 67 (66.6 rounds up), 0.0025 -> 1 (0.5 rounds away from 0).
  for (const auto& [p, n] : std::vector<std::pair<double, std::size_t>>{{0.1, 20}, {0.333, 67}, {0.0025, 1}, {1.0, 200}}) {
    s.mix.real_fraction = p;
    const TrainSet t = mix_training_set(s, 1, 7, kReal, kSynthetic);
    EXPECT_EQ(t.real.size(), n) << "real_fraction " << p;
    EXPECT_EQ(as_set(t.real).size(), n) << "no document twice";
    EXPECT_TRUE(std::is_sorted(t.real.begin(), t.real.end()));
    ASSERT_EQ(t.synthetic.size(), 1u);
    EXPECT_EQ(t.synthetic[0].documents.size(), 150u) << "the kept share is added, not substituted";
    expect_counts_add_up(t);
  }
  s.mix.real_fraction = 0.1;
  const auto kept = [&](std::int64_t k, std::uint64_t seed) { return mix_training_set(s, k, seed, kReal, kSynthetic).real; };
  EXPECT_EQ(kept(2, 7), kept(2, 7)) << "a pure function of (seed, generation)";
  EXPECT_NE(kept(1, 7), kept(2, 7)) << "drawn again each generation";
  EXPECT_NE(kept(2, 7), kept(2, 8)) << "another seed, another draw";
  // Over many generations the kept documents come from all over the real split, not one corner.
  ExperimentSettings long_run = s;
  long_run.generations = 31;
  const std::vector<std::vector<std::int64_t>> thirty(30, kSynthetic[0]);
  std::set<std::int64_t> ever;
  for (std::int64_t k = 1; k <= 30; ++k) {
    const auto r = mix_training_set(long_run, k, 7, kReal, thirty).real;
    ever.insert(r.begin(), r.end());
  }
  EXPECT_GT(ever.size(), 180u);
}

TEST(Mixer, FreshHoldsBackOneDisjointSliceOfRealDocumentsPerLaterGenerationAndNeverReusesOne) {
  ExperimentSettings s = settings(MixRegime::fresh);  // 4 generations: 3 later ones
  s.mix.fresh_documents = 25;
  const auto gen0 = as_set(generation0_training_set(s, kReal, 5).real);
  EXPECT_EQ(gen0.size(), 200u - 3 * 25);
  std::set<std::int64_t> seen = gen0;
  for (std::int64_t k = 1; k <= 3; ++k) {
    const TrainSet t = mix_training_set(s, k, 5, kReal, kSynthetic);
    EXPECT_EQ(t.real.size(), 25u) << "generation " << k;
    for (const auto i : t.real) {
      EXPECT_TRUE(seen.insert(i).second) << "generation " << k << " reuses real document " << i;
    }
    ASSERT_EQ(t.synthetic.size(), 1u);
    EXPECT_EQ(t.synthetic[0].generation, k - 1);
    EXPECT_EQ(t.synthetic[0].documents.size(), 150u);
    expect_counts_add_up(t);
  }
  EXPECT_EQ(seen.size(), 200u) << "generation 0 and the three slices partition the real split";
  // The partition is the seed's: another seed holds back other documents.
  EXPECT_NE(as_set(generation0_training_set(s, kReal, 6).real), gen0);
}

TEST(Mixer, FreshWithRealFractionAddsTheKeptShareOfGenerationZerosDocumentsToTheSlice) {
  ExperimentSettings s = settings(MixRegime::fresh);
  s.mix.fresh_documents = 20;
  s.mix.real_fraction = 0.1;  // of generation 0's 140 documents: 14
  const auto gen0 = as_set(generation0_training_set(s, kReal, 5).real);
  const TrainSet t = mix_training_set(s, 2, 5, kReal, kSynthetic);
  ASSERT_EQ(t.real.size(), 14u + 20u);
  std::size_t from_gen0 = 0;
  for (const auto i : t.real) from_gen0 += gen0.count(i);
  EXPECT_EQ(from_gen0, 14u);
}

TEST(Mixer, FreshPoolLargerThanTheRealSplitIsAnErrorNamingTheKey) {
  ExperimentSettings s = settings(MixRegime::fresh);
  s.mix.fresh_documents = 67;  // 3 x 67 = 201 > 200
  try {
    generation0_training_set(s, kReal, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[mix] fresh_documents = 67"), std::string::npos) << e.what();
  }
}

TEST(Mixer, SyntheticCapTakesTheFirstDocumentsOfEachCorpusInOrder) {
  ExperimentSettings s = settings(MixRegime::accumulate);
  s.mix.synthetic = {SizeSpec::Kind::documents, 40};
  const TrainSet by_count = mix_training_set(s, 3, 1, kReal, kSynthetic);
  ASSERT_EQ(by_count.synthetic.size(), 3u);
  for (const auto& part : by_count.synthetic) {
    std::vector<std::int64_t> first(40);
    std::iota(first.begin(), first.end(), 0);
    EXPECT_EQ(part.documents, first) << "generation " << part.generation;
  }
  EXPECT_EQ(by_count.real.size(), 200u) << "the cap is on synthetic documents only";
  // tokens:N: documents in order until N tokens, so at most one document past N.
  s.mix.synthetic = {SizeSpec::Kind::tokens, 500};
  const TrainSet by_tokens = mix_training_set(s, 3, 1, kReal, kSynthetic);
  for (const auto& part : by_tokens.synthetic) {
    EXPECT_GE(part.tokens, 500) << part.generation;
    EXPECT_LT(part.tokens - kSynthetic[static_cast<std::size_t>(part.generation)][part.documents.size() - 1], 500)
        << "generation " << part.generation << ": one document fewer would not reach 500";
    for (std::size_t i = 0; i < part.documents.size(); ++i) EXPECT_EQ(part.documents[i], static_cast<std::int64_t>(i));
  }
  expect_counts_add_up(by_tokens);
}
