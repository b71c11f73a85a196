// Experiment configs (experiment_config.h): defaults, arms, every kind of error in one line, the
// resolved TOML read back, and the work plan.
#include <gtest/gtest.h>

#include <fstream>

#include "collapse/experiment/experiment_config.h"
#include "collapse/experiment/work_plan.h"
#include "collapse/util/error.h"
#include "collapse/util/json_diff.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;

namespace {

ExperimentConfig parse(const std::string& toml) { return parse_experiment(toml, "exp.toml"); }

// The error message of parsing `toml`; fails the test when it parses.
std::string error_of(const std::string& toml) {
  try {
    parse(toml);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    EXPECT_TRUE(message.starts_with("exp.toml")) << message;
    return message;
  }
  ADD_FAILURE() << "parsed without an error:\n" << toml;
  return "";
}

const ArmConfig& arm(const ExperimentConfig& c, const std::string& name) { return c.arm(name); }

TEST(ExperimentConfig, DefaultsMakeOneDefaultArm) {
  const ExperimentConfig c = parse("name = \"x\"\n");
  EXPECT_EQ(c.name, "x");
  EXPECT_FALSE(c.explicit_arms);
  ASSERT_EQ(c.arms.size(), 1u);
  EXPECT_EQ(c.arms[0].name, "default");
  EXPECT_TRUE(c.arms[0].overrides.empty());
  const ExperimentSettings& s = c.arms[0].settings;
  EXPECT_EQ(s, ExperimentSettings{});
  EXPECT_EQ(s.seeds, std::vector<std::uint64_t>{0});
  EXPECT_EQ(s.generations, 5);
  EXPECT_EQ(s.device, "auto");
  EXPECT_EQ(s.corpus.source, "sotu");
  EXPECT_EQ(s.corpus.vocab_size, 4096);
  EXPECT_EQ(s.model.preset, "tiny");
  EXPECT_EQ(s.model.resolve(4096).context, 128);
  EXPECT_EQ(s.train.steps, 600);
  EXPECT_EQ(s.train.init, TrainInit::scratch);
  EXPECT_EQ(s.train.steps_for(0), 600);
  EXPECT_EQ(s.generate.documents.kind, SizeSpec::Kind::same);
  EXPECT_EQ(s.generate.prompt, "bos");
  EXPECT_EQ(s.sampler.temperature, 1.0f);
  EXPECT_EQ(s.mix.regime, MixRegime::replace);
  EXPECT_EQ(s.mix.synthetic.kind, SizeSpec::Kind::all);
  EXPECT_FALSE(s.curate.ppl_filter_enabled());
  EXPECT_TRUE(s.score.metrics.empty());
  // Every key is in the flat JSON, and every key of it is documented.
  const nlohmann::json flat = s.to_json();
  const auto keys = experiment_config_keys();
  EXPECT_EQ(flat.size(), keys.size());
  for (const ConfigKey& k : keys) {
    EXPECT_TRUE(flat.contains(k.key)) << k.key;
    EXPECT_FALSE(k.allowed.empty()) << k.key;
  }
  EXPECT_EQ(flat.at("train.steps"), 600);
  EXPECT_EQ(flat.at("generate.documents"), "same");
  EXPECT_EQ(flat.at("sampler.top_p"), 1.0);
}

TEST(ExperimentConfig, ArmsOverrideDottedAndNestedKeys) {
  const ExperimentConfig c = parse(R"(
name = "retention"
seeds = [0, 1, 2]
generations = 3
[mix]
real_fraction = 0.1
[train]
steps = 200
gen0_steps = 400
init = "gen0"
[generate]
documents = "tokens:5000"

[[arm]]
name = "keep-0"
"mix.real_fraction" = 0.0

[[arm]]
name = "keep-20"
[arm.mix]
real_fraction = 0.2
[arm.sampler]
top_p = 0.9
order = ["temperature", "top_p", "top_k", "min_p", "typical_p", "penalties", "repetition_penalty"]

[[arm]]
name = "dotted.toml-keys"
train.steps = 10
generate.documents = 30
mix.synthetic = "tokens:100"

[[arm]]
name = "same"
)");
  EXPECT_TRUE(c.explicit_arms);
  ASSERT_EQ(c.arms.size(), 4u);
  EXPECT_EQ(c.base.mix.real_fraction, 0.1);
  EXPECT_EQ(c.base.train.steps_for(0), 400);
  EXPECT_EQ(c.base.train.steps_for(1), 200);
  EXPECT_EQ(c.base.generate.documents, (SizeSpec{SizeSpec::Kind::tokens, 5000}));

  const ArmConfig& keep0 = arm(c, "keep-0");
  EXPECT_EQ(keep0.settings.mix.real_fraction, 0.0);
  EXPECT_EQ(keep0.settings.train.steps, 200);  // from the base
  EXPECT_EQ(keep0.settings.seeds.size(), 3u);
  EXPECT_EQ(keep0.overrides, (nlohmann::json{{"mix.real_fraction", 0.0}}));

  const ArmConfig& keep20 = arm(c, "keep-20");
  EXPECT_EQ(keep20.settings.mix.real_fraction, 0.2);
  EXPECT_EQ(keep20.settings.sampler.top_p, 0.9f);
  EXPECT_EQ(keep20.settings.sampler.order.front(), SamplerStep::temperature);
  EXPECT_EQ(keep20.overrides.size(), 3u);

  const ArmConfig& dotted = arm(c, "dotted.toml-keys");
  EXPECT_EQ(dotted.settings.train.steps, 10);
  EXPECT_EQ(dotted.settings.generate.documents, (SizeSpec{SizeSpec::Kind::documents, 30}));
  EXPECT_EQ(dotted.settings.mix.synthetic, (SizeSpec{SizeSpec::Kind::tokens, 100}));
  EXPECT_EQ(dotted.settings.mix.real_fraction, 0.1);

  EXPECT_TRUE(arm(c, "same").overrides.empty());
  EXPECT_EQ(arm(c, "same").settings, c.base);

  // Diffs name exactly the changed keys.
  EXPECT_EQ(json_differences(c.base.to_json(), dotted.to_json()),
            "generate.documents: \"tokens:5000\" -> 30, mix.synthetic: \"all\" -> \"tokens:100\", "
            "train.steps: 200 -> 10");
  try {
    c.arm("nope");
    ADD_FAILURE() << "no error for an unknown arm";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "exp.toml: no arm named 'nope' (the arms are keep-0, keep-20, dotted.toml-keys, same)");
  }
}

