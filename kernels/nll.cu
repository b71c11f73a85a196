// Fused per-token NLL and the chunked log-sum-exp update: see nll.cuh for the definitions.
#include "nll.cuh"

#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

namespace collapse::kernels {
namespace {

constexpr int kThreads = 256;  // per block; one block per row
constexpr float kLog2e = 1.4426950408889634f;

// Running log-sum-exp of the values absorbed so far: lse = m + ln(s), s = sum exp(x - m).
struct LseState {
  float m;
  float s;
};

__device__ __forceinline__ float exp_of(float x) { return exp2f(x * kLog2e); }

// Folds N values into the state: one rescale per group (when the group raises the max), then one
// exponential per value.
template <int N>
__device__ __forceinline__ void absorb(LseState& st, const float (&x)[N]) {
  float group_max = x[0];
#pragma unroll
  for (int i = 1; i < N; ++i) group_max = fmaxf(group_max, x[i]);
  if (group_max > st.m) {
    st.s *= exp_of(st.m - group_max);  // st.m == -inf: s is 0 and stays 0
    st.m = group_max;
  }
  if (st.m == -INFINITY) return;  // everything so far is -inf: contributes nothing
#pragma unroll
  for (int i = 0; i < N; ++i) st.s += exp_of(x[i] - st.m);
}

__device__ __forceinline__ LseState merge(LseState a, LseState b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, 0.0f};
  return {m, a.s * exp_of(a.m - m) + b.s * exp_of(b.m - m)};
}

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// 16 bytes of T as floats.
template <typename T>
struct Vec16;
template <>
struct Vec16<float> {
  static constexpr int kCount = 4;
  using Raw = float4;
  __device__ __forceinline__ static void unpack(const Raw& r, float (&x)[4]) {
    x[0] = r.x, x[1] = r.y, x[2] = r.z, x[3] = r.w;
  }
};
template <>
struct Vec16<__nv_bfloat16> {
  static constexpr int kCount = 8;
  using Raw = uint4;
  __device__ __forceinline__ static void unpack(const Raw& r, float (&x)[8]) {
    const auto* pairs = reinterpret_cast<const __nv_bfloat162*>(&r);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __bfloat1622float2(pairs[i]);
      x[2 * i] = f.x, x[2 * i + 1] = f.y;
    }
  }
};

// This thread's state over row[0..n): scalar head up to 16-byte alignment, vectorised body (two
// loads in flight per iteration), scalar tail.
template <typename T>
__device__ LseState thread_row_state(const T* row, std::int64_t n) {
  using V = Vec16<T>;
  constexpr int K = V::kCount;
  LseState st{-INFINITY, 0.0f};
  const auto address = reinterpret_cast<std::uintptr_t>(row);
  std::int64_t head = static_cast<std::int64_t>((16 - address % 16) % 16 / sizeof(T));
  if (head > n) head = n;
  for (std::int64_t i = threadIdx.x; i < head; i += blockDim.x) {
    const float x[1] = {to_float(row[i])};
    absorb(st, x);
  }
  const std::int64_t vectors = (n - head) / K;
  const auto* body = reinterpret_cast<const typename V::Raw*>(row + head);
  std::int64_t i = threadIdx.x;
  for (; i + blockDim.x < vectors; i += 2 * static_cast<std::int64_t>(blockDim.x)) {
    const typename V::Raw ra = body[i], rb = body[i + blockDim.x];
    float a[K], b[K];
    V::unpack(ra, a);
    V::unpack(rb, b);
    absorb(st, a);
    absorb(st, b);
  }
  for (; i < vectors; i += blockDim.x) {
    float a[K];
    V::unpack(body[i], a);
    absorb(st, a);
  }
  for (std::int64_t j = head + vectors * K + threadIdx.x; j < n; j += blockDim.x) {
    const float x[1] = {to_float(row[j])};
    absorb(st, x);
  }
  return st;
}

