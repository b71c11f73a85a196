// How a caller names its settings in messages. Library code checks a setting by its key
// ("max_tokens", "top_p") and asks the caller's SettingNames for the words to print: the CLI
// answers with its flag ("--max-tokens"), an experiment with the key in its file
// ("exp.toml: [generate] max_tokens"). A message then names the setting the way the user wrote
// it, and no library code spells a flag.
#pragma once

#include <functional>
#include <string>

namespace collapse {

using SettingNames = std::function<std::string(const std::string& key)>;

// The key itself, for callers without names of their own (tests, internal calls).
inline std::string setting_key(const std::string& key) { return key; }

}  // namespace collapse
