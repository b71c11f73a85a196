// A prepared dataset: the folder `collapse prepare` writes and every later command reads.
//
//   DIR/tokenizer.model         SentencePiece model trained on the train split, or, with a given
//   (DIR/tokenizer.json +       tokenizer (PrepareOptions::tokenizer), a copy of its files
//    DIR/special_ids.json)      (Tokenizer::save; docs/tokenizers.md)
//   DIR/train.tok valid.tok test.tok   token files (token_store.h)
//   DIR/valid.jsonl test.jsonl  the raw text of those splits, one JSON object per document in
//                               split order (corpus order within a split): the document's
//                               metadata, "id" and "text"
//   DIR/manifest.json           written last: source, checksums, counts, tokenizer settings,
//                               split settings, seed
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "collapse/data/token_store.h"
#include "collapse/data/tokenizer.h"

namespace collapse {

inline constexpr int kDatasetFormatVersion = 1;

struct PrepareOptions {
  std::string corpus;  // built-in name or path (corpus.h)
  std::filesystem::path out;
  // A tokenizer to encode with (a Hugging Face model or tokenizer folder, a tokenizer file):
  // empty = train collapse's own SentencePiece model with vocab_size and model_type.
  std::string tokenizer;
  int vocab_size = 8192;
  std::string model_type = "bpe";
  double valid_fraction = 0.05;
  double test_fraction = 0.05;
  std::uint64_t seed = 0;
  int threads = 2;
  // How the caller names these settings in messages (the CLI: --out, --vocab-size, ...).
  SettingNames names = setting_key;
};

enum class PrepareOutcome { kCreated, kReused };

// Reads the corpus, splits it, trains the tokenizer (or copies the given one), encodes and
// writes the dataset. Everything is
// built in a temporary folder next to `out` and renamed into place at the end. If `out` already
// holds a dataset prepared from the same input with the same settings it is reused untouched;
// a different one is an Error listing the settings that differ. A non-empty folder that is not
// a dataset is an Error too.
PrepareOutcome prepare_dataset(const PrepareOptions& options);

class Dataset {
 public:
  // Opens DIR: checks manifest.json and loads the tokenizer; token files are checked when read.
  explicit Dataset(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const nlohmann::json& manifest() const { return manifest_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  std::int64_t vocab_size() const { return tokenizer_.vocab_size(); }
  // The tokenizer's identity (Tokenizer::fingerprint), as recorded in checkpoints.
  std::string tokenizer_fingerprint() const;
  // split: "train" | "valid" | "test"
  TokenFile split(const std::string& name) const;

 private:
  std::filesystem::path dir_;
  nlohmann::json manifest_;
  Tokenizer tokenizer_;
};

}  // namespace collapse
