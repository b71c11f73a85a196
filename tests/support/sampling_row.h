// A sampling row that owns its logits and history, for the sampler tests: SamplingRow
// (sampler_chain.h) only views them.
#pragma once

#include <cstdint>
#include <vector>

#include "collapse/generate/sampler_chain.h"

namespace collapse::tests {

struct Row {
  std::vector<float> logits;
  std::vector<std::int32_t> history;
  std::int64_t prompt_length = 0;
  std::int32_t banned = -1;
  SamplingRow view() const { return SamplingRow{logits, history, prompt_length, banned}; }
};

}  // namespace collapse::tests
