// The memory a training run needs, counted from below (memory_estimate.h): a run the estimate
// refuses could never have fitted, so it must never count more than a real step holds.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <string>

#include "collapse/model/device.h"
#include "collapse/train/memory_estimate.h"
#include "collapse/train/trainer.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;

namespace {

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM": the resident set now, and its peak).
double status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field + ":")) return std::stod(line.substr(field.size() + 1)) * 1024.0;
  }
  ADD_FAILURE() << "no " << field << " in /proc/self/status";
  return 0.0;
}

ModelConfig measured_model() {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = 512;  // the moby-dick-512 dataset's
  c.n_layer = 4, c.n_head = 4, c.d_model = 256, c.ffn_hidden = 1024, c.context = 256;
  return c;
}

}  // namespace

TEST(MemoryEstimate, OptimizerStepHoldsWeightsGradientsAndBothAdamMoments) {
  const ModelConfig c = measured_model();
  const double parameters = static_cast<double>(c.parameters());
  const TrainingMemory m = estimate_training_memory(c, 1, 1, /*autocast=*/false);
  EXPECT_DOUBLE_EQ(m.weights, 4.0 * parameters);
  EXPECT_DOUBLE_EQ(m.gradients, 4.0 * parameters);
  EXPECT_DOUBLE_EQ(m.optimizer, 8.0 * parameters);
  // One token's activations are nothing beside the weights: the optimizer step is the peak.
  EXPECT_DOUBLE_EQ(m.peak(), 16.0 * parameters);
}

TEST(MemoryEstimate, ActivationsAndLogitsGrowWithTheTokensOfAMicroBatch) {
  const ModelConfig c = measured_model();
  const TrainingMemory one = estimate_training_memory(c, 4, 64, false);
  const TrainingMemory twice = estimate_training_memory(c, 8, 64, false);
  const TrainingMemory longer = estimate_training_memory(c, 4, 128, false);
  EXPECT_DOUBLE_EQ(twice.activations, 2.0 * one.activations);
  EXPECT_DOUBLE_EQ(longer.activations, 2.0 * one.activations);
  // The fp32 logits and their log-softmax: two values per token and vocabulary entry.
  EXPECT_DOUBLE_EQ(one.logits, 2.0 * 4 * 64 * 512 * 4.0);
  // Under bf16 autocast the activations take half the bytes; the logits stay fp32.
  const TrainingMemory bf16 = estimate_training_memory(c, 4, 64, true);
  EXPECT_DOUBLE_EQ(bf16.activations, one.activations / 2.0);
  EXPECT_DOUBLE_EQ(bf16.logits, one.logits);
  EXPECT_DOUBLE_EQ(bf16.weights, one.weights);
}

// The estimate's promise, measured: the peak resident memory two real training steps add (the
// second one has AdamW's moments) is at least the estimate, and the estimate is not so low that
// it would let absurd runs through: at least a third of the measured peak.
TEST(MemoryEstimate, IsBelowTheMeasuredPeakOfRealTrainingStepsAndNotFarBelow) {
  TrainOptions o;
  o.data = tests::moby_dick_dataset();
  o.out = tests::fresh_dir("memory-estimate");
  o.model = measured_model();
  o.batch_size = 16;
  o.steps = 2;
  o.eval_every = 1000;
  o.eval_tokens = 512;
  o.device = "cpu";
  const TrainingMemory estimate = estimate_training_memory(o.model, o.batch_size, o.model.context, false);

  std::ofstream("/proc/self/clear_refs") << "5";  // the peak (VmHWM) restarts from the resident set
  const double before = status_bytes("VmRSS");
  ASSERT_LE(status_bytes("VmHWM"), before + 16.0 * 1024 * 1024) << "the peak was not reset";
  train(o);
  const double added = status_bytes("VmHWM") - before;
  EXPECT_GE(added, estimate.peak()) << "estimated " << estimate.peak() / 1e6 << " MB, measured " << added / 1e6
                                    << " MB";
  EXPECT_LE(added, 3.0 * estimate.peak()) << "estimated " << estimate.peak() / 1e6 << " MB, measured "
                                          << added / 1e6 << " MB";
  std::cout << "estimated " << estimate.peak() / 1e6 << " MB, measured " << added / 1e6 << " MB\n";
}

TEST(MemoryEstimate, ARunThatCannotFitIsRefusedBeforeAnyAllocationNamingWhatToLower) {
  TrainOptions o;
  o.data = tests::moby_dick_dataset();
  o.out = tests::fresh_dir("memory-refused");
  o.model = ModelConfig::preset("base");
  o.model.context = 100000;
  o.steps = 1;
  o.device = "cpu";
  o.names = [](const std::string& key) { return "<" + key + ">"; };
  std::string message = "no error";
  try {
    train(o);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("training needs at least"), std::string::npos) << message;
  EXPECT_NE(message.find("micro-batches of 16 x 100000 tokens"), std::string::npos) << message;
  EXPECT_NE(message.find("lower <batch_size> or <context>"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(o.out / "last.ckpt"));
}

TEST(MemoryEstimate, TheCpuReportsTheMemoryItHasAvailable) {
  const std::int64_t available = available_memory_bytes(c10::Device(c10::kCPU));
  EXPECT_GT(available, std::int64_t{64} << 20);  // some memory, in bytes (not KiB)
  EXPECT_LE(static_cast<double>(available), status_bytes("VmRSS") + 1e15);
}
