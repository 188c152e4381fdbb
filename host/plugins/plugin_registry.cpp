#include "host/plugins/plugin_registry.h"

#include "host/plugins/plugin_load_error.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <unistd.h>

namespace citadel::plugins {
namespace {

// Removes <copies_root>/<pid> folders of processes that are gone.
void remove_stale_copies(const std::filesystem::path& copies_root) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(copies_root, error)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    const long pid = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0' || pid <= 0 || pid == getpid()) continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // still alive
    std::error_code ignored;
    std::filesystem::remove_all(entry.path(), ignored);
    spdlog::info("removed stale plugin copies of process {} in {}", pid, entry.path().string());
  }
}

// A file name that is safe and unique per load: "<plugin>-<n>.so".
std::string copy_file_name(const std::string& plugin, uint64_t number) {
  std::string safe;
  for (char c : plugin) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    safe.push_back(ok ? c : '_');
  }
  return safe + "-" + std::to_string(number) + ".so";
}

}  // namespace

PluginRegistry::PluginRegistry(std::filesystem::path runtime_dir, metrics::Registry* metrics)
    : metrics_(metrics) {
  const std::filesystem::path root = runtime_dir / "plugin-copies";
  std::error_code error;
  std::filesystem::create_directories(root, error);
  if (error) {
    throw PluginLoadError("cannot create the plugin copy folder " + root.string() + ": " +
                          error.message());
  }
  remove_stale_copies(root);
  copies_dir_ = root / std::to_string(getpid());
  std::filesystem::create_directories(copies_dir_, error);
  if (error) {
    throw PluginLoadError("cannot create the plugin copy folder " + copies_dir_.string() + ": " +
                          error.message());
  }
}

PluginRegistry::~PluginRegistry() {
  // Instances may still hold libraries; each deletes its own copy when closed.
  // The folder goes when it is empty.
  std::error_code error;
  std::filesystem::remove(copies_dir_, error);
}

bool PluginRegistry::is_current(const LoadedPlugin& plugin, const config::PluginManifest& manifest) {
  const std::string fingerprint = manifest.library_fingerprint.empty()
                                      ? file_fingerprint(manifest.library)
                                      : manifest.library_fingerprint;
  return plugin.manifest().library == manifest.library && plugin.fingerprint() == fingerprint &&
         !fingerprint.empty();
}

std::shared_ptr<LoadedPlugin> PluginRegistry::load(const config::PluginManifest& manifest) {
  std::lock_guard lock(mutex_);
  auto found = open_.find(manifest.name);
  if (found != open_.end()) {
    if (std::shared_ptr<LoadedPlugin> plugin = found->second.lock();
        plugin && is_current(*plugin, manifest)) {
      return plugin;
    }
  }
  const std::filesystem::path copy = copies_dir_ / copy_file_name(manifest.name, next_copy_++);
  auto plugin = std::make_shared<LoadedPlugin>(manifest, copy, host_api());
  open_[manifest.name] = plugin;
  return plugin;
}

std::shared_ptr<PluginModelInstance> PluginRegistry::create_instance(
    const config::ModelConfig& model, const config::PluginManifest& manifest,
    const common::DeviceName& device, uint64_t generation) {
  std::shared_ptr<LoadedPlugin> plugin = load(manifest);
  std::unique_ptr<HostContext> context;
  try {
    context = std::make_unique<HostContext>(model.name, device, metrics_);
  } catch (const std::exception& e) {
    throw PluginLoadError("model " + model.name + " (" + model.source_file + "): " + e.what());
  }
  return std::make_shared<PluginModelInstance>(std::move(plugin), model, std::move(context),
                                               generation);
}

std::vector<LoadedPluginInfo> PluginRegistry::loaded() const {
  std::lock_guard lock(mutex_);
  std::vector<LoadedPluginInfo> result;
  for (const auto& [name, weak] : open_) {
    std::shared_ptr<LoadedPlugin> plugin = weak.lock();
    if (!plugin) continue;
    result.push_back(LoadedPluginInfo{plugin->name(), plugin->reported_version(),
                                      plugin->manifest().library, plugin->copy_path().string(),
                                      plugin->fingerprint(), plugin.use_count() - 1});
  }
  return result;
}

}  // namespace citadel::plugins
