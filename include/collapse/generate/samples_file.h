// Synthetic corpora: what `collapse generate` writes and `collapse show` / `collapse score` read.
//
// Two forms, chosen by the output path:
//   SAMPLES/ (a folder)          samples.tok      the documents, a token file (token_store.h)
//                                prompts.tok      the distinct prompts (token ids, without BOS)
//                                provenance.json  written last: format, version, model, generation,
//                                                 sampler settings, seed, prompt spec, lengths,
//                                                 tokenizer fingerprint, and "prompt_ids" (the
//                                                 prompt of every document, in document order)
//                                tokenizer.model  a copy of the tokenizer (Tokenizer::save: or
//                                                 tokenizer.json + special_ids.json), so the
//                                                 folder decodes on its own
//                                samples.txt      a readable excerpt (the first documents)
//   X.jsonl                      one JSON object per document:
//                                {"id", "prompt_id", "prompt_tokens", "tokens", "text"}
// A document's tokens are the generated ones (prompt + generated with --keep-prompt), never BOS
// or EOS. Both forms are written atomically (a folder is built beside its destination and
// renamed into place).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

namespace collapse {

class Tokenizer;
inline constexpr int kSamplesFormatVersion = 1;

struct SampleDocument {
  std::int64_t id = 0;
  std::int64_t prompt_id = 0;
  std::vector<std::int32_t> tokens;
};

struct Samples {
  nlohmann::json provenance = nlohmann::json::object();  // settings; prompt_ids is added on write
  std::vector<std::vector<std::int32_t>> prompts;        // without BOS
  std::vector<SampleDocument> documents;                 // in id order
};

// A path ending in ".jsonl" is written as JSON lines, anything else as a samples folder. An
// existing folder that is not a samples folder is refused (an Error naming it), never replaced.
void write_samples(const std::filesystem::path& out, const Samples& samples,
                   const Tokenizer& tokenizer);

// Throws the Error write_samples would throw for `out` (an existing folder that is not a samples
// folder), so a command can refuse before doing the work.
void check_samples_destination(const std::filesystem::path& out);

// Reads a JSON-lines file: calls `fn` with every non-empty line's object and its 1-based line
// number. A missing file, invalid JSON or a line that is not an object is an Error naming the file
// and line.
void for_each_json_line(const std::filesystem::path& path,
                        const std::function<void(const nlohmann::json&, std::int64_t)>& fn);

// True for a path that is (or would be) written as JSON lines.
bool is_jsonl_path(const std::filesystem::path& path);

// Reads either form; the JSONL form needs "id", "prompt_id", "prompt_tokens" and "tokens" on
// every line. Errors name the file (and line) at fault.
Samples read_samples(const std::filesystem::path& path);

// Calls `emit` with every document as the JSONL object above, decoding text with the folder's
// own tokenizer.model; for a JSONL file, re-emits each (validated) line.
void for_each_sample_json(const std::filesystem::path& path,
                          const std::function<void(const nlohmann::json&)>& emit);

}  // namespace collapse
