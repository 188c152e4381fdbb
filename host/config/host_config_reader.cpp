#include "host/config/host_config_reader.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <regex>

#include "host/config/device_list_reader.h"
#include "host/config/http_settings_reader.h"
#include "host/config/video_settings_reader.h"
#include "host/config/yaml_map_reader.h"
#include "host/config/yaml_scalar.h"

namespace citadel::config {
namespace {

constexpr double kNoMaximum = std::numeric_limits<double>::infinity();

// "0600", 0600, 600 or 0o600: octal permission bits.
void read_mode(const YamlMapReader& admin, uint32_t& mode) {
  const YAML::Node* value = admin.find("mode");
  if (value == nullptr) return;
  std::string text = value->IsScalar() ? value->Scalar() : "";
  if (text.rfind("0o", 0) == 0) text.erase(0, 2);
  static const std::regex octal("[0-7]{1,4}");
  if (!std::regex_match(text, octal) || std::stoul(text, nullptr, 8) > 0777) {
    admin.report("mode", "must be octal permission bits like \"0600\" (got " + describe_value(*value) + ")");
    return;
  }
  mode = static_cast<uint32_t>(std::stoul(text, nullptr, 8));
}

// A list of numeric ids or user/group names.
void read_id_list(const YamlMapReader& admin, const std::string& key, bool groups,
                  std::vector<uint32_t>& out) {
  const YAML::Node* value = admin.find(key);
  if (value == nullptr || value->IsNull()) return;
  if (!value->IsSequence()) {
    admin.report(key, "must be a list of " + std::string(groups ? "group" : "user") +
                          " ids or names (got " + describe_value(*value) + ")");
    return;
  }
  int index = 0;
  for (const YAML::Node& item : *value) {
    const std::string field = admin.field(key) + "[" + std::to_string(index++) + "]";
    const ResolvedScalar scalar = item.IsScalar() ? resolve_scalar(item) : ResolvedScalar{};
    if (scalar.type == ScalarType::integer && scalar.integer >= 0 &&
        scalar.integer <= std::numeric_limits<uint32_t>::max()) {
      out.push_back(static_cast<uint32_t>(scalar.integer));
      continue;
    }
    if (scalar.type == ScalarType::string && !scalar.text.empty()) {
      std::vector<char> buffer(16384);
      if (groups) {
        group entry{};
        group* found = nullptr;
        if (::getgrnam_r(scalar.text.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
          out.push_back(found->gr_gid);
          continue;
        }
      } else {
        passwd entry{};
        passwd* found = nullptr;
        if (::getpwnam_r(scalar.text.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
          out.push_back(found->pw_uid);
          continue;
        }
      }
      admin.sink().report(line_of(item), field, std::string("no such ") + (groups ? "group" : "user") +
                                                    " (got " + describe_value(item) + ")");
      continue;
    }
    admin.sink().report(line_of(item), field, std::string("must be a ") + (groups ? "group" : "user") +
                                                  " id or name (got " + describe_value(item) + ")");
  }
}

void read_admin(const YamlMapReader& admin, const std::string& base_dir, AdminSettings& out) {
  admin.read_path("socket", base_dir, out.socket);
  read_mode(admin, out.mode);
  read_id_list(admin, "allowed_uids", false, out.allowed_uids);
  read_id_list(admin, "allowed_gids", true, out.allowed_gids);
  admin.read_unsigned("max_line_bytes", out.max_line_bytes, 64, 1u << 30);
}

}  // namespace

std::string default_runtime_dir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg != nullptr && *xdg == '/') {
    return (std::filesystem::path(xdg) / ("citadel-" + std::to_string(::getpid()))).string();
  }
  return "/tmp/citadel-" + std::to_string(::getuid()) + "-" + std::to_string(::getpid());
}

HostConfig read_host_config(const YAML::Node& root_node, const std::string& file,
                            std::vector<ConfigProblem>& problems) {
  HostConfig host;
  host.source_file = file;
  const std::string base_dir = std::filesystem::path(file).parent_path().string();
  host.admin.socket = "/run/citadel/citadel.sock";
  host.plugins_dir = resolve_path(base_dir, "plugins");
  host.models_dir = resolve_path(base_dir, "models.d");
  host.runtime_dir = default_runtime_dir();

  const ProblemSink sink{file, &problems};
  if (root_node.IsNull()) return host;  // an empty file: all defaults
  const YamlMapReader root(sink, root_node, "", 1,
                           {"admin", "plugins_dir", "models_dir", "runtime_dir", "http", "devices",
                            "gpu_memory_utilization", "swap_space_gb", "cpu_cache_mb", "log_level",
                            "watchdog_s", "shutdown_grace_s", "step_stall_s", "videos"});
  if (!root.valid()) return host;

  if (auto admin = root.read_map("admin", {"socket", "mode", "allowed_uids", "allowed_gids",
                                           "max_line_bytes"})) {
    read_admin(*admin, base_dir, host.admin);
  }
  if (auto http = root.read_map("http", kHttpKeys)) read_http_settings(*http, base_dir, host.http);
  if (auto videos = root.read_map("videos", kVideoKeys)) read_video_settings(*videos, base_dir, host.videos);
  root.read_path("plugins_dir", base_dir, host.plugins_dir);
  root.read_path("models_dir", base_dir, host.models_dir);
  root.read_path("runtime_dir", base_dir, host.runtime_dir);
  read_device_list(root, host.devices);
  root.read_number("gpu_memory_utilization", host.gpu_memory_utilization, 0.0, true, 1.0);
  root.read_number("swap_space_gb", host.swap_space_gb, 0.0, false, kNoMaximum);
  root.read_unsigned("cpu_cache_mb", host.cpu_cache_mb, 0, UINT64_MAX);
  root.read_choice("log_level", host.log_level, {"trace", "debug", "info", "warn", "error", "off"});
  root.read_unsigned("watchdog_s", host.watchdog_s, 0, 86400);
  root.read_unsigned("shutdown_grace_s", host.shutdown_grace_s, 0, 86400);
  root.read_unsigned("step_stall_s", host.step_stall_s, 1, 86400);
  return host;
}

}  // namespace citadel::config
