#include "collapse/data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <array>
#include <thread>
#include <unordered_map>

#include "collapse/util/atomic_file.h"
#include "collapse/util/checksum.h"
#include "collapse/data/tokenizer_json.h"
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
      {"unk_id", std::to_string(kTrainedIds.unk)},
      {"bos_id", std::to_string(kTrainedIds.bos)},
      {"eos_id", std::to_string(kTrainedIds.eos)},
      {"pad_id", std::to_string(kTrainedIds.pad)},
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

namespace {

constexpr std::array<Named<TokenizerKind>, 2> kKinds{{
    {TokenizerKind::sentencepiece, "sentencepiece", "a SentencePiece model (tokenizer.model)"},
    {TokenizerKind::tokenizer_json, "tokenizer.json", "the tokenizers library's format (tokenizer.json)"},
}};

}  // namespace

std::span<const Named<TokenizerKind>> tokenizer_kinds() { return kKinds; }

// What each kind does; the Tokenizer adds the special ids, batching and saving.
struct Tokenizer::Backend {
  virtual ~Backend() = default;
  virtual std::vector<std::int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(std::span<const std::int32_t> ids, bool skip_special) const = 0;
  virtual std::optional<std::string> id_to_piece(std::int32_t id) const = 0;
  virtual std::optional<std::int32_t> piece_to_id(std::string_view piece) const = 0;
  virtual int vocab_size() const = 0;
  // What the tokenizer adds around a text (add_special_tokens), given the special ids.
  virtual std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> around(const SpecialIds& ids) const = 0;
  virtual std::string content_hash() const = 0;
};

namespace {

class SentencePieceBackend : public Tokenizer::Backend {
 public:
  explicit SentencePieceBackend(const fs::path& file) {
    const auto status = sp_.LoadFromSerializedProto(read_file(file));
    if (!status.ok()) fail("{}: not a SentencePiece model ({})", file.string(), status.message());
  }
  SpecialIds own() const {
    return {.bos = sp_.bos_id(), .eos = sp_.eos_id(), .pad = sp_.pad_id(), .unk = sp_.unk_id()};
  }
  std::vector<std::int32_t> encode(std::string_view text) const override {
    std::vector<int> ids;
    const auto status = sp_.Encode(text, &ids);
    if (!status.ok()) fail("tokenizer could not encode text: {}", status.message());
    return {ids.begin(), ids.end()};
  }
  std::string decode(std::span<const std::int32_t> ids, bool) const override {
    const std::vector<int> v(ids.begin(), ids.end());
    std::string text;
    const auto status = sp_.Decode(v, &text);
    if (!status.ok()) fail("tokenizer could not decode ids: {}", status.message());
    return text;
  }
  std::optional<std::string> id_to_piece(std::int32_t id) const override {
    if (id < 0 || id >= sp_.GetPieceSize()) return std::nullopt;
    return sp_.IdToPiece(id);
  }
  std::optional<std::int32_t> piece_to_id(std::string_view piece) const override {
    const int id = sp_.PieceToId(piece);
    // PieceToId answers unk for an unknown piece: only the unk piece itself maps there.
    if (id == sp_.unk_id() && sp_.IdToPiece(id) != piece) return std::nullopt;
    return id;
  }
  int vocab_size() const override { return sp_.GetPieceSize(); }
  std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> around(const SpecialIds& ids) const override {
    return {{ids.bos}, {}};
  }
  std::string content_hash() const override {
    Sha256 h;
    for (int id = 0; id < sp_.GetPieceSize(); ++id) {
      const int type = sp_.IsControl(id) ? 1 : sp_.IsUnknown(id) ? 2 : sp_.IsByte(id) ? 3 : sp_.IsUnused(id) ? 4 : 0;
      h.update(fmt::format("{}\t{:.9g}\t{}\n", sp_.IdToPiece(id), sp_.GetScore(id), type));
    }
    return h.hex();
  }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

class TokenizerJsonBackend : public Tokenizer::Backend {
 public:
  explicit TokenizerJsonBackend(const fs::path& file) : bytes_(read_file(file)), json_(bytes_, file.string()) {}
  std::vector<std::int32_t> encode(std::string_view text) const override { return json_.encode(text); }
  std::string decode(std::span<const std::int32_t> ids, bool skip_special) const override {
    return json_.decode(ids, skip_special);
  }
  std::optional<std::string> id_to_piece(std::int32_t id) const override { return json_.id_to_piece(id); }
  std::optional<std::int32_t> piece_to_id(std::string_view piece) const override { return json_.piece_to_id(piece); }
  int vocab_size() const override { return json_.vocab_size(); }
  std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> around(const SpecialIds&) const override {
    return json_.special_tokens_around();
  }
  std::string content_hash() const override { return sha256_hex(bytes_); }

 private:
  std::string bytes_;  // before json_, which is read from it
  TokenizerJson json_;
};

// The tokenizer file `path` names: itself, or the tokenizer.json / tokenizer.model of a folder.
fs::path tokenizer_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
      if (fs::is_regular_file(path / name, ec)) return path / name;
    }
    fail("{} holds no tokenizer (neither tokenizer.json nor tokenizer.model)", path.string());
  }
  if (!fs::exists(path, ec)) fail("file not found: {}", path.string());
  return path;
}

}  // namespace


Tokenizer::Tokenizer(const fs::path& path) : file_(tokenizer_file(path)) {
  if (file_.extension() == ".json") {
    kind_ = TokenizerKind::tokenizer_json;
    backend_ = std::make_unique<TokenizerJsonBackend>(file_);
  } else {
    kind_ = TokenizerKind::sentencepiece;
    auto sp = std::make_unique<SentencePieceBackend>(file_);
    own_ = sp->own();
    backend_ = std::move(sp);
  }
  special_ = read_special_ids(
      file_.parent_path(), [this](std::string_view piece) { return backend_->piece_to_id(piece); }, own_,
      backend_->vocab_size());
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

int Tokenizer::vocab_size() const { return backend_->vocab_size(); }

std::string Tokenizer::fingerprint() const {
  // A SentencePiece model with its own ids keeps the plain content hash, the identity datasets
  // and checkpoints made before other tokenizers existed carry.
  if (kind_ == TokenizerKind::sentencepiece && special_ == own_) return backend_->content_hash();
  Sha256 h;
  h.update(backend_->content_hash());
  h.update(fmt::format("\n{}\n", describe(special_)));
  return h.hex();
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (!add_special_tokens) return backend_->encode(text);
  const auto [before, after] = backend_->around(special_);
  std::vector<std::int32_t> ids = before;
  const auto body = backend_->encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), after.begin(), after.end());
  return ids;
}

std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> Tokenizer::added_around() const {
  return backend_->around(special_);
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

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
  return backend_->decode(ids, skip_special_tokens);
}

std::optional<std::string> Tokenizer::id_to_piece(std::int32_t id) const { return backend_->id_to_piece(id); }

std::optional<std::int32_t> Tokenizer::piece_to_id(std::string_view piece) const {
  return backend_->piece_to_id(piece);
}

void Tokenizer::save(const fs::path& dir) const {
  fs::create_directories(dir);
  // The standard name, whatever the source file was called: Tokenizer(dir) looks for it.
  write_file_atomic(dir / (kind_ == TokenizerKind::tokenizer_json ? "tokenizer.json" : "tokenizer.model"),
                    read_file(file_));
  if (kind_ == TokenizerKind::tokenizer_json || special_ != own_) write_special_ids(dir, special_);
}

}  // namespace collapse
