// The BPE model of a tokenizer.json ("model": {"type": "BPE", ...}): a vocabulary, ranked
// merges, and the options real files set. It turns one pre-tokenized word into ids exactly as
// the `tokenizers` library does:
//   1. the word is cut into characters; each becomes its vocabulary id, with
//      continuing_subword_prefix on every character but the first and end_of_word_suffix on the
//      last; a character outside the vocabulary becomes its UTF-8 bytes' "<0xXX>" tokens
//      (byte_fallback), else unk_token (consecutive unknowns fused into one with fuse_unk), else
//      nothing;
//   2. the adjacent pair with the lowest merge rank (leftmost among equals) is merged, again and
//      again, until no pair of the word has a merge. A heap of candidate merges keeps this
//      O(n log n) in the word's length.
// With ignore_merges, a word that is itself in the vocabulary is that one token.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace collapse {

// std::string keys looked up by string_view without allocating.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocabulary = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel {
 public:
  // `merges` in rank order (rank = index). Throws Error naming `what` (the file) when a merge or
  // its result, or the unk token, is not in the vocabulary.
  BpeModel(Vocabulary vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options, std::string_view what);
  // Not copyable: by_id_ points into vocab_.
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Appends the ids of `word` to `out`. Repeated words are served from a per-thread cache.
  void tokenize(std::string_view word, std::vector<std::int32_t>& out) const;

  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  // nullptr for an id outside the vocabulary.
  const std::string* id_to_token(std::int32_t id) const;
  // One more than the largest id (the `tokenizers` library's get_vocab_size counts entries;
  // vocabularies are dense in practice).
  std::int32_t vocab_size() const { return static_cast<std::int32_t>(by_id_.size()); }
  const BpeOptions& options() const { return options_; }

 private:
  void merge_word(std::string_view word, std::vector<std::int32_t>& out) const;

  Vocabulary vocab_;
  std::vector<const std::string*> by_id_;
  // (left id, right id) -> (rank, merged id)
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::int32_t>> merges_;
  BpeOptions options_;
  std::optional<std::int32_t> unk_id_;
  std::int32_t byte_ids_[256];  // "<0xXX>" ids for byte_fallback, -1 where missing
  std::uint64_t cache_key_;     // identifies this model in the per-thread caches
};

}  // namespace collapse
