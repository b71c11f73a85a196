// Self-BLEU-4 (Zhu et al., Texygen 2018) on token ids, defined as NLTK computes it
// (nltk.translate.bleu_score.sentence_bleu, checked against NLTK by tests/score/self_bleu_test.cpp):
//
// For a hypothesis h and its references (every other document), with uniform weights 1/4:
//   p_n  = m_n / max(1, w_n), n = 1..4, where w_n = max(0, |h| - n + 1) is h's n-gram count and
//          m_n = sum over distinct n-grams g of h of min(count_h(g), max over references of
//          count_ref(g)) (clipped matches)
//   if m_1 = 0 the score is 0 (this covers an empty h); otherwise every p_n with m_n = 0 becomes
//          0.1 / max(1, w_n) (SmoothingFunction().method1, epsilon 0.1; a hypothesis shorter than
//          n tokens gets 0.1 for p_n)
//   r    = the reference length closest to |h|, the shorter on a tie
//   BP   = 1 if |h| > r, else exp(1 - r / |h|)
//   BLEU = BP * exp(sum_n log(p_n) / 4)
// self-BLEU-4 = the mean of BLEU over the hypotheses.
//
// Hypotheses and references: every document by default. For large corpora a seeded random
// subset of hypotheses (max_hypotheses) and of references (max_references) is drawn
// independently; each hypothesis is then scored against the reference subset minus itself. The
// result reports the sizes used.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "collapse/data/token_corpus.h"
#include "collapse/score/ngram_count.h"

namespace collapse {

inline constexpr int kBleuOrder = 4;
inline constexpr double kBleuEpsilon = 0.1;  // NLTK SmoothingFunction().method1's default

struct SelfBleuOptions {
  std::int64_t max_hypotheses = 0;  // 0: every document
  std::int64_t max_references = 0;  // 0: every document
  std::uint64_t seed = 0;           // draws the subsets (when they are smaller than the corpus)
};

struct SelfBleuResult {
  double self_bleu = 0.0;                    // mean of `scores`
  std::int64_t hypotheses = 0;               // documents scored
  std::int64_t references = 0;               // the reference pool (a hypothesis in it is left out of its own)
  std::vector<std::int64_t> hypothesis_ids;  // the hypotheses' document indices, ascending
  std::vector<double> scores;                // BLEU-4 of each hypothesis, in that order
};

// Throws Error for fewer than 2 documents, or max_references == 1 (a hypothesis could be left
// with no reference).
SelfBleuResult self_bleu(const TokenCorpus& corpus, const SelfBleuOptions& options = {},
                         const NgramEngine& engine = cpu_ngram_engine());

// The documents a subset of size `size` (0: all) of a corpus of `documents` documents keeps:
// the `size` documents with the smallest random_key(seed, {purpose, d}), ascending. purpose 0
// draws the hypotheses, 1 the references.
std::vector<std::int64_t> seeded_subset(std::int64_t documents, std::int64_t size,
                                        std::uint64_t seed, std::uint64_t purpose);

// NLTK's sentence_bleu of one hypothesis (the definition above), from its integers:
// matches[n-1] = m_n, hypothesis_length = |h|, reference_length = r.
double bleu4_from_counts(std::span<const std::int64_t, kBleuOrder> matches,
                         std::int64_t hypothesis_length, std::int64_t reference_length);

// The same, computed directly from token lists (n-gram maps, O(references x length)): the
// definition written out, which tests hold the fast path to. Throws Error without references.
double sentence_bleu4(std::span<const std::span<const std::int32_t>> references,
                      std::span<const std::int32_t> hypothesis);

}  // namespace collapse
