// LoadedPlugin: one opened plugin library — a private copy of the manifest's
// .so under the runtime folder (dlopen caches by path, so a replaced file
// must be opened under a new name), its entry function called and its ABI
// checked.
//
// Created by PluginRegistry; shared (shared_ptr) by every ModelInstance made
// from it. The library is closed and the copy deleted when the last owner
// lets go, which happens after every instance's destroy().
#pragma once

#include <citadel/plugin.h>

#include "host/config/model_config.h"

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <string>

namespace citadel::plugins {

class LoadedPlugin {
 public:
  // Copies manifest.library to `copy_path`, loads it and checks it. Throws
  // PluginLoadError naming the plugin and the file; nothing is left behind.
  LoadedPlugin(const config::PluginManifest& manifest, const std::filesystem::path& copy_path,
               const citadel_host_api* host_api);
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const std::string& name() const { return manifest_.name; }  // the manifest's name
  const config::PluginManifest& manifest() const { return manifest_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::filesystem::path& copy_path() const { return copy_path_; }
  // What the library says about itself.
  std::string reported_name() const { return api_->plugin_name ? api_->plugin_name : ""; }
  std::string reported_version() const { return api_->plugin_version ? api_->plugin_version : ""; }
  const citadel_plugin_api& api() const { return *api_; }

 private:
  config::PluginManifest manifest_;
  std::string fingerprint_;
  std::filesystem::path copy_path_;
  boost::dll::shared_library library_;
  const citadel_plugin_api* api_ = nullptr;
};

// "<size>-<mtime_ns>" of a file, for manifests that carry no fingerprint.
// Empty when the file cannot be read.
std::string file_fingerprint(const std::filesystem::path& path);

}  // namespace citadel::plugins
