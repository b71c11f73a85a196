#include "collapse/report/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "collapse/util/error.h"

namespace collapse {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The continued fraction of I_x(a, b) (modified Lentz), converging for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double x, double a, double b) {
  constexpr double tiny = 1e-300, eps = 1e-16;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (std::abs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));  // the even step
    d = 1.0 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));  // the odd step
    d = 1.0 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1.0) < eps) return h;
  }
  fail("incomplete beta: no convergence at x = {}, a = {}, b = {}", x, a, b);
}

// P(|T| >= t) / 2 for t >= 0: the upper tail.
double upper_tail(double t, double dof) {
  if (std::isinf(t)) return 0.0;
  return 0.5 * regularized_incomplete_beta(dof / (dof + t * t), 0.5 * dof, 0.5);
}

double sample_variance(std::span<const double> v, double mean) {
  double s = 0.0;
  for (const double x : v) s += (x - mean) * (x - mean);
  return s / static_cast<double>(v.size() - 1);
}

double mean_of(std::span<const double> v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// p, CI and dof of a t statistic diff / se.
void t_test(Difference& r, double se, double dof) {
  r.dof = dof;
  if (se == 0.0) {
    r.zero_variance = true;
    r.ci_low = r.ci_high = r.diff;
    r.p = kNaN;
    return;
  }
  const double q = student_t_quantile(0.975, dof);
  r.ci_low = r.diff - q * se;
  r.ci_high = r.diff + q * se;
  r.p = std::min(1.0, 2.0 * upper_tail(std::abs(r.diff / se), dof));
}

}  // namespace

double regularized_incomplete_beta(double x, double a, double b) {
  if (!(a > 0.0 && b > 0.0) || !(x >= 0.0 && x <= 1.0)) {
    fail("incomplete beta: needs a, b > 0 and x in [0, 1], got x = {}, a = {}, b = {}", x, a, b);
  }
  if (x == 0.0 || x == 1.0) return x;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                                b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(x, a, b) / a;
  return 1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b;
}

double student_t_cdf(double t, double dof) {
  if (!(dof > 0.0)) fail("Student's t: degrees of freedom must be > 0, got {}", dof);
  if (std::isnan(t)) return kNaN;
  return t >= 0.0 ? 1.0 - upper_tail(t, dof) : upper_tail(-t, dof);
}

double student_t_quantile(double p, double dof) {
  if (!(dof > 0.0)) fail("Student's t: degrees of freedom must be > 0, got {}", dof);
  if (!(p > 0.0 && p < 1.0)) fail("Student's t quantile: p must be in (0, 1), got {}", p);
  if (p < 0.5) return -student_t_quantile(1.0 - p, dof);
  const double tail = 1.0 - p;
  double lo = 0.0, hi = 1.0;
  while (upper_tail(hi, dof) > tail) hi *= 2.0;
  // Bisection to the last bit: the tail is monotone in t.
  for (int i = 0; i < 2000 && hi - lo > 4 * std::numeric_limits<double>::epsilon() * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (upper_tail(mid, dof) > tail ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Difference paired_difference(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size() || a.empty()) {
    fail("paired difference: needs as many values in each arm, at least one, got {} and {}", a.size(), b.size());
  }
  Difference r;
  r.test = "paired";
  r.n_a = r.n_b = static_cast<std::int64_t>(a.size());
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  r.diff = mean_of(d);
  if (std::all_of(d.begin(), d.end(), [](double x) { return x == 0.0; })) {
    r.identical = true;
    r.ci_low = r.ci_high = 0.0;
    r.p = kNaN;
    return r;
  }
  if (d.size() < 2) {
    r.ci_low = r.ci_high = r.p = kNaN;
    return r;
  }
  const auto n = static_cast<double>(d.size());
  t_test(r, std::sqrt(sample_variance(d, r.diff) / n), n - 1.0);
  return r;
}

Difference welch_difference(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) fail("Welch difference: each arm needs a value, got {} and {}", a.size(), b.size());
  Difference r;
  r.test = "welch";
  r.n_a = static_cast<std::int64_t>(a.size());
  r.n_b = static_cast<std::int64_t>(b.size());
  const double ma = mean_of(a), mb = mean_of(b);
  r.diff = ma - mb;
  const auto same = [&](std::span<const double> v) {
    return std::all_of(v.begin(), v.end(), [&](double x) { return x == a.front(); });
  };
  if (same(a) && same(b)) {
    r.identical = true;
    r.diff = 0.0;
    r.ci_low = r.ci_high = 0.0;
    r.p = kNaN;
    return r;
  }
  if (a.size() < 2 || b.size() < 2) {
    r.ci_low = r.ci_high = r.p = kNaN;
    return r;
  }
  const double va = sample_variance(a, ma) / static_cast<double>(a.size());
  const double vb = sample_variance(b, mb) / static_cast<double>(b.size());
  const double v = va + vb;
  if (v == 0.0) {
    t_test(r, 0.0, 0.0);
    return r;
  }
  const double dof = v * v / (va * va / static_cast<double>(a.size() - 1) + vb * vb / static_cast<double>(b.size() - 1));
  t_test(r, std::sqrt(v), dof);
  return r;
}

std::vector<double> holm_adjust(std::span<const double> p) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!std::isnan(p[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
  std::vector<double> out(p.begin(), p.end());
  const auto m = static_cast<double>(order.size());
  double running = 0.0;
  for (std::size_t j = 0; j < order.size(); ++j) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(j)) * p[order[j]]));
    out[order[j]] = running;
  }
  return out;
}

double least_squares_slope(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size() || x.size() < 2) fail("slope: needs two or more (x, y) points, got {}", x.size());
  const double mx = mean_of(x), my = mean_of(y);
  double sxy = 0.0, sxx = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  if (sxx == 0.0) fail("slope: every x is {}", mx);
  return sxy / sxx;
}

Slope mean_slope(const std::vector<std::vector<double>>& generations, const std::vector<std::vector<double>>& values) {
  if (generations.size() != values.size()) fail("slope: {} lineages of generations, {} of values", generations.size(), values.size());
  std::vector<double> slopes;
  for (std::size_t s = 0; s < values.size(); ++s) {
    if (values[s].size() >= 2) slopes.push_back(least_squares_slope(generations[s], values[s]));
  }
  Slope r;
  r.seeds = static_cast<std::int64_t>(slopes.size());
  if (slopes.empty()) {
    r.slope = r.ci_low = r.ci_high = kNaN;
    return r;
  }
  r.slope = mean_of(slopes);
  if (slopes.size() < 2) {
    r.ci_low = r.ci_high = kNaN;
    return r;
  }
  const auto n = static_cast<double>(slopes.size());
  const double half = student_t_quantile(0.975, n - 1.0) * std::sqrt(sample_variance(slopes, r.slope) / n);
  r.ci_low = r.slope - half;
  r.ci_high = r.slope + half;
  return r;
}

}  // namespace collapse
