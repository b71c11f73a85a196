// The experiment configs users run (experiments/*.toml, see experiments/README.md) and their CPU
// smoke variants (experiments/smoke/*.toml) and CPU-scale reproductions (experiments/cpu/*.toml).
// The folders are listed when the tests are listed,
// so a config added later is tested without touching this file:
//   - every config passes `collapse run --dry-run`, does no work, and its plan lists every arm;
//   - every paper config has a smoke variant with the same arms, regimes, init, prompt kind,
//     samplers and curation, only smaller (tiny model, CPU, one seed, a shorter-trained oracle);
//   - every smoke variant runs end to end: each arm finishes generations 0 and 1 and
//     metrics.csv holds their test perplexity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/experiment/experiment_config.h"
#include "collapse/util/atomic_file.h"
#include "support/test_support.h"

using collapse::read_file;
using collapse::tests::fresh_dir;
using collapse::tests::run_collapse;
namespace fs = std::filesystem;

namespace {

const fs::path kExperiments = fs::path(COLLAPSE_SOURCE_DIR) / "experiments";
const fs::path kSmoke = kExperiments / "smoke";
const fs::path kCpu = kExperiments / "cpu";

// Whether a config starts from a pretrained model folder ([model] pretrained), which the user
// supplies: such configs cannot run as shipped and have no smoke variant (a test below runs
// them with a model folder in place).
bool names_a_pretrained_model(const fs::path& file) {
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("pretrained =", 0) == 0) return true;
  }
  return false;
}

// The *.toml files directly in `dir` that run as shipped (no pretrained model), sorted by name;
// with `pretrained`, those that name a pretrained model instead.
std::vector<fs::path> toml_files(const fs::path& dir, bool pretrained = false) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml" &&
        names_a_pretrained_model(entry.path()) == pretrained) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// GoogleTest names allow letters, digits and '_' only: "sampling-sweep" -> "sampling_sweep".
std::string param_name(const testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// Lines of `text` that are exactly `[[arm]]` (after trimming): the arms the file declares, counted
// without the config parser.
std::size_t arm_tables(const std::string& text) {
  std::istringstream in(text);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t");
    const auto last = line.find_last_not_of(" \t\r");
    if (first != std::string::npos && line.substr(first, last - first + 1) == "[[arm]]") ++n;
  }
  return n;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// "real-prefix:64" -> "real-prefix", "file:/x" -> "file", "bos" -> "bos".
std::string prompt_kind(const std::string& prompt) { return prompt.substr(0, prompt.find(':')); }

// The flat settings (ExperimentSettings::to_json) whose key starts with `prefix`.
nlohmann::json keys_with_prefix(const nlohmann::json& flat, const std::string& prefix) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : flat.items()) {
    if (key.rfind(prefix, 0) == 0) out[key] = value;
  }
  return out;
}

class PaperConfigDryRun : public testing::TestWithParam<fs::path> {};
class SmokeVariant : public testing::TestWithParam<fs::path> {};
class CpuScaleConfig : public testing::TestWithParam<fs::path> {};

}  // namespace

TEST(PaperConfigs, EveryPaperConfigHasASmokeVariantAndEverySmokeVariantAPaperConfig) {
  const auto full = toml_files(kExperiments);
  const auto smoke = toml_files(kSmoke);
  ASSERT_FALSE(full.empty()) << "no configs in " << kExperiments;
  ASSERT_FALSE(smoke.empty()) << "no smoke variants in " << kSmoke;
  for (const char* name : {"shumailov2024", "gerstgrasser2024", "mad2023", "sampling-sweep"}) {
    EXPECT_TRUE(fs::exists(kExperiments / (std::string(name) + ".toml"))) << name;
  }
  for (const auto& f : full) {
    if (f.filename() == "quickstart.toml") continue;  // runs whole in `make run`
    EXPECT_TRUE(fs::exists(kSmoke / f.filename())) << f << " has no smoke variant in " << kSmoke;
  }
  for (const auto& s : smoke) {
    EXPECT_TRUE(fs::exists(kExperiments / s.filename())) << s << " is the smoke variant of no config";
  }
}

