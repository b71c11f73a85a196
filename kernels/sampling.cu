// The fused sampler chain: see sampling.cuh for the contract and docs/sampling.md for the design.
#include "sampling.cuh"

#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cuda_bf16.h>

#include <climits>
#include <cmath>
#include <cstdint>

namespace collapse::kernels {
namespace {

constexpr int kThreads = 512;  // per block; one block per row
constexpr int kHistoryPerThread = static_cast<int>(kSamplingMaxHistory) / kThreads;
static_assert(kHistoryPerThread * kThreads == kSamplingMaxHistory);

// Radix select over 32-bit keys, most significant digit first: bits [21, 32), [10, 21), [0, 10).
constexpr int kDigits = 3;
__host__ __device__ constexpr int digit_low(int d) { return d == 0 ? 21 : d == 1 ? 10 : 0; }
__host__ __device__ constexpr int digit_width(int d) { return d == 2 ? 10 : 11; }
constexpr int kBins = 1 << 11;
constexpr int kBinsPerThread = kBins / kThreads;
static_assert(kBinsPerThread * kThreads == kBins);

constexpr float kMassScale = 1099511627776.0f;  // 2^40: q = 1 (the max) is 2^40 units

// ---------------------------------------------------------------------------------------------
// Values

// An order-preserving key: a < b as floats <=> key(a) < key(b); -0 and +0 share a key (they are
// equal logits). Removed tokens (non-finite after the chain) get 0, below every finite key.
__device__ __forceinline__ std::uint32_t order_key(float x) {
  if (!isfinite(x)) return 0u;
  const std::uint32_t bits = __float_as_uint(x == 0.0f ? 0.0f : x);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Fixed-point exp(x - max): the same float operations wherever it is evaluated, so every pass
// sees the same integers.
__device__ __forceinline__ std::uint64_t fixed_mass(float x, float max) {
  const float q = expf(__fsub_rn(x, max));
  return __float2ull_rn(__fmul_rn(q, kMassScale));
}

__device__ __forceinline__ float widen(float x) { return x; }
__device__ __forceinline__ float widen(__nv_bfloat16 x) { return __bfloat162float(x); }

// VEC consecutive values of T from a 16-byte aligned address (VEC * sizeof(T) == 16), or one.
template <typename T, int VEC>
struct Load;
template <typename T>
struct Load<T, 1> {
  __device__ __forceinline__ static void run(const T* p, float (&x)[1]) { x[0] = widen(*p); }
};
template <>
struct Load<float, 4> {
  __device__ __forceinline__ static void run(const float* p, float (&x)[4]) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    x[0] = v.x, x[1] = v.y, x[2] = v.z, x[3] = v.w;
  }
};
template <>
struct Load<__nv_bfloat16, 8> {
  __device__ __forceinline__ static void run(const __nv_bfloat16* p, float (&x)[8]) {
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // little endian: the lower half is the lower index
      x[2 * i] = __uint_as_float(words[i] << 16);
      x[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Shared memory

using HistorySort = cub::BlockRadixSort<std::uint32_t, kThreads, kHistoryPerThread>;
using ScanU64 = cub::BlockScan<unsigned long long, kThreads>;
using ScanInt = cub::BlockScan<int, kThreads>;
using ReduceU64 = cub::BlockReduce<unsigned long long, kThreads>;
using ReduceInt = cub::BlockReduce<int, kThreads>;

struct ArgMax {
  float value;
  int index;  // INT_MAX when no value is finite
};
using ReduceArgMax = cub::BlockReduce<ArgMax, kThreads>;

struct Histogram {
  unsigned int count[kBins];
  unsigned long long mass[kBins];
};

struct Shared {
  union {
    HistorySort::TempStorage sort;  // only while the history is sorted
    Histogram histogram;
  } big;
  union {
    ScanU64::TempStorage scan_u64;
    ScanInt::TempStorage scan_int;
    ReduceU64::TempStorage reduce_u64;
    ReduceInt::TempStorage reduce_int;
    ReduceArgMax::TempStorage reduce_argmax;
  } small;
  // Block-wide results, written by one thread and read by all after a barrier.
  int penalised_count;
  int chosen_bin;
  unsigned long long chosen_above;
  int token;
  float max;
  int argmax;
};

// Dynamic shared memory, only when penalties are on: a bitmask over the vocabulary (bit t: token t
// is penalised), then the penalised tokens (ascending) and their penalised values.
struct PenaltyTable {
  std::uint32_t* mask;     // [ceil(vocab / 32)]
  std::int32_t* tokens;    // [kSamplingMaxHistory]; first the sorted history keys
  float* values;           // [kSamplingMaxHistory]
};

std::size_t penalty_bytes(std::int64_t vocab) {
  const std::int64_t words = (vocab + 31) / 32;
  return static_cast<std::size_t>(words * 4 + kSamplingMaxHistory * 8);
}

__device__ __forceinline__ int lower_bound(const std::uint32_t* sorted, int n, std::uint32_t key) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (sorted[mid] < key) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// One row

template <typename T, int VEC>
struct Row {
  const T* logits;
  int vocab;
  SamplingParams p;
  int banned;
  bool greedy;
  bool temper;            // divide by the temperature (not greedy, temperature != 1)
  bool penalised;         // the table below holds this row's penalties
  PenaltyTable table;
  int table_count;        // distinct penalised tokens

  // The penalised value of token t, which the table holds (binary search over its tokens).
  __device__ __forceinline__ float penalised_value(int t) const {
    int lo = 0, hi = table_count;
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (table.tokens[mid] <= t) lo = mid; else hi = mid;
    }
    return table.values[lo];
  }

  // x[0..VEC) = the chain's logits (penalties, banned, temperature) of tokens i0..i0+VEC.
  __device__ __forceinline__ void values(int i0, float (&x)[VEC]) const {
    Load<T, VEC>::run(logits + i0, x);
    if (penalised) {
      const std::uint32_t bits = table.mask[i0 >> 5] >> (i0 & 31);
      if (bits & ((VEC == 32) ? 0xffffffffu : ((1u << VEC) - 1u))) {
#pragma unroll
        for (int k = 0; k < VEC; ++k) {
          if ((bits >> k) & 1u) x[k] = penalised_value(i0 + k);
        }
      }
    }
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      if (i0 + k == banned) x[k] = -INFINITY;
      if (temper) x[k] = __fdiv_rn(x[k], p.temperature);
    }
  }
};

// Calls visit(index, value) for every token of the row; thread t takes tokens t*VEC.. of every
// tile of kThreads * VEC tokens (coalesced 16-byte loads).
template <typename T, int VEC, typename Visit>
__device__ __forceinline__ void for_each_value(const Row<T, VEC>& row, Visit visit) {
  for (int i0 = threadIdx.x * VEC; i0 < row.vocab; i0 += kThreads * VEC) {
    float x[VEC];
    row.values(i0, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k) visit(i0 + k, x[k]);
  }
}

// Applies the row's penalties once per distinct history token (the header's definition), filling
// the table and the bitmask. Returns the number of distinct tokens (in every thread).
template <typename T, int VEC>
__device__ int build_penalties(Shared& sh, const PenaltyTable& table, const T* logits, int vocab,
                               const SamplingParams& p, const std::int32_t* history, int length,
                               int prompt_length) {
  const int words = (vocab + 31) / 32;
  for (int w = threadIdx.x; w < words; w += kThreads) table.mask[w] = 0u;

  // Keys token * 2 + (generated ? 1 : 0); empty slots and foreign tokens sort last as ~0.
  std::uint32_t keys[kHistoryPerThread];
#pragma unroll
  for (int k = 0; k < kHistoryPerThread; ++k) {
    const int i = threadIdx.x * kHistoryPerThread + k;
    keys[k] = 0xffffffffu;
    if (i < length) {
      const std::int32_t t = history[i];
      if (t >= 0 && t < vocab) {
        keys[k] = (static_cast<std::uint32_t>(t) << 1) | (i >= prompt_length ? 1u : 0u);
      }
    }
  }
  HistorySort(sh.big.sort).Sort(keys);
  auto* sorted = reinterpret_cast<std::uint32_t*>(table.tokens);
#pragma unroll
  for (int k = 0; k < kHistoryPerThread; ++k) sorted[threadIdx.x * kHistoryPerThread + k] = keys[k];
  __syncthreads();

  // The first position of each token's run computes that token's penalised logit.
  constexpr int n = static_cast<int>(kSamplingMaxHistory);
  int heads = 0;
  std::int32_t head_token[kHistoryPerThread];
  float head_value[kHistoryPerThread];
#pragma unroll
  for (int k = 0; k < kHistoryPerThread; ++k) {
    const int i = threadIdx.x * kHistoryPerThread + k;
    const std::uint32_t key = sorted[i];
    if (key == 0xffffffffu) continue;
    const std::uint32_t t = key >> 1;
    if (i > 0 && (sorted[i - 1] >> 1) == t) continue;
    const int generated = lower_bound(sorted, n, 2 * t + 2) - lower_bound(sorted, n, 2 * t + 1);
    float x = widen(logits[t]);
    if (p.repetition_penalty != 1.0f) {
      x = x > 0.0f ? __fdiv_rn(x, p.repetition_penalty) : __fmul_rn(x, p.repetition_penalty);
    }
    if (generated > 0 && (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)) {
      const float penalty = __fadd_rn(__fmul_rn(p.frequency_penalty, static_cast<float>(generated)),
                                      p.presence_penalty);
      x = __fsub_rn(x, penalty);
    }
    head_token[heads] = static_cast<std::int32_t>(t);
    head_value[heads] = x;
    ++heads;
  }
  int offset = 0, distinct = 0;
  ScanInt(sh.small.scan_int).ExclusiveSum(heads, offset, distinct);
  __syncthreads();  // every read of `sorted` is done: the table overwrites it
  for (int h = 0; h < heads; ++h) {
    table.tokens[offset + h] = head_token[h];
    table.values[offset + h] = head_value[h];
    atomicOr(&table.mask[head_token[h] >> 5], 1u << (head_token[h] & 31));
  }
  __syncthreads();
  return distinct;
}

// Clears the histogram (the caller then fills it and synchronises).
__device__ __forceinline__ void clear_histogram(Histogram& h) {
  for (int b = threadIdx.x; b < kBins; b += kThreads) {
    h.count[b] = 0u;
    h.mass[b] = 0ull;
  }
}

// Block-wide: scanning the bins from the highest key down, the bin b where the running weight
// (count, or mass) first reaches `target`: above(b) < target <= above(b) + weight(b). Returns b
// (and the weight above it in sh.chosen_above), or -1 when the total stays below target.
template <typename Weight>
__device__ int choose_bin(Shared& sh, unsigned long long target, Weight weight) {
  // Thread j owns bins kBins - 1 - (j * kBinsPerThread + i), i.e. thread 0 the highest keys.
  unsigned long long mine = 0;
#pragma unroll
  for (int i = 0; i < kBinsPerThread; ++i) mine += weight(kBins - 1 - (threadIdx.x * kBinsPerThread + i));
  unsigned long long above = 0;
  if (threadIdx.x == 0) sh.chosen_bin = -1;
  __syncthreads();
  ScanU64(sh.small.scan_u64).ExclusiveSum(mine, above);
#pragma unroll
  for (int i = 0; i < kBinsPerThread; ++i) {
    const int b = kBins - 1 - (threadIdx.x * kBinsPerThread + i);
    const unsigned long long w = weight(b);
    if (above < target && target <= above + w) {  // exactly one bin in the block
      sh.chosen_bin = b;
      sh.chosen_above = above;
    }
    above += w;
  }
  __syncthreads();
  const int b = sh.chosen_bin;
  __syncthreads();  // sh.chosen_* may be rewritten by the next call
  return b;
}

// Fills the histogram of digit `d` over candidates: keys >= lower whose bits above digit d equal
// `prefix`. Mass needs the row max.
template <typename T, int VEC>
__device__ void fill_histogram(Shared& sh, const Row<T, VEC>& row, int d, std::uint32_t prefix,
                               std::uint32_t lower, bool with_mass, float max) {
  __syncthreads();  // every thread is done reading the previous histogram
  clear_histogram(sh.big.histogram);
  __syncthreads();
  const int low = digit_low(d);
  const std::uint32_t digit_mask = (1u << digit_width(d)) - 1u;
  const int above_low = d > 0 ? digit_low(d - 1) : 32;
  for_each_value(row, [&](int, float x) {
    const std::uint32_t key = order_key(x);
    if (key < lower || key == 0u) return;
    if (above_low < 32 && (key >> above_low) != prefix) return;
    const int b = static_cast<int>((key >> low) & digit_mask);
    atomicAdd(&sh.big.histogram.count[b], 1u);
    if (with_mass) atomicAdd(&sh.big.histogram.mass[b], static_cast<unsigned long long>(fixed_mass(x, max)));
  });
  __syncthreads();
}

template <typename T, int VEC>
__global__ void __launch_bounds__(kThreads, 2)  // two rows per SM: at most 64 registers
    sampling_kernel(const T* logits, std::int64_t vocab64, std::int64_t row_stride,
                    const SamplingParams* params, const float* uniforms,
                    const std::int32_t* banned, const std::int32_t* history,
                    std::int64_t history_capacity, const std::int32_t* history_lengths,
                    const std::int32_t* prompt_lengths, std::int64_t* tokens) {
  __shared__ Shared sh;
  extern __shared__ __align__(16) unsigned char dynamic_shared[];

  const std::int64_t r = blockIdx.x;
  const int vocab = static_cast<int>(vocab64);
  Row<T, VEC> row;
  row.logits = logits + r * row_stride;
  row.vocab = vocab;
  row.p = params[r];
  row.banned = banned ? banned[r] : -1;
  row.greedy = row.p.temperature == 0.0f;
  row.temper = !row.greedy && row.p.temperature != 1.0f;
  row.penalised = history != nullptr &&
                  (row.p.repetition_penalty != 1.0f || row.p.presence_penalty != 0.0f ||
                   row.p.frequency_penalty != 0.0f);
  row.table_count = 0;
  if (row.penalised) {
    const int words = (vocab + 31) / 32;
    row.table.mask = reinterpret_cast<std::uint32_t*>(dynamic_shared);
    row.table.tokens = reinterpret_cast<std::int32_t*>(dynamic_shared + 4 * words);
    row.table.values = reinterpret_cast<float*>(dynamic_shared + 4 * words + 4 * kSamplingMaxHistory);
    const int capacity = static_cast<int>(history_capacity);
    const int length = min(max(history_lengths[r], 0), capacity);
    const int prompt = min(max(prompt_lengths[r], 0), length);
    row.table_count = build_penalties<T, VEC>(sh, row.table, row.logits, vocab, row.p,
                                              history + r * history_capacity, length, prompt);
  }

  // Pass 1: max and argmax (lowest index among equal maxima) of the finite values; with top_k,
  // also the count histogram of the first digit.
  const bool top_k = !row.greedy && row.p.top_k > 0 && row.p.top_k < vocab;
  if (top_k) {
    clear_histogram(sh.big.histogram);
    __syncthreads();
  }
  ArgMax best{-INFINITY, INT_MAX};
  for_each_value(row, [&](int i, float x) {
    if (!isfinite(x)) return;
    if (x > best.value || best.index == INT_MAX) best = {x, i};  // ascending i: first max wins
    if (top_k) atomicAdd(&sh.big.histogram.count[order_key(x) >> digit_low(0)], 1u);
  });
  best = ReduceArgMax(sh.small.reduce_argmax).Reduce(best, [](const ArgMax& a, const ArgMax& b) {
    if (a.index == INT_MAX) return b;
    if (b.index == INT_MAX) return a;
    if (a.value != b.value) return a.value > b.value ? a : b;
    return a.index < b.index ? a : b;
  });
  if (threadIdx.x == 0) {
    sh.max = best.value;
    sh.argmax = best.index;
  }
  __syncthreads();
  const float max = sh.max;
  if (sh.argmax == INT_MAX || row.greedy) {
    if (threadIdx.x == 0) tokens[r] = sh.argmax == INT_MAX ? -1 : sh.argmax;
    return;
  }

  std::uint32_t keep = 1u;  // the kept set: key >= keep (1: every finite value)
  bool mass_known = false;  // `kept_mass` is the mass of the kept set
  unsigned long long kept_mass = 0;

  // top_k: the k-th largest key by count select; its ties are kept.
  if (top_k) {
    unsigned long long need = static_cast<unsigned long long>(row.p.top_k);
    std::uint32_t prefix = 0;
    for (int d = 0; d < kDigits; ++d) {
      if (d > 0) fill_histogram(sh, row, d, prefix, 1u, false, max);
      const Histogram& h = sh.big.histogram;
      const int b = choose_bin(sh, need, [&](int bin) { return static_cast<unsigned long long>(h.count[bin]); });
      if (b < 0) break;  // fewer than k finite values: nothing to remove
      const unsigned long long above = sh.chosen_above;  // read before the next pass reuses it
      prefix = (prefix << digit_width(d)) | static_cast<std::uint32_t>(b);
      if (above + h.count[b] == need || d == kDigits - 1) {
        keep = prefix << digit_low(d);  // the whole bin is kept and nothing below it
        break;
      }
      need -= above;
      __syncthreads();
    }
  }

  // top_p: the largest key whose kept mass at or above it reaches top_p of the kept total.
  if (row.p.top_p < 1.0f) {
    std::uint32_t prefix = 0;
    unsigned long long target = 0, mass_above = 0;
    for (int d = 0; d < kDigits; ++d) {
      fill_histogram(sh, row, d, prefix, keep, true, max);
      const Histogram& h = sh.big.histogram;
      if (d == 0) {
        unsigned long long mine = 0;
        for (int b = threadIdx.x; b < kBins; b += kThreads) mine += h.mass[b];
        const unsigned long long total = ReduceU64(sh.small.reduce_u64).Sum(mine);
        if (threadIdx.x == 0) sh.chosen_above = total;
        __syncthreads();
        target = static_cast<unsigned long long>(
            ceil(static_cast<double>(row.p.top_p) * static_cast<double>(sh.chosen_above)));
        __syncthreads();
      }
      const int b = choose_bin(sh, target, [&](int bin) { return h.mass[bin]; });
      if (b < 0) break;  // unreachable: 0 < target <= total
      const unsigned long long above = sh.chosen_above;
      prefix = (prefix << digit_width(d)) | static_cast<std::uint32_t>(b);
      mass_above += above;
      if (h.count[b] == 1u || d == kDigits - 1) {
        const std::uint32_t threshold = prefix << digit_low(d);
        if (threshold > keep) keep = threshold;
        kept_mass = mass_above + h.mass[b];
        mass_known = true;
        break;
      }
      target -= above;
      __syncthreads();
    }
  }

  // min_p: p >= min_p * max p  <=>  x >= max + ln(min_p), rounded up to the next float so the
  // float comparison is the exact one.
  if (row.p.min_p > 0.0f) {
    const float cut = __double2float_ru(static_cast<double>(max) + log(static_cast<double>(row.p.min_p)));
    const std::uint32_t threshold = order_key(cut);
    if (threshold > keep) {
      keep = threshold;
      mass_known = false;
    }
  }

  if (!mass_known) {
    __syncthreads();  // sh.chosen_above is read above and rewritten below
    unsigned long long mine = 0;
    for_each_value(row, [&](int, float x) {
      if (order_key(x) >= keep) mine += fixed_mass(x, max);
    });
    const unsigned long long total = ReduceU64(sh.small.reduce_u64).Sum(mine);
    if (threadIdx.x == 0) sh.chosen_above = total;
    __syncthreads();
    kept_mass = sh.chosen_above;
    __syncthreads();
  }

  // The choice: the first kept index whose inclusive prefix mass exceeds floor(u * Z), tile by
  // tile in vocabulary order. Integer sums are exact, so the prefix is monotone and the crossing
  // exists whenever u < 1; should it not, the last kept index (never a removed token).
  const double u = static_cast<double>(uniforms[r]);
  const unsigned long long target =
      static_cast<unsigned long long>(floor(u * static_cast<double>(kept_mass)));
  if (threadIdx.x == 0) sh.token = -1;
  __syncthreads();
  unsigned long long before = 0;  // mass of the tiles already scanned (same in every thread)
  int last_kept = -1;
  for (int tile = 0; tile < vocab; tile += kThreads * VEC) {
    const int i0 = tile + threadIdx.x * VEC;
    float x[VEC];
    unsigned long long q[VEC];
    bool kept[VEC];
    unsigned long long mine = 0;
    if (i0 < vocab) {
      row.values(i0, x);
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        kept[k] = order_key(x[k]) >= keep;
        q[k] = kept[k] ? fixed_mass(x[k], max) : 0ull;
        mine += q[k];
        if (kept[k]) last_kept = i0 + k;
      }
    }
    unsigned long long start = 0, tile_mass = 0;
    ScanU64(sh.small.scan_u64).ExclusiveSum(mine, start, tile_mass);
    if (before + tile_mass > target) {  // the crossing is in this tile (same decision everywhere)
      if (i0 < vocab) {
        unsigned long long cumulative = before + start;
#pragma unroll
        for (int k = 0; k < VEC; ++k) {
          const unsigned long long previous = cumulative;
          cumulative += q[k];
          if (kept[k] && previous <= target && cumulative > target) sh.token = i0 + k;
        }
      }
      __syncthreads();
      break;
    }
    before += tile_mass;
    __syncthreads();  // the scan's storage is reused by the next tile
  }
  if (sh.token < 0) {  // no crossing (not expected): the last kept index
    const int last = ReduceInt(sh.small.reduce_int).Reduce(last_kept, [](int a, int b) { return a > b ? a : b; });
    if (threadIdx.x == 0) sh.token = last;
    __syncthreads();
  }
  if (threadIdx.x == 0) tokens[r] = sh.token;
}

template <typename T, int VEC>
cudaError_t launch(const SamplingBatch& b, std::size_t dynamic_bytes, cudaStream_t stream) {
  auto kernel = sampling_kernel<T, VEC>;
  if (dynamic_bytes > 0) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               static_cast<int>(dynamic_bytes));
    if (e != cudaSuccess) return e;
  }
  kernel<<<static_cast<unsigned int>(b.batch), kThreads, dynamic_bytes, stream>>>(
      static_cast<const T*>(b.logits), b.vocab, b.row_stride, b.params, b.uniforms, b.banned,
      b.history, b.history_capacity, b.history_lengths, b.prompt_lengths, b.tokens);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_typed(const SamplingBatch& b, std::size_t dynamic_bytes, cudaStream_t stream) {
  constexpr int kVec = 16 / sizeof(T);
  const auto address = reinterpret_cast<std::uintptr_t>(b.logits);
  const bool aligned = address % 16 == 0 && b.row_stride % kVec == 0 && b.vocab % kVec == 0;
  return aligned ? launch<T, kVec>(b, dynamic_bytes, stream) : launch<T, 1>(b, dynamic_bytes, stream);
}

}  // namespace

