// A synthetic corpus as JSON lines (samples_file.h), as `collapse score` and `collapse show` read
// it. Every document of a file that is accepted names one of its prompts.
#include "collapse/generate/samples_file.h"
#include "collapse/util/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const collapse::Samples s = collapse::read_samples(collapse::fuzz::as_file(data, size, "input.jsonl"));
    for (const auto& d : s.documents) {
      if (d.prompt_id < 0 || static_cast<std::size_t>(d.prompt_id) >= s.prompts.size()) __builtin_trap();
      for (const std::int32_t t : d.tokens) {
        if (t < 0) __builtin_trap();  // ids are never negative, however large the number written
      }
    }
  } catch (const collapse::Error&) {
  }
  return 0;
}
