#include "collapse/train/trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "collapse/util/atomic_file.h"
#include "collapse/train/batches.h"
#include "collapse/model/load_model.h"
#include "collapse/util/checksum.h"
#include "collapse/data/dataset.h"
#include "collapse/model/device.h"
#include "collapse/util/error.h"
#include "collapse/train/evaluate.h"
#include "collapse/util/json_diff.h"
#include "collapse/train/lr_schedule.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

json TrainOptions::to_json() const {
  return {{"preset", preset},
          {"model", model.to_json()},
          {"init", init ? json(std::filesystem::absolute(*init).lexically_normal().string()) : json(nullptr)},
          {"steps", steps},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"grad_accum", grad_accum},
          {"lr", lr},
          {"min_lr_ratio", min_lr_ratio},
          {"warmup", warmup},
          {"weight_decay", weight_decay},
          {"beta1", beta1},
          {"beta2", beta2},
          {"grad_clip", grad_clip},
          {"eval_every", eval_every},
          {"eval_tokens", eval_tokens},
          {"checkpoint_every", checkpoint_every},
          {"log_every", log_every},
          {"seed", seed}};
}

namespace {

void check_options(const TrainOptions& o) {
  auto positive = [](const char* flag, double v) {
    if (!(v > 0)) fail("--{} must be positive, got {}", flag, v);
  };
  positive("batch-size", static_cast<double>(o.batch_size));
  positive("grad-accum", static_cast<double>(o.grad_accum));
  positive("lr", o.lr);
  positive("eval-every", static_cast<double>(o.eval_every));
  positive("log-every", static_cast<double>(o.log_every));
  if (o.steps < 0) fail("--steps must be positive, got {}", o.steps);
  if (o.steps == 0 && !(o.epochs > 0)) fail("give --steps N or --epochs E (both are unset)");
  if (o.steps > 0 && o.epochs > 0) fail("give --steps or --epochs, not both");
  if (!(o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1)) {
    fail("--min-lr-ratio must be in [0, 1], got {}", o.min_lr_ratio);
  }
  if (o.grad_clip < 0) fail("--grad-clip must be >= 0, got {}", o.grad_clip);
  if (o.weight_decay < 0) fail("--weight-decay must be >= 0, got {}", o.weight_decay);
  if (o.eval_tokens != 0 && o.eval_tokens < 2) {
    fail("--eval-tokens must be 0 (the whole valid split) or at least 2, got {}", o.eval_tokens);
  }
  if (o.checkpoint_every < 0) fail("--checkpoint-every must be >= 0, got {}", o.checkpoint_every);
}

std::string log_text(const json& log) {
  std::string text;
  for (const auto& row : log) text += row.dump() + "\n";
  return text;
}

}  // namespace

