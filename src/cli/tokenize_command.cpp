// `collapse tokenize`: the ids and pieces a tokenizer makes of a text, the way users debug
// tokenization (and check that collapse reads a model's tokenizer as Hugging Face does).
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collapse/data/tokenizer.h"
#include "collapse/util/error.h"
#include "commands.h"

namespace collapse::cli {

namespace {

// A piece as a JSON string literal: quotes, escapes for control characters, UTF-8 kept.
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void show(const Tokenizer& t, const std::string& text, bool special, bool json) {
  const auto ids = t.encode(text, special);
  if (json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (std::int32_t id : ids) pieces.push_back(t.id_to_piece(id).value_or(""));
    const nlohmann::json out = {{"text", text}, {"ids", ids}, {"pieces", pieces}, {"decoded", t.decode(ids)}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::string id_line, piece_line;
  for (std::int32_t id : ids) {
    id_line += fmt::format(" {}", id);
    piece_line += " " + quoted(t.id_to_piece(id).value_or("?"));
  }
  std::printf("text:    %s\n", quoted(text).c_str());
  std::printf("tokens:  %zu\n", ids.size());
  std::printf("ids:    %s\n", id_line.c_str());
  std::printf("pieces: %s\n", piece_line.c_str());
  std::printf("decoded: %s\n", quoted(t.decode(ids)).c_str());
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  struct Args {
    std::string tokenizer;
    std::vector<std::string> texts;
    bool special = false, json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Print the ids and pieces a tokenizer makes of a text: a Hugging Face model or tokenizer\n"
      "folder (tokenizer.json or tokenizer.model), a prepared dataset, a samples folder, or a\n"
      "tokenizer file. Each TEXT is one text; without TEXT, each line of standard input is one.\n"
      "Example: collapse tokenize --tokenizer models/gpt2 \"Call me Ishmael.\"");
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer folder or file")->required();
  cmd->add_option("text", a->texts, "texts to tokenize (default: the lines of standard input)");
  cmd->add_flag("--special", a->special,
                "also the tokens the tokenizer adds around a text (e.g. BOS), as Hugging Face's "
                "tokenizer(text) does");
  cmd->add_flag("--json", a->json, "one JSON object per text: {\"text\", \"ids\", \"pieces\", \"decoded\"}");
  cmd->callback([a] {
    const Tokenizer t(a->tokenizer);
    if (!a->json) {
      std::printf("tokenizer: %s (%s, %d ids; %s)\n", t.file().string().c_str(),
                  name_of(tokenizer_kinds(), t.kind()), t.vocab_size(), describe(t.special()).c_str());
    }
    if (!a->texts.empty()) {
      for (const std::string& text : a->texts) show(t, text, a->special, a->json);
      return;
    }
    for (std::string line; std::getline(std::cin, line);) show(t, line, a->special, a->json);
  });
}

}  // namespace collapse::cli
