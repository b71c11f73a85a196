// Training a GPT on a prepared dataset (nanoGPT-style loop):
//   AdamW (weight decay on matrices only), linear warmup + cosine decay, gradient clipping,
//   gradient accumulation, bf16 autocast on CUDA (fp32 on CPU), evaluation on the valid split every
//   eval_every steps, best.ckpt kept by valid loss, last.ckpt every checkpoint_every steps for
//   resuming. A NaN/Inf loss stops training with an Error; checkpoints already written stay.
// Determinism: same options => same loss curve on the CPU (tested). Batches are a pure function
// of (seed, step, micro-batch, row) and initialisation uses its own generator seeded from `seed`;
// on CUDA, cuBLAS/atomics may still differ in the last bits between runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "collapse/model/model_config.h"
#include "collapse/util/setting_names.h"

namespace collapse {

struct TrainOptions {
  std::filesystem::path data;  // prepared dataset folder
  std::filesystem::path out;   // run folder (best.ckpt, last.ckpt, train_log.jsonl)
  std::string preset = "tiny";
  ModelConfig model;            // vocab_size filled from the dataset; ignored with `init`
  std::optional<std::filesystem::path> init;  // fine-tune from this model (weights + config)
  // Positions per training sequence and evaluation window, at most the model's context; 0: the
  // model's context. Fine-tuning a pretrained model (context 2048 or 8192) on a CPU needs less.
  std::int64_t context = 0;
  // Train on this token file (same tokenizer) instead of the dataset's train split: the mixed
  // real + synthetic training set of an experiment generation. Valid stays the real valid split.
  std::optional<std::filesystem::path> train_tokens;
  // Per-source loss weights: the first `real_documents` documents of the training data are real
  // (-1: all of them), the rest synthetic, and each target token's loss is weighted by its
  // source (batches.h's weighted_token_loss). (1, 1) is the plain mean loss. The valid loss is
  // never weighted.
  std::int64_t real_documents = -1;
  double real_weight = 1.0, synthetic_weight = 1.0;
  std::int64_t steps = 0;       // 0: derive from `epochs`
  double epochs = 0.0;          // passes over the train stream (steps * batch * accum * context)
  std::int64_t batch_size = 16;
  std::int64_t grad_accum = 1;
  double lr = 3e-3;
  double min_lr_ratio = 0.1;
  std::int64_t warmup = -1;     // -1: min(100, steps / 10)
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95;
  double grad_clip = 1.0;       // 0 disables
  std::int64_t eval_every = 100;
  std::int64_t eval_tokens = 0;  // 0: the whole valid split
  std::int64_t checkpoint_every = 0;  // 0: = eval_every
  std::int64_t log_every = 10;
  std::uint64_t seed = 0;
  std::string device = "auto";
  bool resume = false;
  // How the caller names these settings in messages (the CLI: --batch-size, --resume, ...).
  SettingNames names = setting_key;

  // Every setting that shapes the result, for the checkpoint and the resume check.
  nlohmann::json to_json() const;
};

struct StepReport {
  std::int64_t step;        // 1-based: steps completed
  std::int64_t total_steps;
  double loss;              // mean train loss of this step
  double lr;
  double tokens_per_second;
  std::optional<double> valid_loss;  // set on evaluation steps
  double grad_norm = 0.0;            // the gradient's L2 norm before clipping
};

struct TrainResult {
  std::int64_t steps = 0;
  double final_loss = 0.0;
  double best_valid_loss = 0.0;  // +inf when there was no valid split to evaluate
  std::int64_t best_step = 0;
  double tokens_per_second = 0.0;
};

// Trains and returns the summary. `on_step` is called after every step (progress display, tests).
TrainResult train(const TrainOptions& options,
                  const std::function<void(const StepReport&)>& on_step = {});

}  // namespace collapse
