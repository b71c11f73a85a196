// Counter-based randomness for data decisions (splits, training windows, the mixer, MinHash): every
// value is a pure function of (seed, counters), so results never depend on call order, thread
// count or resume point. Token sampling draws from Philox instead (generate/philox.h), which the
// CUDA kernels compute too.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace collapse {

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Hash of a seed and a list of counters, e.g. random_key(seed, {step, micro_batch, row}).
constexpr std::uint64_t random_key(std::uint64_t seed, std::initializer_list<std::uint64_t> keys) {
  std::uint64_t h = splitmix64(seed);
  for (std::uint64_t k : keys) h = splitmix64(h ^ splitmix64(k));
  return h;
}

// Uniform integer in [0, n) from a 64-bit hash (multiply-shift; bias < n / 2^64).
constexpr std::uint64_t uniform_below(std::uint64_t hash, std::uint64_t n) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(hash) * n) >> 64);
}

}  // namespace collapse
