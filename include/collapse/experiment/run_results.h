// A run folder of `collapse run`: where its generations live, the tidy metrics tables it keeps, and
// the folder as `collapse report` reads it (docs/report.md):
//
//   RUN/experiment.toml                       the resolved config (experiment_config.h)
//   RUN/metrics.csv                           experiment,arm,seed,generation,metric,value
//   RUN/<arm>/seed-<s>/gen-<k>/DONE           marks a finished generation
//   RUN/<arm>/seed-<s>/gen-<k>/metrics.json   {"metrics": {...}, "histograms": {...},
//                                              "rank_frequency": {...}, ...}
//   RUN/<arm>/seed-<s>/gen-<k>/samples        the synthetic documents (samples_file.h), optional
//
// Only finished generations count: rows of metrics.csv whose generation has no DONE marker are
// left out (a run killed between writing its metrics and its marker redoes that generation).
// Any subset of arms, seeds and generations may have finished.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/experiment/experiment_config.h"

namespace collapse {

// RUN/<arm>/seed-<s>/gen-<k>
std::filesystem::path generation_dir(const std::filesystem::path& run, const std::string& arm,
                                     std::uint64_t seed, std::int64_t generation);
// Whether the generation in `dir` finished: its DONE marker exists.
bool generation_finished(const std::filesystem::path& dir);
// A JSON file of a generation (metrics.json, curated.json); a corrupt one is an Error saying to
// redo the generation.
nlohmann::json read_generation_json(const std::filesystem::path& file);

// Rewrites RUN/metrics.csv and RUN/metrics.jsonl from the metrics.json of every finished generation
// of the config's arms and seeds: one row per (arm, seed, generation, metric), metrics in catalog
// order (metric_catalog.h). Under the lock RUN/.lock-metrics, so that several `collapse run --arm`
// processes may share a run folder.
void write_metrics_tables(const ExperimentConfig& config, const std::filesystem::path& run);

struct MetricRow {
  std::string experiment;
  std::string arm;
  std::uint64_t seed = 0;
  std::int64_t generation = 0;
  std::string metric;
  double value = 0.0;  // may be NaN or infinite ("nan", "inf" in the file)
};

// Reads a tidy metrics.csv: the header line "experiment,arm,seed,generation,metric,value", then
// one row per line. Errors name the file and line: a wrong header, a wrong number of fields, a
// seed or generation that is not a non-negative integer, a value that is not a number, a bad
// arm or metric name.
std::vector<MetricRow> read_metrics_csv(const std::filesystem::path& file);

struct FinishedGeneration {
  std::string arm;
  std::uint64_t seed = 0;
  std::int64_t generation = 0;
  std::filesystem::path dir;   // RUN/<arm>/seed-<s>/gen-<k>
  nlohmann::json metrics;      // metrics.json; null when the file is absent
};

struct RunResults {
  std::filesystem::path dir;
  ExperimentConfig config;
  std::vector<std::string> arms;             // the config's arms, then others found in metrics.csv
  std::vector<FinishedGeneration> finished;  // by arm (in `arms` order), seed, generation
  std::vector<MetricRow> rows;               // of finished generations; a repeated
                                             // (arm, seed, generation, metric) keeps the last row
  std::int64_t unfinished_rows = 0;          // rows left out: their generation has no DONE
  std::vector<std::string> metrics;          // every metric name in `rows`, report order

  const FinishedGeneration* find(const std::string& arm, std::uint64_t seed,
                                 std::int64_t generation) const;
  // Finished generations of an arm (any seed), ascending.
  std::vector<std::int64_t> generations(const std::string& arm) const;
  // Seeds of an arm with at least one finished generation, ascending.
  std::vector<std::uint64_t> seeds(const std::string& arm) const;
  // The metric's values over the seeds that finished (arm, generation).
  std::vector<double> values(const std::string& arm, std::int64_t generation,
                             const std::string& metric) const;
};

// Reads RUN. Errors (one line, naming the file): RUN/experiment.toml or RUN/metrics.csv missing
// or invalid, a metrics.json that is not a JSON object, metrics.csv rows of another experiment.
RunResults load_run(const std::filesystem::path& dir);

}  // namespace collapse
