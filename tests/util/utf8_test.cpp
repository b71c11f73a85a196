#include <gtest/gtest.h>

#include "collapse/util/utf8.h"

using collapse::find_invalid_utf8;

TEST(Utf8, AcceptsAsciiAndMultiByteText) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x90\x8B"), std::nullopt);  // é — 🐋
  EXPECT_EQ(find_invalid_utf8(""), std::nullopt);
}

TEST(Utf8, ReportsTheOffsetOfTheFirstBadByte) {
  EXPECT_EQ(find_invalid_utf8("ab\xFF"), 2u);               // never valid
  EXPECT_EQ(find_invalid_utf8("abc\x80"), 3u);              // stray continuation byte
  EXPECT_EQ(find_invalid_utf8("x\xC3"), 1u);                // truncated sequence
  EXPECT_EQ(find_invalid_utf8("ok \xC3\x28"), 3u);          // bad continuation
}

TEST(Utf8, RejectsOverlongFormsSurrogatesAndOutOfRangeCodePoints) {
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);             // overlong '/'
  EXPECT_EQ(find_invalid_utf8("\xE0\x80\xAF"), 0u);         // overlong, 3 bytes
  EXPECT_EQ(find_invalid_utf8("a\xED\xA0\x80"), 1u);        // U+D800 surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);     // U+110000
}
