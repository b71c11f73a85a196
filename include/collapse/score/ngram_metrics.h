// Diversity and distribution metrics of a token corpus, computed on token ids. docs/metrics.md
// states the same definitions; the n-gram conventions are ngram_count.h's (windows of n tokens
// inside one document, never across two; n in 1..4). Logarithms are base 2: entropies and
// divergences are in bits.
//
// The n-gram counting runs on an NgramEngine: cpu_ngram_engine() here, or the CUDA kernels
// through make_ngram_engine(device) (ngram_engine.h). Every metric is computed on
// the host from the engine's integers, so two engines that count alike give identical values.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "collapse/data/token_corpus.h"
#include "collapse/score/ngram_count.h"

namespace collapse {

// distinct-n = (distinct n-grams) / (n-grams, with repetition) over the whole corpus; 0 when the
// corpus has no n-gram.
double distinct_n(const NgramStats& stats);

// n-gram entropy = -sum_g f_g log2 f_g over the distinct n-grams g, f_g = count_g / total: the
// entropy in bits of the corpus's empirical n-gram distribution; 0 when it has no n-gram.
// Computed as log2(total) - (1 / total) sum_c ngrams_c * c * log2(c) over the frequency
// histogram, counts ascending.
double ngram_entropy(const NgramStats& stats);

// The statistics behind distinct-n and entropy-n for each order in `orders`.
std::vector<NgramStats> ngram_stats(const TokenCorpus& corpus, std::span<const int> orders,
                                    const NgramEngine& engine = cpu_ngram_engine());

// coverage-n = (distinct n-grams of the reference that occur in the synthetic corpus) /
// (distinct n-grams of the reference); 0 when the reference has none.
// rare-coverage-n = the same over the reference's rare n-grams only: ranking the reference's
// distinct n-grams by count (descending; ties by ascending n-gram key, see CoverageCounts), the
// rare ones are those ranked after the first floor(10% of distinct); 0 when there is none.
double coverage(const CoverageCounts& counts);
double rare_coverage(const CoverageCounts& counts);

// The counts behind coverage-n and rare-coverage-n for each order, of `reference` (the real test
// split) by `synthetic`.
std::vector<CoverageCounts> ngram_coverage(const TokenCorpus& reference,
                                           const TokenCorpus& synthetic,
                                           std::span<const int> orders,
                                           const NgramEngine& engine = cpu_ngram_engine());

// Unigram KL divergence KL(real || synthetic) in bits, add-alpha smoothed over the union
// vocabulary U (the ids occurring in either corpus):
//   P(t) = (real_t + alpha) / (R + alpha |U|),  Q(t) = (synthetic_t + alpha) / (S + alpha |U|)
//   KL = sum_{t in U} P(t) log2(P(t) / Q(t))
// (real_t, synthetic_t: occurrences of id t; R, S: the corpora's token counts). 0 when U is
// empty. alpha must be > 0 (default 1, Laplace).
inline constexpr double kUnigramKlAlpha = 1.0;
double unigram_kl(const TokenCorpus& real, const TokenCorpus& synthetic,
                  double alpha = kUnigramKlAlpha);

// Unigram Jensen-Shannon divergence in bits, unsmoothed: with P, Q the empirical unigram
// distributions (P(t) = real_t / R, Q(t) = synthetic_t / S) and M = (P + Q) / 2,
//   JS = KL(P || M) / 2 + KL(Q || M) / 2,  in [0, 1]
// (terms with P(t) = 0 or Q(t) = 0 contribute 0). A corpus without tokens counts as the uniform
// distribution over U; 0 when U is empty.
double unigram_js(const TokenCorpus& real, const TokenCorpus& synthetic);

// Zipf exponent: with f_1 >= f_2 >= ... the unigram counts (one per distinct id) and
// K = min(max_rank, distinct ids), the least-squares slope b of ln f_r against ln r over ranks
// r = 1..K; the exponent is s = -b (positive for a falling curve). 0 when K < 2.
inline constexpr std::int64_t kZipfMaxRank = 1000;
struct ZipfFit {
  double exponent = 0.0;
  std::int64_t ranks = 0;  // K, the ranks fitted
};
ZipfFit zipf_exponent(const TokenCorpus& corpus, std::int64_t max_rank = kZipfMaxRank);

}  // namespace collapse
