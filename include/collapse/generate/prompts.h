// Where generation starts: the prompts of `collapse generate --prompt SPEC`.
//   "bos"            one empty prompt: every document starts from BOS alone (unconditional).
//   "real-prefix:K"  every train document is cut into consecutive K-token blocks (a shorter
//                    remainder is dropped); each block is a prompt, in document order. This is
//                    Shumailov et al.'s setup: every K-token real block prompts the model.
//   "file:PATH"      one UTF-8 text prompt per line of PATH (empty lines are empty prompts).
// The model sees BOS + the prompt's tokens. With more documents than prompts, document i takes
// prompt i mod P.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace collapse {

class Dataset;

// A prompt spec, parsed: the one reader of the three forms above.
struct PromptSpec {
  enum class Kind { bos, real_prefix, file };
  Kind kind = Kind::bos;
  std::int64_t block = 0;  // K, for real_prefix
  std::string path;        // PATH, for file

  // The spec `text` describes, or nothing when it is none of the three forms (K must be a
  // positive integer, PATH non-empty).
  static std::optional<PromptSpec> read(const std::string& text);
  std::string to_string() const;
  // Prompt tokens that every document starts with, BOS excluded: K for real-prefix:K, else 0.
  std::int64_t fixed_length() const { return kind == Kind::real_prefix ? block : 0; }
};
// The three forms in words, for messages and docs.
inline constexpr const char* kPromptForms = "\"bos\", \"real-prefix:K\" (K >= 1) or \"file:PATH\"";

struct PromptSet {
  std::string spec;                                // as given, e.g. "real-prefix:64"
  std::vector<std::vector<std::int32_t>> prompts;  // token ids, without BOS
};

// Throws Error naming `what` (the caller's name for the setting, e.g. "--prompt") and the spec:
// not one of the three forms, a train split with no K-token block, an unreadable or empty
// prompt file.
PromptSet make_prompts(const std::string& spec, const Dataset& data, const std::string& what);

}  // namespace collapse
