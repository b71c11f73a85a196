// N-gram counting kernels (see ngram.cuh for the contract and ngram_count.h for the definitions).
#include "ngram.cuh"

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_run_length_encode.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_select.cuh>

#include <algorithm>
#include <climits>

#include "ngram_key.h"

namespace collapse::kernels {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(std::int64_t items) {
  return static_cast<unsigned>(std::max<std::int64_t>(1, (items + kThreads - 1) / kThreads));
}

// Carves a workspace into 256-byte-aligned arrays; with base == nullptr it only measures.
class Carver {
 public:
  explicit Carver(void* base) : base_(static_cast<char*>(base)) {}
  template <typename T>
  T* take(std::int64_t count) {
    offset_ = (offset_ + 255) / 256 * 256;
    T* p = base_ ? reinterpret_cast<T*>(base_ + offset_) : nullptr;
    offset_ += static_cast<std::size_t>(std::max<std::int64_t>(count, 0)) * sizeof(T);
    return p;
  }
  std::size_t used() const { return (offset_ + 255) / 256 * 256; }

 private:
  char* base_;
  std::size_t offset_ = 0;
};

#define COLLAPSE_CUDA_TRY(call)                      \
  do {                                               \
    const cudaError_t collapse_error_ = (call);      \
    if (collapse_error_ != cudaSuccess) return collapse_error_; \
  } while (0)

bool valid_order(int n, int id_bits) { return n >= 1 && n <= kMaxNgramOrder && id_bits >= 1 && id_bits <= 31; }

// window_start[d] = max(0, len_d - n + 1) for d < num_docs, 0 at num_docs (scanned afterwards).
__global__ void window_counts_kernel(const std::int64_t* doc_offsets, std::int64_t num_docs, int n,
                                     std::int64_t* window_start) {
  const std::int64_t d = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (d > num_docs) return;
  const std::int64_t count = d < num_docs ? doc_offsets[d + 1] - doc_offsets[d] - n + 1 : 0;
  window_start[d] = count > 0 ? count : 0;
}

// The document of window w: the largest d with window_start[d] <= w.
__device__ std::int64_t document_of(const std::int64_t* window_start, std::int64_t num_docs,
                                    std::int64_t w) {
  std::int64_t lo = 0, hi = num_docs;
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (window_start[mid] <= w) lo = mid; else hi = mid;
  }
  return lo;
}

__global__ void window_keys_kernel(const std::int32_t* tokens, const std::int64_t* doc_offsets,
                                   const std::int64_t* window_start, std::int64_t num_docs,
                                   std::int64_t windows, int n, int id_bits, std::uint64_t* keys,
                                   std::int32_t* docs) {
  const std::int64_t w = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (w >= windows) return;
  const std::int64_t d = document_of(window_start, num_docs, w);
  keys[w] = ngram_key(tokens + doc_offsets[d] + (w - window_start[d]), n, id_bits);
  if (docs) docs[w] = static_cast<std::int32_t>(d);
}

// Scans the window starts, then writes every window's key (and document, when docs != nullptr)
// in corpus order.
cudaError_t make_window_keys(const DeviceCorpus& c, int n, int id_bits, std::int64_t windows,
                             std::int64_t* window_start, std::uint64_t* keys, std::int32_t* docs,
                             void* cub_temp, std::size_t cub_bytes, cudaStream_t stream) {
  window_counts_kernel<<<blocks_for(c.num_docs + 1), kThreads, 0, stream>>>(c.doc_offsets, c.num_docs, n,
                                                                          window_start);
  COLLAPSE_CUDA_TRY(cudaGetLastError());
  COLLAPSE_CUDA_TRY(cub::DeviceScan::ExclusiveSum(cub_temp, cub_bytes, window_start, c.num_docs + 1, stream));
  window_keys_kernel<<<blocks_for(windows), kThreads, 0, stream>>>(
      c.tokens, c.doc_offsets, window_start, c.num_docs, windows, n, id_bits, keys, docs);
  return cudaGetLastError();
}

std::size_t scan_bytes(std::int64_t num_docs) {
  std::size_t bytes = 0;
  cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<std::int64_t*>(nullptr), num_docs + 1);
  return bytes;
}

