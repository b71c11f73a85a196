// The report's headline: each arm's last generation against its generation 0 as a per-seed ratio
// with a t-interval over seeds, and a verdict per compared pair at the last generation both arms
// finished; the page's headline box, comparisons and perplexity densities. Numbers are
// hand-computed from the fake run below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collapse/experiment/experiment_config.h"
#include "collapse/experiment/run_results.h"
#include "collapse/report/headline.h"
#include "collapse/report/report.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Arms "up" and "flat", seeds 0-2, generations 0-2, sharing generation 0 (equal values there):
//   up:   test_perplexity = 10 + s, then 10 + s + 2k + 0.1 s k  (k = generation)
//   flat: test_perplexity = 10 + s at every generation
// Arm "solo" has seed 0 only: 20, 25.
fs::path fake_run(const std::string& name, const std::string& report_keys) {
  const fs::path run = tests::fresh_dir(name);
  const std::string config = "name = \"h\"\nseeds = [0, 1, 2]\ngenerations = 3\n" + report_keys +
                             "[[arm]]\nname = \"up\"\n[[arm]]\nname = \"flat\"\n[[arm]]\nname = \"solo\"\n";
  tests::write_text(run / "experiment.toml", resolved_toml(parse_experiment(config, "h.toml")));
  std::string csv = "experiment,arm,seed,generation,metric,value\n";
  auto add = [&](const std::string& arm, int seed, int k, double value) {
    csv += fmt::format("h,{},{},{},test_perplexity,{:.17g}\n", arm, seed, k, value);
    // Histograms: generation 0 spread evenly over 10 bins; later generations move 40% of the
    // mass into the top bin (the tail grows).
    json counts = json::array();
    for (int i = 0; i < 10; ++i) counts.push_back(k == 0 ? 10 : (i == 9 ? 46 : 6));
    json edges = json::array();
    for (int i = 0; i <= 10; ++i) edges.push_back(0.25 * i);
    const fs::path dir = run / arm / fmt::format("seed-{}", seed) / fmt::format("gen-{}", k);
    tests::write_text(dir / "metrics.json",
                      json{{"histograms", {{"synthetic_ppl_under_gen0", {{"log10_edges", edges}, {"counts", counts}}}}}}.dump());
    tests::write_text(dir / "DONE", "");
  };
  for (int s = 0; s < 3; ++s) {
    for (int k = 0; k < 3; ++k) {
      add("up", s, k, 10 + s + 2 * k + 0.1 * s * k);
      add("flat", s, k, 10 + s);
    }
  }
  add("solo", 0, 0, 20);
  add("solo", 0, 1, 25);
  tests::write_text(run / "metrics.csv", csv);
  return run;
}

}  // namespace

TEST(Headline, EachArmsLastGenerationIsAPerSeedRatioToGenerationZeroWithATInterval) {
  const RunResults run = load_run(fake_run("headline-folds", ""));
  const std::vector<FoldChange> folds = fold_changes(run, "test_perplexity");
  ASSERT_EQ(folds.size(), 3u);
  // up, generation 2: 14/10, 15.2/11, 16.4/12 = 1.4, 1.381818, 1.366667.
  const double r[] = {1.4, 15.2 / 11, 16.4 / 12};
  const double mean = (r[0] + r[1] + r[2]) / 3;
  double ss = 0;
  for (double x : r) ss += (x - mean) * (x - mean);
  const double half = 4.302652729911275 * std::sqrt(ss / 2) / std::sqrt(3.0);
  EXPECT_EQ(folds[0].arm, "up");
  EXPECT_EQ(folds[0].generation, 2);
  EXPECT_EQ(folds[0].seeds, 3);
  EXPECT_NEAR(folds[0].mean, mean, 1e-12);
  EXPECT_NEAR(folds[0].ci_low, mean - half, 1e-4);  // t table to 4 decimals (confidence.h)
  EXPECT_NEAR(folds[0].ci_high, mean + half, 1e-4);
  EXPECT_EQ(folds[1].arm, "flat");
  EXPECT_DOUBLE_EQ(folds[1].mean, 1.0);
  EXPECT_DOUBLE_EQ(folds[1].ci_low, 1.0);  // no spread: a point interval
  EXPECT_EQ(folds[2].arm, "solo");
  EXPECT_EQ(folds[2].generation, 1);
  EXPECT_DOUBLE_EQ(folds[2].mean, 1.25);
  EXPECT_TRUE(std::isnan(folds[2].ci_low)) << "one seed: no interval";
}

TEST(Headline, AVerdictSaysWhichArmIsHigherOnlyWhereHolmCorrectedPIsBelowFivePercent) {
  const RunResults run = load_run(fake_run("headline-verdicts", ""));
  // up - flat at generation 2: 4, 4.2, 4.4 per seed (paired): clearly higher.
  const PairVerdict higher = pair_verdict(run, "up", "flat", "test_perplexity");
  EXPECT_EQ(higher.row.at("generation"), 2);
  EXPECT_EQ(higher.row.at("test"), "paired");
  EXPECT_NEAR(higher.row.at("diff").get<double>(), 4.2, 1e-12);
  EXPECT_LT(higher.row.at("p_holm").get<double>(), 0.05);
  EXPECT_EQ(higher.verdict, "up is higher than flat");
  EXPECT_EQ(pair_verdict(run, "flat", "up", "test_perplexity").verdict, "flat is lower than up");
  // A pair with one seed on a side cannot be tested; the same arm is identical by construction.
  EXPECT_EQ(pair_verdict(run, "up", "solo", "test_perplexity").verdict, "not testable with one seed");
  EXPECT_EQ(pair_verdict(run, "flat", "flat", "test_perplexity").verdict, "identical by construction");
}

