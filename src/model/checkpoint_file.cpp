#include "collapse/model/checkpoint_file.h"

#include <cstring>

#include "collapse/util/checksum.h"
#include "collapse/util/error.h"

namespace collapse {
namespace {

constexpr char kMagic[8] = {'C', 'L', 'P', 'S', 'C', 'K', 'P', 'T'};

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
T get(std::string_view in, std::size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof value);
  return value;
}

}  // namespace

std::string checkpoint_file_bytes(std::string_view archive) {
  std::string bytes(kMagic, 8);
  bytes.reserve(kCheckpointHeaderBytes + archive.size());
  put(bytes, kCheckpointFileVersion);
  put(bytes, std::uint32_t{0});
  put(bytes, static_cast<std::uint64_t>(archive.size()));
  bytes += sha256_hex(archive);
  bytes += archive;
  return bytes;
}

std::string_view checkpoint_archive(std::string_view bytes, const std::filesystem::path& file) {
  if (bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    fail("{}: a checkpoint without a checksum, written by an older collapse; train it again", file.string());
  }
  if (bytes.size() < kCheckpointHeaderBytes || bytes.substr(0, 8) != std::string_view(kMagic, 8)) {
    fail("{}: corrupt or not a collapse checkpoint ({} bytes, no checkpoint header)", file.string(), bytes.size());
  }
  const auto version = get<std::uint32_t>(bytes, 8);
  if (version != kCheckpointFileVersion) {
    fail("{}: checkpoint container version {} is not supported (this build reads {})", file.string(), version,
         kCheckpointFileVersion);
  }
  // Reserved for later versions: a version-1 file holds 0 there, so any other value is damage.
  if (const auto reserved = get<std::uint32_t>(bytes, 12); reserved != 0) {
    fail("{}: corrupt checkpoint: the header's reserved field is {}, not 0", file.string(), reserved);
  }
  const auto length = get<std::uint64_t>(bytes, 16);
  if (length != bytes.size() - kCheckpointHeaderBytes) {
    fail("{}: corrupt checkpoint: truncated (the header says {} archive bytes, the file holds {})", file.string(),
         length, bytes.size() - kCheckpointHeaderBytes);
  }
  const std::string_view recorded = bytes.substr(24, 64);
  const std::string_view archive = bytes.substr(kCheckpointHeaderBytes);
  const std::string actual = sha256_hex(archive);
  if (recorded != actual) {
    fail("{}: corrupt checkpoint: its bytes do not match their SHA-256 (recorded {}, found {}); restore it or "
         "train it again",
         file.string(), recorded.substr(0, 16), actual.substr(0, 16));
  }
  return archive;
}

}  // namespace collapse
