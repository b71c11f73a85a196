// Perplexity of a model on a token stream, defined exactly so (docs/perplexity.md):
//
//   Each document is encoded as BOS + tokens + EOS and the documents of the split are concatenated
//   in order into t_0..t_{M-1} (where BOS is EOS, as GPT-2's <|endoftext|>, neighbours share it). Windows start at 0, C, 2C, ... (C = model context); the window at
//   i feeds t_i..t_{i+C-1} and predicts t_{i+1}..t_{i+C} (the last window is shorter), so every
//   token after t_0 is predicted exactly once, with at most C tokens of left context and none from
//   before its window. perplexity = exp(total NLL / (M - 1)), NLL in nats.
//
// The NLLs come from the model's hidden states through chunked_token_nll (token_nll.h): fp32
// log-softmax over the full vocabulary without ever holding [tokens, vocab] logits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "collapse/model/model.h"

namespace collapse {

struct EvalResult {
  std::int64_t tokens = 0;    // predicted tokens, M - 1
  double nll_sum = 0.0;       // total NLL in nats
  double mean_nll() const { return tokens ? nll_sum / static_cast<double>(tokens) : 0.0; }
  double perplexity() const;
};

// `max_tokens` > 0 truncates the stream to its first max_tokens tokens (a cheaper estimate used
// during training); 0 scores all of it. `window` is C (0: the model's context; at most that).
// `on_window` reports progress (windows done, total).
EvalResult evaluate_stream(GPT& model, const std::vector<std::int32_t>& stream,
                           const c10::Device& device, std::int64_t batch_size = 16,
                           std::int64_t max_tokens = 0,
                           const std::function<void(std::int64_t, std::int64_t)>& on_window = {},
                           std::int64_t window = 0);

// The sliding-window perplexity of transformers' perplexity guide, with window C and stride S
// (0 < S <= C): windows begin at 0, S, 2S, ... and end at min(begin + C, M); each scores the
// tokens after the previous window's end (the first window: all but t_0), so with S < C every
// token after t_0 is scored exactly once, with at least C - S tokens of left context where the
// stream has them (S = C leaves each later window's first token unscored, as the guide's loop
// does). The loop stops at the window that reaches the end of the stream.
EvalResult evaluate_sliding(GPT& model, const std::vector<std::int32_t>& stream,
                            const c10::Device& device, std::int64_t window, std::int64_t stride,
                            std::int64_t batch_size = 16,
                            const std::function<void(std::int64_t, std::int64_t)>& on_window = {});

}  // namespace collapse
