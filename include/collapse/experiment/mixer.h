// The mixer: which documents generation k of an experiment trains on.
//
// Generation 0 trains on real documents only: the whole real train split, less the fresh pool
// (below). For k >= 1, by mix.regime (mix_regimes() in experiment_config.h; docs/experiments.md):
//   replace     the synthetic corpus of generation k-1, plus the retained real share
//   accumulate  every real document generation 0 trained on plus the synthetic corpora of
//               generations 0..k-1
//   fresh       the synthetic corpus of generation k-1, plus `fresh_documents` real documents
//               never used before, drawn from the held-in pool, plus the retained share
// real_fraction r (replace and fresh): a seeded random round(r * n) of the real train documents
// that generation 0 trained on, drawn again each generation (Shumailov et al.'s "10% of the
// original data kept"); keyed by (seed, generation), so it is reproducible.
// fresh: the real train split is shuffled once by the seed; the last
// (generations - 1) * fresh_documents documents form the pool, generation 0 trains on the rest,
// and generation k draws pool slice k-1.
// mix.synthetic caps how much of each synthetic corpus is used: "all", N documents (the first N
// after curation) or "tokens:N" (documents in order until N tokens).
// mix.real_documents keeps N real documents instead of a share (replace and fresh).
// mix.train_size (generations >= 1) draws the training set from that pool: "pool" takes all of
// it; N documents or "tokens:N" ("same": generation 0's training-set size in tokens) are a seeded
// uniform draw without replacement, keyed by (seed, generation), in whole documents (a token
// size is reached or passed by at most one document). With mix.synthetic_share p, the synthetic
// documents are drawn until p of the tokens, the real ones until the rest (each from its own part
// of the pool). Kazdan, Schaeffer et al.'s accumulate-subsample is accumulate + train_size "same".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/experiment/experiment_config.h"

namespace collapse {

// One generation's training set, by reference: real train documents by index, and per earlier
// generation the indices of its (curated) synthetic documents; with their token counts.
struct TrainSet {
  std::vector<std::int64_t> real;  // indices into the real train split, in training-file order
  std::int64_t real_tokens = 0;
  struct Synthetic {
    std::int64_t generation = 0;
    std::vector<std::int64_t> documents;  // indices into that generation's samples
    std::int64_t tokens = 0;
  };
  std::vector<Synthetic> synthetic;

  std::int64_t documents() const;
  std::int64_t synthetic_tokens() const;
  std::int64_t tokens() const { return real_tokens + synthetic_tokens(); }
  // {"real": {"documents", "tokens", "indices"}, "synthetic": [{"generation", "documents",
  // "tokens", "indices"}], "total_documents", "total_tokens"}: train_set.json, with whatever the
  // engine adds.
  nlohmann::json to_json() const;
};

// Generation 0's training set: the real train documents (all of them, except the fresh pool).
// real_lengths: the token count of every real train document.
TrainSet generation0_training_set(const ExperimentSettings& s, const std::vector<std::int64_t>& real_lengths,
                                  std::uint64_t seed);

// Generation k's training set (k >= 1). `synthetic_lengths[j]` gives, for each earlier generation
// j < k, the token lengths of its curated synthetic documents, in order (so "tokens:N" can be
// resolved); only the generations the regime uses are read. Errors name the [mix] key whose
// request the pool cannot meet.
TrainSet mix_training_set(const ExperimentSettings& s, std::int64_t generation, std::uint64_t seed,
                          const std::vector<std::int64_t>& real_lengths,
                          const std::vector<std::vector<std::int64_t>>& synthetic_lengths);

}  // namespace collapse
