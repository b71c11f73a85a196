#include <CLI/CLI.hpp>
#include <cstdio>

#include "collapse/experiment/engine.h"
#include "collapse/experiment/run_results.h"
#include "collapse/experiment/work_plan.h"
#include "collapse/model/device.h"
#include "collapse/report/report.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "commands.h"
#include "flag_names.h"

namespace collapse::cli {

void add_run_command(CLI::App& app) {
  struct Args {
    std::string config, out, arm;
    std::uint64_t seed = 0;
    bool has_seed = false, resume = false, dry_run = false, no_report = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run a multi-generation experiment from a TOML file (docs/experiments.md): for every arm and\n"
      "seed, generation 0 trains on real text, writes a synthetic corpus and is scored; each later\n"
      "generation trains on the mix the arm prescribes. Finished generations are kept: running the\n"
      "same command again (or with --resume) continues where it stopped. At the end it writes\n"
      "RUN/metrics.csv, RUN/report.html and prints a summary table.\n"
      "Example: collapse run experiments/quickstart.toml\n"
      "Example: collapse run experiments/shumailov2024.toml --dry-run");
  cmd->add_option("config", a->config, "experiment TOML file")->required();
  cmd->add_option("--out", a->out, "run directory (default: runs/<name>)");
  cmd->add_option("--arm", a->arm, "run only this arm (scale-out: one process per arm and seed)");
  auto* seed = cmd->add_option("--seed", a->seed, "run only this seed");
  cmd->add_flag("--resume", a->resume,
                "continue an interrupted run (the default behaviour; the flag documents intent)");
  cmd->add_flag("--dry-run", a->dry_run,
                "print the resolved config and the work plan, and do nothing");
  cmd->add_flag("--no-report", a->no_report, "skip report.html and the summary at the end");
  cmd->callback([a, seed] {
    const ExperimentConfig config = load_experiment(a->config);
    const std::filesystem::path out = a->out.empty() ? default_run_dir(config) : std::filesystem::path(a->out);
    check_creatable(out, flag_of("out"));
    if (a->dry_run) {
      std::printf("%s\n", resolved_toml(config).c_str());
      PlanInputs inputs = plan_inputs(config, out, flag_of);
      const std::string device = config.arms.front().settings.device;
      inputs.device_kind =
          resolve_device(device, fmt::format("{}: device", config.file.string())).is_cuda() ? "cuda" : "cpu";
      std::printf("%s", work_plan(config, inputs).c_str());
      std::printf("\nrun directory: %s\n", out.c_str());
      return;
    }
    RunOptions options{.out = out, .arm = {}, .seed = {}, .names = flag_of};
    if (!a->arm.empty()) options.arm = a->arm;
    if (*seed) options.seed = a->seed;
    const RunSummary s = run_experiment(config, options);
    std::fprintf(stderr, "%lld generations run, %lld reused; results in %s\n",
                 static_cast<long long>(s.generations_done), static_cast<long long>(s.generations_reused),
                 out.c_str());
    if (a->no_report) return;
    const RunResults results = load_run(out);
    write_file_atomic(out / "report.html", report_html(results));
    std::printf("%s\nreport: %s\n", report_markdown(results).c_str(), (out / "report.html").c_str());
  });
}

}  // namespace collapse::cli