TEST(ExperimentConfig, UnknownKeysSuggestTheClosest) {
  EXPECT_EQ(error_of("name = \"x\"\n[sampler]\ntopp = 0.9\n"),
            "exp.toml: unknown key 'sampler.topp' (did you mean 'sampler.top_p'?)");
  EXPECT_EQ(error_of("name = \"x\"\nseed = [1]\n"),
            "exp.toml: unknown key 'seed' (did you mean 'seeds'?)");
  // The right name in the wrong section.
  EXPECT_EQ(error_of("name = \"x\"\n[train]\ntemperature = 0.5\n"),
            "exp.toml: unknown key 'train.temperature' (did you mean 'sampler.temperature'?)");
  // Nothing close: the section's keys, or the sections.
  const std::string keys = error_of("name = \"x\"\n[curate]\nzzzzzzzz = 1\n");
  EXPECT_TRUE(keys.starts_with("exp.toml: unknown key 'curate.zzzzzzzz' (the keys of [curate] "
                               "are verifier, oracle_steps,"))
      << keys;
  const std::string sections = error_of("name = \"x\"\n[optimizer]\nbeta = 0.9\n");
  EXPECT_NE(sections.find("sections: corpus, model, train, generate, sampler, mix, curate, score"),
            std::string::npos)
      << sections;
  // In an arm, the error names the arm.
  EXPECT_EQ(error_of("name = \"x\"\n[[arm]]\nname = \"a\"\n\"mix.real_fractoin\" = 0.1\n"),
            "exp.toml: arm 'a': unknown key 'mix.real_fractoin' (did you mean "
            "'mix.real_fraction'?)");
  EXPECT_EQ(error_of("name = \"x\"\n[[arm]]\nname = \"a\"\n[arm.trian]\nsteps = 5\n"),
            "exp.toml: arm 'a': unknown key 'trian.steps' (did you mean 'train.steps'?)");
}

