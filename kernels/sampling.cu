// The fused sampler chain: see sampling.cuh for the contract and docs/sampling.md for the design.
#include "sampling.cuh"

#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <mutex>

namespace collapse::kernels {
namespace {

constexpr int kThreads = 512;  // per block; one block per row
constexpr int kWarps = kThreads / 32;
constexpr unsigned kFullMask = 0xffffffffu;

// History sorts: one key per thread for histories up to 512 tokens, eight up to 4096.
constexpr int kLongHistoryPerThread = static_cast<int>(kSamplingMaxHistory) / kThreads;
static_assert(kLongHistoryPerThread * kThreads == kSamplingMaxHistory);

// First-level bins: the distance of a value to the row max, 1/64 nat per bin, highest bin = the
// max. Bin 0 holds everything at least 2047/64 = 31.98 nats below the max, whose mass
// round(exp(-31.98) * 2^40) = round(0.014) is 0.
constexpr int kBins = 2048;
constexpr float kBinsPerNat = 64.0f;

// The exact select within one bin: 4 digits of 8 bits of the 32-bit key, most significant first.
constexpr int kDigitBits = 8;
constexpr int kDigits = 32 / kDigitBits;
constexpr int kDigitBins = 1 << kDigitBits;

// The shared buffer a bin's keys are compacted into; larger bins are read from the row instead.
constexpr int kCandidates = 4096;

constexpr float kMassScale = 1099511627776.0f;  // 2^40: q = 1 (the max) is 2^40 units

// Loads in flight per thread in the passes over the row: four float4 or two bf16x8 (16 values
// either way), and two scalars for unaligned rows (four would spill under the 64-register bound).
template <int VEC>
constexpr int kUnroll = VEC == 4 ? 4 : 2;

static_assert(kSamplingMaxVocab <= (std::int64_t{1} << 23),
              "sums of q <= 2^40 per token must fit uint64; indices must stay far below 2^31");

// ---------------------------------------------------------------------------------------------
// Values

// An order-preserving key: a < b as floats <=> key(a) < key(b); -0 and +0 share a key (they are
// equal logits). Removed tokens (non-finite after the chain) get 0, below every finite key.
__device__ __forceinline__ std::uint32_t order_key(float x) {
  if (!isfinite(x)) return 0u;
  const std::uint32_t bits = __float_as_uint(x == 0.0f ? 0.0f : x);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// The value of a finite key (the inverse of order_key; -0 comes back as +0, the same logit).
__device__ __forceinline__ float key_value(std::uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

// Fixed-point exp(x - max): the same float operations wherever it is evaluated, so every pass
// (and a value recovered from its key) gives the same integer.
__device__ __forceinline__ std::uint64_t fixed_mass(float x, float max) {
  const float q = expf(__fsub_rn(x, max));
  return __float2ull_rn(__fmul_rn(q, kMassScale));
}

// The first-level bin of a finite value: kBins - 1 - floor(64 * (max - x)), at least 0. Rounded
// subtraction and the exact scaling are monotone, so a higher bin always holds larger keys and
// equal keys share a bin: a select may take a bin whole and refine within it. (max - x may
// overflow to +inf: bin 0.)
__device__ __forceinline__ int relative_bin(float x, float max) {
  const float scaled = __fmul_rn(__fsub_rn(max, x), kBinsPerNat);
  return scaled >= static_cast<float>(kBins - 1) ? 0 : kBins - 1 - static_cast<int>(scaled);
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

using ShortHistorySort = cub::BlockRadixSort<std::uint32_t, kThreads, 1>;
using LongHistorySort = cub::BlockRadixSort<std::uint32_t, kThreads, kLongHistoryPerThread>;
// Warp-scan variants: a few words of shared memory instead of the raking grid's kilobytes.
using ScanU64 = cub::BlockScan<unsigned long long, kThreads, cub::BLOCK_SCAN_WARP_SCANS>;
using ScanInt = cub::BlockScan<int, kThreads, cub::BLOCK_SCAN_WARP_SCANS>;
using ReduceU64 = cub::BlockReduce<unsigned long long, kThreads>;
using ReduceInt = cub::BlockReduce<int, kThreads>;

struct ArgMax {
  float value;
  int index;  // INT_MAX when no value is finite
};
using ReduceArgMax = cub::BlockReduce<ArgMax, kThreads>;

// Count and mass per bin. The mass is kept as two 32-bit words updated with 32-bit atomics and an
// explicit carry: a 64-bit shared atomicAdd compiles to a compare-and-swap loop.
template <int N>
struct Histogram {
  unsigned int count[N];
  unsigned int mass_low[N];
  unsigned int mass_high[N];

  __device__ __forceinline__ unsigned long long mass(int b) const {
    return (static_cast<unsigned long long>(mass_high[b]) << 32) | mass_low[b];
  }
  // The caller synchronises before and after.
  __device__ __forceinline__ void clear() {
    for (int b = threadIdx.x; b < N; b += kThreads) count[b] = mass_low[b] = mass_high[b] = 0u;
  }
};

struct Shared {
  union {
    ShortHistorySort::TempStorage short_sort;  // only while the history is sorted
    LongHistorySort::TempStorage long_sort;
    std::uint32_t sorted[kSamplingMaxHistory];  // the sorted history keys, until the table is built
    Histogram<kBins> bins;                      // first-level bins, from the histogram pass on
  } big;
  Histogram<kDigitBins> digits;         // the select within one bin
  std::uint32_t candidates[kCandidates];  // keys of one bin, compacted
  union {
    ScanU64::TempStorage scan_u64;
    ScanInt::TempStorage scan_int;
    ReduceU64::TempStorage reduce_u64;
    ReduceInt::TempStorage reduce_int;
    ReduceArgMax::TempStorage reduce_argmax;
  } small;
  unsigned long long parts[kWarps];  // the choice: mass of each warp's part of the range
  // Block-wide results, written by one thread and read by all after a barrier.
  unsigned long long scalar;
  int candidate_count;
  int chosen_bin;
  unsigned long long chosen_above;
  int token;
  float max;
  int argmax;
};

// Dynamic shared memory, only when penalties are on: a bitmask over the vocabulary (bit t: token t
// is penalised), then the penalised tokens (ascending) and their penalised values, at most one
// per history slot.
struct PenaltyTable {
  std::uint32_t* mask;   // [ceil(vocab / 32)]
  std::int32_t* tokens;  // [history_capacity]
  float* values;         // [history_capacity]
};

std::size_t penalty_bytes(std::int64_t vocab, std::int64_t history_capacity) {
  const std::int64_t words = (vocab + 31) / 32;
  return static_cast<std::size_t>(words * 4 + history_capacity * 8);
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
// Warp and block helpers

// Adds one value per lane to bin `bin` of `h` (lanes with !valid add nothing). Lanes with the same
// bin are combined first, so one atomic per distinct bin per warp reaches shared memory: a row's
// values crowd into few bins, and lanes hitting one address serialise. All 32 lanes must call.
// The mass is summed in 20-bit halves (q <= 2^40: 32 lanes cannot overflow 32 bits).
template <int N>
__device__ __forceinline__ void add_to_bin(Histogram<N>& h, bool valid, int bin, std::uint64_t q,
                                           bool with_mass) {
  const unsigned peers = __match_any_sync(kFullMask, valid ? bin : -1);
  if (!valid) return;
  const bool leader = static_cast<int>(threadIdx.x & 31u) == __ffs(peers) - 1;
  if (with_mass) {
    const unsigned low = __reduce_add_sync(peers, static_cast<unsigned>(q & 0xfffffu));
    const unsigned high = __reduce_add_sync(peers, static_cast<unsigned>(q >> 20));
    if (leader) {
      const unsigned long long m = (static_cast<unsigned long long>(high) << 20) + low;
      const unsigned add_low = static_cast<unsigned>(m);
      const unsigned old = atomicAdd(&h.mass_low[bin], add_low);
      const unsigned carry = old + add_low < old ? 1u : 0u;  // this add wrapped the low word
      const unsigned add_high = static_cast<unsigned>(m >> 32) + carry;
      if (add_high != 0u) atomicAdd(&h.mass_high[bin], add_high);
    }
  }
  if (leader) atomicAdd(&h.count[bin], static_cast<unsigned>(__popc(peers)));
}

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// The block's sum, in every thread.
__device__ unsigned long long block_sum(Shared& sh, unsigned long long mine) {
  const unsigned long long total = ReduceU64(sh.small.reduce_u64).Sum(mine);
  if (threadIdx.x == 0) sh.scalar = total;
  __syncthreads();
  const unsigned long long out = sh.scalar;
  __syncthreads();  // sh.small and sh.scalar are reused
  return out;
}

struct Chosen {
  int bin;  // -1 when the total weight stays below the target
  unsigned long long above;  // the weight of the bins above it
};

// Block-wide: scanning N bins from the highest down, the bin b where the running weight (count,
// or mass) first reaches `target`: above(b) < target <= above(b) + weight(b).
template <int N, typename Weight>
__device__ Chosen choose_bin(Shared& sh, unsigned long long target, Weight weight) {
  constexpr int kPerThread = N >= kThreads ? N / kThreads : 1;
  static_assert(N < kThreads || kPerThread * kThreads == N);
  // Thread j owns bins N - 1 - (j * kPerThread + i), i.e. thread 0 the highest keys.
  const bool owns = static_cast<int>(threadIdx.x) * kPerThread < N;
  unsigned long long mine = 0;
  if (owns) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) mine += weight(N - 1 - (static_cast<int>(threadIdx.x) * kPerThread + i));
  }
  if (threadIdx.x == 0) sh.chosen_bin = -1;
  __syncthreads();
  unsigned long long above = 0;
  ScanU64(sh.small.scan_u64).ExclusiveSum(mine, above);
  if (owns) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int b = N - 1 - (static_cast<int>(threadIdx.x) * kPerThread + i);
      const unsigned long long w = weight(b);
      if (above < target && target <= above + w) {  // exactly one bin in the block
        sh.chosen_bin = b;
        sh.chosen_above = above;
      }
      above += w;
    }
  }
  __syncthreads();
  const Chosen out{sh.chosen_bin, sh.chosen_above};
  __syncthreads();  // sh.chosen_* and sh.small may be rewritten by the next call
  return out;
}

// ---------------------------------------------------------------------------------------------
// One row

// The dynamic shared memory (the penalty table, sampling_kernel sets it up).
extern __shared__ __align__(16) unsigned char dynamic_shared[];

// What every pass needs of one row, kept small: it stays in registers for the whole kernel.
template <typename T, int VEC>
struct Row {
  const T* logits;
  int vectors;            // vocab / VEC (VEC > 1 only where VEC divides vocab)
  int banned;
  float temperature;
  bool temper;            // divide by the temperature (not greedy, temperature != 1)
  bool penalised;         // the table in dynamic_shared holds this row's penalties
  int table_count;        // distinct penalised tokens
  int table_values;       // byte offset of PenaltyTable::values (tokens follow the mask)
  int table_tokens;       // byte offset of PenaltyTable::tokens

