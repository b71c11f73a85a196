// An experiment: the TOML file `collapse run` reads (docs/experiments.md is the reference of
// every key, its default and its allowed values).
//
// Parsing is strict: an unknown key, a wrong type or an out-of-range value is an Error of one
// line naming the file, the key and what is allowed, e.g.
//   exp.toml: [train] steps must be a positive integer, got -3
//   exp.toml: unknown key 'sampler.topp' (did you mean 'sampler.top_p'?)
//   exp.toml: arm 'keep-10': [mix] real_fraction must be a number in [0, 1], got 1.5
//
// The file holds the base settings and any number of [[arm]] tables. Each arm has a name and
// overrides any key of the base (not `name`), either as quoted dotted keys
// ("mix.real_fraction" = 0.1), as TOML dotted keys (mix.real_fraction = 0.1) or as nested tables
// ([arm.mix] real_fraction = 0.1). Without [[arm]] tables there is one arm, "default".
// Every arm's settings are resolved in full: base defaults <- the file's base keys <- the arm's
// overrides, then checked as a whole (e.g. the prompt plus max_tokens must fit the context).
//
// Paths (corpus.source when it is not a built-in corpus name, generate.prompt "file:PATH") are
// relative to the folder of the TOML file and are stored resolved, as absolute paths, so the
// resolved config (resolved_toml) means the same wherever it is read from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/generate/decode_mode.h"
#include "collapse/generate/sampler_chain.h"
#include "collapse/model/model_config.h"
#include "collapse/util/named.h"

namespace collapse {

// A size given as a count of documents, a count of tokens, or relative to something else:
//   generate.documents: an integer N (documents), "same" (prompt "bos": as many documents as
//                       the real train split has; real-prefix / file prompts: one per prompt)
//                       or "tokens:N" (whole batches of documents until at least N tokens)
//   mix.synthetic:      "all" (every synthetic document), an integer N or "tokens:N"
struct SizeSpec {
  enum class Kind { documents, tokens, same, all, pool };
  Kind kind = Kind::same;
  std::int64_t count = 0;  // for documents and tokens, >= 1

