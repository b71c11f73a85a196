#include "collapse/generate/samples_file.h"

#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "collapse/data/token_store.h"
#include "collapse/data/tokenizer.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/results_version.h"

namespace collapse {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "collapse-samples";
constexpr int kExcerptDocuments = 20;

bool is_samples_dir(const fs::path& dir) { return fs::exists(dir / "provenance.json"); }

std::string excerpt(const Samples& samples, const Tokenizer& tokenizer) {
  std::ostringstream out;
  const std::size_t n = std::min<std::size_t>(samples.documents.size(), kExcerptDocuments);
  out << "# " << n << " of " << samples.documents.size() << " documents";
  if (samples.provenance.contains("sampler")) out << "; sampler " << samples.provenance["sampler"].dump();
  out << "\n";
  for (std::size_t i = 0; i < n; ++i) {
    const SampleDocument& d = samples.documents[i];
    out << "\n=== document " << d.id << " (prompt " << d.prompt_id << ", " << d.tokens.size()
        << " tokens) ===\n";
    const auto& prompt = samples.prompts[static_cast<std::size_t>(d.prompt_id)];
    if (!prompt.empty()) out << "[prompt] " << tokenizer.decode(prompt) << "\n[text]   ";
    out << tokenizer.decode(d.tokens) << "\n";
  }
  return out.str();
}

nlohmann::json document_json(const SampleDocument& d, const std::vector<std::int32_t>& prompt,
                             const Tokenizer& tokenizer) {
  return {{"id", d.id},
          {"prompt_id", d.prompt_id},
          {"prompt_tokens", prompt},
          {"tokens", d.tokens},
          {"text", tokenizer.decode(d.tokens)}};
}

void write_jsonl(const fs::path& out, const Samples& samples, const Tokenizer& tokenizer) {
  std::string text;
  for (const SampleDocument& d : samples.documents) {
    // Byte-fallback tokens can decode to invalid UTF-8: replaced (U+FFFD) in "text", exact in "tokens".
    text += document_json(d, samples.prompts[static_cast<std::size_t>(d.prompt_id)], tokenizer)
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
  }
  write_file_atomic(out, text);
}

void check_dir_destination(const fs::path& out) {
  if (fs::exists(out) && (!fs::is_directory(out) || (!fs::is_empty(out) && !is_samples_dir(out)))) {
    fail("{} exists and is not a samples folder; refusing to replace it", out.string());
  }
}

void write_dir(const fs::path& out, const Samples& samples, const Tokenizer& tokenizer) {
  check_dir_destination(out);
  const fs::path tmp = temp_dir_for(out);
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    std::vector<std::vector<std::int32_t>> docs;
    docs.reserve(samples.documents.size());
    nlohmann::json prompt_ids = nlohmann::json::array();
    for (const SampleDocument& d : samples.documents) {
      docs.push_back(d.tokens);
      prompt_ids.push_back(d.prompt_id);
    }
    const std::int64_t vocab = tokenizer.vocab_size();
    write_token_file(tmp / "samples.tok", docs, vocab);
    write_token_file(tmp / "prompts.tok", samples.prompts, vocab);
    tokenizer.save(tmp);
    write_file_atomic(tmp / "samples.txt", excerpt(samples, tokenizer));
    nlohmann::json provenance = samples.provenance;
    provenance["format"] = kFormat;
    provenance["version"] = kSamplesFormatVersion;
    provenance["results_version"] = kResultsVersion;
    provenance["documents"] = samples.documents.size();
    provenance["prompt_ids"] = std::move(prompt_ids);
    write_file_atomic(tmp / "provenance.json", provenance.dump(1) + "\n");
    replace_dir(tmp, out);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
}

std::vector<std::vector<std::int32_t>> all_documents(const TokenFile& file) {
  std::vector<std::vector<std::int32_t>> docs(static_cast<std::size_t>(file.documents()));
  for (std::int64_t d = 0; d < file.documents(); ++d) docs[static_cast<std::size_t>(d)] = file.document(d);
  return docs;
}

Samples read_dir(const fs::path& dir) {
  Samples s;
  const fs::path prov_path = dir / "provenance.json";
  if (!fs::exists(prov_path)) fail("{} is not a samples folder (no provenance.json)", dir.string());
  try {
    s.provenance = nlohmann::json::parse(read_file(prov_path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON ({})", prov_path.string(), e.what());
  }
  // Compared as JSON values: value("format", "") would throw the JSON library's type error for a
  // format that is not a string (found by fuzzing).
  const auto field = [&](const char* key) {
    return s.provenance.is_object() ? s.provenance.value(key, nlohmann::json()) : nlohmann::json();
  };
  if (field("format") != kFormat || field("version") != kSamplesFormatVersion) {
    fail("{}: not a version-{} collapse samples folder", prov_path.string(), kSamplesFormatVersion);
  }
  s.prompts = all_documents(TokenFile(dir / "prompts.tok"));
  const TokenFile docs(dir / "samples.tok");
  const auto& ids = s.provenance["prompt_ids"];
  if (!ids.is_array() || static_cast<std::int64_t>(ids.size()) != docs.documents()) {
    fail("{}: prompt_ids does not list the {} documents of samples.tok", prov_path.string(), docs.documents());
  }
  for (std::int64_t d = 0; d < docs.documents(); ++d) {
    const auto& pid = ids[static_cast<std::size_t>(d)];
    if (!pid.is_number_integer() || pid.get<std::int64_t>() < 0 ||
        pid.get<std::size_t>() >= s.prompts.size()) {
      fail("{}: prompt_ids[{}] is not a prompt of prompts.tok", prov_path.string(), d);
    }
    s.documents.push_back({d, pid.get<std::int64_t>(), docs.document(d)});
  }
  return s;
}

std::vector<std::int32_t> token_list(const nlohmann::json& j, const char* key, const fs::path& path,
                                     std::int64_t line) {
  if (!j.contains(key) || !j[key].is_array()) fail("{}:{}: \"{}\" must be a list of token ids", path.string(), line, key);
  std::vector<std::int32_t> out;
  for (const auto& v : j[key]) {
    // An id past int32 would wrap into another id (or a negative one): refused like a negative.
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
        v.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      fail("{}:{}: \"{}\" holds {}, not a token id", path.string(), line, key, v.dump());
    }
    out.push_back(v.get<std::int32_t>());
  }
  return out;
}

Samples read_jsonl(const fs::path& path) {
  Samples s;
  std::map<std::int64_t, std::vector<std::int32_t>> prompts;
  for_each_json_line(path, [&](const nlohmann::json& j, std::int64_t line) {
    for (const char* key : {"id", "prompt_id"}) {
      if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<std::int64_t>() < 0) {
        fail("{}:{}: \"{}\" must be a non-negative integer", path.string(), line, key);
      }
    }
    const std::int64_t pid = j["prompt_id"].get<std::int64_t>();
    auto prompt = token_list(j, "prompt_tokens", path, line);
    const auto [it, added] = prompts.emplace(pid, prompt);
    if (!added && it->second != prompt) {
      fail("{}:{}: prompt {} has different prompt_tokens than before", path.string(), line, pid);
    }
    s.documents.push_back({j["id"].get<std::int64_t>(), pid, token_list(j, "tokens", path, line)});
  });
  if (s.documents.empty()) fail("{}: no documents", path.string());
  // Prompt ids become dense indices into s.prompts, in id order.
  std::map<std::int64_t, std::int64_t> dense;
  for (auto& [pid, tokens] : prompts) {
    dense[pid] = static_cast<std::int64_t>(s.prompts.size());
    s.prompts.push_back(std::move(tokens));
  }
  for (auto& d : s.documents) d.prompt_id = dense[d.prompt_id];
  return s;
}

}  // namespace

