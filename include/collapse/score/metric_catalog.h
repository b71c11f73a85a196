// The metrics a generation is scored with: the one table of their names. `collapse score
// --metrics`, the experiment key score.metrics, metrics.csv, the report and the docs tests all
// read it. Each entry has the order rows and charts come in, a title, the unit of the axis, a
// one-line definition for the report's reader (the exact definitions are in the headers named
// there and in docs/metrics.md), and what measures it.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace collapse {

// What a metric is measured on.
enum class MetricSource {
  generation_model,  // the generation's own model, on the real test split (`collapse eval`; run)
  corpus,            // the synthetic corpus's tokens and text, against the real test split
  reference_model,   // the synthetic corpus under a reference model (the generation-0 model)
  training_set,      // what the generation trained on (train_set.json; `collapse run` only)
  detector,          // the real-vs-synthetic detector of [curate] resample = "detector" (`collapse
                     // run` only, where it is on)
};

struct MetricInfo {
  std::string name;        // "test_perplexity"
  std::string title;       // "Test perplexity"
  std::string unit;        // the y axis label, e.g. "perplexity (real test split)"
  std::string definition;  // one line
  // The values the metric can take (a perplexity is >= 1, a share in [0, 1]): charts clip
  // confidence bands and axes to them.
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  MetricSource source = MetricSource::corpus;
};

// Every known metric, in order: the test perplexity first, then diversity, coverage,
// distribution distances, what is measured under the reference model (precision/recall, the
// synthetic documents' perplexity), the training set's composition, and the detector's accuracy.
const std::vector<MetricInfo>& metric_catalog();

// The catalog entry of `name`, or nullptr for a name the catalog does not know.
const MetricInfo* find_metric(const std::string& name);

// The names of `collapse score`'s metrics in catalog order: those of the corpus, and with
// `with_model` those under a reference model too.
std::vector<std::string> score_metric_names(bool with_model);

// Sorts metric names into catalog order, then unknown names alphabetically.
void sort_metric_names(std::vector<std::string>& names);

}  // namespace collapse
