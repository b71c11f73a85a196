// `collapse`: the command-line entry point. Errors are caught here, once: a collapse::Error is
// printed as one line (it already names the file/key/value at fault), exit status 1.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "collapse/util/error.h"
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "collapse: model-collapse experiments on one GPU.\n"
      "Train a small GPT on real text, let it write the next generation's data, and measure what\n"
      "is lost. Run `collapse <command> --help` for a command's options.",
      "collapse"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "collapse 0.1.0");
  collapse::cli::add_prepare_command(app);
  collapse::cli::add_train_command(app);
  collapse::cli::add_eval_command(app);
  collapse::cli::add_export_command(app);
  collapse::cli::add_generate_command(app);
  collapse::cli::add_show_command(app);
  collapse::cli::add_score_command(app);
  collapse::cli::add_run_command(app);
  collapse::cli::add_sweep_command(app);
  collapse::cli::add_report_command(app);
  collapse::cli::add_tokenize_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const collapse::Error& e) {
    std::fprintf(stderr, "collapse: error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    std::fprintf(stderr, "collapse: error (torch): %s\n", what.substr(0, what.find('\n')).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "collapse: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
