#include "host/plugins/loaded_plugin.h"

#include "host/plugins/plugin_load_error.h"

#include <boost/dll/shared_library_load_mode.hpp>
#include <spdlog/spdlog.h>

#include <cstddef>

namespace citadel::plugins {
namespace {

// "plugin echo (/path/echo.so)"
std::string describe(const config::PluginManifest& manifest) {
  return "plugin " + manifest.name + " (" + manifest.library + ")";
}

// Fails unless the table is complete for this host.
void check_api(const config::PluginManifest& manifest, const citadel_plugin_api* api) {
  if (api == nullptr) {
    throw PluginLoadError(describe(manifest) + ": " + CITADEL_PLUGIN_ENTRY_SYMBOL +
                          " returned no operation table");
  }
  if (api->abi_major != CITADEL_ABI_VERSION_MAJOR) {
    throw PluginLoadError(describe(manifest) + " speaks ABI " + std::to_string(api->abi_major) +
                          "." + std::to_string(api->abi_minor) + ", host speaks " +
                          std::to_string(CITADEL_ABI_VERSION_MAJOR) + "." +
                          std::to_string(CITADEL_ABI_VERSION_MINOR));
  }
  if (api->struct_size < offsetof(citadel_plugin_api, destroy) + sizeof(api->destroy)) {
    throw PluginLoadError(describe(manifest) + ": operation table is too small (" +
                          std::to_string(api->struct_size) + " bytes)");
  }
  const std::pair<const char*, bool> operations[] = {
      {"create", api->create != nullptr},           {"describe", api->describe != nullptr},
      {"request_open", api->request_open != nullptr}, {"step", api->step != nullptr},
      {"request_close", api->request_close != nullptr}, {"destroy", api->destroy != nullptr}};
  for (const auto& [operation, present] : operations) {
    if (!present) {
      throw PluginLoadError(describe(manifest) + ": operation " + operation + " is missing");
    }
  }
}

}  // namespace

std::string file_fingerprint(const std::filesystem::path& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return {};
  const auto mtime = std::filesystem::last_write_time(path, error);
  if (error) return {};
  return std::to_string(size) + "-" + std::to_string(mtime.time_since_epoch().count());
}

LoadedPlugin::LoadedPlugin(const config::PluginManifest& manifest,
                           const std::filesystem::path& copy_path, const citadel_host_api* host_api)
    : manifest_(manifest), copy_path_(copy_path) {
  fingerprint_ = manifest.library_fingerprint.empty() ? file_fingerprint(manifest.library)
                                                      : manifest.library_fingerprint;
  std::error_code error;
  if (!std::filesystem::is_regular_file(manifest.library, error)) {
    throw PluginLoadError(describe(manifest) + ": library file not found (named by " +
                          manifest.source_file + ")");
  }
  std::filesystem::create_directories(copy_path.parent_path(), error);
  std::filesystem::copy_file(manifest.library, copy_path,
                             std::filesystem::copy_options::overwrite_existing, error);
  if (error) {
    throw PluginLoadError(describe(manifest) + ": cannot copy it to " + copy_path.string() + ": " +
                          error.message());
  }
  try {
    try {
      library_.load(copy_path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
      throw PluginLoadError(describe(manifest) + ": cannot load the library: " + e.what());
    }
    if (!library_.has(CITADEL_PLUGIN_ENTRY_SYMBOL)) {
      throw PluginLoadError(describe(manifest) + ": the library does not export " +
                            CITADEL_PLUGIN_ENTRY_SYMBOL +
                            " (not built with CITADEL_REGISTER_PLUGIN?)");
    }
    auto entry = library_.get<const citadel_plugin_api*(const citadel_host_api*)>(
        CITADEL_PLUGIN_ENTRY_SYMBOL);
    api_ = entry(host_api);
    check_api(manifest, api_);
  } catch (...) {
    api_ = nullptr;
    if (library_.is_loaded()) library_.unload();
    std::filesystem::remove(copy_path, error);
    throw;
  }
  spdlog::info("plugin {} {} loaded from {} (copy {})", manifest_.name, reported_version(),
               manifest_.library, copy_path_.string());
}

LoadedPlugin::~LoadedPlugin() {
  library_.unload();
  std::error_code error;
  std::filesystem::remove(copy_path_, error);
  spdlog::info("plugin {} closed ({})", manifest_.name, copy_path_.string());
}

}  // namespace citadel::plugins
