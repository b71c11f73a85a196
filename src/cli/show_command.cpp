// `collapse show`: a samples folder or .jsonl file as JSON lines, one document per line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "collapse/generate/samples_file.h"
#include "commands.h"

namespace collapse::cli {

void add_show_command(CLI::App& app) {
  struct Args {
    std::string samples;
    std::int64_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "show",
      "Print a samples folder or .jsonl file as JSON lines: {\"id\", \"prompt_id\",\n"
      "\"prompt_tokens\", \"tokens\", \"text\"}, one document per line.\n"
      "Example: collapse show runs/gen-1-samples --limit 3");
  cmd->add_option("samples", a->samples, "samples folder or .jsonl file")->required();
  cmd->add_option("--limit", a->limit, "print at most this many documents (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([a] {
    std::int64_t shown = 0;
    try {
      for_each_sample_json(a->samples, [&](const nlohmann::json& doc) {
        if (a->limit > 0 && shown >= a->limit) throw std::out_of_range("limit");
        std::printf("%s\n", doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        ++shown;
      });
    } catch (const std::out_of_range&) {
      // --limit reached
    }
  });
}

}  // namespace collapse::cli
