#include "collapse/data/split.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "collapse/util/error.h"
#include "collapse/util/random.h"

namespace collapse {

SplitIndices split_documents(std::int64_t n, double valid_fraction, double test_fraction,
                             std::uint64_t seed, const SettingNames& names) {
  auto check = [&](const char* key, double f) {
    if (!(f >= 0.0 && f < 1.0)) fail("{} must be in [0, 1), got {}", names(key), f);
  };
  check("valid_fraction", valid_fraction);
  check("test_fraction", test_fraction);

  // Held-out splits get at least one document when asked for, so a small corpus still has a
  // test set to be scored on.
  auto count = [n](double f) -> std::int64_t {
    if (f <= 0.0) return 0;
    return std::max<std::int64_t>(1, std::llround(f * static_cast<double>(n)));
  };
  const std::int64_t n_test = count(test_fraction), n_valid = count(valid_fraction);
  if (n - n_test - n_valid < 1) {
    fail("corpus has {} documents: too few for a valid split of {} and a test split of {} "
         "with at least one training document left",
         n, n_valid, n_test);
  }

  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  // Fisher-Yates with our own generator: std::shuffle differs between standard libraries.
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(
        uniform_below(random_key(seed, {0x73706c6974ull /* "split" */, static_cast<std::uint64_t>(i)}),
                      static_cast<std::uint64_t>(i + 1)));
    std::swap(order[i], order[j]);
  }

  SplitIndices out;
  out.test.assign(order.begin(), order.begin() + n_test);
  out.valid.assign(order.begin() + n_test, order.begin() + n_test + n_valid);
  out.train.assign(order.begin() + n_test + n_valid, order.end());
  for (auto* list : {&out.train, &out.valid, &out.test}) std::sort(list->begin(), list->end());
  return out;
}

}  // namespace collapse
