// The dry run's time estimate is the work the config asks for over throughput measured on the
// same kind of device, phase by phase: training tokens over the training rate, valid-loss
// evaluations, prompt prefill and the test split and synthetic documents scored over the forward
// rate, decoded tokens over the decoding rate. Shared trainings count once, other model shapes
// are scaled by their forward FLOPs, and nothing unmeasured is guessed.
#include <gtest/gtest.h>

#include "collapse/experiment/experiment_config.h"
#include "collapse/experiment/time_estimate.h"

using namespace collapse;

namespace {

ExperimentConfig parse(const std::string& toml) { return parse_experiment(toml, "exp.toml"); }

// The tiny preset at context 64, vocabulary 2048: the shape the CPU rates were measured at.
const std::string kBase = R"(
name = "t"
generations = 3
[corpus]
vocab_size = 2048
[model]
preset = "tiny"
context = 64
[train]
steps = 100
gen0_steps = 200
batch_size = 16
eval_every = 50
[generate]
documents = 50
max_tokens = 20
)";

// kBase with `text` inserted after the line `after`.
std::string with(const std::string& after, const std::string& text) {
  std::string toml = kBase;
  toml.insert(toml.find(after) + after.size(), "\n" + text);
  return toml;
}

PlanInputs sizes() {
  PlanInputs in;
  in.device_kind = "cpu";
  in.real_train_documents = 40;
  in.real_train_tokens = 100000;
  in.valid_tokens = 1000;
  in.test_tokens = 5000;
  return in;
}

const MeasuredThroughput& tiny_cpu() {
  for (const MeasuredThroughput& m : measured_throughput()) {
    if (m.preset == "tiny" && m.device_kind == "cpu" && m.context == 64 && m.vocab_size == 2048) return m;
  }
  throw std::runtime_error("no tiny cpu row at context 64, vocab 2048");
}

double phase(const TimeEstimate& e, const std::string& name) {
  for (const auto& p : e.phases) {
    if (p.name == name) return p.seconds.value();
  }
  throw std::runtime_error("no phase " + name);
}

}  // namespace

