// UTF-8 validation: corpora must be valid UTF-8, and errors name the byte offset at fault.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace collapse {

// Byte offset of the first byte that does not start or continue a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points above U+10FFFF are ill-formed), or nullopt.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

}  // namespace collapse
