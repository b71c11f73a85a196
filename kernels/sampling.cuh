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
//     (cub::BlockRadixSort on token * 2 + generated, only the bits the vocabulary needs; 512 slots
//     for histories up to 512 tokens, 4096 beyond), so each distinct token's penalty is applied
//     once (repetition: set semantics, prompt included) with its count of generated occurrences
//     (frequency). The penalised values live in a shared table with a bitmask over the vocabulary;
//     the logits themselves are only read.
//   * Non-finite values are removed tokens wherever they arise (NaN or +-inf logits, or a penalty
//     or temperature that overflows), exactly as the reference's canonicalisation after each step.
//   * No sort of the vocabulary. top_k and top_p are thresholds on an order-preserving 32-bit key
//     of the (penalised, tempered) logit. One pass histograms every finite value into 2048 bins of
//     its distance to the row max (1/64 nat wide; the last holds everything >= 32 nats below,
//     which has no mass) with count and mass; a block scan over the bins finds the bin holding the
//     k-th value (count) or the top_p mass (mass). That bin's values are compacted into a shared
//     buffer (up to 4096; larger bins fall back to passes over the row) and an exact radix select
//     over their keys (4 digits of 8 bits) gives the threshold key. min_p is the threshold
//     x >= max + ln(min_p). The kept set is {key >= K}, K the largest of the three.
//   * Mass is fixed point: q = round(exp(x - max) * 2^40) as uint64, so every sum (histograms, the
//     kept total Z, the prefix sums) is exact, deterministic and monotone. The token is the first
//     kept index whose inclusive prefix sum in vocabulary order exceeds floor(u * Z) (at most
//     Z - 1). It is found by splitting the row into 16 contiguous parts (one per warp), summing
//     them, descending into the part holding the crossing, and so on until one warp finds it; if
//     none did (it cannot), the last kept index. A removed token is never returned. Tokens with
//     exp(x - max) < 2^-41 get q = 0 and are never sampled.
//   * Passes over the row: 1 (max, argmax; greedy stops here) + with top_k or top_p: 1 histogram
//     + 1 compaction per filter (top_p reuses top_k's when both land in one bin) + the choice,
//     which reads the row once and then 1/16, 1/256, ... of it. Pure sampling: ~2.07 reads.
//   * fp32 loads 4 and bf16 loads 8 values per 16-byte load where the row allows it, 2-4 loads in
//     flight per thread. Histogram updates are aggregated per warp (__match_any_sync) and use
//     32-bit shared atomics only.
//   * Integer ranges: vocab <= kSamplingMaxVocab = 2^23 keeps every sum exact and every index and
//     loop counter far below 2^31 (see kSamplingMaxVocab).
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

// The largest vocabulary the kernel takes, 2^23 (8.4M; Llama 3 and Qwen2 have 128k-152k, Gemma
// 256k). It is where the kernel's integer arithmetic is exact with a wide margin:
//   * a token's mass is q <= 2^40, so a row's total Z <= 2^23 * 2^40 = 2^63 fits uint64 (every
//     histogram bin, prefix sum and floor(u * Z) too);
//   * a histogram bin's count (32 bits) is <= 2^23, its mass's high word <= 2^31;
//   * history sort keys token * 2 + generated < 2^24, sorted on 25 bits with the empty-slot
//     sentinel 2^25 - 1 above every real key;
//   * int indices (element i0 + k, vectors, loop counters stepping by 512 * 4 * 4) stay below
//     2^23 + 2^14, far from 2^31.
inline constexpr std::int64_t kSamplingMaxVocab = std::int64_t{1} << 23;

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
  const double* uniforms = nullptr;        // [batch], in (0, 1), 53-bit resolution
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
// shared memory and the kernel's limits (vocab <= kSamplingMaxVocab, history_capacity <=
// kSamplingMaxHistory). The device's limits are queried once per device and cached (thread-safe).
bool sampling_fits(std::int64_t vocab, std::int64_t history_capacity, bool penalties);

cudaError_t sample_tokens(const SamplingBatch& batch, cudaStream_t stream);

}  // namespace collapse::kernels
