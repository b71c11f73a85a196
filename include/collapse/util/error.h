// The one exception type of collapse. Its message is a single line that names the file, key or
// value at fault and says what to do; the CLI catches it once and prints it.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace collapse {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws collapse::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace collapse
