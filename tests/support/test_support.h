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

// Whether the tests run in CI: the environment variable CI is set to anything but "", "0" or
// "false" (.ci/run sets it).
bool in_ci();

}  // namespace collapse::tests

// Where a reference (a Python library, a fixture it makes) is missing: a skip on a developer's
// machine, a failure in CI, where scripts/bootstrap.sh installs every reference, so that no
// reference test stops running unnoticed. `why` is a stream expression: "nltk not importable by "
// << COLLAPSE_PYTHON.
#define SKIP_WITHOUT_REFERENCE(why)                                                   \
  do {                                                                                \
    if (collapse::tests::in_ci()) FAIL() << "a reference test must run in CI: " << why; \
    GTEST_SKIP() << why;                                                              \
  } while (false)

// SKIP_WITHOUT_REFERENCE where the reference libraries are missing; fails the test where the
// fixtures of `dir` (listed in its kinds.json) were never made.
#define SKIP_WITHOUT_REFERENCE_FIXTURES(dir)                                                     \
  do {                                                                                           \
    const std::string why_unavailable = collapse::tests::reference_fixtures_unavailable(dir);    \
    if (!why_unavailable.empty()) SKIP_WITHOUT_REFERENCE("reference libraries missing: " << why_unavailable); \
    ASSERT_TRUE(std::filesystem::exists((dir) / "kinds.json"))                                   \
        << "no fixtures in " << (dir) << " (run ctest, whose setup makes them)";                 \
  } while (false)
