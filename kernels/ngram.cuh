// N-gram counting on the GPU: keys of token windows inside documents, then sort + run-length
// encode with CUB. The definitions are ngram_count.h's; the CPU references (collapse::reference::
// in src/score/ngram_count.cpp) compute the very same integers with the same keys
// (kernels/ngram_key.h), and tests/score/ngram_kernel_test.cpp holds the two to equality.
//
// Memory: every pointer is device memory owned by the caller, including `workspace`, whose size
// the matching *_workspace_bytes function gives (256-byte aligned). Errors come back as the
// cudaError_t of the first failing call (cudaErrorInvalidValue for bad arguments, e.g. more than
// 2^31 - 1 windows, an order outside 1..4, or too small a workspace); nothing synchronises the
// stream. Counts past the valid ones are written 0 so later steps can run on capacities without
// reading a count back to the host.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

namespace collapse::kernels {

// A corpus (token_corpus.h) on the device.
//   tokens:      [num_tokens] int32, ids in [0, 2^id_bits)
//   doc_offsets: [num_docs + 1] int64; document d is tokens[doc_offsets[d], doc_offsets[d + 1])
struct DeviceCorpus {
  const std::int32_t* tokens = nullptr;
  const std::int64_t* doc_offsets = nullptr;
  std::int64_t num_tokens = 0;
  std::int64_t num_docs = 0;
};

// windows = sum_d max(0, len_d - n + 1), computed by the caller on the host
// (TokenCorpus::windows): the outputs are sized by it.
std::size_t ngram_counts_workspace_bytes(std::int64_t num_docs, std::int64_t windows);

// The distinct keys (ngram_key(window, n, id_bits)) of the corpus's n-grams and their counts.
//   unique_keys: [windows] uint64, written: ascending distinct keys in [0, *num_unique)
//   counts:      [windows] uint32, written: counts[i] = occurrences of unique_keys[i];
//                0 from *num_unique on
//   num_unique:  [1] int64, written
cudaError_t ngram_counts(const DeviceCorpus& corpus, int n, int id_bits, std::int64_t windows,
                         std::uint64_t* unique_keys, std::uint32_t* counts,
                         std::int64_t* num_unique, void* workspace, std::size_t workspace_bytes,
                         cudaStream_t stream);

std::size_t count_histogram_workspace_bytes(std::int64_t capacity);

// The frequency-of-frequencies histogram of `counts` ([capacity] uint32, as ngram_counts writes
// them: the zeros past the valid counts come out as a value-0 entry, which callers skip).
//   values:         [capacity] uint32, written: distinct count values ascending, in [0, *num_values)
//   multiplicities: [capacity] uint32, written: how many entries of `counts` equal values[i]
//   num_values:     [1] int64, written
cudaError_t count_histogram(const std::uint32_t* counts, std::int64_t capacity,
                            std::uint32_t* values, std::uint32_t* multiplicities,
                            std::int64_t* num_values, void* workspace,
                            std::size_t workspace_bytes, cudaStream_t stream);

std::size_t ngram_coverage_workspace_bytes(std::int64_t reference_capacity);

// Coverage of a reference corpus's distinct n-grams by another's (CoverageCounts in
// ngram_count.h): reference_* and other_* as ngram_counts wrote them (the reference's arrays of
// `reference_capacity` entries). The reference's distinct n-grams are ranked by a stable radix
// sort of their counts, descending, over the key-ascending order, so ties go by ascending key;
// the first floor(distinct * kFrequentPercent / 100) ranks are frequent (ngram_key.h: 10%).
//   result: [4] uint64, written: {distinct, covered, rare distinct, rare covered}
cudaError_t ngram_coverage(const std::uint64_t* reference_keys,
                           const std::uint32_t* reference_counts, std::int64_t reference_capacity,
                           const std::int64_t* reference_unique, const std::uint64_t* other_keys,
                           const std::int64_t* other_unique, unsigned long long* result,
                           void* workspace, std::size_t workspace_bytes, cudaStream_t stream);

std::size_t bleu_matches_workspace_bytes(std::int64_t num_docs, std::int64_t windows);

// BLEU's clipped n-gram matches of every hypothesis against the references other than itself
// (BleuMatches in ngram_count.h). The windows' (key, document) pairs are radix-sorted (stable, so
// documents ascend within a key); each (key, document) run gives count_d(g); per key, an
// atomicMax over (count << 32 | document) of the reference runs finds the max and its document,
// a second pass the max over the other reference documents; each hypothesis run then adds
// min(count, max over references other than itself).
//   is_reference:    [num_docs] uint8, 1 for a reference document
//   hypothesis_slot: [num_docs] int32, the document's hypothesis index or -1
//   matches:         [num_hypotheses] uint64, written
cudaError_t bleu_matches(const DeviceCorpus& corpus, int n, int id_bits, std::int64_t windows,
                         const std::uint8_t* is_reference, const std::int32_t* hypothesis_slot,
                         std::int64_t num_hypotheses, unsigned long long* matches,
                         void* workspace, std::size_t workspace_bytes, cudaStream_t stream);

}  // namespace collapse::kernels
