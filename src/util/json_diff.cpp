#include "collapse/util/json_diff.h"

#include <fmt/format.h>

namespace collapse {

std::string json_differences(const nlohmann::json& before, const nlohmann::json& now) {
  std::string out;
  for (const auto& [key, value] : now.items()) {
    const bool known = before.is_object() && before.contains(key);
    if (known && before[key] == value) continue;
    out += fmt::format("{}{}: {} -> {}", out.empty() ? "" : ", ", key,
                       known ? before[key].dump() : "unset", value.dump());
  }
  return out;
}

}  // namespace collapse
