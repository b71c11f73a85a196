// A model folder's config.json, read as `--init`, `eval --model` and the experiments' pretrained
// models read it (hf_config.h): collapse's own export or a Hugging Face family's keys. A config
// that is accepted is a valid model config, and one its family can write back.
#include "collapse/model/hf_config.h"
#include "collapse/util/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  collapse::ModelConfig config;
  try {
    const std::filesystem::path file = collapse::fuzz::as_file(data, size, "config.json");
    config = collapse::model_config_of(collapse::read_model_json(file), file);
  } catch (const collapse::Error&) {
    return 0;
  }
  try {
    config.validate();
  } catch (const collapse::Error&) {
    __builtin_trap();  // accepted, yet not a model collapse can build
  }
  try {
    (void)collapse::write_hf_config(config);
  } catch (const collapse::Error&) {  // a config its family cannot express: said, not crashed
  }
  return 0;
}
