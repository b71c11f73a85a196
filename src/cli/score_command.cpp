#include <CLI/CLI.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "collapse/data/dataset.h"
#include "collapse/generate/samples_file.h"
#include "collapse/model/device.h"
#include "collapse/model/load_model.h"
#include "collapse/score/scoring.h"
#include "collapse/util/error.h"
#include "collapse/util/progress.h"
#include "collapse/util/utf8.h"
#include "commands.h"
#include "flag_names.h"
#include "number_checks.h"

namespace collapse::cli {
namespace {

struct LoadedCorpus {
  TokenCorpus corpus;
  std::vector<std::string> texts;
  std::string kind;  // "samples" | "text"
};

// A samples folder, a samples .jsonl (with "tokens"), or a .jsonl of {"text": ...} documents
// tokenised with the dataset's tokenizer.
LoadedCorpus load_corpus_to_score(const std::string& path, const Dataset& data) {
  LoadedCorpus out;
  const std::filesystem::path p(path);
  bool has_tokens = std::filesystem::is_directory(p);
  if (!has_tokens) {
    std::ifstream in(p);
    if (!in) fail("{} {}: not found or unreadable", flag_of("samples"), path);
    std::string first;
    while (std::getline(in, first) && first.empty()) {
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(first);
    } catch (const nlohmann::json::exception&) {
      fail("{}:1: not valid JSON (expected a samples file or {{\"text\": ...}} lines)", path);
    }
    has_tokens = j.is_object() && j.contains("tokens");
  }
  if (has_tokens) {
    const Samples s = read_samples(p);
    for (const auto& d : s.documents) {
      out.corpus.add(d.tokens);
      out.texts.push_back(data.tokenizer().decode(d.tokens));
    }
    out.kind = "samples";
    return out;
  }
  for_each_json_line(p, [&](const nlohmann::json& j, std::int64_t number) {
    if (!j.contains("text") || !j["text"].is_string()) {
      fail("{}:{}: expected an object with a string \"text\"", path, number);
    }
    std::string text = j["text"].get<std::string>();
    out.corpus.add(data.tokenizer().encode(text));
    out.texts.push_back(std::move(text));
  });
  if (out.corpus.documents() == 0) fail("{}: no documents", path);
  out.kind = "text";
  return out;
}

}  // namespace

void add_score_command(CLI::App& app) {
  struct Args {
    std::string samples, data, model, metrics = "all", device = "auto";
    std::int64_t hypotheses = 500, references = 500, batch_tokens = 8192, context = 0;
    std::uint64_t seed = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "score",
      "Score a synthetic corpus: diversity (distinct-n, n-gram entropy, self-BLEU-4, compression),\n"
      "distribution vs the real test split (n-gram coverage, rare coverage, unigram KL/JS, Zipf\n"
      "exponent) and, with --model, per-document perplexity and embedding precision/recall.\n"
      "Definitions: docs/metrics.md.\n"
      "Example: collapse score --samples runs/gen-1-samples --data runs/sotu-data --model runs/gen-0 --json");
  cmd->add_option("--samples", a->samples,
                  "samples folder or .jsonl from collapse generate, or a .jsonl of {\"text\": ...}")
      ->required();
  cmd->add_option("--data", a->data, "prepared dataset: its tokenizer and real test split")->required();
  cmd->add_option("--model", a->model, std::string("reference model for perplexity and precision/recall: ") + kModelHelp);
  cmd->add_option("--metrics", a->metrics, "all, or a comma-separated list of metric names")
      ->capture_default_str();
  cmd->add_option("--self-bleu-hypotheses", a->hypotheses,
                  "documents scored by self-BLEU (a seeded subset; 0 = all)")->capture_default_str();
  cmd->add_option("--self-bleu-references", a->references,
                  "reference pool for self-BLEU (a seeded subset; 0 = all)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the self-BLEU subsets")->check(whole_at_least(0))->capture_default_str();
  cmd->add_option("--batch-tokens", a->batch_tokens, "tokens per forward pass")
      ->check(whole_at_least(1))
      ->capture_default_str();
  cmd->add_option("--context", a->context, std::string("with --model: ") + kContextHelp)
      ->check(whole_at_least(1));
  cmd->add_option("--device", a->device, kDeviceNames)->capture_default_str();
  cmd->add_flag("--json", a->json, "print {\"metrics\": {name: value}, \"sizes\", \"histograms\"}");
  cmd->callback([a] {
    const Dataset data(a->data);
    const c10::Device device = resolve_device(a->device, flag_of("device"));
    ScoreOptions options;
    if (a->metrics != "all") {
      std::vector<std::string> names;
      for (const auto& name : CLI::detail::split(a->metrics, ',')) {
        names.push_back(CLI::detail::trim_copy(name));
      }
      check_score_metrics(names, !a->model.empty(), flag_of("metrics"), flag_of("model"));
      options.metrics = names;
    }
    options.self_bleu = {a->hypotheses, a->references, a->seed};
    options.device = device;
    options.batch_tokens = a->batch_tokens;
    options.context = a->context;
    const LoadedCorpus synthetic = load_corpus_to_score(a->samples, data);
    const TokenCorpus real = TokenCorpus::from_file(data.split("test"));
    LoadedModel loaded;
    if (!a->model.empty()) {
      loaded = load_model(a->model, device);
      check_model_fits_dataset(loaded.meta, data, flag_of("model") + " " + a->model);
      window_within(loaded.meta.model, a->context, flag_of("context"));  // names the flag
    } else if (a->context > 0) {
      fail("{} sets the window of {}; give a model", flag_of("context"), flag_of("model"));
    }
    Progress progress("score", 0, "steps");
    std::int64_t step = 0;
    const ScoreResult r =
        score_corpus({synthetic.corpus, synthetic.texts, real, a->model.empty() ? nullptr : &loaded.model,
                      data.tokenizer().special()},
                     options, [&](const std::string& what) { progress.update(++step, what); });
    progress.finish();
    if (a->json) {
      nlohmann::json out = r.to_json();
      out["samples"] = a->samples;
      out["input"] = synthetic.kind;
      std::printf("%s\n", out.dump().c_str());
      return;
    }
    std::printf("%s: %lld documents, %lld tokens (real test split: %lld documents)\n",
                a->samples.c_str(), static_cast<long long>(synthetic.corpus.documents()),
                static_cast<long long>(synthetic.corpus.size()), static_cast<long long>(real.documents()));
    for (const auto& name : score_metric_names(true)) {
      if (r.metrics.contains(name)) std::printf("  %-18s %12.6g\n", name.c_str(), r.metrics[name].get<double>());
    }
  });
}

}  // namespace collapse::cli
