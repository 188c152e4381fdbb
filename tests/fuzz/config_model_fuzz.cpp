// Fuzz target: one models.d file. The input replaces the model file of a
// valid tree (config_tree.hpp), which is then loaded as at start-up and on
// reload (manifest defaults merged into the model's settings). Must end in a
// configuration or a ConfigError naming the file.
#include "config_tree.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const citadel::fuzz::ConfigTree tree;
  tree.load_with(tree.model_file(), citadel::fuzz::as_text(data, size));
  return 0;
}
