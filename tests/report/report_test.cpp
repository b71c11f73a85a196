// `collapse report` on a fake run folder: the numbers of the markdown table (hand-computed), the
// HTML page's charts and hygiene, partial runs, and one-line errors for a broken metrics.csv.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collapse/experiment/experiment_config.h"
#include "collapse/experiment/run_results.h"
#include "collapse/report/confidence.h"
#include "collapse/report/report.h"
#include "collapse/report/svg_plot.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kExperiment = R"(
name = "fake"
seeds = [0, 1, 2]
generations = 3
[[arm]]
name = "keep-0"
[[arm]]
name = "keep-20"
"mix.real_fraction" = 0.2
)";

json generation_json(const std::string& arm, int seed, int generation) {
  json histogram = {{"log10_edges", json::array()}, {"counts", json::array()}};
  for (int i = 0; i <= 10; ++i) histogram["log10_edges"].push_back(0.5 * i);
  for (int i = 0; i < 10; ++i) {
    // Mass moves to lower perplexity as generations go on.
    histogram["counts"].push_back(std::max(0, 10 - std::abs(i - (6 - 2 * generation))) * 3);
  }
  json frequencies = json::array();
  for (int r = 1; r <= 300 - 80 * generation; ++r) frequencies.push_back(3000 / r);
  json j = {{"experiment", "fake"},
            {"arm", arm},
            {"seed", seed},
            {"generation", generation},
            {"metrics", {{"test_perplexity", 10 + generation}}},
            {"sizes", {{"synthetic_documents", 30}}},
            {"histograms", {{"synthetic_ppl_under_gen0", histogram}}},
            {"rank_frequency", {{"frequencies", frequencies}}}};
  if (generation == 0) {
    json real = json::array();
    for (int r = 1; r <= 400; ++r) real.push_back(4000 / r);
    j["real_rank_frequency"] = {{"frequencies", real}};
  }
  return j;
}

void finish(const fs::path& run, const std::string& arm, int seed, int generation) {
  const fs::path dir = run / arm / fmt::format("seed-{}", seed) / fmt::format("gen-{}", generation);
  tests::write_text(dir / "metrics.json", generation_json(arm, seed, generation).dump());
  tests::write_text(dir / "DONE", "");
}

// keep-0: 3 seeds x 3 generations, all finished. keep-20: seed 0, generations 0 and 1
// finished; generation 2 has rows in metrics.csv but no DONE (killed before its marker).
fs::path make_fake_run(const std::string& name) {
  const fs::path run = tests::fresh_dir(name);
  tests::write_text(run / "experiment.toml",
                    resolved_toml(parse_experiment(kExperiment, "fake.toml")));
  std::string csv = "experiment,arm,seed,generation,metric,value\n";
  auto row = [&](const std::string& arm, int seed, int gen, const std::string& metric, double v) {
    csv += fmt::format("fake,{},{},{},{},{:.17g}\n", arm, seed, gen, metric, v);
  };
  for (int gen = 0; gen < 3; ++gen) {
    for (int seed = 0; seed < 3; ++seed) {
      // test_perplexity at generation 0: 10, 12, 14 -> mean 12, s = 2, half-width
      // t(0.975, 2) * 2 / sqrt(3) = 4.3027 * 1.1547 = 4.968.
      row("keep-0", seed, gen, "test_perplexity", 10.0 + 2 * seed + 10 * gen);
      // distinct_4 at generation 0: 0.5, 0.6, 0.7 -> mean 0.6, half-width 0.2484.
      row("keep-0", seed, gen, "distinct_4", 0.5 + 0.1 * seed - 0.1 * gen);
      row("keep-0", seed, gen, "coverage_1", 0.9 - 0.2 * gen);
      row("keep-0", seed, gen, "rare_coverage_1", 0.5 - 0.2 * gen + 0.01 * seed);
      finish(run, "keep-0", seed, gen);
    }
    row("keep-20", 0, gen, "test_perplexity", 20.0 + gen);
    row("keep-20", 0, gen, "distinct_4", 0.9);
    row("keep-20", 0, gen, "coverage_1", 0.95);
    row("keep-20", 0, gen, "rare_coverage_1", 0.6);
    if (gen < 2) finish(run, "keep-20", 0, gen);
  }
  tests::write_text(run / "metrics.csv", csv);

  // Samples of keep-0 / seed 0 / gen 0 only (the report must do without the others).
  std::string jsonl;
  const std::vector<std::string> texts = {"<b>bold</b> & 'quoted' <script>x</script>",
                                          std::string(700, 'a') + "END", "third", "fourth"};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    jsonl += json{{"id", i}, {"prompt_id", 0}, {"prompt_tokens", json::array()},
                  {"tokens", {1, 2, 3}}, {"text", texts[i]}}
                 .dump() +
             "\n";
  }
  tests::write_text(run / "keep-0" / "seed-0" / "gen-0" / "samples.jsonl", jsonl);
  return run;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// Every tag inside every <svg> closes in order (a small XML well-formedness check).
