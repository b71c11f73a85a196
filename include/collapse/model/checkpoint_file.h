// The file around a checkpoint's LibTorch archive (docs/formats.md), without LibTorch: a fixed
// header whose SHA-256 covers every byte of the archive, so that a flipped or missing byte is
// found before torch's reader sees the bytes (it checks no CRC: 64 corrupted bytes in a tensor
// once gave a plausible perplexity). checkpoint.h reads and writes checkpoints through it.
//   char[8] "CLPSCKPT", u32 container version, u32 reserved (0), u64 archive bytes,
//   char[64] the archive's SHA-256 in lowercase hex, then the archive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace collapse {

inline constexpr std::uint32_t kCheckpointFileVersion = 1;
inline constexpr std::size_t kCheckpointHeaderBytes = 8 + 4 + 4 + 8 + 64;

// The whole file for `archive`: header, then the archive.
std::string checkpoint_file_bytes(std::string_view archive);

// The archive inside `bytes`, the whole content of `file`, once the header and the checksum
// hold; otherwise an Error naming `file` (truncated, altered, foreign, or an archive written
// before the header existed).
std::string_view checkpoint_archive(std::string_view bytes, const std::filesystem::path& file);

}  // namespace collapse
