#include "collapse/experiment/engine.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>

#include <unistd.h>

#include "collapse/data/dataset.h"
#include "collapse/data/token_store.h"
#include "collapse/data/tokenizer.h"
#include "collapse/experiment/curation.h"
#include "collapse/experiment/mixer.h"
#include "collapse/experiment/run_events.h"
#include "collapse/experiment/run_results.h"
#include "collapse/experiment/train_once.h"
#include "collapse/generate/generator.h"
#include "collapse/generate/prompts.h"
#include "collapse/generate/samples_file.h"
#include "collapse/model/device.h"
#include "collapse/model/load_model.h"
#include "collapse/score/detector_features.h"
#include "collapse/score/document_perplexity.h"
#include "collapse/score/metric_catalog.h"
#include "collapse/score/scoring.h"
#include "collapse/train/evaluate.h"
#include "collapse/train/trainer.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/checksum.h"
#include "collapse/util/error.h"
#include "collapse/util/file_lock.h"
#include "collapse/util/json_diff.h"
#include "collapse/util/phase_clock.h"
#include "collapse/util/progress.h"
#include "collapse/util/random.h"
#include "collapse/util/results_version.h"

namespace collapse {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Seeds of the phases of (seed, generation): independent streams from one experiment seed.
enum Stream : std::uint64_t {
  kTrainSeed = 1, kSampleSeed = 2, kBleuSeed = 3, kMinHashSeed = 4,
  kOracleSeed = 5, kVerifierErrorSeed = 6, kResampleSeed = 7, kDetectorSeed = 8,
};
std::uint64_t phase_seed(std::uint64_t seed, std::int64_t generation, Stream stream) {
  // 53 bits: exact in the JSON/TOML numbers the seeds are recorded in.
  return random_key(seed, {static_cast<std::uint64_t>(generation), stream}) >> 11;
}

// Fault injection for the kill/resume tests: COLLAPSE_FAULT_INJECT=<point>@<generation> makes
// the process SIGKILL itself at that point (train, generate, score: midway through the phase;
// done: right after DONE), exactly as an out-of-memory kill or a pre-empted job would.
void fault_point(const char* point, std::int64_t generation) {
  static const char* spec = std::getenv("COLLAPSE_FAULT_INJECT");
  if (spec && std::string(spec) == fmt::format("{}@{}", point, generation)) {
    std::fprintf(stderr, "collapse: fault injection: SIGKILL at %s\n", spec);
    std::fflush(stderr);
    std::raise(SIGKILL);
  }
}

// Every arm's settings as one flat object ("<arm>: train.steps", ...), so that the "config
// changed" check names exactly the keys that differ. [report] is presentation, not results: left out.
json config_identity(const ExperimentConfig& c) {
  json flat = {{"name", c.name}};
  for (const auto& arm : c.arms) {
    const json settings = arm.to_json();  // named: items() must not outlive a temporary
    for (const auto& [key, value] : settings.items()) {
      if (!key.starts_with("report.")) flat[arm.name + ": " + key] = value;
    }
  }
  return flat;
}

// RUN/results_version.json: the results version the run folder's files were made under
// (util/results_version.h). A folder from before versions were recorded has none: version 1.
void write_or_check_results_version(const fs::path& run, const SettingNames& names) {
  const fs::path file = run / "results_version.json";
  if (!fs::exists(run / "experiment.toml")) {
    write_file_atomic(file, json({{"results_version", kResultsVersion}}).dump() + "\n");
    return;
  }
  json record;
  if (fs::exists(file)) {
    try {
      record = json::parse(read_file(file));
    } catch (const json::exception& e) {
      fail("{}: corrupt JSON ({})", file.string(), e.what());
    }
  }
  const int version = recorded_results_version(record);
  if (version != kResultsVersion) {
    fail("{} was made under results version {} and this collapse produces version {} (the same "
         "seed gives other results): resuming would mix the two; run into another {} or delete "
         "{} to start over",
         run.string(), version, kResultsVersion, names("out"), run.string());
  }
}

void write_or_check_config(const ExperimentConfig& config, const fs::path& run,
                           const SettingNames& names) {
  write_or_check_results_version(run, names);
  const fs::path file = run / "experiment.toml";
  if (fs::exists(file)) {
    const ExperimentConfig before = parse_experiment(read_file(file), file);
    const json a = config_identity(before), b = config_identity(config);
    if (a != b) {
      // A run that failed before any generation finished (a bad key found late) has nothing to
      // lose: the message says how to start over with the corrected config.
      const bool anything_finished = [&] {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(run, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
          if (it->path().filename() == "DONE" && it->path().parent_path().filename().string().rfind("gen-", 0) == 0) {
            return true;
          }
        }
        return false;
      }();
      fail("{} was run with another config ({}); {}", file.string(), json_differences(a, b),
           anything_finished
               ? fmt::format("restore it, or run into another {}", names("out"))
               : fmt::format("no generation of {} has finished, so nothing is lost by removing it to start over "
                             "(or run into another {})",
                             run.string(), names("out")));
    }
    // Only [report] may differ: the report of this run follows the config given now.
    if (resolved_toml(before) != resolved_toml(config)) write_file_atomic(file, resolved_toml(config));
    return;
  }
  write_file_atomic(file, resolved_toml(config));
}

// Inputs the arms read only later (a prompt file at generation 0's sampling) are checked before
// any work, so that a typo costs seconds, not a trained generation 0.
void check_arm_inputs(const ExperimentConfig& config) {
  for (const auto& arm : config.arms) {
    const auto prompt = PromptSpec::read(arm.settings.generate.prompt);
    if (prompt && prompt->kind == PromptSpec::Kind::file) {
      const std::string where = config.file.string() + (config.explicit_arms ? fmt::format(": arm '{}'", arm.name) : "");
      require_regular_file(prompt->path, where + ": [generate] prompt");
    }
  }
}

Dataset prepare_data(const ExperimentConfig& config, const fs::path& run, const SettingNames& names) {
  const CorpusSettings& corpus = config.arms.front().settings.corpus;
  for (const auto& arm : config.arms) {
    if (!(arm.settings.corpus == corpus)) {
      fail("{}: arm '{}' changes [corpus]; every arm of an experiment shares one dataset",
           config.file.string(), arm.name);
    }
  }
  FileLock lock(run / ".lock-data");
  PrepareOptions p;
  // The dataset's settings are the [corpus] keys; its folder lies in the run folder, --out.
  p.names = [&](const std::string& key) {
    if (key == "out") return names("out");
    return fmt::format("{}: [corpus] {}", config.file.string(), key == "corpus" ? "source" : key);
  };
  p.corpus = corpus.source;
  p.out = run / "data";
  p.tokenizer = corpus.tokenizer;
  p.vocab_size = static_cast<int>(corpus.vocab_size);
  p.valid_fraction = corpus.valid_fraction;
  p.test_fraction = corpus.test_fraction;
  p.seed = corpus.split_seed;
  prepare_dataset(p);
  return Dataset(run / "data");
}

// Everything one (arm, seed) needs while it runs its generations.
struct ArmRun {
  const ExperimentConfig& config;
  const ArmConfig& arm;
  std::uint64_t seed;
  const fs::path& run;
  const Dataset& data;
  c10::Device device;
  RunEvents& events;