  // The penalised value of token t, which the table holds (binary search over its tokens).
  __device__ __forceinline__ float penalised_value(int t) const {
    const auto* tokens = reinterpret_cast<const std::int32_t*>(dynamic_shared + table_tokens);
    int lo = 0, hi = table_count;
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (tokens[mid] <= t) lo = mid; else hi = mid;
    }
    return reinterpret_cast<const float*>(dynamic_shared + table_values)[lo];
  }

  // The raw logits of vector v (tokens v * VEC ..), split from chain() so that a loop can issue
  // several loads before it uses any.
  __device__ __forceinline__ void load(int v, float (&x)[VEC]) const {
    Load<T, VEC>::run(logits + v * VEC, x);
  }

  // The chain's values (penalties, banned, temperature) from the raw logits of vector v.
  __device__ __forceinline__ void chain(int v, float (&x)[VEC]) const {
    const int i0 = v * VEC;
    if (penalised) {
      const auto* mask = reinterpret_cast<const std::uint32_t*>(dynamic_shared);
      const std::uint32_t bits = mask[i0 >> 5] >> (i0 & 31);  // VEC divides 32: one word
      if (bits & ((1u << VEC) - 1u)) {
#pragma unroll
        for (int k = 0; k < VEC; ++k) {
          if ((bits >> k) & 1u) x[k] = penalised_value(i0 + k);
        }
      }
    }
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      if (i0 + k == banned) x[k] = -INFINITY;
      if (temper) x[k] = __fdiv_rn(x[k], temperature);
    }
  }
};

