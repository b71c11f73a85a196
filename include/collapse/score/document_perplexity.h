// Perplexity of each document on its own (the per-document histograms of synthetic corpora).
//
//   Document d with tokens x_1..x_n is scored as the sequence s = BOS x_1 .. x_n EOS (n + 2
//   tokens), predicting x_1..x_n and EOS: n + 1 predictions. Nothing from other documents is
//   seen. A sequence longer than the model context C is cut exactly as `collapse eval` cuts its
//   stream (evaluate.h, docs/perplexity.md), document by document: windows start at 0, C, 2C, ...;
//   the window at i feeds s_i..s_{i+C-1} and predicts s_{i+1}..s_{i+C} (the last one is shorter).
//   NLL in nats from fp32 log-probabilities (chunked_token_nll), summed in double;
//   perplexity = exp(nll_sum / (n + 1)).
//
// Windows of similar length are batched together and right-padded; causal attention keeps the
// pads from influencing any real position and pad positions are not scored, so the result does
// not depend on batching beyond fp32 rounding (tested).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <c10/core/Device.h>

#include "collapse/model/model.h"
#include "collapse/model/token_nll.h"

namespace collapse {

struct DocumentPerplexity {
  std::int64_t tokens = 0;  // predictions: document length + 1
  double nll_sum = 0.0;     // total NLL in nats
  double mean_nll() const { return tokens ? nll_sum / static_cast<double>(tokens) : 0.0; }
  double perplexity() const;
};

// One entry per document, in order. documents: token ids in [0, vocab) without BOS/EOS (Error
// otherwise). batch_tokens: padded tokens per forward pass (at least one window each). On CUDA
// the model body runs under bf16 autocast as in `collapse eval`. `on_progress` reports (windows
// done, windows in all).
std::vector<DocumentPerplexity> document_perplexities(
    GPT& model, const std::vector<std::vector<std::int32_t>>& documents, std::int32_t bos,
    std::int32_t eos, const c10::Device& device, std::int64_t batch_tokens = 8192,
    const std::function<void(std::int64_t, std::int64_t)>& on_progress = {}, std::int64_t window = 0);

// The perplexities of the list above, in order (input to summarize_perplexities).
std::vector<double> perplexities_of(const std::vector<DocumentPerplexity>& documents);

}  // namespace collapse
