#include "host/config/plugin_manifest_reader.h"

#include <filesystem>

#include "host/config/file_fingerprint.h"
#include "host/config/settings_readers.h"
#include "host/config/yaml_map_reader.h"
#include "host/config/yaml_scalar.h"

namespace citadel::config {
namespace {

void read_defaults(const YamlMapReader& defaults, PluginManifest& manifest) {
  const std::optional<YamlMapReader> cache = defaults.read_map("cache", kCacheKeys);
  if (cache) read_cache_settings(*cache, manifest.cache_defaults);
  check_cache_settings(defaults, cache, manifest.cache_defaults);
  if (const YAML::Node* options = defaults.find("options")) {
    if (!options->IsMap() && !options->IsNull()) {
      defaults.report("options", "must be a mapping of plugin options (got " + describe_value(*options) + ")");
    } else if (options->IsMap()) {
      boost::json::value json =
          yaml_to_json(*options, defaults.sink().file, defaults.field("options"), *defaults.sink().problems);
      manifest.default_options_json = boost::json::serialize(json);
    }
  }
}

void check_library(const YamlMapReader& root, PluginManifest& manifest) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(manifest.library, error)) {
    const std::string how = root.has("library") ? "" : " (the default: <name>.so beside the manifest)";
    root.sink().report(root.line("library"), "library",
                       "library file not found: " + manifest.library + how);
    return;
  }
  try {
    manifest.library_fingerprint = file_fingerprint(manifest.library);
  } catch (const std::exception& failure) {
    root.sink().report(root.line("library"), "library", failure.what());
  }
}

}  // namespace

PluginManifest read_plugin_manifest(const YAML::Node& root_node, const std::string& file,
                                    std::vector<ConfigProblem>& problems) {
  PluginManifest manifest;
  manifest.source_file = file;
  const std::filesystem::path folder = std::filesystem::path(file).parent_path();
  manifest.name = folder.filename().string();
  manifest.default_options_json = "{}";

  const ProblemSink sink{file, &problems};
  const YamlMapReader root(sink, root_node, "", 1,
                           {"name", "version", "library", "description", "defaults"});
  if (!root.valid()) return manifest;

  std::string name;
  if (root.read_string("name", name) && name != manifest.name) {
    root.report("name", "must match the plugin's folder name \"" + manifest.name + "\" (got \"" + name + "\")");
  }
  root.read_string("version", manifest.version);
  root.read_string("description", manifest.description);
  manifest.library = resolve_path(folder.string(), manifest.name + ".so");
  root.read_path("library", folder.string(), manifest.library);
  if (auto defaults = root.read_map("defaults", {"cache", "options"})) read_defaults(*defaults, manifest);
  check_library(root, manifest);
  return manifest;
}

}  // namespace citadel::config
