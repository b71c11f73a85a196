// Checkpoints: one file holding the model's weights, its config, the tokenizer it was trained
// with (path + sha256), training state and, for resumable checkpoints, the optimizer state.
//
// A training run's folder (`collapse train --out CKPT`):
//   CKPT/best.ckpt        the weights with the lowest valid loss so far (what later stages use)
//   CKPT/last.ckpt        the latest state, optimizer included, for --resume
//   CKPT/train_log.jsonl  one line per logged step / evaluation
// Every file is written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "collapse/model/model.h"

namespace torch::optim {
class Optimizer;
}

namespace collapse {

inline constexpr int kCheckpointVersion = 1;

struct CheckpointMeta {
  ModelConfig model;
  nlohmann::json tokenizer = nlohmann::json::object();  // {"dataset": dir, "fingerprint": ...}
  nlohmann::json training = nlohmann::json::object();   // resolved options (trainer.h); {} for exports
  nlohmann::json state = nlohmann::json::object();      // {"step", "best_valid_loss", "best_step", "log"}
};

void save_checkpoint(const std::filesystem::path& file, GPT& model, const CheckpointMeta& meta,
                     torch::optim::Optimizer* optimizer = nullptr);

// Reads only the metadata.
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& file);

struct LoadedModel {
  GPT model{nullptr};
  CheckpointMeta meta;
  std::filesystem::path file;  // the file the weights came from
};

// Loads the model of a .ckpt file, moved to `device` and in eval mode. A missing or corrupt file
// is an Error naming it. (load_model.h also takes training and export folders.)
LoadedModel load_checkpoint(const std::filesystem::path& file, const c10::Device& device);

// Restores the optimizer state saved with the model in `file` onto `device`.
void load_optimizer_state(const std::filesystem::path& file, torch::optim::Optimizer& optimizer,
                          const c10::Device& device);

}  // namespace collapse
