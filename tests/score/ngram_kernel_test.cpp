// GPU parity of the n-gram kernels (kernels/ngram.cuh) with their CPU references
// (collapse::reference in ngram_count.h), and of the CUDA n-gram engine with the CPU engine:
// identical integers, and so identical metrics (ctest label `gpu`; skipped without a CUDA device
// or in a build without the kernels).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "collapse/score/ngram_engine.h"
#include "ngram_key.h"
#include "collapse/score/ngram_metrics.h"
#include "collapse/score/self_bleu.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <c10/cuda/CUDAStream.h>

#include "ngram.cuh"
#endif

using namespace collapse;

#if defined(COLLAPSE_HAVE_KERNELS)
#define REQUIRE_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to torch"
#else
#define REQUIRE_GPU() GTEST_SKIP() << "this build has no CUDA n-gram kernels"
#endif

namespace {

constexpr std::array<int, 4> kOrders{1, 2, 3, 4};

// Zipf-like ids (many repeats, a long tail), some empty and short documents.
TokenCorpus random_corpus(std::uint32_t seed, int docs, int max_len, int vocab, std::int32_t offset = 0) {
  std::mt19937 rng(seed);
  TokenCorpus c;
  std::vector<std::int32_t> doc;
  for (int d = 0; d < docs; ++d) {
    doc.resize(d % 17 == 0 ? d % 3 : std::uniform_int_distribution<int>(0, max_len)(rng));
    for (auto& t : doc) {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng);
      t = offset + static_cast<std::int32_t>(std::pow(static_cast<double>(vocab), u * u)) - 1;
    }
    c.add(doc);
  }
  return c;
}

#if defined(COLLAPSE_HAVE_KERNELS)

struct Case {
  const char* name;
  TokenCorpus corpus;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"tiny vocabulary", random_corpus(1, 300, 40, 5)});
  out.push_back({"13-bit ids", random_corpus(2, 2000, 200, 8192)});
  out.push_back({"17-bit ids (hashed 4-gram keys)", random_corpus(3, 1500, 120, 4000, 100000)});
  out.push_back({"long documents", random_corpus(4, 20, 30000, 600)});
  return out;
}

template <typename Count>
at::Tensor device_bytes(Count n) {
  return at::empty({std::max<std::int64_t>(static_cast<std::int64_t>(n), 1)},
                   at::TensorOptions().dtype(at::kByte).device(at::kCUDA));
}

template <typename T>
T* as(const at::Tensor& t) {
  return reinterpret_cast<T*>(t.data_ptr<std::uint8_t>());
}

template <typename T>
std::vector<T> host(const at::Tensor& t, std::int64_t count) {
  const at::Tensor cpu = t.to(at::kCPU);
  const T* p = reinterpret_cast<const T*>(cpu.data_ptr<std::uint8_t>());
  return std::vector<T>(p, p + count);
}

struct OnDevice {
  at::Tensor tokens, offsets;
  kernels::DeviceCorpus view;
  explicit OnDevice(const TokenCorpus& c) {
    tokens = at::tensor(c.tokens.empty() ? std::vector<std::int32_t>{0} : c.tokens, at::kInt).to(at::kCUDA);
    offsets = at::tensor(c.offsets, at::kLong).to(at::kCUDA);
    view = {tokens.data_ptr<std::int32_t>(), offsets.data_ptr<std::int64_t>(), c.size(), c.documents()};
  }
};

struct DeviceCounts {
  at::Tensor keys, counts, unique;
  std::int64_t windows;
};

DeviceCounts count_on_device(const TokenCorpus& c, const OnDevice& d, int n, int bits, cudaStream_t stream) {
  DeviceCounts out{device_bytes(8 * c.windows(n)), device_bytes(4 * c.windows(n)), device_bytes(8), c.windows(n)};
  const at::Tensor work = device_bytes(kernels::ngram_counts_workspace_bytes(c.documents(), out.windows));
  EXPECT_EQ(kernels::ngram_counts(d.view, n, bits, out.windows, as<std::uint64_t>(out.keys),
                                  as<std::uint32_t>(out.counts), as<std::int64_t>(out.unique),
                                  work.data_ptr(), static_cast<std::size_t>(work.numel()), stream),
            cudaSuccess);
  return out;
}

#endif

}  // namespace

