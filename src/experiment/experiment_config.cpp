#include "collapse/experiment/experiment_config.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "collapse/data/corpus.h"
#include "collapse/data/tokenizer.h"
#include "collapse/generate/prompts.h"
#include "collapse/model/device_name.h"
#include "collapse/model/hf_config.h"
#include "collapse/score/metric_catalog.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

std::string SizeSpec::to_string() const {
  switch (kind) {
    case Kind::same: return "same";
    case Kind::all: return "all";
    case Kind::pool: return "pool";
    case Kind::tokens: return "tokens:" + std::to_string(count);
    case Kind::documents: return std::to_string(count);
  }
  return "?";
}

std::string MixSettings::describe() const {
  std::string out = fmt::format("{} regime, ", name_of(mix_regimes(), regime));
  out += real_documents > 0 ? fmt::format("real_documents {}", real_documents)
                            : fmt::format("real_fraction {}", real_fraction);
  if (synthetic.kind != SizeSpec::Kind::all) out += ", synthetic " + synthetic.to_string();
  if (train_size.kind != SizeSpec::Kind::pool) out += ", train_size " + train_size.to_string();
  if (synthetic_share >= 0.0) out += fmt::format(", synthetic_share {}", synthetic_share);
  return out;
}

std::string CurateSettings::describe() const {
  std::vector<std::string> verifier_steps, steps;
  if (best_of_k > 1) verifier_steps.push_back(fmt::format("best_of_k {}", best_of_k));
  if (ppl_filter_enabled()) verifier_steps.push_back(fmt::format("ppl_filter [{}, {}]", ppl_filter_low, ppl_filter_high));
  if (keep_top < 1.0) verifier_steps.push_back(fmt::format("keep_top {}", keep_top));
  if (!verifier_steps.empty()) {
    if (verifier_error > 0.0) verifier_steps.push_back(fmt::format("verifier_error {}", verifier_error));
    const std::string by = verifier_kind() == VerifierKind::gen0     ? "the gen-0 model"
                           : verifier_kind() == VerifierKind::oracle ? "the oracle verifier"
                                                                     : "the verifier " + verifier;
    steps.push_back(fmt::format("{} by {}", fmt::join(verifier_steps, ", "), by));
  }
  if (dedup != Dedup::none) steps.push_back(to_string(dedup) + " dedup");
  if (resample != Resample::none) steps.push_back(fmt::format("resample by {} (clip {})", to_string(resample), resample_clip));
  return steps.empty() ? "none" : fmt::format("{}", fmt::join(steps, "; "));
}

namespace {
// corpus.tokenizer's name for [model] pretrained's tokenizer.
constexpr const char* kPretrained = "pretrained";

constexpr Named<TrainInit> kTrainInits[] = {
    {TrainInit::scratch, "scratch", "a fresh model each generation (Gerstgrasser et al.)"},
    {TrainInit::gen0, "gen0", "fine-tune the generation-0 model (Shumailov et al.)"},
    {TrainInit::previous, "previous", "fine-tune the previous generation's model"},
    {TrainInit::pretrained, "pretrained",
     "fine-tune [model] pretrained again every generation (Shumailov et al. with OPT-125m)"},
};
constexpr Named<MixRegime> kMixRegimes[] = {
    {MixRegime::replace, "replace", "the synthetic data of generation k-1 (+ the kept real share)"},
    {MixRegime::accumulate, "accumulate",
     "every real document + the synthetic data of every earlier generation"},
    {MixRegime::fresh, "fresh",
     "new real documents each generation, drawn without reuse, + synthetic (+ the kept share)"},
};
constexpr Named<Dedup> kDedupModes[] = {
    {Dedup::none, "none", "no de-duplication"},
    {Dedup::exact, "exact", "drop documents whose tokens equal an earlier kept one's"},
    {Dedup::minhash, "minhash", "drop near-duplicates by MinHash-estimated Jaccard similarity"},
};
constexpr Named<Resample> kResampleModes[] = {
    {Resample::none, "none", "the curated documents as they are"},
    {Resample::detector, "detector",
     "redraw them by a real-vs-synthetic detector's importance weights (Drayson & Lampos)"},
};
constexpr Named<VerifierKind> kVerifierKinds[] = {
    {VerifierKind::gen0, "gen0", "the generation-0 model"},
    {VerifierKind::oracle, "oracle",
     "a model trained once per seed on the real train split ([curate] oracle_steps, oracle_preset)"},
};
}  // namespace

std::span<const Named<TrainInit>> train_inits() { return kTrainInits; }
std::span<const Named<MixRegime>> mix_regimes() { return kMixRegimes; }
std::span<const Named<Dedup>> dedup_modes() { return kDedupModes; }
std::span<const Named<Resample>> resample_modes() { return kResampleModes; }
std::span<const Named<VerifierKind>> verifier_kinds() { return kVerifierKinds; }

std::optional<VerifierKind> CurateSettings::verifier_kind() const {
  return find_named(verifier_kinds(), verifier);
}

bool GenerateSettings::unconditional() const {
  return PromptSpec::read(prompt)->kind == PromptSpec::Kind::bos;
}

std::int64_t CorpusSettings::model_vocab_size() const {
  return tokenizer.empty() ? vocab_size : Tokenizer(tokenizer).vocab_size();
}

ModelConfig ModelSettings::resolve(std::int64_t vocab_size) const {
  if (!pretrained.empty()) return read_model_folder_config(pretrained);
  ModelConfig c = ModelConfig::preset(preset);
  c.vocab_size = vocab_size;
  if (n_layer > 0) c.n_layer = n_layer;
  if (n_head > 0) c.n_head = n_head;
  if (d_model > 0) c.d_model = d_model;
  if (ffn_hidden > 0) c.ffn_hidden = ffn_hidden;
  if (context > 0) c.context = context;
  return c;
}

constexpr std::size_t kMaxRunName = 100;

