// The special ids collapse builds token streams, prompts and stopping rules with, taken from the
// tokenizer's own files, never assumed.
//
// A Hugging Face model folder names them in several files; the first that mentions a role wins:
//   special_ids.json           collapse's own record, written beside a tokenizer it copies
//   tokenizer_config.json      "bos_token": "<s>" or {"content": "<s>", ...}; null = none
//   special_tokens_map.json    the same keys
//   generation_config.json     "bos_token_id": 1 (a list of eos ids: the first)
//   config.json                the same keys
//   the tokenizer itself       a SentencePiece model's own bos/eos/pad/unk ids
// Then: a tokenizer without BOS (Qwen2) starts documents with its EOS, GPT-2's convention for
// <|endoftext|>; one without PAD pads with EOS (pads are masked, never attended to). A tokenizer
// without EOS is an Error: documents could not end.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace collapse {

struct SpecialIds {
  std::int32_t bos = -1;  // starts every document
  std::int32_t eos = -1;  // ends every document; generation stops at it
  std::int32_t pad = -1;  // fills left padding
  std::int32_t unk = -1;  // -1: none
  bool operator==(const SpecialIds&) const = default;
};

nlohmann::json to_json(const SpecialIds& ids);
// "bos=1 eos=2 pad=3 unk=0" (unk=none where absent).
std::string describe(const SpecialIds& ids);

// The ids for the tokenizer in `dir`. piece_to_id resolves a token's content; `own` holds the ids
// the tokenizer file itself carries (-1 where it has none); vocab_size bounds them. Error naming
// the file and key of a token that is not in the vocabulary, an id out of range, or no EOS.
SpecialIds read_special_ids(const std::filesystem::path& dir,
                            const std::function<std::optional<std::int32_t>(std::string_view)>& piece_to_id,
                            const SpecialIds& own, std::int32_t vocab_size);

// Writes DIR/special_ids.json (atomically).
void write_special_ids(const std::filesystem::path& dir, const SpecialIds& ids);

}  // namespace collapse