// Calls visit(valid, index, value) for every token of the row, thread t taking vectors t, t + 512,
// ... (coalesced 16-byte loads), U loads in flight. Every thread makes the same number of calls
// (valid = false past the row's end), so visit may use warp-synchronous intrinsics.
template <int U, typename T, int VEC, typename Visit>
__device__ __forceinline__ void for_each_value(const Row<T, VEC>& row, Visit visit) {
  int base = 0;
  for (; base + U * kThreads <= row.vectors; base += U * kThreads) {
    float x[U][VEC];
#pragma unroll
    for (int u = 0; u < U; ++u) row.load(base + u * kThreads + static_cast<int>(threadIdx.x), x[u]);
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int v = base + u * kThreads + static_cast<int>(threadIdx.x);
      row.chain(v, x[u]);
#pragma unroll
      for (int k = 0; k < VEC; ++k) visit(true, v * VEC + k, x[u][k]);
    }
  }
  for (; base < row.vectors; base += kThreads) {
    const int v = base + static_cast<int>(threadIdx.x);
    const bool valid = v < row.vectors;
    float x[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) x[k] = -INFINITY;
    if (valid) {
      row.load(v, x);
      row.chain(v, x);
    }
#pragma unroll
    for (int k = 0; k < VEC; ++k) visit(valid, v * VEC + k, x[k]);
  }
}

// ---------------------------------------------------------------------------------------------
// Penalties

// The history's keys token * 2 + (generated ? 1 : 0) sorted into sh.big.sorted[0, ITEMS * 512),
// empty slots and foreign tokens last as the sentinel (all `bits` bits set). Keys are loaded
// striped (coalesced): the sort does not care where they start.
template <int ITEMS, typename Sort>
__device__ void sort_history(typename Sort::TempStorage& storage, std::uint32_t* sorted,
                             const std::int32_t* history, int length, int prompt_length, int vocab,
                             int bits) {
  const std::uint32_t sentinel = (1u << bits) - 1u;
  std::uint32_t keys[ITEMS];
#pragma unroll
  for (int k = 0; k < ITEMS; ++k) {
    const int i = k * kThreads + static_cast<int>(threadIdx.x);
    keys[k] = sentinel;
    if (i < length) {
      const std::int32_t t = history[i];
      if (t >= 0 && t < vocab) {
        keys[k] = (static_cast<std::uint32_t>(t) << 1) | (i >= prompt_length ? 1u : 0u);
      }
    }
  }
  Sort(storage).Sort(keys, 0, bits);
  __syncthreads();  // `sorted` overlays the sort's storage
#pragma unroll
  for (int k = 0; k < ITEMS; ++k) sorted[threadIdx.x * ITEMS + k] = keys[k];  // blocked: in order
  __syncthreads();
}