TEST(ExperimentConfig, WrongTypesAndRangesNameKeyAndAllowedValues) {
  EXPECT_EQ(error_of("name = \"x\"\n[train]\nsteps = -3\n"),
            "exp.toml: [train] steps must be a positive integer, got -3");
  EXPECT_EQ(error_of("name = \"x\"\n[train]\nsteps = \"600\"\n"),
            "exp.toml: [train] steps must be a positive integer, got \"600\"");
  EXPECT_EQ(error_of("name = \"x\"\n[train]\nsteps = 1.5\n"),
            "exp.toml: [train] steps must be a positive integer, got 1.5");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nreal_fraction = 1.5\n"),
            "exp.toml: [mix] real_fraction must be a number in [0, 1], got 1.5");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nregime = \"mixed\"\n"),
            "exp.toml: [mix] regime must be \"replace\", \"accumulate\" or \"fresh\", got \"mixed\"");
  EXPECT_EQ(error_of("name = \"x\"\n[train]\ninit = 0\n"),
            "exp.toml: [train] init must be \"scratch\", \"gen0\", \"previous\" or \"pretrained\", got 0");
  EXPECT_EQ(error_of("name = \"x\"\nseeds = [0, 0]\n"),
            "exp.toml: seeds must be a non-empty list of distinct non-negative integers, got [0,0]");
  EXPECT_EQ(error_of("name = \"x\"\nseeds = []\n"),
            "exp.toml: seeds must be a non-empty list of distinct non-negative integers, got []");
  EXPECT_EQ(error_of("name = \"x\"\ngenerations = 0\n"),
            "exp.toml: generations must be an integer in [1, 1000], got 0");
  EXPECT_EQ(error_of("name = \"x\"\ndevice = \"gpu\"\n"),
            "exp.toml: device must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\", got \"gpu\"");
  EXPECT_EQ(error_of("name = \"x\"\n[generate]\ndocuments = \"tokens:many\"\n"),
            "exp.toml: [generate] documents must be a positive integer (documents), \"tokens:N\" "
            "or \"same\", got \"tokens:many\"");
  EXPECT_EQ(error_of("name = \"x\"\n[generate]\nprompt = \"real-prefix:0\"\n"),
            "exp.toml: [generate] prompt must be \"bos\", \"real-prefix:K\" (K >= 1) or "
            "\"file:PATH\", got \"real-prefix:0\"");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nppl_filter = [0.9, 0.1]\n"),
            "exp.toml: [curate] ppl_filter must be two quantiles [low, high] with 0 <= low < high "
            "<= 1, got [0.9,0.1]");
  EXPECT_EQ(error_of("name = \"x\"\n[corpus]\nvocab_size = 100\n"),
            "exp.toml: [corpus] vocab_size must be an integer in [324, 1048576] (256 byte pieces "
            "+ special ids + merges), got 100");
  EXPECT_EQ(error_of("name = \"x\"\n[generate]\nkeep_prompt = 1\n"),
            "exp.toml: [generate] keep_prompt must be true or false, got 1");
  EXPECT_EQ(error_of("name = \"x\"\n[generate]\ndecode = \"cudagraph\"\n"),
            "exp.toml: [generate] decode must be \"auto\", \"eager\", \"fixed\" or \"graph\", "
            "got \"cudagraph\"");
  EXPECT_TRUE(error_of("name = \"x\"\n[score]\nmetrics = [\"distinct_9\"]\n")
                  .starts_with("exp.toml: [score] metrics names an unknown metric 'distinct_9' "
                               "(the metrics are test_perplexity, distinct_1, "));
  // Sampler keys go through SamplerConfig (its checks, reworded to name the key).
  EXPECT_EQ(error_of("name = \"x\"\n[sampler]\ntemperature = -1\n"),
            "exp.toml: [sampler] temperature must be a number >= 0 (0 = greedy, 1 = off), got -1");
  EXPECT_EQ(error_of("name = \"x\"\n[sampler]\ntop_p = 2.0\n"),
            "exp.toml: [sampler] top_p must be a number in (0, 1] (1 = off), got 2");
  const std::string top_k = error_of("name = \"x\"\n[sampler]\ntop_k = 0.5\n");
  EXPECT_NE(top_k.find("top_k"), std::string::npos) << top_k;
  EXPECT_EQ(error_of("name = \"x\"\n[[arm]]\nname = \"hot\"\n\"sampler.temperature\" = -2\n"),
            "exp.toml: arm 'hot': [sampler] temperature must be a number >= 0 (0 = greedy, 1 = off), "
            "got -2");
  EXPECT_EQ(error_of("name = \"x\"\n[[arm]]\nname = \"a\"\n[arm.mix]\nreal_fraction = 1.5\n"),
            "exp.toml: arm 'a': [mix] real_fraction must be a number in [0, 1], got 1.5");
}

