// The statistics `collapse report --compare` gives (docs/report.md): is arm A's metric at
// generation g different from arm B's, by how much, and how fast does a metric move per
// generation. Plain C++, no torch; held to SciPy and statsmodels on fixed inputs
// (tests/report/statistics_scipy.py).
//
//   Student's t distribution: cdf from the regularised incomplete beta function,
//     P(T <= t) = 1 - I_{nu / (nu + t^2)}(nu / 2, 1 / 2) / 2 for t >= 0 (symmetric below),
//   and its quantile by safeguarded Newton iteration on the cdf, to rounding.
//
//   Paired (both arms ran the same seeds): d_i = a_i - b_i, mean d, s_d the sample standard
//   deviation, se = s_d / sqrt(n), t = mean / se with n - 1 degrees of freedom
//   (scipy.stats.ttest_rel); CI = mean -+ t_{0.975, n-1} se.
//   Welch (otherwise): diff = mean a - mean b, v = s_a^2 / n_a + s_b^2 / n_b, se = sqrt(v),
//   dof = v^2 / ((s_a^2/n_a)^2 / (n_a - 1) + (s_b^2/n_b)^2 / (n_b - 1))
//   (scipy.stats.ttest_ind(equal_var=False)); CI = diff -+ t_{0.975, dof} se.
//   p is two-sided. Arms whose values are equal seed by seed (generation 0 shared by
//   construction) are "identical": diff 0, no test. A difference with zero spread is "zero
//   variance": its CI is the point, and there is no p-value.
//
//   Holm's step-down correction over a family of p-values (statsmodels multipletests "holm"):
//   sorted ascending p_(1) <= ... <= p_(m), adjusted p_(j) = max_{i <= j} min(1, (m - i + 1) p_(i)).
//
//   Slope over generations: per seed, the least-squares slope of the metric on the generation
//   number (one seed's generations are one lineage, not independent points); then the mean of
//   the per-seed slopes and its t-interval over seeds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace collapse {

// P(T <= t) for Student's t with `dof` > 0 degrees of freedom (t may be +-inf).
double student_t_cdf(double t, double dof);
// The t with P(T <= t) = p, 0 < p < 1.
double student_t_quantile(double p, double dof);
// I_x(a, b), a, b > 0, 0 <= x <= 1.
double regularized_incomplete_beta(double x, double a, double b);

struct Difference {
  std::string test;           // "paired" or "welch"
  std::int64_t n_a = 0, n_b = 0;
  double diff = 0.0;          // mean(a) - mean(b) (paired: the mean of the differences)
  double ci_low = 0.0, ci_high = 0.0;  // 95%; NaN where it cannot be computed (n < 2)
  double p = 0.0;             // two-sided; NaN where there is no test
  double dof = 0.0;
  bool identical = false;     // every pair equal (paired), or both sets one and the same value
  bool zero_variance = false; // no spread, but the arms differ
};

// a[i] and b[i] come from the same seed; sizes equal and >= 1.
Difference paired_difference(std::span<const double> a, std::span<const double> b);
// Independent samples, each of size >= 1.
Difference welch_difference(std::span<const double> a, std::span<const double> b);

// Holm-adjusted p-values in the input order; NaN entries stay NaN and are not counted in m.
std::vector<double> holm_adjust(std::span<const double> p);

// Least-squares slope of y on x (at least two distinct x).
double least_squares_slope(std::span<const double> x, std::span<const double> y);

struct Slope {
  std::int64_t seeds = 0;   // lineages with at least two generations
  double slope = 0.0;       // mean of the per-seed slopes
  double ci_low = 0.0, ci_high = 0.0;  // 95% t-interval over seeds; NaN for one seed
};

// One (generations, values) lineage per seed.
Slope mean_slope(const std::vector<std::vector<double>>& generations,
                 const std::vector<std::vector<double>>& values);

}  // namespace collapse