void for_each_json_line(const fs::path& path,
                         const std::function<void(const nlohmann::json&, std::int64_t)>& fn) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("file not found or unreadable: {}", path.string());
  std::string line;
  std::int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      fail("{}:{}: not valid JSON", path.string(), number);
    }
    if (!j.is_object()) fail("{}:{}: expected a JSON object", path.string(), number);
    fn(j, number);
  }
}

bool is_jsonl_path(const fs::path& path) { return path.extension() == ".jsonl"; }

void check_samples_destination(const fs::path& out) {
  if (is_jsonl_path(out)) {
    if (fs::is_directory(out)) fail("{} is a folder, not a .jsonl file", out.string());
    return;
  }
  check_dir_destination(normalize_dir(out));
}

void write_samples(const fs::path& out, const Samples& samples, const Tokenizer& tokenizer) {
  for (const SampleDocument& d : samples.documents) {
    if (d.prompt_id < 0 || static_cast<std::size_t>(d.prompt_id) >= samples.prompts.size()) {
      fail("document {} names prompt {}, but there are {} prompts", d.id, d.prompt_id, samples.prompts.size());
    }
  }
  if (is_jsonl_path(out)) {
    write_jsonl(out, samples, tokenizer);
  } else {
    write_dir(normalize_dir(out), samples, tokenizer);
  }
}

Samples read_samples(const fs::path& path) {
  if (fs::is_directory(path)) return read_dir(path);
  if (!fs::exists(path)) fail("samples not found: {}", path.string());
  return read_jsonl(path);
}

void for_each_sample_json(const fs::path& path,
                          const std::function<void(const nlohmann::json&)>& emit) {
  if (fs::is_directory(path)) {
    const Samples s = read_dir(path);
    const Tokenizer tokenizer(path);
    for (const SampleDocument& d : s.documents) {
      emit(document_json(d, s.prompts[static_cast<std::size_t>(d.prompt_id)], tokenizer));
    }
    return;
  }
  if (!fs::exists(path)) fail("samples not found: {}", path.string());
  for_each_json_line(path, [&](const nlohmann::json& j, std::int64_t line) {
    for (const char* key : {"id", "prompt_id", "prompt_tokens", "tokens"}) {
      if (!j.contains(key)) fail("{}:{}: missing \"{}\"", path.string(), line, key);
    }
    emit(j);
  });
}

}  // namespace collapse
