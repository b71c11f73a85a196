#include "collapse/model/safetensors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

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
    out.close();
    if (!out) fail("cannot write {}: {}", file.string(), std::strerror(errno));
  });
}

namespace {

// A read-only file mapped privately (copy-on-write: a tensor written in place changes only its
// own pages). Unmapped when the last tensor viewing it is freed.
struct Mapping {
  void* data = MAP_FAILED;
  std::size_t size = 0;
  ~Mapping() {
    if (data != MAP_FAILED) {
      forget(this);
      munmap(data, size);
    }
  }

  // The live mappings, so that release_mapped_pages() acts on mapped memory only (never on the
  // heap, where dropping pages would destroy other data).
  static std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
  }
  static std::set<const Mapping*>& registry() {
    static std::set<const Mapping*> live;
    return live;
  }
  static void remember(const Mapping* m) {
    const std::lock_guard<std::mutex> lock(registry_mutex());
    registry().insert(m);
  }
  static void forget(const Mapping* m) {
    const std::lock_guard<std::mutex> lock(registry_mutex());
    registry().erase(m);
  }
};

std::shared_ptr<Mapping> map_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", file.string(), std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    fail("cannot read {}: {}", file.string(), std::strerror(e));
  }
  auto m = std::make_shared<Mapping>();
  m->size = static_cast<std::size_t>(st.st_size);
  if (m->size > 0) {
    m->data = mmap(nullptr, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m->data == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      fail("cannot map {}: {}", file.string(), std::strerror(e));
    }
    Mapping::remember(m.get());
  }
  ::close(fd);
  return m;
}

}  // namespace

void release_mapped_pages(const at::Tensor& view) {
  if (!view.defined() || view.nbytes() == 0) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(view.data_ptr());
  const std::uintptr_t end = begin + view.nbytes();
  const std::lock_guard<std::mutex> lock(Mapping::registry_mutex());
  for (const Mapping* m : Mapping::registry()) {
    const auto first = reinterpret_cast<std::uintptr_t>(m->data);
    if (begin < first || end > first + m->size) continue;
    // Whole pages inside the view only: its neighbours' bytes stay resident.
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const std::uintptr_t from = (begin + page - 1) / page * page, to = end / page * page;
    if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    return;
  }
}

NamedTensors read_safetensors(const fs::path& file) {
  const std::shared_ptr<Mapping> mapping = map_file(file);
  const char* bytes = static_cast<const char*>(mapping->data);
  const std::size_t size = mapping->size;
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
  const std::size_t data_start = 8 + length;
  struct Found {
    std::uint64_t begin, end;
    std::pair<std::string, at::Tensor> tensor;
  };
  std::vector<Found> found;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      const c10::ScalarType type = dtype_of(info.at("dtype").get<std::string>(), file);
      const auto shape = info.at("shape").get<std::vector<std::int64_t>>();
      const auto offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offsets.size() != 2 || offsets[1] < offsets[0] || offsets[1] > size - data_start) {
        bad("tensor '" + name + "' lies outside the file");
      }
      std::uint64_t numel = 1;
      for (const std::int64_t d : shape) {
        if (d < 0) bad("tensor '" + name + "' has a negative dimension");
        if (d > 0 && numel > size / static_cast<std::uint64_t>(d)) bad("tensor '" + name + "' is larger than the file");
        numel *= static_cast<std::uint64_t>(d);
      }
      const std::uint64_t element = c10::elementSize(type);
      if (numel * element != offsets[1] - offsets[0]) {
        bad("tensor '" + name + "' has a size that does not match its shape");
      }
      void* at_data = const_cast<char*>(bytes) + data_start + offsets[0];
      const auto options = at::TensorOptions().dtype(type);
      at::Tensor t;
      if (reinterpret_cast<std::uintptr_t>(at_data) % element == 0) {
        // A view of the mapping: nothing is copied until the caller converts or moves it.
        t = at::from_blob(at_data, shape, [mapping](void*) {}, options);
      } else {  // a misaligned tensor (packed after an odd-sized one) is copied out
        t = at::empty(shape, options);
        std::memcpy(t.data_ptr(), at_data, offsets[1] - offsets[0]);
      }
      found.push_back({offsets[0], offsets[1], {name, std::move(t)}});
    } catch (const json::exception& e) {
      bad("tensor '" + name + "': " + e.what());
    }
  }
  // The header is a JSON object (unordered): return tensors in file order.
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  // As the format requires (and its reference reader checks): the tensors tile the data region,
  // no two share a byte and none is left out, so a forged header cannot alias one tensor's bytes
  // as another's.
  std::uint64_t covered = 0;
  for (const Found& f : found) {
    if (f.begin != covered) {
      bad(fmt::format("tensor '{}' starts at byte {} of the data, {} than the tensor before it ends ({})",
                      f.tensor.first, f.begin, f.begin < covered ? "earlier" : "later", covered));
    }
    covered = f.end;
  }
  if (covered != size - data_start) {
    bad(fmt::format("the tensors cover {} bytes of a {}-byte data region", covered, size - data_start));
  }
  NamedTensors out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.tensor));
  return out;
}

}  // namespace collapse
