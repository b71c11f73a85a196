#include "collapse/data/added_tokens.h"

#include <fmt/format.h>

#include "collapse/util/unicode.h"

namespace collapse {

void AddedVocabulary::Trie::insert(std::string_view key, std::int32_t token) {
  std::int32_t node = 0;
  for (char c : key) {
    const auto b = static_cast<unsigned char>(c);
    auto it = nodes[static_cast<std::size_t>(node)].children.find(b);
    if (it == nodes[static_cast<std::size_t>(node)].children.end()) {
      nodes.push_back(Node{});
      const auto child = static_cast<std::int32_t>(nodes.size() - 1);
      nodes[static_cast<std::size_t>(node)].children.emplace(b, child);
      node = child;
    } else {
      node = it->second;
    }
  }
  first_byte[static_cast<unsigned char>(key.front())] = true;
  nodes[static_cast<std::size_t>(node)].token = token;
}

AddedVocabulary::AddedVocabulary(const JsonPath& added_tokens, const TextNormalizer* normalizer) {
  for (const JsonPath& entry : added_tokens.items()) {
    AddedToken t;
    const std::int64_t id = entry["id"].integer();
    if (id < 0 || id > kMaxTokenId) {
      entry["id"].fail(fmt::format("expected a token id from 0 to {}, got {}", kMaxTokenId, id));
    }
    t.id = static_cast<std::int32_t>(id);
    t.content = entry["content"].string();
    t.single_word = entry.boolean_or("single_word", false);
    t.lstrip = entry.boolean_or("lstrip", false);
    t.rstrip = entry.boolean_or("rstrip", false);
    t.normalized = entry.boolean_or("normalized", true);
    t.special = entry.boolean_or("special", false);
    if (t.content.empty()) continue;  // the reference ignores empty tokens
    by_id_[t.id] = tokens_.size();
    by_content_[t.content] = tokens_.size();
    tokens_.push_back(std::move(t));
  }
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken t = tokens_[i];
    if (!t.normalized) {
      tokens_[i].piece = t.content;
      raw_.insert(t.content, static_cast<std::int32_t>(i));
      continue;
    }
    std::string form = t.content;
    if (normalizer != nullptr) normalizer->normalize(form);
    tokens_[i].piece = form;
    if (!form.empty()) normalized_.insert(form, static_cast<std::int32_t>(i));
  }
}

std::optional<std::int32_t> AddedVocabulary::token_to_id(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

const AddedToken* AddedVocabulary::find(std::int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::vector<std::pair<std::int32_t, TextRange>> AddedVocabulary::find_matches(std::string_view text,
                                                                               const Trie& trie) const {
  std::vector<std::pair<std::int32_t, TextRange>> out;
  if (trie.empty()) {
    out.push_back({-1, {0, text.size()}});
    return out;
  }
  std::size_t covered = 0;  // end of the last piece emitted
  std::size_t at = 0;
  while (at < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[at])]) {
      ++at;
      continue;
    }
    // The longest token starting at `at`.
    std::int32_t node = 0, best = -1;
    std::size_t best_end = 0;
    for (std::size_t k = at; k < text.size(); ++k) {
      const auto& children = trie.nodes[static_cast<std::size_t>(node)].children;
      const auto it = children.find(static_cast<unsigned char>(text[k]));
      if (it == children.end()) break;
      node = it->second;
      if (trie.nodes[static_cast<std::size_t>(node)].token >= 0) {
        best = trie.nodes[static_cast<std::size_t>(node)].token;
        best_end = k + 1;
      }
    }
    if (best < 0) {
      ++at;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<std::size_t>(best)];
    std::size_t start = at, stop = best_end;
    at = best_end;  // the search goes on after this match, used or not
    if (token.single_word) {
      std::size_t i = start, j = stop;
      const bool word_before = start > 0 && is_word_character(previous_code_point(text, i));
      const bool word_after = stop < text.size() && is_word_character(next_code_point(text, j));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      std::size_t s = start;
      while (s > 0) {
        std::size_t i = s;
        if (!is_whitespace(previous_code_point(text, i))) break;
        s = i;
      }
      start = std::max(s, covered);  // whitespace a previous match took stays with it
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        std::size_t j = stop;
        if (!is_whitespace(next_code_point(text, j))) break;
        stop = j;
      }
    }
    if (covered < start) out.push_back({-1, {covered, start}});
    out.push_back({best, {start, stop}});
    covered = stop;
    at = std::max(at, stop);
  }
  if (covered != text.size()) out.push_back({-1, {covered, text.size()}});
  return out;
}

std::vector<TextSplit> AddedVocabulary::extract_and_normalize(std::string_view text,
                                                              const TextNormalizer* normalizer) const {
  std::vector<TextSplit> splits;
  for (const auto& [token, range] : find_matches(text, raw_)) {
    TextSplit s{std::string(text.substr(range.begin, range.end - range.begin)), -1, range.begin == 0};
    if (token >= 0) s.token = tokens_[static_cast<std::size_t>(token)].id;
    if (!s.text.empty()) splits.push_back(std::move(s));
  }
  for_each_text(splits, [&](TextSplit&& s) {
    if (normalizer != nullptr) normalizer->normalize(s.text);
    std::vector<TextSplit> pieces;
    for (const auto& [token, range] : find_matches(s.text, normalized_)) {
      TextSplit p{s.text.substr(range.begin, range.end - range.begin), -1,
                  s.at_origin && range.begin == 0};
      if (token >= 0) p.token = tokens_[static_cast<std::size_t>(token)].id;
      pieces.push_back(std::move(p));
    }
    return pieces;
  });
  return splits;
}

}  // namespace collapse
