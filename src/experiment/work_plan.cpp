#include "collapse/experiment/work_plan.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "collapse/generate/prompts.h"

namespace collapse {

namespace {

std::string human(double n) {
  if (n < 1e3) return fmt::format("{:.0f}", n);
  if (n < 1e6) return fmt::format("{:.1f}k", n / 1e3);
  if (n < 1e9) return fmt::format("{:.2f}M", n / 1e6);
  return fmt::format("{:.2f}G", n / 1e9);
}

std::string duration(double seconds) {
  if (seconds < 90) return fmt::format("{:.0f} s", seconds);
  if (seconds < 5400) return fmt::format("{:.1f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

std::string seed_list(const std::vector<std::uint64_t>& seeds) {
  std::string out;
  for (auto s : seeds) out += (out.empty() ? "" : ", ") + std::to_string(s);
  return out;
}

std::string generations_range(std::int64_t first, std::int64_t last) {
  return first == last ? fmt::format("gen {}", first) : fmt::format("gen {}-{}", first, last);
}

struct Totals {
  double train_tokens = 0, generate_tokens = 0;
  bool train_unknown = false, generate_unknown = false;
};

// One generation's training line; adds its tokens to `totals` (`times` generations).
std::string train_line(const ExperimentSettings& s, const ModelConfig& model, std::int64_t k,
                       std::int64_t times, const PlanInputs& in, Totals& totals) {
  const std::int64_t per_step = s.train.batch_size * model.context;
  std::string from = k == 0 ? (s.model.pretrained.empty() ? "on real data only, from scratch"
                                                          : "on real data only, from the pretrained model")
                     : s.train.init == TrainInit::scratch ? "from scratch"
                     : s.train.init == TrainInit::gen0    ? "fine-tuning the gen-0 model"
                     : s.train.init == TrainInit::pretrained ? "fine-tuning the pretrained model"
                                                          : "fine-tuning the previous model";
  std::string mix;
  if (k > 0) {
    mix = ", " + s.mix.describe();
  }
  if (s.train.epochs > 0 && !(k == 0 && s.train.gen0_steps > 0)) {
    if (k == 0 && in.real_train_tokens) {
      const auto steps = static_cast<std::int64_t>(
          std::ceil(s.train.epochs * static_cast<double>(*in.real_train_tokens) / per_step));
      totals.train_tokens += static_cast<double>(steps * per_step * times);
      return fmt::format("train {} epochs = {} steps x {} x {} = {} tokens, {}", s.train.epochs,
                         steps, s.train.batch_size, model.context, human(steps * per_step), from);
    }
    totals.train_unknown = true;
    return fmt::format("train {} epochs over the training set (its size is known at run time), "
                       "steps of {} x {} tokens, {}{}",
                       s.train.epochs, s.train.batch_size, model.context, from, mix);
  }
  const std::int64_t steps = s.train.steps_for(k);
  totals.train_tokens += static_cast<double>(steps) * per_step * times;
  return fmt::format("train {} steps x {} x {} = {} tokens, {}{}", steps, s.train.batch_size,
                     model.context, human(static_cast<double>(steps) * per_step), from, mix);
}

std::string generate_line(const ExperimentSettings& s, std::int64_t times, const PlanInputs& in,
                          Totals& totals) {
  const auto& g = s.generate;
  const std::string sampler = s.sampler.describe();
  switch (g.documents.kind) {
    case SizeSpec::Kind::tokens:
      totals.generate_tokens += static_cast<double>(g.documents.count) * times;
      return fmt::format("generate documents of <= {} tokens, in whole batches, until at least {} "
                         "tokens; prompt {}; {}",
                         g.max_tokens, human(static_cast<double>(g.documents.count)), g.prompt,
                         sampler);
    case SizeSpec::Kind::documents: {
      // best_of_k writes k candidates per document.
      const std::int64_t n = g.documents.count * s.curate.best_of_k;
      totals.generate_tokens += static_cast<double>(n * g.max_tokens) * times;
      return fmt::format("generate {} documents{} x <= {} tokens = <= {} tokens; prompt {}; {}", n,
                         s.curate.best_of_k > 1 ? fmt::format(" ({} x best_of_k {})", g.documents.count, s.curate.best_of_k) : "",
                         g.max_tokens, human(static_cast<double>(n * g.max_tokens)), g.prompt, sampler);
    }
    default:
      if (!g.unconditional()) {
        // "same" with prompts means one document per prompt (collapse run, generate_generation).
        const auto spec = PromptSpec::read(g.prompt);
        if (spec && spec->kind == PromptSpec::Kind::real_prefix && !in.train_document_lengths.empty()) {
          std::int64_t n = 0;
          for (const std::int64_t length : in.train_document_lengths) n += length / spec->block;
          n *= s.curate.best_of_k;
          totals.generate_tokens += static_cast<double>(n * g.max_tokens) * times;
          return fmt::format("generate {} documents (one per {}-token block of the real train split) x <= {} "
                             "tokens = <= {} tokens; prompt {}; {}",
                             n, spec->block, g.max_tokens, human(static_cast<double>(n * g.max_tokens)), g.prompt,
                             sampler);
        }
        totals.generate_unknown = true;
        return fmt::format("generate one document per prompt of {} (the count is known once the "
                           "data is prepared) x <= {} tokens; {}",
                           g.prompt, g.max_tokens, sampler);
      }
      if (in.real_train_documents) {
        const std::int64_t n = *in.real_train_documents;
        totals.generate_tokens += static_cast<double>(n * g.max_tokens) * times;
        return fmt::format("generate {} documents (\"same\" as the real train split) x <= {} "
                           "tokens = <= {} tokens; prompt {}; {}",
                           n, g.max_tokens, human(static_cast<double>(n * g.max_tokens)), g.prompt,
                           sampler);
      }
      totals.generate_unknown = true;
      return fmt::format("generate as many documents as the real train split has (known once the "
                         "data is prepared) x <= {} tokens; prompt {}; {}",
                         g.max_tokens, g.prompt, sampler);
  }
}

}  // namespace

std::string work_plan(const ExperimentConfig& config, const PlanInputs& in) {
  std::string device_kind = in.device_kind;
  std::string device_note;
  if (device_kind.empty()) {
    const std::string& d = config.base.device;
    device_kind = d.starts_with("cuda") ? "cuda" : "cpu";
    if (d == "auto") device_note = " (device = \"auto\": planned as cpu; a GPU would be faster)";
  }

  std::int64_t runs = 0;
  for (const ArmConfig& arm : config.arms) {
    runs += static_cast<std::int64_t>(arm.settings.seeds.size()) * arm.settings.generations;
  }
  std::string out = fmt::format("Work plan for experiment '{}' ({})\n", config.name,
                                config.file.string());
  const auto& b = config.base;
  out += fmt::format("  {} arm{} x {} seed{} x {} generations = {} generation runs{}\n",
                     config.arms.size(), config.arms.size() == 1 ? "" : "s", b.seeds.size(),
                     b.seeds.size() == 1 ? "" : "s", b.generations, runs,
                     runs == static_cast<std::int64_t>(config.arms.size() * b.seeds.size()) *
                                 b.generations
                         ? ""
                         : " (arms override seeds or generations)");
  out += fmt::format("  device: {}{}\n", device_kind, device_note);

  Totals all;
  for (const ArmConfig& arm : config.arms) {
    const ExperimentSettings& s = arm.settings;
    ModelConfig model = s.model.resolve(s.corpus.model_vocab_size());
    model.context = s.model.window(model);  // the positions every phase uses
    const auto seeds = static_cast<std::int64_t>(s.seeds.size());
    out += fmt::format("\narm '{}': seeds [{}], generations 0-{}, model {} ({} layers, d_model {}, "
                       "context {}, vocab {}, {} parameters)\n",
                       arm.name, seed_list(s.seeds), s.generations - 1,
                       s.model.pretrained.empty() ? s.model.preset : "pretrained " + s.model.pretrained,
                       model.n_layer, model.d_model, model.context, model.vocab_size,
                       human(static_cast<double>(model.parameters())));
    if (!arm.overrides.empty()) {
      std::string o;
      for (const auto& [key, value] : arm.overrides.items()) {
        o += (o.empty() ? "" : ", ") + key + " = " + value.dump();
      }
      out += "  overrides: " + o + "\n";
    }
    Totals t;
    out += fmt::format("  {:<9} {}\n", "gen 0", train_line(s, model, 0, seeds, in, t));
    out += fmt::format("  {:<9} {}\n", "", generate_line(s, seeds, in, t));
    if (s.generations > 1) {
      const std::string range = generations_range(1, s.generations - 1);
      out += fmt::format("  {:<9} {}\n", range,
                         train_line(s, model, 1, seeds * (s.generations - 1), in, t));
      out += fmt::format("  {:<9} {}\n", "", generate_line(s, seeds * (s.generations - 1), in, t));
    }
    out += fmt::format("  {:<9} {}\n", "curate", s.curate.describe());
    if (s.curate.verifier_kind() == VerifierKind::oracle) {
      // The oracle trains once per seed on the real train split, like generation 0.
      ExperimentSettings oracle = s;
      if (!s.curate.oracle_preset.empty()) {
        oracle.model = ModelSettings{};
        oracle.model.preset = s.curate.oracle_preset;
        oracle.model.context = s.model.context;
      }
      if (s.curate.oracle_steps > 0) {
        oracle.train.steps = s.curate.oracle_steps;
        oracle.train.gen0_steps = 0;
        oracle.train.epochs = 0;
      }
      ModelConfig oracle_model = oracle.model.resolve(s.corpus.model_vocab_size());
      oracle_model.context = oracle.model.window(oracle_model);
      out += fmt::format("  {:<9} oracle ({}): {}\n", "", oracle.model.pretrained.empty() ? oracle.model.preset : "pretrained",
                         train_line(oracle, oracle_model, 0, seeds, in, t));
    }
    out += fmt::format("  all seeds: train {}{} tokens, generate <= {}{} tokens\n",
                       human(t.train_tokens), t.train_unknown ? " + (known at run time)" : "",
                       human(t.generate_tokens), t.generate_unknown ? " + (known after prepare)" : "");
    all.train_tokens += t.train_tokens;
    all.generate_tokens += t.generate_tokens;
    all.train_unknown |= t.train_unknown;
    all.generate_unknown |= t.generate_unknown;
  }

  out += fmt::format("\ntotal: train {}{} tokens, generate <= {}{} tokens\n",
                     human(all.train_tokens), all.train_unknown ? " + (known at run time)" : "",
                     human(all.generate_tokens),
                     all.generate_unknown ? " + (known after prepare)" : "");
  const TimeEstimate estimate = estimate_time(config, in, device_kind);
  std::string phases;
  for (const TimeEstimate::Phase& p : estimate.phases) {
    phases += fmt::format("{}{} {}", phases.empty() ? "" : ", ", p.name,
                          p.seconds ? duration(*p.seconds) : std::string("unknown"));
  }
  if (estimate.seconds) {
    out += fmt::format("time estimate (from measured throughput, this kind of device): about {} ({})\n",
                       duration(*estimate.seconds), phases);
  } else {
    out += fmt::format("time estimate: none ({})\n", phases);
    for (const std::string& u : estimate.unknown) out += "  unknown: " + u + "\n";
  }
  for (const auto& [note, arms] : estimate.notes) {
    std::string names;
    for (const std::string& a : arms) names += (names.empty() ? "'" : ", '") + a + "'";
    out += fmt::format("  arm{} {}: {}\n", arms.size() == 1 ? "" : "s", names, note);
  }
  out += "  not included: data preparation, checkpoints and files; generation-0 and oracle trainings that "
         "arms share count once per seed\n";
  return out;
}

}  // namespace collapse
