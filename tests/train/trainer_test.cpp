#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "collapse/data/dataset.h"
#include "collapse/model/load_model.h"
#include "collapse/train/trainer.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;

namespace {

TrainOptions quick_options(const std::string& name) {
  TrainOptions o;
  o.data = tests::moby_dick_dataset();
  o.out = tests::fresh_dir(name);
  o.model = ModelConfig::preset("tiny");
  o.model.context = 32;
  o.steps = 24;
  o.batch_size = 4;
  o.eval_every = 8;
  o.eval_tokens = 2048;
  o.checkpoint_every = 5;
  o.log_every = 1;
  o.lr = 3e-3;
  o.device = "cpu";
  o.seed = 3;
  return o;
}

std::string train_log(const fs::path& run) { return read_file(run / "train_log.jsonl"); }

struct Interrupted {};

}  // namespace

TEST(Trainer, LearnsAndKeepsTheBestCheckpoint) {
  TrainOptions o = quick_options("train-basic");
  o.steps = 60;
  std::vector<double> losses;
  const TrainResult r = train(o, [&](const StepReport& s) { losses.push_back(s.loss); });
  ASSERT_EQ(losses.size(), 60u);
  EXPECT_LT(losses.back(), losses.front() - 0.5);
  EXPECT_TRUE(fs::exists(o.out / "best.ckpt"));
  EXPECT_TRUE(fs::exists(o.out / "last.ckpt"));
  // "Best" is read off the log, not off train()'s own answer: the evaluation with the lowest
  // valid loss (the first of equals) is the step best.ckpt holds.
  std::int64_t logged_best_step = -1, evaluations = 0;
  double logged_best = std::numeric_limits<double>::infinity();
  std::istringstream lines(train_log(o.out));
  for (std::string line; std::getline(lines, line);) {
    const auto record = nlohmann::json::parse(line);
    if (!record.contains("valid_loss")) continue;
    ++evaluations;
    if (record["valid_loss"].get<double>() < logged_best) {
      logged_best = record["valid_loss"].get<double>();
      logged_best_step = record["step"].get<std::int64_t>();
    }
  }
  EXPECT_EQ(evaluations, 8) << "every 8 steps and at the last";
  const CheckpointMeta best = read_checkpoint_meta(o.out / "best.ckpt");
  EXPECT_EQ(best.state["step"].get<std::int64_t>(), logged_best_step);
  EXPECT_DOUBLE_EQ(best.state["best_valid_loss"].get<double>(), logged_best);
  EXPECT_EQ(r.best_step, logged_best_step);
  EXPECT_EQ(read_checkpoint_meta(o.out / "last.ckpt").state["step"].get<std::int64_t>(), 60);
}

TEST(Trainer, SameSeedAndSettingsGiveTheSameLossCurve) {
  const TrainOptions a = quick_options("train-det-a"), b = quick_options("train-det-b");
  train(a);
  train(b);
  EXPECT_EQ(train_log(a.out), train_log(b.out));
  TrainOptions c = quick_options("train-det-c");
  c.seed = 4;
  train(c);
  EXPECT_NE(train_log(a.out), train_log(c.out));
}

TEST(Trainer, AResumedRunEndsExactlyWhereAnUninterruptedOneDoes) {
  const TrainOptions whole = quick_options("train-whole");
  train(whole);

  TrainOptions killed = quick_options("train-killed");
  // Dies after step 13: the last checkpoint is the one of step 10, so steps 11-13 are redone.
  EXPECT_THROW(train(killed, [](const StepReport& s) {
                 if (s.step == 13) throw Interrupted{};
               }),
               Interrupted);
  EXPECT_EQ(read_checkpoint_meta(killed.out / "last.ckpt").state["step"], 10);
  killed.resume = true;
  train(killed);
  EXPECT_EQ(train_log(killed.out), train_log(whole.out));
}

TEST(Trainer, RefusesToResumeWithOtherSettingsOrToOverwriteARun) {
  TrainOptions o = quick_options("train-refuse");
  o.steps = 5;
  train(o);
  EXPECT_THROW(train(o), Error);  // a run is there and --resume was not given
  o.resume = true;
  o.lr = 1e-3;
  try {
    train(o);
    FAIL() << "resumed with a different lr";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lr: 0.003 -> 0.001"), std::string::npos) << e.what();
  }
  TrainOptions fresh = quick_options("train-nothing-to-resume");
  fresh.resume = true;
  EXPECT_THROW(train(fresh), Error);
}

