// Curation of a synthetic corpus before the next generation trains on it. The steps run in the
// order of curation_steps(), each only when the settings turn it on ([curate], experiment_config.h):
//   best_of_k   documents come in groups of k candidates for one prompt: keep the one with the
//               lowest perplexity under the generation-0 model
//   ppl_filter  keep documents whose perplexity under the generation-0 model lies between two
//               quantiles
//   dedup       drop exact duplicates, or near-duplicates by MinHash
// Each step takes the indices of the documents still in and returns those it keeps, in order; the
// experiment records how many each step removed (curated.json).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/data/token_corpus.h"
#include "collapse/experiment/experiment_config.h"
#include "collapse/util/named.h"

namespace collapse {

enum class CurationStep { best_of_k, ppl_filter, dedup };
// The steps in the order they run.
std::span<const Named<CurationStep>> curation_steps();
// Whether the settings turn `step` on.
bool curation_step_on(CurationStep step, const CurateSettings& settings);
// Whether a step that is on reads the documents' perplexities.
bool curation_needs_perplexities(const CurateSettings& settings);

struct Curated {
  std::vector<std::int64_t> kept;                        // indices of the documents kept, in order
  nlohmann::json removed = nlohmann::json::object();     // per step that ran, documents removed:
                                                         // "best_of_k", "ppl_filter",
                                                         // "exact_dedup" or "minhash_dedup"
};

// Every step that is on, over all documents of `corpus`. `perplexities[d]` belongs to document d
// (needed when curation_needs_perplexities); `minhash_seed` seeds MinHash.
Curated curate(const CurateSettings& settings, const TokenCorpus& corpus,
               const std::vector<double>& perplexities, std::uint64_t minhash_seed);

// Best-of-k: `documents` in consecutive groups of k (a short last group is dropped); of each group
// the document with the lowest value (the first of equals). values[d] belongs to document d.
std::vector<std::int64_t> keep_best_of_k(const std::vector<double>& values,
                                         const std::vector<std::int64_t>& documents, std::int64_t k);

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

// The documents whose value lies within [quantile(low), quantile(high)] of the values of
// `documents` (quantiles by linear interpolation, numpy's default). values[i] belongs to
// document i of the corpus.
std::vector<std::int64_t> keep_between_quantiles(const std::vector<double>& values,
                                                 const std::vector<std::int64_t>& documents,
                                                 double low, double high);

}  // namespace collapse
