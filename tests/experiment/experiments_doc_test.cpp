// docs/experiments.md is a specification the parser must meet: its key table is read here, and
//   - the keys it documents are exactly the keys the parser knows;
//   - each documented default parses and is the parser's default;
//   - each quoted value it lists as allowed is accepted, and the closed sets (train.init,
//     generate.decode, mix.regime, curate.dedup, model.preset) list exactly the names of their
//     tables;
//   - the metric names it lists for score.metrics are exactly the metric catalog, and a smoke
//     experiment asked for every one of them runs to the end and records each in metrics.csv.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "collapse/experiment/experiment_config.h"
#include "collapse/experiment/run_results.h"
#include "collapse/score/metric_catalog.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;

namespace {

const fs::path kDocs = fs::path(COLLAPSE_SOURCE_DIR) / "docs" / "experiments.md";

struct DocRow {
  std::vector<std::string> keys;  // dotted keys ("model.n_layer", "model.n_head", ...)
  std::string default_value;      // the TOML value in the default column, "" for (required)
  std::string allowed;            // the allowed column as written
};

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {  // line[0] is the leading '|'
    if (line[i] == '|') {
      const auto a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      out.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return out;
}

// The text of every `code span` of `text`, in order.
std::vector<std::string> code_spans(const std::string& text) {
  std::vector<std::string> out;
  const std::regex span("`([^`]*)`");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), span); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// The rows of the table under "## Keys"; section rows ("**[corpus]**") are skipped.
std::vector<DocRow> documented_keys() {
  std::istringstream in(read_file(kDocs));
  std::vector<DocRow> rows;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line == "| key | default | allowed |") {
      in_table = true;
      continue;
    }
    if (!in_table || line.starts_with("|---")) continue;
    if (!line.starts_with("|")) break;
    const auto c = cells(line);
    if (c.size() != 3 || c[0].starts_with("**")) continue;
    DocRow row;
    std::string section;
    for (const std::string& key : code_spans(c[0])) {
      const auto dot = key.find('.');
      if (dot != std::string::npos) section = key.substr(0, dot + 1);
      row.keys.push_back(dot == std::string::npos && !section.empty() ? section + key : key);
    }
    const auto defaults = code_spans(c[1]);
    row.default_value = defaults.empty() ? "" : defaults.front();
    row.allowed = c[2];
    rows.push_back(std::move(row));
  }
  return rows;
}

// A config of `name = "doc"` and the given settings ({dotted key, TOML value}), as TOML.
std::string config_of(const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string top = "name = \"doc\"\n";
  std::map<std::string, std::string> sections;
  for (const auto& [key, value] : settings) {
    const auto dot = key.find('.');
    if (dot == std::string::npos) {
      top += key + " = " + value + "\n";
    } else {
      sections[key.substr(0, dot)] += key.substr(dot + 1) + " = " + value + "\n";
    }
  }
  for (const auto& [section, lines] : sections) top += "[" + section + "]\n" + lines;
  return top;
}

ExperimentConfig parse(const std::string& toml) { return parse_experiment(toml, "doc.toml"); }

// The quoted values listed as allowed ("replace", "tokens:N", ...), placeholders filled in.
std::vector<std::string> quoted_values(const std::string& allowed) {
  std::vector<std::string> out;
  for (const std::string& span : code_spans(allowed)) {
    if (span.size() < 2 || span.front() != '"' || span.back() != '"') continue;
    std::string v = span.substr(1, span.size() - 2);
    for (const auto& [placeholder, example] : std::map<std::string, std::string>{
             {":N", ":2"}, {":K", ":4"}, {":PATH", ":prompts.txt"}}) {
      if (v.ends_with(placeholder)) v = v.substr(0, v.size() - placeholder.size()) + example;
    }
    out.push_back(v);
  }
  return out;
}

template <typename E>
std::set<std::string> table_names(std::span<const Named<E>> table) {
  std::set<std::string> names;
  for (const auto& n : table) names.insert(n.name);
  return names;
}

