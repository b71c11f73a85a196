// The whole foundation as a user runs it: prepare moby-dick -> train the tiny preset on CPU ->
// test perplexity far below a unigram model's -> export -> reload -> identical logits (ours, and
// Hugging Face transformers' LlamaForCausalLM where it is installed).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include "collapse/data/dataset.h"
#include "collapse/generate/samples_file.h"
#include "collapse/model/load_model.h"
#include "collapse/model/safetensors.h"
#include "collapse/score/detector_features.h"
#include "collapse/score/feature_windows.h"
#include "collapse/util/random.h"
#include "collapse/util/atomic_file.h"
#include "support/test_support.h"

using namespace collapse;
using collapse::tests::run_collapse;
namespace fs = std::filesystem;

namespace {

struct Pipeline {
  fs::path data, run, exported;
  nlohmann::json eval;
};

// Made once by tests/cli/e2e_pipeline.sh (the ctest fixture setup.end_to_end_pipeline).
const Pipeline& pipeline() {
  static const Pipeline p = [] {
    Pipeline p;
    p.data = tests::moby_dick_dataset();
    const fs::path dir = fs::path(COLLAPSE_TEST_WORK) / "e2e";
    p.run = dir / "gen-0";
    p.exported = dir / "gen-0-hf";
    if (!fs::exists(dir / "eval.json") || !fs::exists(p.exported / "model.safetensors")) {
      ADD_FAILURE() << "the end-to-end pipeline output is missing in " << dir
                    << ": run the tests through ctest (fixture setup.end_to_end_pipeline)";
      return p;
    }
    p.eval = nlohmann::json::parse(read_file(dir / "eval.json"));
    return p;
  }();
  return p;
}

// Perplexity of an add-one-smoothed unigram model fitted on the train stream, on the same
// predicted test tokens (t_1..t_{M-1}, BOS/EOS included) that `collapse eval` scores.
double unigram_perplexity(const Dataset& data) {
  std::vector<double> counts(data.vocab_size(), 1.0);
  for (std::int32_t t : document_stream(data.split("train"), Tokenizer::kTrainedIds.bos, Tokenizer::kTrainedIds.eos)) {
    counts[t] += 1;
  }
  double total = 0;
  for (double c : counts) total += c;
  const auto test = document_stream(data.split("test"), Tokenizer::kTrainedIds.bos, Tokenizer::kTrainedIds.eos);
  double nll = 0;
  for (std::size_t i = 1; i < test.size(); ++i) nll -= std::log(counts[test[i]] / total);
  return std::exp(nll / static_cast<double>(test.size() - 1));
}

}  // namespace

TEST(EndToEnd, TrainedModelBeatsAUnigramModelByFar) {
  const Pipeline& p = pipeline();
  const Dataset data(p.data);
  const double unigram = unigram_perplexity(data);
  const double model = p.eval["perplexity"].get<double>();
  EXPECT_EQ(p.eval["split"], "test");
  EXPECT_EQ(p.eval["tokens"].get<std::int64_t>(),
            data.manifest()["splits"]["test"]["tokens"].get<std::int64_t>() +
                2 * data.manifest()["splits"]["test"]["documents"].get<std::int64_t>() - 1);
  std::printf("test perplexity: model %.2f, unigram %.2f\n", model, unigram);
  EXPECT_LT(model, 0.6 * unigram);
}

