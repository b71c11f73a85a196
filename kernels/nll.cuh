// Per-token negative log-likelihood from logits, fused: one read of every logit, no second
// [rows, vocab] tensor. The definition (the CPU reference is src/model/token_nll.cpp's
// reference_token_nll: log_softmax in fp32 + gather):
//
//   nll[r] = logsumexp(x[r, 0..vocab)) - x[r, target[r]]        (nats, fp32)
//
// computed with an online log-sum-exp: each thread keeps a running (max m, sum s = sum exp(x - m))
// over its share of the row, rescaling s when m grows; the block then merges the threads' pairs
// ((m1, s1) + (m2, s2) = (M, s1 e^(m1-M) + s2 e^(m2-M)), M = max(m1, m2)). One block per row,
// 16-byte vectorised loads (4 fp32 or 8 bf16) after a scalar head that reaches 16-byte alignment,
// so any row stride works.
//
// Memory: every pointer is device memory owned by the caller. Logit (r, v) is at
// logits + r * row_stride + v (row_stride in elements, >= vocab). Errors come back as the
// cudaError_t of the launch (cudaSuccess when it was queued); nothing synchronises the stream.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace collapse::kernels {

enum class LogitsType : int {
  f32,   // float
  bf16,  // bfloat16, passed as its raw 16-bit pattern (__nv_bfloat16 in device code)
};

enum class IndexType : int { i32, i64 };

// logits: [rows, vocab] (fp32 or bf16), row stride row_stride elements.
// targets: [rows] int32 or int64; a target outside [0, vocab) yields NaN for that row.
// nll: [rows] fp32, written.
cudaError_t token_nll(const void* logits, LogitsType type, std::int64_t rows, std::int64_t vocab,
                      std::int64_t row_stride, const void* targets, IndexType target_type,
                      float* nll, cudaStream_t stream);

// The chunked form: folds one vocabulary chunk of logits into a running per-row state, so the
// log-sum-exp over the full vocabulary can be accumulated chunk by chunk on the device.
//   state before: row_max[r] = m, row_sum[r] = s with lse(columns seen) = m + ln s
//                 (start with m = -inf, s = 0: nothing seen)
//   state after:  the same for (columns seen) + this chunk's `cols` columns
// logits: [rows, cols] fp32 or bf16, row stride row_stride elements. row_max, row_sum: [rows] fp32,
// read and written. A row whose every logit so far is -inf keeps (-inf, 0).
cudaError_t logsumexp_update(const void* logits, LogitsType type, std::int64_t rows,
                             std::int64_t cols, std::int64_t row_stride, float* row_max,
                             float* row_sum, cudaStream_t stream);

}  // namespace collapse::kernels
