// PluginRegistry: turns configuration records into running model instances.
// Loads each plugin library once per file version (a private copy under the
// runtime folder, so a replaced .so is really reloaded), shares it between the
// instances made from it, and creates instances through the plugin's create().
//
// Called by the reload path (host/core) only, one reload at a time; the
// instances it returns are then used from scheduler threads. Errors are
// PluginLoadError with a message naming the plugin/model and the file.
#pragma once

#include "host/common/device_name.h"
#include "host/config/model_config.h"
#include "host/plugins/loaded_plugin.h"
#include "host/plugins/plugin_model_instance.h"

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace citadel::metrics {
class Registry;
}

namespace citadel::plugins {

// A library that is open now, for `status` and tests.
struct LoadedPluginInfo {
  std::string name;
  std::string version;       // as the library reports it
  std::string library;       // the manifest's path
  std::string copy_path;     // the private copy that is open
  std::string fingerprint;
  long use_count = 0;        // instances (and registry users) holding it
};

class PluginRegistry {
 public:
  // Copies go to <runtime_dir>/plugin-copies/<pid>/. Folders there left by
  // processes that no longer exist are removed. `metrics` may be null.
  PluginRegistry(std::filesystem::path runtime_dir, metrics::Registry* metrics);
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // The open library for this manifest: the one already open when the file
  // is unchanged (same path and fingerprint), else a fresh copy. Throws
  // PluginLoadError.
  std::shared_ptr<LoadedPlugin> load(const config::PluginManifest& manifest);

  // Loads the plugin (as load()) and creates one instance bound to `device`.
  // Throws PluginLoadError.
  std::shared_ptr<PluginModelInstance> create_instance(const config::ModelConfig& model,
                                                       const config::PluginManifest& manifest,
                                                       const common::DeviceName& device,
                                                       uint64_t generation);

  // True when `plugin` is the version of its manifest's file that load()
  // would return now (same path and fingerprint).
  static bool is_current(const LoadedPlugin& plugin, const config::PluginManifest& manifest);

  std::vector<LoadedPluginInfo> loaded() const;
  const std::filesystem::path& copies_dir() const { return copies_dir_; }

 private:
  std::filesystem::path copies_dir_;
  metrics::Registry* metrics_;
  mutable std::mutex mutex_;
  std::map<std::string, std::weak_ptr<LoadedPlugin>> open_;  // by plugin name
  uint64_t next_copy_ = 1;
};

}  // namespace citadel::plugins
