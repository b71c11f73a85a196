// Unicode text operations tokenizers need beyond UTF-8 validation (utf8.h): normalization forms
// and general categories (both from utf8proc), code point iteration, and lossy decoding of bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace collapse {

enum class NormalForm { nfc, nfd, nfkc, nfkd };

// `text` (valid UTF-8) in the normal form.
std::string unicode_normalize(std::string_view text, NormalForm form);

// The length in bytes of the UTF-8 sequence a lead byte starts (1 to 4; valid UTF-8 assumed).
inline std::size_t utf8_sequence_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// The code point starting at byte `i` of valid UTF-8 `text`; `i` moves past it.
char32_t next_code_point(std::string_view text, std::size_t& i);
void append_utf8(std::string& out, char32_t code_point);

// The code point ending just before byte `i` of valid UTF-8 `text` (i > 0); `i` moves to its start.
char32_t previous_code_point(std::string_view text, std::size_t& i);

// Unicode general category N (Nd, Nl, No): Rust's char::is_numeric.
bool is_numeric(char32_t code_point);
// The White_Space property: Rust's char::is_whitespace and regex \s.
bool is_whitespace(char32_t code_point);
// A word character as Rust's regex \w sees it: letters, marks, Nd, Nl, Pc, ZWNJ and ZWJ.
bool is_word_character(char32_t code_point);

// `bytes` as UTF-8 with every maximal ill-formed subsequence replaced by one U+FFFD, the rule of
// Unicode's "substitution of maximal subparts" (Rust's String::from_utf8_lossy, Python's
// bytes.decode(errors="replace")).
std::string utf8_lossy(std::string_view bytes);

}  // namespace collapse
