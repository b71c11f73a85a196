// The sampler chain on the CPU, fast: the token sample_token_reference (sampler_chain.h) picks,
// for the same row and uniform, with work proportional to the candidates a step can keep rather
// than to the vocabulary times its logarithm.
//
// The reference is the definition and stays the readable one; this is what sample_tokens runs on
// the CPU. It performs the very same floating-point operations on every value that can matter,
// in the same order, so the tokens are equal, not merely close:
//   * penalties and temperature: the same float operations, on the history's tokens / the row;
//   * every softmax: exp(double(x) - max) for the candidates, summed in vocabulary order, divided
//     by that sum. The exponentials of one max are computed once and reused by the later steps
//     and the choice (the max only moves when typical_p removes it);
//   * top_k: the same nth_element threshold; the candidates that remain become an ascending list
//     and every later step touches only them;
//   * top_p: the threshold from the probabilities' mass in factor-of-2 bands and then in 4096
//     slices of one band, sorting only the slice where the descending sum reaches top_p; taken
//     when that sum misses top_p by a margin far above both sums' rounding (so the reference's
//     sequential sum decides the same). Otherwise, as for ties and hand-made rows, the reference's
//     own running sum: over only the head of the candidates it can reach, selected and sorted in
//     growing heads (a long head by a radix sort of the bits); equal values are interchangeable
//     in a sum, so the running total is the reference's bit for bit;
//   * min_p, typical_p and the choice: over the candidates only, in vocabulary order.
// tests/generate/cpu_sampler_test.cpp compares it with the reference on 10^5 rows and more.
#pragma once

#include <cstdint>
#include <vector>

#include "collapse/generate/sampler_chain.h"

namespace collapse {

// Buffers one thread reuses row after row, so a decode step allocates nothing once they have
// grown to the vocabulary.
struct CpuSamplerScratch {
  std::vector<float> x;                // the chained logits, -inf for removed tokens
  std::vector<double> e;               // exp(double(x[t]) - e_max) for the candidates
  std::vector<std::int32_t> kept;      // the candidates in ascending order (once a filter ran)
  std::vector<std::int32_t> tokens;    // history work
  std::vector<float> values;           // top_k's selection
  std::vector<double> prob;            // top_p's probabilities, by token
  std::vector<double> slice_mass;      // top_p's mass in slices of one band
  std::vector<double> sorted;          // top_p's selection
  std::vector<std::uint64_t> radix_a, radix_b;  // top_p's radix sort
  struct Scored {
    double score;  // |-log p - H|
    std::int32_t token;
    double p;
  };
  std::vector<Scored> scored;  // typical_p's order
};

// sample_token_reference(config, row, uniform), computed fast. Errors as the reference's.
std::int32_t sample_token_fast(const SamplerConfig& config, const SamplingRow& row, double uniform,
                               CpuSamplerScratch& scratch);

}  // namespace collapse
