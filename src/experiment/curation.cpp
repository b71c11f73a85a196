#include "collapse/experiment/curation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include "collapse/util/error.h"
#include "collapse/util/random.h"

namespace collapse {
namespace {

std::uint64_t hash_span(std::span<const std::int32_t> tokens) {
  std::uint64_t h = 0x51ED270B27E5A1ull;
  for (const std::int32_t t : tokens) h = splitmix64(h ^ static_cast<std::uint32_t>(t));
  return h;
}

using Signature = std::vector<std::uint64_t>;

Signature signature(std::span<const std::int32_t> doc, int ngram, std::uint64_t seed) {
  Signature sig(kMinHashPermutations, std::numeric_limits<std::uint64_t>::max());
  const std::size_t n = static_cast<std::size_t>(ngram);
  const std::size_t shingles = doc.size() < n ? (doc.empty() ? 0 : 1) : doc.size() - n + 1;
  for (std::size_t i = 0; i < shingles; ++i) {
    const std::uint64_t shingle = hash_span(doc.subspan(i, std::min(n, doc.size())));
    for (int p = 0; p < kMinHashPermutations; ++p) {
      const std::uint64_t h = splitmix64(shingle ^ random_key(seed, {static_cast<std::uint64_t>(p)}));
      sig[static_cast<std::size_t>(p)] = std::min(sig[static_cast<std::size_t>(p)], h);
    }
  }
  return sig;
}

double similarity(const Signature& a, const Signature& b) {
  int equal = 0;
  for (std::size_t p = 0; p < a.size(); ++p) equal += a[p] == b[p];
  return static_cast<double>(equal) / static_cast<double>(a.size());
}

double interpolated_quantile(std::vector<double> sorted, double q) {
  std::sort(sorted.begin(), sorted.end());
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

constexpr Named<CurationStep> kSteps[] = {
    {CurationStep::best_of_k, "best_of_k",
     "of k candidates per prompt, keep the one with the lowest perplexity under the verifier"},
    {CurationStep::ppl_filter, "ppl_filter",
     "keep documents between two quantiles of perplexity under the verifier"},
    {CurationStep::keep_top, "keep_top", "keep the share p of documents the verifier scores best"},
    {CurationStep::dedup, "dedup", "drop exact or MinHash near-duplicate documents"},
    {CurationStep::resample, "resample",
     "redraw the documents by a real-vs-synthetic detector's importance weights"},
};

bool uses_verifier(CurationStep step) {
  return step == CurationStep::best_of_k || step == CurationStep::ppl_filter || step == CurationStep::keep_top;
}

std::size_t rounded_share(double share, std::size_t n) {
  return std::min(n, static_cast<std::size_t>(std::floor(share * static_cast<double>(n) + 0.5)));
}

}  // namespace

std::span<const Named<CurationStep>> curation_steps() { return kSteps; }

bool curation_step_on(CurationStep step, const CurateSettings& s) {
  switch (step) {
    case CurationStep::best_of_k: return s.best_of_k > 1;
    case CurationStep::ppl_filter: return s.ppl_filter_enabled();
    case CurationStep::keep_top: return s.keep_top < 1.0;
    case CurationStep::dedup: return s.dedup != Dedup::none;
    case CurationStep::resample: return s.resample != Resample::none;
  }
  return false;
}

bool curation_needs_perplexities(const CurateSettings& s) {
  for (const Named<CurationStep>& step : kSteps) {
    if (uses_verifier(step.value) && curation_step_on(step.value, s)) return true;
  }
  return false;
}

Curated curate(const CurateSettings& s, const TokenCorpus& corpus, const std::vector<double>& perplexities,
               const CurationSeeds& seeds, const DocumentWeights& weigh) {
  Curated out;
  out.kept.resize(static_cast<std::size_t>(corpus.documents()));
  std::iota(out.kept.begin(), out.kept.end(), std::int64_t{0});
  if (curation_needs_perplexities(s) && static_cast<std::int64_t>(perplexities.size()) != corpus.documents()) {
    fail("curation: {} perplexities for {} documents", perplexities.size(), corpus.documents());
  }
  for (const Named<CurationStep>& step : kSteps) {
    if (!curation_step_on(step.value, s)) continue;
    const std::vector<std::int64_t> before = out.kept;
    std::string name = step.name;
    switch (step.value) {
      case CurationStep::best_of_k:
        out.kept = keep_best_of_k(perplexities, out.kept, s.best_of_k);
        break;
      case CurationStep::ppl_filter:
        out.kept = keep_between_quantiles(perplexities, out.kept, s.ppl_filter_low, s.ppl_filter_high);
        break;
      case CurationStep::keep_top:
        out.kept = keep_lowest_share(perplexities, out.kept, s.keep_top);
        break;
      case CurationStep::dedup:
        out.kept = s.dedup == Dedup::exact
                       ? drop_exact_duplicates(corpus, out.kept)
                       : drop_near_duplicates(corpus, out.kept, static_cast<int>(s.minhash_ngram),
                                              s.minhash_threshold, seeds.minhash);
        name = to_string(s.dedup) + "_dedup";
        break;
      case CurationStep::resample:
        if (!weigh) fail("curation: resampling needs the detector's weights");
        if (!out.kept.empty()) out.kept = resample_documents(out.kept, weigh(out.kept), seeds.resample);
        break;
    }
    if (uses_verifier(step.value) && s.verifier_error > 0.0) {
      out.kept = flip_decisions(before, out.kept, s.verifier_error,
                                random_key(seeds.verifier_error, {static_cast<std::uint64_t>(step.value)}));
      out.flipped[name] = rounded_share(s.verifier_error, before.size());
    }
    std::vector<std::int64_t> distinct = out.kept;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    out.removed[name] = before.size() - distinct.size();
  }
  return out;
}

std::vector<std::int64_t> keep_lowest_share(const std::vector<double>& values,
                                            const std::vector<std::int64_t>& documents, double share) {
  if (!(share > 0.0 && share <= 1.0)) fail("keep-top needs a share in (0, 1], got {}", share);
  std::vector<std::size_t> order(documents.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return values[static_cast<std::size_t>(documents[a])] < values[static_cast<std::size_t>(documents[b])];
  });
  order.resize(rounded_share(share, documents.size()));
  std::sort(order.begin(), order.end());
  std::vector<std::int64_t> kept;
  for (const std::size_t i : order) kept.push_back(documents[i]);
  return kept;
}

std::vector<std::int64_t> flip_decisions(const std::vector<std::int64_t>& documents,
                                         const std::vector<std::int64_t>& kept, double share,
                                         std::uint64_t seed) {
  std::vector<std::size_t> order(documents.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto key = [&](std::size_t i) { return random_key(seed, {static_cast<std::uint64_t>(documents[i])}); };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  std::vector<bool> flip(documents.size(), false);
  for (std::size_t r = 0; r < rounded_share(share, documents.size()); ++r) flip[order[r]] = true;
  std::vector<std::int64_t> out;
  std::size_t next_kept = 0;  // `kept` follows the order of `documents`
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const bool was_kept = next_kept < kept.size() && kept[next_kept] == documents[i];
    if (was_kept) ++next_kept;
    if (was_kept != flip[i]) out.push_back(documents[i]);
  }
  if (next_kept != kept.size()) fail("curation: the kept documents are not a subsequence of the step's input");
  return out;
}

std::vector<std::int64_t> resample_documents(const std::vector<std::int64_t>& documents,
                                             const std::vector<double>& weights, std::uint64_t seed) {
  if (weights.size() != documents.size()) {
    fail("resampling: {} weights for {} documents", weights.size(), documents.size());
  }
  std::vector<double> cumulative(weights.size());
  double total = 0.0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (!(weights[i] >= 0.0) || !std::isfinite(weights[i])) fail("resampling: weight {} is {}", i, weights[i]);
    total += weights[i];
    cumulative[i] = total;
  }
  if (!(total > 0.0)) fail("resampling: every weight is 0");
  std::vector<std::int64_t> drawn;
  drawn.reserve(documents.size());
  for (std::size_t r = 0; r < documents.size(); ++r) {
    const double u = static_cast<double>(random_key(seed, {r}) >> 11) * 0x1.0p-53 * total;
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    // u < total, so some cumulative sum exceeds it; a zero weight is never drawn (upper_bound
    // skips the equal sums it leaves).
    drawn.push_back(documents[static_cast<std::size_t>(std::min<std::ptrdiff_t>(
        it - cumulative.begin(), static_cast<std::ptrdiff_t>(documents.size()) - 1))]);
  }
  std::sort(drawn.begin(), drawn.end());
  return drawn;
}

