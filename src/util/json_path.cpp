#include "collapse/util/json_path.h"

#include "collapse/util/error.h"
#include "collapse/util/unicode.h"

namespace collapse {

namespace {
const char* kind_of(const nlohmann::json& j) { return j.type_name(); }
}  // namespace

void JsonPath::fail(std::string_view message) const {
  throw Error(fmt::format("{}: {}", where(), message));
}

std::optional<JsonPath> JsonPath::find(std::string_view key) const {
  if (!value_->is_object()) fail(fmt::format("expected an object, got {}", kind_of(*value_)));
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return JsonPath(*it, file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

JsonPath JsonPath::operator[](std::string_view key) const {
  auto found = find(key);
  if (!found) fail(fmt::format("missing key '{}'", key));
  return *found;
}

std::vector<JsonPath> JsonPath::items() const {
  if (!value_->is_array()) fail(fmt::format("expected an array, got {}", kind_of(*value_)));
  std::vector<JsonPath> out;
  out.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) {
    out.emplace_back((*value_)[i], file_, fmt::format("{}[{}]", path_, i));
  }
  return out;
}

std::string JsonPath::string() const {
  if (!value_->is_string()) fail(fmt::format("expected a string, got {}", kind_of(*value_)));
  return value_->get<std::string>();
}

bool JsonPath::boolean() const {
  if (!value_->is_boolean()) fail(fmt::format("expected true or false, got {}", value_->dump()));
  return value_->get<bool>();
}

std::int64_t JsonPath::integer() const {
  if (!value_->is_number_integer()) fail(fmt::format("expected an integer, got {}", value_->dump()));
  return value_->get<std::int64_t>();
}

std::string JsonPath::string_or(std::string_view key, std::string_view fallback) const {
  const auto v = find(key);
  return v ? v->string() : std::string(fallback);
}

bool JsonPath::boolean_or(std::string_view key, bool fallback) const {
  const auto v = find(key);
  return v ? v->boolean() : fallback;
}

std::int64_t JsonPath::integer_or(std::string_view key, std::int64_t fallback) const {
  const auto v = find(key);
  return v ? v->integer() : fallback;
}

char32_t JsonPath::character() const {
  const std::string s = string();
  if (s.empty()) fail("expected one character, got an empty string");
  std::size_t i = 0;
  const char32_t c = next_code_point(s, i);
  if (i != s.size()) fail(fmt::format("expected one character, got '{}'", s));
  return c;
}

}  // namespace collapse
