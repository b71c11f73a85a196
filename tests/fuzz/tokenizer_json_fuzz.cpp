// A Hugging Face tokenizer.json (its model, normalizers, pre-tokenizers, post-processor, decoder
// and added tokens), as `[corpus] tokenizer` or a pretrained model folder gives it. The input is
// the end-of-text token on its first line, then the file; the token is written beside it as
// tokenizer_config.json's eos_token, as a model folder holds it. A tokenizer that loads must also
// encode and decode a text with every kind of character without failing.
#include <nlohmann/json.hpp>

#include "collapse/data/tokenizer.h"
#include "collapse/util/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  if (newline == std::string::npos) return 0;
  const std::string eos = input.substr(0, newline), file = input.substr(newline + 1);
  try {
    const auto path = collapse::fuzz::as_file(reinterpret_cast<const std::uint8_t*>(file.data()), file.size(),
                                              "tokenizer.json");
    const std::string config = nlohmann::json{{"eos_token", eos}}.dump(-1, ' ', false,
                                                                        nlohmann::json::error_handler_t::replace);
    collapse::fuzz::as_file(reinterpret_cast<const std::uint8_t*>(config.data()), config.size(),
                            "tokenizer_config.json");
    const collapse::Tokenizer tokenizer(path.parent_path());
    const auto ids = tokenizer.encode("Hello, world! 123  naïve café\n\tend <s></s> 日本語 🙂", true);
    tokenizer.decode(ids);
    tokenizer.decode(ids, true);
  } catch (const collapse::Error&) {
  }
  return 0;
}
