// What every fuzz harness shares: the bytes under test as a file (collapse's parsers read
// files), and the contract fuzzing enforces (docs/reliability.md): any bytes give a value or one
// collapse::Error, never a crash, an out-of-bounds read or another exception.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace collapse::fuzz {

// `data` written to a file named `name` in this process's own folder under the system's
// temporary folder; the same path each call, so nothing accumulates over millions of runs.
inline std::filesystem::path as_file(const std::uint8_t* data, std::size_t size, const std::string& name) {
  static const std::filesystem::path dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("collapse-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const std::filesystem::path file = dir / name;
  if (name.find('/') != std::string::npos) std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                 static_cast<std::streamsize>(size));
  return file;
}

}  // namespace collapse::fuzz