// The penalised logit of token t (the reference's float operations), `generated` of its
// occurrences among the generated tokens.
template <typename T>
__device__ __forceinline__ float penalise(const T* logits, const SamplingParams& p, std::uint32_t t,
                                          int generated) {
  float x = widen(logits[t]);
  if (p.repetition_penalty != 1.0f) {
    x = x > 0.0f ? __fdiv_rn(x, p.repetition_penalty) : __fmul_rn(x, p.repetition_penalty);
  }
  if (generated > 0 && (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)) {
    const float penalty = __fadd_rn(__fmul_rn(p.frequency_penalty, static_cast<float>(generated)),
                                    p.presence_penalty);
    x = __fsub_rn(x, penalty);
  }
  return x;
}

// Applies the row's penalties once per distinct history token (the header's definition), filling
// the table and the bitmask. Returns the number of distinct tokens (in every thread).
template <typename T>
__device__ int build_penalties(Shared& sh, const PenaltyTable& table, const T* logits, int vocab,
                               const SamplingParams& p, const std::int32_t* history, int length,
                               int prompt_length) {
  const int words = (vocab + 31) / 32;
  for (int w = threadIdx.x; w < words; w += kThreads) table.mask[w] = 0u;
  if (length == 0) {
    __syncthreads();
    return 0;
  }
  // Keys < 2 * vocab <= 2^24: sort only the bits below the first power of two above 2 * vocab,
  // whose all-ones value (the sentinel) is above every real key.
  const int bits = 32 - __clz(2 * vocab);
  const std::uint32_t sentinel = (1u << bits) - 1u;
  std::uint32_t* sorted = sh.big.sorted;
  int n = kThreads;  // sorted slots (short histories need only one key per thread)
  if (length <= kThreads) {
    sort_history<1, ShortHistorySort>(sh.big.short_sort, sorted, history, length, prompt_length, vocab, bits);
  } else {
    sort_history<kLongHistoryPerThread, LongHistorySort>(sh.big.long_sort, sorted, history, length,
                                                         prompt_length, vocab, bits);
    n = static_cast<int>(kSamplingMaxHistory);
  }

  // The first position of each token's run is its head: count them, place them, then compute
  // each head's penalised logit into its slot of the table (ascending tokens).
  const int slots = n / kThreads;  // blocked: thread j holds [j * slots, (j + 1) * slots)
  int heads = 0;
  for (int k = 0; k < slots; ++k) {
    const int i = static_cast<int>(threadIdx.x) * slots + k;
    const std::uint32_t key = sorted[i];
    if (key != sentinel && (i == 0 || (sorted[i - 1] >> 1) != (key >> 1))) ++heads;
  }
  int offset = 0, distinct = 0;
  ScanInt(sh.small.scan_int).ExclusiveSum(heads, offset, distinct);
  for (int k = 0; k < slots; ++k) {
    const int i = static_cast<int>(threadIdx.x) * slots + k;
    const std::uint32_t key = sorted[i];
    if (key == sentinel || (i > 0 && (sorted[i - 1] >> 1) == (key >> 1))) continue;
    const std::uint32_t t = key >> 1;
    const int generated = lower_bound(sorted, n, 2 * t + 2) - lower_bound(sorted, n, 2 * t + 1);
    table.tokens[offset] = static_cast<std::int32_t>(t);
    table.values[offset] = penalise(logits, p, t, generated);
    ++offset;
    atomicOr(&table.mask[t >> 5], 1u << (t & 31));
  }
  __syncthreads();  // the table is complete; sh.big (sorted) and sh.small are free
  return distinct;
}

// ---------------------------------------------------------------------------------------------
// Thresholds: the first-level histogram, compaction of one bin, the exact select within it

// Where a select's candidates are: the finite values of first-level bin `bin` with key >= lower,
// either compacted in sh.candidates (buffered: `count` of them, maybe with keys below `lower`
// still to skip) or to be read from the row.
struct Candidates {
  bool buffered;
  int count;
  int bin;
  std::uint32_t lower;
};

// Calls visit(valid, key, value) for every candidate; every thread makes the same number of calls.
template <typename T, int VEC, typename Visit>
__device__ __forceinline__ void for_each_candidate(const Shared& sh, const Row<T, VEC>& row,
                                                   float max, const Candidates& c, Visit visit) {
  if (c.buffered) {
    for (int base = 0; base < c.count; base += kThreads) {
      const int i = base + static_cast<int>(threadIdx.x);
      const std::uint32_t key = i < c.count ? sh.candidates[i] : 0u;
      visit(key != 0u && key >= c.lower, key, key_value(key));
    }
  } else {  // the rare bin of more than kCandidates values: lean on registers, not on speed
    for_each_value<1>(row, [&](bool valid, int, float x) {
      const std::uint32_t key = order_key(x);
      visit(valid && key != 0u && key >= c.lower && relative_bin(x, max) == c.bin, key, x);
    });
  }
}

