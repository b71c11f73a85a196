// Embedding precision and recall (Kynkäänniemi et al., "Improved Precision and Recall Metric for
// Assessing Generative Models", NeurIPS 2019), on document features of a reference model.
//
// Features: document_features() — for each document, the mean over positions of the reference
// model's final normalised hidden states (GPT::hidden_states, the input of the output projection)
// on BOS + the document's tokens, truncated to the first C (model context) tokens; no EOS.
//
// Manifolds: with k = 5 by default, the k-NN radius of a feature f_i within its own set F is
//   r_i = || f_i - (k-th nearest neighbour of f_i in F, f_i itself excluded by index) ||
// (duplicates of f_i elsewhere in F count as neighbours at distance 0). The manifold of F is the
// union of the closed balls B(f_i, r_i). Then
//   precision = share of synthetic features inside the manifold of the real features
//               (some real i with ||s - real_i|| <= r_i, radii among the real features)
//   recall    = share of real features inside the manifold of the synthetic features
//               (radii among the synthetic features)
// Distances: ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b by matmul, clamped at 0, compared squared
// (d^2 <= r^2); fp64 inputs stay fp64, anything else is computed in fp32 with CUDA autocast off.
// Blocks of rows bound memory to about `block_values` distances at a time; CPU or CUDA.
#pragma once

#include <cstdint>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "collapse/model/model.h"

namespace collapse {

// Default bound on the distances held at once: 2^24 values (64 MiB in fp32).
inline constexpr std::int64_t kDistanceBlockValues = std::int64_t{1} << 24;

// [documents, d_model] fp32 on `device`, row i the feature of documents[i] (definition above).
// Documents are batched by length with right padding (pads are causally invisible and excluded
// from the mean); on CUDA the model body runs under bf16 autocast. An empty document is BOS alone.
// With `token_loss` given, it is set to [documents, 2] fp32 on `device` from the same forward
// passes: the mean and the (population) standard deviation of the NLL in nats of the document's
// tokens that fit the window, each predicted from BOS and the tokens before it (no EOS); 0 and 0
// for an empty document. The real-vs-synthetic detector (detector_features.h) reads them.
at::Tensor document_features(GPT& model, const std::vector<std::vector<std::int32_t>>& documents,
                             std::int32_t bos, const c10::Device& device,
                             std::int64_t batch_tokens = 8192, std::int64_t window = 0,
                             at::Tensor* token_loss = nullptr);

// Squared Euclidean distances [n_a, n_b] between the rows of a [n_a, d] and b [n_b, d], by the
// matmul identity above, clamped at 0. One block: the caller bounds n_a * n_b.
at::Tensor squared_distances(const at::Tensor& a, const at::Tensor& b);

// Squared k-NN radii [n] of the rows of features [n, d] within themselves (self excluded by
// index). Error unless n > k >= 1.
at::Tensor knn_squared_radii(const at::Tensor& features, std::int64_t k,
                             std::int64_t block_values = kDistanceBlockValues);

// [n_points] bool: whether point i lies in some ball (centers[j], sqrt(squared_radii[j])), i.e.
// squared_distance(point i, center j) <= squared_radii[j] for some j.
at::Tensor inside_any_ball(const at::Tensor& points, const at::Tensor& centers,
                           const at::Tensor& squared_radii,
                           std::int64_t block_values = kDistanceBlockValues);

struct PrecisionRecall {
  double precision = 0.0;
  double recall = 0.0;
  std::int64_t k = 0;
  std::int64_t real = 0;       // real features used
  std::int64_t synthetic = 0;  // synthetic features used
};

// real: [n_real, d], synthetic: [n_synthetic, d], same device; n_real > k and n_synthetic > k.
PrecisionRecall precision_recall(const at::Tensor& real, const at::Tensor& synthetic,
                                 std::int64_t k = 5,
                                 std::int64_t block_values = kDistanceBlockValues);

// {"precision", "recall", "k", "real", "synthetic"}
nlohmann::json to_json(const PrecisionRecall& pr);

}  // namespace collapse
