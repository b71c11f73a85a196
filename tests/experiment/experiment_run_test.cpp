// `collapse run` as a user drives it: a small two-arm experiment on moby-dick, on the CPU.
// Killed (SIGKILL) mid-training, mid-generation, mid-scoring and between generations, then
// resumed each time, it ends with the same metrics.csv as an uninterrupted run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "collapse/data/token_store.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/results_version.h"
#include "support/test_support.h"

using collapse::kResultsVersion;
using collapse::read_file;
using collapse::tests::fresh_dir;
using collapse::tests::run_collapse;
using collapse::tests::run_shell;
using collapse::tests::write_text;
namespace fs = std::filesystem;

namespace {

const char* kConfig = R"(name = "smoke"
seeds = [0]
generations = 3
device = "cpu"
[corpus]
source = "moby-dick"
vocab_size = 512
[model]
preset = "tiny"
context = 32
[train]
steps = 12
batch_size = 8
warmup_steps = 2
eval_every = 6
[generate]
documents = 24
max_tokens = 24
batch_size = 16
[score]
self_bleu_hypotheses = 10
self_bleu_references = 10
[[arm]]
name = "real-0"
[[arm]]
name = "real-50"
"mix.real_fraction" = 0.5
"curate.dedup" = "exact"
)";

fs::path write_config(const fs::path& dir) {
  write_text(dir / "smoke.toml", kConfig);
  return dir / "smoke.toml";
}

collapse::tests::CommandResult run(const fs::path& config, const fs::path& out, const std::string& fault = "") {
  std::string env = fault.empty() ? "" : "COLLAPSE_FAULT_INJECT=" + fault + " ";
  return run_shell(env + "'" + std::string(COLLAPSE_BIN) + "' run '" + config.string() + "' --out '" +
                   out.string() + "' --no-report");
}

}  // namespace

TEST(ExperimentRun, WritesEveryGenerationAndTheTidyMetrics) {
  const fs::path dir = fresh_dir("run-smoke");
  const auto r = run(write_config(dir), dir / "run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* arm : {"real-0", "real-50"}) {
    for (int k = 0; k < 3; ++k) {
      const fs::path gen = dir / "run" / arm / "seed-0" / ("gen-" + std::to_string(k));
      EXPECT_TRUE(fs::exists(gen / "DONE")) << gen;
      EXPECT_TRUE(fs::exists(gen / "samples" / "samples.tok")) << gen;
      const auto metrics = nlohmann::json::parse(read_file(gen / "metrics.json"));
      EXPECT_GT(metrics["metrics"]["test_perplexity"].get<double>(), 1.0);
      EXPECT_TRUE(metrics["metrics"].contains("distinct_2"));
      EXPECT_TRUE(metrics["metrics"].contains("ppl_median"));
      const auto train_set = nlohmann::json::parse(read_file(gen / "train_set.json"));
      if (k == 0) {
        EXPECT_TRUE(train_set["synthetic"].empty());
      } else {
        EXPECT_EQ(train_set["synthetic"].size(), 1u) << "replace: generation k-1 only";
        EXPECT_EQ(train_set["synthetic"][0]["generation"], k - 1);
        const auto real = train_set["real"]["documents"].get<int>();
        if (std::string(arm) == "real-0") {
          EXPECT_EQ(real, 0);
        } else {
          EXPECT_GT(real, 0);
        }
      }
    }
  }
  // Both arms train the same generation 0: once, linked into the second arm's folder.
  EXPECT_TRUE(fs::equivalent(dir / "run" / "real-0" / "seed-0" / "gen-0" / "model" / "best.ckpt",
                             dir / "run" / "real-50" / "seed-0" / "gen-0" / "model" / "best.ckpt"));
  EXPECT_NE(r.err.find("the same generation-0 model was trained by real-0 seed 0"), std::string::npos) << r.err;
  const std::string csv = read_file(dir / "run" / "metrics.csv");
  EXPECT_EQ(csv.rfind("experiment,arm,seed,generation,metric,value\n", 0), 0u);
  EXPECT_NE(csv.find("smoke,real-50,0,2,test_perplexity,"), std::string::npos) << csv.substr(0, 400);

  // Running again reuses everything; a changed config is refused, naming the key.
  const auto again = run(dir / "smoke.toml", dir / "run");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("0 generations run, 6 reused"), std::string::npos) << again.err;
  write_text(dir / "changed.toml", std::string(kConfig).replace(std::string(kConfig).find("steps = 12"), 10, "steps = 13"));
  const auto changed = run(dir / "changed.toml", dir / "run");
  EXPECT_NE(changed.exit_code, 0);
  EXPECT_NE(changed.err.find("train.steps"), std::string::npos) << changed.err;
  EXPECT_EQ(read_file(dir / "run" / "metrics.csv"), csv);

  // A run folder made under another results version (here: before versions were recorded) is
  // never resumed: the same seed would give other results. One line says how to start over.
  ASSERT_EQ(read_file(dir / "run" / "results_version.json"),
            "{\"results_version\":" + std::to_string(kResultsVersion) + "}\n");
  fs::remove(dir / "run" / "results_version.json");
  const auto older = run(dir / "smoke.toml", dir / "run");
  EXPECT_NE(older.exit_code, 0);
  EXPECT_NE(older.err.find("was made under results version 1 and this collapse produces version 2"),
            std::string::npos) << older.err;
  EXPECT_NE(older.err.find("run into another --out or delete"), std::string::npos) << older.err;
  EXPECT_EQ(read_file(dir / "run" / "metrics.csv"), csv);
}

