#include "host/plugins/plugin_identity.h"

#include "host/config/file_fingerprint.h"
#include "host/plugins/host_context.h"
#include "host/plugins/loaded_plugin.h"
#include "host/plugins/plugin_load_error.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>

#include <unistd.h>

namespace citadel::plugins {
namespace {

struct KnownIdentity {
  std::string fingerprint;
  config::PluginIdentity identity;
};

std::mutex known_mutex;
std::map<std::string, KnownIdentity> known;  // by library path

}  // namespace

config::PluginIdentity read_plugin_identity(const std::string& library, const std::string& runtime_dir) {
  std::string fingerprint;
  try {
    fingerprint = config::file_fingerprint(library);
  } catch (const std::exception& e) {
    throw PluginLoadError(e.what());
  }
  {
    std::lock_guard lock(known_mutex);
    auto found = known.find(library);
    if (found != known.end() && found->second.fingerprint == fingerprint) return found->second.identity;
  }
  static std::atomic<uint64_t> next_probe{1};
  const std::filesystem::path copy = std::filesystem::path(runtime_dir) / "plugin-probes" /
                                     (std::to_string(getpid()) + "-" + std::to_string(next_probe++) + ".so");
  config::PluginManifest manifest;
  manifest.name = std::filesystem::path(library).stem().string();
  manifest.library = library;
  manifest.source_file = library;
  manifest.library_fingerprint = fingerprint;
  config::PluginIdentity identity;
  {
    const LoadedPlugin plugin(manifest, copy, host_api());  // closed and deleted at scope end
    identity.name = plugin.reported_name();
    identity.version = plugin.reported_version();
  }
  std::lock_guard lock(known_mutex);
  known[library] = KnownIdentity{fingerprint, identity};
  return identity;
}

config::PluginIdentityReader plugin_identity_reader() { return &read_plugin_identity; }

}  // namespace citadel::plugins
