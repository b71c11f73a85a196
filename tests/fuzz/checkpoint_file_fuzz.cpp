// The file around a checkpoint's LibTorch archive (checkpoint_file.h): header, length and
// SHA-256, checked before torch's own reader (which we neither fix nor fuzz) sees a byte. An
// archive that passes is exactly the bytes after the header.
#include "collapse/model/checkpoint_file.h"
#include "collapse/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const std::string_view archive = collapse::checkpoint_archive(bytes, "input.ckpt");
    if (archive.size() + collapse::kCheckpointHeaderBytes != size) __builtin_trap();
    if (collapse::checkpoint_file_bytes(archive) != bytes) __builtin_trap();  // reading inverts writing
  } catch (const collapse::Error&) {
  }
  // Whatever the bytes, the file written around them reads back as them.
  const std::string wrapped = collapse::checkpoint_file_bytes(bytes);
  if (collapse::checkpoint_archive(wrapped, "wrapped.ckpt") != bytes) __builtin_trap();
  return 0;
}
