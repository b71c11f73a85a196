#include "collapse/data/token_decoders.h"

#include <fmt/format.h>

#include <array>

#include "collapse/data/byte_level.h"
#include "collapse/data/pre_tokenizers.h"
#include "collapse/data/text_splits.h"
#include "collapse/util/unicode.h"

namespace collapse {

namespace {

constexpr std::array<Named<DecoderKind>, 9> kKinds{{
    {DecoderKind::byte_level, "ByteLevel", "byte-level characters back to bytes, then UTF-8"},
    {DecoderKind::byte_fallback, "ByteFallback", "runs of <0xXX> pieces back to UTF-8"},
    {DecoderKind::fuse, "Fuse", "all pieces joined into one"},
    {DecoderKind::strip, "Strip", "a character removed from the start and/or end of each piece"},
    {DecoderKind::replace, "Replace", "every match of a string or regex replaced"},
    {DecoderKind::metaspace, "Metaspace", "the visible space character back to a space"},
    {DecoderKind::bpe, "BPEDecoder", "the end-of-word suffix back to a space"},
    {DecoderKind::word_piece, "WordPiece", "continuing-subword prefix removed, a space before other pieces"},
    {DecoderKind::sequence, "Sequence", "several decoders in turn"},
}};

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) out.push_back(next_code_point(s, i));
  return out;
}

class ByteLevel : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      // A piece with a character outside the alphabet (an added token) is kept as it is.
      std::string mapped;
      bool all = true;
      for (std::size_t i = 0; i < token.size();) {
        const auto b = byte_level_byte(next_code_point(token, i));
        if (!b) {
          all = false;
          break;
        }
        mapped += static_cast<char>(*b);
      }
      bytes += all ? mapped : token;
    }
    tokens = {utf8_lossy(bytes)};
  }
};

class ByteFallback : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (utf8_lossy(pending) == pending) {
        out.push_back(pending);
      } else {
        for (std::size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementCharacter);
      }
      pending.clear();
    };
    for (std::string& token : tokens) {
      if (const auto byte = byte_token(token)) {
        pending += static_cast<char>(*byte);
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static std::optional<unsigned char> byte_token(const std::string& t) {
    if (t.size() != 6 || !t.starts_with("<0x") || t.back() != '>') return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
  }
};

class Fuse : public TokenDecoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens = {std::move(all)};
  }
};

class Strip : public TokenDecoder {
 public:
  Strip(char32_t content, std::size_t start, std::size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      const std::vector<char32_t> chars = code_points(token);
      std::size_t begin = 0, end = chars.size();
      while (begin < std::min(start_, chars.size()) && chars[begin] == content_) ++begin;
      for (std::size_t i = 0; i < stop_ && end > begin && chars[end - 1] == content_; ++i) --end;
      std::string out;
      for (std::size_t i = begin; i < end; ++i) append_utf8(out, chars[i]);
      token = std::move(out);
    }
  }

 private:
  char32_t content_;
  std::size_t start_, stop_;
};

class Replace : public TokenDecoder {
 public:
  Replace(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      std::string out;
      for (const PatternMatch& m : pattern_.matches(token)) {
        if (m.is_match) {
          out += content_;
        } else {
          out.append(token, m.range.begin, m.range.end - m.range.begin);
        }
      }
      token = std::move(out);
    }
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

class Metaspace : public TokenDecoder {
 public:
  Metaspace(char32_t replacement, PrependScheme scheme) : replacement_(replacement), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      for (char32_t c : code_points(tokens[i])) {
        if (c != replacement_) {
          append_utf8(out, c);
        } else if (i != 0 || scheme_ == PrependScheme::never) {
          out += ' ';
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
};

class BpeSuffix : public TokenDecoder {
 public:
  explicit BpeSuffix(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    if (suffix_.empty()) return;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const std::string with = i + 1 == tokens.size() ? "" : " ";
      std::string& t = tokens[i];
      std::string out;
      std::size_t at = 0;
      for (std::size_t hit = t.find(suffix_); hit != std::string::npos; hit = t.find(suffix_, at)) {
        out.append(t, at, hit - at);
        out += with;
        at = hit + suffix_.size();
      }
      out.append(t, at);
      t = std::move(out);
    }
  }

 private:
  std::string suffix_;
};

class WordPiece : public TokenDecoder {
 public:
  WordPiece(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.starts_with(prefix_)) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(t.begin(), ' ');
        }
      }
      if (cleanup_) t = cleaned(t);
    }
  }

 private:
  // The reference's clean-up of tokenization spaces, in its order.
  static std::string cleaned(std::string t) {
    static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."},   {" ?", "?"},   {" !", "!"},   {" ,", ","},   {" ' ", "'"},        {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) {
      std::string out;
      std::size_t at = 0;
      for (std::size_t hit = t.find(from); hit != std::string::npos; hit = t.find(from, at)) {
        out.append(t, at, hit - at);
        out += to;
        at = hit + from.size();
      }
      out.append(t, at);
      t = std::move(out);
    }
    return t;
  }
  std::string prefix_;
  bool cleanup_;
};

class Sequence : public TokenDecoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<TokenDecoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<TokenDecoder>> steps_;
};

std::size_t count(const JsonPath& spec, std::string_view key) {
  const std::int64_t n = spec.integer_or(key, 0);
  if (n < 0) spec[key].fail(fmt::format("expected a count >= 0, got {}", n));
  return static_cast<std::size_t>(n);
}

}  // namespace

std::span<const Named<DecoderKind>> decoder_kinds() { return kKinds; }

std::unique_ptr<TokenDecoder> read_decoder(const JsonPath& spec) {
  const std::string type = spec["type"].string();
  const auto kind = find_named(decoder_kinds(), type);
  if (!kind) {
    spec["type"].fail(fmt::format("decoder '{}' is not supported (supported: {})", type,
                                  names_of(decoder_kinds())));
  }
  switch (*kind) {
    case DecoderKind::byte_level: return std::make_unique<ByteLevel>();
    case DecoderKind::byte_fallback: return std::make_unique<ByteFallback>();
    case DecoderKind::fuse: return std::make_unique<Fuse>();
    case DecoderKind::strip:
      return std::make_unique<Strip>(spec["content"].character(), count(spec, "start"),
                                     count(spec, "stop"));
    case DecoderKind::replace:
      return std::make_unique<Replace>(TextPattern::read(spec["pattern"]), spec["content"].string());
    case DecoderKind::metaspace:
      return std::make_unique<Metaspace>(spec["replacement"].character(), read_prepend_scheme(spec));
    case DecoderKind::bpe: return std::make_unique<BpeSuffix>(spec.string_or("suffix", "</w>"));
    case DecoderKind::word_piece:
      return std::make_unique<WordPiece>(spec.string_or("prefix", "##"), spec.boolean_or("cleanup", true));
    case DecoderKind::sequence: {
      std::vector<std::unique_ptr<TokenDecoder>> steps;
      for (const JsonPath& step : spec["decoders"].items()) steps.push_back(read_decoder(step));
      return std::make_unique<Sequence>(std::move(steps));
    }
  }
  spec.fail("unreachable decoder kind");
}

}  // namespace collapse
