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

// Why the reference fixtures in `dir` (made by a ctest setup with Python libraries, see
// tests/support/reference_fixture.sh) are missing: the setup's unavailable.txt, or empty when
// they were made.
std::string reference_fixtures_unavailable(const std::filesystem::path& dir);

}  // namespace collapse::tests

// Skips the test where the reference libraries are missing; fails it where the fixtures of `dir`
// (listed in its kinds.json) were never made.
#define SKIP_WITHOUT_REFERENCE_FIXTURES(dir)                                                     \
  do {                                                                                           \
    const std::string why_unavailable = collapse::tests::reference_fixtures_unavailable(dir);    \
    if (!why_unavailable.empty()) GTEST_SKIP() << "reference libraries missing: " << why_unavailable; \
    ASSERT_TRUE(std::filesystem::exists((dir) / "kinds.json"))                                   \
        << "no fixtures in " << (dir) << " (run ctest, whose setup makes them)";                 \
  } while (false)

namespace collapse::tests {

}  // namespace collapse::tests
