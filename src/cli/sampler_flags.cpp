#include "sampler_flags.h"

#include <CLI/CLI.hpp>
#include <set>
#include <variant>

#include "collapse/util/error.h"
#include "flag_names.h"

namespace collapse::cli {

SamplerConfig SamplerFlags::resolve() const {
  SamplerConfig c = config;
  if (!order.empty()) {
    c.order.clear();
    std::set<SamplerStep> seen;
    const std::string flag = flag_of("order");
    for (const auto& name : CLI::detail::split(order, ',')) {
      const SamplerStep step = parse_sampler_step(CLI::detail::trim_copy(name), flag);
      if (!seen.insert(step).second) fail("{} names '{}' twice", flag, to_string(step));
      c.order.push_back(step);
    }
    // Steps left out keep their default relative order, after the listed ones.
    for (const SamplerStep step : SamplerConfig::default_order()) {
      if (!seen.count(step)) c.order.push_back(step);
    }
  }
  c.validate(flag_of);
  return c;
}

void add_sampler_flags(CLI::App* cmd, const std::shared_ptr<SamplerFlags>& f) {
  const char* group = "Sampler chain (docs/sampling.md)";
  SamplerConfig& c = f->config;
  for (const SamplerSetting& s : sampler_settings()) {
    CLI::Option* option = nullptr;
    if (s.is_order()) {
      std::string defaults;
      for (const SamplerStepInfo& step : sampler_steps()) {
        defaults += (defaults.empty() ? "" : ",") + std::string(step.name);
      }
      option = cmd->add_option(flag_of(s.key), f->order,
                               fmt::format("{} (default {})", s.help, defaults));
    } else {
      if (const auto* number = std::get_if<float SamplerConfig::*>(&s.member)) {
        option = cmd->add_option(flag_of(s.key), c.**number, s.help);
      } else {
        option = cmd->add_option(flag_of(s.key), c.*std::get<std::int64_t SamplerConfig::*>(s.member), s.help);
      }
      option->capture_default_str();
    }
    option->group(group);
  }
}

}  // namespace collapse::cli
