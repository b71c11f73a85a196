// SHA-256 checksums (hex), used in manifests to tie datasets, tokenizers and checkpoints together.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace collapse {

std::string sha256_hex(std::string_view bytes);
std::string sha256_file(const std::filesystem::path& path);

// Incremental form for data that is produced in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string hex();  // finishes the digest; call once

 private:
  void* ctx_;
};

}  // namespace collapse