TEST(ExperimentConfig, ChecksAcrossKeys) {
  EXPECT_EQ(error_of("name = \"x\"\n[model]\nn_head = 3\n"),
            "exp.toml: [model] d_model 128 is not divisible by [model] n_head 3 (preset 'tiny' with "
            "the [model] overrides)");
  EXPECT_EQ(error_of("name = \"x\"\n[generate]\nprompt = \"real-prefix:64\"\n"),
            "exp.toml: [generate] BOS + the prompt (64 tokens) + max_tokens 127 = 192 positions "
            "exceed the model context 128; lower max_tokens or raise [model] context");
  EXPECT_EQ(error_of("name = \"x\"\n[generate]\nmin_tokens = 200\n"),
            "exp.toml: [generate] min_tokens must be in [0, max_tokens = 127], got 200");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nregime = \"fresh\"\n"),
            "exp.toml: [mix] fresh_documents must be a positive integer with regime = \"fresh\", "
            "got 0");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nfresh_documents = 10\n"),
            "exp.toml: [mix] fresh_documents is only used with regime = \"fresh\" (regime is "
            "\"replace\"): set it to 0, got 10");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nbest_of_k = 4\n[sampler]\nbeams = 5\n"),
            "exp.toml: [curate] best_of_k = 4 needs random sampling, but the sampler is "
            "deterministic (beam search): every candidate would be the same");
  EXPECT_EQ(error_of("name = \"x\"\n[corpus]\nvalid_fraction = 0.5\ntest_fraction = 0.5\n"),
            "exp.toml: [corpus] valid_fraction + test_fraction must be < 1 (documents are left to "
            "train on), got 0.5 + 0.5");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nreal_fraction = 0.1\nreal_documents = 50\n"),
            "exp.toml: [mix] real_documents = 50 and real_fraction = 0.1 both say how much real data "
            "is kept: set one of them");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nregime = \"accumulate\"\nreal_documents = 50\n"),
            "exp.toml: [mix] real_documents = 50 keeps real data with regime \"replace\" or "
            "\"fresh\"; \"accumulate\" keeps all of it (draw a smaller training set with [mix] "
            "train_size)");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nsynthetic_share = 0.5\ntrain_size = 100\n"),
            "exp.toml: [mix] synthetic_share = 0.5 is a share of tokens, so [mix] train_size must be "
            "in tokens (\"tokens:N\" or \"same\"), got \"100\"");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\ntrain_size = \"all\"\n"),
            "exp.toml: [mix] train_size must be a positive integer (documents), \"tokens:N\", \"pool\" "
            "or \"same\", got \"all\"");
  EXPECT_EQ(error_of("name = \"x\"\n[mix]\nsynthetic_share = 1.5\n"),
            "exp.toml: [mix] synthetic_share must be \"off\" or a number in [0, 1], got 1.5");
  EXPECT_EQ(error_of("name = \"x\"\n[train]\nreal_weight = 0\nsynthetic_weight = 0\n"),
            "exp.toml: [train] real_weight and synthetic_weight are both 0: no token would be learned from");
  EXPECT_EQ(error_of("name = \"x\"\n[train]\nsynthetic_weight = -1\n"),
            "exp.toml: [train] synthetic_weight must be a number >= 0, got -1");
  const ExperimentConfig subsample =
      parse("name = \"x\"\n[mix]\nregime = \"accumulate\"\ntrain_size = \"same\"\nsynthetic_share = 0.25\n");
  EXPECT_EQ(subsample.arm("default").settings.mix.train_size.kind, SizeSpec::Kind::same);
  EXPECT_DOUBLE_EQ(subsample.arm("default").settings.mix.synthetic_share, 0.25);
  // An arm that fixes what the base leaves invalid for it is checked as a whole, too.
  const ExperimentConfig fresh = parse(
      "name = \"x\"\n[[arm]]\nname = \"f\"\nmix.regime = \"fresh\"\nmix.fresh_documents = 20\n");
  EXPECT_EQ(fresh.arm("f").settings.mix.fresh_documents, 20);
}

