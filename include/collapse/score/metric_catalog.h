// The metrics a generation is scored with, by the names `collapse score --json` and metrics.csv
// use: the order the report shows them in, a title, the unit of the axis, and a one-line
// definition for the report's reader (the exact definitions are in the headers named there and
// in docs/metrics.md).
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace collapse {

struct MetricInfo {
  std::string name;        // "test_perplexity"
  std::string title;       // "Test perplexity"
  std::string unit;        // the y axis label, e.g. "perplexity (real test split)"
  std::string definition;  // one line
  // The values the metric can take (a perplexity is >= 1, a share in [0, 1]): charts clip
  // confidence bands and axes to them.
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
};

// Every known metric, in report order: perplexity first, then diversity, coverage,
// distribution distances, precision/recall.
const std::vector<MetricInfo>& metric_catalog();

// The catalog entry of `name`, or nullptr for a name the catalog does not know.
const MetricInfo* find_metric(const std::string& name);

// Sorts metric names into report order: catalog names in catalog order, then unknown names
// alphabetically.
void sort_metric_names(std::vector<std::string>& names);

}  // namespace collapse
