#include "collapse/util/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace collapse {

namespace {
constexpr double kLiveInterval = 0.2;   // seconds between live redraws
constexpr double kPlainInterval = 10.0; // seconds between plain log lines
}  // namespace

bool Progress::live() {
  static const bool is_live = [] {
    if (const char* mode = std::getenv("COLLAPSE_PROGRESS")) {
      if (std::strcmp(mode, "live") == 0) return true;
      if (std::strcmp(mode, "plain") == 0) return false;
    }
    return ::isatty(STDERR_FILENO) == 1;
  }();
  return is_live;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && live() && done_ > 0) std::fputc('\n', stderr);
}

void Progress::update(std::int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  // The first report is shown at once (a long job says it started), later ones at the interval.
  const bool first = !printed_;
  if (first || since >= (live() ? kLiveInterval : kPlainInterval)) {
    last_print_ = now;
    printed_ = true;
    print(false);
  }
}

void Progress::finish(const std::string& status) {
  if (!status.empty()) status_ = status;
  if (total_ > 0) done_ = std::max(done_, total_);
  print(true);
  finished_ = true;
}

void Progress::print(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = label_;
  if (total_ > 0) {
    const double fraction = static_cast<double>(done_) / static_cast<double>(total_);
    line += fmt::format(" {:>3.0f}% {}/{} {}", 100.0 * fraction, done_, total_, unit_);
    if (!final && done_ > 0) {
      line += fmt::format(" eta {}", format_duration(elapsed * (1.0 - fraction) / fraction));
    }
  }
  if (!status_.empty()) line += " | " + status_;
  line += fmt::format(" | {}", format_duration(elapsed));
  if (live()) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace collapse
