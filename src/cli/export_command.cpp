#include <CLI/CLI.hpp>

#include "collapse/data/tokenizer.h"
#include "collapse/model/hf_export.h"
#include "collapse/model/load_model.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "commands.h"
#include "flag_names.h"

namespace collapse::cli {

void add_export_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write a model in the Hugging Face layout (config.json, model.safetensors, the tokenizer)\n"
      "that transformers loads: collapse's models as LlamaForCausalLM, an imported model in its\n"
      "own family's layout.\n"
      "Example: collapse export --model runs/gen-0 --out runs/gen-0-hf");
  cmd->add_option("--model", *model, kModelHelp)->required();
  cmd->add_option("--out", *out, "folder to write")->required();
  cmd->add_option("--data", *data,
                  "dataset folder holding the model's tokenizer (default: the one recorded "
                  "in the checkpoint)");
  cmd->callback([model, out, data] {
    std::error_code ec;
    check_creatable(*out, flag_of("out"));
    const std::filesystem::path dir = normalize_dir(*out);
    // Only an earlier export may be overwritten: anything else in --out is the user's.
    if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec) &&
        !std::filesystem::exists(dir / "config.json", ec)) {
      fail("{} exists and is not an export folder; choose another --out", dir.string());
    }
    LoadedModel loaded = load_model(*model, c10::Device(c10::kCPU));
    // The tokenizer: --data's, else that of the dataset the model was trained on, else that of
    // the model folder it was imported from.
    std::filesystem::path source = *data;
    if (source.empty()) source = loaded.meta.tokenizer.value("dataset", "");
    if (source.empty()) source = loaded.meta.tokenizer.value("export", "");
    if (source.empty() || !std::filesystem::is_directory(source, ec)) {
      fail("cannot find the model's tokenizer{}; pass --data with the dataset folder it was "
           "trained on",
           source.empty() ? "" : " in '" + source.string() + "'");
    }
    const Tokenizer t(source);
    const std::string expected = loaded.meta.tokenizer.value("fingerprint", "");
    if (!expected.empty() && t.fingerprint() != expected) {
      fail("{} is not the tokenizer the model was trained with (fingerprints differ)", t.file().string());
    }
    export_hf(loaded.model, loaded.meta, t, *out);
    std::printf("exported %s to %s (config.json, model.safetensors, %s)\n", model->c_str(),
                out->c_str(), t.file().filename().string().c_str());
  });
}

}  // namespace collapse::cli
