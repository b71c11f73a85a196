// The work an experiment asks for, before any of it runs (`collapse run --dry-run`): arms x
// seeds x generations, the tokens each generation trains on and generates, and a rough time
// estimate from measured training throughput (benchmarks/RESULTS.md) where one exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collapse/experiment/experiment_config.h"

namespace collapse {

// Facts the config alone does not hold; the caller fills in what it knows.
struct PlanInputs {
  // "cpu" or "cuda": what device = "auto" resolves to here. Empty: taken from the config's
  // device ("auto" then counts as "cpu" and the plan says so).
  std::string device_kind;
  // The real train split, once the dataset is prepared: resolves documents = "same" and
  // epoch-based step counts.
  std::optional<std::int64_t> real_train_documents;
  std::optional<std::int64_t> real_train_tokens;
};

// Measured training throughput, tokens per second, of one model preset on one kind of device.
struct TrainThroughput {
  std::string preset;
  std::string device_kind;        // "cpu" | "cuda"
  double tokens_per_second = 0;   // full optimizer steps: forward, backward, AdamW
  std::int64_t batch_size = 0;    // measured at this batch x context, this vocabulary
  std::int64_t context = 0;
  std::int64_t vocab_size = 0;
  std::string where;              // the machine and the source, e.g. "2-core x86-64 CPU, ..."
};

// The measured numbers the estimate uses (copied from benchmarks/RESULTS.md; empty for a
// device kind nobody measured yet).
const std::vector<TrainThroughput>& measured_train_throughput();

// A readable multi-line plan. Estimates are labelled as such and name the measurement they come
// from; what was never measured (generation, scoring, GPUs without numbers) is said to be so,
// not guessed.
std::string work_plan(const ExperimentConfig& config, const PlanInputs& inputs = {});

}  // namespace collapse