  // "same", "all", "pool", "tokens:N", or the count of documents as a decimal string.
  std::string to_string() const;
  bool operator==(const SizeSpec&) const = default;
};

// The closed sets of an experiment, each one table (util/named.h) that the parser, the report
// and the docs tests read.
enum class TrainInit { scratch, gen0, previous, pretrained };  // what generations >= 1 start from
enum class MixRegime { replace, accumulate, fresh };  // mixer.h
enum class Dedup { none, exact, minhash };  // curation.h
enum class Resample { none, detector };  // curation.h
// The verifier's named models; any other value of [curate] verifier is a model folder's path.
enum class VerifierKind { gen0, oracle };
std::span<const Named<TrainInit>> train_inits();
std::span<const Named<MixRegime>> mix_regimes();
std::span<const Named<Dedup>> dedup_modes();
std::span<const Named<Resample>> resample_modes();
std::span<const Named<VerifierKind>> verifier_kinds();

inline std::string to_string(TrainInit v) { return name_of(train_inits(), v); }
inline std::string to_string(MixRegime v) { return name_of(mix_regimes(), v); }
inline std::string to_string(Dedup v) { return name_of(dedup_modes(), v); }
inline std::string to_string(Resample v) { return name_of(resample_modes(), v); }

struct CorpusSettings {
  std::string source = "sotu";  // built-in name (corpus.h) or an absolute path
  // A Hugging Face model or tokenizer folder (absolute path) to encode with; empty = train
  // collapse's own tokenizer of vocab_size pieces.
  std::string tokenizer;
  // `tokenizer = "pretrained"`: the tokenizer is [model] pretrained's (set into `tokenizer` once
  // the settings are read).
  bool tokenizer_is_pretrained = false;
  std::int64_t vocab_size = 4096;
  // The vocabulary models of this corpus have: the given tokenizer's (opened), else vocab_size.
  std::int64_t model_vocab_size() const;
  double valid_fraction = 0.05;
  double test_fraction = 0.05;
  std::uint64_t split_seed = 0;
  bool operator==(const CorpusSettings&) const = default;
};

struct ModelSettings {
  std::string preset = "tiny";  // tiny | small | base (model_config.h)
  // 0 = the preset's value. With `pretrained`, context is the window every phase uses (at most
  // the model's positions) and the others do not apply.
  std::int64_t n_layer = 0, n_head = 0, d_model = 0, ffn_hidden = 0, context = 0;
  // A Hugging Face model folder (absolute path) that every generation starts from
  // (docs/pretrained.md); empty: collapse's own models of `preset`.
  std::string pretrained;
  // The preset with the overrides applied and vocab_size set; the pretrained folder's config.
  ModelConfig resolve(std::int64_t vocab_size) const;
  // The positions training, evaluation, generation and scoring use with model `resolved`.
  std::int64_t window(const ModelConfig& resolved) const { return context > 0 ? context : resolved.context; }
  bool operator==(const ModelSettings&) const = default;
};

struct TrainSettings {
  std::int64_t steps = 600;        // optimizer steps per generation
  double epochs = 0.0;             // > 0: passes over the training set, replacing steps
  std::int64_t batch_size = 16;    // sequences of `context` tokens per step
  double lr = 3e-3;                // peak learning rate
  std::int64_t warmup_steps = 50;
  std::int64_t eval_every = 100;   // steps between valid-loss evaluations (best checkpoint)
  TrainInit init = TrainInit::scratch;  // what generations >= 1 start from
  std::int64_t gen0_steps = 0;     // steps for generation 0; 0 = `steps`
  // Per-source loss weights of generations >= 1 (trainer.h): each token's loss weighs by its
  // document's source; (1, 1) is the plain loss.
  double real_weight = 1.0, synthetic_weight = 1.0;
  // Steps of generation k (ignores epochs).
  std::int64_t steps_for(std::int64_t generation) const {
    return generation == 0 && gen0_steps > 0 ? gen0_steps : steps;
  }
  bool operator==(const TrainSettings&) const = default;
};

struct GenerateSettings {
  SizeSpec documents{SizeSpec::Kind::same, 0};
  // Generated tokens per document, at most. BOS + prompt + max_tokens must fit the context:
  // 127 fills the tiny preset's 128 positions after BOS.
  std::int64_t max_tokens = 127;
  std::int64_t min_tokens = 0;     // EOS is banned before this many
  std::string prompt = "bos";      // prompts.h: bos | real-prefix:K | file:PATH (PATH absolute)
  std::int64_t batch_size = 64;    // documents per decoding batch
  bool keep_prompt = false;        // the synthetic document is prompt + continuation
  DecodeMode decode = DecodeMode::automatic;
  // Whether documents start from BOS alone (prompt "bos"): documents = "same" then means as many
  // documents as the real train split has, otherwise one per prompt.
  bool unconditional() const;
  bool operator==(const GenerateSettings&) const = default;
};

struct MixSettings {
  MixRegime regime = MixRegime::replace;
  double real_fraction = 0.0;         // share of the real train documents kept, in [0, 1]
  std::int64_t fresh_documents = 0;   // fresh real documents per generation (regime fresh)
  SizeSpec synthetic{SizeSpec::Kind::all, 0};
  // The training set of generations >= 1 (mixer.h): the regime's whole pool ("pool"), or a
  // seeded draw from it of N documents, "tokens:N", or "same" (generation 0's size in tokens).
  SizeSpec train_size{SizeSpec::Kind::pool, 0};
  std::int64_t real_documents = 0;  // real documents kept (replace, fresh): real_fraction by count
  double synthetic_share = -1.0;    // share of the drawn tokens that is synthetic; < 0: off
  // "accumulate regime, real_fraction 0, train_size same": the keys that shape the mix, for the
  // plan and the report (defaults of the newer keys left out).
  std::string describe() const;
  bool operator==(const MixSettings&) const = default;
};

struct CurateSettings {
  // The model whose perplexity ranks documents for best_of_k, ppl_filter and keep_top: "gen0",
  // "oracle" (trained once per seed on the real train split, oracle_steps and oracle_preset), or
  // a model folder's absolute path.
  std::string verifier = "gen0";
  std::int64_t oracle_steps = 0;   // 0 = generation 0's steps
  std::string oracle_preset;       // empty = [model] preset
  // Keep synthetic documents whose verifier perplexity lies between these quantiles; [0, 1]
  // keeps all.
  double ppl_filter_low = 0.0, ppl_filter_high = 1.0;
  double keep_top = 1.0;           // keep this share with the lowest verifier perplexity; 1 = off
  double verifier_error = 0.0;     // share of each verifier step's keep/drop decisions flipped
  Resample resample = Resample::none;
  double resample_clip = 10.0;     // the detector's importance weights are at most this
  // The verifier's kind, or nothing when `verifier` is a path.
  std::optional<VerifierKind> verifier_kind() const;
  // "keep_top 0.5 and verifier_error 0.2 by the oracle verifier; minhash dedup; resample by
  // detector (clip 10)", or "none": the steps that are on, for the plan and the report.
  std::string describe() const;
  Dedup dedup = Dedup::none;
  double minhash_threshold = 0.8;  // estimated Jaccard similarity at or above which a pair is a duplicate
  std::int64_t minhash_ngram = 5;  // token n-grams (shingles) MinHash is computed over
  std::int64_t best_of_k = 1;      // candidates per prompt; 1 = off
  std::string best_of_metric = "ppl";  // "ppl": lowest perplexity under the verifier
  bool ppl_filter_enabled() const { return ppl_filter_low > 0.0 || ppl_filter_high < 1.0; }
  bool operator==(const CurateSettings&) const = default;
};

struct ScoreSettings {
  std::vector<std::string> metrics;  // empty = all (metric_catalog.h)
  std::int64_t self_bleu_hypotheses = 500;  // 0 = every document
  std::int64_t self_bleu_references = 500;  // 0 = every document
  bool operator==(const ScoreSettings&) const = default;
};

// [report]: what `collapse report` puts first, and the TensorBoard events. Presentation, not results: the run folder's
// config check ignores these keys (a resume with other ones rewrites RUN/experiment.toml), and
// an arm cannot set them.
struct ReportSettings {
  // Pairs of arms "A,B" whose differences the report tests (paired by seed or Welch, Holm).
  std::vector<std::string> compare;
  // The metric of the headline box: every arm's last generation against generation 0.
  std::string headline = "test_perplexity";
  // TensorBoard event files under RUN/tensorboard/ (experiment/run_events.h).
  bool tensorboard = true;
  bool operator==(const ReportSettings&) const = default;
};

// Everything an arm runs with.
struct ExperimentSettings {
  std::vector<std::uint64_t> seeds{0};  // non-empty, unique
  std::int64_t generations = 5;         // generations 0..generations-1
  std::string device = "auto";          // auto | cpu | cuda | cuda:N
  CorpusSettings corpus;
  ModelSettings model;
  TrainSettings train;
  GenerateSettings generate;
  SamplerConfig sampler;
  MixSettings mix;
  CurateSettings curate;
  ScoreSettings score;
  ReportSettings report;

