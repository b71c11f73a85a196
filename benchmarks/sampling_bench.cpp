// One decode step's sampling alone: [batch, vocab] logits in, [batch] tokens out, for the chain
// temperature 0.8 + top_p 0.9.
//   ours:     collapse::sample_tokens (the fused kernel on CUDA, the CPU reference on the CPU)
//   libtorch: the plain pipeline (x / T, softmax, sort, cumsum, mask, multinomial, gather)
// over batch 1/64/256/1024 x vocab 8k/32k/128k x fp32/bf16. Counters: us_per_step, and GB_per_s,
// the logits' bytes (batch * vocab * element size, read once) per second.
//
//   COLLAPSE_BENCH_DEVICE=cuda build/bin/sampling_bench
//   build/bin/sampling_bench --benchmark_filter='ours/64/'      # CPU (the default device)
//
// On the CPU the grid stops at batch * vocab <= 256 * 32k so a run takes a couple of minutes.
// Results: benchmarks/RESULTS.md.
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "collapse/generate/philox.h"
#include "collapse/generate/sampler_batch.h"
#include "collapse/model/device.h"

namespace {

c10::Device bench_device() {
  const char* name = std::getenv("COLLAPSE_BENCH_DEVICE");
  return collapse::resolve_device(name ? name : "cpu");
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

struct Problem {
  at::Tensor logits, uniforms, banned;
};

Problem make_problem(std::int64_t batch, std::int64_t vocab, at::ScalarType type,
                     const c10::Device& device) {
  at::Generator gen = at::detail::createCPUGenerator(0);
  Problem p;
  p.logits = (at::randn({batch, vocab}, gen, at::kFloat) * 3.0).to(type).to(device);
  at::Tensor u = at::empty({batch}, at::kFloat);
  for (std::int64_t r = 0; r < batch; ++r) u[r] = collapse::sampling_uniform(0, r, 0);
  p.uniforms = u.to(device);
  p.banned = at::full({batch}, -1, at::TensorOptions().dtype(at::kInt).device(device));
  return p;
}

collapse::SamplerConfig chain() {
  collapse::SamplerConfig c;
  c.temperature = 0.8f;
  c.top_p = 0.9f;
  return c;
}

// The LibTorch baseline: what a plain implementation of the same chain does.
at::Tensor libtorch_step(const at::Tensor& logits, double temperature, double top_p) {
  const at::Tensor probs = at::softmax(logits.to(at::kFloat) / temperature, -1);
  const auto [sorted, index] = at::sort(probs, -1, /*descending=*/true);
  const at::Tensor cumulative = at::cumsum(sorted, -1);
  // Remove a token when the mass strictly before it already reaches top_p.
  const at::Tensor filtered = sorted.masked_fill((cumulative - sorted) >= top_p, 0.0);
  return index.gather(-1, at::multinomial(filtered, 1)).squeeze(-1);
}

// seconds: the wall time of all timed iterations (measured around the loop).
void set_counters(benchmark::State& state, std::int64_t batch, std::int64_t vocab,
                  at::ScalarType type, const c10::Device& device, double seconds) {
  const double bytes = static_cast<double>(batch * vocab * static_cast<std::int64_t>(c10::elementSize(type)));
  const double iterations = static_cast<double>(state.iterations());
  state.counters["us_per_step"] = seconds * 1e6 / iterations;
  state.counters["GB_per_s"] = bytes * iterations / seconds * 1e-9;
  state.SetLabel(device.str() + (type == at::kBFloat16 ? " bf16" : " fp32"));
}

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void ours(benchmark::State& state, std::int64_t batch, std::int64_t vocab, at::ScalarType type) {
  const c10::Device device = bench_device();
  const Problem p = make_problem(batch, vocab, type, device);
  const collapse::SamplerConfig c = chain();
  const collapse::TokenHistory no_history;
  for (int i = 0; i < 3; ++i) collapse::sample_tokens(c, p.logits, no_history, p.uniforms, p.banned);
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    benchmark::DoNotOptimize(collapse::sample_tokens(c, p.logits, no_history, p.uniforms, p.banned));
    synchronize(device);
  }
  set_counters(state, batch, vocab, type, device, since(start));
  state.counters["kernel"] = collapse::sampling_uses_kernel(c, device) ? 1 : 0;
}

void libtorch(benchmark::State& state, std::int64_t batch, std::int64_t vocab, at::ScalarType type) {
  const c10::Device device = bench_device();
  const Problem p = make_problem(batch, vocab, type, device);
  const collapse::SamplerConfig c = chain();
  for (int i = 0; i < 3; ++i) libtorch_step(p.logits, c.temperature, c.top_p);
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    benchmark::DoNotOptimize(libtorch_step(p.logits, c.temperature, c.top_p));
    synchronize(device);
  }
  set_counters(state, batch, vocab, type, device, since(start));
}

}  // namespace

int main(int argc, char** argv) {
  const bool cpu = !bench_device().is_cuda();
  for (std::int64_t batch : {1, 64, 256, 1024}) {
    for (std::int64_t vocab : {8192, 32768, 131072}) {
      if (cpu && batch * vocab > 256 * 32768) continue;
      for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
        const char* dtype = type == at::kBFloat16 ? "bf16" : "fp32";
        benchmark::RegisterBenchmark(fmt::format("ours/{}/{}/{}", batch, vocab, dtype).c_str(), ours,
                                     batch, vocab, type)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(fmt::format("libtorch/{}/{}/{}", batch, vocab, dtype).c_str(),
                                     libtorch, batch, vocab, type)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
