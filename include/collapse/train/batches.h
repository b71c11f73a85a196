// Training batches: random context windows of a token stream (token_store.h's document_stream).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace collapse {

// Window r of micro-batch m of step s starts at uniform_below(random_key(seed, {s, m, r}),
// M - context) in a stream of M tokens: a pure function of its coordinates, so a resumed run sees
// exactly the batches the uninterrupted run would have. Returns [rows, context + 1] int64 on the
// CPU (inputs are [:, :-1], targets [:, 1:]).
// With `starts`, also each window's start in the stream.
at::Tensor training_windows(const std::vector<std::int32_t>& stream, std::int64_t context,
                            std::int64_t rows, std::int64_t step, std::int64_t micro_batch,
                            std::uint64_t seed, std::vector<std::int64_t>* starts = nullptr);

// Per-source loss weights (He, Xu, Cheng 2025): the weight of every target token of windows
// starting at `starts` ([rows, context] float32 on the CPU): real_weight where the target lies
// before `real_end` in the stream (the real documents come first), synthetic_weight after.
at::Tensor source_weights(const std::vector<std::int64_t>& starts, std::int64_t context,
                          std::int64_t real_end, double real_weight, double synthetic_weight);

// The weighted training loss of a micro-batch: sum over tokens of weight * NLL, divided by the
// number of tokens (not by the weights' sum, so a batch whose tokens all weigh 0 gives 0, not
// NaN). logits [N, V] float32, targets [N] int64, weights [N] on the logits' device.
at::Tensor weighted_token_loss(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& weights);

}  // namespace collapse
