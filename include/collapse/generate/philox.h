// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
// counter-based generator. Every output is a pure function of (key, counter), so the uniform a
// sampled token uses depends only on (seed, document, position) and never on batch size, batch
// order or device. This header compiles as host code and, under nvcc, as device code: the CPU
// reference and the CUDA kernels draw the very same numbers.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define COLLAPSE_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define COLLAPSE_HOST_DEVICE inline
#endif

namespace collapse {

struct Philox4x32 {
  std::uint32_t v[4];
};

namespace philox_detail {
COLLAPSE_HOST_DEVICE std::uint32_t mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(product >> 32);
  return static_cast<std::uint32_t>(product);
}
}  // namespace philox_detail

// Ten rounds of Philox 4x32 on `counter` under `key` (the Random123 reference constants).
COLLAPSE_HOST_DEVICE Philox4x32 philox4x32_10(Philox4x32 counter, std::uint32_t key0,
                                             std::uint32_t key1) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t* c = counter.v;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, hi1;
    const std::uint32_t lo0 = philox_detail::mulhilo(kMul0, c[0], &hi0);
    const std::uint32_t lo1 = philox_detail::mulhilo(kMul1, c[2], &hi1);
    const std::uint32_t n0 = hi1 ^ c[1] ^ key0, n2 = hi0 ^ c[3] ^ key1;
    c[0] = n0, c[1] = lo1, c[2] = n2, c[3] = lo0;
    key0 += kWeyl0, key1 += kWeyl1;
  }
  return counter;
}

// The uniform that picks the token at `position` (0-based, counting generated tokens) of
// `document` under `seed`, from counter (position, document lo, document hi, 0) under key
// (seed lo, seed hi): 52 bits k, the first word's 32 then the top 20 of the second, mapped to
// (k + 0.5) / 2^52. k + 0.5 needs 53 significant bits, so the value is exact in double, lies
// strictly inside (0, 1) on a grid of 2^-52, and is identical on host and device. (Until results
// version 2 it was a float of 23 bits: every token of probability below 2^-23 was then sampled
// with probability 0 or at least 2^-23, and model collapse is about the tail.)
COLLAPSE_HOST_DEVICE double sampling_uniform(std::uint64_t seed, std::uint64_t document,
                                             std::uint64_t position) {
  const Philox4x32 counter{{static_cast<std::uint32_t>(position),
                            static_cast<std::uint32_t>(document),
                            static_cast<std::uint32_t>(document >> 32), 0u}};
  const Philox4x32 out =
      philox4x32_10(counter, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  const std::uint64_t k = (static_cast<std::uint64_t>(out.v[0]) << 20) | (out.v[1] >> 12);
  return (static_cast<double>(k) + 0.5) * (1.0 / 4503599627370496.0);  // 2^-52
}

}  // namespace collapse
