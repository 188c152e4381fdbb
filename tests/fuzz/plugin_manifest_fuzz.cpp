// Fuzz target: a plugin manifest (plugins/<name>/plugin.yaml). The input
// replaces the manifest of a valid tree (config_tree.hpp) whose model uses
// that plugin, then the tree is loaded as at start-up and on reload. Must end
// in a configuration or a ConfigError naming the file.
#include "config_tree.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const citadel::fuzz::ConfigTree tree;
  tree.load_with(tree.manifest_file(), citadel::fuzz::as_text(data, size));
  return 0;
}
