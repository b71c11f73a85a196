#include "collapse/score/embedding_metrics.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <torch/utils.h>

#include <algorithm>
#include <limits>

#include "collapse/model/device.h"
#include "collapse/score/length_batches.h"
#include "collapse/util/error.h"

namespace collapse {
namespace {

// fp64 stays fp64; every other floating type is computed in fp32.
at::Tensor as_compute_type(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? x : x.to(at::kFloat);
}

void check_features(const char* what, const at::Tensor& x) {
  if (x.dim() != 2) fail("{}: features must be [n, d], got {}", what, x.sizes());
  if (!at::isFloatingType(x.scalar_type())) {
    fail("{}: features must be floating point, got {}", what, c10::toString(x.scalar_type()));
  }
}

// Rows per block so that rows * columns <= block_values (at least 1).
std::int64_t rows_per_block(std::int64_t columns, std::int64_t block_values) {
  return std::max<std::int64_t>(1, block_values / std::max<std::int64_t>(columns, 1));
}

}  // namespace

at::Tensor document_features(GPT& model, const std::vector<std::vector<std::int32_t>>& documents,
                             std::int32_t bos, const c10::Device& device,
                             std::int64_t batch_tokens, std::int64_t window, at::Tensor* token_loss) {
  const std::int64_t C = window_within(model->config(), window, "the scoring window"), vocab = model->config().vocab_size;
  if (bos < 0 || bos >= vocab) fail("BOS id {} is outside the vocabulary [0, {})", bos, vocab);
  std::vector<std::int64_t> lengths;  // BOS + tokens, truncated to the context
  for (std::size_t d = 0; d < documents.size(); ++d) {
    for (const std::int32_t id : documents[d]) {
      if (id < 0 || id >= vocab) {
        fail("document {} has token id {}, outside the model's vocabulary [0, {})", d, id, vocab);
      }
    }
    lengths.push_back(std::min<std::int64_t>(static_cast<std::int64_t>(documents[d].size()) + 1, C));
  }
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  at::Tensor features = at::empty({static_cast<std::int64_t>(documents.size()), model->config().d_model}, f32);
  if (token_loss) *token_loss = at::zeros({static_cast<std::int64_t>(documents.size()), 2}, f32);
  if (documents.empty()) return features;

  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  AutocastScope autocast(device);
  for (const auto& batch : length_batches(lengths, std::max<std::int64_t>(batch_tokens, 1))) {
    const std::int64_t B = static_cast<std::int64_t>(batch.size());
    const std::int64_t T = lengths[static_cast<std::size_t>(batch.front())];  // the longest
    at::Tensor inputs = at::full({B, T}, static_cast<std::int64_t>(bos), at::kLong);
    at::Tensor mask = at::zeros({B, T}, at::kFloat);  // 1 at real positions
    auto in = inputs.accessor<std::int64_t, 2>();
    auto m = mask.accessor<float, 2>();
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t row = batch[static_cast<std::size_t>(b)];
      const auto& doc = documents[static_cast<std::size_t>(row)];
      for (std::int64_t j = 0; j < lengths[static_cast<std::size_t>(row)]; ++j) {
        in[b][j] = j == 0 ? bos : doc[static_cast<std::size_t>(j - 1)];
        m[b][j] = 1.0f;
      }
    }
    const at::Tensor hidden = model->hidden_states(inputs.to(device)).to(at::kFloat);  // [B, T, d]
    const at::Tensor weights = mask.to(device);
    const at::Tensor pooled = (hidden * weights.unsqueeze(2)).sum(1) / weights.sum(1, true);
    features.index_copy_(0, at::tensor(batch, at::kLong).to(device), pooled);
    if (token_loss && T > 1) {
      // Position j predicts input j + 1: the targets are the inputs shifted left, scored where
      // both positions are real.
      const at::Tensor log_probs = at::log_softmax(model->logits(hidden.slice(1, 0, T - 1)), -1);
      const at::Tensor targets = inputs.slice(1, 1, T).to(device);
      const at::Tensor nll = -log_probs.gather(2, targets.unsqueeze(2)).squeeze(2);  // [B, T-1]
      const at::Tensor scored = weights.slice(1, 1, T);
      const at::Tensor count = scored.sum(1).clamp_min(1.0);
      const at::Tensor mean = (nll * scored).sum(1) / count;
      const at::Tensor var = ((nll - mean.unsqueeze(1)).square() * scored).sum(1) / count;
      token_loss->index_copy_(0, at::tensor(batch, at::kLong).to(device), at::stack({mean, var.sqrt()}, 1));
    }
  }
  if (was_training) model->train();
  return features;
}

