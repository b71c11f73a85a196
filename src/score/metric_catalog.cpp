#include "collapse/score/metric_catalog.h"

#include <algorithm>

namespace collapse {

namespace {

std::vector<MetricInfo> build_catalog() {
  std::vector<MetricInfo> c = {
      {"test_perplexity", "Test perplexity", "perplexity (real test split)",
       "exp(mean NLL per token) of this generation's model on the real test split (evaluate.h)"},
  };
  c.back().source = MetricSource::generation_model;
  for (int n = 1; n <= 4; ++n) {
    c.push_back({"distinct_" + std::to_string(n), "Distinct-" + std::to_string(n),
                 "distinct / total " + std::to_string(n) + "-grams",
                 "distinct " + std::to_string(n) + "-grams / " + std::to_string(n) +
                     "-grams (with repetition) of the synthetic corpus, within documents "
                     "(ngram_metrics.h)"});
  }
  for (int n = 1; n <= 4; ++n) {
    c.push_back({"entropy_" + std::to_string(n), "Entropy of " + std::to_string(n) + "-grams",
                 "bits",
                 "Shannon entropy (base 2) of the synthetic corpus's empirical " +
                     std::to_string(n) + "-gram distribution (ngram_metrics.h)"});
  }
  c.push_back({"self_bleu_4", "Self-BLEU-4", "BLEU (0 to 1)",
               "mean BLEU-4 of sampled synthetic documents against the other sampled documents "
               "(NLTK smoothing method1); higher = more alike (self_bleu.h)"});
  for (int n = 1; n <= 4; ++n) {
    c.push_back({"coverage_" + std::to_string(n), "Coverage of real " + std::to_string(n) + "-grams",
                 "share of real test " + std::to_string(n) + "-grams",
                 "share of the real test split's distinct " + std::to_string(n) +
                     "-grams that occur in the synthetic corpus (ngram_metrics.h)"});
  }
  for (int n = 1; n <= 4; ++n) {
    c.push_back({"rare_coverage_" + std::to_string(n),
                 "Coverage of rare real " + std::to_string(n) + "-grams",
                 "share of rare real " + std::to_string(n) + "-grams",
                 "the same as coverage over the real test split's rare " + std::to_string(n) +
                     "-grams: all but the 10% most frequent distinct ones (ngram_metrics.h)"});
  }
  c.push_back({"unigram_kl", "Unigram KL(real || synthetic)", "bits",
               "KL divergence of the synthetic unigram distribution from the real test split's, "
               "add-1 smoothed over the union vocabulary, base 2 (ngram_metrics.h)"});
  c.push_back({"unigram_js", "Unigram Jensen-Shannon", "bits (0 to 1)",
               "Jensen-Shannon divergence of the real test and synthetic unigram distributions, "
               "unsmoothed, base 2 (ngram_metrics.h)"});
  c.push_back({"zipf_exponent", "Zipf exponent", "exponent s",
               "minus the least-squares slope of ln(frequency) against ln(rank) over the top 1000 "
               "unigram ranks of the synthetic corpus (ngram_metrics.h)"});
  c.push_back({"compression_ratio", "Compression ratio", "ratio",
               "compression ratio of the synthetic corpus (exact definition: docs/metrics.md)"});
  const std::vector<MetricInfo> under_reference = {
      {"precision", "Embedding precision", "share of synthetic documents",
       "share of synthetic documents whose gen-0 features fall inside the k-NN (k = 5) manifold "
       "of the real documents' features (embedding_metrics.h)"},
      {"recall", "Embedding recall", "share of real documents",
       "share of real documents whose gen-0 features fall inside the k-NN (k = 5) manifold of the "
       "synthetic documents' features (embedding_metrics.h)"},
      {"ppl_mean", "Synthetic ppl: mean", "perplexity under the gen-0 model",
       "arithmetic mean of the per-document perplexities of the synthetic corpus under the gen-0 "
       "model (perplexity_summary.h)"},
      {"ppl_median", "Synthetic ppl: median", "perplexity under the gen-0 model",
       "median of the per-document perplexities of the synthetic corpus under the gen-0 model"},
      {"ppl_p10", "Synthetic ppl: 10th percentile", "perplexity under the gen-0 model",
       "10th percentile (linear interpolation) of the per-document perplexities under the gen-0 "
       "model"},
      {"ppl_p90", "Synthetic ppl: 90th percentile", "perplexity under the gen-0 model",
       "90th percentile (linear interpolation) of the per-document perplexities under the gen-0 "
       "model"},
  };
  for (MetricInfo m : under_reference) {
    m.source = MetricSource::reference_model;
    c.push_back(std::move(m));
  }
  const std::vector<MetricInfo> training_set = {
      {"train_real_tokens", "Real training tokens", "tokens",
       "tokens of real documents in the training set the generation's model trained on "
       "(train_set.json)"},
      {"train_synthetic_tokens", "Synthetic training tokens", "tokens",
       "tokens of synthetic documents in the training set the generation's model trained on "
       "(train_set.json)"},
  };
  for (MetricInfo m : training_set) {
    m.source = MetricSource::training_set;
    m.low = 0.0;
    c.push_back(std::move(m));
  }
  c.push_back({"detector_accuracy", "Detector accuracy", "balanced accuracy (0.5 = chance)",
               "5-fold held-out balanced accuracy of a logistic-regression detector of real (valid "
               "split windows) vs synthetic documents on gen-0 features (detector.h)"});
  c.back().source = MetricSource::detector;
  for (MetricInfo& m : c) {
    const std::string& n = m.name;
    if (n.find("perplexity") != std::string::npos || n.starts_with("ppl_")) {
      m.low = 1.0;
    } else if (n.starts_with("distinct_") || n.starts_with("coverage_") ||
               n.starts_with("rare_coverage_") || n == "self_bleu_4" || n == "unigram_js" ||
               n == "precision" || n == "recall" || n == "detector_accuracy") {
      m.low = 0.0, m.high = 1.0;
    } else if (n.starts_with("entropy_") || n == "unigram_kl" || n == "compression_ratio") {
      m.low = 0.0;
    }
  }
  return c;
}

}  // namespace

const std::vector<MetricInfo>& metric_catalog() {
  static const std::vector<MetricInfo> catalog = build_catalog();
  return catalog;
}

const MetricInfo* find_metric(const std::string& name) {
  for (const MetricInfo& m : metric_catalog()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<std::string> score_metric_names(bool with_model) {
  std::vector<std::string> names;
  for (const MetricInfo& m : metric_catalog()) {
    if (m.source == MetricSource::corpus || (with_model && m.source == MetricSource::reference_model)) {
      names.push_back(m.name);
    }
  }
  return names;
}

void sort_metric_names(std::vector<std::string>& names) {
  const auto& catalog = metric_catalog();
  auto rank = [&](const std::string& name) {
    for (std::size_t i = 0; i < catalog.size(); ++i) {
      if (catalog[i].name == name) return i;
    }
    return catalog.size();
  };
  std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    const auto ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a < b;
  });
}

}  // namespace collapse
