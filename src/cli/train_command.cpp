#include <CLI/CLI.hpp>
#include <cmath>
#include <fmt/format.h>
#include <optional>

#include "collapse/model/checkpoint.h"
#include "collapse/model/device.h"
#include "collapse/train/trainer.h"
#include "collapse/util/progress.h"
#include "collapse/util/atomic_file.h"
#include "commands.h"
#include "flag_names.h"
#include "number_checks.h"

namespace collapse::cli {
namespace {

// Model flags override the preset only when given (0 = take the preset's value).
struct ModelFlags {
  std::int64_t n_layer = 0, n_head = 0, d_model = 0, ffn_hidden = 0, context = 0;
  std::optional<double> rope_theta;  // given: validated by the model config, whatever it is
  bool untied = false;

  ModelConfig apply(ModelConfig c) const {
    if (n_layer) c.n_layer = n_layer;
    if (n_head) c.n_head = n_head;
    if (d_model) c.d_model = d_model;
    if (ffn_hidden) c.ffn_hidden = ffn_hidden;
    if (context) c.context = context;
    if (rope_theta) c.rope_theta = *rope_theta;
    if (untied) c.tie_embeddings = false;
    return c;
  }
};

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto flags = std::make_shared<ModelFlags>();
  auto init = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train a GPT on a prepared dataset. Keeps CKPT/best.ckpt (lowest valid loss) and\n"
      "CKPT/last.ckpt (for --resume), and logs to CKPT/train_log.jsonl.\n"
      "Example: collapse train --data runs/sotu-data --out runs/gen-0 --preset tiny --steps 600");
  cmd->add_option("--data", o->data, "prepared dataset folder (collapse prepare)")->required();
  cmd->add_option("--out", o->out, "run folder for checkpoints and the log")->required();
  cmd->add_option("--preset", o->preset, "model size: tiny (CPU), small (~10M), base (~GPT-2 small)")
      ->check(CLI::IsMember(ModelConfig::preset_names()))
      ->capture_default_str();
  auto* model = "Model (override the preset)";
  cmd->add_option("--n-layer", flags->n_layer, "transformer layers")->group(model);
  cmd->add_option("--n-head", flags->n_head, "attention heads")->group(model);
  cmd->add_option("--d-model", flags->d_model, "model width")->group(model);
  cmd->add_option("--ffn-hidden", flags->ffn_hidden, "SwiGLU hidden width")->group(model);
  cmd->add_option("--context", flags->context,
                  "context length in tokens; with --init, the training window (at most the model's context)")
      ->group(model);
  cmd->add_option("--rope-theta", flags->rope_theta, "rotary embedding base")->check(finite_number())->group(model);
  cmd->add_flag("--untied", flags->untied, "separate output projection (default: tied to embedding)")
      ->group(model);

  cmd->add_option("--steps", o->steps, "optimizer steps")->check(whole_at_least(0))->capture_default_str();
  cmd->add_option("--epochs", o->epochs,
                  "passes over the train tokens instead of --steps (steps = epochs * tokens / "
                  "(batch * accum * context))")
      ->check(finite_number());
  cmd->add_option("--batch-size", o->batch_size, "sequences per micro-batch")->capture_default_str();
  cmd->add_option("--grad-accum", o->grad_accum, "micro-batches per step")->capture_default_str();
  cmd->add_option("--lr", o->lr, "peak learning rate")->check(finite_number())->capture_default_str();
  cmd->add_option("--min-lr-ratio", o->min_lr_ratio, "final lr as a share of the peak")
      ->check(finite_number())
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "warmup steps (-1: min(100, steps/10))")
      ->check(whole_at_least(-1))
      ->capture_default_str();
  cmd->add_option("--weight-decay", o->weight_decay, "AdamW weight decay (matrices only)")
      ->check(finite_number())
      ->capture_default_str();
  cmd->add_option("--grad-clip", o->grad_clip, "gradient norm clip (0: off)")
      ->check(finite_number())
      ->capture_default_str();
  cmd->add_option("--eval-every", o->eval_every, "evaluate on valid every N steps")
      ->capture_default_str();
  cmd->add_option("--eval-tokens", o->eval_tokens, "valid tokens per evaluation (0: all)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", o->checkpoint_every, "write last.ckpt every N steps (0: = eval-every)")
      ->capture_default_str();
  cmd->add_option("--log-every", o->log_every, "log the train loss every N steps")->capture_default_str();
  cmd->add_option("--init", *init, std::string("fine-tune from this model: ") + kModelHelp);
  cmd->add_option("--device", o->device, kDeviceNames)->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of initialisation and batch order")
      ->check(whole_at_least(0))
      ->capture_default_str();
  cmd->add_flag("--resume", o->resume, "continue the run in --out from its last.ckpt");

  cmd->callback([o, flags, init] {
    o->names = flag_of;
    check_creatable(o->out, flag_of("out"));
    o->model = flags->apply(ModelConfig::preset(o->preset));
    if (!init->empty()) {
      o->init = *init;
      o->context = flags->context;
    }
    std::optional<Progress> progress;  // created at the first step, when the total is known
    double last_valid = -1;
    const TrainResult r = train(*o, [&](const StepReport& s) {
      if (!progress) progress.emplace("train", s.total_steps, "steps");
      if (s.valid_loss) last_valid = *s.valid_loss;
      std::string status = fmt::format("loss {:.4f} | lr {:.2e} | {:.0f} tok/s", s.loss, s.lr,
                                       s.tokens_per_second);
      if (last_valid >= 0) status += fmt::format(" | valid {:.4f}", last_valid);
      progress->update(s.step, status);
      if (s.step == s.total_steps) progress->finish();
    });
    if (std::isfinite(r.best_valid_loss)) {
      std::printf("trained %lld steps: final train loss %.4f, best valid loss %.4f (perplexity "
                  "%.2f) at step %lld\n",
                  static_cast<long long>(r.steps), r.final_loss, r.best_valid_loss,
                  std::exp(r.best_valid_loss), static_cast<long long>(r.best_step));
    } else {
      std::printf("trained %lld steps: final train loss %.4f (no valid split: best.ckpt holds the "
                  "final weights)\n",
                  static_cast<long long>(r.steps), r.final_loss);
    }
    std::printf("model: %s\n", (o->out / "best.ckpt").c_str());
  });
}

}  // namespace collapse::cli
