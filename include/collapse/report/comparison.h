// `collapse report RUN --compare A,B`: arm A against arm B, per metric and generation, and each
// arm's slope over generations, from the per-seed values of a run folder (statistics.h has the
// definitions). Seeds pair the arms where both finished the same seeds at a generation (paired
// test), otherwise the arms are independent samples (Welch). The p-values of one metric are
// Holm-corrected across the generations compared.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/experiment/run_results.h"

namespace collapse {

// {"comparisons": [{"a", "b", "metric", "generation", "n_a", "n_b", "diff", "ci_low",
// "ci_high", "p", "p_holm", "test", "note"}], "slopes": [{"arm", "metric", "seeds", "slope",
// "ci_low", "ci_high"}]}; diff = mean(A) - mean(B); test "paired" or "welch"; note
// "identical by construction", "zero variance", "one seed" or ""; a value that cannot be
// computed is null. `metrics` empty: summary_metrics(run). Error naming the arm when A or B is
// not an arm of the run.
nlohmann::json compare_arms(const RunResults& run, const std::string& a, const std::string& b,
                            std::vector<std::string> metrics = {});

// The same as a markdown section: a table per metric (generation, diff, 95% CI, p, Holm p,
// test), then the slopes.
std::string comparison_markdown(const nlohmann::json& comparison);

}  // namespace collapse
