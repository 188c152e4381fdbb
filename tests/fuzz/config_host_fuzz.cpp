// Fuzz target: citadel.yaml. The input replaces the host configuration of a
// valid tree (config_tree.hpp), which is then loaded as at start-up and on
// reload. Must end in a configuration or a ConfigError naming the file.
#include "config_tree.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const citadel::fuzz::ConfigTree tree;
  tree.load_with(tree.host_file(), citadel::fuzz::as_text(data, size));
  return 0;
}