bool valid_run_name(const std::string& name) {
  static const std::set<std::string> reserved = {"data",          "experiment.toml", "metrics.csv",
                                                 "metrics.jsonl", "report.html",     "report.md",
                                                 "shared"};
  // Names become file names (RUN/ARM/..., runs/NAME, lock files beside them): 100 characters
  // leave room within the 255 bytes a file name may have.
  if (name.empty() || name.size() > kMaxRunName || reserved.contains(name)) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

const ArmConfig& ExperimentConfig::arm(const std::string& arm_name) const {
  std::string names;
  for (const ArmConfig& a : arms) {
    if (a.name == arm_name) return a;
    names += (names.empty() ? "" : ", ") + a.name;
  }
  fail("{}: no arm named '{}' (the arms are {})", file.string(), arm_name, names);
}

namespace {

// What a value is checked against and where it came from, for one-line errors.
struct Env {
  std::string what;  // "exp.toml" or "exp.toml: arm 'keep-10'"
  std::string key;   // "train.steps"
  std::string allowed;
  fs::path base_dir;  // relative paths are resolved against it

  // "[train] steps", or "seeds" for a top-level key.
  std::string display() const {
    const std::string_view k = key;
    const auto dot = k.find('.');
    return dot == k.npos ? key : fmt::format("[{}] {}", k.substr(0, dot), k.substr(dot + 1));
  }
  [[noreturn]] void reject(const json& got) const {
    fail("{}: {} must be {}, got {}", what, display(), allowed, shown(got));
  }
  // As the TOML file spells it: JSON has no NaN or infinity (dump() would say null).
  static std::string shown(const json& v) {
    if (v.is_number_float() && !std::isfinite(v.get<double>())) {
      const double x = v.get<double>();
      return std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
    }
    return v.dump();
  }
};

using Getter = std::function<json(const ExperimentSettings&)>;
using Setter = std::function<void(ExperimentSettings&, const json&, const Env&)>;

struct Field {
  std::string key;
  std::string allowed;
  Getter get;
  Setter set;
};

template <typename T>
using Access = T& (*)(ExperimentSettings&);

template <typename T>
Getter getter(Access<T> access) {
  return [access](const ExperimentSettings& s) {
    return json(access(const_cast<ExperimentSettings&>(s)));
  };
}

Field integer_field(std::string key, Access<std::int64_t> access, std::int64_t lo,
                    std::int64_t hi, std::string allowed) {
  return {std::move(key), std::move(allowed), getter(access),
          [=](ExperimentSettings& s, const json& v, const Env& env) {
            if (v.is_number_integer() && v.get<std::int64_t>() > hi) {
              fail("{}: {} must be {} no larger than {}, got {}", env.what, env.display(), env.allowed, hi, v.dump());
            }
            if (!v.is_number_integer() || v.get<std::int64_t>() < lo) env.reject(v);
            access(s) = v.get<std::int64_t>();
          }};
}

Field seed_field(std::string key, Access<std::uint64_t> access) {
  return {std::move(key), "a non-negative integer", getter(access),
          [=](ExperimentSettings& s, const json& v, const Env& env) {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 0) env.reject(v);
            access(s) = static_cast<std::uint64_t>(v.get<std::int64_t>());
          }};
}

// A finite number in [lo, hi] (bounds excluded where open); integers are accepted.
Field number_field(std::string key, Access<double> access, double lo, double hi, bool lo_open,
                   bool hi_open, std::string allowed) {
  return {std::move(key), std::move(allowed), getter(access),
          [=](ExperimentSettings& s, const json& v, const Env& env) {
            if (!v.is_number()) env.reject(v);
            const double x = v.get<double>();
            if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo) ||
                (hi_open && x == hi)) {
              env.reject(v);
            }
            access(s) = x;
          }};
}

Field bool_field(std::string key, Access<bool> access) {
  return {std::move(key), "true or false", getter(access),
          [=](ExperimentSettings& s, const json& v, const Env& env) {
            if (!v.is_boolean()) env.reject(v);
            access(s) = v.get<bool>();
          }};
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + ("\"" + names[i] + "\"");
  }
  return out;
}

// One of a closed set of names (a table of util/named.h).
template <typename E>
Field enum_field(std::string key, Access<E> access, std::span<const Named<E>> table) {
  return {std::move(key), names_of(table, /*quoted=*/true),
          [access, table](const ExperimentSettings& s) {
            return json(name_of(table, access(const_cast<ExperimentSettings&>(s))));
          },
          [=](ExperimentSettings& s, const json& v, const Env& env) {
            const auto value = v.is_string() ? find_named(table, v.get<std::string>()) : std::nullopt;
            if (!value) env.reject(v);
            access(s) = *value;
          }};
}

// A positive decimal integer written in full ("64", not "+64" or "6e1").
bool parse_count(const std::string& text, std::int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  out = std::stoll(text);
  return out >= 1;
}

// SizeSpec: an integer (documents), "tokens:N", or one of the keywords `words` ("same", "all",
// "pool").
Field size_field(std::string key, Access<SizeSpec> access, std::vector<SizeSpec::Kind> words) {
  std::string allowed = "a positive integer (documents), \"tokens:N\"";
  for (std::size_t i = 0; i < words.size(); ++i) {
    allowed += (i + 1 == words.size() ? " or \"" : ", \"") + SizeSpec{words[i], 0}.to_string() + "\"";
  }
  return {std::move(key), std::move(allowed),
          [access](const ExperimentSettings& s) {
            const SizeSpec& spec = access(const_cast<ExperimentSettings&>(s));
            return spec.kind == SizeSpec::Kind::documents ? json(spec.count) : json(spec.to_string());
          },
          [=](ExperimentSettings& s, const json& v, const Env& env) {
            if (v.is_number_integer() && v.get<std::int64_t>() >= 1) {
              access(s) = {SizeSpec::Kind::documents, v.get<std::int64_t>()};
              return;
            }
            if (v.is_string()) {
              const std::string text = v.get<std::string>();
              std::int64_t n = 0;
              for (const SizeSpec::Kind word : words) {
                if (text == SizeSpec{word, 0}.to_string()) {
                  access(s) = {word, 0};
                  return;
                }
              }
              if (text.starts_with("tokens:") && parse_count(text.substr(7), n)) {
                access(s) = {SizeSpec::Kind::tokens, n};
                return;
              }
            }
            env.reject(v);
          }};
}