// The first-level histogram of every finite value (count; mass when `with_mass`).
template <typename T, int VEC>
__device__ void fill_bins(Shared& sh, const Row<T, VEC>& row, float max, bool with_mass) {
  sh.big.bins.clear();
  __syncthreads();
  for_each_value<kUnroll<VEC>>(row, [&](bool valid, int, float x) {
    const bool finite = valid && isfinite(x);
    const int bin = finite ? relative_bin(x, max) : 0;
    add_to_bin(sh.big.bins, finite, bin, finite && with_mass ? fixed_mass(x, max) : 0ull, with_mass);
  });
  __syncthreads();
}

// The candidates of first-level bin `bin` with key >= lower: compacted into sh.candidates with one
// more pass over the row when the bin holds at most kCandidates values (its count), else read
// from the row by every pass of the select.
template <typename T, int VEC>
__device__ Candidates gather(Shared& sh, const Row<T, VEC>& row, float max, int bin,
                             std::uint32_t lower) {
  Candidates c{false, 0, bin, lower};
  if (sh.big.bins.count[bin] > static_cast<unsigned>(kCandidates)) return c;
  if (threadIdx.x == 0) sh.candidate_count = 0;
  __syncthreads();
  const int lane = static_cast<int>(threadIdx.x & 31u);
  for_each_value<kUnroll<VEC>>(row, [&](bool valid, int, float x) {
    const std::uint32_t key = order_key(x);
    const bool take = valid && key != 0u && key >= lower && relative_bin(x, max) == bin;
    const unsigned ballot = __ballot_sync(kFullMask, take);
    if (ballot == 0u) return;  // the usual case: one vote per warp and value
    const int leader = __ffs(ballot) - 1;
    int start = 0;
    if (lane == leader) start = atomicAdd(&sh.candidate_count, __popc(ballot));
    start = __shfl_sync(kFullMask, start, leader);
    const int slot = start + __popc(ballot & ((1u << lane) - 1u));
    if (take && slot < kCandidates) sh.candidates[slot] = key;  // slot < count <= kCandidates
  });
  __syncthreads();
  c.buffered = true;
  c.count = min(sh.candidate_count, kCandidates);
  return c;
}

// The exact key at which the candidates' running weight (count, or mass when `by_mass`), from
// the largest key down, first reaches `need` (1 <= need <= their total weight): a radix select of
// 4 digits of 8 bits. The result is a key of one of the candidates, so {key >= result} keeps
// everything above the candidates' bin and nothing below it.
template <typename T, int VEC>
__device__ std::uint32_t select_key(Shared& sh, const Row<T, VEC>& row, float max,
                                    const Candidates& c, unsigned long long need, bool by_mass) {
  Histogram<kDigitBins>& h = sh.digits;
  std::uint32_t prefix = 0;
  for (int d = 0; d < kDigits; ++d) {
    const int shift = 32 - kDigitBits * (d + 1);
    h.clear();
    __syncthreads();
    for_each_candidate(sh, row, max, c, [&](bool valid, std::uint32_t key, float x) {
      const bool mine = valid && (d == 0 || (key >> (shift + kDigitBits)) == prefix);
      const int bin = static_cast<int>((key >> shift) & (kDigitBins - 1));
      add_to_bin(h, mine, bin, mine && by_mass ? fixed_mass(x, max) : 0ull, by_mass);
    });
    __syncthreads();
    const Chosen chosen = choose_bin<kDigitBins>(sh, need, [&](int b) {
      return by_mass ? h.mass(b) : static_cast<unsigned long long>(h.count[b]);
    });
    // chosen.bin >= 0: the candidates with this prefix weigh at least `need` (the invariant).
    need -= chosen.above;
    prefix = (prefix << kDigitBits) | static_cast<std::uint32_t>(chosen.bin < 0 ? 0 : chosen.bin);
  }
  return prefix;
}

// The total mass of the candidates (every thread gets it).
template <typename T, int VEC>
__device__ unsigned long long candidate_mass(Shared& sh, const Row<T, VEC>& row, float max,
                                             const Candidates& c) {
  unsigned long long mine = 0;
  for_each_candidate(sh, row, max, c, [&](bool valid, std::uint32_t, float x) {
    if (valid) mine += fixed_mass(x, max);
  });
  return block_sum(sh, mine);
}

