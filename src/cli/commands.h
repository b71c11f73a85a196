// Each subcommand of `collapse` registers itself on the app: its flags, help and action.
#pragma once

namespace CLI {
class App;
}

namespace collapse::cli {

// What --model (and train's --init) accepts, as every command's help says it.
inline constexpr const char* kModelHelp =
    "a train folder, a .ckpt file, an export folder or a Hugging Face model folder";
inline constexpr const char* kContextHelp =
    "positions per window, at most the model's context (default: the model's context)";

void add_prepare_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_show_command(CLI::App& app);
void add_score_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);

}  // namespace collapse::cli
