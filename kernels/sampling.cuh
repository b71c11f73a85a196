// The sampler chain fused into one launch per decode step: one block per row of logits turns the
// row into one token. The definition is include/collapse/generate/sampler_chain.h (the CPU reference, which the
// GPU tests compare against); this kernel runs the chains whose active steps come in the order
//
//   [banned token] repetition_penalty, penalties (presence/frequency), temperature, top_k, top_p,
//   min_p, then inverse-transform sampling in vocabulary order (or greedy argmax)
//
// and no typical_p. The glue (src/generate/sampler_batch.cpp) sends every other chain to the reference.
//
// How (docs/sampling.md has the long form):
//   * Penalties: the row's history (at most kSamplingMaxHistory tokens) is sorted in shared memory
//     (cub::BlockRadixSort on token * 2 + generated), so each distinct token's penalty is applied
//     once (repetition: set semantics, prompt included) with its count of generated occurrences
//     (frequency). The penalised values live in a shared table with a bitmask over the vocabulary;
//     the logits themselves are only read.
//   * No sort of the vocabulary. top_k and top_p are thresholds on an order-preserving 32-bit key
//     of the (penalised, tempered) logit, found by radix select with 11/11/10-bit digits: a pass
//     builds a shared histogram (count, and for top_p the mass) of the next digit among the
//     candidates, and a block scan over the bins picks the bin holding the threshold. min_p is the
//     threshold x >= max + ln(min_p). The kept set is {key >= K}, K the largest of the three.
//   * Mass is fixed point: q = round(exp(x - max) * 2^40) as uint64, so every sum (histograms, the
//     kept total Z, the prefix sum) is exact, deterministic and monotone. The token is the first
//     kept index whose inclusive prefix sum in vocabulary order exceeds floor(u * Z), found by a
//     block-wide scan tile by tile that stops at the tile holding it; if none did (it cannot, as
//     u < 1), the last kept index. A removed token is never returned. Tokens with
//     exp(x - max) < 2^-41 get q = 0 and are never sampled.
//   * Passes over the row (reads of the logits): 1 (max, argmax; greedy stops here; top_k's first
//     histogram rides along) + top_k: <= 2 + top_p: <= 3 + 1 for Z unless top_p produced it
//     + the final scan (stops early: half a row on average). Pure sampling: ~2.5 reads; top_p (with
//     temperature): at most 4 + the scan.
//   * fp32 loads 4 and bf16 loads 8 values per 16-byte load where the row allows it.
//
// Memory: every pointer is device memory owned by the caller; nothing is allocated and nothing
// synchronises the stream. Errors come back as the cudaError_t of the launch (cudaSuccess when it
// was queued); cudaErrorInvalidValue for shapes outside the limits below.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "nll.cuh"  // LogitsType

namespace collapse::kernels {

// The longest history per row the penalties take (collapse::kSamplingMaxHistory).
inline constexpr std::int64_t kSamplingMaxHistory = 4096;

// One row's chain. Neutral values switch a step off (sampler_chain.h's SamplerConfig).
struct SamplingParams {
  float repetition_penalty;  // 1 = off
  float presence_penalty;    // 0 = off
  float frequency_penalty;   // 0 = off
  float temperature;         // 0 = greedy (penalties still apply, the filters do not)
  float top_p;               // 1 = off
  float min_p;               // 0 = off
  std::int32_t top_k;        // 0 = off
  std::int32_t reserved;     // 0
};

struct SamplingBatch {
  // [batch, vocab] fp32 or bf16; logit (r, v) at logits + r * row_stride + v (row_stride >= 0;
  // 0 repeats one row).
  const void* logits = nullptr;
  LogitsType type = LogitsType::f32;
  std::int64_t batch = 0, vocab = 0, row_stride = 0;
  const SamplingParams* params = nullptr;  // [batch]
  const float* uniforms = nullptr;         // [batch], in (0, 1)
  const std::int32_t* banned = nullptr;    // [batch] token forced to -inf first, -1 none; or null
  // The sequences so far, read only by rows with a penalty on (may be null when no row has one):
  // token (r, i) at history + r * history_capacity + i, i < history_lengths[r]; the first
  // prompt_lengths[r] of them are the prompt. Tokens outside [0, vocab) are ignored.
  const std::int32_t* history = nullptr;
  std::int64_t history_capacity = 0;  // <= kSamplingMaxHistory
  const std::int32_t* history_lengths = nullptr;
  const std::int32_t* prompt_lengths = nullptr;
  std::int64_t* tokens = nullptr;  // [batch], written: the chosen token, -1 if no logit is finite
};

// Whether a launch with this vocabulary (and history, when `penalties`) fits the current device's
// shared memory and the kernel's limits.
bool sampling_fits(std::int64_t vocab, std::int64_t history_capacity, bool penalties);

cudaError_t sample_tokens(const SamplingBatch& batch, cudaStream_t stream);

}  // namespace collapse::kernels
