// GPT-2's byte-level alphabet: every byte is shown as a printable character (printable ASCII and
// Latin-1 as themselves, the other 68 bytes as U+0100 onwards), so a BPE over these characters
// covers any byte string. The ByteLevel pre-tokenizer maps text into it, its decoder maps back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace collapse {

// The UTF-8 of the character that stands for each byte.
const std::string& byte_level_char(std::uint8_t byte);
// The byte a character stands for, or nothing for a character outside the alphabet.
std::optional<std::uint8_t> byte_level_byte(char32_t c);
// `text`'s bytes, each as its character.
std::string to_byte_level(std::string_view text);

}  // namespace collapse
