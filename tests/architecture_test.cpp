// The layers of docs/architecture.md, held against the code: every `#include "collapse/<layer>/..."`
// in src/ and include/collapse/ points to the same layer or one below it, and the three layers
// that stand side by side (train, generate, score) never include one another. The libraries'
// link order catches most backward uses too, but not an inline function in a header. And only the
// CLI spells a flag: library code names settings through its caller (util/setting_names.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot(COLLAPSE_SOURCE_DIR);

// Each layer and the layers it may include (itself included).
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> layers = [] {
    std::map<std::string, std::set<std::string>> m;
    m["util"] = {"util"};
    m["data"] = {"util", "data"};
    m["model"] = {"util", "data", "model"};
    for (const char* middle : {"train", "generate", "score"}) m[middle] = {"util", "data", "model", middle};
    m["experiment"] = {"util", "data", "model", "train", "generate", "score", "experiment"};
    m["report"] = m["experiment"];
    m["report"].insert("report");
    m["cli"] = m["report"];
    m["cli"].insert("cli");
    return m;
  }();
  return layers;
}

// The layer a file of src/<layer>/ or include/collapse/<layer>/ belongs to.
std::string layer_of(const fs::path& file) {
  const fs::path rel = fs::relative(file, kRoot);
  auto it = rel.begin();
  if (*it == "include") ++it;  // include/collapse/<layer>/...
  ++it;                        // src/<layer>/... or collapse/<layer>/...
  return it == rel.end() ? "" : it->string();
}

std::vector<fs::path> sources() {
  std::vector<fs::path> files;
  for (const fs::path& dir : {kRoot / "src", kRoot / "include" / "collapse"}) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".h" || ext == ".cpp")) files.push_back(entry.path());
    }
  }
  return files;
}

}  // namespace

TEST(Architecture, EveryFileSitsInALayerFolder) {
  for (const fs::path& file : sources()) {
    EXPECT_TRUE(allowed().count(layer_of(file))) << file << " is not inside a layer's folder";
  }
  for (const auto& [layer, below] : allowed()) {
    EXPECT_TRUE(fs::is_directory(kRoot / "src" / layer)) << "src/" << layer;
  }
}

TEST(Architecture, IncludesPointToTheSameLayerOrBelow) {
  const std::regex include("#include \"collapse/([a-z]+)/[a-z0-9_]+\\.h\"");
  std::int64_t checked = 0;
  for (const fs::path& file : sources()) {
    const std::string layer = layer_of(file);
    if (!allowed().count(layer)) continue;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      ++checked;
      EXPECT_TRUE(allowed().at(layer).count(m[1])) << fs::relative(file, kRoot).string() << " (layer "
                                                   << layer << ") includes a higher layer: " << line;
    }
  }
  EXPECT_GT(checked, 200);  // far fewer means the pattern no longer matches the includes
}

TEST(Architecture, OnlyTheCliSpellsAFlag) {
  // A string literal holding "--word" at its start or after a space or quote: a flag, as in
  // "--top-p must be ...". (CSS custom properties such as var(--panel) are not flags.)
  const std::regex literal("\"([^\"\\\\]|\\\\.)*\"");
  const std::regex flag("(^\"|[\\s'`])--[a-z]");
  for (const fs::path& file : sources()) {
    if (layer_of(file) == "cli") continue;
    std::ifstream in(file);
    std::string line;
    std::int64_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      const auto comment = line.find("//");
      const std::string code = line.substr(0, comment == std::string::npos ? line.size() : comment);
      for (auto it = std::sregex_iterator(code.begin(), code.end(), literal); it != std::sregex_iterator(); ++it) {
        EXPECT_FALSE(std::regex_search(it->str(), flag))
            << fs::relative(file, kRoot).string() << ":" << number << " spells a flag: " << it->str();
      }
    }
  }
}
