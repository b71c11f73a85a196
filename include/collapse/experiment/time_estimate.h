// How long an experiment will take on this kind of device, before it runs (`collapse run
// --dry-run`): the seconds of each phase (training, valid-loss evaluation, generation, scoring,
// curation), from throughput measured on the same kind of device (benchmarks/RESULTS.md) and the
// work the config asks for. What nobody measured is said to be unknown, never guessed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collapse/experiment/experiment_config.h"

namespace collapse {

// Facts the config alone does not hold; the caller fills in what it knows (the dry run prepares
// the dataset to know them).
struct PlanInputs {
  // "cpu" or "cuda": what device = "auto" resolves to here. Empty: taken from the config's
  // device ("auto" then counts as "cpu" and the plan says so).
  std::string device_kind;
  // The real train split, once the dataset is prepared: resolves documents = "same" and
  // epoch-based step counts.
  std::optional<std::int64_t> real_train_documents;
  std::optional<std::int64_t> real_train_tokens;
  // The other splits' tokens: valid-loss evaluations, test perplexity, the detector's real side.
  std::optional<std::int64_t> valid_tokens;
  std::optional<std::int64_t> test_tokens;
  // Every real train document's length in tokens: the number of real-prefix:K prompts.
  std::vector<std::int64_t> train_document_lengths;
};

// Measured throughput of one model preset on one kind of device, tokens per second per phase.
struct MeasuredThroughput {
  std::string preset;
  std::string device_kind;            // "cpu" | "cuda"
  std::int64_t context = 0;           // measured at this context, vocabulary and batch
  std::int64_t vocab_size = 0;
  std::int64_t batch_size = 0;
  double train_tokens_per_second = 0;    // optimizer steps: forward, backward, AdamW
  // No-grad forward passes and the work around them (valid loss, test perplexity, the scoring
  // suite per forward token); 0 = not measured.
  double forward_tokens_per_second = 0;
  // Decoded tokens, rows x steps, in batches of hundreds of rows; 0 = not measured.
  double decode_tokens_per_second = 0;
  std::string where;                  // the machine and the source
};

// The measurements the estimate uses (copied from benchmarks/RESULTS.md).
const std::vector<MeasuredThroughput>& measured_throughput();

// Forward FLOPs per token of a model shape: 2 x (layer weights + LM head) + attention over the
// context. Rates measured at one shape are scaled by this ratio to another shape of the same
// preset family.
double forward_flops_per_token(const ModelConfig& model);

struct TimeEstimate {
  // Seconds per phase over the whole experiment, in the order they run; unset = not estimable.
  struct Phase {
    std::string name;
    std::optional<double> seconds;
  };
  std::vector<Phase> phases;
  // The total, when every phase is estimable.
  std::optional<double> seconds;
  // Why a phase is not estimable ("generate: preset small on cpu: decoding not measured").
  std::vector<std::string> unknown;
  // The measurements used, and how they were applied, each with the arms it is about.
  std::vector<std::pair<std::string, std::vector<std::string>>> notes;
};

// Generation-0 and oracle trainings that arms share (RUN/shared/) count once per seed.
TimeEstimate estimate_time(const ExperimentConfig& config, const PlanInputs& inputs,
                           const std::string& device_kind);

}  // namespace collapse
