#include "collapse/report/report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "collapse/report/headline.h"
#include "collapse/util/error.h"

namespace collapse {

MetricSeries summarize_metric(const RunResults& run, const std::string& arm,
                              const std::string& metric) {
  MetricSeries s{arm, metric, {}, {}};
  for (std::int64_t g : run.generations(arm)) {
    const std::vector<double> values = run.values(arm, g, metric);
    if (values.empty()) continue;
    s.generations.push_back(g);
    s.stats.push_back(mean_ci95(values));
  }
  return s;
}

std::vector<std::string> summary_metrics(const RunResults& run) {
  std::vector<std::string> preferred = {
      "test_perplexity", "ppl_median",    "distinct_4",     "self_bleu_4",
      "unigram_js",      "zipf_exponent", "rare_coverage_2"};
  const std::string& headline = run.config.base.report.headline;
  if (std::find(preferred.begin(), preferred.end(), headline) == preferred.end()) {
    preferred.insert(preferred.begin(), headline);
  }
  std::vector<std::string> out;
  for (const std::string& m : preferred) {
    if (std::find(run.metrics.begin(), run.metrics.end(), m) != run.metrics.end()) out.push_back(m);
  }
  if (out.empty()) {
    for (std::size_t i = 0; i < run.metrics.size() && i < 6; ++i) out.push_back(run.metrics[i]);
  }
  return out;
}

std::string format_mean_ci(const MeanCI& ci) {
  if (ci.n == 0) return "–";
  if (ci.n < 2 || !std::isfinite(ci.half_width)) return fmt::format("{:.4g}", ci.mean);
  return fmt::format("{:.4g} ± {:.3g}", ci.mean, ci.half_width);
}

std::vector<std::string> report_metrics(const RunResults& run, const std::vector<std::string>& metrics) {
  if (metrics.empty()) return summary_metrics(run);
  for (const std::string& m : metrics) {
    if (std::find(run.metrics.begin(), run.metrics.end(), m) == run.metrics.end()) {
      fail("{}: no metric '{}' in its metrics.csv (it has {})", run.dir.string(), m, fmt::join(run.metrics, ", "));
    }
  }
  return metrics;
}

std::string report_markdown(const RunResults& run, const std::vector<std::string>& metrics) {
  const std::vector<std::string> columns = report_metrics(run, metrics);
  std::string out = fmt::format("## {}: mean ± 95% CI half-width over seeds\n\n", run.config.name);
  out += "CI: t-distribution with n - 1 degrees of freedom; n = seeds finished; no ± for n = 1.";
  if (run.unfinished_rows > 0) {
    out += fmt::format(" {} metrics.csv rows of unfinished generations left out.",
                       run.unfinished_rows);
  }
  out += "\n\n| arm | gen | n |";
  std::string rule = "|---|---:|---:|";
  for (const std::string& c : columns) {
    out += " " + c + " |";
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  bool any = false;
  for (const std::string& arm : run.arms) {
    for (std::int64_t g : run.generations(arm)) {
      std::int64_t n = 0;
      for (const FinishedGeneration& f : run.finished) {
        if (f.arm == arm && f.generation == g) ++n;
      }
      out += fmt::format("| {} | {} | {} |", arm, g, n);
      for (const std::string& c : columns) {
        const std::vector<double> values = run.values(arm, g, c);
        const MeanCI ci = mean_ci95(values);
        std::string cell = format_mean_ci(ci);
        if (ci.n != n && ci.n > 0) cell += fmt::format(" (n={})", ci.n);
        out += " " + cell + " |";
      }
      out += "\n";
      any = true;
    }
  }
  if (!any) out += "\n(no generation has finished yet)\n";
  // The headline: each arm's last generation against its generation 0.
  const std::string& headline = run.config.base.report.headline;
  const std::vector<FoldChange> folds = fold_changes(run, headline);
  if (!folds.empty()) {
    out += fmt::format("\n### Headline: {}, last generation / generation 0 (per seed; mean, 95% CI)\n\n", headline);
    out += "| arm | gen | seeds | x-fold | 95% CI |\n|---|---:|---:|---:|---|\n";
    for (const FoldChange& f : folds) {
      out += fmt::format("| {} | {} | {} | {:.3f} | {} |\n", f.arm, f.generation, f.seeds, f.mean,
                         std::isfinite(f.ci_low) ? fmt::format("[{:.3f}, {:.3f}]", f.ci_low, f.ci_high) : "–");
    }
  }
  return out;
}

}  // namespace collapse
