#include <gtest/gtest.h>

#include <fstream>

#include "collapse/data/token_store.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
using collapse::tests::fresh_dir;

TEST(TokenFile, RoundTripsDocumentsWithTwoByteTokens) {
  const auto file = fresh_dir("tok16") / "a.tok";
  const std::vector<std::vector<std::int32_t>> docs = {{5, 6, 7}, {}, {65535, 0}};
  write_token_file(file, docs, 65536);
  const TokenFile t(file);
  EXPECT_EQ(t.documents(), 3);
  EXPECT_EQ(t.tokens(), 5);
  EXPECT_EQ(t.vocab_size(), 65536);
  for (std::int64_t d = 0; d < 3; ++d) EXPECT_EQ(t.document(d), docs[d]);
  EXPECT_EQ(std::filesystem::file_size(file), 64u + 5 * 2 + 4 * 8);
}

TEST(TokenFile, UsesFourByteTokensForLargeVocabularies) {
  const auto file = fresh_dir("tok32") / "a.tok";
  write_token_file(file, {{70000, 1}}, 128000);
  const TokenFile t(file);
  EXPECT_EQ(t.document(0), (std::vector<std::int32_t>{70000, 1}));
  EXPECT_EQ(std::filesystem::file_size(file), 64u + 2 * 4 + 2 * 8);
}

TEST(TokenFile, RefusesIdsOutsideTheVocabulary) {
  const auto file = fresh_dir("tok-range") / "a.tok";
  EXPECT_THROW(write_token_file(file, {{1, 512}}, 512), Error);
  EXPECT_FALSE(std::filesystem::exists(file));  // nothing half-written is left
}

TEST(TokenFile, DetectsForeignAndTruncatedFiles) {
  const auto dir = fresh_dir("tok-bad");
  std::ofstream(dir / "foreign.tok") << std::string(100, 'x');
  EXPECT_THROW(TokenFile(dir / "foreign.tok"), Error);
  write_token_file(dir / "cut.tok", {{1, 2, 3, 4}}, 100);
  std::filesystem::resize_file(dir / "cut.tok", std::filesystem::file_size(dir / "cut.tok") - 3);
  try {
    TokenFile t(dir / "cut.tok");
    FAIL() << "a truncated file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TokenFile(dir / "missing.tok"), Error);
}

TEST(TokenFile, DocumentStreamWrapsEachDocumentInBosAndEos) {
  const auto file = fresh_dir("tok-stream") / "a.tok";
  write_token_file(file, {{10, 11}, {12}}, 100);
  EXPECT_EQ(document_stream(TokenFile(file), 1, 2),
            (std::vector<std::int32_t>{1, 10, 11, 2, 1, 12, 2}));
}

TEST(TokenFile, DocumentsShareTheSeparatorWhereBosIsEos) {
  const auto file = fresh_dir("tok-stream-shared") / "a.tok";
  write_token_file(file, {{10, 11}, {12}}, 100);
  EXPECT_EQ(document_stream(TokenFile(file), 50, 50), (std::vector<std::int32_t>{50, 10, 11, 50, 12, 50}));
}
