// Hugging Face model folders from the command line: a corpus prepared with a model's tokenizer is
// evaluated by `collapse eval` exactly as transformers computes the documented perplexity, a model
// of every family generates, and a short fine-tune of each family lowers the loss and exports in
// the family's own layout, which transformers loads with the perplexity collapse computes. The
// models are the ones setup.hf_model_fixtures made (tests/model/hf_model_fixtures.py), all with
// the gpt2-style tokenizer of setup.hf_tokenizer_fixtures.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collapse/model/checkpoint.h"
#include "collapse/util/atomic_file.h"
#include "support/test_support.h"

using collapse::read_file;
using collapse::tests::fresh_dir;
using collapse::tests::run_collapse;
using collapse::tests::run_shell;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kRelativeTolerance = 1e-5;

fs::path fixtures() { return fs::path(COLLAPSE_TEST_WORK) / "hf-models"; }
fs::path corpus() { return fs::path(COLLAPSE_TEST_WORK) / "hf-tokenizers" / "corpus.jsonl"; }


json kinds() { return json::parse(read_file(fixtures() / "kinds.json")); }

// The test corpus prepared once with the models' tokenizer (every model folder holds the same).
const fs::path& dataset() {
  static const fs::path dir = [] {
    const fs::path d = fresh_dir("hf-model-dataset") / "data";
    const auto r = run_collapse({"prepare", "--corpus", corpus().string(), "--out", d.string(), "--tokenizer",
                                 (fixtures() / "llama-gqa-llama3-rope").string(), "--test-fraction", "0.1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return d;
  }();
  return dir;
}

double collapse_perplexity(const fs::path& model, const std::string& split = "test",
                           const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"eval", "--model", model.string(), "--data", dataset().string(), "--split", split, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_collapse(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out).at("perplexity").get<double>() : NAN;
}

// transformers' perplexities (tests/model/hf_perplexity.py) of `models` (folder, context) on the
// dataset's test split, in one Python run: the documented definition (stride 0) or the guide's
// sliding window. In the order given.
std::vector<double> reference_perplexities(const std::vector<std::pair<fs::path, std::int64_t>>& models,
                                           std::int64_t stride = 0) {
  const json tokenizer = json::parse(read_file(dataset() / "manifest.json")).at("tokenizer");
  std::string command = fmt::format("{} {}/tests/model/hf_perplexity.py {} {} {} {}", COLLAPSE_PYTHON, COLLAPSE_SOURCE_DIR,
                                    (dataset() / "test.tok").string(), tokenizer.at("bos_id").get<int>(),
                                    tokenizer.at("eos_id").get<int>(), stride);
  for (const auto& [dir, context] : models) command += fmt::format(" {}:{}", dir.string(), context);
  const auto r = run_shell(command);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<double> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) out.push_back(json::parse(line).at("perplexity"));
  EXPECT_EQ(out.size(), models.size()) << r.out << r.err;
  out.resize(models.size(), NAN);
  return out;
}

// The first fixture of each family.
std::vector<json> one_per_family() {
  std::vector<json> out;
  std::set<std::string> seen;
  for (const json& k : kinds()) {
    if (seen.insert(k.at("family").get<std::string>()).second) out.push_back(k);
  }
  return out;
}

}  // namespace

TEST(HfModelCli, EvalOfEveryFamilyEqualsTransformersOnTheDocumentedDefinition) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  std::vector<std::pair<fs::path, std::int64_t>> models;
  std::vector<double> ours;
  for (const json& k : kinds()) {
    models.emplace_back(fixtures() / k.at("name").get<std::string>(), k.at("context"));
    ours.push_back(collapse_perplexity(models.back().first));
  }
  // --context: windows shorter than the model's.
  models.emplace_back(fixtures() / "gpt2-tied", 16);
  ours.push_back(collapse_perplexity(models.back().first, "test", {"--context", "16"}));
  const std::vector<double> theirs = reference_perplexities(models);
  for (std::size_t i = 0; i < models.size(); ++i) {
    EXPECT_NEAR(ours[i], theirs[i], kRelativeTolerance * theirs[i]) << models[i].first << " context " << models[i].second;
  }
  EXPECT_NE(ours.back(), ours[0]) << "a 16-token window changes the figure";
}

