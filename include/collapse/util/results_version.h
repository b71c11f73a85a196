// The results version: which definition of "what a seed produces" a file was made under.
//
// Same seed, same device, same config => same results, but only within one definition. Some
// changes alter what a given seed produces without changing any file format: the sampler's
// uniforms, the order of a floating-point sum. A run resumed across such a change, or a
// generation-0 model reused by settings alone, would silently mix two definitions. So every run
// folder, dataset and shared generation-0 model records the version it was made under, and
// collapse refuses to resume or reuse one made under another version.
//
// Bump kResultsVersion with every change of what a seed produces or of a file format, and add a
// line here and to docs/formats.md ("Results version").
//   1  everything before the version was recorded (no "results_version" key)
//   2  53-bit sampling uniforms (were 23-bit floats: every sampled token can change); NLL as
//      (max - target) + ln(sum) (perplexities change in the last digits)
#pragma once

#include <nlohmann/json.hpp>

namespace collapse {

inline constexpr int kResultsVersion = 2;

// The version a record (a manifest, a run folder's version file) holds under "results_version";
// 1 for records written before versions were recorded.
inline int recorded_results_version(const nlohmann::json& record) {
  if (!record.is_object()) return 1;
  const auto it = record.find("results_version");
  return it != record.end() && it->is_number_integer() ? it->get<int>() : 1;
}

}  // namespace collapse
