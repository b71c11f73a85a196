#include "collapse/data/corpus.h"

#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;

Corpus load_corpus(const std::string& spec) {
  if (spec.empty()) fail("--corpus is empty: name a built-in corpus (sotu, moby-dick) or a path");
  if (is_builtin_corpus(spec)) return load_builtin_corpus(spec);

  const fs::path path(spec);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fail("corpus not found: {} (built-in corpora: sotu, moby-dick; or a .txt file, a .jsonl file "
         "or a folder of .txt files)",
         spec);
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
