// Token files (.tok, docs/formats.md): the header, the index and the ids, as a dataset's splits
// or a samples folder give them. Every document a file that opens is read back in full.
#include "collapse/data/token_store.h"
#include "collapse/util/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const collapse::TokenFile file(collapse::fuzz::as_file(data, size, "input.tok"));
    std::int64_t total = 0;
    for (std::int64_t d = 0; d < file.documents(); ++d) total += static_cast<std::int64_t>(file.document(d).size());
    if (total != file.tokens()) __builtin_trap();  // the index promised what the documents hold
    collapse::document_stream(file, 0, 1);
  } catch (const collapse::Error&) {
  }
  return 0;
}
