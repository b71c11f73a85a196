// Token files: a versioned binary format holding a list of token-id documents.
//
// Layout (little-endian), see docs/formats.md:
//   header, 64 bytes:
//     char[8]  magic "CLPSTOK\0"
//     u32      version (1)
//     u32      bytes per token (2 = uint16 when vocab <= 65536, else 4 = uint32)
//     u64      token count
//     u64      document count
//     u32      vocabulary size (every id is below it)
//     u32      reserved (0)
//     u64[3]   reserved (0)
//   tokens:    token count x (bytes per token)
//   index:     (document count + 1) x u64 offsets; document d is tokens[offset[d], offset[d+1])
// Documents hold the text's tokens only: BOS/EOS are added by whoever consumes them.
#pragma once

#include <bit>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace collapse {

inline constexpr std::uint32_t kTokenFileVersion = 1;
// Token files are read and written in host byte order, which must be the documented one.
static_assert(std::endian::native == std::endian::little, "token files are little-endian");

// Writes `documents` atomically. Throws Error if an id is negative or >= vocab_size.
void write_token_file(const std::filesystem::path& path,
                      const std::vector<std::vector<std::int32_t>>& documents,
                      std::int64_t vocab_size);

// A memory-mapped, validated, read-only token file.
class TokenFile {
 public:
  // Throws Error naming the file for a missing file, wrong magic, unknown version, or sizes that
  // do not add up (a truncated or corrupt file).
  explicit TokenFile(const std::filesystem::path& path);
  ~TokenFile();
  TokenFile(TokenFile&&) noexcept;
  TokenFile& operator=(TokenFile&&) = delete;
  TokenFile(const TokenFile&) = delete;

  std::int64_t documents() const { return n_docs_; }
  std::int64_t tokens() const { return n_tokens_; }
  std::int64_t vocab_size() const { return vocab_size_; }
  std::int64_t document_length(std::int64_t d) const;
  // Appends document d's tokens to `out`.
  void append_document(std::int64_t d, std::vector<std::int32_t>& out) const;
  std::vector<std::int32_t> document(std::int64_t d) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  std::int64_t n_tokens_ = 0, n_docs_ = 0, vocab_size_ = 0;
  int bytes_per_token_ = 0;
  const unsigned char* tokens_ = nullptr;
  const std::uint64_t* offsets_ = nullptr;
};

// The stream a language model reads: every document as BOS + tokens + EOS, concatenated in file
// order. This is the token sequence t_0..t_{M-1} that training windows and perplexity use.
// Where BOS and EOS are one token (GPT-2's <|endoftext|>, a tokenizer without BOS), documents
// share it: EOS d_1 EOS d_2 EOS ..., never two in a row, so no trivial EOS -> EOS prediction is
// trained on or scored.
// With `ends`, also where each document's part of the stream ends: (*ends)[d] is the stream's
// length once document d is in (its EOS included).
std::vector<std::int32_t> document_stream(const TokenFile& file, std::int32_t bos,
                                          std::int32_t eos, std::vector<std::int64_t>* ends = nullptr);

// The documents as one text: `before`, every document's tokens in file order, `after`, with no
// boundary tokens between documents (what a tokenizer gives for the texts joined, minus the
// separator text; transformers' perplexity guide scores such a stream).
std::vector<std::int32_t> joined_stream(const TokenFile& file, const std::vector<std::int32_t>& before,
                                        const std::vector<std::int32_t>& after);

}  // namespace collapse
