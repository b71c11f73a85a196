// Unicode regular expressions (PCRE2 with UTF and Unicode properties, JIT-compiled where the
// platform allows). Tokenizer files carry patterns written for Oniguruma and Rust's regex crate
// (\p{L}, \p{N}, look-ahead, (?i:...)); PCRE2 reads that syntax.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace collapse {

struct TextRange {
  std::size_t begin = 0, end = 0;  // byte offsets, [begin, end)
  bool operator==(const TextRange&) const = default;
};

class Regex {
 public:
  // Throws Error naming `what` (e.g. "tokenizer.json: pre_tokenizer.pattern.Regex"), the pattern
  // and PCRE2's message when the pattern does not compile.
  Regex(std::string_view pattern, std::string_view what);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Non-overlapping matches, left to right, as Rust's and Oniguruma's iterators report them: an
  // empty match where the previous match ended is skipped, and after an empty match the search
  // resumes one character further on. ^ and $ match at line boundaries (LF), as in Oniguruma's
  // Ruby syntax; \A and \z at the text's ends. `text` must be valid UTF-8.
  std::vector<TextRange> find_all(std::string_view text) const;
  // Whether the pattern matches somewhere in `text`.
  bool search(std::string_view text) const;
  // The first match, if any.
  std::optional<TextRange> find(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string pattern_;
};

}  // namespace collapse