// Merges the block's states; the result is valid in thread 0.
__device__ LseState block_merge(LseState st) {
  __shared__ LseState warps[kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) {
    const LseState other{__shfl_xor_sync(0xffffffffu, st.m, offset),
                         __shfl_xor_sync(0xffffffffu, st.s, offset)};
    st = merge(st, other);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warps[warp] = st;
  __syncthreads();
  if (warp == 0) {
    st = lane < static_cast<int>(blockDim.x / 32) ? warps[lane] : LseState{-INFINITY, 0.0f};
    for (int offset = 16; offset > 0; offset /= 2) {
      const LseState other{__shfl_xor_sync(0xffffffffu, st.m, offset),
                           __shfl_xor_sync(0xffffffffu, st.s, offset)};
      st = merge(st, other);
    }
  }
  __syncthreads();  // `warps` is reused by the next row of a grid-stride loop
  return st;
}

template <typename T, typename I>
__global__ void __launch_bounds__(kThreads)
    token_nll_kernel(const T* logits, std::int64_t rows, std::int64_t vocab,
                     std::int64_t row_stride, const I* targets, float* nll) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = logits + r * row_stride;
    const LseState st = block_merge(thread_row_state(row, vocab));
    if (threadIdx.x == 0) {
      const std::int64_t t = static_cast<std::int64_t>(targets[r]);
      // (max - x[t]) first: for a confident token both are large and nearly equal, and adding
      // ln(s) to the max before subtracting would lose the small NLL to one ulp of the max.
      nll[r] = (t < 0 || t >= vocab) ? NAN : (st.m - to_float(row[t])) + logf(st.s);
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    logsumexp_update_kernel(const T* logits, std::int64_t rows, std::int64_t cols,
                            std::int64_t row_stride, float* row_max, float* row_sum) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const LseState st = block_merge(thread_row_state(logits + r * row_stride, cols));
    if (threadIdx.x == 0) {
      const LseState total = merge({row_max[r], row_sum[r]}, st);
      row_max[r] = total.m;
      row_sum[r] = total.s;
    }
  }
}

unsigned grid_for(std::int64_t rows) {
  constexpr std::int64_t kMaxBlocks = 1 << 30;  // the kernels loop over rows beyond it
  return static_cast<unsigned>(rows < kMaxBlocks ? rows : kMaxBlocks);
}

template <typename T>
cudaError_t launch_token_nll(const void* logits, std::int64_t rows, std::int64_t vocab,
                             std::int64_t row_stride, const void* targets, IndexType target_type,
                             float* nll, cudaStream_t stream) {
  const auto* x = static_cast<const T*>(logits);
  if (target_type == IndexType::i64) {
    token_nll_kernel<T><<<grid_for(rows), kThreads, 0, stream>>>(
        x, rows, vocab, row_stride, static_cast<const std::int64_t*>(targets), nll);
  } else {
    token_nll_kernel<T><<<grid_for(rows), kThreads, 0, stream>>>(
        x, rows, vocab, row_stride, static_cast<const std::int32_t*>(targets), nll);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t token_nll(const void* logits, LogitsType type, std::int64_t rows, std::int64_t vocab,
                      std::int64_t row_stride, const void* targets, IndexType target_type,
                      float* nll, cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;
  if (vocab <= 0 || row_stride < vocab) return cudaErrorInvalidValue;
  return type == LogitsType::f32
             ? launch_token_nll<float>(logits, rows, vocab, row_stride, targets, target_type, nll, stream)
             : launch_token_nll<__nv_bfloat16>(logits, rows, vocab, row_stride, targets, target_type,
                                               nll, stream);
}

cudaError_t logsumexp_update(const void* logits, LogitsType type, std::int64_t rows,
                             std::int64_t cols, std::int64_t row_stride, float* row_max,
                             float* row_sum, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return cudaSuccess;
  if (row_stride < cols) return cudaErrorInvalidValue;
  if (type == LogitsType::f32) {
    logsumexp_update_kernel<float><<<grid_for(rows), kThreads, 0, stream>>>(
        static_cast<const float*>(logits), rows, cols, row_stride, row_max, row_sum);
  } else {
    logsumexp_update_kernel<__nv_bfloat16><<<grid_for(rows), kThreads, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(logits), rows, cols, row_stride, row_max, row_sum);
  }
  return cudaGetLastError();
}

}  // namespace collapse::kernels
