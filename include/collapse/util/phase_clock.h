// Where a piece of work spends its time: wall-clock and process CPU seconds (all threads) per
// named phase, in the order the phases ran. A run records one per generation
// (gen-K/timings.json) so that "where did the hour go?" and the dry run's estimate can be
// checked against what was measured.
#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace collapse {

class PhaseClock {
 public:
  struct Phase {
    std::string name;
    double wall_seconds = 0.0;
    double cpu_seconds = 0.0;
  };

  // Ends the running phase, if any, and starts `name`.
  void start(std::string name);
  // Ends the running phase, if any.
  void stop();
  // The phases ended so far.
  const std::vector<Phase>& phases() const { return phases_; }
  // {"phases": [{"phase", "wall_seconds", "cpu_seconds"}...], "wall_seconds", "cpu_seconds"}.
  nlohmann::json to_json() const;

 private:
  std::vector<Phase> phases_;
  bool running_ = false;
  std::string name_;
  std::chrono::steady_clock::time_point wall_start_{};
  std::clock_t cpu_start_ = 0;
};

}  // namespace collapse
