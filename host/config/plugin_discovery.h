// Finds the plugins in plugins_dir, in both forms an operator may drop there:
//   <plugins_dir>/<name>/plugin.yaml   a folder with a manifest (and its .so),
//                                      for plugins that ship defaults/options;
//   <plugins_dir>/<file>.so            a bare library: its name and version are
//                                      what its entry table reports
//                                      (plugin_name / plugin_version), read by
//                                      a PluginIdentityReader.
// Called by config_loader at every start and reload.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "host/config/config_error.h"
#include "host/config/model_config.h"

namespace citadel::config {

// What a bare plugin library says about itself.
struct PluginIdentity {
  std::string name;
  std::string version;
};

// Reads a bare library's identity (host/plugins loads a private copy of it:
// plugins::plugin_identity_reader()). Throws std::runtime_error saying why
// the file is not a usable plugin. `runtime_dir` is the host's.
using PluginIdentityReader =
    std::function<PluginIdentity(const std::string& library, const std::string& runtime_dir)>;

// One discovered plugin: its manifest, or the problems that keep it from
// being used (reported as errors only if a model names it).
struct DiscoveredPlugin {
  PluginManifest manifest;
  std::vector<ConfigProblem> problems;
  // The manifest is sound and its only problem is that the library file is
  // not there: a plugin whose sources were not built (scripts/run.sh builds
  // only the default model's). Not worth a warning while no model uses it.
  bool only_library_missing = false;
};

// Every plugin in host.plugins_dir by name. Bare libraries are skipped, with a
// warning, when `read_identity` is empty. A bare library whose identity
// cannot be read is listed under its file's stem with the reason as its
// problem; two plugins with one name are a problem of both. Notes that stop
// nothing (a bare file named unlike the plugin it holds) go to `warnings`.
std::map<std::string, DiscoveredPlugin> discover_plugins(const HostConfig& host,
                                                         const PluginIdentityReader& read_identity,
                                                         std::vector<std::string>& warnings);

}  // namespace citadel::config
