// PluginLoadError: a plugin library or instance could not be brought up —
// unloadable file, missing entry symbol, wrong ABI, failing create/describe.
// The message names the plugin, the file and what went wrong.
//
// Thrown by PluginRegistry and LoadedPlugin; caught by the reload path
// (host/core), which keeps the running configuration and reports it.
#pragma once

#include <stdexcept>
#include <string>

namespace citadel::plugins {

class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace citadel::plugins
