#include "collapse/data/byte_level.h"

#include <array>

#include "collapse/util/unicode.h"

namespace collapse {

namespace {

struct Alphabet {
  std::array<std::string, 256> chars;
  std::array<char32_t, 256> code_points{};
  Alphabet() {
    // Bytes that are printable stay themselves; the others take U+0100, U+0101, ... in byte order.
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      code_points[b] = printable(b) ? static_cast<char32_t>(b) : next++;
      append_utf8(chars[b], code_points[b]);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

const std::string& byte_level_char(std::uint8_t byte) { return alphabet().chars[byte]; }

std::optional<std::uint8_t> byte_level_byte(char32_t c) {
  // The alphabet is U+0021..U+00FF (less the 68 shifted bytes) and U+0100..U+0143.
  if (c >= 0x100 && c < 0x100 + 68) {
    static const std::array<std::uint8_t, 68> shifted = [] {
      std::array<std::uint8_t, 68> s{};
      for (int b = 0; b < 256; ++b) {
        const char32_t cp = alphabet().code_points[b];
        if (cp >= 0x100) s[cp - 0x100] = static_cast<std::uint8_t>(b);
      }
      return s;
    }();
    return shifted[c - 0x100];
  }
  if (c < 256 && alphabet().code_points[c] == c) return static_cast<std::uint8_t>(c);
  return std::nullopt;
}

std::string to_byte_level(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) out += byte_level_char(static_cast<std::uint8_t>(c));
  return out;
}

}  // namespace collapse
