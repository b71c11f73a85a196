// The metric suite of one synthetic corpus: what `collapse score` prints and what every
// experiment generation records. Definitions: docs/metrics.md (and each metric's header).
//
// Metric names (flat, as in `collapse score --json`) are those of metric_catalog.h measured on
// the corpus (token ids and text only) and, with a reference model, under it.
// N-gram metrics use each document's own tokens (no BOS/EOS); coverage, KL/JS and precision /
// recall compare with the real test split. Perplexities score each document as BOS + tokens + EOS.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "collapse/data/special_ids.h"
#include "collapse/data/token_corpus.h"
#include "collapse/model/model.h"
#include "collapse/score/metric_catalog.h"
#include "collapse/score/self_bleu.h"

namespace collapse {

struct ScoreOptions {
  // The metrics to compute (score_metric_names of metric_catalog.h); none given: every metric the
  // inputs allow.
  std::optional<std::vector<std::string>> metrics;
  SelfBleuOptions self_bleu{500, 500, 0};
  c10::Device device = c10::Device(c10::kCPU);
  std::int64_t batch_tokens = 8192;  // tokens per forward pass for perplexity and features
  std::int64_t context = 0;          // positions per window of the model; 0: its context
};

struct ScoreInputs {
  const TokenCorpus& synthetic;
  const std::vector<std::string>& texts;  // the synthetic documents' text (compression ratio)
  const TokenCorpus& real;                // the real test split
  GPT* model = nullptr;                   // reference model (the gen-0 model in experiments)
  SpecialIds special;                     // the ids the reference model reads documents with
};

struct ScoreResult {
  nlohmann::json metrics = nlohmann::json::object();     // name -> number
  nlohmann::json sizes = nlohmann::json::object();       // what each metric used
  nlohmann::json histograms = nlohmann::json::object();  // "synthetic_ppl": {log10_edges, counts}
  std::vector<double> document_perplexities;             // per synthetic document, with a model
  std::vector<std::int64_t> rank_frequency;              // unigram counts, descending, <= 5000
  // {"metrics", "sizes", "histograms"}
  nlohmann::json to_json() const;
};

// Throws Error for a name that is not a metric score_corpus computes, or a metric under a
// reference model without one; `what` and `model_what` are the caller's names for the list and
// the model (the CLI's --metrics and --model).
void check_score_metrics(const std::vector<std::string>& names, bool with_model,
                         const std::string& what, const std::string& model_what);

// Computes the requested metrics. `phase` is told what is being computed (progress display).
ScoreResult score_corpus(const ScoreInputs& inputs, const ScoreOptions& options,
                         const std::function<void(const std::string&)>& phase = {});

// Unigram counts of a corpus, descending, at most `max_ranks` of them.
std::vector<std::int64_t> rank_frequency(const TokenCorpus& corpus, std::int64_t max_ranks = 5000);

}  // namespace collapse
