#include "collapse/experiment/curation.h"

#include <algorithm>
#include <limits>
#include <map>
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

}  // namespace

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
  if (ngram < 1) fail("[curate] minhash_ngram must be at least 1, got {}", ngram);
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

double minhash_similarity(const TokenCorpus& corpus, std::int64_t a, std::int64_t b, int ngram,
                          std::uint64_t seed) {
  return similarity(signature(corpus.document(a), ngram, seed), signature(corpus.document(b), ngram, seed));
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
