#include "collapse/train/batches.h"

#include <ATen/ATen.h>

#include "collapse/util/error.h"
#include "collapse/util/random.h"

namespace collapse {

at::Tensor training_windows(const std::vector<std::int32_t>& stream, std::int64_t context,
                            std::int64_t rows, std::int64_t step, std::int64_t micro_batch,
                            std::uint64_t seed) {
  const auto M = static_cast<std::int64_t>(stream.size());
  if (M < context + 1) {
    fail("the training split has {} tokens, fewer than one window of context {} + 1; use a "
         "smaller context or a larger corpus",
         M, context);
  }
  at::Tensor out = at::empty({rows, context + 1}, at::TensorOptions().dtype(at::kLong));
  auto* dst = out.data_ptr<std::int64_t>();
  const auto starts = static_cast<std::uint64_t>(M - context);  // valid starts: 0..M-C-1
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::uint64_t key = random_key(seed, {static_cast<std::uint64_t>(step),
                                                static_cast<std::uint64_t>(micro_batch),
                                                static_cast<std::uint64_t>(r)});
    const std::int64_t start = static_cast<std::int64_t>(uniform_below(key, starts));
    for (std::int64_t j = 0; j <= context; ++j) dst[r * (context + 1) + j] = stream[start + j];
  }
  return out;
}

}  // namespace collapse
