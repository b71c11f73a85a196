#include "collapse/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;

namespace {

// A temporary name in the target's folder (rename is only atomic within one file system).
fs::path temp_path_for(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() /
         fmt::format(".{}.tmp-{}-{}", path.filename().string(), ::getpid(), counter++);
}

// Best effort, for folders (some file systems refuse to sync one).
void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// The written file's bytes on disk before it is renamed into place: a failed fsync is a write
// that did not happen (a full or failing disk), reported against the file the user asked for.
void fsync_file(const fs::path& tmp, const fs::path& path) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot write {}: {}", path.string(), std::strerror(errno));
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int why = errno;
    ::close(fd);
    fail("cannot write {}: {}", path.string(), std::strerror(why));
  }
  ::close(fd);
}

void ensure_parent(const fs::path& path) {
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) fail("cannot create folder {}: {}", path.parent_path().string(), ec.message());
  }
}

}  // namespace

void write_atomic_with(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  ensure_parent(path);
  const fs::path tmp = temp_path_for(path);
  try {
    write(tmp);
    fsync_file(tmp, path);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) fail("cannot move {} into place as {}: {}", tmp.string(), path.string(), ec.message());
    if (path.has_parent_path()) fsync_path(path.parent_path());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  write_atomic_with(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write {}: {}", path.string(), std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    // A full disk shows up here: report it against the file the user asked for.
    if (!out) fail("cannot write {}: {}", path.string(), std::strerror(errno));
  });
}

fs::path normalize_dir(const fs::path& dir) {
  fs::path p = dir.lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

fs::path temp_dir_for(const fs::path& dest) {
  const fs::path d = normalize_dir(dest);
  const fs::path parent = d.has_parent_path() ? d.parent_path() : fs::path(".");
  return parent / fmt::format(".{}.tmp-{}", d.filename().string(), ::getpid());
}

void replace_dir(const fs::path& built, const fs::path& dest) {
  std::error_code ec;
  const fs::path old = temp_dir_for(dest).string() + "-old";
  const bool had = fs::exists(dest, ec);
  if (had) {
    fs::remove_all(old, ec);
    fs::rename(dest, old, ec);
    if (ec) fail("cannot move {} aside: {}", dest.string(), ec.message());
  }
  fs::rename(built, dest, ec);
  if (ec) fail("cannot move {} into place as {}: {}", built.string(), dest.string(), ec.message());
  if (had) fs::remove_all(old, ec);
}

void check_creatable(const fs::path& path, const std::string& what) {
  std::error_code ec;
  for (fs::path p = path.parent_path(); !p.empty(); p = p.parent_path()) {
    const fs::file_status st = fs::status(p, ec);
    if (ec || st.type() == fs::file_type::not_found) {
      if (p == p.parent_path()) break;
      continue;
    }
    if (st.type() != fs::file_type::directory) {
      fail("{} {}: {} is a file, not a folder, so nothing can be created under it", what, path.string(),
           p.string());
    }
    return;  // the nearest existing ancestor is a folder
  }
}

void require_regular_file(const fs::path& path, const std::string& what) {
  const std::string who = what.empty() ? std::string() : what + ": ";
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) fail("{}file not found: {}", who, path.string());
  if (fs::is_directory(status)) fail("{}{} is a folder, expected a file", who, path.string());
  if (!fs::is_regular_file(status)) {
    const char* kind = fs::is_fifo(status) ? "a FIFO" : fs::is_socket(status) ? "a socket" : "a device";
    fail("{}{} is {}, expected a regular file", who, path.string(), kind);
  }
}

std::string read_file(const fs::path& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}: {}", path.string(), std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("cannot read {}: {}", path.string(), std::strerror(errno));
  return std::move(buffer).str();
}

}  // namespace collapse
