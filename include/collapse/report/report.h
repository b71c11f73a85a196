// `collapse report RUN`: what a run folder (run_results.h) shows, as one self-contained HTML
// page or a markdown table. docs/report.md describes every chart and the confidence interval.
//
// Every number is over the seeds whose generation finished (DONE): the mean and the 95%
// confidence interval of confidence.h. Partial runs are reported as far as they got.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "collapse/experiment/run_results.h"
#include "collapse/report/confidence.h"

namespace collapse {

// One metric of one arm across generations: a point per generation with a finished seed.
struct MetricSeries {
  std::string arm;
  std::string metric;
  std::vector<std::int64_t> generations;  // ascending
  std::vector<MeanCI> stats;              // over seeds, per generation
};
MetricSeries summarize_metric(const RunResults& run, const std::string& arm,
                              const std::string& metric);

// The metrics of the markdown table and the comparisons: [report] headline's, test_perplexity
// and a few key metrics, those present.
std::vector<std::string> summary_metrics(const RunResults& run);

// `metrics` checked against the run's (Error naming a metric it lacks), or summary_metrics when
// empty.
std::vector<std::string> report_metrics(const RunResults& run, const std::vector<std::string>& metrics);

// The page: header (experiment, arms, seeds, finished generations), the headline box ([report]
// headline: each arm's last generation against generation 0, the compared pairs' verdicts),
// metric curves with 95% CI bands, the generations' perplexity densities under the generation-0
// model, rank-frequency curves, n-gram coverage bars, the comparisons of [report] compare and
// `compare` ("A,B" pairs) and sample documents. Inline SVG and CSS only: no scripts, no network.
// `refresh_seconds` > 0: a live page (collapse report --watch) that reloads itself that often and
// says so at its top.
std::string report_html(const RunResults& run, const std::vector<std::string>& compare = {},
                        int refresh_seconds = 0);

// Generation runs the config plans (arms x seeds x generations), and how many have finished.
std::int64_t planned_generation_runs(const RunResults& run);

// A markdown table: rows arm x generation, columns n (seeds) and `metrics` (report_metrics),
// cells "mean ± half-width" (just the mean for n = 1); then the headline metric's x-fold change
// of every arm (headline.h).
std::string report_markdown(const RunResults& run, const std::vector<std::string>& metrics = {});

// "12.35 ± 0.872", or "12.35" for n = 1, "–" for n = 0.
std::string format_mean_ci(const MeanCI& ci);

}  // namespace collapse
