#include "collapse/score/ngram_metrics.h"

#include <algorithm>
#include <cmath>

#include "collapse/util/error.h"

namespace collapse {
namespace {

// Unigram counts of two corpora over their union vocabulary, ids ascending.
struct UnionCounts {
  std::vector<std::int64_t> real, synthetic;
  std::int64_t real_total = 0, synthetic_total = 0;
};

UnionCounts union_counts(const TokenCorpus& real, const TokenCorpus& synthetic) {
  const int bits = ngram_id_bits_of({&real, &synthetic});
  const auto r = reference::ngram_counts(real, 1, bits);  // keys are the ids themselves (n = 1)
  const auto s = reference::ngram_counts(synthetic, 1, bits);
  UnionCounts u;
  std::size_t i = 0, j = 0;
  while (i < r.keys.size() || j < s.keys.size()) {
    const bool take_r = i < r.keys.size() && (j == s.keys.size() || r.keys[i] <= s.keys[j]);
    const bool take_s = j < s.keys.size() && (i == r.keys.size() || s.keys[j] <= r.keys[i]);
    u.real.push_back(take_r ? r.counts[i++] : 0);
    u.synthetic.push_back(take_s ? s.counts[j++] : 0);
  }
  u.real_total = real.size();
  u.synthetic_total = synthetic.size();
  return u;
}

// Probabilities of counts over |U| outcomes; uniform for an empty corpus.
std::vector<double> distribution(const std::vector<std::int64_t>& counts, std::int64_t total) {
  std::vector<double> p(counts.size());
  for (std::size_t t = 0; t < counts.size(); ++t) {
    p[t] = total > 0 ? static_cast<double>(counts[t]) / static_cast<double>(total)
                     : 1.0 / static_cast<double>(counts.size());
  }
  return p;
}

double kl_bits(const std::vector<double>& p, const std::vector<double>& q) {
  double kl = 0;
  for (std::size_t t = 0; t < p.size(); ++t) {
    if (p[t] > 0) kl += p[t] * std::log2(p[t] / q[t]);
  }
  return kl;
}

}  // namespace

double distinct_n(const NgramStats& stats) {
  return stats.total > 0 ? static_cast<double>(stats.unique) / static_cast<double>(stats.total) : 0.0;
}

double ngram_entropy(const NgramStats& stats) {
  if (stats.total == 0) return 0.0;
  double sum = 0;  // sum_g c_g log2 c_g
  for (const CountMultiplicity& h : stats.histogram) {
    const double c = static_cast<double>(h.count);
    sum += static_cast<double>(h.ngrams) * c * std::log2(c);
  }
  const double total = static_cast<double>(stats.total);
  return std::max(0.0, std::log2(total) - sum / total);
}

std::vector<NgramStats> ngram_stats(const TokenCorpus& corpus, std::span<const int> orders,
                                    const NgramEngine& engine) {
  return engine.stats(corpus, orders, ngram_id_bits_of({&corpus}));
}

double coverage(const CoverageCounts& counts) {
  return counts.reference_distinct > 0
             ? static_cast<double>(counts.covered) / static_cast<double>(counts.reference_distinct)
             : 0.0;
}

double rare_coverage(const CoverageCounts& counts) {
  return counts.rare_distinct > 0
             ? static_cast<double>(counts.rare_covered) / static_cast<double>(counts.rare_distinct)
             : 0.0;
}

std::vector<CoverageCounts> ngram_coverage(const TokenCorpus& reference,
                                           const TokenCorpus& synthetic,
                                           std::span<const int> orders, const NgramEngine& engine) {
  return engine.coverage(reference, synthetic, orders, ngram_id_bits_of({&reference, &synthetic}));
}

double unigram_kl(const TokenCorpus& real, const TokenCorpus& synthetic, double alpha) {
  if (!(alpha > 0) || !std::isfinite(alpha)) fail("unigram KL: smoothing alpha must be > 0, got {}", alpha);
  const UnionCounts u = union_counts(real, synthetic);
  const double V = static_cast<double>(u.real.size());
  std::vector<double> p(u.real.size()), q(u.real.size());
  for (std::size_t t = 0; t < p.size(); ++t) {
    p[t] = (static_cast<double>(u.real[t]) + alpha) / (static_cast<double>(u.real_total) + alpha * V);
    q[t] = (static_cast<double>(u.synthetic[t]) + alpha) /
           (static_cast<double>(u.synthetic_total) + alpha * V);
  }
  return kl_bits(p, q);
}

double unigram_js(const TokenCorpus& real, const TokenCorpus& synthetic) {
  const UnionCounts u = union_counts(real, synthetic);
  if (u.real.empty()) return 0.0;
  const auto p = distribution(u.real, u.real_total), q = distribution(u.synthetic, u.synthetic_total);
  std::vector<double> m(p.size());
  for (std::size_t t = 0; t < p.size(); ++t) m[t] = 0.5 * (p[t] + q[t]);
  return std::clamp(0.5 * kl_bits(p, m) + 0.5 * kl_bits(q, m), 0.0, 1.0);
}

ZipfFit zipf_exponent(const TokenCorpus& corpus, std::int64_t max_rank) {
  if (max_rank < 2) fail("Zipf fit: the largest rank must be >= 2, got {}", max_rank);
  const auto unigrams = reference::ngram_counts(corpus, 1, ngram_id_bits_of({&corpus}));
  std::vector<std::uint32_t> counts = unigrams.counts;
  std::sort(counts.begin(), counts.end(), std::greater<>());
  ZipfFit fit;
  fit.ranks = std::min<std::int64_t>(max_rank, static_cast<std::int64_t>(counts.size()));
  if (fit.ranks < 2) return fit;
  double mean_x = 0, mean_y = 0;
  for (std::int64_t r = 1; r <= fit.ranks; ++r) {
    mean_x += std::log(static_cast<double>(r));
    mean_y += std::log(static_cast<double>(counts[r - 1]));
  }
  mean_x /= static_cast<double>(fit.ranks), mean_y /= static_cast<double>(fit.ranks);
  double sxy = 0, sxx = 0;
  for (std::int64_t r = 1; r <= fit.ranks; ++r) {
    const double dx = std::log(static_cast<double>(r)) - mean_x;
    sxy += dx * (std::log(static_cast<double>(counts[r - 1])) - mean_y);
    sxx += dx * dx;
  }
  fit.exponent = -sxy / sxx;
  return fit;
}

}  // namespace collapse
