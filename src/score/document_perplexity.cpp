#include "collapse/score/document_perplexity.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "collapse/model/device.h"
#include "collapse/score/length_batches.h"
#include "collapse/util/error.h"

namespace collapse {
namespace {

// A window of document `doc`'s sequence s = BOS + tokens + EOS: feeds s[start, start + length)
// and predicts s[start + 1, start + length + 1).
struct Window {
  std::int64_t doc, start, length;
};

}  // namespace

double DocumentPerplexity::perplexity() const { return std::exp(mean_nll()); }

std::vector<DocumentPerplexity> document_perplexities(
    GPT& model, const std::vector<std::vector<std::int32_t>>& documents, std::int32_t bos,
    std::int32_t eos, const c10::Device& device, std::int64_t batch_tokens,
    const std::function<void(std::int64_t, std::int64_t)>& on_progress, std::int64_t window) {
  const std::int64_t C = window_within(model->config(), window, "the scoring window"), vocab = model->config().vocab_size;
  for (const std::int32_t special : {bos, eos}) {
    if (special < 0 || special >= vocab) fail("special token id {} is outside the vocabulary [0, {})", special, vocab);
  }
  std::vector<DocumentPerplexity> result(documents.size());
  std::vector<Window> windows;
  for (std::size_t d = 0; d < documents.size(); ++d) {
    for (const std::int32_t id : documents[d]) {
      if (id < 0 || id >= vocab) {
        fail("document {} has token id {}, outside the model's vocabulary [0, {})", d, id, vocab);
      }
    }
    const std::int64_t predicted = static_cast<std::int64_t>(documents[d].size()) + 1;
    result[d].tokens = predicted;
    for (std::int64_t i = 0; i < predicted; i += C) {
      windows.push_back({static_cast<std::int64_t>(d), i, std::min(C, predicted - i)});
    }
  }
  if (windows.empty()) return result;
  // Token j of document d's sequence BOS + tokens + EOS.
  auto token = [&](const Window& w, std::int64_t j) -> std::int64_t {
    const auto& doc = documents[static_cast<std::size_t>(w.doc)];
    const std::int64_t n = static_cast<std::int64_t>(doc.size());
    return j == 0 ? bos : j <= n ? doc[static_cast<std::size_t>(j - 1)] : eos;
  };

  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  AutocastScope autocast(device);
  const at::Tensor weight = model->output_weight();
  std::vector<std::int64_t> lengths;
  for (const Window& w : windows) lengths.push_back(w.length);
  std::int64_t done = 0;
  for (const auto& batch : length_batches(lengths, std::max<std::int64_t>(batch_tokens, 1))) {
    const std::int64_t B = static_cast<std::int64_t>(batch.size());
    const std::int64_t T = windows[static_cast<std::size_t>(batch.front())].length;  // the longest
    // Right padding with EOS; only real positions are gathered and scored.
    at::Tensor inputs = at::full({B, T}, static_cast<std::int64_t>(eos), at::kLong);
    auto in = inputs.accessor<std::int64_t, 2>();
    std::vector<std::int64_t> targets, positions;
    for (std::int64_t b = 0; b < B; ++b) {
      const Window& w = windows[static_cast<std::size_t>(batch[static_cast<std::size_t>(b)])];
      for (std::int64_t j = 0; j < w.length; ++j) {
        in[b][j] = token(w, w.start + j);
        targets.push_back(token(w, w.start + j + 1));
        positions.push_back(b * T + j);
      }
    }
    const at::Tensor hidden = model->hidden_states(inputs.to(device));
    const at::Tensor h = hidden.reshape({B * T, hidden.size(-1)})
                             .index_select(0, at::tensor(positions, at::kLong).to(device));
    const at::Tensor nll =
        chunked_token_nll(h, weight, at::tensor(targets, at::kLong).to(device)).to(at::kCPU, at::kDouble);
    const double* values = nll.const_data_ptr<double>();
    for (const std::int64_t row : batch) {
      const Window& w = windows[static_cast<std::size_t>(row)];
      double sum = 0.0;
      for (std::int64_t j = 0; j < w.length; ++j) sum += *values++;
      result[static_cast<std::size_t>(w.doc)].nll_sum += sum;
    }
    done += B;
    if (on_progress) on_progress(done, static_cast<std::int64_t>(windows.size()));
  }
  if (was_training) model->train();
  return result;
}

std::vector<double> perplexities_of(const std::vector<DocumentPerplexity>& documents) {
  std::vector<double> out;
  out.reserve(documents.size());
  for (const auto& d : documents) out.push_back(d.perplexity());
  return out;
}

}  // namespace collapse