TEST(ExperimentConfig, CurationKeysOnlyMeanSomethingTogether) {
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nverifier = \"oracle\"\n"),
            "exp.toml: [curate] verifier = \"oracle\" ranks documents for best_of_k, ppl_filter and "
            "keep_top, but none of them is on: set one, or remove the verifier");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nverifier_error = 0.2\n"),
            "exp.toml: [curate] verifier_error = 0.2 flips the verifier's keep/drop decisions, but no "
            "step uses the verifier (best_of_k, ppl_filter, keep_top): set one, or remove "
            "verifier_error");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nkeep_top = 0.5\noracle_steps = 100\n"),
            "exp.toml: [curate] oracle_steps = 100 sizes the oracle verifier, but [curate] verifier is "
            "\"gen0\": set verifier = \"oracle\", or remove oracle_steps");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nkeep_top = 0.5\noracle_preset = \"small\"\n"),
            "exp.toml: [curate] oracle_preset = \"small\" shapes the oracle verifier, but [curate] "
            "verifier is \"gen0\": set verifier = \"oracle\", or remove oracle_preset");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nresample_clip = 3\n"),
            "exp.toml: [curate] resample_clip = 3 bounds the detector's weights, but [curate] "
            "resample is \"none\": set resample = \"detector\", or remove resample_clip");
  EXPECT_EQ(error_of("name = \"x\"\n[score]\nmetrics = [\"detector_accuracy\"]\n"),
            "exp.toml: [score] metrics lists detector_accuracy, which the detector of [curate] "
            "resample = \"detector\" measures, but resample is \"none\"");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nkeep_top = 0\n"),
            "exp.toml: [curate] keep_top must be a number in (0, 1] (1 = off), got 0");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nkeep_top = 0.5\nverifier = \"no/such/model\"\n"),
            "exp.toml: [curate] verifier \"no/such/model\": no model folder or file at " +
                (fs::absolute(fs::path("no/such/model"))).lexically_normal().string() +
                " (nor is it \"gen0\" or \"oracle\")");
  EXPECT_EQ(error_of("name = \"x\"\n[curate]\nresample = \"importance\"\n"),
            "exp.toml: [curate] resample must be \"none\" or \"detector\", got \"importance\"");
  const ExperimentConfig feng = parse(
      "name = \"x\"\n[curate]\nverifier = \"oracle\"\noracle_steps = 900\noracle_preset = \"small\"\n"
      "keep_top = 0.5\nverifier_error = 0.1\nresample = \"detector\"\nresample_clip = 4\n");
  const CurateSettings& c = feng.arm("default").settings.curate;
  EXPECT_EQ(c.verifier_kind(), VerifierKind::oracle);
  EXPECT_EQ(c.oracle_steps, 900);
  EXPECT_EQ(c.describe(),
            "keep_top 0.5, verifier_error 0.1 by the oracle verifier; resample by detector (clip 4)");
  EXPECT_EQ(CurateSettings{}.describe(), "none");
}

TEST(ExperimentConfig, NamesArmsAndTomlErrors) {
  EXPECT_EQ(error_of("seeds = [0]\n"),
            "exp.toml: the key 'name' is missing (the experiment's name, [A-Za-z0-9_.-]+)");
  const std::string bad_name = error_of("name = \"my exp\"\n");
  EXPECT_TRUE(bad_name.starts_with("exp.toml: name must be a string of at most 100 letters")) << bad_name;
  EXPECT_TRUE(bad_name.ends_with("got \"my exp\"")) << bad_name;
  EXPECT_EQ(error_of("name = \"x\"\n[[arm]]\nname = \"a\"\n[[arm]]\nname = \"a\"\n"),
            "exp.toml: two arms are named 'a': arm names must be unique");
  const std::string bad_arm = error_of("name = \"x\"\n[[arm]]\nname = \"../a\"\n");
  EXPECT_TRUE(bad_arm.starts_with("exp.toml: arm 1: name must be")) << bad_arm;
  EXPECT_EQ(error_of("name = \"x\"\n[[arm]]\nsteps = 3\n"), "exp.toml: arm 1 (line 2) has no name");
  EXPECT_EQ(error_of("name = \"x\"\n[arm]\nname = \"a\"\n"),
            "exp.toml: 'arm' must be an array of tables: write each arm as [[arm]] with a name");
  EXPECT_EQ(error_of("name = \"x\"\n\"train.steps\" = 5\n[train]\nsteps = 6\n"),
            "exp.toml: key 'train.steps' is set twice (dotted and as a table?)");
  const std::string syntax = error_of("name = \"x\"\nseeds = [0,\n");
  EXPECT_TRUE(syntax.starts_with("exp.toml:")) << syntax;
  EXPECT_NE(syntax.find("invalid TOML"), std::string::npos) << syntax;

  EXPECT_TRUE(valid_run_name("keep-0.1_b"));
  EXPECT_FALSE(valid_run_name(""));
  EXPECT_FALSE(valid_run_name("."));
  EXPECT_FALSE(valid_run_name(".hidden"));
  EXPECT_FALSE(valid_run_name("-flag"));
  EXPECT_FALSE(valid_run_name("a/b"));
  EXPECT_FALSE(valid_run_name("data"));
  EXPECT_FALSE(valid_run_name("metrics.csv"));
}

