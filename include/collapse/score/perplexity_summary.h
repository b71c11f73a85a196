// Summary statistics of per-document perplexities (the numbers behind Shumailov et al.'s
// histograms): mean, quantiles and a histogram on a log scale. Defined exactly so
// (docs/metrics.md, "Perplexity"):
//
//   mean          arithmetic mean of the per-document perplexities (not exp of the mean NLL)
//   quantile(q)   linear interpolation between order statistics, numpy's default ("linear",
//                 Hyndman & Fan type 7): sort x_0 <= .. <= x_{n-1}, h = (n - 1) q,
//                 quantile = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h))
//   median, p10, p90 = quantile(0.5), quantile(0.1), quantile(0.9)
//   histogram     bins on log10(perplexity) with edges e_k = lo + k (hi - lo) / bins, k = 0..bins;
//                 bin k holds e_k <= log10(ppl) < e_{k+1}; values below e_0 are counted in the
//                 first bin and values at or above e_bins in the last (so the counts add up to
//                 the number of documents). Defaults: lo = 0, hi = 5, 50 bins (width 0.1, i.e.
//                 perplexity 1 to 100000 in steps of 10^0.1). The edges are fixed rather than fitted
//                 to the data so histograms of different generations share their bins.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace collapse {

// The quantile above of `values` (any order) at q in [0, 1]. Error on an empty list or q outside.
double quantile(std::vector<double> values, double q);

struct LogHistogramBins {
  double log10_lo = 0.0;
  double log10_hi = 5.0;
  std::int64_t bins = 50;
};

struct PerplexitySummary {
  std::int64_t documents = 0;
  double mean = 0.0, median = 0.0, p10 = 0.0, p90 = 0.0;
  std::vector<double> log10_edges;    // bins + 1 edges, ascending
  std::vector<std::int64_t> counts;   // bins counts, summing to documents
};

// Error on an empty list, a non-finite or non-positive perplexity, or bad bins (hi <= lo, bins < 1).
PerplexitySummary summarize_perplexities(const std::vector<double>& perplexities,
                                         const LogHistogramBins& bins = {});

// {"documents", "mean", "median", "p10", "p90", "histogram": {"log10_edges": [..], "counts": [..]}}
nlohmann::json to_json(const PerplexitySummary& summary);

}  // namespace collapse
