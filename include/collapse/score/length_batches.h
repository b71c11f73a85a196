// Batches of variable-length rows for right-padded forward passes: rows of similar length go
// together so little compute is spent on padding.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace collapse {

// Row indices grouped into batches: rows sorted by length, longest first (ties by index), then
// cut greedily so that every batch's row count times its longest length is at most batch_tokens
// (a row longer than batch_tokens gets a batch of its own). Every row appears exactly once.
inline std::vector<std::vector<std::int64_t>> length_batches(const std::vector<std::int64_t>& lengths,
                                                             std::int64_t batch_tokens) {
  std::vector<std::int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::int64_t a, std::int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<std::int64_t>> batches;
  std::int64_t longest = 0;
  for (const std::int64_t row : order) {
    if (batches.empty() || static_cast<std::int64_t>(batches.back().size() + 1) * longest > batch_tokens) {
      batches.emplace_back();
      longest = std::max<std::int64_t>(lengths[row], 1);
    }
    batches.back().push_back(row);
  }
  return batches;
}

}  // namespace collapse
