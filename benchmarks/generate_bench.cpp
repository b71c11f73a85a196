// End-to-end generation throughput: generated tokens per second of collapse::generate() (batched
// KV-cache decoding + the sampler chain), 4 batches of B documents from BOS per call (a CUDA
// graph is captured once per call, and its capture is in the time), exactly N new tokens each
// (min = max tokens), top-p 0.9. bf16 autocast on CUDA, fp32 on CPU. The second argument is the
// decode mode (generator.h): 1 eager, 2 fixed shapes, 3 CUDA graph (skipped off CUDA), so
// "with and without CUDA graphs" is 3 against 2 (same step) and against 1 (what eager costs).
//
// The model: COLLAPSE_BENCH_MODEL, any folder or file `collapse generate --model` takes (a
// `collapse export` folder is what benchmarks/generate_hf.py --model loads too, so both sides
// run the same weights), or else a preset (COLLAPSE_BENCH_PRESET) with random weights and vocab
// 8192. Random weights give nearly flat next-token distributions, where top-p 0.9 keeps most of
// the vocabulary: the sampler's worst case. A trained model's are peaked.
//
//   COLLAPSE_BENCH_DEVICE=cuda COLLAPSE_BENCH_PRESET=small build/bin/generate_bench
//   build/bin/generate_bench --benchmark_filter='generate/batch:1/'   # CPU, tiny preset
//   COLLAPSE_BENCH_MODEL=runs/gen-0-hf build/bin/generate_bench        # an exported model
//
// Baseline on the same device: benchmarks/generate_hf.py (Hugging Face generate()).
// Results: benchmarks/RESULTS.md.
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "collapse/data/tokenizer.h"
#include "collapse/generate/fixed_step_decoder.h"
#include "collapse/generate/generator.h"
#include "collapse/model/device.h"
#include "collapse/model/load_model.h"
#include "collapse/model/model.h"

namespace {

constexpr std::int64_t kVocab = 8192, kNewTokens = 128;

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

void generate_documents(benchmark::State& state) {
  const c10::Device device = collapse::resolve_device(env_or("COLLAPSE_BENCH_DEVICE", "auto"));
  const std::string model_path = env_or("COLLAPSE_BENCH_MODEL", "");
  std::string name = model_path;
  collapse::GPT model{nullptr};
  if (!model_path.empty()) {
    model = collapse::load_model(model_path, device).model;
  } else {
    name = env_or("COLLAPSE_BENCH_PRESET", device.is_cuda() ? "small" : "tiny");
    collapse::ModelConfig preset = collapse::ModelConfig::preset(name);
    preset.vocab_size = kVocab;
    model = collapse::GPT(preset);
    collapse::initialize_weights(model, 0);
    model->to(device);
  }
  model->eval();
  const collapse::ModelConfig& config = model->config();

  collapse::GenerateOptions o;
  o.special = collapse::Tokenizer::kTrainedIds;
  const collapse::DecodeMode modes[] = {collapse::DecodeMode::eager, collapse::DecodeMode::fixed,
                                        collapse::DecodeMode::graph};
  o.decode = modes[state.range(1) - 1];
  // Four batches per generate() call: the CUDA graph is captured once per call (its first
  // step), so the timing includes one capture for 4 x 128 steps, as a user's call would.
  o.batch_size = state.range(0);
  o.documents = 4 * o.batch_size;
  // 128 new tokens, or as many as fit after BOS (the tiny preset's context is 128).
  o.max_tokens = o.min_tokens = std::min(kNewTokens, config.context - 1);
  o.sampler.top_p = 0.9f;
  const std::vector<std::vector<std::int32_t>> bos_only{{}};
  std::string why;
  if (o.decode == collapse::DecodeMode::graph &&
      !collapse::FixedStepDecoder::can_capture(o.sampler, config, 1, o.max_tokens, device, &why)) {
    state.SkipWithError(("no CUDA graph: " + why).c_str());
    return;
  }
  collapse::generate(model, bos_only, o, device);  // warm-up
  for (auto _ : state) {
    o.seed += 1;
    const auto docs = collapse::generate(model, bos_only, o, device);
    benchmark::DoNotOptimize(docs.data());
    if (device.is_cuda()) torch::cuda::synchronize();
  }
  state.SetLabel(name + " on " + device.str() + ", decode " + collapse::decode_mode_name(o.decode) +
                 ", " + std::to_string(o.max_tokens) + " new tokens");
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(o.documents * o.max_tokens),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(generate_documents)
    ->Name("generate")
    ->ArgNames({"batch", "decode"})
    ->ArgsProduct({{1, 64, 256}, {1, 2, 3}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
