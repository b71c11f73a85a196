// A training run killed with SIGKILL at an arbitrary moment and resumed ends exactly where an
// uninterrupted run does: same train_log.jsonl, same final weights' perplexity.
#include <gtest/gtest.h>

#include "collapse/util/atomic_file.h"
#include "support/test_support.h"

using collapse::tests::fresh_dir;
using collapse::tests::run_collapse;
using collapse::tests::run_shell;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> train_args(const fs::path& out) {
  return {"train", "--data", collapse::tests::moby_dick_dataset(), "--out", out, "--preset", "tiny",
          "--context", "32", "--batch-size", "4", "--steps", "150", "--eval-every", "50",
          "--eval-tokens", "2048", "--checkpoint-every", "7", "--log-every", "1", "--device", "cpu",
          "--seed", "5"};
}

std::string shell_line(const std::vector<std::string>& args) {
  std::string line = std::string("'") + COLLAPSE_BIN + "'";
  for (const auto& a : args) line += " '" + a + "'";
  return line;
}
}  // namespace

TEST(KillAndResume, ASigkilledRunResumesToTheUninterruptedResult) {
  const fs::path dir = fresh_dir("kill-resume");
  const auto whole = run_collapse(train_args(dir / "whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  // Start the run, wait until its second checkpoint lands, then SIGKILL it mid-training.
  const fs::path killed = dir / "killed";
  const auto kill = run_shell(
      shell_line(train_args(killed)) + " & pid=$!; " +
      "for i in $(seq 1 600); do grep -q '\"step\":14' '" + (killed / "train_log.jsonl").string() +
      "' 2>/dev/null && break; sleep 0.05; done; kill -9 $pid; wait $pid; echo status=$?");
  ASSERT_NE(kill.out.find("status=137"), std::string::npos) << "the run was not killed: " << kill.out;
  ASSERT_TRUE(fs::exists(killed / "last.ckpt"));
  // No temporary file may pose as a checkpoint.
  for (const auto& entry : fs::directory_iterator(killed)) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "last.ckpt" || name == "best.ckpt" || name == "train_log.jsonl" ||
                name.find(".tmp-") != std::string::npos)
        << name;
  }

  auto resume = train_args(killed);
  resume.push_back("--resume");
  const auto resumed = run_collapse(resume);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(collapse::read_file(killed / "train_log.jsonl"),
            collapse::read_file(dir / "whole" / "train_log.jsonl"));
}
