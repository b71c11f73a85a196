// Self-BLEU-4 against its definition: hand-derived values on tiny corpora, the direct
// computation (sentence_bleu4) on random ones, and NLTK's sentence_bleu itself where Python has
// nltk (tests/score/self_bleu_nltk.py; under CI a missing nltk is a failure, not a skip).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <random>

#include "collapse/score/self_bleu.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;

namespace {

using Docs = std::vector<std::vector<std::int32_t>>;

double direct_bleu(const Docs& docs, std::int64_t h, const std::vector<std::int64_t>& refs) {
  std::vector<std::span<const std::int32_t>> references;
  for (std::int64_t r : refs) {
    if (r != h) references.emplace_back(docs[r]);
  }
  return sentence_bleu4(references, docs[h]);
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

std::vector<std::int64_t> all_ids(std::size_t n) {
  std::vector<std::int64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i);
  return ids;
}

}  // namespace

// Hand derivations (NLTK's rules as self_bleu.h states them).
TEST(SentenceBleu, MatchesAHandDerivedScore) {
  // h = 1 2 3 4 against {1 2 3 5, 6 7}: p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0 -> 0.1/1;
  // closest reference length 4 = |h| -> BP = 1.
  const Docs d{{1, 2, 3, 4}, {1, 2, 3, 5}, {6, 7}};
  EXPECT_NEAR(direct_bleu(d, 0, {1, 2}), std::pow(0.75 * (2.0 / 3) * 0.5 * 0.1, 0.25), 1e-15);
}

TEST(SentenceBleu, ClipsByTheLargestReferenceCount) {
  // h = 7 7 7 7 against {7 7 5, 7 8}: 7 occurs at most twice in one reference -> p1 = 2/4;
  // (7 7) at most once -> p2 = 1/3; p3 = 0 of 2 -> 0.1/2; p4 = 0 of 1 -> 0.1; closest length 3 < 4.
  const Docs d{{7, 7, 7, 7}, {7, 7, 5}, {7, 8}};
  EXPECT_NEAR(direct_bleu(d, 0, {1, 2}), std::pow(0.5 * (1.0 / 3) * 0.05 * 0.1, 0.25), 1e-15);
}

TEST(SentenceBleu, ShortHypothesesTieToTheShorterReferenceAndPenalise) {
  // h = 1 2 against {1 2 3, 9}: lengths 3 and 1 are both 1 away -> r = 1 < 2 -> BP = 1;
  // p1 = 1, p2 = 1, p3 and p4 have no n-gram -> 0.1 each.
  const Docs d{{1, 2}, {1, 2, 3}, {9}};
  EXPECT_NEAR(direct_bleu(d, 0, {1, 2}), std::sqrt(0.1), 1e-15);
  // h = 1 2 against {1 2 3 4 5 6}: BP = exp(1 - 6/2); p = 1, 1, 0.1, 0.1.
  const Docs e{{1, 2}, {1, 2, 3, 4, 5, 6}};
  EXPECT_NEAR(direct_bleu(e, 0, {1}), std::exp(1.0 - 3.0) * std::sqrt(0.1), 1e-15);
  // No unigram match, or an empty hypothesis: 0.
  const Docs f{{4, 5}, {1, 2}, {}};
  EXPECT_EQ(direct_bleu(f, 0, {1, 2}), 0.0);
  EXPECT_EQ(direct_bleu(f, 2, {0, 1}), 0.0);
}

TEST(SelfBleu, AveragesEveryDocumentAgainstAllOthers) {
  // 0: vs {1 2 3, 9}: sqrt(0.1) (above). 1: 1 2 3 vs {1 2, 9}: r = 2 < 3, p = 2/3, 1/2, 0.1, 0.1.
  // 2: 9 vs {1 2, 1 2 3}: no unigram match -> 0.
  const TokenCorpus corpus(Docs{{1, 2}, {1, 2, 3}, {9}});
  const SelfBleuResult r = self_bleu(corpus);
  ASSERT_EQ(r.scores.size(), 3u);
  EXPECT_NEAR(r.scores[0], std::sqrt(0.1), 1e-15);
  EXPECT_NEAR(r.scores[1], std::pow((2.0 / 3) * 0.5 * 0.1 * 0.1, 0.25), 1e-15);
  EXPECT_EQ(r.scores[2], 0.0);
  EXPECT_NEAR(r.self_bleu, (std::sqrt(0.1) + std::pow(1.0 / 300, 0.25)) / 3, 1e-15);
  EXPECT_EQ(r.hypotheses, 3);
  EXPECT_EQ(r.references, 3);
}

TEST(SelfBleu, LeavesOnlyTheHypothesisItselfOut) {
  // Two identical documents: each is the other's perfect reference (BLEU 1); a third, equal
  // copy changes nothing. A hypothesis never matches itself: a lone distinct document scores 0.
  EXPECT_DOUBLE_EQ(self_bleu(TokenCorpus(Docs{{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}})).self_bleu, 1.0);
  EXPECT_DOUBLE_EQ(self_bleu(TokenCorpus(Docs{{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}})).self_bleu, 1.0);
  const SelfBleuResult r = self_bleu(TokenCorpus(Docs{{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}}));
  EXPECT_EQ(r.self_bleu, 0.0);
  // The length of the hypothesis itself is no reference length: 1 2 3 4 against {1 2 3 4 5 6 7 8}
  // alone has BP exp(1 - 8/4), not 1.
  const SelfBleuResult s = self_bleu(TokenCorpus(Docs{{1, 2, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8}}));
  EXPECT_NEAR(s.scores[0], std::exp(-1.0), 1e-15);
}

