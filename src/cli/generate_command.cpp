#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "collapse/data/dataset.h"
#include "collapse/generate/generator.h"
#include "collapse/generate/prompts.h"
#include "collapse/generate/samples_file.h"
#include "collapse/model/device.h"
#include "collapse/model/load_model.h"
#include "collapse/util/error.h"
#include "collapse/util/progress.h"
#include "collapse/util/atomic_file.h"
#include "commands.h"
#include "flag_names.h"
#include "number_checks.h"
#include "sampler_flags.h"

namespace collapse::cli {

void add_generate_command(CLI::App& app) {
  struct Args {
    std::string model, data, out, prompt = "bos", device = "auto", decode = "auto", cpu_sampler = "fast";
    std::int64_t documents = 0, generation = 0;
    bool keep_prompt = false, force = false;
    GenerateOptions options;
  };
  auto a = std::make_shared<Args>();
  auto sampler = std::make_shared<SamplerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Write a synthetic corpus with a trained model: batched KV-cache decoding with the sampler\n"
      "chain or beam search. The same --seed gives the same documents whatever --batch-size.\n"
      "Writes SAMPLES/ (token file + provenance + samples.txt) or, for --out X.jsonl, JSON lines.\n"
      "Example: collapse generate --model runs/gen-0 --data runs/sotu-data --out runs/gen-1-samples \\\n"
      "      --documents 1000 --max-tokens 128 --top-p 0.95\n"
      "Example (Shumailov et al.): collapse generate --model runs/gen-0 --data runs/sotu-data --out x.jsonl \\\n"
      "      --prompt real-prefix:64 --min-tokens 64 --max-tokens 64 --beams 5 --repetition-penalty 3");
  cmd->add_option("--model", a->model, kModelHelp)->required();
  cmd->add_option("--data", a->data, "the prepared dataset the model was trained with")->required();
  cmd->add_option("--out", a->out, "samples folder, or a .jsonl file")->required();
  cmd->add_flag("--force", a->force,
                "replace an existing .jsonl --out (a samples folder is always replaced whole)");
  cmd->add_option("--documents", a->documents,
                  "documents to write (default: one per prompt; 1000 with --prompt bos)")
      ->check(whole_at_least(1));
  cmd->add_option("--max-tokens", a->options.max_tokens, "generated tokens per document, at most")
      ->capture_default_str();
  cmd->add_option("--min-tokens", a->options.min_tokens, "EOS is banned before this many tokens")
      ->capture_default_str();
  cmd->add_option("--prompt", a->prompt,
                  "bos | real-prefix:K (K-token blocks of the real train split) | file:PATH "
                  "(one prompt per line)")
      ->capture_default_str();
  cmd->add_flag("--keep-prompt", a->keep_prompt, "documents include their prompt's tokens");
  cmd->add_option("--batch-size", a->options.batch_size, "documents decoded together")
      ->capture_default_str();
  cmd->add_option("--seed", a->options.seed, "sampling seed")->check(whole_at_least(0))->capture_default_str();
  cmd->add_option("--generation", a->generation, "generation number recorded in the provenance")
      ->check(whole_at_least(0))
      ->capture_default_str();
  cmd->add_option("--context", a->options.context, kContextHelp)->check(whole_at_least(1));
  cmd->add_option("--device", a->device, kDeviceNames)->capture_default_str();
  cmd->add_option("--decode", a->decode, described_names(decode_modes()) + " (docs/generation.md)")
      ->capture_default_str();
  cmd->add_option("--cpu-sampler", a->cpu_sampler,
                  "rows sampled on the CPU: " + described_names(host_samplers()) + " (docs/sampling.md)")
      ->capture_default_str();
  add_sampler_flags(cmd, sampler);