// top_k (0: off) and top_p (1: off): the key threshold of the kept set (1: every finite value),
// from one histogram pass and an exact select within the bin holding each threshold.
template <typename T, int VEC>
__device__ std::uint32_t filter_threshold(Shared& sh, const Row<T, VEC>& row, float max,
                                          int top_k, float top_p) {
  fill_bins(sh, row, max, top_p < 1.0f);
  const Histogram<kBins>& h = sh.big.bins;
  std::uint32_t keep = 1u;
  int kept_bin = 0;  // bins above it are kept whole, it from `keep` on, bins below it not at all
  Candidates held{false, 0, -1, 1u};  // what sh.candidates holds
  bool refined = false;               // keep lies inside kept_bin

  // top_k: the k-th largest key (its ties are kept).
  if (top_k > 0) {
    const unsigned long long k = static_cast<unsigned long long>(top_k);
    const Chosen chosen = choose_bin<kBins>(sh, k, [&](int b) { return static_cast<unsigned long long>(h.count[b]); });
    // bin -1: fewer than k finite values, nothing to remove. Bin 0 has no mass: whichever of its
    // values top_k keeps, the kept mass and every draw are the same, so keep them all.
    if (chosen.bin > 0) {
      held = gather(sh, row, max, chosen.bin, 1u);
      keep = select_key(sh, row, max, held, k - chosen.above, false);
      kept_bin = chosen.bin;
      refined = true;
    }
  }

  // top_p: the largest key whose kept mass at or above it reaches ceil(top_p * kept total).
  if (top_p < 1.0f) {
    Candidates in_kept_bin{held.buffered && held.bin == kept_bin, held.count, kept_bin, keep};
    const unsigned long long kept_bin_mass =
        refined ? candidate_mass(sh, row, max, in_kept_bin) : h.mass(kept_bin);
    unsigned long long mine = 0;
    for (int b = kept_bin + 1 + static_cast<int>(threadIdx.x); b < kBins; b += kThreads) mine += h.mass(b);
    const unsigned long long total = block_sum(sh, mine) + kept_bin_mass;  // > 0: the max is kept
    unsigned long long target = static_cast<unsigned long long>(
        ceil(static_cast<double>(top_p) * static_cast<double>(total)));
    if (target == 0) target = 1;
    if (target > total) target = total;  // double rounding of a total above 2^53
    const Chosen chosen = choose_bin<kBins>(sh, target, [&](int b) {
      return b > kept_bin ? h.mass(b) : b == kept_bin ? kept_bin_mass : 0ull;
    });
    // chosen.bin >= 1 (bin 0 and removed bins weigh nothing).
    const int bin = chosen.bin < 0 ? 0 : chosen.bin;
    const std::uint32_t lower = bin == kept_bin ? keep : 1u;
    const Candidates c = held.buffered && held.bin == bin ? Candidates{true, held.count, bin, lower}
                                                          : gather(sh, row, max, bin, lower);
    const std::uint32_t threshold = select_key(sh, row, max, c, target - chosen.above, true);
    if (threshold > keep) keep = threshold;
  }
  return keep;
}

// ---------------------------------------------------------------------------------------------
// The choice

// Warp-cooperative: the kept mass of vectors [begin, end) (lanes take every 32nd vector,
// coalesced, kUnroll loads in flight), in every lane; `last_kept` becomes at least this lane's
// last kept index in the range.
template <typename T, int VEC>
__device__ __forceinline__ unsigned long long range_mass(const Row<T, VEC>& row, float max,
                                                         std::uint32_t keep, int begin, int end,
                                                         int& last_kept) {
  constexpr int U = kUnroll<VEC>;
  unsigned long long sum = 0;
  auto absorb = [&](int v, float (&x)[VEC]) {
    row.chain(v, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      if (order_key(x[k]) >= keep) {
        sum += fixed_mass(x[k], max);
        if (v * VEC + k > last_kept) last_kept = v * VEC + k;  // later splits revisit lower indices
      }
    }
  };
  int v = begin + static_cast<int>(threadIdx.x & 31u);
  for (; v + (U - 1) * 32 < end; v += U * 32) {
    float x[U][VEC];
#pragma unroll
    for (int u = 0; u < U; ++u) row.load(v + u * 32, x[u]);
#pragma unroll
    for (int u = 0; u < U; ++u) absorb(v + u * 32, x[u]);
  }
  for (; v < end; v += 32) {
    float x[VEC];
    row.load(v, x);
    absorb(v, x);
  }
  return warp_sum(sum);
}

// Warp 0 over at most 32 vectors [begin, end) holding the crossing: a warp scan of the lanes'
// masses finds the lane, which walks its values. Writes sh.token when found.
template <typename T, int VEC>
__device__ void find_in_vectors(Shared& sh, const Row<T, VEC>& row, float max, std::uint32_t keep,
                                int begin, int end, unsigned long long before,
                                unsigned long long target) {
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const int v = begin + lane;
  float x[VEC];
  unsigned long long q[VEC];
  unsigned long long mine = 0;
#pragma unroll
  for (int k = 0; k < VEC; ++k) q[k] = 0ull;
  if (v < end) {
    row.load(v, x);
    row.chain(v, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      if (order_key(x[k]) >= keep) q[k] = fixed_mass(x[k], max);
      mine += q[k];
    }
  }
  unsigned long long inclusive = mine;
#pragma unroll
  for (int offset = 1; offset < 32; offset *= 2) {
    const unsigned long long other = __shfl_up_sync(kFullMask, inclusive, offset);
    if (lane >= offset) inclusive += other;
  }
  unsigned long long cumulative = before + inclusive - mine;
  if (cumulative > target || cumulative + mine <= target) return;  // not this lane's
#pragma unroll
  for (int k = 0; k < VEC; ++k) {
    const unsigned long long previous = cumulative;
    cumulative += q[k];
    if (previous <= target && cumulative > target) {  // q[k] > 0: a kept token
      sh.token = v * VEC + k;
      return;
    }
  }
}

