#include "collapse/report/confidence.h"

#include <array>
#include <cmath>
#include <limits>

#include "collapse/util/error.h"

namespace collapse {

namespace {

// t_{0.975, dof} for dof = 1..30.
constexpr std::array<double, 30> kT = {
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};

struct Knot {
  double dof, t;
};
constexpr std::array<Knot, 5> kTail = {{{30, 2.0423}, {40, 2.0211}, {60, 2.0003}, {120, 1.9799},
                                        {std::numeric_limits<double>::infinity(), 1.95996}}};

}  // namespace

double t_critical_95(std::int64_t dof) {
  if (dof < 1) fail("t_critical_95: degrees of freedom must be >= 1, got {}", dof);
  if (dof <= 30) return kT[static_cast<std::size_t>(dof - 1)];
  const double inv = 1.0 / static_cast<double>(dof);
  for (std::size_t i = 0; i + 1 < kTail.size(); ++i) {
    const double a = 1.0 / kTail[i].dof, b = 1.0 / kTail[i + 1].dof;  // a > b
    if (inv <= a && inv >= b) {
      return kTail[i + 1].t + (kTail[i].t - kTail[i + 1].t) * (inv - b) / (a - b);
    }
  }
  return kTail.back().t;
}

MeanCI mean_ci95(std::span<const double> values) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  MeanCI r;
  double sum = 0.0;
  for (double v : values) {
    if (std::isfinite(v)) sum += v, ++r.n;
  }
  if (r.n == 0) return {0, kNaN, kNaN, kNaN};
  r.mean = sum / static_cast<double>(r.n);
  if (r.n < 2) {
    r.sd = r.half_width = kNaN;
    return r;
  }
  double squares = 0.0;
  for (double v : values) {
    if (std::isfinite(v)) squares += (v - r.mean) * (v - r.mean);
  }
  r.sd = std::sqrt(squares / static_cast<double>(r.n - 1));
  r.half_width = t_critical_95(r.n - 1) * r.sd / std::sqrt(static_cast<double>(r.n));
  return r;
}

}  // namespace collapse