// transformers' perplexity guide: windows of --context every --stride tokens, each token scored
// once, the split as one text.
TEST(HfModelCli, SlidingWindowPerplexityEqualsTheGuidesLoop) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  std::vector<std::pair<fs::path, std::int64_t>> models;
  std::vector<double> ours;
  for (const json& k : one_per_family()) {
    models.emplace_back(fixtures() / k.at("name").get<std::string>(), 16);
    ours.push_back(collapse_perplexity(models.back().first, "test", {"--context", "16", "--stride", "6"}));
  }
  const std::vector<double> theirs = reference_perplexities(models, 6);
  for (std::size_t i = 0; i < models.size(); ++i) {
    EXPECT_NEAR(ours[i], theirs[i], kRelativeTolerance * theirs[i]) << models[i].first;
  }
}

TEST(HfModelCli, ContextAndStrideOutsideTheModelAreOneLine) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const std::string model = (fixtures() / "gpt2-tied").string();
  const auto too_long = run_collapse({"eval", "--model", model, "--data", dataset().string(), "--context", "65"});
  EXPECT_NE(too_long.exit_code, 0);
  EXPECT_NE(too_long.err.find("--context 65 exceeds the model's context of 64 positions"), std::string::npos) << too_long.err;
  const auto stride = run_collapse({"eval", "--model", model, "--data", dataset().string(), "--context", "8", "--stride", "9"});
  EXPECT_NE(stride.err.find("--stride 9 exceeds the window of 8 tokens (--context)"), std::string::npos) << stride.err;
  const auto generate = run_collapse({"generate", "--model", model, "--data", dataset().string(), "--out",
                                      (fresh_dir("hf-generate-context") / "s").string(), "--context", "8",
                                      "--max-tokens", "10"});
  EXPECT_NE(generate.err.find("exceeds the --context 8"), std::string::npos) << generate.err;
}

TEST(HfModelCli, EveryFamilyGeneratesDocuments) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  for (const json& k : one_per_family()) {
    const std::string kind = k.at("name");
    const fs::path out = fresh_dir("hf-generate-" + kind) / "samples";
    const auto r = run_collapse({"generate", "--model", (fixtures() / kind).string(), "--data", dataset().string(),
                                 "--documents", "3", "--max-tokens", "10", "--seed", "1", "--context", "16",
                                 "--out", out.string()});
    ASSERT_EQ(r.exit_code, 0) << kind << ": " << r.err;
    EXPECT_TRUE(fs::exists(out / "samples.tok")) << kind;
  }
}

