// tokenizer.json's "added_tokens": strings that are one token wherever they appear in a text
// (special tokens such as <|endoftext|>, and others), found before the normalizer and the
// pre-tokenizer see the text, as the `tokenizers` library does:
//   1. tokens with normalized=false are looked for in the raw text;
//   2. the rest of the text is normalized piece by piece, and tokens with normalized=true are
//      looked for (in their normalized form) in the normalized pieces.
// Each search takes the leftmost match, the longest among those starting there. A match is
// widened over the whitespace before it (lstrip) and after it (rstrip), and skipped where a
// single_word token touches a word character.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collapse/data/text_normalizers.h"
#include "collapse/data/text_splits.h"
#include "collapse/util/json_path.h"

namespace collapse {

struct AddedToken {
  std::int32_t id = 0;
  std::string content;
  std::string piece;  // what decode shows: the content, normalized where normalized=true
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // tokenizer.json's "added_tokens" array; `normalizer` (may be null) gives the normalized form
  // of the tokens with normalized=true.
  AddedVocabulary(const JsonPath& added_tokens, const TextNormalizer* normalizer);

  // `text` cut into added tokens and normalized text (empty pieces dropped).
  std::vector<TextSplit> extract_and_normalize(std::string_view text,
                                               const TextNormalizer* normalizer) const;

  std::optional<std::int32_t> token_to_id(std::string_view content) const;
  const AddedToken* find(std::int32_t id) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie of token contents for leftmost-longest search.
  struct Trie {
    struct Node {
      std::unordered_map<unsigned char, std::int32_t> children;
      std::int32_t token = -1;  // index into tokens_ of the token ending here
    };
    std::vector<Node> nodes{Node{}};
    bool first_byte[256] = {};
    void insert(std::string_view key, std::int32_t token);
    bool empty() const { return nodes.size() == 1; }
  };
  // (token index or -1, range) pieces covering `text`.
  std::vector<std::pair<std::int32_t, TextRange>> find_matches(std::string_view text, const Trie& trie) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::int32_t, std::size_t> by_id_;
  std::unordered_map<std::string, std::size_t> by_content_;
  Trie raw_, normalized_;
};

}  // namespace collapse