  const ExperimentSettings& s() const { return arm.settings; }
  fs::path gen(std::int64_t k) const { return generation_dir(run, arm.name, seed, k); }
  // "exp.toml: arm 'keep-10'" (the arm only where the file names arms).
  std::string where() const {
    return config.file.string() + (config.explicit_arms ? fmt::format(": arm '{}'", arm.name) : "");
  }
  // "exp.toml: arm 'keep-10': [generate] prompt": a setting as the user wrote it.
  std::string setting(const std::string& section, const std::string& key) const {
    return fmt::format("{}: [{}] {}", where(), section, key);
  }
  std::string tag(std::int64_t k) const {
    return fmt::format("[{} seed {} gen {}/{}]", arm.name, seed, k, s().generations - 1);
  }
};

// Token lengths of the curated synthetic documents of generation j, and their sample indices.
struct CuratedSamples {
  std::vector<std::int64_t> kept;     // indices into gen-j/samples
  std::vector<std::int64_t> lengths;  // their token counts
};

CuratedSamples read_curated(const ArmRun& r, std::int64_t j, const Samples& samples) {
  const json c = read_generation_json(r.gen(j) / "curated.json");
  CuratedSamples out;
  for (const auto& v : c.at("kept")) {
    const auto d = v.get<std::int64_t>();
    if (d < 0 || d >= static_cast<std::int64_t>(samples.documents.size())) {
      fail("{}: kept document {} is not in the samples", (r.gen(j) / "curated.json").string(), d);
    }
    out.kept.push_back(d);
    out.lengths.push_back(static_cast<std::int64_t>(samples.documents[static_cast<std::size_t>(d)].tokens.size()));
  }
  return out;
}

// Step 1: write gen-k/train.tok and train_set.json; returns the token file to train on, or
// nothing when generation 0 trains on the whole real train split.
std::optional<fs::path> build_training_set(const ArmRun& r, std::int64_t k) {
  const TokenFile real = r.data.split("train");
  std::vector<std::int64_t> real_lengths(static_cast<std::size_t>(real.documents()));
  for (std::int64_t d = 0; d < real.documents(); ++d) real_lengths[static_cast<std::size_t>(d)] = real.document_length(d);
  TrainSet set;
  std::vector<Samples> samples(static_cast<std::size_t>(k));
  std::vector<CuratedSamples> curated(static_cast<std::size_t>(k));
  if (k == 0) {
    set = generation0_training_set(r.s(), real_lengths, r.seed);
  } else {
    std::vector<std::vector<std::int64_t>> lengths;
    for (std::int64_t j = 0; j < k; ++j) {
      samples[static_cast<std::size_t>(j)] = read_samples(r.gen(j) / "samples");
      curated[static_cast<std::size_t>(j)] = read_curated(r, j, samples[static_cast<std::size_t>(j)]);
      lengths.push_back(curated[static_cast<std::size_t>(j)].lengths);
    }
    try {
      set = mix_training_set(r.s(), k, r.seed, real_lengths, lengths);
    } catch (const Error& e) {
      fail("{}: {}", r.where(), e.what());  // the mixer's message names its [mix] keys
    }
    // The mixer indexes the curated lists; record and use sample indices.
    for (auto& part : set.synthetic) {
      for (auto& d : part.documents) d = curated[static_cast<std::size_t>(part.generation)].kept[static_cast<std::size_t>(d)];
    }
  }
  json record = set.to_json();
  record["generation"] = k;
  record["regime"] = to_string(r.s().mix.regime);
  record["train_size"] = k == 0 ? "pool" : r.s().mix.train_size.to_string();
  write_file_atomic(r.gen(k) / "train_set.json", record.dump(1) + "\n");
  if (k == 0 && static_cast<std::int64_t>(set.real.size()) == real.documents()) return std::nullopt;

  std::vector<std::vector<std::int32_t>> docs;
  for (const std::int64_t d : set.real) docs.push_back(real.document(d));
  for (const auto& part : set.synthetic) {
    for (const std::int64_t d : part.documents) {
      docs.push_back(samples[static_cast<std::size_t>(part.generation)].documents[static_cast<std::size_t>(d)].tokens);
    }
  }
  if (docs.empty()) fail("{} generation {}: the training set is empty (check [mix])", r.arm.name, k);
  const fs::path file = r.gen(k) / "train.tok";
  write_token_file(file, docs, r.data.vocab_size());
  return file;
}

// The options generation k trains with (k = 0: the real train split alone).
TrainOptions training_options(const ArmRun& r, std::int64_t k, const std::optional<fs::path>& tokens) {
  const ExperimentSettings& s = r.s();
  TrainOptions o;
  o.data = r.data.dir();
  o.out = r.gen(k) / "model";
  o.preset = s.model.preset;
  o.model = s.model.resolve(r.data.vocab_size());
  if (k > 0 && s.train.init == TrainInit::gen0) o.init = r.gen(0) / "model";
  if (k > 0 && s.train.init == TrainInit::previous) o.init = r.gen(k - 1) / "model";
  if (!s.model.pretrained.empty() && (k == 0 || s.train.init == TrainInit::pretrained)) {
    o.init = s.model.pretrained;
  }
  o.context = s.model.pretrained.empty() ? 0 : s.model.context;  // the window, at most the model's
  o.train_tokens = tokens;
  if (k > 0) {  // generation 0 trains on real data only: nothing to weigh
    o.real_weight = s.train.real_weight;
    o.synthetic_weight = s.train.synthetic_weight;
    // train.tok holds the real documents first (build_training_set).
    o.real_documents = read_generation_json(r.gen(k) / "train_set.json").at("real").at("documents").get<std::int64_t>();
  }
  // gen0_steps fixes generation 0's length even when later generations train by epochs.
  const bool by_steps = s.train.epochs <= 0 || (k == 0 && s.train.gen0_steps > 0);
  o.steps = by_steps ? s.train.steps_for(k) : 0;
  o.epochs = by_steps ? 0.0 : s.train.epochs;
  o.batch_size = s.train.batch_size;
  o.lr = s.train.lr;
  o.warmup = s.train.warmup_steps;
  o.eval_every = s.train.eval_every;
  o.seed = phase_seed(r.seed, k, kTrainSeed);
  o.device = r.device.str();
  o.names = [&r](const std::string& key) { return r.setting("train", key); };
  return o;
}

// Trains with `o` into `out`, showing progress as `what` ("train", "oracle"); SIGKILLs itself
// halfway through at fault point `what`@k.
// Optimizer steps trained along the lineage before generation k (TensorBoard's step axis).
std::int64_t lineage_offset(const ArmRun& r, std::int64_t k) {
  std::int64_t steps = 0;
  for (std::int64_t j = 0; j < k; ++j) steps += logged_steps(r.gen(j) / "model" / "train_log.jsonl");
  return steps;
}

// The TensorBoard prefix and step offset of a training: generations along the lineage, the
// oracle on its own.
std::int64_t events_offset(const ArmRun& r, std::int64_t k, const std::string& what) {
  return what == "train" ? lineage_offset(r, k) : 0;
}

void train_with_progress(const ArmRun& r, std::int64_t k, TrainOptions o, const fs::path& out,
                         const std::string& what) {
  o.out = out;
  Progress progress(r.tag(k) + " " + what, 0, "steps");
  const std::int64_t offset = events_offset(r, k, what);
  train(o, [&](const StepReport& step) {
    progress.update(step.step, fmt::format("step {}/{} loss {:.3f}", step.step, step.total_steps, step.loss));
    r.events.step(what, offset, step);
    if (step.step * 2 >= step.total_steps) fault_point(what.c_str(), k);
  });
  progress.finish();
}

// A model trained on real data only (generation 0, the oracle verifier) is the same model in every
// arm whose options are the same: trained once per run folder (train_once.h), under RUN/shared/.
void train_shared(const ArmRun& r, std::int64_t k, const TrainOptions& o, const std::string& name,
                  const fs::path& out, const std::string& what) {
  json identity = o.to_json();
  identity["device"] = o.device;
  identity["results_version"] = kResultsVersion;  // never reuse a model another version trained
  identity["tokenizer"] = r.data.tokenizer_fingerprint();
  identity["train_documents"] = o.train_tokens ? sha256_file(*o.train_tokens) : std::string("the real train split");
  const std::string who = fmt::format("{} seed {}", r.arm.name, r.seed);
  const TrainOnceResult shared = train_once(r.run / "shared", name, identity, who, out, [&](const fs::path& dir) {
    train_with_progress(r, k, o, dir, what);
  });
  if (!shared.trained_here) {
    r.events.replay(what, events_offset(r, k, what), out / "train_log.jsonl");
    std::fprintf(stderr, "%s %s: the same %s model was trained by %s (%s), reused\n", r.tag(k).c_str(),
                 what.c_str(), name == "gen0" ? "generation-0" : name.c_str(), shared.trained_by.c_str(),
                 shared.shared.string().c_str());
  }
}

// Step 2.
void train_generation(const ArmRun& r, std::int64_t k, const std::optional<fs::path>& tokens) {
  const TrainOptions o = training_options(r, k, tokens);
  if (k > 0) {
    train_with_progress(r, k, o, r.gen(k) / "model", "train");
    return;
  }
  train_shared(r, k, o, "gen0", r.gen(0) / "model", "train");
}

// The oracle verifier of this seed ([curate] verifier = "oracle"): trained like generation 0 on
// the real train split, with its own seed stream, steps and preset; kept in SEED/oracle (shared
// across arms through RUN/shared like generation 0). Generation k asks for it first.
fs::path oracle_model(const ArmRun& r, std::int64_t k) {
  const fs::path dir = r.gen(0).parent_path() / "oracle";
  if (fs::exists(dir)) return dir;
  const CurateSettings& c = r.s().curate;
  TrainOptions o = training_options(r, 0, std::nullopt);
  o.seed = phase_seed(r.seed, 0, kOracleSeed);
  if (!c.oracle_preset.empty()) {
    o.preset = c.oracle_preset;
    ModelSettings shape;  // the preset alone: [model]'s shape overrides belong to the arm's models
    shape.preset = c.oracle_preset;
    shape.context = r.s().model.context;
    o.model = shape.resolve(r.data.vocab_size());
  }
  if (c.oracle_steps > 0) {
    o.steps = c.oracle_steps;
    o.epochs = 0.0;
  }
  o.names = [&r](const std::string& key) {
    return key == "steps" ? r.setting("curate", "oracle_steps") : r.setting("train", key);
  };
  // Trained into a partial folder and renamed: SEED/oracle exists only whole.
  const fs::path partial = r.gen(0).parent_path() / "oracle.partial";
  fs::remove_all(partial);
  train_shared(r, k, o, "oracle", partial, "oracle");
  fs::rename(partial, dir);
  return dir;
}

// Step 3.
Samples generate_generation(const ArmRun& r, std::int64_t k, GPT& model) {
  const ExperimentSettings& s = r.s();
  const PromptSet prompts = make_prompts(s.generate.prompt, r.data, r.setting("generate", "prompt"));
  GenerateOptions o;
  o.max_tokens = s.generate.max_tokens;
  o.min_tokens = s.generate.min_tokens;
  o.batch_size = s.generate.batch_size;
  o.seed = phase_seed(r.seed, k, kSampleSeed);
  o.sampler = s.sampler;
  o.decode = s.generate.decode;
  o.prompt_repeat = s.curate.best_of_k;
  o.special = r.data.tokenizer().special();
  o.vocab_size = r.data.tokenizer().vocab_size();
  o.context = s.model.context;
  o.names = [&r](const std::string& key) {
    const auto settings = sampler_settings();
    const bool sampler = std::any_of(settings.begin(), settings.end(),
                                     [&](const SamplerSetting& s) { return key == s.key; });
    return r.setting(sampler ? "sampler" : "generate", key);
  };
  const std::int64_t per_doc = s.curate.best_of_k;
  std::int64_t documents = 0;
  switch (s.generate.documents.kind) {
    case SizeSpec::Kind::documents: documents = s.generate.documents.count; break;
    case SizeSpec::Kind::same:
      documents = s.generate.unconditional() ? r.data.split("train").documents()
                                             : static_cast<std::int64_t>(prompts.prompts.size());
      break;
    case SizeSpec::Kind::tokens:
    case SizeSpec::Kind::all:
    case SizeSpec::Kind::pool: documents = 0; break;
  }
  Progress progress(r.tag(k) + " generate", documents > 0 ? documents * per_doc : 0, "docs");
  std::vector<GeneratedDocument> docs;
  std::int64_t tokens = 0;
  auto run_batch = [&](std::int64_t count) {
    o.first_document = static_cast<std::int64_t>(docs.size());
    o.documents = count;
    const std::int64_t before = tokens;
    auto more = generate(model, prompts.prompts, o, r.device, [&](std::int64_t done, std::int64_t t) {
      progress.update(o.first_document + done, fmt::format("{} tokens", before + t));
      if (done > 0) fault_point("generate", k);
    });
    for (auto& d : more) {
      tokens += static_cast<std::int64_t>(d.tokens.size());
      docs.push_back(std::move(d));
    }
  };
  if (documents > 0) {
    run_batch(documents * per_doc);
  } else {
    // "tokens:N": whole batches of documents until N tokens are written.
    const std::int64_t target = s.generate.documents.count;
    while (tokens < target) run_batch(std::max<std::int64_t>(o.batch_size, per_doc) / per_doc * per_doc);
  }
  progress.finish(fmt::format("{} documents, {} tokens", docs.size(), tokens));

  Samples out;
  out.prompts = prompts.prompts;
  for (const auto& d : docs) {
    SampleDocument sd{d.id, d.prompt_id, {}};
    if (s.generate.keep_prompt) sd.tokens = prompts.prompts[static_cast<std::size_t>(d.prompt_id)];
    sd.tokens.insert(sd.tokens.end(), d.tokens.begin(), d.tokens.end());
    out.documents.push_back(std::move(sd));
  }
  out.provenance = {{"created_by", "collapse run"},
                    {"experiment", r.config.name},
                    {"arm", r.arm.name},
                    {"seed", o.seed},
                    {"experiment_seed", r.seed},
                    {"generation", k},
                    {"model", (r.gen(k) / "model").string()},
                    {"tokenizer_fingerprint", r.data.tokenizer_fingerprint()},
                    {"sampler", s.sampler.to_json()},
                    {"prompt", s.generate.prompt},
                    {"prompts", prompts.prompts.size()},
                    {"max_tokens", o.max_tokens},
                    {"min_tokens", o.min_tokens},
                    {"keep_prompt", s.generate.keep_prompt},
                    {"best_of_k", per_doc},
                    {"device", r.device.str()},
                    {"decode", decode_mode_name(resolve_decode_mode(o, model->config(),
                                                                    prompts.prompts, r.device))},
                    {"generated_tokens", tokens}};
  write_samples(r.gen(k) / "samples", out, r.data.tokenizer());
  return out;
}

// Steps 4 and 5.
void score_and_curate(const ArmRun& r, std::int64_t k, GPT& model, GPT& gen0, const Samples& samples,
                      PhaseClock& clock) {
  const ExperimentSettings& s = r.s();
  const std::string tag = r.tag(k);
  Progress progress(tag + " score", 0, "steps");
  std::int64_t step = 0;
  progress.update(++step, "real test perplexity");
  const auto test_stream = document_stream(r.data.split("test"), r.data.tokenizer().bos_id(),
                                            r.data.tokenizer().eos_id());
  const EvalResult test = evaluate_stream(model, test_stream, r.device, 16, 0, {}, s.model.context);

  TokenCorpus synthetic;
  std::vector<std::string> texts;
  for (const auto& d : samples.documents) {
    synthetic.add(d.tokens);
    texts.push_back(r.data.tokenizer().decode(d.tokens));
  }
  const TokenCorpus real = TokenCorpus::from_file(r.data.split("test"));
  ScoreOptions options;
  if (!s.score.metrics.empty()) {  // test_perplexity is measured above, the rest by score_corpus
    std::vector<std::string> corpus_metrics;
    for (const std::string& name : s.score.metrics) {
      const MetricSource source = find_metric(name)->source;
      if (source == MetricSource::corpus || source == MetricSource::reference_model) {
        corpus_metrics.push_back(name);
      }
    }
    options.metrics = corpus_metrics;
  }
  options.self_bleu = {s.score.self_bleu_hypotheses, s.score.self_bleu_references,
                       phase_seed(r.seed, k, kBleuSeed)};
  options.device = r.device;
  options.context = s.model.context;
  ScoreResult scores;
  try {
    scores = score_corpus({synthetic, texts, real, &gen0, r.data.tokenizer().special()}, options,
                          [&](const std::string& what) {
                            progress.update(++step, what);
                            if (step > 2) fault_point("score", k);
                          });
  } catch (const Error& e) {
    fail("{}: generation {}: {}", r.where(), k, e.what());
  }
  if (!std::isfinite(test.perplexity())) {
    fail("{}: generation {}: the test perplexity came out {}, which is no result (the model's logits overflow)",
         r.where(), k, test.perplexity());
  }

  json metrics = {{"test_perplexity", test.perplexity()}};
  for (const auto& [name, value] : scores.metrics.items()) metrics[name] = value;
  // The training set's composition, recorded like the test perplexity whatever [score] lists.
  const json train_set = read_generation_json(r.gen(k) / "train_set.json");
  std::int64_t synthetic_tokens = 0;
  for (const json& part : train_set.at("synthetic")) synthetic_tokens += part.at("tokens").get<std::int64_t>();
  metrics["train_real_tokens"] = train_set.at("real").at("tokens").get<std::int64_t>();
  metrics["train_synthetic_tokens"] = synthetic_tokens;
  json sizes = scores.sizes;
  sizes["test_tokens"] = test.tokens;
  json record = {{"experiment", r.config.name}, {"arm", r.arm.name},  {"seed", r.seed},
                 {"generation", k},             {"metrics", metrics}, {"sizes", sizes}};
  if (scores.histograms.contains("synthetic_ppl")) {
    record["histograms"]["synthetic_ppl_under_gen0"] = scores.histograms["synthetic_ppl"];
  }
  record["rank_frequency"] = {{"frequencies", scores.rank_frequency}};
  if (k == 0) record["real_rank_frequency"] = {{"frequencies", rank_frequency(real)}};

  // Curation of this corpus, for the generations that train on it.
  clock.start("curate");
  std::vector<std::vector<std::int32_t>> docs;
  for (const auto& d : samples.documents) docs.push_back(d.tokens);
  const CurateSettings& c = s.curate;
  json verifier = {{"verifier", c.verifier}};
  std::vector<double> ppl;
  if (curation_needs_perplexities(c)) {
    // The verifier: the generation-0 model (whose perplexities scoring may have measured
    // already), the oracle, or a model folder.
    std::optional<LoadedModel> other;
    if (c.verifier_kind() == VerifierKind::oracle) {
      progress.update(++step, "oracle verifier");
      other = load_model(oracle_model(r, k), r.device);
      verifier["model"] = (r.gen(0).parent_path() / "oracle").string();
    } else if (!c.verifier_kind()) {
      other = load_model(c.verifier, r.device);
      check_model_fits_dataset(other->meta, r.data, r.setting("curate", "verifier") + " " + c.verifier);
      verifier["model"] = c.verifier;
    } else {
      verifier["model"] = (r.gen(0) / "model").string();
      if (scores.document_perplexities.size() == samples.documents.size()) ppl = scores.document_perplexities;
    }
    if (ppl.empty()) {
      progress.update(++step, "perplexity under the verifier");
      GPT& model = other ? other->model : gen0;
      const std::int64_t window = std::min(window_within(model->config(), 0, "the verifier's window"),
                                           s.model.window(model->config()));
      ppl = perplexities_of(document_perplexities(model, docs, r.data.tokenizer().bos_id(),
                                                  r.data.tokenizer().eos_id(), r.device, 8192, {}, window));
    }
  }
  json detector = nullptr;
  const DocumentWeights weigh = [&](const std::vector<std::int64_t>& kept) {
    progress.update(++step, "real-vs-synthetic detector");
    std::vector<std::vector<std::int32_t>> kept_docs;
    for (const std::int64_t d : kept) kept_docs.push_back(docs[static_cast<std::size_t>(d)]);
    RealSyntheticDetector fitted;
    try {
      fitted = fit_real_synthetic_detector(gen0, TokenCorpus::from_file(r.data.split("valid")), kept_docs,
                                           r.data.tokenizer().bos_id(), r.device, s.model.context,
                                           phase_seed(r.seed, k, kDetectorSeed));
    } catch (const Error& e) {
      fail("{} (real: windows of the valid split): {}; raise [corpus] valid_fraction or the documents "
           "generated",
           r.setting("curate", "resample = \"detector\""), e.what());
    }
    const std::vector<double> weights = importance_weights(fitted.fit.synthetic_logits, c.resample_clip);
    detector = to_json(fitted);
    detector["clip"] = c.resample_clip;
    detector["clipped"] = std::count(weights.begin(), weights.end(), c.resample_clip);
    metrics["detector_accuracy"] = fitted.fit.accuracy;
    return weights;
  };
  const CurationSeeds seeds{phase_seed(r.seed, k, kMinHashSeed), phase_seed(r.seed, k, kVerifierErrorSeed),
                            phase_seed(r.seed, k, kResampleSeed)};
  const Curated curated = curate(c, synthetic, ppl, seeds, weigh);
  record["metrics"] = metrics;
  record["curation"] = {{"kept", curated.kept.size()}, {"removed", curated.removed}};
  json curated_record = {{"kept", curated.kept}, {"removed", curated.removed}, {"documents", samples.documents.size()}};
  if (curation_needs_perplexities(c)) {
    curated_record["verifier"] = verifier;
    if (c.verifier_error > 0.0) {
      curated_record["verifier_error"] = c.verifier_error;
      curated_record["flipped"] = curated.flipped;
    }
  }
  if (!detector.is_null()) curated_record["detector"] = detector;
  write_file_atomic(r.gen(k) / "curated.json", curated_record.dump() + "\n");
  write_file_atomic(r.gen(k) / "metrics.json", record.dump(1) + "\n");
  progress.finish(fmt::format("test perplexity {:.2f}", test.perplexity()));
}

void run_generation(ArmRun& r, std::int64_t k) {
  const fs::path dir = r.gen(k);
  fs::remove_all(dir);  // an unfinished generation is redone from its start
  fs::create_directories(dir);
  PhaseClock clock;
  clock.start("training set");
  const auto tokens = build_training_set(r, k);
  clock.start("train");  // near zero where generation 0 is reused from RUN/shared/
  train_generation(r, k, tokens);
  clock.start("generate");
  LoadedModel model = load_model(dir / "model", r.device);
  LoadedModel gen0 = k == 0 ? model : load_model(r.gen(0) / "model", r.device);
  const Samples samples = generate_generation(r, k, model.model);
  clock.start("score");
  score_and_curate(r, k, model.model, gen0.model, samples, clock);
  clock.stop();
  // Measurements, not results: never compared across runs, and not part of the results version.
  json timings = clock.to_json();
  timings["device"] = r.device.str();
  write_file_atomic(dir / "timings.json", timings.dump(1) + "\n");
  r.events.metrics(k, read_generation_json(dir / "metrics.json").at("metrics"));
  write_file_atomic(dir / "DONE", "done\n");
  fault_point("done", k);
}

}  // namespace

