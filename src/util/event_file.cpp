#include "collapse/util/event_file.h"

#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <unistd.h>

#include "collapse/util/error.h"

namespace collapse {
namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? (c >> 1) ^ 0x82F63B78U : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kTable = make_table();

// Protocol buffer wire format: varints, field keys, fixed-width and length-delimited fields.
void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
enum Wire : std::uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };
void key(std::string& out, std::uint32_t field, Wire wire) { varint(out, (field << 3) | wire); }
template <typename T>
void little_endian(std::string& out, T value) {
  static_assert(std::endian::native == std::endian::little, "event files are little-endian");
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}
void bytes_field(std::string& out, std::uint32_t field, std::string_view bytes) {
  key(out, field, kBytes);
  varint(out, bytes.size());
  out.append(bytes);
}

// Event { double wall_time = 1; int64 step = 2; oneof { ...; Summary summary = 5; SessionLog
// session_log = 7; } } with `payload` in field `field`.
std::string event(double wall_time, std::int64_t step, std::uint32_t field, std::string_view payload) {
  std::string e;
  key(e, 1, kFixed64);
  little_endian(e, wall_time);
  key(e, 2, kVarint);
  varint(e, static_cast<std::uint64_t>(step));
  bytes_field(e, field, payload);
  return e;
}

// Summary { repeated Value value = 1; } with one Value.
std::string summary_of(std::string_view value) {
  std::string s;
  bytes_field(s, 1, value);
  return s;
}

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) {
  crc = ~crc;
  for (const char c : bytes) crc = kTable[(crc ^ static_cast<unsigned char>(c)) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t masked_crc32c(std::string_view bytes) {
  const std::uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8U;
}

std::string file_version_event(double wall_time) {
  std::string e;
  key(e, 1, kFixed64);
  little_endian(e, wall_time);
  bytes_field(e, 3, "brain.Event:2");
  return e;
}

std::string scalar_event(double wall_time, std::int64_t step, std::string_view tag, float value) {
  // Value { string tag = 1; float simple_value = 2; }
  std::string v;
  bytes_field(v, 1, tag);
  key(v, 2, kFixed32);
  little_endian(v, value);
  return event(wall_time, step, 5, summary_of(v));
}

std::string text_event(double wall_time, std::int64_t step, std::string_view tag, std::string_view text) {
  // Value { string tag = 1; TensorProto tensor = 8; SummaryMetadata metadata = 9; }
  // TensorProto { DataType dtype = 1 (DT_STRING = 7); TensorShapeProto tensor_shape = 2 (a
  // scalar: no dims); repeated bytes string_val = 8; }
  // SummaryMetadata { PluginData plugin_data = 1 { string plugin_name = 1; } }
  std::string tensor;
  key(tensor, 1, kVarint);
  varint(tensor, 7);
  bytes_field(tensor, 2, "");
  bytes_field(tensor, 8, text);
  std::string plugin;
  bytes_field(plugin, 1, "text");
  std::string metadata;
  bytes_field(metadata, 1, plugin);
  std::string v;
  bytes_field(v, 1, tag);
  bytes_field(v, 8, tensor);
  bytes_field(v, 9, metadata);
  return event(wall_time, step, 5, summary_of(v));
}

std::string session_start_event(double wall_time, std::int64_t step) {
  // SessionLog { SessionStatus status = 1; } with START = 1, in Event's field 7.
  std::string log;
  key(log, 1, kVarint);
  varint(log, 1);
  return event(wall_time, step, 7, log);
}

std::string tf_record(std::string_view data) {
  std::string length;
  little_endian(length, static_cast<std::uint64_t>(data.size()));
  std::string record = length;
  little_endian(record, masked_crc32c(length));
  record.append(data);
  little_endian(record, masked_crc32c(data));
  return record;
}

EventFileWriter::EventFileWriter(const std::filesystem::path& dir, const std::string& suffix) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the TensorBoard folder ({})", dir.string(), ec.message());
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  // Readers take a folder's files in name order: seconds, then microseconds, so that a resumed
  // process's file sorts after the killed one's even within the same second.
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  path_ = dir / fmt::format("events.out.tfevents.{}.{:06d}.{}.{}{}", micros / 1000000, micros % 1000000, host,
                            ::getpid(), suffix.empty() ? "" : "." + suffix);
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) fail("{}: cannot create the event file ({})", path_.string(), std::strerror(errno));
  write(file_version_event(now()));
}

EventFileWriter::~EventFileWriter() {
  if (file_) std::fclose(file_);
}

void EventFileWriter::scalar(std::string_view tag, std::int64_t step, double value) {
  write(scalar_event(now(), step, tag, static_cast<float>(value)));
}

void EventFileWriter::text(std::string_view tag, std::int64_t step, std::string_view text) {
  write(text_event(now(), step, tag, text));
}

void EventFileWriter::session_start(std::int64_t step) { write(session_start_event(now(), step)); }

void EventFileWriter::write(const std::string& event) {
  const std::string record = tf_record(event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    fail("{}: cannot write the event file ({})", path_.string(), std::strerror(errno));
  }
}

}  // namespace collapse
