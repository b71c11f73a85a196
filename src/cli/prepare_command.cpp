#include <CLI/CLI.hpp>
#include <thread>

#include "collapse/data/dataset.h"
#include "collapse/util/atomic_file.h"
#include "commands.h"
#include "flag_names.h"
#include "number_checks.h"

namespace collapse::cli {

void add_prepare_command(CLI::App& app) {
  auto options = std::make_shared<PrepareOptions>();
  options->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App* cmd = app.add_subcommand(
      "prepare",
      "Read a corpus, split it by document into train/valid/test, train the SentencePiece\n"
      "tokenizer on train (or take a Hugging Face model's with --tokenizer), and write the dataset\n"
      "folder (token files, test/valid text, manifest).\n"
      "Example: collapse prepare --corpus sotu --out runs/sotu-data --vocab-size 4096\n"
      "Example: collapse prepare --corpus sotu --out runs/sotu-gpt2 --tokenizer models/gpt2");
  cmd->add_option("--corpus", options->corpus,
                  "sotu | moby-dick | a .txt file (blank-line separated documents) | a .jsonl "
                  "file ({\"text\": ...} per line) | a folder of .txt files")
      ->required();
  cmd->add_option("--out", options->out, "dataset folder to create")->required();
  auto* vocab = cmd->add_option("--vocab-size", options->vocab_size, "tokenizer vocabulary size")
      ->capture_default_str();
  auto* type = cmd->add_option("--tokenizer-type", options->model_type, "SentencePiece model type")
      ->check(CLI::IsMember({"bpe", "unigram"}))
      ->capture_default_str();
  cmd->add_option("--tokenizer", options->tokenizer,
                  "encode with this tokenizer instead of training one: a Hugging Face model or "
                  "tokenizer folder (tokenizer.json or tokenizer.model), a dataset, or a tokenizer "
                  "file (docs/tokenizers.md)")
      ->excludes(vocab)
      ->excludes(type);
  cmd->add_option("--valid-fraction", options->valid_fraction, "share of documents for valid")
      ->capture_default_str();
  cmd->add_option("--test-fraction", options->test_fraction,
                  "share of documents for test (never trained on)")
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "seed of the document split")->check(whole_at_least(0))->capture_default_str();
  cmd->add_option("--threads", options->threads, "threads for tokenizer training and encoding")
      ->check(whole_at_least(1))
      ->capture_default_str();
  cmd->callback([options] {
    options->names = flag_of;
    check_creatable(options->out, flag_of("out"));
    const PrepareOutcome outcome = prepare_dataset(*options);
    const Dataset data(options->out);
    const auto& splits = data.manifest().at("splits");
    std::printf("%s %s: vocab %lld | train %lld docs %lld tokens | valid %lld docs %lld tokens | "
                "test %lld docs %lld tokens\n",
                outcome == PrepareOutcome::kReused ? "reused existing dataset" : "prepared",
                options->out.c_str(), static_cast<long long>(data.vocab_size()),
                splits["train"]["documents"].get<long long>(), splits["train"]["tokens"].get<long long>(),
                splits["valid"]["documents"].get<long long>(), splits["valid"]["tokens"].get<long long>(),
                splits["test"]["documents"].get<long long>(), splits["test"]["tokens"].get<long long>());
  });
}

}  // namespace collapse::cli
