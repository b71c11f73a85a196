// A test-only LD_PRELOAD library that makes file I/O fail on demand, as a full disk or a dying
// one would: the k-th write-side call on a file under a folder fails with ENOSPC (or EIO), and
// with ENOSPC every later one too (a full disk stays full); or the process is killed right there. Used by the fault-injection tests
// (tests/experiment/io_fault_test.cpp, `make reliability`), never linked into collapse.
//
// Environment:
//   COLLAPSE_IO_FAULT_UNDER  only calls on paths under this folder count (required)
//   COLLAPSE_IO_FAULT_AT     the 1-based number of the call that fails; 0 or absent: none fails
//   COLLAPSE_IO_FAULT_MODE   ENOSPC (default), EIO (that one call fails, the next ones succeed)
//                            or KILL (the process SIGKILLs itself instead of making the call, as
//                            an out-of-memory kill or a pre-empted job would at that moment)
//   COLLAPSE_IO_FAULT_COUNT  a file that receives, at exit, how many calls counted
//
// Counted calls: opening a file for writing (open, openat, creat, fopen with a writing mode),
// write, pwrite, writev, fsync, fdatasync, rename, renameat. Reads, unlink and mkdir never fail,
// so a failing process can still clean up.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static const char* under = NULL;
static size_t under_length = 0;
static long fail_at = 0;
static int fault_errno = ENOSPC;
static int kill_instead = 0;
static long counted = 0;

__attribute__((constructor)) static void setup(void) {
  under = getenv("COLLAPSE_IO_FAULT_UNDER");
  under_length = under ? strlen(under) : 0;
  const char* at = getenv("COLLAPSE_IO_FAULT_AT");
  fail_at = at ? atol(at) : 0;
  const char* mode = getenv("COLLAPSE_IO_FAULT_MODE");
  if (mode && strcmp(mode, "EIO") == 0) fault_errno = EIO;
  if (mode && strcmp(mode, "KILL") == 0) kill_instead = 1;
}

__attribute__((destructor)) static void report(void) {
  const char* file = getenv("COLLAPSE_IO_FAULT_COUNT");
  if (!file) return;
  FILE* (*real_fopen)(const char*, const char*);
  *(void**)(&real_fopen) = dlsym(RTLD_NEXT, "fopen");
  FILE* out = real_fopen(file, "w");
  if (!out) return;
  fprintf(out, "%ld\n", counted);
  fclose(out);
}

// Whether `path` (absolute, or relative to the working folder) lies under COLLAPSE_IO_FAULT_UNDER.
static int watched_path(const char* path) {
  if (!under || !path) return 0;
  char absolute[4096];
  if (path[0] != '/') {
    if (!getcwd(absolute, sizeof absolute)) return 0;
    const size_t n = strlen(absolute);
    snprintf(absolute + n, sizeof absolute - n, "/%s", path);
    path = absolute;
  }
  return strncmp(path, under, under_length) == 0 && (path[under_length] == '/' || path[under_length] == '\0');
}

static int watched_fd(int fd) {
  if (!under || fd < 0) return 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  return watched_path(path);
}

// Counts one watched call; true when it must fail.
static int fault(void) {
  const long k = __atomic_add_fetch(&counted, 1, __ATOMIC_SEQ_CST);
  if (fail_at <= 0) return 0;
  if (kill_instead && k == fail_at) raise(SIGKILL);
  if (!kill_instead && (k == fail_at || (fault_errno == ENOSPC && k > fail_at))) {
    errno = fault_errno;
    return 1;
  }
  return 0;
}

static int writing(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0; }

// The libc function this one stands in for: `real`, looked up once.
#define REAL(name, ret, args)      \
  static ret(*real) args = NULL;   \
  if (!real) *(void**)(&real) = dlsym(RTLD_NEXT, name)

int open(const char* path, int flags, ...) {
  REAL("open", int, (const char*, int, ...));
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);
    va_end(args);
  }
  if (writing(flags) && watched_path(path) && fault()) return -1;
  return real(path, flags, mode);
}
int open64(const char* path, int flags, ...) __attribute__((alias("open")));

int openat(int dir, const char* path, int flags, ...) {
  REAL("openat", int, (int, const char*, int, ...));
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);
    va_end(args);
  }
  // Relative to another folder than the working one: not resolved, not counted.
  if (writing(flags) && (dir == AT_FDCWD || path[0] == '/') && watched_path(path) && fault()) return -1;
  return real(dir, path, flags, mode);
}
int openat64(int dir, const char* path, int flags, ...) __attribute__((alias("openat")));

int creat(const char* path, mode_t mode) {
  REAL("creat", int, (const char*, mode_t));
  if (watched_path(path) && fault()) return -1;
  return real(path, mode);
}

FILE* fopen(const char* path, const char* mode) {
  REAL("fopen", FILE*, (const char*, const char*));
  if (mode && strpbrk(mode, "wa+") && watched_path(path) && fault()) return NULL;
  return real(path, mode);
}
FILE* fopen64(const char* path, const char* mode) __attribute__((alias("fopen")));

ssize_t write(int fd, const void* buffer, size_t n) {
  REAL("write", ssize_t, (int, const void*, size_t));
  if (watched_fd(fd) && fault()) return -1;
  return real(fd, buffer, n);
}

ssize_t pwrite(int fd, const void* buffer, size_t n, off_t offset) {
  REAL("pwrite", ssize_t, (int, const void*, size_t, off_t));
  if (watched_fd(fd) && fault()) return -1;
  return real(fd, buffer, n, offset);
}
ssize_t pwrite64(int fd, const void* buffer, size_t n, off_t offset) __attribute__((alias("pwrite")));

ssize_t writev(int fd, const struct iovec* iov, int count) {
  REAL("writev", ssize_t, (int, const struct iovec*, int));
  if (watched_fd(fd) && fault()) return -1;
  return real(fd, iov, count);
}

int fsync(int fd) {
  REAL("fsync", int, (int));
  if (watched_fd(fd) && fault()) return -1;
  return real(fd);
}

int fdatasync(int fd) {
  REAL("fdatasync", int, (int));
  if (watched_fd(fd) && fault()) return -1;
  return real(fd);
}

int rename(const char* from, const char* to) {
  REAL("rename", int, (const char*, const char*));
  if (watched_path(to) && fault()) return -1;
  return real(from, to);
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  REAL("renameat", int, (int, const char*, int, const char*));
  if ((to_dir == AT_FDCWD || to[0] == '/') && watched_path(to) && fault()) return -1;
  return real(from_dir, from, to_dir, to);
}
