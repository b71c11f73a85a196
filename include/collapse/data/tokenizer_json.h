// A tokenizer.json (the `tokenizers` library's format, shipped by GPT-2, OPT, Pythia, SmolLM2,
// Qwen2, Llama 3 and converted SentencePiece models) read into collapse's own pipeline:
//   added tokens -> normalizer -> pre-tokenizer -> BPE model -> post-processor (encode)
//   ids -> pieces -> decoder (decode)
// Ids equal the library's for the supported components (see docs/tokenizers.md); any other
// component is an Error naming its JSON path and the supported types, never a silent fallback.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collapse/data/added_tokens.h"
#include "collapse/data/bpe_model.h"
#include "collapse/data/pre_tokenizers.h"
#include "collapse/data/text_normalizers.h"
#include "collapse/data/token_decoders.h"
#include "collapse/util/named.h"

namespace collapse {

enum class PostProcessorKind { template_processing, byte_level, roberta, bert, sequence };
std::span<const Named<PostProcessorKind>> post_processor_kinds();

class TokenizerJson {
 public:
  // Reads and checks the file; Error naming the file and JSON path at fault.
  explicit TokenizerJson(const std::filesystem::path& file);
  // The same from the file's text; `name` is the file named in errors.
  TokenizerJson(std::string_view text, const std::string& name);
  ~TokenizerJson();
  TokenizerJson(TokenizerJson&&) noexcept;
  TokenizerJson& operator=(TokenizerJson&&) noexcept;

  // The ids of `text`; with add_special_tokens the post-processor's tokens too (e.g. BOS).
  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // The text of `ids`: unknown ids are skipped, special tokens too when skip_special_tokens.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const;

  // What the post-processor puts before and after a text's ids.
  std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> special_tokens_around() const;

  // The piece of an id (added tokens included), or nothing.
  std::optional<std::string> id_to_piece(std::int32_t id) const;
  std::optional<std::int32_t> piece_to_id(std::string_view piece) const;
  // One more than the largest id of the model's vocabulary and the added tokens.
  std::int32_t vocab_size() const;
  const AddedVocabulary& added_tokens() const { return added_; }
  const BpeModel& model() const { return *model_; }

 private:
  struct PostProcessor;
  std::unique_ptr<TextNormalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<TokenDecoder> decoder_;
  std::unique_ptr<PostProcessor> post_processor_;
  AddedVocabulary added_;
};

}  // namespace collapse
