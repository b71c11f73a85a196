// The tokenizer: a SentencePiece model trained once on the real train split.
//
// Settings (written to manifest.json): BPE by default, byte fallback on (no <unk> in practice),
// identity normalisation and no whitespace folding (decode(encode(text)) == text for any UTF-8
// text), digits split, "\n" a piece of its own. Special ids: unk 0, bos 1, eos 2, pad 3.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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

class Tokenizer {
 public:
  static constexpr int kUnkId = 0, kBosId = 1, kEosId = 2, kPadId = 3;

  // Trains on `texts` (documents; long ones are cut into pieces at whitespace for the trainer)
  // and writes the model to `model_path` atomically. Throws Error when the text cannot support the
  // vocabulary size, naming the largest size it can.
  static void train(const std::vector<std::string_view>& texts, const TokenizerOptions& options,
                    const std::filesystem::path& model_path);

  explicit Tokenizer(const std::filesystem::path& model_path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  std::vector<std::int32_t> encode(std::string_view text) const;
  // Encodes many texts on `threads` threads; the result is independent of the thread count.
  std::vector<std::vector<std::int32_t>> encode_batch(const std::vector<std::string_view>& texts,
                                                      int threads) const;
  std::string decode(std::span<const std::int32_t> ids) const;

  int vocab_size() const;
  // sha256 over every id's (piece, score, type): two tokenizers with the same fingerprint encode
  // and decode identically. Unlike the model file's checksum it ignores trainer bookkeeping
  // (e.g. the thread count SentencePiece records), so it is the identity checkpoints carry.
  std::string fingerprint() const;
  int bos_id() const { return kBosId; }
  int eos_id() const { return kEosId; }
  int pad_id() const { return kPadId; }
  int unk_id() const { return kUnkId; }
  const std::filesystem::path& model_path() const { return model_path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::filesystem::path model_path_;
};

}  // namespace collapse
