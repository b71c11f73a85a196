// Which metric names `collapse score` takes (check_score_metrics, scoring.h): a synthetic
// corpus's metrics, those under a reference model only with one, and never what only
// `collapse run` measures (a generation's test perplexity, its training set's composition).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "collapse/score/metric_catalog.h"
#include "collapse/score/scoring.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

std::string error_of(const std::vector<std::string>& names, bool with_model) {
  try {
    check_score_metrics(names, with_model, "--metrics", "--model");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ScoreMetricNames, TakesTheCorpusMetricsAndTheReferenceModelsOnlyWithAModel) {
  EXPECT_EQ(error_of({"distinct_1", "self_bleu_4", "unigram_kl"}, false), "");
  EXPECT_EQ(error_of({"precision", "ppl_mean"}, true), "");
  EXPECT_EQ(error_of({"ppl_mean"}, false), "--metrics: metric 'ppl_mean' needs a reference model (--model)");
  EXPECT_NE(error_of({"distinct_9"}, true).find("--metrics: unknown metric 'distinct_9' (known: distinct_1, "),
            std::string::npos);
}

TEST(ScoreMetricNames, RefusesWhatOnlyARunMeasures) {
  EXPECT_NE(error_of({"test_perplexity"}, true).find("'test_perplexity' is the perplexity of a generation's own model"),
            std::string::npos);
  for (const char* name : {"train_real_tokens", "train_synthetic_tokens"}) {
    EXPECT_NE(error_of({name}, true).find(std::string("'") + name + "' describes the training set of a generation of `collapse run`"),
              std::string::npos)
        << name;
    ASSERT_NE(find_metric(name), nullptr);
    EXPECT_EQ(find_metric(name)->source, MetricSource::training_set);
  }
  const std::vector<std::string> scored = score_metric_names(true);
  EXPECT_EQ(std::count(scored.begin(), scored.end(), "train_real_tokens"), 0);
}
