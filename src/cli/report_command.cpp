#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <thread>

#include "collapse/experiment/run_results.h"
#include "collapse/report/comparison.h"
#include "collapse/report/headline.h"
#include "collapse/report/report.h"
#include "collapse/util/error.h"
#include "collapse/util/atomic_file.h"
#include "commands.h"

namespace collapse::cli {

namespace {

// collapse report --watch: the page rewritten whenever the set of finished generations grows,
// until every planned one has finished. A run folder not yet started (no experiment.toml or
// metrics.csv) is waited for.
void watch(const std::filesystem::path& dir, const std::filesystem::path& out, const std::vector<std::string>& compare,
           int interval) {
  std::size_t shown = std::numeric_limits<std::size_t>::max();
  bool waiting_said = false;
  for (;;) {
    if (!std::filesystem::exists(dir / "experiment.toml") || !std::filesystem::exists(dir / "metrics.csv")) {
      if (!waiting_said) std::fprintf(stderr, "waiting for %s to finish its first generation\n", dir.c_str());
      waiting_said = true;
      std::this_thread::sleep_for(std::chrono::seconds(interval));
      continue;
    }
    const RunResults run = load_run(dir);
    const auto planned = static_cast<std::size_t>(planned_generation_runs(run));
    const bool done = run.finished.size() >= planned;
    if (run.finished.size() != shown || done) {
      write_file_atomic(out, report_html(run, compare, done ? 0 : interval));
      shown = run.finished.size();
      std::printf("wrote %s (%zu of %zu generation runs finished)\n", out.c_str(), shown, planned);
      std::fflush(stdout);
    }
    if (done) return;
    std::this_thread::sleep_for(std::chrono::seconds(interval));
  }
}

// --out may name any new file, or an existing one outside RUN; inside RUN the only existing files
// the report may replace are its own, report.html and report.md: the rest are the run's results
// and its config, which a stray --out would destroy.
void check_destination(const std::filesystem::path& run, const std::string& out) {
  if (out.empty() || !std::filesystem::exists(out)) return;
  const std::filesystem::path dir = std::filesystem::weakly_canonical(run);
  const std::filesystem::path target = std::filesystem::weakly_canonical(out);
  const auto [in_dir, in_target] = std::mismatch(dir.begin(), dir.end(), target.begin(), target.end());
  if (in_dir != dir.end()) return;  // outside the run folder
  const bool own = target.parent_path() == dir && (target.filename() == "report.html" || target.filename() == "report.md");
  if (!own) {
    fail("--out {}: that file belongs to the run {} (only its report.html and report.md are the report's to "
         "replace); choose another path",
         out, run.string());
  }
}

}  // namespace

void add_report_command(CLI::App& app) {
  struct Args {
    std::string run, out, format = "html";
    std::vector<std::string> compare, metrics;
    bool json = false, watch = false;
    int interval = 10;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Summarise a run folder of `collapse run`: every finished generation (DONE) of every arm\n"
      "and seed, merged, so a partly finished run can be reported too.\n"
      "  html (default): one self-contained page (inline SVG, no scripts, no network): metrics by\n"
      "    generation with 95% confidence bands over seeds, perplexity histograms of synthetic\n"
      "    documents under the gen-0 model, rank-frequency curves, n-gram coverage, samples.\n"
      "  md: a markdown table (arm x generation, mean ± 95% CI half-width) on stdout or --out.\n"
      "  --compare A,B (and the config's [report] compare pairs): per metric and generation,\n"
      "    mean(A) - mean(B) with its 95% CI and p-value (paired by seed where both arms ran the\n"
      "    same seeds, Welch otherwise; Holm-corrected across generations), and each arm's slope\n"
      "    per generation: in the page, in the md output, or alone with --json. The page opens\n"
      "    with a headline box: [report] headline's metric, each arm's last generation against\n"
      "    generation 0 (x-fold, 95% CI), and each compared pair's verdict.\n"
      "  --watch: the page kept current while the run goes (see --interval).\n"
      "Example: collapse report runs/quickstart && collapse report runs/quickstart --format md\n"
      "         collapse report runs/quickstart --compare real-0,real-20 --json");
  cmd->add_option("run", a->run, "the run folder (holds experiment.toml and metrics.csv)")
      ->required();
  cmd->add_option("--out", a->out,
                  "output file (html default: RUN/report.html; md default: stdout)");
  cmd->add_option("--format", a->format, "html or md")
      ->check(CLI::IsMember({"html", "md"}))
      ->capture_default_str();
  cmd->add_option("--compare", a->compare,
                  "two arms A,B to compare (repeatable), besides the config's [report] compare");
  cmd->add_option("--metrics", a->metrics,
                  "the metrics of the md table and of the comparisons, comma-separated (default: the "
                  "headline metric, test_perplexity and a few key ones)")
      ->delimiter(',');
  cmd->add_flag("--watch", a->watch,
                "keep the HTML page current while the run goes: rewrite it whenever a generation finishes "
                "(checked every --interval seconds; the page reloads itself as often) and stop once every "
                "planned generation has finished, with a final page that no longer reloads");
  cmd->add_option("--interval", a->interval, "seconds between checks with --watch")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "print the comparisons' statistics as JSON on stdout (or --out)");
  cmd->callback([a] {
    check_destination(a->run, a->out);
    if (a->watch) {
      if (a->json || a->format != "html") fail("--watch keeps the HTML page current: leave out --json and --format md");
      watch(a->run, a->out.empty() ? std::filesystem::path(a->run) / "report.html" : std::filesystem::path(a->out),
            a->compare, a->interval);
      return;
    }
    const RunResults run = load_run(a->run);
    std::vector<nlohmann::json> comparisons;
    for (const auto& [first, second] : compared_pairs(run, a->compare)) {
      comparisons.push_back(compare_arms(run, first, second, report_metrics(run, a->metrics)));
    }
    if (a->json) {
      if (comparisons.empty()) {
        fail("--json prints the statistics of compared arms: give --compare A,B or set [report] compare in the config");
      }
      nlohmann::json all = {{"comparisons", nlohmann::json::array()}, {"slopes", nlohmann::json::array()}};
      for (const auto& c : comparisons) {
        for (const auto& r : c.at("comparisons")) all["comparisons"].push_back(r);
        for (const auto& r : c.at("slopes")) all["slopes"].push_back(r);
      }
      const std::string text = all.dump(1) + "\n";
      if (a->out.empty()) {
        std::fputs(text.c_str(), stdout);
      } else {
        write_file_atomic(a->out, text);
      }
      return;
    }
    if (a->format == "md") {
      std::string text = report_markdown(run, a->metrics) + verdicts_markdown(run, compared_pairs(run, a->compare));
      for (const auto& c : comparisons) text += comparison_markdown(c);
      if (a->out.empty()) {
        std::fputs(text.c_str(), stdout);
      } else {
        write_file_atomic(a->out, text);
        std::printf("wrote %s\n", a->out.c_str());
      }
      return;
    }
    const std::filesystem::path out =
        a->out.empty() ? std::filesystem::path(a->run) / "report.html" : std::filesystem::path(a->out);
    write_file_atomic(out, report_html(run, a->compare));
    std::printf("wrote %s (%zu finished generation runs of %zu arms)\n", out.c_str(),
                run.finished.size(), run.arms.size());
  });
}

}  // namespace collapse::cli
