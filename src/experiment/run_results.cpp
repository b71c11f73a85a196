#include "collapse/experiment/run_results.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <tuple>

#include "collapse/score/metric_catalog.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/file_lock.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kHeader = "experiment,arm,seed,generation,metric,value";

bool name_chars(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

bool parse_unsigned(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  out = std::stoull(s);
  return true;
}

bool parse_value(const std::string& s, double& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE;
}

// "seed-12" -> 12 (strict: digits only after the prefix).
bool numbered(const std::string& name, const std::string& prefix, std::uint64_t& out) {
  return name.starts_with(prefix) && parse_unsigned(name.substr(prefix.size()), out);
}

std::string csv_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.17g}", v);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

fs::path generation_dir(const fs::path& run, const std::string& arm, std::uint64_t seed,
                        std::int64_t generation) {
  return run / arm / ("seed-" + std::to_string(seed)) / ("gen-" + std::to_string(generation));
}

bool generation_finished(const fs::path& dir) { return fs::exists(dir / "DONE"); }

json read_generation_json(const fs::path& file) {
  try {
    return json::parse(read_file(file));
  } catch (const json::exception& e) {
    fail("{}: corrupt JSON ({}); remove this generation's folder to redo it", file.string(), e.what());
  }
}

void write_metrics_tables(const ExperimentConfig& config, const fs::path& run) {
  FileLock lock(run / ".lock-metrics");
  std::string csv = std::string(kHeader) + "\n", jsonl;
  for (const auto& arm : config.arms) {
    for (const std::uint64_t seed : arm.settings.seeds) {
      for (std::int64_t k = 0; k < arm.settings.generations; ++k) {
        const fs::path dir = generation_dir(run, arm.name, seed, k);
        if (!generation_finished(dir)) continue;
        const json record = read_generation_json(dir / "metrics.json");
        const json& m = record.at("metrics");
        std::vector<std::string> names;
        for (const auto& [name, value] : m.items()) names.push_back(name);
        sort_metric_names(names);
        for (const auto& n : names) {
          const double v = m[n].is_number() ? m[n].get<double>() : std::nan("");
          csv += fmt::format("{},{},{},{},{},{}\n", csv_field(config.name), csv_field(arm.name), seed,
                             k, n, csv_value(v));
          jsonl += json({{"experiment", config.name}, {"arm", arm.name}, {"seed", seed}, {"generation", k},
                         {"metric", n}, {"value", m[n]}}).dump() + "\n";
        }
      }
    }
  }
  write_file_atomic(run / "metrics.csv", csv);
  write_file_atomic(run / "metrics.jsonl", jsonl);
}

std::vector<MetricRow> read_metrics_csv(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open the metrics file", file.string());
  std::vector<MetricRow> rows;
  std::string line;
  std::int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      if (line != kHeader) {
        fail("{}:1: the header must be '{}', got '{}'", file.string(), kHeader, line.substr(0, 80));
      }
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
      const auto comma = line.find(',', start);
      fields.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    const std::string where = fmt::format("{}:{}", file.string(), number);
    if (fields.size() != 6) {
      fail("{}: expected 6 comma-separated fields ({}), got {}", where, kHeader, fields.size());
    }
    MetricRow row;
    row.experiment = fields[0];
    row.arm = fields[1];
    row.metric = fields[4];
    if (!name_chars(row.experiment)) fail("{}: bad experiment name '{}'", where, row.experiment);
    if (!name_chars(row.arm)) fail("{}: bad arm name '{}'", where, row.arm);
    std::uint64_t generation = 0;
    if (!parse_unsigned(fields[2], row.seed)) {
      fail("{}: seed must be a non-negative integer, got '{}'", where, fields[2]);
    }
    if (!parse_unsigned(fields[3], generation) || generation > 1000000) {
      fail("{}: generation must be a non-negative integer, got '{}'", where, fields[3]);
    }
    row.generation = static_cast<std::int64_t>(generation);
    if (!name_chars(row.metric)) fail("{}: bad metric name '{}'", where, row.metric);
    if (!parse_value(fields[5], row.value)) {
      fail("{}: value must be a number, got '{}'", where, fields[5]);
    }
    rows.push_back(std::move(row));
  }
  if (in.bad()) fail("{}: read error", file.string());
  if (number == 0) fail("{}:1: the file is empty (expected the header '{}')", file.string(), kHeader);
  return rows;
}

const FinishedGeneration* RunResults::find(const std::string& arm, std::uint64_t seed,
                                           std::int64_t generation) const {
  for (const FinishedGeneration& g : finished) {
    if (g.arm == arm && g.seed == seed && g.generation == generation) return &g;
  }
  return nullptr;
}