// A path relative to the TOML file's folder, made absolute.
std::string resolve_path(const std::string& path, const fs::path& base_dir) {
  return fs::absolute(base_dir / fs::path(path)).lexically_normal().string();
}

std::vector<Field> build_schema() {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::vector<Field> f;
  f.push_back({"seeds", "a non-empty list of distinct non-negative integers",
               [](const ExperimentSettings& s) { return json(s.seeds); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_array() || v.empty()) env.reject(v);
                 std::vector<std::uint64_t> seeds;
                 for (const json& x : v) {
                   if (!x.is_number_integer() || x.get<std::int64_t>() < 0) env.reject(v);
                   const auto seed = static_cast<std::uint64_t>(x.get<std::int64_t>());
                   if (std::find(seeds.begin(), seeds.end(), seed) != seeds.end()) env.reject(v);
                   seeds.push_back(seed);
                 }
                 s.seeds = seeds;
               }});
  f.push_back(integer_field("generations", [](ExperimentSettings& s) -> auto& { return s.generations; },
                            1, 1000, "an integer in [1, 1000]"));
  f.push_back({"device", kDeviceNames,
               [](const ExperimentSettings& s) { return json(s.device); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_string() || !valid_device_name(v.get<std::string>())) env.reject(v);
                 s.device = v.get<std::string>();
               }});

  // [corpus]
  f.push_back({"corpus.source", "a built-in corpus name or a path (relative to this file)",
               [](const ExperimentSettings& s) { return json(s.corpus.source); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_string() || v.get<std::string>().empty()) env.reject(v);
                 const std::string source = v.get<std::string>();
                 s.corpus.source = is_builtin_corpus(source) ? source
                                                             : resolve_path(source, env.base_dir);
               }});
  f.push_back({"corpus.tokenizer",
               "a Hugging Face model or tokenizer folder to encode with (relative to this file), "
               "or \"\" to train collapse's own",
               [](const ExperimentSettings& s) {
                 return json(s.corpus.tokenizer_is_pretrained ? std::string(kPretrained) : s.corpus.tokenizer);
               },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_string()) env.reject(v);
                 const std::string path = v.get<std::string>();
                 s.corpus.tokenizer_is_pretrained = path == kPretrained;
                 s.corpus.tokenizer = path.empty() || s.corpus.tokenizer_is_pretrained ? "" : resolve_path(path, env.base_dir);
               }});
  f.push_back(integer_field("corpus.vocab_size", [](ExperimentSettings& s) -> auto& { return s.corpus.vocab_size; },
                            324, 1 << 20,
                            "an integer in [324, 1048576] (256 byte pieces + special ids + merges)"));
  f.push_back(number_field("corpus.valid_fraction", [](ExperimentSettings& s) -> auto& { return s.corpus.valid_fraction; },
                           0.0, 1.0, false, true, "a number in [0, 1)"));
  f.push_back(number_field("corpus.test_fraction", [](ExperimentSettings& s) -> auto& { return s.corpus.test_fraction; },
                           0.0, 1.0, true, true, "a number in (0, 1) (the test split is scored)"));
  f.push_back(seed_field("corpus.split_seed", [](ExperimentSettings& s) -> auto& { return s.corpus.split_seed; }));

  // [model]
  f.push_back({"model.preset", quoted_list(ModelConfig::preset_names()),
               [](const ExperimentSettings& s) { return json(s.model.preset); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 const auto names = ModelConfig::preset_names();
                 if (!v.is_string() ||
                     std::find(names.begin(), names.end(), v.get<std::string>()) == names.end()) {
                   env.reject(v);
                 }
                 s.model.preset = v.get<std::string>();
               }});
  const std::string dim = "an integer >= 0 (0 = the preset's)";
  f.push_back(integer_field("model.n_layer", [](ExperimentSettings& s) -> auto& { return s.model.n_layer; }, 0, 1024, dim));
  f.push_back(integer_field("model.n_head", [](ExperimentSettings& s) -> auto& { return s.model.n_head; }, 0, 1024, dim));
  f.push_back(integer_field("model.d_model", [](ExperimentSettings& s) -> auto& { return s.model.d_model; }, 0, 1 << 16, dim));
  f.push_back(integer_field("model.ffn_hidden", [](ExperimentSettings& s) -> auto& { return s.model.ffn_hidden; }, 0, 1 << 18, dim));
  f.push_back(integer_field("model.context", [](ExperimentSettings& s) -> auto& { return s.model.context; }, 0, 1 << 20,
                            "an integer >= 0 (0 = the preset's, or the pretrained model's positions)"));
  f.push_back({"model.pretrained",
               "a Hugging Face model folder every generation starts from (relative to this file), or \"\"",
               [](const ExperimentSettings& s) { return json(s.model.pretrained); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_string()) env.reject(v);
                 const std::string path = v.get<std::string>();
                 s.model.pretrained = path.empty() ? path : resolve_path(path, env.base_dir);
               }});

  // [train]
  f.push_back(integer_field("train.steps", [](ExperimentSettings& s) -> auto& { return s.train.steps; }, 1, kMax,
                            "a positive integer"));
  f.push_back(number_field("train.epochs", [](ExperimentSettings& s) -> auto& { return s.train.epochs; }, 0.0, 1e6, false,
                           false, "a number >= 0 (0 = use steps)"));
  f.push_back(integer_field("train.batch_size", [](ExperimentSettings& s) -> auto& { return s.train.batch_size; }, 1, 1 << 20,
                            "a positive integer"));
  f.push_back(number_field("train.lr", [](ExperimentSettings& s) -> auto& { return s.train.lr; }, 0.0, 10.0, true, false,
                           "a number in (0, 10]"));
  f.push_back(integer_field("train.warmup_steps", [](ExperimentSettings& s) -> auto& { return s.train.warmup_steps; }, 0, kMax,
                            "an integer >= 0"));
  f.push_back(integer_field("train.eval_every", [](ExperimentSettings& s) -> auto& { return s.train.eval_every; }, 1, kMax,
                            "a positive integer"));
  f.push_back(enum_field<TrainInit>("train.init", [](ExperimentSettings& s) -> auto& { return s.train.init; },
                                    train_inits()));
  f.push_back(integer_field("train.gen0_steps", [](ExperimentSettings& s) -> auto& { return s.train.gen0_steps; }, 0, kMax,
                            "an integer >= 0 (0 = steps)"));
  f.push_back(number_field("train.real_weight", [](ExperimentSettings& s) -> auto& { return s.train.real_weight; },
                           0.0, 1e6, false, false, "a number >= 0"));
  f.push_back(number_field("train.synthetic_weight", [](ExperimentSettings& s) -> auto& { return s.train.synthetic_weight; },
                           0.0, 1e6, false, false, "a number >= 0"));

  // [generate]
  f.push_back(size_field("generate.documents", [](ExperimentSettings& s) -> auto& { return s.generate.documents; },
                         {SizeSpec::Kind::same}));
  f.push_back(integer_field("generate.max_tokens", [](ExperimentSettings& s) -> auto& { return s.generate.max_tokens; }, 1,
                            1 << 20, "a positive integer"));
  f.push_back(integer_field("generate.min_tokens", [](ExperimentSettings& s) -> auto& { return s.generate.min_tokens; }, 0,
                            1 << 20, "an integer >= 0"));
  f.push_back({"generate.prompt", kPromptForms,
               [](const ExperimentSettings& s) { return json(s.generate.prompt); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 auto spec = v.is_string() ? PromptSpec::read(v.get<std::string>()) : std::nullopt;
                 if (!spec) env.reject(v);
                 if (spec->kind == PromptSpec::Kind::file) spec->path = resolve_path(spec->path, env.base_dir);
                 s.generate.prompt = spec->to_string();
               }});
  f.push_back(integer_field("generate.batch_size", [](ExperimentSettings& s) -> auto& { return s.generate.batch_size; }, 1,
                            1 << 20, "a positive integer"));
  f.push_back(bool_field("generate.keep_prompt", [](ExperimentSettings& s) -> auto& { return s.generate.keep_prompt; }));
  f.push_back(enum_field<DecodeMode>("generate.decode", [](ExperimentSettings& s) -> auto& { return s.generate.decode; },
                                     decode_modes()));

  // [sampler]: one key per setting of the sampler chain's table (sampler_chain.h); SamplerConfig
  // reads the types (from_json) and checks the ranges (validate, in check_settings).
  for (const SamplerSetting& setting : sampler_settings()) {
    const std::string name = setting.key;
    f.push_back({"sampler." + name, setting.allowed,
                 [name](const ExperimentSettings& s) { return s.sampler.to_json().at(name); },
                 [name](ExperimentSettings& s, const json& v, const Env& env) {
                   json j = s.sampler.to_json();
                   j[name] = v;
                   s.sampler = SamplerConfig::from_json(j, env.what);
                 }});
  }

  // [mix]
  f.push_back(enum_field<MixRegime>("mix.regime", [](ExperimentSettings& s) -> auto& { return s.mix.regime; },
                                    mix_regimes()));
  f.push_back(number_field("mix.real_fraction", [](ExperimentSettings& s) -> auto& { return s.mix.real_fraction; }, 0.0, 1.0,
                           false, false, "a number in [0, 1]"));
  f.push_back(integer_field("mix.fresh_documents", [](ExperimentSettings& s) -> auto& { return s.mix.fresh_documents; }, 0,
                            kMax, "an integer >= 0"));
  f.push_back(size_field("mix.synthetic", [](ExperimentSettings& s) -> auto& { return s.mix.synthetic; },
                         {SizeSpec::Kind::all}));
  f.push_back(size_field("mix.train_size", [](ExperimentSettings& s) -> auto& { return s.mix.train_size; },
                         {SizeSpec::Kind::pool, SizeSpec::Kind::same}));
  f.push_back(integer_field("mix.real_documents", [](ExperimentSettings& s) -> auto& { return s.mix.real_documents; },
                            0, kMax, "an integer >= 0"));
  f.push_back({"mix.synthetic_share", "\"off\" or a number in [0, 1]",
               [](const ExperimentSettings& s) {
                 return s.mix.synthetic_share < 0 ? json("off") : json(s.mix.synthetic_share);
               },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (v.is_string() && v.get<std::string>() == "off") {
                   s.mix.synthetic_share = -1.0;
                   return;
                 }
                 if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0)) env.reject(v);
                 s.mix.synthetic_share = v.get<double>();
               }});

  // [curate]
  std::vector<std::string> verifier_names;
  for (const auto& v : verifier_kinds()) verifier_names.push_back(fmt::format("\"{}\"", v.name));
  f.push_back({"curate.verifier", fmt::format("{} or a model folder's path", fmt::join(verifier_names, ", ")),
               [](const ExperimentSettings& s) { return json(s.curate.verifier); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_string() || v.get<std::string>().empty()) env.reject(v);
                 const std::string text = v.get<std::string>();
                 if (find_named(verifier_kinds(), text)) {
                   s.curate.verifier = text;
                   return;
                 }
                 const std::string path = resolve_path(text, env.base_dir);
                 if (!fs::exists(path)) {
                   fail("{}: {} {}: no model folder or file at {} (nor is it {})", env.what,
                        env.display(), json(text).dump(), path, names_of(verifier_kinds(), true));
                 }
                 s.curate.verifier = path;
               }});
  f.push_back(integer_field("curate.oracle_steps", [](ExperimentSettings& s) -> auto& { return s.curate.oracle_steps; },
                            0, kMax, "an integer >= 0 (0 = generation 0's steps)"));
  f.push_back({"curate.oracle_preset", "\"\" ([model] preset) or " + quoted_list(ModelConfig::preset_names()),
               [](const ExperimentSettings& s) { return json(s.curate.oracle_preset); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_string()) env.reject(v);
                 const std::string name = v.get<std::string>();
                 const auto names = ModelConfig::preset_names();
                 if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) env.reject(v);
                 s.curate.oracle_preset = name;
               }});
  f.push_back(integer_field("curate.best_of_k", [](ExperimentSettings& s) -> auto& { return s.curate.best_of_k; }, 1, 1024,
                            "an integer in [1, 1024] (1 = off)"));
  f.push_back({"curate.best_of_metric", "\"ppl\" (lowest perplexity under the verifier)",
               [](const ExperimentSettings& s) { return json(s.curate.best_of_metric); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (v != "ppl") env.reject(v);
                 s.curate.best_of_metric = v.get<std::string>();
               }});

  f.push_back({"curate.ppl_filter", "two quantiles [low, high] with 0 <= low < high <= 1",
               [](const ExperimentSettings& s) {
                 return json::array({s.curate.ppl_filter_low, s.curate.ppl_filter_high});
               },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number()) {
                   env.reject(v);
                 }
                 const double lo = v[0].get<double>(), hi = v[1].get<double>();
                 if (!(lo >= 0.0 && lo < hi && hi <= 1.0)) env.reject(v);
                 s.curate.ppl_filter_low = lo;
                 s.curate.ppl_filter_high = hi;
               }});
  f.push_back(number_field("curate.keep_top", [](ExperimentSettings& s) -> auto& { return s.curate.keep_top; },
                           0.0, 1.0, true, false, "a number in (0, 1] (1 = off)"));
  f.push_back(number_field("curate.verifier_error", [](ExperimentSettings& s) -> auto& { return s.curate.verifier_error; },
                           0.0, 1.0, false, false, "a number in [0, 1]"));
  f.push_back(enum_field<Dedup>("curate.dedup", [](ExperimentSettings& s) -> auto& { return s.curate.dedup; },
                                dedup_modes()));
  f.push_back(number_field("curate.minhash_threshold", [](ExperimentSettings& s) -> auto& { return s.curate.minhash_threshold; },
                           0.0, 1.0, true, false, "a number in (0, 1]"));
  f.push_back(integer_field("curate.minhash_ngram", [](ExperimentSettings& s) -> auto& { return s.curate.minhash_ngram; }, 1, 64,
                            "an integer in [1, 64]"));
  f.push_back(enum_field<Resample>("curate.resample", [](ExperimentSettings& s) -> auto& { return s.curate.resample; },
                                   resample_modes()));
  f.push_back(number_field("curate.resample_clip", [](ExperimentSettings& s) -> auto& { return s.curate.resample_clip; },
                           1.0, 1e12, false, false, "a number >= 1"));
  // [score]
  f.push_back({"score.metrics", "\"all\" or a non-empty list of distinct metric names",
               [](const ExperimentSettings& s) {
                 return s.score.metrics.empty() ? json("all") : json(s.score.metrics);
               },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (v == "all") {
                   s.score.metrics.clear();
                   return;
                 }
                 if (!v.is_array() || v.empty()) env.reject(v);
                 std::vector<std::string> names;
                 for (const json& x : v) {
                   if (!x.is_string()) env.reject(v);
                   const std::string name = x.get<std::string>();
                   if (!find_metric(name)) {
                     std::string known;
                     for (const MetricInfo& m : metric_catalog()) {
                       known += (known.empty() ? "" : ", ") + m.name;
                     }
                     fail("{}: {} names an unknown metric '{}' (the metrics are {})", env.what,
                          env.display(), name, known);
                   }
                   if (std::find(names.begin(), names.end(), name) != names.end()) env.reject(v);
                   names.push_back(name);
                 }
                 s.score.metrics = names;
               }});
  f.push_back(integer_field("score.self_bleu_hypotheses", [](ExperimentSettings& s) -> auto& { return s.score.self_bleu_hypotheses; },
                            0, kMax, "an integer >= 0 (0 = every document)"));
  // One reference is no comparison (self-BLEU leaves the hypothesis out): refused here, before
  // any work, rather than by the scorer after generation 0 has trained.
  const Access<std::int64_t> references = [](ExperimentSettings& s) -> auto& { return s.score.self_bleu_references; };
  f.push_back({"score.self_bleu_references", "0 (every document) or an integer >= 2", getter(references),
               [=](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() == 1 ||
                     v.get<std::int64_t>() > kMax) {
                   env.reject(v);
                 }
                 references(s) = v.get<std::int64_t>();
               }});
  // [report]
  f.push_back({"report.compare", "a list of \"A,B\" pairs of two different arms' names",
               [](const ExperimentSettings& s) { return json(s.report.compare); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_array()) env.reject(v);
                 std::vector<std::string> pairs;
                 for (const json& x : v) {
                   if (!x.is_string()) env.reject(v);
                   const std::string pair = x.get<std::string>();
                   const auto comma = pair.find(',');
                   if (comma == std::string::npos || comma == 0 || comma + 1 == pair.size() ||
                       pair.find(',', comma + 1) != std::string::npos ||
                       pair.substr(0, comma) == pair.substr(comma + 1)) {
                     fail("{}: {} entry \"{}\" must name two different arms as \"A,B\"", env.what, env.display(), pair);
                   }
                   pairs.push_back(pair);
                 }
                 s.report.compare = pairs;
               }});
  f.push_back({"report.headline", "a metric name",
               [](const ExperimentSettings& s) { return json(s.report.headline); },
               [](ExperimentSettings& s, const json& v, const Env& env) {
                 if (!v.is_string()) env.reject(v);
                 const std::string name = v.get<std::string>();
                 if (!find_metric(name)) {
                   std::string known;
                   for (const MetricInfo& m : metric_catalog()) known += (known.empty() ? "" : ", ") + m.name;
                   fail("{}: {} names an unknown metric '{}' (the metrics are {})", env.what, env.display(), name, known);
                 }
                 s.report.headline = name;
               }});
  f.push_back(bool_field("report.tensorboard", [](ExperimentSettings& s) -> auto& { return s.report.tensorboard; }));
  return f;
}

