// score_corpus as the documents promise: without the CUDA n-gram kernels, a CUDA device counts
// n-grams on the CPU (README, docs/architecture.md: "the same counts, only slower").
#include <gtest/gtest.h>

#include <random>

#include "collapse/score/ngram_engine.h"
#include "collapse/score/scoring.h"

using namespace collapse;

namespace {

TokenCorpus random_corpus(std::uint32_t seed, int documents, int vocab) {
  std::mt19937 rng(seed);
  TokenCorpus c;
  for (int d = 0; d < documents; ++d) {
    std::vector<std::int32_t> doc(5 + rng() % 20);
    for (auto& t : doc) t = static_cast<std::int32_t>(rng() % static_cast<std::uint32_t>(vocab));
    c.add(doc);
  }
  return c;
}

}  // namespace

TEST(Scoring, ACudaDeviceWithoutTheNgramKernelsGivesTheCpuCounts) {
  if (cuda_ngram_engine_built()) GTEST_SKIP() << "this build has the CUDA n-gram kernels (tests/score/ngram_kernel_test.cpp)";
  const TokenCorpus synthetic = random_corpus(1, 40, 30), real = random_corpus(2, 60, 40);
  const std::vector<std::string> texts(40, "text");
  ScoreOptions options;
  options.metrics = std::vector<std::string>{"distinct_2", "entropy_3", "coverage_2", "rare_coverage_1",
                                             "self_bleu_4", "unigram_kl", "zipf_exponent"};
  const ScoreResult cpu = score_corpus({synthetic, texts, real, nullptr, {}}, options);
  options.device = c10::Device(c10::kCUDA, 0);
  const ScoreResult cuda = score_corpus({synthetic, texts, real, nullptr, {}}, options);
  EXPECT_EQ(cuda.metrics, cpu.metrics);
  EXPECT_EQ(cuda.sizes, cpu.sizes);
  EXPECT_EQ(cpu.metrics.size(), 7u);
}
