#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>

#include "collapse/model/safetensors.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;

TEST(Safetensors, RoundTripsTensorsOfSeveralDtypesInOrder) {
  const auto file = tests::fresh_dir("st") / "m.safetensors";
  const NamedTensors in = {{"b.weight", at::randn({3, 4})},
                           {"a.half", at::randn({5}).to(at::kBFloat16)},
                           {"ids", at::arange(6, at::kLong).reshape({2, 3})}};
  write_safetensors(file, in, {{"format", "pt"}});
  const NamedTensors out = read_safetensors(file);
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].first, in[i].first);
    EXPECT_TRUE(at::equal(out[i].second, in[i].second));
  }
}

TEST(Safetensors, WritesTheDocumentedByteLayout) {
  const auto file = tests::fresh_dir("st-layout") / "one.safetensors";
  write_safetensors(file, {{"x", at::tensor({1.5f, -2.0f})}});
  const std::string bytes = read_file(file);
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.rfind("{\"x\":{\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[2]}}", 0), 0u)
      << header;
  float values[2];
  std::memcpy(values, bytes.data() + 8 + n, 8);
  EXPECT_EQ(values[0], 1.5f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(bytes.size(), 8 + n + 8);
}

TEST(Safetensors, MalformedFilesAreErrors) {
  const auto dir = tests::fresh_dir("st-bad");
  std::ofstream(dir / "short.safetensors") << "abc";
  EXPECT_THROW(read_safetensors(dir / "short.safetensors"), Error);
  write_safetensors(dir / "cut.safetensors", {{"x", at::randn({100})}});
  std::filesystem::resize_file(dir / "cut.safetensors", 200);
  EXPECT_THROW(read_safetensors(dir / "cut.safetensors"), Error);
}

// Loading copies each mapped tensor into the model and then drops its file pages: the bytes are
// still the file's when read again, and tensors that are not views of a mapping are untouched.
TEST(Safetensors, ReleasedPagesReadBackFromTheFile) {
  const auto file = tests::fresh_dir("safetensors-release") / "big.safetensors";
  const at::Tensor big = at::arange(3 * 4096, at::kFloat).reshape({3, 4096});  // several pages
  write_safetensors(file, {{"big", big}, {"small", at::ones({3})}});
  const NamedTensors read = read_safetensors(file);
  const at::Tensor copy = read[0].second.clone();
  release_mapped_pages(read[0].second);
  EXPECT_TRUE(at::equal(read[0].second, big)) << "dropped pages come back from the file";
  EXPECT_TRUE(at::equal(copy, big));
  const at::Tensor heap = at::full({4096 * 4}, 7.0f);
  release_mapped_pages(heap);  // not a mapping: nothing happens
  EXPECT_TRUE(at::equal(heap, at::full({4096 * 4}, 7.0f)));
  EXPECT_TRUE(at::equal(read[1].second, at::ones({3})));
}
