// One decode step's sampling alone: [batch, vocab] logits in, [batch] tokens out, for the chain
// temperature 0.8 + top_p 0.9.
//   ours:       collapse's sampler: on CUDA the fused kernel with its per-row parameters uploaded
//               once (sample_tokens_with_kernel, as the CUDA-graph decoder calls it); on the CPU
//               sample_tokens, i.e. the fast CPU sampler (cpu_sampler.h), rows in parallel
//   definition: CPU only: the chain's definition (sample_token_reference), rows in parallel, as
//               sample_tokens ran it before the fast sampler (the same tokens)
//   libtorch:   the plain pipeline (x / T, softmax, sort, cumsum, mask, multinomial, gather)
// over batch 1/64/256/1024 x vocab 2k/8k/32k/128k x fp32/bf16. Time per step (manual time), and
// bytes_per_second: the logits' bytes (batch * vocab * element size, read once) per second.
//
// Timing (benchmarks/device_timer.h): on CUDA, CUDA events around bursts of kBurst steps on
// inputs already on the device, each step reading the next of enough copies of the logits to
// exceed twice the L2 cache, so GB/s is an HBM figure; both contenders are timed the same way.
// (The LibTorch pipeline synchronises inside multinomial's validity checks: its time keeps
// those round trips, as every caller pays them.) On the CPU, a steady clock around each step.
//
//   COLLAPSE_BENCH_DEVICE=cuda build/bin/sampling_bench
//   build/bin/sampling_bench --benchmark_filter='ours/64/'      # CPU (the default device)
//
// On the CPU the grid stops at batch * vocab <= 256 * 32k so a run takes a couple of minutes.
// Results: benchmarks/RESULTS.md.
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <span>

#include <fmt/format.h>

#include "collapse/generate/philox.h"
#include "collapse/generate/sampler_batch.h"
#include "collapse/model/device.h"
#include "device_timer.h"

