// Batched generation with a KV cache: prompts in, synthetic documents out.
//
// Documents are generated in batches of `batch_size` (beam search: batch_size documents of
// `beams` rows each). Prompts of different lengths share a batch by left padding (model.h's
// DecodeCache): a pad slot is never attended to, so a document's tokens do not depend on what
// else is in its batch. Rows that finish are dropped from the batch (their cache rows too).
//
// Sampling: the token at generated position g of document i uses the uniform
// sampling_uniform(seed, i, g) (philox.h), so the same seed gives the same documents whatever the
// batch size, batch order or device (up to floating-point differences between devices).
// A document ends at EOS (which is not part of it), banned until min_tokens tokens exist, or at
// max_tokens tokens.
//
// Beam search (sampler.beams > 1), deterministic: every step each document's beams are extended
// by their best continuations (2 x beams candidates by total log-probability, after the
// penalties, which apply to log-probabilities as in Hugging Face); a candidate ending in EOS
// among the first `beams` becomes a finished hypothesis scored sum log p / length^length_penalty
// (length = generated tokens, EOS included). A document stops when it has `beams` hypotheses and
// no running beam can beat the worst of them, or at max_tokens, when the running beams join the
// hypotheses. The best hypothesis is the document.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "collapse/data/special_ids.h"
#include "collapse/generate/decode_mode.h"
#include "collapse/generate/sampler_batch.h"
#include "collapse/generate/sampler_chain.h"
#include "collapse/model/model.h"
#include "collapse/util/setting_names.h"

namespace collapse {

struct GenerateOptions {
  std::int64_t documents = 1;
  std::int64_t first_document = 0;  // ids first_document .. first_document + documents - 1
  std::int64_t prompt_repeat = 1;   // document i takes prompt (i / prompt_repeat) mod P (best-of-k)
  std::int64_t max_tokens = 256;  // generated tokens per document, at most
  std::int64_t min_tokens = 0;    // EOS is banned before this many
  std::int64_t batch_size = 64;   // documents per batch
  std::uint64_t seed = 0;
  SamplerConfig sampler;
  DecodeMode decode = DecodeMode::automatic;
  // The sampler of rows sampled on the CPU (sampler_batch.h): the same tokens either way.
  HostSampler host_sampler = HostSampler::fast;
  // The tokenizer's BOS (starts every row), EOS (ends a document) and PAD (left padding): the
  // caller passes the dataset's (Tokenizer::special()); generate() refuses unset ids.
  SpecialIds special;
  // The tokenizer's vocabulary size: ids at or above it are never sampled (OPT, Qwen2 and Pythia
  // have more embedding rows than their tokenizers have ids). 0: the model's vocabulary.
  std::int64_t vocab_size = 0;
  // Positions a row may use (BOS + prompt + generated), at most the model's context. 0: the
  // model's context.
  std::int64_t context = 0;
  // How the caller names these settings in messages (the CLI: --max-tokens, --top-p, ...).
  SettingNames names = setting_key;
};

struct GeneratedDocument {
  std::int64_t id = 0;
  std::int64_t prompt_id = 0;
  std::vector<std::int32_t> tokens;  // generated tokens only (no BOS, prompt or EOS)
  bool ended_with_eos = false;
};

// The mode generate() decodes with for these options, prompts and device: never automatic. Error
// when fixed or graph was asked for and cannot be had (graph off CUDA, beam search, ...).
DecodeMode resolve_decode_mode(const GenerateOptions& options, const ModelConfig& model,
                               const std::vector<std::vector<std::int32_t>>& prompts,
                               const c10::Device& device);

// Called after each finished batch with (documents done, tokens generated so far).
using GenerateProgress = std::function<void(std::int64_t, std::int64_t)>;

// prompts: token ids without BOS; document i uses prompt (i / prompt_repeat) mod prompts.size().
// Throws Error, naming the setting through options.names, when a prompt plus max_tokens does not
// fit the model's context, or on invalid options.
std::vector<GeneratedDocument> generate(GPT& model,
                                        const std::vector<std::vector<std::int32_t>>& prompts,
                                        const GenerateOptions& options, const c10::Device& device,
                                        const GenerateProgress& progress = {});

// The penalties of `config` applied to `scores` [R, V] in place, with torch ops on any device:
// history [R, capacity] int32, lengths / prompt_lengths [R] int32 (sampler_batch.h's layout).
// Beam search applies them to log-probabilities.
void apply_penalties(const SamplerConfig& config, at::Tensor& scores, const at::Tensor& history,
                     const at::Tensor& lengths, const at::Tensor& prompt_lengths);

}  // namespace collapse
