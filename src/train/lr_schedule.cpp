#include "collapse/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace collapse {

double LrSchedule::at(std::int64_t step) const {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double floor = peak * floor_ratio;
  const double span = static_cast<double>(std::max<std::int64_t>(1, total - warmup - 1));
  const double progress = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace collapse
