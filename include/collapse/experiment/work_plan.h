// The work an experiment asks for, before any of it runs (`collapse run --dry-run`): arms x
// seeds x generations, the tokens each generation trains on and generates, and the time
// estimate of every phase (time_estimate.h) where the throughput was measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collapse/experiment/experiment_config.h"
#include "collapse/experiment/time_estimate.h"

namespace collapse {

// A readable multi-line plan. Estimates are labelled as such and name the measurement they come
// from; what was never measured (generation, scoring, GPUs without numbers) is said to be so,
// not guessed.
std::string work_plan(const ExperimentConfig& config, const PlanInputs& inputs = {});

}  // namespace collapse
