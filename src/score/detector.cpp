#include "collapse/score/detector.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "collapse/util/error.h"
#include "collapse/util/random.h"

namespace collapse {
namespace {

// log(1 + exp(t)) without overflow.
double softplus(double t) { return std::max(t, 0.0) + std::log1p(std::exp(-std::abs(t))); }
double sigmoid(double t) {
  return t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
}

// Solves A x = g for a symmetric positive definite A (n x n, row-major; overwritten by its
// Cholesky factor).
std::vector<double> cholesky_solve(std::vector<double>& a, std::vector<double> g, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0.0)) fail("logistic regression: the Hessian is not positive definite (pivot {})", d);
    const double l = std::sqrt(d);
    a[j * n + j] = l;
    for (std::size_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = v / l;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {  // L y = g
    for (std::size_t k = 0; k < i; ++k) g[i] -= a[i * n + k] * g[k];
    g[i] /= a[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {  // L^T x = y
    for (std::size_t k = i + 1; k < n; ++k) g[i] -= a[k * n + i] * g[k];
    g[i] /= a[i * n + i];
  }
  return g;
}

// The objective of detector.h over standardised rows z (row-major [n, d]) at theta = (w, b).
struct Objective {
  const std::vector<double>& z;
  const std::vector<double>& y;  // +1 real, -1 synthetic
  const std::vector<double>& s;  // class-balancing weights
  std::size_t n, d;
  double c;

  double margin(const std::vector<double>& theta, std::size_t i) const {
    double m = theta[d];
    for (std::size_t j = 0; j < d; ++j) m += theta[j] * z[i * d + j];
    return m;
  }
  double value(const std::vector<double>& theta) const {
    double penalty = 0.0;
    for (std::size_t j = 0; j < d; ++j) penalty += theta[j] * theta[j];
    double loss = 0.0;
    for (std::size_t i = 0; i < n; ++i) loss += s[i] * softplus(-y[i] * margin(theta, i));
    return 0.5 * penalty + c * loss;
  }
};

}  // namespace

double LogisticRegression::logit(std::span<const double> x) const {
  double m = bias;
  for (std::size_t j = 0; j < weights.size(); ++j) m += weights[j] * (x[j] - mean[j]) / scale[j];
  return m;
}

LogisticRegression fit_logistic_regression(const FeatureMatrix& x, const std::vector<bool>& real, double c) {
  const auto n = static_cast<std::size_t>(x.rows), d = static_cast<std::size_t>(x.dim);
  if (real.size() != n) fail("logistic regression: {} labels for {} rows", real.size(), n);
  const auto n_real = static_cast<std::size_t>(std::count(real.begin(), real.end(), true));
  if (n_real == 0 || n_real == n) fail("logistic regression: needs real and synthetic rows, got {} real of {}", n_real, n);

  LogisticRegression model;
  model.mean.assign(d, 0.0);
  model.scale.assign(d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) model.mean[j] += x.values[i * d + j];
  }
  for (double& m : model.mean) m /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const double e = x.values[i * d + j] - model.mean[j];
      model.scale[j] += e * e;
    }
  }
  for (double& v : model.scale) {
    v = std::sqrt(v / static_cast<double>(n));
    if (!(v > 1e-12)) v = 1.0;  // a constant feature carries nothing; keep it finite
  }
  std::vector<double> z(n * d), y(n), s(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) z[i * d + j] = (x.values[i * d + j] - model.mean[j]) / model.scale[j];
    y[i] = real[i] ? 1.0 : -1.0;
    s[i] = static_cast<double>(n) / (2.0 * static_cast<double>(real[i] ? n_real : n - n_real));
  }

  const Objective f{z, y, s, n, d, c};
  const std::size_t p = d + 1;
  std::vector<double> theta(p, 0.0);
  double value = f.value(theta);
  for (int iteration = 0; iteration < 100; ++iteration) {
    std::vector<double> grad(p, 0.0), hess(p * p, 0.0);
    for (std::size_t j = 0; j < d; ++j) {
      grad[j] = theta[j];
      hess[j * p + j] = 1.0;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const double m = f.margin(theta, i);
      const double q = sigmoid(m);
      const double g = c * s[i] * (q - (y[i] > 0 ? 1.0 : 0.0));  // d loss / d margin
      const double h = c * s[i] * q * (1.0 - q);
      const double* zi = &z[i * d];
      for (std::size_t a = 0; a < d; ++a) {
        grad[a] += g * zi[a];
        const double hz = h * zi[a];
        for (std::size_t b = 0; b <= a; ++b) hess[a * p + b] += hz * zi[b];
        hess[d * p + a] += hz;
      }
      grad[d] += g;
      hess[d * p + d] += h;
    }
    double norm = 0.0;
    for (const double g : grad) norm += g * g;
    if (std::sqrt(norm) < 1e-9 * (1.0 + static_cast<double>(n))) break;
    for (std::size_t a = 0; a < p; ++a) {
      for (std::size_t b = a + 1; b < p; ++b) hess[a * p + b] = hess[b * p + a];
    }
    const std::vector<double> step = cholesky_solve(hess, grad, p);
    double slope = 0.0;
    for (std::size_t j = 0; j < p; ++j) slope += grad[j] * step[j];
    double t = 1.0;
    std::vector<double> next(p);
    for (int halving = 0; halving < 60; ++halving, t *= 0.5) {
      for (std::size_t j = 0; j < p; ++j) next[j] = theta[j] - t * step[j];
      if (f.value(next) <= value - 1e-4 * t * slope) break;
    }
    const double next_value = f.value(next);
    ++model.iterations;
    if (!(next_value < value)) break;  // no further decrease: at the optimum to rounding
    theta = next;
    value = next_value;
  }
  model.weights.assign(theta.begin(), theta.begin() + static_cast<std::ptrdiff_t>(d));
  model.bias = theta[d];
  return model;
}