  cmd->callback([a, sampler] {
    GenerateOptions options = a->options;
    options.names = flag_of;
    options.sampler = sampler->resolve();
    const auto decode = find_named(decode_modes(), a->decode);
    if (!decode) {
      fail("{} must be {}, got '{}'", flag_of("decode"), names_of(decode_modes()), a->decode);
    }
    options.decode = *decode;
    const auto cpu_sampler = find_named(host_samplers(), a->cpu_sampler);
    if (!cpu_sampler) {
      fail("{} must be {}, got '{}'", flag_of("cpu_sampler"), names_of(host_samplers()), a->cpu_sampler);
    }
    options.host_sampler = *cpu_sampler;
    check_creatable(a->out, flag_of("out"));
    check_samples_destination(a->out);
    // A .jsonl --out may be anyone's file (a corpus, say): replaced only when asked.
    if (is_jsonl_path(a->out) && std::filesystem::exists(a->out) && !a->force) {
      fail("{} {} exists: pass --force to replace it", flag_of("out"), a->out);
    }
    const Dataset data(a->data);
    options.special = data.tokenizer().special();
    options.vocab_size = data.tokenizer().vocab_size();
    const PromptSet prompts = make_prompts(a->prompt, data, flag_of("prompt"));
    const bool unconditional = PromptSpec::read(a->prompt)->kind == PromptSpec::Kind::bos;
    options.documents = a->documents > 0 ? a->documents
                        : unconditional  ? 1000
                                         : static_cast<std::int64_t>(prompts.prompts.size());
    const c10::Device device = resolve_device(a->device, flag_of("device"));
    LoadedModel loaded = load_model(a->model, device);
    check_model_fits_dataset(loaded.meta, data, flag_of("model") + " " + a->model);
    const DecodeMode mode =
        resolve_decode_mode(options, loaded.model->config(), prompts.prompts, device);

    Progress progress("generate", options.documents, "docs");
    const auto start = std::chrono::steady_clock::now();
    const auto docs = generate(loaded.model, prompts.prompts, options, device,
                               [&](std::int64_t done, std::int64_t tokens) {
                                 const double s = std::chrono::duration<double>(
                                                      std::chrono::steady_clock::now() - start).count();
                                 progress.update(done, fmt::format("{} tokens, {:.0f} tok/s", tokens,
                                                                   s > 0 ? tokens / s : 0.0));
                               });
    std::int64_t tokens = 0;
    Samples samples;
    samples.prompts = prompts.prompts;
    for (const auto& d : docs) {
      SampleDocument s{d.id, d.prompt_id, {}};
      if (a->keep_prompt) s.tokens = prompts.prompts[static_cast<std::size_t>(d.prompt_id)];
      s.tokens.insert(s.tokens.end(), d.tokens.begin(), d.tokens.end());
      tokens += static_cast<std::int64_t>(d.tokens.size());
      samples.documents.push_back(std::move(s));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.finish(fmt::format("{} tokens in {}, {:.0f} tok/s", tokens, format_duration(seconds),
                                seconds > 0 ? tokens / seconds : 0.0));
    samples.provenance = {
        {"created_by", "collapse generate"},
        {"model", {{"path", a->model}, {"file", loaded.file.string()}}},
        {"dataset", data.dir().string()},
        {"tokenizer_fingerprint", data.tokenizer_fingerprint()},
        {"generation", a->generation},
        {"sampler", options.sampler.to_json()},
        {"seed", options.seed},
        {"prompt", a->prompt},
        {"prompts", prompts.prompts.size()},
        {"max_tokens", options.max_tokens},
        {"min_tokens", options.min_tokens},
        {"keep_prompt", a->keep_prompt},
        {"generated_tokens", tokens},
        {"device", device.str()},
        {"decode", decode_mode_name(mode)}};
    write_samples(a->out, samples, data.tokenizer());
    std::printf("wrote %lld documents (%lld generated tokens) to %s\n",
                static_cast<long long>(samples.documents.size()), static_cast<long long>(tokens),
                a->out.c_str());
  });
}

}  // namespace collapse::cli
