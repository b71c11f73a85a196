// The real-vs-synthetic detector (detector.h) on document features of a reference model: the
// LibTorch side. Real documents are windows of a real corpus that no model trained on (the
// experiment gives the valid split), cut as long as the synthetic documents' median length and
// as many as there are synthetic documents (feature_windows.h), so that the detector cannot tell
// them apart by length alone.
//
// A document's detector features are embedding_metrics.h's document_features (the mean final
// hidden state) followed by the mean and the standard deviation of its tokens' NLL under the same
// model, from the same forward pass. The mean hidden state alone nearly ignores word order under a
// weak reference model (each position mostly encodes its own token and the one before): on the
// tiny preset it told real windows from the same windows shuffled at 0.66 balanced accuracy;
// with the token log-loss, the classic signal of machine-text detectors, it separates them.
#pragma once

#include <cstdint>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "collapse/data/token_corpus.h"
#include "collapse/model/model.h"
#include "collapse/score/detector.h"

namespace collapse {

// The fewest real windows and synthetic documents a detector is fitted on: two per fold.
inline constexpr std::int64_t kDetectorMinDocuments = 2 * kDetectorFolds;

struct RealSyntheticDetector {
  DetectorFit fit;
  std::int64_t window = 0;           // real window length (tokens)
  std::int64_t real_available = 0;   // windows of that length the real corpus has
};

// Error (naming the counts) when the real corpus has fewer than kDetectorMinDocuments windows of
// the matching length, or there are fewer synthetic documents than that. `window` bounds the
// positions (0: the model's context), as in scoring.
RealSyntheticDetector fit_real_synthetic_detector(GPT& model, const TokenCorpus& real,
                                                  const std::vector<std::vector<std::int32_t>>& synthetic,
                                                  std::int32_t bos, const c10::Device& device,
                                                  std::int64_t window, std::uint64_t seed);

// [rows, dim] features as a row-major double matrix.
FeatureMatrix feature_matrix(const at::Tensor& features);

// {"accuracy", "folds", "real", "synthetic", "window", "real_windows_available"}
nlohmann::json to_json(const RealSyntheticDetector& detector);

}  // namespace collapse
