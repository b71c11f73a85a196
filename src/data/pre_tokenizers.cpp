#include "collapse/data/pre_tokenizers.h"

#include <fmt/format.h>

#include <array>

#include "collapse/data/byte_level.h"
#include "collapse/util/unicode.h"

namespace collapse {

namespace {

constexpr std::array<Named<PreTokenizerKind>, 5> kKinds{{
    {PreTokenizerKind::byte_level, "ByteLevel", "GPT-2's word regex (use_regex), then bytes as characters"},
    {PreTokenizerKind::split, "Split", "cut at a string or regex with a behaviour"},
    {PreTokenizerKind::digits, "Digits", "digits cut off, one by one or in runs"},
    {PreTokenizerKind::metaspace, "Metaspace", "spaces as a visible character, cut before it"},
    {PreTokenizerKind::sequence, "Sequence", "several pre-tokenizers in turn"},
}};

constexpr std::array<Named<PrependScheme>, 3> kPrependSchemes{{
    {PrependScheme::always, "always", "before every word"},
    {PrependScheme::never, "never", "never"},
    {PrependScheme::first, "first", "only before the start of the text"},
}};

// GPT-2's word pattern, which ByteLevel applies with use_regex.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void pre_tokenize(std::vector<TextSplit>& splits) const override {
    static const TextPattern words = TextPattern::regex(kGpt2Pattern, "ByteLevel");
    for_each_text(splits, [&](TextSplit&& s) {
      if (add_prefix_space_ && !s.text.starts_with(' ')) s.text.insert(s.text.begin(), ' ');
      std::vector<TextSplit> pieces;
      if (use_regex_) {
        pieces = cut(s, words.matches(s.text), SplitBehavior::isolated);
      } else {
        pieces.push_back(std::move(s));
      }
      for (TextSplit& p : pieces) p.text = to_byte_level(p.text);
      return pieces;
    });
  }

 private:
  bool add_prefix_space_, use_regex_;
};

class Split : public PreTokenizer {
 public:
  Split(TextPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<TextSplit>& splits) const override {
    for_each_text(splits, [&](TextSplit&& s) {
      auto matches = pattern_.matches(s.text);
      if (invert_) invert(matches);
      return cut(s, matches, behavior_);
    });
  }

 private:
  TextPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(std::vector<TextSplit>& splits) const override {
    for_each_text(splits, [&](TextSplit&& s) {
      return cut(s, character_matches(s.text, is_numeric),
                 individual_ ? SplitBehavior::isolated : SplitBehavior::contiguous);
    });
  }

 private:
  bool individual_;
};

class Metaspace : public PreTokenizer {
 public:
  Metaspace(char32_t replacement, PrependScheme scheme, bool split)
      : scheme_(scheme), split_(split), replacement_code_(replacement) {
    append_utf8(replacement_, replacement);
  }
  void pre_tokenize(std::vector<TextSplit>& splits) const override {
    for_each_text(splits, [&](TextSplit&& s) {
      std::string replaced;
      for (char c : s.text) {
        if (c == ' ') {
          replaced += replacement_;
        } else {
          replaced += c;
        }
      }
      s.text = std::move(replaced);
      const bool starts = s.text.starts_with(replacement_);
      if ((scheme_ == PrependScheme::always && !starts) ||
          (scheme_ == PrependScheme::first && !starts && s.at_origin)) {
        s.text.insert(0, replacement_);
      }
      if (!split_) return std::vector<TextSplit>{std::move(s)};
      const char32_t r = replacement_code_;
      return cut(s, character_matches(s.text, [r](char32_t c) { return c == r; }),
                 SplitBehavior::merged_with_next);
    });
  }

 private:
  PrependScheme scheme_;
  bool split_;
  char32_t replacement_code_;
  std::string replacement_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<TextSplit>& splits) const override {
    for (const auto& step : steps_) step->pre_tokenize(splits);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

std::span<const Named<PreTokenizerKind>> pre_tokenizer_kinds() { return kKinds; }

PrependScheme read_prepend_scheme(const JsonPath& spec) {
  if (const auto scheme = spec.find("prepend_scheme")) {
    const std::string name = scheme->string();
    const auto value = find_named(std::span<const Named<PrependScheme>>(kPrependSchemes), name);
    if (!value) {
      scheme->fail(fmt::format("'{}' is not a prepend scheme (expected {})", name,
                               names_of(std::span<const Named<PrependScheme>>(kPrependSchemes), true)));
    }
    return *value;
  }
  // Files older than prepend_scheme carry add_prefix_space instead.
  return spec.boolean_or("add_prefix_space", true) ? PrependScheme::always : PrependScheme::never;
}

std::unique_ptr<PreTokenizer> read_pre_tokenizer(const JsonPath& spec) {
  const std::string type = spec["type"].string();
  const auto kind = find_named(pre_tokenizer_kinds(), type);
  if (!kind) {
    spec["type"].fail(fmt::format("pre-tokenizer '{}' is not supported (supported: {})", type,
                                  names_of(pre_tokenizer_kinds())));
  }
  switch (*kind) {
    case PreTokenizerKind::byte_level:
      return std::make_unique<ByteLevel>(spec.boolean_or("add_prefix_space", true),
                                         spec.boolean_or("use_regex", true));
    case PreTokenizerKind::split: {
      const JsonPath behavior = spec["behavior"];
      const auto b = find_named(split_behaviors(), behavior.string());
      if (!b) {
        behavior.fail(fmt::format("'{}' is not a split behavior (expected {})", behavior.string(),
                                  names_of(split_behaviors())));
      }
      return std::make_unique<Split>(TextPattern::read(spec["pattern"]), *b,
                                     spec.boolean_or("invert", false));
    }
    case PreTokenizerKind::digits:
      return std::make_unique<Digits>(spec.boolean_or("individual_digits", false));
    case PreTokenizerKind::metaspace:
      return std::make_unique<Metaspace>(spec["replacement"].character(), read_prepend_scheme(spec),
                                         spec.boolean_or("split", true));
    case PreTokenizerKind::sequence: {
      std::vector<std::unique_ptr<PreTokenizer>> steps;
      for (const JsonPath& step : spec["pretokenizers"].items()) steps.push_back(read_pre_tokenizer(step));
      return std::make_unique<Sequence>(std::move(steps));
    }
  }
  spec.fail("unreachable pre-tokenizer kind");
}

}  // namespace collapse
