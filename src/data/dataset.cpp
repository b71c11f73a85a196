#include "collapse/data/dataset.h"


#include "collapse/data/corpus.h"
#include "collapse/data/split.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/checksum.h"
#include "collapse/util/error.h"
#include "collapse/util/json_diff.h"
#include "collapse/util/progress.h"
#include "collapse/util/results_version.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSplitNames[] = {"train", "valid", "test"};

// What was asked for: two prepares with the same request produce the same dataset.
json request_of(const PrepareOptions& o, const Corpus& corpus) {
  // A file given by another path (relative, via a link) is the same source.
  std::error_code ec;
  const std::string source = is_builtin_corpus(o.corpus)
                                 ? o.corpus
                                 : fs::weakly_canonical(fs::path(o.corpus), ec).string();
  json request = {{"format_version", kDatasetFormatVersion},
                  {"source", source},
                  {"source_checksum", corpus.checksum},
                  {"valid_fraction", o.valid_fraction},
                  {"test_fraction", o.test_fraction},
                  {"seed", o.seed}};
  if (o.tokenizer.empty()) {
    request["vocab_size"] = o.vocab_size;
    request["model_type"] = o.model_type;
  } else {
    // The tokenizer's identity, not its path: a moved copy of the same files is the same request.
    try {
      request["tokenizer_fingerprint"] = Tokenizer(o.tokenizer).fingerprint();
    } catch (const Error& e) {
      fail("{} {}: {}", o.names("tokenizer"), o.tokenizer, e.what());
    }
  }
  return request;
}

// The tokenizer of a dataset, the file its manifest names (older manifests: tokenizer.model).
fs::path tokenizer_file(const fs::path& dir, const json& manifest) {
  const json& t = manifest.value("tokenizer", json::object());
  return dir / (t.is_object() ? t.value("file", "tokenizer.model") : "tokenizer.model");
}

// The manifest's parts that readers look up, with their JSON types: a damaged or hand-edited
// manifest is one error naming the file and the key, not a JSON library's type error later.
void check_manifest_shape(const json& m, const fs::path& file) {
  auto bad = [&](const std::string& key, const char* type) {
    fail("{}: corrupt manifest: {} must be {}", file.string(), key, type);
  };
  if (!m.is_object()) bad("the whole file", "a JSON object");
  if (m.contains("format_version") && !m["format_version"].is_number_integer()) bad("format_version", "an integer");
  if (m.contains("request") && !m["request"].is_object()) bad("request", "an object");
  if (m.contains("tokenizer")) {
    const json& t = m["tokenizer"];
    if (!t.is_object()) bad("tokenizer", "an object");
    for (const char* key : {"file", "fingerprint", "sha256"}) {
      if (t.contains(key) && !t[key].is_string()) bad(fmt::format("tokenizer.{}", key), "a string");
    }
  }
  if (m.contains("splits")) {
    const json& splits = m["splits"];
    if (!splits.is_object()) bad("splits", "an object");
    for (const auto& [name, split] : splits.items()) {
      if (!split.is_object()) bad("splits." + name, "an object");
      if (split.contains("sha256") && !split["sha256"].is_string()) bad("splits." + name + ".sha256", "a string");
    }
  }
}

json read_manifest(const fs::path& file) {
  json m;
  try {
    m = json::parse(read_file(file));
  } catch (const json::exception& e) {
    fail("{}: corrupt manifest ({})", file.string(), e.what());
  }
  check_manifest_shape(m, file);
  return m;
}

// manifest.json's "tokenizer": the file, its checksum and fingerprint, the special ids, and how
// it was made (trained here, or copied from a given folder).
json tokenizer_section(const PrepareOptions& o, const Tokenizer& t, const fs::path& file) {
  json s = {{"file", file.filename().string()},
            {"sha256", sha256_file(file)},
            {"fingerprint", t.fingerprint()},
            {"library", name_of(tokenizer_kinds(), t.kind())},
            {"vocab_size", t.vocab_size()}};
  if (o.tokenizer.empty()) {
    s["model_type"] = o.model_type;
    s["byte_fallback"] = true;
    s["normalization"] = "identity";
    s["split_digits"] = true;
  } else {
    std::error_code ec;
    s["source"] = fs::weakly_canonical(fs::path(o.tokenizer), ec).string();
  }
  s["unk_id"] = t.unk_id();
  s["bos_id"] = t.bos_id();
  s["eos_id"] = t.eos_id();
  s["pad_id"] = t.pad_id();
  return s;
}

bool is_empty_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::directory_iterator(dir) == fs::directory_iterator();
}

}  // namespace

