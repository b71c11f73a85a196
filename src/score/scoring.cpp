#include "collapse/score/scoring.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include <fmt/ranges.h>

#include "collapse/data/tokenizer.h"
#include "collapse/score/compression.h"
#include "collapse/score/document_perplexity.h"
#include "collapse/score/embedding_metrics.h"
#include "collapse/score/feature_windows.h"
#include "collapse/score/ngram_engine.h"
#include "collapse/score/ngram_metrics.h"
#include "collapse/score/perplexity_summary.h"
#include "collapse/util/error.h"

namespace collapse {
namespace {

std::vector<std::vector<std::int32_t>> documents_of(const TokenCorpus& corpus) {
  std::vector<std::vector<std::int32_t>> docs;
  docs.reserve(static_cast<std::size_t>(corpus.documents()));
  for (std::int64_t d = 0; d < corpus.documents(); ++d) {
    const auto doc = corpus.document(d);
    docs.emplace_back(doc.begin(), doc.end());
  }
  return docs;
}

// A number that is not finite is no result: a model whose logits overflow gives NaN or infinite
// perplexities. It is an error naming the metric, never a NaN (JSON's null) in metrics.csv.
ScoreResult finite_only(ScoreResult r) {
  for (const auto& [name, value] : r.metrics.items()) {
    if (value.is_number_float() && !std::isfinite(value.get<double>())) {
      fail("{} came out {}, which is no result: the reference model or the corpus is degenerate (a model "
           "whose logits overflow gives non-finite perplexities)",
           name, value.get<double>());
    }
  }
  return r;
}

}  // namespace

void check_score_metrics(const std::vector<std::string>& names, bool with_model,
                         const std::string& what, const std::string& model_what) {
  const std::vector<std::string> all = score_metric_names(true);
  for (const auto& name : names) {
    const MetricInfo* m = find_metric(name);
    if (m && m->source == MetricSource::generation_model) {
      fail("{}: '{}' is the perplexity of a generation's own model on the test split, which "
           "`collapse eval` and `collapse run` measure; a synthetic corpus's metrics are {}",
           what, name, fmt::join(all, ", "));
    }
    if (m && m->source == MetricSource::training_set) {
      fail("{}: '{}' describes the training set of a generation of `collapse run`; a synthetic "
           "corpus's metrics are {}",
           what, name, fmt::join(all, ", "));
    }
    if (m && m->source == MetricSource::detector) {
      fail("{}: '{}' is measured by the real-vs-synthetic detector of `collapse run` ([curate] "
           "resample = \"detector\"); a synthetic corpus's metrics are {}",
           what, name, fmt::join(all, ", "));
    }
    if (!m) fail("{}: unknown metric '{}' (known: {})", what, name, fmt::join(all, ", "));
    if (!with_model && m->source == MetricSource::reference_model) {
      fail("{}: metric '{}' needs a reference model ({})", what, name, model_what);
    }
  }
}

std::vector<std::int64_t> rank_frequency(const TokenCorpus& corpus, std::int64_t max_ranks) {
  std::unordered_map<std::int32_t, std::int64_t> counts;
  for (const std::int32_t t : corpus.tokens) ++counts[t];
  std::vector<std::int64_t> out;
  out.reserve(counts.size());
  for (const auto& [token, count] : counts) out.push_back(count);
  std::sort(out.begin(), out.end(), std::greater<>());
  if (static_cast<std::int64_t>(out.size()) > max_ranks) out.resize(static_cast<std::size_t>(max_ranks));
  return out;
}

nlohmann::json ScoreResult::to_json() const {
  return {{"metrics", metrics}, {"sizes", sizes}, {"histograms", histograms}};
}

ScoreResult score_corpus(const ScoreInputs& in, const ScoreOptions& options,
                         const std::function<void(const std::string&)>& phase) {
  const bool with_model = in.model != nullptr;
  const std::vector<std::string> wanted = options.metrics.value_or(score_metric_names(with_model));
  check_score_metrics(wanted, with_model, "metrics", "none was given");
  const std::set<std::string> want(wanted.begin(), wanted.end());
  auto any = [&](std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return want.count(n) > 0; });
  };
  auto tell = [&](const std::string& what) {
    if (phase) phase(what);
  };
  // A build without the CUDA kernels counts n-grams on the CPU even for a CUDA device: the
  // counts are the same, only slower.
  const auto engine = make_ngram_engine(options.device.is_cuda() && !cuda_ngram_engine_built()
                                            ? c10::Device(c10::kCPU)
                                            : options.device);
  ScoreResult r;
  r.sizes["synthetic_documents"] = in.synthetic.documents();
  r.sizes["synthetic_tokens"] = in.synthetic.size();
  r.sizes["real_documents"] = in.real.documents();
  r.sizes["real_tokens"] = in.real.size();
  r.rank_frequency = rank_frequency(in.synthetic);
  const std::vector<int> orders{1, 2, 3, 4};

  if (any({"distinct_1", "distinct_2", "distinct_3", "distinct_4", "entropy_1", "entropy_2",
           "entropy_3", "entropy_4"})) {
    tell("distinct-n and entropy");
    const auto stats = ngram_stats(in.synthetic, orders, *engine);
    for (const auto& s : stats) {
      const std::string n = std::to_string(s.n);
      if (want.count("distinct_" + n)) r.metrics["distinct_" + n] = distinct_n(s);
      if (want.count("entropy_" + n)) r.metrics["entropy_" + n] = ngram_entropy(s);
      r.sizes["ngrams_" + n] = s.total;
    }
  }
  if (want.count("self_bleu_4")) {
    tell("self-BLEU-4");
    const SelfBleuResult b = self_bleu(in.synthetic, options.self_bleu, *engine);
    r.metrics["self_bleu_4"] = b.self_bleu;
    r.sizes["self_bleu_hypotheses"] = b.hypotheses;
    r.sizes["self_bleu_references"] = b.references;
  }
  if (any({"coverage_1", "coverage_2", "coverage_3", "coverage_4", "rare_coverage_1",
           "rare_coverage_2", "rare_coverage_3", "rare_coverage_4"})) {
    tell("coverage of the real test split");
    for (const auto& c : ngram_coverage(in.real, in.synthetic, orders, *engine)) {
      const std::string n = std::to_string(c.n);
      if (want.count("coverage_" + n)) r.metrics["coverage_" + n] = coverage(c);
      if (want.count("rare_coverage_" + n)) r.metrics["rare_coverage_" + n] = rare_coverage(c);
      r.sizes["real_distinct_" + n] = c.reference_distinct;
      r.sizes["real_rare_distinct_" + n] = c.rare_distinct;
    }
  }
  if (want.count("unigram_kl")) r.metrics["unigram_kl"] = unigram_kl(in.real, in.synthetic);
  if (want.count("unigram_js")) r.metrics["unigram_js"] = unigram_js(in.real, in.synthetic);
  if (want.count("zipf_exponent")) {
    const ZipfFit z = zipf_exponent(in.synthetic);
    r.metrics["zipf_exponent"] = z.exponent;
    r.sizes["zipf_ranks"] = z.ranks;
  }
  if (want.count("compression_ratio")) {
    tell("compression ratio");
    const CompressionResult c = compression_ratio(in.texts);
    r.metrics["compression_ratio"] = c.ratio;
    r.sizes["compression_raw_bytes"] = c.raw_bytes;
    r.sizes["compression_level"] = c.level;
  }
  if (!with_model) return finite_only(std::move(r));

  const auto synthetic_docs = documents_of(in.synthetic);
  const std::int64_t positions = window_within((*in.model)->config(), options.context, "the scoring window");
  if (any({"ppl_mean", "ppl_median", "ppl_p10", "ppl_p90"})) {
    tell("perplexity of the synthetic documents");
    const auto per_doc = document_perplexities(*in.model, synthetic_docs, in.special.bos,
                                               in.special.eos, options.device, options.batch_tokens, {},
                                               positions);
    r.document_perplexities = perplexities_of(per_doc);
    const PerplexitySummary s = summarize_perplexities(r.document_perplexities);
    for (const auto& [name, value] : std::initializer_list<std::pair<const char*, double>>{
             {"ppl_mean", s.mean}, {"ppl_median", s.median}, {"ppl_p10", s.p10}, {"ppl_p90", s.p90}}) {
      if (want.count(name)) r.metrics[name] = value;
    }
    r.histograms["synthetic_ppl"] = {{"log10_edges", s.log10_edges}, {"counts", s.counts}};
    r.sizes["ppl_documents"] = s.documents;
  }
  constexpr std::int64_t k = 5;
  // The real side: windows of the test documents as long as a typical synthetic document, as
  // many as there are synthetic documents (feature_windows.h).
  const std::int64_t window = matching_window_length(in.synthetic, positions - 1);
  const FeatureWindows real_windows = any({"precision", "recall"})
      ? feature_windows(in.real, window, in.synthetic.documents()) : FeatureWindows{};
  if (any({"precision", "recall"}) &&
      (real_windows.windows.documents() <= k || in.synthetic.documents() <= k)) {
    // k-NN radii need more than k points on each side.
    r.sizes["precision_recall_skipped"] = fmt::format(
        "needs more than {} real windows and synthetic documents, got {} and {}", k,
        real_windows.windows.documents(), in.synthetic.documents());
  } else if (any({"precision", "recall"})) {
    tell("embedding precision/recall");
    const auto real_docs = documents_of(real_windows.windows);
    r.sizes["precision_recall_window"] = window;
    r.sizes["precision_recall_real_windows"] = real_windows.available;
    const at::Tensor real = document_features(*in.model, real_docs, in.special.bos, options.device,
                                              options.batch_tokens, positions);
    const at::Tensor synthetic = document_features(*in.model, synthetic_docs, in.special.bos,
                                                   options.device, options.batch_tokens, positions);
    // Non-finite features (a model whose activations overflow) would make every distance NaN
    // and every comparison false: a precision of 0 that looks like a result.
    for (const auto& [name, features] : {std::pair<const char*, const at::Tensor&>{"real windows", real},
                                         {"synthetic documents", synthetic}}) {
      if (!at::isfinite(features).all().item<bool>()) {
        fail("precision/recall: the reference model's features of the {} are not finite (its activations "
             "overflow); no result can be computed from them",
             name);
      }
    }
    const PrecisionRecall pr = precision_recall(real, synthetic, k);
    if (want.count("precision")) r.metrics["precision"] = pr.precision;
    if (want.count("recall")) r.metrics["recall"] = pr.recall;
    r.sizes["precision_recall_k"] = pr.k;
    r.sizes["precision_recall_real"] = pr.real;
    r.sizes["precision_recall_synthetic"] = pr.synthetic;
  }
  return finite_only(std::move(r));
}

}  // namespace collapse
