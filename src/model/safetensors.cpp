#include "collapse/model/safetensors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct DtypeName {
  c10::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {{at::kFloat, "F32"},   {at::kHalf, "F16"}, {at::kBFloat16, "BF16"},
                                 {at::kDouble, "F64"},  {at::kLong, "I64"}, {at::kInt, "I32"},
                                 {at::kShort, "I16"},   {at::kChar, "I8"},  {at::kByte, "U8"},
                                 {at::kBool, "BOOL"}};

const char* dtype_name(c10::ScalarType t) {
  for (const auto& d : kDtypes) {
    if (d.type == t) return d.name;
  }
  fail("safetensors: unsupported tensor dtype {}", c10::toString(t));
}

c10::ScalarType dtype_of(const std::string& name, const fs::path& file) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return d.type;
  }
  fail("{}: unsupported safetensors dtype '{}'", file.string(), name);
}

}  // namespace

void write_safetensors(const fs::path& file, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> cpu;
  std::size_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const std::size_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    cpu.push_back(std::move(t));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t length = text.size();  // x86-64 and aarch64 are little-endian

  write_atomic_with(file, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : cpu) {
      out.write(static_cast<const char*>(t.data_ptr()),
                static_cast<std::streamsize>(t.numel() * t.element_size()));
    }
    out.flush();
    if (!out) fail("cannot write {} (disk full?)", file.string());
  });
}

NamedTensors read_safetensors(const fs::path& file) {
  const std::string bytes = read_file(file);
  auto bad = [&](const std::string& why) { fail("{}: not a valid safetensors file ({})", file.string(), why); };
  if (bytes.size() < 8) bad("shorter than its length prefix");
  std::uint64_t length;
  std::memcpy(&length, bytes.data(), 8);
  if (length > bytes.size() - 8) bad("header length runs past the end of the file");
  json header;
  try {
    header = json::parse(bytes.substr(8, length));
  } catch (const json::parse_error& e) {
    bad(e.what());
  }
  const std::size_t data_start = 8 + length;
  NamedTensors out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      const c10::ScalarType type = dtype_of(info.at("dtype").get<std::string>(), file);
      const auto shape = info.at("shape").get<std::vector<std::int64_t>>();
      const auto offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offsets.size() != 2 || offsets[1] < offsets[0] || data_start + offsets[1] > bytes.size()) {
        bad("tensor '" + name + "' lies outside the file");
      }
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
      if (static_cast<std::uint64_t>(t.numel() * t.element_size()) != offsets[1] - offsets[0]) {
        bad("tensor '" + name + "' has a size that does not match its shape");
      }
      std::memcpy(t.data_ptr(), bytes.data() + data_start + offsets[0], offsets[1] - offsets[0]);
      out.emplace_back(name, std::move(t));
    } catch (const json::exception& e) {
      bad("tensor '" + name + "': " + e.what());
    }
  }
  // The header is a JSON object (unordered): return tensors in file order.
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return header[a.first]["data_offsets"][0].template get<std::uint64_t>() <
           header[b.first]["data_offsets"][0].template get<std::uint64_t>();
  });
  return out;
}

}  // namespace collapse
