#include "collapse/train/evaluate.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "collapse/model/device.h"
#include "collapse/model/token_nll.h"
#include "collapse/util/error.h"

namespace collapse {

double EvalResult::perplexity() const { return std::exp(mean_nll()); }

EvalResult evaluate_stream(GPT& model, const std::vector<std::int32_t>& stream,
                           const c10::Device& device, std::int64_t batch_size,
                           std::int64_t max_tokens,
                           const std::function<void(std::int64_t, std::int64_t)>& on_window,
                           std::int64_t window) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();

  std::int64_t M = static_cast<std::int64_t>(stream.size());
  if (max_tokens > 0) M = std::min(M, max_tokens);
  if (M < 2) fail("nothing to evaluate: the split has {} tokens", M);
  const std::int64_t C = window_within(model->config(), window, "the evaluation window");
  const std::int64_t predicted = M - 1;
  const std::int64_t windows = (predicted + C - 1) / C;
  const std::int64_t full = predicted / C;  // windows of exactly C predictions
  batch_size = std::max<std::int64_t>(1, batch_size);

  EvalResult result;
  result.tokens = predicted;
  AutocastScope autocast(device);
  // Scores windows [first, first + count), all of length `len`.
  auto score = [&](std::int64_t first, std::int64_t count, std::int64_t len) {
    at::Tensor block = at::empty({count, len + 1}, at::TensorOptions().dtype(at::kLong));
    auto* dst = block.data_ptr<std::int64_t>();
    for (std::int64_t w = 0; w < count; ++w) {
      const std::int64_t i = (first + w) * C;
      for (std::int64_t j = 0; j <= len; ++j) dst[w * (len + 1) + j] = stream[i + j];
    }
    block = block.to(device);
    const at::Tensor inputs = block.narrow(1, 0, len), targets = block.narrow(1, 1, len);
    // The output projection in vocabulary chunks with a running log-sum-exp: [tokens, vocab]
    // logits are never held (fp32, as GPT::logits computes them).
    const at::Tensor hidden = model->hidden_states(inputs);
    const at::Tensor nll = chunked_token_nll(hidden.reshape({-1, hidden.size(-1)}),
                                             model->output_weight(), targets.reshape({-1}));
    result.nll_sum += nll.to(at::kDouble).sum().item<double>();
  };
  for (std::int64_t w = 0; w < full; w += batch_size) {
    score(w, std::min(batch_size, full - w), C);
    if (on_window) on_window(std::min(w + batch_size, full), windows);
  }
  if (full < windows) {
    score(full, 1, predicted - full * C);
    if (on_window) on_window(windows, windows);
  }
  if (was_training) model->train();
  return result;
}

EvalResult evaluate_sliding(GPT& model, const std::vector<std::int32_t>& stream,
                            const c10::Device& device, std::int64_t window, std::int64_t stride,
                            std::int64_t batch_size,
                            const std::function<void(std::int64_t, std::int64_t)>& on_window) {
  const std::int64_t C = window_within(model->config(), window, "the evaluation window");
  if (stride < 1 || stride > C) fail("the stride must be in [1, {}] (the window), got {}", C, stride);
  const std::int64_t M = static_cast<std::int64_t>(stream.size());
  if (M < 2) fail("nothing to evaluate: the split has {} tokens", M);

  // The windows: [begin, end) fed, tokens [first, end) scored (predicted from position - 1).
  struct Window {
    std::int64_t begin, end, first;
  };
  std::vector<Window> windows;
  for (std::int64_t begin = 0, previous_end = 0;; begin += stride) {
    const std::int64_t end = std::min(begin + C, M);
    windows.push_back({begin, end, std::max(previous_end, begin + 1)});
    previous_end = end;
    if (end == M) break;
  }

  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  AutocastScope autocast(device);
  EvalResult result;
  batch_size = std::max<std::int64_t>(1, batch_size);
  const std::int64_t total = static_cast<std::int64_t>(windows.size());
  for (std::int64_t w = 0; w < total;) {
    // A batch of windows of one length (all but the last few are C long).
    const std::int64_t len = windows[w].end - windows[w].begin;
    std::int64_t count = 0;
    while (w + count < total && count < batch_size &&
           windows[w + count].end - windows[w + count].begin == len) {
      ++count;
    }
    at::Tensor inputs = at::empty({count, len}, at::TensorOptions().dtype(at::kLong));
    auto* dst = inputs.data_ptr<std::int64_t>();
    std::vector<std::int64_t> rows, targets;  // hidden rows of the batch and what they predict
    for (std::int64_t b = 0; b < count; ++b) {
      const Window& win = windows[w + b];
      for (std::int64_t j = 0; j < len; ++j) dst[b * len + j] = stream[win.begin + j];
      for (std::int64_t t = win.first; t < win.end; ++t) {
        rows.push_back(b * len + (t - 1 - win.begin));
        targets.push_back(stream[t]);
      }
      result.tokens += win.end - win.first;
    }
    if (!rows.empty()) {
      const at::Tensor hidden = model->hidden_states(inputs.to(device));
      const at::Tensor h = hidden.reshape({count * len, hidden.size(-1)})
                               .index_select(0, at::tensor(rows, at::kLong).to(device));
      const at::Tensor nll = chunked_token_nll(h, model->output_weight(), at::tensor(targets, at::kLong).to(device));
      result.nll_sum += nll.to(at::kDouble).sum().item<double>();
    }
    w += count;
    if (on_window) on_window(w, total);
  }
  if (was_training) model->train();
  return result;
}

}  // namespace collapse
