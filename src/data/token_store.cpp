#include "collapse/data/token_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'C', 'L', 'P', 'S', 'T', 'O', 'K', '\0'};

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t bytes_per_token;
  std::uint64_t n_tokens;
  std::uint64_t n_docs;
  std::uint32_t vocab_size;
  std::uint32_t reserved0;
  std::uint64_t reserved[3];
};
static_assert(sizeof(Header) == 64, "the token file header is 64 bytes");

}  // namespace

void write_token_file(const fs::path& path, const std::vector<std::vector<std::int32_t>>& documents,
                      std::int64_t vocab_size) {
  if (vocab_size <= 0 || vocab_size > (std::int64_t{1} << 31)) {
    fail("{}: invalid vocabulary size {}", path.string(), vocab_size);
  }
  const std::uint32_t width = vocab_size <= 65536 ? 2 : 4;
  std::vector<std::uint64_t> offsets{0};
  for (const auto& doc : documents) {
    for (std::int32_t id : doc) {
      if (id < 0 || id >= vocab_size) {
        fail("{}: token id {} outside the vocabulary [0, {})", path.string(), id, vocab_size);
      }
    }
    offsets.push_back(offsets.back() + doc.size());
  }
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kTokenFileVersion;
  header.bytes_per_token = width;
  header.n_tokens = offsets.back();
  header.n_docs = documents.size();
  header.vocab_size = static_cast<std::uint32_t>(vocab_size);

  write_atomic_with(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    std::vector<unsigned char> buffer;
    for (const auto& doc : documents) {
      buffer.resize(doc.size() * width);
      for (std::size_t i = 0; i < doc.size(); ++i) {
        if (width == 2) {
          const auto v = static_cast<std::uint16_t>(doc[i]);
          std::memcpy(&buffer[2 * i], &v, 2);
        } else {
          const auto v = static_cast<std::uint32_t>(doc[i]);
          std::memcpy(&buffer[4 * i], &v, 4);
        }
      }
      out.write(reinterpret_cast<const char*>(buffer.data()),
                static_cast<std::streamsize>(buffer.size()));
    }
    out.write(reinterpret_cast<const char*>(offsets.data()),
              static_cast<std::streamsize>(offsets.size() * sizeof(std::uint64_t)));
    out.close();
    if (!out) fail("cannot write {}: {}", path.string(), std::strerror(errno));
  });
}

TokenFile::TokenFile(const fs::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("token file not found or unreadable: {}", path.string());
  struct stat st {};
  ::fstat(fd, &st);
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ < sizeof(Header)) {
    ::close(fd);
    fail("{}: not a collapse token file (only {} bytes)", path.string(), size_);
  }
  void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) fail("cannot memory-map {}", path.string());
  data_ = static_cast<const unsigned char*>(map);

  Header header;
  std::memcpy(&header, data_, sizeof header);
  auto corrupt = [&](const std::string& why) {
    ::munmap(const_cast<unsigned char*>(data_), size_);
    data_ = nullptr;
    fail("{}: {}", path.string(), why);
  };
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0) corrupt("not a collapse token file");
  if (header.version != kTokenFileVersion) {
    corrupt(fmt::format("token file version {} is not supported (this build reads version {})",
                        header.version, kTokenFileVersion));
  }
  if (header.bytes_per_token != 2 && header.bytes_per_token != 4) {
    corrupt(fmt::format("corrupt header: {} bytes per token", header.bytes_per_token));
  }
  if (header.vocab_size == 0 || header.vocab_size > (std::uint32_t{1} << 31) ||
      (header.bytes_per_token == 2) != (header.vocab_size <= 65536)) {
    corrupt(fmt::format("corrupt header: vocabulary size {} with {} bytes per token", header.vocab_size,
                        header.bytes_per_token));
  }
  // Counts bounded by the file's size before they are multiplied: a forged header cannot wrap
  // the expected size around to the real one.
  if (header.n_tokens > size_ || header.n_docs > size_) {
    corrupt(fmt::format("truncated or corrupt: header counts {} tokens and {} documents in {} bytes",
                        header.n_tokens, header.n_docs, size_));
  }
  const std::uint64_t expected =
      sizeof(Header) + header.n_tokens * header.bytes_per_token + (header.n_docs + 1) * 8;
  if (expected != size_) {
    corrupt(fmt::format("truncated or corrupt: header says {} bytes, file has {}", expected, size_));
  }
  n_tokens_ = static_cast<std::int64_t>(header.n_tokens);
  n_docs_ = static_cast<std::int64_t>(header.n_docs);
  vocab_size_ = header.vocab_size;
  bytes_per_token_ = static_cast<int>(header.bytes_per_token);
  tokens_ = data_ + sizeof(Header);
  // The index follows the tokens; with 2-byte tokens it may sit at an offset that is not
  // 8-byte aligned, so it is read with memcpy (see offset()).
  offsets_ = reinterpret_cast<const std::uint64_t*>(tokens_ + header.n_tokens * bytes_per_token_);
  // The structural invariants every reader relies on, checked once here (one pass over the
  // file): offsets start at 0, never decrease and end at the token count; every id is below the
  // vocabulary. A flipped byte is then this one error, never a wrong number downstream.
  std::uint64_t previous = 0;
  for (std::uint64_t d = 0; d <= header.n_docs; ++d) {
    std::uint64_t offset;
    std::memcpy(&offset, reinterpret_cast<const unsigned char*>(offsets_) + 8 * d, 8);
    const bool bad = d == 0 ? offset != 0 : offset < previous || offset > header.n_tokens ||
                                                 (d == header.n_docs && offset != header.n_tokens);
    if (bad) {
      corrupt(fmt::format("corrupt document index: offset {} of document {} (previous {}, {} tokens)", offset,
                          d, previous, header.n_tokens));
    }
    previous = offset;
  }
  for (std::uint64_t i = 0; i < header.n_tokens; ++i) {
    std::uint32_t id = 0;
    if (bytes_per_token_ == 2) {
      std::uint16_t v;
      std::memcpy(&v, tokens_ + 2 * i, 2);
      id = v;
    } else {
      std::memcpy(&id, tokens_ + 4 * i, 4);
    }
    if (id >= header.vocab_size) {
      corrupt(fmt::format("corrupt tokens: token {} is id {}, outside the vocabulary [0, {})", i, id,
                          header.vocab_size));
    }
  }
}

