// An exclusive advisory lock (flock) on a file, held for the object's lifetime: serialises work
// that several `collapse run --arm/--seed` processes sharing one run directory could otherwise
// do twice at once (preparing the dataset, rewriting metrics.csv).
#pragma once

#include <filesystem>
#include <string>

namespace collapse {

class FileLock {
 public:
  // Creates `path` if needed and blocks until the lock is ours. Error naming the file otherwise.
  explicit FileLock(const std::filesystem::path& path);
  // Takes the lock without waiting and records this process's id in the file. When another
  // process holds it: an Error "<busy> is being written by process N; <advice>".
  struct NoWait {
    std::string busy;    // what the lock guards, as the message names it
    std::string advice;  // what the user can do instead
  };
  FileLock(const std::filesystem::path& path, const NoWait& no_wait);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace collapse
