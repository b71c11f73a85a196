#include "collapse/score/ngram_count.h"

#include <algorithm>
#include <array>
#include <bit>
#include <functional>
#include <type_traits>
#include <utility>

#include "collapse/util/error.h"
#include "ngram_key.h"

namespace collapse {
namespace {

using u128 = unsigned __int128;

void check_order(int n) {
  if (n < 1 || n > kMaxNgramOrder) fail("n-gram order {} is outside 1..{}", n, kMaxNgramOrder);
}

// Stable LSD radix sort of `keys` (and `values` alongside, when given) on their low `key_bits`
// bits, 11 bits a pass. The histograms of every pass come from one read of the keys (a digit's
// histogram does not change as the keys move); a pass whose digit is the same for every key is
// skipped.
void radix_sort(std::vector<std::uint64_t>& keys, std::vector<std::int32_t>* values, int key_bits) {
  constexpr int kDigit = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigit;
  const std::size_t size = keys.size();
  const int passes = (key_bits + kDigit - 1) / kDigit;
  std::vector<std::size_t> start(kBuckets * static_cast<std::size_t>(passes), 0);
  for (std::uint64_t k : keys) {
    for (int p = 0; p < passes; ++p) ++start[p * kBuckets + ((k >> (p * kDigit)) & (kBuckets - 1))];
  }
  std::vector<std::uint64_t> key_buffer;
  std::vector<std::int32_t> value_buffer;
  for (int p = 0; p < passes; ++p) {
    std::size_t* bucket = start.data() + p * kBuckets;
    if (std::find(bucket, bucket + kBuckets, size) != bucket + kBuckets) continue;
    std::size_t sum = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) sum += std::exchange(bucket[b], sum);
    key_buffer.resize(size);
    if (values) value_buffer.resize(size);
    const int shift = p * kDigit;
    for (std::size_t i = 0; i < size; ++i) {
      const std::size_t to = bucket[(keys[i] >> shift) & (kBuckets - 1)]++;
      key_buffer[to] = keys[i];
      if (values) value_buffer[to] = (*values)[i];
    }
    keys.swap(key_buffer);
    if (values) values->swap(value_buffer);
  }
}

// An n-gram's ids packed 32 bits each, first id highest: exact for n <= 4, ordered like the ids.
u128 packed_ids(const std::int32_t* window, int n) {
  u128 key = 0;
  for (int i = 0; i < n; ++i) key = (key << 32) | static_cast<std::uint32_t>(window[i]);
  return key;
}

std::uint64_t key64_of_packed_ids(u128 packed, int n, int id_bits) {
  std::array<std::int32_t, kMaxNgramOrder> ids{};
  for (int i = n - 1; i >= 0; --i, packed >>= 32) ids[i] = static_cast<std::int32_t>(packed & 0xFFFFFFFFu);
  return ngram_key(ids.data(), n, id_bits);
}

// The keys of every window of n tokens, document by document, and (with `docs`) each window's
// document index.
template <typename Key, typename KeyOf>
std::vector<Key> window_keys(const TokenCorpus& corpus, int n, KeyOf key_of,
                             std::vector<std::int32_t>* docs) {
  std::vector<Key> keys;
  keys.reserve(static_cast<std::size_t>(corpus.windows(n)));
  if (docs) docs->reserve(keys.capacity());
  for (std::int64_t d = 0; d < corpus.documents(); ++d) {
    for (std::int64_t i = corpus.offsets[d]; i + n <= corpus.offsets[d + 1]; ++i) {
      keys.push_back(key_of(corpus.tokens.data() + i));
      if (docs) docs->push_back(static_cast<std::int32_t>(d));
    }
  }
  return keys;
}

// Sorted keys (and window documents alongside) of the corpus's n-grams. Sorting is stable in
// effect: windows of one key stay in document order.
template <typename Key>
std::vector<Key> sorted_window_keys(const TokenCorpus& corpus, int n, int id_bits,
                                    std::vector<std::int32_t>* docs) {
  if constexpr (std::is_same_v<Key, std::uint64_t>) {
    auto keys = window_keys<std::uint64_t>(
        corpus, n, [&](const std::int32_t* w) { return ngram_key(w, n, id_bits); }, docs);
    radix_sort(keys, docs, ngram_key_bits(n, id_bits));
    return keys;
  } else {
    auto keys = window_keys<u128>(corpus, n, [&](const std::int32_t* w) { return packed_ids(w, n); }, docs);
    if (!docs) {
      std::sort(keys.begin(), keys.end());
      return keys;
    }
    std::vector<std::pair<u128, std::int32_t>> pairs(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) pairs[i] = {keys[i], (*docs)[i]};
    std::sort(pairs.begin(), pairs.end());
    for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = pairs[i].first, (*docs)[i] = pairs[i].second;
    return keys;
  }
}

template <typename Key>
struct Counted {
  std::vector<Key> keys;  // distinct, ascending
  std::vector<std::uint32_t> counts;
};

template <typename Key>
Counted<Key> run_lengths(const std::vector<Key>& sorted) {
  Counted<Key> out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    out.keys.push_back(sorted[i]);
    out.counts.push_back(static_cast<std::uint32_t>(j - i));
    i = j;
  }
  return out;
}

