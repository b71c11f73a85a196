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