// --- ngram_counts ---------------------------------------------------------------------------

struct CountsLayout {
  std::int64_t* window_start;
  std::uint64_t *keys_a, *keys_b;
  void* cub_temp;
  std::size_t cub_bytes;
  std::size_t total;
};

CountsLayout counts_layout(void* base, std::int64_t num_docs, std::int64_t windows) {
  CountsLayout l{};
  Carver carve(base);
  l.window_start = carve.take<std::int64_t>(num_docs + 1);
  l.keys_a = carve.take<std::uint64_t>(windows);
  l.keys_b = carve.take<std::uint64_t>(windows);
  std::size_t sort = 0, rle = 0;
  cub::DoubleBuffer<std::uint64_t> keys(l.keys_a, l.keys_b);
  cub::DeviceRadixSort::SortKeys(nullptr, sort, keys, static_cast<int>(windows), 0, 64);
  cub::DeviceRunLengthEncode::Encode(nullptr, rle, static_cast<std::uint64_t*>(nullptr),
                                     static_cast<std::uint64_t*>(nullptr),
                                     static_cast<std::uint32_t*>(nullptr),
                                     static_cast<std::int64_t*>(nullptr), static_cast<int>(windows));
  l.cub_bytes = std::max({scan_bytes(num_docs), sort, rle});
  l.cub_temp = carve.take<char>(static_cast<std::int64_t>(l.cub_bytes));
  l.total = carve.used();
  return l;
}

// --- count_histogram --------------------------------------------------------------------------

struct HistogramLayout {
  std::uint32_t *a, *b;
  void* cub_temp;
  std::size_t cub_bytes;
  std::size_t total;
};

HistogramLayout histogram_layout(void* base, std::int64_t capacity) {
  HistogramLayout l{};
  Carver carve(base);
  l.a = carve.take<std::uint32_t>(capacity);
  l.b = carve.take<std::uint32_t>(capacity);
  std::size_t sort = 0, rle = 0;
  cub::DoubleBuffer<std::uint32_t> keys(l.a, l.b);
  cub::DeviceRadixSort::SortKeys(nullptr, sort, keys, static_cast<int>(capacity), 0, 32);
  cub::DeviceRunLengthEncode::Encode(nullptr, rle, static_cast<std::uint32_t*>(nullptr),
                                     static_cast<std::uint32_t*>(nullptr),
                                     static_cast<std::uint32_t*>(nullptr),
                                     static_cast<std::int64_t*>(nullptr), static_cast<int>(capacity));
  l.cub_bytes = std::max(sort, rle);
  l.cub_temp = carve.take<char>(static_cast<std::int64_t>(l.cub_bytes));
  l.total = carve.used();
  return l;
}

// --- ngram_coverage ---------------------------------------------------------------------------

struct CoverageLayout {
  std::uint32_t *counts_a, *counts_b;
  std::uint64_t *keys_a, *keys_b;
  void* cub_temp;
  std::size_t cub_bytes;
  std::size_t total;
};

CoverageLayout coverage_layout(void* base, std::int64_t capacity) {
  CoverageLayout l{};
  Carver carve(base);
  l.counts_a = carve.take<std::uint32_t>(capacity);
  l.counts_b = carve.take<std::uint32_t>(capacity);
  l.keys_a = carve.take<std::uint64_t>(capacity);
  l.keys_b = carve.take<std::uint64_t>(capacity);
  cub::DoubleBuffer<std::uint32_t> counts(l.counts_a, l.counts_b);
  cub::DoubleBuffer<std::uint64_t> keys(l.keys_a, l.keys_b);
  l.cub_bytes = 0;
  cub::DeviceRadixSort::SortPairsDescending(nullptr, l.cub_bytes, counts, keys, static_cast<int>(capacity), 0, 32);
  l.cub_temp = carve.take<char>(static_cast<std::int64_t>(l.cub_bytes));
  l.total = carve.used();
  return l;
}

