#include "collapse/train/trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "collapse/data/dataset.h"
#include "collapse/model/device.h"
#include "collapse/model/load_model.h"
#include "collapse/train/batches.h"
#include "collapse/train/evaluate.h"
#include "collapse/train/lr_schedule.h"
#include "collapse/train/memory_estimate.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/checksum.h"
#include "collapse/util/error.h"
#include "collapse/util/json_diff.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

json TrainOptions::to_json() const {
  json j = {{"preset", preset},
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
  // Absent when 0, so runs from before the key resume.
  if (context > 0) j["context"] = context;
  if (real_weight != 1.0 || synthetic_weight != 1.0) {  // likewise absent when off
    j["source_weights"] = {{"real", real_weight}, {"synthetic", synthetic_weight}, {"real_documents", real_documents}};
  }
  return j;
}

namespace {

void check_options(const TrainOptions& o) {
  const SettingNames& name = o.names;
  auto count = [&](const char* key, std::int64_t v) {
    if (v <= 0) fail("{} must be positive, got {}", name(key), v);
  };
  auto positive = [&](const char* key, double v) {
    if (!(v > 0) || !std::isfinite(v)) fail("{} must be a finite positive number, got {}", name(key), v);
  };
  auto non_negative = [&](const char* key, double v) {
    if (!(v >= 0) || !std::isfinite(v)) fail("{} must be a finite number >= 0, got {}", name(key), v);
  };
  count("batch_size", o.batch_size);
  count("grad_accum", o.grad_accum);
  positive("lr", o.lr);
  count("eval_every", o.eval_every);
  count("log_every", o.log_every);
  if (o.steps < 0) fail("{} must be positive, got {}", name("steps"), o.steps);
  // 10^12 steps would outlast any machine; a bigger number is a typo or an overflow.
  if (o.steps > 1'000'000'000'000) fail("{} must be at most 10^12, got {}", name("steps"), o.steps);
  if (o.epochs != 0) positive("epochs", o.epochs);
  if (o.steps == 0 && !(o.epochs > 0)) {
    fail("give {} N or {} E (both are unset)", name("steps"), name("epochs"));
  }
  if (o.steps > 0 && o.epochs > 0) fail("give {} or {}, not both", name("steps"), name("epochs"));
  if (!(o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1)) {
    fail("{} must be in [0, 1], got {}", name("min_lr_ratio"), o.min_lr_ratio);
  }
  non_negative("grad_clip", o.grad_clip);
  non_negative("weight_decay", o.weight_decay);
  if (o.warmup < -1) fail("{} must be -1 (the default schedule) or >= 0, got {}", name("warmup"), o.warmup);
  if (o.eval_tokens != 0 && o.eval_tokens < 2) {
    fail("{} must be 0 (the whole valid split) or at least 2, got {}", name("eval_tokens"),
         o.eval_tokens);
  }
  if (o.checkpoint_every < 0) {
    fail("{} must be >= 0, got {}", name("checkpoint_every"), o.checkpoint_every);
  }
  if (o.out.empty()) fail("{} is required", name("out"));
}

// Resuming needs a run to continue; otherwise the folder must not hold one.
void check_run_folder(const TrainOptions& o, const fs::path& out, const fs::path& last_file) {
  std::error_code ec;
  if (!o.resume && fs::exists(last_file, ec)) {
    fail("{} already holds a training run; pass {} to continue it or choose another {}",
         out.string(), o.names("resume"), o.names("out"));
  }
  if (o.resume && !fs::exists(last_file, ec)) {
    fail("{}: {} does not exist, so there is no run to continue (start it without {})",
         o.names("resume"), last_file.string(), o.names("resume"));
  }
}

// The model to train and its shape: fresh from the config (vocab_size from the dataset) and
// initialised from the seed, or the weights and shape of `init`. On `device`, in training mode.
struct StartingModel {
  GPT model;
  ModelConfig config;
};

StartingModel starting_model(const TrainOptions& o, const Dataset& data, const c10::Device& device) {
  StartingModel start{GPT(nullptr), o.model};
  // Refused before the weights reach the device, or are allocated at all, when they, the optimizer
  // and a step's activations cannot fit (memory_estimate.h).
  auto check_fits = [&](double resident) {
    const std::int64_t window = window_within(start.config, o.context, o.names("context"));
    check_training_fits(estimate_training_memory(start.config, o.batch_size, window, device.is_cuda()), resident,
                        device, o.batch_size, window, o.names);
  };
  if (o.init) {
    LoadedModel init = load_model(*o.init, c10::Device(c10::kCPU));
    start.config = init.meta.model;
    check_model_fits_dataset(init.meta, data, o.names("init") + " " + o.init->string());
    start.model = init.model;
    check_fits(device.is_cpu() ? 4.0 * static_cast<double>(start.config.parameters()) : 0.0);
  } else {
    start.config.vocab_size = data.vocab_size();
    start.config.validate(o.names);
    check_fits(0.0);
    start.model = GPT(start.config);
    initialize_weights(start.model, o.seed);
  }
  start.model->to(device);
  start.model->train();
  return start;
}

// How many steps, the warmup, the checkpoint interval and the learning-rate schedule.
struct StepPlan {
  std::int64_t total_steps = 0, warmup = 0, checkpoint_every = 0, tokens_per_step = 0;
  LrSchedule schedule;
};

StepPlan plan_steps(const TrainOptions& o, std::int64_t context, std::int64_t train_tokens) {
  StepPlan p;
  p.tokens_per_step = o.batch_size * o.grad_accum * context;
  if (o.steps > 0) {
    p.total_steps = o.steps;
  } else {
    const double steps = std::ceil(o.epochs * static_cast<double>(train_tokens - 1) /
                                   static_cast<double>(p.tokens_per_step));
    if (!(steps <= 1e12)) {
      fail("{} {} means {} steps over this split; at most 10^12", o.names("epochs"), o.epochs, steps);
    }
    p.total_steps = std::max<std::int64_t>(1, static_cast<std::int64_t>(steps));
  }
  p.warmup = o.warmup >= 0 ? o.warmup : std::min<std::int64_t>(100, p.total_steps / 10);
  p.checkpoint_every = o.checkpoint_every > 0 ? o.checkpoint_every : o.eval_every;
  p.schedule = LrSchedule{.peak = o.lr, .floor_ratio = o.min_lr_ratio, .warmup = p.warmup,
                          .total = p.total_steps};
  return p;
}

// AdamW with weight decay on matrices only: norms' gains are left alone, as in nanoGPT / Llama.
std::unique_ptr<torch::optim::AdamW> make_optimizer(GPT& model, const TrainOptions& o) {
  std::vector<at::Tensor> decay, no_decay;
  for (auto& p : model->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto adamw = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).weight_decay(wd));
  };
  return std::make_unique<torch::optim::AdamW>(std::vector<torch::optim::OptimizerParamGroup>{
      torch::optim::OptimizerParamGroup(decay, adamw(o.weight_decay)),
      torch::optim::OptimizerParamGroup(no_decay, adamw(0.0))});
}

