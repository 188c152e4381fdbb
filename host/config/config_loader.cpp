#include "host/config/config_loader.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "host/config/device_list_reader.h"
#include "host/config/host_config_reader.h"
#include "host/config/model_file_reader.h"
#include "host/config/plugin_discovery.h"
#include "host/config/yaml_file.h"

namespace citadel::config {
namespace {

namespace fs = std::filesystem;

// Problems of one file, from index `first` on, in line order.
void sort_by_line(std::vector<ConfigProblem>& problems, std::size_t first) {
  std::stable_sort(problems.begin() + static_cast<std::ptrdiff_t>(first), problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.where.line < b.where.line; });
}

// models_dir/*.yaml and *.yml, no dotfiles, sorted.
std::vector<std::string> list_model_files(const HostConfig& host, std::vector<ConfigProblem>& problems) {
  std::vector<std::string> files;
  std::error_code error;
  if (!fs::is_directory(host.models_dir, error)) {
    problems.push_back(ConfigProblem{SourceLocation{host.source_file, 0}, "models_dir", "folder not found: " + host.models_dir});
    return files;
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(host.models_dir, error)) {
    const std::string name = entry.path().filename().string();
    const std::string extension = entry.path().extension().string();
    if (name.empty() || name.front() == '.' || (extension != ".yaml" && extension != ".yml")) continue;
    if (!entry.is_regular_file(error)) continue;
    files.push_back(entry.path().lexically_normal().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A model's `device` must be one the host has: a `devices` entry, the cpu
// (always), or with `devices` empty any cuda:N (every GPU found serves).
void check_model_device(const HostConfig& host, const ModelConfig& model, int line,
                        std::vector<ConfigProblem>& problems) {
  if (model.device == "auto" || model.device == "cpu") return;
  if (host.devices.empty()) {
    if (physical_device_name(model.device).empty()) {
      problems.push_back({{model.source_file, line}, "device",
                          "\"" + model.device + "\" is not a device of this host: " + host.source_file +
                              " lists no devices (every GPU found, and cpu)"});
    }
    return;
  }
  std::string known;
  for (const DeviceSpec& spec : host.devices) {
    if (spec.name == model.device) return;
    known += (known.empty() ? "" : ", ") + spec.name;
  }
  problems.push_back({{model.source_file, line}, "device",
                      "\"" + model.device + "\" is not in the devices of " + host.source_file + " (" + known +
                          ", cpu)"});
}

}  // namespace

Configuration load_configuration(const std::string& host_config_path,
                                 const PluginIdentityReader& read_identity) {
  const std::string host_file = fs::absolute(host_config_path).lexically_normal().string();
  std::vector<ConfigProblem> problems;
  Configuration configuration;

  std::optional<YAML::Node> host_root = load_yaml_file(host_file, problems);
  if (!host_root) throw ConfigError(std::move(problems));
  configuration.host = read_host_config(*host_root, host_file, problems);
  sort_by_line(problems, 0);
  const HostConfig& host = configuration.host;

  std::map<std::string, DiscoveredPlugin> manifests =
      discover_plugins(host, read_identity, configuration.warnings);
  PluginLookup lookup;
  for (const auto& [name, result] : manifests) {
    lookup[name] = result.problems.empty() ? &result.manifest : nullptr;
  }

  std::set<std::string> used_plugins;
  std::map<std::string, std::pair<std::string, int>> first_definition;  // name -> (file, line)
  for (const std::string& file : list_model_files(host, problems)) {
    std::optional<YAML::Node> root = load_yaml_file(file, problems);
    if (!root) continue;
    const std::size_t first_problem = problems.size();
    ModelFileResult result = read_model_file(*root, file, lookup, host.plugins_dir, problems);
    ModelConfig& model = result.model;
    check_model_device(host, model, result.device_line, problems);
    sort_by_line(problems, first_problem);
    if (!model.plugin.empty()) used_plugins.insert(model.plugin);
    auto [first, inserted] = first_definition.emplace(model.name, std::make_pair(file, result.name_line));
    if (!inserted) {
      problems.push_back({{file, result.name_line}, "name",
                          "duplicate model name \"" + model.name + "\" (also defined in " +
                              SourceLocation{first->second.first, first->second.second}.to_string() + ")"});
      continue;
    }
    configuration.models[model.name] = std::move(model);
  }

  for (auto& [name, result] : manifests) {
    if (result.problems.empty()) {
      configuration.plugins[name] = std::move(result.manifest);
    } else if (used_plugins.count(name) > 0) {
      problems.insert(problems.end(), result.problems.begin(), result.problems.end());
    } else if (result.only_library_missing) {
      configuration.notes.push_back(result.manifest.source_file + ": plugin \"" + name + "\" not offered: " +
                                    result.manifest.library + " is not there (not built) and no model uses it");
    } else {
      for (const ConfigProblem& problem : result.problems) {
        configuration.warnings.push_back(problem.to_string() + " (plugin \"" + name + "\" is not used; ignored)");
      }
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  return configuration;
}

}  // namespace citadel::config
