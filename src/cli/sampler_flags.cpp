#include "sampler_flags.h"

#include <CLI/CLI.hpp>
#include <set>

#include "collapse/util/error.h"

namespace collapse::cli {

SamplerConfig SamplerFlags::resolve() const {
  SamplerConfig c = config;
  if (!order.empty()) {
    c.order.clear();
    std::set<SamplerStep> seen;
    for (const auto& name : CLI::detail::split(order, ',')) {
      const SamplerStep step = parse_sampler_step(CLI::detail::trim_copy(name), "--sampler-order");
      if (!seen.insert(step).second) fail("--sampler-order names '{}' twice", to_string(step));
      c.order.push_back(step);
    }
    // Steps left out keep their default relative order, after the listed ones.
    for (const SamplerStep step : SamplerConfig::default_order()) {
      if (!seen.count(step)) c.order.push_back(step);
    }
  }
  c.validate();
  return c;
}

void add_sampler_flags(CLI::App* cmd, const std::shared_ptr<SamplerFlags>& f) {
  const char* group = "Sampler chain (docs/sampling.md)";
  SamplerConfig& c = f->config;
  cmd->add_option("--temperature", c.temperature, "softmax temperature; 0 = greedy")
      ->group(group)->capture_default_str();
  cmd->add_option("--top-k", c.top_k, "keep the k most likely tokens; 0 = off")
      ->group(group)->capture_default_str();
  cmd->add_option("--top-p", c.top_p, "nucleus: smallest set with this much mass; 1 = off")
      ->group(group)->capture_default_str();
  cmd->add_option("--min-p", c.min_p, "keep tokens with p >= min_p * max p; 0 = off")
      ->group(group)->capture_default_str();
  cmd->add_option("--typical-p", c.typical_p, "locally typical sampling mass; 1 = off")
      ->group(group)->capture_default_str();
  cmd->add_option("--repetition-penalty", c.repetition_penalty,
                  "Hugging Face repetition penalty over the whole sequence; 1 = off")
      ->group(group)->capture_default_str();
  cmd->add_option("--presence-penalty", c.presence_penalty,
                  "subtracted once from tokens already generated; 0 = off")
      ->group(group)->capture_default_str();
  cmd->add_option("--frequency-penalty", c.frequency_penalty,
                  "subtracted per occurrence in the generated tokens; 0 = off")
      ->group(group)->capture_default_str();
  cmd->add_option("--sampler-order", f->order,
                  "order of the steps, comma-separated, e.g. temperature,min_p (default "
                  "repetition_penalty,penalties,temperature,top_k,top_p,min_p,typical_p)")
      ->group(group);
  cmd->add_option("--beams", c.beams, "beam search with this many beams instead of sampling")
      ->group(group)->capture_default_str();
  cmd->add_option("--length-penalty", c.length_penalty,
                  "beam score = sum log p / length^length_penalty")
      ->group(group)->capture_default_str();
}

}  // namespace collapse::cli
