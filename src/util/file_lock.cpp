#include "collapse/util/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "collapse/util/error.h"

namespace collapse {

FileLock::FileLock(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open lock file {}: {}", path.string(), std::strerror(errno));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd_);
      fail("cannot lock {}: {}", path.string(), std::strerror(errno));
    }
  }
}

FileLock::FileLock(const std::filesystem::path& path, const NoWait& no_wait) {
  std::filesystem::create_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open lock file {}: {}", path.string(), std::strerror(errno));
  int rc;
  while ((rc = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int why = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (why != EWOULDBLOCK) fail("cannot lock {}: {}", path.string(), std::strerror(why));
    // The holder writes its id right after locking: an empty file is a holder that just started.
    const std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : std::string();
    fail("{} is being written by {}; {}", no_wait.busy,
         holder.empty() ? std::string("another process") : "process " + holder, no_wait.advice);
  }
  const std::string id = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, id.data(), id.size(), 0) != static_cast<ssize_t>(id.size())) {
    const int why = errno;
    ::close(fd_);
    fd_ = -1;
    fail("cannot write lock file {}: {}", path.string(), std::strerror(why));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace collapse
