// The commands the docs show are commands that exist: every `collapse ...` line in a code block of
// README.md, docs/*.md and experiments/README.md names a command of `collapse --help`, and every
// --flag on it is one that command's --help lists. And every command has help with an example.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "collapse/util/atomic_file.h"
#include "support/test_support.h"

using collapse::read_file;
using collapse::tests::run_collapse;
namespace fs = std::filesystem;

namespace {

struct DocCommand {
  std::string where;  // "README.md:123"
  std::string command;
  std::vector<std::string> flags;
};

std::vector<fs::path> documents() {
  const fs::path root(COLLAPSE_SOURCE_DIR);
  std::vector<fs::path> out{root / "README.md", root / "experiments" / "README.md"};
  for (const auto& entry : fs::directory_iterator(root / "docs")) {
    if (entry.path().extension() == ".md") out.push_back(entry.path());
  }
  return out;
}

// Every `collapse COMMAND ...` line inside ``` blocks (continuation lines ending in '\' joined; a
// leading "$ " prompt dropped).
std::vector<DocCommand> documented_commands() {
  std::vector<DocCommand> out;
  const std::regex flag("(^|\\s)(--[a-z][a-z0-9-]*)");
  for (const fs::path& file : documents()) {
    std::istringstream in(read_file(file));
    std::string line, pending;
    bool code = false;
    std::int64_t number = 0, start = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.starts_with("```")) {
        code = !code;
        continue;
      }
      if (!code) continue;
      if (pending.empty()) start = number;
      pending += line;
      if (!pending.empty() && pending.back() == '\\') {
        pending.pop_back();
        continue;
      }
      std::string text = pending;
      pending.clear();
      const auto first = text.find_first_not_of(' ');
      if (first == std::string::npos) continue;
      text = text.substr(first);
      if (text.starts_with("$ ")) text = text.substr(2);
      if (!text.starts_with("collapse ")) continue;
      std::istringstream words(text);
      std::string program, command;
      words >> program >> command;
      DocCommand c{fs::relative(file, COLLAPSE_SOURCE_DIR).string() + ":" + std::to_string(start),
                   command, {}};
      for (auto it = std::sregex_iterator(text.begin(), text.end(), flag); it != std::sregex_iterator(); ++it) {
        c.flags.push_back((*it)[2]);
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

// The subcommands `collapse --help` lists.
std::set<std::string> commands() {
  const auto r = run_collapse({"--help"});
  std::set<std::string> names;
  bool listing = false;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("SUBCOMMANDS:") || line.starts_with("Subcommands:")) {
      listing = true;
      continue;
    }
    // A command's line starts with two spaces and its name; its description goes on indented.
    if (!listing || line.size() < 3 || !line.starts_with("  ") || line[2] == ' ') continue;
    std::istringstream words(line);
    std::string name;
    words >> name;
    names.insert(name);
  }
  return names;
}

// Whether `help` lists `flag` as an option (a whole word: "--seed" is not "--seed-x").
bool lists_flag(const std::string& help, const std::string& flag) {
  return std::regex_search(help, std::regex("(^|[\\s,])" + flag + "([\\s,=]|$)"));
}

}  // namespace

TEST(Cli, EveryCommandHasHelpWithAnExample) {
  const auto names = commands();
  EXPECT_EQ(names, (std::set<std::string>{"prepare", "train", "eval", "export", "generate", "show",
                                          "score", "run", "sweep", "report", "tokenize"}));
  for (const std::string& name : names) {
    const auto r = run_collapse({name, "--help"});
    EXPECT_EQ(r.exit_code, 0) << name;
    EXPECT_NE(r.out.find("Example:"), std::string::npos) << name << ": " << r.out;
  }
  EXPECT_NE(run_collapse({}).exit_code, 0);  // a command is required
}

TEST(DocCommands, EveryCommandAndFlagTheDocsShowExists) {
  const auto docs = documented_commands();
  ASSERT_GE(docs.size(), 20u) << "the docs' code blocks were misread";
  const auto names = commands();
  std::map<std::string, std::string> help;
  for (const DocCommand& c : docs) {
    SCOPED_TRACE(c.where);
    ASSERT_TRUE(names.count(c.command)) << "no command '" << c.command << "'";
    if (!help.count(c.command)) help[c.command] = run_collapse({c.command, "--help"}).out;
    for (const std::string& flag : c.flags) {
      EXPECT_TRUE(lists_flag(help[c.command], flag)) << "collapse " << c.command << " has no " << flag;
    }
  }
}