// Every setting that shapes the result, as recorded in checkpoints and compared on resume.
json resolved_settings(const TrainOptions& o, const ModelConfig& config, const StepPlan& plan,
                       const Dataset& data) {
  json resolved = o.to_json();
  resolved["model"] = config.to_json();
  resolved["total_steps"] = plan.total_steps;
  resolved["warmup_steps"] = plan.warmup;
  resolved["train_sha256"] = o.train_tokens ? json(sha256_file(*o.train_tokens))
                                            : data.manifest().at("splits").at("train").at("sha256");
  resolved["valid_sha256"] = data.manifest().at("splits").at("valid").at("sha256");
  return resolved;
}

// Where a run stands: fresh, or as last.ckpt left it.
struct RunState {
  std::int64_t step = 0, best_step = 0;
  double best_valid = std::numeric_limits<double>::infinity();
  double final_loss = 0.0;  // the last logged train loss, also when a finished run is resumed
  json log = json::array();
};

// Restores the weights, the optimizer and the state of last.ckpt, which must have been written
// with these settings (the device may change between a run and its resume; nothing else may).
RunState resume_from(const TrainOptions& o, const fs::path& last_file, const json& resolved,
                     GPT& model, torch::optim::Optimizer& optimizer, const c10::Device& device) {
  const CheckpointMeta saved = read_checkpoint_meta(last_file);
  const std::string diff = json_differences(saved.training, resolved);
  if (!diff.empty()) {
    fail("{}: {} was started with other settings ({}); rerun with the original settings or choose "
         "another {}",
         o.names("resume"), last_file.string(), diff, o.names("out"));
  }
  LoadedModel last = load_model(last_file, device);
  {
    torch::NoGradGuard no_grad;
    auto target = model->named_parameters();
    for (const auto& item : last.model->named_parameters()) target[item.key()].copy_(item.value());
  }
  load_optimizer_state(last_file, optimizer, device);
  RunState state;
  state.step = saved.state.at("step").get<std::int64_t>();
  state.best_step = saved.state.value("best_step", 0);
  // JSON has no infinity: "no evaluation yet" is stored as null.
  const json saved_best = saved.state.value("best_valid_loss", json());
  if (saved_best.is_number()) state.best_valid = saved_best.get<double>();
  state.log = saved.state.value("log", json::array());
  for (const auto& row : state.log) {
    if (row.contains("loss")) state.final_loss = row["loss"].get<double>();
  }
  return state;
}

