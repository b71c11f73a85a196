// Per-token NLL from logits: our token_nll (the fused kernel on CUDA; on the CPU it is the
// reference, log_softmax + gather) against LibTorch's cross_entropy(reduction none) on the logits
// as given and log_softmax(dtype fp32) + gather, for N tokens x vocab 8k/32k/128k x fp32/bf16.
// And the chunked path (chunked_token_nll: hidden states + output projection, never [N, vocab])
// scoring a long corpus the way `collapse eval` feeds it, 64k tokens per call.
//
//   COLLAPSE_BENCH_DEVICE=cuda build/bin/nll_bench     # N = 65536; chunked: 10M tokens, vocab 32k
//   COLLAPSE_BENCH_DEVICE=cpu  build/bin/nll_bench     # N = 1024;  chunked: 16k tokens, vocab 32k
//
// Timing (benchmarks/device_timer.h, manual time): on CUDA, CUDA events around bursts of calls on
// logits already on the device (made there: N x 128k fp32 is 32 GiB), rotating through enough
// copies to exceed twice the L2 cache (at N = 65536 one copy already does); every method is
// timed the same way. token_nll checks its targets' range with one device round trip per call,
// which the time keeps (every caller pays it). chunked_corpus: events around the whole corpus,
// whose per-call sums are read back as evaluate_stream reads them. On the CPU, a steady clock.
//
// Counters: bytes_per_second = bytes of logits read per second (N x vocab x element size; the
// floor a single pass needs). peak_MiB: on CUDA the caching allocator's peak allocated bytes
// during the timed loop above what was allocated before it (inputs excluded); on the CPU no
// allocator statistics exist, so intermediate_MiB gives the bytes of the intermediates the method
// materialises, by formula. Results: benchmarks/RESULTS.md.
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <cstdlib>

#include "collapse/model/device.h"
#include "collapse/model/token_nll.h"
#include "device_timer.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

c10::Device bench_device() {
  const char* name = std::getenv("COLLAPSE_BENCH_DEVICE");
  return collapse::resolve_device(name ? name : "auto");
}

// Calls per timed burst on CUDA (a call reads >= 1 GiB there, so a few suffice); 1 on the CPU.
int burst(const c10::Device& device) { return device.is_cuda() ? 4 : 1; }

// N x V logits (std 3) of `type`, seeded. On CUDA they are drawn on the device: on the host,
// N = 65536 rows of 128k would take minutes and 32 GiB of memory.
at::Tensor make_logits(std::int64_t N, std::int64_t V, at::ScalarType type, const c10::Device& device) {
  if (device.is_cuda()) {
    at::manual_seed(0);
    return at::randn({N, V}, at::TensorOptions().device(device)).mul_(3.0).to(type);
  }
  at::Generator gen = at::detail::createCPUGenerator(0);
  return (at::randn({N, V}, gen) * 3.0).to(type);
}

// Peak bytes allocated on a CUDA device since reset(), above the bytes allocated at reset().
class PeakMemory {
 public:
  explicit PeakMemory(const c10::Device& device) : device_(device) {
#if defined(COLLAPSE_HAVE_KERNELS)
    // "cuda" without an index is the current device; the allocator's statistics want its number.
    if (device_.is_cuda()) device_ = c10::Device(c10::kCUDA, collapse::bench::cuda_index(device));
#endif
  }
  bool available() const {
#if defined(COLLAPSE_HAVE_KERNELS)
    return device_.is_cuda();
#else
    return false;
#endif
  }
  void reset() {
#if defined(COLLAPSE_HAVE_KERNELS)
    if (!available()) return;
    namespace alloc = c10::cuda::CUDACachingAllocator;
    alloc::resetPeakStats(device_.index());
    base_ = alloc::getDeviceStats(device_.index()).allocated_bytes[0].current;
#endif
  }
  double peak_mib() const {
#if defined(COLLAPSE_HAVE_KERNELS)
    namespace alloc = c10::cuda::CUDACachingAllocator;
    return static_cast<double>(alloc::getDeviceStats(device_.index()).allocated_bytes[0].peak - base_) / kMiB;
#else
    return 0.0;
#endif
  }

 private:
  c10::Device device_;
  std::int64_t base_ = 0;
};

enum Method { kOurs = 0, kCrossEntropy = 1, kLogSoftmaxGather = 2 };
const char* const kMethodNames[] = {"token_nll", "cross_entropy", "log_softmax+gather"};

