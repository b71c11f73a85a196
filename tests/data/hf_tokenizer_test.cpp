// Hugging Face tokenizers, read by collapse, give the reference libraries' ids, texts and special
// ids. The references (tokenizers, transformers, sentencepiece) made tokenizers of every supported
// kind on the spot (tests/data/hf_tokenizer_fixtures.py, run once per ctest run by the fixture
// setup.hf_tokenizer_fixtures) and wrote what they make of 62 hard documents: accents in both
// normal forms, combining marks, CJK, emoji sequences, runs of spaces, tabs and newlines, digits
// of several scripts, contractions, special-token strings inside text, and a 50,000-letter word.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/data/corpus.h"
#include "collapse/data/dataset.h"
#include "collapse/data/tokenizer.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fixtures() { return fs::path(COLLAPSE_TEST_WORK) / "hf-tokenizers"; }

std::vector<json> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::vector<std::string> corpus() {
  std::vector<std::string> texts;
  for (const json& j : read_lines(fixtures() / "corpus.jsonl")) texts.push_back(j.at("text"));
  return texts;
}

json kinds() {
  std::ifstream in(fixtures() / "kinds.json");
  return json::parse(in);
}

// Skips the test, saying why, where the reference libraries were not importable.

std::vector<std::int32_t> ids_of(const json& j) { return j.get<std::vector<std::int32_t>>(); }

}  // namespace

TEST(HfTokenizers, EveryKindIsTested) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  std::set<std::string> names;
  for (const json& k : kinds()) names.insert(k.at("name"));
  for (const char* expected : {"gpt2-style", "llama3-style", "llama3-ignore-merges", "qwen2-style",
                               "smollm2-digits", "sentencepiece-converted", "metaspace",
                               "nfc-prepend-wordpiece-suffix", "nfc-prepend-wordpiece-suffix-fuse-unk",
                               "merges-as-strings", "pattern-edges", "gpt2-real", "sentencepiece"}) {
    EXPECT_TRUE(names.count(expected)) << expected << " missing from " << fixtures()
                                       << (std::string(expected) == "gpt2-real"
                                               ? " (GPT-2's vocabulary: run data/fetch_corpora.sh gpt2-bpe)"
                                               : "");
  }
}

TEST(HfTokenizers, IdsEqualTheReferenceDocumentByDocument) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const auto texts = corpus();
  for (const json& k : kinds()) {
    const std::string name = k.at("name");
    const Tokenizer t(fixtures() / name);
    const auto expected = read_lines(fixtures() / name / "expected.jsonl");
    ASSERT_EQ(expected.size(), texts.size()) << name;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(t.encode(texts[i]), ids_of(expected[i].at("ids"))) << name << ", document " << i;
      EXPECT_EQ(t.encode(texts[i], /*add_special_tokens=*/true), ids_of(expected[i].at("ids_special")))
          << name << ", document " << i << " with the post-processor's tokens";
    }
  }
}

TEST(HfTokenizers, DecodeEqualsTheReference) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  for (const json& k : kinds()) {
    const std::string name = k.at("name");
    const Tokenizer t(fixtures() / name);
    const auto expected = read_lines(fixtures() / name / "expected.jsonl");
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const auto ids = ids_of(expected[i].at("ids"));
      EXPECT_EQ(t.decode(ids), expected[i].at("decoded").get<std::string>()) << name << ", document " << i;
      if (t.kind() == TokenizerKind::tokenizer_json) {  // SentencePiece has no skip flag to compare
        EXPECT_EQ(t.decode(ids, /*skip_special_tokens=*/true), expected[i].at("decoded_skip").get<std::string>())
            << name << ", document " << i << " skipping special tokens";
      }
    }
  }
}

TEST(HfTokenizers, DecodeInvertsEncodeWhereTheTokenizerIsLossless) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const auto texts = corpus();
  std::size_t checked = 0;
  for (const json& k : kinds()) {
    const std::string name = k.at("name");
    const Tokenizer t(fixtures() / name);
    const auto lossy = k.at("lossy_docs").get<std::set<std::size_t>>();
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (lossy.count(i)) continue;
      EXPECT_EQ(t.decode(t.encode(texts[i])), texts[i]) << name << ", document " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 300u);
}

TEST(HfTokenizers, PiecesEqualTheReference) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  for (const json& k : kinds()) {
    const std::string name = k.at("name");
    const Tokenizer t(fixtures() / name);
    const auto expected = read_lines(fixtures() / name / "expected.jsonl");
    const auto pieces = read_lines(fixtures() / name / "pieces.jsonl");
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const auto ids = ids_of(expected[i].at("ids"));
      const auto want = pieces[i].at("pieces").get<std::vector<std::string>>();
      ASSERT_EQ(ids.size(), want.size()) << name;
      for (std::size_t j = 0; j < ids.size(); ++j) {
        EXPECT_EQ(t.id_to_piece(ids[j]).value_or("<none>"), want[j]) << name << ", document " << i;
      }
    }
  }
}

