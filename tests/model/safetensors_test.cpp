#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>

#include "collapse/model/safetensors.h"
#include "collapse/model/safetensors_header.h"
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

namespace {
// A safetensors file by hand: `header` (JSON) then `data_bytes` bytes of data.
std::filesystem::path hand_made(const std::filesystem::path& file, const std::string& header, std::size_t data_bytes) {
  const std::uint64_t n = header.size();
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, '\0');
  return file;
}

std::string error_reading(const std::filesystem::path& file) {
  try {
    read_safetensors(file);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

// The probe of issue 19 found overlapping data_offsets accepted: one tensor's bytes read as
// another's. The format requires the tensors to tile the data region exactly.
TEST(Safetensors, TensorsMustTileTheDataWithoutOverlapOrGap) {
  const auto dir = tests::fresh_dir("st-tiling");
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  EXPECT_EQ(error_reading(hand_made(dir / "ok.safetensors",
                                    "{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12)),
            "(no error)");
  EXPECT_NE(error_reading(hand_made(dir / "overlap.safetensors",
                                    "{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8))
                .find("overlap.safetensors: not a valid safetensors file (tensor 'b' starts at byte 4 of the data, "
                      "earlier than the tensor before it ends (8))"),
            std::string::npos);
  EXPECT_NE(error_reading(hand_made(dir / "gap.safetensors",
                                    "{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16))
                .find("later than"),
            std::string::npos);
  EXPECT_NE(error_reading(hand_made(dir / "tail.safetensors", "{" + a + "}", 20)).find("cover 8 bytes of a 20-byte"),
            std::string::npos);
  // A zero-sized tensor at the boundary is no overlap, whichever order the header lists it in.
  EXPECT_EQ(error_reading(hand_made(dir / "empty.safetensors",
                                    R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},)" + a + "}", 8)),
            "(no error)");
}

// The torch-free header parser (safetensors_header.h) and the tensor reader agree on every
// dtype: each one the parser accepts loads, with the element size the parser counted.
TEST(Safetensors, EveryDtypeTheHeaderAcceptsLoadsWithItsElementSize) {
  const auto dir = tests::fresh_dir("st-dtypes");
  for (const SafetensorsDtype& d : safetensors_dtypes()) {
    const std::string header = std::string(R"({"x":{"dtype":")") + d.name + R"(","shape":[2],"data_offsets":[0,)" +
                               std::to_string(2 * d.bytes) + "]}}";
    const NamedTensors read = read_safetensors(hand_made(dir / (std::string(d.name) + ".safetensors"), header,
                                                         static_cast<std::size_t>(2 * d.bytes)));
    ASSERT_EQ(read.size(), 1u) << d.name;
    EXPECT_EQ(static_cast<int>(read[0].second.element_size()), d.bytes) << d.name;
    EXPECT_EQ(read[0].second.numel(), 2) << d.name;
  }
  EXPECT_EQ(safetensors_dtypes().size(), 10u);
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
