// A JSON value together with where it sits ("tokenizer.json: pre_tokenizer.pretokenizers[1]"),
// so that readers of nested files can name the exact key at fault in one error line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace collapse {

class JsonPath {
 public:
  JsonPath(const nlohmann::json& value, std::string file, std::string path = {})
      : value_(&value), file_(std::move(file)), path_(std::move(path)) {}

  const nlohmann::json& value() const { return *value_; }
  // "file: path" (or "file" at the root).
  std::string where() const { return path_.empty() ? file_ : file_ + ": " + path_; }
  const std::string& path() const { return path_; }

  // The member `key`: Error when absent or null.
  JsonPath operator[](std::string_view key) const;
  // The member `key`, or nothing when absent or null.
  std::optional<JsonPath> find(std::string_view key) const;
  // Array elements (Error when not an array).
  std::vector<JsonPath> items() const;

  bool is_null() const { return value_->is_null(); }
  std::string string() const;
  bool boolean() const;
  std::int64_t integer() const;
  // A string of exactly one Unicode character (Metaspace's replacement, Strip's content).
  char32_t character() const;
  // The member `key` as a value of that type, or `fallback` when absent or null.
  std::string string_or(std::string_view key, std::string_view fallback) const;
  bool boolean_or(std::string_view key, bool fallback) const;
  std::int64_t integer_or(std::string_view key, std::int64_t fallback) const;

  // Throws Error "file: path: message".
  [[noreturn]] void fail(std::string_view message) const;

 private:
  const nlohmann::json* value_;
  std::string file_, path_;
};

}  // namespace collapse
