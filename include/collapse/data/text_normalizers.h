// tokenizer.json's "normalizer": what is done to text before it is cut into words. Each
// non-added-token piece of the text is normalized on its own.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "collapse/util/json_path.h"
#include "collapse/util/named.h"

namespace collapse {

class TextNormalizer {
 public:
  virtual ~TextNormalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

enum class NormalizerKind { nfc, nfd, nfkc, nfkd, prepend, replace, strip, sequence };
// The supported "type"s, as tokenizer.json names them.
std::span<const Named<NormalizerKind>> normalizer_kinds();

// The normalizer `spec` describes. Error naming the JSON path of an unsupported type or a bad key.
std::unique_ptr<TextNormalizer> read_normalizer(const JsonPath& spec);

}  // namespace collapse
