// Curation of a synthetic corpus before the next generation trains on it. Each step takes the
// indices of the documents still in and returns those it keeps, in order; the experiment records
// how many each step removed (train_set.json).
#pragma once

#include <cstdint>
#include <vector>

#include "collapse/data/token_corpus.h"

namespace collapse {

// Exact duplicates: a document whose token sequence equals an earlier kept one is removed.
std::vector<std::int64_t> drop_exact_duplicates(const TokenCorpus& corpus,
                                                const std::vector<std::int64_t>& documents);

inline constexpr int kMinHashPermutations = 128;
inline constexpr int kMinHashBands = 32;  // 32 bands x 4 rows: candidate pairs from Jaccard ~0.4 up

// Near duplicates by MinHash (Broder 1997): a document's shingles are its token n-grams
// (the whole document when shorter than n); its signature holds, for each of 128 seeded 64-bit
// hash functions, the minimum hash over its shingles. The estimated Jaccard similarity of two
// documents is the share of equal signature entries. Candidate pairs come from LSH banding
// (32 bands of 4 entries); a document whose estimate against an earlier kept document is
// >= `threshold` is removed. Empty documents are kept (they have no shingles).
std::vector<std::int64_t> drop_near_duplicates(const TokenCorpus& corpus,
                                               const std::vector<std::int64_t>& documents, int ngram,
                                               double threshold, std::uint64_t seed);

// The MinHash estimate of the Jaccard similarity of documents a and b (for tests and reports).
double minhash_similarity(const TokenCorpus& corpus, std::int64_t a, std::int64_t b, int ngram,
                          std::uint64_t seed);

// The documents whose value lies within [quantile(low), quantile(high)] of the values of
// `documents` (quantiles by linear interpolation, numpy's default). values[i] belongs to
// document i of the corpus.
std::vector<std::int64_t> keep_between_quantiles(const std::vector<double>& values,
                                                 const std::vector<std::int64_t>& documents,
                                                 double low, double high);

}  // namespace collapse