std::vector<CountMultiplicity> histogram_of(std::span<const std::uint32_t> counts) {
  std::vector<std::uint64_t> sorted(counts.begin(), counts.end());
  std::uint32_t largest = 0;
  for (std::uint32_t c : counts) largest = std::max(largest, c);
  radix_sort(sorted, nullptr, std::bit_width(largest));
  std::vector<CountMultiplicity> out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    out.push_back({static_cast<std::int64_t>(sorted[i]), static_cast<std::int64_t>(j - i)});
    i = j;
  }
  return out;
}

template <typename Key>
NgramStats stats_of(const TokenCorpus& corpus, int n, int id_bits) {
  const auto counted = run_lengths(sorted_window_keys<Key>(corpus, n, id_bits, nullptr));
  NgramStats s;
  s.n = n;
  s.total = corpus.windows(n);
  s.unique = static_cast<std::int64_t>(counted.keys.size());
  s.histogram = histogram_of(counted.counts);
  return s;
}

// Coverage of `reference` by `other` (both distinct keys ascending). `key64(i)` gives the
// tie-breaking 64-bit key of reference n-gram i; ties of equal key64 fall back to the key order.
template <typename Key, typename Key64>
CoverageCounts coverage_of(const Counted<Key>& reference, const std::vector<Key>& other, int n,
                           bool key64_is_key, Key64 key64) {
  const std::size_t D = reference.keys.size();
  CoverageCounts c;
  c.n = n;
  c.reference_distinct = static_cast<std::int64_t>(D);
  std::vector<std::uint8_t> present(D, 0);
  for (std::size_t i = 0, j = 0; i < D; ++i) {
    while (j < other.size() && other[j] < reference.keys[i]) ++j;
    present[i] = j < other.size() && other[j] == reference.keys[i];
    c.covered += present[i];
  }
  const std::size_t top = D * kFrequentPercent / 100;
  std::vector<std::uint8_t> rare(D, 1);
  if (top > 0) {
    // The count at rank `top` (1-based) by count descending: every n-gram counted more is
    // frequent, every one counted less is rare; of those counted exactly that, the first
    // (top - more) in tie order are frequent.
    std::vector<std::uint32_t> counts = reference.counts;
    std::nth_element(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(top - 1), counts.end(),
                     std::greater<>());
    const std::uint32_t boundary = counts[top - 1];
    std::size_t more = 0;
    std::vector<std::size_t> tied;
    for (std::size_t i = 0; i < D; ++i) {
      if (reference.counts[i] > boundary) ++more, rare[i] = 0;
      if (reference.counts[i] == boundary) tied.push_back(i);
    }
    // `tied` is in key order; order it by (key64, key), which changes nothing where key64 is the key.
    if (!key64_is_key) std::stable_sort(tied.begin(), tied.end(),
                     [&](std::size_t a, std::size_t b) { return key64(a) < key64(b); });
    for (std::size_t t = 0; t < top - more; ++t) rare[tied[t]] = 0;
  }
  for (std::size_t i = 0; i < D; ++i) {
    c.rare_distinct += rare[i];
    c.rare_covered += rare[i] & present[i];
  }
  return c;
}

template <typename Key>
CoverageCounts coverage_by_key(const TokenCorpus& reference, const TokenCorpus& other, int n,
                               int id_bits) {
  const auto ref = run_lengths(sorted_window_keys<Key>(reference, n, id_bits, nullptr));
  const auto oth = run_lengths(sorted_window_keys<Key>(other, n, id_bits, nullptr));
  if constexpr (std::is_same_v<Key, std::uint64_t>) {
    return coverage_of(ref, oth.keys, n, true, [&](std::size_t i) { return ref.keys[i]; });
  } else {
    std::vector<std::uint64_t> key64(ref.keys.size());
    for (std::size_t i = 0; i < key64.size(); ++i) key64[i] = key64_of_packed_ids(ref.keys[i], n, id_bits);
    return coverage_of(ref, oth.keys, n, false, [&](std::size_t i) { return key64[i]; });
  }
}

void check_roles(const TokenCorpus& corpus, const BleuRoles& roles) {
  const auto D = static_cast<std::size_t>(corpus.documents());
  if (roles.is_reference.size() != D || roles.hypothesis_slot.size() != D) {
    fail("BLEU roles are sized {} and {} for a corpus of {} documents", roles.is_reference.size(),
         roles.hypothesis_slot.size(), D);
  }
  for (std::int32_t s : roles.hypothesis_slot) {
    if (s < -1 || s >= roles.hypotheses) fail("BLEU hypothesis slot {} is outside [-1, {})", s, roles.hypotheses);
  }
}

