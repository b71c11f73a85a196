// Each subcommand of `collapse` registers itself on the app: its flags, help and action.
#pragma once

namespace CLI {
class App;
}

namespace collapse::cli {

void add_prepare_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_export_command(CLI::App& app);

}  // namespace collapse::cli
