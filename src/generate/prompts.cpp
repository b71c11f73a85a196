#include "collapse/generate/prompts.h"

#include <charconv>
#include <fstream>

#include "collapse/data/dataset.h"
#include "collapse/util/error.h"
#include "collapse/util/utf8.h"

namespace collapse {
namespace {

std::int64_t parse_block_length(const std::string& spec, const std::string& value) {
  std::int64_t k = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), k);
  if (ec != std::errc() || end != value.data() + value.size() || k <= 0) {
    fail("--prompt {}: K must be a positive integer, got '{}'", spec, value);
  }
  return k;
}

std::vector<std::vector<std::int32_t>> real_blocks(const std::string& spec, std::int64_t k,
                                                   const Dataset& data) {
  const TokenFile train = data.split("train");
  std::vector<std::vector<std::int32_t>> blocks;
  std::vector<std::int32_t> doc;
  for (std::int64_t d = 0; d < train.documents(); ++d) {
    doc.clear();
    train.append_document(d, doc);
    for (std::size_t start = 0; start + k <= doc.size(); start += static_cast<std::size_t>(k)) {
      blocks.emplace_back(doc.begin() + static_cast<std::ptrdiff_t>(start),
                          doc.begin() + static_cast<std::ptrdiff_t>(start + k));
    }
  }
  if (blocks.empty()) {
    fail("--prompt {}: no train document of {} has {} tokens", spec, data.dir().string(), k);
  }
  return blocks;
}

std::vector<std::vector<std::int32_t>> file_prompts(const std::string& spec,
                                                    const std::string& path, const Dataset& data) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--prompt {}: cannot read {}", spec, path);
  std::vector<std::vector<std::int32_t>> prompts;
  std::string line;
  std::int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (const auto bad = find_invalid_utf8(line)) {
      fail("{}:{}: invalid UTF-8 at byte {} of the line", path, number, *bad);
    }
    prompts.push_back(data.tokenizer().encode(line));
  }
  if (prompts.empty()) fail("--prompt {}: {} holds no lines", spec, path);
  return prompts;
}

}  // namespace

PromptSet make_prompts(const std::string& spec, const Dataset& data) {
  PromptSet set{spec, {}};
  if (spec == "bos") {
    set.prompts.emplace_back();
  } else if (spec.starts_with("real-prefix:")) {
    const std::string value = spec.substr(std::string("real-prefix:").size());
    set.prompts = real_blocks(spec, parse_block_length(spec, value), data);
  } else if (spec.starts_with("file:") && spec.size() > 5) {
    set.prompts = file_prompts(spec, spec.substr(5), data);
  } else {
    fail("--prompt '{}' is not one of: bos, real-prefix:K, file:PATH", spec);
  }
  return set;
}

}  // namespace collapse
