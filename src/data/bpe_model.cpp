#include "collapse/data/bpe_model.h"

#include <algorithm>
#include <atomic>
#include <queue>

#include <fmt/format.h>

#include "collapse/data/text_splits.h"
#include "collapse/util/error.h"
#include "collapse/util/unicode.h"

namespace collapse {

namespace {

std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
         static_cast<std::uint32_t>(b);
}

// Words at most this long (bytes) are cached, up to kCacheEntries per thread and model: the
// same cut-offs as the `tokenizers` library.
constexpr std::size_t kCacheMaxWord = 256;
constexpr std::size_t kCacheEntries = 10000;

struct WordCache {
  std::uint64_t model = 0;
  std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>> words;
};

std::atomic<std::uint64_t> next_cache_key{1};

}  // namespace

BpeModel::BpeModel(Vocabulary vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, std::string_view what)
    : vocab_(std::move(vocab)), options_(std::move(options)), cache_key_(next_cache_key++) {
  std::int32_t max_id = -1;
  for (const auto& [token, id] : vocab_) {
    if (id < 0 || id > kMaxTokenId) {
      fail("{}: model.vocab gives '{}' the id {}, expected 0 to {}", what, token, id, kMaxTokenId);
    }
    max_id = std::max(max_id, id);
  }
  by_id_.assign(static_cast<std::size_t>(max_id + 1), nullptr);
  for (const auto& [token, id] : vocab_) by_id_[static_cast<std::size_t>(id)] = &token;

  const std::size_t prefix = options_.continuing_subword_prefix ? options_.continuing_subword_prefix->size() : 0;
  merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const auto a_id = token_to_id(a), b_id = token_to_id(b);
    if (!a_id || !b_id) {
      fail("{}: model.merges[{}] ('{}' '{}') names a token that is not in model.vocab", what, rank,
           a, b);
    }
    // The merged token drops the right part's continuing-subword prefix ("##").
    const std::string merged = a + (b.size() >= prefix ? b.substr(prefix) : b);
    const auto merged_id = token_to_id(merged);
    if (!merged_id) {
      fail("{}: model.merges[{}] ('{}' '{}') makes '{}', which is not in model.vocab", what, rank,
           a, b, merged);
    }
    // A repeated pair keeps its last rank, as in the reference.
    merges_[pair_key(*a_id, *b_id)] = {static_cast<std::uint32_t>(rank), *merged_id};
  }
  if (options_.unk_token) {
    unk_id_ = token_to_id(*options_.unk_token);
    if (!unk_id_) fail("{}: model.unk_token '{}' is not in model.vocab", what, *options_.unk_token);
  }
  for (int b = 0; b < 256; ++b) {
    byte_ids_[b] = token_to_id(fmt::format("<0x{:02X}>", b)).value_or(-1);
  }
}

std::optional<std::int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= by_id_.size()) return nullptr;
  return by_id_[static_cast<std::size_t>(id)];
}