DetectorFit fit_detector(const FeatureMatrix& real, const FeatureMatrix& synthetic, std::uint64_t seed, int folds) {
  if (real.dim != synthetic.dim) fail("detector: real features have {} dimensions, synthetic {}", real.dim, synthetic.dim);
  if (folds < 2) fail("detector: needs at least 2 folds, got {}", folds);
  if (real.rows < folds || synthetic.rows < folds) {
    fail("detector: {}-fold accuracy needs at least {} documents of each kind, got {} real and {} "
         "synthetic",
         folds, folds, real.rows, synthetic.rows);
  }
  // Rows 0..real.rows-1 are real, then synthetic.
  FeatureMatrix all{real.rows + synthetic.rows, real.dim, real.values};
  all.values.insert(all.values.end(), synthetic.values.begin(), synthetic.values.end());
  std::vector<bool> is_real(static_cast<std::size_t>(all.rows), false);
  std::fill(is_real.begin(), is_real.begin() + real.rows, true);

  // Stratified folds: each class in a seeded order, dealt round-robin.
  std::vector<int> fold(static_cast<std::size_t>(all.rows));
  for (const bool cls : {true, false}) {
    std::vector<std::int64_t> members;
    for (std::int64_t i = 0; i < all.rows; ++i) {
      if (is_real[static_cast<std::size_t>(i)] == cls) members.push_back(i);
    }
    std::vector<std::uint64_t> key(members.size());
    for (std::size_t m = 0; m < members.size(); ++m) key[m] = random_key(seed, {cls ? 1u : 0u, m});
    std::vector<std::size_t> order(members.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key[a] < key[b]; });
    for (std::size_t position = 0; position < order.size(); ++position) {
      fold[static_cast<std::size_t>(members[order[position]])] = static_cast<int>(position % static_cast<std::size_t>(folds));
    }
  }
  std::int64_t correct_real = 0, correct_synthetic = 0;
  DetectorFit out;
  out.synthetic_logits.assign(static_cast<std::size_t>(synthetic.rows), 0.0);
  for (int k = 0; k < folds; ++k) {
    FeatureMatrix train{0, all.dim, {}};
    std::vector<bool> labels;
    for (std::int64_t i = 0; i < all.rows; ++i) {
      if (fold[static_cast<std::size_t>(i)] == k) continue;
      const auto r = all.row(i);
      train.values.insert(train.values.end(), r.begin(), r.end());
      labels.push_back(is_real[static_cast<std::size_t>(i)]);
      ++train.rows;
    }
    const LogisticRegression model = fit_logistic_regression(train, labels);
    for (std::int64_t i = 0; i < all.rows; ++i) {
      if (fold[static_cast<std::size_t>(i)] != k) continue;
      const double logit = model.logit(all.row(i));
      const bool says_real = logit > 0.0;
      if (is_real[static_cast<std::size_t>(i)]) {
        correct_real += says_real;
      } else {
        correct_synthetic += !says_real;
        out.synthetic_logits[static_cast<std::size_t>(i - real.rows)] = logit;
      }
    }
  }
  out.accuracy = 0.5 * (static_cast<double>(correct_real) / static_cast<double>(real.rows) +
                        static_cast<double>(correct_synthetic) / static_cast<double>(synthetic.rows));
  out.folds = folds;
  out.real = real.rows;
  out.synthetic = synthetic.rows;
  return out;
}

std::vector<double> importance_weights(const std::vector<double>& logits, double clip) {
  if (!(clip >= 1.0)) fail("detector: the weight clip must be >= 1, got {}", clip);
  std::vector<double> w;
  w.reserve(logits.size());
  const double log_clip = std::log(clip);
  for (const double logit : logits) w.push_back(logit >= log_clip ? clip : std::exp(logit));
  return w;
}

}  // namespace collapse
