// The n-gram engines by device: the CPU engine, or the CUDA kernels (kernels/ngram.cuh) driven
// with LibTorch's allocator and current stream.
#include "collapse/score/ngram_engine.h"

#include "collapse/util/error.h"
#include "ngram_key.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include "ngram.cuh"
#endif

namespace collapse {
namespace {

class CpuEngine final : public NgramEngine {
 public:
  std::string name() const override { return cpu_ngram_engine().name(); }
  std::vector<NgramStats> stats(const TokenCorpus& corpus, std::span<const int> orders,
                                int id_bits) const override {
    return cpu_ngram_engine().stats(corpus, orders, id_bits);
  }
  std::vector<CoverageCounts> coverage(const TokenCorpus& reference, const TokenCorpus& other,
                                       std::span<const int> orders, int id_bits) const override {
    return cpu_ngram_engine().coverage(reference, other, orders, id_bits);
  }
  std::vector<BleuMatches> bleu_matches(const TokenCorpus& corpus, const BleuRoles& roles,
                                        std::span<const int> orders, int id_bits) const override {
    return cpu_ngram_engine().bleu_matches(corpus, roles, orders, id_bits);
  }
};

#if defined(COLLAPSE_HAVE_KERNELS)

void check(cudaError_t error, const char* what) {
  if (error != cudaSuccess) fail("CUDA n-gram kernels: {} failed: {}", what, cudaGetErrorString(error));
}

void check_order(int n) {
  if (n < 1 || n > kMaxNgramOrder) fail("n-gram order {} is outside 1..{}", n, kMaxNgramOrder);
}

// A corpus copied to the device, for the kernels.
struct DeviceTokens {
  at::Tensor tokens, offsets;
  kernels::DeviceCorpus view;
};

class CudaEngine final : public NgramEngine {
 public:
  explicit CudaEngine(const c10::Device& device) : device_(device) {}
  std::string name() const override { return device_.str(); }

  std::vector<NgramStats> stats(const TokenCorpus& corpus, std::span<const int> orders,
                                int id_bits) const override {
    const c10::cuda::CUDAGuard guard(device_);
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
    const DeviceTokens c = upload(corpus);
    std::vector<NgramStats> out;
    for (int n : orders) {
      check_order(n);
      const std::int64_t W = corpus.windows(n);
      NgramStats s;
      s.n = n;
      s.total = W;
      const at::Tensor keys = bytes(8 * W), counts = bytes(4 * W), values = bytes(4 * W),
                       multiplicities = bytes(4 * W), scalars = bytes(16);
      auto* num_unique = scalars.data_ptr<std::uint8_t>();
      const at::Tensor work = bytes(std::max(kernels::ngram_counts_workspace_bytes(corpus.documents(), W),
                                             kernels::count_histogram_workspace_bytes(W)));
      check(kernels::ngram_counts(c.view, n, id_bits, W, ptr<std::uint64_t>(keys), ptr<std::uint32_t>(counts),
                                  reinterpret_cast<std::int64_t*>(num_unique), work.data_ptr(),
                                  static_cast<std::size_t>(work.numel()), stream),
            "ngram_counts");
      check(kernels::count_histogram(ptr<std::uint32_t>(counts), W, ptr<std::uint32_t>(values),
                                     ptr<std::uint32_t>(multiplicities),
                                     reinterpret_cast<std::int64_t*>(num_unique + 8), work.data_ptr(),
                                     static_cast<std::size_t>(work.numel()), stream),
            "count_histogram");
      const auto sizes = to_host<std::int64_t>(scalars, 2, stream);
      s.unique = sizes[0];
      const auto v = to_host<std::uint32_t>(values, sizes[1], stream);
      const auto m = to_host<std::uint32_t>(multiplicities, sizes[1], stream);
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] > 0) s.histogram.push_back({v[i], m[i]});  // value 0: the padding past the counts
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<CoverageCounts> coverage(const TokenCorpus& reference, const TokenCorpus& other,
                                       std::span<const int> orders, int id_bits) const override {
    const c10::cuda::CUDAGuard guard(device_);
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
    const DeviceTokens ref = upload(reference), oth = upload(other);
    std::vector<CoverageCounts> out;
    for (int n : orders) {
      check_order(n);
      const std::int64_t Wr = reference.windows(n), Wo = other.windows(n);
      const at::Tensor ref_keys = bytes(8 * Wr), ref_counts = bytes(4 * Wr), oth_keys = bytes(8 * Wo),
                       oth_counts = bytes(4 * Wo), scalars = bytes(16), result = bytes(32);
      auto* unique = reinterpret_cast<std::int64_t*>(scalars.data_ptr<std::uint8_t>());
      const at::Tensor work = bytes(std::max({kernels::ngram_counts_workspace_bytes(reference.documents(), Wr),
                                              kernels::ngram_counts_workspace_bytes(other.documents(), Wo),
                                              kernels::ngram_coverage_workspace_bytes(Wr)}));
      const auto work_bytes = static_cast<std::size_t>(work.numel());
      check(kernels::ngram_counts(ref.view, n, id_bits, Wr, ptr<std::uint64_t>(ref_keys),
                                  ptr<std::uint32_t>(ref_counts), unique, work.data_ptr(), work_bytes, stream),
            "ngram_counts (reference)");
      check(kernels::ngram_counts(oth.view, n, id_bits, Wo, ptr<std::uint64_t>(oth_keys),
                                  ptr<std::uint32_t>(oth_counts), unique + 1, work.data_ptr(), work_bytes,
                                  stream),
            "ngram_counts (other)");
      check(kernels::ngram_coverage(ptr<std::uint64_t>(ref_keys), ptr<std::uint32_t>(ref_counts), Wr, unique,
                                    ptr<std::uint64_t>(oth_keys), unique + 1,
                                    reinterpret_cast<unsigned long long*>(result.data_ptr<std::uint8_t>()),
                                    work.data_ptr(), work_bytes, stream),
            "ngram_coverage");
      const auto r = to_host<std::uint64_t>(result, 4, stream);
      out.push_back({n, static_cast<std::int64_t>(r[0]), static_cast<std::int64_t>(r[1]),
                     static_cast<std::int64_t>(r[2]), static_cast<std::int64_t>(r[3])});
    }
    return out;
  }

