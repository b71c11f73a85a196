// Helpers shared by the test programs: temporary folders, running the `collapse` binary, and a
// small real dataset (moby-dick) prepared once per test program.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace collapse::tests {

// A fresh, empty folder for one test: <tmp>/collapse-tests-<pid>/<name>.
std::filesystem::path fresh_dir(const std::string& name);

void write_text(const std::filesystem::path& file, const std::string& text);

struct CommandResult {
  int exit_code;
  std::string out, err;
};
// Runs build/bin/collapse with `args` (each passed as one shell-quoted argument).
CommandResult run_collapse(const std::vector<std::string>& args);
// Runs a shell command line; stdout/stderr captured.
CommandResult run_shell(const std::string& command);

// moby-dick prepared with a 512-piece vocabulary in <build>/test-work (the ctest fixture
// setup.moby_dick_dataset makes it once per run).
// Fails the test with a clear message when the corpus cache is missing (run scripts/bootstrap.sh).
const std::filesystem::path& moby_dick_dataset();

}  // namespace collapse::tests
