#include "host/config/config_diff.h"

namespace citadel::config {
namespace {

// Keys of citadel.yaml that the running host cannot apply without a restart.
std::vector<std::string> restart_only_changes(const HostConfig& before, const HostConfig& after) {
  std::vector<std::string> keys;
  if (before.admin.socket != after.admin.socket) keys.push_back("admin.socket");
  if (before.admin.mode != after.admin.mode) keys.push_back("admin.mode");
  if (before.admin.allowed_uids != after.admin.allowed_uids) keys.push_back("admin.allowed_uids");
  if (before.admin.allowed_gids != after.admin.allowed_gids) keys.push_back("admin.allowed_gids");
  if (before.admin.max_line_bytes != after.admin.max_line_bytes) keys.push_back("admin.max_line_bytes");
  // Every http setting but api_keys (which a reload applies) is read once,
  // when the server starts.
  const HttpSettings& was = before.http;
  const HttpSettings& now = after.http;
  if (was.listen != now.listen) keys.push_back("http.listen");
  if (was.max_body_bytes != now.max_body_bytes) keys.push_back("http.max_body_bytes");
  if (was.max_header_bytes != now.max_header_bytes) keys.push_back("http.max_header_bytes");
  if (was.max_tokens_limit != now.max_tokens_limit) keys.push_back("http.max_tokens_limit");
  if (was.max_connections != now.max_connections) keys.push_back("http.max_connections");
  if (was.idle_timeout_s != now.idle_timeout_s) keys.push_back("http.idle_timeout_s");
  if (was.header_timeout_s != now.header_timeout_s) keys.push_back("http.header_timeout_s");
  if (was.body_timeout_s != now.body_timeout_s) keys.push_back("http.body_timeout_s");
  if (was.max_requests_per_connection != now.max_requests_per_connection)
    keys.push_back("http.max_requests_per_connection");
  if (before.devices != after.devices) keys.push_back("devices");
  if (before.runtime_dir != after.runtime_dir) keys.push_back("runtime_dir");
  if (before.gpu_memory_utilization != after.gpu_memory_utilization) keys.push_back("gpu_memory_utilization");
  if (before.swap_space_gb != after.swap_space_gb) keys.push_back("swap_space_gb");
  if (before.cpu_cache_mb != after.cpu_cache_mb) keys.push_back("cpu_cache_mb");
  return keys;
}

const PluginManifest* find_plugin(const Configuration& configuration, const std::string& name) {
  auto found = configuration.plugins.find(name);
  return found == configuration.plugins.end() ? nullptr : &found->second;
}

bool same_plugin(const PluginManifest* before, const PluginManifest* after) {
  if (before == nullptr || after == nullptr) return before == after;
  return *before == *after;
}

}  // namespace

ConfigDiff diff(const Configuration& before, const Configuration& after) {
  ConfigDiff result;
  for (const auto& [name, model] : after.models) {
    auto old = before.models.find(name);
    if (old == before.models.end()) {
      result.added.push_back(name);
    } else if (!(old->second == model) ||
               !same_plugin(find_plugin(before, model.plugin), find_plugin(after, model.plugin))) {
      result.changed.push_back(name);
    } else {
      result.unchanged.push_back(name);
    }
  }
  for (const auto& [name, model] : before.models) {
    if (after.models.count(name) == 0) result.removed.push_back(name);
  }
  for (const auto& [name, manifest] : after.plugins) {
    const PluginManifest* old = find_plugin(before, name);
    if (old != nullptr && !(*old == manifest)) result.plugins_changed.push_back(name);
  }
  result.host_changed = !(before.host == after.host);
  result.host_changes_needing_restart = restart_only_changes(before.host, after.host);
  return result;
}

}  // namespace citadel::config
