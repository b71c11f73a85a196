// A samples folder's provenance.json (samples_file.h), beside well-formed token files of three
// documents and two prompts: the folder `collapse generate` writes and every later step reads.
// Every document of a folder that is accepted names one of its prompts.
#include "collapse/data/token_store.h"
#include "collapse/generate/samples_file.h"
#include "collapse/util/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path provenance = collapse::fuzz::as_file(data, size, "samples/provenance.json");
  const std::filesystem::path dir = provenance.parent_path();
  static const bool written = [&] {
    collapse::write_token_file(dir / "samples.tok", {{5, 6, 7}, {8}, {}}, 16);
    collapse::write_token_file(dir / "prompts.tok", {{1, 2}, {3}}, 16);
    return true;
  }();
  (void)written;
  try {
    const collapse::Samples s = collapse::read_samples(dir);
    if (s.documents.size() != 3 || s.prompts.size() != 2) __builtin_trap();
    for (const auto& d : s.documents) {
      if (d.prompt_id < 0 || static_cast<std::size_t>(d.prompt_id) >= s.prompts.size()) __builtin_trap();
    }
  } catch (const collapse::Error&) {
  }
  return 0;
}