  std::vector<BleuMatches> bleu_matches(const TokenCorpus& corpus, const BleuRoles& roles,
                                        std::span<const int> orders, int id_bits) const override {
    const auto D = static_cast<std::size_t>(corpus.documents());
    if (roles.is_reference.size() != D || roles.hypothesis_slot.size() != D) {
      fail("BLEU roles are sized {} and {} for a corpus of {} documents", roles.is_reference.size(),
           roles.hypothesis_slot.size(), D);
    }
    const c10::cuda::CUDAGuard guard(device_);
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
    const DeviceTokens c = upload(corpus);
    const at::Tensor is_reference = to_device(roles.is_reference.data(), D, at::kByte);
    const at::Tensor slots = to_device(roles.hypothesis_slot.data(), D, at::kInt);
    const at::Tensor matches = bytes(8 * roles.hypotheses);
    std::vector<BleuMatches> out;
    for (int n : orders) {
      check_order(n);
      const std::int64_t W = corpus.windows(n);
      const at::Tensor work = bytes(kernels::bleu_matches_workspace_bytes(corpus.documents(), W));
      check(kernels::bleu_matches(c.view, n, id_bits, W, is_reference.data_ptr<std::uint8_t>(),
                                  slots.data_ptr<std::int32_t>(), roles.hypotheses,
                                  reinterpret_cast<unsigned long long*>(matches.data_ptr<std::uint8_t>()),
                                  work.data_ptr(), static_cast<std::size_t>(work.numel()), stream),
            "bleu_matches");
      const auto m = to_host<std::uint64_t>(matches, roles.hypotheses, stream);
      out.push_back({n, std::vector<std::int64_t>(m.begin(), m.end())});
    }
    return out;
  }

 private:
  // An uninitialised device buffer of `count` bytes (at least 1, so data_ptr() is never null).
  template <typename Count>
  at::Tensor bytes(Count count) const {
    return at::empty({std::max<std::int64_t>(static_cast<std::int64_t>(count), 1)},
                     at::TensorOptions().dtype(at::kByte).device(device_));
  }

  template <typename T>
  static T* ptr(const at::Tensor& t) {
    return reinterpret_cast<T*>(t.data_ptr<std::uint8_t>());
  }

  at::Tensor to_device(const void* data, std::size_t count, at::ScalarType type) const {
    if (count == 0) return at::empty({1}, at::TensorOptions().dtype(type).device(device_));
    return at::from_blob(const_cast<void*>(data), {static_cast<std::int64_t>(count)},
                         at::TensorOptions().dtype(type))
        .to(device_);
  }

  DeviceTokens upload(const TokenCorpus& corpus) const {
    DeviceTokens d;
    d.tokens = to_device(corpus.tokens.data(), corpus.tokens.size(), at::kInt);
    d.offsets = to_device(corpus.offsets.data(), corpus.offsets.size(), at::kLong);
    d.view = {d.tokens.data_ptr<std::int32_t>(), d.offsets.data_ptr<std::int64_t>(), corpus.size(),
              corpus.documents()};
    return d;
  }

  // The first `count` T of a device buffer, after the stream's work so far.
  template <typename T>
  static std::vector<T> to_host(const at::Tensor& buffer, std::int64_t count, cudaStream_t stream) {
    std::vector<T> out(static_cast<std::size_t>(count));
    if (count > 0) {
      check(cudaMemcpyAsync(out.data(), buffer.data_ptr(), sizeof(T) * out.size(), cudaMemcpyDeviceToHost, stream),
            "copy to host");
    }
    check(cudaStreamSynchronize(stream), "synchronize");
    return out;
  }

  c10::Device device_;
};

#endif  // COLLAPSE_HAVE_KERNELS

}  // namespace

bool cuda_ngram_engine_built() {
#if defined(COLLAPSE_HAVE_KERNELS)
  return true;
#else
  return false;
#endif
}

std::unique_ptr<NgramEngine> make_ngram_engine(const c10::Device& device) {
  if (device.is_cpu()) return std::make_unique<CpuEngine>();
  if (device.is_cuda()) {
#if defined(COLLAPSE_HAVE_KERNELS)
    return std::make_unique<CudaEngine>(device);
#else
    fail("n-gram metrics on {}: this build has no CUDA kernels (it needs the CUDA toolkit and a "
         "CUDA build of torch); count them on the cpu",
         device.str());
#endif
  }
  fail("n-gram metrics: unsupported device {} (use cpu or cuda)", device.str());
}

}  // namespace collapse
