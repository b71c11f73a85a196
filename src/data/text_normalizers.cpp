#include "collapse/data/text_normalizers.h"

#include <fmt/format.h>

#include <array>
#include <vector>

#include "collapse/data/text_splits.h"
#include "collapse/util/unicode.h"

namespace collapse {

namespace {

constexpr std::array<Named<NormalizerKind>, 8> kKinds{{
    {NormalizerKind::nfc, "NFC", "Unicode canonical composition"},
    {NormalizerKind::nfd, "NFD", "Unicode canonical decomposition"},
    {NormalizerKind::nfkc, "NFKC", "Unicode compatibility composition"},
    {NormalizerKind::nfkd, "NFKD", "Unicode compatibility decomposition"},
    {NormalizerKind::prepend, "Prepend", "a string before every non-empty piece"},
    {NormalizerKind::replace, "Replace", "every match of a string or regex replaced"},
    {NormalizerKind::strip, "Strip", "whitespace removed at the left and/or right"},
    {NormalizerKind::sequence, "Sequence", "several normalizers in turn"},
}};

class Normalize : public TextNormalizer {
 public:
  explicit Normalize(NormalForm form) : form_(form) {}
  void normalize(std::string& text) const override { text = unicode_normalize(text, form_); }

 private:
  NormalForm form_;
};

class Prepend : public TextNormalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Replace : public TextNormalizer {
 public:
  Replace(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    std::string out;
    for (const PatternMatch& m : pattern_.matches(text)) {
      if (m.is_match) {
        out += content_;
      } else {
        out.append(text, m.range.begin, m.range.end - m.range.begin);
      }
    }
    text = std::move(out);
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

class Strip : public TextNormalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    if (right_) {
      std::size_t end = text.size();
      while (end > 0) {
        std::size_t i = end;
        if (!is_whitespace(previous_code_point(text, i))) break;
        end = i;
      }
      text.erase(end);
    }
    if (left_) {
      std::size_t begin = 0;
      while (begin < text.size()) {
        std::size_t i = begin;
        if (!is_whitespace(next_code_point(text, i))) break;
        begin = i;
      }
      text.erase(0, begin);
    }
  }

 private:
  bool left_, right_;
};

class Sequence : public TextNormalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<TextNormalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<TextNormalizer>> steps_;
};

}  // namespace

std::span<const Named<NormalizerKind>> normalizer_kinds() { return kKinds; }

std::unique_ptr<TextNormalizer> read_normalizer(const JsonPath& spec) {
  const std::string type = spec["type"].string();
  const auto kind = find_named(normalizer_kinds(), type);
  if (!kind) {
    spec["type"].fail(fmt::format("normalizer '{}' is not supported (supported: {})", type,
                                  names_of(normalizer_kinds())));
  }
  switch (*kind) {
    case NormalizerKind::nfc: return std::make_unique<Normalize>(NormalForm::nfc);
    case NormalizerKind::nfd: return std::make_unique<Normalize>(NormalForm::nfd);
    case NormalizerKind::nfkc: return std::make_unique<Normalize>(NormalForm::nfkc);
    case NormalizerKind::nfkd: return std::make_unique<Normalize>(NormalForm::nfkd);
    case NormalizerKind::prepend: return std::make_unique<Prepend>(spec["prepend"].string());
    case NormalizerKind::replace:
      return std::make_unique<Replace>(TextPattern::read(spec["pattern"]), spec["content"].string());
    case NormalizerKind::strip:
      return std::make_unique<Strip>(spec.boolean_or("strip_left", true), spec.boolean_or("strip_right", true));
    case NormalizerKind::sequence: {
      std::vector<std::unique_ptr<TextNormalizer>> steps;
      for (const JsonPath& step : spec["normalizers"].items()) steps.push_back(read_normalizer(step));
      return std::make_unique<Sequence>(std::move(steps));
    }
  }
  spec.fail("unreachable normalizer kind");
}

}  // namespace collapse