TrainResult train(const TrainOptions& options, const std::function<void(const StepReport&)>& on_step) {
  check_options(options);
  if (options.out.empty()) fail("--out is required");
  const fs::path out = normalize_dir(options.out);
  const Dataset data(options.data);
  const c10::Device device = resolve_device(options.device);
  const fs::path best_file = out / "best.ckpt", last_file = out / "last.ckpt";

  std::error_code ec;
  if (!options.resume && fs::exists(last_file, ec)) {
    fail("{} already holds a training run; pass --resume to continue it or choose another --out",
         out.string());
  }
  if (options.resume && !fs::exists(last_file, ec)) {
    fail("--resume: {} does not exist, so there is no run to continue (start it without --resume)",
         last_file.string());
  }

  // The model: fresh from the preset/flags, or the weights and shape of --init.
  GPT model(nullptr);
  ModelConfig config = options.model;
  if (options.init) {
    LoadedModel init = load_model(*options.init, c10::Device(c10::kCPU));
    config = init.meta.model;
    check_model_fits_dataset(init.meta, data, "--init " + options.init->string());
    model = init.model;
  } else {
    config.vocab_size = data.vocab_size();
    model = GPT(config);
    initialize_weights(model, options.seed);
  }
  model->to(device);
  model->train();

  const TokenFile train_file = options.train_tokens ? TokenFile(*options.train_tokens) : data.split("train");
  if (train_file.vocab_size() > data.vocab_size()) {
    fail("{}: vocabulary size {} does not match the dataset's {}", train_file.path().string(),
         train_file.vocab_size(), data.vocab_size());
  }
  const std::vector<std::int32_t> train_stream =
      document_stream(train_file, Tokenizer::kBosId, Tokenizer::kEosId);
  const std::vector<std::int32_t> valid_stream =
      document_stream(data.split("valid"), Tokenizer::kBosId, Tokenizer::kEosId);
  const bool can_eval = valid_stream.size() >= 2;

  const std::int64_t C = config.context;
  const std::int64_t tokens_per_step = options.batch_size * options.grad_accum * C;
  const std::int64_t total_steps =
      options.steps > 0
          ? options.steps
          : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(
                                          options.epochs * static_cast<double>(train_stream.size() - 1) /
                                          static_cast<double>(tokens_per_step))));
  const std::int64_t warmup = options.warmup >= 0 ? options.warmup
                                                  : std::min<std::int64_t>(100, total_steps / 10);
  const std::int64_t checkpoint_every =
      options.checkpoint_every > 0 ? options.checkpoint_every : options.eval_every;
  const LrSchedule schedule{.peak = options.lr, .floor_ratio = options.min_lr_ratio,
                            .warmup = warmup, .total = total_steps};

  // Weight decay on matrices only: norms' gains are left alone, as in nanoGPT / Llama.
  std::vector<at::Tensor> decay, no_decay;
  for (auto& p : model->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto adamw = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(options.lr)
            .betas({options.beta1, options.beta2})
            .weight_decay(wd));
  };
  torch::optim::AdamW optimizer({torch::optim::OptimizerParamGroup(decay, adamw(options.weight_decay)),
                                 torch::optim::OptimizerParamGroup(no_decay, adamw(0.0))});

  json resolved = options.to_json();
  resolved["model"] = config.to_json();
  resolved["total_steps"] = total_steps;
  resolved["warmup_steps"] = warmup;
  resolved["train_sha256"] = options.train_tokens
                                 ? json(sha256_file(*options.train_tokens))
                                 : data.manifest().at("splits").at("train").at("sha256");
  resolved["valid_sha256"] = data.manifest().at("splits").at("valid").at("sha256");

  CheckpointMeta meta{.model = config,
                      .tokenizer = {{"dataset", fs::absolute(options.data).string()},
                                    {"fingerprint", data.tokenizer_fingerprint()}},
                      .training = resolved,
                      .state = json::object()};

  // A best.ckpt without last.ckpt is a run of these settings killed before its first last.ckpt:
  // it starts over. best.ckpt of other settings is someone else's run, and is refused.
  if (!options.resume && fs::exists(best_file, ec)) {
    const std::string diff = json_differences(read_checkpoint_meta(best_file).training, resolved);
    if (!diff.empty()) {
      fail("{} holds another run's best.ckpt ({}); choose another --out", out.string(), diff);
    }
  }

  std::int64_t start_step = 0, best_step = 0;
  double result_final_loss = 0.0;  // the last step's loss, also when a finished run is resumed
  double best_valid = std::numeric_limits<double>::infinity();
  json log = json::array();
  if (options.resume) {
    const CheckpointMeta saved = read_checkpoint_meta(last_file);
    // The device may change between a run and its resume; nothing else may.
    const std::string diff = json_differences(saved.training, resolved);
    if (!diff.empty()) {
      fail("--resume: {} was started with other settings ({}); rerun with the original settings "
           "or choose another --out",
           last_file.string(), diff);
    }
    LoadedModel last = load_model(last_file, device);
    torch::NoGradGuard no_grad;
    auto target = model->named_parameters();
    for (const auto& item : last.model->named_parameters()) target[item.key()].copy_(item.value());
    load_optimizer_state(last_file, optimizer, device);
    start_step = saved.state.at("step").get<std::int64_t>();
    best_step = saved.state.value("best_step", 0);
    // JSON has no infinity: "no evaluation yet" is stored as null.
    const json saved_best = saved.state.value("best_valid_loss", json());
    best_valid = saved_best.is_number() ? saved_best.get<double>()
                                        : std::numeric_limits<double>::infinity();
    for (const auto& row : saved.state.value("log", json::array())) {
      if (row.contains("loss")) result_final_loss = row["loss"].get<double>();
    }
    log = saved.state.value("log", json::array());
  }

  auto save = [&](const fs::path& file, std::int64_t step, bool with_optimizer) {
    meta.state = {{"step", step},
                  {"best_step", best_step},
                  {"best_valid_loss", std::isfinite(best_valid) ? json(best_valid) : json(nullptr)}};
    if (with_optimizer) meta.state["log"] = log;
    save_checkpoint(file, model, meta, with_optimizer ? &optimizer : nullptr);
  };

  // Stops training with one line; checkpoints already written are left as they are.
  auto diverged = [&](std::int64_t step, const char* what, double value, double lr) {
    fail("training diverged at step {}: {} is {} (lr {:.3g}); {}", step + 1, what, value, lr,
         fs::exists(last_file, ec)
             ? fmt::format("the last good checkpoint {} is kept", last_file.string())
             : std::string("no checkpoint had been written yet"));
  };

  TrainResult result;
  result.steps = total_steps;
  result.final_loss = result_final_loss;
  double tokens_per_second = 0.0;
  for (std::int64_t step = start_step; step < total_steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = schedule.at(step);
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    optimizer.zero_grad();
    double loss_sum = 0.0;
    for (std::int64_t micro = 0; micro < options.grad_accum; ++micro) {
      const at::Tensor batch =
          training_windows(train_stream, C, options.batch_size, step, micro, options.seed).to(device);
      at::Tensor logits;
      {
        AutocastScope autocast(device);
        logits = model->forward(batch.narrow(1, 0, C));
      }
      const at::Tensor loss =
          at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, config.vocab_size}),
                                 batch.narrow(1, 1, C).reshape({-1})) /
          static_cast<double>(options.grad_accum);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) diverged(step, "the loss", value, lr);
      loss.backward();
      loss_sum += value;
    }
    // The norm is computed even without clipping: a finite loss can still give inf/NaN
    // gradients, and one step with them would poison every weight (and the next checkpoint).
    const double grad_norm = torch::nn::utils::clip_grad_norm_(
        model->parameters(),
        options.grad_clip > 0 ? options.grad_clip : std::numeric_limits<double>::infinity());
    if (!std::isfinite(grad_norm)) diverged(step, "the gradient norm", grad_norm, lr);
    optimizer.step();

    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = static_cast<double>(tokens_per_step) / std::max(seconds, 1e-9);
    tokens_per_second = step == start_step ? rate : 0.9 * tokens_per_second + 0.1 * rate;

    StepReport report{.step = step + 1, .total_steps = total_steps, .loss = loss_sum, .lr = lr,
                      .tokens_per_second = tokens_per_second, .valid_loss = std::nullopt};
    const bool last_step = step + 1 == total_steps;
    if ((step + 1) % options.log_every == 0 || last_step) {
      log.push_back({{"step", step + 1}, {"loss", loss_sum}, {"lr", lr}});
    }
    if (can_eval && ((step + 1) % options.eval_every == 0 || last_step)) {
      const double valid =
          evaluate_stream(model, valid_stream, device, options.batch_size, options.eval_tokens)
              .mean_nll();
      report.valid_loss = valid;
      log.push_back({{"step", step + 1}, {"valid_loss", valid}});
      if (valid < best_valid) {
        best_valid = valid;
        best_step = step + 1;
        save(best_file, step + 1, false);
      }
    }
    if ((step + 1) % checkpoint_every == 0 || last_step) {
      if (!can_eval && last_step) save(best_file, step + 1, false);  // no valid split: keep the end
      save(last_file, step + 1, true);
      write_file_atomic(out / "train_log.jsonl", log_text(log));
    }
    result.final_loss = loss_sum;
    if (on_step) on_step(report);
  }
  result.best_valid_loss = best_valid;
  result.best_step = best_step;
  result.tokens_per_second = tokens_per_second;
  return result;
}

}  // namespace collapse
