#include "collapse/model/checkpoint.h"

#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "collapse/model/checkpoint_file.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

json meta_to_json(const CheckpointMeta& meta) {
  return {{"version", kCheckpointVersion},
          {"model", meta.model.to_json()},
          {"tokenizer", meta.tokenizer},
          {"training", meta.training},
          {"state", meta.state}};
}

// The whole file of a checkpoint, read once; the checksum is verified by checkpoint_archive.
std::string read_checkpoint_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail("checkpoint not found: {}", file.string());
  if (!fs::is_regular_file(file, ec)) fail("{}: not a checkpoint file", file.string());
  return read_file(file);
}

// Opens the verified archive; anything torch's reader still refuses is one Error line.
torch::serialize::InputArchive open_archive(const fs::path& file,
                                           const c10::Device& device = c10::Device(c10::kCPU)) {
  const std::string bytes = read_checkpoint_file(file);
  const std::string_view verified = checkpoint_archive(bytes, file);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(verified.data(), verified.size(), device);
  } catch (const c10::Error& e) {
    fail("{}: corrupt or unreadable checkpoint ({})", file.string(), first_line(e.what_without_backtrace()));
  }
  return archive;
}

CheckpointMeta meta_from_archive(torch::serialize::InputArchive& archive, const fs::path& file) {
  c10::IValue value;
  if (!archive.try_read("meta", value) || !value.isString()) {
    fail("{}: not a collapse checkpoint (no metadata)", file.string());
  }
  json j;
  try {
    j = json::parse(value.toStringRef());
  } catch (const json::exception& e) {
    fail("{}: corrupt checkpoint metadata ({})", file.string(), e.what());
  }
  if (j.value("version", 0) != kCheckpointVersion) {
    fail("{}: checkpoint version {} is not supported (this build reads {})", file.string(),
         j.value("version", 0), kCheckpointVersion);
  }
  CheckpointMeta meta;
  meta.model = ModelConfig::from_json(j.at("model"), file.string());
  // Absent or null sections read as empty objects, so lookups with defaults always work.
  auto section = [&](const char* key) {
    const json s = j.value(key, json::object());
    return s.is_object() ? s : json::object();
  };
  meta.tokenizer = section("tokenizer");
  meta.training = section("training");
  meta.state = section("state");
  return meta;
}

}  // namespace

void save_checkpoint(const fs::path& file, GPT& model, const CheckpointMeta& meta,
                     torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("meta", c10::IValue(meta_to_json(meta).dump()));
  torch::serialize::OutputArchive weights;
  model->save(weights);
  archive.write("model", weights);
  if (optimizer) {
    torch::serialize::OutputArchive state;
    optimizer->save(state);
    archive.write("optimizer", state);
  }
  std::string archive_bytes;
  try {
    archive.save_to([&](const void* data, std::size_t n) {
      archive_bytes.append(static_cast<const char*>(data), n);
      return n;
    });
  } catch (const c10::Error& e) {
    fail("cannot write checkpoint {}: {}", file.string(), first_line(e.what_without_backtrace()));
  }
  std::string bytes = checkpoint_file_bytes(archive_bytes);
  archive_bytes = std::string();
  write_file_atomic(file, bytes);  // a full disk is "cannot write FILE", the temporary removed
}

CheckpointMeta read_checkpoint_meta(const fs::path& file) {
  auto archive = open_archive(file);
  return meta_from_archive(archive, file);
}

LoadedModel load_checkpoint(const fs::path& path, const c10::Device& device) {
  auto archive = open_archive(path);
  LoadedModel loaded{.model = GPT(nullptr), .meta = meta_from_archive(archive, path), .file = path};
  loaded.model = GPT(loaded.meta.model);
  try {
    torch::serialize::InputArchive weights;
    archive.read("model", weights);
    loaded.model->load(weights);
  } catch (const c10::Error& e) {
    fail("{}: corrupt checkpoint weights ({})", path.string(), first_line(e.what_without_backtrace()));
  }
  // A diverged training saved as a model, or weights edited by hand: NaN or infinite weights
  // would make every number computed from them NaN, so they are an error here.
  for (const auto& p : loaded.model->named_parameters()) {
    if (!at::isfinite(p.value()).all().item<bool>()) {
      fail("{}: the weights of {} hold NaN or infinity; this model cannot be used", path.string(), p.key());
    }
  }
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

void load_optimizer_state(const fs::path& file, torch::optim::Optimizer& optimizer,
                          const c10::Device& device) {
  auto archive = open_archive(file, device);  // the state must live where the parameters do
  try {
    torch::serialize::InputArchive state;
    archive.read("optimizer", state);
    optimizer.load(state);
  } catch (const c10::Error& e) {
    fail("{}: no usable optimizer state ({})", file.string(), first_line(e.what_without_backtrace()));
  }
}

}  // namespace collapse
