#include <gtest/gtest.h>

#include "collapse/data/corpus.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
using collapse::tests::fresh_dir;
using collapse::tests::write_text;

namespace {
std::string error_of(const std::string& spec) {
  try {
    load_corpus(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(Corpus, TxtFilesSeparateDocumentsByBlankLines) {
  const auto file = fresh_dir("txt") / "c.txt";
  write_text(file, "\n\nFirst doc line one.\nline two.\n\n\n  \nSecond doc.\n\nThird.\n");
  const Corpus c = load_corpus(file.string());
  ASSERT_EQ(c.documents.size(), 3u);
  EXPECT_EQ(c.documents[0].text, "First doc line one.\nline two.");
  EXPECT_EQ(c.documents[1].text, "Second doc.");
  EXPECT_EQ(c.documents[2].text, "Third.");
  EXPECT_EQ(c.documents[0].id, "line:3");
  EXPECT_EQ(c.checksum.size(), 64u);
}

TEST(Corpus, JsonlKeepsTextAndMetadata) {
  const auto file = fresh_dir("jsonl") / "c.jsonl";
  write_text(file, "{\"text\": \"hello there\", \"year\": 1999}\n\n{\"text\": \"second\"}\n");
  const Corpus c = load_corpus(file.string());
  ASSERT_EQ(c.documents.size(), 2u);
  EXPECT_EQ(c.documents[0].text, "hello there");
  EXPECT_EQ(c.documents[0].meta["year"], 1999);
  EXPECT_EQ(c.documents[1].id, "line:3");
}

TEST(Corpus, JsonlErrorsNameTheFileAndLine) {
  const auto file = fresh_dir("jsonl-bad") / "c.jsonl";
  write_text(file, "{\"text\": \"ok\"}\n{\"txt\": \"no text member\"}\n");
  EXPECT_NE(error_of(file.string()).find("c.jsonl:2"), std::string::npos) << error_of(file.string());
}

TEST(Corpus, AFolderOfTxtFilesIsOneDocumentPerFileInNameOrder) {
  const auto dir = fresh_dir("folder");
  write_text(dir / "b.txt", "bee\n");
  write_text(dir / "a.txt", "ay\n\nstill ay\n");
  write_text(dir / "ignored.md", "not a corpus file");
  const Corpus c = load_corpus(dir.string());
  ASSERT_EQ(c.documents.size(), 2u);
  EXPECT_EQ(c.documents[0].id, "a");
  EXPECT_EQ(c.documents[0].text, "ay\n\nstill ay");
  EXPECT_EQ(c.documents[1].text, "bee");
}

TEST(Corpus, InvalidUtf8NamesTheFileAndByteOffset) {
  const auto file = fresh_dir("utf8") / "bad.txt";
  write_text(file, "good text\n\nthen \xC3\x28 bad");
  const std::string e = error_of(file.string());
  EXPECT_NE(e.find("bad.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("byte offset 16"), std::string::npos) << e;
}

TEST(Corpus, EmptyMissingAndUnsupportedInputsAreErrors) {
  const auto dir = fresh_dir("empty");
  write_text(dir / "blank.txt", "\n \n\t\n");
  EXPECT_NE(error_of((dir / "blank.txt").string()).find("is empty"), std::string::npos);
  EXPECT_NE(error_of((dir / "nope.txt").string()).find("not found"), std::string::npos);
  write_text(dir / "x.csv", "a,b\n");
  EXPECT_NE(error_of((dir / "x.csv").string()).find("unsupported file type"), std::string::npos);
}

TEST(BuiltinCorpora, SotuIsOneAddressPerDocumentInYearOrderWithMetadata) {
  const Corpus c = load_builtin_corpus("sotu");
  ASSERT_GE(c.documents.size(), 200u);
  EXPECT_EQ(c.documents.front().meta["year"], 1790);
  EXPECT_EQ(c.documents.front().meta["president"], "George Washington");
  EXPECT_EQ(c.documents.back().meta["year"], 2021);
  for (std::size_t i = 1; i < c.documents.size(); ++i) {
    EXPECT_LE(c.documents[i - 1].meta["year"].get<int>(), c.documents[i].meta["year"].get<int>());
  }
  EXPECT_EQ(c.checksum, "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9");
}

TEST(BuiltinCorpora, MobyDickIsOneDocumentPerChapterPlusTheEpilogue) {
  const Corpus c = load_builtin_corpus("moby-dick");
  ASSERT_EQ(c.documents.size(), 136u);
  EXPECT_EQ(c.documents[0].id, "chapter_1");
  EXPECT_EQ(c.documents[9].id, "chapter_10");  // numeric, not lexical, order
  EXPECT_EQ(c.documents.back().id, "epilogue");
  EXPECT_EQ(c.documents[0].text.rfind("Call me Ishmael.", 0), 0u);
}
