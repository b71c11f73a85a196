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

namespace {
// Overwrites `bytes` at `offset` of `file`, as a flipped disk block or a hand-edited file would.
void patch(const std::filesystem::path& file, std::uint64_t offset, const std::string& bytes) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string le64(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }

void expect_refused(const std::filesystem::path& file, const std::string& words) {
  try {
    TokenFile t(file);
    FAIL() << file << " was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(file.string()), std::string::npos) << what;
    EXPECT_NE(what.find(words), std::string::npos) << what;
  }
}
}  // namespace

// Layout of {{1, 2, 3}, {4}} with vocabulary 100: header 64 bytes, 4 two-byte tokens at 64..71,
// offsets 0, 3, 4 at 72, 80, 88.
TEST(TokenFile, AnIndexThatGoesBackwardsIsRefusedNamingTheDocument) {
  const auto file = fresh_dir("tok-index") / "a.tok";
  write_token_file(file, {{1, 2, 3}, {4}}, 100);
  patch(file, 80, le64(5));  // document 1 would start past the end, document 1 end before its start
  expect_refused(file, "corrupt document index: offset 5 of document 1");
  write_token_file(file, {{1, 2, 3}, {4}}, 100);
  patch(file, 72, le64(1));
  expect_refused(file, "corrupt document index");
}

TEST(TokenFile, AnIdAtOrAboveTheVocabularyIsRefusedOnOpening) {
  const auto file = fresh_dir("tok-id") / "a.tok";
  write_token_file(file, {{1, 2, 3}, {4}}, 100);
  patch(file, 64 + 2 * 2, std::string("\x64\x00", 2));  // token 2 becomes id 100
  expect_refused(file, "token 2 is id 100, outside the vocabulary [0, 100)");
  write_token_file(file, {{1, 2, 3}, {99}}, 100);
  EXPECT_EQ(TokenFile(file).document(1), std::vector<std::int32_t>{99});  // the last id is fine
}

TEST(TokenFile, AForgedHeaderCannotWrapTheSizeCheck) {
  const auto file = fresh_dir("tok-forged") / "a.tok";
  write_token_file(file, {{1, 2}}, 100);
  // 2^63 + 2 tokens of 2 bytes would wrap the expected size back to the real one.
  patch(file, 16, le64((std::uint64_t{1} << 63) + 2));
  expect_refused(file, "truncated or corrupt");
  write_token_file(file, {{1, 2}}, 100);
  patch(file, 12, std::string("\x04\x00\x00\x00", 4));  // 4-byte tokens for a vocabulary of 100
  expect_refused(file, "corrupt header");
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