std::vector<std::int64_t> RunResults::generations(const std::string& arm) const {
  std::vector<std::int64_t> out;
  for (const FinishedGeneration& g : finished) {
    if (g.arm == arm) out.push_back(g.generation);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::uint64_t> RunResults::seeds(const std::string& arm) const {
  std::vector<std::uint64_t> out;
  for (const FinishedGeneration& g : finished) {
    if (g.arm == arm) out.push_back(g.seed);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<double> RunResults::values(const std::string& arm, std::int64_t generation,
                                       const std::string& metric) const {
  std::vector<double> out;
  for (const MetricRow& r : rows) {
    if (r.arm == arm && r.generation == generation && r.metric == metric) out.push_back(r.value);
  }
  return out;
}

RunResults load_run(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail("{}: no such run folder", dir.string());
  RunResults run;
  run.dir = dir;
  const fs::path config_file = dir / "experiment.toml";
  if (!fs::is_regular_file(config_file)) {
    fail("{}: not found (is {} a run folder of `collapse run`?)", config_file.string(),
         dir.string());
  }
  run.config = load_experiment(config_file);
  const fs::path csv = dir / "metrics.csv";
  if (!fs::is_regular_file(csv)) {
    fail("{}: not found (no generation has finished yet, or {} is not a run folder)",
         csv.string(), dir.string());
  }
  std::vector<MetricRow> rows = read_metrics_csv(csv);

  for (const ArmConfig& arm : run.config.arms) run.arms.push_back(arm.name);
  for (const MetricRow& r : rows) {
    if (r.experiment != run.config.name) {
      fail("{}: a row of experiment '{}' in the run of '{}' (experiment.toml)", csv.string(),
           r.experiment, run.config.name);
    }
    if (std::find(run.arms.begin(), run.arms.end(), r.arm) == run.arms.end()) {
      run.arms.push_back(r.arm);
    }
  }

  // Finished generations: RUN/<arm>/seed-<s>/gen-<k>/DONE.
  for (const std::string& arm : run.arms) {
    const fs::path arm_dir = dir / arm;
    if (!fs::is_directory(arm_dir)) continue;
    std::vector<FinishedGeneration> found;
    for (const auto& seed_entry : fs::directory_iterator(arm_dir)) {
      std::uint64_t seed = 0;
      if (!seed_entry.is_directory() || !numbered(seed_entry.path().filename().string(), "seed-", seed)) {
        continue;
      }
      for (const auto& gen_entry : fs::directory_iterator(seed_entry.path())) {
        std::uint64_t generation = 0;
        if (!gen_entry.is_directory() ||
            !numbered(gen_entry.path().filename().string(), "gen-", generation) ||
            !generation_finished(gen_entry.path())) {
          continue;
        }
        FinishedGeneration g{arm, seed, static_cast<std::int64_t>(generation), gen_entry.path(),
                             json()};
        const fs::path metrics = gen_entry.path() / "metrics.json";
        if (fs::exists(metrics)) {
          std::ifstream in(metrics, std::ios::binary);
          g.metrics = json::parse(in, nullptr, /*allow_exceptions=*/false);
          if (!g.metrics.is_object()) {
            fail("{}: not a JSON object (a finished generation's metrics.json must be whole)",
                 metrics.string());
          }
        }
        found.push_back(std::move(g));
      }
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return std::tie(a.seed, a.generation) < std::tie(b.seed, b.generation);
    });
    for (auto& g : found) run.finished.push_back(std::move(g));
  }

  // Rows of finished generations; the last of repeated rows wins.
  std::map<std::tuple<std::string, std::uint64_t, std::int64_t, std::string>, std::size_t> index;
  for (MetricRow& r : rows) {
    if (!run.find(r.arm, r.seed, r.generation)) {
      ++run.unfinished_rows;
      continue;
    }
    const auto key = std::make_tuple(r.arm, r.seed, r.generation, r.metric);
    if (const auto it = index.find(key); it != index.end()) {
      run.rows[it->second] = std::move(r);
    } else {
      index.emplace(key, run.rows.size());
      run.rows.push_back(std::move(r));
    }
  }
  for (const MetricRow& r : run.rows) {
    if (std::find(run.metrics.begin(), run.metrics.end(), r.metric) == run.metrics.end()) {
      run.metrics.push_back(r.metric);
    }
  }
  sort_metric_names(run.metrics);
  return run;
}

}  // namespace collapse