TEST(NgramKernels, CountsAndHistogramsEqualTheCpuReference) {
  REQUIRE_GPU();
#if defined(COLLAPSE_HAVE_KERNELS)
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  for (const Case& k : cases()) {
    const OnDevice d(k.corpus);
    const int bits = ngram_id_bits_of({&k.corpus});
    for (int n : kOrders) {
      SCOPED_TRACE(testing::Message() << k.name << ", n = " << n);
      const auto expected = reference::ngram_counts(k.corpus, n, bits);
      const DeviceCounts got = count_on_device(k.corpus, d, n, bits, stream);
      const std::int64_t unique = host<std::int64_t>(got.unique, 1)[0];
      ASSERT_EQ(unique, static_cast<std::int64_t>(expected.keys.size()));
      EXPECT_EQ(host<std::uint64_t>(got.keys, unique), expected.keys);
      const auto counts = host<std::uint32_t>(got.counts, got.windows);
      EXPECT_EQ(std::vector<std::uint32_t>(counts.begin(), counts.begin() + unique), expected.counts);
      EXPECT_TRUE(std::all_of(counts.begin() + unique, counts.end(), [](std::uint32_t c) { return c == 0; }));

      const at::Tensor values = device_bytes(4 * got.windows), mult = device_bytes(4 * got.windows),
                       num = device_bytes(8);
      const at::Tensor work = device_bytes(kernels::count_histogram_workspace_bytes(got.windows));
      ASSERT_EQ(kernels::count_histogram(as<std::uint32_t>(got.counts), got.windows, as<std::uint32_t>(values),
                                         as<std::uint32_t>(mult), as<std::int64_t>(num), work.data_ptr(),
                                         static_cast<std::size_t>(work.numel()), stream),
                cudaSuccess);
      const std::int64_t num_values = host<std::int64_t>(num, 1)[0];
      const auto v = host<std::uint32_t>(values, num_values), m = host<std::uint32_t>(mult, num_values);
      std::vector<CountMultiplicity> histogram;
      for (std::int64_t i = 0; i < num_values; ++i) {
        if (v[i] > 0) histogram.push_back({v[i], m[i]});
      }
      EXPECT_EQ(histogram, reference::count_histogram(expected.counts));
    }
  }
#endif
}

TEST(NgramKernels, CoverageEqualsTheCpuReference) {
  REQUIRE_GPU();
#if defined(COLLAPSE_HAVE_KERNELS)
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  const TokenCorpus reference_corpus = random_corpus(5, 3000, 150, 3000);
  const TokenCorpus other = random_corpus(6, 2000, 150, 2500);
  const int bits = ngram_id_bits_of({&reference_corpus, &other});
  const OnDevice dr(reference_corpus), dobj(other);
  for (int n : kOrders) {
    SCOPED_TRACE(testing::Message() << "n = " << n);
    const DeviceCounts r = count_on_device(reference_corpus, dr, n, bits, stream);
    const DeviceCounts o = count_on_device(other, dobj, n, bits, stream);
    const at::Tensor result = device_bytes(32);
    const at::Tensor work = device_bytes(kernels::ngram_coverage_workspace_bytes(r.windows));
    ASSERT_EQ(kernels::ngram_coverage(as<std::uint64_t>(r.keys), as<std::uint32_t>(r.counts), r.windows,
                                      as<std::int64_t>(r.unique), as<std::uint64_t>(o.keys),
                                      as<std::int64_t>(o.unique), as<unsigned long long>(result),
                                      work.data_ptr(), static_cast<std::size_t>(work.numel()), stream),
              cudaSuccess);
    const auto got = host<std::uint64_t>(result, 4);
    const CoverageCounts expected = reference::ngram_coverage(reference::ngram_counts(reference_corpus, n, bits),
                                                              reference::ngram_counts(other, n, bits));
    EXPECT_EQ(static_cast<std::int64_t>(got[0]), expected.reference_distinct);
    EXPECT_EQ(static_cast<std::int64_t>(got[1]), expected.covered);
    EXPECT_EQ(static_cast<std::int64_t>(got[2]), expected.rare_distinct);
    EXPECT_EQ(static_cast<std::int64_t>(got[3]), expected.rare_covered);
    EXPECT_GT(expected.covered, 0);
  }
#endif
}

