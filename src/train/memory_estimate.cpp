#include "collapse/train/memory_estimate.h"

#include <algorithm>

#include "collapse/model/device.h"
#include "collapse/util/error.h"

namespace collapse {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

}  // namespace

double TrainingMemory::peak() const {
  return std::max(weights + gradients + optimizer, weights + optimizer + activations + logits);
}

TrainingMemory estimate_training_memory(const ModelConfig& c, std::int64_t batch, std::int64_t window,
                                        bool autocast) {
  const double parameters = static_cast<double>(c.parameters());
  const double rows = static_cast<double>(batch) * static_cast<double>(window);  // tokens a micro-batch
  const double width = static_cast<double>(c.d_model);
  const double heads = static_cast<double>(c.n_head * c.head_dim());
  const double kv = static_cast<double>(c.kv_heads() * c.head_dim());
  const double hidden = static_cast<double>(c.ffn_hidden);
  // Kept by each block for the backward pass, in values a token: the block's input, its normed
  // copy (the q/k/v projections' input), the queries, keys and values (attention's inputs), the
  // attention output (the o projection's input), the residual after attention and its normed
  // copy (the MLP's input), and the MLP's hidden activations: the up projection's output and the
  // activation of it (a gated MLP also keeps the gate's). Attention's own T x T scores are not
  // counted: the fused kernels torch picks keep none.
  const double per_block = 4.0 * width + 2.0 * heads + 2.0 * kv + (c.layout().gated_mlp ? 3.0 : 2.0) * hidden;
  // ...and after the blocks, the final norm's input and output (the head's input).
  const double values = rows * (static_cast<double>(c.n_layer) * per_block + 2.0 * width);
  TrainingMemory m;
  m.weights = 4.0 * parameters;
  m.gradients = 4.0 * parameters;
  m.optimizer = 8.0 * parameters;
  m.activations = values * (autocast ? 2.0 : 4.0);
  m.logits = 2.0 * rows * static_cast<double>(c.vocab_size) * 4.0;
  return m;
}

void check_training_fits(const TrainingMemory& need, double resident, const c10::Device& device,
                         std::int64_t batch, std::int64_t window, const SettingNames& names) {
  const std::int64_t available = available_memory_bytes(device);
  if (available < 0) return;
  const double wanted = need.peak() - resident;
  if (wanted <= static_cast<double>(available)) return;
  fail("training needs at least {:.3g} GiB on {} (weights {:.3g}, gradients {:.3g}, AdamW state {:.3g}, "
       "activations {:.3g} and logits {:.3g} GiB for micro-batches of {} x {} tokens), but it has {:.3g} GiB "
       "available{}; lower {} or {}, or train a smaller model",
       need.peak() / kGiB, device.str(), need.weights / kGiB, need.gradients / kGiB, need.optimizer / kGiB,
       need.activations / kGiB, need.logits / kGiB, batch, window, static_cast<double>(available) / kGiB,
       resident > 0 ? fmt::format(" besides the {:.3g} GiB of weights already loaded", resident / kGiB) : "",
       names("batch_size"), names("context"));
}

}  // namespace collapse