TEST(Headline, ThePageOpensWithTheHeadlineBoxAndShowsTheConfiguredComparisons) {
  const RunResults run = load_run(fake_run("headline-page", "[report]\ncompare = [\"up,flat\"]\n"));
  const std::string html = report_html(run, {"up,solo"});
  const auto box = html.find("<section class=\"headline\">");
  ASSERT_NE(box, std::string::npos);
  EXPECT_LT(box, html.find("Metrics by generation")) << "the headline comes first";
  EXPECT_NE(html.find(fmt::format("<b>{:.3f}x</b>", (1.4 + 15.2 / 11 + 16.4 / 12) / 3)), std::string::npos);
  EXPECT_NE(html.find("<b>1.250x</b></td><td>– (one seed)</td>"), std::string::npos);
  EXPECT_NE(html.find("<b>up is higher than flat</b>"), std::string::npos);
  EXPECT_NE(html.find("<b>not testable with one seed</b>"), std::string::npos) << "the command line's pair too";
  EXPECT_NE(html.find("<h2>Comparisons</h2>"), std::string::npos);
  EXPECT_NE(html.find("<h3>up − flat</h3>"), std::string::npos);
  EXPECT_NE(html.find("identical by construction"), std::string::npos) << "generation 0 of up and flat";
  // The perplexity densities: generation 0's tail above its own 90th percentile is 10%; later
  // generations hold 46% in the top bin, 6% in each other: 46% + (nothing between) = 46%.
  EXPECT_NE(html.find("gen 0 (tail 10%)"), std::string::npos);
  EXPECT_NE(html.find("gen 2 (tail 46%)"), std::string::npos);
  EXPECT_EQ(report_html(load_run(fake_run("headline-none", ""))).find("<h2>Comparisons</h2>"), std::string::npos)
      << "nothing compared, no comparisons section";
}

TEST(Headline, TheMarkdownEndsWithTheHeadlineAndTheVerdictsAndTakesTheMetricsAsked) {
  const RunResults run = load_run(fake_run("headline-md", "[report]\ncompare = [\"up,flat\"]\n"));
  const std::string md = report_markdown(run, {"test_perplexity"});
  EXPECT_NE(md.find("| arm | gen | n | test_perplexity |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("### Headline: test_perplexity"), std::string::npos) << md;
  EXPECT_NE(md.find(fmt::format("| up | 2 | 3 | {:.3f} | [", (1.4 + 15.2 / 11 + 16.4 / 12) / 3)), std::string::npos) << md;
  EXPECT_NE(md.find("| solo | 1 | 1 | 1.250 | – |"), std::string::npos) << md;
  const std::string verdicts = verdicts_markdown(run, compared_pairs(run, {}));
  EXPECT_NE(verdicts.find("| up − flat | 2 | 4.2 |"), std::string::npos) << verdicts;
  EXPECT_NE(verdicts.find("| paired | up is higher than flat |"), std::string::npos) << verdicts;
  try {
    report_markdown(run, {"recall"});
    ADD_FAILURE() << "a metric the run lacks is an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no metric 'recall' in its metrics.csv (it has test_perplexity)"), std::string::npos)
        << e.what();
  }
}

TEST(Headline, ALivePageReloadsItselfAndSaysHowFarTheRunIs) {
  const RunResults run = load_run(fake_run("headline-live", ""));
  const std::string live = report_html(run, {}, 5);
  EXPECT_NE(live.find("<meta http-equiv=\"refresh\" content=\"5\">"), std::string::npos);
  EXPECT_NE(live.find("Live: 20 of 27 generation runs finished"), std::string::npos);  // solo: seeds 1, 2 missing
  EXPECT_EQ(report_html(run).find("http-equiv"), std::string::npos);
}

TEST(Headline, TheTrainingLossOfEveryGenerationIsDrawnPerArm) {
  const fs::path dir = fake_run("headline-training", "");
  // 1000 logged steps in each generation of up's seed 0; none anywhere else.
  for (int k = 0; k < 3; ++k) {
    std::string log;
    for (int step = 1; step <= 1000; ++step) log += json{{"step", step}, {"loss", 8.0 - step / 500.0 + k}}.dump() + "\n";
    tests::write_text(dir / "up" / "seed-0" / fmt::format("gen-{}", k) / "model" / "train_log.jsonl", log);
  }
  const std::string html = report_html(load_run(dir));
  const auto section = html.find("<h2>Training loss by generation</h2>");
  ASSERT_NE(section, std::string::npos);
  const std::string part = html.substr(section, html.find("</section>", section) - section);
  std::size_t charts = 0;
  for (std::size_t at = part.find("<svg"); at != std::string::npos; at = part.find("<svg", at + 1)) ++charts;
  EXPECT_EQ(charts, 1u) << "one panel: only up has training logs";
  for (const char* label : {"gen 0", "gen 1", "gen 2"}) EXPECT_NE(part.find(label), std::string::npos) << label;
  EXPECT_NE(part.find("1000"), std::string::npos) << "the x axis reaches the last step";
}