TEST(SelfBleu, RefusesCorporaItCannotScore) {
  EXPECT_THROW(self_bleu(TokenCorpus(Docs{{1, 2}})), Error);
  SelfBleuOptions one_reference;
  one_reference.max_references = 1;
  EXPECT_THROW(self_bleu(TokenCorpus(Docs{{1}, {2}, {3}}), one_reference), Error);
}

TEST(SelfBleu, FastPathEqualsTheDirectDefinition) {
  // Small vocabularies make many clipped matches and ties; the large-id corpus takes the path
  // where 4-gram keys do not fit 64 bits (17-bit ids).
  for (const auto& [docs, label] : {std::pair{random_docs(1, 40, 12, 4), "vocab 4"},
                                    std::pair{random_docs(2, 30, 25, 12), "vocab 12"},
                                    std::pair{random_docs(3, 30, 20, 3, 100000), "17-bit ids"}}) {
    const TokenCorpus corpus(docs);
    const SelfBleuResult r = self_bleu(corpus);
    const auto ids = all_ids(docs.size());
    for (std::size_t h = 0; h < docs.size(); ++h) {
      EXPECT_NEAR(r.scores[h], direct_bleu(docs, static_cast<std::int64_t>(h), ids), 1e-14)
          << label << ", hypothesis " << h;
    }
  }
}

TEST(SelfBleu, SubsetsAreSeededAndReported) {
  const Docs docs = random_docs(4, 50, 15, 5);
  const TokenCorpus corpus(docs);
  SelfBleuOptions options;
  options.max_hypotheses = 10;
  options.max_references = 20;
  options.seed = 7;
  const SelfBleuResult a = self_bleu(corpus, options), b = self_bleu(corpus, options);
  EXPECT_EQ(a.hypotheses, 10);
  EXPECT_EQ(a.references, 20);
  EXPECT_EQ(a.hypothesis_ids, b.hypothesis_ids);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.hypothesis_ids, seeded_subset(50, 10, 7, 0));
  const auto refs = seeded_subset(50, 20, 7, 1);
  for (std::size_t h = 0; h < a.hypothesis_ids.size(); ++h) {
    EXPECT_NEAR(a.scores[h], direct_bleu(docs, a.hypothesis_ids[h], refs), 1e-14);
  }
  options.seed = 8;
  EXPECT_NE(self_bleu(corpus, options).hypothesis_ids, a.hypothesis_ids);
  // Sizes at or above the corpus mean every document.
  options.max_hypotheses = 50;
  options.max_references = 500;
  EXPECT_EQ(self_bleu(corpus, options).scores, self_bleu(corpus).scores);
}

TEST(SelfBleu, AgreesWithNltk) {
  struct Case {
    Docs docs;
    std::vector<std::int64_t> hypotheses, references;
  };
  std::vector<Case> cases;
  for (std::uint32_t seed : {11u, 12u, 13u}) {
    Docs docs = random_docs(seed, 25, 18, 3 + static_cast<int>(seed % 5));
    docs.push_back({});        // an empty document
    docs.push_back({1, 2});    // shorter than 4 tokens
    cases.push_back({docs, all_ids(docs.size()), all_ids(docs.size())});
  }
  {
    Docs docs = random_docs(14, 20, 10, 4, 70000);  // 17-bit ids
    cases.push_back({docs, all_ids(docs.size()), all_ids(docs.size())});
  }
  {
    Docs docs = random_docs(15, 60, 16, 5);
    cases.push_back({docs, seeded_subset(60, 12, 3, 0), seeded_subset(60, 25, 3, 1)});
  }

  // One Python process for every case: importing nltk takes seconds.
  nlohmann::json input = nlohmann::json::array();
  for (const Case& k : cases) {
    input.push_back({{"documents", k.docs}, {"hypotheses", k.hypotheses}, {"references", k.references}});
  }
  const auto file = tests::fresh_dir("self_bleu_nltk") / "cases.json";
  tests::write_text(file, input.dump());
  const auto run = tests::run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                                    "/tests/score/self_bleu_nltk.py " + file.string());
  if (run.exit_code == 77) SKIP_WITHOUT_REFERENCE("nltk not importable by " << COLLAPSE_PYTHON << ": " << run.out);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto nltk = nlohmann::json::parse(run.out);
  std::printf("nltk %s\n", nltk["nltk"].get<std::string>().c_str());
  ASSERT_EQ(nltk["scores"].size(), cases.size());

  for (std::size_t c = 0; c < cases.size(); ++c) {
    const Case& k = cases[c];
    const auto expected = nltk["scores"][c].get<std::vector<double>>();
    SelfBleuResult ours;
    if (k.hypotheses.size() == k.docs.size() && k.references.size() == k.docs.size()) {
      ours = self_bleu(TokenCorpus(k.docs));
    } else {
      SelfBleuOptions options;
      options.max_hypotheses = static_cast<std::int64_t>(k.hypotheses.size());
      options.max_references = static_cast<std::int64_t>(k.references.size());
      options.seed = 3;
      ours = self_bleu(TokenCorpus(k.docs), options);
      ASSERT_EQ(ours.hypothesis_ids, k.hypotheses);
    }
    ASSERT_EQ(ours.scores.size(), expected.size());
    double mean = 0;
    for (std::size_t h = 0; h < expected.size(); ++h) {
      EXPECT_NEAR(ours.scores[h], expected[h], 1e-12) << "case " << c << ", hypothesis " << h;
      mean += expected[h];
    }
    EXPECT_NEAR(ours.self_bleu, mean / static_cast<double>(expected.size()), 1e-12) << "case " << c;
  }
}
