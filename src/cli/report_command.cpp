#include <CLI/CLI.hpp>
#include <cstdio>

#include "collapse/experiment/run_results.h"
#include "collapse/report/report.h"
#include "collapse/util/atomic_file.h"
#include "commands.h"

namespace collapse::cli {

void add_report_command(CLI::App& app) {
  struct Args {
    std::string run, out, format = "html";
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
      "Example: collapse report runs/quickstart && collapse report runs/quickstart --format md");
  cmd->add_option("run", a->run, "the run folder (holds experiment.toml and metrics.csv)")
      ->required();
  cmd->add_option("--out", a->out,
                  "output file (html default: RUN/report.html; md default: stdout)");
  cmd->add_option("--format", a->format, "html or md")
      ->check(CLI::IsMember({"html", "md"}))
      ->capture_default_str();
  cmd->callback([a] {
    const RunResults run = load_run(a->run);
    if (a->format == "md") {
      const std::string text = report_markdown(run);
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
    write_file_atomic(out, report_html(run));
    std::printf("wrote %s (%zu finished generation runs of %zu arms)\n", out.c_str(),
                run.finished.size(), run.arms.size());
  });
}

}  // namespace collapse::cli