std::string log_text(const json& log) {
  std::string text;
  for (const auto& row : log) text += row.dump() + "\n";
  return text;
}

}  // namespace

TrainResult train(const TrainOptions& options, const std::function<void(const StepReport&)>& on_step) {
  // Setup: the folder, the data, the model, the plan, the optimizer, and where a resume left off.
  check_options(options);
  const fs::path out = normalize_dir(options.out);
  const Dataset data(options.data);
  const c10::Device device = resolve_device(options.device, options.names("device"));
  const fs::path best_file = out / "best.ckpt", last_file = out / "last.ckpt";
  check_run_folder(options, out, last_file);
  const StartingModel start = starting_model(options, data, device);
  GPT model = start.model;
  const ModelConfig& config = start.config;

  const TokenFile train_file = options.train_tokens ? TokenFile(*options.train_tokens) : data.split("train");
  if (train_file.vocab_size() > data.vocab_size()) {
    fail("{}: vocabulary size {} does not match the dataset's {}", train_file.path().string(),
         train_file.vocab_size(), data.vocab_size());
  }
  std::vector<std::int64_t> document_ends;
  const std::vector<std::int32_t> train_stream =
      document_stream(train_file, data.tokenizer().bos_id(), data.tokenizer().eos_id(), &document_ends);
  // Per-source weights: the stream position where the synthetic documents begin.
  const bool weighted = options.real_weight != 1.0 || options.synthetic_weight != 1.0;
  if (options.real_documents > train_file.documents()) {
    fail("{}: {} real documents asked for, but the training data holds {}", train_file.path().string(),
         options.real_documents, train_file.documents());
  }
  const std::int64_t real_end = options.real_documents < 0   ? static_cast<std::int64_t>(train_stream.size())
                                : options.real_documents == 0 ? 0
                                                              : document_ends[static_cast<std::size_t>(options.real_documents - 1)];
  const std::vector<std::int32_t> valid_stream =
      document_stream(data.split("valid"), data.tokenizer().bos_id(), data.tokenizer().eos_id());
  const bool can_eval = valid_stream.size() >= 2;

  const std::int64_t C = window_within(config, options.context, options.names("context"));
  const StepPlan plan = plan_steps(options, C, static_cast<std::int64_t>(train_stream.size()));
  const auto optimizer = make_optimizer(model, options);
  const json resolved = resolved_settings(options, config, plan, data);
  CheckpointMeta meta{.model = config,
                      .tokenizer = {{"dataset", fs::absolute(options.data).string()},
                                    {"fingerprint", data.tokenizer_fingerprint()}},
                      .training = resolved,
                      .state = json::object()};

  // A best.ckpt without last.ckpt is a run of these settings killed before its first last.ckpt:
  // it starts over. best.ckpt of other settings is someone else's run, and is refused.
  std::error_code ec;
  if (!options.resume && fs::exists(best_file, ec)) {
    const std::string diff = json_differences(read_checkpoint_meta(best_file).training, resolved);
    if (!diff.empty()) {
      fail("{} holds another run's best.ckpt ({}); choose another {}", out.string(), diff,
           options.names("out"));
    }
  }
  RunState state = options.resume
                       ? resume_from(options, last_file, resolved, model, *optimizer, device)
                       : RunState{};

  auto save = [&](const fs::path& file, std::int64_t step, bool with_optimizer) {
    meta.state = {{"step", step},
                  {"best_step", state.best_step},
                  {"best_valid_loss", std::isfinite(state.best_valid) ? json(state.best_valid) : json(nullptr)}};
    if (with_optimizer) meta.state["log"] = state.log;
    save_checkpoint(file, model, meta, with_optimizer ? optimizer.get() : nullptr);
  };

  // Stops training with one line; checkpoints already written are left as they are.
  auto diverged = [&](std::int64_t step, const char* what, double value, double lr) {
    fail("training diverged at step {}: {} is {} (lr {:.3g}); {}", step + 1, what, value, lr,
         fs::exists(last_file, ec)
             ? fmt::format("the last good checkpoint {} is kept", last_file.string())
             : std::string("no checkpoint had been written yet"));
  };

  // The loop.
  TrainResult result;
  result.steps = plan.total_steps;
  result.final_loss = state.final_loss;
  double tokens_per_second = 0.0;
  for (std::int64_t step = state.step; step < plan.total_steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = plan.schedule.at(step);
    for (auto& group : optimizer->param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    optimizer->zero_grad();
    double loss_sum = 0.0;
    for (std::int64_t micro = 0; micro < options.grad_accum; ++micro) {
      std::vector<std::int64_t> starts;
      const at::Tensor batch =
          training_windows(train_stream, C, options.batch_size, step, micro, options.seed, &starts).to(device);
      at::Tensor logits;
      {
        AutocastScope autocast(device);
        logits = model->forward(batch.narrow(1, 0, C));
      }
      const at::Tensor flat_logits = logits.to(at::kFloat).reshape({-1, config.vocab_size});
      const at::Tensor targets = batch.narrow(1, 1, C).reshape({-1});
      const at::Tensor loss =
          (weighted ? weighted_token_loss(flat_logits, targets,
                                          source_weights(starts, C, real_end, options.real_weight,
                                                         options.synthetic_weight).to(device))
                    : at::cross_entropy_loss(flat_logits, targets)) /
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
    optimizer->step();

    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = static_cast<double>(plan.tokens_per_step) / std::max(seconds, 1e-9);
    tokens_per_second = step == state.step ? rate : 0.9 * tokens_per_second + 0.1 * rate;

    StepReport report{.step = step + 1, .total_steps = plan.total_steps, .loss = loss_sum, .lr = lr,
                      .tokens_per_second = tokens_per_second, .valid_loss = std::nullopt,
                      .grad_norm = grad_norm};
    const bool last_step = step + 1 == plan.total_steps;
    if ((step + 1) % options.log_every == 0 || last_step) {
      state.log.push_back({{"step", step + 1}, {"loss", loss_sum}, {"lr", lr}});
    }
    if (can_eval && ((step + 1) % options.eval_every == 0 || last_step)) {
      const double valid =
          evaluate_stream(model, valid_stream, device, options.batch_size, options.eval_tokens, {}, C)
              .mean_nll();
      report.valid_loss = valid;
      state.log.push_back({{"step", step + 1}, {"valid_loss", valid}});
      if (valid < state.best_valid) {
        state.best_valid = valid;
        state.best_step = step + 1;
        save(best_file, step + 1, false);
      }
    }
    if ((step + 1) % plan.checkpoint_every == 0 || last_step) {
      if (!can_eval && last_step) save(best_file, step + 1, false);  // no valid split: keep the end
      save(last_file, step + 1, true);
      write_file_atomic(out / "train_log.jsonl", log_text(state.log));
    }
    result.final_loss = loss_sum;
    if (on_step) on_step(report);
  }
  result.best_valid_loss = state.best_valid;
  result.best_step = state.best_step;
  result.tokens_per_second = tokens_per_second;
  return result;
}

}  // namespace collapse
