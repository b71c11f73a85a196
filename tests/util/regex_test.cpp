// The regular expressions tokenizer files carry behave as in the engines they were written for
// (Oniguruma's Ruby syntax, Rust's regex): Unicode classes, line anchors, and which empty matches
// an iteration reports.
#include <gtest/gtest.h>

#include "collapse/util/error.h"
#include "collapse/util/regex.h"

using collapse::Regex;
using collapse::TextRange;

namespace {
std::vector<TextRange> all(std::string_view pattern, std::string_view text) {
  return Regex(pattern, "test").find_all(text);
}
}  // namespace

TEST(Regex, ClassesFollowUnicodeProperties) {
  EXPECT_EQ(all(R"(\p{L}+)", "caf\xC3\xA9 1"), (std::vector<TextRange>{{0, 5}}));  // café
  EXPECT_EQ(all(R"(\w+)", "na\xC3\xAFve"), (std::vector<TextRange>{{0, 6}}));      // naïve
  EXPECT_EQ(all(R"(\s+)", "a\xE3\x80\x80" "b"), (std::vector<TextRange>{{1, 4}}));  // ideographic space
}

TEST(Regex, AnEmptyMatchWhereTheLastMatchEndedIsSkipped) {
  // \d* matches "12", then the empty string at 2 is skipped; 3 and the end are empty matches.
  EXPECT_EQ(all(R"(\d*)", "12ab"), (std::vector<TextRange>{{0, 2}, {3, 3}, {4, 4}}));
  // An empty match not preceded by a match counts, and the search moves one character on.
  EXPECT_EQ(all("", "a\xC3\xA9"), (std::vector<TextRange>{{0, 0}, {1, 1}, {3, 3}}));
}

TEST(Regex, CaretAndDollarMatchAtLineBoundaries) {
  EXPECT_EQ(all("^x", "xa\nxb"), (std::vector<TextRange>{{0, 1}, {3, 4}}));
  EXPECT_EQ(all("b$", "ab\nab"), (std::vector<TextRange>{{1, 2}, {4, 5}}));
  EXPECT_EQ(all(R"(\Ax)", "xa\nxb"), (std::vector<TextRange>{{0, 1}}));  // \A: the text's start only
}

TEST(Regex, APatternThatDoesNotCompileIsAnErrorNamingItsSource) {
  try {
    Regex("(unclosed", "tokenizer.json: pre_tokenizer.pattern.Regex");
    FAIL() << "no error";
  } catch (const collapse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json: pre_tokenizer.pattern.Regex"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(unclosed"), std::string::npos) << e.what();
  }
}
