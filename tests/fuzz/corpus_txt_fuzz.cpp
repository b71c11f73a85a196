// A .txt corpus (documents separated by blank lines, UTF-8 checked), as `prepare --corpus`
// reads it.
#include "collapse/data/corpus.h"
#include "collapse/util/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    collapse::read_txt_corpus(collapse::fuzz::as_file(data, size, "input.txt"));
  } catch (const collapse::Error&) {
  }
  return 0;
}
