#include "collapse/data/special_ids.h"

#include <array>

#include <fmt/format.h>

#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "collapse/util/json_path.h"

namespace collapse {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

enum class Role { bos, eos, pad, unk };
struct RoleKeys {
  Role role;
  const char* name;      // special_ids.json and messages: "bos"
  const char* token;     // tokenizer_config.json / special_tokens_map.json: "bos_token"
  const char* token_id;  // generation_config.json / config.json: "bos_token_id"
};
constexpr std::array<RoleKeys, 4> kRoles{{
    {Role::bos, "bos", "bos_token", "bos_token_id"},
    {Role::eos, "eos", "eos_token", "eos_token_id"},
    {Role::pad, "pad", "pad_token", "pad_token_id"},
    {Role::unk, "unk", "unk_token", "unk_token_id"},
}};

std::int32_t& slot(SpecialIds& ids, Role role) {
  switch (role) {
    case Role::bos: return ids.bos;
    case Role::eos: return ids.eos;
    case Role::pad: return ids.pad;
    case Role::unk: return ids.unk;
  }
  return ids.unk;
}

std::optional<json> read_json_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  try {
    return json::parse(read_file(file));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", file.string(), e.what());
  }
}

// What one file says of a role: nothing, "none" (null), or an id.
struct Said {
  bool mentioned = false;
  std::int32_t id = -1;
};

Said id_from(const JsonPath& file, const char* key, std::int32_t vocab_size) {
  const auto it = file.value().find(key);
  if (it == file.value().end()) return {};
  if (it->is_null()) return {true, -1};
  const JsonPath v(*it, file.where(), key);
  std::int64_t id = 0;
  if (it->is_array()) {
    if (it->empty()) return {true, -1};
    id = v.items().front().integer();
  } else {
    id = v.integer();
  }
  if (id < 0 || id >= vocab_size) v.fail(fmt::format("token id {} is outside the vocabulary (0..{})", id, vocab_size - 1));
  return {true, static_cast<std::int32_t>(id)};
}

Said token_from(const JsonPath& file, const char* key,
                const std::function<std::optional<std::int32_t>(std::string_view)>& piece_to_id) {
  const auto it = file.value().find(key);
  if (it == file.value().end()) return {};
  if (it->is_null()) return {true, -1};
  const JsonPath v(*it, file.where(), key);
  const std::string content = it->is_object() ? v["content"].string() : v.string();
  const auto id = piece_to_id(content);
  if (!id) v.fail(fmt::format("'{}' is not a token of this tokenizer", content));
  return {true, *id};
}

}  // namespace

json to_json(const SpecialIds& ids) {
  auto opt = [](std::int32_t id) { return id >= 0 ? json(id) : json(nullptr); };
  return {{"bos_id", opt(ids.bos)}, {"eos_id", opt(ids.eos)}, {"pad_id", opt(ids.pad)}, {"unk_id", opt(ids.unk)}};
}

std::string describe(const SpecialIds& ids) {
  auto one = [](std::int32_t id) { return id >= 0 ? std::to_string(id) : std::string("none"); };
  return fmt::format("bos={} eos={} pad={} unk={}", one(ids.bos), one(ids.eos), one(ids.pad), one(ids.unk));
}

SpecialIds read_special_ids(const fs::path& dir,
                            const std::function<std::optional<std::int32_t>(std::string_view)>& piece_to_id,
                            const SpecialIds& own, std::int32_t vocab_size) {
  SpecialIds out;
  std::array<bool, 4> settled{};
  auto settle = [&](Role role, const Said& said) {
    const auto r = static_cast<std::size_t>(role);
    if (settled[r] || !said.mentioned) return;
    slot(out, role) = said.id;
    settled[r] = true;
  };
  if (const auto j = read_json_file(dir / "special_ids.json")) {
    const JsonPath file(*j, (dir / "special_ids.json").string());
    for (const RoleKeys& k : kRoles) settle(k.role, id_from(file, (std::string(k.name) + "_id").c_str(), vocab_size));
  }
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    if (const auto j = read_json_file(dir / name)) {
      const JsonPath file(*j, (dir / name).string());
      if (!j->is_object()) file.fail("expected a JSON object");
      for (const RoleKeys& k : kRoles) settle(k.role, token_from(file, k.token, piece_to_id));
    }
  }
  for (const char* name : {"generation_config.json", "config.json"}) {
    if (const auto j = read_json_file(dir / name)) {
      const JsonPath file(*j, (dir / name).string());
      if (!j->is_object()) file.fail("expected a JSON object");
      for (const RoleKeys& k : kRoles) {
        if (k.role != Role::unk) settle(k.role, id_from(file, k.token_id, vocab_size));
      }
    }
  }
  for (const RoleKeys& k : kRoles) {
    SpecialIds copy = own;
    settle(k.role, {slot(copy, k.role) >= 0, slot(copy, k.role)});
  }
  if (out.eos < 0) {
    fail("{}: the tokenizer names no end-of-text token (eos_token in tokenizer_config.json or "
         "special_tokens_map.json, or eos_token_id in generation_config.json or config.json); "
         "collapse needs one to end documents",
         dir.string());
  }
  if (out.bos < 0) out.bos = out.eos;
  if (out.pad < 0) out.pad = out.eos;
  return out;
}

void write_special_ids(const fs::path& dir, const SpecialIds& ids) {
  write_file_atomic(dir / "special_ids.json", to_json(ids).dump(1) + "\n");
}

}  // namespace collapse
