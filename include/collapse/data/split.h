// Deterministic train/valid/test split by document.
#pragma once

#include <cstdint>
#include <vector>

#include "collapse/util/setting_names.h"

namespace collapse {

struct SplitIndices {
  // Indices into the corpus, each list in corpus order.
  std::vector<std::int64_t> train, valid, test;
};

// Shuffles document indices with a seeded Fisher-Yates (splitmix64; identical on every platform),
// takes round(test_fraction * n) documents for test (at least 1 when the fraction is > 0), then
// round(valid_fraction * n) for valid, and the rest for train. Throws Error if train would be
// empty or a fraction is outside [0, 1) (naming it through `names`: the CLI's --test-fraction).
SplitIndices split_documents(std::int64_t n_documents, double valid_fraction,
                             double test_fraction, std::uint64_t seed,
                             const SettingNames& names = setting_key);

}  // namespace collapse
