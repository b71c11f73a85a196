#include "collapse/data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "collapse/util/atomic_file.h"
#include "collapse/util/checksum.h"
#include "collapse/util/error.h"

// Exported by libsentencepiece but not declared in its public headers (0.1.97): silences the
// trainer's INFO log, which would otherwise print thousands of lines per `prepare`.
namespace sentencepiece::logging {
void SetMinLogLevel(int level);
}

namespace collapse {
namespace fs = std::filesystem;

namespace {

// The trainer reads "sentences" of bounded length; documents are cut at newlines and then at
// the last space before kMaxPiece bytes (spaces are ASCII, so cuts never split a UTF-8 sequence).
constexpr std::size_t kMaxPiece = 2048;

std::vector<std::string> training_pieces(const std::vector<std::string_view>& texts) {
  std::vector<std::string> pieces;
  for (std::string_view text : texts) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      while (line.size() > kMaxPiece) {
        std::size_t cut = line.rfind(' ', kMaxPiece);
        if (cut == std::string_view::npos || cut == 0) cut = line.find(' ', kMaxPiece);
        if (cut == std::string_view::npos) break;
        pieces.emplace_back(line.substr(0, cut));
        line.remove_prefix(cut + 1);
      }
      if (!line.empty()) pieces.emplace_back(line);
      pos = end + 1;
    }
  }
  return pieces;
}

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& items) : items_(items) {}
  bool done() const override { return index_ >= items_.size(); }
  void Next() override { ++index_; }
  const std::string& value() const override { return items_[index_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& items_;
  std::size_t index_ = 0;
};

}  // namespace

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
};

void Tokenizer::train(const std::vector<std::string_view>& texts, const TokenizerOptions& options,
                      const fs::path& model_path) {
  if (options.model_type != "bpe" && options.model_type != "unigram") {
    fail("tokenizer model type must be bpe or unigram, got '{}'", options.model_type);
  }
  // Byte fallback needs the 256 byte pieces and the 4 special ids before any merge.
  const int min_vocab = options.byte_fallback ? 260 + 64 : 64;
  if (options.vocab_size < min_vocab) {
    fail("{} {} is too small: at least {} (256 byte pieces + special ids + characters)",
         options.names("vocab_size"), options.vocab_size, min_vocab);
  }
  const std::vector<std::string> pieces = training_pieces(texts);
  if (pieces.empty()) fail("no text to train the tokenizer on");

  const std::unordered_map<std::string, std::string> args = {
      {"model_type", options.model_type},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"byte_fallback", options.byte_fallback ? "true" : "false"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"split_digits", "true"},
      {"user_defined_symbols", "\n"},
      {"max_sentence_length", std::to_string(4 * kMaxPiece)},
      {"character_coverage", "0.9995"},
      {"unk_id", std::to_string(kUnkId)},
      {"bos_id", std::to_string(kBosId)},
      {"eos_id", std::to_string(kEosId)},
      {"pad_id", std::to_string(kPadId)},
      {"num_threads", std::to_string(std::max(1, options.threads))},
      {"hard_vocab_limit", "true"},
  };
  sentencepiece::logging::SetMinLogLevel(2);
  VectorIterator iterator(pieces);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &iterator, &model);
  if (!status.ok()) {
    fail("tokenizer training failed for {} {}: {} (a smaller corpus supports a smaller "
         "vocabulary)",
         options.names("vocab_size"), options.vocab_size, status.message());
  }
  // BPE stops early instead of failing when it runs out of merges: check the size we got.
  sentencepiece::SentencePieceProcessor check;
  if (!check.LoadFromSerializedProto(model).ok() ||
      check.GetPieceSize() != options.vocab_size) {
    fail("corpus too small for {} {}: the tokenizer could only learn {} pieces; choose a "
         "smaller vocabulary",
         options.names("vocab_size"), options.vocab_size, check.GetPieceSize());
  }
  write_file_atomic(model_path, model);
}

Tokenizer::Tokenizer(const fs::path& model_path)
    : impl_(std::make_unique<Impl>()), model_path_(model_path) {
  const std::string bytes = read_file(model_path);
  const auto status = impl_->sp.LoadFromSerializedProto(bytes);
  if (!status.ok()) fail("{}: not a SentencePiece model ({})", model_path.string(), status.message());
  if (impl_->sp.bos_id() != kBosId || impl_->sp.eos_id() != kEosId ||
      impl_->sp.pad_id() != kPadId) {
    fail("{}: tokenizer special ids are bos={} eos={} pad={}, collapse needs bos={} eos={} pad={}",
         model_path.string(), impl_->sp.bos_id(), impl_->sp.eos_id(), impl_->sp.pad_id(), kBosId,
         kEosId, kPadId);
  }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

int Tokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }

std::string Tokenizer::fingerprint() const {
  Sha256 h;
  for (int id = 0; id < impl_->sp.GetPieceSize(); ++id) {
    const int type = impl_->sp.IsControl(id) ? 1 : impl_->sp.IsUnknown(id) ? 2
                     : impl_->sp.IsByte(id)  ? 3 : impl_->sp.IsUnused(id) ? 4 : 0;
    h.update(fmt::format("{}\t{:.9g}\t{}\n", impl_->sp.IdToPiece(id), impl_->sp.GetScore(id), type));
  }
  return h.hex();
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = impl_->sp.Encode(text, &ids);
  if (!status.ok()) fail("tokenizer could not encode text: {}", status.message());
  return {ids.begin(), ids.end()};
}

std::vector<std::vector<std::int32_t>> Tokenizer::encode_batch(
    const std::vector<std::string_view>& texts, int threads) const {
  std::vector<std::vector<std::int32_t>> out(texts.size());
  // Capped: more threads than texts (or than any machine has cores) only cost thread creation.
  const std::size_t n_threads = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)),
                                                        1, std::min<std::size_t>(texts.size() + 1, 256));
  std::vector<std::thread> pool;
  std::vector<std::string> errors(n_threads);
  for (std::size_t t = 0; t < n_threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        for (std::size_t i = t; i < texts.size(); i += n_threads) out[i] = encode(texts[i]);
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& thread : pool) thread.join();
  for (const auto& e : errors) {
    if (!e.empty()) throw Error(e);
  }
  return out;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids) const {
  const std::vector<int> v(ids.begin(), ids.end());
  std::string text;
  const auto status = impl_->sp.Decode(v, &text);
  if (!status.ok()) fail("tokenizer could not decode ids: {}", status.message());
  return text;
}

}  // namespace collapse
