// tokenizer.json's "decoder": how the pieces of ids are turned back into text. A decoder maps
// the list of pieces to a new list; the text is their concatenation.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "collapse/util/json_path.h"
#include "collapse/util/named.h"

namespace collapse {

class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

enum class DecoderKind { byte_level, byte_fallback, fuse, strip, replace, metaspace, bpe, word_piece, sequence };
// The supported "type"s, as tokenizer.json names them.
std::span<const Named<DecoderKind>> decoder_kinds();

// The decoder `spec` describes. Error naming the JSON path of an unsupported type or a bad key.
std::unique_ptr<TokenDecoder> read_decoder(const JsonPath& spec);

}  // namespace collapse
