// An experiment config (experiment_config.h), read through the whole schema as `collapse run`
// reads it: TOML, every key's type and range, arms and their overrides, the paths it names. A
// config that is accepted is written back as resolved TOML (what RUN/experiment.toml holds), and
// that text must read back to the same config.
#include "collapse/experiment/experiment_config.h"
#include "collapse/util/error.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string resolved;
  try {
    resolved = collapse::resolved_toml(collapse::parse_experiment(text, "fuzz/exp.toml"));
  } catch (const collapse::Error&) {
    return 0;
  }
  try {
    if (collapse::resolved_toml(collapse::parse_experiment(resolved, "fuzz/exp.toml")) != resolved) __builtin_trap();
  } catch (const collapse::Error&) {
    __builtin_trap();  // collapse wrote a config it cannot read back
  }
  return 0;
}
