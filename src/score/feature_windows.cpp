#include "collapse/score/feature_windows.h"

#include <algorithm>
#include <vector>

#include "collapse/util/error.h"

namespace collapse {

FeatureWindows feature_windows(const TokenCorpus& real, std::int64_t length, std::int64_t count) {
  if (length < 1) fail("feature_windows: the window length must be at least 1, got {}", length);
  if (count < 0) fail("feature_windows: the window count must be >= 0, got {}", count);
  // (document, start) of every window, in corpus order.
  std::vector<std::pair<std::int64_t, std::int64_t>> all;
  for (std::int64_t d = 0; d < real.documents(); ++d) {
    const std::int64_t n = real.length(d);
    if (n == 0) continue;
    if (n < length) {
      all.emplace_back(d, 0);
      continue;
    }
    for (std::int64_t start = 0; start + length <= n; start += length) all.emplace_back(d, start);
  }
  FeatureWindows out;
  out.available = static_cast<std::int64_t>(all.size());
  const std::int64_t take = std::min(count, out.available);
  for (std::int64_t i = 0; i < take; ++i) {
    const auto [d, start] = all[static_cast<std::size_t>(i * out.available / take)];
    const auto doc = real.document(d);
    const std::int64_t n = std::min(length, static_cast<std::int64_t>(doc.size()) - start);
    out.windows.add(doc.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(n)));
  }
  return out;
}

std::int64_t matching_window_length(const TokenCorpus& synthetic, std::int64_t max_length) {
  std::vector<std::int64_t> lengths;
  for (std::int64_t d = 0; d < synthetic.documents(); ++d) lengths.push_back(synthetic.length(d));
  if (lengths.empty()) return std::max<std::int64_t>(1, max_length);
  const auto middle = lengths.begin() + static_cast<std::ptrdiff_t>((lengths.size() - 1) / 2);
  std::nth_element(lengths.begin(), middle, lengths.end());
  return std::clamp<std::int64_t>(*middle, 1, std::max<std::int64_t>(1, max_length));
}

}  // namespace collapse
