// A run's TensorBoard events, two TensorBoard runs per lineage (arm and seed), so that every
// chart overlays the arms and seeds (docs/experiments.md, "Watching a run"):
//   RUN/tensorboard/<arm>/seed-<s>/training/     step = optimizer steps along the lineage:
//       train/loss, train/lr, train/grad_norm, train/tokens_per_second   every step
//       valid/loss                                                        every evaluation
//   RUN/tensorboard/<arm>/seed-<s>/oracle/       the oracle verifier's training (oracle/...)
//   RUN/tensorboard/<arm>/seed-<s>/generations/  step = generation:
//       metrics/<name>    every metric of the generation's metrics.json
//       config (text)     the resolved config
// Generation k's training step s is step s + (steps trained by generations 0..k-1), so the
// curves of successive generations follow each other. Each process writes its own files, and
// begins each with a SessionLog START at the first step it writes: a reader then drops what a
// killed process wrote from that step on, and a resumed generation's steps replace it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "collapse/util/event_file.h"

namespace collapse {

struct StepReport;

class RunEvents {
 public:
  // Writes nothing when `enabled` is false ([report] tensorboard = false). Files are created on
  // the first event, so a lineage this process only reuses gets none.
  RunEvents(std::filesystem::path lineage_dir, std::string config_text, bool enabled);

  // One optimizer step of a training at `offset` steps along the lineage; `prefix` "train" or "oracle".
  void step(const std::string& prefix, std::int64_t offset, const StepReport& report);
  // The steps of a training this process did not run (a shared generation-0 model), from its
  // train_log.jsonl: loss and lr where logged, valid loss at each evaluation.
  void replay(const std::string& prefix, std::int64_t offset, const std::filesystem::path& train_log);
  // Generation k's metrics ({"name": value}), step k.
  void metrics(std::int64_t generation, const nlohmann::json& metrics);

 private:
  // The run of a training: "training" for the generations, "oracle" for the oracle verifier.
  EventFileWriter& training(const std::string& prefix, std::int64_t first_step);
  EventFileWriter& generations(std::int64_t first_step);
  std::filesystem::path dir_;
  std::string config_text_;
  bool enabled_;
  std::map<std::string, std::unique_ptr<EventFileWriter>> trainings_;
  std::unique_ptr<EventFileWriter> generations_;
};

// The optimizer steps a training run folder's train_log.jsonl records (its largest step).
std::int64_t logged_steps(const std::filesystem::path& train_log);

}  // namespace collapse
