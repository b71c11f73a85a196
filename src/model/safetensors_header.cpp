#include "collapse/model/safetensors_header.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "collapse/util/error.h"

namespace collapse {
using nlohmann::json;

const std::vector<SafetensorsDtype>& safetensors_dtypes() {
  static const std::vector<SafetensorsDtype> dtypes = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
                                                       {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
  return dtypes;
}

SafetensorsHeader parse_safetensors_header(const char* bytes, std::size_t size, const std::filesystem::path& file) {
  auto bad = [&](const std::string& why) { fail("{}: not a valid safetensors file ({})", file.string(), why); };
  if (size < 8) bad("shorter than its length prefix");
  std::uint64_t length;
  std::memcpy(&length, bytes, 8);
  if (length > size - 8) bad("header length runs past the end of the file");
  json header;
  try {
    header = json::parse(std::string_view(bytes + 8, length));
  } catch (const json::exception& e) {
    bad(e.what());
  }
  if (!header.is_object()) bad("the header is not a JSON object");
  SafetensorsHeader out;
  out.data_start = 8 + length;
  const std::uint64_t data_bytes = size - out.data_start;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    SafetensorsEntry e;
    e.name = name;
    std::vector<std::uint64_t> offsets;
    try {
      e.dtype = info.at("dtype").get<std::string>();
      e.shape = info.at("shape").get<std::vector<std::int64_t>>();
      offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
    } catch (const json::exception& x) {
      bad("tensor '" + name + "': " + x.what());
    }
    const auto& dtypes = safetensors_dtypes();
    const auto dtype = std::find_if(dtypes.begin(), dtypes.end(), [&](const SafetensorsDtype& d) { return e.dtype == d.name; });
    if (dtype == dtypes.end()) fail("{}: unsupported safetensors dtype '{}'", file.string(), e.dtype);
    if (offsets.size() != 2 || offsets[1] < offsets[0] || offsets[1] > data_bytes) {
      bad("tensor '" + name + "' lies outside the file");
    }
    std::uint64_t numel = 1;
    for (const std::int64_t d : e.shape) {
      if (d < 0) bad("tensor '" + name + "' has a negative dimension");
      if (d > 0 && numel > size / static_cast<std::uint64_t>(d)) bad("tensor '" + name + "' is larger than the file");
      numel *= static_cast<std::uint64_t>(d);
    }
    if (numel * static_cast<std::uint64_t>(dtype->bytes) != offsets[1] - offsets[0]) {
      bad("tensor '" + name + "' has a size that does not match its shape");
    }
    e.begin = offsets[0];
    e.end = offsets[1];
    out.entries.push_back(std::move(e));
  }
  // The header is a JSON object (unordered): entries in file order.
  std::sort(out.entries.begin(), out.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  // As the format requires (and its reference reader checks): the tensors tile the data region,
  // no two share a byte and none is left out, so a forged header cannot alias one tensor's bytes
  // as another's.
  std::uint64_t covered = 0;
  for (const SafetensorsEntry& e : out.entries) {
    if (e.begin != covered) {
      bad(fmt::format("tensor '{}' starts at byte {} of the data, {} than the tensor before it ends ({})", e.name,
                      e.begin, e.begin < covered ? "earlier" : "later", covered));
    }
    covered = e.end;
  }
  if (covered != data_bytes) bad(fmt::format("the tensors cover {} bytes of a {}-byte data region", covered, data_bytes));
  return out;
}

}  // namespace collapse