TokenFile::~TokenFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

TokenFile::TokenFile(TokenFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(other.size_),
      n_tokens_(other.n_tokens_),
      n_docs_(other.n_docs_),
      vocab_size_(other.vocab_size_),
      bytes_per_token_(other.bytes_per_token_),
      tokens_(other.tokens_),
      offsets_(other.offsets_) {}

namespace {
std::uint64_t read_offset(const std::uint64_t* offsets, std::int64_t i) {
  std::uint64_t v;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(offsets) + 8 * i, 8);
  return v;
}
}  // namespace

std::int64_t TokenFile::document_length(std::int64_t d) const {
  if (d < 0 || d >= n_docs_) fail("{}: document {} out of range [0, {})", path_.string(), d, n_docs_);
  return static_cast<std::int64_t>(read_offset(offsets_, d + 1) - read_offset(offsets_, d));
}

void TokenFile::append_document(std::int64_t d, std::vector<std::int32_t>& out) const {
  const std::int64_t length = document_length(d);
  const std::uint64_t begin = read_offset(offsets_, d);
  if (begin + length > static_cast<std::uint64_t>(n_tokens_)) {
    fail("{}: corrupt document index at document {}", path_.string(), d);
  }
  const unsigned char* p = tokens_ + begin * bytes_per_token_;
  out.reserve(out.size() + length);
  for (std::int64_t i = 0; i < length; ++i) {
    if (bytes_per_token_ == 2) {
      std::uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      out.push_back(v);
    } else {
      std::uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out.push_back(static_cast<std::int32_t>(v));
    }
  }
}

std::vector<std::int32_t> TokenFile::document(std::int64_t d) const {
  std::vector<std::int32_t> out;
  append_document(d, out);
  return out;
}

std::vector<std::int32_t> document_stream(const TokenFile& file, std::int32_t bos,
                                          std::int32_t eos, std::vector<std::int64_t>* ends) {
  std::vector<std::int32_t> stream;
  stream.reserve(static_cast<std::size_t>(file.tokens() + 2 * file.documents()));
  if (ends) ends->clear();
  for (std::int64_t d = 0; d < file.documents(); ++d) {
    if (d == 0 || bos != eos) stream.push_back(bos);
    file.append_document(d, stream);
    stream.push_back(eos);
    if (ends) ends->push_back(static_cast<std::int64_t>(stream.size()));
  }
  return stream;
}

std::vector<std::int32_t> joined_stream(const TokenFile& file, const std::vector<std::int32_t>& before,
                                        const std::vector<std::int32_t>& after) {
  std::vector<std::int32_t> stream = before;
  stream.reserve(static_cast<std::size_t>(file.tokens()) + before.size() + after.size());
  for (std::int64_t d = 0; d < file.documents(); ++d) file.append_document(d, stream);
  stream.insert(stream.end(), after.begin(), after.end());
  return stream;
}

}  // namespace collapse