PrepareOutcome prepare_dataset(const PrepareOptions& options) {
  if (options.out.empty()) fail("{} is required", options.names("out"));
  const fs::path out = normalize_dir(options.out);
  Corpus corpus = load_corpus(options.corpus, options.names("corpus"));
  const json request = request_of(options, corpus);

  std::error_code ec;
  if (fs::exists(out / "manifest.json", ec)) {
    const json existing = read_manifest(out / "manifest.json");
    const int version = recorded_results_version(existing);
    if (version != kResultsVersion) {
      fail("{} was prepared under results version {} and this collapse produces version {}: "
           "delete it or choose another {} to prepare it again",
           out.string(), version, kResultsVersion, options.names("out"));
    }
    if (existing.value("request", json()) == request) return PrepareOutcome::kReused;
    fail("{} already holds a different dataset ({}); choose another {} or delete it",
         out.string(), json_differences(existing.value("request", json::object()), request),
         options.names("out"));
  }
  if (fs::exists(out, ec) && !is_empty_dir(out)) {
    fail("{} exists and is not a collapse dataset (no manifest.json); choose another {}",
         out.string(), options.names("out"));
  }

  const SplitIndices split = split_documents(static_cast<std::int64_t>(corpus.documents.size()),
                                             options.valid_fraction, options.test_fraction,
                                             options.seed, options.names);
  const std::vector<std::int64_t>* members[] = {&split.train, &split.valid, &split.test};

  // Everything is built beside `out` and renamed into place in one step at the end.
  const fs::path tmp = temp_dir_for(out);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    std::vector<std::string_view> train_texts;
    for (auto i : split.train) train_texts.emplace_back(corpus.documents[i].text);
    if (!options.tokenizer.empty()) {
      Tokenizer(options.tokenizer).save(tmp);
    } else {
      Progress p("tokenizer", 0, "");
      p.update(0, fmt::format("training {} vocab {} on {} documents", options.model_type,
                              options.vocab_size, train_texts.size()));
      Tokenizer::train(train_texts,
                       TokenizerOptions{.vocab_size = options.vocab_size,
                                        .model_type = options.model_type,
                                        .byte_fallback = true,
                                        .threads = options.threads,
                                        .names = options.names},
                       tmp / "tokenizer.model");
      p.finish("done");
    }
    const Tokenizer tokenizer(tmp);
    const std::string tokenizer_name = tokenizer.file().filename().string();

    json splits = json::object();
    for (int s = 0; s < 3; ++s) {
      const std::string name = kSplitNames[s];
      std::vector<std::string_view> texts;
      json ids = json::array();
      for (auto i : *members[s]) {
        texts.emplace_back(corpus.documents[i].text);
        ids.push_back(corpus.documents[i].id);
      }
      Progress p("encode " + name, static_cast<std::int64_t>(texts.size()), "docs");
      const auto encoded = tokenizer.encode_batch(texts, options.threads);
      std::int64_t n_tokens = 0;
      for (const auto& doc : encoded) n_tokens += static_cast<std::int64_t>(doc.size());
      write_token_file(tmp / (name + ".tok"), encoded, tokenizer.vocab_size());
      p.finish(fmt::format("{} tokens", n_tokens));

      if (name != "train") {  // raw text of the held-out splits, for tools that read text
        std::string lines;
        for (auto i : *members[s]) {
          json row = corpus.documents[i].meta.is_object() ? corpus.documents[i].meta : json::object();
          row["id"] = corpus.documents[i].id;
          row["text"] = corpus.documents[i].text;
          lines += row.dump() + "\n";
        }
        write_file_atomic(tmp / (name + ".jsonl"), lines);
      }
      splits[name] = {{"file", name + ".tok"},
                      {"documents", texts.size()},
                      {"tokens", n_tokens},
                      {"sha256", sha256_file(tmp / (name + ".tok"))},
                      {"document_ids", ids}};
    }

    const json manifest = {
        {"format_version", kDatasetFormatVersion},
        {"results_version", kResultsVersion},
        {"request", request},
        {"source",
         {{"spec", options.corpus},
          {"name", corpus.provenance.source},
          {"checksum", corpus.checksum},
          {"documents", corpus.documents.size()}}},
        {"split",
         {{"seed", options.seed},
          {"valid_fraction", options.valid_fraction},
          {"test_fraction", options.test_fraction},
          {"method", "seeded Fisher-Yates over documents (splitmix64), corpus order within a split"}}},
        {"tokenizer", tokenizer_section(options, tokenizer, tmp / tokenizer_name)},
        {"splits", splits}};
    write_file_atomic(tmp / "manifest.json", manifest.dump(2) + "\n");

    replace_dir(tmp, out);  // `out` is absent or an empty folder (checked above)
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return PrepareOutcome::kCreated;
}

Dataset::Dataset(const fs::path& dir) : dir_(dir), tokenizer_([&] {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fail("dataset not found: {} (`collapse prepare` makes one)", dir.string());
  }
  if (!fs::exists(dir / "manifest.json", ec)) {
    fail("{} is not a prepared dataset: manifest.json is missing (run `collapse prepare`)",
         dir.string());
  }
  return Tokenizer(tokenizer_file(dir, read_manifest(dir / "manifest.json")));
}()) {
  manifest_ = read_manifest(dir / "manifest.json");
  // Compared as a JSON value: value("format_version", 0) converts a float without checking its
  // range, undefined behaviour for 1e30.
  const nlohmann::json version = manifest_.value("format_version", nlohmann::json());
  if (version != kDatasetFormatVersion) {
    fail("{}: dataset format version {} is not supported (this build reads {})",
         (dir / "manifest.json").string(), version.dump(), kDatasetFormatVersion);
  }
  // What a dataset of this format always records, and its users read.
  const fs::path file = dir / "manifest.json";
  if (!manifest_.contains("tokenizer") || !manifest_["tokenizer"].contains("fingerprint")) {
    fail("{}: corrupt manifest: tokenizer.fingerprint is missing", file.string());
  }
  for (const char* split : {"train", "valid", "test"}) {
    if (!manifest_.contains("splits") || !manifest_["splits"].contains(split) ||
        !manifest_["splits"][split].contains("sha256")) {
      fail("{}: corrupt manifest: splits.{}.sha256 is missing", file.string(), split);
    }
  }
}

std::string Dataset::tokenizer_fingerprint() const {
  return manifest_.at("tokenizer").at("fingerprint").get<std::string>();
}

TokenFile Dataset::split(const std::string& name) const {
  if (name != "train" && name != "valid" && name != "test") {
    fail("unknown split '{}': use train, valid or test", name);
  }
  TokenFile file(dir_ / (name + ".tok"));
  if (file.vocab_size() != vocab_size()) {
    fail("{}: token file vocabulary {} does not match the tokenizer's {}", file.path().string(),
         file.vocab_size(), vocab_size());
  }
  return file;
}

}  // namespace collapse
