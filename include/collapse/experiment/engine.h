// The experiment engine: `collapse run exp.toml`. For each arm and seed, generations 0..G-1:
//   1. the training set (mixer.h): real data only for generation 0; then per the regime, from the
//      curated synthetic corpora of earlier generations and the retained / fresh real documents;
//      recorded in train_set.json
//   2. train (trainer.h): from scratch, from the generation-0 model or from the previous one;
//      best checkpoint by the real valid loss
//   3. generate the generation's synthetic corpus (generator.h) with the arm's sampler
//   4. score (scoring.h): real test perplexity of the new model; the synthetic corpus's
//      diversity suite and its per-document perplexity / precision / recall under the
//      generation-0 model; metrics.json
//   5. curate the synthetic corpus for the generations that will train on it (curation.h):
//      best-of-k, perplexity filter, exact / MinHash de-duplication; curated.json
//   6. DONE, written last. metrics.csv / metrics.jsonl are rebuilt from every finished generation
//      (run_results.h).
//
// Run directory (docs/experiments.md):
//   RUN/experiment.toml                    the resolved config; a later run with another config
//                                          is refused with the keys that differ
//   RUN/data/                              the prepared dataset (collapse prepare)
//   RUN/<arm>/seed-<s>/gen-<k>/            train_set.json, train.tok, model/, samples/,
//                                          metrics.json, curated.json, timings.json (wall and
//                                          CPU seconds per phase: measurements, not results), DONE
//   RUN/metrics.csv, RUN/metrics.jsonl     every finished generation's metrics, tidy
//   RUN/report.html                        collapse report
// Resume: running again continues; finished generations (DONE) are reused untouched, an
// unfinished one is removed and redone from its start. Every file is written atomically. On the
// CPU the same config gives the same metrics.csv whether or not the run was interrupted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "collapse/experiment/experiment_config.h"
#include "collapse/experiment/time_estimate.h"
#include "collapse/util/setting_names.h"

namespace collapse {

struct RunOptions {
  std::filesystem::path out;            // the run directory
  std::optional<std::string> arm;       // only this arm
  std::optional<std::uint64_t> seed;    // only this seed
  // How the caller names these options in messages (the CLI: --out, --seed).
  SettingNames names = setting_key;
};

struct RunSummary {
  std::int64_t generations_done = 0;    // run now
  std::int64_t generations_reused = 0;  // already finished
};

// The default run directory of a config: runs/<name>.
std::filesystem::path default_run_dir(const ExperimentConfig& config);

RunSummary run_experiment(const ExperimentConfig& config, const RunOptions& options);

// What the dry run's plan needs from the dataset (split sizes, train document lengths): read from
// RUN/data when the run folder holds it already, else prepared in a temporary folder that is
// removed again (seconds: a tokenizer is trained), so the dry run leaves nothing behind.
PlanInputs plan_inputs(const ExperimentConfig& config, const std::filesystem::path& run,
                       const SettingNames& names = setting_key);

}  // namespace collapse
