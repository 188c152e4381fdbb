#include "host/config/plugin_discovery.h"

#include <algorithm>
#include <filesystem>

#include "host/config/file_fingerprint.h"
#include "host/config/plugin_manifest_reader.h"
#include "host/config/yaml_file.h"

namespace citadel::config {
namespace {

namespace fs = std::filesystem;

// Letters, digits, '.', '_', '-': a plugin name models.d can refer to.
bool is_valid_plugin_name(const std::string& name) {
  return !name.empty() && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

DiscoveredPlugin read_folder(const fs::path& manifest_path) {
  DiscoveredPlugin result;
  if (std::optional<YAML::Node> root = load_yaml_file(manifest_path.string(), result.problems)) {
    result.manifest = read_plugin_manifest(*root, manifest_path.string(), result.problems);
  }
  result.manifest.source_file = manifest_path.string();
  std::error_code error;
  result.only_library_missing = result.problems.size() == 1 && result.problems.front().field == "library" &&
                                !result.manifest.library.empty() &&
                                !fs::is_regular_file(result.manifest.library, error);
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.where.line < b.where.line; });
  return result;
}

// A bare library: manifest from its identity, no defaults. Returns the name
// it goes by (the reported one, else the file's stem).
std::string read_bare(const fs::path& library, const HostConfig& host,
                      const PluginIdentityReader& read_identity, DiscoveredPlugin& result,
                      std::vector<std::string>& warnings) {
  const std::string file = library.lexically_normal().string();
  const std::string stem = library.stem().string();
  PluginManifest& manifest = result.manifest;
  manifest.name = stem;
  manifest.library = file;
  manifest.source_file = file;
  manifest.default_options_json = "{}";
  manifest.description = "bare plugin library";
  try {
    manifest.library_fingerprint = file_fingerprint(file);
    const PluginIdentity identity = read_identity(file, host.runtime_dir);
    if (!is_valid_plugin_name(identity.name)) {
      result.problems.push_back(ConfigProblem{SourceLocation{file, 0}, "plugin_name",
                                 "the library reports the plugin name \"" + identity.name +
                                     "\"; a bare plugin needs one of letters, digits, '.', '_', '-'"});
      return stem;
    }
    manifest.name = identity.name;
    manifest.version = identity.version;
  } catch (const std::exception& failure) {
    result.problems.push_back(ConfigProblem{SourceLocation{file, 0}, "library", failure.what()});
    return stem;
  }
  if (manifest.name != stem) {
    warnings.push_back(file + ": the library reports the plugin name \"" + manifest.name +
                       "\"; models.d files name it so, not \"" + stem + "\"");
  }
  return manifest.name;
}

// Where a discovered plugin comes from, for messages.
const std::string& origin(const DiscoveredPlugin& plugin) { return plugin.manifest.source_file; }

}  // namespace

std::map<std::string, DiscoveredPlugin> discover_plugins(const HostConfig& host,
                                                         const PluginIdentityReader& read_identity,
                                                         std::vector<std::string>& warnings) {
  std::map<std::string, DiscoveredPlugin> found;
  std::vector<fs::path> folders, bare;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(host.plugins_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.') continue;
    if (entry.is_directory(error)) {
      if (fs::exists(entry.path() / "plugin.yaml", error)) folders.push_back(entry.path());
    } else if (entry.path().extension() == ".so" && entry.is_regular_file(error)) {
      bare.push_back(entry.path());
    }
  }
  std::sort(folders.begin(), folders.end());
  std::sort(bare.begin(), bare.end());
  for (const fs::path& folder : folders) {
    found[folder.filename().string()] = read_folder(folder / "plugin.yaml");
  }
  for (const fs::path& library : bare) {
    if (!read_identity) {
      warnings.push_back(library.string() + ": bare plugin library not read (no identity reader); ignored");
      continue;
    }
    DiscoveredPlugin plugin;
    const std::string name = read_bare(library, host, read_identity, plugin, warnings);
    auto [it, inserted] = found.emplace(name, plugin);
    if (!inserted) {
      const std::string message = "two plugins named \"" + name + "\": " + origin(it->second) +
                                  " and " + origin(plugin) + "; remove one";
      it->second.problems.push_back(ConfigProblem{SourceLocation{origin(plugin), 0}, "plugin", message});
    }
  }
  return found;
}

}  // namespace citadel::config