__device__ bool contains(const std::uint64_t* sorted, std::int64_t size, std::uint64_t key) {
  std::int64_t lo = 0, hi = size;  // first index with sorted[i] >= key
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (sorted[mid] < key) lo = mid + 1; else hi = mid;
  }
  return lo < size && sorted[lo] == key;
}

// ranked_keys: the reference's keys in rank order (count descending, key ascending).
__global__ void coverage_kernel(const std::uint64_t* ranked_keys, std::int64_t capacity,
                                const std::int64_t* reference_unique, const std::uint64_t* other_keys,
                                const std::int64_t* other_unique, unsigned long long* result) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t distinct = *reference_unique, others = *other_unique;
  const std::int64_t top = distinct * kFrequentPercent / 100;
  if (i == 0) {
    result[0] = static_cast<unsigned long long>(distinct);
    result[2] = static_cast<unsigned long long>(distinct - top);
  }
  const bool present = i < capacity && i < distinct && contains(other_keys, others, ranked_keys[i]);
  // One atomic per warp: every lane of a full block reaches the ballot (no early return above).
  const unsigned all = __ballot_sync(0xFFFFFFFFu, present);
  const unsigned rare = __ballot_sync(0xFFFFFFFFu, present && i >= top);
  if ((threadIdx.x & 31) == 0) {
    if (all) atomicAdd(result + 1, static_cast<unsigned long long>(__popc(all)));
    if (rare) atomicAdd(result + 3, static_cast<unsigned long long>(__popc(rare)));
  }
}

// --- bleu_matches -----------------------------------------------------------------------------

struct BleuLayout {
  std::int64_t* window_start;
  std::uint64_t *keys_a, *keys_b;
  std::int32_t *docs_a, *docs_b;
  std::uint8_t* run_flag;
  std::int32_t* index;       // 0..windows-1, the input of the run selection
  std::int32_t* run_begin;   // first window of each (key, document) run
  std::int64_t* num_runs;
  std::int32_t* key_start;   // 1 where a run starts a new key; then scanned into key segment + 1
  std::int32_t* segment;
  std::uint64_t* top1;       // per key segment: max (count << 32 | document) over reference runs
  std::uint32_t* top2;       // per key segment: max count over the other reference documents
  void* cub_temp;
  std::size_t cub_bytes;
  std::size_t total;
};

BleuLayout bleu_layout(void* base, std::int64_t num_docs, std::int64_t windows) {
  BleuLayout l{};
  Carver carve(base);
  l.window_start = carve.take<std::int64_t>(num_docs + 1);
  l.keys_a = carve.take<std::uint64_t>(windows);
  l.keys_b = carve.take<std::uint64_t>(windows);
  l.docs_a = carve.take<std::int32_t>(windows);
  l.docs_b = carve.take<std::int32_t>(windows);
  l.run_flag = carve.take<std::uint8_t>(windows);
  l.index = carve.take<std::int32_t>(windows);
  l.run_begin = carve.take<std::int32_t>(windows);
  l.num_runs = carve.take<std::int64_t>(1);
  l.key_start = carve.take<std::int32_t>(windows);
  l.segment = carve.take<std::int32_t>(windows);
  l.top1 = carve.take<std::uint64_t>(windows);
  l.top2 = carve.take<std::uint32_t>(windows);
  std::size_t sort = 0, select = 0, scan = 0;
  cub::DoubleBuffer<std::uint64_t> keys(l.keys_a, l.keys_b);
  cub::DoubleBuffer<std::int32_t> docs(l.docs_a, l.docs_b);
  cub::DeviceRadixSort::SortPairs(nullptr, sort, keys, docs, static_cast<int>(windows), 0, 64);
  cub::DeviceSelect::Flagged(nullptr, select, l.index, l.run_flag, l.run_begin, l.num_runs, windows);
  cub::DeviceScan::InclusiveSum(nullptr, scan, l.key_start, l.segment, windows);
  l.cub_bytes = std::max({scan_bytes(num_docs), sort, select, scan});
  l.cub_temp = carve.take<char>(static_cast<std::int64_t>(l.cub_bytes));
  l.total = carve.used();
  return l;
}