TEST_P(PaperConfigDryRun, PrintsThePlanWithEveryArmAndDoesNoWork) {
  const fs::path file = GetParam();
  const collapse::ExperimentConfig config = collapse::load_experiment(file);
  const std::size_t tables = arm_tables(read_file(file));
  EXPECT_EQ(config.arms.size(), std::max<std::size_t>(tables, 1)) << file;

  const fs::path out = fresh_dir("dry-run-" + file.stem().string()) / "run";
  const auto r = run_collapse({"run", file.string(), "--dry-run", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << file << ": " << r.err;
  EXPECT_NE(r.out.find("Work plan for experiment '" + config.name + "'"), std::string::npos) << r.out;
  for (const auto& arm : config.arms) {
    EXPECT_EQ(count_of(r.out, "\narm '" + arm.name + "':"), 1u)
        << file << ": the plan should list arm '" << arm.name << "' once\n" << r.out;
  }
  EXPECT_EQ(count_of(r.out, "\narm '"), config.arms.size()) << r.out;
  EXPECT_FALSE(fs::exists(out)) << "--dry-run does no work";
}

INSTANTIATE_TEST_SUITE_P(Experiments, PaperConfigDryRun, testing::ValuesIn(toml_files(kExperiments)),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Smoke, PaperConfigDryRun, testing::ValuesIn(toml_files(kSmoke)), param_name);

// `variant` (a smoke or CPU-scale config) keeps the design of the paper config `full`: its arms,
// samplers, curation (but the oracle's length), regimes, init, prompt kind and document sizing;
// only sizes differ. Returns the variant.
collapse::ExperimentConfig expect_same_design(const fs::path& variant_file, const fs::path& full_file) {
  const collapse::ExperimentConfig variant = collapse::load_experiment(variant_file);
  const collapse::ExperimentConfig full = collapse::load_experiment(full_file);
  EXPECT_EQ(variant.arms.size(), full.arms.size()) << variant_file;
  for (std::size_t i = 0; i < std::min(full.arms.size(), variant.arms.size()); ++i) {
    const auto& f = full.arms[i];
    const auto& s = variant.arms[i];
    SCOPED_TRACE(variant_file.string() + ", arm " + f.name);
    EXPECT_EQ(s.name, f.name);
    const nlohmann::json fj = f.to_json(), sj = s.to_json();
    EXPECT_EQ(keys_with_prefix(sj, "sampler."), keys_with_prefix(fj, "sampler."));
    // Curation as the paper config has it, except the oracle's training length: a size.
    nlohmann::json sc = keys_with_prefix(sj, "curate."), fc = keys_with_prefix(fj, "curate.");
    sc.erase("curate.oracle_steps");
    fc.erase("curate.oracle_steps");
    EXPECT_EQ(sc, fc);
    for (const char* key : {"mix.regime", "mix.real_fraction", "train.init", "generate.keep_prompt"}) {
      EXPECT_EQ(sj.at(key), fj.at(key)) << key;
    }
    // "all" or a count: a count of synthetic documents may shrink with the documents generated.
    EXPECT_EQ(s.settings.mix.synthetic.kind, f.settings.mix.synthetic.kind);
    EXPECT_EQ(s.settings.mix.fresh_documents > 0, f.settings.mix.fresh_documents > 0);
    EXPECT_EQ(s.settings.mix.train_size.kind, f.settings.mix.train_size.kind);
    EXPECT_EQ(prompt_kind(s.settings.generate.prompt), prompt_kind(f.settings.generate.prompt));
    EXPECT_EQ(s.settings.generate.documents.kind == collapse::SizeSpec::Kind::tokens,
              f.settings.generate.documents.kind == collapse::SizeSpec::Kind::tokens);
    EXPECT_EQ(s.settings.generate.min_tokens == s.settings.generate.max_tokens,
              f.settings.generate.min_tokens == f.settings.generate.max_tokens);
    EXPECT_EQ(s.settings.generate.min_tokens == 0, f.settings.generate.min_tokens == 0);
    EXPECT_EQ(s.settings.model.preset, "tiny");
    EXPECT_EQ(s.settings.device, "cpu");
  }
  return variant;
}

TEST_P(SmokeVariant, KeepsThePaperConfigsArmsRegimesInitPromptsAndSamplers) {
  const fs::path smoke_file = GetParam();
  const fs::path full_file = kExperiments / smoke_file.filename();
  ASSERT_TRUE(fs::exists(full_file)) << smoke_file << " is the smoke variant of no config";
  const collapse::ExperimentConfig smoke = expect_same_design(smoke_file, full_file);
  for (const auto& s : smoke.arms) {
    // Small enough for the tests: one seed, at least two generations.
    EXPECT_EQ(s.settings.seeds.size(), 1u) << s.name;
    EXPECT_GE(s.settings.generations, 2) << s.name;
  }
}

// The CPU-scale reproductions (experiments/cpu/, their measured results in experiments/README.md):
// the paper config's design at a size a 2-core CPU runs in under 30 minutes by the dry run's own
// estimate, with at least 3 seeds so that every table has a confidence interval.
TEST_P(CpuScaleConfig, KeepsThePaperConfigsDesignWithThreeSeedsAndFitsHalfAnHourOnTwoCores) {
  const fs::path file = GetParam();
  const fs::path full_file = kExperiments / file.filename();
  ASSERT_TRUE(fs::exists(full_file)) << file << " is the CPU-scale variant of no config";
  const collapse::ExperimentConfig cpu = expect_same_design(file, full_file);
  for (const auto& s : cpu.arms) {
    EXPECT_GE(s.settings.seeds.size(), 3u) << s.name;
    EXPECT_GE(s.settings.generations, 4) << s.name;
  }
  const auto r = run_collapse({"run", file.string(), "--dry-run", "--out",
                               (fresh_dir("cpu-estimate-" + file.stem().string()) / "run").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string marker = "time estimate (from measured throughput, this kind of device): about ";
  const auto at = r.out.find(marker);
  ASSERT_NE(at, std::string::npos) << r.out;
  std::istringstream estimate(r.out.substr(at + marker.size()));
  double value = 0;
  std::string unit;
  estimate >> value >> unit;  // "25.4 min", "49 s", "1.2 h"
  const double seconds = value * (unit == "min" ? 60 : unit == "h" ? 3600 : 1);
  EXPECT_LE(seconds, 30 * 60) << file << ": about " << value << " " << unit;
}

INSTANTIATE_TEST_SUITE_P(Cpu, CpuScaleConfig, testing::ValuesIn(toml_files(kCpu)), param_name);
INSTANTIATE_TEST_SUITE_P(Cpu, PaperConfigDryRun, testing::ValuesIn(toml_files(kCpu)), param_name);

TEST_P(SmokeVariant, RunsTwoGenerationsOfEveryArmOnTheCpu) {
  const fs::path file = GetParam();
  const collapse::ExperimentConfig config = collapse::load_experiment(file);
  const fs::path run = fresh_dir("smoke-" + file.stem().string()) / "run";
  const auto r = run_collapse({"run", file.string(), "--out", run.string(), "--no-report"});
  ASSERT_EQ(r.exit_code, 0) << file << ": " << r.err;

  // Tidy rows: experiment,arm,seed,generation,metric,value.
  const std::string csv = read_file(run / "metrics.csv");
  std::istringstream lines(csv);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
    rows.push_back(fields);
  }
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front(), (std::vector<std::string>{"experiment", "arm", "seed", "generation",
                                                    "metric", "value"}));

  for (const auto& arm : config.arms) {
    for (const std::uint64_t seed : arm.settings.seeds) {
      for (std::int64_t k = 0; k < std::max<std::int64_t>(2, arm.settings.generations); ++k) {
        const std::string where =
            arm.name + " seed " + std::to_string(seed) + " generation " + std::to_string(k);
        const fs::path gen =
            run / arm.name / ("seed-" + std::to_string(seed)) / ("gen-" + std::to_string(k));
        EXPECT_TRUE(fs::exists(gen / "DONE")) << file << ": " << gen;
        int found = 0;
        for (const auto& row : rows) {
          if (row.size() == 6 && row[0] == config.name && row[1] == arm.name &&
              row[2] == std::to_string(seed) && row[3] == std::to_string(k) &&
              row[4] == "test_perplexity") {
            ++found;
            const double ppl = std::stod(row[5]);
            EXPECT_TRUE(std::isfinite(ppl) && ppl > 1.0) << where << ": test_perplexity " << row[5];
          }
        }
        EXPECT_EQ(found, 1) << file << ": " << where << " should have one test_perplexity row\n"
                            << csv.substr(0, 600);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Smoke, SmokeVariant, testing::ValuesIn(toml_files(kSmoke)), param_name);

// A config that names a pretrained model runs once the user has put the model and the corpus
// where it says: here a tiny OPT that setup.hf_model_fixtures made and the tokenizer fixtures'
// corpus stand in for OPT-125m and wikitext-2.
TEST(PaperConfigs, PretrainedConfigsPlanTheirRunWithTheModelFolderInPlace) {
  const fs::path model = fs::path(COLLAPSE_TEST_WORK) / "hf-models" / "opt-pre-norm";
  if (!fs::exists(model / "config.json")) SKIP_WITHOUT_REFERENCE("no pretrained fixture (reference libraries missing)");
  const auto configs = toml_files(kExperiments, true);
  ASSERT_TRUE(std::find(configs.begin(), configs.end(), kExperiments / "shumailov2024-pretrained.toml") != configs.end());
  for (const fs::path& file : configs) {
    const fs::path root = fresh_dir("pretrained-config-" + file.stem().string());
    fs::create_directories(root / "experiments");
    fs::create_directories(root / "models");
    fs::create_directories(root / "data");
    fs::copy_file(file, root / "experiments" / file.filename());
    fs::create_directory_symlink(model, root / "models" / "opt-125m");
    fs::copy_file(fs::path(COLLAPSE_TEST_WORK) / "hf-tokenizers" / "corpus.jsonl", root / "data" / "wikitext-2.jsonl");
    const fs::path out = root / "run";
    const auto r = run_collapse({"run", (root / "experiments" / file.filename()).string(), "--dry-run", "--out", out.string()});
    ASSERT_EQ(r.exit_code, 0) << file << ": " << r.err;
    EXPECT_NE(r.out.find("pretrained"), std::string::npos) << r.out;
    for (const char* arm : {"real-0", "real-10"}) EXPECT_NE(r.out.find(arm), std::string::npos) << file << " " << arm;
    EXPECT_FALSE(fs::exists(out)) << "--dry-run does no work";
  }
}