// state.range: (method, vocab, bf16 0/1).
void logits_to_nll(benchmark::State& state) {
  const c10::Device device = bench_device();
  const auto method = static_cast<Method>(state.range(0));
  const std::int64_t V = state.range(1);
  const bool bf16 = state.range(2) != 0;
  const std::int64_t N = device.is_cuda() ? 65536 : 1024;
  const at::Tensor logits = make_logits(N, V, bf16 ? at::kBFloat16 : at::kFloat, device);
  at::Generator gen = at::detail::createCPUGenerator(0);
  const at::Tensor targets =
      at::randint(0, V, {N}, gen, at::TensorOptions().dtype(at::kLong)).to(device);
  const std::int64_t logit_bytes = logits.numel() * static_cast<std::int64_t>(logits.element_size());
  const std::int64_t copies = collapse::bench::rotation_copies(device, logit_bytes);
  const at::Tensor pool = collapse::bench::rotation_pool(logits, copies);
  auto run = [&](const at::Tensor& x) {
    switch (method) {
      case kOurs:
        return collapse::token_nll(x, targets);
      case kCrossEntropy:
        return at::cross_entropy_loss(x, targets, {}, at::Reduction::None);
      case kLogSoftmaxGather:
        return at::log_softmax(x, 1, at::kFloat).gather(1, targets.unsqueeze(1)).squeeze(1).neg();
    }
    return at::Tensor();
  };
  for (int i = 0; i < 2; ++i) run(pool.select(0, 0));  // warm-up
  collapse::bench::StepTimer timer(device);
  PeakMemory peak(device);
  peak.reset();
  std::int64_t next = 0;
  for (auto _ : state) {
    state.SetIterationTime(timer.seconds_per_call(burst(device), [&](int) {
      benchmark::DoNotOptimize(run(pool.select(0, next)));
      next = (next + 1) % copies;
    }));
  }
  state.SetBytesProcessed(state.iterations() * logit_bytes);
  state.counters["copies"] = static_cast<double>(copies);
  state.counters["tokens"] = static_cast<double>(N);
  if (peak.available()) {
    state.counters["peak_MiB"] = peak.peak_mib();
  } else {
    // What the CPU path materialises: our token_nll here is the reference (an fp32 copy of bf16
    // logits, then fp32 log-probs); cross_entropy keeps log-probs in the input dtype;
    // log_softmax(dtype fp32) writes fp32 log-probs.
    const double fp32_rows = static_cast<double>(N) * static_cast<double>(V) * 4.0;
    const double bytes = method == kOurs ? fp32_rows * (bf16 ? 2.0 : 1.0)
                         : method == kCrossEntropy ? static_cast<double>(logit_bytes)
                                                   : fp32_rows;
    state.counters["intermediate_MiB"] = bytes / kMiB;
  }
  state.SetLabel(std::string(kMethodNames[method]) + (bf16 ? " bf16 " : " fp32 ") + device.str());
}

// The chunked path over a long corpus: `total` tokens scored 64k per call (as evaluate_stream
// calls it per batch of windows), vocab 32k, d_model 512, default vocabulary chunk. One block of
// hidden states is reused for every call (the model's forward is not what is measured).
void chunked_corpus(benchmark::State& state) {
  const c10::Device device = bench_device();
  const std::int64_t V = 32768, d = 512;
  const std::int64_t total = device.is_cuda() ? 10'000'000 : 16'384;
  const std::int64_t per_call = device.is_cuda() ? 65'536 : 4'096;
  at::Generator gen = at::detail::createCPUGenerator(1);
  const at::Tensor hidden = at::randn({per_call, d}, gen).to(device);
  const at::Tensor weight = (at::randn({V, d}, gen) * 0.05).to(device);
  const at::Tensor targets = at::randint(0, V, {per_call}, gen, at::TensorOptions().dtype(at::kLong)).to(device);
  auto score_corpus = [&] {
    double sum = 0.0;
    for (std::int64_t done = 0; done < total; done += per_call) {
      const std::int64_t n = std::min(per_call, total - done);
      sum += collapse::chunked_token_nll(hidden.narrow(0, 0, n), weight, targets.narrow(0, 0, n))
                 .to(at::kDouble).sum().item<double>();
    }
    return sum;
  };
  collapse::chunked_token_nll(hidden.narrow(0, 0, 1024), weight, targets.narrow(0, 0, 1024));  // warm-up
  collapse::bench::StepTimer timer(device);
  PeakMemory peak(device);
  peak.reset();
  for (auto _ : state) {
    state.SetIterationTime(timer.seconds_per_call(1, [&](int) { benchmark::DoNotOptimize(score_corpus()); }));
  }
  state.SetItemsProcessed(state.iterations() * total);
  state.counters["tokens"] = static_cast<double>(total);
  if (peak.available()) {
    state.counters["peak_MiB"] = peak.peak_mib();
  } else {
    // One [rows, chunk] block of logits (+ the same again for logsumexp's temporaries) per call;
    // the full-logits path would hold [per_call, vocab] fp32 plus as much again in log-probs.
    const double rows = std::min<double>(static_cast<double>(per_call), static_cast<double>((std::int64_t{1} << 24) / collapse::kDefaultVocabChunk));
    state.counters["intermediate_MiB"] = 2.0 * rows * collapse::kDefaultVocabChunk * 4.0 / kMiB;
    state.counters["full_logits_MiB"] = 2.0 * static_cast<double>(per_call) * V * 4.0 / kMiB;
  }
  state.SetLabel("vocab 32768, d 512, " + device.str());
}

}  // namespace

BENCHMARK(logits_to_nll)
    ->ArgNames({"method", "vocab", "bf16"})
    ->ArgsProduct({{kOurs, kCrossEntropy, kLogSoftmaxGather}, {8192, 32768, 131072}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK(chunked_corpus)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

BENCHMARK_MAIN();