constexpr const char* kRich = R"(
name = "rich"
seeds = [3, 1]
generations = 4
device = "cpu"
[corpus]
source = "my-corpus.jsonl"
vocab_size = 1024
test_fraction = 0.1
[model]
preset = "small"
context = 96
[train]
epochs = 2.5
lr = 1e-4
init = "previous"
[generate]
documents = 7
max_tokens = 32
prompt = "file:prompts/p.txt"
keep_prompt = true
decode = "fixed"
[sampler]
temperature = 0.7
top_k = 40
min_p = 0.05
repetition_penalty = 1.3
[mix]
regime = "accumulate"
synthetic = "tokens:1000"
[curate]
ppl_filter = [0.1, 0.9]
dedup = "minhash"
best_of_k = 2
[score]
metrics = ["test_perplexity", "distinct_2"]

[[arm]]
name = "b"
"sampler.temperature" = 0.3
"curate.dedup" = "exact"
[[arm]]
name = "a"
seeds = [7]
)";

TEST(ExperimentConfig, ResolvedTomlReadsBackTheSameConfig) {
  const fs::path dir = tests::fresh_dir("experiment_round_trip");
  tests::write_text(dir / "exp.toml", kRich);
  const ExperimentConfig c = load_experiment(dir / "exp.toml");
  // Paths are resolved against the file's folder.
  EXPECT_EQ(c.base.corpus.source, (dir / "my-corpus.jsonl").string());
  EXPECT_EQ(c.base.generate.prompt, "file:" + (dir / "prompts/p.txt").string());
  EXPECT_EQ(c.base.generate.decode, DecodeMode::fixed);

  const std::string resolved = resolved_toml(c);
  // Every default is written out.
  for (const char* line : {"split_seed = 0\n", "warmup_steps = 50\n", "typical_p = 1.0\n",
                           "fresh_documents = 0\n", "minhash_ngram = 5\n", "steps = 600\n"}) {
    EXPECT_NE(resolved.find(line), std::string::npos) << line << " missing in\n" << resolved;
  }
  // Read back elsewhere: the same config.
  const fs::path other = tests::fresh_dir("experiment_round_trip_2");
  tests::write_text(other / "experiment.toml", resolved);
  const ExperimentConfig back = load_experiment(other / "experiment.toml");
  EXPECT_EQ(back.name, c.name);
  EXPECT_EQ(back.base, c.base);
  EXPECT_TRUE(back.explicit_arms);
  ASSERT_EQ(back.arms.size(), c.arms.size());
  for (std::size_t i = 0; i < c.arms.size(); ++i) {
    EXPECT_EQ(back.arms[i].name, c.arms[i].name);
    EXPECT_EQ(back.arms[i].settings, c.arms[i].settings) << c.arms[i].name;
    EXPECT_EQ(back.arms[i].overrides, c.arms[i].overrides) << c.arms[i].name;
  }
  EXPECT_EQ(resolved_toml(back), resolved);
  EXPECT_EQ(back.arm("a").settings.seeds, std::vector<std::uint64_t>{7});
  EXPECT_EQ(back.arm("b").settings.sampler.temperature, 0.3f);

  // The defaults alone, too (no [[arm]] written back for the implicit default arm).
  const ExperimentConfig d = parse("name = \"d\"\n");
  const ExperimentConfig d_back = parse(resolved_toml(d));
  EXPECT_FALSE(d_back.explicit_arms);
  EXPECT_EQ(d_back.arms[0].settings, d.arms[0].settings);
  EXPECT_EQ(resolved_toml(d_back), resolved_toml(d));
}

