// One decode step's choice for a whole batch: the sampler chain (sampler_chain.h) on every row of
// next-token logits. On CUDA, chains the fused kernel supports run in one launch
// (kernels/sampling.cuh); everything else runs on the CPU, rows in parallel, with the fast CPU
// sampler (cpu_sampler.h), which picks the reference's token, so the result is always the
// chain's definition. docs/sampling.md says which chains run where.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <span>

#include "collapse/generate/sampler_chain.h"
#include "collapse/util/named.h"

namespace collapse {

// Every row's sequence so far. All tensors on the logits' device.
struct TokenHistory {
  at::Tensor tokens;          // [B, capacity] int32: the prompt (BOS included), then generated tokens
  at::Tensor lengths;         // [B] int32: valid tokens per row (<= capacity)
  at::Tensor prompt_lengths;  // [B] int32: how many leading tokens of the row are the prompt
};

// Which sampler sample_tokens runs on the CPU (every chain on a CPU device, and the chains the
// kernel does not take on CUDA): the fast one (cpu_sampler.h), or the chain's definition itself
// (sample_token_reference), row by row. Both pick the same token for the same row and uniform;
// the definition is the slow, readable check of that (`collapse generate --cpu-sampler`).
enum class HostSampler { fast, definition };
std::span<const Named<HostSampler>> host_samplers();

// logits: [B, V] float32 or bfloat16 (row-major; any strides, copied when not contiguous);
// uniforms: [B] float64 in (0, 1) (sampling_uniform of each row's document and position);
// banned: [B] int32, a token set to -inf first (EOS before --min-tokens), -1 = none.
// configs: one chain for every row (size 1), or row r's chain at configs[r] (size B).
// Returns [B] int64 tokens on the logits' device: sample_token_reference of each row, or -1 for a
// row without any finite logit. The kernel picks the reference's token except where the uniform
// lies within ~1e-6 of a boundary of the row's cumulative distribution (rounding), and samples
// tokens of probability below ~1e-12 of the most likely one never (docs/sampling.md).
// The history is read only when a penalty is on in some row; it may hold undefined tensors
// otherwise.
at::Tensor sample_tokens(std::span<const SamplerConfig> configs, const at::Tensor& logits,
                         const TokenHistory& history, const at::Tensor& uniforms,
                         const at::Tensor& banned, HostSampler host = HostSampler::fast);
// The same chain on every row.
at::Tensor sample_tokens(const SamplerConfig& config, const at::Tensor& logits,
                         const TokenHistory& history, const at::Tensor& uniforms,
                         const at::Tensor& banned, HostSampler host = HostSampler::fast);

// True when sample_tokens runs this chain on the fused CUDA kernel on `device`: a CUDA device, a
// build with the kernels, and a chain whose active steps come in the order repetition_penalty,
// penalties, temperature, top_k, top_p, min_p with typical_p off. (Histories longer than
// kSamplingMaxHistory tokens with a penalty on, or vocabularies too large for the kernel's shared
// memory, fall back to the CPU even then.)
bool sampling_uses_kernel(const SamplerConfig& config, const c10::Device& device);

// The longest history (tokens per row, the `capacity` of TokenHistory) the kernel's penalties take.
inline constexpr std::int64_t kSamplingMaxHistory = 4096;

// Sampling inside a captured CUDA graph (fixed_step_decoder.h). sample_tokens() uploads the
// kernel's per-row parameters at every call and may copy or convert its inputs; a graph replays
// device work only, so here the parameters are uploaded once and every input must already be a
// contiguous device tensor of the right type.
//
// Whether the fused kernel takes this chain on `device` for logits of `vocab` tokens and histories
// of `history_capacity` tokens (sampling_uses_kernel, and the kernel's size limits).
bool sampling_kernel_fits(const SamplerConfig& config, const c10::Device& device,
                          std::int64_t vocab, std::int64_t history_capacity);
// The kernel's per-row parameters for `batch` rows of `config`, on `device` (where
// sampling_kernel_fits holds; Error otherwise).
at::Tensor sampling_kernel_params(const SamplerConfig& config, std::int64_t batch,
                                  const c10::Device& device);
// One launch on the current CUDA stream writing out ([B] int64, preallocated): the same tokens as
// sample_tokens(). Allocates nothing, copies nothing, never synchronises. Error when an input is
// not a contiguous tensor on the logits' device of the type sample_tokens() takes.
void sample_tokens_with_kernel(const SamplerConfig& config, const at::Tensor& params,
                               const at::Tensor& logits, const TokenHistory& history,
                               const at::Tensor& uniforms, const at::Tensor& banned,
                               at::Tensor& out);

}  // namespace collapse