__global__ void run_flags_kernel(const std::uint64_t* keys, const std::int32_t* docs,
                                 std::int64_t windows, std::uint8_t* run_flag, std::int32_t* index) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= windows) return;
  run_flag[i] = i == 0 || keys[i] != keys[i - 1] || docs[i] != docs[i - 1];
  index[i] = static_cast<std::int32_t>(i);
}

__global__ void key_start_kernel(const std::uint64_t* keys, const std::int32_t* run_begin,
                                 const std::int64_t* num_runs, std::int64_t windows,
                                 std::int32_t* key_start) {
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (r >= windows) return;
  key_start[r] = r < *num_runs && (r == 0 || keys[run_begin[r - 1]] != keys[run_begin[r]]);
}

struct Run {
  std::int32_t doc;
  std::uint32_t count;
  std::int32_t segment;
};

__device__ Run run_at(std::int64_t r, const std::int32_t* run_begin, std::int64_t runs,
                      std::int64_t windows, const std::int32_t* docs, const std::int32_t* segment) {
  const std::int64_t begin = run_begin[r], end = r + 1 < runs ? run_begin[r + 1] : windows;
  return {docs[begin], static_cast<std::uint32_t>(end - begin), segment[r] - 1};
}

// pass 0: top1 = max (count << 32 | doc) over reference runs; pass 1: top2 = max count over
// reference runs of other documents; pass 2: hypothesis runs add their clipped counts.
__global__ void bleu_runs_kernel(int pass, const std::int32_t* run_begin, const std::int64_t* num_runs,
                                 std::int64_t windows, const std::int32_t* docs,
                                 const std::int32_t* segment, const std::uint8_t* is_reference,
                                 const std::int32_t* hypothesis_slot, std::uint64_t* top1,
                                 std::uint32_t* top2, unsigned long long* matches) {
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t runs = *num_runs;
  if (r >= runs) return;
  const Run run = run_at(r, run_begin, runs, windows, docs, segment);
  if (pass == 0) {
    if (is_reference[run.doc]) {
      atomicMax(reinterpret_cast<unsigned long long*>(top1 + run.segment),
                (static_cast<unsigned long long>(run.count) << 32) | static_cast<std::uint32_t>(run.doc));
    }
  } else if (pass == 1) {
    if (is_reference[run.doc] && static_cast<std::uint32_t>(top1[run.segment]) != static_cast<std::uint32_t>(run.doc)) {
      atomicMax(top2 + run.segment, run.count);
    }
  } else {
    const std::int32_t slot = hypothesis_slot[run.doc];
    if (slot < 0) return;
    const std::uint64_t t = top1[run.segment];
    const std::uint32_t max1 = static_cast<std::uint32_t>(t >> 32);
    const std::uint32_t other = max1 == 0 ? 0u
                                : static_cast<std::uint32_t>(t) == static_cast<std::uint32_t>(run.doc)
                                    ? top2[run.segment]
                                    : max1;
    const std::uint32_t clipped = min(run.count, other);
    if (clipped) atomicAdd(matches + slot, static_cast<unsigned long long>(clipped));
  }
}

}  // namespace

std::size_t ngram_counts_workspace_bytes(std::int64_t num_docs, std::int64_t windows) {
  return counts_layout(nullptr, num_docs, windows).total;
}

cudaError_t ngram_counts(const DeviceCorpus& corpus, int n, int id_bits, std::int64_t windows,
                         std::uint64_t* unique_keys, std::uint32_t* counts, std::int64_t* num_unique,
                         void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  if (!valid_order(n, id_bits) || windows < 0 || windows > INT_MAX || corpus.num_docs < 0) {
    return cudaErrorInvalidValue;
  }
  COLLAPSE_CUDA_TRY(cudaMemsetAsync(num_unique, 0, sizeof(std::int64_t), stream));
  if (windows == 0) return cudaSuccess;
  const CountsLayout l = counts_layout(workspace, corpus.num_docs, windows);
  if (workspace_bytes < l.total) return cudaErrorInvalidValue;
  COLLAPSE_CUDA_TRY(make_window_keys(corpus, n, id_bits, windows, l.window_start, l.keys_a, nullptr,
                                     l.cub_temp, l.cub_bytes, stream));
  cub::DoubleBuffer<std::uint64_t> keys(l.keys_a, l.keys_b);
  std::size_t bytes = l.cub_bytes;
  COLLAPSE_CUDA_TRY(cub::DeviceRadixSort::SortKeys(l.cub_temp, bytes, keys, static_cast<int>(windows), 0,
                                                   ngram_key_bits(n, id_bits), stream));
  COLLAPSE_CUDA_TRY(cudaMemsetAsync(counts, 0, sizeof(std::uint32_t) * windows, stream));
  bytes = l.cub_bytes;
  return cub::DeviceRunLengthEncode::Encode(l.cub_temp, bytes, keys.Current(), unique_keys, counts,
                                            num_unique, static_cast<int>(windows), stream);
}

