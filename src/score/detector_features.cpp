#include "collapse/score/detector_features.h"

#include "collapse/score/embedding_metrics.h"
#include "collapse/score/feature_windows.h"
#include "collapse/util/error.h"

namespace collapse {

namespace {

// [rows, d_model + 2]: the mean hidden state, then the token NLL's mean and standard deviation.
FeatureMatrix detector_features(GPT& model, const std::vector<std::vector<std::int32_t>>& documents,
                                std::int32_t bos, const c10::Device& device, std::int64_t positions) {
  at::Tensor loss;
  const at::Tensor hidden = document_features(model, documents, bos, device, 8192, positions, &loss);
  return feature_matrix(at::cat({hidden, loss}, 1));
}

}  // namespace

FeatureMatrix feature_matrix(const at::Tensor& features) {
  const at::Tensor x = features.to(at::kCPU, at::kDouble).contiguous();
  FeatureMatrix m{x.size(0), x.size(1), {}};
  m.values.assign(x.data_ptr<double>(), x.data_ptr<double>() + x.numel());
  return m;
}

RealSyntheticDetector fit_real_synthetic_detector(GPT& model, const TokenCorpus& real,
                                                  const std::vector<std::vector<std::int32_t>>& synthetic,
                                                  std::int32_t bos, const c10::Device& device,
                                                  std::int64_t window, std::uint64_t seed) {
  const std::int64_t positions = window_within(model->config(), window, "the detector's window");
  const auto n = static_cast<std::int64_t>(synthetic.size());
  if (n < kDetectorMinDocuments) {
    fail("the detector needs at least {} synthetic documents, got {}", kDetectorMinDocuments, n);
  }
  TokenCorpus synthetic_corpus;
  for (const auto& d : synthetic) synthetic_corpus.add(d);
  RealSyntheticDetector out;
  out.window = matching_window_length(synthetic_corpus, positions - 1);
  const FeatureWindows windows = feature_windows(real, out.window, n);
  out.real_available = windows.available;
  if (windows.windows.documents() < kDetectorMinDocuments) {
    fail("the detector needs at least {} real windows of {} tokens (the synthetic documents' median "
         "length), but the real documents hold {}",
         kDetectorMinDocuments, out.window, windows.available);
  }
  std::vector<std::vector<std::int32_t>> real_docs;
  for (std::int64_t d = 0; d < windows.windows.documents(); ++d) {
    const auto doc = windows.windows.document(d);
    real_docs.emplace_back(doc.begin(), doc.end());
  }
  const FeatureMatrix real_features = detector_features(model, real_docs, bos, device, positions);
  const FeatureMatrix synthetic_features = detector_features(model, synthetic, bos, device, positions);
  out.fit = fit_detector(real_features, synthetic_features, seed);
  return out;
}

nlohmann::json to_json(const RealSyntheticDetector& d) {
  return {{"accuracy", d.fit.accuracy}, {"folds", d.fit.folds},  {"real", d.fit.real},
          {"synthetic", d.fit.synthetic}, {"window", d.window}, {"real_windows_available", d.real_available}};
}

}  // namespace collapse
