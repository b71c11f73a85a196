// The 64-bit key of an n-gram (a window of n token ids), shared by the CPU reference
// (src/score/ngram_count.cpp) and the CUDA kernels (kernels/ngram.cu): under nvcc it compiles as device
// code too, so both sides compute the very same integers.
//
// id_bits = the bit width of the largest id (at least 1). When n * id_bits <= 64 the key is the
// ids packed big-endian, key = id_0 << (id_bits (n-1)) | ... | id_{n-1}: exact (two different
// n-grams never share a key) and ordered like the id sequences (lexicographically). That covers
// n <= 4 for every vocabulary up to 65,536 ids. Otherwise the key is a 64-bit hash of the ids
// (SplitMix64's finaliser chained over the ids), where two n-grams share a key with probability
// about 2^-64 per pair; the CPU metrics then identify n-grams by their ids instead (exact), and
// only the CUDA path relies on the hash.
#pragma once

#include <cstdint>

#if !defined(COLLAPSE_HOST_DEVICE)
#if defined(__CUDACC__)
#define COLLAPSE_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define COLLAPSE_HOST_DEVICE inline
#endif
#endif

namespace collapse {

// The n-gram orders the metrics support: 1..4 (distinct-n, entropy-n, coverage-n, BLEU-4).
inline constexpr int kMaxNgramOrder = 4;

// Coverage (ngram_count.h): the share of a reference's distinct n-grams, by rank, counted as
// frequent; every later rank is rare. Shared with the coverage kernel.
inline constexpr int kFrequentPercent = 10;

// Bits needed for ids in [0, max_id] (1 for max_id <= 1). max_id < 2^31, so at most 31.
COLLAPSE_HOST_DEVICE int ngram_id_bits(std::int32_t max_id) {
  int bits = 1;
  while (bits < 31 && (static_cast<std::uint32_t>(max_id) >> bits) != 0) ++bits;
  return bits;
}

// True when the key of an n-gram packs its ids (exact); false when it is a hash.
COLLAPSE_HOST_DEVICE bool ngram_key_is_exact(int n, int id_bits) { return n * id_bits <= 64; }

// How many low bits of a key can be non-zero: n * id_bits when packed, else 64 (the radix sorts
// sort only these bits).
COLLAPSE_HOST_DEVICE int ngram_key_bits(int n, int id_bits) {
  return ngram_key_is_exact(n, id_bits) ? n * id_bits : 64;
}

COLLAPSE_HOST_DEVICE std::uint64_t ngram_mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// window: n ids (each in [0, 2^id_bits)); n in 1..kMaxNgramOrder.
COLLAPSE_HOST_DEVICE std::uint64_t ngram_key(const std::int32_t* window, int n, int id_bits) {
  if (ngram_key_is_exact(n, id_bits)) {
    std::uint64_t key = 0;
    for (int i = 0; i < n; ++i) key = (key << id_bits) | static_cast<std::uint32_t>(window[i]);
    return key;
  }
  std::uint64_t h = ngram_mix64(0x243F6A8885A308D3ull ^ static_cast<std::uint64_t>(n));
  for (int i = 0; i < n; ++i) h = ngram_mix64(h ^ static_cast<std::uint32_t>(window[i]));
  return h;
}

}  // namespace collapse
