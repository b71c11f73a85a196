// Bad input, as a user meets it: one clear line on stderr naming the problem, a non-zero exit,
// and nothing already written harmed.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "collapse/util/atomic_file.h"
#include "collapse/util/results_version.h"
#include "support/test_support.h"

using collapse::tests::fresh_dir;
using collapse::tests::run_collapse;
using collapse::tests::write_text;
namespace fs = std::filesystem;

namespace {
// Asserts failure with exactly one line on stderr that contains every `needle`.
void expect_one_line_error(const collapse::tests::CommandResult& r,
                           std::initializer_list<std::string> needles) {
  EXPECT_NE(r.exit_code, 0);
  std::string err = r.err;
  // Progress lines may precede the error; the error is the last line.
  if (!err.empty() && err.back() == '\n') err.pop_back();
  const std::string last = err.substr(err.rfind('\n') == std::string::npos ? 0 : err.rfind('\n') + 1);
  EXPECT_EQ(last.rfind("collapse: error", 0), 0u) << r.err;
  for (const auto& n : needles) EXPECT_NE(last.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
}
}  // namespace

TEST(CliErrors, MissingCorpusPath) {
  const auto out = fresh_dir("cli-missing") / "data";
  expect_one_line_error(run_collapse({"prepare", "--corpus", "/no/such/corpus.txt", "--out", out}),
                        {"/no/such/corpus.txt", "not found"});
  EXPECT_FALSE(fs::exists(out));
}

TEST(CliErrors, EmptyCorpus) {
  const auto dir = fresh_dir("cli-empty");
  write_text(dir / "empty.txt", "\n\n   \n");
  expect_one_line_error(run_collapse({"prepare", "--corpus", dir / "empty.txt", "--out", dir / "d"}),
                        {"empty.txt", "empty"});
}

TEST(CliErrors, InvalidUtf8NamesFileAndByteOffset) {
  const auto dir = fresh_dir("cli-utf8");
  write_text(dir / "latin1.txt", "caf\xE9 au lait\n");
  expect_one_line_error(run_collapse({"prepare", "--corpus", dir / "latin1.txt", "--out", dir / "d"}),
                        {"latin1.txt", "invalid UTF-8", "byte offset 3"});
}

TEST(CliErrors, CorpusTooSmallForTheVocabulary) {
  const auto dir = fresh_dir("cli-small");
  std::string text;
  for (int i = 0; i < 6; ++i) text += "a few words in document " + std::to_string(i) + "\n\n";
  write_text(dir / "small.txt", text);
  const auto r = run_collapse({"prepare", "--corpus", dir / "small.txt", "--out", dir / "d",
                               "--vocab-size", "8000"});
  expect_one_line_error(r, {"--vocab-size 8000"});
  EXPECT_FALSE(fs::exists(dir / "d"));
}

TEST(CliErrors, OutputFolderHoldingADifferentDataset) {
  const auto dir = fresh_dir("cli-different");
  // Enough distinct words for a few hundred BPE merges.
  const char* words[] = {"whale", "harpoon", "captain", "ocean", "voyage", "sailor", "compass",
                         "lantern", "timber", "anchor", "barrel", "biscuit", "chowder", "mast",
                         "rigging", "thunder", "monstrous", "leviathan", "nantucket", "pequod"};
  std::string text;
  for (int i = 0; i < 120; ++i) {
    for (int j = 0; j < 12; ++j) text += std::string(words[(i * 7 + j * 3) % 20]) + (j % 5 ? " " : ", ");
    text += "the end.\n\n";
  }
  write_text(dir / "c.txt", text);
  const auto first = run_collapse({"prepare", "--corpus", dir / "c.txt", "--out", dir / "d",
                                   "--vocab-size", "400"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string manifest = collapse::read_file(dir / "d" / "manifest.json");

  const auto same = run_collapse({"prepare", "--corpus", dir / "c.txt", "--out", dir / "d",
                                  "--vocab-size", "400"});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("reused"), std::string::npos) << same.out;

  expect_one_line_error(run_collapse({"prepare", "--corpus", dir / "c.txt", "--out", dir / "d",
                                      "--vocab-size", "420"}),
                        {"already holds a different dataset", "vocab_size: 400 -> 420"});
  EXPECT_EQ(collapse::read_file(dir / "d" / "manifest.json"), manifest);  // untouched

  write_text(dir / "other" / "notes.txt", "mine");
  expect_one_line_error(run_collapse({"prepare", "--corpus", dir / "c.txt", "--out", dir / "other"}),
                        {"is not a collapse dataset"});

  // A dataset of another results version (here: one from before versions were recorded) is not
  // reused, even for the same request: the line says how to start over, and nothing is touched.
  nlohmann::json old = nlohmann::json::parse(manifest);
  ASSERT_EQ(old.value("results_version", 0), collapse::kResultsVersion);
  old.erase("results_version");
  write_text(dir / "d" / "manifest.json", old.dump(1));
  expect_one_line_error(run_collapse({"prepare", "--corpus", dir / "c.txt", "--out", dir / "d",
                                      "--vocab-size", "400"}),
                        {"prepared under results version 1", "produces version 2",
                         "delete it or choose another --out"});
  EXPECT_EQ(collapse::read_file(dir / "d" / "manifest.json"), old.dump(1));
}

// Issue 19, probe finding 11: a manifest.json of [] gave "[json.exception.type_error.306] cannot
// use value() with array", and splits.train = "x" type_error.304. A damaged manifest is one line
// naming the file and the key.
TEST(CliErrors, ADamagedManifestNamesTheFileAndTheKey) {
  const auto dir = fresh_dir("cli-manifest");
  fs::copy(collapse::tests::moby_dick_dataset(), dir / "d", fs::copy_options::recursive);
  const std::string manifest = collapse::read_file(dir / "d" / "manifest.json");
  auto eval_with = [&](const std::string& text) {
    write_text(dir / "d" / "manifest.json", text);
    return run_collapse({"score", "--data", dir / "d", "--samples", dir / "none.jsonl"});
  };
  expect_one_line_error(eval_with("[]"), {"manifest.json: corrupt manifest: the whole file must be a JSON object"});
  nlohmann::json m = nlohmann::json::parse(manifest);
  m["splits"]["train"] = "x";
  expect_one_line_error(eval_with(m.dump()), {"manifest.json: corrupt manifest: splits.train must be an object"});
  m = nlohmann::json::parse(manifest);
  m["tokenizer"]["fingerprint"] = 7;
  expect_one_line_error(eval_with(m.dump()), {"corrupt manifest: tokenizer.fingerprint must be a string"});
  m = nlohmann::json::parse(manifest);
  m["splits"].erase("valid");
  expect_one_line_error(eval_with(m.dump()), {"corrupt manifest: splits.valid.sha256 is missing"});
}

TEST(CliErrors, CorruptCheckpoint) {
  const auto dir = fresh_dir("cli-ckpt");
  write_text(dir / "run" / "best.ckpt", "garbage");
  expect_one_line_error(run_collapse({"eval", "--model", dir / "run", "--data",
                                      collapse::tests::moby_dick_dataset()}),
                        {"best.ckpt", "corrupt"});
}

TEST(CliErrors, MissingDatasetAndBadFlagValues) {
  const auto dir = fresh_dir("cli-flags");
  expect_one_line_error(run_collapse({"train", "--data", dir / "nothing", "--out", dir / "run", "--steps", "1"}),
                        {"nothing", "dataset not found"});
  const auto r = run_collapse({"train", "--data", dir, "--out", dir / "run", "--preset", "huge"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("huge"), std::string::npos) << r.err;
  expect_one_line_error(run_collapse({"train", "--data", collapse::tests::moby_dick_dataset(), "--out",
                                      dir / "run", "--steps", "1", "--device", "tpu"}),
                        {"--device tpu"});
}

TEST(CliErrors, NumbersOutsideTheirMeaningfulRangeAreRefusedNamingTheFlag) {
  // Each of these used to run (or to store a value it could not read back): a seed of -1 became
  // 18446744073709551615, --rope-theta 0 was ignored, --epochs inf trained one step.
  const auto dir = fresh_dir("cli-numbers");
  const std::string data = collapse::tests::moby_dick_dataset().string();
  const auto refused = [&](std::vector<std::string> args, std::initializer_list<std::string> needles) {
    const auto r = run_collapse(args);
    EXPECT_NE(r.exit_code, 0) << args[0] << " " << args.back();
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
    EXPECT_LT(r.err.size(), 300u) << "one short message: " << r.err;
    EXPECT_FALSE(fs::exists(dir / "run" / "last.ckpt"));
  };
  const auto train = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"train", "--data", data, "--out", (dir / "run").string(), "--device", "cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  refused(train({"--steps", "2", "--rope-theta", "0"}), {"--rope-theta must be a finite positive number, got 0"});
  refused(train({"--steps", "2", "--rope-theta", "-1"}), {"--rope-theta must be a finite positive number, got -1"});
  refused(train({"--steps", "2", "--rope-theta", "inf"}), {"--rope-theta", "finite", "inf"});
  refused(train({"--steps", "2", "--seed", "-1"}), {"--seed", "whole number >= 0", "-1"});
  refused(train({"--steps", "2", "--warmup", "-2"}), {"--warmup", "whole number >= -1", "-2"});
  refused(train({"--steps", "9223372036854775808"}), {"--steps", "at most 10^18"});
  refused(train({"--steps", "1000000000000000"}), {"--steps must be at most 10^12"});
  refused(train({"--epochs", "inf"}), {"--epochs", "finite", "inf"});
  refused(train({"--epochs", "1e18"}), {"--epochs 1e+18 means", "at most 10^12"});
  refused(train({"--steps", "2", "--lr", "inf"}), {"--lr", "finite", "inf"});
  refused(train({"--steps", "2", "--weight-decay", "nan"}), {"--weight-decay", "finite", "nan"});
  refused(train({"--steps", "2", "--grad-clip", "nan"}), {"--grad-clip", "finite", "nan"});
  refused({"prepare", "--corpus", "moby-dick", "--out", (dir / "data").string(), "--threads", "-1"},
          {"--threads", "whole number >= 1", "-1"});
  refused({"generate", "--model", "m", "--data", data, "--out", (dir / "s").string(), "--generation", "-5"},
          {"--generation", "whole number >= 0", "-5"});
  refused({"generate", "--model", "m", "--data", data, "--out", (dir / "s").string(), "--documents", "0"},
          {"--documents", "whole number >= 1, got '0'"});
  refused({"score", "--samples", "s", "--data", data, "--batch-tokens", "0"}, {"--batch-tokens", "whole number >= 1"});
  EXPECT_FALSE(fs::exists(dir / "data"));
}

TEST(CliErrors, AnOutputUnderAFileIsRefusedBeforeAnyWork) {
  // `train --out FILE/m` used to fail at its first checkpoint, `generate --out FILE/s` after
  // generating everything.
  const auto dir = fresh_dir("cli-out-under-file");
  write_text(dir / "notes.txt", "mine");
  const std::string data = collapse::tests::moby_dick_dataset().string();
  const std::string under = (dir / "notes.txt" / "deeper" / "out").string();
  const std::initializer_list<std::string> says{"--out", "notes.txt is a file, not a folder"};
  expect_one_line_error(run_collapse({"train", "--data", data, "--out", under, "--steps", "200", "--device", "cpu"}), says);
  expect_one_line_error(run_collapse({"generate", "--model", "m", "--data", data, "--out", under}), says);
  expect_one_line_error(run_collapse({"prepare", "--corpus", "moby-dick", "--out", under}), says);
  expect_one_line_error(run_collapse({"export", "--model", "m", "--out", under}), says);
  expect_one_line_error(run_collapse({"run", std::string(COLLAPSE_SOURCE_DIR) + "/experiments/quickstart.toml", "--out",
                                      under, "--dry-run"}),
                        says);
  EXPECT_EQ(collapse::read_file(dir / "notes.txt"), "mine");
}

TEST(CliErrors, ATrainingRunThatCannotFitInMemoryIsRefusedUpFrontWithTheEstimate) {
  // It used to allocate for 45 s, then fail with torch's allocation error (issue 19, finding 14).
  const auto dir = fresh_dir("cli-memory");
  const std::string data = collapse::tests::moby_dick_dataset().string();
  const auto r = run_collapse({"train", "--data", data, "--out", dir / "m", "--preset", "base", "--context", "100000",
                               "--steps", "1", "--device", "cpu"});
  expect_one_line_error(r, {"training needs at least", "GiB on cpu", "16 x 100000 tokens", "lower --batch-size or --context"});
  EXPECT_FALSE(fs::exists(dir / "m" / "last.ckpt"));
}

TEST(CliErrors, ExportRefusesToWriteIntoAFolderThatIsNotAnExport) {
  const auto dir = fresh_dir("cli-export");
  write_text(dir / "mine" / "thesis.tex", "precious");
  write_text(dir / "run" / "best.ckpt", "garbage");
  const auto r = run_collapse({"export", "--model", dir / "run", "--out", dir / "mine"});
  expect_one_line_error(r, {"mine", "not an export folder"});
  EXPECT_EQ(collapse::read_file(dir / "mine" / "thesis.tex"), "precious");
}

TEST(CliErrors, EvalBatchSizeMustBePositive) {
  const auto r = run_collapse({"eval", "--model", "x", "--data", "y", "--batch-size", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("batch-size"), std::string::npos) << r.err;
}

TEST(Cli, OutputFoldersMayBeGivenWithATrailingSlash) {
  const auto dir = fresh_dir("cli-slash");
  const auto data = collapse::tests::moby_dick_dataset();
  const auto prepared = run_collapse({"prepare", "--corpus", "moby-dick", "--out", (dir / "data").string() + "/",
                                      "--vocab-size", "512"});
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
  EXPECT_TRUE(fs::exists(dir / "data" / "manifest.json"));
  const auto trained = run_collapse({"train", "--data", (dir / "data").string() + "/", "--out",
                                     (dir / "run").string() + "/", "--steps", "2", "--context", "16",
                                     "--batch-size", "2", "--device", "cpu"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  for (int round = 0; round < 2; ++round) {  // the second export replaces the first
    const auto exported = run_collapse({"export", "--model", dir / "run", "--out", (dir / "hf").string() + "/"});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
  }
  EXPECT_TRUE(fs::exists(dir / "hf" / "config.json"));
  for (const auto& entry : fs::directory_iterator(dir)) {  // no temporary folder is left
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST(CliErrors, GenerateNamesTheFlagOrPromptAtFault) {
  const auto dir = fresh_dir("cli-generate");
  const auto data = collapse::tests::moby_dick_dataset();
  const auto trained = run_collapse({"train", "--data", data, "--out", dir / "run", "--preset", "tiny",
                                     "--context", "32", "--steps", "2", "--device", "cpu"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  auto generate = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"generate", "--model", dir / "run", "--data", data, "--out",
                                  dir / "samples", "--documents", "2", "--device", "cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_collapse(args);
  };
  expect_one_line_error(generate({"--max-tokens", "100"}), {"--max-tokens 100", "context 32"});
  expect_one_line_error(generate({"--top-p", "1.5"}), {"--top-p", "1.5"});
  expect_one_line_error(generate({"--sampler-order", "top_p,nucleus"}), {"--sampler-order", "nucleus"});
  expect_one_line_error(generate({"--prompt", "real-prefix:x"}), {"real-prefix:x"});
  expect_one_line_error(generate({"--decode", "graph"}), {"--decode graph", "CUDA"});
  expect_one_line_error(generate({"--decode", "fast"}), {"--decode", "fast"});
  expect_one_line_error(generate({"--prompt", "file:" + (dir / "none.txt").string()}),
                        {"--prompt", "none.txt"});
  // Library checks name the setting by the flag the user typed.
  expect_one_line_error(generate({"--min-tokens", "9", "--max-tokens", "4"}),
                        {"--min-tokens must be in [0, --max-tokens = 4], got 9"});
  expect_one_line_error(generate({"--batch-size", "0"}), {"--batch-size must be at least 1"});
  expect_one_line_error(generate({"--sampler-order", "top_p,top_p"}), {"--sampler-order names 'top_p' twice"});
  EXPECT_FALSE(fs::exists(dir / "samples"));
  expect_one_line_error(run_collapse({"train", "--data", data, "--out", dir / "bad", "--steps", "2",
                                      "--batch-size", "0"}),
                        {"--batch-size must be positive, got 0"});
  expect_one_line_error(run_collapse({"train", "--data", data, "--out", dir / "bad", "--steps", "2",
                                      "--n-head", "5"}),
                        {"--d-model 128 is not divisible by --n-head 5"});
  expect_one_line_error(run_collapse({"train", "--data", data, "--out", dir / "run", "--steps", "2"}),
                        {"already holds a training run; pass --resume"});

  write_text(dir / "notes" / "keep.txt", "mine");
  const auto r = run_collapse({"generate", "--model", dir / "run", "--data", data, "--out", dir / "notes",
                               "--documents", "2", "--max-tokens", "4", "--device", "cpu"});
  expect_one_line_error(r, {"notes", "not a samples folder"});
  EXPECT_EQ(collapse::read_file(dir / "notes" / "keep.txt"), "mine");
  expect_one_line_error(run_collapse({"show", dir / "missing.jsonl"}), {"missing.jsonl"});
  // Issue 19, probe finding 8: /dev/zero was read without bound (4.6 GB after 15 s). Devices and
  // FIFOs are refused before the first byte is read.
  expect_one_line_error(run_collapse({"show", "/dev/zero"}), {"/dev/zero is a device, expected a regular file"});
  ASSERT_EQ(::mkfifo((dir / "fifo.txt").c_str(), 0644), 0);
  expect_one_line_error(run_collapse({"show", dir / "fifo.txt"}), {"fifo.txt is a FIFO, expected a regular file"});
  expect_one_line_error(run_collapse({"generate", "--model", dir / "run", "--data", data, "--out", dir / "p.jsonl",
                                      "--documents", "2", "--max-tokens", "4", "--device", "cpu", "--prompt",
                                      "file:/dev/zero"}),
                        {"/dev/zero is a device, expected a regular file"});
  expect_one_line_error(run_collapse({"prepare", "--corpus", dir / "fifo.txt", "--out", dir / "fifo-data"}),
                        {"fifo.txt is a FIFO, expected a regular file"});

  // An existing .jsonl may be someone's corpus: replaced only with --force.
  write_text(dir / "corpus.jsonl", "{\"text\": \"mine\"}\n");
  const std::vector<std::string> to_corpus{"generate", "--model", dir / "run", "--data", data, "--out",
                                           dir / "corpus.jsonl", "--documents", "2", "--max-tokens", "4",
                                           "--device", "cpu"};
  expect_one_line_error(run_collapse(to_corpus), {"--out", "corpus.jsonl exists: pass --force to replace it"});
  EXPECT_EQ(collapse::read_file(dir / "corpus.jsonl"), "{\"text\": \"mine\"}\n");
  std::vector<std::string> forced = to_corpus;
  forced.push_back("--force");
  ASSERT_EQ(run_collapse(forced).exit_code, 0);
  EXPECT_NE(collapse::read_file(dir / "corpus.jsonl").find("\"tokens\""), std::string::npos);
}
