// Training throughput of the GPT presets: tokens per second of full optimizer steps
// (forward, backward, AdamW), the way `collapse train` runs them (bf16 autocast on CUDA, fp32 on
// CPU). Random tokens, vocab 8192: throughput does not depend on the text.
//
//   build/bin/train_throughput_bench                       # every preset on the default device
//   COLLAPSE_BENCH_DEVICE=cpu build/bin/train_throughput_bench --benchmark_filter=tiny
//
// The baseline is the same shape as transformers' LlamaForCausalLM in Python:
// benchmarks/train_throughput_hf.py. Results: benchmarks/RESULTS.md.
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/optim/adamw.h>

#include <cstdlib>

#include "collapse/model/device.h"
#include "collapse/model/model.h"

namespace {

constexpr std::int64_t kVocab = 8192;

c10::Device bench_device() {
  const char* name = std::getenv("COLLAPSE_BENCH_DEVICE");
  return collapse::resolve_device(name ? name : "auto");
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// state.range(0): sequences per step. The preset is the benchmark's name argument.
void train_steps(benchmark::State& state, const std::string& preset) {
  const c10::Device device = bench_device();
  collapse::ModelConfig config = collapse::ModelConfig::preset(preset);
  config.vocab_size = kVocab;
  collapse::GPT model(config);
  collapse::initialize_weights(model, 0);
  model->to(device);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));

  const std::int64_t batch = state.range(0), C = config.context;
  at::Generator gen = at::detail::createCPUGenerator(0);
  const at::Tensor tokens =
      at::randint(0, kVocab, {batch, C + 1}, gen, at::TensorOptions().dtype(at::kLong)).to(device);
  auto step = [&] {
    optimizer.zero_grad();
    at::Tensor logits;
    {
      collapse::AutocastScope autocast(device);
      logits = model->forward(tokens.narrow(1, 0, C));
    }
    at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, kVocab}),
                           tokens.narrow(1, 1, C).reshape({-1}))
        .backward();
    optimizer.step();
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up: allocator, autotuning, lazy init
  synchronize(device);
  for (auto _ : state) {
    step();
    synchronize(device);
  }
  state.SetItemsProcessed(state.iterations() * batch * C);
  state.counters["params_M"] = static_cast<double>(config.parameters()) / 1e6;
  state.SetLabel(device.str());
}

}  // namespace

BENCHMARK_CAPTURE(train_steps, tiny, std::string("tiny"))->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(train_steps, small, std::string("small"))->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(train_steps, base, std::string("base"))->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