const std::vector<Field>& schema() {
  static const std::vector<Field> fields = build_schema();
  return fields;
}

const Field* find_field(const std::string& key) {
  for (const Field& f : schema()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

std::string section_of(const std::string& key) {
  const auto dot = key.find('.');
  return dot == std::string::npos ? "" : key.substr(0, dot);
}

std::string last_part(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// "(did you mean 'sampler.top_p'?)", or the keys of the section, or the sections.
std::string unknown_key_hint(const std::string& key) {
  const Field* best = nullptr;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const Field& f : schema()) {
    const std::size_t d = edit_distance(key, f.key);
    if (d < best_distance) best = &f, best_distance = d;
  }
  if (best && best_distance <= std::max<std::size_t>(2, key.size() / 4)) {
    return fmt::format(" (did you mean '{}'?)", best->key);
  }
  for (const Field& f : schema()) {  // the right name in the wrong section
    if (last_part(f.key) == last_part(key)) return fmt::format(" (did you mean '{}'?)", f.key);
  }
  const std::string section = section_of(key);
  std::vector<std::string> sections;
  std::string keys;
  for (const Field& f : schema()) {
    const std::string s = section_of(f.key);
    if (!s.empty() && std::find(sections.begin(), sections.end(), s) == sections.end()) {
      sections.push_back(s);
    }
    if (!section.empty() && s == section) keys += (keys.empty() ? "" : ", ") + last_part(f.key);
  }
  if (!keys.empty()) return fmt::format(" (the keys of [{}] are {})", section, keys);
  std::string top = "name, arm";
  for (const Field& f : schema()) {
    if (section_of(f.key).empty()) top += ", " + f.key;
  }
  std::string all_sections;
  for (const auto& s : sections) all_sections += (all_sections.empty() ? "" : ", ") + s;
  return fmt::format(" (top-level keys: {}; sections: {})", top, all_sections);
}

struct Setting {
  std::string key;  // dotted
  json value;
};

json toml_to_json(const toml::node& node, const std::string& what, const std::string& key) {
  switch (node.type()) {
    case toml::node_type::string: return json(node.as_string()->get());
    case toml::node_type::integer: return json(node.as_integer()->get());
    case toml::node_type::floating_point: return json(node.as_floating_point()->get());
    case toml::node_type::boolean: return json(node.as_boolean()->get());
    case toml::node_type::array: {
      json out = json::array();
      for (const toml::node& item : *node.as_array()) out.push_back(toml_to_json(item, what, key));
      return out;
    }
    case toml::node_type::table: {
      json out = json::object();
      for (const auto& [k, v] : *node.as_table()) {
        out[std::string(k.str())] = toml_to_json(v, what, key);
      }
      return out;
    }
    default:
      fail("{}: key '{}' holds a date or time (line {}); no key takes one", what, key,
           node.source().begin.line);
  }
}

// The table's values by dotted key; nested tables become longer keys. `skip` names top-level
// keys handled elsewhere.
void flatten(const toml::table& table, const std::string& prefix, const std::string& what,
             const std::set<std::string>& skip, std::vector<Setting>& out) {
  for (const auto& [k, v] : table) {
    const std::string part(k.str());
    if (prefix.empty() && skip.contains(part)) continue;
    const std::string key = prefix.empty() ? part : prefix + "." + part;
    if (const toml::table* sub = v.as_table()) {
      flatten(*sub, key, what, {}, out);
      continue;
    }
    for (const Setting& s : out) {
      if (s.key == key) fail("{}: key '{}' is set twice (dotted and as a table?)", what, key);
    }
    out.push_back({key, toml_to_json(v, what, key)});
  }
}

void apply(ExperimentSettings& settings, const std::vector<Setting>& values,
           const std::string& what, const fs::path& base_dir) {
  for (const Setting& s : values) {
    const Field* field = find_field(s.key);
    if (!field) fail("{}: unknown key '{}'{}", what, s.key, unknown_key_hint(s.key));
    field->set(settings, s.value, Env{what, s.key, field->allowed, base_dir});
  }
  if (settings.corpus.tokenizer_is_pretrained) settings.corpus.tokenizer = settings.model.pretrained;
}

// [model] pretrained and the keys that refer to it.
void check_pretrained(const ExperimentSettings& s, const std::string& what) {
  if (s.model.pretrained.empty()) {
    if (s.train.init == TrainInit::pretrained) {
      fail("{}: [train] init = \"pretrained\" needs [model] pretrained (a Hugging Face model folder)", what);
    }
    if (s.corpus.tokenizer_is_pretrained) {
      fail("{}: [corpus] tokenizer = \"pretrained\" needs [model] pretrained (a Hugging Face model folder)", what);
    }
    return;
  }
  const ModelSettings defaults;
  for (const auto& [key, set] : {std::pair<const char*, bool>{"preset", s.model.preset != defaults.preset},
                                 {"n_layer", s.model.n_layer != 0}, {"n_head", s.model.n_head != 0},
                                 {"d_model", s.model.d_model != 0}, {"ffn_hidden", s.model.ffn_hidden != 0}}) {
    if (set) {
      fail("{}: [model] {} does not apply with [model] pretrained (the folder's config.json sets the "
           "shape); remove it",
           what, key);
    }
  }
  if (s.train.init == TrainInit::scratch) {
    fail("{}: [train] init = \"scratch\" trains fresh models, but [model] pretrained is set: use "
         "\"pretrained\" (fine-tune it again every generation), \"gen0\" or \"previous\"",
         what);
  }
}

// The [curate] keys that only mean something together.
void check_curation(const ExperimentSettings& s, const std::string& what) {
  const CurateSettings& c = s.curate;
  const bool verifier_used = c.best_of_k > 1 || c.ppl_filter_enabled() || c.keep_top < 1.0;
  const CurateSettings defaults;
  if (!verifier_used && c.verifier != defaults.verifier) {
    fail("{}: [curate] verifier = {} ranks documents for best_of_k, ppl_filter and keep_top, but none "
         "of them is on: set one, or remove the verifier",
         what, json(c.verifier).dump());
  }
  if (!verifier_used && c.verifier_error > 0.0) {
    fail("{}: [curate] verifier_error = {} flips the verifier's keep/drop decisions, but no step uses "
         "the verifier (best_of_k, ppl_filter, keep_top): set one, or remove verifier_error",
         what, c.verifier_error);
  }
  const bool oracle = c.verifier_kind() == VerifierKind::oracle;
  if (!oracle && c.oracle_steps != defaults.oracle_steps) {
    fail("{}: [curate] oracle_steps = {} sizes the oracle verifier, but [curate] verifier is {}: set "
         "verifier = \"oracle\", or remove oracle_steps",
         what, c.oracle_steps, json(c.verifier).dump());
  }
  if (!oracle && !c.oracle_preset.empty()) {
    fail("{}: [curate] oracle_preset = {} shapes the oracle verifier, but [curate] verifier is {}: "
         "set verifier = \"oracle\", or remove oracle_preset",
         what, json(c.oracle_preset).dump(), json(c.verifier).dump());
  }
  if (!c.oracle_preset.empty() && !s.model.pretrained.empty()) {
    fail("{}: [curate] oracle_preset = {} does not apply with [model] pretrained (the oracle "
         "fine-tunes the pretrained model, whose shape is its own); remove it",
         what, json(c.oracle_preset).dump());
  }
  if (c.resample == Resample::none && c.resample_clip != defaults.resample_clip) {
    fail("{}: [curate] resample_clip = {} bounds the detector's weights, but [curate] resample is "
         "\"none\": set resample = \"detector\", or remove resample_clip",
         what, c.resample_clip);
  }
  const auto& m = s.score.metrics;
  if (c.resample == Resample::none && std::find(m.begin(), m.end(), "detector_accuracy") != m.end()) {
    fail("{}: [score] metrics lists detector_accuracy, which the detector of [curate] resample = "
         "\"detector\" measures, but resample is \"none\"",
         what);
  }
}

// Checks that need several keys at once.
void check_settings(const ExperimentSettings& s, const std::string& what) {
  s.sampler.validate([&](const std::string& key) { return fmt::format("{}: [sampler] {}", what, key); });
  if (!s.corpus.tokenizer.empty() && s.corpus.vocab_size != CorpusSettings{}.vocab_size) {
    fail("{}: [corpus] vocab_size does not apply with [corpus] tokenizer (the tokenizer has its own "
         "vocabulary); remove one of them",
         what);
  }
  check_pretrained(s, what);
  std::int64_t vocab = 0;
  try {
    vocab = s.corpus.model_vocab_size();
  } catch (const Error& e) {
    fail("{}: [corpus] tokenizer {}: {}", what, s.corpus.tokenizer, e.what());
  }
  ModelConfig model;
  try {
    model = s.model.resolve(vocab);
    model.validate([&](const std::string& key) { return fmt::format("[model] {}", key); });
    model.context = window_within(model, s.model.context, "[model] context");  // the positions used
  } catch (const Error& e) {
    if (!s.model.pretrained.empty()) fail("{}: [model] pretrained {}: {}", what, s.model.pretrained, e.what());
    fail("{}: {} (preset '{}' with the [model] overrides)", what, e.what(), s.model.preset);
  }
  if (s.corpus.valid_fraction + s.corpus.test_fraction >= 1.0) {
    fail("{}: [corpus] valid_fraction + test_fraction must be < 1 (documents are left to train "
         "on), got {} + {}",
         what, s.corpus.valid_fraction, s.corpus.test_fraction);
  }
  if (s.generate.min_tokens > s.generate.max_tokens) {
    fail("{}: [generate] min_tokens must be in [0, max_tokens = {}], got {}", what,
         s.generate.max_tokens, s.generate.min_tokens);
  }
  const std::int64_t prompt_tokens = PromptSpec::read(s.generate.prompt)->fixed_length();
  if (1 + prompt_tokens + s.generate.max_tokens > model.context) {
    fail("{}: [generate] BOS + the prompt ({} tokens) + max_tokens {} = {} positions exceed the "
         "model context {}; lower max_tokens or raise [model] context",
         what, prompt_tokens, s.generate.max_tokens, 1 + prompt_tokens + s.generate.max_tokens,
         model.context);
  }
  if (s.mix.regime == MixRegime::fresh && s.mix.fresh_documents < 1) {
    fail("{}: [mix] fresh_documents must be a positive integer with regime = \"fresh\", got {}",
         what, s.mix.fresh_documents);
  }
  if (s.mix.regime != MixRegime::fresh && s.mix.fresh_documents != 0) {
    fail("{}: [mix] fresh_documents is only used with regime = \"fresh\" (regime is \"{}\"): "
         "set it to 0, got {}",
         what, to_string(s.mix.regime), s.mix.fresh_documents);
  }
  if (s.train.real_weight == 0.0 && s.train.synthetic_weight == 0.0) {
    fail("{}: [train] real_weight and synthetic_weight are both 0: no token would be learned from",
         what);
  }
  if (s.mix.real_documents > 0 && s.mix.real_fraction > 0.0) {
    fail("{}: [mix] real_documents = {} and real_fraction = {} both say how much real data is kept: "
         "set one of them",
         what, s.mix.real_documents, s.mix.real_fraction);
  }
  if (s.mix.real_documents > 0 && s.mix.regime == MixRegime::accumulate) {
    fail("{}: [mix] real_documents = {} keeps real data with regime \"replace\" or \"fresh\"; "
         "\"accumulate\" keeps all of it (draw a smaller training set with [mix] train_size)",
         what, s.mix.real_documents);
  }
  if (s.mix.synthetic_share >= 0.0 && s.mix.train_size.kind != SizeSpec::Kind::tokens &&
      s.mix.train_size.kind != SizeSpec::Kind::same) {
    fail("{}: [mix] synthetic_share = {} is a share of tokens, so [mix] train_size must be in tokens "
         "(\"tokens:N\" or \"same\"), got {}",
         what, s.mix.synthetic_share, json(s.mix.train_size.to_string()).dump());
  }
  if (s.curate.best_of_k > 1 && (s.sampler.beams > 1 || s.sampler.greedy())) {
    fail("{}: [curate] best_of_k = {} needs random sampling, but the sampler is deterministic "
         "({}): every candidate would be the same",
         what, s.curate.best_of_k, s.sampler.beams > 1 ? "beam search" : "temperature = 0");
  }
  check_curation(s, what);
}

json flat_overrides(const json& base, const json& arm) {
  json out = json::object();
  for (const auto& [key, value] : arm.items()) {
    if (!base.contains(key) || base.at(key) != value) out[key] = value;
  }
  return out;
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\u{:04X}", u);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string toml_value(const json& v) {
  if (v.is_string()) return toml_string(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) {
    std::string out = fmt::format("{}", v.get<double>());
    if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
    return out;
  }
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + toml_value(v[i]);
    return out + "]";
  }
  fail("cannot write {} as a TOML value", v.dump());
}

}  // namespace