// Shumailov et al.'s step: fine-tune the pretrained model on the data. 20 steps lower the loss;
// the export is the family's own layout and transformers computes the perplexity collapse does.
TEST(HfModelCli, AFineTunedModelOfEveryFamilyExportsInItsOwnLayout) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  std::vector<std::pair<fs::path, std::int64_t>> exports;
  std::vector<double> ours;
  for (const json& k : kinds()) {
    const std::string kind = k.at("name");
    if (kind == "llama-v4-config" || kind == "llama-bias-linear-rope-bf16" || kind == "gpt2-hub-layout") continue;
    const fs::path dir = fresh_dir("hf-finetune-" + kind);
    const auto train = run_collapse({"train", "--init", (fixtures() / kind).string(), "--data", dataset().string(),
                                     "--out", (dir / "run").string(), "--steps", "20", "--batch-size", "4",
                                     "--context", "16", "--lr", "3e-3", "--warmup", "2", "--eval-every", "20",
                                     "--log-every", "1"});
    ASSERT_EQ(train.exit_code, 0) << kind << ": " << train.err;
    std::ifstream log(dir / "run" / "train_log.jsonl");
    std::vector<double> losses;
    for (std::string line; std::getline(log, line);) {
      const json row = json::parse(line);
      if (row.contains("loss")) losses.push_back(row.at("loss"));
    }
    ASSERT_GE(losses.size(), 20u) << kind;
    const auto mean = [](auto first, auto last) { double s = 0; for (auto i = first; i != last; ++i) s += *i; return s / static_cast<double>(last - first); };
    EXPECT_LT(mean(losses.end() - 5, losses.end()), mean(losses.begin(), losses.begin() + 5)) << kind;

    const auto exported = run_collapse({"export", "--model", (dir / "run").string(), "--out", (dir / "hf").string()});
    ASSERT_EQ(exported.exit_code, 0) << kind << ": " << exported.err;
    const json config = json::parse(read_file(dir / "hf" / "config.json"));
    EXPECT_EQ(config.at("model_type"), k.at("family")) << kind;
    exports.emplace_back(dir / "hf", k.at("context"));
    ours.push_back(collapse_perplexity(dir / "run"));
  }
  const std::vector<double> theirs = reference_perplexities(exports);
  for (std::size_t i = 0; i < exports.size(); ++i) {
    EXPECT_NEAR(theirs[i], ours[i], kRelativeTolerance * ours[i]) << exports[i].first;
  }
}

// Shumailov et al.'s loop from a pretrained folder: every generation fine-tunes the pretrained
// OPT again, with its tokenizer; killed in generation 1's training and resumed, the run ends with
// the metrics of an uninterrupted one.
TEST(HfModelCli, AnExperimentFromAPretrainedFolderRunsAndResumesAfterAKill) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const fs::path dir = fresh_dir("hf-experiment");
  collapse::write_file_atomic(dir / "pretrained.toml", fmt::format(R"(name = "pretrained"
seeds = [0]
generations = 2
device = "cpu"
[corpus]
source = "{}"
tokenizer = "pretrained"
valid_fraction = 0.1
test_fraction = 0.1
[model]
pretrained = "{}"
context = 16
[train]
init = "pretrained"
steps = 4
batch_size = 4
warmup_steps = 1
eval_every = 4
[generate]
documents = 8
max_tokens = 12
batch_size = 8
[score]
self_bleu_hypotheses = 4
self_bleu_references = 4
)", corpus().string(), (fixtures() / "opt-pre-norm").string()));
  auto run = [&](const fs::path& out, const std::string& fault) {
    const std::string env = fault.empty() ? "" : "COLLAPSE_FAULT_INJECT=" + fault + " ";
    return run_shell(env + "'" + std::string(COLLAPSE_BIN) + "' run '" + (dir / "pretrained.toml").string() +
                     "' --out '" + out.string() + "' --no-report");
  };
  const auto whole = run(dir / "whole", "");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const std::string metrics = read_file(dir / "whole" / "metrics.csv");
  EXPECT_NE(metrics.find("test_perplexity"), std::string::npos);
  // Generation 1 fine-tuned the pretrained model, not generation 0's.
  const auto gen1 = collapse::read_checkpoint_meta(dir / "whole" / "default" / "seed-0" / "gen-1" / "model" / "best.ckpt");
  EXPECT_EQ(gen1.training.at("init"), (fixtures() / "opt-pre-norm").string());
  EXPECT_EQ(gen1.training.at("context"), 16);

  const auto killed = run(dir / "resumed", "train@1");
  EXPECT_NE(killed.exit_code, 0);
  EXPECT_NE(killed.err.find("fault injection"), std::string::npos) << killed.err;
  const auto resumed = run(dir / "resumed", "");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_file(dir / "resumed" / "metrics.csv"), metrics);
}
