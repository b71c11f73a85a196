#include "collapse/data/token_corpus.h"

#include <algorithm>

#include "collapse/data/token_store.h"
#include "collapse/util/error.h"

namespace collapse {

TokenCorpus::TokenCorpus(const std::vector<std::vector<std::int32_t>>& documents) {
  std::size_t total = 0;
  for (const auto& d : documents) total += d.size();
  tokens.reserve(total);
  offsets.reserve(documents.size() + 1);
  for (const auto& d : documents) add(d);
}

TokenCorpus TokenCorpus::from_file(const TokenFile& file) {
  TokenCorpus corpus;
  corpus.tokens.reserve(static_cast<std::size_t>(file.tokens()));
  corpus.offsets.reserve(static_cast<std::size_t>(file.documents() + 1));
  for (std::int64_t d = 0; d < file.documents(); ++d) {
    file.append_document(d, corpus.tokens);
    corpus.offsets.push_back(static_cast<std::int64_t>(corpus.tokens.size()));
  }
  return corpus;
}

void TokenCorpus::add(std::span<const std::int32_t> document) {
  for (std::size_t i = 0; i < document.size(); ++i) {
    if (document[i] < 0) {
      fail("token corpus: document {} has a negative token id {} at position {}", documents(),
           document[i], i);
    }
  }
  tokens.insert(tokens.end(), document.begin(), document.end());
  offsets.push_back(static_cast<std::int64_t>(tokens.size()));
}

std::int32_t TokenCorpus::max_id() const {
  return tokens.empty() ? -1 : *std::max_element(tokens.begin(), tokens.end());
}

std::int64_t TokenCorpus::windows(int n) const {
  std::int64_t total = 0;
  for (std::int64_t d = 0; d < documents(); ++d) total += std::max<std::int64_t>(0, length(d) - n + 1);
  return total;
}

TokenCorpus TokenCorpus::subset(std::span<const std::int64_t> ids) const {
  TokenCorpus out;
  out.offsets.reserve(ids.size() + 1);
  for (std::int64_t d : ids) {
    if (d < 0 || d >= documents()) fail("token corpus: document {} out of range [0, {})", d, documents());
    const auto doc = document(d);
    out.tokens.insert(out.tokens.end(), doc.begin(), doc.end());
    out.offsets.push_back(static_cast<std::int64_t>(out.tokens.size()));
  }
  return out;
}

}  // namespace collapse
