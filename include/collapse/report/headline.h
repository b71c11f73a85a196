// The report's headline (docs/report.md, "Headline"): for the metric [report] headline names,
// every arm's last finished generation relative to its generation 0, as an x-fold change with a
// 95% confidence interval over seeds, and a one-line verdict for each compared pair of arms.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/experiment/run_results.h"

namespace collapse {

// value(last) / value(0) per seed (a seed's generations are one lineage), then the mean of those
// ratios and its t-interval over seeds (confidence.h). `generation` is the arm's last generation
// that a seed with a finished generation 0 finished; seeds = the seeds with both.
struct FoldChange {
  std::string arm;
  std::int64_t generation = 0;
  std::int64_t seeds = 0;
  double mean = 0.0, ci_low = 0.0, ci_high = 0.0;  // CI NaN for one seed
};
std::vector<FoldChange> fold_changes(const RunResults& run, const std::string& metric);

// The pairs the report compares: [report] compare of the run's config, then `extra` ("A,B", the
// command line's), each once, in that order. Error naming the pair for a malformed one.
std::vector<std::pair<std::string, std::string>> compared_pairs(const RunResults& run,
                                                                 const std::vector<std::string>& extra);

// A compared pair at the last generation both arms finished, on one metric: compare_arms' row
// (comparison.h) and its verdict: "A is higher than B", "A is lower than B", "no difference
// detected" (Holm-corrected p >= 0.05 across the generations compared), "identical by
// construction", "A − B = d in every seed (zero variance)" or "not testable with one seed".
struct PairVerdict {
  std::string a, b;
  nlohmann::json row;  // null when the arms share no finished generation
  std::string verdict;
};
PairVerdict pair_verdict(const RunResults& run, const std::string& a, const std::string& b,
                         const std::string& metric);

// The verdicts of `pairs` on [report] headline's metric as a markdown table (empty without pairs).
std::string verdicts_markdown(const RunResults& run, const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace collapse
