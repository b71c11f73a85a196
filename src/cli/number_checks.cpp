#include "number_checks.h"

#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace collapse::cli {

CLI::Validator whole_at_least(long long lo) {
  return CLI::Validator(
      [lo](std::string& text) -> std::string {
        long long value = 0;
        const char* end = text.data() + text.size();
        const auto [rest, ec] = std::from_chars(text.data(), end, value);
        if (ec != std::errc() || rest != end || value > 1'000'000'000'000'000'000LL) {
          return fmt::format("must be a whole number >= {} (at most 10^18), got '{}'", lo, text);
        }
        if (value < lo) return fmt::format("must be a whole number >= {}, got '{}'", lo, text);
        return {};
      },
      fmt::format("INT>={}", lo));
}

CLI::Validator finite_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        const auto [rest, ec] = std::from_chars(text.data(), end, value);
        if (ec != std::errc() || rest != end || !std::isfinite(value)) {
          return fmt::format("must be a finite number, got '{}'", text);
        }
        return {};
      },
      "NUMBER");
}

}  // namespace collapse::cli
