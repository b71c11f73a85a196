#include "collapse/train/batches.h"

#include <ATen/ATen.h>

#include "collapse/util/error.h"
#include "collapse/util/random.h"

namespace collapse {

at::Tensor training_windows(const std::vector<std::int32_t>& stream, std::int64_t context,
                            std::int64_t rows, std::int64_t step, std::int64_t micro_batch,
                            std::uint64_t seed, std::vector<std::int64_t>* starts) {
  const auto M = static_cast<std::int64_t>(stream.size());
  if (M < context + 1) {
    fail("the training split has {} tokens, fewer than one window of context {} + 1; use a "
         "smaller context or a larger corpus",
         M, context);
  }
  at::Tensor out = at::empty({rows, context + 1}, at::TensorOptions().dtype(at::kLong));
  auto* dst = out.data_ptr<std::int64_t>();
  const auto valid_starts = static_cast<std::uint64_t>(M - context);  // 0..M-C-1
  if (starts) starts->assign(static_cast<std::size_t>(rows), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::uint64_t key = random_key(seed, {static_cast<std::uint64_t>(step),
                                                static_cast<std::uint64_t>(micro_batch),
                                                static_cast<std::uint64_t>(r)});
    const std::int64_t start = static_cast<std::int64_t>(uniform_below(key, valid_starts));
    if (starts) (*starts)[static_cast<std::size_t>(r)] = start;
    for (std::int64_t j = 0; j <= context; ++j) dst[r * (context + 1) + j] = stream[start + j];
  }
  return out;
}

at::Tensor source_weights(const std::vector<std::int64_t>& starts, std::int64_t context,
                          std::int64_t real_end, double real_weight, double synthetic_weight) {
  const auto rows = static_cast<std::int64_t>(starts.size());
  at::Tensor out = at::empty({rows, context}, at::TensorOptions().dtype(at::kFloat));
  float* w = out.data_ptr<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < context; ++j) {
      const std::int64_t target = starts[static_cast<std::size_t>(r)] + 1 + j;  // its position in the stream
      w[r * context + j] = static_cast<float>(target < real_end ? real_weight : synthetic_weight);
    }
  }
  return out;
}

at::Tensor weighted_token_loss(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& weights) {
  const at::Tensor nll = at::cross_entropy_loss(logits, targets, {}, at::Reduction::None);
  return (nll * weights.reshape({-1})).sum() / static_cast<double>(targets.numel());
}

}  // namespace collapse
