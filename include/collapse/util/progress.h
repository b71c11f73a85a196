// Progress display for long work: a live line on a terminal (\r-updated), plain periodic lines
// otherwise (logs, CI). Written to stderr so stdout stays machine-readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace collapse {

class Progress {
 public:
  // `total` units of work (0 when unknown); `unit` names them ("docs", "steps").
  Progress(std::string label, std::int64_t total, std::string unit);
  ~Progress();  // finishes the line if still open

  // Reports `done` units so far and an optional free-form status ("loss 3.21").
  void update(std::int64_t done, const std::string& status = "");
  // Prints the final line.
  void finish(const std::string& status = "");

  // Whether stderr is a terminal (decided once; COLLAPSE_PROGRESS=plain|live overrides).
  static bool live();

 private:
  void print(bool final);
  std::string label_, unit_, status_;
  std::int64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_print_;
  bool finished_ = false;
  bool printed_ = false;
};

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace collapse
