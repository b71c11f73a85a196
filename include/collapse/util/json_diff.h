// Names what changed between two settings objects, for errors that refuse a changed request
// ("lr: 0.003 -> 0.001, seed: 1 -> 2").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace collapse {

// Every top-level key of `now` whose value differs from (or is absent in) `before`, as
// "key: old -> new" joined by ", "; empty when nothing differs.
std::string json_differences(const nlohmann::json& before, const nlohmann::json& now);

}  // namespace collapse
