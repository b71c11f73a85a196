#include <cmath>

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
#include "number_checks.h"

namespace collapse::cli {

void add_eval_command(CLI::App& app) {
  struct Args {
    std::string model, data, split = "test", device = "auto";
    std::int64_t batch_size = 16, context = 0, stride = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Perplexity of a model on a split of a dataset (docs/perplexity.md). By default every\n"
      "document is BOS + tokens + EOS (one token between documents where BOS is EOS); the split\n"
      "is concatenated and cut into non-overlapping windows; every token but the first is\n"
      "predicted once; perplexity = exp(total NLL / predicted tokens). With --stride S, the\n"
      "sliding-window perplexity of transformers' guide: the split as one text (no boundary\n"
      "tokens but what the tokenizer adds around a text), windows every S tokens, each token\n"
      "scored once with up to context - S tokens of left context.\n"
      "Example: collapse eval --model runs/gen-0 --data runs/sotu-data --split test --json\n"
      "         collapse eval --model models/gpt2 --data runs/wiki-gpt2 --context 1024 --stride 512");
  cmd->add_option("--model", a->model, kModelHelp)->required();
  cmd->add_option("--data", a->data, "prepared dataset folder")->required();
  cmd->add_option("--split", a->split, "split to score")
      ->check(CLI::IsMember({"test", "valid", "train"}))
      ->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "windows per forward pass")
      ->check(whole_at_least(1))
      ->capture_default_str();
  cmd->add_option("--context", a->context, kContextHelp)->check(whole_at_least(1));
  cmd->add_option("--stride", a->stride,
                  "sliding-window evaluation: a window begins every S tokens (at most --context)")
      ->check(whole_at_least(1));
  cmd->add_option("--device", a->device, kDeviceNames)->capture_default_str();
  cmd->add_flag("--json", a->json,
                "print {\"split\", \"tokens\", \"nll\" (mean nats/token), \"nll_sum\", \"perplexity\",\n"
                "\"context\", \"stride\" (null without --stride)}");
  cmd->callback([a] {
    const Dataset data(a->data);
    const c10::Device device = resolve_device(a->device, flag_of("device"));
    LoadedModel loaded = load_model(a->model, device);
    check_model_fits_dataset(loaded.meta, data, flag_of("model") + " " + a->model);
    const std::int64_t window = window_within(loaded.meta.model, a->context, flag_of("context"));
    if (a->stride > window) {
      fail("{} {} exceeds the window of {} tokens ({})", flag_of("stride"), a->stride, window, flag_of("context"));
    }
    Progress progress("eval " + a->split, 0, "windows");
    const auto report = [&](std::int64_t done, std::int64_t total) {
      progress.update(done, fmt::format("{}/{} windows", done, total));
    };
    const Tokenizer& tokenizer = data.tokenizer();
    EvalResult r;
    if (a->stride > 0) {
      const auto [before, after] = tokenizer.added_around();
      r = evaluate_sliding(loaded.model, joined_stream(data.split(a->split), before, after), device, window,
                           a->stride, a->batch_size, report);
    } else {
      r = evaluate_stream(loaded.model, document_stream(data.split(a->split), tokenizer.bos_id(), tokenizer.eos_id()),
                          device, a->batch_size, 0, report, window);
    }
    progress.finish();  // ends the progress line before the result is printed
    if (!std::isfinite(r.perplexity())) {
      fail("{} {}: the {} perplexity came out {}, which is no result (the model's logits overflow)",
           flag_of("model"), a->model, a->split, r.perplexity());
    }
    if (a->json) {
      const nlohmann::json out = {{"split", a->split},        {"tokens", r.tokens},
                                  {"nll", r.mean_nll()},      {"nll_sum", r.nll_sum},
                                  {"perplexity", r.perplexity()}, {"context", window},
                                  {"stride", a->stride > 0 ? nlohmann::json(a->stride) : nlohmann::json(nullptr)}};
      std::printf("%s\n", out.dump().c_str());
    } else {
      std::printf("%s perplexity %.3f (mean NLL %.4f nats over %lld predicted tokens)\n",
                  a->split.c_str(), r.perplexity(), r.mean_nll(), static_cast<long long>(r.tokens));
    }
  });
}

}  // namespace collapse::cli