// Inverse-transform sampling in vocabulary order: the first kept index whose inclusive prefix
// mass exceeds target = floor(u * Z). The row is split into 16 contiguous parts, one per warp;
// the parts' masses (exact integers) say which part holds the crossing, and that part is split
// again, until at most 32 vectors are left for one warp. The first split's total is Z. Reads:
// the row once, then 1/16, 1/256, ... of it. Should no index cross (impossible: target < Z),
// the last kept index.
template <typename T, int VEC>
__device__ int choose_token(Shared& sh, const Row<T, VEC>& row, float max, std::uint32_t keep,
                            double u) {
  const int warp = static_cast<int>(threadIdx.x >> 5);
  int lo = 0, hi = row.vectors, last_kept = -1;
  unsigned long long before = 0, target = 0;
  bool first = true;
  if (threadIdx.x == 0) sh.token = -1;
  do {
    const int part = (hi - lo + kWarps - 1) / kWarps;
    const int begin = min(lo + warp * part, hi), end = min(begin + part, hi);
    const unsigned long long mass = range_mass(row, max, keep, begin, end, last_kept);
    if ((threadIdx.x & 31u) == 0) sh.parts[warp] = mass;
    __syncthreads();
    if (first) {
      unsigned long long total = 0;
      for (int w = 0; w < kWarps; ++w) total += sh.parts[w];
      // u < 1 and total < 2^63; a product rounded up to the total is clamped below it.
      target = static_cast<unsigned long long>(floor(u * static_cast<double>(total)));
      target = total == 0 ? 0 : min(target, total - 1);
      first = false;
    }
    int j = 0;
    while (j < kWarps - 1 && before + sh.parts[j] <= target) before += sh.parts[j++];
    lo = min(lo + j * part, hi);
    hi = min(lo + part, hi);
    __syncthreads();  // sh.parts is rewritten by the next split
  } while (hi - lo > 32);
  if (warp == 0) find_in_vectors(sh, row, max, keep, lo, hi, before, target);
  __syncthreads();
  if (sh.token >= 0) return sh.token;
  const int last = ReduceInt(sh.small.reduce_int).Reduce(last_kept, [](int a, int b) { return a > b ? a : b; });
  if (threadIdx.x == 0) sh.token = last;
  __syncthreads();
  return sh.token;
}

// ---------------------------------------------------------------------------------------------
// The kernel

