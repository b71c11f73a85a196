// score_corpus as the documents promise: without the CUDA n-gram kernels, a CUDA device counts
// n-grams on the CPU (README, docs/architecture.md: "the same counts, only slower").
#include <gtest/gtest.h>

#include <random>

#include <torch/utils.h>

#include "collapse/score/ngram_engine.h"
#include "collapse/score/scoring.h"
#include "collapse/util/error.h"

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

// Issue 19, item 5: a result that comes out non-finite is an error naming the metric, never a
// NaN in metrics.csv (the probe saw exit 0 and `nan` for weights that broke the model).
TEST(Scoring, ANonFiniteResultIsAnErrorNamingTheMetric) {
  ModelConfig config = ModelConfig::preset("tiny");
  config.vocab_size = 64;
  config.context = 32;
  GPT model(config);
  initialize_weights(model, 3);
  {
    torch::NoGradGuard no_grad;
    model->norm->weight.fill_(1e38f);  // finite weights whose logits overflow
  }
  model->eval();
  const TokenCorpus synthetic = random_corpus(1, 40, 30), real = random_corpus(2, 60, 40);
  const std::vector<std::string> texts(40, "text");
  auto error_of = [&](const std::string& metric) {
    ScoreOptions options;
    options.metrics = std::vector<std::string>{metric};
    try {
      score_corpus({synthetic, texts, real, &model, SpecialIds{.bos = 60, .eos = 61}}, options);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error: a result was returned)");
  };
  EXPECT_NE(error_of("ppl_mean").find("perplexity of document 0 is inf: expected a finite positive number"),
            std::string::npos)
      << error_of("ppl_mean");
  EXPECT_NE(error_of("precision").find("precision/recall: the reference model's features of the real windows are "
                                       "not finite"),
            std::string::npos)
      << error_of("precision");
}