json ExperimentSettings::to_json() const {
  json out = json::object();
  for (const Field& f : schema()) out[f.key] = f.get(*this);
  return out;
}

std::vector<ConfigKey> experiment_config_keys() {
  std::vector<ConfigKey> keys;
  for (const Field& f : schema()) keys.push_back({f.key, f.allowed});
  return keys;
}

ExperimentConfig parse_experiment(const std::string& text, const fs::path& file) {
  const std::string what = file.string();
  const fs::path base_dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  toml::table root;
  try {
    root = toml::parse(text, what);
  } catch (const toml::parse_error& e) {
    fail("{}:{}:{}: invalid TOML: {}", what, e.source().begin.line, e.source().begin.column,
         e.description());
  }

  ExperimentConfig config;
  config.file = file;
  const toml::node* name = root.get("name");
  if (!name) fail("{}: the key 'name' is missing (the experiment's name, [A-Za-z0-9_.-]+)", what);
  if (!name->is_string() || !valid_run_name(name->as_string()->get())) {
    fail("{}: name must be a string of at most {} letters, digits, '_', '.' and '-' that starts with a "
         "letter, digit or '_' (and is not a name the run folder uses itself), got {}",
         what, kMaxRunName, toml_to_json(*name, what, "name").dump());
  }
  config.name = name->as_string()->get();

  std::vector<Setting> base_values;
  flatten(root, "", what, {"name", "arm"}, base_values);
  apply(config.base, base_values, what, base_dir);
  check_settings(config.base, what);
  const json base_json = config.base.to_json();

  if (const toml::node* arms = root.get("arm")) {
    const toml::array* list = arms->as_array();
    if (!list || !list->is_array_of_tables()) {
      fail("{}: 'arm' must be an array of tables: write each arm as [[arm]] with a name", what);
    }
    config.explicit_arms = true;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table& table = *list->get(i)->as_table();
      const toml::node* arm_name = table.get("name");
      if (!arm_name) {
        fail("{}: arm {} (line {}) has no name", what, i + 1, table.source().begin.line);
      }
      if (!arm_name->is_string() || !valid_run_name(arm_name->as_string()->get())) {
        fail("{}: arm {}: name must be a string of at most {} letters, digits, '_', '.' and '-' that "
             "starts with a letter, digit or '_' (not data, experiment.toml, metrics.csv, ...), got {}",
             what, i + 1, kMaxRunName, toml_to_json(*arm_name, what, "name").dump());
      }
      ArmConfig arm;
      arm.name = arm_name->as_string()->get();
      for (const ArmConfig& other : config.arms) {
        if (other.name == arm.name) {
          fail("{}: two arms are named '{}': arm names must be unique", what, arm.name);
        }
      }
      const std::string arm_what = fmt::format("{}: arm '{}'", what, arm.name);
      std::vector<Setting> values;
      flatten(table, "", arm_what, {"name"}, values);
      for (const Setting& v : values) {
        if (v.key.starts_with("report.")) {
          fail("{}: [report] {} applies to the whole experiment: set it outside [[arm]]", arm_what,
               v.key.substr(7));
        }
        // Every arm trains on one dataset (prepared once per run folder): an arm's own [corpus]
        // would only be found once generation 0 needs it.
        if (v.key.starts_with("corpus.")) {
          fail("{}: [corpus] {} is shared by every arm (one dataset per experiment): set it outside [[arm]]",
               arm_what, v.key.substr(7));
        }
      }
      arm.settings = config.base;
      apply(arm.settings, values, arm_what, base_dir);
      check_settings(arm.settings, arm_what);
      arm.overrides = flat_overrides(base_json, arm.settings.to_json());
      config.arms.push_back(std::move(arm));
    }
    if (config.arms.empty()) fail("{}: 'arm' is an empty list: remove it or add [[arm]] tables", what);
  } else {
    config.arms.push_back(ArmConfig{"default", config.base, json::object()});
  }
  for (const std::string& pair : config.base.report.compare) {
    const auto comma = pair.find(',');
    for (const std::string& arm : {pair.substr(0, comma), pair.substr(comma + 1)}) {
      if (std::none_of(config.arms.begin(), config.arms.end(), [&](const ArmConfig& a) { return a.name == arm; })) {
        std::string names;
        for (const ArmConfig& a : config.arms) names += (names.empty() ? "" : ", ") + a.name;
        fail("{}: [report] compare \"{}\" names no arm '{}' (the arms are {})", what, pair, arm, names);
      }
    }
  }
  return config;
}

ExperimentConfig load_experiment(const fs::path& path) {
  if (!fs::is_regular_file(path)) fail("{}: no such experiment file", path.string());
  return parse_experiment(read_file(path), path);
}

std::string resolved_toml(const ExperimentConfig& config) {
  std::string out = fmt::format(
      "# Experiment '{}', resolved by collapse: every key written out (docs/experiments.md).\n"
      "name = {}\n",
      config.name, toml_string(config.name));
  const json base = config.base.to_json();
  std::string section;
  for (const Field& f : schema()) {
    const std::string s = section_of(f.key);
    if (s != section) {
      out += fmt::format("\n[{}]\n", s);
      section = s;
    }
    out += fmt::format("{} = {}\n", last_part(f.key), toml_value(base.at(f.key)));
  }
  if (config.explicit_arms) {
    for (const ArmConfig& arm : config.arms) {
      out += fmt::format("\n[[arm]]\nname = {}\n", toml_string(arm.name));
      for (const Field& f : schema()) {  // overrides in schema order
        if (arm.overrides.contains(f.key)) {
          out += fmt::format("{} = {}\n", toml_string(f.key), toml_value(arm.overrides.at(f.key)));
        }
      }
    }
  }
  return out;
}

}  // namespace collapse