TEST(ExperimentConfig, WorkPlanCountsTokensAndLabelsTheEstimate) {
  const ExperimentConfig c = parse(R"(
name = "plan"
generations = 3
[model]
context = 64
[train]
steps = 100
gen0_steps = 200
batch_size = 8
[generate]
documents = 50
max_tokens = 20
[[arm]]
name = "a"
[[arm]]
name = "b"
"mix.real_fraction" = 0.5
)");
  const std::string plan = work_plan(c, PlanInputs{"cpu", std::nullopt, std::nullopt});
  EXPECT_NE(plan.find("2 arms x 1 seed x 3 generations = 6 generation runs"), std::string::npos)
      << plan;
  EXPECT_NE(plan.find("train 200 steps x 8 x 64 = 102.4k tokens, on real data only"),
            std::string::npos)
      << plan;
  EXPECT_NE(plan.find("train 100 steps x 8 x 64 = 51.2k tokens, from scratch"), std::string::npos)
      << plan;
  EXPECT_NE(plan.find("generate 50 documents x <= 20 tokens = <= 1.0k tokens"), std::string::npos)
      << plan;
  EXPECT_NE(plan.find("overrides: mix.real_fraction = 0.5"), std::string::npos) << plan;
  // Per arm: 102400 + 2 x 51200 = 204800 training tokens; both arms 409600.
  EXPECT_NE(plan.find("total: train 409.6k tokens, generate <= 6.0k tokens"), std::string::npos)
      << plan;
  // Without the splits' sizes (no prepared dataset) evaluation and scoring are unknown, said so.
  EXPECT_NE(plan.find("time estimate: none"), std::string::npos) << plan;
  EXPECT_NE(plan.find("unknown: score: the test split's size (known after prepare)"), std::string::npos) << plan;
  EXPECT_NE(plan.find("benchmarks/RESULTS.md"), std::string::npos) << plan;

  const std::string gpu = work_plan(c, PlanInputs{"cuda", std::nullopt, std::nullopt});
  EXPECT_NE(gpu.find("time estimate: none"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("preset tiny on cuda was not measured"), std::string::npos) << gpu;

  // "same" documents are known once the dataset is: then they count.
  const ExperimentConfig same = parse("name = \"s\"\ngenerations = 1\n");
  EXPECT_NE(work_plan(same).find("known after prepare"), std::string::npos);
  EXPECT_NE(work_plan(same, PlanInputs{"cpu", 40, 100000, {}, {}, {}})
                .find("generate 40 documents (\"same\" as the real train split) x <= 127 tokens"),
            std::string::npos);
}

TEST(ExperimentConfig, ReportKeysNameComparedArmPairsAndAHeadlineMetricForTheWholeExperiment) {
  const std::string arms = "[[arm]]\nname = \"a\"\n[[arm]]\nname = \"b\"\n";
  const ExperimentConfig c =
      parse("name = \"r\"\n[report]\ncompare = [\"a,b\", \"b,a\"]\nheadline = \"distinct_4\"\n" + arms);
  EXPECT_EQ(c.base.report.compare, (std::vector<std::string>{"a,b", "b,a"}));
  EXPECT_EQ(c.base.report.headline, "distinct_4");
  EXPECT_EQ(parse("name = \"r\"\n").base.report.headline, "test_perplexity");
  EXPECT_EQ(parse(resolved_toml(c)).base.report, c.base.report);
  EXPECT_NE(error_of("name = \"r\"\n[report]\ncompare = [\"a,c\"]\n" + arms)
                .find("exp.toml: [report] compare \"a,c\" names no arm 'c' (the arms are a, b)"),
            std::string::npos);
  EXPECT_NE(error_of("name = \"r\"\n[report]\ncompare = [\"a\"]\n" + arms)
                .find("[report] compare entry \"a\" must name two different arms as \"A,B\""),
            std::string::npos);
  EXPECT_NE(error_of("name = \"r\"\n[report]\ncompare = [\"a,a\"]\n" + arms).find("two different arms"),
            std::string::npos);
  EXPECT_NE(error_of("name = \"r\"\n[report]\nheadline = \"nope\"\n").find("[report] headline names an unknown metric 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of("name = \"r\"\n" + arms + "\"report.headline\" = \"distinct_4\"\n")
                .find("exp.toml: arm 'b': [report] headline applies to the whole experiment"),
            std::string::npos);
}

// Issue 19, probe finding 9: each of these passed the config check and --dry-run, then failed
// after generation 0 had trained. Each is now refused on reading, naming the key.
TEST(ExperimentConfig, WhatWouldFailLateIsRefusedOnReading) {
  const std::string long_name(300, 'a');
  EXPECT_NE(error_of("name = \"" + long_name + "\"\n").find("name must be a string of at most 100"), std::string::npos);
  EXPECT_NE(error_of("name = \"x\"\n[[arm]]\nname = \"" + long_name + "\"\n").find("arm 1: name must be a string of at most 100"),
            std::string::npos);
  EXPECT_EQ(parse("name = \"" + std::string(100, 'a') + "\"\n").name.size(), 100u);
  EXPECT_EQ(error_of("name = \"x\"\n[[arm]]\nname = \"a\"\n\"corpus.vocab_size\" = 1024\n"),
            "exp.toml: arm 'a': [corpus] vocab_size is shared by every arm (one dataset per experiment): set it "
            "outside [[arm]]");
  EXPECT_NE(error_of("name = \"x\"\n[score]\nself_bleu_references = 1\n")
                .find("exp.toml: [score] self_bleu_references must be 0 (every document) or an integer >= 2, got 1"),
            std::string::npos);
  EXPECT_EQ(parse("name = \"x\"\n[score]\nself_bleu_references = 2\n").base.score.self_bleu_references, 2);
}

// Issue 19, probe finding 12: `steps = nan` was reported as "got null" (JSON's spelling), and a
// value above a key's upper bound did not say the bound.
TEST(ExperimentConfig, MessagesShowNonFiniteNumbersAsWrittenAndNameTheUpperBound) {
  EXPECT_EQ(error_of("name = \"x\"\n[train]\nsteps = nan\n"), "exp.toml: [train] steps must be a positive integer, got nan");
  EXPECT_EQ(error_of("name = \"x\"\n[sampler]\ntemperature = -inf\n").substr(0, 33), "exp.toml: [sampler] temperature m");
  EXPECT_NE(error_of("name = \"x\"\n[sampler]\ntemperature = -inf\n").find("got -inf"), std::string::npos);
  EXPECT_EQ(error_of("name = \"x\"\n[generate]\nbatch_size = 2000000\n"),
            "exp.toml: [generate] batch_size must be a positive integer no larger than 1048576, got 2000000");
}

TEST(ExperimentConfig, QuickstartIsValid) {
  const ExperimentConfig c =
      load_experiment(fs::path(COLLAPSE_SOURCE_DIR) / "experiments" / "quickstart.toml");
  EXPECT_EQ(c.name, "quickstart");
  ASSERT_EQ(c.arms.size(), 2u);
  EXPECT_EQ(c.arms[0].settings.mix.real_fraction, 0.0);
  EXPECT_EQ(c.arms[1].settings.mix.real_fraction, 0.2);
  EXPECT_EQ(c.base.generations, 5);
  EXPECT_EQ(c.base.seeds.size(), 1u);
  EXPECT_EQ(c.base.corpus.source, "sotu");
  EXPECT_EQ(c.base.model.preset, "tiny");
  EXPECT_EQ(c.base.mix.regime, MixRegime::replace);
}

}  // namespace

