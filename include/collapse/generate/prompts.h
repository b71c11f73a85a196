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
#include <string>
#include <vector>

namespace collapse {

class Dataset;

struct PromptSet {
  std::string spec;                                // as given, e.g. "real-prefix:64"
  std::vector<std::vector<std::int32_t>> prompts;  // token ids, without BOS
};

// Throws Error naming the spec (unknown kind, K not a positive integer, unreadable file, a train
// split with no K-token block, an empty prompt file).
PromptSet make_prompts(const std::string& spec, const Dataset& data);

}  // namespace collapse
