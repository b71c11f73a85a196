#include "collapse/experiment/curation.h"

#include <algorithm>
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
     "of k candidates per prompt, keep the lowest perplexity under the generation-0 model"},
    {CurationStep::ppl_filter, "ppl_filter",
     "keep documents between two quantiles of perplexity under the generation-0 model"},
    {CurationStep::dedup, "dedup", "drop exact or MinHash near-duplicate documents"},
};

}  // namespace

std::span<const Named<CurationStep>> curation_steps() { return kSteps; }

bool curation_step_on(CurationStep step, const CurateSettings& s) {
  switch (step) {
    case CurationStep::best_of_k: return s.best_of_k > 1;
    case CurationStep::ppl_filter: return s.ppl_filter_enabled();
    case CurationStep::dedup: return s.dedup != Dedup::none;
  }
  return false;
}

bool curation_needs_perplexities(const CurateSettings& s) {
  return curation_step_on(CurationStep::best_of_k, s) || curation_step_on(CurationStep::ppl_filter, s);
}

Curated curate(const CurateSettings& s, const TokenCorpus& corpus,
               const std::vector<double>& perplexities, std::uint64_t minhash_seed) {
  Curated out;
  out.kept.resize(static_cast<std::size_t>(corpus.documents()));
  std::iota(out.kept.begin(), out.kept.end(), std::int64_t{0});
  if (curation_needs_perplexities(s) && static_cast<std::int64_t>(perplexities.size()) != corpus.documents()) {
    fail("curation: {} perplexities for {} documents", perplexities.size(), corpus.documents());
  }
  for (const Named<CurationStep>& step : kSteps) {
    if (!curation_step_on(step.value, s)) continue;
    const std::size_t before = out.kept.size();
    std::string name = step.name;
    switch (step.value) {
      case CurationStep::best_of_k:
        out.kept = keep_best_of_k(perplexities, out.kept, s.best_of_k);
        break;
      case CurationStep::ppl_filter:
        out.kept = keep_between_quantiles(perplexities, out.kept, s.ppl_filter_low, s.ppl_filter_high);
        break;
      case CurationStep::dedup:
        out.kept = s.dedup == Dedup::exact
                       ? drop_exact_duplicates(corpus, out.kept)
                       : drop_near_duplicates(corpus, out.kept, static_cast<int>(s.minhash_ngram),
                                              s.minhash_threshold, minhash_seed);
        name = to_string(s.dedup) + "_dedup";
        break;
    }
    out.removed[name] = before - out.kept.size();
  }
  return out;
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
