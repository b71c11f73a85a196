// A Hugging Face model's tokenizer used from the command line: `collapse tokenize` prints the
// reference's ids, `collapse prepare --tokenizer` refuses settings that do not apply, and a whole
// experiment with `[corpus] tokenizer` (BOS = EOS = PAD = <|endoftext|>, GPT-2's convention) trains,
// generates, scores and decodes. The tokenizers are the ones setup.hf_tokenizer_fixtures made.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "collapse/util/atomic_file.h"
#include "support/test_support.h"

using collapse::read_file;
using collapse::tests::fresh_dir;
using collapse::tests::run_collapse;
using collapse::tests::write_text;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fixtures() { return fs::path(COLLAPSE_TEST_WORK) / "hf-tokenizers"; }


json first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return json::parse(line);
}

}  // namespace

TEST(HfTokenizerCli, TokenizePrintsTheReferenceIdsAndPieces) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const std::string text = first_line(fixtures() / "corpus.jsonl").at("text");
  const json expected = first_line(fixtures() / "gpt2-real" / "expected.jsonl");
  const auto r = run_collapse({"tokenize", "--tokenizer", (fixtures() / "gpt2-real").string(), "--json", text});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out.at("ids"), expected.at("ids"));
  EXPECT_EQ(out.at("decoded"), expected.at("decoded"));
  EXPECT_EQ(out.at("pieces").size(), expected.at("ids").size());

  const auto human = run_collapse({"tokenize", "--tokenizer", (fixtures() / "llama3-style").string(), "--special", "hi"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("pieces:  \"<|begin_of_text|>\""), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("bos=1216 eos=1217 pad=1217 unk=none"), std::string::npos) << human.out;
}

TEST(HfTokenizerCli, PrepareWithATokenizerRefusesTrainingSettingsAndMissingFolders) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const fs::path dir = fresh_dir("prepare-flags");
  const auto both = run_collapse({"prepare", "--corpus", (fixtures() / "corpus.jsonl").string(), "--out",
                                  (dir / "a").string(), "--tokenizer", (fixtures() / "gpt2-style").string(),
                                  "--vocab-size", "600"});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE((both.err + both.out).find("--vocab-size excludes --tokenizer"), std::string::npos) << both.err << both.out;
  const auto missing = run_collapse({"prepare", "--corpus", (fixtures() / "corpus.jsonl").string(), "--out",
                                     (dir / "b").string(), "--tokenizer", (dir / "nowhere").string()});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("--tokenizer " + (dir / "nowhere").string() + ": file not found"), std::string::npos)
      << missing.err;
  EXPECT_FALSE(fs::exists(dir / "b"));
}

TEST(HfTokenizerCli, AnExperimentRunsEndToEndWithAHuggingFaceTokenizer) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const fs::path dir = fresh_dir("hf-experiment");
  write_text(dir / "exp.toml", R"(name = "hf"
seeds = [0]
generations = 2
device = "cpu"
[corpus]
source = "moby-dick"
tokenizer = ")" + (fixtures() / "gpt2-style").string() + R"("
[model]
preset = "tiny"
context = 32
[train]
steps = 8
batch_size = 8
warmup_steps = 2
eval_every = 4
[generate]
documents = 16
max_tokens = 24
batch_size = 16
[score]
metrics = ["test_perplexity", "distinct_2", "ppl_mean"]
)");
  const auto r = run_collapse({"run", (dir / "exp.toml").string(), "--out", (dir / "run").string(), "--no-report"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string metrics = read_file(dir / "run" / "metrics.csv");
  EXPECT_NE(metrics.find("test_perplexity"), std::string::npos);
  // The dataset carries the tokenizer, and the samples decode on their own with it.
  EXPECT_TRUE(fs::exists(dir / "run" / "data" / "tokenizer.json"));
  const json manifest = json::parse(read_file(dir / "run" / "data" / "manifest.json"));
  EXPECT_EQ(manifest.at("tokenizer").at("eos_id"), 1000);
  EXPECT_EQ(manifest.at("tokenizer").at("vocab_size"), 1003);
  fs::path samples;
  for (const auto& e : fs::recursive_directory_iterator(dir / "run")) {
    if (e.path().filename() == "samples" && fs::is_directory(e.path())) samples = e.path();
  }
  ASSERT_FALSE(samples.empty());
  EXPECT_TRUE(fs::exists(samples / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(samples / "special_ids.json"));
  const auto show = run_collapse({"show", samples.string(), "--limit", "2"});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  // A config cannot ask for a vocabulary size and a tokenizer at once.
  write_text(dir / "both.toml", "name = \"both\"\n[corpus]\ntokenizer = \"" + (fixtures() / "gpt2-style").string() +
                                    "\"\nvocab_size = 600\n");
  const auto both = run_collapse({"run", (dir / "both.toml").string(), "--out", (dir / "run2").string()});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("[corpus] vocab_size does not apply with [corpus] tokenizer"), std::string::npos) << both.err;
}