bool sampling_fits(std::int64_t vocab, std::int64_t history_capacity, bool penalties) {
  if (vocab <= 0 || vocab >= (std::int64_t{1} << 31) - 1) return false;
  if (!penalties) return true;
  if (history_capacity < 0 || history_capacity > kSamplingMaxHistory) return false;
  int device = 0, optin = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  if (cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
    return false;
  }
  cudaFuncAttributes attributes{};
  if (cudaFuncGetAttributes(&attributes, sampling_kernel<float, 4>) != cudaSuccess) return false;
  return attributes.sharedSizeBytes + penalty_bytes(vocab) <= static_cast<std::size_t>(optin);
}

cudaError_t sample_tokens(const SamplingBatch& b, cudaStream_t stream) {
  if (b.batch == 0) return cudaSuccess;
  const bool penalties = b.history != nullptr;
  if (b.batch < 0 || b.batch > 0x7fffffff || b.row_stride < 0 || !b.logits || !b.params ||
      !b.uniforms || !b.tokens || !sampling_fits(b.vocab, b.history_capacity, penalties) ||
      (penalties && (!b.history_lengths || !b.prompt_lengths))) {
    return cudaErrorInvalidValue;
  }
  const std::size_t dynamic_bytes = penalties ? penalty_bytes(b.vocab) : 0;
  switch (b.type) {
    case LogitsType::f32: return launch_typed<float>(b, dynamic_bytes, stream);
    case LogitsType::bf16: return launch_typed<__nv_bfloat16>(b, dynamic_bytes, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace collapse::kernels