std::size_t count_histogram_workspace_bytes(std::int64_t capacity) {
  return histogram_layout(nullptr, capacity).total;
}

cudaError_t count_histogram(const std::uint32_t* counts, std::int64_t capacity, std::uint32_t* values,
                            std::uint32_t* multiplicities, std::int64_t* num_values, void* workspace,
                            std::size_t workspace_bytes, cudaStream_t stream) {
  if (capacity < 0 || capacity > INT_MAX) return cudaErrorInvalidValue;
  COLLAPSE_CUDA_TRY(cudaMemsetAsync(num_values, 0, sizeof(std::int64_t), stream));
  if (capacity == 0) return cudaSuccess;
  const HistogramLayout l = histogram_layout(workspace, capacity);
  if (workspace_bytes < l.total) return cudaErrorInvalidValue;
  COLLAPSE_CUDA_TRY(cudaMemcpyAsync(l.a, counts, sizeof(std::uint32_t) * capacity,
                                    cudaMemcpyDeviceToDevice, stream));
  cub::DoubleBuffer<std::uint32_t> keys(l.a, l.b);
  std::size_t bytes = l.cub_bytes;
  COLLAPSE_CUDA_TRY(cub::DeviceRadixSort::SortKeys(l.cub_temp, bytes, keys, static_cast<int>(capacity), 0, 32, stream));
  bytes = l.cub_bytes;
  return cub::DeviceRunLengthEncode::Encode(l.cub_temp, bytes, keys.Current(), values, multiplicities,
                                            num_values, static_cast<int>(capacity), stream);
}

std::size_t ngram_coverage_workspace_bytes(std::int64_t reference_capacity) {
  return coverage_layout(nullptr, reference_capacity).total;
}

cudaError_t ngram_coverage(const std::uint64_t* reference_keys, const std::uint32_t* reference_counts,
                           std::int64_t reference_capacity, const std::int64_t* reference_unique,
                           const std::uint64_t* other_keys, const std::int64_t* other_unique,
                           unsigned long long* result, void* workspace, std::size_t workspace_bytes,
                           cudaStream_t stream) {
  if (reference_capacity < 0 || reference_capacity > INT_MAX) return cudaErrorInvalidValue;
  COLLAPSE_CUDA_TRY(cudaMemsetAsync(result, 0, 4 * sizeof(unsigned long long), stream));
  if (reference_capacity == 0) return cudaSuccess;
  const CoverageLayout l = coverage_layout(workspace, reference_capacity);
  if (workspace_bytes < l.total) return cudaErrorInvalidValue;
  COLLAPSE_CUDA_TRY(cudaMemcpyAsync(l.counts_a, reference_counts, sizeof(std::uint32_t) * reference_capacity,
                                    cudaMemcpyDeviceToDevice, stream));
  COLLAPSE_CUDA_TRY(cudaMemcpyAsync(l.keys_a, reference_keys, sizeof(std::uint64_t) * reference_capacity,
                                    cudaMemcpyDeviceToDevice, stream));
  // Stable: equal counts keep the ascending key order they come in; the zero counts past the
  // distinct ones sort last.
  cub::DoubleBuffer<std::uint32_t> counts(l.counts_a, l.counts_b);
  cub::DoubleBuffer<std::uint64_t> keys(l.keys_a, l.keys_b);
  std::size_t bytes = l.cub_bytes;
  COLLAPSE_CUDA_TRY(cub::DeviceRadixSort::SortPairsDescending(l.cub_temp, bytes, counts, keys,
                                                              static_cast<int>(reference_capacity), 0, 32, stream));
  coverage_kernel<<<blocks_for(reference_capacity), kThreads, 0, stream>>>(
      keys.Current(), reference_capacity, reference_unique, other_keys, other_unique, result);
  return cudaGetLastError();
}

