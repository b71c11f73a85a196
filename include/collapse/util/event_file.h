// TensorBoard event files, written by hand: what `tensorboard --logdir` and its EventAccumulator
// read. A file is a sequence of TFRecords (docs/formats.md, "TensorBoard event files"):
//   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
// where data is a serialized `Event` protocol buffer: the first one holds file_version
// "brain.Event:2", each later one a wall time, a step and a `Summary` of tagged values. The few
// message fields used are encoded here directly (protobuf wire format), which is smaller and
// clearer than generating code for TensorFlow's .proto files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace collapse {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), continuing from `crc`.
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0);
// TFRecord's mask: rotate right by 15 bits, add 0xa282ead8.
std::uint32_t masked_crc32c(std::string_view bytes);

// The serialized Events (exposed for tests).
std::string file_version_event(double wall_time);
std::string scalar_event(double wall_time, std::int64_t step, std::string_view tag, float value);
// A text summary (TensorBoard's text plugin: a scalar string tensor); shown as markdown.
std::string text_event(double wall_time, std::int64_t step, std::string_view tag, std::string_view text);
// SessionLog START at `step`: a reader drops every event of the run with step >= `step` that it
// read before (TensorBoard's restart handling), so a resumed process can write those steps anew.
std::string session_start_event(double wall_time, std::int64_t step);
// One TFRecord around `data`.
std::string tf_record(std::string_view data);

// Appends events to a new file DIR/events.out.tfevents.<unix seconds>.<microseconds>.<host>.<pid>[.<suffix>]
// (created with its directory), flushed after every event so that a reader sees it at once.
// TensorBoard reads every such file of a folder in name order. Write errors are Errors naming
// the file.
class EventFileWriter {
 public:
  EventFileWriter(const std::filesystem::path& dir, const std::string& suffix);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  void scalar(std::string_view tag, std::int64_t step, double value);
  void text(std::string_view tag, std::int64_t step, std::string_view text);
  void session_start(std::int64_t step);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write(const std::string& event);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace collapse
