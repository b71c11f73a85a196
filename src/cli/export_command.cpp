#include <CLI/CLI.hpp>

#include "collapse/data/tokenizer.h"
#include "collapse/model/hf_export.h"
#include "collapse/model/load_model.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "commands.h"

namespace collapse::cli {

void add_export_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write a model in the Hugging Face layout (config.json, model.safetensors, the tokenizer)\n"
      "that transformers loads as LlamaForCausalLM.\n"
      "Example: collapse export --model runs/gen-0 --out runs/gen-0-hf");
  cmd->add_option("--model", *model, "a train folder, a .ckpt file or an export folder")->required();
  cmd->add_option("--out", *out, "folder to write")->required();
  cmd->add_option("--data", *data,
                  "dataset folder holding the model's tokenizer (default: the one recorded "
                  "in the checkpoint)");
  cmd->callback([model, out, data] {
    std::error_code ec;
    const std::filesystem::path dir = normalize_dir(*out);
    // Only an earlier export may be overwritten: anything else in --out is the user's.
    if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec) &&
        !std::filesystem::exists(dir / "config.json", ec)) {
      fail("{} exists and is not an export folder; choose another --out", dir.string());
    }
    LoadedModel loaded = load_model(*model, c10::Device(c10::kCPU));
    std::filesystem::path dataset =
        data->empty() ? std::filesystem::path(loaded.meta.tokenizer.value("dataset", ""))
                      : std::filesystem::path(*data);
    // A dataset holds its tokenizer as tokenizer.json (a Hugging Face model's) or tokenizer.model.
    const std::filesystem::path tokenizer = std::filesystem::exists(dataset / "tokenizer.json", ec)
                                                ? dataset / "tokenizer.json"
                                                : dataset / "tokenizer.model";
    if (dataset.empty() || !std::filesystem::exists(tokenizer, ec)) {
      fail("cannot find the model's tokenizer at '{}'; pass --data with the dataset folder it was "
           "trained on",
           tokenizer.string());
    }
    const std::string expected = loaded.meta.tokenizer.value("fingerprint", "");
    const Tokenizer t(tokenizer);
    if (!expected.empty() && t.fingerprint() != expected) {
      fail("{} is not the tokenizer the model was trained with (checksum differs)", tokenizer.string());
    }
    export_hf(loaded.model, loaded.meta, t, *out);
    std::printf("exported %s to %s (config.json, model.safetensors, %s)\n", model->c_str(),
                out->c_str(), t.file().filename().string().c_str());
  });
}

}  // namespace collapse::cli
