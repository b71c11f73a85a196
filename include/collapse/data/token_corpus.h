// A corpus of token-id documents held flat, the input of the n-gram metrics (ngram_metrics.h,
// self_bleu.h) and of the n-gram kernels (kernels/ngram.cuh), which read the same two arrays.
//
//   tokens:  [total tokens] int32, every id >= 0
//   offsets: [documents + 1] int64, offsets[0] = 0, non-decreasing, offsets.back() = tokens.size();
//            document d is tokens[offsets[d], offsets[d + 1]) (it may be empty)
//
// Documents hold text tokens only (no BOS/EOS): an n-gram never spans two documents.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace collapse {

class TokenFile;

struct TokenCorpus {
  std::vector<std::int32_t> tokens;
  std::vector<std::int64_t> offsets{0};

  TokenCorpus() = default;
  // Copies the documents; throws Error for a negative id.
  explicit TokenCorpus(const std::vector<std::vector<std::int32_t>>& documents);
  // Every document of a token file, in file order.
  static TokenCorpus from_file(const TokenFile& file);

  // Appends one document; throws Error for a negative id.
  void add(std::span<const std::int32_t> document);
  std::int64_t documents() const { return static_cast<std::int64_t>(offsets.size()) - 1; }
  std::int64_t size() const { return static_cast<std::int64_t>(tokens.size()); }
  std::int64_t length(std::int64_t d) const { return offsets[d + 1] - offsets[d]; }
  std::span<const std::int32_t> document(std::int64_t d) const {
    return {tokens.data() + offsets[d], static_cast<std::size_t>(length(d))};
  }
  // The largest id (-1 for a corpus without tokens).
  std::int32_t max_id() const;
  // sum_d max(0, length(d) - n + 1): how many n-grams (windows of n tokens) the corpus has.
  std::int64_t windows(int n) const;
  // The documents `ids` (indices, each in [0, documents())) in that order, as a new corpus.
  TokenCorpus subset(std::span<const std::int64_t> ids) const;
};

}  // namespace collapse
