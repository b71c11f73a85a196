#include "collapse/experiment/time_estimate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "collapse/experiment/curation.h"
#include "collapse/generate/prompts.h"

namespace collapse {

const std::vector<MeasuredThroughput>& measured_throughput() {
  // benchmarks/RESULTS.md. Per preset and device, the row that measured every phase is used
  // (at the config's context and vocabulary where one did), scaled by forward FLOPs per token.
  static const std::vector<MeasuredThroughput> table = {
      {"tiny", "cpu", 64, 2048, 16, 18700.0, 45400.0, 21500.0,
       "2-core x86-64 CPU, fp32, torch 2.13 (benchmarks/RESULTS.md, \"Phase throughput\", "
       "2026-12-06: one run of benchmarks/phase_probe.toml)"},
      {"tiny", "cpu", 128, 8192, 16, 8400.0, 0.0, 0.0,
       "2-core x86-64 CPU, fp32, torch 2.13 (benchmarks/RESULTS.md, \"Training throughput\", "
       "2026-11-22; 8.4k-9.2k tokens/s in two runs)"},
      {"small", "cpu", 256, 8192, 16, 1600.0, 0.0, 0.0,
       "2-core x86-64 CPU, fp32, torch 2.13 (benchmarks/RESULTS.md, \"Training throughput\", "
       "2026-11-22)"},
  };
  return table;
}

double forward_flops_per_token(const ModelConfig& m) {
  const double d = static_cast<double>(m.d_model);
  const double layer = 4.0 * d * d + 3.0 * d * static_cast<double>(m.ffn_hidden);  // attention + SwiGLU
  const double weights = static_cast<double>(m.n_layer) * layer + d * static_cast<double>(m.vocab_size);
  // Attention scores and values: 2 x 2 x layers x positions x d, over half the context on average.
  return 2.0 * weights + 2.0 * static_cast<double>(m.n_layer) * static_cast<double>(m.context) * d;
}

namespace {

struct Rates {
  double train = 0, forward = 0, decode = 0;  // tokens/s at the config's shape; 0 = unknown
};

// Steps between valid-loss evaluations, and the last step: the trainer's schedule.
std::int64_t evaluations(std::int64_t steps, std::int64_t every) {
  if (steps <= 0 || every <= 0) return 0;
  return steps / every + (steps % every != 0 ? 1 : 0);
}

// Documents of one generation, and their prompt length.
struct GenerationWork {
  std::optional<double> documents;  // per generation, best_of_k candidates included
  double max_tokens = 0;
  double prompt_tokens = 0;         // per document, BOS excluded
};

GenerationWork generation_work(const ExperimentSettings& s, const PlanInputs& in) {
  const GenerateSettings& g = s.generate;
  GenerationWork w;
  w.max_tokens = static_cast<double>(g.max_tokens);
  const auto prompt = PromptSpec::read(g.prompt);
  w.prompt_tokens = prompt ? static_cast<double>(prompt->fixed_length()) : 0.0;
  switch (g.documents.kind) {
    case SizeSpec::Kind::tokens: {
      // Whole batches until at least N tokens.
      const double per_batch = static_cast<double>(g.batch_size) * w.max_tokens;
      w.documents = std::ceil(static_cast<double>(g.documents.count) / per_batch) *
                    static_cast<double>(g.batch_size);
      break;
    }
    case SizeSpec::Kind::documents:
      w.documents = static_cast<double>(g.documents.count * s.curate.best_of_k);
      break;
    default:
      if (g.unconditional()) {
        if (in.real_train_documents) w.documents = static_cast<double>(*in.real_train_documents);
      } else if (prompt && prompt->kind == PromptSpec::Kind::real_prefix && !in.train_document_lengths.empty()) {
        double blocks = 0;
        for (const std::int64_t n : in.train_document_lengths) blocks += static_cast<double>(n / prompt->block);
        w.documents = blocks;
      }
      if (w.documents) *w.documents *= static_cast<double>(s.curate.best_of_k);
  }
  return w;
}

bool scores_any(const ScoreSettings& score, std::initializer_list<const char*> names) {
  if (score.metrics.empty()) return true;  // all
  for (const char* n : names) {
    if (std::find(score.metrics.begin(), score.metrics.end(), n) != score.metrics.end()) return true;
  }
  return false;
}

}  // namespace

TimeEstimate estimate_time(const ExperimentConfig& config, const PlanInputs& in, const std::string& device_kind) {
  enum { kTrain, kValid, kGenerate, kScore, kCurate, kPhases };
  const char* names[kPhases] = {"train", "valid-loss evaluation", "generate", "score", "curate"};
  double seconds[kPhases] = {};
  std::set<std::string> unknown;
  TimeEstimate out;
  auto note = [&](const std::string& text, const std::string& arm) {
    for (auto& [t, arms] : out.notes) {
      if (t == text) {
        arms.push_back(arm);
        return;
      }
    }
    out.notes.push_back({text, {arm}});
  };
  // Trainings arms share (generation 0, the oracle): counted once per key.
  std::set<std::string> shared_trainings;

  for (const ArmConfig& arm : config.arms) {
    const ExperimentSettings& s = arm.settings;
    ModelConfig model = s.model.resolve(s.corpus.model_vocab_size());
    model.context = s.model.window(model);
    const ModelConfig preset = ModelConfig::preset(s.model.preset);
    const bool same_shape = s.model.pretrained.empty() && model.n_layer == preset.n_layer &&
                            model.n_head == preset.n_head && model.d_model == preset.d_model &&
                            model.ffn_hidden == preset.ffn_hidden;
    // The row of this preset and device that measured every phase, at this context and
    // vocabulary if there is one.
    const MeasuredThroughput* measured = nullptr;
    auto rank = [&](const MeasuredThroughput& m) {
      const bool complete = m.forward_tokens_per_second > 0 && m.decode_tokens_per_second > 0;
      const bool exact = m.context == model.context && m.vocab_size == model.vocab_size;
      return 2 * static_cast<int>(complete) + static_cast<int>(exact);
    };
    for (const MeasuredThroughput& m : measured_throughput()) {
      if (m.preset != s.model.preset || m.device_kind != device_kind) continue;
      if (!measured || rank(m) > rank(*measured)) measured = &m;
    }
    const std::string what = !s.model.pretrained.empty() ? "a pretrained model"
                             : same_shape              ? "preset " + s.model.preset
                                                       : "this model shape (preset with overrides)";
    if (!measured || !same_shape) {
      for (const char* phase : names) unknown.insert(fmt::format("{}: {} on {} was not measured", phase, what, device_kind));
      continue;
    }
    ModelConfig at = preset;
    at.context = measured->context;
    at.vocab_size = measured->vocab_size;
    const double scale = forward_flops_per_token(at) / forward_flops_per_token(model);
    const Rates rate{measured->train_tokens_per_second * scale, measured->forward_tokens_per_second * scale,
                     measured->decode_tokens_per_second * scale};
    std::string text = fmt::format("preset {} on {}: train {:.1f}k, forward {}, decode {} tokens/s, measured at "
                                   "context {}, vocab {}, batch {} on a {}",
                                   measured->preset, device_kind, measured->train_tokens_per_second / 1e3,
                                   rate.forward > 0 ? fmt::format("{:.1f}k", measured->forward_tokens_per_second / 1e3) : "not measured",
                                   rate.decode > 0 ? fmt::format("{:.1f}k", measured->decode_tokens_per_second / 1e3) : "not measured",
                                   measured->context, measured->vocab_size, measured->batch_size, measured->where);
    if (scale != 1.0) {
      text += fmt::format("; scaled by forward FLOPs per token to context {}, vocab {} here (x{:.2f})",
                          model.context, model.vocab_size, scale);
    }
    if (s.train.batch_size != measured->batch_size) text += fmt::format("; batch {} here", s.train.batch_size);
    note(text, arm.name);
    // `why` names the work in the code that calls it; the unknown line names only the rate.
    auto forward = [&](double tokens, int phase, [[maybe_unused]] const char* why) {
      if (tokens <= 0) return;
      if (rate.forward <= 0) {
        unknown.insert(fmt::format("{}: forward passes of {} on {} not measured", names[phase], what, device_kind));
        return;
      }
      seconds[phase] += tokens / rate.forward;
    };
    const double per_step = static_cast<double>(s.train.batch_size * model.context);
    // One training run of `steps` (or epochs over the real train split), with its evaluations.
    auto training = [&](const TrainSettings& t, std::int64_t k, double train_rate) {
      std::optional<double> steps;
      if (t.epochs > 0 && !(k == 0 && t.gen0_steps > 0)) {
        if (k == 0 && in.real_train_tokens) {
          steps = std::ceil(t.epochs * static_cast<double>(*in.real_train_tokens) / per_step);
        }
      } else {
        steps = static_cast<double>(t.steps_for(k));
      }
      if (!steps) {
        unknown.insert("train: epochs over a synthetic training set (its size is known at run time)");
        return;
      }
      seconds[kTrain] += *steps * per_step / train_rate;
      if (!in.valid_tokens) {
        unknown.insert("valid-loss evaluation: the valid split's size (known after prepare)");
        return;
      }
      forward(static_cast<double>(evaluations(static_cast<std::int64_t>(*steps), t.eval_every) * *in.valid_tokens),
              kValid, "the valid loss");
    };
    const GenerationWork g = generation_work(s, in);
    const double beams = static_cast<double>(std::max<std::int64_t>(1, s.sampler.beams));
    for (const std::uint64_t seed : s.seeds) {
      for (std::int64_t k = 0; k < s.generations; ++k) {
        // Training: generation 0 (and later generations that only differ in name) may be shared.
        if (k == 0) {
          const std::int64_t held_out = s.mix.regime == MixRegime::fresh ? s.mix.fresh_documents * (s.generations - 1) : 0;
          const std::string key = fmt::format("gen0 {} {} {} {} {} {} {} {} {} {} {}", seed, s.model.preset, model.context,
                                              model.vocab_size, s.train.steps_for(0), s.train.epochs, s.train.batch_size,
                                              s.train.lr, s.train.warmup_steps, s.train.eval_every, held_out);
          if (shared_trainings.insert(key).second) training(s.train, 0, rate.train);
        } else {
          training(s.train, k, rate.train);
        }
        // Generation: prompts prefilled, then rows x new tokens decoded.
        if (!g.documents) {
          unknown.insert("generate: the document count (known after prepare)");
          continue;
        }
        const double docs = *g.documents;
        forward(docs * beams * (g.prompt_tokens + 1.0), kGenerate, "prompt prefill");
        if (rate.decode <= 0) {
          unknown.insert(fmt::format("generate: decoding of {} on {} not measured", what, device_kind));
        } else {
          seconds[kGenerate] += docs * beams * g.max_tokens / rate.decode;
        }
        // Scoring: the test split under this generation's model; the synthetic documents under the
        // generation-0 model (perplexities; features, with as many real test windows).
        const double kept_docs = s.curate.best_of_k > 1 ? docs / static_cast<double>(s.curate.best_of_k) : docs;
        const double synthetic = kept_docs * (g.max_tokens + (s.generate.keep_prompt ? g.prompt_tokens : 0.0));
        if (!in.test_tokens) {
          unknown.insert("score: the test split's size (known after prepare)");
        } else {
          forward(static_cast<double>(*in.test_tokens), kScore, "test perplexity");
          if (scores_any(s.score, {"ppl_mean", "ppl_median", "ppl_p10", "ppl_p90"})) {
            forward(synthetic, kScore, "synthetic perplexity");
          }
          if (scores_any(s.score, {"precision", "recall"})) {
            forward(synthetic + std::min(synthetic, static_cast<double>(*in.test_tokens)), kScore, "features");
          }
        }
        // Curation: the verifier's perplexities (unless scoring measured them under generation 0),
        // the detector's features, the oracle's training once per seed.
        const CurateSettings& c = s.curate;
        if (curation_needs_perplexities(c)) {
          const bool reused = c.verifier_kind() == VerifierKind::gen0 &&
                              scores_any(s.score, {"ppl_mean", "ppl_median", "ppl_p10", "ppl_p90"}) &&
                              c.best_of_k == 1;
          if (!reused) forward(docs * (g.max_tokens + (s.generate.keep_prompt ? g.prompt_tokens : 0.0)), kCurate, "verifier");
          if (c.verifier_kind() == VerifierKind::oracle) {
            TrainSettings t = s.train;
            if (c.oracle_steps > 0) {
              t.steps = c.oracle_steps;
              t.gen0_steps = 0;
              t.epochs = 0;
            }
            const std::string key = fmt::format("oracle {} {} {} {} {}", seed, c.oracle_preset, t.steps_for(0), t.epochs,
                                                t.batch_size);
            if (!c.oracle_preset.empty() && c.oracle_preset != s.model.preset) {
              unknown.insert(fmt::format("curate: the oracle's preset {} (estimated only with the arm's own preset)",
                                         c.oracle_preset));
            } else if (shared_trainings.insert(key).second) {
              const double before = seconds[kTrain];
              const double valid_before = seconds[kValid];
              training(t, 0, rate.train);
              seconds[kCurate] += seconds[kTrain] - before + seconds[kValid] - valid_before;
              seconds[kTrain] = before;
              seconds[kValid] = valid_before;
            }
          }
        }
        if (c.resample == Resample::detector) {
          const double real = in.valid_tokens ? std::min(synthetic, static_cast<double>(*in.valid_tokens)) : synthetic;
          forward(synthetic + real, kCurate, "detector features");
        }
      }
    }
  }
  bool complete = true;
  for (int p = 0; p < kPhases; ++p) {
    bool phase_unknown = false;
    for (const std::string& u : unknown) phase_unknown |= u.starts_with(std::string(names[p]) + ":");
    out.phases.push_back({names[p], phase_unknown ? std::nullopt : std::optional<double>(seconds[p])});
    complete &= !phase_unknown;
  }
  if (complete) {
    double total = 0;
    for (const double x : seconds) total += x;
    out.seconds = total;
  }
  out.unknown.assign(unknown.begin(), unknown.end());
  return out;
}

}  // namespace collapse