// What TensorBoard reads from one of RUN/tensorboard's run folders (tests/util/event_file_tensorboard.py);
// null where tensorboard is not importable (outside CI).
nlohmann::json tensorboard(const fs::path& dir) {
  const auto r = run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                           "/tests/util/event_file_tensorboard.py " + dir.string());
  if (r.exit_code == 77) return nullptr;  // the caller skips, or fails in CI
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

std::vector<std::int64_t> steps_of(const nlohmann::json& points) {
  std::vector<std::int64_t> steps;
  for (const auto& p : points) steps.push_back(p[0].get<std::int64_t>());
  return steps;
}

TEST(ExperimentRun, AGenerationsMetricsAreWhatEvalAndScoreSayOfItsModelAndSamples) {
  // The engine's wiring against the commands a user would run by hand: test perplexity is
  // `collapse eval` of the generation's model on the test split, and the corpus metrics are
  // `collapse score` of its samples against the test split, perplexities under generation 0.
  const fs::path dir = fresh_dir("run-wiring");
  ASSERT_EQ(run(write_config(dir), dir / "run").exit_code, 0);
  const fs::path gen = dir / "run" / "real-50" / "seed-0" / "gen-2";
  const auto recorded = nlohmann::json::parse(read_file(gen / "metrics.json"))["metrics"];
  const std::string data = (dir / "run" / "data").string();

  const auto eval = run_collapse({"eval", "--model", (gen / "model").string(), "--data", data, "--split", "test",
                                  "--device", "cpu", "--json"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const double test_ppl = nlohmann::json::parse(eval.out)["perplexity"].get<double>();
  EXPECT_NEAR(recorded["test_perplexity"].get<double>(), test_ppl, 1e-6 * test_ppl);

  const auto score = run_collapse({"score", "--samples", (gen / "samples").string(), "--data", data, "--model",
                                   (dir / "run" / "real-50" / "seed-0" / "gen-0" / "model").string(), "--device",
                                   "cpu", "--json"});
  ASSERT_EQ(score.exit_code, 0) << score.err;
  const auto scored = nlohmann::json::parse(score.out)["metrics"];
  int compared = 0;
  for (const auto& [name, value] : scored.items()) {
    // Self-BLEU's subsets and precision/recall's real windows are drawn with the run's seeds.
    if (name == "self_bleu_4" || name == "precision" || name == "recall") continue;
    ASSERT_TRUE(recorded.contains(name)) << name;
    const double want = value.get<double>();
    const double tolerance = name.rfind("ppl_", 0) == 0 ? 1e-6 : 1e-12;
    EXPECT_NEAR(recorded[name].get<double>(), want, tolerance * std::max(1.0, std::abs(want))) << name;
    ++compared;
  }
  EXPECT_GE(compared, 20);
}

TEST(ExperimentRun, OneProcessPerArmSharingARunFolderEndsWithTheSequentialRunsMetrics) {
  // README: "several such processes can share one run folder, for instance one per GPU". Two
  // processes, --arm real-0 and --arm real-50, started together: they contend for the shared
  // generation-0 model (one trains it, the other waits and links it) and for metrics.csv.
  const fs::path dir = fresh_dir("run-shared");
  const fs::path config = write_config(dir);
  ASSERT_EQ(run(config, dir / "sequential").exit_code, 0);
  const std::string bin = "'" + std::string(COLLAPSE_BIN) + "' run '" + config.string() + "' --out '" +
                          (dir / "shared").string() + "' --no-report";
  const auto both = run_shell(bin + " --arm real-0 --seed 0 > '" + (dir / "a.log").string() + "' 2>&1 & a=$!; " +
                              bin + " --arm real-50 > '" + (dir / "b.log").string() + "' 2>&1 & b=$!; " +
                              "wait $a; ra=$?; wait $b; rb=$?; exit $((ra + rb))");
  ASSERT_EQ(both.exit_code, 0) << read_file(dir / "a.log") << read_file(dir / "b.log");
  EXPECT_EQ(read_file(dir / "shared" / "metrics.csv"), read_file(dir / "sequential" / "metrics.csv"));
  EXPECT_TRUE(fs::equivalent(dir / "shared" / "real-0" / "seed-0" / "gen-0" / "model" / "best.ckpt",
                             dir / "shared" / "real-50" / "seed-0" / "gen-0" / "model" / "best.ckpt"))
      << "generation 0 was trained once";
  // A process for an arm the config does not have is refused, naming it.
  const auto bad = run_shell(bin + " --arm nope");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("nope"), std::string::npos) << bad.err;
}

TEST(ExperimentRun, ReportWatchRewritesThePageAsGenerationsFinishAndStopsWhenTheRunIsDone) {
  // The watcher starts before the run folder exists, waits for it, rewrites the page as
  // generations finish (a live page that reloads itself) and ends with a final page.
  const fs::path dir = fresh_dir("run-watch");
  const fs::path config = write_config(dir);
  const std::string bin = std::string("'") + COLLAPSE_BIN + "'";
  const auto r = run_shell("(" + bin + " run '" + config.string() + "' --out '" + (dir / "run").string() +
                           "' --no-report > '" + (dir / "run.log").string() + "' 2>&1 &) ; " + bin + " report '" +
                           (dir / "run").string() + "' --watch --interval 1");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> wrote;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("wrote ")) wrote.push_back(line);
  }
  ASSERT_GE(wrote.size(), 2u) << r.out << r.err;
  EXPECT_NE(wrote.back().find("(6 of 6 generation runs finished)"), std::string::npos) << r.out;
  const std::string page = read_file(dir / "run" / "report.html");
  EXPECT_EQ(page.find("http-equiv=\"refresh\""), std::string::npos) << "the final page no longer reloads";
  EXPECT_NE(page.find("6 of 6 generation runs finished"), std::string::npos);
}

