// GPU checks (ctest label `gpu`): skipped where torch sees no CUDA device.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "collapse/data/dataset.h"
#include "collapse/model/device.h"
#include "collapse/model/load_model.h"
#include "collapse/train/evaluate.h"
#include "collapse/train/trainer.h"
#include "support/test_support.h"

using namespace collapse;

// GTEST_SKIP returns from the enclosing function, so this must expand inside the test body.
#define REQUIRE_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to torch"

TEST(Gpu, TrainingOnCudaLowersTheLossUnderBf16Autocast) {
  REQUIRE_GPU();
  TrainOptions o;
  o.data = tests::moby_dick_dataset();
  o.out = tests::fresh_dir("gpu-train");
  o.model = ModelConfig::preset("tiny");
  o.steps = 40;
  o.batch_size = 16;
  o.eval_every = 20;
  o.device = "cuda";
  std::vector<double> losses;
  train(o, [&](const StepReport& s) { losses.push_back(s.loss); });
  ASSERT_EQ(losses.size(), 40u);
  EXPECT_LT(losses.back(), losses.front() - 0.5);
}

namespace {
// The logits at positions prefill-1 .. T-1 of `tokens` ([B, T]): a prefill of the first `prefill`
// tokens through a DecodeCache, then one token at a time. [B, T - prefill + 1, vocab].
at::Tensor decode_every_position(GPT& model, const at::Tensor& tokens, std::int64_t prefill) {
  const std::int64_t B = tokens.size(0), T = tokens.size(1);
  DecodeCache cache(at::zeros({B}, tokens.options()), T);
  std::vector<at::Tensor> logits{model->decode(tokens.narrow(1, 0, prefill), cache)};
  for (std::int64_t t = prefill; t < T; ++t) logits.push_back(model->decode(tokens.narrow(1, t, 1), cache));
  return at::stack(logits, 1);
}
}  // namespace

TEST(Gpu, Fp32CudaLogitsMatchCpu) {
  REQUIRE_GPU();
  ModelConfig c = ModelConfig::preset("small");
  c.vocab_size = 512;
  GPT cpu(c);
  initialize_weights(cpu, 9);
  cpu->eval();
  const auto dir = tests::fresh_dir("gpu-parity");
  save_checkpoint(dir / "m.ckpt", cpu, CheckpointMeta{.model = c});
  LoadedModel gpu = load_model(dir / "m.ckpt", c10::Device(c10::kCUDA, 0));

  torch::NoGradGuard no_grad;
  const at::Tensor tokens = at::arange(0, 2 * 200, at::kLong).remainder(512).reshape({2, 200});
  const at::Tensor expected = cpu->forward(tokens);
  const at::Tensor actual = gpu.model->forward(tokens.to(at::kCUDA)).to(at::kCPU);
  const double diff = (actual - expected).abs().max().item<double>();
  const double scale = expected.abs().max().item<double>();
  EXPECT_LT(diff, 1e-4 * std::max(1.0, scale)) << "max |cuda - cpu| = " << diff;

  // Under bf16 autocast the body runs in bf16 but the logits stay fp32, close to the CPU's.
  {
    AutocastScope autocast(gpu.model->parameters()[0].device());
    const at::Tensor mixed = gpu.model->forward(tokens.to(at::kCUDA));
    EXPECT_EQ(mixed.scalar_type(), at::kFloat);
    EXPECT_LT((mixed.to(at::kCPU) - expected).abs().max().item<double>(), 0.1 * std::max(1.0, scale));
    // A prefill then one token at a time through the cache, under autocast.
    const at::Tensor decoded = decode_every_position(gpu.model, tokens.to(at::kCUDA), 120);
    EXPECT_LT((decoded.to(at::kCPU) - mixed.narrow(1, 119, 81).to(at::kCPU)).abs().max().item<double>(),
              0.1 * std::max(1.0, scale));
  }

  // The decode cache on CUDA gives the full forward's logits too.
  const at::Tensor decoded = decode_every_position(gpu.model, tokens.to(at::kCUDA), 150);
  EXPECT_LT((decoded.to(at::kCPU) - expected.narrow(1, 149, 51)).abs().max().item<double>(),
            1e-4 * std::max(1.0, scale));
}

TEST(Gpu, PerplexityOnCudaMatchesCpu) {
  REQUIRE_GPU();
  ModelConfig c = ModelConfig::preset("tiny");
  const Dataset data(tests::moby_dick_dataset());
  c.vocab_size = data.vocab_size();
  GPT cpu(c);
  initialize_weights(cpu, 4);
  {
    // Sharpened: a random model's logits are near-uniform, and all-zero logits (a uniform NLL of
    // log V) would then pass a 1% comparison. With a spread of a few nats the NLL is far from it.
    torch::NoGradGuard no_grad;
    cpu->output_weight().mul_(8.0);
  }
  const auto dir = tests::fresh_dir("gpu-eval");
  save_checkpoint(dir / "m.ckpt", cpu, CheckpointMeta{.model = c});
  LoadedModel gpu = load_model(dir / "m.ckpt", c10::Device(c10::kCUDA, 0));
  const auto stream = document_stream(data.split("test"), Tokenizer::kTrainedIds.bos, Tokenizer::kTrainedIds.eos);
  const EvalResult on_cpu = evaluate_stream(cpu, stream, c10::Device(c10::kCPU));
  const EvalResult on_gpu = evaluate_stream(gpu.model, stream, c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(on_gpu.tokens, on_cpu.tokens);
  ASSERT_GT(on_cpu.mean_nll(), 1.15 * std::log(static_cast<double>(c.vocab_size))) << "the model is not near-uniform";
  // bf16 autocast in the body, fp32 logits: the mean NLL agrees to well under 1%.
  EXPECT_NEAR(on_gpu.mean_nll(), on_cpu.mean_nll(), 0.01 * on_cpu.mean_nll());
}