std::size_t bleu_matches_workspace_bytes(std::int64_t num_docs, std::int64_t windows) {
  return bleu_layout(nullptr, num_docs, windows).total;
}

cudaError_t bleu_matches(const DeviceCorpus& corpus, int n, int id_bits, std::int64_t windows,
                         const std::uint8_t* is_reference, const std::int32_t* hypothesis_slot,
                         std::int64_t num_hypotheses, unsigned long long* matches, void* workspace,
                         std::size_t workspace_bytes, cudaStream_t stream) {
  if (!valid_order(n, id_bits) || windows < 0 || windows > INT_MAX || num_hypotheses < 0 ||
      corpus.num_docs < 0 || corpus.num_docs > INT_MAX) {
    return cudaErrorInvalidValue;
  }
  if (num_hypotheses > 0) {
    COLLAPSE_CUDA_TRY(cudaMemsetAsync(matches, 0, sizeof(unsigned long long) * num_hypotheses, stream));
  }
  if (windows == 0) return cudaSuccess;
  const BleuLayout l = bleu_layout(workspace, corpus.num_docs, windows);
  if (workspace_bytes < l.total) return cudaErrorInvalidValue;
  COLLAPSE_CUDA_TRY(make_window_keys(corpus, n, id_bits, windows, l.window_start, l.keys_a, l.docs_a,
                                     l.cub_temp, l.cub_bytes, stream));
  cub::DoubleBuffer<std::uint64_t> keys(l.keys_a, l.keys_b);
  cub::DoubleBuffer<std::int32_t> docs(l.docs_a, l.docs_b);
  std::size_t bytes = l.cub_bytes;
  // LSD radix sort is stable: windows come in document order, so documents ascend within a key.
  COLLAPSE_CUDA_TRY(cub::DeviceRadixSort::SortPairs(l.cub_temp, bytes, keys, docs, static_cast<int>(windows), 0,
                                                    ngram_key_bits(n, id_bits), stream));
  const unsigned grid = blocks_for(windows);
  run_flags_kernel<<<grid, kThreads, 0, stream>>>(keys.Current(), docs.Current(), windows, l.run_flag,
                                                  l.index);
  COLLAPSE_CUDA_TRY(cudaGetLastError());
  bytes = l.cub_bytes;
  COLLAPSE_CUDA_TRY(cub::DeviceSelect::Flagged(l.cub_temp, bytes, l.index, l.run_flag, l.run_begin,
                                               l.num_runs, windows, stream));
  key_start_kernel<<<grid, kThreads, 0, stream>>>(keys.Current(), l.run_begin, l.num_runs, windows,
                                                  l.key_start);
  COLLAPSE_CUDA_TRY(cudaGetLastError());
  bytes = l.cub_bytes;
  COLLAPSE_CUDA_TRY(cub::DeviceScan::InclusiveSum(l.cub_temp, bytes, l.key_start, l.segment, windows, stream));
  COLLAPSE_CUDA_TRY(cudaMemsetAsync(l.top1, 0, sizeof(std::uint64_t) * windows, stream));
  COLLAPSE_CUDA_TRY(cudaMemsetAsync(l.top2, 0, sizeof(std::uint32_t) * windows, stream));
  for (int pass = 0; pass < 3; ++pass) {
    bleu_runs_kernel<<<grid, kThreads, 0, stream>>>(pass, l.run_begin, l.num_runs, windows,
                                                    docs.Current(), l.segment, is_reference,
                                                    hypothesis_slot, l.top1, l.top2, matches);
    COLLAPSE_CUDA_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

}  // namespace collapse::kernels
