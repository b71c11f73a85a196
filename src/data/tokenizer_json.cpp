#include "collapse/data/tokenizer_json.h"

#include <array>
#include <fstream>

#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/utf8.h"

namespace collapse {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::array<Named<PostProcessorKind>, 5> kPostProcessorKinds{{
    {PostProcessorKind::template_processing, "TemplateProcessing", "special tokens around the sequence, by template"},
    {PostProcessorKind::byte_level, "ByteLevel", "adds nothing (offsets only)"},
    {PostProcessorKind::roberta, "RobertaProcessing", "cls before and sep after the sequence"},
    {PostProcessorKind::bert, "BertProcessing", "cls before and sep after the sequence"},
    {PostProcessorKind::sequence, "Sequence", "several post-processors in turn"},
}};

enum class ModelKind { bpe };
constexpr std::array<Named<ModelKind>, 1> kModelKinds{{
    {ModelKind::bpe, "BPE", "byte-pair encoding with ranked merges"},
}};

std::int32_t token_id(const JsonPath& value) {
  const std::int64_t id = value.integer();
  if (id < 0 || id > kMaxTokenId) {
    value.fail(fmt::format("expected a token id from 0 to {}, got {}", kMaxTokenId, id));
  }
  return static_cast<std::int32_t>(id);
}

// ["token", id] as Roberta/Bert write cls and sep.
std::int32_t pair_id(const JsonPath& value) {
  const auto items = value.items();
  if (items.size() != 2) value.fail("expected [\"token\", id]");
  return token_id(items[1]);
}

std::unique_ptr<BpeModel> read_bpe(const JsonPath& model, const std::string& file) {
  // A file without "type" is told apart by its fields, as the reference's untagged reader does.
  const std::string type = model.find("type") ? model["type"].string() : (model.find("merges") ? "BPE" : "?");
  if (!find_named(std::span<const Named<ModelKind>>(kModelKinds), type)) {
    (model.find("type") ? model["type"] : model)
        .fail(fmt::format("model type '{}' is not supported (supported: {})", type,
                          names_of(std::span<const Named<ModelKind>>(kModelKinds))));
  }
  if (const auto dropout = model.find("dropout")) {
    if (!dropout->value().is_number() || dropout->value().get<double>() != 0.0) {
      dropout->fail(fmt::format("BPE dropout {} is not supported (tokenization would be random); "
                                "set it to null", dropout->value().dump()));
    }
  }
  Vocabulary vocab;
  const JsonPath v = model["vocab"];
  if (!v.value().is_object()) v.fail("expected an object of token -> id");
  vocab.reserve(v.value().size());
  for (const auto& [token, id] : v.value().items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > kMaxTokenId) {
      v.fail(fmt::format("the id of '{}' is {}, expected an integer from 0 to {}", token, id.dump(),
                         kMaxTokenId));
    }
    vocab.emplace(token, static_cast<std::int32_t>(id.get<std::int64_t>()));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (const JsonPath& m : model["merges"].items()) {
    if (m.value().is_string()) {  // the legacy "a b" spelling
      const std::string line = m.string();
      const auto space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        m.fail(fmt::format("expected \"left right\" with one space, got '{}'", line));
      }
      merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else {
      const auto parts = m.items();
      if (parts.size() != 2) m.fail("expected [\"left\", \"right\"]");
      merges.emplace_back(parts[0].string(), parts[1].string());
    }
  }
  BpeOptions options;
  if (const auto u = model.find("unk_token")) options.unk_token = u->string();
  if (const auto p = model.find("continuing_subword_prefix")) options.continuing_subword_prefix = p->string();
  if (const auto s = model.find("end_of_word_suffix")) options.end_of_word_suffix = s->string();
  options.fuse_unk = model.boolean_or("fuse_unk", false);
  options.byte_fallback = model.boolean_or("byte_fallback", false);
  options.ignore_merges = model.boolean_or("ignore_merges", false);
  return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(options), file);
}

}  // namespace

std::span<const Named<PostProcessorKind>> post_processor_kinds() { return kPostProcessorKinds; }

// What encode adds around the ids when asked for special tokens.
struct TokenizerJson::PostProcessor {
  std::vector<std::int32_t> before, after;
  bool after_template = false;

  // Each step of a Sequence wraps what the steps before it made: its tokens go outside theirs.
  void wrap(const std::vector<std::int32_t>& b, const std::vector<std::int32_t>& a) {
    before.insert(before.begin(), b.begin(), b.end());
    after.insert(after.end(), a.begin(), a.end());
  }

  // The tokenizers library mis-handles a step that adds tokens after a TemplateProcessing (it
  // repeats or panics), so no such file has reference ids to be equal to.
  void refuse_after_template(const JsonPath& spec) const {
    if (after_template) {
      spec["type"].fail("a post-processor that adds tokens after a TemplateProcessing is not supported");
    }
  }

