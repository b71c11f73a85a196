// A tokenizer.json collapse cannot read exactly is refused with one line that names the file and
// the JSON path at fault and lists what is supported: never a silent fallback to other ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "collapse/data/pre_tokenizers.h"
#include "collapse/data/text_normalizers.h"
#include "collapse/data/token_decoders.h"
#include "collapse/data/tokenizer.h"
#include "collapse/data/tokenizer_json.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A complete byte-level BPE over "a" and "b" with one merge and an end-of-text token.
json minimal() {
  return json::parse(R"({
    "version": "1.0",
    "added_tokens": [{"id": 3, "content": "<eos>", "single_word": false, "lstrip": false,
                      "rstrip": false, "normalized": false, "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "post_processor": null,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "dropout": null, "vocab": {"a": 0, "b": 1, "ab": 2, "<eos>": 3},
              "merges": [["a", "b"]]}
  })");
}

fs::path write_tokenizer(const std::string& name, const json& tokenizer,
                         const json& config = json{{"eos_token", "<eos>"}}) {
  const fs::path dir = tests::fresh_dir(name);
  tests::write_text(dir / "tokenizer.json", tokenizer.dump());
  if (!config.is_null()) tests::write_text(dir / "tokenizer_config.json", config.dump());
  return dir;
}

// The message of the Error opening `dir` throws; fails the test when none is thrown.
std::string open_error(const fs::path& dir) {
  try {
    Tokenizer t(dir);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    return message;
  }
  ADD_FAILURE() << "no error opening " << dir;
  return {};
}

}  // namespace

TEST(TokenizerJson, AMinimalHandWrittenFileWorks) {
  const Tokenizer t(write_tokenizer("minimal", minimal()));
  EXPECT_EQ(t.encode("abab"), (std::vector<std::int32_t>{2, 2}));
  EXPECT_EQ(t.encode("ba<eos>"), (std::vector<std::int32_t>{1, 0, 3}));
  EXPECT_EQ(t.decode(std::vector<std::int32_t>{2, 3}), "ab<eos>");
  EXPECT_EQ(t.eos_id(), 3);
  EXPECT_EQ(t.bos_id(), 3) << "no BOS: documents start with EOS";
  EXPECT_EQ(t.pad_id(), 3) << "no PAD: rows are padded with EOS";
}

TEST(TokenizerJson, OtherModelTypesAreRefusedNamingTheSupportedOne) {
  for (const char* type : {"WordPiece", "Unigram", "WordLevel"}) {
    json j = minimal();
    j["model"]["type"] = type;
    const std::string message = open_error(write_tokenizer(std::string("model-") + type, j));
    EXPECT_NE(message.find("tokenizer.json: model.type: model type '" + std::string(type) +
                           "' is not supported (supported: BPE)"),
              std::string::npos)
        << message;
  }
}

