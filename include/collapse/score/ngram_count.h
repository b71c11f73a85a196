// Counting n-grams: the integers every n-gram metric is computed from, and the engines that count
// them, on the CPU (here, exact) or with the CUDA kernels (ngram_engine.h, kernels/ngram.cuh).
//
// An n-gram is a window of n consecutive tokens inside one document (token_corpus.h); a document
// of length L has max(0, L - n + 1) of them and none spans two documents. n is in
// 1..kMaxNgramOrder (ngram_key.h). Engines return identical integers for identical inputs: the
// CUDA engine is tested for it (tests/score/ngram_kernel_test.cpp) wherever n-gram keys are exact
// (n * id_bits <= 64, ngram_key.h); beyond that the CUDA engine identifies n-grams by a 64-bit
// hash and the CPU engine by their ids.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "ngram_key.h"
#include "collapse/data/token_corpus.h"

namespace collapse {

// `ngrams` distinct n-grams occur exactly `count` times each.
struct CountMultiplicity {
  std::int64_t count = 0;
  std::int64_t ngrams = 0;
  bool operator==(const CountMultiplicity&) const = default;
};

// The occurrence statistics of a corpus's n-grams.
struct NgramStats {
  int n = 0;
  std::int64_t total = 0;   // n-grams (windows), with repetition
  std::int64_t unique = 0;  // distinct n-grams
  // The frequency-of-frequencies histogram, by count ascending: sum(count * ngrams) == total,
  // sum(ngrams) == unique.
  std::vector<CountMultiplicity> histogram;
  bool operator==(const NgramStats&) const = default;
};

// Coverage of a reference corpus's distinct n-grams by another corpus. The reference's distinct
// n-grams are ranked by count, descending, ties broken by ascending n-gram key (ngram_key.h: the
// lexicographic order of the ids wherever keys are exact) and then by the ids; the first
// floor(distinct * kFrequentPercent / 100) ranks are the frequent ones, all later ranks are rare.
struct CoverageCounts {
  int n = 0;
  std::int64_t reference_distinct = 0;  // distinct n-grams of the reference
  std::int64_t covered = 0;             // ... that occur in the other corpus
  std::int64_t rare_distinct = 0;       // rare distinct n-grams of the reference
  std::int64_t rare_covered = 0;        // ... that occur in the other corpus
  bool operator==(const CoverageCounts&) const = default;
};

// Which documents a BLEU computation uses, for a corpus of D documents.
//   is_reference[d]     1 when document d is a reference, else 0 ([D])
//   hypothesis_slot[d]  the index of document d among the hypotheses, or -1 ([D]); slots are
//                       0..hypotheses-1, each used once
struct BleuRoles {
  std::vector<std::uint8_t> is_reference;
  std::vector<std::int32_t> hypothesis_slot;
  std::int64_t hypotheses = 0;
};

// BLEU's clipped matches of order n for every hypothesis h (NLTK's modified-precision numerator
// against all references other than h itself):
//   matches[h] = sum over distinct n-grams g of h of min(count_h(g), max_{r ref, r != h} count_r(g))
// computed per n-gram from the reference counts' top two (max, its document, second max): the
// max over references other than h is the second max when h holds the max, else the max.
struct BleuMatches {
  int n = 0;
  std::vector<std::int64_t> matches;  // [hypotheses]
  bool operator==(const BleuMatches&) const = default;
};

class NgramEngine {
 public:
  virtual ~NgramEngine() = default;
  // "cpu" or the CUDA device, e.g. "cuda:0".
  virtual std::string name() const = 0;
  // One NgramStats per entry of `orders`, in that order. id_bits: ngram_id_bits of the largest
  // id (at least that of the corpus).
  virtual std::vector<NgramStats> stats(const TokenCorpus& corpus, std::span<const int> orders,
                                        int id_bits) const = 0;
  // One CoverageCounts per order: of `reference`'s distinct n-grams by `other`'s.
  virtual std::vector<CoverageCounts> coverage(const TokenCorpus& reference,
                                               const TokenCorpus& other,
                                               std::span<const int> orders, int id_bits) const = 0;
  // One BleuMatches per order; roles sized to corpus.documents().
  virtual std::vector<BleuMatches> bleu_matches(const TokenCorpus& corpus, const BleuRoles& roles,
                                                std::span<const int> orders,
                                                int id_bits) const = 0;
};

// The CPU engine: exact n-gram identity (packed keys, or the ids themselves where keys would be
// hashes), LSD radix sorts.
const NgramEngine& cpu_ngram_engine();

// id_bits for a set of corpora: ngram_id_bits of their largest id.
int ngram_id_bits_of(std::initializer_list<const TokenCorpus*> corpora);

// The CPU references of the CUDA kernels (kernels/ngram.cuh): the same 64-bit keys (ngram_key,
// hashed or not), so they return exactly the kernels' integers.
namespace reference {

// The distinct keys of corpus's n-grams, ascending, and how often each occurs
// (kernels::ngram_counts).
struct KeyCounts {
  std::vector<std::uint64_t> keys;
  std::vector<std::uint32_t> counts;
};
KeyCounts ngram_counts(const TokenCorpus& corpus, int n, int id_bits);

// (count value, how many entries have it), by value ascending (kernels::count_histogram).
std::vector<CountMultiplicity> count_histogram(std::span<const std::uint32_t> counts);

// kernels::ngram_coverage: `reference` and `other` as ngram_counts returns them.
CoverageCounts ngram_coverage(const KeyCounts& reference, const KeyCounts& other);

// kernels::bleu_matches.
std::vector<std::int64_t> bleu_matches(const TokenCorpus& corpus, const BleuRoles& roles, int n,
                                       int id_bits);

}  // namespace reference
}  // namespace collapse
