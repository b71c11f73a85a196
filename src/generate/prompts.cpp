#include "collapse/generate/prompts.h"

#include <charconv>
#include <fstream>

#include "collapse/data/dataset.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/utf8.h"

namespace collapse {
namespace {

constexpr const char* kBos = "bos";
constexpr const char* kRealPrefix = "real-prefix:";
constexpr const char* kFile = "file:";

std::vector<std::vector<std::int32_t>> real_blocks(const std::string& what, std::int64_t k,
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
    fail("{}: no train document of {} has {} tokens", what, data.dir().string(), k);
  }
  return blocks;
}

std::vector<std::vector<std::int32_t>> file_prompts(const std::string& what,
                                                    const std::string& path, const Dataset& data) {
  require_regular_file(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read {}", what, path);
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
  if (prompts.empty()) fail("{}: {} holds no lines", what, path);
  return prompts;
}

}  // namespace

std::optional<PromptSpec> PromptSpec::read(const std::string& text) {
  PromptSpec spec;
  if (text == kBos) return spec;
  if (text.starts_with(kRealPrefix)) {
    const std::string value = text.substr(std::string(kRealPrefix).size());
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), spec.block);
    if (ec != std::errc() || end != value.data() + value.size() || spec.block <= 0) return std::nullopt;
    spec.kind = Kind::real_prefix;
    return spec;
  }
  if (text.starts_with(kFile) && text.size() > std::string(kFile).size()) {
    spec.kind = Kind::file;
    spec.path = text.substr(std::string(kFile).size());
    return spec;
  }
  return std::nullopt;
}

std::string PromptSpec::to_string() const {
  switch (kind) {
    case Kind::bos: return kBos;
    case Kind::real_prefix: return kRealPrefix + std::to_string(block);
    case Kind::file: return kFile + path;
  }
  return "?";
}

PromptSet make_prompts(const std::string& text, const Dataset& data, const std::string& what) {
  const auto spec = PromptSpec::read(text);
  if (!spec) fail("{} '{}' must be {}", what, text, kPromptForms);
  const std::string where = fmt::format("{} {}", what, text);
  PromptSet set{text, {}};
  switch (spec->kind) {
    case PromptSpec::Kind::bos: set.prompts.emplace_back(); break;
    case PromptSpec::Kind::real_prefix: set.prompts = real_blocks(where, spec->block, data); break;
    case PromptSpec::Kind::file: set.prompts = file_prompts(where, spec->path, data); break;
  }
  return set;
}

}  // namespace collapse