TEST(Trainer, StopsOnANonFiniteLossAndKeepsTheLastGoodCheckpoint) {
  TrainOptions good = quick_options("train-nan-source");
  good.steps = 5;
  train(good);
  // Finite weights so large that the logits overflow (a hand-edited --init) make the very first
  // loss non-finite. (NaN weights themselves are refused on loading: checkpoint_test.cpp.)
  LoadedModel m = load_model(good.out / "best.ckpt", c10::Device(c10::kCPU));
  {
    torch::NoGradGuard no_grad;
    m.model->norm->weight.fill_(1e38f);
  }
  const fs::path poisoned = tests::fresh_dir("train-nan-init") / "huge.ckpt";
  save_checkpoint(poisoned, m.model, m.meta);

  TrainOptions o = quick_options("train-nan");
  o.init = poisoned;
  try {
    train(o);
    FAIL() << "a non-finite loss did not stop training";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged at step 1: the loss is "), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out / "best.ckpt"));
  // The earlier run's checkpoints are untouched.
  EXPECT_EQ(read_checkpoint_meta(good.out / "last.ckpt").state["step"], 5);
}

TEST(Trainer, FineTunesFromAnInitCheckpointWithItsShape) {
  TrainOptions base = quick_options("train-init-base");
  base.steps = 5;
  train(base);
  TrainOptions o = quick_options("train-init");
  o.steps = 3;
  o.init = base.out / "best.ckpt";
  o.model.n_layer = 3;  // ignored: --init decides the shape
  train(o);
  EXPECT_EQ(read_checkpoint_meta(o.out / "best.ckpt").model.n_layer, 2);
}

TEST(Trainer, ResumesARunKilledBeforeItsFirstEvaluation) {
  TrainOptions whole = quick_options("train-early-whole");
  whole.checkpoint_every = 3;  // last.ckpt at step 3 holds no valid loss yet
  train(whole);
  TrainOptions killed = quick_options("train-early-killed");
  killed.checkpoint_every = 3;
  EXPECT_THROW(train(killed, [](const StepReport& s) {
                 if (s.step == 4) throw Interrupted{};
               }),
               Interrupted);
  killed.resume = true;
  train(killed);
  EXPECT_EQ(train_log(killed.out), train_log(whole.out));
}

TEST(Trainer, ResumingAFinishedRunChangesNothingAndReportsItsResult) {
  TrainOptions o = quick_options("train-finished");
  o.steps = 6;
  const TrainResult first = train(o);
  const std::string log = train_log(o.out);
  o.resume = true;
  const TrainResult again = train(o);
  EXPECT_EQ(train_log(o.out), log);
  EXPECT_DOUBLE_EQ(again.final_loss, first.final_loss);
  EXPECT_DOUBLE_EQ(again.best_valid_loss, first.best_valid_loss);
}

TEST(Trainer, RefusesAnInitModelOfAnotherVocabulary) {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = 64;
  GPT other(c);
  const fs::path file = tests::fresh_dir("train-init-other") / "other.ckpt";
  save_checkpoint(file, other, CheckpointMeta{.model = c});
  TrainOptions o = quick_options("train-init-mismatch");
  o.init = file;
  try {
    train(o);
    FAIL() << "trained from a model with another vocabulary";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has vocabulary 64"), std::string::npos) << e.what();
  }
}

TEST(Trainer, EpochsSetTheStepCountFromTheTrainTokens) {
  TrainOptions o = quick_options("train-epochs");
  o.steps = 0;
  o.epochs = 0.01;
  o.grad_accum = 2;
  const TrainResult r = train(o);
  // moby-dick-512's train stream: tokens + BOS/EOS per document; one step reads
  // batch * accum * context tokens.
  const auto& training = read_checkpoint_meta(o.out / "last.ckpt").training;
  EXPECT_EQ(training["total_steps"], r.steps);
  const Dataset data(o.data);
  const auto stream_tokens = data.manifest()["splits"]["train"]["tokens"].get<std::int64_t>() +
                             2 * data.manifest()["splits"]["train"]["documents"].get<std::int64_t>();
  EXPECT_EQ(r.steps, static_cast<std::int64_t>(std::ceil(0.01 * static_cast<double>(stream_tokens - 1) /
                                                          (4.0 * 2 * 32))));
  EXPECT_TRUE(std::isfinite(r.final_loss));
}

TEST(Trainer, ARunKilledBeforeItsFirstLastCheckpointStartsOver) {
  // eval_every < checkpoint_every: best.ckpt appears at step 8, last.ckpt not before step 20.
  TrainOptions o = quick_options("train-best-only");
  o.checkpoint_every = 20;
  EXPECT_THROW(train(o, [](const StepReport& s) {
                 if (s.step == 10) throw Interrupted{};
               }),
               Interrupted);
  ASSERT_TRUE(fs::exists(o.out / "best.ckpt"));
  ASSERT_FALSE(fs::exists(o.out / "last.ckpt"));
  train(o);  // neither "already holds a run" nor "nothing to resume"
  TrainOptions whole = quick_options("train-best-only-whole");
  whole.checkpoint_every = 20;
  train(whole);
  EXPECT_EQ(train_log(o.out), train_log(whole.out));

  // Another run's best.ckpt is not overwritten.
  TrainOptions other = quick_options("train-best-only-other");
  fs::copy_file(o.out / "best.ckpt", other.out / "best.ckpt");
  other.seed = 99;
  EXPECT_THROW(train(other), Error);
}
