// A pretrained Hugging Face model in collapse, timed as a user meets it: loading the folder
// (config.json + safetensors through the memory mapping), the peak resident memory that loading
// leaves, fine-tuning steps (forward, backward, AdamW) and generation. Prints one JSON line.
// The baseline on the same folder and machine is benchmarks/pretrained_hf.py; random-weight
// folders at the real GPT-2 124M and OPT-125m configs come from benchmarks/pretrained_models.py.
//
//   pretrained_bench MODEL_DIR [BATCH CONTEXT STEPS ROWS NEW_TOKENS]   (defaults 4 256 3 8 64)
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "collapse/generate/generator.h"
#include "collapse/model/load_model.h"
#include "collapse/util/error.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 7) {
    std::fprintf(stderr, "usage: pretrained_bench MODEL_DIR [BATCH CONTEXT STEPS ROWS NEW_TOKENS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  auto arg = [&](int i, std::int64_t fallback) { return argc == 7 ? std::atoll(argv[i]) : fallback; };
  const std::int64_t batch = arg(2, 4), context = arg(3, 256), steps = arg(4, 3), rows = arg(5, 8),
                     new_tokens = arg(6, 64);
  try {
    nlohmann::json out = {{"model", dir}, {"threads", at::get_num_threads()}};
    // Loaded twice: the first read may come from disk, the second is from a warm page cache.
    auto start = std::chrono::steady_clock::now();
    collapse::load_model(dir, at::kCPU);
    out["load_first_s"] = seconds_since(start);
    start = std::chrono::steady_clock::now();
    collapse::LoadedModel loaded = collapse::load_model(dir, at::kCPU);
    out["load_warm_s"] = seconds_since(start);
    out["peak_rss_after_load_mib"] = peak_rss_mib();
    collapse::GPT& model = loaded.model;
    const collapse::ModelConfig& c = model->config();
    out["parameters"] = c.parameters();
    out["family"] = collapse::name_of(collapse::model_families(), c.family);

    // Fine-tuning: `steps` AdamW steps on random tokens after one warm-up step.
    model->train();
    torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(5e-5));
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
    auto step = [&] {
      const at::Tensor tokens = at::randint(c.vocab_size, {batch, context + 1}, gen, at::kLong);
      const at::Tensor logits = model->forward(tokens.narrow(1, 0, context));
      const at::Tensor loss = at::cross_entropy_loss(logits.reshape({-1, c.vocab_size}),
                                                     tokens.narrow(1, 1, context).reshape({-1}));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
    };
    step();
    start = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < steps; ++i) step();
    const double train_s = seconds_since(start);
    out["train_batch"] = batch;
    out["train_context"] = context;
    out["train_ms_per_step"] = 1000.0 * train_s / static_cast<double>(steps);
    out["train_tokens_per_s"] = static_cast<double>(steps * batch * context) / train_s;

    // Generation: `rows` documents from BOS, exactly `new_tokens` each, plain sampling.
    model->eval();
    collapse::GenerateOptions o;
    o.documents = rows;
    o.batch_size = rows;
    o.max_tokens = o.min_tokens = new_tokens;
    o.special = {.bos = 0, .eos = 1, .pad = 0, .unk = -1};
    o.decode = collapse::DecodeMode::eager;
    const std::vector<std::vector<std::int32_t>> prompts = {{}};
    collapse::generate(model, prompts, o, at::kCPU);  // warm-up
    start = std::chrono::steady_clock::now();
    const auto docs = collapse::generate(model, prompts, o, at::kCPU);
    const double generate_s = seconds_since(start);
    std::int64_t generated = 0;
    for (const auto& d : docs) generated += static_cast<std::int64_t>(d.tokens.size());
    out["generate_rows"] = rows;
    out["generate_tokens_per_s"] = static_cast<double>(generated) / generate_s;
    std::printf("%s\n", out.dump().c_str());
  } catch (const collapse::Error& e) {
    std::fprintf(stderr, "pretrained_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