TEST(TokenizerJson, AnUnsupportedComponentIsNamedByItsJsonPath) {
  struct Case {
    const char* key;
    json value;
    const char* says;
  };
  const Case cases[] = {
      {"pre_tokenizer",
       json::parse(R"({"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "Whitespace"}]})"),
       "tokenizer.json: pre_tokenizer.pretokenizers[1].type: pre-tokenizer 'Whitespace' is not supported "
       "(supported: ByteLevel, Split, Digits, Metaspace or Sequence)"},
      {"normalizer", json::parse(R"({"type": "Lowercase"})"),
       "tokenizer.json: normalizer.type: normalizer 'Lowercase' is not supported (supported: NFC, NFD, NFKC, "
       "NFKD, Prepend, Replace, Strip or Sequence)"},
      {"decoder", json::parse(R"({"type": "CTC"})"), "tokenizer.json: decoder.type: decoder 'CTC' is not supported"},
      {"post_processor", json::parse(R"({"type": "Weird"})"),
       "tokenizer.json: post_processor.type: post-processor 'Weird' is not supported"},
      {"pre_tokenizer", json::parse(R"({"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Sideways"})"),
       "tokenizer.json: pre_tokenizer.behavior: 'Sideways' is not a split behavior"},
      {"pre_tokenizer", json::parse(R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})"),
       "tokenizer.json: pre_tokenizer.pattern.Regex: the regular expression '(unclosed' does not compile"},
      {"pre_tokenizer", json::parse(R"({"type": "Split", "pattern": {"Glob": "*"}, "behavior": "Isolated"})"),
       "tokenizer.json: pre_tokenizer.pattern: expected {\"String\": ...} or {\"Regex\": ...}"},
      {"normalizer", json::parse(R"({"type": "Replace", "pattern": {"String": ""}, "content": "x"})"),
       "tokenizer.json: normalizer.pattern.String: an empty pattern is not supported"},
      // The tokenizers library repeats tokens or panics here: there are no reference ids to equal.
      {"post_processor", json::parse(R"({"type": "Sequence", "processors": [
          {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}], "pair": [],
           "special_tokens": {}},
          {"type": "RobertaProcessing", "sep": ["<eos>", 3], "cls": ["a", 0]}]})"),
       "tokenizer.json: post_processor.processors[1].type: a post-processor that adds tokens after a "
       "TemplateProcessing is not supported"},
  };
  int n = 0;
  for (const Case& c : cases) {
    json j = minimal();
    j[c.key] = c.value;
    const std::string message = open_error(write_tokenizer("component-" + std::to_string(n++), j));
    EXPECT_NE(message.find(c.says), std::string::npos) << message;
  }
}

TEST(TokenizerJson, ABrokenModelIsRefusedNamingTheEntry) {
  json dropout = minimal();
  dropout["model"]["dropout"] = 0.1;
  EXPECT_NE(open_error(write_tokenizer("dropout", dropout)).find("model.dropout: BPE dropout 0.1 is not supported"),
            std::string::npos);
  json merge = minimal();
  merge["model"]["merges"] = json::parse(R"([["a", "b"], ["ab", "zz"]])");
  EXPECT_NE(open_error(write_tokenizer("merge", merge)).find("model.merges[1] ('ab' 'zz') names a token that is not in model.vocab"),
            std::string::npos);
  json legacy = minimal();
  legacy["model"]["merges"] = json::parse(R"(["a b c"])");
  EXPECT_NE(open_error(write_tokenizer("legacy", legacy)).find("model.merges[0]: expected \"left right\" with one space"),
            std::string::npos);
  // Ids index tables: one far beyond any vocabulary is refused, not allocated for.
  json huge = minimal();
  huge["model"]["vocab"]["ab"] = 2147483647;
  EXPECT_NE(open_error(write_tokenizer("huge-id", huge)).find("model.vocab: the id of 'ab' is 2147483647, expected an integer from 0 to 16777215"),
            std::string::npos);
  json huge_added = minimal();
  huge_added["added_tokens"][0]["id"] = 2147483647;
  EXPECT_NE(open_error(write_tokenizer("huge-added-id", huge_added)).find("added_tokens[0].id: expected a token id from 0 to 16777215, got 2147483647"),
            std::string::npos);
  const fs::path dir = tests::fresh_dir("not-json");
  tests::write_text(dir / "tokenizer.json", "{\"model\": ");
  EXPECT_NE(open_error(dir).find("tokenizer.json: not valid JSON"), std::string::npos);
}

TEST(TokenizerJson, SpecialTokensMustBeTokensAndEndOfTextMustExist) {
  const std::string unknown =
      open_error(write_tokenizer("unknown-eos", minimal(), json{{"eos_token", {{"content", "</s>"}}}}));
  EXPECT_NE(unknown.find("tokenizer_config.json: eos_token: '</s>' is not a token of this tokenizer"),
            std::string::npos)
      << unknown;
  const std::string none = open_error(write_tokenizer("no-eos", minimal(), json(nullptr)));
  EXPECT_NE(none.find("the tokenizer names no end-of-text token"), std::string::npos) << none;
  const std::string empty = open_error(tests::fresh_dir("no-tokenizer"));
  EXPECT_NE(empty.find("holds no tokenizer (neither tokenizer.json nor tokenizer.model)"), std::string::npos) << empty;
}

