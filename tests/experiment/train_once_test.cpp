// train_once: one training per identity in a run folder, linked into every folder that asks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "collapse/experiment/train_once.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using collapse::read_file;
using collapse::train_once;
using collapse::tests::fresh_dir;
using collapse::tests::write_text;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A stand-in training: writes a checkpoint naming what it was trained on, and counts its calls.
struct FakeTrainer {
  int calls = 0;
  std::string content;
  void operator()(const fs::path& dir) {
    ++calls;
    fs::create_directories(dir / "logs");
    write_text(dir / "best.ckpt", content);
    write_text(dir / "logs" / "train_log.jsonl", "{}\n");
  }
};

}  // namespace

TEST(TrainOnce, TheSameIdentityIsTrainedOnceAndLinkedIntoEveryFolder) {
  const fs::path dir = fresh_dir("train-once-same");
  FakeTrainer trainer{0, "weights A"};
  const json identity = {{"steps", 12}, {"seed", 7}};
  auto train = [&](const fs::path& d) { trainer(d); };
  const auto first = train_once(dir / "shared", "gen0", identity, "arm-a seed 0", dir / "a" / "model", train);
  const auto second = train_once(dir / "shared", "gen0", identity, "arm-b seed 0", dir / "b" / "model", train);
  EXPECT_EQ(trainer.calls, 1);
  EXPECT_TRUE(first.trained_here);
  EXPECT_FALSE(second.trained_here);
  EXPECT_EQ(second.trained_by, "arm-a seed 0");
  EXPECT_EQ(first.shared, second.shared);
  EXPECT_EQ(read_file(dir / "b" / "model" / "best.ckpt"), "weights A");
  EXPECT_TRUE(fs::exists(dir / "b" / "model" / "logs" / "train_log.jsonl")) << "sub-folders too";
  EXPECT_TRUE(fs::equivalent(dir / "a" / "model" / "best.ckpt", dir / "b" / "model" / "best.ckpt"))
      << "hard links, not copies";
  const json recorded = json::parse(read_file(first.shared / "identity.json"));
  EXPECT_EQ(recorded["identity"], identity);
  EXPECT_EQ(recorded["trained_by"], "arm-a seed 0");
}

TEST(TrainOnce, ADifferentIdentityTrainsItsOwnModel) {
  const fs::path dir = fresh_dir("train-once-different");
  FakeTrainer trainer{0, "weights"};
  auto train = [&](const fs::path& d) { trainer(d); };
  const auto a = train_once(dir / "shared", "gen0", {{"steps", 12}}, "a", dir / "a", train);
  const auto b = train_once(dir / "shared", "gen0", {{"steps", 13}}, "b", dir / "b", train);
  EXPECT_EQ(trainer.calls, 2);
  EXPECT_NE(a.shared, b.shared);
  EXPECT_FALSE(fs::equivalent(dir / "a" / "best.ckpt", dir / "b" / "best.ckpt"));
}

TEST(TrainOnce, AnInterruptedTrainingIsRedoneFromItsStart) {
  const fs::path dir = fresh_dir("train-once-interrupted");
  const json identity = {{"steps", 5}};
  EXPECT_THROW(train_once(dir / "shared", "gen0", identity, "a", dir / "a",
                          [&](const fs::path& d) {
                            fs::create_directories(d);
                            write_text(d / "half.ckpt", "partial");
                            collapse::fail("killed midway");
                          }),
               collapse::Error);
  EXPECT_FALSE(fs::exists(dir / "a"));
  FakeTrainer trainer{0, "whole"};
  const auto again = train_once(dir / "shared", "gen0", identity, "b", dir / "b",
                                [&](const fs::path& d) { trainer(d); });
  EXPECT_TRUE(again.trained_here);
  EXPECT_EQ(trainer.calls, 1);
  EXPECT_FALSE(fs::exists(again.shared / "model" / "half.ckpt")) << "the partial folder is gone";
  EXPECT_EQ(read_file(dir / "b" / "best.ckpt"), "whole");
}

TEST(TrainOnce, RefusesAnExistingDestinationAndARecordOfAnotherTraining) {
  const fs::path dir = fresh_dir("train-once-refusals");
  FakeTrainer trainer{0, "w"};
  auto train = [&](const fs::path& d) { trainer(d); };
  const auto a = train_once(dir / "shared", "gen0", {{"steps", 1}}, "a", dir / "a", train);
  EXPECT_THROW(train_once(dir / "shared", "gen0", {{"steps", 1}}, "a", dir / "a", train), collapse::Error);
  // A record that does not match its key (a collision, or an edited file) is never reused.
  write_text(a.shared / "identity.json", json({{"identity", {{"steps", 2}}}, {"trained_by", "x"}}).dump());
  try {
    train_once(dir / "shared", "gen0", {{"steps", 1}}, "b", dir / "b", train);
    FAIL() << "expected an error";
  } catch (const collapse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("identity.json"), std::string::npos) << e.what();
  }
  EXPECT_EQ(trainer.calls, 1);
}
