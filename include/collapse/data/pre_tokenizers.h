// tokenizer.json's "pre_tokenizer": how normalized text is cut into the words the model
// tokenizes one by one (and, for ByteLevel, mapped into the byte-level alphabet).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "collapse/data/text_splits.h"
#include "collapse/util/json_path.h"
#include "collapse/util/named.h"

namespace collapse {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Cuts every split that is not an added token.
  virtual void pre_tokenize(std::vector<TextSplit>& splits) const = 0;
};

enum class PreTokenizerKind { byte_level, split, digits, metaspace, sequence };
// The supported "type"s, as tokenizer.json names them.
std::span<const Named<PreTokenizerKind>> pre_tokenizer_kinds();

// The pre-tokenizer `spec` describes. Error naming the JSON path of an unsupported type or a bad key.
std::unique_ptr<PreTokenizer> read_pre_tokenizer(const JsonPath& spec);

// The Metaspace prepend schemes: "always", "never", "first" (only at the start of the text).
enum class PrependScheme { always, never, first };
PrependScheme read_prepend_scheme(const JsonPath& spec);

}  // namespace collapse
