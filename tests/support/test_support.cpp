#include "support/test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace collapse::tests {
namespace fs = std::filesystem;

namespace {

fs::path test_root() {
  static const fs::path root = [] {
    fs::path r = fs::temp_directory_path() / ("collapse-tests-" + std::to_string(::getpid()));
    fs::remove_all(r);
    fs::create_directories(r);
    return r;
  }();
  return root;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = test_root() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

CommandResult run_shell(const std::string& command) {
  static int counter = 0;
  const fs::path out = test_root() / ("cmd-" + std::to_string(counter) + ".out");
  const fs::path err = test_root() / ("cmd-" + std::to_string(counter++) + ".err");
  const int status = std::system((command + " >" + quote(out) + " 2>" + quote(err) + " </dev/null").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

CommandResult run_collapse(const std::vector<std::string>& args) {
  std::string command = "COLLAPSE_PROGRESS=plain " + quote(COLLAPSE_BIN);
  // append() rather than `" " + quote(a)`: GCC 12 warns falsely (-Wrestrict) on the temporary.
  for (const auto& a : args) command.append(" ").append(quote(a));
  return run_shell(command);
}

const fs::path& moby_dick_dataset() {
  static const fs::path dir = [] {
    // Under ctest the setup.moby_dick_dataset fixture has made it; a test program run by hand
    // makes it here (prepare reuses an identical dataset).
    const fs::path d = fs::path(COLLAPSE_TEST_WORK) / "moby-dick-512";
    if (fs::exists(d / "manifest.json")) return d;
    const auto r = run_collapse({"prepare", "--corpus", "moby-dick", "--out", d.string(),
                                 "--vocab-size", "512"});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "preparing moby-dick failed (is the corpus cache there? run "
                       "scripts/bootstrap.sh): "
                    << r.err;
    }
    return d;
  }();
  return dir;
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  const std::string v = ci;
  return !v.empty() && v != "0" && v != "false";
}

std::string reference_fixtures_unavailable(const std::filesystem::path& dir) {
  std::ifstream in(dir / "unavailable.txt");
  if (!in) return {};
  std::string why((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return why.empty() ? "(no reason given)" : why;
}

}  // namespace collapse::tests
