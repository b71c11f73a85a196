// A detector of real vs synthetic documents, and the importance weights it gives synthetic ones
// (Drayson & Lampos 2025: resampling synthetic training data by a machine-text detector's weights
// slows collapse). Plain C++ on double features, no torch: the caller computes the features
// (embedding_metrics.h's document_features under the generation-0 model).
//
// The detector is L2-regularised logistic regression, with the objective of scikit-learn's
// LogisticRegression(C, class_weight="balanced") on standardised features:
//   minimise  1/2 ||w||^2 + C * sum_i s_i * log(1 + exp(-y_i (w . z_i + b)))
// where y_i = +1 for real and -1 for synthetic, s_i = n / (2 n_class(i)) weighs both classes
// equally whatever their counts, z_i = (x_i - mean) / std with the mean and (population) standard
// deviation of the fitted rows (a constant feature keeps std 1), and the bias b is not
// penalised. Fitted by Newton's method with a backtracking line search, to a gradient norm below
// 1e-9 * (1 + n) (the objective is strictly convex: one optimum).
//
// Because the classes are balanced, sigmoid(logit) estimates p(real | x) under equal priors, and
// the odds exp(logit) estimate the density ratio p_real(x) / p_synthetic(x).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace collapse {

// Row-major [rows, dim].
struct FeatureMatrix {
  std::int64_t rows = 0, dim = 0;
  std::vector<double> values;
  std::span<const double> row(std::int64_t i) const {
    return {values.data() + i * dim, static_cast<std::size_t>(dim)};
  }
};

struct LogisticRegression {
  std::vector<double> mean, scale;  // standardisation of the fitted rows: z = (x - mean) / scale
  std::vector<double> weights;      // on standardised features
  double bias = 0.0;
  int iterations = 0;               // Newton steps taken
  // w . z(x) + b: > 0 means real.
  double logit(std::span<const double> x) const;
};

// Fits rows `x` with labels real[i] (true: real). Error unless both classes have a row.
LogisticRegression fit_logistic_regression(const FeatureMatrix& x, const std::vector<bool>& real,
                                           double c = 1.0);

struct DetectorFit {
  // Held-out balanced accuracy over `folds` stratified folds: the mean of the shares of real and
  // of synthetic rows classified correctly (logit > 0 is real) by the model fitted on the other
  // folds. 0.5 is chance; 1 separates them.
  double accuracy = 0.0;
  int folds = 0;
  std::int64_t real = 0, synthetic = 0;
  // Each synthetic row's logit under the model fitted without its fold (cross-fitting): a model
  // never weighs a row it was fitted on, so that its in-sample overconfidence (many features,
  // few rows) does not make the weights extreme.
  std::vector<double> synthetic_logits;
};

inline constexpr int kDetectorFolds = 5;

// Fits the detector of `real` vs `synthetic` rows (same dim) by k-fold cross-fitting. Folds are
// stratified: each class's rows, in a seeded random order, go to fold (position mod k). Error
// unless each class has at least `folds` rows.
DetectorFit fit_detector(const FeatureMatrix& real, const FeatureMatrix& synthetic, std::uint64_t seed,
                         int folds = kDetectorFolds);

// Importance weights for resampling synthetic rows toward the real distribution: the odds
// exp(logit) = p(real | x) / p(synthetic | x) of each held-out logit, at most `clip` (>= 1).
std::vector<double> importance_weights(const std::vector<double>& logits, double clip);

}  // namespace collapse
