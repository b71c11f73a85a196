// The sampler-chain flags, shared by every command that samples (generate; run's config mirrors
// the same names).
#pragma once

#include <memory>
#include <string>

#include "collapse/generate/sampler_chain.h"

namespace CLI {
class App;
}

namespace collapse::cli {

struct SamplerFlags {
  SamplerConfig config;
  std::string order;  // comma-separated step names; empty = the default order

  // The config with --sampler-order applied, validated (Error naming the flag at fault).
  SamplerConfig resolve() const;
};

void add_sampler_flags(CLI::App* cmd, const std::shared_ptr<SamplerFlags>& flags);

}  // namespace collapse::cli
