// Files that are either whole or absent: every writer goes to a temporary name in the same
// folder and is renamed into place, so a killed process never leaves a half-written file that
// looks complete.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace collapse {

// Writes `bytes` to `path` atomically (temp file, flush + fsync, rename). Creates parent folders.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// For writers that need a path (e.g. a library that saves to a filename): `write` receives the
// temporary path to fill; on success it is fsynced and renamed to `path`, on an exception it is
// removed and the exception propagates.
void write_atomic_with(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path& tmp)>& write);

// A folder path as the user typed it, made comparable: "runs/x/" and "runs/./x" become "runs/x".
std::filesystem::path normalize_dir(const std::filesystem::path& dir);

// Replaces folder `dest` by the complete folder `built` (a sibling): an existing `dest` is moved
// aside, `built` renamed into place, and the old one removed, so `dest` is only ever absent for
// an instant between two renames, never half-written.
void replace_dir(const std::filesystem::path& built, const std::filesystem::path& dest);

// A temporary sibling name for building `dest`: <parent>/.<name>.tmp-<pid>.
std::filesystem::path temp_dir_for(const std::filesystem::path& dest);

// Throws an Error naming `path` (as `what`, e.g. "--out") when it could never be created: one of
// its existing ancestors is a file, not a folder. Commands call it before any work, so a typo is
// refused at once rather than after hours of training or generation.
void check_creatable(const std::filesystem::path& path, const std::string& what);

// Throws an Error naming `path` (after `what`, when given: "--prompt file:x: ...") unless it is
// an existing regular file, or a link to one. A folder, FIFO, device or socket is refused: reading
// /dev/zero or a FIFO nobody writes would never end.
void require_regular_file(const std::filesystem::path& path, const std::string& what = "");

// Whole file contents; a missing, unreadable or not regular file is an Error naming it.
std::string read_file(const std::filesystem::path& path);

}  // namespace collapse