TEST(ExperimentConfig, PretrainedKeysNeedTheFolderAndExcludeTheShape) {
  EXPECT_EQ(error_of("name = \"x\"\n[train]\ninit = \"pretrained\"\n"),
            "exp.toml: [train] init = \"pretrained\" needs [model] pretrained (a Hugging Face model folder)");
  EXPECT_EQ(error_of("name = \"x\"\n[corpus]\ntokenizer = \"pretrained\"\n"),
            "exp.toml: [corpus] tokenizer = \"pretrained\" needs [model] pretrained (a Hugging Face model folder)");
  const fs::path model = fs::path(COLLAPSE_TEST_WORK) / "hf-models" / "gpt2-tied";
  if (!fs::exists(model / "config.json")) SKIP_WITHOUT_REFERENCE("no pretrained fixture (reference libraries missing)");
  const std::string pretrained = "name = \"x\"\n[model]\npretrained = \"" + model.string() + "\"\n";
  EXPECT_EQ(error_of(pretrained + "n_layer = 4\n[train]\ninit = \"gen0\"\n"),
            "exp.toml: [model] n_layer does not apply with [model] pretrained (the folder's config.json sets "
            "the shape); remove it");
  EXPECT_NE(error_of(pretrained).find("[train] init = \"scratch\" trains fresh models, but [model] pretrained is set"),
            std::string::npos);
  EXPECT_NE(error_of(pretrained + "context = 65\n[train]\ninit = \"pretrained\"\n")
                .find("[model] context 65 exceeds the model's context of 64 positions"),
            std::string::npos);
}