void BpeModel::tokenize(std::string_view word, std::vector<std::int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (const auto id = token_to_id(word)) {
      out.push_back(*id);
      return;
    }
  }
  if (word.size() > kCacheMaxWord) {
    merge_word(word, out);
    return;
  }
  thread_local WordCache cache;
  if (cache.model != cache_key_) {
    cache.words.clear();
    cache.model = cache_key_;
  }
  if (const auto it = cache.words.find(word); it != cache.words.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  const std::size_t first = out.size();
  merge_word(word, out);
  if (cache.words.size() < kCacheEntries) {
    cache.words.emplace(std::string(word), std::vector<std::int32_t>(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()));
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<std::int32_t>& out) const {
  // 1. Characters to symbols.
  std::vector<std::int32_t> ids;
  ids.reserve(word.size());
  std::int32_t pending_unk = -1;  // an unknown run waiting to be emitted (fuse_unk); -1: none
  std::string piece;
  std::size_t i = 0;
  while (i < word.size()) {
    const auto lead = static_cast<unsigned char>(word[i]);
    const std::size_t length = std::min(utf8_sequence_length(lead), word.size() - i);
    const bool is_first = i == 0, is_last = i + length == word.size();
    std::string_view ch = word.substr(i, length);
    i += length;
    std::string_view s = ch;
    if ((!is_first && options_.continuing_subword_prefix) || (is_last && options_.end_of_word_suffix)) {
      piece.clear();
      if (!is_first && options_.continuing_subword_prefix) piece += *options_.continuing_subword_prefix;
      piece += ch;
      if (is_last && options_.end_of_word_suffix) piece += *options_.end_of_word_suffix;
      s = piece;
    }
    if (const auto id = token_to_id(s)) {
      if (pending_unk >= 0) ids.push_back(pending_unk), pending_unk = -1;
      ids.push_back(*id);
      continue;
    }
    if (options_.byte_fallback &&
        std::all_of(s.begin(), s.end(), [&](char c) { return byte_ids_[static_cast<unsigned char>(c)] >= 0; })) {
      // The reference emits the bytes without flushing a pending unknown first.
      for (char c : s) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      continue;
    }
    if (unk_id_) {
      if (pending_unk >= 0 && !options_.fuse_unk) ids.push_back(pending_unk);
      pending_unk = *unk_id_;
    }
  }
  if (pending_unk >= 0) ids.push_back(pending_unk);

  // 2. Merges, lowest rank first, leftmost among equal ranks; stale heap entries are skipped.
  const std::size_t n = ids.size();
  if (n >= 2 && !merges_.empty()) {
    std::vector<std::int32_t> prev(n), next(n);
    std::vector<bool> alive(n, true);
    for (std::size_t k = 0; k < n; ++k) {
      prev[k] = static_cast<std::int32_t>(k) - 1;
      next[k] = k + 1 < n ? static_cast<std::int32_t>(k + 1) : -1;
    }
    struct Candidate {
      std::uint32_t rank;
      std::uint32_t pos;
      std::int32_t merged;
      bool operator>(const Candidate& o) const {
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::vector<Candidate> heap_storage;
    heap_storage.reserve(n);
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap(
        std::greater<>{}, std::move(heap_storage));
    auto find_merge = [&](std::int32_t a, std::int32_t b) -> const std::pair<std::uint32_t, std::int32_t>* {
      const auto it = merges_.find(pair_key(a, b));
      return it == merges_.end() ? nullptr : &it->second;
    };
    for (std::size_t k = 0; k + 1 < n; ++k) {
      if (const auto* m = find_merge(ids[k], ids[k + 1])) {
        heap.push({m->first, static_cast<std::uint32_t>(k), m->second});
      }
    }
    while (!heap.empty()) {
      const Candidate top = heap.top();
      heap.pop();
      const std::size_t pos = top.pos;
      if (!alive[pos] || next[pos] < 0) continue;
      const auto right = static_cast<std::size_t>(next[pos]);
      const auto* m = find_merge(ids[pos], ids[right]);
      if (m == nullptr || m->second != top.merged) continue;
      ids[pos] = top.merged;
      alive[right] = false;
      next[pos] = next[right];
      if (next[right] >= 0) prev[static_cast<std::size_t>(next[right])] = static_cast<std::int32_t>(pos);
      if (prev[pos] >= 0) {
        const auto left = static_cast<std::size_t>(prev[pos]);
        if (const auto* lm = find_merge(ids[left], ids[pos])) {
          heap.push({lm->first, static_cast<std::uint32_t>(left), lm->second});
        }
      }
      if (next[pos] >= 0) {
        if (const auto* rm = find_merge(ids[pos], ids[static_cast<std::size_t>(next[pos])])) {
          heap.push({rm->first, static_cast<std::uint32_t>(pos), rm->second});
        }
      }
    }
    for (std::size_t k = 0; k < n; ++k) {
      if (alive[k]) out.push_back(ids[k]);
    }
    return;
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace collapse
