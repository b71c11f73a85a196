#include "collapse/data/text_splits.h"

#include <algorithm>
#include <array>

#include "collapse/util/error.h"
#include "collapse/util/unicode.h"

namespace collapse {

namespace {

constexpr std::array<Named<SplitBehavior>, 5> kSplitBehaviors{{
    {SplitBehavior::removed, "Removed", "matches are dropped"},
    {SplitBehavior::isolated, "Isolated", "each match is a piece of its own"},
    {SplitBehavior::merged_with_previous, "MergedWithPrevious", "a match joins the piece before it"},
    {SplitBehavior::merged_with_next, "MergedWithNext", "a match joins the piece after it"},
    {SplitBehavior::contiguous, "Contiguous", "consecutive matches form one piece"},
}};

// Matches and gaps covering `text`, from the match ranges found in it.
std::vector<PatternMatch> cover(std::string_view text, const std::vector<TextRange>& found) {
  if (text.empty()) return {{{0, 0}, false}};
  std::vector<PatternMatch> out;
  std::size_t previous = 0;
  for (const TextRange& m : found) {
    if (previous != m.begin) out.push_back({{previous, m.begin}, false});
    out.push_back({m, true});
    previous = m.end;
  }
  if (previous != text.size()) out.push_back({{previous, text.size()}, false});
  return out;
}

}  // namespace

std::span<const Named<SplitBehavior>> split_behaviors() { return kSplitBehaviors; }

TextPattern TextPattern::read(const JsonPath& pattern) {
  TextPattern p;
  if (const auto literal = pattern.find("String")) {
    p.literal_ = literal->string();
    // The empty literal would match between every two characters; the tokenizers library panics
    // on it for non-ASCII text, so no file that works there carries one.
    if (p.literal_.empty()) literal->fail("an empty pattern is not supported");
  } else if (const auto regex = pattern.find("Regex")) {
    p.regex_.emplace(regex->string(), regex->where());
  } else {
    pattern.fail("expected {\"String\": ...} or {\"Regex\": ...}");
  }
  return p;
}

TextPattern TextPattern::regex(std::string_view pattern, std::string_view what) {
  TextPattern p;
  p.regex_.emplace(pattern, what);
  return p;
}

std::vector<PatternMatch> TextPattern::matches(std::string_view text) const {
  if (regex_) return cover(text, regex_->find_all(text));
  std::vector<TextRange> found;
  for (std::size_t at = text.find(literal_); at != std::string_view::npos;
       at = text.find(literal_, at + literal_.size())) {
    found.push_back({at, at + literal_.size()});
  }
  return cover(text, found);
}

std::vector<PatternMatch> character_matches(std::string_view text,
                                            const std::function<bool(char32_t)>& predicate) {
  if (text.empty()) return {{{0, 0}, false}};
  std::vector<PatternMatch> out;
  std::size_t gap = 0, i = 0;
  while (i < text.size()) {
    const std::size_t begin = i;
    const char32_t c = next_code_point(text, i);
    if (!predicate(c)) continue;
    if (gap < begin) out.push_back({{gap, begin}, false});
    out.push_back({{begin, i}, true});
    gap = i;
  }
  if (gap < text.size()) out.push_back({{gap, text.size()}, false});
  return out;
}

void invert(std::vector<PatternMatch>& matches) {
  for (PatternMatch& m : matches) m.is_match = !m.is_match;
}

std::vector<TextSplit> cut(const TextSplit& split, const std::vector<PatternMatch>& matches,
                           SplitBehavior behavior) {
  // (range, remove) pieces, following the reference's fold for each behaviour.
  std::vector<std::pair<TextRange, bool>> pieces;
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const auto& m : matches) pieces.push_back({m.range, false});
      break;
    case SplitBehavior::removed:
      for (const auto& m : matches) pieces.push_back({m.range, m.is_match});
      break;
    case SplitBehavior::contiguous: {
      bool previous = false;
      for (const auto& m : matches) {
        if (m.is_match == previous && !pieces.empty()) {
          pieces.back().first.end = m.range.end;
        } else {
          pieces.push_back({m.range, false});
        }
        previous = m.is_match;
      }
      break;
    }
    case SplitBehavior::merged_with_previous: {
      bool previous = false;
      for (const auto& m : matches) {
        if (m.is_match && !previous && !pieces.empty()) {
          pieces.back().first.end = m.range.end;
        } else {
          pieces.push_back({m.range, false});
        }
        previous = m.is_match;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool previous = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !previous && !pieces.empty()) {
          pieces.back().first.begin = it->range.begin;
        } else {
          pieces.push_back({it->range, false});
        }
        previous = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    }
  }
  std::vector<TextSplit> out;
  for (const auto& [range, remove] : pieces) {
    if (remove || range.begin == range.end) continue;
    out.push_back({split.text.substr(range.begin, range.end - range.begin), -1,
                   split.at_origin && range.begin == 0});
  }
  return out;
}

void for_each_text(std::vector<TextSplit>& splits,
                   const std::function<std::vector<TextSplit>(TextSplit&&)>& fn) {
  std::vector<TextSplit> out;
  out.reserve(splits.size());
  for (TextSplit& s : splits) {
    if (s.token >= 0) {
      out.push_back(std::move(s));
      continue;
    }
    for (TextSplit& piece : fn(std::move(s))) {
      if (!piece.text.empty() || piece.token >= 0) out.push_back(std::move(piece));
    }
  }
  splits = std::move(out);
}

}  // namespace collapse
