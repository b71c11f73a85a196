// The mean of a metric over seeds and its 95% confidence interval (docs/report.md):
//   mean = (1/n) sum x_i,  s = sqrt(sum (x_i - mean)^2 / (n - 1)),
//   half_width = t_{0.975, n-1} * s / sqrt(n),  interval = mean -+ half_width,
// with t_{0.975, n-1} the two-sided 95% critical value of Student's t distribution with n - 1
// degrees of freedom. For n = 1 there is no interval (half_width NaN).
#pragma once

#include <cstdint>
#include <span>

namespace collapse {

// t_{0.975, dof}: exact table values (4 decimals) for dof 1..30, 40, 60, 120; between those,
// interpolated linearly in 1/dof; beyond 120, towards the normal's 1.95996 as 1/dof -> 0.
// dof >= 1.
double t_critical_95(std::int64_t dof);

struct MeanCI {
  std::int64_t n = 0;
  double mean = 0.0;        // NaN when n = 0
  double sd = 0.0;          // sample standard deviation (n - 1); NaN when n < 2
  double half_width = 0.0;  // NaN when n < 2
  double low() const { return mean - half_width; }
  double high() const { return mean + half_width; }
};

// Over the finite values only (NaN/inf are left out and not counted in n).
MeanCI mean_ci95(std::span<const double> values);

}  // namespace collapse
