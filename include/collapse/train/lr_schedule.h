// Learning-rate schedule: linear warmup, then cosine decay to a floor.
#pragma once

#include <cstdint>

namespace collapse {

struct LrSchedule {
  double peak = 3e-3;
  double floor_ratio = 0.1;    // final lr = peak * floor_ratio
  std::int64_t warmup = 0;     // steps of linear warmup
  std::int64_t total = 1;      // steps in the run

  // lr for step s (0-based): peak * (s + 1) / warmup during warmup, then
  // floor + (peak - floor) * (1 + cos(pi * progress)) / 2 with progress = (s - warmup) /
  // max(1, total - warmup - 1), reaching the floor at the last step.
  double at(std::int64_t step) const;
};

}  // namespace collapse
