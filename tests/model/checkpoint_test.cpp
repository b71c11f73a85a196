#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <fstream>

#include "collapse/model/load_model.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;

namespace {
GPT tiny_model() {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = 64;
  c.context = 16;
  GPT m(c);
  initialize_weights(m, 11);
  return m;
}

std::string error_loading(const fs::path& p) {
  try {
    load_model(p, c10::Device(c10::kCPU));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(Checkpoint, RoundTripsWeightsConfigAndMetadata) {
  const fs::path dir = tests::fresh_dir("ckpt");
  GPT m = tiny_model();
  CheckpointMeta meta{.model = m->config(), .tokenizer = {{"sha256", "abc"}},
                      .training = {{"lr", 0.1}}, .state = {{"step", 7}}};
  save_checkpoint(dir / "best.ckpt", m, meta);

  LoadedModel loaded = load_model(dir, c10::Device(c10::kCPU));  // a folder means its best.ckpt
  EXPECT_EQ(loaded.meta.model, m->config());
  EXPECT_EQ(loaded.meta.tokenizer["sha256"], "abc");
  EXPECT_EQ(loaded.meta.state["step"], 7);
  torch::NoGradGuard no_grad;
  m->eval();
  const at::Tensor tokens = at::arange(10, at::kLong).unsqueeze(0);
  EXPECT_TRUE(at::equal(m->forward(tokens), loaded.model->forward(tokens)));
  // Only the final file exists: no temporary is left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(Checkpoint, CorruptMissingAndForeignFilesAreErrorsNamingTheFile) {
  const fs::path dir = tests::fresh_dir("ckpt-bad");
  GPT m = tiny_model();
  save_checkpoint(dir / "good.ckpt", m, CheckpointMeta{.model = m->config()});
  fs::copy_file(dir / "good.ckpt", dir / "cut.ckpt");
  fs::resize_file(dir / "cut.ckpt", fs::file_size(dir / "cut.ckpt") / 2);
  std::ofstream(dir / "junk.ckpt") << "not a checkpoint at all";

  for (const char* name : {"cut.ckpt", "junk.ckpt", "missing.ckpt"}) {
    const std::string e = error_loading(dir / name);
    EXPECT_NE(e.find(name), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  }
  EXPECT_NE(error_loading(tests::fresh_dir("ckpt-empty")).find("holds no model"), std::string::npos);
}