  // Reads `spec` and adds its tokens to this one (a Sequence adds each step's in turn).
  void read(const JsonPath& spec) {
    const std::string type = spec["type"].string();
    const auto kind = find_named(post_processor_kinds(), type);
    if (!kind) {
      spec["type"].fail(fmt::format("post-processor '{}' is not supported (supported: {})", type,
                                    names_of(post_processor_kinds())));
    }
    switch (*kind) {
      case PostProcessorKind::byte_level: return;
      case PostProcessorKind::roberta:
      case PostProcessorKind::bert:
        refuse_after_template(spec);
        wrap({pair_id(spec["cls"])}, {pair_id(spec["sep"])});
        return;
      case PostProcessorKind::sequence:
        for (const JsonPath& step : spec["processors"].items()) read(step);
        return;
      case PostProcessorKind::template_processing: {
        refuse_after_template(spec);
        after_template = true;
        const JsonPath special = spec["special_tokens"];
        std::vector<std::int32_t> b, a;
        bool seen_sequence = false;
        for (const JsonPath& item : spec["single"].items()) {
          if (const auto s = item.find("SpecialToken")) {
            const std::string name = (*s)["id"].string();
            const auto entry = special.find(name);
            if (!entry) (*s)["id"].fail(fmt::format("'{}' is not in special_tokens", name));
            for (const JsonPath& id : (*entry)["ids"].items()) (seen_sequence ? a : b).push_back(token_id(id));
          } else if (item.find("Sequence")) {
            if (seen_sequence) item.fail("a single-sequence template holds the sequence once");
            seen_sequence = true;
          } else {
            item.fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
          }
        }
        wrap(b, a);
        return;
      }
    }
  }
};

TokenizerJson::TokenizerJson(const fs::path& file) : TokenizerJson(read_file(file), file.string()) {}

TokenizerJson::TokenizerJson(std::string_view text, const std::string& name)
    : post_processor_(std::make_unique<PostProcessor>()) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", name, e.what());
  }
  const JsonPath root(j, name);
  if (!j.is_object()) root.fail("expected a JSON object");
  if (const auto n = root.find("normalizer")) normalizer_ = read_normalizer(*n);
  if (const auto p = root.find("pre_tokenizer")) pre_tokenizer_ = read_pre_tokenizer(*p);
  model_ = read_bpe(root["model"], name);
  if (const auto d = root.find("decoder")) decoder_ = read_decoder(*d);
  if (const auto p = root.find("post_processor")) post_processor_->read(*p);
  if (const auto a = root.find("added_tokens")) added_ = AddedVocabulary(*a, normalizer_.get());
}

TokenizerJson::~TokenizerJson() = default;
TokenizerJson::TokenizerJson(TokenizerJson&&) noexcept = default;
TokenizerJson& TokenizerJson::operator=(TokenizerJson&&) noexcept = default;

std::vector<std::int32_t> TokenizerJson::encode(std::string_view text, bool add_special_tokens) const {
  if (const auto bad = find_invalid_utf8(text)) {
    fail("cannot tokenize text that is not UTF-8 (byte {} is invalid)", *bad);
  }
  std::vector<TextSplit> splits = added_.extract_and_normalize(text, normalizer_.get());
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(splits);
  std::vector<std::int32_t> ids;
  if (add_special_tokens) ids = post_processor_->before;
  for (const TextSplit& s : splits) {
    if (s.token >= 0) {
      ids.push_back(s.token);
    } else {
      model_->tokenize(s.text, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), post_processor_->after.begin(), post_processor_->after.end());
  return ids;
}

std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> TokenizerJson::special_tokens_around() const {
  return {post_processor_->before, post_processor_->after};
}

std::optional<std::string> TokenizerJson::id_to_piece(std::int32_t id) const {
  if (const AddedToken* t = added_.find(id)) return t->piece;
  if (const std::string* s = model_->id_to_token(id)) return *s;
  return std::nullopt;
}

std::optional<std::int32_t> TokenizerJson::piece_to_id(std::string_view piece) const {
  if (const auto id = added_.token_to_id(piece)) return id;
  return model_->token_to_id(piece);
}

std::int32_t TokenizerJson::vocab_size() const {
  std::int32_t size = model_->vocab_size();
  for (const AddedToken& t : added_.tokens()) size = std::max(size, t.id + 1);  // ids <= kMaxTokenId
  return size;
}

std::string TokenizerJson::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (std::int32_t id : ids) {
    if (const AddedToken* t = added_.find(id)) {
      if (!(skip_special_tokens && t->special)) pieces.push_back(t->piece);
    } else if (const std::string* s = model_->id_to_token(id)) {
      pieces.push_back(*s);
    }
  }
  std::string text;
  if (decoder_) {
    decoder_->decode_chain(pieces);
    for (const std::string& p : pieces) text += p;
  } else {
    for (std::size_t i = 0; i < pieces.size(); ++i) text += (i ? " " : "") + pieces[i];
  }
  return text;
}

}  // namespace collapse