fs::path default_run_dir(const ExperimentConfig& config) { return fs::path("runs") / config.name; }

PlanInputs plan_inputs(const ExperimentConfig& config, const fs::path& run, const SettingNames& names) {
  auto read = [](const Dataset& data) {
    PlanInputs in;
    const TokenFile train = data.split("train");
    in.real_train_documents = train.documents();
    in.real_train_tokens = train.tokens();
    for (std::int64_t d = 0; d < train.documents(); ++d) in.train_document_lengths.push_back(train.document_length(d));
    in.valid_tokens = data.split("valid").tokens();
    in.test_tokens = data.split("test").tokens();
    return in;
  };
  check_arm_inputs(config);
  std::error_code ec;
  if (fs::exists(run / "data" / "manifest.json", ec)) return read(prepare_data(config, run, names));
  const fs::path scratch = fs::temp_directory_path() / fmt::format("collapse-plan-{}", ::getpid());
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch);
  try {
    PlanInputs in = read(prepare_data(config, scratch, names));
    fs::remove_all(scratch, ec);
    return in;
  } catch (...) {
    fs::remove_all(scratch, ec);
    throw;
  }
}

RunSummary run_experiment(const ExperimentConfig& config, const RunOptions& options) {
  const fs::path run = normalize_dir(options.out);
  if (options.arm) config.arm(*options.arm);  // Error listing the arms when unknown
  check_arm_inputs(config);
  fs::create_directories(run);
  write_or_check_config(config, run, options.names);
  const Dataset data = prepare_data(config, run, options.names);
  // A verifier given as a model folder must score this dataset's tokens: checked before any work.
  for (const auto& arm : config.arms) {
    const CurateSettings& c = arm.settings.curate;
    if (c.verifier_kind() || !curation_needs_perplexities(c)) continue;
    const std::string where = config.file.string() + (config.explicit_arms ? fmt::format(": arm '{}'", arm.name) : "");
    check_model_fits_dataset(load_model(c.verifier, c10::Device(c10::kCPU)).meta, data,
                             fmt::format("{}: [curate] verifier {}", where, c.verifier));
  }

  std::vector<std::pair<const ArmConfig*, std::uint64_t>> work;
  for (const auto& arm : config.arms) {
    if (options.arm && arm.name != *options.arm) continue;
    for (const std::uint64_t seed : arm.settings.seeds) {
      if (!options.seed || seed == *options.seed) work.emplace_back(&arm, seed);
    }
  }
  if (work.empty()) {
    fail("{} {}: not among the seeds of the selected arms", options.names("seed"), options.seed.value_or(0));
  }

  RunSummary summary;
  std::int64_t total = 0, pending = 0;
  for (const auto& [arm, seed] : work) {
    for (std::int64_t k = 0; k < arm->settings.generations; ++k) {
      ++total;
      if (!generation_finished(generation_dir(run, arm->name, seed, k))) ++pending;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  std::int64_t position = 0;
  for (const auto& [arm, seed] : work) {
    // One process per (arm, seed): a second one would redo and overwrite the same generations.
    const FileLock writer(run / fmt::format(".lock-{}-seed-{}", arm->name, seed),
                          FileLock::NoWait{fmt::format("{} (arm '{}', seed {})", run.string(), arm->name, seed),
                                           fmt::format("wait for it to finish, or give another {} or {}",
                                                       options.names("arm"), options.names("seed"))});
    RunEvents events(run / "tensorboard" / arm->name / fmt::format("seed-{}", seed), resolved_toml(config),
                     config.base.report.tensorboard);
    ArmRun r{config, *arm, seed, run, data,
             resolve_device(arm->settings.device, fmt::format("{}: device", config.file.string())), events};
    for (std::int64_t k = 0; k < arm->settings.generations; ++k) {
      ++position;
      if (generation_finished(r.gen(k))) {
        ++summary.generations_reused;
        continue;
      }
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const std::string eta = summary.generations_done > 0
          ? format_duration(elapsed / static_cast<double>(summary.generations_done) *
                            static_cast<double>(pending - summary.generations_done))
          : std::string("unknown");
      std::fprintf(stderr, "%s generation %lld of %lld in this run (%lld to do, ETA %s)\n",
                   r.tag(k).c_str(), static_cast<long long>(position), static_cast<long long>(total),
                   static_cast<long long>(pending - summary.generations_done), eta.c_str());
      run_generation(r, k);
      ++summary.generations_done;
      write_metrics_tables(config, run);
    }
  }
  write_metrics_tables(config, run);
  return summary;
}

}  // namespace collapse