TEST(TokenizerJson, SpecialIdsFollowTheFilesInOrder) {
  // tokenizer_config.json outranks generation_config.json; a list of EOS ids gives its first.
  const fs::path dir = write_tokenizer("order", minimal(), json{{"bos_token", "a"}});
  tests::write_text(dir / "generation_config.json", R"({"bos_token_id": 1, "eos_token_id": [3, 2], "pad_token_id": 2})");
  const Tokenizer t(dir);
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 3);
  EXPECT_EQ(t.pad_id(), 2);
}

TEST(TokenizerJson, ASavedTokenizerTakesTheStandardFileNameWhateverItsSourceWasCalled) {
  const fs::path source = tests::fresh_dir("renamed-source");
  tests::write_text(source / "my-tokenizer.json", minimal().dump());
  tests::write_text(source / "tokenizer_config.json", json{{"eos_token", "<eos>"}}.dump());
  const Tokenizer t(source / "my-tokenizer.json");
  const fs::path copy = tests::fresh_dir("renamed-copy");
  t.save(copy);
  EXPECT_TRUE(fs::exists(copy / "tokenizer.json"));
  const Tokenizer back(copy);
  EXPECT_EQ(back.fingerprint(), t.fingerprint());
  EXPECT_EQ(back.encode("abab"), t.encode("abab"));
}

TEST(TokenizerJson, EachStepOfAPostProcessorSequenceWrapsTheStepsBeforeIt) {
  json j = minimal();
  j["post_processor"] = json::parse(R"({"type": "Sequence", "processors": [
      {"type": "RobertaProcessing", "sep": ["b", 1], "cls": ["a", 0]},
      {"type": "BertProcessing", "sep": ["<eos>", 3], "cls": ["ab", 2]}]})");
  const Tokenizer t(write_tokenizer("sequence-wraps", j));
  EXPECT_EQ(t.encode("ab", true), (std::vector<std::int32_t>{2, 0, 2, 1, 3}));
}

namespace {

// The component names docs/tokenizers.md's "supported" table lists in row `part`: the
// backquoted names outside parentheses (inside them are options and remarks).
std::set<std::string> documented(const std::string& part) {
  std::ifstream in(fs::path(COLLAPSE_SOURCE_DIR) / "docs" / "tokenizers.md");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| " + part + " |", 0) != 0) continue;
    std::string outside;
    int depth = 0;
    for (char c : line.substr(part.size() + 4)) {
      if (c == '(') ++depth;
      if (depth == 0) outside += c;
      if (c == ')') --depth;
    }
    std::set<std::string> names;
    const std::regex quoted("`([^`]+)`");
    for (auto it = std::sregex_iterator(outside.begin(), outside.end(), quoted); it != std::sregex_iterator(); ++it) {
      names.insert((*it)[1]);
    }
    return names;
  }
  ADD_FAILURE() << "docs/tokenizers.md has no row '| " << part << " |'";
  return {};
}

template <typename Kind>
std::set<std::string> names(std::span<const Named<Kind>> table) {
  std::set<std::string> out;
  for (const auto& n : table) out.insert(std::string(n.name));
  return out;
}

}  // namespace

TEST(TokenizersDoc, TheSupportedTableListsExactlyTheReadersTables) {
  EXPECT_EQ(documented("normalizer"), names(normalizer_kinds()));
  EXPECT_EQ(documented("pre_tokenizer"), names(pre_tokenizer_kinds()));
  EXPECT_EQ(documented("post_processor"), names(post_processor_kinds()));
  EXPECT_EQ(documented("decoder"), names(decoder_kinds()));
}

