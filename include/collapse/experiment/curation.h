// Curation of a synthetic corpus before the next generation trains on it. The steps run in the
// order of curation_steps(), each only when the settings turn it on ([curate], experiment_config.h):
//   best_of_k   documents come in groups of k candidates for one prompt: keep the one the
//               verifier scores best
//   ppl_filter  keep documents whose verifier perplexity lies between two quantiles
//   keep_top    keep the share p of documents the verifier scores best
//   dedup       drop exact duplicates, or near-duplicates by MinHash
//   resample    redraw the documents, with replacement and as many, with probability proportional
//               to a real-vs-synthetic detector's importance weights (score/detector.h)
// The verifier scores a document by its perplexity under the verifier model (lower is better).
// With verifier_error = e, each verifier step (best_of_k, ppl_filter, keep_top) then flips its
// keep/drop decision for a seeded random share e of the documents it was given (Feng et al. 2024's
// imperfect verifier): e = 0 is the step itself, e = 1 keeps exactly the documents it would drop.
// Each step takes the indices of the documents still in and returns those it keeps, in order; the
// experiment records what each step removed (curated.json).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/data/token_corpus.h"
#include "collapse/experiment/experiment_config.h"
#include "collapse/util/named.h"

namespace collapse {

enum class CurationStep { best_of_k, ppl_filter, keep_top, dedup, resample };
// The steps in the order they run.
std::span<const Named<CurationStep>> curation_steps();
// Whether the settings turn `step` on.
bool curation_step_on(CurationStep step, const CurateSettings& settings);
// Whether a step that is on reads the verifier's perplexities of the documents (best_of_k,
// ppl_filter, keep_top).
bool curation_needs_perplexities(const CurateSettings& settings);

struct Curated {
  // Indices of the documents kept, in order; after resampling, a document may appear more than
  // once (sorted then).
  std::vector<std::int64_t> kept;
  nlohmann::json removed = nlohmann::json::object();  // per step that ran, distinct documents
                                                      // removed: "best_of_k", "ppl_filter",
                                                      // "keep_top", "exact_dedup" or
                                                      // "minhash_dedup", "resample"
  nlohmann::json flipped = nlohmann::json::object();  // per verifier step, decisions flipped
                                                      // (verifier_error > 0 only)
};

struct CurationSeeds {
  std::uint64_t minhash = 0;         // MinHash's hash functions
  std::uint64_t verifier_error = 0;  // which decisions each verifier step flips
  std::uint64_t resample = 0;        // the resampling draws
};

// The detector's importance weights of the documents still in when resampling runs, one per
// document, in order (the experiment fits the detector on those documents).
using DocumentWeights = std::function<std::vector<double>(const std::vector<std::int64_t>& documents)>;

// Every step that is on, over all documents of `corpus`. `perplexities[d]` is document d's
// perplexity under the verifier (needed when curation_needs_perplexities); `weigh` gives the
// importance weights (needed when resample is on).
Curated curate(const CurateSettings& settings, const TokenCorpus& corpus,
               const std::vector<double>& perplexities, const CurationSeeds& seeds,
               const DocumentWeights& weigh = {});

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

// Keep-top: the round(share * n) documents of `documents` (n of them; halves round up) with the
// lowest values, ties to the earlier document, returned in their order in `documents`.
// 0 < share <= 1.
std::vector<std::int64_t> keep_lowest_share(const std::vector<double>& values,
                                            const std::vector<std::int64_t>& documents, double share);

// The simulated verifier error: of `documents`, the round(share * n) with the smallest seeded
// keys random_key(seed, {d}) have their decision flipped: a document is returned (in the order of
// `documents`) when it is in `kept` xor flipped. `kept` is a subsequence of `documents`.
std::vector<std::int64_t> flip_decisions(const std::vector<std::int64_t>& documents,
                                         const std::vector<std::int64_t>& kept, double share,
                                         std::uint64_t seed);

// Importance resampling: documents.size() seeded draws with replacement, document i with
// probability weights[i] / sum(weights) (weights >= 0, not all 0), returned sorted.
std::vector<std::int64_t> resample_documents(const std::vector<std::int64_t>& documents,
                                             const std::vector<double>& weights, std::uint64_t seed);

// The documents whose value lies within [quantile(low), quantile(high)] of the values of
// `documents` (quantiles by linear interpolation, numpy's default). values[i] belongs to
// document i of the corpus.
std::vector<std::int64_t> keep_between_quantiles(const std::vector<double>& values,
                                                 const std::vector<std::int64_t>& documents,
                                                 double low, double high);

}  // namespace collapse