template <typename T, int VEC>
__global__ void __launch_bounds__(kThreads, 2)  // two rows per SM: at most 64 registers
    sampling_kernel(const T* logits, std::int64_t vocab64, std::int64_t row_stride,
                    const SamplingParams* params, const double* uniforms,
                    const std::int32_t* banned, const std::int32_t* history,
                    std::int64_t history_capacity, const std::int32_t* history_lengths,
                    const std::int32_t* prompt_lengths, std::int64_t* tokens) {
  __shared__ Shared sh;

  const std::int64_t r = blockIdx.x;
  const int vocab = static_cast<int>(vocab64);  // <= kSamplingMaxVocab
  const SamplingParams& p = params[r];
  const bool greedy = p.temperature == 0.0f;
  Row<T, VEC> row;
  row.logits = logits + r * row_stride;
  row.vectors = vocab / VEC;
  row.banned = banned ? banned[r] : -1;
  row.temperature = p.temperature;
  row.temper = !greedy && p.temperature != 1.0f;
  row.penalised = history != nullptr && (p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f ||
                                         p.frequency_penalty != 0.0f);
  row.table_count = 0;
  if (row.penalised) {
    const int words = (vocab + 31) / 32;
    const int capacity = static_cast<int>(history_capacity);
    row.table_tokens = 4 * words;
    row.table_values = 4 * words + 4 * capacity;
    const PenaltyTable table{reinterpret_cast<std::uint32_t*>(dynamic_shared),
                             reinterpret_cast<std::int32_t*>(dynamic_shared + row.table_tokens),
                             reinterpret_cast<float*>(dynamic_shared + row.table_values)};
    const int length = min(max(history_lengths[r], 0), capacity);
    const int prompt = min(max(prompt_lengths[r], 0), length);
    row.table_count = build_penalties<T>(sh, table, row.logits, vocab, p,
                                         history + r * history_capacity, length, prompt);
    row.penalised = row.table_count > 0;
  }

  // Pass 1: max and argmax (lowest index among equal maxima) of the finite values.
  ArgMax best{-INFINITY, INT_MAX};
  for_each_value<kUnroll<VEC>>(row, [&](bool valid, int i, float x) {
    if (!valid || !isfinite(x)) return;
    if (x > best.value || best.index == INT_MAX) best = {x, i};  // ascending i: first max wins
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
  if (sh.argmax == INT_MAX || greedy) {
    if (threadIdx.x == 0) tokens[r] = sh.argmax == INT_MAX ? -1 : sh.argmax;
    return;
  }

  const int top_k = p.top_k > 0 && p.top_k < vocab ? p.top_k : 0;
  const float top_p = p.top_p;
  std::uint32_t keep = top_k > 0 || top_p < 1.0f ? filter_threshold(sh, row, max, top_k, top_p) : 1u;

  // min_p: p >= min_p * max p  <=>  x >= max + ln(min_p), rounded up to the next float so the
  // float comparison is the exact one.
  const float min_p = p.min_p;
  if (min_p > 0.0f) {
    const float cut = __double2float_ru(static_cast<double>(max) + log(static_cast<double>(min_p)));
    const std::uint32_t threshold = order_key(cut);
    if (threshold > keep) keep = threshold;
  }

  const int token = choose_token(sh, row, max, keep, uniforms[r]);
  if (threadIdx.x == 0) tokens[r] = token;
}

// ---------------------------------------------------------------------------------------------
// Host side

template <typename T, int VEC>
cudaError_t launch(const SamplingBatch& b, std::size_t dynamic_bytes, cudaStream_t stream) {
  sampling_kernel<T, VEC><<<static_cast<unsigned int>(b.batch), kThreads, dynamic_bytes, stream>>>(
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

// One device's limits, queried once: the opt-in shared memory per block and the kernels' static
// shared memory. Filling them also raises every instantiation's dynamic shared memory limit to
// what is left, so launches need no attribute call.
struct DeviceLimits {
  bool ok = false;
  std::size_t optin = 0;
  std::size_t static_bytes = 0;
};

DeviceLimits query_limits(int device) {
  DeviceLimits out;
  int optin = 0;
  if (cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
    return out;
  }
  const void* kernels[] = {reinterpret_cast<const void*>(sampling_kernel<float, 1>),
                           reinterpret_cast<const void*>(sampling_kernel<float, 4>),
                           reinterpret_cast<const void*>(sampling_kernel<__nv_bfloat16, 1>),
                           reinterpret_cast<const void*>(sampling_kernel<__nv_bfloat16, 8>)};
  std::size_t static_bytes = 0;
  for (const void* k : kernels) {
    cudaFuncAttributes attributes{};
    if (cudaFuncGetAttributes(&attributes, k) != cudaSuccess) return out;
    static_bytes = std::max(static_bytes, attributes.sharedSizeBytes);
  }
  if (static_bytes > static_cast<std::size_t>(optin)) return out;
  for (const void* k : kernels) {
    if (cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(static_cast<std::size_t>(optin) - static_bytes)) != cudaSuccess) {
      return out;
    }
  }
  out.ok = true;
  out.optin = static_cast<std::size_t>(optin);
  out.static_bytes = static_bytes;
  return out;
}

// The current device's limits: cached for the first 64 devices (filled once each, thread-safe),
// queried on every call beyond.
DeviceLimits current_limits() {
  constexpr int kCachedDevices = 64;
  static std::once_flag once[kCachedDevices];
  static DeviceLimits limits[kCachedDevices];
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return {};
  if (device < 0 || device >= kCachedDevices) return query_limits(device);
  std::call_once(once[device], [device] { limits[device] = query_limits(device); });
  return limits[device];
}

}  // namespace

bool sampling_fits(std::int64_t vocab, std::int64_t history_capacity, bool penalties) {
  if (vocab <= 0 || vocab > kSamplingMaxVocab) return false;
  if (penalties && (history_capacity < 0 || history_capacity > kSamplingMaxHistory)) return false;
  const DeviceLimits limits = current_limits();
  if (!limits.ok) return false;
  const std::size_t dynamic_bytes = penalties ? penalty_bytes(vocab, history_capacity) : 0;
  return limits.static_bytes + dynamic_bytes <= limits.optin;
}

cudaError_t sample_tokens(const SamplingBatch& b, cudaStream_t stream) {
  if (b.batch == 0) return cudaSuccess;
  const bool penalties = b.history != nullptr;
  if (b.batch < 0 || b.batch > 0x7fffffff || b.row_stride < 0 || !b.logits || !b.params ||
      !b.uniforms || !b.tokens || !sampling_fits(b.vocab, b.history_capacity, penalties) ||
      (penalties && (!b.history_lengths || !b.prompt_lengths))) {
    return cudaErrorInvalidValue;
  }
  const std::size_t dynamic_bytes = penalties ? penalty_bytes(b.vocab, b.history_capacity) : 0;
  switch (b.type) {
    case LogitsType::f32: return launch_typed<float>(b, dynamic_bytes, stream);
    case LogitsType::bf16: return launch_typed<__nv_bfloat16>(b, dynamic_bytes, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace collapse::kernels
