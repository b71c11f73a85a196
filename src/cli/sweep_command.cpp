// `collapse sweep`: a job script that runs every (arm, seed) of an experiment as its own task
// (`collapse run --arm A --seed S`) into one shared run folder.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collapse/experiment/engine.h"
#include "collapse/experiment/experiment_config.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "commands.h"

namespace collapse::cli {
namespace {

// `text` as one bash word, whatever it holds: in single quotes, each ' written as '\''. The
// script runs later, on another machine: a path holding $(...), spaces or quotes must reach
// `collapse run` as the same one argument, never as code.
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Paths go into the script's comments too, where a line break would end the comment.
std::string checked_path(const std::string& path, const char* what) {
  if (path.find_first_of("\n\r") != std::string::npos) {
    fail("collapse sweep: the {} {} holds a line break; a job script cannot carry it", what,
         nlohmann::json(path).dump());
  }
  return path;
}

// A Slurm array job running every (arm, seed) of the config as one task into `run`.
std::string slurm_script(const ExperimentConfig& config, const std::filesystem::path& config_file,
                         const std::filesystem::path& run) {
  const std::string config_path = checked_path(config_file.string(), "config path");
  const std::string run_path = checked_path(run.string(), "run directory");
  std::string arms, seeds;
  std::int64_t tasks = 0;
  for (const auto& arm : config.arms) {
    for (const std::uint64_t seed : arm.settings.seeds) {
      arms += ' ';
      arms += shell_quoted(arm.name);
      seeds += ' ';
      seeds += std::to_string(seed);
      ++tasks;
    }
  }
  return fmt::format(
      "#!/bin/bash\n"
      "# Slurm array job for the experiment '{name}': one task per (arm, seed), {tasks} in all.\n"
      "# Written by `collapse sweep {config} --emit slurm`. Submit with: sbatch <this file>\n"
      "# Every task writes into the shared run directory {run}; `collapse report {run}` merges\n"
      "# whatever has finished. Adjust the #SBATCH lines to your cluster.\n"
      "#SBATCH --job-name=collapse-{name}\n"
      "#SBATCH --array=0-{last}\n"
      "#SBATCH --gres=gpu:1\n"
      "#SBATCH --cpus-per-task=8\n"
      "#SBATCH --time=24:00:00\n"
      "#SBATCH --output=collapse-{name}-%A_%a.log\n"
      "set -euo pipefail\n"
      "ARMS=({arms} )\n"
      "SEEDS=({seeds} )\n"
      "COLLAPSE=${{COLLAPSE:-collapse}}\n"
      "exec \"$COLLAPSE\" run {config_word} --out {run_word} \\\n"
      "  --arm \"${{ARMS[$SLURM_ARRAY_TASK_ID]}}\" --seed \"${{SEEDS[$SLURM_ARRAY_TASK_ID]}}\"\n",
      fmt::arg("name", config.name), fmt::arg("tasks", tasks), fmt::arg("config", config_path),
      fmt::arg("run", run_path), fmt::arg("config_word", shell_quoted(config_path)),
      fmt::arg("run_word", shell_quoted(run_path)), fmt::arg("last", tasks - 1), fmt::arg("arms", arms),
      fmt::arg("seeds", seeds));
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  struct Args {
    std::string config, emit = "slurm", out, run;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Write a job script that runs every (arm, seed) of an experiment as its own task, into one\n"
      "shared run directory (`collapse run --arm A --seed S`); `collapse report` merges them.\n"
      "Example: collapse sweep experiments/sampling-sweep.toml --emit slurm --out sweep.sbatch");
  cmd->add_option("config", a->config, "experiment TOML file")->required();
  cmd->add_option("--emit", a->emit, "scheduler: slurm (an array job, one GPU per task)")
      ->check(CLI::IsMember({"slurm"}))
      ->capture_default_str();
  cmd->add_option("--out", a->out, "write the script here (default: stdout)");
  cmd->add_option("--run", a->run, "the shared run directory (default: runs/<name>)");
  cmd->callback([a] {
    const ExperimentConfig config = load_experiment(a->config);
    const std::filesystem::path run = a->run.empty() ? default_run_dir(config) : std::filesystem::path(a->run);
    const std::string script = slurm_script(config, a->config, run);
    if (a->out.empty()) {
      std::fputs(script.c_str(), stdout);
    } else {
      write_file_atomic(a->out, script);
      std::filesystem::permissions(a->out, std::filesystem::perms::owner_exec, std::filesystem::perm_options::add);
      std::printf("wrote %s\n", a->out.c_str());
    }
  });
}


}  // namespace collapse::cli