namespace {

c10::Device bench_device() {
  const char* name = std::getenv("COLLAPSE_BENCH_DEVICE");
  return collapse::resolve_device(name ? name : "cpu");
}

struct Problem {
  at::Tensor logits, uniforms, banned;
};

Problem make_problem(std::int64_t batch, std::int64_t vocab, at::ScalarType type,
                     const c10::Device& device) {
  at::Generator gen = at::detail::createCPUGenerator(0);
  Problem p;
  p.logits = (at::randn({batch, vocab}, gen, at::kFloat) * 3.0).to(type).to(device);
  at::Tensor u = at::empty({batch}, at::kDouble);
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

// Steps per timed burst: on CUDA enough that the first step's launch latency is noise; on the
// CPU one (a step takes milliseconds there).
constexpr int kBurst = 16;
int burst(const c10::Device& device) { return device.is_cuda() ? kBurst : 1; }

// Times `step(logits)` over the rotated copies of the problem's logits: one benchmark iteration
// is a burst of steps, its time the time of one step. Reports bytes processed (the logits, read
// once per step) so Google Benchmark prints GB/s.
template <class Step>
void time_steps(benchmark::State& state, const Problem& p, const c10::Device& device, Step&& step) {
  const std::int64_t bytes = p.logits.numel() * static_cast<std::int64_t>(p.logits.element_size());
  const std::int64_t copies = collapse::bench::rotation_copies(device, bytes);
  const at::Tensor pool = collapse::bench::rotation_pool(p.logits, copies);
  for (int i = 0; i < 3; ++i) step(pool.select(0, 0));  // warm-up: allocator, lazy init
  collapse::bench::StepTimer timer(device);
  const int calls = burst(device);
  std::int64_t next = 0;
  for (auto _ : state) {
    state.SetIterationTime(timer.seconds_per_call(calls, [&](int) {
      step(pool.select(0, next));
      next = (next + 1) % copies;
    }));
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["copies"] = static_cast<double>(copies);
  state.SetLabel(device.str() + (p.logits.scalar_type() == at::kBFloat16 ? " bf16" : " fp32"));
}

void ours(benchmark::State& state, std::int64_t batch, std::int64_t vocab, at::ScalarType type) {
  const c10::Device device = bench_device();
  const Problem p = make_problem(batch, vocab, type, device);
  const collapse::SamplerConfig c = chain();
  const collapse::TokenHistory no_history;
  const bool kernel = collapse::sampling_kernel_fits(c, device, vocab, 0);
  if (kernel) {
    // The kernel as a decoding loop calls it: parameters uploaded once, output preallocated,
    // nothing copied or synchronised per step.
    const at::Tensor params = collapse::sampling_kernel_params(c, batch, device);
    at::Tensor out = at::empty({batch}, at::TensorOptions().dtype(at::kLong).device(device));
    time_steps(state, p, device, [&](const at::Tensor& logits) {
      collapse::sample_tokens_with_kernel(c, params, logits, no_history, p.uniforms, p.banned, out);
      benchmark::DoNotOptimize(out.data_ptr());
    });
  } else {
    time_steps(state, p, device, [&](const at::Tensor& logits) {
      benchmark::DoNotOptimize(collapse::sample_tokens(c, logits, no_history, p.uniforms, p.banned));
    });
  }
  state.counters["kernel"] = kernel ? 1 : 0;
}

// The definition, row by row in parallel: what the CPU path ran before the fast sampler.
void definition(benchmark::State& state, std::int64_t batch, std::int64_t vocab, at::ScalarType type) {
  const c10::Device device = bench_device();
  const Problem p = make_problem(batch, vocab, type, device);
  const collapse::SamplerConfig c = chain();
  time_steps(state, p, device, [&](const at::Tensor& logits) {
    const at::Tensor x = logits.to(at::kFloat).contiguous();
    const at::Tensor u = p.uniforms.contiguous();
    at::Tensor out = at::empty({batch}, at::kLong);
    at::parallel_for(0, batch, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        collapse::SamplingRow row;
        row.logits = std::span<const float>(x.data_ptr<float>() + r * vocab, static_cast<std::size_t>(vocab));
        out.data_ptr<std::int64_t>()[r] = collapse::sample_token_reference(c, row, u.data_ptr<double>()[r]);
      }
    });
    benchmark::DoNotOptimize(out.data_ptr());
  });
}

void libtorch(benchmark::State& state, std::int64_t batch, std::int64_t vocab, at::ScalarType type) {
  const c10::Device device = bench_device();
  const Problem p = make_problem(batch, vocab, type, device);
  const collapse::SamplerConfig c = chain();
  time_steps(state, p, device, [&](const at::Tensor& logits) {
    benchmark::DoNotOptimize(libtorch_step(logits, c.temperature, c.top_p));
  });
}

}  // namespace

int main(int argc, char** argv) {
  const bool cpu = !bench_device().is_cuda();
  for (std::int64_t batch : {1, 64, 256, 1024}) {
    for (std::int64_t vocab : {2048, 8192, 32768, 131072}) {
      if (cpu && batch * vocab > 256 * 32768) continue;
      for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
        const char* dtype = type == at::kBFloat16 ? "bf16" : "fp32";
        benchmark::RegisterBenchmark(fmt::format("ours/{}/{}/{}", batch, vocab, dtype).c_str(), ours,
                                     batch, vocab, type)
            ->Unit(benchmark::kMicrosecond)
            ->UseManualTime();
        if (cpu) {
          benchmark::RegisterBenchmark(fmt::format("definition/{}/{}/{}", batch, vocab, dtype).c_str(),
                                       definition, batch, vocab, type)
              ->Unit(benchmark::kMicrosecond)
              ->UseManualTime();
        }
        benchmark::RegisterBenchmark(fmt::format("libtorch/{}/{}/{}", batch, vocab, dtype).c_str(),
                                     libtorch, batch, vocab, type)
            ->Unit(benchmark::kMicrosecond)
            ->UseManualTime();
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