// The metric names listed for score.metrics: `distinct_1`..`4` stands for distinct_1 .. distinct_4.
std::vector<std::string> documented_metrics(const std::vector<DocRow>& rows) {
  for (const DocRow& row : rows) {
    if (row.keys != std::vector<std::string>{"score.metrics"}) continue;
    std::vector<std::string> names;
    const std::regex name_or_range("`([a-z0-9_]+)`(\\.\\.`([0-9]+)`)?");
    for (auto it = std::sregex_iterator(row.allowed.begin(), row.allowed.end(), name_or_range);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1];
      if (!(*it)[3].matched) {
        names.push_back(name);
        continue;
      }
      const std::string stem = name.substr(0, name.rfind('_') + 1);
      for (int n = std::stoi(name.substr(stem.size())); n <= std::stoi((*it)[3]); ++n) {
        names.push_back(stem + std::to_string(n));
      }
    }
    return names;
  }
  return {};
}

}  // namespace

TEST(ExperimentsDoc, DocumentsExactlyTheKeysTheParserKnows) {
  std::set<std::string> documented, known;
  for (const DocRow& row : documented_keys()) {
    for (const std::string& key : row.keys) EXPECT_TRUE(documented.insert(key).second) << key << " twice";
  }
  for (const ConfigKey& key : experiment_config_keys()) known.insert(key.key);
  known.insert("name");
  for (const auto& key : known) EXPECT_TRUE(documented.count(key)) << key << " is not in " << kDocs;
  for (const auto& key : documented) EXPECT_TRUE(known.count(key)) << key << " is documented but unknown";
}

TEST(ExperimentsDoc, EveryDocumentedDefaultIsTheParsersDefault) {
  const nlohmann::json defaults = parse("name = \"doc\"\n").base.to_json();
  for (const DocRow& row : documented_keys()) {
    if (row.keys == std::vector<std::string>{"name"}) {
      EXPECT_EQ(row.default_value, "");  // "(required)"
      continue;
    }
    for (const std::string& key : row.keys) {
      SCOPED_TRACE(key + " = " + row.default_value);
      try {
        EXPECT_EQ(parse(config_of({{key, row.default_value}})).base.to_json(), defaults);
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
      }
    }
  }
}

TEST(ExperimentsDoc, EveryListedValueIsAccepted) {
  // A value may need companions to be valid on its own: a prompt of K tokens needs room in the
  // context, the fresh regime a number of fresh documents, the oracle verifier a step that uses
  // it, "pretrained" a pretrained model folder
  // (one that setup.hf_model_fixtures made, with 64 positions).
  const fs::path model = fs::path(COLLAPSE_TEST_WORK) / "hf-models" / "gpt2-tied";
  const std::string pretrained = "\"" + model.string() + "\"";
  using Settings = std::vector<std::pair<std::string, std::string>>;
  const std::map<std::pair<std::string, std::string>, Settings> companions = {
      {{"generate.prompt", "real-prefix:4"}, {{"generate.max_tokens", "16"}}},
      {{"mix.regime", "fresh"}, {{"mix.fresh_documents", "1"}}},
      {{"curate.verifier", "oracle"}, {{"curate.keep_top", "0.5"}}},
      {{"curate.oracle_preset", "tiny"}, {{"curate.verifier", "\"oracle\""}, {"curate.keep_top", "0.5"}}},
      {{"curate.oracle_preset", "small"}, {{"curate.verifier", "\"oracle\""}, {"curate.keep_top", "0.5"}}},
      {{"curate.oracle_preset", "base"}, {{"curate.verifier", "\"oracle\""}, {"curate.keep_top", "0.5"}}},
      {{"train.init", "pretrained"}, {{"model.pretrained", pretrained}, {"generate.max_tokens", "16"}}},
      {{"corpus.tokenizer", "pretrained"},
       {{"model.pretrained", pretrained}, {"train.init", "\"pretrained\""}, {"generate.max_tokens", "16"}}}};
  std::int64_t checked = 0;
  for (const DocRow& row : documented_keys()) {
    for (const std::string& key : row.keys) {
      for (const std::string& value : quoted_values(row.allowed)) {
        Settings settings{{key, "\"" + value + "\""}};
        if (const auto it = companions.find({key, value}); it != companions.end()) {
          if (value == "pretrained" && !fs::exists(model / "config.json")) continue;  // no reference libraries
          settings.insert(settings.end(), it->second.begin(), it->second.end());
        }
        const std::string toml = config_of(settings);
        SCOPED_TRACE(toml);
        try {
          parse(toml);
          ++checked;
        } catch (const Error& e) {
          ADD_FAILURE() << e.what();
        }
      }
    }
  }
  EXPECT_GE(checked, 20);  // the table lists that many quoted values; fewer means it was misread
}

