// A tokenizer: text <-> token ids, with the special ids from the tokenizer's own files.
//
// Two kinds read through one interface:
//   sentencepiece   a SentencePiece model file: the one `collapse prepare` trains (special ids
//                   unk 0, bos 1, eos 2, pad 3) or a model folder's tokenizer.model (Llama 2,
//                   TinyLlama, Mistral, Gemma), with that file's own ids
//   tokenizer.json  the `tokenizers` library's format (GPT-2, OPT, Pythia, SmolLM2, Qwen2,
//                   Llama 3, converted SentencePiece models), read by tokenizer_json.h
// The special ids come from special_ids.h's files. encode() gives the ids of a text alone, never
// special tokens; collapse adds BOS and EOS around each document itself.
//
// Our trained tokenizer: BPE by default, byte fallback on (no <unk> in practice), identity
// normalisation and no whitespace folding (decode(encode(text)) == text for any UTF-8 text),
// digits split, "\n" a piece of its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collapse/data/special_ids.h"
#include "collapse/util/named.h"
#include "collapse/util/setting_names.h"

namespace collapse {

struct TokenizerOptions {
  int vocab_size = 8192;
  std::string model_type = "bpe";  // bpe | unigram
  bool byte_fallback = true;
  int threads = 2;
  // How the caller names these settings in messages (the CLI: --vocab-size).
  SettingNames names = setting_key;
};

enum class TokenizerKind { sentencepiece, tokenizer_json };
std::span<const Named<TokenizerKind>> tokenizer_kinds();

class Tokenizer {
 public:
  // collapse's own special ids for the SentencePiece models it trains.
  static constexpr SpecialIds kTrainedIds{.bos = 1, .eos = 2, .pad = 3, .unk = 0};

  // Trains on `texts` (documents; long ones are cut into pieces at whitespace for the trainer)
  // and writes the model to `model_path` atomically. Throws Error when the text cannot support the
  // vocabulary size, naming the largest size it can.
  static void train(const std::vector<std::string_view>& texts, const TokenizerOptions& options,
                    const std::filesystem::path& model_path);

  // Opens `path`: a SentencePiece model file, a tokenizer.json file, or a folder holding
  // tokenizer.json or tokenizer.model (a Hugging Face model or tokenizer folder, a dataset, a
  // samples folder). Special ids come from the files beside it (special_ids.h).
  explicit Tokenizer(const std::filesystem::path& path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // The ids of `text` alone; with add_special_tokens also what the tokenizer adds around a text
  // (a tokenizer.json's post-processor, e.g. Llama 3's <|begin_of_text|>; a SentencePiece model's
  // BOS), as Hugging Face's tokenizer(text) does.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // What encode(text, add_special_tokens = true) puts before and after the text's ids.
  std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> added_around() const;
  // Encodes many texts on `threads` threads; the result is independent of the thread count.
  std::vector<std::vector<std::int32_t>> encode_batch(const std::vector<std::string_view>& texts,
                                                      int threads) const;
  // The text of `ids`. Special tokens are kept as their text (a tokenizer.json's) or dropped
  // (SentencePiece control ids); with skip_special_tokens a tokenizer.json's are dropped too.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<std::string> id_to_piece(std::int32_t id) const;
  std::optional<std::int32_t> piece_to_id(std::string_view piece) const;
  // Ids run from 0 to vocab_size() - 1 (added tokens included).
  int vocab_size() const;
  TokenizerKind kind() const { return kind_; }

  // An identity: two tokenizers with the same fingerprint encode and decode identically and have
  // the same special ids. For a SentencePiece model, sha256 over every id's (piece, score, type)
  // (unlike the file's checksum it ignores trainer bookkeeping), plus the special ids where they
  // differ from the model's own; for a tokenizer.json, sha256 of the file and the special ids.
  std::string fingerprint() const;
  const SpecialIds& special() const { return special_; }
  int bos_id() const { return special_.bos; }
  int eos_id() const { return special_.eos; }
  int pad_id() const { return special_.pad; }
  int unk_id() const { return special_.unk; }

  // Writes the files that define this tokenizer into folder `dir` (tokenizer.model or
  // tokenizer.json, and special_ids.json where the ids are not the file's own), so that
  // Tokenizer(dir) is this tokenizer again.
  void save(const std::filesystem::path& dir) const;
  // The file the tokenizer was read from.
  const std::filesystem::path& file() const { return file_; }

  struct Backend;

 private:
  std::unique_ptr<Backend> backend_;
  TokenizerKind kind_;
  SpecialIds special_, own_;
  std::filesystem::path file_;
};

}  // namespace collapse
