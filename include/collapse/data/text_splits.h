// What a tokenizer.json pipeline carries between its stages: the text cut into splits, each
// either an added token already decided or text still to be normalized, cut and tokenized; and
// the patterns and behaviours its Split, Replace and Digits steps cut with.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collapse/util/json_path.h"
#include "collapse/util/named.h"
#include "collapse/util/regex.h"

namespace collapse {

// The largest token id read from a tokenizer file: far above any real vocabulary (Gemma's is
// 262,144), low enough that a table indexed by id stays affordable.
inline constexpr std::int32_t kMaxTokenId = (1 << 24) - 1;

struct TextSplit {
  std::string text;
  std::int32_t token = -1;  // >= 0: an added token's id, which the later stages leave alone
  bool at_origin = false;   // starts at byte 0 of the encoded text (Metaspace "first" needs it)
};

// A piece of a text and whether the pattern matched it; a list of them covers the text.
struct PatternMatch {
  TextRange range;
  bool is_match = false;
};

// What a cut does with the pieces a pattern matched (tokenizer.json's "behavior").
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
std::span<const Named<SplitBehavior>> split_behaviors();

// {"String": "..."} (a literal) or {"Regex": "..."}, as Split and Replace write it.
class TextPattern {
 public:
  static TextPattern read(const JsonPath& pattern);
  static TextPattern regex(std::string_view pattern, std::string_view what);
  std::vector<PatternMatch> matches(std::string_view text) const;

 private:
  std::string literal_;
  std::optional<Regex> regex_;
};

// Matches of single characters that satisfy `predicate`, each its own match.
std::vector<PatternMatch> character_matches(std::string_view text,
                                            const std::function<bool(char32_t)>& predicate);

// Invert: matches become gaps and gaps matches.
void invert(std::vector<PatternMatch>& matches);

// `split` cut at `matches` with `behavior`; empty pieces are dropped. A piece keeps at_origin
// when it starts where the split did.
std::vector<TextSplit> cut(const TextSplit& split, const std::vector<PatternMatch>& matches,
                           SplitBehavior behavior);

// Replaces every split that is not an added token by what `fn` makes of it, dropping empty ones.
void for_each_text(std::vector<TextSplit>& splits,
                   const std::function<std::vector<TextSplit>(TextSplit&&)>& fn);

}  // namespace collapse