TEST(EndToEnd, TheExportReloadsWithIdenticalLogitsAndPerplexity) {
  const Pipeline& p = pipeline();
  LoadedModel original = load_model(p.run, c10::Device(c10::kCPU));
  LoadedModel reloaded = load_model(p.exported, c10::Device(c10::kCPU));
  EXPECT_EQ(reloaded.meta.model, original.meta.model);
  torch::NoGradGuard no_grad;
  const at::Tensor tokens = at::arange(1, 65, at::kLong).reshape({2, 32});
  EXPECT_TRUE(at::equal(original.model->forward(tokens), reloaded.model->forward(tokens)));

  const auto eval = run_collapse({"eval", "--model", p.exported, "--data", p.data, "--device", "cpu", "--json"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(eval.out)["perplexity"].get<double>(),
                   p.eval["perplexity"].get<double>());
}

TEST(EndToEnd, HuggingFaceLlamaLoadsTheExportWithTheSameLogits) {
  const Pipeline& p = pipeline();
  LoadedModel ours = load_model(p.run, c10::Device(c10::kCPU));
  torch::NoGradGuard no_grad;
  const at::Tensor tokens = at::arange(0, 96, at::kLong).remainder(500).add(5).reshape({2, 48});
  const fs::path reference = p.exported.parent_path() / "logits.safetensors";
  write_safetensors(reference, {{"tokens", tokens}, {"logits", ours.model->forward(tokens)}});

  const auto r = tests::run_shell(std::string("HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ") +
                                    COLLAPSE_PYTHON + " " + COLLAPSE_SOURCE_DIR +
                                    "/tests/model/hf_parity.py " + p.exported.string() + " " +
                                    reference.string());
  if (r.exit_code == 77) SKIP_WITHOUT_REFERENCE("transformers not importable by " << COLLAPSE_PYTHON << ": " << r.out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::printf("%s", r.out.c_str());
}

TEST(EndToEndGenerate, BatchSizeOneAndSixtyFourWriteByteIdenticalTokenFiles) {
  const Pipeline& p = pipeline();
  const fs::path dir = p.run.parent_path();
  const std::string one = read_file(dir / "samples-b1" / "samples.tok");
  EXPECT_EQ(one, read_file(dir / "samples-b64" / "samples.tok"));
  const Samples s = read_samples(dir / "samples-b1");
  EXPECT_EQ(s.provenance["decode"], "eager");  // auto on the CPU
  ASSERT_EQ(s.documents.size(), 24u);
  std::size_t tokens = 0;
  for (const auto& d : s.documents) tokens += d.tokens.size();
  EXPECT_GT(tokens, 24u * 5) << "a trained model writes more than a few tokens per document";
  EXPECT_EQ(s.provenance["seed"], 3);
  EXPECT_EQ(s.provenance["prompt"], "bos");
  EXPECT_FLOAT_EQ(s.provenance["sampler"]["top_p"].get<float>(), 0.9f);
  EXPECT_TRUE(fs::exists(dir / "samples-b1" / "samples.txt"));
}

TEST(EndToEndGenerate, TheFixedShapeDecodeStepWritesTheEagerDecodersTokens) {
  const fs::path dir = pipeline().run.parent_path();
  EXPECT_EQ(read_file(dir / "samples-fixed" / "samples.tok"), read_file(dir / "samples-b1" / "samples.tok"));
  EXPECT_EQ(read_samples(dir / "samples-fixed").provenance["decode"], "fixed");
}

TEST(EndToEndGenerate, TheFastCpuSamplerWritesTheDefinitionsTokensInEveryDecodeMode) {
  // `--cpu-sampler definition` samples every row with the chain's definition (a full sort per
  // row); the default fast sampler must write the very same bytes, with top-p and temperature and
  // with every other step of the chain on (penalties, top-k, min-p, typical-p).
  const fs::path dir = pipeline().run.parent_path();
  EXPECT_EQ(read_file(dir / "samples-b64" / "samples.tok"), read_file(dir / "samples-definition" / "samples.tok"));
  EXPECT_EQ(read_file(dir / "samples-fixed" / "samples.tok"),
            read_file(dir / "samples-fixed-definition" / "samples.tok"));
  for (const std::string decode : {"eager", "fixed"}) {
    const std::string fast = read_file(dir / ("every-" + decode + "-fast") / "samples.tok");
    EXPECT_EQ(fast, read_file(dir / ("every-" + decode + "-definition") / "samples.tok")) << decode;
    EXPECT_EQ(read_file(dir / ("every-" + decode + "-fast") / "samples.txt"),
              read_file(dir / ("every-" + decode + "-definition") / "samples.txt"))
        << decode;
  }
  EXPECT_NE(read_file(dir / "every-eager-fast" / "samples.tok"), read_file(dir / "samples-b64" / "samples.tok"))
      << "the second chain samples differently, so it checks something the first does not";
}

TEST(EndToEndGenerate, RealPrefixBeamSearchJsonLinesKeepTheirPrompts) {
  const Pipeline& p = pipeline();
  const fs::path file = p.run.parent_path() / "beams.jsonl";
  const Dataset data(p.data);
  const auto first_train_doc = data.split("train").document(0);
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["id"], n);
    const auto prompt = j["prompt_tokens"].get<std::vector<std::int32_t>>();
    const auto tokens = j["tokens"].get<std::vector<std::int32_t>>();
    ASSERT_EQ(prompt.size(), 8u);
    ASSERT_EQ(tokens.size(), 16u) << "--keep-prompt: 8 prompt tokens + exactly 8 generated";
    EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), tokens.begin()));
    if (n == 0) {
      EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), first_train_doc.begin()))
          << "prompt 0 is the first 8-token block of the first train document";
    }
    EXPECT_EQ(j["text"], data.tokenizer().decode(tokens));
    ++n;
  }
  EXPECT_EQ(n, 6);
}