  // Flat: one member per key, named by its dotted path ("train.steps", "seeds"), values as the
  // TOML holds them. Every key is present. For diffs: json_differences(a.to_json(), b.to_json())
  // names exactly the keys that changed.
  nlohmann::json to_json() const;
  bool operator==(const ExperimentSettings& other) const { return to_json() == other.to_json(); }
};

struct ArmConfig {
  std::string name;
  ExperimentSettings settings;  // fully resolved
  // The keys where this arm differs from the base, flat as in to_json (empty for "default").
  nlohmann::json overrides = nlohmann::json::object();
  nlohmann::json to_json() const { return settings.to_json(); }
};

struct ExperimentConfig {
  std::string name;                  // [A-Za-z0-9_.-]+
  std::filesystem::path file;        // where it was read from
  ExperimentSettings base;           // the file's settings before arm overrides
  std::vector<ArmConfig> arms;       // in file order; one "default" arm when the file has none
  bool explicit_arms = false;        // the file had [[arm]] tables

  // The arm of that name; Error listing the arms when there is none.
  const ArmConfig& arm(const std::string& name) const;
};

// Reads and checks `path` (strict, as above). Errors name `path` as given.
ExperimentConfig load_experiment(const std::filesystem::path& path);
// The same from TOML text; `file` names it in errors and anchors relative paths (its folder).
ExperimentConfig parse_experiment(const std::string& toml, const std::filesystem::path& file);

// The resolved config as TOML: every key of the base written out (defaults included), then one
// [[arm]] per arm with its overrides as quoted dotted keys. parse_experiment of the result gives
// the same config.
std::string resolved_toml(const ExperimentConfig& config);

// Every key of ExperimentSettings::to_json, in schema order, with "what is allowed" for docs and
// for error messages, e.g. {"train.steps", "a positive integer"}.
struct ConfigKey {
  std::string key;
  std::string allowed;
};
std::vector<ConfigKey> experiment_config_keys();

// Names of arms, experiments and run directories: [A-Za-z0-9_.-]+, not only dots, and none of
// the names a run directory uses for itself (data, experiment.toml, metrics.csv, ...).
bool valid_run_name(const std::string& name);

}  // namespace collapse