template <typename Key>
std::vector<std::int64_t> bleu_matches_by_key(const TokenCorpus& corpus, const BleuRoles& roles,
                                              int n, int id_bits) {
  std::vector<std::int32_t> docs;
  const auto keys = sorted_window_keys<Key>(corpus, n, id_bits, &docs);
  std::vector<std::int64_t> matches(static_cast<std::size_t>(roles.hypotheses), 0);
  struct Run {
    std::int32_t doc;
    std::int64_t count;
  };
  std::vector<Run> runs;
  for (std::size_t i = 0; i < keys.size();) {
    // One n-gram: its (document, count) runs, documents ascending.
    runs.clear();
    std::size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) {
      std::size_t k = j + 1;
      while (k < keys.size() && keys[k] == keys[i] && docs[k] == docs[j]) ++k;
      runs.push_back({docs[j], static_cast<std::int64_t>(k - j)});
      j = k;
    }
    i = j;
    // Top two reference counts; the max's document is the largest among equal maxima (as the
    // kernel's atomicMax over (count << 32 | doc) picks), which changes no result.
    std::int64_t max1 = 0, max2 = 0;
    std::int32_t arg1 = -1;
    for (const Run& r : runs) {
      if (!roles.is_reference[r.doc]) continue;
      if (r.count >= max1) arg1 = r.doc, max1 = r.count;
    }
    for (const Run& r : runs) {
      if (roles.is_reference[r.doc] && r.doc != arg1) max2 = std::max(max2, r.count);
    }
    for (const Run& r : runs) {
      const std::int32_t slot = roles.hypothesis_slot[r.doc];
      if (slot < 0) continue;
      matches[slot] += std::min(r.count, r.doc == arg1 ? max2 : max1);
    }
  }
  return matches;
}

class CpuNgramEngine final : public NgramEngine {
 public:
  std::string name() const override { return "cpu"; }

  std::vector<NgramStats> stats(const TokenCorpus& corpus, std::span<const int> orders,
                                int id_bits) const override {
    std::vector<NgramStats> out;
    for (int n : orders) {
      check_order(n);
      out.push_back(ngram_key_is_exact(n, id_bits) ? stats_of<std::uint64_t>(corpus, n, id_bits)
                                                   : stats_of<u128>(corpus, n, id_bits));
    }
    return out;
  }

  std::vector<CoverageCounts> coverage(const TokenCorpus& reference, const TokenCorpus& other,
                                       std::span<const int> orders, int id_bits) const override {
    std::vector<CoverageCounts> out;
    for (int n : orders) {
      check_order(n);
      out.push_back(ngram_key_is_exact(n, id_bits)
                        ? coverage_by_key<std::uint64_t>(reference, other, n, id_bits)
                        : coverage_by_key<u128>(reference, other, n, id_bits));
    }
    return out;
  }

  std::vector<BleuMatches> bleu_matches(const TokenCorpus& corpus, const BleuRoles& roles,
                                        std::span<const int> orders, int id_bits) const override {
    check_roles(corpus, roles);
    std::vector<BleuMatches> out;
    for (int n : orders) {
      check_order(n);
      out.push_back({n, ngram_key_is_exact(n, id_bits)
                            ? bleu_matches_by_key<std::uint64_t>(corpus, roles, n, id_bits)
                            : bleu_matches_by_key<u128>(corpus, roles, n, id_bits)});
    }
    return out;
  }
};

}  // namespace

const NgramEngine& cpu_ngram_engine() {
  static const CpuNgramEngine engine;
  return engine;
}

int ngram_id_bits_of(std::initializer_list<const TokenCorpus*> corpora) {
  std::int32_t largest = 0;
  for (const TokenCorpus* c : corpora) largest = std::max(largest, c->max_id());
  return ngram_id_bits(largest);
}

namespace reference {

KeyCounts ngram_counts(const TokenCorpus& corpus, int n, int id_bits) {
  check_order(n);
  auto counted = run_lengths(sorted_window_keys<std::uint64_t>(corpus, n, id_bits, nullptr));
  return {std::move(counted.keys), std::move(counted.counts)};
}

std::vector<CountMultiplicity> count_histogram(std::span<const std::uint32_t> counts) {
  return histogram_of(counts);
}

CoverageCounts ngram_coverage(const KeyCounts& reference, const KeyCounts& other) {
  const Counted<std::uint64_t> ref{reference.keys, reference.counts};
  return coverage_of(ref, other.keys, 0, true, [&](std::size_t i) { return ref.keys[i]; });
}

std::vector<std::int64_t> bleu_matches(const TokenCorpus& corpus, const BleuRoles& roles, int n,
                                       int id_bits) {
  check_order(n);
  check_roles(corpus, roles);
  return bleu_matches_by_key<std::uint64_t>(corpus, roles, n, id_bits);
}

}  // namespace reference
}  // namespace collapse
