// How the `collapse` command names settings: its flags. Library code names a setting by its key
// (util/setting_names.h); a command turns keys into flags here, so messages from any layer speak of
// the flag the user typed.
#pragma once

#include <string>

namespace collapse::cli {

// The flag of a setting key: "max_tokens" -> "--max-tokens". The sampler's "order" is
// --sampler-order (an `--order` alone would not say of what).
std::string flag_of(const std::string& key);

}  // namespace collapse::cli