void expect_balanced_svg(const std::string& html) {
  const std::regex tag("<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>");
  std::size_t start = 0;
  while ((start = html.find("<svg", start)) != std::string::npos) {
    const std::size_t end = html.find("</svg>", start);
    ASSERT_NE(end, std::string::npos) << "an <svg> never closes";
    const std::string chunk = html.substr(start, end + 6 - start);
    std::vector<std::string> stack;
    for (auto it = std::sregex_iterator(chunk.begin(), chunk.end(), tag);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[2];
      if ((*it)[3] == "/") continue;  // self-closing
      if ((*it)[1] == "/") {
        ASSERT_FALSE(stack.empty()) << "</" << name << "> without an opening tag";
        ASSERT_EQ(stack.back(), name) << "in " << chunk.substr(0, 200);
        stack.pop_back();
      } else {
        stack.push_back(name);
      }
    }
    EXPECT_TRUE(stack.empty()) << "unclosed tags in " << chunk.substr(0, 200);
    start = end;
  }
}

TEST(Confidence, TCriticalValuesAndMeanCI) {
  EXPECT_DOUBLE_EQ(t_critical_95(1), 12.7062);
  EXPECT_DOUBLE_EQ(t_critical_95(2), 4.3027);
  EXPECT_DOUBLE_EQ(t_critical_95(30), 2.0423);
  EXPECT_DOUBLE_EQ(t_critical_95(60), 2.0003);
  EXPECT_NEAR(t_critical_95(50), 2.0086, 5e-4);  // table value 2.0086
  EXPECT_NEAR(t_critical_95(1000000), 1.95996, 1e-4);
  EXPECT_THROW(t_critical_95(0), Error);

  const std::vector<double> v = {10, 12, 14};
  const MeanCI ci = mean_ci95(v);
  EXPECT_EQ(ci.n, 3);
  EXPECT_DOUBLE_EQ(ci.mean, 12.0);
  EXPECT_DOUBLE_EQ(ci.sd, 2.0);
  EXPECT_NEAR(ci.half_width, 4.3027 * 2.0 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(format_mean_ci(ci), "12 ± 4.97");

  const std::vector<double> one = {5.0, std::nan("")};
  const MeanCI single = mean_ci95(one);
  EXPECT_EQ(single.n, 1);
  EXPECT_EQ(single.mean, 5.0);
  EXPECT_TRUE(std::isnan(single.half_width));
  EXPECT_EQ(format_mean_ci(single), "5");
  EXPECT_EQ(format_mean_ci(mean_ci95(std::vector<double>{})), "–");
}

TEST(Report, LoadsOnlyFinishedGenerations) {
  const RunResults run = load_run(make_fake_run("report_load"));
  EXPECT_EQ(run.config.name, "fake");
  EXPECT_EQ(run.arms, (std::vector<std::string>{"keep-0", "keep-20"}));
  EXPECT_EQ(run.finished.size(), 11u);
  EXPECT_EQ(run.unfinished_rows, 4);
  EXPECT_EQ(run.generations("keep-20"), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(run.seeds("keep-0"), (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(run.metrics, (std::vector<std::string>{"test_perplexity", "distinct_4", "coverage_1",
                                                   "rare_coverage_1"}));
  EXPECT_EQ(run.values("keep-0", 0, "test_perplexity"), (std::vector<double>{10, 12, 14}));
  EXPECT_TRUE(run.values("keep-20", 2, "test_perplexity").empty());
  ASSERT_NE(run.find("keep-0", 1, 2), nullptr);
  EXPECT_EQ(run.find("keep-0", 1, 2)->metrics.at("generation"), 2);
}

TEST(Report, MarkdownTableHasMeanAndHalfWidth) {
  const RunResults run = load_run(make_fake_run("report_md"));
  const std::string md = report_markdown(run);
  EXPECT_NE(md.find("| arm | gen | n | test_perplexity | distinct_4 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| keep-0 | 0 | 3 | 12 ± 4.97 | 0.6 ± 0.248 |"), std::string::npos) << md;
  // Generation 1: 20, 22, 24 -> the same spread around 22.
  EXPECT_NE(md.find("| keep-0 | 1 | 3 | 22 ± 4.97 |"), std::string::npos) << md;
  // One seed: no interval.
  EXPECT_NE(md.find("| keep-20 | 0 | 1 | 20 | 0.9 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| keep-20 | 1 | 1 | 21 | 0.9 |"), std::string::npos) << md;
  // Unfinished generations are not reported.
  EXPECT_EQ(md.find("| keep-20 | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("4 metrics.csv rows of unfinished generations left out"), std::string::npos);
}

TEST(Report, HtmlIsSelfContainedWithOneSvgPerChart) {
  const RunResults run = load_run(make_fake_run("report_html"));
  const std::string html = report_html(run);
  // 4 metric charts + 2 histogram panels + 2 rank-frequency panels + 1 coverage chart.
  EXPECT_EQ(count(html, "<svg"), 9u);
  EXPECT_EQ(count(html, "</svg>"), 9u);
  expect_balanced_svg(html);
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(html.ends_with("</html>\n"));
  // No network: the only "http" is the SVG namespace; no scripts.
  std::string stripped = html;
  for (std::size_t p; (p = stripped.find("xmlns=\"http://www.w3.org/2000/svg\"")) != std::string::npos;) {
    stripped.erase(p, 34);
  }
  EXPECT_EQ(stripped.find("http"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Samples are escaped and cut.
  EXPECT_NE(html.find("&lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39; &lt;script&gt;"),
            std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_EQ(html.find("aaaEND"), std::string::npos);
  EXPECT_NE(html.find("first 600 characters"), std::string::npos);
  EXPECT_EQ(html.find("fourth"), std::string::npos);  // three documents per generation
  EXPECT_NE(html.find("no samples saved"), std::string::npos);
  // The header and the legend say what finished and where there is no band.
  EXPECT_NE(html.find("11 of 18 generation runs finished"), std::string::npos);
  EXPECT_NE(html.find("(1 seed: no band)"), std::string::npos);
  EXPECT_NE(html.find("(3 seeds)"), std::string::npos);
  EXPECT_NE(html.find("<code>mix.real_fraction = 0.2</code>"), std::string::npos);
  EXPECT_NE(html.find("keep-0 (gen 2)"), std::string::npos);
  EXPECT_NE(html.find("keep-20 (gen 1)"), std::string::npos);
}

TEST(Report, PartialRunWithoutExtrasStillReports) {
  // Only gen 0 of one seed, no metrics.json at all.
  const fs::path run_dir = tests::fresh_dir("report_partial");
  tests::write_text(run_dir / "experiment.toml", "name = \"p\"\n");
  tests::write_text(run_dir / "metrics.csv",
                    "experiment,arm,seed,generation,metric,value\r\np,default,0,0,test_perplexity,"
                    "33.5\r\np,default,0,0,my_new_metric,nan\r\n");
  tests::write_text(run_dir / "default" / "seed-0" / "gen-0" / "DONE", "");
  const RunResults run = load_run(run_dir);
  EXPECT_EQ(run.metrics, (std::vector<std::string>{"test_perplexity", "my_new_metric"}));
  const std::string html = report_html(run);
  EXPECT_EQ(count(html, "<svg"), 2u);  // the two metrics; no histogram, rank or coverage data
  expect_balanced_svg(html);
  EXPECT_NE(html.find("No histogram yet"), std::string::npos);
  EXPECT_NE(html.find("No coverage metrics"), std::string::npos);
  EXPECT_NE(report_markdown(run).find("| default | 0 | 1 | 33.5 |"), std::string::npos);
}

// The one-line error of loading a run whose metrics.csv is `csv`.
std::string csv_error(const std::string& name, const std::string& csv) {
  const fs::path run = make_fake_run(name);
  tests::write_text(run / "metrics.csv", csv);
  try {
    load_run(run);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    const std::string prefix = (run / "metrics.csv").string();
    EXPECT_TRUE(message.starts_with(prefix)) << message;
    return message.substr(prefix.size());
  }
  ADD_FAILURE() << "no error for\n" << csv;
  return "";
}

TEST(Report, BadMetricsCsvIsAOneLineErrorNamingFileAndLine) {
  const std::string header = "experiment,arm,seed,generation,metric,value\n";
  EXPECT_EQ(csv_error("csv_fields", header + "fake,keep-0,0,0,test_perplexity,1\nfake,keep-0,0,0\n"),
            ":3: expected 6 comma-separated fields (experiment,arm,seed,generation,metric,value), "
            "got 4");
  EXPECT_EQ(csv_error("csv_value", header + "fake,keep-0,0,0,test_perplexity,abc\n"),
            ":2: value must be a number, got 'abc'");
  EXPECT_EQ(csv_error("csv_seed", header + "fake,keep-0,-1,0,test_perplexity,1\n"),
            ":2: seed must be a non-negative integer, got '-1'");
  EXPECT_EQ(csv_error("csv_header", "arm,seed,generation,metric,value\n"),
            ":1: the header must be 'experiment,arm,seed,generation,metric,value', got "
            "'arm,seed,generation,metric,value'");
  EXPECT_EQ(csv_error("csv_empty", ""),
            ":1: the file is empty (expected the header "
            "'experiment,arm,seed,generation,metric,value')");
  EXPECT_EQ(csv_error("csv_other", header + "other,keep-0,0,0,test_perplexity,1\n"),
            ": a row of experiment 'other' in the run of 'fake' (experiment.toml)");

  const fs::path run = make_fake_run("csv_missing");
  fs::remove(run / "metrics.csv");
  try {
    load_run(run);
    ADD_FAILURE() << "no error for a missing metrics.csv";
  } catch (const Error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with((run / "metrics.csv").string() + ": not found"))
        << e.what();
  }
}

TEST(Report, CommandWritesHtmlAndMarkdown) {
  const fs::path run = make_fake_run("report_cli");
  const auto md = tests::run_collapse({"report", run.string(), "--format", "md"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| keep-0 | 0 | 3 | 12 ± 4.97 |"), std::string::npos) << md.out;

  const auto html = tests::run_collapse({"report", run.string()});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  EXPECT_TRUE(fs::exists(run / "report.html"));
  EXPECT_NE(html.out.find("report.html"), std::string::npos);

  tests::write_text(run / "metrics.csv", "experiment,arm,seed,generation,metric,value\nfake,x\n");
  const auto bad = tests::run_collapse({"report", run.string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "collapse: error: " + (run / "metrics.csv").string() +
                         ":2: expected 6 comma-separated fields "
                         "(experiment,arm,seed,generation,metric,value), got 2\n");
}

TEST(SvgPlot, TicksAndEscaping) {
  EXPECT_EQ(svg::escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  EXPECT_EQ(svg::format_tick(0.25, 0.25), "0.25");
  EXPECT_EQ(svg::format_tick(0.5, 0.25), "0.50");
  EXPECT_EQ(svg::format_tick(12000, 2000), "12k");
  EXPECT_EQ(svg::format_tick(3, 1), "3");
  EXPECT_EQ(svg::format_log_tick(100000), "100k");
  EXPECT_EQ(svg::format_log_tick(0.01), "0.01");
  EXPECT_EQ(svg::ramp_color(0.0), "#440154");
}

}  // namespace