TEST(ExperimentRun, ReportRendersInAHeadlessBrowser) {
  // The page of a real run, opened by Chromium as a person would: no console message, every
  // chart drawn with its data, the run's name and arms on the page, and a screenshot in the
  // build folder (test-work/report-screenshot.png) to look at.
  if (run_shell("command -v chromium").exit_code != 0) {
    GTEST_SKIP() << "chromium is not installed (scripts/bootstrap.sh installs it as root)";
  }
  const fs::path dir = fresh_dir("run-browser");
  ASSERT_EQ(run(write_config(dir), dir / "run").exit_code, 0);
  const auto report = run_collapse({"report", (dir / "run").string(), "--compare", "real-0,real-50"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const std::string page = "file://" + (dir / "run" / "report.html").string();
  const std::string chromium = "timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run ";
  const fs::path shot = fs::path(COLLAPSE_TEST_WORK) / "report-screenshot.png";
  fs::remove(shot);
  const auto screenshot = run_shell(chromium + "--enable-logging=stderr --v=0 --window-size=1280,4000 --screenshot='" +
                                    shot.string() + "' '" + page + "'");
  ASSERT_EQ(screenshot.exit_code, 0) << screenshot.err;
  EXPECT_EQ(screenshot.err.find("CONSOLE"), std::string::npos) << "a console message:\n" << screenshot.err;
  ASSERT_TRUE(fs::exists(shot));
  EXPECT_GT(fs::file_size(shot), 20000u) << "a blank page is smaller";
  const auto dom = run_shell(chromium + "--dump-dom '" + page + "'");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const std::string html = read_file(dir / "run" / "report.html");
  std::size_t charts = 0;
  for (std::size_t at = dom.out.find("<svg"); at != std::string::npos; at = dom.out.find("<svg", at + 1)) {
    ++charts;
    const std::string svg = dom.out.substr(at, dom.out.find("</svg>", at) - at);
    EXPECT_TRUE(svg.find("<path") != std::string::npos || svg.find("<polyline") != std::string::npos ||
                svg.find("<rect") != std::string::npos)
        << "chart " << charts << " has no data drawn";
  }
  std::size_t written = 0;
  for (std::size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++written;
  EXPECT_EQ(charts, written) << "the browser parsed every chart the page has";
  EXPECT_GE(charts, 10u);
  for (const char* text : {"Experiment", "smoke", "real-0", "real-50", "Headline", "Comparisons"}) {
    EXPECT_NE(dom.out.find(text), std::string::npos) << text;
  }
}

TEST(ExperimentRun, KilledAnywhereAndResumedItEndsWithTheSameMetrics) {
  const fs::path dir = fresh_dir("run-kill");
  const fs::path config = write_config(dir);
  const auto clean = run(config, dir / "clean");
  ASSERT_EQ(clean.exit_code, 0) << clean.err;

  for (const char* fault : {"train@1", "generate@1", "score@1", "done@1", "train@2"}) {
    const auto killed = run(config, dir / "resumed", fault);
    EXPECT_NE(killed.exit_code, 0) << "the fault " << fault << " should have killed the run";
    EXPECT_NE(killed.err.find("fault injection"), std::string::npos) << killed.err;
  }
  const auto finished = run(config, dir / "resumed");
  ASSERT_EQ(finished.exit_code, 0) << finished.err;
  EXPECT_EQ(read_file(dir / "resumed" / "metrics.csv"), read_file(dir / "clean" / "metrics.csv"));

  // TensorBoard, reading the files of six processes (five killed), sees the uninterrupted run:
  // every step once, in order, with the same values (tokens/s aside, a timing).
  for (const char* arm : {"real-0", "real-50"}) {
    for (const char* folder : {"training", "generations"}) {
      SCOPED_TRACE(std::string(arm) + "/" + folder);
      const fs::path part = fs::path("tensorboard") / arm / "seed-0" / folder;
      nlohmann::json clean_tb = tensorboard(dir / "clean" / part);
      if (clean_tb.is_null()) SKIP_WITHOUT_REFERENCE("tensorboard not importable by " << COLLAPSE_PYTHON);
      nlohmann::json resumed_tb = tensorboard(dir / "resumed" / part);
      clean_tb["scalars"].erase("train/tokens_per_second");
      resumed_tb["scalars"].erase("train/tokens_per_second");
      EXPECT_EQ(resumed_tb["scalars"], clean_tb["scalars"]);
      for (const auto& [tag, points] : resumed_tb["scalars"].items()) {
        const auto steps = steps_of(points);
        EXPECT_TRUE(std::adjacent_find(steps.begin(), steps.end(), std::greater_equal<>()) == steps.end())
            << tag << ": steps strictly increasing";
      }
    }
  }
}

TEST(ExperimentRun, TensorBoardHasEveryTrainingStepAlongTheLineageAndEveryMetricPerGeneration) {
  const fs::path dir = fresh_dir("run-tensorboard");
  const auto r = run(write_config(dir), dir / "run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path lineage = dir / "run" / "tensorboard" / "real-0" / "seed-0";
  const nlohmann::json training = tensorboard(lineage / "training");
  if (training.is_null()) SKIP_WITHOUT_REFERENCE("tensorboard not importable by " << COLLAPSE_PYTHON);
  // 3 generations of 12 steps, one after the other: steps 1..36.
  std::vector<std::int64_t> all(36);
  std::iota(all.begin(), all.end(), 1);
  EXPECT_EQ(steps_of(training["scalars"]["train/loss"]), all);
  EXPECT_EQ(steps_of(training["scalars"]["valid/loss"]), (std::vector<std::int64_t>{6, 12, 18, 24, 30, 36}));
  // Generation 1's train_log.jsonl, at its steps + 12 (float32 in the event file).
  std::istringstream log(read_file(dir / "run" / "real-0" / "seed-0" / "gen-1" / "model" / "train_log.jsonl"));
  int compared = 0;
  for (std::string line; std::getline(log, line);) {
    const auto e = nlohmann::json::parse(line);
    const std::int64_t step = 12 + e["step"].get<std::int64_t>();
    const char* tag = e.contains("loss") ? "train/loss" : "valid/loss";
    const double value = e.contains("loss") ? e["loss"].get<double>() : e["valid_loss"].get<double>();
    for (const auto& p : training["scalars"][tag]) {
      if (p[0] == step) {
        EXPECT_EQ(p[1].get<double>(), static_cast<double>(static_cast<float>(value))) << tag << " " << step;
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 3);
  // Every metric of metrics.csv at its generation.
  const nlohmann::json generations = tensorboard(lineage / "generations");
  std::istringstream csv(read_file(dir / "run" / "metrics.csv"));
  std::string line;
  std::getline(csv, line);  // header
  int metrics = 0;
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f[1] != "real-0") continue;
    const auto& points = generations["scalars"]["metrics/" + f[4]];
    ASSERT_EQ(points.size(), 3u) << f[4];
    EXPECT_EQ(points[std::stoi(f[3])][0], std::stoi(f[3]));
    EXPECT_EQ(points[std::stoi(f[3])][1].get<double>(), static_cast<double>(static_cast<float>(std::stod(f[5])))) << f[4];
    ++metrics;
  }
  EXPECT_GE(metrics, 3 * 20);
  EXPECT_NE(generations["texts"]["config"][0][1].get<std::string>().find("name = \"smoke\""), std::string::npos);
  // real-50 reused real-0's generation-0 model: its log is replayed (loss at the logged steps).
  const nlohmann::json shared = tensorboard(dir / "run" / "tensorboard" / "real-50" / "seed-0" / "training");
  const auto steps = steps_of(shared["scalars"]["train/loss"]);
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0], 10);
  EXPECT_EQ(steps[1], 12);
  EXPECT_EQ(steps.back(), 36);

  // Off: no folder.
  std::string off = kConfig;
  off.replace(off.find("[[arm]]"), 7, "[report]\ntensorboard = false\n\n[[arm]]");
  write_text(dir / "off.toml", off);
  ASSERT_EQ(run(dir / "off.toml", dir / "off").exit_code, 0);
  EXPECT_FALSE(fs::exists(dir / "off" / "tensorboard"));
}

TEST(ExperimentRun, EveryLiteratureKnobOnKilledAnywhereResumesToTheSameMetrics) {
  // The knobs of the 2024-2026 papers at once: an accumulated pool drawn to a token size with a
  // fixed synthetic share, per-source loss weights, best-of-k, a perplexity filter and keep-top
  // by an oracle verifier with errors, dedup, and detector resampling.
  const fs::path dir = fresh_dir("run-every-knob");
  std::string config = kConfig;
  config = config.substr(0, config.find("[[arm]]"));
  config.replace(config.find("[train]\n"), 8, "[train]\nreal_weight = 1.0\nsynthetic_weight = 0.5\n");
  config += R"([mix]
regime = "accumulate"
train_size = "tokens:1000"
synthetic_share = 0.3
[curate]
verifier = "oracle"
oracle_steps = 8
best_of_k = 2
ppl_filter = [0.05, 1.0]
keep_top = 0.8
verifier_error = 0.1
dedup = "exact"
resample = "detector"
resample_clip = 5.0
)";
  write_text(dir / "knobs.toml", config);
  const auto clean = run(dir / "knobs.toml", dir / "clean");
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  for (int k = 0; k < 3; ++k) {
    const fs::path gen = dir / "clean" / "default" / "seed-0" / ("gen-" + std::to_string(k));
    const auto curated = nlohmann::json::parse(read_file(gen / "curated.json"));
    EXPECT_EQ(curated["documents"], 48) << "24 prompts x best_of_k 2";
    EXPECT_EQ(curated["verifier"]["verifier"], "oracle");
    EXPECT_EQ(curated["verifier"]["model"], (dir / "clean" / "default" / "seed-0" / "oracle").string());
    EXPECT_EQ(curated["flipped"]["best_of_k"], 5) << "10% of the 48 documents best_of_k was given";
    EXPECT_EQ(curated["flipped"].size(), 3u) << "best_of_k, ppl_filter and keep_top use the verifier";
    for (const char* step : {"best_of_k", "ppl_filter", "keep_top", "exact_dedup", "resample"}) {
      EXPECT_TRUE(curated["removed"].contains(step)) << step;
    }
    EXPECT_EQ(curated["detector"]["clip"], 5.0);
    const auto metrics = nlohmann::json::parse(read_file(gen / "metrics.json"));
    EXPECT_EQ(metrics["metrics"]["detector_accuracy"], curated["detector"]["accuracy"]);
  }
  for (const char* fault : {"oracle@0", "score@0", "train@1", "generate@1", "score@2"}) {
    const auto killed = run(dir / "knobs.toml", dir / "resumed", fault);
    EXPECT_NE(killed.exit_code, 0) << "the fault " << fault << " should have killed the run";
    EXPECT_NE(killed.err.find("fault injection"), std::string::npos) << killed.err;
  }
  const auto finished = run(dir / "knobs.toml", dir / "resumed");
  ASSERT_EQ(finished.exit_code, 0) << finished.err;
  EXPECT_EQ(read_file(dir / "resumed" / "metrics.csv"), read_file(dir / "clean" / "metrics.csv"));
  EXPECT_FALSE(fs::exists(dir / "resumed" / "default" / "seed-0" / "oracle.partial"));
}

TEST(ExperimentRun, AModelFolderVerifiesLikeTheGenerationZeroModelItHolds) {
  // Run A keeps the half of each corpus its generation-0 model scores best; run B names A's
  // generation-0 model folder as its verifier. B trains the same generation-0 model (same
  // settings and seed), so the folder must keep exactly what gen0 kept in A.
  const fs::path dir = fresh_dir("run-verifier-path");
  std::string base = kConfig;
  base = base.substr(0, base.find("[[arm]]"));
  base.replace(base.find("generations = 3"), 15, "generations = 2");
  write_text(dir / "a.toml", base + "[curate]\nkeep_top = 0.5\n");
  const auto a = run(dir / "a.toml", dir / "a");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const fs::path folder = dir / "a" / "default" / "seed-0" / "gen-0" / "model";
  write_text(dir / "b.toml", base + "[curate]\nkeep_top = 0.5\nverifier = \"" + folder.string() + "\"\n");
  const auto b = run(dir / "b.toml", dir / "b");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  for (int k = 0; k < 2; ++k) {
    const std::string gen = "gen-" + std::to_string(k);
    const auto kept_a = nlohmann::json::parse(read_file(dir / "a" / "default" / "seed-0" / gen / "curated.json"));
    const auto kept_b = nlohmann::json::parse(read_file(dir / "b" / "default" / "seed-0" / gen / "curated.json"));
    EXPECT_EQ(kept_b["kept"], kept_a["kept"]) << gen;
    EXPECT_EQ(kept_a["kept"].size(), 12u) << "keep_top 0.5 of 24 documents";
    EXPECT_EQ(kept_a["verifier"]["verifier"], "gen0");
    EXPECT_EQ(kept_b["verifier"]["model"], folder.string());
  }
  // A model of another vocabulary cannot score this dataset's tokens: one line naming the key.
  std::string other = base;
  other.replace(other.find("vocab_size = 512"), 16, "vocab_size = 400");
  write_text(dir / "c.toml", other + "[curate]\nkeep_top = 0.5\nverifier = \"" + folder.string() + "\"\n");
  const auto c = run(dir / "c.toml", dir / "c");
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("[curate] verifier " + folder.string()), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(dir / "c" / "default")) << "checked before any generation runs";
}