TEST(NgramKernels, BleuMatchesEqualTheCpuReference) {
  REQUIRE_GPU();
#if defined(COLLAPSE_HAVE_KERNELS)
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  for (const Case& k : cases()) {
    const OnDevice d(k.corpus);
    const int bits = ngram_id_bits_of({&k.corpus});
    BleuRoles roles;
    for (std::int64_t doc = 0; doc < k.corpus.documents(); ++doc) {
      roles.is_reference.push_back(doc % 5 != 1);
      roles.hypothesis_slot.push_back(doc % 3 != 2 ? static_cast<std::int32_t>(roles.hypotheses++) : -1);
    }
    const std::vector<std::int64_t> flags(roles.is_reference.begin(), roles.is_reference.end());
    const at::Tensor is_ref = at::tensor(flags).to(at::kByte).to(at::kCUDA);
    const at::Tensor slots = at::tensor(roles.hypothesis_slot, at::kInt).to(at::kCUDA);
    for (int n : kOrders) {
      SCOPED_TRACE(testing::Message() << k.name << ", n = " << n);
      const std::int64_t W = k.corpus.windows(n);
      const at::Tensor matches = device_bytes(8 * roles.hypotheses);
      const at::Tensor work = device_bytes(kernels::bleu_matches_workspace_bytes(k.corpus.documents(), W));
      ASSERT_EQ(kernels::bleu_matches(d.view, n, bits, W, is_ref.data_ptr<std::uint8_t>(),
                                      slots.data_ptr<std::int32_t>(), roles.hypotheses,
                                      as<unsigned long long>(matches), work.data_ptr(),
                                      static_cast<std::size_t>(work.numel()), stream),
                cudaSuccess);
      const auto got = host<std::uint64_t>(matches, roles.hypotheses);
      EXPECT_EQ(std::vector<std::int64_t>(got.begin(), got.end()), reference::bleu_matches(k.corpus, roles, n, bits));
    }
  }
#endif
}

TEST(NgramEngine, CudaMetricsEqualTheCpuMetrics) {
  REQUIRE_GPU();
  const auto cuda = make_ngram_engine(c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(cuda->name(), "cuda:0");
  // Keys are exact here (13-bit ids), so every integer, and every metric, is identical.
  const TokenCorpus synthetic = random_corpus(7, 1500, 128, 8192), real = random_corpus(8, 1000, 128, 8192);
  EXPECT_EQ(ngram_stats(synthetic, kOrders, *cuda), ngram_stats(synthetic, kOrders));
  EXPECT_EQ(ngram_coverage(real, synthetic, kOrders, *cuda), ngram_coverage(real, synthetic, kOrders));
  const SelfBleuResult a = self_bleu(synthetic, {}, *cuda), b = self_bleu(synthetic);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.self_bleu, b.self_bleu);
  SelfBleuOptions subset;
  subset.max_hypotheses = 200;
  subset.max_references = 700;
  subset.seed = 3;
  EXPECT_EQ(self_bleu(synthetic, subset, *cuda).scores, self_bleu(synthetic, subset).scores);
  // Corner cases: documents without n-grams, a corpus without tokens.
  const TokenCorpus sparse(std::vector<std::vector<std::int32_t>>{{}, {3}, {}, {3, 4}});
  EXPECT_EQ(ngram_stats(sparse, kOrders, *cuda), ngram_stats(sparse, kOrders));
  EXPECT_EQ(ngram_coverage(sparse, TokenCorpus(), kOrders, *cuda), ngram_coverage(sparse, TokenCorpus(), kOrders));
  EXPECT_EQ(self_bleu(sparse, {}, *cuda).scores, self_bleu(sparse).scores);
}

TEST(NgramEngine, CpuDeviceGivesTheCpuEngine) {
  const auto cpu = make_ngram_engine(c10::Device(c10::kCPU));
  EXPECT_EQ(cpu->name(), "cpu");
  // Counted by hand: bigrams (1,2) x3 and (2,1) x1; no window crosses a document boundary.
  const TokenCorpus c(std::vector<std::vector<std::int32_t>>{{1, 2, 1, 2}, {1, 2}, {7}});
  const std::array<int, 1> bigrams{2};
  const auto stats = ngram_stats(c, bigrams, *cpu);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].total, 4);
  EXPECT_EQ(stats[0].unique, 2);
  EXPECT_EQ(stats[0].histogram, (std::vector<CountMultiplicity>{{1, 1}, {3, 1}}));
  if (!cuda_ngram_engine_built()) {
    EXPECT_ANY_THROW(make_ngram_engine(c10::Device(c10::kCUDA, 0)));
  }
}
