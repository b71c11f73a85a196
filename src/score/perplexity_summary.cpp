#include "collapse/score/perplexity_summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "collapse/util/error.h"

namespace collapse {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) fail("quantile of an empty list");
  if (!(q >= 0.0 && q <= 1.0)) fail("quantile: q = {} is outside [0, 1]", q);
  std::sort(values.begin(), values.end());
  const double h = static_cast<double>(values.size() - 1) * q;
  const auto below = static_cast<std::size_t>(std::floor(h));
  if (below + 1 >= values.size()) return values.back();
  return values[below] + (h - static_cast<double>(below)) * (values[below + 1] - values[below]);
}

PerplexitySummary summarize_perplexities(const std::vector<double>& perplexities,
                                         const LogHistogramBins& bins) {
  if (perplexities.empty()) fail("no documents to summarise: the perplexity list is empty");
  if (!(bins.log10_hi > bins.log10_lo) || bins.bins < 1) {
    fail("histogram bins: need log10_hi > log10_lo and at least one bin, got [{}, {}) in {} bins",
         bins.log10_lo, bins.log10_hi, bins.bins);
  }
  for (std::size_t i = 0; i < perplexities.size(); ++i) {
    if (!std::isfinite(perplexities[i]) || perplexities[i] <= 0.0) {
      fail("perplexity of document {} is {}: expected a finite positive number", i, perplexities[i]);
    }
  }
  PerplexitySummary s;
  s.documents = static_cast<std::int64_t>(perplexities.size());
  s.mean = std::accumulate(perplexities.begin(), perplexities.end(), 0.0) /
           static_cast<double>(perplexities.size());
  s.median = quantile(perplexities, 0.5);
  s.p10 = quantile(perplexities, 0.1);
  s.p90 = quantile(perplexities, 0.9);

  const double width = (bins.log10_hi - bins.log10_lo) / static_cast<double>(bins.bins);
  for (std::int64_t k = 0; k < bins.bins; ++k) {
    s.log10_edges.push_back(bins.log10_lo + static_cast<double>(k) * width);
  }
  s.log10_edges.push_back(bins.log10_hi);
  s.counts.assign(static_cast<std::size_t>(bins.bins), 0);
  for (const double ppl : perplexities) {
    // The last edge <= log10(ppl), by the stored edges themselves, clamped into [0, bins).
    const auto above = std::upper_bound(s.log10_edges.begin(), s.log10_edges.end(), std::log10(ppl));
    const std::int64_t k = std::clamp<std::int64_t>((above - s.log10_edges.begin()) - 1, 0, bins.bins - 1);
    ++s.counts[static_cast<std::size_t>(k)];
  }
  return s;
}

nlohmann::json to_json(const PerplexitySummary& s) {
  return {{"documents", s.documents},
          {"mean", s.mean},
          {"median", s.median},
          {"p10", s.p10},
          {"p90", s.p90},
          {"histogram", {{"log10_edges", s.log10_edges}, {"counts", s.counts}}}};
}

}  // namespace collapse
