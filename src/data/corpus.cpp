#include "collapse/data/corpus.h"

#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;

namespace {
// "sotu, moby-dick"
std::string builtin_names() {
  std::string out;
  for (const std::string& name : builtin_corpus_names()) out += (out.empty() ? "" : ", ") + name;
  return out;
}
}  // namespace

Corpus load_corpus(const std::string& spec, const std::string& what) {
  if (spec.empty()) fail("{} is empty: name a built-in corpus ({}) or a path", what, builtin_names());
  if (is_builtin_corpus(spec)) return load_builtin_corpus(spec);

  const fs::path path(spec);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fail("corpus not found: {} (built-in corpora: {}; or a .txt file, a .jsonl file or a folder of "
         ".txt files)",
         spec, builtin_names());
  }
  Corpus corpus;
  if (fs::is_directory(path, ec)) {
    corpus = read_txt_directory(path);
  } else if (path.extension() == ".txt") {
    corpus = read_txt_corpus(path);
  } else if (path.extension() == ".jsonl") {
    corpus = read_jsonl_corpus(path);
  } else {
    fail("corpus {}: unsupported file type '{}' (use .txt, .jsonl or a folder of .txt files)",
         spec, path.extension().string());
  }
  if (corpus.documents.empty()) fail("corpus {} is empty: it holds no non-blank document", spec);
  return corpus;
}

}  // namespace collapse
