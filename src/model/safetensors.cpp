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

#include "collapse/model/safetensors_header.h"
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
  const SafetensorsHeader header = parse_safetensors_header(bytes, mapping->size, file);
  NamedTensors out;
  out.reserve(header.entries.size());
  for (const SafetensorsEntry& e : header.entries) {
    const c10::ScalarType type = dtype_of(e.dtype, file);
    const std::uint64_t element = c10::elementSize(type);
    void* at_data = const_cast<char*>(bytes) + header.data_start + e.begin;
    const auto options = at::TensorOptions().dtype(type);
    at::Tensor t;
    if (reinterpret_cast<std::uintptr_t>(at_data) % element == 0) {
      // A view of the mapping: nothing is copied until the caller converts or moves it.
      t = at::from_blob(at_data, e.shape, [mapping](void*) {}, options);
    } else {  // a misaligned tensor (packed after an odd-sized one) is copied out
      t = at::empty(e.shape, options);
      std::memcpy(t.data_ptr(), at_data, e.end - e.begin);
    }
    out.emplace_back(e.name, std::move(t));
  }
  return out;
}

}  // namespace collapse