TEST(TimeEstimate, EveryPhaseIsItsWorkOverTheMeasuredRate) {
  const ExperimentConfig c = parse(kBase + "[[arm]]\nname = \"a\"\n[[arm]]\nname = \"b\"\n\"mix.real_fraction\" = 0.5\n");
  const TimeEstimate e = estimate_time(c, sizes(), "cpu");
  const MeasuredThroughput& m = tiny_cpu();
  // Generation 0 (200 steps) is shared by both arms; generations 1-2 (100 steps) are per arm.
  const double train_tokens = 200.0 * 16 * 64 + 2 * 2 * 100.0 * 16 * 64;
  EXPECT_NEAR(phase(e, "train"), train_tokens / m.train_tokens_per_second, 1e-9);
  // Valid loss after every 50 steps: 4 times in generation 0, twice in each later one.
  EXPECT_NEAR(phase(e, "valid-loss evaluation"), (4 + 2 * 2 * 2) * 1000.0 / m.forward_tokens_per_second, 1e-9);
  // 6 generation runs of 50 documents: BOS prefilled, 20 tokens decoded each.
  EXPECT_NEAR(phase(e, "generate"), 6 * (50.0 / m.forward_tokens_per_second + 50.0 * 20 / m.decode_tokens_per_second),
              1e-9);
  // Each scores the 5000 test tokens, the 1000 synthetic tokens twice and 1000 real window tokens.
  EXPECT_NEAR(phase(e, "score"), 6 * (5000.0 + 3 * 1000.0) / m.forward_tokens_per_second, 1e-9);
  EXPECT_NEAR(phase(e, "curate"), 0.0, 1e-12);
  double total = 0;
  for (const auto& p : e.phases) total += *p.seconds;
  EXPECT_NEAR(e.seconds.value(), total, 1e-9);
  ASSERT_EQ(e.notes.size(), 1u);
  EXPECT_EQ(e.notes[0].second, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(e.notes[0].first.find("benchmarks/RESULTS.md"), std::string::npos);
}

TEST(TimeEstimate, BeamSearchDecodesEveryBeamAndRealPrefixPromptsArePrefilled) {
  const std::string prompted = "prompt = \"real-prefix:16\"\nmin_tokens = 20";
  const ExperimentConfig plain = parse(with("max_tokens = 20", prompted));
  const ExperimentConfig c = parse(with("max_tokens = 20", prompted) + "[sampler]\nbeams = 4\n");
  const MeasuredThroughput& m = tiny_cpu();
  const double beams = phase(estimate_time(c, sizes(), "cpu"), "generate");
  const double one = phase(estimate_time(plain, sizes(), "cpu"), "generate");
  EXPECT_NEAR(one, 3 * (50.0 * 17 / m.forward_tokens_per_second + 50.0 * 20 / m.decode_tokens_per_second), 1e-9);
  EXPECT_NEAR(beams, 4 * one, 1e-9);
}

TEST(TimeEstimate, TheOracleTrainsOncePerSeedAsCurationTime) {
  const ExperimentConfig c = parse(with("generations = 3", "seeds = [0, 1]") + R"(
[curate]
verifier = "oracle"
oracle_steps = 300
keep_top = 0.5
[[arm]]
name = "a"
[[arm]]
name = "b"
"curate.verifier_error" = 0.2
)");
  const MeasuredThroughput& m = tiny_cpu();
  const TimeEstimate e = estimate_time(c, sizes(), "cpu");
  // Per seed, once for both arms: 300 steps and 6 valid evaluations; per generation run (2 arms x
  // 2 seeds x 3), the oracle's perplexities of the 50 x 20 synthetic tokens.
  const double oracle = 2 * (300.0 * 16 * 64 / m.train_tokens_per_second + 6 * 1000.0 / m.forward_tokens_per_second);
  EXPECT_NEAR(phase(e, "curate"), oracle + 12 * 1000.0 / m.forward_tokens_per_second, 1e-9);
}

TEST(TimeEstimate, AnotherShapeOfThePresetIsScaledByForwardFlops) {
  std::string wide = kBase;
  wide.replace(wide.find("vocab_size = 2048"), 17, "vocab_size = 8192");
  const TimeEstimate narrow = estimate_time(parse(kBase), sizes(), "cpu");
  const TimeEstimate scaled = estimate_time(parse(wide), sizes(), "cpu");
  ModelConfig a = ModelConfig::preset("tiny"), b = a;
  a.context = b.context = 64;
  a.vocab_size = 2048;
  b.vocab_size = 8192;
  const double ratio = forward_flops_per_token(b) / forward_flops_per_token(a);
  EXPECT_GT(ratio, 1.5);  // the LM head dominates the tiny preset
  EXPECT_NEAR(phase(scaled, "train"), phase(narrow, "train") * ratio, 1e-9);
  EXPECT_NEAR(phase(scaled, "score"), phase(narrow, "score") * ratio, 1e-9);
  EXPECT_NE(scaled.notes[0].first.find("scaled by forward FLOPs per token"), std::string::npos);
}

TEST(TimeEstimate, WhatWasNeverMeasuredIsUnknownNotGuessed) {
  const TimeEstimate gpu = estimate_time(parse(kBase), sizes(), "cuda");
  EXPECT_FALSE(gpu.seconds);
  for (const auto& p : gpu.phases) EXPECT_FALSE(p.seconds) << p.name;
  std::string overridden = kBase;
  overridden.replace(overridden.find("context = 64"), 12, "context = 64\nd_model = 256");
  const TimeEstimate shape = estimate_time(parse(overridden), sizes(), "cpu");
  EXPECT_FALSE(shape.seconds);
  ASSERT_FALSE(shape.unknown.empty());
  EXPECT_NE(shape.unknown[0].find("preset with overrides"), std::string::npos) << shape.unknown[0];
  // The small preset's training was measured, its decoding and scoring not (yet).
  std::string small = kBase;
  small.replace(small.find("preset = \"tiny\""), 15, "preset = \"small\"");
  const TimeEstimate s = estimate_time(parse(small), sizes(), "cpu");
  EXPECT_FALSE(s.seconds);
  EXPECT_GT(phase(s, "train"), 0.0);
  // Without the splits' sizes, what depends on them is unknown.
  PlanInputs none;
  const TimeEstimate blind = estimate_time(parse(kBase), none, "cpu");
  EXPECT_FALSE(blind.seconds);
  EXPECT_GT(phase(blind, "train"), 0.0);
}