at::Tensor squared_distances(const at::Tensor& a, const at::Tensor& b) {
  NoAutocastScope exact;  // the matmul in the inputs' precision, never bf16
  const at::Tensor x = as_compute_type(a), y = as_compute_type(b).to(x.scalar_type());
  const at::Tensor xx = x.square().sum(1, true);  // [n_a, 1]
  const at::Tensor yy = y.square().sum(1).unsqueeze(0);  // [1, n_b]
  return (xx + yy - 2.0 * at::mm(x, y.t())).clamp_min(0.0);
}

at::Tensor knn_squared_radii(const at::Tensor& features, std::int64_t k, std::int64_t block_values) {
  check_features("k-NN radii", features);
  const std::int64_t n = features.size(0);
  if (k < 1 || n <= k) fail("k-NN radii: need more than k = {} features (k >= 1), got {}", k, n);
  const at::Tensor f = as_compute_type(features);
  at::Tensor radii = at::empty({n}, f.options());
  const std::int64_t rows = rows_per_block(n, block_values);
  for (std::int64_t r0 = 0; r0 < n; r0 += rows) {
    const std::int64_t R = std::min(rows, n - r0);
    at::Tensor d = squared_distances(f.narrow(0, r0, R), f);  // [R, n]
    // Exclude each point itself (by index, so duplicates elsewhere still count).
    const at::Tensor self = at::arange(r0, r0 + R, f.options().dtype(at::kLong)).unsqueeze(1);
    d.scatter_(1, self, std::numeric_limits<double>::infinity());
    const at::Tensor nearest = std::get<0>(at::topk(d, k, 1, /*largest=*/false, /*sorted=*/true));
    radii.narrow(0, r0, R).copy_(nearest.select(1, k - 1));
  }
  return radii;
}

at::Tensor inside_any_ball(const at::Tensor& points, const at::Tensor& centers,
                           const at::Tensor& squared_radii, std::int64_t block_values) {
  check_features("manifold test", points);
  check_features("manifold test", centers);
  if (points.size(1) != centers.size(1)) {
    fail("manifold test: points have {} dimensions but centers {}", points.size(1), centers.size(1));
  }
  if (squared_radii.dim() != 1 || squared_radii.size(0) != centers.size(0)) {
    fail("manifold test: need one radius per center ({}), got {}", centers.size(0), squared_radii.sizes());
  }
  const std::int64_t n = points.size(0), m = centers.size(0);
  at::Tensor inside = at::zeros({n}, points.options().dtype(at::kBool));
  if (m == 0) return inside;
  const at::Tensor c = as_compute_type(centers);
  const at::Tensor r2 = squared_radii.to(c.scalar_type()).unsqueeze(0);  // [1, m]
  const std::int64_t rows = rows_per_block(m, block_values);
  for (std::int64_t r0 = 0; r0 < n; r0 += rows) {
    const std::int64_t R = std::min(rows, n - r0);
    const at::Tensor d = squared_distances(points.narrow(0, r0, R).to(c.scalar_type()), c);
    inside.narrow(0, r0, R).copy_((d <= r2).any(1));
  }
  return inside;
}

PrecisionRecall precision_recall(const at::Tensor& real, const at::Tensor& synthetic, std::int64_t k,
                                 std::int64_t block_values) {
  check_features("precision/recall (real)", real);
  check_features("precision/recall (synthetic)", synthetic);
  if (real.size(1) != synthetic.size(1)) {
    fail("precision/recall: real features have {} dimensions but synthetic ones {}", real.size(1),
         synthetic.size(1));
  }
  if (real.device() != synthetic.device()) {
    fail("precision/recall: real features are on {} but synthetic ones on {}", real.device().str(),
         synthetic.device().str());
  }
  // Both sets in one precision: fp64 only when both are fp64.
  const c10::ScalarType type = real.scalar_type() == at::kDouble && synthetic.scalar_type() == at::kDouble
                                   ? at::kDouble
                                   : at::kFloat;
  const at::Tensor r = real.to(type), s = synthetic.to(type);
  PrecisionRecall out;
  out.k = k;
  out.real = r.size(0);
  out.synthetic = s.size(0);
  const at::Tensor real_radii = knn_squared_radii(r, k, block_values);
  const at::Tensor synthetic_radii = knn_squared_radii(s, k, block_values);
  out.precision = inside_any_ball(s, r, real_radii, block_values).to(at::kDouble).mean().item<double>();
  out.recall = inside_any_ball(r, s, synthetic_radii, block_values).to(at::kDouble).mean().item<double>();
  return out;
}

nlohmann::json to_json(const PrecisionRecall& pr) {
  return {{"precision", pr.precision},
          {"recall", pr.recall},
          {"k", pr.k},
          {"real", pr.real},
          {"synthetic", pr.synthetic}};
}

}  // namespace collapse