TEST(EndToEndGenerate, ShowPrintsSamplesFoldersAsJsonLines) {
  const Pipeline& p = pipeline();
  const fs::path dir = p.run.parent_path();
  std::ifstream in(dir / "show-b1.jsonl");
  const Samples s = read_samples(dir / "samples-b1");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["tokens"].get<std::vector<std::int32_t>>(), s.documents[n].tokens);
    EXPECT_TRUE(j["prompt_tokens"].empty());
    ++n;
  }
  EXPECT_EQ(n, 5) << "--limit 5";
}

TEST(EndToEndScore, EveryMetricOnGeneratedSamplesWithTheReferenceModel) {
  const Pipeline& p = pipeline();
  const auto j = nlohmann::json::parse(read_file(p.run.parent_path() / "score-samples.json"));
  for (const char* name :
       {"distinct_1", "distinct_2", "distinct_3", "distinct_4", "entropy_1", "entropy_2", "entropy_3",
        "entropy_4", "self_bleu_4", "coverage_1", "coverage_2", "coverage_3", "coverage_4",
        "rare_coverage_1", "rare_coverage_2", "rare_coverage_3", "rare_coverage_4", "unigram_kl",
        "unigram_js", "zipf_exponent", "compression_ratio", "precision", "recall", "ppl_mean",
        "ppl_median", "ppl_p10", "ppl_p90"}) {
    ASSERT_TRUE(j["metrics"].contains(name)) << name << " missing in " << j.dump();
    EXPECT_TRUE(std::isfinite(j["metrics"][name].get<double>())) << name;
  }
  EXPECT_EQ(j["sizes"]["synthetic_documents"], 24);
  // Precision/recall compare 24 synthetic documents with 24 windows of the test split.
  EXPECT_EQ(j["sizes"]["precision_recall_real"], 24);
  EXPECT_GT(j["sizes"]["precision_recall_real_windows"].get<int>(), 24);
  EXPECT_GE(j["sizes"]["precision_recall_window"].get<int>(), 1);
  EXPECT_LE(j["sizes"]["precision_recall_window"].get<int>(), 20) << "generated with --max-tokens 20";
  EXPECT_GT(j["metrics"]["ppl_median"].get<double>(), 1.0);
  EXPECT_LE(j["metrics"]["ppl_p10"].get<double>(), j["metrics"]["ppl_p90"].get<double>());
  const auto& hist = j["histograms"]["synthetic_ppl"];
  std::int64_t counted = 0;
  for (const auto& c : hist["counts"]) counted += c.get<std::int64_t>();
  EXPECT_EQ(counted, 24);
  EXPECT_EQ(hist["log10_edges"].size(), hist["counts"].size() + 1);
}