// transformers' AutoTokenizer reports the ids; where it has no BOS, documents start with EOS, and
// where it has no PAD, rows are padded with EOS (special_ids.h).
TEST(HfTokenizers, SpecialIdsAndVocabularySizeComeFromTheTokenizersFiles) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  for (const json& k : kinds()) {
    const std::string name = k.at("name");
    const Tokenizer t(fixtures() / name);
    const json s = json::parse(std::ifstream(fixtures() / name / "special.json"));
    const std::int32_t eos = s.at("eos_id");
    EXPECT_EQ(t.eos_id(), eos) << name;
    EXPECT_EQ(t.bos_id(), s.at("bos_id").is_null() ? eos : s.at("bos_id").get<std::int32_t>()) << name;
    EXPECT_EQ(t.pad_id(), s.at("pad_id").is_null() ? eos : s.at("pad_id").get<std::int32_t>()) << name;
    EXPECT_EQ(t.unk_id(), s.at("unk_id").is_null() ? -1 : s.at("unk_id").get<std::int32_t>()) << name;
    EXPECT_EQ(t.vocab_size(), s.at("vocab_size").get<int>()) << name;
  }
}

TEST(HfTokenizers, ASavedCopyIsTheSameTokenizer) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const auto texts = corpus();
  for (const json& k : kinds()) {
    const std::string name = k.at("name");
    const Tokenizer t(fixtures() / name);
    const fs::path copy = tests::fresh_dir("saved-" + name);
    t.save(copy);
    const Tokenizer back(copy);
    EXPECT_EQ(back.fingerprint(), t.fingerprint()) << name;
    EXPECT_EQ(back.special(), t.special()) << name;
    EXPECT_EQ(back.encode(texts[3]), t.encode(texts[3])) << name;
  }
}

TEST(HfTokenizers, FingerprintsTellTokenizersApart) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  std::set<std::string> seen;
  for (const json& k : kinds()) seen.insert(Tokenizer(fixtures() / k.at("name").get<std::string>()).fingerprint());
  EXPECT_EQ(seen.size(), kinds().size());
}

TEST(HfTokenizers, EncodingOnTwoThreadsEqualsOneByOne) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  const auto texts = corpus();
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  const Tokenizer t(fixtures() / "llama3-style");
  const auto batch = t.encode_batch(views, 2);
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], t.encode(texts[i])) << i;
}

// `collapse prepare --tokenizer DIR` (prepare_dataset with a tokenizer): the dataset's token files
// hold the reference's ids for every document of every split, and the dataset carries the
// tokenizer (its files, fingerprint and special ids) with it.
TEST(HfTokenizers, APreparedDatasetHoldsTheReferenceIdsOfEveryDocument) {
  SKIP_WITHOUT_REFERENCE_FIXTURES(fixtures());
  for (const json& k : kinds()) {
    const std::string name = k.at("name");
    SCOPED_TRACE(name);
    const fs::path out = tests::fresh_dir("dataset-" + name);
    PrepareOptions o;
    o.corpus = (fixtures() / "corpus.jsonl").string();
    o.out = out;
    o.tokenizer = (fixtures() / name).string();
    o.valid_fraction = 0.2;
    o.test_fraction = 0.2;
    prepare_dataset(o);
    const Dataset data(out);
    const Tokenizer source(fixtures() / name);
    EXPECT_EQ(data.tokenizer_fingerprint(), source.fingerprint());
    EXPECT_EQ(data.tokenizer().special(), source.special());
    EXPECT_EQ(data.manifest().at("tokenizer").at("bos_id"), source.bos_id());
    const auto expected = read_lines(fixtures() / name / "expected.jsonl");
    const auto texts = corpus();
    // The corpus reader trims blank lines at a document's ends (corpus.h); those few documents
    // are checked against the tokenizer (itself held to the reference above) on the trimmed text.
    std::map<std::string, std::string> read;
    for (const Document& doc : load_corpus(o.corpus).documents) read[doc.id] = doc.text;
    std::size_t documents = 0, as_reference = 0;
    for (const char* split : {"train", "valid", "test"}) {
      const TokenFile file = data.split(split);
      const json& ids = data.manifest().at("splits").at(split).at("document_ids");
      ASSERT_EQ(static_cast<std::int64_t>(ids.size()), file.documents());
      for (std::int64_t d = 0; d < file.documents(); ++d) {
        // The JSONL reader names documents "line:N"; corpus.jsonl line N is expected.jsonl line N.
        const std::string id = ids[static_cast<std::size_t>(d)];
        const std::size_t line = std::stoul(id.substr(id.find(':') + 1)) - 1;
        if (read.at(id) == texts[line]) {
          EXPECT_EQ(file.document(d), ids_of(expected[line].at("ids"))) << split << " document " << id;
          ++as_reference;
        } else {
          EXPECT_EQ(file.document(d), source.encode(read.at(id))) << split << " document " << id;
        }
        ++documents;
      }
    }
    EXPECT_GT(documents, 55u);      // every non-empty document of the corpus
    EXPECT_GT(as_reference, 45u);  // most of them as the reference encoded them
    // The same request again reuses the folder untouched.
    EXPECT_EQ(prepare_dataset(o), PrepareOutcome::kReused);
  }
}
