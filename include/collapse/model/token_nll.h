// Per-token negative log-likelihood (NLL), the quantity every perplexity in collapse is built from:
//
//   nll[i] = logsumexp_v(logits[i, v]) - logits[i, targets[i]]      (nats, fp32; v over the vocab)
//
// Two ways in. token_nll() starts from logits that exist already; on CUDA it is one fused kernel
// pass (kernels/nll.cuh) that never writes a second [N, vocab] tensor. chunked_token_nll() starts
// from the hidden states and the output projection and never holds [N, vocab] at all: the LM-head
// matmul runs in vocabulary chunks with a running log-sum-exp (the Cut Cross-Entropy idea), for
// scoring long corpora with large vocabularies in bounded memory.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace collapse {

// logits: [N, vocab] fp32 or bf16 (fp16/fp64 are converted to fp32 first); the last dimension
//   must be contiguous, rows may have any stride (otherwise a contiguous copy is made).
// targets: [N] int32 or int64, each in [0, vocab) (Error otherwise), on the logits' device.
// Returns nll [N] fp32 on the logits' device. CUDA (when built with the kernels): the fused
// kernel; elsewhere reference_token_nll().
at::Tensor token_nll(const at::Tensor& logits, const at::Tensor& targets);

// The definition in plain LibTorch, the CPU reference the kernel is tested against: log_softmax
// over the vocabulary in fp32, gather the target, negate. Materialises [N, vocab] log-probs.
at::Tensor reference_token_nll(const at::Tensor& logits, const at::Tensor& targets);

// Vocabulary chunk `collapse eval` and the per-document scorer use.
inline constexpr std::int64_t kDefaultVocabChunk = 8192;

// nll for logits = hidden @ weight^T without materialising them:
//   for each block of `row_block` rows of hidden (0 = automatic: the largest block whose chunk of
//   logits holds at most 2^24 values, 64 MiB in fp32):
//     lse = -inf
//     for each chunk of `vocab_chunk` rows of weight (the last chunk may be shorter):
//       z = h @ W_chunk^T                          [rows, chunk] fp32, CUDA autocast off
//       lse = lse (+) logsumexp(z)                 running log-sum-exp, merged per row
//     target logit = sum_d h[i, d] * weight[targets[i], d]     (row-wise dot product, fp32)
//     nll = lse - target logit
// hidden: [N, d] any floating type, computed in fp32. weight: [vocab, d] (the output projection,
// GPT::output_weight()), converted to fp32 if it is not. targets: [N] int32/int64 in [0, vocab).
// All on one device; returns nll [N] fp32 there. Peak extra memory: one [rows, chunk] fp32 block
// plus O(rows * d). On CUDA with the kernels the per-chunk merge is kernels::logsumexp_update
// into a reused buffer; elsewhere at::logsumexp + at::logaddexp. Equals reference_token_nll on the
// full logits up to fp32 rounding (tested within 1e-5 relative).
at::Tensor chunked_token_nll(const at::Tensor& hidden, const at::Tensor& weight,
                             const at::Tensor& targets, std::int64_t vocab_chunk = kDefaultVocabChunk,
                             std::int64_t row_block = 0);

}  // namespace collapse
