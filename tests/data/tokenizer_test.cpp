#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "collapse/data/corpus.h"
#include "collapse/data/tokenizer.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;

namespace {
// One tokenizer trained on moby-dick for all tests of this file.
const Tokenizer& moby_tokenizer() {
  static const Tokenizer tokenizer = [] {
    const Corpus corpus = load_builtin_corpus("moby-dick");
    std::vector<std::string_view> texts;
    for (const auto& d : corpus.documents) texts.emplace_back(d.text);
    const auto file = collapse::tests::fresh_dir("tokenizer") / "t.model";
    Tokenizer::train(texts, TokenizerOptions{.vocab_size = 600}, file);
    return Tokenizer(file);
  }();
  return tokenizer;
}
}  // namespace

TEST(Tokenizer, HasTheRequestedSizeAndCollapseSpecialIds) {
  const Tokenizer& t = moby_tokenizer();
  EXPECT_EQ(t.vocab_size(), 600);
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_EQ(t.pad_id(), 3);
}

TEST(Tokenizer, DecodeInvertsEncodeOnAnyUtf8Text) {
  const Tokenizer& t = moby_tokenizer();
  for (const std::string text :
       {"Call me Ishmael.", "Two lines\nand  double  spaces, 1851 digits.",
        "Unseen characters: \xE6\xBC\xA2\xE5\xAD\x97 and \xF0\x9F\x90\x8B (byte fallback)"}) {
    const auto ids = t.encode(text);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(t.decode(ids), text);
  }
}

TEST(Tokenizer, SplitsDigitsAndKeepsNewlinesAsTheirOwnPiece) {
  const Tokenizer& t = moby_tokenizer();
  // Each digit is its own token (numbers are never merged), and a newline is one token of its
  // own, never fused with the words around it.
  const auto pieces = [&](std::string_view text) {
    std::vector<std::string> out;
    for (const auto id : t.encode(text)) out.push_back(t.decode(std::vector<std::int32_t>{id}));
    return out;
  };
  // The first piece is SentencePiece's word-start marker alone, which decodes to nothing at the
  // start of a text.
  EXPECT_EQ(pieces("1851"), (std::vector<std::string>{"", "1", "8", "5", "1"}));
  const auto around_newline = pieces("the whale\nthe sea");
  EXPECT_EQ(std::count(around_newline.begin(), around_newline.end(), "\n"), 1)
      << "one piece that is exactly the newline";
  for (const auto& p : around_newline) {
    if (p != "\n") {
      EXPECT_EQ(p.find('\n'), std::string::npos) << "'" << p << "' holds the newline";
    }
  }
}

TEST(Tokenizer, BatchEncodingMatchesOneByOneForAnyThreadCount) {
  const Tokenizer& t = moby_tokenizer();
  const std::vector<std::string_view> texts = {"the whale", "", "Ahab\nStarbuck", "Queequeg"};
  for (int threads : {1, 3, 8}) {
    const auto batch = t.encode_batch(texts, threads);
    ASSERT_EQ(batch.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], t.encode(texts[i]));
  }
}

TEST(Tokenizer, ACorpusTooSmallForTheVocabularyIsAnError) {
  const auto file = collapse::tests::fresh_dir("tokenizer-small") / "t.model";
  try {
    // The caller's name for the setting (here a flag) is the one the message uses.
    Tokenizer::train({"a tiny corpus of very few words"},
                     TokenizerOptions{.vocab_size = 4000,
                                      .names = [](const std::string& key) { return "<" + key + ">"; }},
                     file);
    FAIL() << "training succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("<vocab_size> 4000"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_THROW(Tokenizer::train({"text"}, TokenizerOptions{.vocab_size = 100}, file), Error);
}

TEST(Tokenizer, FingerprintIgnoresTheTrainerThreadCount) {
  const Corpus corpus = load_builtin_corpus("moby-dick");
  std::vector<std::string_view> texts;
  for (std::size_t i = 0; i < 40; ++i) texts.emplace_back(corpus.documents[i].text);
  const auto dir = collapse::tests::fresh_dir("tokenizer-threads");
  Tokenizer::train(texts, TokenizerOptions{.vocab_size = 500, .threads = 1}, dir / "one.model");
  Tokenizer::train(texts, TokenizerOptions{.vocab_size = 500, .threads = 2}, dir / "two.model");
  const Tokenizer one(dir / "one.model"), two(dir / "two.model");
  EXPECT_EQ(one.fingerprint(), two.fingerprint());
  EXPECT_EQ(one.encode(corpus.documents[50].text), two.encode(corpus.documents[50].text));
  EXPECT_NE(one.fingerprint(), moby_tokenizer().fingerprint());  // another vocabulary
}