std::vector<std::int64_t> keep_best_of_k(const std::vector<double>& values,
                                         const std::vector<std::int64_t>& documents, std::int64_t k) {
  if (k < 1) fail("best-of-k needs k >= 1, got {}", k);
  const auto K = static_cast<std::size_t>(k);
  std::vector<std::int64_t> best;
  for (std::size_t g = 0; g + K <= documents.size(); g += K) {
    std::int64_t pick = documents[g];
    for (std::size_t c = g + 1; c < g + K; ++c) {
      if (values[static_cast<std::size_t>(documents[c])] < values[static_cast<std::size_t>(pick)]) pick = documents[c];
    }
    best.push_back(pick);
  }
  return best;
}

std::vector<std::int64_t> drop_exact_duplicates(const TokenCorpus& corpus,
                                                const std::vector<std::int64_t>& documents) {
  std::unordered_map<std::uint64_t, std::vector<std::int64_t>> seen;  // hash -> kept documents
  std::vector<std::int64_t> kept;
  for (const std::int64_t d : documents) {
    const auto doc = corpus.document(d);
    auto& bucket = seen[hash_span(doc)];
    const bool duplicate = std::any_of(bucket.begin(), bucket.end(), [&](std::int64_t k) {
      const auto other = corpus.document(k);
      return std::equal(doc.begin(), doc.end(), other.begin(), other.end());
    });
    if (duplicate) continue;
    bucket.push_back(d);
    kept.push_back(d);
  }
  return kept;
}

