#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "collapse/data/dataset.h"
#include "collapse/model/device.h"
#include "collapse/model/load_model.h"
#include "collapse/train/evaluate.h"
#include "collapse/util/error.h"
#include "collapse/util/progress.h"
#include "commands.h"
#include "flag_names.h"

namespace collapse::cli {

void add_eval_command(CLI::App& app) {
  struct Args {
    std::string model, data, split = "test", device = "auto";
    std::int64_t batch_size = 16;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Perplexity of a model on a split of a dataset. Every document is BOS + tokens + EOS (one\n"
      "token between documents where BOS is EOS); the split is concatenated and cut into\n"
      "non-overlapping context-length windows; every token but the first is predicted once;\n"
      "perplexity = exp(total NLL / predicted tokens).\n"
      "Example: collapse eval --model runs/gen-0 --data runs/sotu-data --split test --json");
  cmd->add_option("--model", a->model, kModelHelp)->required();
  cmd->add_option("--data", a->data, "prepared dataset folder")->required();
  cmd->add_option("--split", a->split, "split to score")
      ->check(CLI::IsMember({"test", "valid", "train"}))
      ->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "windows per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--device", a->device, kDeviceNames)->capture_default_str();
  cmd->add_flag("--json", a->json,
                "print {\"split\", \"tokens\", \"nll\" (mean nats/token), \"nll_sum\", \"perplexity\"}");
  cmd->callback([a] {
    const Dataset data(a->data);
    const c10::Device device = resolve_device(a->device, flag_of("device"));
    LoadedModel loaded = load_model(a->model, device);
    check_model_fits_dataset(loaded.meta, data, flag_of("model") + " " + a->model);
    const auto stream = document_stream(data.split(a->split), data.tokenizer().bos_id(),
                                        data.tokenizer().eos_id());
    Progress progress("eval " + a->split, 0, "windows");
    const EvalResult r = evaluate_stream(loaded.model, stream, device, a->batch_size, 0,
                                         [&](std::int64_t done, std::int64_t total) {
                                           progress.update(done, fmt::format("{}/{} windows", done, total));
                                         });
    progress.finish();  // ends the progress line before the result is printed
    if (a->json) {
      const nlohmann::json out = {{"split", a->split},        {"tokens", r.tokens},
                                  {"nll", r.mean_nll()},      {"nll_sum", r.nll_sum},
                                  {"perplexity", r.perplexity()}};
      std::printf("%s\n", out.dump().c_str());
    } else {
      std::printf("%s perplexity %.3f (mean NLL %.4f nats over %lld predicted tokens)\n",
                  a->split.c_str(), r.perplexity(), r.mean_nll(), static_cast<long long>(r.tokens));
    }
  });
}

}  // namespace collapse::cli
