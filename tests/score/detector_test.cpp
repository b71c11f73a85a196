// The real-vs-synthetic detector (detector.h): its logistic regression is the optimum SciPy finds
// for the same objective (tests/score/logistic_regression_scipy.py; under CI a missing SciPy is a
// failure, not a skip), its k-fold accuracy is chance on indistinguishable classes and 1 on
// separated ones, and its importance weights are the clipped odds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "collapse/score/detector.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/random.h"
#include "support/test_support.h"

using namespace collapse;

namespace {

// A standard normal from two counter-based uniforms (Box-Muller).
double normal(std::uint64_t seed, std::uint64_t i) {
  const double u1 = (static_cast<double>(random_key(seed, {i, 0}) >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = static_cast<double>(random_key(seed, {i, 1}) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// rows x dim normal features, shifted by `shift` in every dimension and scaled per dimension.
FeatureMatrix gaussian(std::int64_t rows, std::int64_t dim, double shift, std::uint64_t seed) {
  FeatureMatrix m{rows, dim, {}};
  for (std::int64_t i = 0; i < rows * dim; ++i) {
    m.values.push_back(shift + (1.0 + static_cast<double>(i % dim)) * normal(seed, static_cast<std::uint64_t>(i)));
  }
  return m;
}

FeatureMatrix stacked(const FeatureMatrix& a, const FeatureMatrix& b) {
  FeatureMatrix m{a.rows + b.rows, a.dim, a.values};
  m.values.insert(m.values.end(), b.values.begin(), b.values.end());
  return m;
}

double objective(const LogisticRegression& model, const FeatureMatrix& x, const std::vector<bool>& real, double c) {
  const double n = static_cast<double>(x.rows);
  const double n_real = static_cast<double>(std::count(real.begin(), real.end(), true));
  double value = 0.0;
  for (const double w : model.weights) value += 0.5 * w * w;
  for (std::int64_t i = 0; i < x.rows; ++i) {
    const bool r = real[static_cast<std::size_t>(i)];
    const double s = n / (2.0 * (r ? n_real : n - n_real));
    const double m = (r ? 1.0 : -1.0) * model.logit(x.row(i));
    value += c * s * (std::max(-m, 0.0) + std::log1p(std::exp(-std::abs(m))));
  }
  return value;
}

}  // namespace

TEST(LogisticRegression, FindsTheOptimumScipyFindsForTheSameObjective) {
  struct Case {
    FeatureMatrix x;
    std::vector<bool> real;
    double c;
  };
  std::vector<Case> cases;
  // Overlapping classes of unequal sizes, and a constant feature; another penalty.
  for (const double c : {1.0, 0.05}) {
    const FeatureMatrix real = gaussian(40, 4, 0.6, 1), synthetic = gaussian(70, 4, 0.0, 2);
    Case k{stacked(real, synthetic), std::vector<bool>(110, false), c};
    std::fill(k.real.begin(), k.real.begin() + 40, true);
    for (std::int64_t i = 0; i < k.x.rows; ++i) k.x.values[static_cast<std::size_t>(i * 4 + 3)] = 2.5;
    cases.push_back(k);
  }
  nlohmann::json input = nlohmann::json::array();
  for (const Case& k : cases) {
    nlohmann::json rows = nlohmann::json::array();
    for (std::int64_t i = 0; i < k.x.rows; ++i) {
      const auto r = k.x.row(i);
      rows.push_back(std::vector<double>(r.begin(), r.end()));
    }
    input.push_back({{"x", rows}, {"real", k.real}, {"c", k.c}});
  }
  const auto file = tests::fresh_dir("logistic_scipy") / "cases.json";
  write_file_atomic(file, input.dump());
  const auto run = tests::run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                                    "/tests/score/logistic_regression_scipy.py " + file.string());
  if (run.exit_code == 77) SKIP_WITHOUT_REFERENCE("scipy not importable by " << COLLAPSE_PYTHON << ": " << run.out);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto reference = nlohmann::json::parse(run.out);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const LogisticRegression ours = fit_logistic_regression(cases[i].x, cases[i].real, cases[i].c);
    const auto& theirs = reference["fits"][i];
    // Newton's optimum is at least as low as L-BFGS's, and they agree to its tolerance.
    const double ours_value = objective(ours, cases[i].x, cases[i].real, cases[i].c);
    EXPECT_LE(ours_value, theirs["objective"].get<double>() + 1e-12) << i;
    EXPECT_NEAR(ours_value, theirs["objective"].get<double>(), 1e-9) << i;
    for (std::size_t j = 0; j < ours.weights.size(); ++j) {
      EXPECT_NEAR(ours.weights[j], theirs["weights"][j].get<double>(), 1e-5) << i << " weight " << j;
    }
    EXPECT_NEAR(ours.bias, theirs["bias"].get<double>(), 1e-5) << i;
    EXPECT_EQ(ours.weights[3], 0.0) << "a constant feature gets no weight";
  }
}

TEST(Detector, AccuracyIsChanceOnOneDistributionAndOneOnSeparatedClusters) {
  const DetectorFit same = fit_detector(gaussian(200, 3, 0.0, 3), gaussian(200, 3, 0.0, 4), 7);
  EXPECT_NEAR(same.accuracy, 0.5, 0.08);
  EXPECT_EQ(same.folds, kDetectorFolds);
  const DetectorFit apart = fit_detector(gaussian(50, 3, 20.0, 5), gaussian(80, 3, 0.0, 6), 7);
  EXPECT_EQ(apart.accuracy, 1.0);
  EXPECT_EQ(apart.real, 50);
  EXPECT_EQ(apart.synthetic, 80);
  // The same seed, the same folds and accuracy; too few rows for the folds is an error.
  EXPECT_EQ(fit_detector(gaussian(200, 3, 0.0, 3), gaussian(200, 3, 0.0, 4), 7).accuracy, same.accuracy);
  EXPECT_THROW(fit_detector(gaussian(4, 3, 0.0, 3), gaussian(200, 3, 0.0, 4), 7), Error);
}

TEST(Detector, CrossFittedLogitsComeFromTheModelThatHeldTheRowOut) {
  const FeatureMatrix real = gaussian(100, 2, 1.0, 8), synthetic = gaussian(60, 2, 0.0, 9);
  const DetectorFit fit = fit_detector(real, synthetic, 1);
  ASSERT_EQ(fit.synthetic_logits.size(), 60u);
  // Refit the fold of synthetic row 0 by hand: every row but those of its fold. A row's fold is
  // found back as the fold whose model gives its recorded logit.
  int matched = 0;
  for (int fold = 0; fold < kDetectorFolds; ++fold) {
    // The rows of `fold`: the same seeded stratified deal as fit_detector's.
    auto members_of = [&](bool cls, std::int64_t count) {
      std::vector<std::pair<std::uint64_t, std::int64_t>> keyed;
      for (std::int64_t m = 0; m < count; ++m) keyed.push_back({random_key(1, {cls ? 1u : 0u, static_cast<std::uint64_t>(m)}), m});
      std::sort(keyed.begin(), keyed.end());
      std::vector<bool> in(static_cast<std::size_t>(count), false);
      for (std::size_t p = 0; p < keyed.size(); ++p) in[static_cast<std::size_t>(keyed[p].second)] = static_cast<int>(p % kDetectorFolds) == fold;
      return in;
    };
    const auto real_in = members_of(true, 100), synthetic_in = members_of(false, 60);
    FeatureMatrix train{0, 2, {}};
    std::vector<bool> labels;
    for (std::int64_t i = 0; i < 100; ++i) {
      if (real_in[static_cast<std::size_t>(i)]) continue;
      train.values.insert(train.values.end(), real.row(i).begin(), real.row(i).end());
      labels.push_back(true);
      ++train.rows;
    }
    for (std::int64_t i = 0; i < 60; ++i) {
      if (synthetic_in[static_cast<std::size_t>(i)]) continue;
      train.values.insert(train.values.end(), synthetic.row(i).begin(), synthetic.row(i).end());
      labels.push_back(false);
      ++train.rows;
    }
    const LogisticRegression model = fit_logistic_regression(train, labels);
    for (std::int64_t i = 0; i < 60; ++i) {
      if (!synthetic_in[static_cast<std::size_t>(i)]) continue;
      EXPECT_NEAR(fit.synthetic_logits[static_cast<std::size_t>(i)], model.logit(synthetic.row(i)), 1e-12) << i;
      ++matched;
    }
  }
  EXPECT_EQ(matched, 60) << "every synthetic row is in exactly one fold";
}

TEST(Detector, ImportanceWeightsAreTheOddsOfRealClippedAbove) {
  const std::vector<double> logits = {-2.0, 0.0, 0.3, std::log(1.5), 4.0};
  const auto weights = importance_weights(logits, 1.5);
  EXPECT_DOUBLE_EQ(weights[0], std::exp(-2.0));
  EXPECT_DOUBLE_EQ(weights[1], 1.0);
  EXPECT_DOUBLE_EQ(weights[2], std::exp(0.3));
  EXPECT_DOUBLE_EQ(weights[3], 1.5);
  EXPECT_DOUBLE_EQ(weights[4], 1.5);
  EXPECT_THROW(importance_weights(logits, 0.5), Error);
}