TEST(ExperimentsDoc, ClosedSetsListExactlyTheirTables) {
  std::map<std::string, std::set<std::string>> listed;
  for (const DocRow& row : documented_keys()) {
    for (const std::string& key : row.keys) {
      for (const std::string& value : quoted_values(row.allowed)) listed[key].insert(value);
    }
  }
  EXPECT_EQ(listed["train.init"], table_names(train_inits()));
  EXPECT_EQ(listed["generate.decode"], table_names(decode_modes()));
  EXPECT_EQ(listed["mix.regime"], table_names(mix_regimes()));
  EXPECT_EQ(listed["curate.dedup"], table_names(dedup_modes()));
  EXPECT_EQ(listed["curate.resample"], table_names(resample_modes()));
  EXPECT_EQ(listed["curate.verifier"], table_names(verifier_kinds()));
  const auto presets = ModelConfig::preset_names();
  EXPECT_EQ(listed["model.preset"], std::set<std::string>(presets.begin(), presets.end()));
}

TEST(ExperimentsDoc, ListsExactlyTheMetricCatalog) {
  const auto names = documented_metrics(documented_keys());
  std::set<std::string> documented(names.begin(), names.end()), catalog;
  for (const MetricInfo& m : metric_catalog()) catalog.insert(m.name);
  EXPECT_EQ(documented, catalog);
  EXPECT_EQ(names.size(), documented.size()) << "a metric is listed twice";
}

// The smoke variant of Gerstgrasser et al. asked for every documented metric, test_perplexity
// included: it runs to the end and metrics.csv has every one for every finished generation.
TEST(ExperimentsDoc, ASmokeRunRecordsEveryDocumentedMetric) {
  const auto names = documented_metrics(documented_keys());
  ASSERT_FALSE(names.empty());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "\"" : ", \"") + n + "\"";
  std::string toml = read_file(fs::path(COLLAPSE_SOURCE_DIR) / "experiments/smoke/gerstgrasser2024.toml");
  const auto score = toml.find("[score]\n");
  ASSERT_NE(score, std::string::npos);
  toml.insert(score + 8, "metrics = [" + list + "]\n");
  toml.insert(score, "[curate]\nresample = \"detector\"\n\n");  // measures detector_accuracy
  const fs::path dir = tests::fresh_dir("doc-metrics");
  tests::write_text(dir / "exp.toml", toml);
  const auto r = tests::run_collapse({"run", (dir / "exp.toml").string(), "--out", (dir / "run").string(), "--no-report"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const RunResults run = load_run(dir / "run");
  ASSERT_EQ(run.finished.size(), 4u);  // 2 arms x generations 0 and 1
  for (const FinishedGeneration& g : run.finished) {
    for (const std::string& name : names) {
      const auto values = run.values(g.arm, g.generation, name);
      ASSERT_EQ(values.size(), 1u) << name << " of " << g.arm << " gen " << g.generation;
      EXPECT_TRUE(std::isfinite(values.front())) << name;
    }
  }
}