TEST(ExperimentRun, ReportCompareTestsArmsPairedBySeedAndCallsSharedGenerationZeroIdentical) {
  const fs::path dir = fresh_dir("run-compare");
  std::string config = kConfig;
  config.replace(config.find("seeds = [0]"), 11, "seeds = [0, 1]");
  config.replace(config.find("generations = 3"), 15, "generations = 2");
  write_text(dir / "two.toml", config);
  ASSERT_EQ(run(dir / "two.toml", dir / "run").exit_code, 0);
  const auto r = run_collapse({"report", (dir / "run").string(), "--compare", "real-0,real-50", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto stats = nlohmann::json::parse(r.out);
  bool saw_gen0 = false, saw_gen1 = false;
  for (const auto& c : stats["comparisons"]) {
    if (c["metric"] != "test_perplexity") continue;
    EXPECT_EQ(c["test"], "paired") << "both arms ran seeds 0 and 1";
    EXPECT_EQ(c["n_a"], 2);
    if (c["generation"] == 0) {
      saw_gen0 = true;  // one generation-0 model and the same samples in both arms
      EXPECT_EQ(c["note"], "identical by construction");
      EXPECT_EQ(c["diff"], 0.0);
      EXPECT_TRUE(c["p"].is_null());
    } else {
      saw_gen1 = true;
      EXPECT_LE(c["ci_low"].get<double>(), c["diff"].get<double>());
      EXPECT_GE(c["ci_high"].get<double>(), c["diff"].get<double>());
      EXPECT_GE(c["p_holm"].get<double>(), c["p"].get<double>());
    }
  }
  EXPECT_TRUE(saw_gen0 && saw_gen1) << r.out;
  EXPECT_FALSE(stats["slopes"].empty());
  const auto md = run_collapse({"report", (dir / "run").string(), "--format", "md", "--compare", "real-0,real-50"});
  EXPECT_NE(md.out.find("### test_perplexity: real-0 − real-50"), std::string::npos) << md.out;
  // --out never replaces the run's own files (here its resolved config), only its report.
  const std::string config_before = read_file(dir / "run" / "experiment.toml");
  const auto clobber = run_collapse({"report", (dir / "run").string(), "--format", "md", "--out",
                                     (dir / "run" / "experiment.toml").string()});
  EXPECT_NE(clobber.exit_code, 0);
  EXPECT_NE(clobber.err.find("belongs to the run"), std::string::npos) << clobber.err;
  EXPECT_EQ(read_file(dir / "run" / "experiment.toml"), config_before);
  EXPECT_EQ(run_collapse({"report", (dir / "run").string(), "--format", "md", "--out",
                          (dir / "run" / "report.md").string()}).exit_code, 0);
  EXPECT_EQ(run_collapse({"report", (dir / "run").string(), "--format", "md", "--out",
                          (dir / "run" / "report.md").string()}).exit_code, 0) << "its own report: replaced";
  const auto bad = run_collapse({"report", (dir / "run").string(), "--compare", "real-0,nope", "--json"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("no arm named 'nope'"), std::string::npos) << bad.err;

  // The same pair named by the config: a run with other [report] keys resumes (nothing to redo),
  // takes them into RUN/experiment.toml, and its page opens with the headline box and verdict.
  const std::string named = config.substr(0, config.find("[[arm]]")) +
                            "[report]\ncompare = [\"real-0,real-50\"]\nheadline = \"test_perplexity\"\n\n" +
                            config.substr(config.find("[[arm]]"));
  write_text(dir / "named.toml", named);
  const auto again = run_collapse({"run", (dir / "named.toml").string(), "--out", (dir / "run").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("0 generations run, 8 reused"), std::string::npos) << again.err;
  EXPECT_NE(read_file(dir / "run" / "experiment.toml").find("compare = [\"real-0,real-50\"]"), std::string::npos);
  const std::string html = read_file(dir / "run" / "report.html");
  EXPECT_NE(html.find("<section class=\"headline\">"), std::string::npos);
  EXPECT_NE(html.find("<td>real-0 − real-50</td><td class=\"num\">1</td>"), std::string::npos)
      << "the verdict is at the last generation both arms finished";
  EXPECT_NE(html.find("<h2>Comparisons</h2>"), std::string::npos);
  const auto json_from_config = run_collapse({"report", (dir / "run").string(), "--json"});
  ASSERT_EQ(json_from_config.exit_code, 0) << json_from_config.err;
  EXPECT_EQ(nlohmann::json::parse(json_from_config.out), stats) << "the config's pair, the same statistics";
}

TEST(ExperimentRun, TrainSizeAndSyntheticShareDrawTheAskedTokensFromTheAccumulatedPool) {
  // Generations 1 and 2 train on 3000 tokens drawn from the accumulated pool, 10% of them
  // synthetic: counted in the train.tok each generation trained on.
  const fs::path dir = fresh_dir("run-train-size");
  std::string config = kConfig;
  config = config.substr(0, config.find("[[arm]]"));
  config += "[mix]\nregime = \"accumulate\"\ntrain_size = \"tokens:3000\"\nsynthetic_share = 0.1\n";
  // With the synthetic tokens' loss weighted down (the training set is the same either way).
  config.replace(config.find("[train]\n"), 8, "[train]\nreal_weight = 1.0\nsynthetic_weight = 0.25\n");
  write_text(dir / "share.toml", config);
  const auto r = run(dir / "share.toml", dir / "run");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (int k = 1; k <= 2; ++k) {
    const fs::path gen = dir / "run" / "default" / "seed-0" / ("gen-" + std::to_string(k));
    const nlohmann::json set = nlohmann::json::parse(read_file(gen / "train_set.json"));
    const collapse::TokenFile tokens(gen / "train.tok");
    EXPECT_EQ(set["train_size"], "tokens:3000");
    EXPECT_EQ(tokens.documents(), set["total_documents"].get<std::int64_t>());
    EXPECT_EQ(tokens.tokens(), set["total_tokens"].get<std::int64_t>());
    // train.tok holds the real documents first, then the synthetic ones.
    const auto real_documents = set["real"]["documents"].get<std::int64_t>();
    std::int64_t real = 0, synthetic = 0, longest_real = 0;
    for (std::int64_t d = 0; d < tokens.documents(); ++d) {
      const std::int64_t n = tokens.document_length(d);
      if (d < real_documents) {
        real += n;
        longest_real = std::max(longest_real, n);
      } else {
        synthetic += n;
      }
    }
    EXPECT_EQ(real, set["real"]["tokens"].get<std::int64_t>());
    // Each part reaches its share and passes it by less than one of its documents.
    EXPECT_GE(synthetic, 300) << k;
    EXPECT_LT(synthetic, 300 + 24) << k;  // a synthetic document has at most max_tokens = 24
    EXPECT_GE(real, 2700) << k;
    EXPECT_LT(real, 2700 + longest_real) << k;
  }
}

TEST(ExperimentRun, TheSweepScriptPassesEveryPathAsOneArgumentAndRunsNoneOfIt) {
  // The script runs later, on a cluster node: a config path or run directory holding spaces,
  // quotes or $(...) must reach `collapse run` unchanged, as one argument, and never execute.
  const fs::path dir = fresh_dir("run-sweep-quoting");
  const fs::path odd = dir / "cfg $(touch PWNED) it's";
  fs::create_directories(odd);
  const fs::path config = write_config(odd);
  const fs::path run_dir = dir / "run with `touch PWNED` space";
  const auto r = run_collapse({"sweep", config.string(), "--run", run_dir.string(), "--out", (dir / "job.sh").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A stand-in for collapse that writes its arguments one per line.
  write_text(dir / "fake.sh", "#!/bin/bash\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args.txt\"\n");
  fs::permissions(dir / "fake.sh", fs::perms::owner_exec, fs::perm_options::add);
  const auto job = run_shell("cd '" + dir.string() + "' && SLURM_ARRAY_TASK_ID=1 COLLAPSE=./fake.sh bash job.sh");
  ASSERT_EQ(job.exit_code, 0) << job.err;
  EXPECT_EQ(read_file(dir / "args.txt"), "run\n" + config.string() + "\n--out\n" + run_dir.string() +
                                             "\n--arm\nreal-50\n--seed\n0\n");
  EXPECT_FALSE(fs::exists(dir / "PWNED"));
  EXPECT_FALSE(fs::exists(odd / "PWNED"));
  // A line break cannot be carried by the script's comments: refused, naming the path.
  const auto broken = run_collapse({"sweep", config.string(), "--run", (dir / "a\nb").string()});
  EXPECT_NE(broken.exit_code, 0);
  EXPECT_NE(broken.err.find("holds a line break"), std::string::npos) << broken.err;
}

TEST(ExperimentRun, SweepWritesASlurmArrayOverArmsAndSeeds) {
  const fs::path dir = fresh_dir("run-sweep");
  const auto r = run_collapse({"sweep", write_config(dir), "--emit", "slurm"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("#SBATCH --array=0-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("#SBATCH --gres=gpu:1"), std::string::npos);
  EXPECT_NE(r.out.find("ARMS=( 'real-0' 'real-50' )"), std::string::npos) << r.out;
  const auto dry = run_collapse({"run", dir / "smoke.toml", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("2 arms x 1 seed x 3 generations"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(fs::path("runs") / "smoke")) << "--dry-run does no work";
}

TEST(ExperimentRun, ACorruptCheckpointOfAFinishedGenerationIsNamedAndNothingFinishedIsTouched) {
  const fs::path dir = fresh_dir("run-corrupt");
  const fs::path config = write_config(dir);
  const fs::path run_dir = dir / "run";
  ASSERT_NE(run(config, run_dir, "done@1").exit_code, 0) << "the injected fault kills the run";
  // Generations 0 and 1 of the first arm are finished; break generation 0's model, which
  // generation 2 (scored under the gen-0 model) must read.
  const fs::path gen0 = run_dir / "real-0" / "seed-0" / "gen-0";
  write_text(gen0 / "model" / "best.ckpt", "garbage");
  const std::string metrics0 = read_file(gen0 / "metrics.json");
  const auto r = run(config, run_dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("best.ckpt"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(gen0 / "DONE"));
  EXPECT_EQ(read_file(gen0 / "metrics.json"), metrics0);
  EXPECT_TRUE(fs::exists(run_dir / "real-0" / "seed-0" / "gen-1" / "DONE"));
}

// What goes wrong at run time is named the way the experiment names it: its file, its arm and
// its key, never a flag of some command.
TEST(ExperimentRun, RunTimeErrorsNameTheFileArmAndKey) {
  const fs::path dir = fresh_dir("run-names");
  std::string graph = kConfig;
  graph.replace(graph.find("[generate]\n"), 11, "[generate]\ndecode = \"graph\"\n");
  write_text(dir / "graph.toml", graph);
  const auto r = run_collapse({"run", dir / "graph.toml", "--out", dir / "run", "--no-report"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find((dir / "graph.toml").string() + ": arm 'real-0': [generate] decode graph: "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("--"), std::string::npos) << r.err;
}

// Issue 19, probe finding 4: two processes given the same arm and seed once overwrote each
// other's generations ("cannot copy file: File exists"). The second is refused at once, naming the
// first, and the first finishes undisturbed.
TEST(ExperimentRun, ASecondProcessForTheSameArmAndSeedIsRefusedNamingTheFirst) {
  const fs::path dir = fresh_dir("run-busy");
  const fs::path config = write_config(dir);
  const fs::path out = dir / "run";
  const std::string bin = "'" + std::string(COLLAPSE_BIN) + "' run '" + config.string() + "' --out '" + out.string() +
                          "' --no-report --arm real-0 --seed 0";
  const auto r = run_shell("(" + bin + " > '" + (dir / "first.log").string() + "' 2>&1 & a=$!; " +
                           "while [ ! -d '" + (out / "real-0" / "seed-0" / "gen-0").string() +
                           "' ]; do sleep 0.02; done; " + bin + " 2>&1; rb=$?; wait $a; ra=$?; " +
                           "echo \"first=$a ra=$ra rb=$rb\")");
  EXPECT_NE(r.out.find("ra=0 rb=1"), std::string::npos) << r.out << read_file(dir / "first.log");
  const std::string first = r.out.substr(r.out.find("first=") + 6, r.out.find(" ra=") - r.out.find("first=") - 6);
  EXPECT_NE(r.out.find("collapse: error: " + out.string() + " (arm 'real-0', seed 0) is being written by process " +
                       first + "; wait for it to finish, or give another --arm or --seed"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(out / "real-0" / "seed-0" / "gen-2" / "DONE"));
}

// Issue 19, probe finding 10: a run that failed before finishing anything left its
// experiment.toml, and the corrected config was refused with no way forward named.
TEST(ExperimentRun, AConfigChangedAfterAFailureWithNothingFinishedSaysHowToStartOver) {
  const fs::path dir = fresh_dir("run-restart");
  std::string graph = kConfig;
  graph.replace(graph.find("[generate]\n"), 11, "[generate]\ndecode = \"graph\"\n");
  write_text(dir / "graph.toml", graph);
  ASSERT_NE(run(dir / "graph.toml", dir / "run").exit_code, 0);
  const auto again = run(write_config(dir), dir / "run");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("no generation of " + (dir / "run").string() +
                           " has finished, so nothing is lost by removing it to start over"),
            std::string::npos)
      << again.err;
  // Once a generation has finished, the run is worth keeping: restore the config instead.
  ASSERT_NE(run(dir / "smoke.toml", dir / "kept", "done@0").exit_code, 0);
  const auto changed = run(dir / "graph.toml", dir / "kept");
  EXPECT_NE(changed.err.find("restore it, or run into another --out"), std::string::npos) << changed.err;
}

// Issue 19, probe finding 9: a missing prompt file was found only when generation 0 had trained
// and began to sample. It is refused before any work, by the dry run too.
TEST(ExperimentRun, AMissingPromptFileIsRefusedBeforeAnyWork) {
  const fs::path dir = fresh_dir("run-prompt-file");
  std::string config = kConfig;
  config.replace(config.find("[generate]\n"), 11, "[generate]\nprompt = \"file:nope.txt\"\n");
  write_text(dir / "prompt.toml", config);
  for (const bool dry : {true, false}) {
    std::vector<std::string> args{"run", dir / "prompt.toml", "--out", dir / "run", "--no-report"};
    if (dry) args.push_back("--dry-run");
    const auto r = run_collapse(args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("collapse: error: " + (dir / "prompt.toml").string() +
                         ": arm 'real-0': [generate] prompt: file not found: " + (dir / "nope.txt").string()),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(dir / "run" / "real-0")) << "nothing was trained";
  }
}
