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
#include <string>

#include <nlohmann/json.hpp>

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

#define SKIP_WITHOUT_REFERENCES()                                                                    \
  do {                                                                                               \
    if (fs::exists(fixtures() / "unavailable.txt")) {                                                \
      GTEST_SKIP() << "reference libraries missing: " << read_file(fixtures() / "unavailable.txt");  \
    }                                                                                                \
    ASSERT_TRUE(fs::exists(fixtures() / "kinds.json")) << "no fixtures in " << fixtures();            \
  } while (false)

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

double collapse_perplexity(const fs::path& model, const std::string& split = "test") {
  const auto r = run_collapse({"eval", "--model", model.string(), "--data", dataset().string(), "--split", split, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out).at("perplexity").get<double>() : NAN;
}

// transformers' perplexity of `model` on the dataset's test split (tests/model/hf_perplexity.py).
double reference_perplexity(const fs::path& model, std::int64_t context) {
  const json tokenizer = json::parse(read_file(dataset() / "manifest.json")).at("tokenizer");
  const auto r = run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR + "/tests/model/hf_perplexity.py " +
                           model.string() + " " + (dataset() / "test.tok").string() + " " +
                           std::to_string(tokenizer.at("bos_id").get<int>()) + " " +
                           std::to_string(tokenizer.at("eos_id").get<int>()) + " " + std::to_string(context));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out).at("perplexity").get<double>() : NAN;
}

}  // namespace

TEST(HfModelCli, EvalOfEveryFamilyEqualsTransformersOnTheDocumentedDefinition) {
  SKIP_WITHOUT_REFERENCES();
  for (const json& k : kinds()) {
    const fs::path model = fixtures() / k.at("name").get<std::string>();
    const double ours = collapse_perplexity(model);
    const double theirs = reference_perplexity(model, k.at("context"));
    EXPECT_NEAR(ours, theirs, kRelativeTolerance * theirs) << k.at("name");
  }
}

TEST(HfModelCli, EveryFamilyGeneratesDocuments) {
  SKIP_WITHOUT_REFERENCES();
  for (const char* kind : {"llama-gqa-llama3-rope", "qwen2-mqa-sharded", "mistral-window-fp16"}) {
    const fs::path out = fresh_dir(std::string("hf-generate-") + kind) / "samples";
    const auto r = run_collapse({"generate", "--model", (fixtures() / kind).string(), "--data", dataset().string(),
                                 "--documents", "3", "--max-tokens", "10", "--seed", "1", "--out", out.string()});
    ASSERT_EQ(r.exit_code, 0) << kind << ": " << r.err;
    EXPECT_TRUE(fs::exists(out / "samples.tok")) << kind;
  }
}

// Shumailov et al.'s step: fine-tune the pretrained model on the data. 20 steps lower the loss;
// the export is the family's own layout and transformers computes the perplexity collapse does.
TEST(HfModelCli, AFineTunedModelOfEveryFamilyExportsInItsOwnLayout) {
  SKIP_WITHOUT_REFERENCES();
  for (const json& k : kinds()) {
    const std::string kind = k.at("name");
    if (kind == "llama-v4-config" || kind == "llama-bias-linear-rope-bf16") continue;  // one per family
    const fs::path dir = fresh_dir("hf-finetune-" + kind);
    const auto train = run_collapse({"train", "--init", (fixtures() / kind).string(), "--data", dataset().string(),
                                     "--out", (dir / "run").string(), "--steps", "20", "--batch-size", "4",
                                     "--lr", "3e-3", "--warmup", "2", "--eval-every", "20", "--log-every", "1"});
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
    const double ours = collapse_perplexity(dir / "run");
    EXPECT_NEAR(reference_perplexity(dir / "hf", k.at("context")), ours, kRelativeTolerance * ours) << kind;
  }
}
