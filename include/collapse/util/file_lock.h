// An exclusive advisory lock (flock) on a file, held for the object's lifetime: serialises work
// that several `collapse run --arm/--seed` processes sharing one run directory could otherwise
// do twice at once (preparing the dataset, rewriting metrics.csv).
#pragma once

#include <filesystem>

namespace collapse {

class FileLock {
 public:
  // Creates `path` if needed and blocks until the lock is ours. Error naming the file otherwise.
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace collapse