TEST(EndToEndScore, EveryMetricEqualsItsDefinitionRecomputedFromTheTokenFiles) {
  // tests/score/metrics_reference.py recomputes each metric from samples.tok and the dataset's
  // test split as docs/metrics.md defines it (numpy; transformers on the exported model for the
  // perplexities; NLTK for self-BLEU). Which split is the reference, the direction of KL, corpus
  // versus per-document averages, n-gram windows and the BOS/EOS of a document's perplexity all
  // show here.
  const Pipeline& p = pipeline();
  const fs::path dir = p.run.parent_path();
  const auto r = tests::run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                                  "/tests/score/metrics_reference.py " + (dir / "samples-b1" / "samples.tok").string() +
                                  " " + (p.data / "test.tok").string() + " " + p.exported.string() + " " +
                                  std::to_string(Tokenizer::kTrainedIds.bos) + " " +
                                  std::to_string(Tokenizer::kTrainedIds.eos) + " 2>/dev/null");
  if (r.exit_code == 77) SKIP_WITHOUT_REFERENCE("numpy, transformers or nltk not importable by " << COLLAPSE_PYTHON);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto reference = nlohmann::json::parse(r.out);
  const auto ours = nlohmann::json::parse(read_file(dir / "score-samples.json"));
  ASSERT_EQ(reference["metrics"].size(), 24u);
  for (const auto& [name, value] : reference["metrics"].items()) {
    ASSERT_TRUE(ours["metrics"].contains(name)) << name;
    const double want = value.get<double>(), got = ours["metrics"][name].get<double>();
    // Counts and their functions agree to rounding; perplexities to fp32 logits (our fp32 NLL
    // against transformers' fp32 logits summed in fp64).
    const double tolerance = name.rfind("ppl_", 0) == 0 ? 1e-6 : 1e-12;
    EXPECT_NEAR(got, want, tolerance * std::max(1.0, std::abs(want))) << name;
  }
  for (const auto& [name, value] : reference["sizes"].items()) EXPECT_EQ(ours["sizes"][name], value) << name;
}

TEST(EndToEndScore, JsonLinesSamplesAndPlainTextScoreWithoutAModel) {
  const Pipeline& p = pipeline();
  const auto beams = nlohmann::json::parse(read_file(p.run.parent_path() / "score-beams.json"));
  EXPECT_EQ(beams["input"], "samples");
  EXPECT_EQ(beams["sizes"]["synthetic_documents"], 6);
  EXPECT_FALSE(beams["metrics"].contains("ppl_mean")) << "no --model, no perplexity";
  const auto text = nlohmann::json::parse(read_file(p.run.parent_path() / "score-text.json"));
  EXPECT_EQ(text["input"], "text");
  EXPECT_EQ(text["sizes"]["synthetic_documents"], 3);
  EXPECT_GT(text["metrics"]["distinct_1"].get<double>(), 0.0);
  EXPECT_GT(text["metrics"]["coverage_1"].get<double>(), 0.0);
}

TEST(EndToEndDetector, SeparatesRealTextFromShuffledTokensUnderTheTrainedModel) {
  // The easy case of the detector of [curate] resample = "detector": real windows of the valid
  // split against windows of the test split with their tokens shuffled (the same words, no
  // order), on the trained model's features.
  const Pipeline& p = pipeline();
  const Dataset data(p.data);
  LoadedModel model = load_model(p.run, at::Device(at::kCPU));
  const FeatureWindows test = feature_windows(TokenCorpus::from_file(data.split("test")), 24, 200);
  std::vector<std::vector<std::int32_t>> shuffled;
  for (std::int64_t d = 0; d < test.windows.documents(); ++d) {
    const auto w = test.windows.document(d);
    std::vector<std::int32_t> doc(w.begin(), w.end());
    for (std::size_t i = doc.size(); i > 1; --i) {  // Fisher-Yates, seeded
      std::swap(doc[i - 1], doc[uniform_below(random_key(5, {static_cast<std::uint64_t>(d), i}), i)]);
    }
    shuffled.push_back(doc);
  }
  const RealSyntheticDetector detector = fit_real_synthetic_detector(
      model.model, TokenCorpus::from_file(data.split("valid")), shuffled, data.tokenizer().bos_id(),
      at::Device(at::kCPU), 0, 3);
  EXPECT_EQ(detector.window, 24) << "real windows as long as the synthetic documents";
  EXPECT_GE(detector.fit.real, kDetectorMinDocuments);
  EXPECT_EQ(detector.fit.synthetic, static_cast<std::int64_t>(shuffled.size()));
  EXPECT_GT(detector.fit.accuracy, 0.9);
  std::printf("detector balanced accuracy, real vs shuffled windows: %.4f\n", detector.fit.accuracy);
  // Its weights favour real-looking text: shuffled windows weigh less than 1 on average.
  const auto weights = importance_weights(detector.fit.synthetic_logits, 10.0);
  EXPECT_LT(std::accumulate(weights.begin(), weights.end(), 0.0) / static_cast<double>(weights.size()), 1.0);
}
