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
at::Tensor training_windows(const std::vector<std::int32_t>& stream, std::int64_t context,
                            std::int64_t rows, std::int64_t step, std::int64_t micro_batch,
                            std::uint64_t seed);

}  // namespace collapse
