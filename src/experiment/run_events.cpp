#include "collapse/experiment/run_events.h"

#include <algorithm>
#include <sstream>

#include "collapse/train/trainer.h"
#include "collapse/util/atomic_file.h"

namespace collapse {

RunEvents::RunEvents(std::filesystem::path lineage_dir, std::string config_text, bool enabled)
    : dir_(std::move(lineage_dir)), config_text_(std::move(config_text)), enabled_(enabled) {}

EventFileWriter& RunEvents::training(const std::string& prefix, std::int64_t first_step) {
  auto& w = trainings_[prefix];
  if (!w) {
    w = std::make_unique<EventFileWriter>(dir_ / (prefix == "train" ? "training" : prefix), "");
    w->session_start(first_step);
  }
  return *w;
}

EventFileWriter& RunEvents::generations(std::int64_t first_step) {
  if (!generations_) {
    generations_ = std::make_unique<EventFileWriter>(dir_ / "generations", "");
    generations_->session_start(first_step);
    // Markdown: indented by four spaces, the config is shown as it was written.
    std::string text;
    std::istringstream lines(config_text_);
    for (std::string line; std::getline(lines, line);) text += "    " + line + "\n";
    generations_->text("config", first_step, text);
  }
  return *generations_;
}

void RunEvents::step(const std::string& prefix, std::int64_t offset, const StepReport& r) {
  if (!enabled_) return;
  const std::int64_t at = offset + r.step;
  EventFileWriter& w = training(prefix, at);
  w.scalar(prefix + "/loss", at, r.loss);
  w.scalar(prefix + "/lr", at, r.lr);
  w.scalar(prefix + "/grad_norm", at, r.grad_norm);
  w.scalar(prefix + "/tokens_per_second", at, r.tokens_per_second);
  if (r.valid_loss) w.scalar(prefix == "train" ? "valid/loss" : prefix + "/valid_loss", at, *r.valid_loss);
}

void RunEvents::replay(const std::string& prefix, std::int64_t offset, const std::filesystem::path& train_log) {
  if (!enabled_ || !std::filesystem::exists(train_log)) return;
  std::istringstream lines(read_file(train_log));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const nlohmann::json e = nlohmann::json::parse(line);
    const std::int64_t at = offset + e.at("step").get<std::int64_t>();
    EventFileWriter& w = training(prefix, at);
    if (e.contains("loss")) w.scalar(prefix + "/loss", at, e.at("loss").get<double>());
    if (e.contains("lr")) w.scalar(prefix + "/lr", at, e.at("lr").get<double>());
    if (e.contains("valid_loss")) {
      w.scalar(prefix == "train" ? "valid/loss" : prefix + "/valid_loss", at, e.at("valid_loss").get<double>());
    }
  }
}

void RunEvents::metrics(std::int64_t generation, const nlohmann::json& metrics) {
  if (!enabled_) return;
  EventFileWriter& w = generations(generation);
  for (const auto& [name, value] : metrics.items()) {
    if (value.is_number()) w.scalar("metrics/" + name, generation, value.get<double>());
  }
}

std::int64_t logged_steps(const std::filesystem::path& train_log) {
  std::int64_t steps = 0;
  std::istringstream lines(read_file(train_log));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) steps = std::max(steps, nlohmann::json::parse(line).at("step").get<std::int64_t>());
  }
  return steps;
}

}  // namespace collapse