std::vector<std::int64_t> drop_near_duplicates(const TokenCorpus& corpus,
                                               const std::vector<std::int64_t>& documents, int ngram,
                                               double threshold, std::uint64_t seed) {
  if (ngram < 1) fail("MinHash shingles need n >= 1, got {}", ngram);
  constexpr int rows = kMinHashPermutations / kMinHashBands;
  std::vector<std::unordered_map<std::uint64_t, std::vector<std::size_t>>> bands(kMinHashBands);
  std::vector<Signature> kept_signatures;
  std::vector<std::int64_t> kept;
  for (const std::int64_t d : documents) {
    const auto doc = corpus.document(d);
    if (doc.empty()) {
      kept.push_back(d);
      continue;
    }
    Signature sig = signature(doc, ngram, seed);
    std::set<std::size_t> candidates;
    std::vector<std::uint64_t> keys(kMinHashBands);
    for (int b = 0; b < kMinHashBands; ++b) {
      std::uint64_t key = static_cast<std::uint64_t>(b);
      for (int r = 0; r < rows; ++r) key = splitmix64(key ^ sig[static_cast<std::size_t>(b * rows + r)]);
      keys[static_cast<std::size_t>(b)] = key;
      const auto it = bands[static_cast<std::size_t>(b)].find(key);
      if (it != bands[static_cast<std::size_t>(b)].end()) candidates.insert(it->second.begin(), it->second.end());
    }
    const bool duplicate = std::any_of(candidates.begin(), candidates.end(), [&](std::size_t k) {
      return similarity(sig, kept_signatures[k]) >= threshold;
    });
    if (duplicate) continue;
    for (int b = 0; b < kMinHashBands; ++b) {
      bands[static_cast<std::size_t>(b)][keys[static_cast<std::size_t>(b)]].push_back(kept_signatures.size());
    }
    kept_signatures.push_back(std::move(sig));
    kept.push_back(d);
  }
  return kept;
}

std::vector<std::int64_t> keep_between_quantiles(const std::vector<double>& values,
                                                 const std::vector<std::int64_t>& documents,
                                                 double low, double high) {
  if (documents.empty()) return {};
  std::vector<double> of_documents;
  for (const std::int64_t d : documents) of_documents.push_back(values[static_cast<std::size_t>(d)]);
  const double lo = interpolated_quantile(of_documents, low), hi = interpolated_quantile(of_documents, high);
  std::vector<std::int64_t> kept;
  for (const std::int64_t d : documents) {
    const double v = values[static_cast<std::size_t>(d)];
    if (v >= lo && v <= hi) kept.push_back(d);
  }
  return kept;
}

}  // namespace collapse
